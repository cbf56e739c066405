/*
 * quant.h — the integer arithmetic of quantized models, written down once
 * (DESIGN.md, "Precision"): what QuantizeLinear does to a float, and what a
 * requantizing epilogue does to an int32 accumulator.  ONNX's rule: divide
 * by the scale in float, round half to even, add the zero point, saturate
 * to the type's range.  The interpreter uses these functions as they are;
 * scalar and SIMD kernels must give the same bits (round to nearest even is
 * the default rounding mode of every target, which lrintf and the vector
 * conversions use).  Plain C99 with <math.h> and <stdint.h>, like act.h,
 * and written, like it, verbatim into every generated source whose
 * kernels quantize (cmake/embed.cmake makes it cd_quant_source), so the
 * portable kernels call these very functions.
 */
#ifndef CD_QUANT_H
#define CD_QUANT_H

#include <math.h>
#include <stdint.h>

/* A source uses only some of these: unused is not a warning (clang warns
 * of unused static inline functions in a .c file). */
#if defined(__GNUC__) || defined(__clang__)
#define CD_QUANT_FN static inline __attribute__((unused))
#else
#define CD_QUANT_FN static inline
#endif

/* r (a float holding an integer, or NaN, or +-inf) saturated to [lo, hi];
 * NaN gives 0 (ONNX leaves it undefined). */
CD_QUANT_FN int32_t cd_saturate(float r, int32_t lo, int32_t hi) {
  if (r != r)
    return 0 < lo ? lo : 0 > hi ? hi : 0;
  return r <= (float)lo ? lo : r >= (float)hi ? hi : (int32_t)r;
}

/* QuantizeLinear: saturate(round(x / scale) + zero_point) in [lo, hi]
 * (0..255 for uint8, -128..127 for int8), rounding half to even (rintf in
 * the default rounding mode).  Adding the zero point in float is exact
 * wherever the result does not saturate (|round(x / scale)| < 2^24). */
CD_QUANT_FN int32_t cd_quantize(float x, float scale, int32_t zero_point, int32_t lo,
                                int32_t hi) {
  return cd_saturate(rintf(x / scale) + (float)zero_point, lo, hi);
}

/* DequantizeLinear: (q - zero_point) * scale. */
CD_QUANT_FN float cd_dequantize(int32_t q, float scale, int32_t zero_point) {
  return (float)(q - zero_point) * scale;
}

/* The multiplier of a requantizing epilogue, in float and in this order
 * (ONNX's reference computes x_scale * w_scale / y_scale so): the compiler
 * computes it once and kernels read the result. */
CD_QUANT_FN float cd_multiplier(float x_scale, float w_scale, float y_scale) {
  return x_scale * w_scale / y_scale;
}

/* A requantizing epilogue: the int32 accumulator of an integer conv or
 * matmul times its float multiplier (input scale x weight scale / output
 * scale), rounded half to even, plus the output zero point, saturated. */
CD_QUANT_FN int32_t cd_requantize(int32_t acc, float multiplier, int32_t zero_point,
                                  int32_t lo, int32_t hi) {
  return cd_quantize((float)acc * multiplier, 1.0f, zero_point, lo, hi);
}

/* QLinearAdd (fold-qdq's DQ(a) + DQ(b) -> Q): a and b with their zero
 * points taken off, each times its multiplier (its scale / y_scale, in
 * float), summed as fmaf(a, ma, b * mb) -- the one rounding of b * mb, then
 * one of the fused multiply-add, written out so no compiler can contract
 * it another way -- rounded half to even, plus y's zero point, saturated
 * to [lo, hi].  The multipliers are finite (parse checks), so no NaN. */
CD_QUANT_FN int32_t cd_add_requantize(int32_t a, float ma, int32_t b, float mb,
                                      int32_t zero_point, int32_t lo, int32_t hi) {
  float r = rintf(fmaf((float)a, ma, (float)b * mb)) + (float)zero_point;
  return r <= (float)lo ? lo : r >= (float)hi ? hi : (int32_t)r;
}

#endif
