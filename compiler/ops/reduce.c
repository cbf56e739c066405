/*
 * reduce.c — ReduceMean, ReduceMax, ReduceMin, ReduceSum and ReduceProd
 * over any set of axes.
 *
 * The axes come from the `axes` attribute (ReduceMean, ReduceMax,
 * ReduceMin and ReduceProd before opset 18, ReduceSum before opset 13) or from an optional constant int64
 * input (from those opsets on).  No axes, or an empty list, reduces every
 * axis -- unless noop_with_empty_axes is set, when the op is the identity.
 * keepdims (default 1) keeps each reduced axis as a dim of 1; either way
 * the output's elements are the kept coordinates in row-major order, so one
 * loop nest serves both:
 *
 *   for each kept coordinate k:   y[k] = fold(x[k, r] for every reduced r)
 *
 * Mean is the sum divided by the number of reduced elements; Max and Min
 * take a NaN as the result.  The reference folds in double; the kernel in
 * float, inner loop over the reduced coordinates.
 */
#include "../cardinal.h"

#include <math.h>
#include <string.h>

/* First opset whose axes are an input instead of an attribute. */
static int axes_input_opset(OpKind op) { return op == OP_REDUCESUM ? 13 : 18; }

bool reduce_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  p->keepdims = attr_int(n, "keepdims", 1, d) != 0;
  p->noop_empty = attr_int(n, "noop_with_empty_axes", 0, d) != 0;
  p->naxes = -1;
  const Attr *a;
  if (!attr_get(n, "axes", AT_INTS, d, &a))
    return false;
  if (a) {
    if (a->count > CD_MAX_RANK) {
      diag_error(d, "node '%s' (%s): axes must be a list of at most %d ints",
                 node_label(n), n->op_type, CD_MAX_RANK);
      return false;
    }
    if (n->opset >= axes_input_opset(n->op)) {
      diag_error(d, "node '%s' (%s): from opset %d the axes are an input, not an "
                 "attribute", node_label(n), n->op_type, axes_input_opset(n->op));
      return false;
    }
    memcpy(p->axes, a->ints, sizeof(int64_t) * (size_t)a->count);
    p->naxes = a->count;
  }
  if (node_has_input(n, 1)) {
    if (n->opset < axes_input_opset(n->op)) {
      diag_error(d, "node '%s' (%s): axes are an input only from opset %d (this is %d)",
                 node_label(n), n->op_type, axes_input_opset(n->op), n->opset);
      return false;
    }
    if (!op_const_ints(g, n, 1, d, p->axes, &p->naxes, CD_MAX_RANK))
      return false;
  }
  return true;
}

/* Which dims of x are reduced; false if none (the noop case). */
static bool reduce_mask(const OpParams *p, int rank, bool *mask) {
  for (int k = 0; k < rank; k++)
    mask[k] = p->naxes <= 0;
  for (int i = 0; i < p->naxes; i++)
    mask[normalize_axis(p->axes[i], rank)] = true;
  return p->naxes > 0 || !p->noop_empty;
}

bool reduce_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  const OpParams *p = &n->p;
  if (x->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (%s): only float32 is supported, got %s", node_label(n),
               n->op_type, dtype_name(x->dtype));
    return false;
  }
  bool seen[CD_MAX_RANK] = {0};
  for (int i = 0; i < p->naxes; i++) {
    int64_t a = normalize_axis(p->axes[i], x->rank);
    if (a < 0 || a >= x->rank || seen[a]) {
      diag_error(d, "node '%s' (%s): axis %lld is out of range for rank %d or repeated",
                 node_label(n), n->op_type, (long long)p->axes[i], x->rank);
      return false;
    }
    seen[a] = true;
  }
  bool mask[CD_MAX_RANK];
  bool reduces = reduce_mask(p, x->rank, mask);
  int64_t dims[CD_MAX_RANK];
  int r = 0;
  for (int k = 0; k < x->rank; k++) {
    if (reduces && mask[k] && x->dims[k] == 0 && (n->op == OP_REDUCEMAX || n->op == OP_REDUCEMIN)) {
      diag_error(d, "node '%s' (%s): reduces an empty axis %d", node_label(n), n->op_type, k);
      return false;
    }
    if (!reduces || !mask[k])
      dims[r++] = x->dims[k];
    else if (p->keepdims)
      dims[r++] = 1;
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, r, dims);
  return true;
}

/* The kept and reduced dims of x with their strides (elements), outer first. */
typedef struct {
  int nk, nr;
  int64_t kd[CD_MAX_RANK], ks[CD_MAX_RANK];
  int64_t rd[CD_MAX_RANK], rs[CD_MAX_RANK];
  int64_t count; /* elements folded into each output */
} ReduceLoops;

static void reduce_loops(const Node *n, const Value *x, ReduceLoops *l) {
  bool mask[CD_MAX_RANK];
  bool reduces = reduce_mask(&n->p, x->rank, mask);
  int64_t stride = 1, st[CD_MAX_RANK];
  for (int k = x->rank - 1; k >= 0; k--) {
    st[k] = stride;
    stride *= x->dims[k];
  }
  memset(l, 0, sizeof *l);
  l->count = 1;
  for (int k = 0; k < x->rank; k++) {
    if (reduces && mask[k]) {
      l->rd[l->nr] = x->dims[k];
      l->rs[l->nr++] = st[k];
      l->count *= x->dims[k];
    } else {
      l->kd[l->nk] = x->dims[k];
      l->ks[l->nk++] = st[k];
    }
  }
}

bool reduce_trailing(const Node *n, const Value *x, int64_t *count) {
  ReduceLoops l;
  reduce_loops(n, x, &l);
  if (l.nr < 1 || l.rs[l.nr - 1] != 1 || (l.nk > 0 && l.ks[l.nk - 1] != l.count))
    return false;
  for (int k = 0; k + 1 < l.nr; k++)
    if (l.rs[k] != l.rs[k + 1] * l.rd[k + 1])
      return false;
  *count = l.count;
  return true;
}

void reduce_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  const float *X = data[n->in[0]];
  float *Y = data[n->out[0]];
  ReduceLoops l;
  reduce_loops(n, x, &l);
  int64_t m = value_numel(&g->values[n->out[0]]);
  int64_t kidx[CD_MAX_RANK] = {0};
  for (int64_t o = 0; o < m; o++) {
    int64_t base = 0;
    for (int k = 0; k < l.nk; k++)
      base += kidx[k] * l.ks[k];
    double acc = n->op == OP_REDUCEMAX ? -INFINITY : n->op == OP_REDUCEMIN ? INFINITY
                 : n->op == OP_REDUCEPROD ? 1.0 : 0.0;
    int64_t ridx[CD_MAX_RANK] = {0};
    for (int64_t e = 0; e < l.count; e++) {
      int64_t off = base;
      for (int k = 0; k < l.nr; k++)
        off += ridx[k] * l.rs[k];
      double v = X[off];
      if (n->op == OP_REDUCEMAX)
        acc = v > acc || isnan(v) ? v : acc;
      else if (n->op == OP_REDUCEMIN)
        acc = v < acc || isnan(v) ? v : acc;
      else if (n->op == OP_REDUCEPROD)
        acc *= v;
      else
        acc += v;
      for (int k = l.nr - 1; k >= 0; k--) {
        if (++ridx[k] < l.rd[k])
          break;
        ridx[k] = 0;
      }
    }
    if (n->op == OP_REDUCEMEAN)
      acc /= (double)l.count;
    Y[o] = (float)acc;
    for (int k = l.nk - 1; k >= 0; k--) {
      if (++kidx[k] < l.kd[k])
        break;
      kidx[k] = 0;
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool reduce_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  ReduceLoops l;
  reduce_loops(n, x, &l);
  cw(w, "long o = 0;\n");
  cw_loop_nest(w, 'k', l.kd, l.nk);
  cw(w, "{\nconst float *xk = x0");
  for (int k = 0; k < l.nk; k++)
    cw(w, " + k%d * %lld", k, (long long)l.ks[k]);
  cw(w, ";\nfloat acc = %s;\n", n->op == OP_REDUCEMAX ? "-HUGE_VALF" : n->op == OP_REDUCEMIN
                                 ? "HUGE_VALF" : n->op == OP_REDUCEPROD ? "1.0f" : "0.0f");
  cw_loop_nest(w, 'r', l.rd, l.nr);
  cw(w, "{\nconst float v = xk[0");
  for (int k = 0; k < l.nr; k++)
    cw(w, " + r%d * %lld", k, (long long)l.rs[k]);
  cw(w, "];\n");
  cw(w, "%s\n", n->op == OP_REDUCEMAX   ? "acc = v > acc || v != v ? v : acc;"
               : n->op == OP_REDUCEMIN  ? "acc = v < acc || v != v ? v : acc;"
               : n->op == OP_REDUCEPROD ? "acc *= v;"
                                        : "acc += v;");
  cw(w, "}\n");
  if (n->op == OP_REDUCEMEAN)
    cw(w, "y0[o++] = acc / %s;\n", cw_float(w, (double)l.count));
  else
    cw(w, "y0[o++] = acc;\n");
  cw(w, "}\n");
  return true;
}
