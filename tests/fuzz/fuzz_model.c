/*
 * fuzz_model.c — a libFuzzer target for everything a model file reaches:
 * the ONNX loader or the DSL frontend (the first byte picks), shape
 * inference, the default passes with the verifier, the memory planner and
 * the C emitter.  Any input must end in a clean error or a compiled model;
 * a crash, a sanitizer report or a failed internal assertion is a bug.
 *
 *   cmake -B fuzz -DCMAKE_C_COMPILER=clang -DCARDINAL_FUZZ=ON && cmake --build fuzz
 *   ./fuzz/tests/fuzz_model -max_total_time=60 tests/fuzz/corpus
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  static char dir[64];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/cardinal-fuzz-%d", (int)getpid());
    cd_mkdir_p(dir);
  }
  bool dsl = data[0] & 1;
  char path[128], out[128];
  snprintf(path, sizeof path, "%s/model.%s", dir, dsl ? "nx" : "onnx");
  snprintf(out, sizeof out, "%s/out", dir);
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  fwrite(data + 1, 1, size - 1, f);
  fclose(f);
  CompileJob j = {.model = path, .out_dir = out, .name = "fuzz", .verify = true};
  Diag d = {.quiet = true, .file = path};
  Graph *g = NULL;
  if (cd_compile(&j, &g, &d))
    graph_free(g);
  sb_free(&d.log);
  return 0;
}
