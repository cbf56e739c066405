/*
 * target_scalar.c — the portable target: C99 loops with constant shapes,
 * no intrinsics, any compiler, any CPU.  Every node runs its op's scalar
 * kernel (compiler/ops/); -O3 vectorises what it can.  It is also what
 * every other target falls back to for what it lacks.
 */
#include "../compiler/cardinal.h"

const Target target_scalar = {
    .name = "scalar",
    .block = 1,
    .nregs = 16,
    .l1 = 32 << 10,
    .l2 = 512 << 10,
    .isa_attr = "",
    .include = "",
    .cpu_features = 0,
    .cc_check = "1",
};
