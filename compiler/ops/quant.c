/*
 * quant.c — the quantized ops of ONNX: QuantizeLinear and DequantizeLinear
 * (per tensor and per axis; uint8 and int8, and int32 into
 * DequantizeLinear; opsets 10, 13 and later), and the integer convs and
 * matmuls: QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger.
 *
 * What the arithmetic is, is quant.h's, written down once: quantize =
 * saturate(round_half_even(x / scale) + zero point), dequantize = (q -
 * zero point) * scale, both in float32.  The interpreter calls those
 * functions, and the scalar kernels call the same ones (the emitter writes
 * quant.h into every source that has such a kernel), so the integers an
 * interpreter and generated code give are the same bits on every target.
 *
 * Scales and zero points are parameter inputs (ops.def): parse reads them
 * once, checked, into OpParams.q -- one QuantParams per quantized operand
 * -- and the kernels have them as constants; none reads them at run time.
 * So they must be constants: a model that computes them, or takes them as
 * graph inputs, is refused with the --freeze that fixes it (the ONNX test
 * data gives them as inputs; the conformance runner freezes them).
 *
 * A scale is a float32 scalar or 1-element tensor (per tensor), or a 1-D
 * tensor of one scale per index along the axis (per axis: opset 13 on, the
 * `axis` attribute, default 1); its zero point, when given, has its shape
 * and the quantized operand's type, and is 0 when not given (the type is
 * then uint8, or QuantizeLinear's output_dtype from opset 21 on).  Opset
 * 19's `saturate` concerns float8 only: integer results always saturate.
 * Each of these is checked, an error naming the node and the tensor: a
 * scale that is not float32, not finite or not positive; a zero point of
 * another type or shape than its operand and scale; a type Cardinal does
 * not hold (int4, int16, float8 ...); blocked quantization (opset 21's
 * block_size).  Zero points outside their type cannot reach here: the
 * loader refuses them (an int32 field holding 300 for a uint8), and an
 * int32 operand, which has no zero point, must have 0.  The per-axis
 * length against the axis depends on shapes, so inference checks it (and
 * the verifier re-runs it).
 */
#include "../cardinal.h"
#include "../quant.h"

#include <math.h>
#include <string.h>

extern const char cd_quant_source[]; /* quant.h, embedded by cmake/embed.cmake */

const char *quant_scalar_source(void) { return cd_quant_source; }

/* ------------------------------------------------------------ parameters */

/* "[1,3,3,2]", for messages, in the arena. */
static const char *dims_str(Graph *g, const Value *v) {
  StrBuf sb = {0};
  sb_printf(&sb, "[");
  for (int i = 0; i < v->rank; i++)
    sb_printf(&sb, "%s%lld", i ? "," : "", (long long)v->dims[i]);
  sb_printf(&sb, "]");
  const char *s = arena_strdup(&g->arena, sb.buf);
  sb_free(&sb);
  return s;
}

/* Whether input k of n (role: its ONNX name) is a constant; if not, the
 * error saying how to make it one. */
static bool param_const(Graph *g, Node *n, Diag *d, int k, const char *role) {
  const Value *v = &g->values[n->in[k]];
  if (v->data)
    return true;
  diag_error(d, "node '%s' (%s): %s '%s' must be a constant (Cardinal's kernels have "
             "their scales and zero points as constants); freeze it with --freeze %s=FILE",
             node_label(n), n->op_type, role, v->name, v->name);
  return false;
}

/* Whether v (input `role` of n) has a quantized type Cardinal holds:
 * uint8 or int8, and int32 where int32_ok; if not, the error. */
static bool quant_type_ok(Node *n, Diag *d, const char *role, const Value *v, bool int32_ok) {
  if (v->dtype == DT_UINT8 || v->dtype == DT_INT8 || (int32_ok && v->dtype == DT_INT32))
    return true;
  diag_error(d, "node '%s' (%s): %s '%s' is %s; Cardinal's quantized types are uint8 and "
             "int8%s", node_label(n), n->op_type, role, v->name, dtype_name(v->dtype),
             int32_ok ? " (and int32, dequantized)" : "");
  return false;
}

/* The scale input k of n into q (n, scale). */
static bool read_scale(Graph *g, Node *n, Diag *d, int k, const char *role, QuantParams *q) {
  if (!param_const(g, n, d, k, role))
    return false;
  const Value *s = &g->values[n->in[k]];
  if (s->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (%s): %s '%s' is %s; scales must be float32", node_label(n),
               n->op_type, role, s->name, dtype_name(s->dtype));
    return false;
  }
  int64_t m = value_numel(s);
  if (s->rank > 1 || m < 1) {
    diag_error(d, "node '%s' (%s): %s '%s' is %s; a scale is a scalar or a 1-D tensor "
               "(blocked quantization is not supported)", node_label(n), n->op_type, role,
               s->name, dims_str(g, s));
    return false;
  }
  const float *v = s->data;
  CD_STEPS(m);
  for (int64_t i = 0; i < m; i++)
    if (!(isfinite(v[i]) && v[i] > 0.0f)) {
      diag_error(d, "node '%s' (%s): %s '%s' holds %g%s; scales must be finite and positive",
                 node_label(n), n->op_type, role, s->name, (double)v[i],
                 m > 1 ? arena_printf(&g->arena, " (element %lld)", (long long)i) : "");
      return false;
    }
  float *copy = arena_alloc(&g->arena, sizeof(float) * (size_t)m);
  memcpy(copy, v, sizeof(float) * (size_t)m);
  q->scale = copy;
  q->n = m;
  return true;
}

/* The zero point input k of n (absent: -1 or past the inputs) into
 * q->zero, one per scale of input sk (read first into q->n), or, for an op
 * without scales (sk < 0), q->n = its count.  want: the operand's type
 * (the zero point must have it), or DT_UNDEFINED to take the zero point's
 * own (when it decides the type); q->dtype is set either way.  An absent
 * one is 0. */
static bool read_zero(Graph *g, Node *n, Diag *d, int k, const char *role, int sk,
                      const char *scale_role, DType want, QuantParams *q) {
  bool given = k < n->nin && n->in[k] >= 0;
  const Value *zv = given ? &g->values[n->in[k]] : NULL;
  if (given && !param_const(g, n, d, k, role))
    return false;
  if (sk < 0) {
    q->n = given ? value_numel(zv) : 1;
    if (given && (zv->rank > 1 || q->n < 1)) {
      diag_error(d, "node '%s' (%s): %s '%s' is %s; a zero point is a scalar or a 1-D tensor",
                 node_label(n), n->op_type, role, zv->name, dims_str(g, zv));
      return false;
    }
  }
  int32_t *z = arena_alloc(&g->arena, sizeof(int32_t) * (size_t)q->n);
  q->zero = z;
  q->dtype = want;
  if (!given)
    return true; /* zeros */
  if (!quant_type_ok(n, d, role, zv, want == DT_INT32))
    return false;
  if (want != DT_UNDEFINED && zv->dtype != want) {
    diag_error(d, "node '%s' (%s): %s '%s' is %s, what it quantizes %s: a zero point has its "
               "operand's type", node_label(n), n->op_type, role, zv->name,
               dtype_name(zv->dtype), dtype_name(want));
    return false;
  }
  if (sk >= 0 && (value_numel(zv) != q->n || zv->rank > 1)) {
    const Value *sv = &g->values[n->in[sk]];
    diag_error(d, "node '%s' (%s): %s '%s' is %s and %s '%s' is %s: a zero point has its "
               "scale's shape", node_label(n), n->op_type, role, zv->name, dims_str(g, zv),
               scale_role, sv->name, dims_str(g, sv));
    return false;
  }
  q->dtype = zv->dtype;
  CD_STEPS(q->n);
  for (int64_t i = 0; i < q->n; i++) {
    switch (zv->dtype) {
    case DT_UINT8: z[i] = ((const uint8_t *)zv->data)[i]; break;
    case DT_INT8: z[i] = ((const int8_t *)zv->data)[i]; break;
    default:
      z[i] = ((const int32_t *)zv->data)[i];
      if (z[i] != 0) { /* ONNX: int32 has no zero point ("supposed to be 0") */
        diag_error(d, "node '%s' (%s): %s '%s' holds %d%s; an int32 operand's zero point "
                   "must be 0", node_label(n), n->op_type, role, zv->name, (int)z[i],
                   q->n > 1 ? arena_printf(&g->arena, " (element %lld)", (long long)i) : "");
        return false;
      }
    }
  }
  return true;
}

/* A type number from an attribute (output_dtype), named. */
static const char *type_named(int64_t t) {
  return t >= 0 && t < 256 ? dtype_name((DType)t) : "unsupported";
}

/* The axis attribute (opset 13 on) into p->axis, as given; refuses
 * blocked quantization (opset 21's block_size). */
static bool read_axis(Node *n, Diag *d) {
  n->p.axis = n->opset >= 13 ? attr_int(n, "axis", 1, d) : 1;
  int64_t block = n->opset >= 21 ? attr_int(n, "block_size", 0, d) : 0;
  if (block != 0) {
    diag_error(d, "node '%s' (%s): blocked quantization (block_size %lld) is not supported",
               node_label(n), n->op_type, (long long)block);
    return false;
  }
  return true;
}

/* A per-axis q (n > 1) of QuantizeLinear or DequantizeLinear only from
 * opset 13, whose axis attribute says which axis. */
static bool per_axis_opset(Graph *g, Node *n, Diag *d, const QuantParams *q, const char *role) {
  if (q->n == 1 || n->opset >= 13)
    return true;
  const Value *s = &g->values[n->in[1]];
  diag_error(d, "node '%s' (%s): %s '%s' has %lld elements; opset %d takes one scale per "
             "tensor (per-axis scales came with opset 13)", node_label(n), n->op_type, role,
             s->name, (long long)q->n, n->opset);
  return false;
}

/* q against the input x it quantizes along p->axis: a per-tensor q fits
 * any x; a per-axis one has an element per index along the axis.  The
 * extents: x is outer x C x inner with C the axis (C = 1 per tensor). */
static bool axis_fits(Graph *g, Node *n, Diag *d, const Value *x, const QuantParams *q,
                      const char *role, int64_t *outer, int64_t *C, int64_t *inner) {
  *outer = 1, *C = 1, *inner = value_numel(x);
  if (q->n == 1)
    return true;
  int64_t axis = normalize_axis(n->p.axis, x->rank);
  const Value *s = &g->values[n->in[1]];
  if (axis < 0 || axis >= x->rank) {
    diag_error(d, "node '%s' (%s): axis %lld is out of range for x '%s' %s", node_label(n),
               n->op_type, (long long)n->p.axis, x->name, dims_str(g, x));
    return false;
  }
  if (x->dims[axis] != q->n) {
    diag_error(d, "node '%s' (%s): %s '%s' has %lld elements, but axis %lld of x '%s' %s has "
               "%lld", node_label(n), n->op_type, role, s->name, (long long)q->n,
               (long long)axis, x->name, dims_str(g, x), (long long)x->dims[axis]);
    return false;
  }
  *C = q->n;
  *outer = 1;
  for (int64_t k = 0; k < axis; k++)
    *outer *= x->dims[k];
  *inner = *C && *outer ? value_numel(x) / (*outer * *C) : 0;
  return true;
}

/* The range of quantized type t. */
static void qrange(DType t, int32_t *lo, int32_t *hi) {
  int64_t l, h;
  CD_ASSERT(dtype_io_as_float(t, &l, &h));
  *lo = (int32_t)l, *hi = (int32_t)h;
}

static int32_t qload(const void *p, DType t, int64_t i) {
  switch (t) {
  case DT_UINT8: return ((const uint8_t *)p)[i];
  case DT_INT8: return ((const int8_t *)p)[i];
  case DT_INT32: return ((const int32_t *)p)[i];
  default: CD_ASSERT(!"not a quantized type"); return 0;
  }
}

static void qstore(void *p, DType t, int64_t i, int32_t v) {
  switch (t) {
  case DT_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
  case DT_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
  case DT_INT32: ((int32_t *)p)[i] = v; break;
  default: CD_ASSERT(!"not a quantized type");
  }
}

/* ------------------------------------------------------------ scalar C helpers */

/* static const float NAME[n] = {...}; (false once over the code budget). */
static bool emit_floats(CWriter *w, const char *name, const float *v, int64_t n) {
  if (!cw_room(w, sat_mul(n, 20)))
    return false;
  cw(w, "static const float %s[%lld] = {", name, (long long)n);
  for (int64_t i = 0; i < n; i++)
    cw(w, "%s%s%s", i ? "," : "", i % 8 ? " " : "\n", cw_float(w, v[i]));
  cw(w, "};\n");
  return true;
}

static bool emit_ints(CWriter *w, const char *name, const int32_t *v, int64_t n) {
  if (!cw_room(w, sat_mul(n, 14)))
    return false;
  cw(w, "static const int32_t %s[%lld] = {", name, (long long)n);
  for (int64_t i = 0; i < n; i++)
    cw(w, "%s%s%d", i ? "," : "", i % 16 ? " " : "\n", (int)v[i]);
  cw(w, "};\n");
  return true;
}

/* The loops over x's outer x C x inner elements (C > 1: per axis, its
 * scale and zero point s[c], z[c]), the statement `body` on element e. */
static void emit_axis_loops(CWriter *w, int64_t outer, int64_t C, int64_t inner,
                            const char *body) {
  if (C == 1) {
    cw(w, "for (long e = 0; e < %lld; e++)\n%s\n", (long long)inner, body);
    return;
  }
  cw(w, "for (long o = 0; o < %lld; o++)\n"
        "for (long c = 0; c < %lld; c++)\n"
        "for (long i = 0; i < %lld; i++) {\n"
        "const long e = (o * %lld + c) * %lld + i;\n"
        "%s\n"
        "}\n",
     (long long)outer, (long long)C, (long long)inner, (long long)C, (long long)inner, body);
}

/* The scale and zero point expressions of a per-tensor (constants) or a
 * per-axis q (the arrays s[c] and z[c], written here). */
static bool emit_qparams(CWriter *w, const QuantParams *q, const char **s, const char **z) {
  if (q->n == 1) {
    *s = cw_float(w, q->scale[0]);
    *z = cw_int(w, q->zero[0]);
    return true;
  }
  *s = "s[c]";
  *z = "z[c]";
  return emit_floats(w, "s", q->scale, q->n) && emit_ints(w, "z", q->zero, q->n);
}

/* ------------------------------------------------------------ QuantizeLinear */

/*
 * y = saturate(round(x / y_scale) + y_zero_point): q[0] is y's, along
 * axis.  The output type is the zero point's; without one, output_dtype
 * (opset 21) or uint8.
 */
bool quantize_parse(Graph *g, Node *n, Diag *d) {
  QuantParams *q = &n->p.q[0];
  if (!read_axis(n, d) || !read_scale(g, n, d, 1, "y_scale", q) ||
      !per_axis_opset(g, n, d, q, "y_scale"))
    return false;
  int64_t out = 0; /* output_dtype: 0 = not given */
  if (n->opset >= 21)
    out = attr_int(n, "output_dtype", 0, d);
  if (n->opset >= 19)
    (void)attr_int(n, "saturate", 1, d); /* float8 only: integers always saturate */
  bool has_zero = node_has_input(n, 2);
  if (!has_zero && out != 0 && out != DT_UINT8 && out != DT_INT8) {
    diag_error(d, "node '%s' (QuantizeLinear): output_dtype is %s; Cardinal's quantized types "
               "are uint8 and int8", node_label(n), type_named(out));
    return false;
  }
  if (!read_zero(g, n, d, 2, "y_zero_point", 1, "y_scale", DT_UNDEFINED, q))
    return false;
  if (!has_zero)
    q->dtype = out ? (DType)out : DT_UINT8;
  if (has_zero && out != 0 && out != q->dtype) {
    diag_error(d, "node '%s' (QuantizeLinear): output_dtype %s disagrees with y_zero_point "
               "'%s' (%s)", node_label(n), type_named(out),
               g->values[n->in[2]].name, dtype_name(q->dtype));
    return false;
  }
  return true;
}

bool quantize_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  if (x->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (QuantizeLinear): x '%s' is %s; Cardinal quantizes float32",
               node_label(n), x->name, dtype_name(x->dtype));
    return false;
  }
  int64_t outer, C, inner;
  if (!axis_fits(g, n, d, x, &n->p.q[0], "y_scale", &outer, &C, &inner))
    return false;
  value_set_shape(&g->values[n->out[0]], n->p.q[0].dtype, x->rank, x->dims);
  return true;
}

void quantize_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  const QuantParams *q = &n->p.q[0];
  int64_t outer, C, inner;
  Diag quiet = {.quiet = true};
  CD_ASSERT(axis_fits(g, n, &quiet, x, q, "", &outer, &C, &inner)); /* inferred */
  int32_t lo, hi;
  qrange(q->dtype, &lo, &hi);
  const float *X = data[n->in[0]];
  void *Y = data[n->out[0]];
  for (int64_t e = 0, m = value_numel(x); e < m; e++) {
    int64_t c = C > 1 ? e / inner % C : 0;
    qstore(Y, q->dtype, e, cd_quantize(X[e], q->scale[c], q->zero[c], lo, hi));
  }
}

bool quantize_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  const QuantParams *q = &n->p.q[0];
  int64_t outer, C, inner;
  Diag quiet = {.quiet = true};
  CD_ASSERT(axis_fits(g, n, &quiet, x, q, "", &outer, &C, &inner));
  int32_t lo, hi;
  qrange(q->dtype, &lo, &hi);
  const char *s, *z;
  if (!emit_qparams(w, q, &s, &z))
    return true; /* over the code budget: the emitter says so */
  emit_axis_loops(w, outer, C, inner,
                  cw_fmt(w, "y0[e] = (%s)cd_quantize(x0[e], %s, %s, %d, %d);",
                         dtype_ctype(q->dtype), s, z, (int)lo, (int)hi));
  return true;
}

/* ------------------------------------------------------------ DequantizeLinear */

/* y = (x - x_zero_point) * x_scale in float32: q[0] is x's, along axis. */
bool dequantize_parse(Graph *g, Node *n, Diag *d) {
  QuantParams *q = &n->p.q[0];
  const Value *x = &g->values[n->in[0]];
  if (!read_axis(n, d) || !quant_type_ok(n, d, "x", x, true) ||
      !read_scale(g, n, d, 1, "x_scale", q) || !per_axis_opset(g, n, d, q, "x_scale"))
    return false;
  return read_zero(g, n, d, 2, "x_zero_point", 1, "x_scale", x->dtype, q);
}

bool dequantize_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  if (x->dtype != n->p.q[0].dtype) { /* parse saw another x */
    diag_error(d, "node '%s' (DequantizeLinear): x '%s' is %s, its zero point %s",
               node_label(n), x->name, dtype_name(x->dtype), dtype_name(n->p.q[0].dtype));
    return false;
  }
  int64_t outer, C, inner;
  if (!axis_fits(g, n, d, x, &n->p.q[0], "x_scale", &outer, &C, &inner))
    return false;
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, x->dims);
  return true;
}

void dequantize_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  const QuantParams *q = &n->p.q[0];
  int64_t outer, C, inner;
  Diag quiet = {.quiet = true};
  CD_ASSERT(axis_fits(g, n, &quiet, x, q, "", &outer, &C, &inner));
  const void *X = data[n->in[0]];
  float *Y = data[n->out[0]];
  for (int64_t e = 0, m = value_numel(x); e < m; e++) {
    int64_t c = C > 1 ? e / inner % C : 0;
    Y[e] = cd_dequantize(qload(X, q->dtype, e), q->scale[c], q->zero[c]);
  }
}

bool dequantize_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  const QuantParams *q = &n->p.q[0];
  int64_t outer, C, inner;
  Diag quiet = {.quiet = true};
  CD_ASSERT(axis_fits(g, n, &quiet, x, q, "", &outer, &C, &inner));
  const char *s, *z;
  if (!emit_qparams(w, q, &s, &z))
    return true;
  emit_axis_loops(w, outer, C, inner, cw_fmt(w, "y0[e] = cd_dequantize(x0[e], %s, %s);", s, z));
  return true;
}

/* ------------------------------------------------------------ integer conv and matmul */

/*
 * ConvInteger, MatMulInteger, QLinearConv and QLinearMatMul share one
 * arithmetic: an int32 accumulator of (x - x_zero_point) * (w -
 * w_zero_point) products (plus QLinearConv's int32 bias), which the
 * *Integer ops return as it is and the QLinear ops requantize with quant.h's
 * cd_requantize, by the multiplier cd_multiplier(x_scale, w_scale,
 * y_scale) computed here once per output channel (per column of a
 * matmul).  Padding contributes nothing: ONNX pads x - x_zero_point with
 * zeros.  The operands' roles in OpParams.q: q[0] the input (x, a), per
 * tensor (a matmul's a may be per row), q[1] the weight (w per output
 * channel, b per column), q[2] the output (per tensor; QLinear only).
 */

/* The role names of the three operands, per op. */
typedef struct {
  int x, xs, xz, w, ws, wz, ys, yz, b; /* input positions (-1: none) */
} QRoles;

static QRoles qroles(const Node *n) {
  switch (n->op) {
  case OP_QLINEARCONV: return (QRoles){0, 1, 2, 3, 4, 5, 6, 7, 8};
  case OP_QLINEARMATMUL: return (QRoles){0, 1, 2, 3, 4, 5, 6, 7, -1};
  default: return (QRoles){0, -1, 2, 1, -1, 3, -1, -1, -1}; /* ConvInteger, MatMulInteger */
  }
}

static bool is_conv(const Node *n) { return n->op == OP_QLINEARCONV || n->op == OP_CONVINTEGER; }
static bool requantizes(const Node *n) {
  return n->op == OP_QLINEARCONV || n->op == OP_QLINEARMATMUL;
}

/* The names ONNX gives each op's operands, for messages. */
static const char *qname(const Node *n, int role) {
  static const char *const conv[] = {"x_scale", "x_zero_point", "w_scale", "w_zero_point",
                                     "y_scale", "y_zero_point"};
  static const char *const mm[] = {"a_scale", "a_zero_point", "b_scale", "b_zero_point",
                                   "y_scale", "y_zero_point"};
  return (is_conv(n) ? conv : mm)[role];
}

/* Zero points and scales of all three operands (parse). */
static bool qlinear_params(Graph *g, Node *n, Diag *d) {
  QRoles r = qroles(n);
  QuantParams *q = n->p.q;
  const Value *x = &g->values[n->in[r.x]], *w = &g->values[n->in[r.w]];
  if (!quant_type_ok(n, d, is_conv(n) ? "x" : "a", x, false) ||
      !quant_type_ok(n, d, is_conv(n) ? "w" : "b", w, false))
    return false;
  if (requantizes(n)) {
    if (!read_scale(g, n, d, r.xs, qname(n, 0), &q[0]) ||
        !read_zero(g, n, d, r.xz, qname(n, 1), r.xs, qname(n, 0), x->dtype, &q[0]) ||
        !read_scale(g, n, d, r.ws, qname(n, 2), &q[1]) ||
        !read_zero(g, n, d, r.wz, qname(n, 3), r.ws, qname(n, 2), w->dtype, &q[1]) ||
        !read_scale(g, n, d, r.ys, qname(n, 4), &q[2]) ||
        !read_zero(g, n, d, r.yz, qname(n, 5), r.ys, qname(n, 4), DT_UNDEFINED, &q[2]))
      return false;
    if (q[2].dtype == DT_UNDEFINED)
      q[2].dtype = DT_UINT8;
    if (q[2].n != 1) {
      diag_error(d, "node '%s' (%s): y_scale '%s' has %lld elements; the output is quantized "
                 "per tensor", node_label(n), n->op_type, g->values[n->in[r.ys]].name,
                 (long long)q[2].n);
      return false;
    }
  } else {
    if (!read_zero(g, n, d, r.xz, qname(n, 1), -1, NULL, x->dtype, &q[0]) ||
        !read_zero(g, n, d, r.wz, qname(n, 3), -1, NULL, w->dtype, &q[1]))
      return false;
    q[2] = (QuantParams){.dtype = DT_INT32, .n = 1};
  }
  if (is_conv(n) && q[0].n != 1) {
    diag_error(d, "node '%s' (%s): x_zero_point '%s' has %lld elements; x is quantized per "
               "tensor", node_label(n), n->op_type, g->values[n->in[r.xz]].name,
               (long long)q[0].n);
    return false;
  }
  return true;
}

bool qlinear_parse(Graph *g, Node *n, Diag *d) {
  QRoles r = qroles(n);
  if (is_conv(n) && !conv_attrs_parse(g, n, d, r.x, r.w))
    return false;
  return qlinear_params(g, n, d);
}

/* The per-axis lengths of q[0] (1, or rows) and q[1] (1, or channels /
 * columns) against the shapes: rows and cols as the op has them. */
static bool per_axis_fits(Graph *g, Node *n, Diag *d, int64_t rows, int64_t cols) {
  QRoles r = qroles(n);
  const QuantParams *q = n->p.q;
  const int k[2] = {requantizes(n) ? r.xs : r.xz, requantizes(n) ? r.ws : r.wz};
  const int64_t want[2] = {rows, cols};
  for (int i = 0; i < 2; i++)
    if (q[i].n != 1 && q[i].n != want[i]) {
      diag_error(d, "node '%s' (%s): %s '%s' has %lld elements; it needs 1 (per tensor) or "
                 "%lld (per %s)", node_label(n), n->op_type, qname(n, 2 * i + !requantizes(n)),
                 g->values[n->in[k[i]]].name, (long long)q[i].n, (long long)want[i],
                 i == 0 ? "row" : is_conv(n) ? "output channel" : "column");
      return false;
    }
  return true;
}

bool qlinear_infer(Graph *g, Node *n, Diag *d) {
  QRoles r = qroles(n);
  const QuantParams *q = n->p.q;
  const Value *x = &g->values[n->in[r.x]], *w = &g->values[n->in[r.w]];
  if (x->dtype != q[0].dtype || w->dtype != q[1].dtype) { /* parse saw other inputs */
    diag_error(d, "node '%s' (%s): inputs %s and %s, their zero points %s and %s",
               node_label(n), n->op_type, dtype_name(x->dtype), dtype_name(w->dtype),
               dtype_name(q[0].dtype), dtype_name(q[1].dtype));
    return false;
  }
  int rank = 0;
  int64_t dims[CD_MAX_RANK];
  if (is_conv(n)) {
    if (!conv_shape_infer(g, n, d, r.x, r.w, &rank, dims) || !per_axis_fits(g, n, d, 1, dims[1]))
      return false;
    if (r.b >= 0 && r.b < n->nin && n->in[r.b] >= 0) {
      const Value *b = &g->values[n->in[r.b]];
      if (b->rank != 1 || b->dims[0] != dims[1] || b->dtype != DT_INT32) {
        diag_error(d, "node '%s' (%s): bias '%s' must be int32 [%lld]", node_label(n),
                   n->op_type, b->name, (long long)dims[1]);
        return false;
      }
    }
  } else {
    MatMulShape s;
    if (!matmul_shape(x, w, &s)) {
      diag_error(d, "node '%s' (%s): operands of incompatible shapes", node_label(n),
                 n->op_type);
      return false;
    }
    if (!per_axis_fits(g, n, d, s.M, s.N))
      return false;
    for (int k = 0; k < s.brank; k++)
      dims[rank++] = s.bdims[k];
    if (x->rank > 1)
      dims[rank++] = s.M;
    if (w->rank > 1)
      dims[rank++] = s.N;
  }
  value_set_shape(&g->values[n->out[0]], q[2].dtype, rank, dims);
  return true;
}

/* The multipliers of a QLinear op: cd_multiplier per (row, column) index
 * pair of q[0] x q[1] (q[0].n x q[1].n of them), malloc'd. */
static float *qlinear_multipliers(const Node *n) {
  const QuantParams *q = n->p.q;
  float *m = malloc(sizeof(float) * (size_t)(q[0].n * q[1].n) + 1);
  CD_ASSERT(m);
  for (int64_t i = 0; i < q[0].n; i++)
    for (int64_t j = 0; j < q[1].n; j++)
      m[i * q[1].n + j] = cd_multiplier(q[0].scale[i], q[1].scale[j], q[2].scale[0]);
  return m;
}

/* Output element e from its accumulator: requantized (multiplier index
 * mi), or the accumulator. */
static void qlinear_store(const Node *n, void *Y, int64_t e, int32_t acc, const float *mul,
                          int64_t mi) {
  const QuantParams *q = n->p.q;
  if (!requantizes(n)) {
    ((int32_t *)Y)[e] = acc;
    return;
  }
  int32_t lo, hi;
  qrange(q[2].dtype, &lo, &hi);
  qstore(Y, q[2].dtype, e, cd_requantize(acc, mul[mi], q[2].zero[0], lo, hi));
}

/* Tap by tap over a plane of int32 accumulators (conv_eval's order; an
 * integer sum is the same in any). */
static void qconv_eval(Graph *g, Node *n, void **data) {
  QRoles r = qroles(n);
  const OpParams *p = &n->p;
  const QuantParams *q = p->q;
  const Value *x = &g->values[n->in[r.x]], *w = &g->values[n->in[r.w]];
  const Value *y = &g->values[n->out[0]];
  const void *X = data[n->in[r.x]], *W = data[n->in[r.w]];
  const int32_t *B = r.b >= 0 && r.b < n->nin && n->in[r.b] >= 0 ? data[n->in[r.b]] : NULL;
  void *Y = data[n->out[0]];
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = p->group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  const int64_t *K = p->kernel, *S = p->stride, *Dl = p->dilation, *P = p->pad0;
  int64_t plane = O[0] * O[1] * O[2], iplane = I[0] * I[1] * I[2], taps = K[0] * K[1] * K[2];
  float *mul = requantizes(n) ? qlinear_multipliers(n) : NULL;
  int32_t *acc = malloc(sizeof(int32_t) * (size_t)plane + 1);
  CD_ASSERT(acc);
  int32_t xz = q[0].zero[0];
  for (int64_t b = 0; b < N; b++)
    for (int64_t m = 0; m < M; m++) {
      int64_t grp = m / Mg, mw = q[1].n > 1 ? m : 0;
      int32_t wz = q[1].zero[mw];
      for (int64_t o = 0; o < plane; o++)
        acc[o] = B ? B[m] : 0;
      for (int64_t c = 0; c < Cg; c++) {
        int64_t xc = (b * C + grp * Cg + c) * iplane, wc = (m * Cg + c) * taps;
        for (int64_t kd = 0; kd < K[0]; kd++)
          for (int64_t kh = 0; kh < K[1]; kh++)
            for (int64_t kw = 0; kw < K[2]; kw++) {
              int32_t wv = qload(W, w->dtype, wc + (kd * K[1] + kh) * K[2] + kw) - wz;
              int64_t d0, d1, h0, h1, w0, w1;
              conv_tap_range(I[0], O[0], S[0], P[0], kd, Dl[0], &d0, &d1);
              conv_tap_range(I[1], O[1], S[1], P[1], kh, Dl[1], &h0, &h1);
              conv_tap_range(I[2], O[2], S[2], P[2], kw, Dl[2], &w0, &w1);
              for (int64_t od = d0; od < d1; od++)
                for (int64_t oh = h0; oh < h1; oh++) {
                  int64_t id = od * S[0] - P[0] + kd * Dl[0], ih = oh * S[1] - P[1] + kh * Dl[1];
                  int64_t xr = xc + (id * I[1] + ih) * I[2] + kw * Dl[2] - P[2];
                  int32_t *ar = acc + (od * O[1] + oh) * O[2];
                  for (int64_t ow = w0; ow < w1; ow++)
                    ar[ow] += (qload(X, x->dtype, xr + ow * S[2]) - xz) * wv;
                }
            }
      }
      for (int64_t o = 0; o < plane; o++)
        qlinear_store(n, Y, (b * M + m) * plane + o, acc[o], mul, mw);
    }
  free(acc);
  free(mul);
}

static void qmatmul_eval(Graph *g, Node *n, void **data) {
  QRoles r = qroles(n);
  const QuantParams *q = n->p.q;
  const Value *a = &g->values[n->in[r.x]], *bv = &g->values[n->in[r.w]];
  MatMulShape s;
  CD_ASSERT(matmul_shape(a, bv, &s));
  const void *A = data[n->in[r.x]], *B = data[n->in[r.w]];
  void *Y = data[n->out[0]];
  float *mul = requantizes(n) ? qlinear_multipliers(n) : NULL;
  int64_t nb = 1;
  for (int k = 0; k < s.brank; k++)
    nb *= s.bdims[k];
  for (int64_t bi = 0; bi < nb; bi++) {
    int64_t ao = matmul_batch_offset(a, s.bdims, s.brank, bi);
    int64_t bo = matmul_batch_offset(bv, s.bdims, s.brank, bi);
    for (int64_t i = 0; i < s.M; i++)
      for (int64_t j = 0; j < s.N; j++) {
        int64_t ia = q[0].n > 1 ? i : 0, jb = q[1].n > 1 ? j : 0;
        int32_t acc = 0;
        for (int64_t k = 0; k < s.K; k++)
          acc += (qload(A, a->dtype, ao + i * s.K + k) - q[0].zero[ia]) *
                 (qload(B, bv->dtype, bo + k * s.N + j) - q[1].zero[jb]);
        qlinear_store(n, Y, (bi * s.M + i) * s.N + j, acc, mul, ia * q[1].n + jb);
      }
  }
  free(mul);
}

void qlinear_eval(Graph *g, Node *n, void **data) {
  if (is_conv(n))
    qconv_eval(g, n, data);
  else
    qmatmul_eval(g, n, data);
}

/* The scalar kernel's pieces: zero point expressions of q[0] and q[1]
 * (index ix, iw when per axis), the multiplier (index im) and the store
 * of `acc` into y0[e]. */
typedef struct {
  const char *xz, *wz, *store;
} QExprs;

static bool emit_qexprs(CWriter *w, const Node *n, const char *ix, const char *iw,
                        const char *im, QExprs *e) {
  const QuantParams *q = n->p.q;
  e->xz = q[0].n > 1 ? cw_fmt(w, "xz[%s]", ix) : cw_int(w, q[0].zero[0]);
  e->wz = q[1].n > 1 ? cw_fmt(w, "wz[%s]", iw) : cw_int(w, q[1].zero[0]);
  if ((q[0].n > 1 && !emit_ints(w, "xz", q[0].zero, q[0].n)) ||
      (q[1].n > 1 && !emit_ints(w, "wz", q[1].zero, q[1].n)))
    return false;
  if (!requantizes(n)) {
    e->store = "y0[e] = acc;";
    return true;
  }
  int32_t lo, hi;
  qrange(q[2].dtype, &lo, &hi);
  int64_t nm = q[0].n * q[1].n;
  float *mul = qlinear_multipliers(n);
  bool ok = nm == 1 || emit_floats(w, "mul", mul, nm);
  const char *m = nm == 1 ? cw_float(w, mul[0]) : cw_fmt(w, "mul[%s]", im);
  free(mul);
  e->store = cw_fmt(w, "y0[e] = (%s)cd_requantize(acc, %s, %s, %d, %d);",
                    dtype_ctype(q[2].dtype), m, cw_int(w, q[2].zero[0]), (int)lo, (int)hi);
  return ok;
}

static bool qconv_emit(CWriter *w, Graph *g, Node *n) {
  QRoles r = qroles(n);
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[r.x]], *wt = &g->values[n->in[r.w]];
  const Value *y = &g->values[n->out[0]];
  bool bias = r.b >= 0 && r.b < n->nin && n->in[r.b] >= 0;
  int64_t N = x->dims[0], C = x->dims[1], M = wt->dims[0], G = p->group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  const int64_t *K = p->kernel, *S = p->stride, *Dl = p->dilation, *P = p->pad0;
  QExprs e;
  if (!emit_qexprs(w, n, "0", "m", "m", &e))
    return true; /* over the code budget: the emitter says so */
  cw(w, "const %s *X = x%d;\nconst %s *W = x%d;\n", dtype_ctype(x->dtype), r.x,
     dtype_ctype(wt->dtype), r.w);
  cw(w, "for (long b = 0; b < %lld; b++)\n"
        "for (long m = 0; m < %lld; m++) {\n"
        "const long grp = m / %lld;\n"
        "for (long od = 0; od < %lld; od++)\n"
        "for (long oh = 0; oh < %lld; oh++)\n"
        "for (long ow = 0; ow < %lld; ow++) {\n"
        "const long e = (((b * %lld + m) * %lld + od) * %lld + oh) * %lld + ow;\n"
        "int32_t acc = %s;\n"
        "for (long c = 0; c < %lld; c++)\n"
        "for (long kd = 0; kd < %lld; kd++) {\n"
        "const long id = od * %lld - %lld + kd * %lld;\n"
        "if (id < 0 || id >= %lld)\ncontinue;\n"
        "for (long kh = 0; kh < %lld; kh++) {\n"
        "const long ih = oh * %lld - %lld + kh * %lld;\n"
        "if (ih < 0 || ih >= %lld)\ncontinue;\n"
        "for (long kw = 0; kw < %lld; kw++) {\n"
        "const long iw = ow * %lld - %lld + kw * %lld;\n"
        "if (iw < 0 || iw >= %lld)\ncontinue;\n"
        "acc += ((int32_t)X[(((b * %lld + grp * %lld + c) * %lld + id) * %lld + ih) * %lld + iw] - %s) *\n"
        "((int32_t)W[(((m * %lld + c) * %lld + kd) * %lld + kh) * %lld + kw] - %s);\n"
        "}\n}\n}\n"
        "%s\n"
        "}\n}\n",
     (long long)N, (long long)M, (long long)Mg, (long long)O[0], (long long)O[1],
     (long long)O[2], (long long)M, (long long)O[0], (long long)O[1], (long long)O[2],
     bias ? cw_fmt(w, "x%d[m]", r.b) : "0", (long long)Cg, (long long)K[0], (long long)S[0],
     (long long)P[0], (long long)Dl[0], (long long)I[0], (long long)K[1], (long long)S[1],
     (long long)P[1], (long long)Dl[1], (long long)I[1], (long long)K[2], (long long)S[2],
     (long long)P[2], (long long)Dl[2], (long long)I[2], (long long)C, (long long)Cg,
     (long long)I[0], (long long)I[1], (long long)I[2], e.xz, (long long)Cg, (long long)K[0],
     (long long)K[1], (long long)K[2], e.wz, e.store);
  return true;
}

static bool qmatmul_emit(CWriter *w, Graph *g, Node *n) {
  QRoles r = qroles(n);
  const QuantParams *q = n->p.q;
  const Value *a = &g->values[n->in[r.x]], *b = &g->values[n->in[r.w]];
  MatMulShape sh;
  CD_ASSERT(matmul_shape(a, b, &sh));
  int64_t M = sh.M, K = sh.K, N = sh.N, nb = 1;
  for (int k = 0; k < sh.brank; k++)
    nb *= sh.bdims[k];
  QExprs e;
  const char *im = q[0].n > 1 && q[1].n > 1 ? cw_fmt(w, "i * %lld + j", (long long)q[1].n)
                   : q[0].n > 1              ? "i"
                   : q[1].n > 1              ? "j"
                                             : "0";
  if (!emit_qexprs(w, n, "i", "j", im, &e))
    return true;
  if (!cw_room(w, sat_mul(nb, 40)))
    return true;
  for (int t = 0; t < 2; t++) {
    const Value *v = t ? b : a;
    cw(w, "static const long off%d[%lld] = {", t, (long long)nb);
    for (int64_t bi = 0; bi < nb; bi++)
      cw(w, "%s%lld", bi ? ", " : "", (long long)matmul_batch_offset(v, sh.bdims, sh.brank, bi));
    cw(w, "};\n");
  }
  /* Per row of A and block of 64 columns: int32 accumulators on the
   * stack, each row of B added in (a loop over contiguous columns, which
   * the C compiler vectorises). */
  cw(w, "for (long bi = 0; bi < %lld; bi++) {\n"
        "const %s *A = x%d + off0[bi];\nconst %s *B = x%d + off1[bi];\n"
        "for (long i = 0; i < %lld; i++)\n"
        "for (long j0 = 0; j0 < %lld; j0 += 64) {\n"
        "const long nj = %lld - j0 < 64 ? %lld - j0 : 64;\n"
        "int32_t accs[64];\n"
        "for (long jj = 0; jj < nj; jj++)\n"
        "accs[jj] = 0;\n"
        "for (long k = 0; k < %lld; k++) {\n"
        "const int32_t av = (int32_t)A[i * %lld + k] - %s;\n"
        "const %s *Bk = B + k * %lld;\n"
        "%s"
        "for (long jj = 0; jj < nj; jj++) {\n"
        "const long j = j0 + jj;\n"
        "accs[jj] += av * ((int32_t)Bk[j] - %s);\n"
        "}\n"
        "}\n"
        "for (long jj = 0; jj < nj; jj++) {\n"
        "const long j = j0 + jj, e = (bi * %lld + i) * %lld + j;\n"
        "const int32_t acc = accs[jj];\n"
        "%s\n"
        "}\n"
        "}\n}\n",
     (long long)nb, dtype_ctype(a->dtype), r.x, dtype_ctype(b->dtype), r.w, (long long)M,
     (long long)N, (long long)N, (long long)N, (long long)K, (long long)K, e.xz,
     dtype_ctype(b->dtype), (long long)N,
     /* a whole block: a fixed trip count (only where N has one: a shorter
      * branch would index past per-column tables, which gcc refuses) */
     N >= 64 ? cw_fmt(w, "if (nj == 64)\n"
                         "for (long jj = 0; jj < 64; jj++) {\n"
                         "const long j = j0 + jj;\n"
                         "accs[jj] += av * ((int32_t)Bk[j] - %s);\n"
                         "}\n"
                         "else\n", e.wz) : "",
     e.wz, (long long)M, (long long)N, e.store);
  return true;
}

bool qlinear_emit(CWriter *w, Graph *g, Node *n) {
  return is_conv(n) ? qconv_emit(w, g, n) : qmatmul_emit(w, g, n);
}

/* ------------------------------------------------------------ DynamicQuantizeLinear */

/*
 * DynamicQuantizeLinear (opset 11): x float -> y uint8, y_scale, y_zero_point
 * computed from x at run time, as ONNX specifies: the range [min(0, min x),
 * max(0, max x)] over 255 steps, the zero point the quantized -min, y =
 * QuantizeLinear(x) at those (quant.h's rounding).  A range of 0 (x all
 * zeros) gives scale 0, zero point 0 and zeros.
 */
bool dynquant_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)n;
  (void)d;
  return true;
}

bool dynquant_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  if (x->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (DynamicQuantizeLinear): x '%s' is %s; it quantizes float32",
               node_label(n), x->name, dtype_name(x->dtype));
    return false;
  }
  value_set_shape(&g->values[n->out[0]], DT_UINT8, x->rank, x->dims);
  for (int k = 1; k < 3; k++)
    if (n->out[k] >= 0)
      value_set_shape(&g->values[n->out[k]], k == 1 ? DT_FLOAT : DT_UINT8, 0, NULL);
  return true;
}

void dynquant_eval(Graph *g, Node *n, void **data) {
  const float *X = data[n->in[0]];
  int64_t m = value_numel(&g->values[n->in[0]]);
  float lo = 0, hi = 0;
  for (int64_t e = 0; e < m; e++) {
    lo = X[e] < lo ? X[e] : lo;
    hi = X[e] > hi ? X[e] : hi;
  }
  float scale = (hi - lo) / 255.0f;
  int32_t zero = scale > 0 ? cd_quantize(-lo, scale, 0, 0, 255) : 0;
  uint8_t *Y = data[n->out[0]];
  for (int64_t e = 0; e < m; e++)
    Y[e] = (uint8_t)(scale > 0 ? cd_quantize(X[e], scale, zero, 0, 255) : 0);
  if (n->out[1] >= 0)
    *(float *)data[n->out[1]] = scale;
  if (n->out[2] >= 0)
    *(uint8_t *)data[n->out[2]] = (uint8_t)zero;
}

bool dynquant_emit(CWriter *w, Graph *g, Node *n) {
  int64_t m = value_numel(&g->values[n->in[0]]);
  cw(w, "float lo = 0.0f, hi = 0.0f, scale;\n"
        "int32_t zero;\n"
        "for (long e = 0; e < %lld; e++) {\n"
        "lo = x0[e] < lo ? x0[e] : lo;\n"
        "hi = x0[e] > hi ? x0[e] : hi;\n"
        "}\n"
        "scale = (hi - lo) / 255.0f;\n"
        "zero = scale > 0 ? cd_quantize(-lo, scale, 0, 0, 255) : 0;\n"
        "for (long e = 0; e < %lld; e++)\n"
        "y0[e] = (uint8_t)(scale > 0 ? cd_quantize(x0[e], scale, zero, 0, 255) : 0);\n",
     (long long)m, (long long)m);
  cw(w, n->out[1] >= 0 ? "y1[0] = scale;\n" : "(void)scale;\n");
  cw(w, n->out[2] >= 0 ? "y2[0] = (uint8_t)zero;\n" : "");
  return true;
}

/* ------------------------------------------------------------ QLinearAdd */

/*
 * QLinearAdd(a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero):
 * Cardinal's own (OPF_INTERNAL; ONNX Runtime has one of the name in its
 * com.microsoft domain), made by fold-qdq from the QDQ format's residual
 * add, DQ(a) + DQ(b) [-> Relu] -> Q: elementwise over a and b of one shape,
 * all per tensor, quant.h's cd_add_requantize with the multipliers
 * a_scale / y_scale and b_scale / y_scale.  q[0] a, q[1] b, q[2] y.
 */
bool qadd_parse(Graph *g, Node *n, Diag *d) {
  QuantParams *q = n->p.q;
  static const char *const role[3][2] = {{"a_scale", "a_zero_point"},
                                         {"b_scale", "b_zero_point"},
                                         {"y_scale", "y_zero_point"}};
  for (int i = 0; i < 3; i++) {
    int k = i == 2 ? 6 : 3 * i + 1;
    DType want = i == 2 ? DT_UNDEFINED : g->values[n->in[3 * i]].dtype;
    if (i < 2 && !quant_type_ok(n, d, i ? "b" : "a", &g->values[n->in[3 * i]], false))
      return false;
    if (!read_scale(g, n, d, k, role[i][0], &q[i]) ||
        !read_zero(g, n, d, k + 1, role[i][1], k, role[i][0], want, &q[i]))
      return false;
    if (q[i].n != 1) {
      diag_error(d, "node '%s' (QLinearAdd): %s has %lld elements; it is per tensor",
                 node_label(n), role[i][0], (long long)q[i].n);
      return false;
    }
  }
  return true;
}

bool qadd_infer(Graph *g, Node *n, Diag *d) {
  const QuantParams *q = n->p.q;
  if (!isfinite(q[0].scale[0] / q[2].scale[0]) || !isfinite(q[1].scale[0] / q[2].scale[0])) {
    diag_error(d, "node '%s' (QLinearAdd): the scales' ratios to y_scale are not finite",
               node_label(n));
    return false;
  }
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[3]];
  if (!value_same_shape(a, b) || a->dtype != n->p.q[0].dtype || b->dtype != n->p.q[1].dtype) {
    diag_error(d, "node '%s' (QLinearAdd): a '%s' and b '%s' must have one shape and their "
               "zero points' types", node_label(n), a->name, b->name);
    return false;
  }
  value_set_shape(&g->values[n->out[0]], n->p.q[2].dtype, a->rank, a->dims);
  return true;
}

/* The multipliers a_scale / y_scale and b_scale / y_scale. */
void qadd_multipliers(const Node *n, float *ma, float *mb) {
  const QuantParams *q = n->p.q;
  *ma = q[0].scale[0] / q[2].scale[0];
  *mb = q[1].scale[0] / q[2].scale[0];
}

void qadd_eval(Graph *g, Node *n, void **data) {
  const QuantParams *q = n->p.q;
  float ma, mb;
  qadd_multipliers(n, &ma, &mb);
  int32_t lo, hi;
  qrange(q[2].dtype, &lo, &hi);
  const void *A = data[n->in[0]], *B = data[n->in[3]];
  void *Y = data[n->out[0]];
  for (int64_t e = 0, m = value_numel(&g->values[n->out[0]]); e < m; e++)
    qstore(Y, q[2].dtype, e,
           cd_add_requantize(qload(A, q[0].dtype, e) - q[0].zero[0], ma,
                             qload(B, q[1].dtype, e) - q[1].zero[0], mb, q[2].zero[0], lo, hi));
}

/* Its loop over elements [lo, hi) (C expressions): one the C compiler
 * vectorizes (gcc and clang: fmaf and rintf).  The portable kernel runs
 * it over all; kernels.c's qadd_split row over each thread's share. */
void qadd_loop(CWriter *w, Graph *g, Node *n, const char *lo, const char *hi) {
  const QuantParams *q = n->p.q;
  float ma, mb;
  qadd_multipliers(n, &ma, &mb);
  int32_t lo_, hi_;
  qrange(q[2].dtype, &lo_, &hi_);
  (void)g;
  cw(w, "for (long e = %s; e < %s; e++)\n"
        "y0[e] = (%s)cd_add_requantize((int32_t)x0[e] - %d, %s, (int32_t)x3[e] - %d, %s, %d, "
        "%d, %d);\n",
     lo, hi, dtype_ctype(q[2].dtype), (int)q[0].zero[0], cw_float(w, ma), (int)q[1].zero[0],
     cw_float(w, mb), (int)q[2].zero[0], (int)lo_, (int)hi_);
}

bool qadd_emit(CWriter *w, Graph *g, Node *n) {
  qadd_loop(w, g, n, "0", cw_fmt(w, "%lld", (long long)value_numel(&g->values[n->out[0]])));
  return true;
}
