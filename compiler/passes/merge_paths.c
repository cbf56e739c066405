/*
 * merge-paths: the ResNeXt equivalence, as a rewrite.
 *
 * The paper's block comes in three equivalent forms: (a) C paths of
 * identical topology from one input x, summed; (b) the same paths, their
 * outputs concatenated (then a 1x1 conv); (c) one wide conv, a grouped conv
 * with C groups, one conv.  This pass finds (a) and (b) and rewrites them as
 * (c) by stacking weights, stage by stage along the paths:
 *
 *   first conv (reads x, group 1):  W_i [d, Cin, k]  -> [C*d, Cin, k], group 1
 *   inner conv (reads d channels):  W_i [e, d, k]    -> [C*e, d, k],   group C
 *   activation / BatchNormalization: one node, per-channel params stacked
 *   last conv, form (a) only:       W_i [Cout, d, k] -> [Cout, C*d, k], biases summed
 *
 * Form (a)'s sum is any tree of Add (or a Sum) whose leaves include the C
 * path outputs; other leaves (the shortcut) are added back after the merged
 * path.  A path is a chain of Conv (group 1, constant weights), activations
 * and BatchNormalization, each result read only by the next step; all paths
 * must match op for op, shape for shape and attribute for attribute.
 * Running after fold-bn, a path's BatchNorms are already inside its convs;
 * a BatchNorm after the aggregation is folded once the paths are merged.
 */
#include "../cardinal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 16
#define MAX_LEAVES 256

typedef struct {
  int n;                 /* steps */
  int node[MAX_STEPS];   /* node indices, from the source to the leaf */
  int src;               /* the value the path reads */
  int leaf;              /* the value the path produces */
} Path;

static bool path_step(const Graph *g, const Node *n) {
  for (int i = 1; i < n->nin; i++)
    if (n->in[i] >= 0 && !g->values[n->in[i]].data)
      return false;
  if (n->op == OP_CONV)
    return n->p.group == 1 && !node_has_epilogue(n);
  return (op_table[n->op].flags & (OPF_ACTIVATION | OPF_PER_CHANNEL)) != 0;
}

static bool trace(const Graph *g, int v, Path *p) {
  p->n = 0;
  p->leaf = v;
  int cur = v;
  while (value_single_use(g, cur) && g->values[cur].producer >= 0 && p->n < MAX_STEPS) {
    const Node *n = &g->nodes[g->values[cur].producer];
    if (!path_step(g, n))
      break;
    p->node[p->n++] = g->values[cur].producer;
    cur = n->in[0];
  }
  for (int i = 0; i < p->n / 2; i++) {
    int t = p->node[i];
    p->node[i] = p->node[p->n - 1 - i];
    p->node[p->n - 1 - i] = t;
  }
  p->src = cur;
  return p->n > 0;
}

static bool same_step(const Graph *g, const Node *a, const Node *b) {
  if (a->op != b->op || a->nin != b->nin)
    return false;
  for (int i = 0; i < a->nin; i++)
    if ((a->in[i] < 0) != (b->in[i] < 0) ||
        (i > 0 && a->in[i] >= 0 && !value_same_shape(&g->values[a->in[i]], &g->values[b->in[i]])))
      return false;
  if (!value_same_shape(&g->values[a->out[0]], &g->values[b->out[0]]))
    return false;
  const OpParams *p = &a->p, *q = &b->p;
  if (a->op == OP_CONV)
    return !memcmp(p->kernel, q->kernel, sizeof p->kernel) &&
           !memcmp(p->stride, q->stride, sizeof p->stride) &&
           !memcmp(p->dilation, q->dilation, sizeof p->dilation) &&
           !memcmp(p->pad0, q->pad0, sizeof p->pad0) &&
           !memcmp(p->pad1, q->pad1, sizeof p->pad1);
  return p->alpha == q->alpha && p->beta == q->beta && p->epsilon == q->epsilon;
}

/* Leaves of the Add/Sum tree rooted at node r; tree nodes go to `tree`. */
static void collect(const Graph *g, int r, int *leaves, int *nl, int *tree, int *nt) {
  const Node *n = &g->nodes[r];
  tree[(*nt)++] = r;
  for (int i = 0; i < n->nin; i++) {
    int v = n->in[i];
    int p = g->values[v].producer;
    if (p >= 0 && value_single_use(g, v) &&
        (g->nodes[p].op == OP_ADD || g->nodes[p].op == OP_SUM) && *nt < MAX_LEAVES)
      collect(g, p, leaves, nl, tree, nt);
    else if (*nl < MAX_LEAVES)
      leaves[(*nl)++] = v;
  }
}

static int new_node(Graph *g, const Node *tmpl, OpKind op, int nin, int rank,
                    const int64_t *dims) {
  int ni = graph_add_op(g, op, nin, 1);
  int v = graph_add_value(g, "");
  Node *n = &g->nodes[ni];
  if (tmpl) {
    n->p = tmpl->p;
    n->opset = tmpl->opset;
    n->attrs = tmpl->attrs;
    n->nattrs = tmpl->nattrs;
    n->name = tmpl->name;
  }
  n->out[0] = v;
  g->values[v].producer = ni;
  value_set_shape(&g->values[v], DT_FLOAT, rank, dims);
  return ni;
}

/* Stacks input `slot` of every path's step s along `axis` (0 or 1) into a
 * new constant; with `sum`, adds them instead (biases of the last conv). */
static int stack(Graph *g, Path *paths, int np, int s, int slot, int axis, bool sum) {
  const Value *t = &g->values[g->nodes[paths[0].node[s]].in[slot]];
  int64_t dims[CD_MAX_RANK];
  memcpy(dims, t->dims, sizeof dims);
  int rank = t->rank;
  if (!sum)
    dims[axis] *= np;
  int v = graph_add_const(g, "", rank, dims);
  float *out = g->values[v].data;
  t = &g->values[g->nodes[paths[0].node[s]].in[slot]];
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < rank; k++) {
    if (k < axis)
      outer *= t->dims[k];
    else
      inner *= t->dims[k];
  }
  if (sum)
    memset(out, 0, value_bytes(&g->values[v]));
  for (int i = 0; i < np; i++) {
    const float *src = g->values[g->nodes[paths[i].node[s]].in[slot]].data;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t k = 0; k < inner; k++) {
        if (sum)
          out[o * inner + k] += src[o * inner + k];
        else
          out[(o * np + i) * inner + k] = src[o * inner + k];
      }
  }
  return v;
}

/* Builds form (c) for paths[0..np); returns the node writing the result. */
static int build_merged(Graph *g, Path *paths, int np, bool summed) {
  int cur = paths[0].src;
  int last = -1;
  int L = paths[0].n;
  for (int s = 0; s < L; s++) {
    Node t = g->nodes[paths[0].node[s]];
    const Value *ty = &g->values[t.out[0]];
    int64_t dims[CD_MAX_RANK];
    memcpy(dims, ty->dims, sizeof dims);
    int rank = ty->rank;
    bool final_sum = summed && s == L - 1;
    if (!final_sum)
      dims[1] *= np;
    int ni;
    if (t.op == OP_CONV) {
      bool bias = t.nin > 2 && t.in[2] >= 0;
      int w = stack(g, paths, np, s, 1, final_sum ? 1 : 0, false);
      int b = bias ? stack(g, paths, np, s, 2, 0, final_sum) : -1;
      ni = new_node(g, &t, OP_CONV, bias ? 3 : 2, rank, dims);
      Node *n = &g->nodes[ni];
      n->p.group = s == 0 || final_sum ? 1 : np;
      n->in[1] = w;
      if (bias)
        n->in[2] = b;
    } else if (t.op == OP_BATCHNORM) {
      int prm[4];
      for (int k = 0; k < 4; k++)
        prm[k] = stack(g, paths, np, s, 1 + k, 0, false);
      ni = new_node(g, &t, OP_BATCHNORM, 5, rank, dims);
      for (int k = 0; k < 4; k++)
        g->nodes[ni].in[1 + k] = prm[k];
    } else {
      ni = new_node(g, &t, t.op, t.nin, rank, dims);
      for (int k = 1; k < t.nin; k++)
        g->nodes[ni].in[k] = t.in[k];
    }
    g->nodes[ni].in[0] = cur;
    cur = g->nodes[ni].out[0];
    last = ni;
  }
  return last;
}

static void kill_node(Graph *g, int i) {
  g->nodes[i].dead = true;
  for (int o = 0; o < g->nodes[i].nout; o++)
    if (g->nodes[i].out[o] >= 0)
      g->values[g->nodes[i].out[o]].dead = true;
}

/* Tries to merge the paths feeding the tree or Concat rooted at r. */
static bool merge_at(Graph *g, int r) {
  Node *root = &g->nodes[r];
  bool concat = root->op == OP_CONCAT;
  if (concat && (root->p.axis != 1 || g->values[root->out[0]].rank < 3))
    return false;
  int leaves[MAX_LEAVES], nl = 0, tree[MAX_LEAVES], nt = 0;
  if (concat) {
    for (int i = 0; i < root->nin && nl < MAX_LEAVES; i++)
      leaves[nl++] = root->in[i];
    tree[nt++] = r;
  } else {
    collect(g, r, leaves, &nl, tree, &nt);
  }
  if (nl < 2)
    return false;
  Path *paths = malloc(sizeof(Path) * (size_t)nl);
  bool *is_path = calloc((size_t)nl, 1);
  int np = 0, best_src = -1, best = 0;
  /* The source most leaves trace back to, with matching paths. */
  for (int i = 0; i < nl; i++) {
    Path p;
    if (!trace(g, leaves[i], &p))
      continue;
    int count = 0;
    for (int j = 0; j < nl; j++) {
      Path q;
      if (trace(g, leaves[j], &q) && q.src == p.src && q.n == p.n) {
        bool same = true;
        for (int s = 0; s < p.n && same; s++)
          same = same_step(g, &g->nodes[p.node[s]], &g->nodes[q.node[s]]);
        count += same;
      }
    }
    if (count > best) {
      best = count;
      best_src = i;
    }
  }
  bool ok = false;
  if (best >= 2) {
    Path ref;
    trace(g, leaves[best_src], &ref);
    for (int j = 0; j < nl; j++) {
      Path q;
      if (!trace(g, leaves[j], &q) || q.src != ref.src || q.n != ref.n)
        continue;
      bool same = true;
      for (int s = 0; s < q.n && same; s++)
        same = same_step(g, &g->nodes[ref.node[s]], &g->nodes[q.node[s]]);
      if (same) {
        paths[np++] = q;
        is_path[j] = true;
      }
    }
    /* A sum needs each path to end in a conv (a linear map to sum over). */
    ok = np >= 2 && (concat ? np == nl : g->nodes[ref.node[ref.n - 1]].op == OP_CONV);
    /* A path's first conv reads the source; later convs must not start a
     * new path (group 1 already checked) -- and the first step must be a
     * conv, or stacking would have nothing to widen. */
    ok = ok && g->nodes[ref.node[0]].op == OP_CONV;
  }
  if (ok) {
    int root_out = g->nodes[r].out[0];
    int fin = build_merged(g, paths, np, !concat);
    for (int j = 0; j < nl; j++) {
      if (is_path[j])
        continue;
      const Value *y = &g->values[root_out];
      int rank = y->rank;
      int64_t dims[CD_MAX_RANK];
      memcpy(dims, y->dims, sizeof dims);
      int ai = new_node(g, NULL, OP_ADD, 2, rank, dims);
      g->nodes[ai].opset = g->nodes[r].opset;
      g->nodes[ai].in[0] = g->nodes[fin].out[0];
      g->nodes[ai].in[1] = leaves[j];
      fin = ai;
    }
    for (int k = 0; k < nt; k++)
      kill_node(g, tree[k]);
    for (int i = 0; i < np; i++)
      for (int s = 0; s < paths[i].n; s++)
        kill_node(g, paths[i].node[s]);
    Node *f = &g->nodes[fin];
    g->values[f->out[0]].dead = true;
    f->out[0] = root_out;
    g->values[root_out].dead = false;
    g->values[root_out].producer = fin;
    ir_recount_uses(g);
  }
  free(paths);
  free(is_path);
  return ok;
}

bool pass_merge_paths(Graph *g, PassStats *st) {
  int merged = 0;
  int n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || (n->op != OP_ADD && n->op != OP_SUM && n->op != OP_CONCAT))
      continue;
    /* Only tree roots: an Add read only by another Add is inside a tree. */
    int v = n->out[0];
    bool inner = false;
    if (n->op != OP_CONCAT && value_single_use(g, v))
      for (int k = 0; k < g->nnodes; k++) {
        const Node *u = &g->nodes[k];
        if (!u->dead && (u->op == OP_ADD || u->op == OP_SUM))
          for (int j = 0; j < u->nin; j++)
            inner |= u->in[j] == v;
      }
    if (inner)
      continue;
    merged += merge_at(g, i);
  }
  /* A BatchNorm after the aggregation (form a's sum, form b's 1x1 conv) now
   * follows a single conv: fold it too, so the block ends like form c. */
  int bns = 0;
  for (int i = 0; merged && i < g->nnodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].op == OP_BATCHNORM)
      bns += rewrite_fold_bn(g, i) != 0;
  st->changes = merged;
  snprintf(st->what, sizeof st->what,
           "merged %d groups of parallel paths into grouped convolutions (then folded %d "
           "BatchNormalization)", merged, bns);
  return true;
}
