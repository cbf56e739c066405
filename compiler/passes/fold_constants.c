/*
 * fold-constants: every node whose inputs are all constants is evaluated at
 * compile time by the reference interpreter; its outputs become constants
 * (weights), and the node disappears.  A graph output stays computed.
 */
#include "../cardinal.h"

bool pass_fold_constants(Graph *g, PassStats *st) {
  Diag d = {.quiet = true};
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->nin == 0 || !node_is_foldable(g, n))
      continue;
    node_fold(g, n, &d);
    st->changes++;
  }
  sb_free(&d.log);
  snprintf(st->what, sizeof st->what, "folded %d nodes into constants",
           st->changes);
  return true;
}
