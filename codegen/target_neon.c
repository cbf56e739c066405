/*
 * target_neon.c — AArch64 Advanced SIMD: 4 floats a vector, 32 registers.
 * NEON is part of every AArch64 CPU, so no run-time check is needed; the
 * sources carry an #error when compiled for another architecture.
 * group_bcast: a lane duplicate for groups of 4, the transposes trn1/trn2
 * for pairs.
 *
 * The int8 table (4 int32 lanes: the int8 convs of simd_qconv.c, the
 * head of simd_qmatmul.c, simd.c's QLinearAdd and QuantizeLinear)
 * multiplies s8 by s8 (dot_s8): AArch64's dot product, SDOT
 * (FEAT_DotProd), has no u8 x s8 form before USDOT (FEAT_I8MM), so the
 * kernels pack u8 activations as x - 128 (x ^ 0x80) and fold the 128 into
 * the zero point (simd_qconv.c's top comment).  Which instruction runs is the C compiler's choice, not
 * the emitter's: the same generated source uses SDOT (vdotq_s32) where it
 * is compiled for the extension (-march=armv8.2-a+dotprod or a CPU that
 * has it: __ARM_FEATURE_DOTPROD) and otherwise widening multiplies of the
 * bytes (vmull_s8, 16-bit products, exact) summed pairwise into 32 bits;
 * both give the int32 sums exactly, so the outputs are the same bits.
 * There is no run-time check on AArch64 (see above): a program built with
 * +dotprod needs a CPU with it (Cortex-A55/A75 and later, Apple M1, Neoverse).
 * Byte rows that the kernels mask go through a row on the stack where
 * the mask is not full (loadrow8/16), nothing outside it read.  No interleave4x: with
 * 4 lanes only output rows of 1 or 2 pixels would take the 1x1 family's
 * gathers (simd_qconv.c, qc_gathers), and AArch64 has no gather; strided
 * 1x1s take the KxK family.
 */
#include "../compiler/cardinal.h"

/* unused: a file gets every helper and its kernels call some */
#define NEON_FN "static inline __attribute__((always_inline, unused)) "
static const char neon_i8_prelude[] =
    "/* The neon int8 helpers (cardinal's codegen/target_neon.c). */\n"
    "#if defined(__AARCH64EB__)\n#error \"the neon int8 kernels are little-endian\"\n#endif\n"
    "/* acc + per 32-bit lane the 4 s8 bytes of a times the 4 s8 bytes of b, exact:\n"
    " * SDOT with the dot-product extension, else 16-bit products (vmull_s8)\n"
    " * summed pairwise into 32 bits (vpaddlq_s16, vpaddq_s32). */\n"
    NEON_FN "int32x4_t cd_neon_dot4(int32x4_t acc, int32x4_t a, int32x4_t b) {\n"
    "#if defined(__ARM_FEATURE_DOTPROD)\n"
    "  return vdotq_s32(acc, vreinterpretq_s8_s32(a), vreinterpretq_s8_s32(b));\n"
    "#else\n"
    "  const int8x16_t x = vreinterpretq_s8_s32(a), w = vreinterpretq_s8_s32(b);\n"
    "  const int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(x), vget_low_s8(w)));\n"
    "  const int32x4_t hi = vpaddlq_s16(vmull_high_s8(x, w));\n"
    "  return vaddq_s32(acc, vpaddq_s32(lo, hi));\n"
    "#endif\n"
    "}\n"
    "/* n (<= 4) bytes at x, zeros after them; nothing else read. */\n"
    NEON_FN "uint8x8_t cd_neon_load4n(const uint8_t *x, int n) {\n"
    "  uint32_t q = 0;\n  memcpy(&q, x, (size_t)n);\n  return vreinterpret_u8_u32(vdup_n_u32(q));\n"
    "}\n"
    "/* lo lane i: byte i of r0, r1, r2, r3 (i < 4); hi: byte 4 + i. */\n"
    NEON_FN "void cd_neon_il4x2(uint8x8_t r0, uint8x8_t r1, uint8x8_t r2, uint8x8_t r3, "
    "int32x4_t *lo, int32x4_t *hi) {\n"
    "  const uint16x8_t a = vreinterpretq_u16_u8(vzip1q_u8(vcombine_u8(r0, r0), vcombine_u8(r1, r1)));\n"
    "  const uint16x8_t b = vreinterpretq_u16_u8(vzip1q_u8(vcombine_u8(r2, r2), vcombine_u8(r3, r3)));\n"
    "  *lo = vreinterpretq_s32_u16(vzip1q_u16(a, b));\n"
    "  *hi = vreinterpretq_s32_u16(vzip2q_u16(a, b));\n"
    "}\n"
    NEON_FN "int32x4_t cd_neon_il4(uint8x8_t r0, uint8x8_t r1, uint8x8_t r2, uint8x8_t r3) {\n"
    "  int32x4_t lo, hi;\n  cd_neon_il4x2(r0, r1, r2, r3, &lo, &hi);\n  (void)hi;\n  return lo;\n"
    "}\n"
    "/* The low bytes of the 4 int32 lanes of v, lane i in byte i. */\n"
    NEON_FN "uint32_t cd_neon_pack4(int32x4_t v) {\n"
    "  const uint8x16_t b = vreinterpretq_u8_s32(v);\n"
    "  return vgetq_lane_u32(vreinterpretq_u32_u8(vuzp1q_u8(vuzp1q_u8(b, b), b)), 0);\n"
    "}\n"
    "/* The low bytes of the first n (<= 4) lanes of v to y. */\n"
    NEON_FN "void cd_neon_store8(void *y, int32x4_t v, unsigned n) {\n"
    "  const uint32_t q = cd_neon_pack4(v);\n"
    "  if (n == 4u)\n    memcpy(y, &q, 4);\n  else\n    memcpy(y, &q, n);\n"
    "}\n"
    "/* The low bytes of the lanes of v in the mask m to y + lane. */\n"
    NEON_FN "void cd_neon_store8m(void *y, int32x4_t v, unsigned m) {\n"
    "  const uint32_t q = cd_neon_pack4(v);\n  int l;\n"
    "  for (l = 0; l < 4; l++)\n"
    "    if (m >> l & 1)\n      ((uint8_t *)y)[l] = (uint8_t)(q >> 8 * l);\n"
    "}\n"
    "/* The bytes [0, w) at x whose bit of m is set into b, a run of bits\n"
    " * (every mask the kernels make) one copy; no other byte of x is read. */\n"
    NEON_FN "void cd_neon_maskcopy(uint8_t *b, const uint8_t *x, uint64_t m, int w) {\n"
    "  const int lo = __builtin_ctzll(m);\n  const uint64_t t = m >> lo;\n  int i;\n"
    "  if ((t & (t + 1)) == 0) {\n    memcpy(b + lo, x + lo, (size_t)(64 - __builtin_clzll(m) - lo));\n"
    "    return;\n  }\n"
    "  for (i = 0; i < w; i++)\n    if (m >> i & 1)\n      b[i] = x[i];\n"
    "}\n"
    "/* 8 bytes: those at x whose bit of m is set, the fill's elsewhere. */\n"
    NEON_FN "uint8x8_t cd_neon_loadrow8(const uint8_t *x, uint64_t m, uint8x8_t fill) {\n"
    "  uint8_t b[8];\n  m &= 0xffu;\n"
    "  if (m == 0xffu)\n    return vld1_u8(x);\n  if (m == 0)\n    return fill;\n"
    "  vst1_u8(b, fill);\n  cd_neon_maskcopy(b, x, m, 8);\n  return vld1_u8(b);\n"
    "}\n"
    "/* loadrow8 of 16 bytes. */\n"
    NEON_FN "uint8x16_t cd_neon_loadrow16(const uint8_t *x, uint64_t m, uint8x16_t fill) {\n"
    "  uint8_t b[16];\n  m &= 0xffffu;\n"
    "  if (m == 0xffffu)\n    return vld1q_u8(x);\n  if (m == 0)\n    return fill;\n"
    "  vst1q_u8(b, fill);\n  cd_neon_maskcopy(b, x, m, 16);\n  return vld1q_u8(b);\n"
    "}\n\n";

static const char *neon_row(CWriter *w, const char *r, int n) {
  return r ? arena_printf(w->arena, "cd_neon_load4n(%s, %d)", r, n < 4 ? n : 4) : "vdup_n_u8(0)";
}

/* interleave4: 4 bytes of each row (fewer copied into a zeroed word),
 * bytes zipped to pairs, pairs to quads. */
static const char *il4_neon(CWriter *w, const char *const rows[4], int n) {
  cw(w, "const int32x4_t il = cd_neon_il4(%s, %s, %s, %s);\n", neon_row(w, rows[0], n),
     neon_row(w, rows[1], n), neon_row(w, rows[2], n), neon_row(w, rows[3], n));
  return "il";
}

/* interleave4x2 of four 8-byte rows: bytes 0-3 and 4-7 as quads. */
static void il4x2_neon(CWriter *w, const char *const rows[4], const char *out[2]) {
  const char *r[4];
  for (int k = 0; k < 4; k++)
    r[k] = rows[k] ? rows[k] : "vdup_n_u8(0)";
  cw(w, "int32x4_t ilx0, ilx1;\ncd_neon_il4x2(%s, %s, %s, %s, &ilx0, &ilx1);\n", r[0], r[1],
     r[2], r[3]);
  out[0] = "ilx0";
  out[1] = "ilx1";
}

static const char *bcast_neon(CWriter *w, int cg, int j, const char *x) {
  if (cg == 1)
    return x;
  if (cg == 2)
    return arena_printf(w->arena, "%s(%s, %s)", j ? "vtrn2q_f32" : "vtrn1q_f32", x, x);
  return arena_printf(w->arena, "vdupq_laneq_f32(%s, %d)", x, j);
}

const Target target_neon = {
    .name = "neon",
    .block = 4,
    .nregs = 32,
    .l1 = 64 << 10,
    .l2 = 1 << 20,
    .isa_attr = "",
    .include = "#if !defined(__aarch64__)\n#error \"built for target neon: compile it for "
               "AArch64, or rebuild with --target scalar\"\n#endif\n#include <arm_neon.h>\n",
    .cpu_features = 0,
    .cc_check = "defined(__aarch64__)",
    .f32 = {
        .dtype = DT_FLOAT,
        .lanes = 4,
        .vtype = "float32x4_t",
        .mtype = "uint32x4_t",
        .load = "vld1q_f32($0)",
        .store = "vst1q_f32($0, $1)",
        .set1 = "vdupq_n_f32($0)",
        .zero = "vdupq_n_f32(0.0f)",
        .add = "vaddq_f32($0, $1)",
        .sub = "vsubq_f32($0, $1)",
        .mul = "vmulq_f32($0, $1)",
        .div = "vdivq_f32($0, $1)",
        .fma = "vfmaq_f32($2, $0, $1)",
        .max = "vmaxq_f32($0, $1)", /* FMAX: NaN in either gives NaN */
        .min = "vminq_f32($0, $1)",
        .maxnan = "vmaxq_f32($0, $1)",
        .sqrt = "vsqrtq_f32($0)",
        .abs = "vabsq_f32($0)",
        .round = "vrndnq_f32($0)",
        .lt = "vcltq_f32($0, $1)",
        .unord = "vmvnq_u32(vandq_u32(vceqq_f32($0, $0), vceqq_f32($1, $1)))",
        .blend = "vbslq_f32($0, $1, $2)",
        .ldexp = "vmulq_f32($0, vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32($1), "
                 "vdupq_n_s32(127)), 23)))",
        .getexp = "vsubq_f32(vcvtq_f32_u32(vshrq_n_u32(vreinterpretq_u32_f32($0), 23)), "
                  "vdupq_n_f32(127.0f))",
        .getmant = "vreinterpretq_f32_u32(vorrq_u32(vandq_u32(vreinterpretq_u32_f32($0), "
                   "vdupq_n_u32(0x007fffff)), vdupq_n_u32(0x3f800000)))",
    },
    /* 8-bit integers: s8 x s8 dot products of four bytes a 32-bit lane,
     * SDOT or its exact widening form (see above). */
    .i8 = {
        .dtype = DT_UINT8,
        .lanes = 4,
        .vtype = "int32x4_t",
        .mtype = "uint32x4_t",
        .load = "vld1q_s32((const int32_t *)($0))",
        .store = "vst1q_s32((int32_t *)($0), $1)",
        .set1 = "vdupq_n_s32($0)",
        .zero = "vdupq_n_s32(0)",
        .add = "vaddq_s32($0, $1)",
        .sub = "vsubq_s32($0, $1)",
        .mul = "vmulq_s32($0, $1)",
        .dot4 = "cd_neon_dot4($0, $1, $2)",
        .dot_s8 = 1,
        .xor_ = "veorq_s32($0, $1)",
        .cvtf = "vcvtq_f32_s32($0)",
        .cvti = "vcvtq_s32_f32($0)",
        .cvtrn = "vcvtnq_s32_f32($0)", /* FCVTNS: to nearest, ties to even */
        .store8 = "cd_neon_store8($0, $1, $2)",
        .widen8 = "vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8("
                  "cd_neon_load4n((const uint8_t *)($0), 4)))))",
        .interleave4 = il4_neon,
        .rtype2 = "uint8x8_t",
        .rtype4 = "uint8x16_t",
        .loadrow2 = "cd_neon_loadrow8($0, $1, vdup_n_u8((uint8_t)($2)))",
        .loadrow4 = "cd_neon_loadrow16($0, $1, vdupq_n_u8((uint8_t)($2)))",
        .evens = "vmovn_u16(vreinterpretq_u16_u8($0))",
        .odds = "vshrn_n_u16(vreinterpretq_u16_u8($0), 8)",
        .alignr = "vextq_s32($1, $0, $2)",
        .rfill2 = "vdup_n_u8((uint8_t)($0))",
        .loadrow2m = "cd_neon_loadrow8($0, $1, $2)",
        .store8m = "cd_neon_store8m($0, $1, $2)",
        .interleave4x2 = il4x2_neon,
        .prelude = neon_i8_prelude,
    },
    .group_bcast = bcast_neon,
};
