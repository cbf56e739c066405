/*
 * kernels_elementwise.c — scalar kernels for the activations, the
 * broadcasting arithmetic and BatchNormalization.
 *
 * Broadcasting is resolved at compile time: when every operand has the
 * output's shape the kernel is one flat loop; otherwise it is a loop nest
 * over the output's dims with each operand's strides (0 on broadcast dims)
 * written in as constants.
 */
#include "../compiler/cardinal.h"

#include <string.h>

/* The C expression of unary op `op` (parameters a, b) applied to `v`. */
const char *unary_expr(Emitter *e, OpKind op, float a, float b, const char *v) {
  Arena *ar = &e->g->arena;
  switch (op) {
  case OP_RELU: return arena_printf(ar, "%s > 0.0f ? %s : 0.0f", v, v);
  case OP_LEAKYRELU:
    return arena_printf(ar, "%s >= 0.0f ? %s : %s * %s", v, v, c_float(e, a), v);
  case OP_SIGMOID: return arena_printf(ar, "1.0f / (1.0f + expf(-%s))", v);
  case OP_TANH: return arena_printf(ar, "tanhf(%s)", v);
  case OP_HARDSIGMOID:
    return arena_printf(ar, "fmaxf(0.0f, fminf(1.0f, %s * %s + %s))", c_float(e, a), v,
                        c_float(e, b));
  case OP_HARDSWISH:
    return arena_printf(ar, "%s * fmaxf(0.0f, fminf(1.0f, %s / 6.0f + 0.5f))", v, v);
  case OP_CLIP:
    return arena_printf(ar, "%s < %s ? %s : (%s > %s ? %s : %s)", v, c_float(e, a),
                        c_float(e, a), v, c_float(e, b), c_float(e, b), v);
  default: return NULL;
  }
}

const char *epilogue_stmt(Emitter *e, Node *n, const char *y, const char *idx,
                          const char *chan) {
  Arena *ar = &e->g->arena;
  const Epilogue *ep = &n->ep;
  if (!node_has_epilogue(n))
    return "";
  const char *v = y;
  if (ep->residual >= 0) {
    if (ep->residual_scale >= 0)
      v = arena_printf(ar, "(%s + x%d[%s] * x%d[%s])", y, ep->residual, idx,
                       ep->residual_scale, chan);
    else
      v = arena_printf(ar, "(%s + x%d[%s])", y, ep->residual, idx);
  }
  if (ep->act == OP_COUNT)
    return arena_printf(ar, "%s = %s;", y, v);
  return arena_printf(ar, "{ const float ev = %s; %s = %s; }", v, y,
                      unary_expr(e, ep->act, ep->act_alpha, ep->act_beta, "ev"));
}

bool unary_emit(Emitter *e, Graph *g, Node *n) {
  int64_t m = value_numel(&g->values[n->out[0]]);
  if (n->op == OP_CLIP) {
    bool rlo = n->nin > 1 && n->in[1] >= 0 && !g->values[n->in[1]].data;
    bool rhi = n->nin > 2 && n->in[2] >= 0 && !g->values[n->in[2]].data;
    emit(e, "  const float lo = %s, hi = %s;\n", rlo ? "x1[0]" : c_float(e, n->p.alpha),
         rhi ? "x2[0]" : c_float(e, n->p.beta));
    emit(e, "  for (long i = 0; i < %lld; i++) {\n    const float v = x0[i];\n"
            "    y0[i] = v < lo ? lo : (v > hi ? hi : v);\n  }\n", (long long)m);
    for (int i = 1; i < n->nin; i++)
      if (n->in[i] >= 0 && !(i == 1 ? rlo : rhi))
        emit(e, "  (void)x%d;\n", i);
    return true;
  }
  emit(e, "  for (long i = 0; i < %lld; i++) {\n    const float v = x0[i];\n"
          "    y0[i] = %s;\n  }\n",
       (long long)m, unary_expr(e, n->op, n->p.alpha, n->p.beta, "v"));
  return true;
}

static const char *binary_expr(Emitter *e, OpKind op, const char *a,
                               const char *b) {
  Arena *ar = &e->g->arena;
  switch (op) {
  case OP_ADD: case OP_SUM: return arena_printf(ar, "%s + %s", a, b);
  case OP_SUB: return arena_printf(ar, "%s - %s", a, b);
  case OP_MUL: return arena_printf(ar, "%s * %s", a, b);
  case OP_DIV: return arena_printf(ar, "%s / %s", a, b);
  case OP_PRELU: return arena_printf(ar, "%s < 0.0f ? %s * %s : %s", a, a, b, a);
  default: return NULL;
  }
}

bool binary_emit(Emitter *e, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int r = y->rank;
  bool flat = true;
  for (int i = 0; i < n->nin; i++) {
    const Value *x = &g->values[n->in[i]];
    if (x->rank != r || memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)r))
      flat = false;
  }
  /* Operand reads: x<i>[index]. */
  const char **rd = arena_alloc(&g->arena, sizeof(char *) * (size_t)n->nin);
  if (flat) {
    for (int i = 0; i < n->nin; i++)
      rd[i] = arena_printf(&g->arena, "x%d[i]", i);
    emit(e, "  for (long i = 0; i < %lld; i++)\n", (long long)value_numel(y));
  } else {
    for (int i = 0; i < n->nin; i++) {
      int64_t st[CD_MAX_RANK];
      broadcast_strides(&g->values[n->in[i]], r, y->dims, st);
      StrBuf sb = {0};
      sb_printf(&sb, "x%d[0", i);
      for (int k = 0; k < r; k++)
        if (st[k])
          sb_printf(&sb, " + i%d * %lld", k, (long long)st[k]);
      sb_printf(&sb, "]");
      rd[i] = arena_strdup(&g->arena, sb.buf);
      sb_free(&sb);
    }
    emit(e, "  long i = 0;\n");
    for (int k = 0; k < r; k++)
      emit(e, "%*sfor (long i%d = 0; i%d < %lld; i%d++)\n", 2 + 2 * k, "", k, k,
           (long long)y->dims[k], k);
  }
  const char *acc = rd[0];
  for (int i = 1; i < n->nin; i++)
    acc = arena_printf(&g->arena, "(%s)", binary_expr(e, n->op, acc, rd[i]));
  emit(e, "%*sy0[i%s] = %s;\n", 4 + (flat ? 0 : 2 * r - 2), "", flat ? "" : "++", acc);
  return true;
}

bool batchnorm_emit(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  int64_t N = x->dims[0], C = x->dims[1], nc = N * C;
  int64_t inner = nc > 0 ? value_numel(x) / nc : 0;
  emit(e, "  for (long b = 0; b < %lld; b++)\n"
          "    for (long c = 0; c < %lld; c++) {\n"
          "      const float a = x1[c] / sqrtf(x4[c] + %s), s = x2[c], mu = x3[c];\n"
          "      const float *xc = x0 + (b * %lld + c) * %lld;\n"
          "      float *yc = y0 + (b * %lld + c) * %lld;\n"
          "      for (long i = 0; i < %lld; i++)\n"
          "        yc[i] = (xc[i] - mu) * a + s;\n"
          "    }\n",
       (long long)N, (long long)C, c_float(e, n->p.epsilon), (long long)C,
       (long long)inner, (long long)C, (long long)inner, (long long)inner);
  return true;
}
