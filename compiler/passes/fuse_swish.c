/*
 * fuse-swish: the swish-like activations exporters write as several nodes
 * become one activation node, which fuse-activation then moves into the
 * epilogue of the conv or Gemm that makes x:
 *
 *   SiLU       Mul(x, Sigmoid(x))                          -> Silu(x)
 *   HardSwish  Mul(x, HardSigmoid(x)), alpha 1/6, beta 1/2 -> HardSwish(x)
 *              Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)        -> HardSwish(x)
 *              (or a Mul by 1/6; relu6 as torch exports it before opset 14)
 *
 * (either operand order of the Mul and the Add).  The intermediate values
 * must have no other reader; constants must be single floats.  EfficientNet
 * exports every SiLU as Sigmoid + Mul: two elementwise kernels and a buffer
 * each, where the fused form costs a few instructions in a conv's
 * registers.
 */
#include "../cardinal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* Whether v is a constant float of one element within 1e-6 relative of want. */
static bool scalar_is(const Graph *g, int v, float want) {
  return const_scalar_near(g, v, want, 1e-6f);
}

/* The nodes dead[0..n) die with their outputs but y, which act(x) writes. */
static void replace(Graph *g, Node **dead, int n, OpKind act, int x, int y) {
  for (int k = 0; k < n; k++) {
    dead[k]->dead = true;
    if (dead[k]->out[0] != y)
      g->values[dead[k]->out[0]].dead = true;
  }
  rewrite_add_node(g, act, 1, &x, y, act == OP_SILU ? 1 : 14);
}

/* Clip(v, 0, 6) by attributes (opset < 11) or constant inputs. */
static bool is_relu6(const Graph *g, const Node *c) {
  return c->op == OP_CLIP && c->p.alpha == 0.0f && c->p.beta == 6.0f &&
         (!node_has_input(c, 1) || g->values[c->in[1]].data) &&
         (!node_has_input(c, 2) || g->values[c->in[2]].data);
}

bool pass_fuse_swish(Graph *g, PassStats *st) {
  int *reader = malloc(sizeof(int) * ((size_t)g->nvalues + 1));
  CD_ASSERT(reader);
  for (int v = 0; v < g->nvalues; v++)
    reader[v] = -1;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] >= 0)
        reader[g->nodes[i].in[k]] = i;
  int silu = 0, hswish = 0, n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    Node *s = &g->nodes[i];
    if (s->dead || !node_has_input(s, 0) || g->values[s->in[0]].dtype != DT_FLOAT)
      continue;
    int x = s->in[0];
    if (s->op == OP_SIGMOID || (s->op == OP_HARDSIGMOID && fabsf(s->p.alpha - 1.0f / 6) <= 1e-7f &&
                                s->p.beta == 0.5f)) {
      Node *m = only_reader(g, reader, s->out[0], OP_MUL);
      if (!m || other_operand(m, s->out[0]) != x)
        continue;
      Node *dead[2] = {s, m};
      int y = m->out[0];
      replace(g, dead, 2, s->op == OP_SIGMOID ? OP_SILU : OP_HARDSWISH, x, y);
      s->op == OP_SIGMOID ? silu++ : hswish++;
      continue;
    }
    /* x + 3 -> relu6 -> * x -> / 6 (or * 1/6) */
    if (s->op != OP_ADD || s->nin != 2)
      continue;
    x = scalar_is(g, s->in[1], 3.0f) ? s->in[0] : scalar_is(g, s->in[0], 3.0f) ? s->in[1] : -1;
    if (x < 0 || g->values[x].dtype != DT_FLOAT)
      continue;
    Node *c = only_reader(g, reader, s->out[0], OP_CLIP);
    Node *m = c && is_relu6(g, c) ? only_reader(g, reader, c->out[0], OP_MUL) : NULL;
    if (!m || other_operand(m, c->out[0]) != x)
      continue;
    Node *d = only_reader(g, reader, m->out[0], OP_DIV);
    bool sixth = d && d->in[0] == m->out[0] && scalar_is(g, d->in[1], 6.0f);
    if (!sixth) {
      d = only_reader(g, reader, m->out[0], OP_MUL);
      sixth = d && scalar_is(g, other_operand(d, m->out[0]), 1.0f / 6);
    }
    if (!sixth || !value_same_shape(&g->values[x], &g->values[d->out[0]]))
      continue;
    Node *dead[4] = {s, c, m, d};
    replace(g, dead, 4, OP_HARDSWISH, x, d->out[0]);
    hswish++;
  }
  free(reader);
  ir_recount_uses(g);
  st->changes = silu + hswish;
  snprintf(st->what, sizeof st->what, "fused %d SiLU and %d HardSwish patterns", silu, hswish);
  return true;
}
