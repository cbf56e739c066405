/*
 * slice.c — Slice and Split: views of a part of a tensor, copied.
 *
 * Slice takes starts, ends, optional axes and optional steps: attributes
 * (no steps) before opset 10, constant int64 inputs from then on.  Each
 * entry i slices axis axes[i] (default i); an axis no entry names is kept
 * whole.  As the ONNX spec says, a negative start or end counts from the
 * end of the axis (adding its extent once), then both are clamped:
 *
 *   step > 0:  start, end clamped to [0, dim];     len = ceil((end - start) / step)
 *   step < 0:  start clamped to [0, dim - 1],
 *              end to [-1, dim - 1];               len = ceil((start - end) / -step)
 *
 * (0 when the range is empty), so INT64_MAX / INT64_MIN mean "to the end"
 * in either direction.  Output coordinate o of an axis reads input
 * coordinate start + o * step.  Slice runs on any element type: exporters
 * slice shape vectors, which fold at compile time.
 *
 * Split cuts one axis (default 0) into consecutive parts, one per output.
 * Their sizes are the `split` attribute (opsets 1..12; opset 1 also takes
 * an input), a constant int64 input (opset 13+), or not given: then the
 * axis is split equally -- before opset 18 it must divide evenly, from
 * opset 18 (where num_outputs, when given, must match the outputs) the
 * parts are ceil(dim / n) and the last one is smaller.  Seen as
 * outer x dim x inner, output j copies rows [at_j, at_j + size_j) of each
 * outer slab.
 */
#include "../cardinal.h"

#include <string.h>

/* Reads a Slice operand (attribute before opset 10, input `input` from
 * then on) into out[]; *count = -1 when it is absent. */
static bool slice_operand(Graph *g, Node *n, Diag *d, const char *name, int input,
                          int64_t *out, int *count) {
  *count = -1;
  if (n->opset < 10) {
    const Attr *a;
    if (!attr_get(n, name, AT_INTS, d, &a))
      return false;
    if (!a)
      return true;
    if (a->count > CD_MAX_RANK) {
      diag_error(d, "node '%s' (Slice): %s must be a list of at most %d ints",
                 node_label(n), name, CD_MAX_RANK);
      return false;
    }
    memcpy(out, a->ints, sizeof(int64_t) * (size_t)a->count);
    *count = a->count;
    return true;
  }
  if (n->nin <= input || n->in[input] < 0)
    return true;
  return op_const_ints(g, n, input, d, out, count, CD_MAX_RANK);
}

bool slice_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  int ns, ne, nst;
  if (!slice_operand(g, n, d, "starts", 1, p->starts, &ns) ||
      !slice_operand(g, n, d, "ends", 2, p->ends, &ne) ||
      !slice_operand(g, n, d, "axes", 3, p->axes, &p->naxes) ||
      !slice_operand(g, n, d, "steps", 4, p->steps, &nst))
    return false;
  if (ns < 0 || ne < 0) {
    diag_error(d, "node '%s' (Slice): starts and ends are required", node_label(n));
    return false;
  }
  if (ne != ns || (p->naxes >= 0 && p->naxes != ns) || (nst >= 0 && nst != ns)) {
    diag_error(d, "node '%s' (Slice): %d starts, %d ends, %d axes and %d steps; all must "
               "have one entry per sliced axis", node_label(n), ns, ne,
               p->naxes >= 0 ? p->naxes : ns, nst >= 0 ? nst : ns);
    return false;
  }
  p->nslice = ns;
  for (int i = 0; i < ns; i++) {
    if (nst < 0)
      p->steps[i] = 1;
    if (p->steps[i] == 0) {
      diag_error(d, "node '%s' (Slice): step %d is 0", node_label(n), i);
      return false;
    }
  }
  return true;
}

/* Per dim of x: the first input coordinate, the step and the extent read. */
typedef struct {
  int64_t begin[CD_MAX_RANK], step[CD_MAX_RANK], len[CD_MAX_RANK];
} SliceDims;

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* False (with the reason in *why) for a bad or repeated axis. */
static bool slice_dims(const OpParams *p, const Value *x, SliceDims *s, const char **why) {
  bool seen[CD_MAX_RANK] = {0};
  for (int k = 0; k < x->rank; k++) {
    s->begin[k] = 0;
    s->step[k] = 1;
    s->len[k] = x->dims[k];
  }
  for (int i = 0; i < p->nslice; i++) {
    int64_t a = normalize_axis(p->naxes >= 0 ? p->axes[i] : i, x->rank);
    if (a < 0 || a >= x->rank || seen[a]) {
      *why = a < 0 || a >= x->rank ? "out of range" : "repeated";
      return false;
    }
    seen[a] = true;
    int64_t dim = x->dims[a], step = p->steps[i];
    int64_t start = p->starts[i], end = p->ends[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    int64_t len;
    if (step > 0) {
      start = clamp(start, 0, dim);
      end = clamp(end, 0, dim);
      len = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
      start = clamp(start, 0, dim - 1);
      end = clamp(end, -1, dim - 1);
      int64_t mag = step < -INT64_MAX ? INT64_MAX : -step;
      len = start > end && dim > 0 ? (start - end - 1) / mag + 1 : 0;
    }
    s->begin[a] = len ? start : 0;
    s->step[a] = step;
    s->len[a] = len;
  }
  return true;
}

bool slice_begin_step(const Node *n, const Value *x, int64_t *begin, int64_t *step) {
  SliceDims s;
  const char *why;
  if (!slice_dims(&n->p, x, &s, &why))
    return false;
  memcpy(begin, s.begin, sizeof(int64_t) * (size_t)x->rank);
  memcpy(step, s.step, sizeof(int64_t) * (size_t)x->rank);
  return true;
}

bool slice_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  SliceDims s;
  const char *why = NULL;
  if (n->p.nslice > x->rank) {
    diag_error(d, "node '%s' (Slice): %d sliced axes for an input of rank %d",
               node_label(n), n->p.nslice, x->rank);
    return false;
  }
  if (!slice_dims(&n->p, x, &s, &why)) {
    diag_error(d, "node '%s' (Slice): an axis is %s (input rank %d)", node_label(n), why,
               x->rank);
    return false;
  }
  if (!dtype_size(x->dtype)) {
    diag_error(d, "node '%s' (Slice): %s data is not supported", node_label(n),
               dtype_name(x->dtype));
    return false;
  }
  value_set_shape(&g->values[n->out[0]], x->dtype, x->rank, s.len);
  return true;
}

/* Element strides of x, row-major. */
static void row_strides(const Value *x, int64_t *xs) {
  int64_t st = 1;
  for (int k = x->rank - 1; k >= 0; k--) {
    xs[k] = st;
    st *= x->dims[k];
  }
}

void slice_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  SliceDims s;
  const char *why;
  CD_ASSERT(slice_dims(&n->p, x, &s, &why));
  size_t es = dtype_size(x->dtype);
  int64_t xs[CD_MAX_RANK], idx[CD_MAX_RANK] = {0};
  row_strides(x, xs);
  int64_t m = value_numel(y);
  for (int64_t e = 0; e < m; e++) {
    int64_t off = 0;
    for (int k = 0; k < x->rank; k++)
      off += (s.begin[k] + idx[k] * s.step[k]) * xs[k];
    memcpy((char *)data[n->out[0]] + (size_t)e * es, (const char *)data[n->in[0]] + (size_t)off * es,
           es);
    for (int k = x->rank - 1; k >= 0; k--) {
      if (++idx[k] < y->dims[k])
        break;
      idx[k] = 0;
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool slice_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  SliceDims s;
  const char *why;
  CD_ASSERT(slice_dims(&n->p, x, &s, &why));
  int64_t xs[CD_MAX_RANK], base = 0;
  row_strides(x, xs);
  for (int k = 0; k < x->rank; k++)
    base += s.begin[k] * xs[k];
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, y->rank);
  cw(w, "y0[i++] = x0[%lld", (long long)base);
  for (int k = 0; k < y->rank; k++)
    if (y->dims[k] > 1)
      cw(w, " + i%d * %lld", k, (long long)(s.step[k] * xs[k]));
  cw(w, "];\n");
  return true;
}

/* ------------------------------------------------------------------ Split */

bool split_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  p->axis = attr_int(n, "axis", 0, d);
  p->nsplit = -1;
  const Attr *a;
  if (!attr_get(n, "split", AT_INTS, d, &a))
    return false;
  if (a) {
    if (a->count > CD_MAX_SPLIT) {
      diag_error(d, "node '%s' (Split): split must be a list of at most %d ints",
                 node_label(n), CD_MAX_SPLIT);
      return false;
    }
    memcpy(p->split, a->ints, sizeof(int64_t) * (size_t)a->count);
    p->nsplit = a->count;
  } else if (node_has_input(n, 1)) {
    if (!op_const_ints(g, n, 1, d, p->split, &p->nsplit, CD_MAX_SPLIT))
      return false;
  }
  const Attr *no;
  if (!attr_get(n, "num_outputs", AT_INT, d, &no))
    return false;
  if (no && (no->i != n->nout || p->nsplit >= 0)) {
    diag_error(d, "node '%s' (Split): num_outputs must be the number of outputs (%d) "
               "and comes without split", node_label(n), n->nout);
    return false;
  }
  if (p->nsplit >= 0 && p->nsplit != n->nout) {
    diag_error(d, "node '%s' (Split): %d split sizes for %d outputs", node_label(n),
               p->nsplit, n->nout);
    return false;
  }
  for (int j = 0; j < p->nsplit; j++)
    if (p->split[j] < 0) {
      diag_error(d, "node '%s' (Split): split size %d is negative", node_label(n), j);
      return false;
    }
  return true;
}

/* The part sizes along an axis of extent dim; false if they do not fit. */
static bool split_sizes(const Node *n, int64_t dim, int64_t *sizes) {
  const OpParams *p = &n->p;
  int64_t total = 0;
  if (p->nsplit >= 0) {
    for (int j = 0; j < n->nout; j++) {
      if (p->split[j] > dim - total) /* also keeps the sum from overflowing */
        return false;
      total += sizes[j] = p->split[j];
    }
    return total == dim;
  }
  if (n->opset < 18 && dim % n->nout)
    return false;
  int64_t part = (dim + n->nout - 1) / n->nout;
  for (int j = 0; j < n->nout; j++) {
    sizes[j] = dim - total < part ? dim - total : part;
    total += sizes[j];
  }
  return true;
}

bool split_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  int64_t axis = normalize_axis(n->p.axis, x->rank);
  if (axis < 0 || axis >= x->rank) {
    diag_error(d, "node '%s' (Split): axis %lld is out of range for rank %d", node_label(n),
               (long long)n->p.axis, x->rank);
    return false;
  }
  if (!dtype_size(x->dtype)) {
    diag_error(d, "node '%s' (Split): %s data is not supported", node_label(n),
               dtype_name(x->dtype));
    return false;
  }
  int64_t sizes[CD_MAX_SPLIT];
  if (!split_sizes(n, x->dims[axis], sizes)) {
    diag_error(d, "node '%s' (Split): %s cannot cut axis %lld of extent %lld into %d parts",
               node_label(n), n->p.nsplit >= 0 ? "the split sizes" : "equal parts",
               (long long)axis, (long long)x->dims[axis], n->nout);
    return false;
  }
  for (int j = 0; j < n->nout; j++) {
    if (n->out[j] < 0)
      continue;
    int64_t dims[CD_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = sizes[j];
    value_set_shape(&g->values[n->out[j]], x->dtype, x->rank, dims);
  }
  return true;
}

/* x as outer x dim x inner around the split axis. */
static void split_extents(const Node *n, const Value *x, int64_t *outer, int64_t *dim,
                          int64_t *inner) {
  int64_t axis = normalize_axis(n->p.axis, x->rank);
  *outer = *inner = 1;
  for (int k = 0; k < x->rank; k++) {
    if (k < axis)
      *outer *= x->dims[k];
    if (k > axis)
      *inner *= x->dims[k];
  }
  *dim = x->dims[axis];
}

void split_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  int64_t outer, dim, inner, sizes[CD_MAX_SPLIT], at = 0;
  split_extents(n, x, &outer, &dim, &inner);
  CD_ASSERT(split_sizes(n, dim, sizes));
  size_t es = dtype_size(x->dtype);
  for (int j = 0; j < n->nout; j++) {
    int64_t part = sizes[j] * inner;
    if (n->out[j] >= 0)
      for (int64_t o = 0; o < outer; o++)
        memcpy((char *)data[n->out[j]] + (size_t)(o * part) * es,
               (const char *)data[n->in[0]] + (size_t)(o * dim * inner + at) * es,
               (size_t)part * es);
    at += part;
  }
}

bool split_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  int64_t outer, dim, inner, sizes[CD_MAX_SPLIT], at = 0;
  split_extents(n, x, &outer, &dim, &inner);
  CD_ASSERT(split_sizes(n, dim, sizes));
  bool reads = false;
  cw(w, "for (long o = 0; o < %lld; o++) {\n", (long long)outer);
  for (int j = 0; j < n->nout; j++) {
    int64_t part = sizes[j] * inner;
    if (n->out[j] >= 0 && part > 0) {
      cw(w, "memcpy(y%d + o * %lld, x0 + o * %lld + %lld, %lld);\n", j, (long long)part,
           (long long)(dim * inner), (long long)at, (long long)part * 4);
      reads = true;
    } else if (n->out[j] >= 0) {
      cw(w, "(void)y%d; /* empty */\n", j);
    }
    at += part;
  }
  cw(w, "}\n");
  if (!reads)
    cw(w, "(void)x0;\n");
  return true;
}
