/*
 * fold-pad: a Pad the next node can do itself.
 *
 *  - A Pad whose pads are all 0 copies its input (torch.onnx writes one
 *    before DenseNet's 2x2 average pools): its readers read the input.
 *  - A Pad of zeros (constant mode, value 0) on the spatial dims only,
 *    pads not negative, read only by a Conv or an AveragePool (explicit
 *    pads, not auto_pad): the reader pads instead, and an AveragePool then
 *    counts the padding (count_include_pad = 1), as it counted the Pad's
 *    zeros.  torch.onnx writes avg_pool2d(count_include_pad=True) this way
 *    (Inception-v3's 3x3 pools); TensorFlow converters write convs so.
 *    The reader's kernels handle padding in vectors; the Pad was a scalar
 *    copy with a layout change on each side.
 *
 * An AveragePool that already excludes its own padding from the count
 * (count_include_pad = 0 with pads) keeps its Pad: one divisor cannot count
 * some pads and not others.  A Pad whose output is a graph output stays.
 */
#include "../cardinal.h"

#include <string.h>

/* Whether Pad n pads with zeros (constant mode, value 0, known at compile
 * time). */
static bool pads_zeros(const Graph *g, const Node *n) {
  if (n->p.pad_mode != 0)
    return false;
  if (node_has_input(n, 2))
    return g->values[n->in[2]].data && value_scalar(g, n->in[2], 0) == 0.0;
  return n->p.pad_value == 0.0f;
}

/* The node reading v, if it is the only reader and reads it once. */
static Node *sole_reader(Graph *g, int v) {
  Node *r = NULL;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    for (int j = 0; !n->dead && j < node_nreads(n); j++)
      if (node_read(n, j) == v) {
        if (r)
          return NULL;
        r = n;
      }
  }
  return r;
}

/* Whether reader q can take Pad n's pads (x of rank r) into its own. */
static bool takes_pads(const Graph *g, const Node *n, const Node *q, int r) {
  if ((q->op != OP_CONV && q->op != OP_AVGPOOL) || q->in[0] != n->out[0] ||
      q->p.auto_pad != AUTO_PAD_NOTSET || q->p.nsp != r - 2)
    return false;
  for (int k = 0; k < 2; k++) /* batch and channels unpadded */
    if (n->p.pads[k] || n->p.pads[CD_MAX_RANK + k])
      return false;
  if (q->op == OP_AVGPOOL && !q->p.count_include_pad)
    for (int s = 0; s < 3; s++)
      if (q->p.pad0[s] || q->p.pad1[s])
        return false;
  (void)g;
  return true;
}

bool pass_fold_pad(Graph *g, PassStats *st) {
  int copies = 0, folded = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_PAD || g->values[n->out[0]].is_output)
      continue;
    int r = g->values[n->in[0]].rank;
    bool zero = true, neg = false; /* pads: begins at 0.., ends at CD_MAX_RANK.. */
    for (int k = 0; k < r; k++)
      for (int e = 0; e < 2; e++)
        zero &= n->p.pads[e * CD_MAX_RANK + k] == 0, neg |= n->p.pads[e * CD_MAX_RANK + k] < 0;
    if (zero) {
      graph_replace_reads(g, n->out[0], n->in[0]);
      n->dead = true;
      copies++;
      continue;
    }
    Node *q;
    if (neg || r < 3 || !pads_zeros(g, n) || !(q = sole_reader(g, n->out[0])) ||
        !takes_pads(g, n, q, r))
      continue;
    for (int k = 2; k < r; k++) { /* spatial dim k is q's p index 3 - nsp + k - 2 */
      int s = 3 - (r - 2) + (k - 2);
      q->p.pad0[s] += n->p.pads[k];
      q->p.pad1[s] += n->p.pads[CD_MAX_RANK + k];
    }
    if (q->op == OP_AVGPOOL)
      q->p.count_include_pad = true;
    q->in[0] = n->in[0];
    n->dead = true;
    Diag d = {.quiet = true};
    CD_ASSERT(node_infer(g, q, &d)); /* the same output shape */
    sb_free(&d.log);
    folded++;
  }
  ir_recount_uses(g);
  st->changes = copies + folded;
  snprintf(st->what, sizeof st->what,
           "removed %d Pads of nothing, folded %d into the padding of their Conv or "
           "AveragePool", copies, folded);
  return true;
}
