/* Runs the two models of tests/e2e/package on one input:
 *   app IN.f32 NET_OUT.f32 SECOND_OUT.f32
 * net with a workspace of its own (and its weights blob when built with
 * WEIGHTS blob), second with its static workspace (NULL). */
#include "net.h"
#include "second.h"

#include <stdio.h>
#include <stdlib.h>

_Static_assert(NET_INPUT0_SIZE == SECOND_INPUT0_SIZE, "one input for both");

static int save(const char *path, const float *y, size_t n) {
  FILE *f = fopen(path, "wb");
  return !f || fwrite(y, sizeof *y, n, f) != n || fclose(f) != 0;
}

int main(int argc, char **argv) {
  static float x[NET_INPUT0_SIZE], y[NET_OUTPUT0_SIZE], z[SECOND_OUTPUT0_SIZE];
  const float *in[1] = {x};
  float *out[1] = {y}, *out2[1] = {z};
  void *ws = cd_aligned_alloc(NET_WORKSPACE_SIZE);
  FILE *f = argc == 4 ? fopen(argv[1], "rb") : NULL;
  int rc;
  if (!f || !ws || fread(x, sizeof *x, NET_INPUT0_SIZE, f) != NET_INPUT0_SIZE) {
    fprintf(stderr, "usage: app IN.f32 NET_OUT.f32 SECOND_OUT.f32\n");
    return 2;
  }
  fclose(f);
#ifdef NET_BLOB
  {
    void *blob;
    size_t size;
    if ((rc = cd_load_file(NET_BLOB, &blob, &size)) != CD_OK ||
        (rc = net_set_weights(blob, size)) != CD_OK) {
      fprintf(stderr, "app: %s: %s\n", NET_BLOB, cd_strerror(rc));
      return 1;
    }
  }
#endif
  if ((rc = net_run(in, out, ws)) != CD_OK || (rc = second_run(in, out2, NULL)) != CD_OK) {
    fprintf(stderr, "app: %s\n", cd_strerror(rc));
    return 1;
  }
  printf("net: %s, %d thread(s), weights %s; second: weights %s\n", NET_TARGET, NET_THREADS,
         NET_WEIGHTS_MODE, SECOND_WEIGHTS_MODE);
  cd_free(ws);
  return save(argv[2], y, NET_OUTPUT0_SIZE) || save(argv[3], z, SECOND_OUTPUT0_SIZE);
}
