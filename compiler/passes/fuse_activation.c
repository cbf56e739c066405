/*
 * fuse-activation: an activation (Relu, LeakyRelu, Clip with constant
 * bounds, Sigmoid, Tanh, HardSigmoid, HardSwish) whose input is the output of
 * a Conv or Gemm read by nothing else moves into that node's epilogue; the
 * activation node disappears.  It applies after any residual already in the
 * epilogue, which is the order of relu(conv(x) + shortcut).
 */
#include "../cardinal.h"

static bool is_activation(const Graph *g, const Node *n) {
  switch (n->op) {
  case OP_RELU: case OP_LEAKYRELU: case OP_SIGMOID: case OP_TANH:
  case OP_HARDSIGMOID: case OP_HARDSWISH:
    return true;
  case OP_CLIP:
    for (int i = 1; i < n->nin; i++)
      if (n->in[i] >= 0 && !g->values[n->in[i]].data)
        return false;
    return true;
  default:
    return false;
  }
}

bool fuse_activation_into(Graph *g, Node *p) {
  if ((p->op != OP_CONV && p->op != OP_GEMM) || p->ep.act != OP_COUNT ||
      !value_single_use(g, p->out[0]))
    return false;
  for (int k = 0; k < g->nnodes; k++) {
    Node *u = &g->nodes[k];
    if (u->dead || u->nin < 1 || u->in[0] != p->out[0] || !is_activation(g, u))
      continue;
    p->ep.act = u->op;
    p->ep.act_alpha = u->p.alpha;
    p->ep.act_beta = u->p.beta;
    node_take_output(g, p, u);
    return true;
  }
  return false;
}

bool pass_fuse_activation(Graph *g, PassStats *st) {
  int fused = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead)
      fused += fuse_activation_into(g, &g->nodes[i]);
  st->changes = fused;
  snprintf(st->what, sizeof st->what, "fused %d activations into Conv/Gemm", fused);
  return true;
}
