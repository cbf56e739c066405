/*
 * fuse-activation: an activation (an OPF_ACTIVATION op of ops.def with
 * constant parameters: Relu, LeakyRelu, Clip with constant bounds, Sigmoid,
 * ...) whose input is the output of a Conv or Gemm read by nothing else
 * moves into that node's epilogue; the activation node disappears.  It
 * applies after any residual already in the epilogue, which is the order of
 * relu(conv(x) + shortcut).  The rewrite itself is rewrite_fuse_activation
 * (rewrite.c), which fuse-residual shares.
 */
#include "../cardinal.h"

bool pass_fuse_activation(Graph *g, PassStats *st) {
  int fused = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead)
      fused += rewrite_fuse_activation(g, &g->nodes[i]);
  st->changes = fused;
  snprintf(st->what, sizeof st->what, "fused %d activations into Conv/Gemm", fused);
  return true;
}
