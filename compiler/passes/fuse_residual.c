/*
 * fuse-residual: a residual Add whose operand is the output of a Conv (or
 * Gemm) read by nothing else becomes that node's epilogue: the conv adds the
 * other operand as it writes its output, and the activation after the Add
 * (if any) follows it in (rewrite_fuse_activation, shared with
 * fuse-activation).  So a ResNeXt block's last conv writes the block's
 * output once.  When the other operand is Mul(x, s) with s a per-channel
 * constant (what fold-bn leaves of a BatchNorm after an identity-shortcut
 * Add), the epilogue reads x and scales it by s on the fly.
 *
 * When both operands are convs, the later one takes the residual, so the
 * earlier one's output is ready when it runs.
 */
#include "../cardinal.h"

#include <string.h>

static bool fusable(const Graph *g, int v) {
  if (!value_single_use(g, v) || g->values[v].producer < 0)
    return false;
  const Node *p = &g->nodes[g->values[v].producer];
  return (p->op == OP_CONV || p->op == OP_GEMM) && !node_has_epilogue(p);
}

/* If v = Mul(x, s) with s a constant [C] per-channel scale of v's dim 1,
 * returns x and a [C] view of s in *scale. */
static int per_channel_mul(Graph *g, int v, int *scale) {
  if (!value_single_use(g, v) || g->values[v].producer < 0)
    return -1;
  Node *m = &g->nodes[g->values[v].producer];
  const Value *y = &g->values[v];
  if (m->op != OP_MUL || y->rank < 2)
    return -1;
  for (int i = 0; i < 2; i++) {
    const Value *x = &g->values[m->in[i]], *s = &g->values[m->in[1 - i]];
    if (!value_same_shape(x, y) || !s->data || value_numel(s) != y->dims[1])
      continue;
    /* s broadcast against y must vary along dim 1 only. */
    bool ok = s->rank <= y->rank - 1;
    for (int k = 0; k < s->rank && ok; k++) {
      int yk = k + (y->rank - s->rank);
      if (s->dims[k] != 1 && yk != 1)
        ok = false;
    }
    if (!ok)
      continue;
    int64_t C = y->dims[1];
    int view = graph_add_value(g, "");
    value_set_shape(&g->values[view], DT_FLOAT, 1, &C);
    value_set_data(&g->values[view], g->values[m->in[1 - i]].data,
                   g->values[m->in[1 - i]].nbytes);
    *scale = view;
    m = &g->nodes[g->values[v].producer];
    m->dead = true; /* the Mul is absorbed */
    return m->in[i];
  }
  return -1;
}

bool pass_fuse_residual(Graph *g, PassStats *st) {
  int fused = 0, acts = 0, scaled = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *add = &g->nodes[i];
    if (add->dead || add->op != OP_ADD || add->nin != 2)
      continue;
    const Value *y = &g->values[add->out[0]];
    if (!value_same_shape(&g->values[add->in[0]], y) || !value_same_shape(&g->values[add->in[1]], y))
      continue;
    int pick = -1;
    for (int k = 0; k < 2; k++)
      if (fusable(g, add->in[k]) &&
          (pick < 0 || g->values[add->in[k]].producer > g->values[add->in[pick]].producer))
        pick = k;
    if (pick < 0)
      continue;
    int pi = g->values[add->in[pick]].producer;
    int other = add->in[1 - pick], scale = -1;
    int x = per_channel_mul(g, other, &scale);
    if (x >= 0) {
      other = x;
      scaled++;
    }
    Node *p = &g->nodes[pi];
    add = &g->nodes[i];
    p->ep.residual = other;
    p->ep.residual_scale = scale;
    node_take_output_counted(g, p, add);
    g->values[other].nusers++;
    if (scale >= 0)
      g->values[scale].nusers++;
    fused++;
    acts += rewrite_fuse_activation(g, p);
  }
  st->changes = fused;
  snprintf(st->what, sizeof st->what,
           "fused %d residual Adds into Conv/Gemm (%d with a per-channel scale, "
           "%d with the activation after them)",
           fused, scaled, acts);
  return true;
}
