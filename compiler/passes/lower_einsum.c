/*
 * lower-einsum: an Einsum of the forms models use becomes the ops whose
 * kernels the targets already have (ops/einsum.c says what Einsum is):
 *
 *   two operands, every label in both and the output (batch, B), in the
 *   first and the output (M), in the second and the output (N), or in both
 *   and summed (K) -- a batched matrix product with transposes:
 *
 *     "bhid,bhjd->bhij" ->  Transpose(Reshape(MatMul(Reshape(Transpose(a), [b, m, k]),
 *                                                   Reshape(Transpose(c), [b, k, n])),
 *                                            [B.., M.., N..]), to the output's order)
 *
 *   (each Transpose and Reshape only where it changes something: "ij,jk->ik"
 *   is one MatMul, "bhid,bhjd->bhij" a Transpose of the second operand and
 *   a MatMul, "i,i" a MatMul of [1, k] by [k, 1]);
 *
 *   one operand: ReduceSum over the summed labels, then a Transpose to the
 *   output's order ("ij->i", "ij->ji", "bij->bji").
 *
 * A MatMul by a constant then becomes a Gemm (gemm-from-matmul, after this
 * pass).  What stays an Einsum -- a diagonal ("ii->i"), broadcast ellipsis
 * dims, a label summed in one operand of two, float64 -- runs Einsum's own
 * portable kernel.
 */
#include "../cardinal.h"

#include <string.h>

static int shape_const(Graph *g, const int64_t *dims, int rank) {
  int64_t n = rank;
  return graph_add_typed_const(g, "", DT_INT64, 1, &n, dims);
}

/* Transpose(x) by perm (nothing if perm is the identity), writing out (-1: a new value). */
static int transpose(Graph *g, int x, const int *perm, int rank, int out, int opset) {
  bool id = true;
  for (int k = 0; k < rank; k++)
    id &= perm[k] == k;
  if (id && out < 0)
    return x;
  int ni = graph_add_op(g, OP_TRANSPOSE, 1, 1);
  Node *n = &g->nodes[ni];
  n->in[0] = x;
  n->opset = opset;
  n->nattrs = 1;
  n->attrs = arena_alloc(&g->arena, sizeof(Attr));
  int64_t *ints = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)(rank + 1));
  for (int k = 0; k < rank; k++)
    ints[k] = perm[k];
  n->attrs[0] = (Attr){.name = arena_strdup(&g->arena, "perm"), .type = AT_INTS, .count = rank,
                       .ints = ints};
  if (out < 0)
    out = graph_add_value(g, "");
  n->out[0] = out;
  g->values[out].producer = ni;
  Diag d = {.quiet = true};
  CD_ASSERT(op_check_arity(g, n, &d) && op_table[OP_TRANSPOSE].parse(g, n, &d) &&
            node_infer(g, n, &d));
  sb_free(&d.log);
  return out;
}

/* Reshape(x) to dims (nothing if x has them), writing out (-1: a new value). */
static int reshape(Graph *g, int x, const int64_t *dims, int rank, int out, int opset) {
  const Value *v = &g->values[x];
  if (out < 0 && v->rank == rank && !memcmp(v->dims, dims, sizeof(int64_t) * (size_t)rank))
    return x;
  int ins[2] = {x, shape_const(g, dims, rank)};
  return g->nodes[rewrite_add_node(g, OP_RESHAPE, 2, ins, out, opset)].out[0];
}

static bool holds(const EinsumPlan *e, int o, int l) {
  for (int k = 0; k < e->rank[o]; k++)
    if (e->lab[o][k] == l)
      return true;
  return false;
}

static int pos(const EinsumPlan *e, int o, int l) {
  for (int k = 0; k < e->rank[o]; k++)
    if (e->lab[o][k] == l)
      return k;
  return -1;
}

/* "ij->i", "ij->ji": ReduceSum, then Transpose. */
static bool lower_unary(Graph *g, Node *n, const EinsumPlan *e) {
  int x = n->in[0], y = n->out[0], opset = n->opset, r = e->rank[0];
  int64_t axes[CD_MAX_RANK];
  int na = 0, kept[CD_MAX_RANK], nk = 0;
  for (int k = 0; k < r; k++) {
    if (e->in_out[e->lab[0][k]])
      kept[nk++] = e->lab[0][k];
    else
      axes[na++] = k;
  }
  int perm[CD_MAX_RANK];
  bool id = true;
  for (int k = 0; k < e->nout; k++) {
    for (int j = 0; j < nk; j++)
      if (kept[j] == e->out[k])
        perm[k] = j;
    id &= perm[k] == k;
  }
  if (!na && id)
    return false; /* "ij->ij": a copy, Einsum's kernel does it */
  if (na) {
    int64_t nax = na;
    int ins[2] = {x, graph_add_typed_const(g, "", DT_INT64, 1, &nax, axes)};
    x = g->nodes[rewrite_add_node_attr(g, OP_REDUCESUM, 2, ins, id ? y : -1, 13, "keepdims",
                                       0)].out[0];
  }
  if (!id)
    transpose(g, x, perm, e->nout, y, opset);
  return true;
}

/* The batched matrix product. */
static bool lower_matmul(Graph *g, Node *n, const EinsumPlan *e) {
  int B[CD_MAX_RANK], M[CD_MAX_RANK], N[CD_MAX_RANK], K[CD_MAX_RANK], nb = 0, nm = 0, nn = 0,
      nkk = 0;
  int64_t b = 1, m = 1, nx = 1, k = 1;
  for (int l = 0; l < e->nlab; l++) {
    bool a = holds(e, 0, l), c = holds(e, 1, l);
    if (!a || !c) {
      if (!e->in_out[l])
        return false; /* summed in one operand only */
    } else if (!e->in_out[l]) {
      K[nkk++] = l, k *= e->ext[l];
    }
  }
  for (int j = 0; j < e->nout; j++) { /* B, M, N in the output's order */
    int l = e->out[j];
    bool a = holds(e, 0, l), c = holds(e, 1, l);
    if (a && c)
      B[nb++] = l, b *= e->ext[l];
    else if (a)
      M[nm++] = l, m *= e->ext[l];
    else
      N[nn++] = l, nx *= e->ext[l];
  }
  int opset = n->opset, y = n->out[0], pa[CD_MAX_RANK], pb[CD_MAX_RANK], r = 0;
  for (int j = 0; j < nb; j++)
    pa[r++] = pos(e, 0, B[j]);
  for (int j = 0; j < nm; j++)
    pa[r++] = pos(e, 0, M[j]);
  for (int j = 0; j < nkk; j++)
    pa[r++] = pos(e, 0, K[j]);
  r = 0;
  for (int j = 0; j < nb; j++)
    pb[r++] = pos(e, 1, B[j]);
  for (int j = 0; j < nkk; j++)
    pb[r++] = pos(e, 1, K[j]);
  for (int j = 0; j < nn; j++)
    pb[r++] = pos(e, 1, N[j]);
  int64_t da[3] = {b, m, k}, db[3] = {b, k, nx}, dy[3] = {b, m, nx};
  int mr = nb ? 3 : 2;
  int a2 = reshape(g, transpose(g, n->in[0], pa, e->rank[0], -1, opset), da + 3 - mr, mr, -1,
                   opset);
  int b2 = reshape(g, transpose(g, n->in[1], pb, e->rank[1], -1, opset), db + 3 - mr, mr, -1,
                   opset);
  /* the natural order B, M, N; then the output's */
  int64_t nat[CD_MAX_RANK];
  int nl[CD_MAX_RANK], nr = 0;
  for (int j = 0; j < nb; j++)
    nl[nr] = B[j], nat[nr++] = e->ext[B[j]];
  for (int j = 0; j < nm; j++)
    nl[nr] = M[j], nat[nr++] = e->ext[M[j]];
  for (int j = 0; j < nn; j++)
    nl[nr] = N[j], nat[nr++] = e->ext[N[j]];
  int perm[CD_MAX_RANK];
  bool id = true;
  for (int j = 0; j < e->nout; j++) {
    for (int q = 0; q < nr; q++)
      if (nl[q] == e->out[j])
        perm[j] = q;
    id &= perm[j] == j;
  }
  bool same = nr == mr && !memcmp(nat, dy + 3 - mr, sizeof(int64_t) * (size_t)mr);
  int ins[2] = {a2, b2};
  int mm = g->nodes[rewrite_add_node(g, OP_MATMUL, 2, ins, same && id ? y : -1, opset)].out[0];
  if (same && id)
    return true;
  int nv = id ? reshape(g, mm, nat, nr, y, opset) : reshape(g, mm, nat, nr, -1, opset);
  if (!id)
    transpose(g, nv, perm, nr, y, opset);
  return true;
}

bool pass_lower_einsum(Graph *g, PassStats *st) {
  int done = 0, left = 0;
  for (int i = 0, nn = g->nnodes; i < nn; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_EINSUM)
      continue;
    EinsumPlan e;
    Diag d = {.quiet = true};
    bool planned = einsum_plan(g, n, &e, &d);
    sb_free(&d.log);
    CD_ASSERT(planned); /* inference made it */
    bool fl = g->values[n->in[0]].dtype == DT_FLOAT;
    Node copy = *n; /* adding nodes may move g->nodes; its in and out stay */
    bool lowered = fl && !e.repeated && !e.broadcast &&
                   (e.nop == 1 ? lower_unary(g, &copy, &e) : lower_matmul(g, &copy, &e));
    n = &g->nodes[i]; /* the node array may have moved */
    if (lowered) {
      n->dead = true;
      done++;
    } else {
      left++;
    }
  }
  ir_recount_uses(g);
  st->changes = done;
  snprintf(st->what, sizeof st->what,
           "lowered %d Einsums to Transpose, MatMul, ReduceSum and Reshape (%d left to "
           "Einsum's own kernel)", done, left);
  return true;
}
