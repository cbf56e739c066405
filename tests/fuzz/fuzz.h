/*
 * fuzz.h — what the libFuzzer targets (tests/fuzz/fuzz_*.c) share: the
 * input written to a file (every reader takes a path) in a per-process
 * folder on tmpfs, and limits small enough that the fuzzer's own (2 GB of
 * memory, 10 s an input) only trip on a bug: a budget that does not hold,
 * not a budget that is merely large.
 *
 * Run them all with scripts/fuzz.sh (README, "Fuzzing").
 */
#ifndef FUZZ_H
#define FUZZ_H

#include "cardinal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const Limits fuzz_limits = { /* a tenth of the defaults' time, at sanitizer speed */
    .tensor_elements = INT32_MAX,
    .tensor_bytes = 64 << 20,
    .nodes = 1 << 12,
    .fold_work = 1 << 22,
    .fold_bytes = 16 << 20,
    .code_bytes = 4 << 20,
    .param_bytes = 16 << 20,
    .dsl_steps = 1 << 19,
    .dsl_value_bytes = 16 << 20,
};

/* This process's folder: /dev/shm when there is one (no disk I/O). */
static const char *fuzz_dir(void) {
  static char dir[96];
  if (!dir[0]) {
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/cardinal-fuzz-%d", base, (int)getpid());
    mkdir(dir, 0700);
  }
  return dir;
}

/* Writes data to DIR/name; returns the path (static). */
static const char *fuzz_file(const char *name, const uint8_t *data, size_t size) {
  static char path[160];
  snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f)
    abort();
  if (size)
    fwrite(data, 1, size, f);
  fclose(f);
  return path;
}

/* The whole pipeline on a model file: load, infer, passes with the
 * verifier, schedule, plan, emit (to tmpfs), for a target picked by the
 * input's hash, so every emitter (scalar, avx2, avx512, neon) is reached. */
static inline void fuzz_compile(const char *path, const uint8_t *data, size_t size) {
  static const char *targets[4] = {"scalar", "avx2", "avx512", "neon"};
  char out[200];
  snprintf(out, sizeof out, "%s/out", fuzz_dir());
  CompileJob j = {.model = path, .out_dir = out, .name = "fuzz", .verify = true,
                  .limits = &fuzz_limits, .target = targets[cd_hash_bytes(0, data, size) % 4]};
  Diag d = {.quiet = true, .file = path};
  Graph *g = NULL;
  if (cd_compile(&j, &g, &d))
    graph_free(g);
  sb_free(&d.log);
}

#endif
