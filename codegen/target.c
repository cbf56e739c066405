/*
 * target.c — the list of targets, `native`, and the templating of vector
 * operations.  A target is a table (codegen/target_<name>.c); the generic
 * micro-kernel emitters (codegen/simd_*.c) write every vector operation as
 * vop(e, t->fma, a, b, c), so a new ISA is a new table.
 *
 * `native` is the best target the compiling host runs: avx512, else avx2
 * on x86-64; neon on AArch64; scalar elsewhere.
 */
#include "../compiler/cardinal.h"

#include <string.h>

static const Target *const targets[] = {&target_scalar, &target_avx2, &target_avx512,
                                        &target_neon};

static const Target *native(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return &target_avx512;
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

const char *target_names(void) { return "scalar, avx2, avx512, neon, native"; }

const char *vop(Emitter *e, const char *tmpl, const char *a, const char *b, const char *c) {
  if (e->over) /* past the code budget nothing is written: build nothing either */
    return "";
  const char *args[3] = {a, b, c};
  StrBuf sb = {0};
  for (const char *p = tmpl; *p; p++) {
    if (p[0] == '$' && p[1] >= '0' && p[1] <= '2') {
      const char *s = args[p[1] - '0'];
      CD_ASSERT(s);
      sb_printf(&sb, "%s", s);
      p++;
    } else {
      sb_putn(&sb, p, 1);
    }
  }
  const char *r = arena_strdup(&e->g->arena, sb.buf ? sb.buf : "");
  sb_free(&sb);
  return r;
}
