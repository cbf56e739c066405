/*
 * interp.c — the reference interpreter: plain scalar C for every op, NCHW
 * float32, no layout tricks.  It is the oracle of the tests (every pass and
 * every generated kernel is checked against it), the engine of constant
 * folding, and `cardinal run --reference`.
 *
 * Values are held in their layouts; node_eval converts every operand that
 * is not plain (a blocked activation, packed weights) to plain before the
 * op's eval and every output back after it, so each op's reference code
 * only ever sees plain NCHW.
 */
#include "cardinal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* y = act(y + residual * scale[c]), channel c = dim 1 of the output. */
void epilogue_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  float *Y = data[n->out[0]];
  const Epilogue *ep = &n->ep;
  const float *R = ep->residual >= 0 ? data[ep->residual] : NULL;
  const float *S = ep->residual_scale >= 0 ? data[ep->residual_scale] : NULL;
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
          v = act_apply(ep->act, v, ep->act_alpha, ep->act_beta);
        Y[k] = v;
      }
}

void node_eval(Graph *g, Node *n, void **data) {
  bool plain = true;
  for (int j = 0; j < node_nreads(n); j++)
    plain &= node_read(n, j) < 0 || g->values[node_read(n, j)].layout.kind == LAYOUT_PLAIN;
  for (int j = 0; j < n->nout; j++)
    plain &= n->out[j] < 0 || g->values[n->out[j]].layout.kind == LAYOUT_PLAIN;
  if (plain) {
    op_table[n->op].eval(g, n, data);
    if (node_has_epilogue(n))
      epilogue_eval(g, n, data);
    return;
  }
  /* Plain copies of every operand and output, in a table of their own. */
  void **view = calloc((size_t)g->nvalues + 1, sizeof(void *));
  CD_ASSERT(view);
  for (int j = 0; j < node_nreads(n) + n->nout; j++) {
    int v = j < node_nreads(n) ? node_read(n, j) : n->out[j - node_nreads(n)];
    if (v < 0 || view[v])
      continue;
    const Value *x = &g->values[v];
    if (x->layout.kind == LAYOUT_PLAIN) {
      view[v] = data[v];
      continue;
    }
    view[v] = malloc(value_bytes(x) + 1);
    CD_ASSERT(view[v]);
    if (j < node_nreads(n))
      layout_to_plain(x, data[v], view[v]);
  }
  op_table[n->op].eval(g, n, view);
  if (node_has_epilogue(n))
    epilogue_eval(g, n, view);
  for (int j = 0; j < node_nreads(n) + n->nout; j++) {
    int v = j < node_nreads(n) ? node_read(n, j) : n->out[j - node_nreads(n)];
    if (v < 0 || !view[v] || view[v] == data[v])
      continue;
    if (j >= node_nreads(n))
      layout_from_plain(&g->values[v], view[v], data[v]);
    free(view[v]);
    view[v] = NULL;
  }
  free(view);
}

/* Integer inputs and outputs (uint8, int8, int32) travel as float values,
 * as in the generated API (docs/embedding.md): each input value must be an
 * integer in its type's range -- anything else (a fraction, NaN, out of
 * range) is an error naming the input and the element, where generated
 * code returns CD_ERR_INPUT -- and each output value is written as a
 * float (int32 beyond 2^24 rounded to the nearest float). */
static bool int_input(Graph *g, int k, const float *x, void *out, Diag *d) {
  const Value *v = &g->values[g->inputs[k]];
  int64_t lo, hi;
  CD_ASSERT(dtype_io_as_float(v->dtype, &lo, &hi));
  for (int64_t i = 0, m = value_numel(v); i < m; i++) {
    float f = x[i];
    if (!(f >= (float)lo && f < (float)hi + 1.0f) || f != floorf(f)) {
      diag_error(d, "graph input '%s' (%s): element %lld is %g, not a %s value (an integer "
                 "in %lld..%lld)", v->name, dtype_name(v->dtype), (long long)i, (double)f,
                 dtype_name(v->dtype), (long long)lo, (long long)hi);
      return false;
    }
    switch (v->dtype) {
    case DT_UINT8: ((uint8_t *)out)[i] = (uint8_t)f; break;
    case DT_INT8: ((int8_t *)out)[i] = (int8_t)f; break;
    default: ((int32_t *)out)[i] = (int32_t)f; break;
    }
  }
  return true;
}

static void int_output(const Value *v, const void *x, float *out) {
  for (int64_t i = 0, m = value_numel(v); i < m; i++)
    switch (v->dtype) {
    case DT_UINT8: out[i] = ((const uint8_t *)x)[i]; break;
    case DT_INT8: out[i] = ((const int8_t *)x)[i]; break;
    case DT_INT64: out[i] = (float)((const int64_t *)x)[i]; break;
    default: out[i] = (float)((const int32_t *)x)[i]; break;
    }
}

bool interp_run(Graph *g, const float *const *inputs, float **outputs,
                Diag *d) {
  return interp_run_observed(g, inputs, outputs, NULL, NULL, d);
}

bool interp_run_observed(Graph *g, const float *const *inputs, float **outputs,
                         InterpObserver observe, void *ctx, Diag *d) {
  void **data = calloc((size_t)g->nvalues + 1, sizeof(void *));
  char *owned = calloc((size_t)g->nvalues + 1, 1);
  CD_ASSERT(data && owned);
  for (int i = 0; i < g->nvalues; i++)
    if (g->values[i].data)
      data[i] = g->values[i].data;
  bool ok = true;
  for (int i = 0; i < g->ninputs && ok; i++) {
    int v = g->inputs[i];
    int64_t lo, hi;
    if (dtype_io_as_float(g->values[v].dtype, &lo, &hi)) {
      CD_ASSERT(g->values[v].layout.kind == LAYOUT_PLAIN); /* the layout pass blocks float32 only */
      data[v] = malloc(value_bytes(&g->values[v]) + 1);
      CD_ASSERT(data[v]);
      owned[v] = 1;
      ok = int_input(g, i, inputs[i], data[v], d);
      continue;
    }
    if (g->values[v].layout.kind == LAYOUT_PLAIN) {
      data[v] = (void *)inputs[i];
      continue;
    }
    data[v] = malloc(value_storage_bytes(&g->values[v]) + 1);
    CD_ASSERT(data[v]);
    owned[v] = 1;
    layout_from_plain(&g->values[v], inputs[i], data[v]);
  }
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
      data[v] = malloc(value_storage_bytes(&g->values[v]) + 1);
      CD_ASSERT(data[v]);
      owned[v] = 1;
    }
    node_eval(g, n, data);
    for (int j = 0; observe && j < n->nout; j++)
      if (n->out[j] >= 0)
        observe(ctx, g, n->out[j], data[n->out[j]]);
  }
  for (int i = 0; i < g->noutputs && ok; i++) {
    const Value *v = &g->values[g->outputs[i]];
    int64_t lo, hi;
    CD_ASSERT(data[g->outputs[i]]);
    if (dtype_out_as_float(v->dtype, &lo, &hi)) {
      CD_ASSERT(v->layout.kind == LAYOUT_PLAIN);
      outputs[i] = malloc(sizeof(float) * (size_t)value_numel(v) + 1);
      CD_ASSERT(outputs[i]);
      int_output(v, data[g->outputs[i]], outputs[i]);
      continue;
    }
    outputs[i] = malloc(value_bytes(v) + 1);
    CD_ASSERT(outputs[i]);
    layout_to_plain(v, data[g->outputs[i]], outputs[i]);
  }
  for (int i = 0; i < g->nvalues; i++)
    if (owned[i])
      free(data[i]);
  free(owned);
  free(data);
  return ok;
}
