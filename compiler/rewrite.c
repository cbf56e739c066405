/*
 * rewrite.c — graph rewrites more than one pass needs.  A pass never calls
 * another pass (the list in passes.c is the whole pipeline); what two passes
 * share lives here:
 *
 *  - rewrite_fold_bn: one BatchNormalization into the Conv/Gemm (or the
 *    residual Add of convs) that produces its input (fold-bn, and
 *    merge-paths for the BatchNorm after a merged block);
 *  - rewrite_fuse_activation: a producer's single activation reader into
 *    its epilogue (fuse-activation, and fuse-residual for the activation
 *    after a fused Add).
 *
 * With a = scale / sqrt(var + eps) and t = B - mean * a per channel,
 * BN(y) = a * y + t, so after a Conv (or Gemm) whose output only BN reads:
 * W'[m] = a[m] W[m], b'[m] = a[m] b[m] + t[m] (a conv without bias gains
 * one).  After a residual Add, as in the seed article's blocks
 * relu(bn(conv(x) + shortcut(x))): BN(u + w) = a u + a w + t.  Each operand
 * that is a convolution takes the scale into its weights (the first also
 * takes t into its bias); an operand that is not (an identity shortcut)
 * becomes Mul(w, a), which fuse-residual turns into a per-channel scale on
 * the residual of the conv's epilogue.  New weights are new constants: an
 * initializer shared by two nodes is never modified in place.
 */
#include "cardinal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool bn_affine(Graph *g, Node *bn, Affine *f) {
  for (int i = 1; i < 5; i++)
    if (!g->values[bn->in[i]].data)
      return false;
  const float *S = g->values[bn->in[1]].data, *B = g->values[bn->in[2]].data,
              *M = g->values[bn->in[3]].data, *V = g->values[bn->in[4]].data;
  f->C = g->values[bn->in[1]].dims[0];
  f->a = malloc(sizeof(float) * (size_t)(f->C + 1));
  f->t = malloc(sizeof(float) * (size_t)(f->C + 1));
  CD_ASSERT(f->a && f->t);
  for (int64_t c = 0; c < f->C; c++) {
    f->a[c] = S[c] / sqrtf(V[c] + bn->p.epsilon);
    f->t[c] = B[c] - M[c] * f->a[c];
  }
  return true;
}

/* A Conv/Gemm we may rewrite: constant weights and bias, no epilogue. */
static bool foldable_producer(Graph *g, int v, OpKind want) {
  if (!value_single_use(g, v) || g->values[v].producer < 0)
    return false;
  Node *p = &g->nodes[g->values[v].producer];
  if (p->op != want || node_has_epilogue(p) || !g->values[p->in[1]].data)
    return false;
  if (node_has_input(p, 2) && !g->values[p->in[2]].data)
    return false;
  if (want == OP_GEMM) {
    if (node_has_input(p, 2)) {
      const Value *c = &g->values[p->in[2]];
      int64_t N = g->values[p->out[0]].dims[1];
      if (value_numel(c) != N || (c->rank == 2 && c->dims[0] != 1))
        return false;
    }
  }
  return true;
}

/* Input k of p becomes v; the use counts follow. */
static void swap_read(Graph *g, Node *p, int k, int v) {
  if (p->in[k] >= 0)
    g->values[p->in[k]].nusers--;
  p->in[k] = v;
  g->values[v].nusers++;
}

/* Conv output channels m scale by a[m]; bias becomes a b + t (t may be NULL). */
static void scale_conv(Graph *g, Node *p, const float *a, const float *t) {
  const Value *w = &g->values[p->in[1]];
  int64_t M = w->dims[0], per = value_numel(w) / M;
  int nw = graph_add_const(g, "", w->rank, w->dims);
  w = &g->values[p->in[1]];
  float *W = g->values[nw].data;
  const float *W0 = w->data;
  for (int64_t m = 0; m < M; m++)
    for (int64_t k = 0; k < per; k++)
      W[m * per + k] = W0[m * per + k] * a[m];
  int nb = graph_add_const(g, "", 1, &M);
  float *Bn = g->values[nb].data;
  const float *B0 = node_has_input(p, 2) ? g->values[p->in[2]].data : NULL;
  for (int64_t m = 0; m < M; m++)
    Bn[m] = (B0 ? B0[m] * a[m] : 0.0f) + (t ? t[m] : 0.0f);
  swap_read(g, p, 1, nw);
  if (p->nin > 2)
    swap_read(g, p, 2, nb);
  else {
    node_add_input(g, p, nb);
    g->values[nb].nusers++;
  }
}

/* Gemm output columns j scale by a[j]; C becomes beta a C + t. */
static void scale_gemm(Graph *g, Node *p, const float *a, const float *t) {
  const Value *b = &g->values[p->in[1]];
  int64_t N = g->values[p->out[0]].dims[1];
  int nb = graph_add_const(g, "", b->rank, b->dims);
  b = &g->values[p->in[1]];
  float *Bn = g->values[nb].data;
  const float *B0 = b->data;
  int64_t R = b->dims[0], K = b->dims[1];
  for (int64_t r = 0; r < R; r++)
    for (int64_t k = 0; k < K; k++)
      Bn[r * K + k] = B0[r * K + k] * a[p->p.trans_b ? r : k];
  int nc = graph_add_const(g, "", 1, &N);
  float *Cn = g->values[nc].data;
  const float *C0 = node_has_input(p, 2) ? g->values[p->in[2]].data : NULL;
  for (int64_t j = 0; j < N; j++)
    Cn[j] = (C0 ? p->p.beta * C0[j] * a[j] : 0.0f) + t[j];
  p->p.beta = 1.0f;
  swap_read(g, p, 1, nb);
  if (p->nin > 2)
    swap_read(g, p, 2, nc);
  else {
    node_add_input(g, p, nc);
    g->values[nc].nusers++;
  }
}

/* BN(u + w): fold into the Add's convolution operands. */
static bool fold_through_add(Graph *g, int opset, int ai, const Affine *f) {
  Node *add = &g->nodes[ai];
  const Value *y = &g->values[add->out[0]];
  if (add->nin != 2 || !value_same_shape(&g->values[add->in[0]], y) ||
      !value_same_shape(&g->values[add->in[1]], y) || y->rank < 2)
    return false;
  bool conv[2];
  for (int i = 0; i < 2; i++)
    conv[i] = foldable_producer(g, add->in[i], OP_CONV);
  if (!conv[0] && !conv[1])
    return false;
  bool shifted = false;
  for (int i = 0; i < 2; i++) {
    add = &g->nodes[ai]; /* scale_conv adds values: take pointers again */
    y = &g->values[add->out[0]];
    int v = add->in[i];
    if (conv[i]) {
      scale_conv(g, &g->nodes[g->values[v].producer], f->a, shifted ? NULL : f->t);
      shifted = true;
      continue;
    }
    /* w -> Mul(w, a viewed as [C, 1, ...]) */
    int64_t dims[CD_MAX_RANK];
    dims[0] = f->C;
    for (int k = 1; k < y->rank - 1; k++)
      dims[k] = 1;
    int rank = y->rank;
    int64_t ydims[CD_MAX_RANK];
    memcpy(ydims, y->dims, sizeof ydims);
    int c = graph_add_const(g, "", rank - 1, dims);
    memcpy(g->values[c].data, f->a, sizeof(float) * (size_t)f->C);
    int mi = graph_add_op(g, OP_MUL, 2, 1);
    int mv = graph_add_value(g, "");
    add = &g->nodes[ai]; /* graph_add_node may have moved the nodes */
    Node *mul = &g->nodes[mi];
    mul->opset = opset;
    mul->in[0] = v;
    mul->in[1] = c;
    mul->out[0] = mv;
    g->values[mv].producer = mi;
    value_set_shape(&g->values[mv], DT_FLOAT, rank, ydims);
    add->in[i] = mv;
    y = &g->values[add->out[0]];
  }
  return true;
}

/* Folds BatchNormalization node bi into what produces its input: a Conv or
 * Gemm read by nothing else, or a residual Add of such convs.  Returns
 * 1 (direct), 2 (through an Add) or 0 (left alone). */
int rewrite_fold_bn(Graph *g, int bi) {
  Affine f;
  if (!bn_affine(g, &g->nodes[bi], &f))
    return 0;
  int x = g->nodes[bi].in[0];
  int pi = g->values[x].producer;
  int how = 0;
  if (foldable_producer(g, x, OP_CONV)) {
    scale_conv(g, &g->nodes[pi], f.a, f.t);
    how = 1;
  } else if (g->values[x].rank == 2 && foldable_producer(g, x, OP_GEMM)) {
    scale_gemm(g, &g->nodes[pi], f.a, f.t);
    how = 1;
  } else if (pi >= 0 && value_single_use(g, x) && g->nodes[pi].op == OP_ADD &&
             fold_through_add(g, g->nodes[bi].opset, pi, &f)) {
    how = 2;
  }
  if (how == 1) /* scale_conv, scale_gemm kept the use counts */
    node_take_output_counted(g, &g->nodes[pi], &g->nodes[bi]);
  else if (how == 2)
    node_take_output(g, &g->nodes[pi], &g->nodes[bi]);
  free(f.a);
  free(f.t);
  return how;
}

bool is_fusable_activation(const Graph *g, const Node *n) {
  if (!(op_table[n->op].flags & OPF_ACTIVATION))
    return false;
  for (int i = 1; i < n->nin; i++) /* Clip's bounds must be known */
    if (n->in[i] >= 0 && !g->values[n->in[i]].data)
      return false;
  return true;
}

bool rewrite_fuse_activation(Graph *g, Node *p) {
  if ((p->op != OP_CONV && p->op != OP_GEMM) || p->ep.act != OP_COUNT ||
      !value_single_use(g, p->out[0]))
    return false;
  /* Its one reader comes after it (nodes are in order; a pass appends),
   * and the search ends there, fusable or not: going on to the graph's end
   * for every producer was quadratic in a chain of convs. */
  int v = p->out[0];
  for (int k = (int)(p - g->nodes) + 1; k < g->nnodes; k++) {
    Node *u = &g->nodes[k];
    CD_STEPS(1); /* a node looked at */
    bool reads = false;
    for (int j = 0; !u->dead && j < node_nreads(u) && !reads; j++)
      reads = node_read(u, j) == v;
    if (!reads)
      continue;
    if (u->nin < 1 || u->in[0] != v || !is_fusable_activation(g, u))
      return false;
    p->ep.act = u->op;
    p->ep.act_alpha = u->p.alpha;
    p->ep.act_beta = u->p.beta;
    node_take_output_counted(g, p, u); /* p reads nothing new */
    return true;
  }
  return false;
}

int rewrite_add_node(Graph *g, OpKind op, int nin, const int *ins, int out, int opset) {
  return rewrite_add_node_attr(g, op, nin, ins, out, opset, NULL, 0);
}

int rewrite_add_node_attr(Graph *g, OpKind op, int nin, const int *ins, int out, int opset,
                          const char *attr, int64_t value) {
  int ni = graph_add_op(g, op, nin, 1);
  Node *n = &g->nodes[ni];
  for (int i = 0; i < nin; i++)
    n->in[i] = ins[i];
  n->opset = opset;
  if (attr) {
    n->nattrs = 1;
    n->attrs = arena_alloc(&g->arena, sizeof(Attr));
    n->attrs[0] = (Attr){.name = arena_strdup(&g->arena, attr), .type = AT_INT, .i = value};
  }
  if (out < 0)
    out = graph_add_value(g, "");
  n->out[0] = out;
  g->values[out].producer = ni;
  Diag d = {.quiet = true};
  CD_ASSERT(op_check_arity(g, n, &d) && op_table[op].parse(g, n, &d));
  n->p.trans_b = op == OP_GEMM; /* the only Gemm passes make: A B^T */
  CD_ASSERT(node_infer(g, n, &d));
  sb_free(&d.log);
  return ni;
}

bool const_scalar_near(const Graph *g, int v, float want, float rel) {
  const Value *c = v >= 0 ? &g->values[v] : NULL;
  return c && c->data && c->dtype == DT_FLOAT && value_numel(c) == 1 &&
         fabsf(((const float *)c->data)[0] - want) <= rel * fabsf(want);
}

int other_operand(const Node *n, int v) {
  return n->nin != 2 ? -1 : n->in[0] == v ? n->in[1] : n->in[1] == v ? n->in[0] : -1;
}

Node *only_reader(Graph *g, const int *reader, int v, OpKind op) {
  if (!value_single_use(g, v) || reader[v] < 0)
    return NULL;
  Node *n = &g->nodes[reader[v]];
  return !n->dead && n->op == op ? n : NULL;
}
