/*
 * target.c — the list of targets, `native`, and the templating of vector
 * operations.  A target is a table (codegen/target_<name>.c); the generic
 * micro-kernel emitters (codegen/simd_*.c) write every vector operation as
 * cw_op(w, t->f32.fma, a, b, c), so a new ISA is a new table.
 *
 * `native` is the best target the compiling host runs: avx512 (without
 * AVX-512 VNNI: avx512_novnni), else avx2 on x86-64; neon on AArch64;
 * scalar elsewhere.
 */
#include "../compiler/cardinal.h"

#include <string.h>

static const Target *const targets[] = {&target_scalar, &target_avx2, &target_avx512,
                                        &target_avx512_novnni, &target_neon};

static const Target *native(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl")
               ? &target_avx512
               : &target_avx512_novnni;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return &target_avx2;
  return &target_scalar;
#elif defined(__aarch64__)
  return &target_neon;
#else
  return &target_scalar;
#endif
}

const Target *target_find(const char *name) {
  if (!strcmp(name, "native"))
    return native();
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
    if (!strcmp(targets[i]->name, name))
      return targets[i];
  return NULL;
}

const char *target_names(void) { return "scalar, avx2, avx512, avx512_novnni, neon, native"; }

bool target_i8_wide(const Target *t) { return t->nregs >= 32 && t->i8.lanes >= 16; }

const VecOps *target_i8_f32(const Target *t) { return t->i8.fops ? t->i8.fops : &t->f32; }

const VecOps *target_vec(const Target *t, DType dt) {
  if (dt == DT_FLOAT && t->f32.lanes > 1)
    return &t->f32;
  if ((dt == DT_UINT8 || dt == DT_INT8 || dt == DT_INT32) && t->i8.lanes > 1)
    return &t->i8; /* its lanes are int32 sums of bytes */
  return NULL;
}
