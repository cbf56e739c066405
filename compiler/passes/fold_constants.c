/*
 * fold-constants: every node whose inputs are all constants is evaluated at
 * compile time by the reference interpreter; its outputs become constants
 * (weights), and the node disappears.  A graph output stays computed.
 */
#include "../cardinal.h"

#include <string.h>

bool pass_fold_constants(Graph *g, PassStats *st) {
  Diag d = {.quiet = true};
  bool ok = true;
  for (int i = 0; i < g->nnodes && ok; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->nin == 0 || !node_is_foldable(g, n))
      continue;
    ok = node_fold(g, n, &d); /* false: over the folding budget */
    st->changes += ok;
  }
  if (!ok) /* the budget's message, without its "error: " */
    snprintf(st->error, sizeof st->error, "%.*s", (int)strcspn(d.log.buf + 7, "\n"),
             d.log.buf + 7);
  sb_free(&d.log);
  if (!ok)
    return false;
  snprintf(st->what, sizeof st->what, "folded %d nodes into constants",
           st->changes);
  return true;
}
