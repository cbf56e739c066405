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
 */
#include "cardinal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
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
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return false;
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
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

bool cd_bench(CompileJob *j, const char *input, bool peer, Diag *d) {
  Graph *g = cd_load_model(j, NULL, NULL, d);
  if (!g)
    return false;
  float *x = cd_model_input(g, input, d);
  bool ok = x != NULL;
  float **outs = calloc((size_t)g->noutputs + 1, sizeof(float *));
  CD_ASSERT(outs);
  const char *target = g->target->name;
  int64_t n = ok ? value_numel(&g->values[g->inputs[0]]) : 0;
  if (ok) {
    fprintf(stderr, "cardinal bench: building %s for %s, then %d runs...\n", j->model, target,
            j->runs);
    const float *ins[1] = {x};
    ok = cd_run_generated(j, g, ins, outs, d);
  }
  if (ok) {
    fflush(stderr);
    int T = j->threads > 1 ? j->threads : 1;
    printf("model %s, target %s, %d thread%s, %d runs\n", j->model, target, T, T > 1 ? "s" : "",
           j->runs);
    printf("cardinal      %9.3f ms median (min %.3f, max %.3f)\n", j->ms_median, j->ms_min,
           j->ms_max);
    const char *ext = strrchr(j->model, '.');
    const char *why = "the model is not ONNX";
    /* Cut by --outputs, the model Cardinal runs is not the file's: ONNX
     * Runtime would time the whole of it. */
    double o = peer && ext && !strcmp(ext, ".onnx") && !j->noutput_names
                   ? ort_ms(j->model, x, n, j->runs, j->threads > 1 ? j->threads : 1, &why)
                   : -1;
    if (!peer)
      why = "--no-peer";
    else if (j->noutput_names)
      why = "--outputs cuts the graph, and ONNX Runtime would time the whole model";
    if (o > 0) {
      printf("onnxruntime   %9.3f ms median (%d intra-op thread%s, same input)\n", o,
             j->threads > 1 ? j->threads : 1, j->threads > 1 ? "s" : "");
      printf("ratio cardinal/onnxruntime %.2f\n", j->ms_median / o);
    } else {
      printf("onnxruntime   not measured: %s\n", why);
    }
  }
  for (int k = 0; k < g->noutputs; k++)
    free(outs[k]);
  free(outs);
  free(x);
  graph_free(g);
  return ok;
}
