/*
 * winograd: stride-1 3x3 convolutions in Winograd's F(2x2, 3x3).
 *
 * A 2x2 block of outputs of a 3x3 conv reads a 4x4 patch of each input
 * channel.  Transformed (V = B^T d B for the patch, U = G g G^T for each
 * weight), the 36 multiplies a channel pair costs directly become 16, one
 * per element of V .* U, and each of the 16 is a matrix product over the
 * channels: [tiles x C] by [C x M], the same register-tiled inner loop as a
 * 1x1 conv.  The output is A^T (sum) A.  2.25x fewer multiply-adds, paid
 * for by the transforms (a few adds per element, linear in C + M, not C x
 * M) and by rounding: every value passes through sums of up to four
 * inputs, so results differ from the direct conv's in the last bits (the
 * interpreter's checks compare to a tolerance; precision in README).
 *
 * Runs after layout, on blocked convs whose weights are LAYOUT_WCONV and
 * which conv_can_wino accepts (codegen/simd_conv.c: one group, 3x3, stride
 * and dilation 1, a blocked input whose channels fill whole vectors, and
 * enough channels and pixels that the transforms pay); their weights are
 * repacked as LAYOUT_WWINO and the conv_wino kernel family runs them.
 * `--passes default,-winograd` keeps the direct kernel, which `cardinal
 * compare` can time against.
 */
#include "../cardinal.h"

bool pass_winograd(Graph *g, PassStats *st) {
  const Target *t = g->target;
  int moved = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || !t || !conv_can_wino(g, n, t))
      continue;
    int nw = value_packed_copy(g, n->in[1], (Layout){LAYOUT_WWINO, t->block, 0, 1});
    g->nodes[i].in[1] = nw;
    moved++;
  }
  st->changes = moved;
  snprintf(st->what, sizeof st->what, "%d 3x3 convolutions in Winograd's F(2x2, 3x3) (%s)", moved,
           t ? t->name : "no target");
  return true;
}
