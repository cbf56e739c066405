/*
 * logic.c — comparisons (Equal, Less, LessOrEqual, Greater, GreaterOrEqual),
 * boolean logic (And, Or, Xor, Not) and Where: the mask arithmetic of
 * attention (a mask built from shapes, then masked_fill) and of the
 * exporters' Expand(x, shape with -1s) (Equal(shape, -1) -> Where).
 *
 * They broadcast like numpy.  A comparison takes two operands of one type
 * (any the IR holds; a NaN compares false, unequal to everything) and gives
 * bool; the logic ops take and give bool; Where(c, x, y) is x where c holds,
 * else y, for x and y of any one type.  A bool is a byte, 0 or 1; a nonzero
 * byte reads as true.
 *
 * Once input shapes are fixed their operands are mostly constants, and they
 * fold at compile time as they are met (infer.c folds a non-float output
 * whose inputs are known); on data computed at run time each is a kernel:
 * one loop over the output, its operands read through broadcast strides.
 */
#include "../cardinal.h"

#include <string.h>

bool compare_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)d;
  (void)n;
  return true;
}

static bool is_logic(OpKind op) {
  return op == OP_AND || op == OP_OR || op == OP_XOR || op == OP_NOT;
}

/* Infers the broadcast of n's inputs [first, n->nin) into output dims. */
static bool bcast_shape(Graph *g, Node *n, Diag *d, int first, int *rank, int64_t *dims) {
  const Value *vs[CD_BCAST_MAX];
  for (int i = first; i < n->nin; i++)
    vs[i - first] = &g->values[n->in[i]];
  return op_broadcast(d, n, n->nin - first, vs, rank, dims);
}

bool compare_infer(Graph *g, Node *n, Diag *d) {
  DType t = g->values[n->in[0]].dtype;
  for (int i = 0; i < n->nin; i++) {
    DType ti = g->values[n->in[i]].dtype;
    if (ti != t || !dtype_size(t) || (is_logic(n->op) && t != DT_BOOL)) {
      diag_error(d, "node '%s' (%s): %s; %s", node_label(n), n->op_type,
                 ti != t ? "its operands differ in type" : "an operand of an unsupported type",
                 is_logic(n->op) ? "its operands must be bool"
                                 : "its operands must have one type");
      return false;
    }
  }
  int rank;
  int64_t dims[CD_MAX_RANK];
  if (!bcast_shape(g, n, d, 0, &rank, dims))
    return false;
  value_set_shape(&g->values[n->out[0]], DT_BOOL, rank, dims);
  return true;
}

/* Element k of data of type t, for comparing: exact as a double for the
 * float types, as an int64 for the others. */
static double elem_f(DType t, const void *p, int64_t k) {
  return t == DT_FLOAT ? ((const float *)p)[k] : ((const double *)p)[k];
}

static int64_t elem_i(DType t, const void *p, int64_t k) {
  switch (t) {
  case DT_INT64: return ((const int64_t *)p)[k];
  case DT_INT32: return ((const int32_t *)p)[k];
  case DT_INT8: return ((const int8_t *)p)[k];
  default: return ((const uint8_t *)p)[k]; /* uint8, bool */
  }
}

/* a OP b, false for a NaN operand but for nothing else. */
#define COMPARE(op, a, b)                                                         \
  ((op) == OP_EQUAL ? (a) == (b) : (op) == OP_LESS ? (a) < (b)                    \
   : (op) == OP_LESSOREQUAL ? (a) <= (b) : (op) == OP_GREATER ? (a) > (b) : (a) >= (b))

void compare_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  const Value *xs[2] = {&g->values[n->in[0]], &g->values[n->in[n->nin - 1]]};
  DType t = xs[0]->dtype;
  bool fl = t == DT_FLOAT || t == DT_DOUBLE;
  BcastIter it;
  bcast_begin(&it, y, n->nin, xs);
  uint8_t *Y = data[n->out[0]];
  const void *A = data[n->in[0]], *B = data[n->in[n->nin - 1]];
  int64_t m = value_numel(y);
  for (int64_t e = 0; e < m; e++, bcast_next(&it)) {
    bool r;
    if (n->op == OP_NOT) {
      r = !elem_i(t, A, it.off[0]);
    } else if (is_logic(n->op)) {
      bool a = elem_i(t, A, it.off[0]) != 0, b = elem_i(t, B, it.off[1]) != 0;
      r = n->op == OP_AND ? a && b : n->op == OP_OR ? a || b : a != b;
    } else if (fl) {
      double a = elem_f(t, A, it.off[0]), b = elem_f(t, B, it.off[1]);
      r = COMPARE(n->op, a, b);
    } else {
      int64_t a = elem_i(t, A, it.off[0]), b = elem_i(t, B, it.off[1]);
      r = COMPARE(n->op, a, b);
    }
    Y[e] = r;
  }
}

/* ------------------------------------------------------------------ Where */

bool where_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)d;
  (void)n;
  return true;
}

bool where_infer(Graph *g, Node *n, Diag *d) {
  const Value *c = &g->values[n->in[0]], *x = &g->values[n->in[1]], *y = &g->values[n->in[2]];
  if (c->dtype != DT_BOOL || x->dtype != y->dtype || !dtype_size(x->dtype)) {
    diag_error(d, "node '%s' (Where): the condition must be bool (it is %s) and X and Y of "
               "one type (they are %s and %s)", node_label(n), dtype_name(c->dtype),
               dtype_name(x->dtype), dtype_name(y->dtype));
    return false;
  }
  int rank;
  int64_t dims[CD_MAX_RANK];
  if (!bcast_shape(g, n, d, 0, &rank, dims))
    return false;
  value_set_shape(&g->values[n->out[0]], x->dtype, rank, dims);
  return true;
}

void where_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  const Value *xs[3] = {&g->values[n->in[0]], &g->values[n->in[1]], &g->values[n->in[2]]};
  size_t es = dtype_size(y->dtype);
  BcastIter it;
  bcast_begin(&it, y, 3, xs);
  const uint8_t *C = data[n->in[0]];
  const char *X = data[n->in[1]], *Yv = data[n->in[2]];
  char *out = data[n->out[0]];
  int64_t m = value_numel(y);
  for (int64_t e = 0; e < m; e++, bcast_next(&it)) {
    const char *src = C[it.off[0]] ? X + (size_t)it.off[1] * es : Yv + (size_t)it.off[2] * es;
    memcpy(out + (size_t)e * es, src, es);
  }
}

/* ------------------------------------------------------------ scalar kernels */

/* The reads of n's inputs at the current output coordinate, rd[k] for
 * input k; false (and the kernel written) when the output is empty. */
static bool bcast_reads(CWriter *w, Graph *g, Node *n, const char **rd) {
  const Value *y = &g->values[n->out[0]];
  for (int i = 0; i < n->nin; i++)
    rd[i] = op_bcast_read(w, &g->values[n->in[i]], y->rank, y->dims, cw_fmt(w, "x%d", i));
  if (value_numel(y) > 0)
    return true;
  for (int i = 0; i < n->nin; i++)
    cw(w, "(void)x%d;\n", i);
  cw(w, "(void)y0; /* empty */\n");
  return false;
}

/* The loop over the output, y0[i++] = e. */
static void bcast_loop(CWriter *w, Graph *g, Node *n, const char *e) {
  const Value *y = &g->values[n->out[0]];
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, y->rank);
  cw(w, "y0[i++] = %s;\n", e);
}

bool compare_emit(CWriter *w, Graph *g, Node *n) {
  const char *rd[CD_BCAST_MAX], *a, *b, *e;
  if (!bcast_reads(w, g, n, rd))
    return true;
  a = rd[0];
  b = rd[n->nin - 1];
  switch (n->op) {
  case OP_EQUAL: e = cw_fmt(w, "(uint8_t)(%s == %s)", a, b); break;
  case OP_LESS: e = cw_fmt(w, "(uint8_t)(%s < %s)", a, b); break;
  case OP_LESSOREQUAL: e = cw_fmt(w, "(uint8_t)(%s <= %s)", a, b); break;
  case OP_GREATER: e = cw_fmt(w, "(uint8_t)(%s > %s)", a, b); break;
  case OP_GREATEROREQUAL: e = cw_fmt(w, "(uint8_t)(%s >= %s)", a, b); break;
  case OP_AND: e = cw_fmt(w, "(uint8_t)(%s && %s)", a, b); break;
  case OP_OR: e = cw_fmt(w, "(uint8_t)(%s || %s)", a, b); break;
  case OP_XOR: e = cw_fmt(w, "(uint8_t)((%s != 0) != (%s != 0))", a, b); break;
  default: e = cw_fmt(w, "(uint8_t)!%s", a); break; /* Not */
  }
  bcast_loop(w, g, n, e);
  return true;
}

bool where_emit(CWriter *w, Graph *g, Node *n) {
  const char *rd[CD_BCAST_MAX];
  if (bcast_reads(w, g, n, rd))
    bcast_loop(w, g, n, cw_fmt(w, "%s ? %s : %s", rd[0], rd[1], rd[2]));
  return true;
}
