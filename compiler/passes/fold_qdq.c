/*
 * fold-qdq: the QDQ format's quantized convolution, as ONNX Runtime's
 * static quantizer and `cardinal quantize` write it,
 *
 *   DequantizeLinear(xq) -+
 *   DequantizeLinear(wq) -+-> Conv [-> Relu] -> QuantizeLinear -> yq
 *   bias                 -+
 *
 * becomes one QLinearConv(xq, wq, bias as int32) -> yq, which runs on the
 * integer kernels instead of a float conv on dequantized values.
 *
 * What must hold, else the nodes stay as they are (and still run: Q and DQ
 * have kernels, and fold-constants turns DQ of constant weights into float
 * weights):
 *   - x is DequantizeLinear of a uint8/int8 tensor, per tensor;
 *   - the weights are DequantizeLinear of a uint8/int8 constant, per tensor
 *     or per output channel (axis 0);
 *   - the bias, if any, is a constant: float, or DequantizeLinear of an
 *     int32 constant; it is requantized to int32 at x_scale * w_scale[m]
 *     (ONNX's QLinearConv bias scale), which gives back the same integers
 *     when the model's bias scale is that product, as the quantizers write;
 *   - the conv's output has one reader, a per-tensor QuantizeLinear, or a
 *     Relu read only by one whose zero point is its type's lowest value (so
 *     the saturation at that value is the Relu: nothing is lost dropping
 *     it).
 * The result differs from the float conv it replaces only by the float
 * rounding of that conv (the integer sum is exact): at most one step of
 * y_scale, on values that sat on a rounding tie.
 *
 * A linear layer whose output is not requantized (the classifier head, a
 * graph output) folds too, so its weights stay int8:
 *
 *   Gemm(DQ(xq), DQ(wq)^T, bias)  ->  MatMulInteger(xq, wq^T) -> Cast ->
 *                                     Mul(x_scale * w_scale[n]) -> Add(bias)
 *
 * (alpha and beta 1, A not transposed, weights per tensor or per output;
 * exact integer sums, then one float multiply and add per output, where
 * the float Gemm rounded at every step).
 *
 * And the residual add (ResNet's, ResNeXt's) on two quantized operands:
 *
 *   Add(DQ(a), DQ(b)) [-> Relu] -> Q  ->  QLinearAdd(a, b)
 *
 * (same shapes, all per tensor, the Relu under the same condition), one
 * pass over bytes instead of three over floats; it can differ from the
 * float chain by one step where that chain's rounding of the two products
 * and their sum fell on the other side of a tie.
 *
 * And a max-pool between a DQ and a Q of the same scale and zero point
 * runs on the bytes: DQ(xq) -> MaxPool -> Q  ->  MaxPool(xq), exactly (the
 * max commutes with dequantizing, and Q undoes DQ at the same parameters).
 *
 * It runs before fold-constants, which would otherwise turn DQ(wq) into
 * float weights first.
 */
#include "../cardinal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The live node producing v if it is of op `op`, else NULL. */
static Node *producer_of(Graph *g, int v, OpKind op) {
  if (v < 0 || g->values[v].producer < 0)
    return NULL;
  Node *n = &g->nodes[g->values[v].producer];
  return !n->dead && n->op == op ? n : NULL;
}

static bool is_q8(DType t) { return t == DT_UINT8 || t == DT_INT8; }

/* A constant of `dtype`, [n] (rank 1) or a scalar (n < 0), holding data. */
static int new_const(Graph *g, const char *name, DType dtype, int64_t n, const void *data) {
  return graph_add_typed_const(g, name, dtype, n < 0 ? 0 : 1, &n, data);
}

/* The zero point input of a Q/DQ node (made, 0 of its type, when absent). */
static int zero_input(Graph *g, const Node *q) {
  if (node_has_input(q, 2))
    return q->in[2];
  int32_t zero = 0;
  return new_const(g, arena_printf(&g->arena, "%s_zero", g->values[q->in[1]].name),
                   q->p.q[0].dtype, -1, &zero);
}

/* The conv's bias as int32 at scale sx * sw[m] (a new constant), or -2 when
 * it is not a constant this pass can take; -1 when there is none. */
static int int_bias(Graph *g, const Node *conv, float sx, const QuantParams *qw, int64_t M) {
  int b = conv->nin > 2 ? conv->in[2] : -1;
  if (b < 0)
    return -1;
  const Value *bv = &g->values[b];
  const Node *dq = producer_of(g, b, OP_DEQUANTIZE);
  const Value *src = dq ? &g->values[dq->in[0]] : bv;
  if (!src->data || value_numel(bv) != M || (dq ? src->dtype != DT_INT32 : bv->dtype != DT_FLOAT))
    return -2;
  const QuantParams *qb = dq ? &dq->p.q[0] : NULL;
  if (qb && qb->n != 1 && qb->n != M)
    return -2;
  int32_t *out = malloc(sizeof(int32_t) * (size_t)M);
  CD_ASSERT(out);
  bool ok = true;
  for (int64_t m = 0; m < M && ok; m++) {
    double f = dq ? (double)((const int32_t *)src->data)[m] * qb->scale[qb->n > 1 ? m : 0]
                  : ((const float *)src->data)[m];
    double r = nearbyint(f / ((double)sx * qw->scale[qw->n > 1 ? m : 0]));
    ok = fabs(r) < 1073741824.0; /* 2^30: room for the sums added to it */
    out[m] = ok ? (int32_t)r : 0;
  }
  int v = ok ? new_const(g, arena_printf(&g->arena, "%s_int32", bv->name), DT_INT32, M, out) : -2;
  free(out);
  return v;
}

/* The per-tensor QuantizeLinear requantizing output y: y's only reader, or
 * the only reader of a Relu that is y's only reader when the Q's zero point
 * is its type's lowest (so the Relu changes nothing); *relu that Relu or
 * NULL.  NULL when there is none. */
static Node *requantizer(Graph *g, const int *reader, int y, Node **relu) {
  *relu = only_reader(g, reader, y, OP_RELU);
  Node *q = only_reader(g, reader, *relu ? (*relu)->out[0] : y, OP_QUANTIZE);
  if (!q || q->p.q[0].n != 1)
    return NULL;
  int64_t lo, hi;
  CD_ASSERT(dtype_io_as_float(q->p.q[0].dtype, &lo, &hi));
  return *relu && q->p.q[0].zero[0] != lo ? NULL : q;
}

/* Nodes ni, relu and q (indices; -1: none) folded away: dead, with the
 * values they wrote but q's output, which the folded node writes now. */
static void fold_away(Graph *g, int ni, int relu, int q) {
  const int k[3] = {ni, relu, q};
  for (int i = 0; i < 3; i++)
    if (k[i] >= 0) {
      g->nodes[k[i]].dead = true;
      if (k[i] != q)
        g->values[g->nodes[k[i]].out[0]].dead = true;
    }
}

/* Folds the pattern around conv c if it is there; true if it did. */
static bool fold_conv(Graph *g, const int *reader, Node *c) {
  if (node_has_epilogue(c))
    return false;
  Node *dx = producer_of(g, c->in[0], OP_DEQUANTIZE);
  Node *dw = producer_of(g, c->in[1], OP_DEQUANTIZE);
  if (!dx || !dw || dx->p.q[0].n != 1 || !is_q8(g->values[dx->in[0]].dtype))
    return false;
  const Value *wq = &g->values[dw->in[0]];
  const QuantParams *qw = &dw->p.q[0];
  int64_t M = g->values[c->in[1]].dims[0];
  if (!wq->data || !is_q8(wq->dtype) ||
      (qw->n != 1 && (qw->n != M || normalize_axis(dw->p.axis, wq->rank) != 0)))
    return false;
  Node *relu, *q = requantizer(g, reader, c->out[0], &relu); /* conv -> [Relu ->] Q */
  if (!q)
    return false;
  int bias = int_bias(g, c, dx->p.q[0].scale[0], qw, M);
  if (bias == -2)
    return false;
  int ins[9] = {dx->in[0], dx->in[1], zero_input(g, dx), dw->in[0], dw->in[1],
                zero_input(g, dw), q->in[1], zero_input(g, q), bias};
  int yq = q->out[0], ci = (int)(c - g->nodes), qi = (int)(q - g->nodes);
  int ri = relu ? (int)(relu - g->nodes) : -1;
  int ni = graph_add_op(g, OP_QLINEARCONV, bias >= 0 ? 9 : 8, 1);
  c = &g->nodes[ci]; /* graph_add_op may have moved the nodes */
  Node *n = &g->nodes[ni];
  memcpy(n->in, ins, sizeof(int) * (size_t)n->nin);
  n->out[0] = yq;
  n->name = c->name;
  n->nattrs = c->nattrs, n->attrs = c->attrs; /* the conv's own: kernel, pads, strides, group */
  n->opset = c->opset;
  Diag d = {.quiet = true};
  bool ok = op_check_arity(g, n, &d) && op_table[OP_QLINEARCONV].parse(g, n, &d) &&
            node_infer(g, n, &d);
  sb_free(&d.log);
  if (!ok) { /* a conv QLinearConv does not take (none known): leave it */
    n->dead = true;
    return false;
  }
  g->values[yq].producer = ni;
  fold_away(g, ci, ri, qi);
  return true;
}

/* A node op(ins) writing out (a new value if -1), with attribute `to`
 * (Cast) when to >= 0, set up; its output. */
static int add_node(Graph *g, OpKind op, int nin, const int *ins, int out, int64_t to,
                    int opset) {
  int ni = rewrite_add_node_attr(g, op, nin, ins, out, opset, to >= 0 ? "to" : NULL, to);
  return g->nodes[ni].out[0];
}

/* Folds Gemm n (index gi) as the header says, if it matches; true if it did. */
static bool fold_gemm(Graph *g, int gi) {
  Node *n = &g->nodes[gi];
  if (node_has_epilogue(n) || n->p.trans_a || n->p.alpha != 1.0f ||
      (node_has_input(n, 2) && n->p.beta != 1.0f))
    return false;
  Node *dx = producer_of(g, n->in[0], OP_DEQUANTIZE);
  Node *dw = producer_of(g, n->in[1], OP_DEQUANTIZE);
  if (!dx || !dw || dx->p.q[0].n != 1 || !is_q8(g->values[dx->in[0]].dtype))
    return false;
  const Value *wq = &g->values[dw->in[0]];
  const QuantParams *qw = &dw->p.q[0];
  if (!wq->data || wq->dtype != DT_INT8 || wq->rank != 2)
    return false;
  int64_t K = wq->dims[n->p.trans_b], N = wq->dims[!n->p.trans_b];
  if (qw->n != 1 && (qw->n != N || normalize_axis(dw->p.axis, 2) != !n->p.trans_b))
    return false;
  int c = n->nin > 2 ? n->in[2] : -1;
  if (c >= 0 && (!g->values[c].data || g->values[c].dtype != DT_FLOAT ||
                 value_numel(&g->values[c]) != N || g->values[c].dims[g->values[c].rank - 1] != N))
    return false;
  /* the weights [K, N], their zero points, the scales x_scale * w_scale[n] */
  int8_t *w = malloc((size_t)(K * N) + 1), *wz = malloc((size_t)N + 1);
  float *sc = malloc(sizeof(float) * (size_t)N + 1);
  CD_ASSERT(w && wz && sc);
  const int8_t *W = wq->data;
  for (int64_t k = 0; k < K; k++)
    for (int64_t j = 0; j < N; j++)
      w[k * N + j] = n->p.trans_b ? W[j * K + k] : W[k * N + j];
  float sx = dx->p.q[0].scale[0];
  for (int64_t j = 0; j < N; j++) {
    wz[j] = (int8_t)qw->zero[qw->n > 1 ? j : 0];
    sc[j] = sx * qw->scale[qw->n > 1 ? j : 0];
  }
  const char *base = g->values[n->out[0]].name;
  int64_t wd[2] = {K, N};
  int wv = graph_add_typed_const(g, arena_printf(&g->arena, "%s_weights_int8", base), DT_INT8, 2,
                                 wd, w);
  int wzv = new_const(g, arena_printf(&g->arena, "%s_weights_zero", base), DT_INT8, N, wz);
  int scv = new_const(g, arena_printf(&g->arena, "%s_scales", base), DT_FLOAT, N, sc);
  free(w), free(wz), free(sc);
  int y = n->out[0], opset = n->opset > 13 ? n->opset : 13;
  int ins[4] = {dx->in[0], wv, zero_input(g, dx), wzv};
  int acc = add_node(g, OP_MATMULINTEGER, 4, ins, -1, -1, opset);
  int f = add_node(g, OP_CAST, 1, &acc, -1, DT_FLOAT, opset);
  int mi[2] = {f, scv};
  g->nodes[gi].dead = true; /* before y gets its new producer */
  int m = add_node(g, OP_MUL, 2, mi, c >= 0 ? -1 : y, -1, opset);
  if (c >= 0) {
    int ai[2] = {m, c};
    add_node(g, OP_ADD, 2, ai, y, -1, opset);
  }
  return true;
}

/* Folds Add a (index ai) as the header says, if it matches; true if it did
 * (the Add, its Relu and the Q marked dead). */
static bool fold_add(Graph *g, const int *reader, int ai) {
  Node *a = &g->nodes[ai];
  Node *da = producer_of(g, a->in[0], OP_DEQUANTIZE), *db = producer_of(g, a->in[1], OP_DEQUANTIZE);
  if (!da || !db || da->p.q[0].n != 1 || db->p.q[0].n != 1 ||
      !is_q8(g->values[da->in[0]].dtype) || !is_q8(g->values[db->in[0]].dtype) ||
      !value_same_shape(&g->values[a->in[0]], &g->values[a->in[1]]) ||
      !value_same_shape(&g->values[a->in[0]], &g->values[a->out[0]]))
    return false;
  Node *relu, *q = requantizer(g, reader, a->out[0], &relu);
  if (!q)
    return false;
  float sy = q->p.q[0].scale[0];
  if (!isfinite(da->p.q[0].scale[0] / sy) || !isfinite(db->p.q[0].scale[0] / sy))
    return false;
  int ins[8] = {da->in[0], da->in[1], zero_input(g, da), db->in[0], db->in[1], zero_input(g, db),
                q->in[1], zero_input(g, q)};
  int yq = q->out[0], opset = a->opset;
  fold_away(g, ai, relu ? (int)(relu - g->nodes) : -1, (int)(q - g->nodes));
  const char *name = a->name;
  int ni = graph_add_op(g, OP_QLINEARADD, 8, 1);
  Node *n = &g->nodes[ni];
  memcpy(n->in, ins, sizeof ins);
  n->out[0] = yq;
  n->name = (char *)name;
  n->opset = opset;
  g->values[yq].producer = ni;
  Diag d = {.quiet = true};
  CD_ASSERT(node_setup(g, n, &d));
  sb_free(&d.log);
  return true;
}

/* Whether Q/DQ nodes a and b quantize per tensor with the same type,
 * scale and zero point. */
static bool same_qparams(const Node *a, const Node *b) {
  const QuantParams *x = &a->p.q[0], *y = &b->p.q[0];
  return x->n == 1 && y->n == 1 && x->dtype == y->dtype && x->scale[0] == y->scale[0] &&
         x->zero[0] == y->zero[0];
}

/* Folds MaxPool index pi as the header says, if it matches. */
static bool fold_maxpool(Graph *g, const int *reader, int pi) {
  Node *mp = &g->nodes[pi];
  Node *dq = producer_of(g, mp->in[0], OP_DEQUANTIZE);
  Node *q = only_reader(g, reader, mp->out[0], OP_QUANTIZE);
  if (mp->nout != 1 || !dq || !q || !same_qparams(dq, q) || !is_q8(g->values[dq->in[0]].dtype) ||
      g->values[dq->in[0]].rank != 4)
    return false;
  int yq = q->out[0], opset = mp->opset > 12 ? mp->opset : 12, x = dq->in[0];
  int ni = graph_add_op(g, OP_MAXPOOL, 1, 1);
  mp = &g->nodes[pi];
  Node *n = &g->nodes[ni];
  n->in[0] = x;
  n->out[0] = yq;
  n->name = mp->name;
  n->nattrs = mp->nattrs, n->attrs = mp->attrs;
  n->opset = opset;
  Diag d = {.quiet = true};
  bool ok = op_check_arity(g, n, &d) && op_table[OP_MAXPOOL].parse(g, n, &d) &&
            node_infer(g, n, &d);
  sb_free(&d.log);
  if (!ok) {
    n->dead = true;
    return false;
  }
  g->values[yq].producer = ni;
  fold_away(g, pi, -1, reader[mp->out[0]]);
  return true;
}

bool pass_fold_qdq(Graph *g, PassStats *st) {
  int *reader = malloc(sizeof(int) * ((size_t)g->nvalues + 1));
  CD_ASSERT(reader);
  for (int v = 0; v < g->nvalues; v++)
    reader[v] = -1;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < node_nreads(&g->nodes[i]); k++)
      if (node_read(&g->nodes[i], k) >= 0)
        reader[node_read(&g->nodes[i], k)] = i;
  int folded = 0, linear = 0, adds = 0, pools = 0, n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    Node *c = &g->nodes[i];
    if (!c->dead && c->op == OP_GEMM) {
      linear += fold_gemm(g, i);
      continue;
    }
    if (!c->dead && c->op == OP_ADD) {
      adds += fold_add(g, reader, i);
      continue;
    }
    if (!c->dead && c->op == OP_MAXPOOL) {
      pools += fold_maxpool(g, reader, i);
      continue;
    }
    if (!c->dead && c->op == OP_CONV)
      folded += fold_conv(g, reader, c);
  }
  free(reader);
  ir_recount_uses(g);
  st->changes = folded + linear + adds + pools;
  snprintf(st->what, sizeof st->what, "folded %d convs into QLinearConv, %d linear layers "
           "into MatMulInteger, %d adds into QLinearAdd, %d MaxPool to bytes", folded, linear,
           adds, pools);
  return true;
}
