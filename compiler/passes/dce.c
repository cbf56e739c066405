/*
 * dce: dead-code elimination.  Walks back from the graph outputs; a node none
 * of whose outputs is needed is removed.
 */
#include "../cardinal.h"

#include <stdlib.h>

bool pass_dce(Graph *g, PassStats *st) {
  char *need = calloc((size_t)g->nvalues + 1, 1);
  CD_ASSERT(need);
  for (int i = 0; i < g->noutputs; i++)
    need[g->outputs[i]] = 1;
  int removed = 0;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    bool live = false;
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] >= 0 && need[n->out[j]])
        live = true;
    if (!live) {
      n->dead = true;
      removed++;
      continue;
    }
    for (int j = 0; j < node_nreads(n); j++)
      if (node_read(n, j) >= 0)
        need[node_read(n, j)] = 1;
  }
  free(need);
  st->changes = removed;
  snprintf(st->what, sizeof st->what, "removed %d dead nodes", removed);
  return true;
}
