/*
 * fuzz_safetensors.c — libFuzzer target: the safetensors reader.  Every
 * tensor it accepts must lie inside the file (its first and last bytes are
 * read, so ASan sees a view past the end) and be found by its name.
 */
#include "fuzz.h"
#include "dsl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  SafeTensors st;
  Diag d = {.quiet = true};
  volatile uint8_t sink = 0;
  if (safetensors_open(&st, fuzz_file("w.safetensors", data, size), &d)) {
    for (int i = 0; i < st.n; i++) {
      const StTensor *t = safetensors_find(&st, st.t[i].name);
      if (!t || strcmp(t->name, st.t[i].name) != 0)
        abort();
      if (t->bytes)
        sink ^= t->data[0] ^ t->data[t->bytes - 1];
    }
    safetensors_close(&st);
  }
  (void)sink;
  sb_free(&d.log);
  return 0;
}
