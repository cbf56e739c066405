/*
 * fuzz_tensor.c — libFuzzer target: the tensor files `run --input` and
 * `--freeze` read.  The first byte picks the format: 0 .npy, 1 ONNX
 * TensorProto .pb, anything else raw float32; the rest is the file.  A
 * tensor read must hold exactly its shape's bytes (every one is read).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const char *name = data[0] == 0 ? "t.npy" : data[0] == 1 ? "t.pb" : "t.bin";
  HostTensor t;
  Diag d = {.quiet = true};
  if (tensor_read(fuzz_file(name, data + 1, size - 1), &t, &d)) {
    size_t n = (size_t)tensor_numel(&t) * dtype_size(t.dtype);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++)
      sink ^= ((const uint8_t *)t.data)[i];
    (void)sink;
    tensor_free(&t);
  }
  sb_free(&d.log);
  return 0;
}
