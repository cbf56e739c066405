/*
 * ab.c — the A/B harness of bench/ab.sh: one model compiled by two builds
 * of Cardinal (names a and b, weights as blobs), linked into one program
 * that runs them in turn, a then b and b then a, so that a slow second of
 * a shared machine falls on both.  Prints each side's median, mean and
 * minimum and the ratio of the medians (b / a), and whether the outputs
 * are the same bits.  Inputs are x[i] = sin(0.37 i), as `cardinal bench`.
 *
 *   cc ab.c -Ia -Ib b/libb.a a/liba.a -lm [-lpthread]
 *   ./a.out A.weights B.weights RUNS
 */
#define _POSIX_C_SOURCE 200809L
#include "a.h"
#include "b.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*RunFn)(const float *const[], float *const[], void *);

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static double timed(RunFn run, const float *const in[], float *const out[], void *ws) {
  double t0 = now_ms();
  if (run(in, out, ws) != CD_OK) {
    fprintf(stderr, "ab: a run failed\n");
    exit(2);
  }
  return now_ms() - t0;
}

static void report(const char *side, double *t, int runs) {
  double sum = 0;
  for (int r = 0; r < runs; r++)
    sum += t[r];
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  printf("%s: median %.3f ms, mean %.3f, min %.3f\n", side, t[runs / 2], sum / runs, t[0]);
}

int main(int argc, char **argv) {
  if (argc != 4 || atoi(argv[3]) < 1) {
    fprintf(stderr, "usage: ab A.weights B.weights RUNS\n");
    return 2;
  }
  int runs = atoi(argv[3]);
  void *wa = NULL, *wb = NULL;
  size_t sa = 0, sb = 0;
  if (cd_load_file(argv[1], &wa, &sa) != CD_OK || cd_load_file(argv[2], &wb, &sb) != CD_OK ||
      a_set_weights(wa, sa) != CD_OK || b_set_weights(wb, sb) != CD_OK) {
    fprintf(stderr, "ab: cannot load the weights\n");
    return 2;
  }
  const float *in[A_NUM_INPUTS];
  float *oa[A_NUM_OUTPUTS], *ob[A_NUM_OUTPUTS];
  for (int k = 0; k < A_NUM_INPUTS; k++) {
    float *x = malloc(a_input_size[k] * sizeof *x);
    if (!x || a_input_size[k] != b_input_size[k])
      return 2;
    for (size_t i = 0; i < a_input_size[k]; i++)
      x[i] = (float)sin(0.37 * (double)i);
    in[k] = x;
  }
  for (int k = 0; k < A_NUM_OUTPUTS; k++) {
    oa[k] = malloc(a_output_size[k] * sizeof(float));
    ob[k] = malloc(b_output_size[k] * sizeof(float));
    if (!oa[k] || !ob[k] || a_output_size[k] != b_output_size[k])
      return 2;
  }
  size_t wsz = A_WORKSPACE_SIZE > B_WORKSPACE_SIZE ? A_WORKSPACE_SIZE : B_WORKSPACE_SIZE;
  void *ws = cd_aligned_alloc(wsz > 0 ? wsz : 64);
  double *ta = malloc(sizeof(double) * (size_t)runs), *tb = malloc(sizeof(double) * (size_t)runs);
  if (!ws || !ta || !tb)
    return 2;
  for (int w = 0; w < 3; w++) { /* warm-up: pools started, pages touched */
    timed(a_run, in, oa, ws);
    timed(b_run, in, ob, ws);
  }
  for (int r = 0; r < runs; r++) {
    if (r % 2 == 0) {
      ta[r] = timed(a_run, in, oa, ws);
      tb[r] = timed(b_run, in, ob, ws);
    } else {
      tb[r] = timed(b_run, in, ob, ws);
      ta[r] = timed(a_run, in, oa, ws);
    }
  }
  int same = 1;
  for (int k = 0; k < A_NUM_OUTPUTS; k++)
    same &= !memcmp(oa[k], ob[k], a_output_size[k] * sizeof(float));
  double ma, mb;
  report("a", ta, runs);
  report("b", tb, runs);
  ma = ta[runs / 2];
  mb = tb[runs / 2];
  printf("b / a: %.3f (medians of %d runs each, taking turns); outputs %s\n", mb / ma, runs,
         same ? "the same bits" : "differ");
  return 0;
}
