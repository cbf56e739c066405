/*
 * infer.c — shape inference, and the folding of compile-time-only values.
 *
 * Nodes are visited in order; each is set up once: its arity checked
 * against ops.def, its attributes parsed into OpParams, its output shapes
 * inferred.  Inference proper (node_infer) reads only OpParams and the
 * input shapes, so it can be re-run after any pass.  A node computing shape data
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
  for (int i = 0; i < node_nreads(n); i++)
    if (node_read(n, i) >= 0 && !g->values[node_read(n, i)].data)
      return false;
  for (int i = 0; i < n->nout; i++)
    if (n->out[i] >= 0 && g->values[n->out[i]].is_output && n->op != OP_CONSTANT)
      return false;
  return true;
}

/* What evaluating n costs, in element operations: every element it reads
 * and writes, plus its multiply-adds (a pool's window visits). */
static int64_t fold_work(const Graph *g, const Node *n) {
  int64_t work = sat_add(node_macs(g, n), 0);
  for (int i = 0; i < node_nreads(n) + n->nout; i++) {
    int v = i < node_nreads(n) ? node_read(n, i) : n->out[i - node_nreads(n)];
    if (v >= 0)
      work = sat_add(work, value_numel(&g->values[v]));
  }
  if (n->op == OP_MAXPOOL || n->op == OP_AVGPOOL)
    work = sat_add(work, sat_mul(value_numel(&g->values[n->out[0]]),
                                 sat_mul(sat_mul(n->p.kernel[0], n->p.kernel[1]), n->p.kernel[2])));
  return work;
}

/* Evaluates n now; its outputs become constants and n dies.  Folding is
 * work the file asks of the compiler: it is charged to the graph's budget
 * (Limits.fold_work, fold_bytes) before it is done. */
bool node_fold(Graph *g, Node *n, Diag *d) {
  int64_t work = fold_work(g, n), bytes = 0;
  for (int i = 0; i < n->nout; i++)
    if (n->out[i] >= 0 && !g->values[n->out[i]].data)
      bytes = sat_add(bytes, (int64_t)value_storage_bytes(&g->values[n->out[i]]));
  if (sat_add(g->fold_work, work) > g->limits.fold_work ||
      sat_add(g->fold_bytes, bytes) > g->limits.fold_bytes) {
    diag_error(d, "node '%s' (%s): evaluating it at compile time (%lld element operations, "
               "%lld bytes) would exceed the constant-folding budget (%lld operations, %lld "
               "bytes per model)", node_label(n), n->op_type, (long long)work, (long long)bytes,
               (long long)g->limits.fold_work, (long long)g->limits.fold_bytes);
    return false;
  }
  g->fold_work += work;
  g->fold_bytes += bytes;
  void **data = calloc((size_t)g->nvalues + 1, sizeof(void *));
  CD_ASSERT(data);
  for (int i = 0; i < node_nreads(n); i++)
    if (node_read(n, i) >= 0)
      data[node_read(n, i)] = g->values[node_read(n, i)].data;
  for (int i = 0; i < n->nout; i++) {
    int v = n->out[i];
    if (v < 0)
      continue;
    if (!g->values[v].data)
      value_alloc_data(g, v);
    data[v] = g->values[v].data;
  }
  if (n->op != OP_CONSTANT)
    node_eval(g, n, data);
  for (int i = 0; i < n->nout; i++)
    if (n->out[i] >= 0)
      g->values[n->out[i]].producer = -1;
  n->dead = true;
  free(data);
  return true;
}

/* The tensor-size limit (Limits), on every value a node reads and writes:
 * once inference has passed, no product of dims anywhere can overflow. */
static bool sizes_ok(Graph *g, Node *n, Diag *d, bool outputs) {
  char why[160];
  int m = outputs ? n->nout : node_nreads(n);
  for (int i = 0; i < m; i++) {
    int v = outputs ? n->out[i] : node_read(n, i);
    if (v < 0 || g->values[v].rank < 0 || value_size_ok(g, &g->values[v], why, sizeof why))
      continue;
    diag_error(d, "node '%s' (%s): %s '%s' is too large: %s", node_label(n), n->op_type,
               outputs ? "output" : "input", g->values[v].name, why);
    return false;
  }
  return true;
}

/* A parse that reported an error fails, whatever it returned: attr_int
 * and its kind report a wrongly typed attribute and carry on. */
bool node_setup(Graph *g, Node *n, Diag *d) {
  int errors = d->nerrors;
  return op_check_arity(g, n, d) && sizes_ok(g, n, d, false) &&
         op_table[n->op].parse(g, n, d) && d->nerrors == errors && node_infer(g, n, d);
}

bool node_infer(Graph *g, Node *n, Diag *d) {
  return sizes_ok(g, n, d, false) && op_table[n->op].infer(g, n, d) && sizes_ok(g, n, d, true);
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
      } else if (n->in[j] >= 0 && !dtype_size(g->values[n->in[j]].dtype)) {
        diag_error(d, "node '%s' (%s): input '%s' is not a tensor of a supported element type "
                   "(float32, float64, int8, uint8, int32, int64 or bool)",
                   node_label(n), n->op_type, g->values[n->in[j]].name);
        return false;
      }
    if (!node_setup(g, &g->nodes[i], d))
      return false;
    n = &g->nodes[i]; /* parse may add values, never nodes; stay safe */
    if (wants_folding(g, n) && node_is_foldable(g, n) && !node_fold(g, n, d))
      return false;
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] >= 0 && !dtype_size(g->values[n->out[j]].dtype)) {
        diag_error(d, "node '%s' (%s): output '%s' would be of an element type Cardinal does "
                   "not support (float32, float64, int8, uint8, int32, int64 or bool)",
                   node_label(n), n->op_type, g->values[n->out[j]].name);
        return false;
      }
  }
  graph_compact(g);
  return true;
}
