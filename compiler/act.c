/*
 * act.c — the activation table: per activation, one row with its three
 * columns, so that the interpreter, the portable kernels and every SIMD
 * target compute the same thing:
 *
 *   reference  the C function of act.h (the interpreter calls it)
 *   scalar     a call of that same function in generated C (act.h is
 *              written into the source: act_write_scalar)
 *   vector     an expression over a target's vector operations (VecOps),
 *              written once here for every target; exp, log, tanh, erf
 *              and their compositions are helper functions the emitter
 *              writes once per source (act_write_vector)
 *
 * The vector forms are not bit-identical to the scalar ones (they use
 * their own exp, log and tanh, and FMA); tests/unit/test_act.c holds each
 * to its bound against the reference over a sweep with +-0, +-inf, NaN,
 * denormals and the kinks:
 *
 *   exp        within 2 ulp on [-87, 88] (Cephes' polynomial after a
 *              range reduction by ln 2 in two parts); 2^n applied in two
 *              halves, so overflow gives inf and underflow goes through the
 *              denormals to 0
 *   log        within 2 ulp for x > 0 (2 atanh(s) series on [sqrt(1/2),
 *              sqrt 2)), -inf at 0, NaN below, inf at inf, denormals scaled
 *   tanh       within 3e-7 absolute (Eigen's 13/6 rational, clamped at
 *              +-7.905)
 *   erf        cd_erff's own rational, lane by lane
 *
 * and every composition (sigmoid, SiLU, softplus, Mish, Elu, Selu, Gelu)
 * within 1e-6 relative plus 1e-7 absolute of the reference.  NaN in gives
 * NaN out everywhere: on x86, max and min return their second operand when
 * either is NaN, so every clamp below puts the value second.
 */
#include "cardinal.h"
#include "act.h"

#include <math.h>
#include <string.h>

/* Reference forms with the table's signature. */
static float ref_relu(float x, float a, float b) { (void)a; (void)b; return cd_relu(x); }
static float ref_leaky(float x, float a, float b) { (void)b; return cd_leaky_relu(x, a); }
static float ref_sigmoid(float x, float a, float b) { (void)a; (void)b; return cd_sigmoid(x); }
static float ref_silu(float x, float a, float b) { (void)a; (void)b; return cd_silu(x); }
static float ref_tanh(float x, float a, float b) { (void)a; (void)b; return tanhf(x); }
static float ref_hsig(float x, float a, float b) { return cd_hard_sigmoid(x, a, b); }
static float ref_hswish(float x, float a, float b) { (void)a; (void)b; return cd_hard_swish(x); }
static float ref_clip(float x, float a, float b) { return cd_clampf(x, a, b); }
static float ref_elu(float x, float a, float b) { (void)b; return cd_elu(x, a); }
static float ref_selu(float x, float a, float b) { return cd_selu(x, a, b); }
static float ref_softplus(float x, float a, float b) { (void)a; (void)b; return cd_softplus(x); }
static float ref_mish(float x, float a, float b) { (void)a; (void)b; return cd_mish(x); }
static float ref_gelu(float x, float a, float b) {
  (void)b;
  return a != 0 ? cd_gelu_tanh(x) : cd_gelu(x);
}
static float ref_erf(float x, float a, float b) { (void)a; (void)b; return cd_erff(x); }
static float ref_exp(float x, float a, float b) { (void)a; (void)b; return expf(x); }
static float ref_log(float x, float a, float b) { (void)a; (void)b; return logf(x); }
static float ref_sqrt(float x, float a, float b) { (void)a; (void)b; return sqrtf(x); }
static float ref_neg(float x, float a, float b) { (void)a; (void)b; return -x; }
static float ref_abs(float x, float a, float b) { (void)a; (void)b; return fabsf(x); }
static float ref_reciprocal(float x, float a, float b) { (void)a; (void)b; return 1.0f / x; }
static float ref_floor(float x, float a, float b) { (void)a; (void)b; return floorf(x); }
static float ref_ceil(float x, float a, float b) { (void)a; (void)b; return ceilf(x); }
static float ref_round(float x, float a, float b) { (void)a; (void)b; return cd_round_even(x); }
static float ref_sign(float x, float a, float b) { (void)a; (void)b; return cd_sign(x); }

/* Building a vector expression: V(op, a, b) fills the target's template. */
typedef struct {
  CWriter *w;
  const VecOps *o;
} Vb;

#define V(op, ...) cw_op(v->w, v->o->op, __VA_ARGS__)
static const char *K(const Vb *v, double c) { return V(set1, cw_float(v->w, c), 0, 0); }
static const char *call(const Vb *v, const char *fn, const char *x) {
  return cw_fmt(v->w, "%s(%s)", fn, x);
}

static const char *vec_relu(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(max, v->o->zero, x, 0);
}
static const char *vec_leaky(const Vb *v, const char *x, float a, float b) {
  (void)b;
  return V(fma, V(min, v->o->zero, x, 0), K(v, a), V(max, v->o->zero, x, 0));
}
static const char *vec_clip(const Vb *v, const char *x, float a, float b) {
  return V(min, K(v, b), V(max, K(v, a), x, 0), 0);
}
/* a x + b rounded twice, as act.h computes it (an FMA's one rounding moves
 * the result by up to an ulp of b, which is a large relative error where
 * a x + b nearly cancels). */
static const char *vec_hsig(const Vb *v, const char *x, float a, float b) {
  return V(min, K(v, 1), V(max, v->o->zero, V(add, V(mul, x, K(v, a), 0), K(v, b), 0), 0), 0);
}
static const char *vec_hswish(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(mul, x, vec_hsig(v, x, 1.0f / 6.0f, 0.5f), 0);
}
static const char *vec_sigmoid(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return call(v, "cd_v_sigmoid", x);
}
static const char *vec_silu(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return call(v, "cd_v_silu", x);
}
static const char *vec_tanh(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return call(v, "cd_v_tanh", x);
}
/* x < 0 ? alpha (e^x - 1) : x */
static const char *vec_elu(const Vb *v, const char *x, float a, float b) {
  (void)b;
  return V(blend, V(lt, x, v->o->zero, 0),
           V(mul, K(v, a), V(sub, call(v, "cd_v_exp", x), K(v, 1), 0), 0), x);
}
/* gamma (x > 0 ? x : alpha (e^x - 1)) */
static const char *vec_selu(const Vb *v, const char *x, float a, float b) {
  return V(mul, K(v, b),
           V(blend, V(lt, v->o->zero, x, 0), x,
             V(mul, K(v, a), V(sub, call(v, "cd_v_exp", x), K(v, 1), 0), 0)),
           0);
}
static const char *vec_softplus(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return call(v, "cd_v_softplus", x);
}
static const char *vec_mish(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(mul, x, call(v, "cd_v_tanh", call(v, "cd_v_softplus", x)), 0);
}
static const char *vec_gelu(const Vb *v, const char *x, float a, float b) {
  (void)b;
  const char *half_x = V(mul, K(v, 0.5), x, 0);
  if (a != 0) { /* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    const char *inner = V(fma, V(mul, V(mul, x, x, 0), x, 0), K(v, 0.044715f), x);
    return V(mul, half_x,
             V(add, K(v, 1), call(v, "cd_v_tanh", V(mul, K(v, 0.7978845608f), inner, 0)), 0), 0);
  }
  return V(mul, half_x,
           V(add, K(v, 1), call(v, "cd_v_erf", V(mul, x, K(v, 0.70710678118f), 0)), 0), 0);
}
static const char *vec_erf(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return call(v, "cd_v_erf", x);
}
static const char *vec_exp(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return call(v, "cd_v_exp", x);
}
static const char *vec_log(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return call(v, "cd_v_log", x);
}
static const char *vec_sqrt(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(sqrt, x, 0, 0);
}
/* -x as x * -1: exact, -0 for 0, NaN stays NaN (0 - x would give +0). */
static const char *vec_neg(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(mul, x, K(v, -1), 0);
}
static const char *vec_abs(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(abs, x, 0, 0);
}
static const char *vec_reciprocal(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(div, K(v, 1), x, 0);
}
/* floor and ceil from the round to nearest, one step back where it went
 * past x (exact: every float of magnitude 2^23 or more is an integer). */
static const char *vec_floor(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  const char *r = V(round, x, 0, 0);
  return V(blend, V(lt, x, r, 0), V(sub, r, K(v, 1), 0), r);
}
static const char *vec_ceil(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  const char *r = V(round, x, 0, 0);
  return V(blend, V(lt, r, x, 0), V(add, r, K(v, 1), 0), r);
}
static const char *vec_round(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(round, x, 0, 0);
}
/* 1, -1, or x itself (+-0, NaN) */
static const char *vec_sign(const Vb *v, const char *x, float a, float b) {
  (void)a, (void)b;
  return V(blend, V(lt, v->o->zero, x, 0), K(v, 1), V(blend, V(lt, x, v->o->zero, 0), K(v, -1), x));
}

typedef struct {
  OpKind op;
  float (*ref)(float x, float a, float b);
  const char *scalar; /* C template: $0 the operand, $1 alpha, $2 beta (literals) */
  const char *(*vec)(const Vb *v, const char *x, float a, float b);
  bool helpers;       /* the vector form calls the cd_v_* helper functions */
} ActRow;

static const ActRow act_rows[] = {
    {OP_RELU, ref_relu, "cd_relu($0)", vec_relu, false},
    {OP_LEAKYRELU, ref_leaky, "cd_leaky_relu($0, $1)", vec_leaky, false},
    {OP_SIGMOID, ref_sigmoid, "cd_sigmoid($0)", vec_sigmoid, true},
    {OP_SILU, ref_silu, "cd_silu($0)", vec_silu, true},
    {OP_TANH, ref_tanh, "tanhf($0)", vec_tanh, true},
    {OP_HARDSIGMOID, ref_hsig, "cd_hard_sigmoid($0, $1, $2)", vec_hsig, false},
    {OP_HARDSWISH, ref_hswish, "cd_hard_swish($0)", vec_hswish, false},
    {OP_CLIP, ref_clip, "cd_clampf($0, $1, $2)", vec_clip, false},
    {OP_ELU, ref_elu, "cd_elu($0, $1)", vec_elu, true},
    {OP_SELU, ref_selu, "cd_selu($0, $1, $2)", vec_selu, true},
    {OP_SOFTPLUS, ref_softplus, "cd_softplus($0)", vec_softplus, true},
    {OP_MISH, ref_mish, "cd_mish($0)", vec_mish, true},
    {OP_GELU, ref_gelu, NULL /* two forms: act_scalar */, vec_gelu, true},
    {OP_ERF, ref_erf, "cd_erff($0)", vec_erf, true},
    {OP_EXP, ref_exp, "expf($0)", vec_exp, true},
    {OP_LOG, ref_log, "logf($0)", vec_log, true},
    {OP_SQRT, ref_sqrt, "sqrtf($0)", vec_sqrt, false},
    {OP_NEG, ref_neg, "-($0)", vec_neg, false},
    {OP_ABS, ref_abs, "fabsf($0)", vec_abs, false},
    {OP_RECIPROCAL, ref_reciprocal, "1.0f / ($0)", vec_reciprocal, false},
    {OP_FLOOR, ref_floor, "floorf($0)", vec_floor, false},
    {OP_CEIL, ref_ceil, "ceilf($0)", vec_ceil, false},
    {OP_ROUND, ref_round, "cd_round_even($0)", vec_round, false},
    {OP_SIGN, ref_sign, "cd_sign($0)", vec_sign, false},
};

static const ActRow *row(OpKind op) {
  for (size_t i = 0; i < sizeof act_rows / sizeof act_rows[0]; i++)
    if (act_rows[i].op == op)
      return &act_rows[i];
  CD_ASSERT(!"an OPF_ACTIVATION op without a row in the activation table");
  return NULL;
}

float act_apply(OpKind op, float x, float a, float b) { return row(op)->ref(x, a, b); }

const char *act_scalar(CWriter *w, OpKind op, float a, float b, const char *x) {
  const ActRow *r = row(op);
  if (op == OP_GELU)
    return cw_fmt(w, a != 0 ? "cd_gelu_tanh(%s)" : "cd_gelu(%s)", x);
  return cw_op(w, r->scalar, x, cw_float(w, a), cw_float(w, b));
}

const char *act_vector(CWriter *w, const VecOps *o, OpKind op, float a, float b, const char *x) {
  Vb v = {w, o};
  return row(op)->vec(&v, x, a, b);
}

bool act_uses_helpers(OpKind op) { return row(op)->helpers; }

extern const char cd_act_source[]; /* act.h, embedded by cmake/embed.cmake */

const char *act_scalar_source(void) { return cd_act_source; }

/*
 * The vector helpers, for target operations o under function attribute
 * attr.  Each is a static inline function of one vector (act.h's CD_ACT_FN,
 * which the source has by then); the constants are
 * those of the bounds stated at the top.
 */
void act_write_vector(CWriter *w, const VecOps *o, const char *attr) {
  Vb vb = {w, o}, *v = &vb;
  const char *T = o->vtype, *M = o->mtype;
  /* CD_ACT_FN (act.h, written first): static inline, and unused is fine */
  const char *sig = cw_fmt(w, "CD_ACT_FN %s%s%s", attr, *attr ? " " : "", T);
  /* e^x: n = round(x / ln 2), r = x - n ln 2 in two parts, a degree-6
   * polynomial, then 2^n in two halves (each within ldexp's range). */
  cw(w, "/* Vector forms of the activations (compiler/act.c states their error bounds). */\n");
  cw(w, "%s cd_v_exp(%s x) {\n", sig, T);
  cw(w, "const %s xc = %s;\n", T, V(min, K(v, 88.73), V(max, K(v, -103.97), "x", 0), 0));
  cw(w, "const %s n = %s;\n", T, V(round, V(mul, "xc", K(v, 1.44269504088896341), 0), 0, 0));
  cw(w, "const %s n1 = %s;\n", T, V(round, V(mul, "n", K(v, 0.5), 0), 0, 0));
  cw(w, "%s r = %s;\n", T, V(fma, "n", K(v, -0.693359375), "xc"));
  cw(w, "%s p = %s;\n", T, K(v, 1.9875691500E-4));
  cw(w, "r = %s;\n", V(fma, "n", K(v, 2.12194440e-4), "r"));
  static const double ec[] = {1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2,
                              1.6666665459E-1, 5.0000001201E-1};
  for (size_t i = 0; i < sizeof ec / sizeof ec[0]; i++)
    cw(w, "p = %s;\n", V(fma, "p", "r", K(v, ec[i])));
  cw(w, "p = %s;\n", V(fma, "p", V(mul, "r", "r", 0), V(add, "r", K(v, 1), 0)));
  cw(w, "return %s;\n}\n\n", V(ldexp, V(ldexp, "p", "n1", 0), V(sub, "n", "n1", 0), 0));
  /* ln(1 + y) for y in [0, 1]: 2 atanh(s), s = y / (2 + y) <= 1/3. */
  cw(w, "%s cd_v_log1p01(%s y) {\n", sig, T);
  cw(w, "const %s s = %s;\n", T, V(div, "y", V(add, K(v, 2), "y", 0), 0));
  cw(w, "const %s s2 = %s;\n", T, V(mul, "s", "s", 0));
  cw(w, "%s p = %s;\n", T, K(v, 1.0 / 15));
  for (int k = 13; k >= 1; k -= 2)
    cw(w, "p = %s;\n", V(fma, "p", "s2", K(v, 1.0 / k)));
  cw(w, "return %s;\n}\n\n", V(mul, V(add, "s", "s", 0), "p", 0));
  /* ln x: x = m 2^e with m in [sqrt(1/2), sqrt 2), ln m = 2 atanh(s),
   * s = (m - 1) / (m + 1); denormals scaled by 2^23 first. */
  cw(w, "%s cd_v_log(%s x) {\n", sig, T);
  cw(w, "const %s tiny = %s;\n", M, V(lt, "x", K(v, 1.17549435e-38), 0));
  cw(w, "const %s xs = %s;\n", T, V(blend, "tiny", V(mul, "x", K(v, 8388608.0), 0), "x"));
  cw(w, "%s e = %s;\n", T, V(add, V(getexp, "xs", 0, 0), V(blend, "tiny", K(v, -23), v->o->zero), 0));
  cw(w, "%s m = %s;\n", T, V(getmant, "xs", 0, 0));
  cw(w, "const %s big = %s;\n", M, V(lt, K(v, 1.41421356237), "m", 0));
  cw(w, "m = %s;\n", V(blend, "big", V(mul, "m", K(v, 0.5), 0), "m"));
  cw(w, "e = %s;\n", V(blend, "big", V(add, "e", K(v, 1), 0), "e"));
  cw(w, "const %s s = %s;\n", T, V(div, V(sub, "m", K(v, 1), 0), V(add, "m", K(v, 1), 0), 0));
  cw(w, "const %s s2 = %s;\n", T, V(mul, "s", "s", 0));
  cw(w, "%s p = %s;\n", T, K(v, 1.0 / 9));
  for (int k = 7; k >= 1; k -= 2)
    cw(w, "p = %s;\n", V(fma, "p", "s2", K(v, 1.0 / k)));
  cw(w, "p = %s;\n", V(fma, "e", K(v, 0.693147180559945), V(mul, V(add, "s", "s", 0), "p", 0)));
  cw(w, "p = %s;\n", V(blend, V(lt, v->o->zero, "x", 0), "p",
                       V(blend, V(lt, "x", v->o->zero, 0), K(v, NAN), K(v, -INFINITY))));
  cw(w, "return %s; /* inf and NaN as they are */\n}\n\n", V(blend, V(lt, "x", K(v, INFINITY), 0), "p", "x"));
  /* tanh: Eigen's rational x P(x^2) / Q(x^2), clamped where it reaches 1. */
  cw(w, "%s cd_v_tanh(%s x) {\n", sig, T);
  cw(w, "const %s xc = %s;\n", T,
     V(min, K(v, 7.90531110763549805), V(max, K(v, -7.90531110763549805), "x", 0), 0));
  cw(w, "const %s x2 = %s;\n", T, V(mul, "xc", "xc", 0));
  static const double ta[] = {-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                              5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                              4.89352455891786e-03};
  static const double tb[] = {1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                              4.89352518554385e-03};
  cw(w, "%s p = %s;\n", T, K(v, ta[0]));
  for (size_t i = 1; i < sizeof ta / sizeof ta[0]; i++)
    cw(w, "p = %s;\n", V(fma, "p", "x2", K(v, ta[i])));
  cw(w, "%s q = %s;\n", T, K(v, tb[0]));
  for (size_t i = 1; i < sizeof tb / sizeof tb[0]; i++)
    cw(w, "q = %s;\n", V(fma, "q", "x2", K(v, tb[i])));
  /* Past 9, where tanh is +-1 in float, exactly +-1 (the rational stops 2.4e-7
   * short of it, and x (1 - tanh) would be inf, not NaN, at -inf); NaN stays. */
  cw(w, "const %s t = %s;\n", T, V(div, V(mul, "xc", "p", 0), "q", 0));
  cw(w, "return %s;\n}\n\n",
     V(blend, V(lt, K(v, 9), V(abs, "x", 0, 0), 0), V(blend, V(lt, "x", o->zero, 0), K(v, -1), K(v, 1)), "t"));
  /* erf: cd_erff (act.h), lane by lane, kept within [-1, 1]. */
  cw(w, "%s cd_v_erf(%s x) {\n", sig, T);
  cw(w, "const %s xc = %s;\n", T, V(min, K(v, 4), V(max, K(v, -4), "x", 0), 0));
  cw(w, "const %s x2 = %s;\n", T, V(mul, "xc", "xc", 0));
  static const double ea[] = {-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                              -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                              -1.60960333262415e-02};
  static const double eb[] = {-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                              -7.37332916720468e-03, -1.42647390514189e-02};
  cw(w, "%s p = %s;\n", T, K(v, ea[0]));
  for (size_t i = 1; i < sizeof ea / sizeof ea[0]; i++)
    cw(w, "p = %s;\n", V(fma, "p", "x2", K(v, ea[i])));
  cw(w, "%s q = %s;\n", T, K(v, eb[0]));
  for (size_t i = 1; i < sizeof eb / sizeof eb[0]; i++)
    cw(w, "q = %s;\n", V(fma, "q", "x2", K(v, eb[i])));
  cw(w, "return %s;\n}\n\n",
     V(min, K(v, 1), V(max, K(v, -1), V(div, V(mul, "xc", "p", 0), "q", 0), 0), 0));
  /* 1 / (1 + e^-x) and x / (1 + e^-x) */
  cw(w, "%s cd_v_sigmoid(%s x) {\n", sig, T);
  cw(w, "return %s;\n}\n\n",
     V(div, K(v, 1), V(add, K(v, 1), call(v, "cd_v_exp", V(sub, o->zero, "x", 0)), 0), 0));
  cw(w, "%s cd_v_silu(%s x) {\n", sig, T);
  cw(w, "return %s;\n}\n\n",
     V(div, "x", V(add, K(v, 1), call(v, "cd_v_exp", V(sub, o->zero, "x", 0)), 0), 0));
  /* ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|) */
  cw(w, "%s cd_v_softplus(%s x) {\n", sig, T);
  cw(w, "return %s;\n}\n\n",
     V(add, V(max, o->zero, "x", 0),
       call(v, "cd_v_log1p01", call(v, "cd_v_exp", V(sub, o->zero, V(abs, "x", 0, 0), 0))), 0));
}
