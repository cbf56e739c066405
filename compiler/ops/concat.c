/*
 * concat.c — Concat (any element type, so it folds shape vectors too) and
 * Transpose.
 */
#include "../cardinal.h"

#include <string.h>

bool concat_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  const Attr *ax;
  if (!attr_get(n, "axis", AT_INT, d, &ax))
    return false;
  if (!ax) {
    diag_error(d, "node '%s' (Concat): missing axis", node_label(n));
    return false;
  }
  n->p.axis = ax->i;
  return true;
}

bool concat_infer(Graph *g, Node *n, Diag *d) {
  Value *x0 = &g->values[n->in[0]];
  int64_t axis = normalize_axis(n->p.axis, x0->rank);
  if (axis < 0 || axis >= x0->rank) {
    diag_error(d, "node '%s' (Concat): axis %lld out of range", node_label(n),
               (long long)n->p.axis);
    return false;
  }
  int64_t dims[CD_MAX_RANK];
  memcpy(dims, x0->dims, sizeof dims);
  dims[axis] = 0;
  for (int i = 0; i < n->nin; i++) {
    Value *x = &g->values[n->in[i]];
    if (n->in[i] < 0 || x->rank != x0->rank || x->dtype != x0->dtype) {
      diag_error(d, "node '%s' (Concat): inputs differ in rank or type",
                 node_label(n));
      return false;
    }
    for (int k = 0; k < x->rank; k++)
      if (k != axis && x->dims[k] != x0->dims[k]) {
        diag_error(d, "node '%s' (Concat): input %d has dim %d = %lld, "
                   "expected %lld", node_label(n), i, k,
                   (long long)x->dims[k], (long long)x0->dims[k]);
        return false;
      }
    if (!ck_add(dims[axis], x->dims[axis], &dims[axis])) {
      diag_error(d, "node '%s' (Concat): the concatenated axis overflows", node_label(n));
      return false;
    }
  }
  n->p.axis = axis; /* normalised: running this again changes nothing */
  n->p.outer = 1;
  n->p.inner = 1;
  for (int k = 0; k < x0->rank; k++) {
    if (k < axis)
      n->p.outer = sat_mul(n->p.outer, dims[k]);
    if (k > axis)
      n->p.inner = sat_mul(n->p.inner, dims[k]);
  }
  value_set_shape(&g->values[n->out[0]], x0->dtype, x0->rank, dims);
  return true;
}

void concat_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  size_t es = dtype_size(y->dtype);
  int64_t row = y->dims[n->p.axis] * n->p.inner;
  int64_t at = 0;
  for (int i = 0; i < n->nin; i++) {
    int64_t part = g->values[n->in[i]].dims[n->p.axis] * n->p.inner;
    for (int64_t o = 0; o < n->p.outer; o++)
      memcpy((char *)data[n->out[0]] + (size_t)(o * row + at) * es,
             (char *)data[n->in[i]] + (size_t)(o * part) * es,
             (size_t)part * es);
    at += part;
  }
}

bool transpose_parse(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  OpParams *p = &n->p;
  const Attr *a;
  if (!attr_get(n, "perm", AT_INTS, d, &a))
    return false;
  if (a && a->count != x->rank) {
    diag_error(d, "node '%s' (Transpose): perm must list %d axes",
               node_label(n), x->rank);
    return false;
  }
  p->nperm = x->rank;
  for (int k = 0; k < x->rank; k++)
    p->perm[k] = a ? normalize_axis(a->ints[k], x->rank) : x->rank - 1 - k;
  return true;
}

bool transpose_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  OpParams *p = &n->p;
  bool seen[CD_MAX_RANK] = {0};
  if (p->nperm != x->rank) {
    diag_error(d, "node '%s' (Transpose): perm must list %d axes", node_label(n), x->rank);
    return false;
  }
  for (int k = 0; k < x->rank; k++) {
    int64_t pk = p->perm[k];
    if (pk < 0 || pk >= x->rank || seen[pk]) {
      diag_error(d, "node '%s' (Transpose): perm is not a permutation",
                 node_label(n));
      return false;
    }
    seen[pk] = true;
  }
  int64_t dims[CD_MAX_RANK];
  for (int k = 0; k < x->rank; k++)
    dims[k] = x->dims[p->perm[k]];
  value_set_shape(&g->values[n->out[0]], x->dtype, x->rank, dims);
  return true;
}

void transpose_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  size_t es = dtype_size(x->dtype);
  int r = x->rank;
  int64_t xs[CD_MAX_RANK], idx[CD_MAX_RANK] = {0};
  int64_t s = 1;
  for (int k = r - 1; k >= 0; k--) {
    xs[k] = s;
    s *= x->dims[k];
  }
  int64_t m = value_numel(y);
  for (int64_t e = 0; e < m; e++) {
    int64_t off = 0;
    for (int k = 0; k < r; k++)
      off += idx[k] * xs[n->p.perm[k]];
    memcpy((char *)data[n->out[0]] + (size_t)e * es,
           (char *)data[n->in[0]] + (size_t)off * es, es);
    for (int k = r - 1; k >= 0; k--) {
      if (++idx[k] < y->dims[k])
        break;
      idx[k] = 0;
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool concat_emit(CWriter *w, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int64_t row = y->dims[n->p.axis] * n->p.inner, at = 0;
  cw(w, "for (long o = 0; o < %lld; o++) {\n", (long long)n->p.outer);
  for (int i = 0; i < n->nin; i++) {
    int64_t part = g->values[n->in[i]].dims[n->p.axis] * n->p.inner;
    cw(w, "memcpy(y0 + o * %lld + %lld, x%d + o * %lld, %lld);\n",
         (long long)row, (long long)at, i, (long long)part, (long long)part * 4);
    at += part;
  }
  cw(w, "}\n");
  return true;
}

bool transpose_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int r = x->rank;
  int64_t xs[CD_MAX_RANK], s = 1;
  for (int k = r - 1; k >= 0; k--) {
    xs[k] = s;
    s *= x->dims[k];
  }
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, r);
  cw(w, "y0[i++] = x0[0");
  for (int k = 0; k < r; k++)
    cw(w, " + i%d * %lld", k, (long long)xs[n->p.perm[k]]);
  cw(w, "];\n");
  return true;
}
