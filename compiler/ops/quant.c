/*
 * quant.c — the quantized ops of ONNX: QuantizeLinear and DequantizeLinear
 * (per tensor and per axis; uint8 and int8, and int32 into
 * DequantizeLinear; opsets 10, 13 and later).
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
  bool has_zero = n->nin > 2 && n->in[2] >= 0;
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
