/*
 * quant.h — the integer arithmetic of quantized models, written down once
 * (DESIGN.md, "Precision"): what QuantizeLinear does to a float, and what a
 * requantizing epilogue does to an int32 accumulator.  ONNX's rule: divide
 * by the scale in float, round half to even, add the zero point, saturate
 * to the type's range.  The interpreter uses these functions as they are;
 * scalar and SIMD kernels must give the same bits (round to nearest even is
 * the default rounding mode of every target, which lrintf and the vector
 * conversions use).  Plain C99 with <math.h> and <stdint.h>, like act.h.
 */
#ifndef CD_QUANT_H
#define CD_QUANT_H

#include <math.h>
#include <stdint.h>

/* r (a float holding an integer, or NaN, or +-inf) saturated to [lo, hi];
 * NaN gives 0 (ONNX leaves it undefined). */
static inline int32_t cd_saturate(float r, int32_t lo, int32_t hi) {
  if (r != r)
    return 0 < lo ? lo : 0 > hi ? hi : 0;
  return r <= (float)lo ? lo : r >= (float)hi ? hi : (int32_t)r;
}

/* QuantizeLinear: saturate(round(x / scale) + zero_point) in [lo, hi]
 * (0..255 for uint8, -128..127 for int8), rounding half to even (rintf in
 * the default rounding mode).  Adding the zero point in float is exact
 * wherever the result does not saturate (|round(x / scale)| < 2^24). */
static inline int32_t cd_quantize(float x, float scale, int32_t zero_point, int32_t lo,
                                  int32_t hi) {
  return cd_saturate(rintf(x / scale) + (float)zero_point, lo, hi);
}

/* DequantizeLinear: (q - zero_point) * scale. */
static inline float cd_dequantize(int32_t q, float scale, int32_t zero_point) {
  return (float)(q - zero_point) * scale;
}

/* A requantizing epilogue: the int32 accumulator of an integer conv or
 * matmul times its float multiplier (input scale x weight scale / output
 * scale), rounded half to even, plus the output zero point, saturated. */
static inline int32_t cd_requantize(int32_t acc, float multiplier, int32_t zero_point,
                                    int32_t lo, int32_t hi) {
  return cd_quantize((float)acc * multiplier, 1.0f, zero_point, lo, hi);
}

#endif
