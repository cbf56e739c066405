/*
 * elementwise.c — the unary activations (Relu, LeakyRelu, Sigmoid, SiLU,
 * Tanh, HardSigmoid, HardSwish, Clip, Elu, Selu, Softplus, Mish, Gelu), the
 * float functions Erf, Exp, Log, Sqrt, Neg, Abs, Reciprocal, Floor, Ceil,
 * Round and Sign (activations too: unary float -> float, so they fuse and
 * merge like one) and the broadcasting arithmetic (Add, Sub, Mul, Div,
 * PRelu, Pow, and the variadic Sum, Min, Max, Mean).  What each activation
 * computes is the activation table's (act.c, act.h); this file parses
 * their parameters and runs them over tensors.
 *
 * Unary parameters land in OpParams.alpha/beta, which is all an epilogue
 * carries (Epilogue.act_alpha/act_beta), so every activation says what it
 * needs in two floats:
 *
 *   LeakyRelu    alpha = slope
 *   HardSigmoid  y = max(0, min(1, alpha*x + beta))
 *   Clip         [alpha, beta] = bounds, attributes (opset < 11) or constant
 *                inputs; runtime bounds are read at run time instead
 *   Elu          y = x >= 0 ? x : alpha * (e^x - 1)
 *   Selu         y = beta * (x > 0 ? x : alpha * (e^x - 1)), beta = gamma
 *   Softplus     y = ln(1 + e^x), written so neither side overflows
 *   Gelu         y = x/2 (1 + erf(x / sqrt 2)); alpha = 1 selects the
 *                approximate = "tanh" form x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 *
 * The binary ops broadcast like numpy.  Min and Max propagate NaN (as
 * numpy's minimum and maximum do): each operand in turn replaces the result
 * when it is smaller (larger) or NaN.  Mean is Sum divided by the count.
 * Add, Sub, Mul, Div, Min and Max also run on int64, which only
 * happens while folding shape arithmetic at compile time.  Pow takes a
 * float32 base; its exponent is float32, or an integer constant that parse
 * turns into a float32 one (exporters write x ** 2 with an int64 2); an
 * integer exponent computed at run time is refused.
 */
#include "../cardinal.h"

#include <float.h>
#include <math.h>
#include <string.h>

bool unary_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  switch (n->op) {
  case OP_LEAKYRELU: p->alpha = attr_float(n, "alpha", 0.01f, d); break;
  case OP_HARDSIGMOID:
    p->alpha = attr_float(n, "alpha", 0.2f, d);
    p->beta = attr_float(n, "beta", 0.5f, d);
    break;
  case OP_ELU: p->alpha = attr_float(n, "alpha", 1.0f, d); break;
  case OP_SELU:
    p->alpha = attr_float(n, "alpha", 1.67326319217681884765625f, d);
    p->beta = attr_float(n, "gamma", 1.05070102214813232421875f, d);
    break;
  case OP_GELU: {
    const char *approx = attr_string(n, "approximate", "none", d);
    if (strcmp(approx, "none") && strcmp(approx, "tanh")) {
      diag_error(d, "node '%s' (Gelu): approximate must be \"none\" or \"tanh\", not \"%s\"",
                 node_label(n), approx);
      return false;
    }
    p->alpha = !strcmp(approx, "tanh");
    break;
  }
  case OP_CLIP:
    p->alpha = attr_float(n, "min", -FLT_MAX, d);
    p->beta = attr_float(n, "max", FLT_MAX, d);
    for (int i = 1; i < n->nin && i < 3; i++) {
      int v = n->in[i];
      if (v < 0)
        continue;
      if (g->values[v].dtype != DT_FLOAT || value_numel(&g->values[v]) != 1) {
        diag_error(d, "node '%s' (Clip): min and max must be float32 scalars",
                   node_label(n));
        return false;
      }
      if (g->values[v].data) {
        float b = ((float *)g->values[v].data)[0];
        if (i == 1)
          p->alpha = b;
        else
          p->beta = b;
      }
    }
    break;
  default: break;
  }
  return true;
}

bool unary_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  if (x->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (%s): only float32 is supported, got %s",
               node_label(n), n->op_type, dtype_name(x->dtype));
    return false;
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, x->dims);
  return true;
}

void unary_eval(Graph *g, Node *n, void **data) {
  const float *X = data[n->in[0]];
  float *Y = data[n->out[0]];
  float a = n->p.alpha, b = n->p.beta;
  if (n->op == OP_CLIP) {
    if (node_has_input(n, 1))
      a = ((float *)data[n->in[1]])[0];
    if (node_has_input(n, 2))
      b = ((float *)data[n->in[2]])[0];
  }
  int64_t m = value_numel(&g->values[n->out[0]]);
  for (int64_t i = 0; i < m; i++)
    Y[i] = act_apply(n->op, X[i], a, b);
}

/* Pow: an integer constant exponent becomes a float32 constant. */
static bool pow_parse(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]], *e = &g->values[n->in[1]];
  if (x->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (Pow): the base '%s' must be float32, not %s", node_label(n),
               x->name, dtype_name(x->dtype));
    return false;
  }
  if (e->dtype == DT_FLOAT)
    return true;
  if ((e->dtype != DT_INT64 && e->dtype != DT_INT32) || !e->data) {
    diag_error(d, "node '%s' (Pow): the exponent '%s' is %s%s; only float32 exponents "
               "(or constant integer ones) are supported", node_label(n), e->name,
               dtype_name(e->dtype), e->data ? "" : " computed at run time");
    return false;
  }
  int f = graph_add_value(g, arena_printf(&g->arena, "%s.float", e->name));
  Value *fv = &g->values[f];
  e = &g->values[n->in[1]];
  value_set_shape(fv, DT_FLOAT, e->rank, e->dims);
  float *data = value_alloc_data(g, f);
  e = &g->values[n->in[1]];
  for (int64_t i = 0; i < value_numel(e); i++)
    data[i] = e->dtype == DT_INT64 ? (float)((int64_t *)e->data)[i]
                                   : (float)((int32_t *)e->data)[i];
  n->in[1] = f;
  return true;
}

bool binary_parse(Graph *g, Node *n, Diag *d) {
  if (n->op == OP_POW)
    return pow_parse(g, n, d);
  if (n->op != OP_PRELU)
    return true;
  const Value *x = &g->values[n->in[0]], *sl = &g->values[n->in[1]];
  if (sl->rank == 1 && x->rank > 2 && sl->dims[0] == x->dims[1] &&
      sl->dims[0] != x->dims[x->rank - 1] && sl->data) {
    /* Opset < 7 PRelu: a 1-D slope is per channel (axis 1).  View the
     * constant as [C, 1, ..., 1] so numpy broadcasting applies. */
    int xr = x->rank;
    int s = graph_add_value(g, "");
    Value *sv = &g->values[s], *old = &g->values[n->in[1]];
    int64_t dims[CD_MAX_RANK];
    dims[0] = old->dims[0];
    for (int k = 1; k < xr - 1; k++)
      dims[k] = 1;
    value_set_shape(sv, old->dtype, xr - 1, dims);
    value_set_data(sv, old->data, old->nbytes);
    n->in[1] = s;
  }
  return true;
}

bool binary_infer(Graph *g, Node *n, Diag *d) {
  const Value *vs[64];
  if (n->nin > 64) {
    diag_error(d, "node '%s' (%s): more than 64 inputs", node_label(n),
               n->op_type);
    return false;
  }
  DType t = g->values[n->in[0]].dtype;
  for (int i = 0; i < n->nin; i++) {
    if (n->in[i] < 0) {
      diag_error(d, "node '%s' (%s): empty input", node_label(n), n->op_type);
      return false;
    }
    vs[i] = &g->values[n->in[i]];
    if (vs[i]->dtype != t || (t != DT_FLOAT && t != DT_INT64) ||
        (t == DT_INT64 && n->op != OP_ADD && n->op != OP_SUB && n->op != OP_MUL &&
         n->op != OP_DIV && n->op != OP_MIN && n->op != OP_MAX)) {
      diag_error(d, "node '%s' (%s): unsupported input types (%s)",
                 node_label(n), n->op_type, dtype_name(vs[i]->dtype));
      return false;
    }
  }
  int rank;
  int64_t dims[CD_MAX_RANK];
  if (!op_broadcast(d, n, n->nin, vs, &rank, dims))
    return false;
  if (n->op == OP_PRELU) {
    /* The slope broadcasts to X, never the other way. */
    if (rank != vs[0]->rank || memcmp(dims, vs[0]->dims, sizeof(int64_t) * (size_t)rank)) {
      diag_error(d, "node '%s' (PRelu): slope does not broadcast to X",
                 node_label(n));
      return false;
    }
  }
  value_set_shape(&g->values[n->out[0]], t, rank, dims);
  return true;
}

static double binary_apply(OpKind op, double a, double b) {
  switch (op) {
  case OP_ADD: case OP_SUM: return a + b;
  case OP_SUB: return a - b;
  case OP_MUL: return a * b;
  case OP_DIV: return a / b;
  case OP_PRELU: return a < 0 ? a * b : a;
  case OP_POW: return powf((float)a, (float)b);
  case OP_MIN: return b < a || b != b ? b : a;
  case OP_MAX: return b > a || b != b ? b : a;
  default: CD_ASSERT(!"not a binary op"); return 0;
  }
}

void binary_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  int r = y->rank;
  int64_t strides[64][CD_MAX_RANK];
  for (int i = 0; i < n->nin; i++)
    broadcast_strides(&g->values[n->in[i]], r, y->dims, strides[i]);
  int64_t m = value_numel(y);
  int64_t idx[CD_MAX_RANK] = {0};
  bool is_int = y->dtype == DT_INT64;
  for (int64_t e = 0; e < m; e++) {
    double acc = 0;
    int64_t iacc = 0;
    for (int i = 0; i < n->nin; i++) {
      int64_t off = 0;
      for (int k = 0; k < r; k++)
        off += idx[k] * strides[i][k];
      if (is_int) {
        /* Shape arithmetic in int64, saturating: hostile values must
         * neither trap nor wrap (a saturated dim fails the size limit). */
        int64_t v = ((int64_t *)data[n->in[i]])[off];
        if (i == 0)
          iacc = v;
        else if (n->op == OP_ADD)
          iacc = sat_add(iacc, v);
        else if (n->op == OP_SUB)
          iacc = sat_sub(iacc, v);
        else if (n->op == OP_MUL)
          iacc = sat_mul(iacc, v);
        else if (n->op == OP_MIN || n->op == OP_MAX)
          iacc = (n->op == OP_MIN) == (v < iacc) ? v : iacc;
        else
          iacc = v == 0 || (v == -1 && iacc == INT64_MIN) ? 0 : iacc / v;
        continue;
      }
      double v = (double)((float *)data[n->in[i]])[off];
      if (i == 0)
        acc = v;
      else if (n->op == OP_SUM || n->op == OP_MEAN)
        acc = binary_apply(OP_SUM, acc, v);
      else
        acc = (float)binary_apply(n->op, (float)acc, (float)v);
    }
    if (n->op == OP_MEAN)
      acc /= n->nin;
    if (is_int)
      ((int64_t *)data[n->out[0]])[e] = iacc;
    else
      ((float *)data[n->out[0]])[e] = (float)acc;
    for (int k = r - 1; k >= 0; k--) {
      if (++idx[k] < y->dims[k])
        break;
      idx[k] = 0;
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

const char *epilogue_stmt(CWriter *w, Node *n, const char *y, const char *idx,
                          const char *chan) {
  Arena *ar = w->arena;
  const Epilogue *ep = &n->ep;
  if (!node_has_epilogue(n))
    return "";
  const char *v = y;
  if (ep->residual >= 0) {
    if (ep->residual_scale >= 0)
      v = arena_printf(ar, "(%s + r[%s] * rs[%s])", y, idx, chan);
    else
      v = arena_printf(ar, "(%s + r[%s])", y, idx);
  }
  if (ep->act == OP_COUNT)
    return arena_printf(ar, "%s = %s;", y, v);
  return arena_printf(ar, "{ const float ev = %s; %s = %s; }", v, y,
                      act_scalar(w, ep->act, ep->act_alpha, ep->act_beta, "ev"));
}

static const char *binary_expr(CWriter *w, OpKind op, const char *a, const char *b);

/* The operands rd[] combined left to right (Mean: their sum, divided). */
static const char *fold_expr(CWriter *w, const Node *n, const char *const *rd) {
  const char *acc = rd[0];
  for (int i = 1; i < n->nin; i++)
    acc = cw_fmt(w, "(%s)", binary_expr(w, n->op, acc, rd[i]));
  if (n->op == OP_MEAN)
    acc = cw_fmt(w, "%s / %s", acc, cw_float(w, n->nin));
  return acc;
}

/* Min and Max: a running result m, which each operand replaces when it is
 * smaller (larger) or NaN, so a NaN anywhere stays; statements, not one
 * expression, which would repeat the result so far at every operand. */
static void minmax_body(CWriter *w, const Node *n, const char *const *rd) {
  cw(w, "float m = %s;\n", rd[0]);
  for (int i = 1; i < n->nin; i++)
    cw(w, "{\nconst float v = %s;\nm = v %s m || v != v ? v : m;\n}\n", rd[i],
       n->op == OP_MIN ? "<" : ">");
  cw(w, "y0[i] = m;\n");
}

/* Pow by the constant 2 (a variance: LayerNorm as opset-13 exporters write
 * it) as a * a, which is powf's correctly rounded result, without a call
 * per element; NULL for any other Pow.  The kernel then ignores x1. */
static const char *pow_square(CWriter *w, Graph *g, const Node *n, const char *a) {
  if (n->op != OP_POW || n->nin != 2)
    return NULL;
  const Value *c = &g->values[n->in[1]];
  if (!c->data || c->dtype != DT_FLOAT || value_numel(c) != 1 || ((const float *)c->data)[0] != 2.0f)
    return NULL;
  cw(w, "(void)x1;\n");
  return arena_printf(&g->arena, "%s * %s", a, a);
}

/* The kernel over stored elements [i0, i1) (C expressions) when every
 * operand has the output's shape and layout (so any layout) or is one
 * value: the flat case of the scalar kernels, and the elementwise family's
 * share of a thread. */
void elementwise_flat(CWriter *w, Graph *g, Node *n, const char *i0, const char *i1) {
  if (op_table[n->op].flags & OPF_ACTIVATION) {
    for (int i = 1; i < n->nin; i++) /* constant parameters (Clip's bounds) are in n->p */
      if (n->in[i] >= 0 && g->values[n->in[i]].dtype == DT_FLOAT)
        cw(w, "(void)x%d;\n", i);
    cw(w, "for (long i = %s; i < %s; i++) {\nconst float v = x0[i];\n"
          "y0[i] = %s;\n}\n",
         i0, i1, act_scalar(w, n->op, n->p.alpha, n->p.beta, "v"));
    return;
  }
  const char **rd = arena_alloc(&g->arena, sizeof(char *) * (size_t)n->nin);
  for (int i = 0; i < n->nin; i++) /* an operand of one value: that value */
    rd[i] = arena_printf(&g->arena, value_numel(&g->values[n->in[i]]) == 1 &&
                                        value_numel(&g->values[n->out[0]]) > 1 ? "x%d[0]" : "x%d[i]", i);
  if (n->op == OP_MIN || n->op == OP_MAX) {
    cw(w, "for (long i = %s; i < %s; i++) {\n", i0, i1);
    minmax_body(w, n, rd);
    cw(w, "}\n");
    return;
  }
  const char *acc = pow_square(w, g, n, "x0[i]");
  if (!acc)
    acc = fold_expr(w, n, rd);
  cw(w, "for (long i = %s; i < %s; i++)\ny0[i] = %s;\n", i0, i1, acc);
}

/* The kernel of a binary op whose operands have the output's shape (read
 * at i) or are a run of C values repeated over the rows before it and each
 * value over the `inner` elements after it (read at its index in the run):
 * inner = 1, rows [r0, r1) of C elements (a channels-last bias or scale);
 * else runs [r0, r1) of inner elements, run u of the value u % C (a
 * per-channel scale of NCHW).  Plain layout. */
void elementwise_rows(CWriter *w, Graph *g, Node *n, int64_t C, int64_t inner, const char *r0,
                      const char *r1) {
  int64_t m = value_numel(&g->values[n->out[0]]);
  const char *acc = NULL;
  for (int i = 0; i < n->nin; i++) {
    const char *x = arena_printf(&g->arena, "x%d[%s]", i,
                                 value_numel(&g->values[n->in[i]]) == m ? "i" : "j");
    acc = acc ? arena_printf(&g->arena, "(%s)", binary_expr(w, n->op, acc, x)) : x;
  }
  if (inner == 1)
    cw(w, "for (long r = %s; r < %s; r++)\n"
          "for (long j = 0; j < %lld; j++) {\n"
          "const long i = r * %lld + j;\n"
          "y0[i] = %s;\n"
          "}\n",
       r0, r1, (long long)C, (long long)C, acc);
  else
    cw(w, "for (long u = %s; u < %s; u++) {\n"
          "const long j = u %% %lld;\n"
          "for (long b = 0; b < %lld; b++) {\n"
          "const long i = u * %lld + b;\n"
          "y0[i] = %s;\n"
          "}\n"
          "}\n",
       r0, r1, (long long)C, (long long)inner, (long long)inner, acc);
}

bool unary_emit(CWriter *w, Graph *g, Node *n) {
  int64_t m = value_storage_numel(&g->values[n->out[0]]) /* every stored lane, in any layout */;
  bool runtime_bounds = false;
  for (int i = 1; i < n->nin; i++)
    runtime_bounds |= n->in[i] >= 0 && !g->values[n->in[i]].data;
  if (n->op == OP_CLIP && runtime_bounds) {
    bool rlo = node_has_input(n, 1) && !g->values[n->in[1]].data;
    bool rhi = node_has_input(n, 2) && !g->values[n->in[2]].data;
    cw(w, "const float lo = %s, hi = %s;\n", rlo ? "x1[0]" : cw_float(w, n->p.alpha),
         rhi ? "x2[0]" : cw_float(w, n->p.beta));
    cw(w, "for (long i = 0; i < %lld; i++) {\nconst float v = x0[i];\n"
          "y0[i] = v < lo ? lo : (v > hi ? hi : v);\n}\n", (long long)m);
    for (int i = 1; i < n->nin; i++)
      if (n->in[i] >= 0 && !(i == 1 ? rlo : rhi))
        cw(w, "(void)x%d;\n", i);
    return true;
  }
  elementwise_flat(w, g, n, "0", arena_printf(&g->arena, "%lld", (long long)m));
  return true;
}

static const char *binary_expr(CWriter *w, OpKind op, const char *a,
                               const char *b) {
  Arena *ar = w->arena;
  switch (op) {
  case OP_ADD: case OP_SUM: return arena_printf(ar, "%s + %s", a, b);
  case OP_SUB: return arena_printf(ar, "%s - %s", a, b);
  case OP_MUL: return arena_printf(ar, "%s * %s", a, b);
  case OP_DIV: return arena_printf(ar, "%s / %s", a, b);
  case OP_PRELU: return arena_printf(ar, "%s < 0.0f ? %s * %s : %s", a, a, b, a);
  case OP_POW: return arena_printf(ar, "powf(%s, %s)", a, b);
  case OP_MEAN: return arena_printf(ar, "%s + %s", a, b);
  default: return NULL;
  }
}

bool binary_emit(CWriter *w, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int r = y->rank;
  bool flat = true;
  for (int i = 0; i < n->nin; i++) {
    const Value *x = &g->values[n->in[i]];
    if (x->rank != r || memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)r))
      flat = false;
  }
  if (flat) {
    elementwise_flat(w, g, n, "0", arena_printf(&g->arena, "%lld",
                                                 (long long)value_storage_numel(y)));
    return true;
  }
  /* Operand reads: x<i>[index]. */
  const char **rd = arena_alloc(&g->arena, sizeof(char *) * (size_t)n->nin);
  {
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
  }
  const char *acc = pow_square(w, g, n, rd[0]); /* before the loops: it may emit (void)x1 */
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, r);
  if (n->op == OP_MIN || n->op == OP_MAX) {
    cw(w, "{\n");
    minmax_body(w, n, rd);
    cw(w, "i++;\n}\n");
    return true;
  }
  if (!acc)
    acc = fold_expr(w, n, rd);
  cw(w, "y0[i++] = %s;\n", acc);
  return true;
}
