/*
 * bf16_probe.c -- whether bf16 pays on this core without AMX (issue "AMX
 * tiles and bf16"): the peak of fp32 FMAs, of AVX-512 BF16's vdpbf16ps
 * (2 bf16 products a lane into fp32) and of VNNI's vpdpbusd, then a 1x1
 * conv's register tile (NCHW16c input, C -> M at P pixels) in fp32 FMAs
 * (6 pixels x 4 vectors, as Cardinal's blocked kernel) beside the same
 * tile with bf16 input and weights (channel pairs adjacent, the weights in
 * pairs per output lane) accumulating in fp32 with vdpbf16ps, and how far
 * apart their outputs are (both from the same bf16-rounded values, so only
 * the order of the sums differs).  Not a test; a measurement to read:
 *
 *   cc -O3 -march=native bench/bf16_probe.c -o bf16_probe -lm && ./bf16_probe
 *
 * Exits 77 on a CPU without AVX-512 BF16.  On a Zen 4 EPYC (2026-12-08,
 * gcc 12 and clang 14 alike): fp32 115-117 GFLOP/s, bf16 228-234, int8
 * 451-467 GOP/s; the 1x1 tiles 114-116 against 229-233 GFLOP/s (1024 -> 960
 * at 192 pixels, 2.0x) and 110-113 against 218-224 (256 -> 960 at 3120
 * pixels, 1.9-2.0x), outputs within 6e-7 of their magnitude.  On an Intel
 * Xeon with AMX the issue measured vdpbf16ps at half the fp32 rate: there
 * bf16 pays only through AMX tiles.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx512vnni")))
#define NACC 12 /* independent accumulators: past the FMA latency times its ports */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* fp32 -> bf16, rounded to nearest even (no NaN in here). */
static uint16_t to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

TGT static void peaks(void) {
  const long it = 100000000 / NACC;
  __m512 a[NACC];
  __m512 x = _mm512_set1_ps(1.0001f), y = _mm512_set1_ps(0.9999f);
  for (int i = 0; i < NACC; i++)
    a[i] = _mm512_setzero_ps();
  double t0 = now();
  for (long k = 0; k < it; k++) {
    for (int i = 0; i < NACC; i++)
      a[i] = _mm512_fmadd_ps(x, y, a[i]);
    __asm__ volatile("" : "+v"(x));
  }
  double tf = now() - t0;
  __m512bh xb = (__m512bh)_mm512_set1_epi32(0x3f803f80);
  t0 = now();
  for (long k = 0; k < it; k++) {
    for (int i = 0; i < NACC; i++)
      a[i] = _mm512_dpbf16_ps(a[i], xb, xb);
    __asm__ volatile("" : "+v"(xb));
  }
  double tb = now() - t0;
  __m512i ai[NACC], xi = _mm512_set1_epi32(0x01010101);
  for (int i = 0; i < NACC; i++)
    ai[i] = _mm512_setzero_si512();
  t0 = now();
  for (long k = 0; k < it; k++) {
    for (int i = 0; i < NACC; i++)
      ai[i] = _mm512_dpbusd_epi32(ai[i], xi, xi);
    __asm__ volatile("" : "+v"(xi));
  }
  double ti = now() - t0;
  float s = 0;
  for (int i = 0; i < NACC; i++)
    s += _mm512_reduce_add_ps(a[i]) + (float)_mm512_reduce_add_epi32(ai[i]);
  printf("peak, one core: fp32 FMA %.1f GFLOP/s, bf16 vdpbf16ps %.1f GFLOP/s, "
         "int8 vpdpbusd %.1f GOP/s (%g)\n",
         2.0 * 16 * NACC * it / tf / 1e9, 2.0 * 32 * NACC * it / tb / 1e9,
         2.0 * 64 * NACC * it / ti / 1e9, s);
}

/* x [C/16][P][16] bf16, w [M/16][C/2][16][2] bf16, y [M/16][P][16] f32;
 * 8 pixels x 3 vectors.  M/16 a multiple of 3, P of 8. */
TGT static void tile_bf16(const uint16_t *x, const uint16_t *w, float *y, int C, int M, int P) {
  for (int ob = 0; ob < M / 16; ob += 3)
    for (int p0 = 0; p0 < P; p0 += 8) {
      __m512 a[8][3];
      for (int i = 0; i < 8; i++)
        for (int v = 0; v < 3; v++)
          a[i][v] = _mm512_setzero_ps();
      for (int cb = 0; cb < C / 16; cb++) {
        const uint16_t *xr = x + ((size_t)cb * P + p0) * 16;
        const uint16_t *wk = w + ((size_t)ob * (C / 2) + cb * 8) * 32;
        for (int k = 0; k < 8; k++) {
          __m512bh wv[3];
          for (int v = 0; v < 3; v++)
            wv[v] = (__m512bh)_mm512_loadu_si512(wk + (size_t)v * (C / 2) * 32 + k * 32);
          for (int i = 0; i < 8; i++) {
            int32_t pair;
            memcpy(&pair, xr + i * 16 + 2 * k, 4);
            __m512bh xv = (__m512bh)_mm512_set1_epi32(pair);
            for (int v = 0; v < 3; v++)
              a[i][v] = _mm512_dpbf16_ps(a[i][v], xv, wv[v]);
          }
        }
      }
      for (int i = 0; i < 8; i++)
        for (int v = 0; v < 3; v++)
          _mm512_storeu_ps(y + ((size_t)(ob + v) * P + p0 + i) * 16, a[i][v]);
    }
}

/* x [C/16][P][16] f32, w [M/16][C][16] f32; 6 pixels x 4 vectors.  M/16 a
 * multiple of 4, P of 6. */
TGT static void tile_f32(const float *x, const float *w, float *y, int C, int M, int P) {
  for (int ob = 0; ob < M / 16; ob += 4)
    for (int p0 = 0; p0 < P; p0 += 6) {
      __m512 a[6][4];
      for (int i = 0; i < 6; i++)
        for (int v = 0; v < 4; v++)
          a[i][v] = _mm512_setzero_ps();
      for (int cb = 0; cb < C / 16; cb++)
        for (int k = 0; k < 16; k++) {
          __m512 wv[4];
          for (int v = 0; v < 4; v++)
            wv[v] = _mm512_loadu_ps(w + ((size_t)(ob + v) * C + cb * 16 + k) * 16);
          for (int i = 0; i < 6; i++) {
            __m512 xv = _mm512_set1_ps(x[((size_t)cb * P + p0 + i) * 16 + k]);
            for (int v = 0; v < 4; v++)
              a[i][v] = _mm512_fmadd_ps(xv, wv[v], a[i][v]);
          }
        }
      for (int i = 0; i < 6; i++)
        for (int v = 0; v < 4; v++)
          _mm512_storeu_ps(y + ((size_t)(ob + v) * P + p0 + i) * 16, a[i][v]);
    }
}

static void conv1x1(int C, int M, int P) {
  uint16_t *xb = malloc((size_t)C * P * 2), *wb = malloc((size_t)C * M * 2);
  float *xf = malloc((size_t)C * P * 4), *wf = malloc((size_t)C * M * 4);
  float *yb = malloc((size_t)M * P * 4), *yf = malloc((size_t)M * P * 4);
  if (!xb || !wb || !xf || !wf || !yb || !yf) {
    fprintf(stderr, "bf16_probe: out of memory\n");
    exit(1);
  }
  srand(1);
  for (int c = 0; c < C; c++)
    for (int p = 0; p < P; p++) {
      size_t i = ((size_t)(c / 16) * P + p) * 16 + c % 16;
      xb[i] = to_bf16(rand() / (float)RAND_MAX - 0.5f);
      xf[i] = from_bf16(xb[i]);
    }
  for (int m = 0; m < M; m++)
    for (int c = 0; c < C; c++) {
      uint16_t h = to_bf16(rand() / (float)RAND_MAX - 0.5f);
      wb[((size_t)(m / 16) * (C / 2) + c / 2) * 32 + (m % 16) * 2 + c % 2] = h;
      wf[((size_t)(m / 16) * C + c) * 16 + m % 16] = from_bf16(h);
    }
  double tb = 1e9, tf = 1e9;
  for (int r = 0; r < 20; r++) {
    double t0 = now();
    tile_bf16(xb, wb, yb, C, M, P);
    double t1 = now();
    tile_f32(xf, wf, yf, C, M, P);
    double t2 = now();
    tb = t1 - t0 < tb ? t1 - t0 : tb;
    tf = t2 - t1 < tf ? t2 - t1 : tf;
  }
  double diff = 0, mag = 0;
  for (size_t i = 0; i < (size_t)M * P; i++) {
    diff = fmax(diff, fabs(yb[i] - yf[i]));
    mag = fmax(mag, fabs(yf[i]));
  }
  double flop = 2.0 * C * M * P;
  printf("1x1 %d -> %d at %d pixels: fp32 6x4 %.1f GFLOP/s, bf16 8x3 %.1f GFLOP/s (%.2fx); "
         "outputs within %.1e of their magnitude %.1f\n",
         C, M, P, flop / tf / 1e9, flop / tb / 1e9, tf / tb, diff / mag, mag);
  free(xb), free(wb), free(xf), free(wf), free(yb), free(yf);
}

int main(void) {
  if (!__builtin_cpu_supports("avx512bf16")) {
    printf("bf16_probe: this CPU has no AVX-512 BF16\n");
    return 77;
  }
  peaks();
  conv1x1(1024, 960, 192);  /* ResNeXt-101's layer3 1x1 at 14x14 (P a multiple of 8 and 6) */
  conv1x1(256, 960, 3120);  /* layer1's at 56x56 */
  return 0;
}
