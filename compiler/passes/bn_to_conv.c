/*
 * bn-to-conv: a BatchNormalization that nothing folded (fold-bn and
 * merge-paths take every one next to a conv they can rewrite) becomes what
 * it computes, a depthwise 1x1 Conv with weights a = scale / sqrt(var +
 * eps) and bias t = B - mean a, in the BN's place.  DenseNet's
 * pre-activation BN -> ReLU -> Conv after each Concat is the case: a BN
 * kernel of its own ran one float at a time on the plain layout, with a
 * Reorder on each side; as a Conv, fuse-activation takes the ReLU into its
 * epilogue, the layout pass keeps it blocked, and the conv kernels run it
 * in vectors.  Ranks 3 to 5 (a Conv's); a BN of [N, C] stays.
 */
#include "../cardinal.h"

#include <stdlib.h>
#include <string.h>

/* BN node n becomes Conv(x, a [C, 1, ...], t) with C groups, in place (its
 * readers come after it, as fuse-activation expects). */
static void bn_to_conv(Graph *g, Node *n, const Affine *f) {
  int rank = g->values[n->in[0]].rank;
  int64_t wd[CD_MAX_RANK] = {f->C, 1, 1, 1, 1};
  int w = graph_add_const(g, "", rank, wd), b = graph_add_const(g, "", 1, &f->C);
  memcpy(g->values[w].data, f->a, sizeof(float) * (size_t)f->C);
  memcpy(g->values[b].data, f->t, sizeof(float) * (size_t)f->C);
  n->op = OP_CONV;
  n->op_type = "Conv";
  n->in[1] = w, n->in[2] = b, n->nin = 3;
  n->opset = 11;
  n->nattrs = 1;
  n->attrs = arena_alloc(&g->arena, sizeof(Attr));
  n->attrs[0] = (Attr){.name = arena_strdup(&g->arena, "group"), .type = AT_INT, .i = f->C};
  memset(&n->p, 0, sizeof n->p);
  Diag d = {.quiet = true};
  CD_ASSERT(op_check_arity(g, n, &d) && op_table[OP_CONV].parse(g, n, &d) && node_infer(g, n, &d));
  sb_free(&d.log);
}

bool pass_bn_to_conv(Graph *g, PassStats *st) {
  int made = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    Affine f;
    if (n->dead || n->op != OP_BATCHNORM || g->values[n->in[0]].dtype != DT_FLOAT ||
        g->values[n->in[0]].rank < 3 || g->values[n->in[0]].rank > 5 || !bn_affine(g, n, &f))
      continue;
    bn_to_conv(g, n, &f);
    free(f.a);
    free(f.t);
    made++;
  }
  if (made)
    ir_recount_uses(g);
  st->changes = made;
  snprintf(st->what, sizeof st->what, "made %d BatchNormalization depthwise 1x1 Convs", made);
  return true;
}
