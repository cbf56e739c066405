/*
 * fuse-gelu: GELU in the erf form exporters write before opset 20,
 *
 *   y = Mul(Mul(x, Add(Erf(Div(x, 1.4142135)), 1)), 0.5)
 *
 * (either operand order of each node; Div by sqrt(2) or Mul by 1/sqrt(2);
 * the 0.5 applied to the product, or to x first), becomes one Gelu: four
 * elementwise kernels and their buffers fewer, and an activation that
 * fuse-activation then moves into the epilogue of the Gemm or Conv that
 * makes x (ConvNeXt's and transformers' MLPs).  The intermediate values
 * must have no other reader; constants must be single floats.
 */
#include "../cardinal.h"

#include <math.h>
#include <stdlib.h>

/* Whether v is a constant float of one element within 1e-4 of want. */
static bool scalar_near(const Graph *g, int v, float want) {
  return const_scalar_near(g, v, want, 1e-4f);
}

/* v's live producer of op `op`, if v has no other reader; else NULL. */
static Node *only_producer(Graph *g, int v, OpKind op) {
  int p = g->values[v].producer;
  if (p < 0 || !value_single_use(g, v))
    return NULL;
  Node *n = &g->nodes[p];
  return !n->dead && n->op == op ? n : NULL;
}

bool pass_fuse_gelu(Graph *g, PassStats *st) {
  int *reader = malloc(sizeof(int) * ((size_t)g->nvalues + 1));
  CD_ASSERT(reader);
  for (int v = 0; v < g->nvalues; v++)
    reader[v] = -1;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] >= 0)
        reader[g->nodes[i].in[k]] = i;
  int fused = 0, n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    Node *e = &g->nodes[i];
    if (e->dead || e->op != OP_ERF)
      continue;
    /* x / sqrt(2), or x * (1 / sqrt(2)) */
    int x = -1;
    Node *d = only_producer(g, e->in[0], OP_DIV);
    if (d && scalar_near(g, d->in[1], 1.41421356f))
      x = d->in[0];
    d = d ? d : only_producer(g, e->in[0], OP_MUL);
    if (x < 0 && d && d->op == OP_MUL)
      for (int k = 0; k < 2 && x < 0; k++)
        if (scalar_near(g, d->in[1 - k], 0.70710678f))
          x = d->in[k];
    if (x < 0)
      continue;
    /* 1 + erf(...) */
    Node *a = only_reader(g, reader, e->out[0], OP_ADD);
    if (!a || !scalar_near(g, other_operand(a, e->out[0]), 1.0f))
      continue;
    /* x * (1 + erf) * 0.5, or (x * 0.5) * (1 + erf) */
    Node *m1 = only_reader(g, reader, a->out[0], OP_MUL), *half = NULL;
    int o = m1 ? other_operand(m1, a->out[0]) : -1;
    if (o < 0)
      continue;
    if (o == x) {
      half = only_reader(g, reader, m1->out[0], OP_MUL);
      if (!half || !scalar_near(g, other_operand(half, m1->out[0]), 0.5f))
        continue;
    } else {
      half = only_producer(g, o, OP_MUL);
      if (!half || !scalar_near(g, other_operand(half, x), 0.5f))
        continue;
    }
    int y = (o == x ? half : m1)->out[0];
    const Value *vx = &g->values[x];
    if (vx->dtype != DT_FLOAT || !value_same_shape(vx, &g->values[y]))
      continue;
    Node *dead[5] = {d, e, a, m1, half};
    for (int k = 0; k < 5; k++) {
      dead[k]->dead = true;
      if (dead[k]->out[0] != y)
        g->values[dead[k]->out[0]].dead = true;
    }
    rewrite_add_node(g, OP_GELU, 1, &x, y, 20); /* Gelu is opset 20's; approximate "none" */
    fused++;
  }
  free(reader);
  ir_recount_uses(g);
  st->changes = fused;
  snprintf(st->what, sizeof st->what, "fused %d erf-form GELUs into Gelu nodes", fused);
  return true;
}
