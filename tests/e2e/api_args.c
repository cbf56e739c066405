/*
 * api_args.c — a model with two inputs and two outputs (name net) called
 * wrongly, one argument at a time: a NULL array, a NULL element of inputs[]
 * or outputs[] in each position, a NULL or misaligned workspace.  Each call
 * must return its error code (CD_ERR_NULL, CD_ERR_ALIGN) before running a
 * kernel, so the outputs keep the bytes they were filled with; then the
 * right call returns CD_OK and writes them.  With --threads N, net_run_part
 * is called the same wrong ways (it checks before its barrier, so one
 * thread suffices).
 *
 *   cc api_args.c -Inet net/libnet.a -lm [-lpthread]
 */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILL 0x5a /* what the outputs hold until a run writes them */

static float *out_buf[NET_NUM_OUTPUTS];
static int fails;

static void expect(int got, int want, const char *what) {
  if (got != want) {
    printf("FAIL: %s: %d (%s), not %d\n", what, got, cd_strerror(got), want);
    fails++;
  }
  for (int k = 0; k < NET_NUM_OUTPUTS && want != CD_OK; k++)
    for (size_t i = 0; i < net_output_size[k] * sizeof(float); i++)
      if (((unsigned char *)out_buf[k])[i] != FILL) {
        printf("FAIL: %s: output %d written before the error\n", what, k);
        fails++;
        break;
      }
}

#if NET_THREADS > 1
static void no_barrier(void *ctx) {
  (void)ctx;
  printf("FAIL: net_run_part reached its barrier with a wrong argument\n");
  exit(1);
}
#endif

/* net_run, and with threads net_run_part, called with these arguments. */
static void call(const float *const *in, float *const *out, void *ws, int want, const char *what) {
  char buf[160];
  expect(net_run(in, out, ws), want, what);
#if NET_THREADS > 1
  snprintf(buf, sizeof buf, "net_run_part, %s", what);
  expect(net_run_part(0, NET_THREADS, in, out, ws, no_barrier, NULL), want, buf);
#else
  (void)buf;
#endif
}

int main(void) {
  static float *in_buf[NET_NUM_INPUTS];
  unsigned char *ws = cd_aligned_alloc(NET_WORKSPACE_SIZE + 64);
  char what[96];
  if (!ws)
    return 2;
  for (int k = 0; k < NET_NUM_INPUTS; k++) {
    in_buf[k] = malloc(net_input_size[k] * sizeof(float));
    for (size_t i = 0; in_buf[k] && i < net_input_size[k]; i++)
      in_buf[k][i] = (float)((i * 7 + (size_t)k) % 13) - 6.0f;
  }
  for (int k = 0; k < NET_NUM_OUTPUTS; k++)
    if ((out_buf[k] = malloc(net_output_size[k] * sizeof(float))))
      memset(out_buf[k], FILL, net_output_size[k] * sizeof(float));
  for (int k = 0; k < NET_NUM_INPUTS; k++)
    if (!in_buf[k])
      return 2;
  for (int k = 0; k < NET_NUM_OUTPUTS; k++)
    if (!out_buf[k])
      return 2;

  const float *in[NET_NUM_INPUTS];
  float *out[NET_NUM_OUTPUTS];
  memcpy(in, in_buf, sizeof in);
  memcpy(out, out_buf, sizeof out);
  call(NULL, out, ws, CD_ERR_NULL, "inputs NULL");
  call(in, NULL, ws, CD_ERR_NULL, "outputs NULL");
  if (NET_WORKSPACE_SIZE > 0)
    call(in, out, NULL, CD_ERR_NULL, "workspace NULL");
  call(in, out, ws + 1, CD_ERR_ALIGN, "workspace misaligned");
  for (int k = 0; k < NET_NUM_INPUTS; k++) {
    in[k] = NULL;
    snprintf(what, sizeof what, "inputs[%d] NULL", k);
    call(in, out, ws, CD_ERR_NULL, what);
    in[k] = in_buf[k];
  }
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) {
    out[k] = NULL;
    snprintf(what, sizeof what, "outputs[%d] NULL", k);
    call(in, out, ws, CD_ERR_NULL, what);
    out[k] = out_buf[k];
  }
  for (int k = 0; k < NET_NUM_INPUTS; k++) /* all of them at once */
    in[k] = NULL;
  call(in, out, ws, CD_ERR_NULL, "every input NULL");
  memcpy(in, in_buf, sizeof in);

  expect(net_run(in, out, ws), CD_OK, "the right call");
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) {
    unsigned char fill[sizeof(float)];
    memset(fill, FILL, sizeof fill);
    if (!memcmp(out_buf[k], fill, sizeof fill)) {
      printf("FAIL: the right call left output %d unwritten\n", k);
      fails++;
    }
  }
  printf("api_args: %d inputs, %d outputs, %d threads: %s\n", NET_NUM_INPUTS, NET_NUM_OUTPUTS,
         NET_THREADS, fails ? "FAILED" : "every wrong call refused, the right one ran");
#if NET_THREADS > 1
  net_shutdown();
#endif
  for (int k = 0; k < NET_NUM_INPUTS; k++)
    free(in_buf[k]);
  for (int k = 0; k < NET_NUM_OUTPUTS; k++)
    free(out_buf[k]);
  free(ws);
  return fails ? 1 : 0;
}
