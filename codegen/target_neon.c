/*
 * target_neon.c — AArch64 Advanced SIMD: 4 floats a vector, 32 registers.
 * NEON is part of every AArch64 CPU, so no run-time check is needed; the
 * sources carry an #error when compiled for another architecture.
 * group_bcast: a lane duplicate for groups of 4, the transposes trn1/trn2
 * for pairs.
 */
#include "../compiler/cardinal.h"

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
    .group_bcast = bcast_neon,
};
