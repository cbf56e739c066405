/*
 * gemm-from-matmul: a MatMul by a constant matrix (a linear layer: ConvNeXt's
 * and a transformer's MLPs, export of torch.nn.Linear on more than two
 * dims) becomes a Gemm, which every target runs as a register-tiled kernel
 * with B^T packed (simd_gemm.c):
 *
 *   MatMul(A[..., K], B[K, N])      ->  Reshape(Gemm(Reshape(A, [rows, K]), B^T, transB = 1),
 *                                               [..., N])
 *
 * rows = the product of A's leading dims; the Reshapes are aliases (no work).
 * A bias Add that reads only the MatMul and adds a constant that varies
 * along N alone becomes the Gemm's C.  B^T is a new constant: an
 * initializer shared with another node is never modified in place.
 */
#include "../cardinal.h"

#include <string.h>

/* A constant int64 vector (a Reshape's shape). */
static int shape_const(Graph *g, const int64_t *dims, int rank) {
  int64_t n = rank;
  return graph_add_typed_const(g, "", DT_INT64, 1, &n, dims);
}

/* The constant [N] (or [1, ..., N]) a bias Add reading MatMul output y adds,
 * or -1; *add is the Add node. */
static int bias_of(Graph *g, int y, int *add) {
  if (!value_single_use(g, y))
    return -1;
  for (int i = 0; i < g->nnodes; i++) {
    Node *u = &g->nodes[i];
    if (u->dead || u->op != OP_ADD || u->nin != 2 || (u->in[0] != y && u->in[1] != y))
      continue;
    int c = u->in[0] == y ? u->in[1] : u->in[0];
    const Value *cv = &g->values[c], *yv = &g->values[y];
    if (!cv->data || cv->dtype != DT_FLOAT || cv->rank < 1 || cv->rank > yv->rank ||
        cv->dims[cv->rank - 1] != yv->dims[yv->rank - 1])
      return -1;
    for (int k = 0; k < cv->rank - 1; k++)
      if (cv->dims[k] != 1)
        return -1;
    *add = i;
    return c;
  }
  return -1;
}

bool pass_gemm_from_matmul(Graph *g, PassStats *st) {
  int done = 0, biases = 0, n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_MATMUL)
      continue;
    const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
    if (!b->data || b->rank != 2 || b->dtype != DT_FLOAT || a->rank < 2 ||
        a->dtype != DT_FLOAT || b->layout.kind != LAYOUT_PLAIN)
      continue;
    int64_t K = b->dims[0], N = b->dims[1], rows = value_numel(a) / K;
    int rank = a->rank, opset = n->opset, x = n->in[0], w = n->in[1], y = n->out[0];
    int64_t ydims[CD_MAX_RANK];
    memcpy(ydims, g->values[y].dims, sizeof ydims);
    /* B^T, [N, K]. */
    int64_t td[2] = {N, K};
    int bt = graph_add_const(g, g->values[w].name, 2, td);
    const float *B = g->values[w].data;
    float *T = g->values[bt].data;
    for (int64_t k0 = 0; k0 < K; k0 += 32) /* in 32 x 32 blocks: both sides stay in cache */
      for (int64_t j0 = 0; j0 < N; j0 += 32)
        for (int64_t k = k0; k < K && k < k0 + 32; k++)
          for (int64_t j = j0; j < N && j < j0 + 32; j++)
            T[j * K + k] = B[k * N + j];
    int add = -1, c = bias_of(g, y, &add), cn = -1;
    if (c >= 0) {
      int64_t nd = N;
      cn = graph_add_const(g, g->values[c].name, 1, &nd);
      memcpy(g->values[cn].data, g->values[c].data, sizeof(float) * (size_t)N);
      y = g->nodes[add].out[0]; /* the result replaces the Add's */
      biases++;
    }
    int a2 = x;
    if (rank > 2) {
      int64_t sd[2] = {rows, K};
      int ins[2] = {x, shape_const(g, sd, 2)};
      a2 = g->nodes[rewrite_add_node(g, OP_RESHAPE, 2, ins, -1, opset)].out[0];
    }
    int gins[3] = {a2, bt, cn};
    int gi = rewrite_add_node(g, OP_GEMM, cn >= 0 ? 3 : 2, gins, rank > 2 ? -1 : y, opset);
    if (rank > 2) {
      int ins[2] = {g->nodes[gi].out[0], shape_const(g, ydims, rank)};
      rewrite_add_node(g, OP_RESHAPE, 2, ins, y, opset);
    }
    g->nodes[i].dead = true;
    if (add >= 0) {
      g->nodes[add].dead = true;
      g->values[g->nodes[i].out[0]].dead = true;
    }
    done++;
  }
  ir_recount_uses(g);
  st->changes = done;
  snprintf(st->what, sizeof st->what,
           "turned %d MatMuls by a constant into Gemms (%d with their bias Add)", done, biases);
  return true;
}
