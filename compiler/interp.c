/*
 * interp.c — the reference interpreter: plain scalar C for every op, NCHW
 * float32, no layout tricks.  It is the oracle of the tests (every pass and
 * every generated kernel is checked against it), the engine of constant
 * folding, and `cardinal run --reference`.
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

/* y = act(y + residual * scale[c]), channel c = dim 1 of the output. */
void epilogue_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  float *Y = data[n->out[0]];
  const Epilogue *ep = &n->ep;
  const float *R = ep->residual >= 0 ? data[n->in[ep->residual]] : NULL;
  const float *S = ep->residual_scale >= 0 ? data[n->in[ep->residual_scale]] : NULL;
  int64_t C = y->rank > 1 ? y->dims[1] : 1, outer = y->rank > 0 ? y->dims[0] : 1;
  int64_t oc = outer * C, inner = oc > 0 ? value_numel(y) / oc : 0;
  for (int64_t b = 0; b < outer; b++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t k = (b * C + c) * inner + i;
        float v = Y[k];
        if (R)
          v += S ? R[k] * S[c] : R[k];
        if (ep->act != OP_COUNT)
          v = unary_apply(ep->act, v, ep->act_alpha, ep->act_beta);
        Y[k] = v;
      }
}

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
    if (node_has_epilogue(n))
      epilogue_eval(g, n, data);
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
