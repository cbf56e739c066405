/*
 * cardinal_rt.c — the runtime's helpers (see cardinal_rt.h).  Aligned
 * buffers come from POSIX posix_memalign, so the caller releases them with
 * plain free() (cd_free is the same, kept for programs that call it).
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200112L /* posix_memalign, clock_gettime under -std=c99 */
#endif
#include "cardinal_rt.h"

#include <stdint.h>

#ifndef CARDINAL_RT_NO_LIBC
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#endif

const char *cd_strerror(int code) {
  switch (code) {
  case CD_OK: return "ok";
  case CD_ERR_NULL: return "a required pointer was NULL";
  case CD_ERR_ALIGN: return "buffer is not 64-byte aligned";
  case CD_ERR_WEIGHTS: return "weights missing, from another model, or corrupted";
  case CD_ERR_IO: return "file could not be read";
  case CD_ERR_NOMEM: return "out of memory";
  case CD_ERR_THREADS: return "threads could not start, or the thread count is not the "
                              "one the model was built for";
  case CD_ERR_BUSY: return "the thread pool is busy";
  case CD_ERR_INPUT: return "an integer input holds a value that is not an integer of its type "
                            "(a fraction, NaN, or out of range)";
  case CD_ERR_CPU: return "this CPU lacks the instruction set the model was built for "
                          "(rebuild it with --target scalar or a target this CPU has)";
  default: return "unknown error";
  }
}

static uint64_t le64(const unsigned char *b) {
  return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 |
         (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 | (uint64_t)b[6] << 48 |
         (uint64_t)b[7] << 56;
}

/* Four independent lanes over 32-byte steps (the multiplies overlap), then
 * the lanes, the length and the tail folded into one. */
unsigned long long cd_hash64(const void *p, size_t n) {
  const unsigned char *b = (const unsigned char *)p;
  uint64_t h[4] = {0x9e3779b97f4a7c15u, 0xbf58476d1ce4e5b9u, 0x94d049bb133111ebu,
                   0xd6e8feb86659fd93u}, r;
  size_t i = 0;
  int k;
  for (; i + 32 <= n; i += 32)
    for (k = 0; k < 4; k++) {
      h[k] = (h[k] ^ le64(b + i + 8 * k)) * 0xff51afd7ed558ccdu;
      h[k] ^= h[k] >> 32;
    }
  r = (uint64_t)n;
  for (k = 0; k < 4; k++) {
    r = (r ^ h[k]) * 0xc4ceb9fe1a85ec53u;
    r ^= r >> 29;
  }
  for (; i < n; i++)
    r = (r ^ b[i]) * 0x100000001b3u;
  return r ^ (r >> 32);
}

int cd_weights_ok(const void *p, size_t n, const char *hex) {
  uint64_t h = cd_hash64(p, n);
  int i;
  for (i = 15; i >= 0; i--, h >>= 4)
    if (hex[i] != "0123456789abcdef"[h & 15])
      return 0;
  return 1;
}

static unsigned cd_cpu_mask = ~0u;

void cd_cpu_restrict(unsigned mask) { cd_cpu_mask = mask; }

int cd_cpu_has(unsigned need) {
  unsigned have = 0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  /* libgcc's and compiler-rt's checks include the OS's XSAVE support. */
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    have |= CD_CPU_AVX2;
  if ((have & CD_CPU_AVX2) && __builtin_cpu_supports("avx512f"))
    have |= CD_CPU_AVX512;
  if ((have & CD_CPU_AVX512) && __builtin_cpu_supports("avx512vnni") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    have |= CD_CPU_AVX512VNNI;
#endif
  have &= cd_cpu_mask;
  return (have & need) == need;
}

#ifndef CARDINAL_RT_NO_LIBC /* firmware without malloc or files: no helpers */
void *cd_aligned_alloc(size_t size) {
  void *p = NULL;
  size_t n = size ? size : 1;
  /* Whole 64-byte lines, and no more than an object may hold (PTRDIFF_MAX:
   * pointer differences within it must fit); past that, or where rounding
   * up would wrap, NULL rather than a short block. */
  if (n > (size_t)PTRDIFF_MAX - 63)
    return NULL;
  n = (n + 63) / 64 * 64;
  if (posix_memalign(&p, 64, n) != 0)
    return NULL;
  return p;
}

void cd_free(void *p) { free(p); }

int cd_load_file(const char *path, void **data, size_t *size) {
  FILE *f;
  long n;
  void *buf;
  if (!path || !data || !size)
    return CD_ERR_NULL;
  if (!(f = fopen(path, "rb")))
    return CD_ERR_IO;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return CD_ERR_IO;
  }
  buf = cd_aligned_alloc((size_t)n + 1);
  if (!buf) {
    fclose(f);
    return CD_ERR_NOMEM;
  }
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    return CD_ERR_IO;
  }
  fclose(f);
  *data = buf;
  *size = (size_t)n;
  return CD_OK;
}
#endif

#ifdef CARDINAL_PROFILE
#include <time.h>

double cd_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}
#endif
