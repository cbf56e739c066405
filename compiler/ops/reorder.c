/*
 * reorder.c — Reorder, the one op that changes a value's layout (NCHW to
 * NCHWc and back).  Passes make it (the layout pass puts one after each
 * input and before each output); models cannot name it.  Logically it is
 * the identity: the interpreter converts every operand to plain at a node's
 * boundary and every output back to its layout, so its reference
 * evaluation is a copy.  Its scalar kernel walks the output in storage
 * order and computes each element's source offset.
 */
#include "../cardinal.h"

#include <string.h>

bool reorder_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)n;
  (void)d;
  return true;
}

bool reorder_infer(Graph *g, Node *n, Diag *d) {
  (void)d;
  const Value *x = &g->values[n->in[0]];
  value_set_shape(&g->values[n->out[0]], x->dtype, x->rank, x->dims);
  return true;
}

void reorder_eval(Graph *g, Node *n, void **data) {
  memcpy(data[n->out[0]], data[n->in[0]], value_bytes(&g->values[n->in[0]]));
}

/* Channels and spatial size of an activation [N, C, spatial...]. */
static void ncs(const Value *v, int64_t *N, int64_t *C, int64_t *S) {
  *N = v->rank > 0 ? v->dims[0] : 1;
  *C = v->rank > 1 ? v->dims[1] : 1;
  *S = 1;
  for (int i = 2; i < v->rank; i++)
    *S *= v->dims[i];
}

/* Block of an activation layout: 1 for plain. */
static int64_t block_of(const Value *v) {
  return v->layout.kind == LAYOUT_NCHWC ? v->layout.block : 1;
}

void reorder_loops(CWriter *w, Graph *g, Node *n, const char *u0, const char *u1) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t N, C, S;
  ncs(y, &N, &C, &S);
  int64_t bx = block_of(x), by = block_of(y);
  int64_t cbx = (C + bx - 1) / bx, cby = (C + by - 1) / by;
  (void)N;
  cw_var(w, "S", "%lld", (long long)S);
  cw_var(w, "C", "%lld", (long long)C);
  cw_var(w, "bx", "%lld", (long long)bx); /* the input's block (1: plain) */
  cw_var(w, "by", "%lld", (long long)by); /* the output's */
  cw_var(w, "cbx", "%lld", (long long)cbx);
  cw_var(w, "cby", "%lld", (long long)cby);
  cw(w, "for (long u = %s; u < %s; u++) {\n"
        "const long n = u / ${cby}, cb = u %% ${cby};\n"
        "for (long s = 0; s < ${S}; s++)\n"
        "for (long j = 0; j < ${by}; j++) {\n"
        "const long c = cb * ${by} + j;\n"
        "y0[((n * ${cby} + cb) * ${S} + s) * ${by} + j] =\n"
        "c < ${C} ? x0[((n * ${cbx} + c / ${bx}) * ${S} + s) * ${bx} + c %% ${bx}] : 0.0f;\n"
        "}\n"
        "}\n",
     u0, u1);
}

/* Output blocks (of every image) are the units a thread's share ranges
 * over; a scalar kernel takes them all. */
bool reorder_emit(CWriter *w, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int64_t N, C, S, by = block_of(y);
  ncs(y, &N, &C, &S);
  reorder_loops(w, g, n, "0", arena_printf(&g->arena, "%lld", (long long)(N * ((C + by - 1) / by))));
  return true;
}
