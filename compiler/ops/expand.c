/*
 * expand.c — Expand and Tile: copies of a tensor made larger, any element
 * type.
 *
 * Expand(x, shape) broadcasts x and the constant `shape` against each
 * other as numpy does (so a 1 in shape keeps x's dim) and copies x into the
 * result: what class_token.expand(n, -1, -1) exports to.  Tile(x, repeats)
 * repeats x repeats[k] times along each dim k: output coordinate o reads
 * input coordinate o % dim.  Both shape inputs are parameter inputs
 * (ops.def): constant, consumed when the node is set up.
 */
#include "../cardinal.h"

#include <string.h>

bool expand_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  if (!op_const_ints(g, n, 1, d, p->shape, &p->nshape, CD_MAX_RANK))
    return false;
  for (int k = 0; k < p->nshape; k++)
    if (p->shape[k] < 0) {
      diag_error(d, "node '%s' (Expand): dim %d of the shape is %lld", node_label(n), k,
                 (long long)p->shape[k]);
      return false;
    }
  return true;
}

bool expand_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  Value s = {.rank = n->p.nshape};
  memcpy(s.dims, n->p.shape, sizeof s.dims);
  const Value *vs[2] = {x, &s};
  int rank;
  int64_t dims[CD_MAX_RANK];
  if (!dtype_size(x->dtype)) {
    diag_error(d, "node '%s' (Expand): %s data is not supported", node_label(n),
               dtype_name(x->dtype));
    return false;
  }
  if (!op_broadcast(d, n, 2, vs, &rank, dims))
    return false;
  value_set_shape(&g->values[n->out[0]], x->dtype, rank, dims);
  return true;
}

void expand_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  const Value *xs[1] = {&g->values[n->in[0]]};
  size_t es = dtype_size(y->dtype);
  BcastIter it;
  bcast_begin(&it, y, 1, xs);
  int64_t m = value_numel(y);
  for (int64_t e = 0; e < m; e++, bcast_next(&it))
    memcpy((char *)data[n->out[0]] + (size_t)e * es,
           (const char *)data[n->in[0]] + (size_t)it.off[0] * es, es);
}

/* ------------------------------------------------------------------- Tile */

bool tile_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  if (!op_const_ints(g, n, 1, d, p->shape, &p->nshape, CD_MAX_RANK))
    return false;
  for (int k = 0; k < p->nshape; k++)
    if (p->shape[k] < 0) {
      diag_error(d, "node '%s' (Tile): repeat %d is %lld", node_label(n), k,
                 (long long)p->shape[k]);
      return false;
    }
  return true;
}

bool tile_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  if (n->p.nshape != x->rank || !dtype_size(x->dtype)) {
    diag_error(d, "node '%s' (Tile): %d repeats for an input of rank %d (of %s): one per dim",
               node_label(n), n->p.nshape, x->rank, dtype_name(x->dtype));
    return false;
  }
  int64_t dims[CD_MAX_RANK];
  for (int k = 0; k < x->rank; k++)
    dims[k] = sat_mul(x->dims[k], n->p.shape[k]); /* a saturated dim fails the size limit */
  value_set_shape(&g->values[n->out[0]], x->dtype, x->rank, dims);
  return true;
}

void tile_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  size_t es = dtype_size(y->dtype);
  int64_t idx[CD_MAX_RANK] = {0}, m = value_numel(y);
  for (int64_t e = 0; e < m; e++) {
    int64_t off = 0;
    for (int k = 0; k < x->rank; k++)
      off = off * x->dims[k] + idx[k] % x->dims[k];
    memcpy((char *)data[n->out[0]] + (size_t)e * es,
           (const char *)data[n->in[0]] + (size_t)off * es, es);
    for (int k = y->rank - 1; k >= 0; k--) {
      if (++idx[k] < y->dims[k])
        break;
      idx[k] = 0;
    }
  }
}

/* ------------------------------------------------------------ scalar kernels */

bool expand_emit(CWriter *w, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  if (value_numel(y) == 0) {
    cw(w, "(void)x0;\n(void)y0; /* empty */\n");
    return true;
  }
  const char *rd = op_bcast_read(w, &g->values[n->in[0]], y->rank, y->dims, "x0");
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, y->rank);
  cw(w, "y0[i++] = %s;\n", rd);
  return true;
}

bool tile_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  if (value_numel(y) == 0) {
    cw(w, "(void)x0;\n(void)y0; /* empty */\n");
    return true;
  }
  StrBuf sb = {0};
  int64_t st = 1;
  sb_printf(&sb, "x0[0");
  for (int k = x->rank - 1; k >= 0; k--) {
    if (x->dims[k] > 1 && y->dims[k] > x->dims[k])
      sb_printf(&sb, " + i%d %% %lld * %lld", k, (long long)x->dims[k], (long long)st);
    else if (x->dims[k] > 1)
      sb_printf(&sb, " + i%d * %lld", k, (long long)st);
    st *= x->dims[k];
  }
  sb_printf(&sb, "]");
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, y->rank);
  cw(w, "y0[i++] = %s;\n", sb.buf);
  sb_free(&sb);
  return true;
}
