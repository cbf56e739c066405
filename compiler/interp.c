/*
 * interp.c — the reference interpreter: plain scalar C for every op, NCHW
 * float32, no layout tricks.  It is the oracle of the tests (every pass and
 * every generated kernel is checked against it), the engine of constant
 * folding, and `cardinal run --reference`.
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

bool interp_run(Graph *g, const float *const *inputs, float **outputs,
                Diag *d) {
  void **data = calloc((size_t)g->nvalues + 1, sizeof(void *));
  char *owned = calloc((size_t)g->nvalues + 1, 1);
  for (int i = 0; i < g->nvalues; i++)
    if (g->values[i].data)
      data[i] = g->values[i].data;
  for (int i = 0; i < g->ninputs; i++)
    data[g->inputs[i]] = (void *)inputs[i];
  bool ok = true;
  for (int i = 0; i < g->nnodes && ok; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    if (n->op == OP_COUNT) {
      diag_error(d, "node '%s': cannot interpret %s", node_label(n), n->op_type);
      ok = false;
      break;
    }
    for (int j = 0; j < n->nout; j++) {
      int v = n->out[j];
      if (v < 0)
        continue;
      data[v] = malloc(value_bytes(&g->values[v]) + 1);
      CD_ASSERT(data[v]);
      owned[v] = 1;
    }
    op_table[n->op].eval(g, n, data);
  }
  for (int i = 0; i < g->noutputs && ok; i++) {
    const Value *v = &g->values[g->outputs[i]];
    outputs[i] = malloc(value_bytes(v) + 1);
    CD_ASSERT(outputs[i] && data[g->outputs[i]]);
    memcpy(outputs[i], data[g->outputs[i]], value_bytes(v));
  }
  for (int i = 0; i < g->nvalues; i++)
    if (owned[i])
      free(data[i]);
  free(owned);
  free(data);
  return ok;
}
