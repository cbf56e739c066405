/*
 * target_neon.c — AArch64 Advanced SIMD: 4 floats a vector, 32 registers.
 * NEON is part of every AArch64 CPU, so no run-time check is needed; the
 * sources carry an #error when compiled for another architecture.
 * group_bcast: a lane duplicate for groups of 4, the transposes trn1/trn2
 * for pairs.
 */
#include "../compiler/cardinal.h"

static const char *bcast_neon(Emitter *e, int cg, int j, const char *x) {
  if (cg == 1)
    return x;
  if (cg == 2)
    return arena_printf(&e->g->arena, "%s(%s, %s)", j ? "vtrn2q_f32" : "vtrn1q_f32", x, x);
  return arena_printf(&e->g->arena, "vdupq_laneq_f32(%s, %d)", x, j);
}

const Target target_neon = {
    .name = "neon",
    .vec = 4,
    .nregs = 32,
    .l1 = 64 << 10,
    .l2 = 1 << 20,
    .isa_attr = "",
    .include = "#if !defined(__aarch64__)\n#error \"built for target neon: compile it for "
               "AArch64, or rebuild with --target scalar\"\n#endif\n#include <arm_neon.h>\n",
    .cpu_features = 0,
    .cc_check = "defined(__aarch64__)",
    .vtype = "float32x4_t",
    .load = "vld1q_f32($0)",
    .store = "vst1q_f32($0, $1)",
    .set1 = "vdupq_n_f32($0)",
    .zero = "vdupq_n_f32(0.0f)",
    .fma = "vfmaq_f32($2, $0, $1)",
    .add = "vaddq_f32($0, $1)",
    .mul = "vmulq_f32($0, $1)",
    .max = "vmaxq_f32($0, $1)",
    .min = "vminq_f32($0, $1)",
    .group_bcast = bcast_neon,
};
