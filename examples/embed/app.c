/*
 * app.c — embedding a model compiled by Cardinal.
 *
 *   cardinal build model.onnx -o net_out --name net
 *   cc -O2 app.c -Inet_out net_out/libnet.a -lm -o app
 *   ./app [INPUT.f32 [OUTPUT.f32]]
 *
 * Everything the model needs is in net.h: the sizes of the inputs and
 * outputs, the workspace size, and net_run.  The application owns all
 * memory; the generated code allocates nothing.
 */
#define _POSIX_C_SOURCE 199309L
#include "net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  const size_t nin = net_input_size[0], nout = net_output_size[0];
  float *x = malloc(nin * sizeof *x), *y = malloc(nout * sizeof *y);
  void *ws = cd_aligned_alloc(NET_WORKSPACE_SIZE);
  size_t i;
  int rc, best = 0, r;
  double t0, ms = 1e30;
  if (!x || !y || !ws)
    return 1;
  if (argc > 1) {
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(x, sizeof *x, nin, f) != nin) {
      fprintf(stderr, "app: %s must hold %zu float32 values\n", argv[1], nin);
      return 1;
    }
    fclose(f);
  } else {
    for (i = 0; i < nin; i++)
      x[i] = (float)sin(0.37 * (double)i); /* the same default input as ort_time.js */
  }
#if !NET_WEIGHTS_EMBEDDED
  {
    void *blob;
    size_t size;
    if ((rc = cd_load_file("net.weights", &blob, &size)) != CD_OK ||
        (rc = net_set_weights(blob, size)) != CD_OK) {
      fprintf(stderr, "app: weights: %s\n", cd_strerror(rc));
      return 1;
    }
  }
#endif
  for (r = 0; r < 5; r++) { /* the best of five runs */
    const float *in[1];
    float *out[1];
    in[0] = x;
    out[0] = y;
    t0 = now_ms();
    rc = net_run(in, out, ws);
    if (rc != CD_OK) {
      fprintf(stderr, "app: net_run: %s\n", cd_strerror(rc));
      return 1;
    }
    if (now_ms() - t0 < ms)
      ms = now_ms() - t0;
  }
  for (i = 1; i < nout; i++)
    if (y[i] > y[best])
      best = (int)i;
  printf("%s: %zu outputs, arg-max %d (%.5g), %.3f ms per run (best of 5)\n",
         net_output_name[0], nout, best, y[best], ms);
  if (argc > 2) {
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(y, sizeof *y, nout, f) != nout)
      return 1;
    fclose(f);
  }
  cd_free(ws);
  free(x);
  free(y);
  return 0;
}
