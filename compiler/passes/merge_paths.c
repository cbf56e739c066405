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
 *   activation:                     one node, the same parameters
 *   per-channel op (BatchNorm):     one node, its parameters stacked
 *   last conv, form (a) only:       W_i [Cout, d, k] -> [Cout, C*d, k], biases summed
 *
 * A path is a chain of such steps, read backwards from its output while
 * each result is read only by the next step: Conv (group 1, constant
 * weights, no epilogue), activations and per-channel ops with constant
 * parameters.  Paths are merged only if they read the same source value,
 * have the same length and match step for step: op, every shape, strides,
 * pads, dilations, parameters (a conv without a bias matches one with a
 * bias: a missing bias is a zero bias).
 *
 * The sum is read as one linear form, not matched as a pattern.  People
 * write form (a) in every association: a loop `out = p0(x); for p in rest:
 * out = out + p(x)` (a left chain), its mirror, a balanced tree, one
 * variadic Sum, a start from zeros_like(x), the shortcut anywhere among the
 * paths, a BatchNorm after it all.  And fold-bn, which runs first, rewrites
 * BN(u + p7) into (a u) + p7', folding a and t into p7's last conv and
 * scaling the rest of the tree by Mul(u, a).  So from a root (an Add, Sum or
 * per-channel Mul that is not itself an operand of a bigger one) the pass
 * walks down through every Add, Sum and Mul-by-a-per-channel-constant whose
 * result nothing else reads and that has the root's shape, and collects the
 * terms, each with the per-channel factor s the tree multiplies it by:
 *
 *   root = sum_i s_i (.) leaf_i
 *
 * Terms that are constant zeros are dropped.  For a path in a sum, the
 * BatchNorms after its last conv are affine too (BN(z) = a z + t), so the
 * term is leaf_i = A_i z_i + T_i, z_i the last conv's output, A_i the
 * factors multiplied, and the merged last conv takes it all in:
 *
 *   W[m, i*d + c] = A_i[m] W_i[m, c],   b[m] = sum_i A_i[m] b_i[m] + T_i[m]
 *
 * The other terms (the shortcut, paths of another shape or source) are
 * summed, each times its factor (a Mul, which fuse-residual turns into the
 * residual's per-channel scale), and added once after the merged path: one
 * plain residual Add that fuse-residual takes into the last conv with the
 * ReLU after it.  When a sum holds several groups of matching paths, the
 * largest is merged first and the rest is tried again.
 *
 * A BatchNorm after the sum that fold-bn could not fold (after a Sum, or
 * after an Add of two sums) now follows a single conv, or its residual Add:
 * rewrite_fold_bn (shared with fold-bn) folds it, so the block ends like
 * form (c).
 */
#include "../cardinal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 16

typedef struct {
  int v;        /* the value summed */
  float *scale; /* [C] factor the tree multiplies it by (malloc'd), NULL for 1 */
} Term;

typedef struct {
  Term *t;      /* the terms, in the order the walk met them */
  int n, cap;
  int *tree;    /* the Add/Sum/Mul (or Concat) nodes above them */
  int ntree, cap_tree;
  int64_t C;    /* channels (dim 1) of the root */
} LinearForm;

typedef struct {
  int n;               /* steps */
  int node[MAX_STEPS]; /* node indices, from the source to the leaf */
  int src;             /* the value the path reads */
  int core;            /* steps up to its last conv (a summed path); BatchNorms follow */
} Path;

/* If n is Mul(u, s) with s a float constant varying only along dim 1 of the
 * output (a per-channel factor, or one scalar) and u of the output's shape,
 * returns u's slot; else -1. */
static int mul_operand(const Graph *g, const Node *n) {
  if (n->op != OP_MUL || n->nin != 2)
    return -1;
  const Value *y = &g->values[n->out[0]];
  if (y->rank < 2 || y->dtype != DT_FLOAT)
    return -1;
  for (int k = 0; k < 2; k++) {
    const Value *u = &g->values[n->in[k]], *s = &g->values[n->in[1 - k]];
    if (!value_same_shape(u, y) || !s->data || s->dtype != DT_FLOAT || s->rank > y->rank)
      continue;
    bool ok = true;
    for (int j = 0; j < s->rank && ok; j++)
      ok = s->dims[j] == 1 || (j + y->rank - s->rank == 1 && s->dims[j] == y->dims[1]);
    if (ok)
      return k;
  }
  return -1;
}

static bool tree_op(const Graph *g, const Node *n) {
  if (n->dead || n->nout < 1 || g->values[n->out[0]].dtype != DT_FLOAT)
    return false;
  return n->op == OP_ADD || n->op == OP_SUM || mul_operand(g, n) >= 0;
}

/* Whether the walk goes through operand k of tree node n into its producer. */
static bool reaches(const Graph *g, const Node *n, int k) {
  int v = n->in[k];
  if (!value_single_use(g, v) || g->values[v].producer < 0 ||
      !value_same_shape(&g->values[v], &g->values[n->out[0]]))
    return false;
  return tree_op(g, &g->nodes[g->values[v].producer]);
}

static float *scale_copy(const float *s, int64_t C) {
  if (!s)
    return NULL;
  float *c = malloc(sizeof(float) * (size_t)C);
  CD_ASSERT(c);
  memcpy(c, s, sizeof(float) * (size_t)C);
  return c;
}

static void push_term(LinearForm *f, int v, float *scale) {
  if (f->n == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 16;
    f->t = realloc(f->t, sizeof(Term) * (size_t)f->cap);
    CD_ASSERT(f->t);
  }
  f->t[f->n++] = (Term){v, scale};
}

static void push_tree(LinearForm *f, int node) {
  if (f->ntree == f->cap_tree) {
    f->cap_tree = f->cap_tree ? 2 * f->cap_tree : 16;
    f->tree = realloc(f->tree, sizeof(int) * (size_t)f->cap_tree);
    CD_ASSERT(f->tree);
  }
  f->tree[f->ntree++] = node;
}

static void form_free(LinearForm *f) {
  for (int i = 0; i < f->n; i++)
    free(f->t[i].scale);
  free(f->t);
  free(f->tree);
}

/* The terms of the tree rooted at node r (an explicit stack: a loop of a
 * thousand Adds is a chain a thousand deep). */
static void collect(const Graph *g, int r, LinearForm *f) {
  typedef struct {
    int node;
    float *scale;
  } Work;
  int cap = 16, top = 0;
  Work *stack = malloc(sizeof(Work) * (size_t)cap);
  CD_ASSERT(stack);
  stack[top++] = (Work){r, NULL};
  while (top > 0) {
    Work w = stack[--top];
    const Node *n = &g->nodes[w.node];
    push_tree(f, w.node);
    int from = 0, to = n->nin;
    if (n->op == OP_MUL) {
      int k = mul_operand(g, n);
      const Value *s = &g->values[n->in[1 - k]];
      const float *sd = s->data;
      bool one = value_numel(s) == 1;
      if (!w.scale) {
        w.scale = malloc(sizeof(float) * (size_t)f->C);
        CD_ASSERT(w.scale);
        for (int64_t m = 0; m < f->C; m++)
          w.scale[m] = 1.0f;
      }
      for (int64_t m = 0; m < f->C; m++)
        w.scale[m] *= sd[one ? 0 : m];
      from = k;
      to = k + 1;
    }
    for (int k = from; k < to; k++) {
      if (!reaches(g, n, k)) {
        push_term(f, n->in[k], scale_copy(w.scale, f->C));
        continue;
      }
      if (top == cap) {
        cap *= 2;
        stack = realloc(stack, sizeof(Work) * (size_t)cap);
        CD_ASSERT(stack);
      }
      stack[top++] = (Work){g->values[n->in[k]].producer, scale_copy(w.scale, f->C)};
    }
    free(w.scale);
  }
  free(stack);
}

static bool is_zero_const(const Graph *g, int v) {
  const Value *c = &g->values[v];
  if (!c->data || c->dtype != DT_FLOAT)
    return false;
  const float *d = c->data;
  for (int64_t i = 0; i < value_numel(c); i++)
    if (d[i] != 0.0f)
      return false;
  return true;
}

static bool path_step(const Graph *g, const Node *n) {
  for (int i = 1; i < n->nin; i++)
    if (n->in[i] >= 0 && !g->values[n->in[i]].data)
      return false;
  if (n->op == OP_CONV)
    return n->p.group == 1 && !node_has_epilogue(n) && value_numel(&g->values[n->in[1]]) > 0;
  return (op_table[n->op].flags & (OPF_ACTIVATION | OPF_PER_CHANNEL)) != 0;
}

/* The path ending in v (0 steps if v is not made by a path step). */
static void trace(const Graph *g, int v, Path *p) {
  p->n = 0;
  int cur = v;
  while (p->n < MAX_STEPS && value_single_use(g, cur) && g->values[cur].producer >= 0 &&
         path_step(g, &g->nodes[g->values[cur].producer])) {
    p->node[p->n++] = g->values[cur].producer;
    cur = g->nodes[g->values[cur].producer].in[0];
  }
  for (int i = 0; i < p->n / 2; i++) {
    int t = p->node[i];
    p->node[i] = p->node[p->n - 1 - i];
    p->node[p->n - 1 - i] = t;
  }
  p->src = cur;
  p->core = p->n;
}

/* For a summed path: its steps up to the last conv, if that is not the
 * first and only BatchNorms follow it; else 0. */
static int summed_core(const Graph *g, const Path *p) {
  int k = p->n - 1;
  while (k > 0 && g->nodes[p->node[k]].op == OP_BATCHNORM)
    k--;
  return k > 0 && g->nodes[p->node[k]].op == OP_CONV ? k + 1 : 0;
}

static bool same_step(const Graph *g, const Node *a, const Node *b) {
  if (a->op != b->op || !value_same_shape(&g->values[a->out[0]], &g->values[b->out[0]]) ||
      !value_same_shape(&g->values[a->in[0]], &g->values[b->in[0]]))
    return false;
  const OpParams *p = &a->p, *q = &b->p;
  if (a->op == OP_CONV) /* the bias may be there or not */
    return value_same_shape(&g->values[a->in[1]], &g->values[b->in[1]]) &&
           p->nsp == q->nsp && p->group == q->group &&
           !memcmp(p->kernel, q->kernel, sizeof p->kernel) &&
           !memcmp(p->stride, q->stride, sizeof p->stride) &&
           !memcmp(p->dilation, q->dilation, sizeof p->dilation) &&
           !memcmp(p->pad0, q->pad0, sizeof p->pad0) &&
           !memcmp(p->pad1, q->pad1, sizeof p->pad1);
  if (a->nin != b->nin)
    return false;
  for (int i = 1; i < a->nin; i++)
    if ((a->in[i] < 0) != (b->in[i] < 0) ||
        (a->in[i] >= 0 && !value_same_shape(&g->values[a->in[i]], &g->values[b->in[i]])))
      return false;
  return p->alpha == q->alpha && p->beta == q->beta && p->epsilon == q->epsilon;
}

static bool same_path(const Graph *g, const Path *a, const Path *b) {
  if (a->src != b->src || a->n != b->n || a->core != b->core)
    return false;
  for (int s = 0; s < a->n; s++)
    if (!same_step(g, &g->nodes[a->node[s]], &g->nodes[b->node[s]]))
      return false;
  return true;
}

/* A new node of op reading ins[], copying tmpl's parameters if given (a
 * conv's group set to `group` unless 0); its output's shape is inferred. */
static int add_node(Graph *g, const Node *tmpl, OpKind op, int opset, int nin, const int *ins,
                    int64_t group) {
  Node t = tmpl ? *tmpl : (Node){0}; /* tmpl may move with the node array */
  int ni = graph_add_op(g, op, nin, 1);
  int v = graph_add_value(g, "");
  Node *n = &g->nodes[ni];
  if (tmpl) {
    n->p = t.p;
    n->attrs = t.attrs;
    n->nattrs = t.nattrs;
    n->name = t.name;
  }
  if (group)
    n->p.group = group;
  n->opset = opset;
  memcpy(n->in, ins, sizeof(int) * (size_t)nin);
  n->out[0] = v;
  g->values[v].producer = ni;
  Diag d = {.quiet = true};
  bool ok = node_infer(g, n, &d);
  sb_free(&d.log);
  CD_ASSERT(ok);
  return ni;
}

/* A new constant: input `slot` of step s of every path, one after another
 * along axis 0; zeros for a path without it (an omitted bias). */
static int stack_rows(Graph *g, const Path *P, int np, int s, int slot, int rank,
                      const int64_t *dims1) {
  int64_t dims[CD_MAX_RANK];
  memcpy(dims, dims1, sizeof(int64_t) * (size_t)rank);
  int64_t per = 1;
  for (int k = 0; k < rank; k++)
    per *= dims[k];
  dims[0] *= np;
  int v = graph_add_const(g, "", rank, dims);
  float *out = g->values[v].data;
  for (int i = 0; i < np; i++) {
    const Node *n = &g->nodes[P[i].node[s]];
    if (slot < n->nin && n->in[slot] >= 0)
      memcpy(out + i * per, g->values[n->in[slot]].data, sizeof(float) * (size_t)per);
  }
  return v;
}

static bool any_input(const Graph *g, const Path *P, int np, int s, int slot) {
  for (int i = 0; i < np; i++) {
    const Node *n = &g->nodes[P[i].node[s]];
    if (slot < n->nin && n->in[slot] >= 0)
      return true;
  }
  return false;
}

/* The merged last conv of a sum: W[m, i*d + c] = A_i[m] W_i[m, c],
 * b[m] = sum_i A_i[m] b_i[m] + T_i[m]. */
static int merge_last_conv(Graph *g, const Path *P, int np, int s, float *const *A,
                           float *const *T, int cur, int opset) {
  const Node *t0 = &g->nodes[P[0].node[s]];
  const Value *w0 = &g->values[t0->in[1]];
  int rank = w0->rank;
  int64_t dims[CD_MAX_RANK];
  memcpy(dims, w0->dims, sizeof(int64_t) * (size_t)rank);
  int64_t M = dims[0], d = dims[1], K = value_numel(w0) / (M * d);
  dims[1] *= np;
  bool tail = false;
  for (int i = 0; i < np; i++)
    tail |= T[i] != NULL;
  bool bias = tail || any_input(g, P, np, s, 2);
  int w = graph_add_const(g, "", rank, dims);
  int b = bias ? graph_add_const(g, "", 1, &M) : -1;
  float *W = g->values[w].data, *B = bias ? g->values[b].data : NULL;
  for (int i = 0; i < np; i++) {
    const Node *n = &g->nodes[P[i].node[s]];
    const float *Wi = g->values[n->in[1]].data;
    const float *Bi = node_has_input(n, 2) ? g->values[n->in[2]].data : NULL;
    for (int64_t m = 0; m < M; m++) {
      float a = A[i] ? A[i][m] : 1.0f;
      for (int64_t c = 0; c < d; c++)
        for (int64_t k = 0; k < K; k++)
          W[((m * np + i) * d + c) * K + k] = a * Wi[(m * d + c) * K + k];
      if (bias)
        B[m] += (Bi ? a * Bi[m] : 0.0f) + (T[i] ? T[i][m] : 0.0f);
    }
  }
  int ins[3] = {cur, w, b};
  return add_node(g, &g->nodes[P[0].node[s]], OP_CONV, opset, bias ? 3 : 2, ins, 1);
}

/* Builds form (c) from the np paths P reading P[0].src; with `summed`, their
 * last conv adds up (factors A, shifts T per path, NULL for 1 and 0).
 * Returns the node writing the result. */
static int build_merged(Graph *g, const Path *P, int np, bool summed, float *const *A,
                        float *const *T) {
  int cur = P[0].src, last = -1;
  int L = summed ? P[0].core : P[0].n;
  for (int s = 0; s < L; s++) {
    const Node *t = &g->nodes[P[0].node[s]];
    int opset = t->opset, ni;
    if (summed && s == L - 1) {
      ni = merge_last_conv(g, P, np, s, A, T, cur, opset);
    } else if (t->op == OP_CONV) {
      int64_t wd[CD_MAX_RANK], M = g->values[t->in[1]].dims[0];
      int rank = g->values[t->in[1]].rank;
      memcpy(wd, g->values[t->in[1]].dims, sizeof(int64_t) * (size_t)rank);
      bool bias = any_input(g, P, np, s, 2);
      int ins[3] = {cur, stack_rows(g, P, np, s, 1, rank, wd),
                    bias ? stack_rows(g, P, np, s, 2, 1, &M) : -1};
      ni = add_node(g, &g->nodes[P[0].node[s]], OP_CONV, opset, bias ? 3 : 2, ins,
                    s == 0 ? 1 : np);
    } else {
      int nin = t->nin, ins[8];
      CD_ASSERT(nin <= 8);
      bool per_channel = (op_table[t->op].flags & OPF_PER_CHANNEL) != 0;
      for (int k = 0; k < nin; k++) {
        int v = g->nodes[P[0].node[s]].in[k];
        if (k > 0 && v >= 0 && per_channel) {
          int64_t dims[CD_MAX_RANK];
          int rank = g->values[v].rank;
          memcpy(dims, g->values[v].dims, sizeof(int64_t) * (size_t)rank);
          v = stack_rows(g, P, np, s, k, rank, dims);
        }
        ins[k] = k == 0 ? cur : v;
      }
      ni = add_node(g, &g->nodes[P[0].node[s]], g->nodes[P[0].node[s]].op, opset, nin, ins, 0);
    }
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

/* A[i], T[i]: the factor and shift of path i's term over its last conv's
 * output (the tree's factor s times its trailing BatchNorms). */
static void path_affine(Graph *g, const Path *p, const float *s, int64_t C, float **A,
                        float **T) {
  *A = scale_copy(s, C);
  *T = NULL;
  for (int k = p->n - 1; k >= p->core; k--) { /* outermost BatchNorm first */
    Affine f;
    bool ok = bn_affine(g, &g->nodes[p->node[k]], &f);
    CD_ASSERT(ok && f.C == C);
    if (!*A) {
      *A = calloc((size_t)C, sizeof(float));
      CD_ASSERT(*A);
      for (int64_t m = 0; m < C; m++)
        (*A)[m] = 1.0f;
    }
    if (!*T) {
      *T = calloc((size_t)C, sizeof(float));
      CD_ASSERT(*T);
    }
    /* A (a z + t) + T = (A a) z + (A t + T) */
    for (int64_t m = 0; m < C; m++) {
      (*T)[m] += (*A)[m] * f.t[m];
      (*A)[m] *= f.a[m];
    }
    free(f.a);
    free(f.t);
  }
}

/* Tries to merge the paths feeding the sum or Concat rooted at r.  On
 * failure, marks the sum's nodes in seen[] (no subtree can merge either). */
static bool merge_at(Graph *g, int r, char *seen, int nseen) {
  const Node *root = &g->nodes[r];
  bool concat = root->op == OP_CONCAT;
  if (root->dead || (!concat && !tree_op(g, root)))
    return false;
  const Value *y = &g->values[root->out[0]];
  if (y->rank < 3 || y->dtype != DT_FLOAT || (concat && root->p.axis != 1))
    return false;
  int root_out = root->out[0], opset = root->opset, rank = y->rank;
  LinearForm f = {.C = y->dims[1]};
  if (concat) {
    push_tree(&f, r);
    for (int i = 0; i < root->nin; i++)
      push_term(&f, root->in[i], NULL);
  } else {
    collect(g, r, &f);
  }
  int nl = f.n;
  Path *paths = malloc(sizeof(Path) * (size_t)(nl + 1));
  char *valid = calloc((size_t)nl + 1, 1), *member = calloc((size_t)nl + 1, 1);
  CD_ASSERT(paths && valid && member);
  for (int i = 0; i < nl; i++) {
    Path *p = &paths[i];
    trace(g, f.t[i].v, p);
    if (p->n == 0 || g->nodes[p->node[0]].op != OP_CONV)
      continue;
    if (!concat) {
      p->core = summed_core(g, p);
      if (!p->core || !value_same_shape(&g->values[f.t[i].v], y))
        continue;
    }
    valid[i] = 1;
  }
  int best = -1, nbest = 0;
  for (int i = 0; i < nl; i++) {
    int count = 0;
    for (int j = 0; j < nl && valid[i]; j++)
      count += valid[j] && same_path(g, &paths[i], &paths[j]);
    if (count > nbest) {
      nbest = count;
      best = i;
    }
  }
  bool ok = nbest >= 2 && (!concat || nbest == nl);
  if (ok) {
    Path *P = malloc(sizeof(Path) * (size_t)nbest);
    float **A = calloc((size_t)nbest, sizeof(float *)), **T = calloc((size_t)nbest, sizeof(float *));
    CD_ASSERT(P && A && T);
    int np = 0;
    for (int j = 0; j < nl; j++)
      if (valid[j] && same_path(g, &paths[best], &paths[j])) {
        member[j] = 1;
        if (!concat)
          path_affine(g, &paths[j], f.t[j].scale, f.C, &A[np], &T[np]);
        P[np++] = paths[j];
      }
    int fin = build_merged(g, P, np, !concat, A, T);
    /* The other terms, each times its factor, summed, then added once. */
    int rest = -1;
    for (int j = 0; j < nl; j++) {
      if (member[j] || is_zero_const(g, f.t[j].v))
        continue;
      int v = f.t[j].v;
      if (f.t[j].scale) {
        int64_t dims[CD_MAX_RANK];
        dims[0] = f.C;
        for (int k = 1; k < rank - 1; k++)
          dims[k] = 1;
        int c = graph_add_const(g, "", rank - 1, dims);
        memcpy(g->values[c].data, f.t[j].scale, sizeof(float) * (size_t)f.C);
        int ins[2] = {v, c};
        v = g->nodes[add_node(g, NULL, OP_MUL, opset, 2, ins, 0)].out[0];
      }
      int ins[2] = {rest, v};
      rest = rest < 0 ? v : g->nodes[add_node(g, NULL, OP_ADD, opset, 2, ins, 0)].out[0];
    }
    if (rest >= 0) {
      int ins[2] = {g->nodes[fin].out[0], rest};
      fin = add_node(g, NULL, OP_ADD, opset, 2, ins, 0);
    }
    for (int k = 0; k < f.ntree; k++)
      kill_node(g, f.tree[k]);
    for (int i = 0; i < np; i++)
      for (int s = 0; s < P[i].n; s++)
        kill_node(g, P[i].node[s]);
    Node *fn = &g->nodes[fin];
    CD_ASSERT(value_same_shape(&g->values[fn->out[0]], &g->values[root_out]));
    g->values[fn->out[0]].dead = true;
    g->values[fn->out[0]].producer = -1;
    fn->out[0] = root_out;
    g->values[root_out].dead = false;
    g->values[root_out].producer = fin;
    ir_recount_uses(g);
    for (int i = 0; i < np; i++) {
      free(A[i]);
      free(T[i]);
    }
    free(A);
    free(T);
    free(P);
  } else {
    for (int k = 0; k < f.ntree; k++)
      if (f.tree[k] < nseen)
        seen[f.tree[k]] = 1;
  }
  form_free(&f);
  free(paths);
  free(valid);
  free(member);
  return ok;
}

bool pass_merge_paths(Graph *g, PassStats *st) {
  int merged = 0, bns = 0, n0 = g->nnodes;
  char *seen = calloc((size_t)n0 + 1, 1);
  int *outs = malloc(sizeof(int) * (size_t)(n0 + 1)), nouts = 0;
  CD_ASSERT(seen && outs);
  /* Last to first: a sum's root comes after the sums inside it. */
  for (int i = n0 - 1; i >= 0; i--) {
    if (seen[i] || g->nodes[i].dead || g->nodes[i].nout < 1)
      continue;
    int r = i, out = g->nodes[i].out[0], k = 0;
    while (merge_at(g, r, seen, n0)) {
      k++;
      r = g->values[out].producer;
    }
    merged += k;
    if (k)
      outs[nouts++] = out;
  }
  /* A BatchNorm after a merged sum now follows a conv, or its residual Add. */
  char *sum_out = calloc((size_t)g->nvalues + 1, 1);
  CD_ASSERT(sum_out);
  for (int k = 0; k < nouts; k++)
    sum_out[outs[k]] = 1;
  for (int i = 0, n = g->nnodes; i < n; i++)
    if (!g->nodes[i].dead && g->nodes[i].op == OP_BATCHNORM && sum_out[g->nodes[i].in[0]])
      bns += rewrite_fold_bn(g, i) != 0;
  free(sum_out);
  free(seen);
  free(outs);
  st->changes = merged;
  snprintf(st->what, sizeof st->what,
           "merged %d groups of parallel paths into grouped convolutions (then folded %d "
           "BatchNormalization)", merged, bns);
  return true;
}
