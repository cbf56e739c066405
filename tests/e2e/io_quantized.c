/*
 * io_quantized.c — `--io quantized` against the default API, bit for bit.
 *
 * Linked with two builds of one QDQ model: fm (the default API: floats in,
 * floats out, quantizing and dequantizing inside) and qm (--io quantized:
 * its input 0 and output 1 are uint8 tensors, the header giving their
 * scale and zero point; output 0 is float in both).  For each input x
 * (the .npy files named on the command line, then synthetic ones reaching
 * past the input's range so the quantization saturates), the harness
 * quantizes x itself from qm.h's constants alone, as ONNX's QuantizeLinear
 * does (divide in float, round half to even, add the zero point,
 * saturate), runs both, and requires:
 *   - output 0 (float in both) the same bits;
 *   - output 1: fm's floats exactly (q - ZERO_POINT) * SCALE of qm's bytes
 *     q (DequantizeLinear), for every element;
 * and writes qm's output bytes to OUT, so the script compares them across
 * targets and compilers.
 * usage: io_quantized OUT FILE.npy...
 */
#include "fm.h"
#include "qm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSYNTH 8

/* qm's input 0 and output 1 are what this test is about: check the header
 * says so, at compile time. */
_Static_assert(QM_INPUT0_QUANTIZED == 1 && QM_OUTPUT1_QUANTIZED == 1, "quantized edges");
_Static_assert(QM_NUM_INPUTS == 1 && QM_NUM_OUTPUTS == 2 && FM_NUM_OUTPUTS == 2, "shape");
_Static_assert(sizeof(QM_INPUT0_TYPE) == 1 && sizeof(QM_OUTPUT1_TYPE) == 1, "bytes");

static void fail(const char *what, int s, long i) {
  fprintf(stderr, "FAIL: %s (input %d, element %ld)\n", what, s, i);
  exit(1);
}

/* QuantizeLinear of x at qm.h's input 0 constants. */
static QM_INPUT0_TYPE quantize(float x) {
  const float lo = (QM_INPUT0_TYPE)-1 > 0 ? 0.0f : -128.0f;
  const float hi = (QM_INPUT0_TYPE)-1 > 0 ? 255.0f : 127.0f;
  float r = rintf(x / QM_INPUT0_SCALE) + (float)QM_INPUT0_ZERO_POINT;
  return (QM_INPUT0_TYPE)(r <= lo ? lo : r >= hi ? hi : r);
}

/* The last n floats of a float32 .npy file (its data: the header precedes). */
static int read_npy(const char *path, float *x, long n) {
  FILE *f = fopen(path, "rb");
  int ok = f && fseek(f, -(long)(n * 4), SEEK_END) == 0 && fread(x, 4, (size_t)n, f) == (size_t)n;
  if (f)
    fclose(f);
  return ok;
}

int main(int argc, char **argv) {
  static float x[QM_INPUT0_SIZE], f0[FM_OUTPUT0_SIZE], f1[FM_OUTPUT1_SIZE];
  static float q0[QM_OUTPUT0_SIZE];
  static QM_INPUT0_TYPE xq[QM_INPUT0_SIZE];
  static QM_OUTPUT1_TYPE q1[QM_OUTPUT1_SIZE];
  void *fws = cd_aligned_alloc(FM_WORKSPACE_SIZE + 1), *qws = cd_aligned_alloc(QM_WORKSPACE_SIZE + 1);
  FILE *out = argc > 1 ? fopen(argv[1], "wb") : NULL;
  int nfiles = argc - 2, distinct = 0, saturated = 0;
  if (!fws || !qws || !out)
    return 4;
  for (int s = 0; s < nfiles + NSYNTH; s++) {
    if (s < nfiles) {
      if (!read_npy(argv[s + 2], x, QM_INPUT0_SIZE))
        fail("cannot read the input", s, -1);
    } else {
      for (long i = 0; i < QM_INPUT0_SIZE; i++)
        x[i] = 1.3f * (float)sin(0.37 * (double)i * (s - nfiles + 1)) + 0.2f;
    }
    for (long i = 0; i < QM_INPUT0_SIZE; i++) {
      xq[i] = quantize(x[i]);
      saturated += xq[i] == 0 || xq[i] == 255;
    }
    const float *fin[1] = {x};
    float *fout[2] = {f0, f1};
    const void *qin[1] = {xq};
    void *qout[2] = {q0, q1};
    memset(q1, 0xa5, sizeof q1);
    if (fm_run(fin, fout, fws) != CD_OK || qm_run(qin, qout, qws) != CD_OK)
      fail("a run failed", s, -1);
    if (memcmp(f0, q0, sizeof f0))
      fail("output 0 (float in both) differs", s, -1);
    for (long i = 0; i < QM_OUTPUT1_SIZE; i++) {
      float dq = (float)((int)q1[i] - QM_OUTPUT1_ZERO_POINT) * QM_OUTPUT1_SCALE;
      if (memcmp(&dq, &f1[i], sizeof dq))
        fail("output 1: the float API's value is not the quantized one, dequantized", s, i);
      distinct += i > 0 && q1[i] != q1[0];
    }
    if (fwrite(q1, 1, sizeof q1, out) != sizeof q1 || fwrite(q0, 1, sizeof q0, out) != sizeof q0)
      return 4;
  }
  if (!distinct || !saturated)
    fail("the inputs do not exercise the outputs' range or the input's saturation", -1, -1);
  printf("ok: %d inputs, quantized API = float API\n", nfiles + NSYNTH);
  return fclose(out) != 0;
}
