/*
 * bench.c — `cardinal bench`: the model's median latency over N runs of the
 * generated code, and, when ONNX Runtime is installed, ONNX Runtime's on the
 * same input in the same run, with the ratio.  Machines differ and are
 * shared, so only numbers measured side by side mean anything.
 *
 * ONNX Runtime is timed by bench/ort_time.js (the binary carries a copy and
 * writes it to a temporary folder) under node, from the npm package
 * onnxruntime-node in $ORT_DIR or /opt/ort; when either is missing, the
 * peer is skipped with a note saying how to install it.
 *
 * The two take turns: `--rounds` R rounds of Cardinal's N runs then ONNX
 * Runtime's N runs (cd_run_generated calls bench_round after each of its
 * runs of the program), so a slow minute on a shared machine falls on
 * both; the medians printed are the medians of the rounds' medians, the
 * ratio the median of the rounds' ratios.
 */
#include "cardinal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern const char cd_ort_script[]; /* bench/ort_time.js */

float *cd_model_input(Graph *g, const char *path, Diag *d) {
  if (g->ninputs != 1) {
    diag_error(d, "needs a model with one input (this one has %d)", g->ninputs);
    return NULL;
  }
  int64_t n = value_numel(&g->values[g->inputs[0]]);
  float *x = malloc(sizeof(float) * (size_t)(n + 1));
  CD_ASSERT(x);
  if (!path) { /* ort_time.js's default input */
    for (int64_t i = 0; i < n; i++)
      x[i] = (float)sin(0.37 * (double)i);
    return x;
  }
  HostTensor t = {0};
  if (!tensor_read(path, &t, d)) {
    free(x);
    return NULL;
  }
  if (t.dtype != DT_FLOAT || tensor_numel(&t) != n) {
    diag_error(d, "%s: the input needs %lld float32 values", path, (long long)n);
    tensor_free(&t);
    free(x);
    return NULL;
  }
  memcpy(x, t.data, sizeof(float) * (size_t)n);
  tensor_free(&t);
  return x;
}

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* Runs argv with stdout to `out`; true on exit status 0. */
static bool run_capture(char *const argv[], const char *out) {
  int status = 0;
  return cd_spawn_wait(argv, out, NULL, &status) == 0 && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

/* ONNX Runtime's median ms on the model and input x, or -1 with *why set. */
static double ort_ms(const char *model, const float *x, int64_t n, int runs, int threads,
                     const char **why) {
  const char *dir = getenv("ORT_DIR");
  char mod[4096];
  snprintf(mod, sizeof mod, "%s/node_modules/onnxruntime-node", dir && *dir ? dir : "/opt/ort");
  if (!exists(mod)) {
    *why = "ONNX Runtime is not installed (npm install --prefix /opt/ort --ignore-scripts "
           "onnxruntime-node@1.30.0, or set ORT_DIR)";
    return -1;
  }
  const char *tmp = getenv("TMPDIR");
  char tdir[4096];
  snprintf(tdir, sizeof tdir, "%s/cardinal-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tdir)) {
    *why = "cannot create a temporary folder";
    return -1;
  }
  char js[4200], in[4200], out[4200], rs[32], ts[16];
  snprintf(js, sizeof js, "%s/ort_time.js", tdir);
  snprintf(in, sizeof in, "%s/in.f32", tdir);
  snprintf(out, sizeof out, "%s/ms.txt", tdir);
  snprintf(rs, sizeof rs, "%d", runs);
  snprintf(ts, sizeof ts, "%d", threads);
  double ms = -1;
  FILE *f = fopen(js, "w");
  bool ok = f && fputs(cd_ort_script, f) >= 0;
  if (f)
    ok = fclose(f) == 0 && ok;
  f = ok ? fopen(in, "wb") : NULL;
  ok = f && fwrite(x, 4, (size_t)n, f) == (size_t)n;
  if (f)
    ok = fclose(f) == 0 && ok;
  char *const argv[] = {"node", js, (char *)model, ts, in, "--runs", rs, NULL};
  if (ok && run_capture(argv, out)) {
    f = fopen(out, "r");
    if (!f || fscanf(f, "%lf", &ms) != 1)
      ms = -1;
    if (f)
      fclose(f);
  }
  if (ms < 0)
    *why = "ONNX Runtime failed on this model (see the message above), or node is missing";
  cd_rm_rf(tdir);
  return ms;
}

/* The rounds of a bench: Cardinal's median in each, and ONNX Runtime's
 * timed right after it (-1 when not measured). */
typedef struct {
  CompileJob *j;
  const char *model;
  const float *x;
  int64_t n;
  bool peer;       /* time ONNX Runtime (cleared when it fails) */
  const char *why; /* why it was not */
  double c[CD_MAX_ROUNDS], o[CD_MAX_ROUNDS], ms_min, ms_max;
  int done;
} Rounds;

static void bench_round(void *ctx, int r, double ms) {
  Rounds *b = ctx;
  CompileJob *j = b->j;
  b->c[r] = ms;
  b->ms_min = r == 0 || j->ms_min < b->ms_min ? j->ms_min : b->ms_min;
  b->ms_max = r == 0 || j->ms_max > b->ms_max ? j->ms_max : b->ms_max;
  b->o[r] = b->peer ? ort_ms(b->model, b->x, b->n, j->runs, j->threads > 1 ? j->threads : 1,
                             &b->why)
                    : -1;
  if (b->o[r] < 0)
    b->peer = false;
  b->done = r + 1;
  if (b->o[r] > 0)
    printf("round %d: cardinal %.3f ms, onnxruntime %.3f ms, ratio %.2f\n", r + 1, ms, b->o[r],
           ms / b->o[r]);
  else
    printf("round %d: cardinal %.3f ms\n", r + 1, ms);
  fflush(stdout);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The median of v[0..n) (n >= 1; the lower middle when n is even). */
static double median(const double *v, int n) {
  double t[CD_MAX_ROUNDS];
  memcpy(t, v, sizeof(double) * (size_t)n);
  qsort(t, (size_t)n, sizeof(double), cmp_double);
  return t[(n - 1) / 2];
}

bool cd_bench(CompileJob *j, const char *input, bool peer, Diag *d) {
  Graph *g = cd_load_model(j, NULL, NULL, d);
  if (!g)
    return false;
  float *x = cd_model_input(g, input, d);
  bool ok = x != NULL;
  float **outs = calloc((size_t)g->noutputs + 1, sizeof(float *));
  CD_ASSERT(outs);
  const char *target = g->target->name;
  int T = j->threads > 1 ? j->threads : 1;
  int R = j->rounds > 1 ? j->rounds : 1;
  CD_ASSERT(R <= CD_MAX_ROUNDS);
  /* Cut by --outputs, the model Cardinal runs is not the file's: ONNX
   * Runtime would time the whole of it. */
  const char *ext = strrchr(j->model, '.');
  Rounds b = {.j = j, .model = j->model, .x = x, .peer = peer, .why = "the model is not ONNX"};
  if (!peer)
    b.why = "--no-peer";
  else if (j->noutput_names)
    b.why = "--outputs cuts the graph, and ONNX Runtime would time the whole model";
  b.peer = peer && ext && !strcmp(ext, ".onnx") && !j->noutput_names;
  if (ok) {
    b.n = value_numel(&g->values[g->inputs[0]]);
    fprintf(stderr, "cardinal bench: building %s for %s, then %d round%s of %d runs%s...\n",
            j->model, target, R, R > 1 ? "s" : "", j->runs,
            b.peer ? " (Cardinal's, then ONNX Runtime's)" : "");
    fflush(stderr);
    printf("model %s, target %s, %d thread%s, %d runs, %d round%s\n", j->model, target, T,
           T > 1 ? "s" : "", j->runs, R, R > 1 ? "s" : "");
    fflush(stdout);
    const float *ins[1] = {x};
    j->after_round = bench_round;
    j->round_ctx = &b;
    ok = cd_run_generated(j, g, ins, outs, d) && b.done == R;
    j->after_round = NULL;
    j->round_ctx = NULL;
  }
  if (ok) {
    double c = median(b.c, R);
    printf("cardinal      %9.3f ms median (min %.3f, max %.3f)\n", c, b.ms_min, b.ms_max);
    if (b.peer) {
      double ratios[CD_MAX_ROUNDS];
      for (int r = 0; r < R; r++)
        ratios[r] = b.c[r] / b.o[r];
      printf("onnxruntime   %9.3f ms median (%d intra-op thread%s, same input)\n", median(b.o, R),
             T, T > 1 ? "s" : "");
      printf("ratio cardinal/onnxruntime %.2f\n", median(ratios, R));
    } else {
      printf("onnxruntime   not measured: %s\n", b.why);
    }
  }
  for (int k = 0; k < g->noutputs; k++)
    free(outs[k]);
  free(outs);
  free(x);
  graph_free(g);
  return ok;
}
