/*
 * fold-bn: BatchNormalization disappears into the convolutions around it.
 * With a = scale / sqrt(var + eps) and t = B - mean * a per channel,
 * BN(y) = a * y + t, so:
 *
 *  - after a Conv (or Gemm) whose output only BN reads, or after a residual
 *    Add of convs (the seed article's relu(bn(conv(x) + shortcut(x)))), the
 *    scale and shift go into the producers' weights and bias
 *    (rewrite_fold_bn in rewrite.c, which merge-paths shares);
 *  - before a Conv without padding: conv(a x + t) scales W's input channels
 *    by a and adds sum(W * t) to the bias.  (With padding the zeros would
 *    not be shifted, so that case is left alone.)
 *
 * New weights are new constants: an initializer shared by two nodes is
 * never modified in place.
 */
#include "../cardinal.h"

#include <stdlib.h>

/* The Conv reading BN node bn's output, if it is unpadded with constant
 * weights and bias. */
static Node *unpadded_reader(Graph *g, const Node *bn) {
  Node *q = NULL;
  for (int k = 0; k < g->nnodes; k++)
    if (!g->nodes[k].dead && g->nodes[k].op == OP_CONV && g->nodes[k].in[0] == bn->out[0])
      q = &g->nodes[k];
  if (!q || !g->values[q->in[1]].data || node_has_epilogue(q) ||
      (node_has_input(q, 2) && !g->values[q->in[2]].data))
    return NULL;
  for (int s = 0; s < 3; s++)
    if (q->p.pad0[s] || q->p.pad1[s])
      return NULL;
  return q;
}

/* conv(a x + t): W'[m][c] = W[m][c] a[c], b'[m] = b[m] + sum W[m][c] t[c]. */
static void fold_forward(Graph *g, Node *q, int x, const Affine *f) {
  const Value *w = &g->values[q->in[1]];
  int64_t M = w->dims[0], Cg = w->dims[1], K = value_numel(w) / (M * Cg);
  int64_t Mg = M / q->p.group;
  int nw = graph_add_const(g, "", w->rank, w->dims);
  int nb = graph_add_const(g, "", 1, &M);
  w = &g->values[q->in[1]];
  float *W = g->values[nw].data, *Bn = g->values[nb].data;
  const float *W0 = w->data;
  const float *B0 = node_has_input(q, 2) ? g->values[q->in[2]].data : NULL;
  for (int64_t m = 0; m < M; m++) {
    double acc = B0 ? B0[m] : 0.0;
    for (int64_t c = 0; c < Cg; c++) {
      int64_t ci = (m / Mg) * Cg + c;
      for (int64_t k = 0; k < K; k++) {
        W[(m * Cg + c) * K + k] = W0[(m * Cg + c) * K + k] * f->a[ci];
        acc += (double)W0[(m * Cg + c) * K + k] * f->t[ci];
      }
    }
    Bn[m] = (float)acc;
  }
  q->in[0] = x;
  q->in[1] = nw;
  if (q->nin > 2)
    q->in[2] = nb;
  else
    node_add_input(g, q, nb);
}

bool pass_fold_bn(Graph *g, PassStats *st) {
  int direct = 0, through_add = 0, forward = 0;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].dead || g->nodes[i].op != OP_BATCHNORM)
      continue;
    int how = rewrite_fold_bn(g, i);
    direct += how == 1;
    through_add += how == 2;
    Affine f;
    Node *q;
    if (how || !value_single_use(g, g->nodes[i].out[0]) ||
        !(q = unpadded_reader(g, &g->nodes[i])) || !bn_affine(g, &g->nodes[i], &f))
      continue;
    fold_forward(g, q, g->nodes[i].in[0], &f);
    g->nodes[i].dead = true;
    g->values[g->nodes[i].out[0]].dead = true;
    ir_recount_uses(g);
    forward++;
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
