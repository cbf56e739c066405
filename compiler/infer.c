/*
 * infer.c — shape inference, and the folding of compile-time-only values.
 *
 * Nodes are visited in order; each op's infer function checks attributes,
 * fills OpParams and sets output shapes.  A node computing shape data
 * (Shape, Gather, Cast, Constant, or any node with int64 output) whose inputs
 * are known is evaluated on the spot by the reference interpreter and its
 * outputs become constants, so a Reshape fed by Shape -> Gather -> Unsqueeze
 * -> Concat sees a constant target shape.  Float computations on constants
 * are left to the fold-constants pass, so `--passes none` still shows them.
 */
#include "cardinal.h"

#include <stdlib.h>

bool node_is_foldable(const Graph *g, const Node *n) {
  if (n->dead || n->op == OP_COUNT)
    return false;
  if (n->op == OP_SHAPE)
    return g->values[n->in[0]].rank >= 0;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] >= 0 && !g->values[n->in[i]].data)
      return false;
  for (int i = 0; i < n->nout; i++)
    if (n->out[i] >= 0 && g->values[n->out[i]].is_output && n->op != OP_CONSTANT)
      return false;
  return true;
}

/* Evaluates n now; its outputs become constants and n dies. */
bool node_fold(Graph *g, Node *n, Diag *d) {
  (void)d;
  void **data = calloc((size_t)g->nvalues, sizeof(void *));
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] >= 0)
      data[n->in[i]] = g->values[n->in[i]].data;
  for (int i = 0; i < n->nout; i++) {
    int v = n->out[i];
    if (v < 0)
      continue;
    Value *o = &g->values[v];
    if (!o->data)
      o->data = arena_alloc(&g->arena, value_bytes(o) + 1);
    data[v] = o->data;
  }
  if (n->op != OP_CONSTANT)
    op_table[n->op].eval(g, n, data);
  if (node_has_epilogue(n))
    epilogue_eval(g, n, data);
  for (int i = 0; i < n->nout; i++)
    if (n->out[i] >= 0)
      g->values[n->out[i]].producer = -1;
  n->dead = true;
  free(data);
  return true;
}

bool node_infer(Graph *g, Node *n, Diag *d) {
  if (!op_table[n->op].infer(g, n, d))
    return false;
  for (int i = 0; i < n->nout; i++) {
    Value *o = n->out[i] >= 0 ? &g->values[n->out[i]] : NULL;
    if (o && value_numel(o) > ((int64_t)1 << 40)) {
      diag_error(d, "node '%s' (%s): output '%s' is unreasonably large",
                 node_label(n), n->op_type, o->name);
      return false;
    }
  }
  return true;
}

static bool wants_folding(const Graph *g, const Node *n) {
  if (n->op == OP_CONSTANT || (op_table[n->op].flags & OPF_SHAPE))
    return true;
  return n->out[0] >= 0 && g->values[n->out[0]].dtype != DT_FLOAT;
}

bool graph_infer(Graph *g, Diag *d) {
  int bad = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->op == OP_COUNT) {
      diag_error(d, "node '%s': unsupported op %s%s%s (opset %d)",
                 node_label(n), n->domain[0] ? n->domain : "",
                 n->domain[0] ? "." : "", n->op_type, n->opset);
      bad++;
    }
  }
  if (bad)
    return false;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] >= 0 && g->values[n->in[j]].rank < 0) {
        diag_error(d, "node '%s' (%s): input '%s' has no known shape",
                   node_label(n), n->op_type, g->values[n->in[j]].name);
        return false;
      }
    if (!node_infer(g, n, d))
      return false;
    if (wants_folding(g, n) && node_is_foldable(g, n))
      node_fold(g, n, d);
  }
  graph_compact(g);
  return true;
}
