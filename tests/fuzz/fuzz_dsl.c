/*
 * fuzz_dsl.c — libFuzzer target: a .nx program through the lexer, the
 * parser, the evaluator (with its limits on depth, stack, steps, nodes and
 * parameters) and then the whole pipeline, as fuzz_onnx.c.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_compile(fuzz_file("model.nx", data, size), data, size);
  return 0;
}
