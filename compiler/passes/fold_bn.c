/*
 * fold-bn: BatchNormalization disappears into the convolutions around it.
 * With a = scale / sqrt(var + eps) and t = B - mean * a per channel,
 * BN(y) = a * y + t, so:
 *
 *  - after a Conv (or Gemm) whose output only BN reads: W'[m] = a[m] W[m],
 *    b'[m] = a[m] b[m] + t[m] (a conv without bias gains one);
 *  - after a residual Add, as in the seed article's blocks
 *    relu(bn(conv(x) + shortcut(x))): BN(u + w) = a u + a w + t.  Each
 *    operand that is a convolution takes the scale into its weights (the
 *    first also takes t into its bias); an operand that is not (an identity
 *    shortcut) becomes Mul(w, a), which fuse-residual turns into a
 *    per-channel scale on the residual input of the conv's epilogue;
 *  - before a Conv without padding: conv(a x + t) scales W's input channels
 *    by a and adds sum(W * t) to the bias.  (With padding the zeros would
 *    not be shifted, so that case is left alone.)
 *
 * New weights are new constants: an initializer shared by two nodes is
 * never modified in place.
 */
#include "../cardinal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  float *a, *t; /* per-channel scale and shift, malloc'd */
  int64_t C;
} Affine;

static bool bn_affine(Graph *g, Node *bn, Affine *f) {
  for (int i = 1; i < 5; i++)
    if (!g->values[bn->in[i]].data)
      return false;
  const float *S = g->values[bn->in[1]].data, *B = g->values[bn->in[2]].data,
              *M = g->values[bn->in[3]].data, *V = g->values[bn->in[4]].data;
  f->C = g->values[bn->in[1]].dims[0];
  f->a = malloc(sizeof(float) * (size_t)f->C);
  f->t = malloc(sizeof(float) * (size_t)f->C);
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
  if (p->nin > 2 && p->in[2] >= 0 && !g->values[p->in[2]].data)
    return false;
  if (want == OP_GEMM) {
    if (p->nin > 2 && p->in[2] >= 0) {
      const Value *c = &g->values[p->in[2]];
      int64_t N = g->values[p->out[0]].dims[1];
      if (value_numel(c) != N || (c->rank == 2 && c->dims[0] != 1))
        return false;
    }
  }
  return true;
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
  const float *B0 = p->nin > 2 && p->in[2] >= 0 ? g->values[p->in[2]].data : NULL;
  for (int64_t m = 0; m < M; m++)
    Bn[m] = (B0 ? B0[m] * a[m] : 0.0f) + (t ? t[m] : 0.0f);
  p->in[1] = nw;
  if (p->nin > 2)
    p->in[2] = nb;
  else
    node_add_input(g, p, nb);
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
  const float *C0 = p->nin > 2 && p->in[2] >= 0 ? g->values[p->in[2]].data : NULL;
  for (int64_t j = 0; j < N; j++)
    Cn[j] = (C0 ? p->p.beta * C0[j] * a[j] : 0.0f) + t[j];
  p->p.beta = 1.0f;
  p->in[1] = nb;
  if (p->nin > 2)
    p->in[2] = nc;
  else
    node_add_input(g, p, nc);
}

static bool same_shape(const Value *a, const Value *b) {
  return a->rank == b->rank &&
         !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank);
}

/* BN(u + w): fold into the Add's convolution operands. */
static bool fold_through_add(Graph *g, int opset, int ai, const Affine *f) {
  Node *add = &g->nodes[ai];
  const Value *y = &g->values[add->out[0]];
  if (add->nin != 2 || !same_shape(&g->values[add->in[0]], y) ||
      !same_shape(&g->values[add->in[1]], y) || y->rank < 2)
    return false;
  bool conv[2];
  for (int i = 0; i < 2; i++)
    conv[i] = foldable_producer(g, add->in[i], OP_CONV);
  if (!conv[0] && !conv[1])
    return false;
  bool shifted = false;
  for (int i = 0; i < 2; i++) {
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
    int mi = graph_add_node(g, "Mul", 2, 1);
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

bool pass_fold_bn(Graph *g, PassStats *st) {
  int direct = 0, through_add = 0, forward = 0;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].dead || g->nodes[i].op != OP_BATCHNORM)
      continue;
    Affine f;
    if (!bn_affine(g, &g->nodes[i], &f))
      continue;
    Node *bn = &g->nodes[i];
    int x = bn->in[0];
    int pi = g->values[x].producer;
    bool done = false;
    if (foldable_producer(g, x, OP_CONV)) {
      scale_conv(g, &g->nodes[pi], f.a, f.t);
      direct++;
      done = true;
    } else if (g->values[x].rank == 2 && foldable_producer(g, x, OP_GEMM)) {
      scale_gemm(g, &g->nodes[pi], f.a, f.t);
      direct++;
      done = true;
    } else if (pi >= 0 && value_single_use(g, x) && g->nodes[pi].op == OP_ADD) {
      done = fold_through_add(g, g->nodes[i].opset, pi, &f);
      through_add += done;
    }
    bn = &g->nodes[i];
    if (done) {
      node_take_output(g, &g->nodes[pi], bn);
    } else if (value_single_use(g, bn->out[0])) {
      /* Forward into the Conv that reads BN's output, if unpadded. */
      Node *q = NULL;
      for (int k = 0; k < g->nnodes; k++)
        if (!g->nodes[k].dead && g->nodes[k].op == OP_CONV && g->nodes[k].in[0] == bn->out[0])
          q = &g->nodes[k];
      bool unpadded = q != NULL && g->values[q->in[1]].data &&
                      (q->nin < 3 || q->in[2] < 0 || g->values[q->in[2]].data);
      for (int s = 0; unpadded && s < 3; s++)
        if (q->p.pad0[s] || q->p.pad1[s])
          unpadded = false;
      if (unpadded) {
        const Value *w = &g->values[q->in[1]];
        int64_t M = w->dims[0], Cg = w->dims[1], K = value_numel(w) / (M * Cg);
        int64_t Mg = M / q->p.group;
        int nw = graph_add_const(g, "", w->rank, w->dims);
        w = &g->values[q->in[1]];
        int nb = graph_add_const(g, "", 1, &M);
        float *W = g->values[nw].data, *Bn = g->values[nb].data;
        const float *W0 = w->data;
        const float *B0 = q->nin > 2 && q->in[2] >= 0 ? g->values[q->in[2]].data : NULL;
        for (int64_t m = 0; m < M; m++) {
          double acc = B0 ? B0[m] : 0.0;
          for (int64_t c = 0; c < Cg; c++) {
            int64_t ci = (m / Mg) * Cg + c;
            for (int64_t k = 0; k < K; k++) {
              W[(m * Cg + c) * K + k] = W0[(m * Cg + c) * K + k] * f.a[ci];
              acc += (double)W0[(m * Cg + c) * K + k] * f.t[ci];
            }
          }
          Bn[m] = (float)acc;
        }
        q->in[0] = bn->in[0];
        q->in[1] = nw;
        if (q->nin > 2)
          q->in[2] = nb;
        else
          node_add_input(g, q, nb);
        g->nodes[i].dead = true;
        g->values[g->nodes[i].out[0]].dead = true;
        ir_recount_uses(g);
        forward++;
      }
    }
    free(f.a);
    free(f.t);
  }
  st->changes = direct + through_add + forward;
  snprintf(st->what, sizeof st->what,
           "folded %d BatchNormalization into Conv/Gemm (%d through a residual Add, "
           "%d into a following Conv)",
           st->changes, through_add, forward);
  return true;
}
