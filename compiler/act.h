/*
 * act.h — the scalar column of the activation table (act.c): one C function
 * per activation, the only definition of what each computes.  The reference
 * interpreter includes this file; the emitter writes it, verbatim, into
 * every generated source that applies an activation one element at a time
 * (cmake/embed.cmake turns it into cd_act_source).  So the oracle and the
 * portable kernels run the same arithmetic: the same erf, the same NaN
 * rules.  It must stay plain C99 that compiles warning-free under -Wall
 * -Wextra -pedantic, with <math.h> and nothing else.
 *
 * NaN rules (ONNX's, as numpy computes them): a NaN input gives a NaN
 * output for every activation -- Relu, Clip, HardSigmoid and HardSwish
 * included, where fmaxf/fminf would drop it.  Signed zeros follow the
 * comparisons as written (Relu(-0) = -0).
 */
#ifndef CD_ACT_H
#define CD_ACT_H

#include <math.h>

/* The source that includes this uses only some of these: unused is not a
 * warning (clang warns of unused static inline functions in a .c file). */
#if defined(__GNUC__) || defined(__clang__)
#define CD_ACT_FN static inline __attribute__((unused))
#else
#define CD_ACT_FN static inline
#endif

/* x clamped to [lo, hi]; NaN stays NaN (both comparisons are false). */
CD_ACT_FN float cd_clampf(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

CD_ACT_FN float cd_relu(float x) { return x < 0.0f ? 0.0f : x; }

CD_ACT_FN float cd_leaky_relu(float x, float alpha) { return x >= 0.0f ? x : alpha * x; }

CD_ACT_FN float cd_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* x * sigmoid(x), as exporters write SiLU / Swish. */
CD_ACT_FN float cd_silu(float x) { return x / (1.0f + expf(-x)); }

CD_ACT_FN float cd_hard_sigmoid(float x, float alpha, float beta) {
  return cd_clampf(alpha * x + beta, 0.0f, 1.0f);
}

/* ONNX: x * HardSigmoid(x) with alpha = 1/6, beta = 1/2. */
CD_ACT_FN float cd_hard_swish(float x) {
  return x * cd_clampf(x * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f);
}

CD_ACT_FN float cd_elu(float x, float alpha) { return x >= 0.0f ? x : alpha * expm1f(x); }

CD_ACT_FN float cd_selu(float x, float alpha, float gamma) {
  return gamma * (x > 0.0f ? x : alpha * expm1f(x));
}

/* ln(1 + e^x), written so that neither side overflows. */
CD_ACT_FN float cd_softplus(float x) {
  return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

CD_ACT_FN float cd_mish(float x) { return x * tanhf(cd_softplus(x)); }

/* ONNX's Round: to the nearest integer, halves to even (rintf in the
 * default rounding mode, which generated code never changes). */
CD_ACT_FN float cd_round_even(float x) { return rintf(x); }

/* 1 for x > 0, -1 for x < 0, else x itself (+-0, NaN). */
CD_ACT_FN float cd_sign(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }

/* erf without a branch or a call, so that loops over it vectorise: a
 * rational approximation on [-4, 4] (erf is +-1 in float past it), within
 * 4.1e-7 of erf; NaN stays NaN. */
CD_ACT_FN float cd_erff(float x) {
  float x2, p, q;
  x = cd_clampf(x, -4.0f, 4.0f);
  x2 = x * x;
  p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  return x * p / q;
}

/* Gelu: x/2 (1 + erf(x / sqrt 2)), or its tanh approximation. */
CD_ACT_FN float cd_gelu(float x) { return 0.5f * x * (1.0f + cd_erff(x * 0.70710678118f)); }

CD_ACT_FN float cd_gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
}

#endif
