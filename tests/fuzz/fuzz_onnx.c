/*
 * fuzz_onnx.c — libFuzzer target: an ONNX file through the whole pipeline
 * (the protobuf nesting check, protobuf-c, the loader, inference with
 * shape folding, every pass with the verifier, the schedule, the planner,
 * the emitter).  Any input must end in a compiled model or a clean error;
 * a crash, a sanitizer report (UBSan is fatal), a failed internal
 * assertion, a timeout or running out of memory is a bug.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_compile(fuzz_file("model.onnx", data, size), data, size);
  return 0;
}
