/*
 * eliminate-identity: removes nodes that do not change data.  Identity and
 * inference Dropout are bypassed (their readers read the input instead), a
 * Reshape/Flatten/Squeeze/Unsqueeze whose output shape equals its input
 * shape is bypassed the same way, and in a chain of shape-only ops each one
 * reads the chain's source directly, so the middle ones die in dce.  A node
 * whose output is a graph output is kept (it names the output buffer).
 */
#include "../cardinal.h"

#include <string.h>

bool pass_eliminate_identity(Graph *g, PassStats *st) {
  int removed = 0, shortcut = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || !(op_table[n->op].flags & OPF_ALIAS))
      continue;
    if (n->op == OP_DROPOUT && n->nout > 1 && n->out[1] >= 0 &&
        (g->values[n->out[1]].nusers || g->values[n->out[1]].is_output))
      continue;
    int x = n->in[0], y = n->out[0];
    /* Read through a chain of shape-only producers. */
    int p = g->values[x].producer;
    if (p >= 0 && (op_table[g->nodes[p].op].flags & OPF_ALIAS) &&
        !(g->nodes[p].op == OP_DROPOUT && g->nodes[p].nout > 1)) {
      n->in[0] = g->nodes[p].in[0];
      x = n->in[0];
      shortcut++;
    }
    const Value *vx = &g->values[x], *vy = &g->values[y];
    bool same = vx->rank == vy->rank && vx->dtype == vy->dtype &&
                !memcmp(vx->dims, vy->dims, sizeof(int64_t) * (size_t)vx->rank);
    if (same && !vy->is_output) {
      graph_replace_reads(g, y, x);
      n->dead = true;
      removed++;
    }
  }
  ir_recount_uses(g);
  /* Sources of shortcut chains may have lost their last reader. */
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (!n->dead && (op_table[n->op].flags & OPF_ALIAS) &&
        g->values[n->out[0]].nusers == 0 && !g->values[n->out[0]].is_output) {
      n->dead = true;
      removed++;
    }
  }
  st->changes = removed + shortcut;
  snprintf(st->what, sizeof st->what,
           "removed %d identity/no-op reshape nodes, shortened %d chains",
           removed, shortcut);
  return true;
}
