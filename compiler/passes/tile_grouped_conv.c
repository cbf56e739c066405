/*
 * tile-grouped-conv: grouped convolutions with narrow groups share vectors.
 *
 * A ResNeXt-50 grouped 3x3 has 4 to 32 channels a group.  Run as a dense
 * conv over blocks of c output channels (c = the target's vector width),
 * a 4-channel group wastes 3/4 of every FMA on the zeros between groups;
 * run per group it has too little work to fill the registers.  Here, when
 * a group's input and output widths are equal (Cg == Mg) and divide c, the
 * weights are packed block-diagonally (LAYOUT_WGLANES: lane l of output
 * block ob holds W[ob*c + l][j][k], so one vector holds c/Cg groups), and
 * the kernel (conv_glanes, codegen/simd_conv.c) permutes each input vector
 * so that lane l sees input channel j of its own group: every lane does
 * useful work, and one permute feeds every horizontal tap.  Where the
 * target has a dot form for the group width (conv_glanes_dot), the weights
 * are packed for it instead (LAYOUT_WGDOT): the input vector is used as
 * loaded, one accumulator per output channel of a group, and the lanes
 * are folded once per output pixel.
 *
 * Runs after layout, on convs it made blocked (their input is NCHWc of the
 * target's width and their weights LAYOUT_WCONV, zero-padded between the
 * groups); elsewhere, and on a target without vectors, it does nothing.
 * Which group widths take this path is conv_can_glanes' decision
 * (schedule.c).  `--passes default,-tile-grouped-conv` leaves these convs to
 * the zero-padded blocked kernel, which `cardinal compare` can time against.
 */
#include "../cardinal.h"

#include <string.h>

bool pass_tile_grouped_conv(Graph *g, PassStats *st) {
  const Target *t = g->target;
  int tiled = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || !t || !conv_can_glanes(g, n, t) ||
        g->values[n->in[1]].layout.kind != LAYOUT_WCONV ||
        g->values[n->in[0]].layout.kind != LAYOUT_NCHWC)
      continue;
    LayoutKind kind = conv_glanes_dot(g, n, t) ? LAYOUT_WGDOT : LAYOUT_WGLANES;
    int nw = value_packed_copy(g, n->in[1], (Layout){kind, t->block, 0, n->p.group});
    g->nodes[i].in[1] = nw;
    tiled++;
  }
  st->changes = tiled;
  snprintf(st->what, sizeof st->what,
           "packed %d grouped convolutions to share vectors across groups (%s)", tiled,
           t ? t->name : "no target");
  return true;
}
