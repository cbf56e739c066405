/*
 * infer.c — shape inference, and the folding of compile-time-only values.
 *
 * Nodes are visited in order; each is set up once: its arity checked
 * against ops.def, its attributes parsed into OpParams, its output shapes
 * inferred.  Inference proper (node_infer) reads only OpParams and the
 * input shapes, so it can be re-run after any pass.  A node computing shape data
 * (Shape, Constant, any node with a non-float output, any node that reads
 * nothing at run time such as ConstantOfShape) whose inputs
 * are known is evaluated on the spot by the reference interpreter and its
 * outputs become constants, so a Reshape fed by Shape -> Gather -> Unsqueeze
 * -> Concat sees a constant target shape.  Float computations on constants
 * are left to the fold-constants pass, so `--passes none` still shows them --
 * except those a parameter input needs: a node's parameter inputs (ops.def)
 * are read when it is set up, so whatever computes one from constants alone
 * (Resize's sizes as Cast -> Mul -> Cast of a Shape, in float) is folded
 * then, just before the node that reads it.
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

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
  int64_t max_bytes = sat_add(g->limits.fold_bytes, g->source_bytes);
  if (sat_add(g->fold_work, work) > g->limits.fold_work ||
      sat_add(g->fold_bytes, bytes) > max_bytes) {
    diag_error(d, "node '%s' (%s): evaluating it at compile time (%lld element operations, "
               "%lld bytes) would exceed the constant-folding budget (%lld operations, %lld "
               "bytes per model: %lld and the %lld bytes of its own constants)", node_label(n),
               n->op_type, (long long)work, (long long)bytes, (long long)g->limits.fold_work,
               (long long)max_bytes, (long long)g->limits.fold_bytes, (long long)g->source_bytes);
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
  bool runtime_reads = false;
  for (int k = 0; k < node_nreads(n); k++)
    runtime_reads |= node_runtime_read(n, k);
  return !runtime_reads || (n->out[0] >= 0 && g->values[n->out[0]].dtype != DT_FLOAT);
}

/* What graph_infer knows of the values so far: which are computable at
 * compile time (constants, or made by a node all of whose reads are), and
 * the nodes a parameter input needs folded. */
typedef struct {
  char *ct;        /* per value: computable at compile time */
  int nct;         /* values ct covers (parse may add values: the rest are asked directly) */
  char *mark;      /* per node: on the current walk */
  int *list, *stack;
} Known;

static bool computable(const Graph *g, const Known *k, int v) {
  return v < 0 || g->values[v].data || (v < k->nct && k->ct[v]);
}

static void note_outputs(Graph *g, Known *k, const Node *n) {
  if (k->nct < g->nvalues) {
    k->ct = realloc(k->ct, (size_t)g->nvalues);
    CD_ASSERT(k->ct);
    memset(k->ct + k->nct, 0, (size_t)(g->nvalues - k->nct));
    k->nct = g->nvalues;
  }
  bool all = true;
  for (int r = 0; r < node_nreads(n) && n->op != OP_SHAPE; r++)
    all &= computable(g, k, node_read(n, r));
  for (int j = 0; j < n->nout; j++)
    if (n->out[j] >= 0)
      k->ct[n->out[j]] = all;
}

static int cmp_int(const void *a, const void *b) {
  return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* Folds, in order, the nodes that compute n's parameter inputs from
 * constants (each node at most once over the whole inference: once folded
 * its outputs are constants, which the walks stop at). */
static bool fold_param_inputs(Graph *g, Known *k, const Node *n, Diag *d) {
  int nl = 0, ns = 0;
  for (int i = 0; i < n->nin && i < 32; i++) {
    int v = n->in[i];
    if (v < 0 || !(op_table[n->op].param_inputs & (1u << i)) || g->values[v].data ||
        !computable(g, k, v) || g->values[v].producer < 0)
      continue;
    k->stack[ns++] = g->values[v].producer;
    while (ns) {
      int p = k->stack[--ns];
      CD_STEPS(1);
      if (k->mark[p] || g->nodes[p].dead)
        continue;
      k->mark[p] = 1;
      k->list[nl++] = p;
      const Node *pn = &g->nodes[p];
      for (int r = 0; r < node_nreads(pn); r++) {
        int u = node_read(pn, r);
        if (u >= 0 && !g->values[u].data && g->values[u].producer >= 0 &&
            !k->mark[g->values[u].producer])
          k->stack[ns++] = g->values[u].producer;
      }
    }
  }
  qsort(k->list, (size_t)nl, sizeof(int), cmp_int);
  bool ok = true;
  for (int i = 0; i < nl; i++) {
    Node *p = &g->nodes[k->list[i]];
    k->mark[k->list[i]] = 0;
    if (ok && !p->dead && node_is_foldable(g, p))
      ok = node_fold(g, p, d);
  }
  return ok;
}

/*
 * Nodes static code cannot compute.  An op Cardinal does not know stops
 * compilation, and so does one whose output's size, or the work done,
 * depends on the data (NonZero, NonMaxSuppression, TopK whose k is
 * computed at run time, Loop, If on a computed condition): generated code
 * has static shapes.  Inference does not stop at the first: it goes on
 * past them, folding what it can, so TopK's k and If's condition are
 * judged once the shape arithmetic before them is constant, and every node
 * reading what they compute is skipped.  Then one report: a line per op
 * kind (count, first node, why), and the way forward -- --outputs at the
 * tensors they (and the nodes after them) read from the part that
 * compiles, so that part is compiled and the rest left to the caller.
 */
typedef enum { STUCK_UNKNOWN, STUCK_DATA, STUCK_AFTER } StuckKind;

/* What the report says of an op Cardinal cannot compile.  `param` >= 0:
 * data-dependent only when that input is computed at run time (else it
 * is an op not supported, like any other). */
static const struct {
  const char *op;
  int param;
  const char *why;
} stuck_ops[] = {
    {"NonZero", -1, "the size of its output depends on the data"},
    {"NonMaxSuppression", -1, "the number of boxes it keeps depends on the data"},
    {"Unique", -1, "the size of its output depends on the data"},
    {"Compress", 1, "the size of its output depends on the condition, computed at run time"},
    {"TopK", 1, "k is computed at run time, so the size of its output depends on the data"},
    {"Loop", -1, "its trip count and the size of its outputs depend on the data"},
    {"If", 0, "its condition is computed at run time, so the branch taken depends on the data"},
};

static int stuck_row(const Node *n) {
  if (n->domain[0] && strcmp(n->domain, "ai.onnx"))
    return -1;
  for (int r = 0; r < (int)(sizeof stuck_ops / sizeof stuck_ops[0]); r++)
    if (!strcmp(stuck_ops[r].op, n->op_type))
      return r;
  return -1;
}

/* Static code cannot compute n: it is an op Cardinal does not know, or one
 * whose output depends on the data (*data); ct tells which of its inputs
 * are known at compile time. */
static bool node_stuck(const Graph *g, const Node *n, const char *ct, int nct, bool *data) {
  int r = stuck_row(n);
  *data = false;
  if (r >= 0 && stuck_ops[r].param != -2) {
    int p = stuck_ops[r].param, v = p >= 0 && p < n->nin ? n->in[p] : -1;
    *data = p < 0 || (v >= 0 && !g->values[v].data && !(v < nct && ct[v]));
  }
  return n->op == OP_COUNT;
}

typedef struct {
  int node;        /* the first of its kind */
  int count;
  bool data;       /* data-dependent (else not supported) */
} StuckKindRow;

/* Dominators among the values computed at run time (a DAG, in node
 * order): idom[v] is the value every path from the graph inputs to v
 * passes through last, -1 for the inputs (and a virtual root above them),
 * -2 for a constant.  depth[v] is its depth in that tree. */
static int dom_lca(const int *idom, const int *depth, int a, int b) {
  while (a != b && a >= 0 && b >= 0) {
    if (depth[a] >= depth[b])
      a = idom[a];
    else
      b = idom[b];
  }
  return a == b ? a : -1;
}

/* The --outputs to suggest: the tensors computed at run time that stuck
 * nodes read from the part that compiles (front[nf]); more than SUGGEST_CUT of them are
 * merged, deepest common dominator first, into fewer tensors they are all
 * computed from (SSD's 90 per-class score slices into the scores). */
#define SUGGEST_CUT 4
static int suggest_cut(const Graph *g, int *front, int nf, const char *blocked) {
  int nv = g->nvalues;
  int *idom = malloc(sizeof(int) * ((size_t)nv + 1)), *depth = calloc((size_t)nv + 1, sizeof(int));
  int *count = calloc((size_t)nv + 1, sizeof(int));
  CD_ASSERT(idom && depth && count);
  for (int v = 0; v < nv; v++)
    idom[v] = g->values[v].is_input ? -1 : -2;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || n->op == OP_COUNT)
      continue;
    int lca = -2;
    bool bad = false;
    for (int r = 0; r < node_nreads(n); r++) {
      int u = node_read(n, r);
      bad |= u >= 0 && u < nv && blocked[u];
      if (u < 0 || u >= nv || idom[u] == -2)
        continue;
      lca = lca == -2 ? u : dom_lca(idom, depth, lca, u);
    }
    for (int k = 0; k < n->nout && !bad; k++) {
      int v = n->out[k];
      if (v >= 0 && v < nv && lca != -2 && !g->values[v].data) {
        idom[v] = lca;
        depth[v] = lca >= 0 ? depth[lca] + 1 : 0;
      }
    }
  }
  /* A tensor of a type inputs and outputs do not both pass (a bool mask,
   * which no output is; an int64 k, which would reach the caller only as
   * floats) is replaced by the nearest one it is computed from that they
   * do (TopK's k by the float max it was cast from); one the inputs
   * dominate alone is dropped. */
  int m = 0;
  for (int f = 0; f < nf; f++) {
    int v = front[f];
    int64_t lo, hi;
    while (v >= 0 && g->values[v].dtype != DT_FLOAT &&
           !dtype_io_as_float(g->values[v].dtype, &lo, &hi))
      v = idom[v];
    bool dup = v < 0 || g->values[v].is_input;
    for (int k = 0; k < m && !dup; k++)
      dup = front[k] == v;
    if (!dup)
      front[m++] = v;
  }
  nf = m;
  while (nf > SUGGEST_CUT) {
    memset(count, 0, sizeof(int) * (size_t)nv);
    for (int f = 0; f < nf; f++)
      for (int a = front[f]; a >= 0; a = idom[a])
        count[a]++;
    int best = -1;
    for (int v = 0; v < nv; v++)
      if (count[v] >= 2 && !g->values[v].is_input &&
          (best < 0 || depth[v] > depth[best] || (depth[v] == depth[best] && v > best)))
        best = v;
    if (best < 0)
      break;
    m = 0;
    for (int f = 0; f < nf; f++) {
      int a = front[f];
      while (a >= 0 && a != best)
        a = idom[a];
      if (a != best)
        front[m++] = front[f];
    }
    front[m++] = best;
    nf = m;
  }
  free(idom);
  free(depth);
  free(count);
  return nf;
}

static int cmp_int(const void *a, const void *b);

static void report_stuck(Graph *g, const int *stuck, const char *kinds, int nstuck,
                         const char *blocked, Diag *d) {
  StuckKindRow *rows = calloc((size_t)nstuck + 1, sizeof(StuckKindRow));
  int *front = malloc(sizeof(int) * ((size_t)g->nvalues + 1));
  char *seen = calloc((size_t)g->nvalues + 1, 1);
  CD_ASSERT(rows && front && seen);
  int nrows = 0, after = 0, nodes = 0, nf = 0;
  bool any_data = false;
  for (int s = 0; s < nstuck; s++) {
    const Node *n = &g->nodes[stuck[s]];
    /* what the part left to the caller reads from the part compiled */
    for (int k = 0; k < node_nreads(n); k++) {
      int v = node_read(n, k);
      if (v >= 0 && !blocked[v] && !g->values[v].data && !g->values[v].is_input && !seen[v]) {
        seen[v] = 1;
        front[nf++] = v;
      }
    }
    if (kinds[s] == STUCK_AFTER) {
      after++;
      continue;
    }
    nodes++;
    any_data |= kinds[s] == STUCK_DATA;
    int r;
    for (r = 0; r < nrows; r++) {
      const Node *m = &g->nodes[rows[r].node];
      if (!strcmp(m->op_type, n->op_type) && !strcmp(m->domain, n->domain) &&
          rows[r].data == (kinds[s] == STUCK_DATA))
        break;
    }
    if (r == nrows)
      rows[nrows++] = (StuckKindRow){stuck[s], 0, kinds[s] == STUCK_DATA};
    rows[r].count++;
  }
  StrBuf sb = {0};
  sb_printf(&sb, "%d node%s cannot be compiled to static code:", nodes, nodes == 1 ? "" : "s");
  for (int r = 0; r < nrows; r++) {
    const Node *n = &g->nodes[rows[r].node];
    int row = stuck_row(n);
    const char *why = rows[r].data ? stuck_ops[row].why
                      : row >= 0 && stuck_ops[row].param == -2 ? stuck_ops[row].why
                      : n->domain[0] && strcmp(n->domain, "ai.onnx")
                          ? "an op of another domain than ONNX's (an optimizer's or a "
                            "framework's own op): export the model without it"
                          : "not supported";
    sb_printf(&sb, "\n  %s%s%-*s %4d %-5s  first '%s' (opset %d): %s", n->domain,
              n->domain[0] ? "." : "", n->domain[0] ? 0 : 18, n->op_type, rows[r].count,
              rows[r].count == 1 ? "node" : "nodes", node_label(n), n->opset, why);
  }
  if (after)
    sb_printf(&sb, "\n  and %d node%s after them, reading what they compute", after,
              after == 1 ? "" : "s");
  int nshow = 0;
  if (nf > 0) {
    qsort(front, (size_t)nf, sizeof(int), cmp_int);
    nshow = suggest_cut(g, front, nf, blocked);
    qsort(front, (size_t)nshow, sizeof(int), cmp_int);
  }
  bool moved = nshow != nf;
  for (int f = 0; f < nshow; f++)
    moved |= !seen[front[f]];
  if (nshow > 0) {
    const char *opt = diag_option(d, "--outputs", "OUTPUTS");
    sb_printf(&sb, "\n%s compile the part before them with %s at the tensors they read%s, "
              "and leave the rest to the caller:\n  %s ",
              any_data ? "Static code has fixed shapes, so that part stays out of its scope; "
                         "instead," : "To go on now,", opt,
              moved ? " (or, as here, tensors those are computed from)" : "", opt);
    for (int f = 0; f < nshow && f < 8; f++)
      sb_printf(&sb, "%s%s", f ? (d->cmake ? " " : ",") : "", g->values[front[f]].name);
    if (nshow > 8)
      sb_printf(&sb, ",... (%d tensors in all)", nshow);
  }
  diag_error(d, "%s", sb.buf);
  sb_free(&sb);
  free(rows);
  free(front);
  free(seen);
}

bool graph_infer(Graph *g, Diag *d) {
  /* A walk pushes each node at most once per read of a node on it: the
   * reads of all nodes bound the stack. */
  int64_t reads = 64;
  for (int i = 0; i < g->nnodes; i++)
    reads += node_nreads(&g->nodes[i]);
  Known k = {.mark = calloc((size_t)g->nnodes + 1, 1),
             .list = malloc(sizeof(int) * ((size_t)g->nnodes + 1)),
             .stack = malloc(sizeof(int) * (size_t)reads)};
  int *stuck = malloc(sizeof(int) * ((size_t)g->nnodes + 1)), nstuck = 0;
  char *kinds = malloc((size_t)g->nnodes + 1);
  char *blocked = NULL; /* per value: computed by a stuck node, or after one */
  int nblocked = 0;
  CD_ASSERT(k.mark && k.list && k.stack && stuck && kinds);
  bool ok = true;
  for (int i = 0; i < g->nnodes && ok; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    if (nblocked < g->nvalues) {
      blocked = realloc(blocked, (size_t)g->nvalues + 1);
      CD_ASSERT(blocked);
      memset(blocked + nblocked, 0, (size_t)(g->nvalues - nblocked));
      nblocked = g->nvalues;
    }
    bool data, after = false;
    bool unknown = node_stuck(g, n, k.ct, k.nct, &data);
    for (int j = 0; j < node_nreads(n); j++)
      after |= node_read(n, j) >= 0 && blocked[node_read(n, j)];
    if (unknown || data || after) {
      kinds[nstuck] = data ? STUCK_DATA : unknown ? STUCK_UNKNOWN : STUCK_AFTER;
      stuck[nstuck++] = i;
      for (int j = 0; j < n->nout; j++)
        if (n->out[j] >= 0)
          blocked[n->out[j]] = 1;
      continue;
    }
    for (int j = 0; j < n->nin && ok; j++)
      if (n->in[j] >= 0 && g->values[n->in[j]].rank < 0) {
        diag_error(d, "node '%s' (%s): input '%s' has no known shape",
                   node_label(n), n->op_type, g->values[n->in[j]].name);
        ok = false;
      } else if (n->in[j] >= 0 && g->values[n->in[j]].dtype == DT_UNDEFINED) {
        /* (a tensor of another type: the op's inference, or the check of
         * its outputs below, says what it takes) */
        diag_error(d, "node '%s' (%s): input '%s' is not a tensor of a supported element type "
                   "(float32, float64, int8, uint8, int32, int64 or bool)",
                   node_label(n), n->op_type, g->values[n->in[j]].name);
        ok = false;
      }
    ok = ok && fold_param_inputs(g, &k, n, d) && node_setup(g, &g->nodes[i], d);
    if (!ok)
      break;
    n = &g->nodes[i]; /* parse may add values, never nodes; stay safe */
    note_outputs(g, &k, n);
    if (wants_folding(g, n) && node_is_foldable(g, n) && !node_fold(g, n, d))
      ok = false;
    for (int j = 0; ok && j < n->nout; j++)
      if (n->out[j] >= 0 && !dtype_size(g->values[n->out[j]].dtype)) {
        diag_error(d, "node '%s' (%s): output '%s' would be of an element type Cardinal does "
                   "not support (float32, float64, int8, uint8, int32, int64 or bool)",
                   node_label(n), n->op_type, g->values[n->out[j]].name);
        ok = false;
      }
  }
  if (ok && nstuck) {
    if (nblocked < g->nvalues) {
      blocked = realloc(blocked, (size_t)g->nvalues + 1);
      CD_ASSERT(blocked);
      memset(blocked + nblocked, 0, (size_t)(g->nvalues - nblocked));
    }
    report_stuck(g, stuck, kinds, nstuck, blocked, d);
    ok = false;
  }
  free(k.ct);
  free(k.mark);
  free(k.list);
  free(k.stack);
  free(stuck);
  free(kinds);
  free(blocked);
  if (ok)
    graph_compact(g);
  return ok;
}
