/*
 * test_quant.c — the quantized ops (ops/quant.c) and integer graph inputs
 * and outputs: each bad quantization parameter refused with a message
 * naming the node and the tensor; the interpreter exact to quant.h's
 * rounding (ties to even, saturation); generated code giving the
 * interpreter's bits on every target this machine runs; integer inputs
 * passed as floats and checked (CD_ERR_INPUT), integer outputs written as
 * floats.
 */
#include "cardinal_rt.h"
#include "onnx_builder.h"
#include "quant.h" /* cd_quantize, cd_dequantize: the caller's side of --io quantized */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { F32 = 1, U8 = 2, I8 = 3, I16 = 5, I32 = 6 }; /* TensorProto.DataType */

static size_t numel_of(int rank, const int64_t *dims) {
  size_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= (size_t)dims[i];
  return n;
}

static void init_f(MB *m, const char *name, int rank, const int64_t *dims, const float *v) {
  mb_init_raw(m, name, F32, rank, dims, v, 4 * numel_of(rank, dims));
}

/* An initializer of 1-byte elements (uint8, int8). */
static void init_b(MB *m, const char *name, int dtype, int rank, const int64_t *dims,
                   const void *v) {
  mb_init_raw(m, name, dtype, rank, dims, v, numel_of(rank, dims));
}

/* Loads and infers file; the log in *d. */
static Graph *load(const char *file, Diag *d, bool *ok) {
  Graph *g = graph_new();
  *ok = onnx_load(g, tu_path(file), d) && graph_infer(g, d);
  return g;
}

/* m (freed) as file must be refused, with a message holding every one of
 * whys[] (NULL-terminated). */
static bool refused_for(MB *m, const char *file, const char *const *whys) {
  CU_ASSERT_FATAL(mb_write(m, tu_path(file)));
  mb_free(m);
  Diag d = {.quiet = true};
  bool ok;
  Graph *g = load(file, &d, &ok);
  bool all = !ok;
  for (int i = 0; whys[i]; i++)
    all = all && tu_log_has(&d, whys[i]);
  if (!all)
    fprintf(stderr, "\n%s: %s: %s; expected '%s'...\n", file, ok ? "loaded" : "refused",
            d.log.buf ? d.log.buf : "(nothing)", whys[0]);
  graph_free(g);
  sb_free(&d.log);
  return all;
}

#define REFUSED(m, file, ...) refused_for(m, file, (const char *const[]){__VA_ARGS__, NULL})

static const int64_t d4[4] = {1, 4, 2, 2}, four[1] = {4}, three[1] = {3};
static const char *const xsz[] = {"x", "s", "z"}, *const y_out[] = {"y"};

/* x float[1,4,2,2] -> QuantizeLinear(x, s, z) -> y, node 'q': s of shape
 * sdims[srank], z (NULL: none) of s's shape; the node in *node. */
static MB *quantize_model(int opset, int srank, const int64_t *sdims, const float *s,
                          int zdtype, const void *z, Onnx__NodeProto **node) {
  MB *m = mb_new(opset);
  mb_input(m, "x", F32, 4, d4);
  init_f(m, "s", srank, sdims, s);
  if (z)
    init_b(m, "z", zdtype, srank, sdims, z);
  Onnx__NodeProto *n = mb_node(m, "QuantizeLinear", "q", z ? 3 : 2, xsz, 1, y_out);
  if (node)
    *node = n;
  mb_output(m, "y");
  return m;
}

/* x of dtype xdtype [1,4,2,2] -> DequantizeLinear(x, s, z) -> y, node 'dq'. */
static MB *dequantize_model(int opset, int xdtype, int srank, const int64_t *sdims,
                            const float *s, int zdtype, const void *z, size_t zbytes) {
  MB *m = mb_new(opset);
  mb_input(m, "x", xdtype, 4, d4);
  init_f(m, "s", srank, sdims, s);
  if (z)
    mb_init_raw(m, "z", zdtype, srank, sdims, z, zbytes);
  mb_node(m, "DequantizeLinear", "dq", z ? 3 : 2, xsz, 1, y_out);
  mb_output(m, "y");
  return m;
}

static void test_bad_scales(void) {
  const uint8_t z = 3;
  const float bad[] = {0.0f, -0.5f, NAN, INFINITY};
  const char *holds[] = {"holds 0;", "holds -0.5;", "holds nan;", "holds inf;"};
  for (int i = 0; i < 4; i++)
    CU_ASSERT(REFUSED(quantize_model(13, 0, NULL, &bad[i], U8, &z, NULL), "bad_scale.onnx",
                      "node 'q' (QuantizeLinear): y_scale 's'", holds[i],
                      "scales must be finite and positive"));
  /* Per axis: the element that is wrong is named. */
  const float s4[4] = {1.0f, 2.0f, 0.0f, 1.0f};
  const uint8_t z4[4] = {0};
  CU_ASSERT(REFUSED(quantize_model(13, 1, four, s4, U8, z4, NULL), "bad_scale4.onnx",
                    "node 'q' (QuantizeLinear): y_scale 's' holds 0 (element 2)"));
  CU_ASSERT(REFUSED(dequantize_model(13, U8, 1, four, s4, U8, z4, 4), "bad_dq_scale.onnx",
                    "node 'dq' (DequantizeLinear): x_scale 's' holds 0 (element 2)"));
  /* Not float32. */
  MB *m = mb_new(13);
  mb_input(m, "x", F32, 4, d4);
  init_b(m, "s", U8, 0, NULL, &z);
  mb_node(m, "QuantizeLinear", "q", 2, xsz, 1, y_out);
  mb_output(m, "y");
  CU_ASSERT(REFUSED(m, "uint8_scale.onnx", "node 'q' (QuantizeLinear): y_scale 's' is uint8; "
                    "scales must be float32"));
  /* A scale computed at run time (a graph input): the fix is named. */
  m = mb_new(13);
  mb_input(m, "x", F32, 4, d4);
  mb_input(m, "s", F32, 0, NULL);
  mb_node(m, "QuantizeLinear", "q", 2, xsz, 1, y_out);
  mb_output(m, "y");
  CU_ASSERT(REFUSED(m, "input_scale.onnx", "node 'q' (QuantizeLinear): y_scale 's' must be a "
                    "constant", "--freeze s=FILE"));
  /* Blocked quantization: a 2-D scale. */
  const int64_t sd2[2] = {2, 2};
  const float s22[4] = {1, 1, 1, 1};
  CU_ASSERT(REFUSED(quantize_model(13, 2, sd2, s22, U8, NULL, NULL), "scale2d.onnx",
                    "node 'q' (QuantizeLinear): y_scale 's' is [2,2]; a scale is a scalar or "
                    "a 1-D tensor"));
}

static void test_bad_zero_points(void) {
  const float s = 0.5f, s4[4] = {1, 1, 1, 1};
  /* A zero point of another type than x. */
  const int8_t zi = -3;
  CU_ASSERT(REFUSED(dequantize_model(13, U8, 0, NULL, &s, I8, &zi, 1), "zp_type.onnx",
                    "node 'dq' (DequantizeLinear): x_zero_point 'z' is int8, what it "
                    "quantizes uint8"));
  /* A zero point whose shape is not its scale's. */
  const uint8_t z3[3] = {1, 2, 3};
  MB *m = mb_new(13);
  mb_input(m, "x", F32, 4, d4);
  init_f(m, "s", 1, four, s4);
  init_b(m, "z", U8, 1, three, z3);
  mb_node(m, "QuantizeLinear", "q", 3, xsz, 1, y_out);
  mb_output(m, "y");
  CU_ASSERT(REFUSED(m, "zp_shape.onnx", "node 'q' (QuantizeLinear): y_zero_point 'z' is [3] "
                    "and y_scale 's' is [4]: a zero point has its scale's shape"));
  /* int32 has no zero point: 0 passes, 5 does not. */
  const int32_t z0 = 0, z5 = 5;
  CU_ASSERT(REFUSED(dequantize_model(13, I32, 0, NULL, &s, I32, &z5, 4), "zp_int32.onnx",
                    "node 'dq' (DequantizeLinear): x_zero_point 'z' holds 5; an int32 "
                    "operand's zero point must be 0"));
  m = dequantize_model(13, I32, 0, NULL, &s, I32, &z0, 4);
  CU_ASSERT_FATAL(mb_write(m, tu_path("zp_int32_0.onnx")));
  mb_free(m);
  Diag d = {.quiet = true};
  bool ok;
  graph_free(load("zp_int32_0.onnx", &d, &ok));
  CU_ASSERT(ok);
  sb_free(&d.log);
}

static void test_bad_axes(void) {
  const float s3[3] = {1, 2, 3}, s4[4] = {1, 2, 3, 4};
  const uint8_t z3[3] = {0}, z4[4] = {0};
  /* Three scales along axis 1, which has 4. */
  CU_ASSERT(REFUSED(quantize_model(13, 1, three, s3, U8, z3, NULL), "axis_len.onnx",
                    "node 'q' (QuantizeLinear): y_scale 's' has 3 elements, but axis 1 of x "
                    "'x' [1,4,2,2] has 4"));
  CU_ASSERT(REFUSED(dequantize_model(13, U8, 1, three, s3, U8, z3, 3), "dq_axis_len.onnx",
                    "node 'dq' (DequantizeLinear): x_scale 's' has 3 elements, but axis 1 of "
                    "x 'x' [1,4,2,2] has 4"));
  /* An axis the input does not have. */
  Onnx__NodeProto *n;
  MB *m = quantize_model(13, 1, four, s4, U8, z4, &n);
  mb_attr_int(n, "axis", 4);
  CU_ASSERT(REFUSED(m, "axis_range.onnx", "node 'q' (QuantizeLinear): axis 4 is out of range "
                    "for x 'x' [1,4,2,2]"));
  /* The same axis counted from the back is fine: -3 is 1. */
  m = quantize_model(13, 1, four, s4, U8, z4, &n);
  mb_attr_int(n, "axis", -3);
  CU_ASSERT_FATAL(mb_write(m, tu_path("axis_neg.onnx")));
  mb_free(m);
  Diag d = {.quiet = true};
  bool ok;
  graph_free(load("axis_neg.onnx", &d, &ok));
  CU_ASSERT(ok);
  sb_free(&d.log);
  /* Opset 10 has no axis: one scale per tensor. */
  CU_ASSERT(REFUSED(quantize_model(10, 1, four, s4, U8, z4, NULL), "opset10_axis.onnx",
                    "node 'q' (QuantizeLinear): y_scale 's' has 4 elements; opset 10 takes "
                    "one scale per tensor"));
  /* Opset 21's blocks. */
  m = quantize_model(21, 1, four, s4, U8, z4, &n);
  mb_attr_int(n, "block_size", 2);
  CU_ASSERT(REFUSED(m, "blocked.onnx", "node 'q' (QuantizeLinear): blocked quantization "
                    "(block_size 2) is not supported"));
}

static void test_bad_types(void) {
  const float s = 0.5f;
  /* int16, uint16: types Cardinal does not hold. */
  CU_ASSERT(REFUSED(dequantize_model(13, I16, 0, NULL, &s, 0, NULL, 0), "int16_x.onnx",
                    "node 'dq' (DequantizeLinear): x 'x' is int16; Cardinal's quantized types "
                    "are uint8 and int8"));
  CU_ASSERT(REFUSED(dequantize_model(13, 4, 0, NULL, &s, 0, NULL, 0), "uint16_x.onnx",
                    "node 'dq' (DequantizeLinear): x 'x' is uint16"));
  /* int4 and float8 (opset 21): by output_dtype. */
  Onnx__NodeProto *n;
  MB *m = quantize_model(21, 0, NULL, &s, 0, NULL, &n);
  mb_attr_int(n, "output_dtype", 22);
  CU_ASSERT(REFUSED(m, "int4_out.onnx", "node 'q' (QuantizeLinear): output_dtype is int4; "
                    "Cardinal's quantized types are uint8 and int8"));
  m = quantize_model(21, 0, NULL, &s, 0, NULL, &n);
  mb_attr_int(n, "output_dtype", 17);
  CU_ASSERT(REFUSED(m, "float8_out.onnx", "output_dtype is float8e4m3fn"));
  /* output_dtype against the zero point's type. */
  const uint8_t z = 1;
  m = quantize_model(21, 0, NULL, &s, U8, &z, &n);
  mb_attr_int(n, "output_dtype", I8);
  CU_ASSERT(REFUSED(m, "out_vs_zp.onnx", "node 'q' (QuantizeLinear): output_dtype int8 "
                    "disagrees with y_zero_point 'z' (uint8)"));
  /* QuantizeLinear quantizes float32 (int32 x is refused by name). */
  m = mb_new(13);
  mb_input(m, "x", I32, 4, d4);
  init_f(m, "s", 0, NULL, &s);
  mb_node(m, "QuantizeLinear", "q", 2, xsz, 1, y_out);
  mb_output(m, "y");
  CU_ASSERT(REFUSED(m, "int32_x.onnx", "node 'q' (QuantizeLinear): x 'x' is int32; Cardinal "
                    "quantizes float32"));
}

/* ------------------------------------------------------------ running them */

/* Runs file through the interpreter on ins; the outputs (malloc'd) in outs. */
static bool interp_file(const char *file, const float *const *ins, float **outs, Diag *d) {
  bool ok;
  Graph *g = load(file, d, &ok);
  ok = ok && interp_run(g, ins, outs, d);
  graph_free(g);
  return ok;
}

/* ONNX's rounding, by hand: ties to even, the zero point, saturation. */
static void test_quantize_rounding(void) {
  static const float x[16] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 3.0f,
                              1000.0f, -1000.0f, 126.5f, 127.5f, -128.5f, -127.5f, 0.0f, -0.0f};
  const int64_t dx[4] = {1, 4, 2, 2};
  for (int dt = 0; dt < 2; dt++) {
    const float s = 1.0f;
    const int8_t zi = 1;
    const uint8_t zu = 128;
    MB *m = mb_new(13);
    mb_input(m, "x", F32, 4, dx);
    init_f(m, "s", 0, NULL, &s);
    init_b(m, "z", dt ? U8 : I8, 0, NULL, dt ? (const void *)&zu : (const void *)&zi);
    mb_node(m, "QuantizeLinear", "q", 3, xsz, 1, y_out);
    mb_output(m, "y");
    CU_ASSERT_FATAL(mb_write(m, tu_path("round.onnx")));
    mb_free(m);
    const float *ins[1] = {x};
    float *outs[1] = {NULL};
    Diag d = {.quiet = true};
    CU_ASSERT_FATAL(interp_file("round.onnx", ins, outs, &d));
    /* round(x) + z, saturated: int8 with z = 1, uint8 with z = 128. */
    static const float want8[16] = {1, 3, 3, 1, -1, -1, 1, 4, 127, -128, 127, 127, -127, -127, 1, 1};
    static const float wantu[16] = {128, 130, 130, 128, 126, 126, 128, 131,
                                    255, 0,   254, 255, 0,   0,   128, 128};
    for (int i = 0; i < 16; i++) {
      float want = dt ? wantu[i] : want8[i];
      if (outs[0][i] != want)
        fprintf(stderr, "\nQuantizeLinear(%g) to %s: %g, not %g\n", (double)x[i],
                dt ? "uint8" : "int8", (double)outs[0][i], (double)want);
      CU_ASSERT(outs[0][i] == want);
    }
    free(outs[0]);
    sb_free(&d.log);
  }
}

/* Per axis, both ways: the scale and zero point of each channel. */
static void test_per_axis(void) {
  const float s4[4] = {0.5f, 1.0f, 2.0f, 4.0f};
  const int8_t z4[4] = {-1, 0, 1, 2};
  float x[16];
  for (int i = 0; i < 16; i++)
    x[i] = (float)(i - 8) * 1.25f;
  /* q = DequantizeLinear's inverse, along axis 1 (4 channels of 4). */
  Onnx__NodeProto *n;
  MB *m = quantize_model(13, 1, four, s4, I8, z4, &n);
  mb_attr_int(n, "axis", 1);
  CU_ASSERT_FATAL(mb_write(m, tu_path("axis_q.onnx")));
  mb_free(m);
  const float *ins[1] = {x};
  float *outs[1] = {NULL};
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(interp_file("axis_q.onnx", ins, outs, &d));
  for (int i = 0; i < 16; i++) {
    int c = i / 4;
    float want = rintf(x[i] / s4[c]) + (float)z4[c];
    want = want < -128 ? -128 : want > 127 ? 127 : want;
    CU_ASSERT(outs[0][i] == want);
  }
  /* ... and back. */
  m = dequantize_model(13, I8, 1, four, s4, I8, z4, 4);
  CU_ASSERT_FATAL(mb_write(m, tu_path("axis_dq.onnx")));
  mb_free(m);
  float *back[1] = {NULL};
  ins[0] = outs[0];
  CU_ASSERT_FATAL(interp_file("axis_dq.onnx", ins, back, &d));
  for (int i = 0; i < 16; i++) {
    int c = i / 4;
    CU_ASSERT(back[0][i] == (outs[0][i] - (float)z4[c]) * s4[c]);
  }
  free(outs[0]);
  free(back[0]);
  sb_free(&d.log);
}

/* Integer inputs are floats holding integers of their type: anything
 * else is an error naming the input and the element. */
static void test_integer_inputs_checked(void) {
  const float s = 0.25f;
  const uint8_t z = 7;
  MB *m = dequantize_model(13, U8, 0, NULL, &s, U8, &z, 1);
  CU_ASSERT_FATAL(mb_write(m, tu_path("dq_u8.onnx")));
  mb_free(m);
  float x[16];
  for (int i = 0; i < 16; i++)
    x[i] = (float)(i * 17);
  const float *ins[1] = {x};
  float *outs[1] = {NULL};
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(interp_file("dq_u8.onnx", ins, outs, &d));
  for (int i = 0; i < 16; i++)
    CU_ASSERT(outs[0][i] == (float)(i * 17 - 7) * 0.25f);
  free(outs[0]);
  const float bad[] = {3.5f, 256.0f, -1.0f, NAN, INFINITY};
  const char *says[] = {"element 5 is 3.5,", "element 5 is 256,", "element 5 is -1,",
                        "element 5 is nan,", "element 5 is inf,"};
  for (int b = 0; b < 5; b++) {
    x[5] = bad[b];
    outs[0] = NULL;
    d.nerrors = 0;
    CU_ASSERT(!interp_file("dq_u8.onnx", ins, outs, &d));
    CU_ASSERT(tu_log_has(&d, "graph input 'x' (uint8):") && tu_log_has(&d, says[b]) &&
              tu_log_has(&d, "not a uint8 value (an integer in 0..255)"));
    free(outs[0]);
  }
  sb_free(&d.log);
}

/* ------------------------------------------------------------ generated code */

static bool on_path(const char *prog) {
  const char *path = getenv("PATH");
  char buf[4096];
  while (path && *path) {
    const char *e = strchr(path, ':');
    size_t n = e ? (size_t)(e - path) : strlen(path);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
    if (access(buf, X_OK) == 0)
      return true;
    path = e ? e + 1 : NULL;
  }
  return false;
}

typedef struct {
  const char *target, *cc, *runner;
} Where;

/* The targets this machine runs: scalar, the x86 ones its CPU has, neon
 * under qemu when the cross tools are there.  These ops run their scalar
 * kernel on each, with the target's compiler flags and around its
 * kernels. */
static int targets_here(Where *w) {
  int n = 0;
  w[n++] = (Where){"scalar", NULL, NULL};
#if defined(__x86_64__)
  if (cd_cpu_has(CD_CPU_AVX2))
    w[n++] = (Where){"avx2", NULL, NULL};
  if (cd_cpu_has(CD_CPU_AVX2 | CD_CPU_AVX512))
    w[n++] = (Where){"avx512", NULL, NULL};
#endif
  if (on_path("aarch64-linux-gnu-gcc") && on_path("qemu-aarch64"))
    w[n++] = (Where){"neon", "aarch64-linux-gnu-gcc", "qemu-aarch64"};
  else
    fprintf(stderr, "\n[skipping neon: aarch64-linux-gnu-gcc or qemu-aarch64 missing]\n");
  return n;
}

/* file's outputs from the interpreter and from code generated for every
 * target here (and on 2 threads natively) must be the same bits, on
 * inputs ins. */
static void check_bits(const char *file, const float *const *ins) {
  Where where[4];
  int nw = targets_here(where);
  for (int t = 0; t < nw; t++)
    for (int threads = 1; threads <= (t == 0 ? 1 : 2); threads++) {
      CompileJob j = {.model = tu_path(file), .name = "quant", .passes = "default",
                      .target = where[t].target, .verify = true, .cc = where[t].cc,
                      .runner = where[t].runner, .threads = threads, .pch_dir = tu_pch(),
                      .cflags = "-O2 -std=c99 -pedantic -Wall -Wextra -Werror"};
      Diag d = {.quiet = true};
      Graph *g = cd_load_model(&j, NULL, NULL, &d);
      if (!g)
        fprintf(stderr, "\n%s: %s\n", file, d.log.buf ? d.log.buf : "");
      CU_ASSERT_FATAL(g != NULL);
      float *want[8] = {0}, *got[8] = {0};
      CU_ASSERT_FATAL(interp_run(g, ins, want, &d));
      bool ran = cd_run_generated(&j, g, ins, got, &d);
      if (!ran)
        fprintf(stderr, "\n%s on %s: %s\n", file, where[t].target, d.log.buf ? d.log.buf : "");
      CU_ASSERT_FATAL(ran);
      for (int k = 0; k < g->noutputs; k++) {
        size_t bytes = sizeof(float) * (size_t)value_numel(&g->values[g->outputs[k]]);
        bool same = memcmp(want[k], got[k], bytes) == 0;
        if (!same)
          fprintf(stderr, "\n%s on %s, %d thread(s): output %d is not the interpreter's\n",
                  file, where[t].target, threads, k);
        CU_ASSERT(same);
        free(want[k]);
        free(got[k]);
      }
      graph_free(g);
      sb_free(&d.log);
    }
}

/* x float[2,3,4,5], u uint8[2,3,4,5] (as floats):
 *   qx = QuantizeLinear(x, 3 scales along axis 1, int8 zero points)   an int8 output
 *   dx = DequantizeLinear(qx, the same)                               float
 *   du = DequantizeLinear(u, 0.25, uint8 7)                           float
 *   qu = QuantizeLinear(du, 5 scales along axis -1, uint8)            a uint8 output */
static void qdq_chain(void) {
  const int64_t dx[4] = {2, 3, 4, 5}, five[1] = {5};
  const float s3[3] = {0.05f, 0.1f, 0.3f}, s5[5] = {0.1f, 0.2f, 0.25f, 0.5f, 1.0f}, su = 0.25f;
  const int8_t z3[3] = {-5, 0, 17};
  const uint8_t z5[5] = {0, 10, 128, 200, 255}, zu = 7;
  MB *m = mb_new(13);
  mb_input(m, "x", F32, 4, dx);
  mb_input(m, "u", U8, 4, dx);
  init_f(m, "s3", 1, three, s3);
  init_b(m, "z3", I8, 1, three, z3);
  init_f(m, "s5", 1, five, s5);
  init_b(m, "z5", U8, 1, five, z5);
  init_f(m, "su", 0, NULL, &su);
  init_b(m, "zu", U8, 0, NULL, &zu);
  const char *q1[] = {"x", "s3", "z3"}, *q1o[] = {"qx"};
  const char *d1[] = {"qx", "s3", "z3"}, *d1o[] = {"dx"};
  const char *d2[] = {"u", "su", "zu"}, *d2o[] = {"du"};
  const char *q2[] = {"du", "s5", "z5"}, *q2o[] = {"qu"};
  mb_node(m, "QuantizeLinear", "q1", 3, q1, 1, q1o);
  mb_node(m, "DequantizeLinear", "d1", 3, d1, 1, d1o);
  mb_node(m, "DequantizeLinear", "d2", 3, d2, 1, d2o);
  Onnx__NodeProto *n = mb_node(m, "QuantizeLinear", "q2", 3, q2, 1, q2o);
  mb_attr_int(n, "axis", -1);
  mb_output(m, "qx");
  mb_output(m, "dx");
  mb_output(m, "du");
  mb_output(m, "qu");
  CU_ASSERT_FATAL(mb_write(m, tu_path("qdq.onnx")));
  mb_free(m);
}

static void test_qdq_generated(void) {
  qdq_chain();
  float x[120], u[120];
  for (int i = 0; i < 120; i++) {
    /* ties of every channel's scale (k + 1/2) s, values that saturate */
    float s = i / 20 % 3 == 0 ? 0.05f : i / 20 % 3 == 1 ? 0.1f : 0.3f;
    x[i] = i % 7 == 0 ? ((float)(i % 11) - 5.5f) * s : sinf(0.37f * (float)i) * 9.0f;
    u[i] = (float)((i * 37) % 256);
  }
  const float *ins[2] = {x, u};
  check_bits("qdq.onnx", ins);
}

/* Generated code refuses an integer input that is not one (CD_ERR_INPUT),
 * and its header says how integer inputs and outputs are passed. */
static void test_integer_io_generated(void) {
  qdq_chain();
  float x[120] = {0}, u[120] = {0};
  u[7] = 255.5f;
  const float *ins[2] = {x, u};
  CompileJob j = {.model = tu_path("qdq.onnx"), .name = "quant", .passes = "default",
                  .target = "scalar", .cflags = "-O1 -std=c99 -pedantic -Wall -Wextra -Werror"};
  Diag d = {.quiet = true};
  Graph *g = cd_load_model(&j, NULL, NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  float *got[4] = {0};
  CU_ASSERT(!cd_run_generated(&j, g, ins, got, &d));
  CU_ASSERT(tu_log_has(&d, "the generated program failed (exit status 2)"));
  for (int k = 0; k < 4; k++)
    free(got[k]);
  graph_free(g);
  sb_free(&d.log);
  CU_ASSERT_EQUAL(CD_ERR_INPUT, 9);
  CU_ASSERT(strstr(cd_strerror(CD_ERR_INPUT), "integer input") != NULL);
  /* The header. */
  d = (Diag){.quiet = true};
  CompileJob c = {.model = tu_path("qdq.onnx"), .out_dir = tu_path("qdq_out"), .name = "net",
                  .passes = "default", .target = "scalar"};
  Graph *cg = NULL;
  bool compiled = cd_compile(&c, &cg, &d);
  if (!compiled)
    fprintf(stderr, "\ncompile: %s\n", d.log.buf ? d.log.buf : "");
  CU_ASSERT_FATAL(compiled);
  graph_free(cg);
  uint8_t *h;
  size_t hn;
  char hp[4096];
  snprintf(hp, sizeof hp, "%s/net.h", tu_path("qdq_out"));
  CU_ASSERT_FATAL(cd_read_file(hp, &h, &hn));
  char *text = realloc(h, hn + 1);
  text[hn] = 0;
  CU_ASSERT(strstr(text, "input  1    'u' uint8[2,3,4,5] NCHW, 120 elements\n"
                         " *               passed as float values: integers in 0..255 (any "
                         "other value: CD_ERR_INPUT)") != NULL);
  CU_ASSERT(strstr(text, "/* output 0: qx int8[2,3,4,5], as float values -128..127 */") != NULL);
  free(text);
  sb_free(&d.log);
}


/* The integer convs and matmuls, every quantization form at once:
 *   yc = QLinearConv(x u8[1,8,5,5], zp 3; w s8[6,4,3,3] group 2, 6 scales
 *        and zero points; bias; pads 1, stride 2) -> int8, zp -2
 *   ci = ConvInteger(x, w2 u8[3,8,1,1], zp 3, 3 zero points) -> int32
 *   ym = QLinearMatMul(a u8[2,3,4], zp 9; b s8[4,5], 5 scales and zero
 *        points) -> uint8, zp 100
 *   mi = MatMulInteger(a, b2 u8[4,5], a's zero point per row (3), b2's per
 *        column (5)) -> int32 */
static void qlinear_model(const char *file, const float *wscale) {
  const int64_t dx[4] = {1, 8, 5, 5}, dw[4] = {6, 4, 3, 3}, dw2[4] = {3, 8, 1, 1};
  const int64_t da[3] = {2, 3, 4}, db[2] = {4, 5}, six[1] = {6}, five[1] = {5};
  int8_t w[216], bm[20];
  uint8_t w2[24], b2[20];
  for (int i = 0; i < 216; i++)
    w[i] = (int8_t)((i * 53) % 255 - 127);
  for (int i = 0; i < 24; i++)
    w2[i] = (uint8_t)((i * 71) % 256);
  for (int i = 0; i < 20; i++)
    bm[i] = (int8_t)((i * 29) % 200 - 100), b2[i] = (uint8_t)((i * 91) % 256);
  const int32_t bias[6] = {-1000, 0, 77, 12345, -5, 300};
  const float xs = 0.02f, ys = 0.7f, as = 0.05f, bs[5] = {0.01f, 0.02f, 0.03f, 0.004f, 0.5f};
  const float yms = 0.3f;
  const int8_t wz[6] = {0, 1, -1, 5, 0, -7}, ycz = -2, bz[5] = {0, 3, -3, 1, 0};
  const uint8_t xz = 3, w2z[3] = {0, 128, 255}, az = 9, ymz = 100, azr[3] = {1, 2, 250};
  const uint8_t b2z[5] = {0, 1, 2, 3, 200};
  MB *m = mb_new(13);
  mb_input(m, "x", U8, 4, dx);
  mb_input(m, "a", U8, 3, da);
  init_f(m, "xs", 0, NULL, &xs);
  init_b(m, "xz", U8, 0, NULL, &xz);
  init_b(m, "w", I8, 4, dw, w);
  init_f(m, "ws", 1, six, wscale);
  init_b(m, "wz", I8, 1, six, wz);
  init_f(m, "ys", 0, NULL, &ys);
  init_b(m, "ycz", I8, 0, NULL, &ycz);
  mb_init_raw(m, "bias", I32, 1, six, bias, sizeof bias);
  init_b(m, "w2", U8, 4, dw2, w2);
  init_b(m, "w2z", U8, 1, three, w2z);
  init_f(m, "as", 0, NULL, &as);
  init_b(m, "az", U8, 0, NULL, &az);
  init_b(m, "b", I8, 2, db, bm);
  init_f(m, "bs", 1, five, bs);
  init_b(m, "bz", I8, 1, five, bz);
  init_f(m, "yms", 0, NULL, &yms);
  init_b(m, "ymz", U8, 0, NULL, &ymz);
  init_b(m, "b2", U8, 2, db, b2);
  init_b(m, "azr", U8, 1, three, azr);
  init_b(m, "b2z", U8, 1, five, b2z);
  const char *qc[] = {"x", "xs", "xz", "w", "ws", "wz", "ys", "ycz", "bias"}, *qco[] = {"yc"};
  const char *ci[] = {"x", "w2", "xz", "w2z"}, *cio[] = {"ci"};
  const char *qm[] = {"a", "as", "az", "b", "bs", "bz", "yms", "ymz"}, *qmo[] = {"ym"};
  const char *mi[] = {"a", "b2", "azr", "b2z"}, *mio[] = {"mi"};
  Onnx__NodeProto *n = mb_node(m, "QLinearConv", "qc", 9, qc, 1, qco);
  const int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {2, 2};
  mb_attr_ints(n, "pads", 4, pads);
  mb_attr_ints(n, "strides", 2, strides);
  mb_attr_int(n, "group", 2);
  mb_node(m, "ConvInteger", "ci", 4, ci, 1, cio);
  mb_node(m, "QLinearMatMul", "qm", 8, qm, 1, qmo);
  mb_node(m, "MatMulInteger", "mi", 4, mi, 1, mio);
  mb_output(m, "yc");
  mb_output(m, "ci");
  mb_output(m, "ym");
  mb_output(m, "mi");
  CU_ASSERT_FATAL(mb_write(m, tu_path(file)));
  mb_free(m);
}

static void test_qlinear_generated(void) {
  const float ws[6] = {0.01f, 0.02f, 0.005f, 0.1f, 0.03f, 0.04f};
  qlinear_model("qlinear.onnx", ws);
  float x[200], a[24];
  for (int i = 0; i < 200; i++)
    x[i] = (float)((i * 37 + 11) % 256);
  for (int i = 0; i < 24; i++)
    a[i] = (float)((i * 101) % 256);
  const float *ins[2] = {x, a};
  check_bits("qlinear.onnx", ins);
  /* One output by hand: QLinearMatMul's [0][0][0]. */
  Diag d = {.quiet = true};
  float *outs[4] = {NULL};
  CU_ASSERT_FATAL(interp_file("qlinear.onnx", ins, outs, &d));
  int32_t acc = 0;
  for (int k = 0; k < 4; k++)
    acc += ((int32_t)a[k] - 9) * ((int32_t)(int8_t)((k * 5 * 29) % 200 - 100) - 0);
  float want = rintf((float)acc * (0.05f * 0.01f / 0.3f)) + 100.0f;
  want = want < 0 ? 0 : want > 255 ? 255 : want;
  CU_ASSERT(outs[2][0] == want);
  for (int k = 0; k < 4; k++)
    free(outs[k]);
  sb_free(&d.log);
}

/* The QDQ conv as quantizers write it, node names as they are here:
 *   x -> Q(0.05, 128) -> DQ -> Conv 'conv' (weights DQ(int8 [16,4,3,3],
 *   per channel), bias DQ(int32 at x_scale * w_scale), group 2, pads 1)
 *   [-> Relu] -> Q(0.1, yz) -> DQ -> y */
static void qdq_conv_model(const char *file, bool relu, uint8_t yz) {
  const int64_t dx[4] = {1, 8, 6, 6}, dw[4] = {16, 4, 3, 3}, d16[1] = {16};
  const float sx = 0.05f, sy = 0.1f;
  const uint8_t zx = 128;
  float sw[16], sb[16];
  int8_t w[576], zw[16] = {0};
  int32_t b[16], zb[16] = {0};
  for (int i = 0; i < 16; i++) {
    sw[i] = 0.002f * (float)(i + 1);
    sb[i] = sx * sw[i];
    b[i] = (i * 97) % 400 - 200;
  }
  for (int i = 0; i < 576; i++)
    w[i] = (int8_t)((i * 37) % 255 - 127);
  MB *m = mb_new(13);
  mb_input(m, "x", F32, 4, dx);
  init_f(m, "sx", 0, NULL, &sx);
  init_b(m, "zx", U8, 0, NULL, &zx);
  init_f(m, "sy", 0, NULL, &sy);
  init_b(m, "zy", U8, 0, NULL, &yz);
  init_b(m, "wq", I8, 4, dw, w);
  init_f(m, "sw", 1, d16, sw);
  init_b(m, "zw", I8, 1, d16, zw);
  mb_init_raw(m, "bq", I32, 1, d16, b, sizeof b);
  init_f(m, "sb", 1, d16, sb);
  mb_init_raw(m, "zb", I32, 1, d16, zb, sizeof zb);
  const char *q1[] = {"x", "sx", "zx"}, *q1o[] = {"xq"}, *d1[] = {"xq", "sx", "zx"},
             *d1o[] = {"xd"}, *d2[] = {"wq", "sw", "zw"}, *d2o[] = {"wd"},
             *d3[] = {"bq", "sb", "zb"}, *d3o[] = {"bd"}, *c[] = {"xd", "wd", "bd"},
             *co[] = {"c"}, *r[] = {"c"}, *ro[] = {"r"}, *q2[] = {relu ? "r" : "c", "sy", "zy"},
             *q2o[] = {"yq"}, *d4[] = {"yq", "sy", "zy"};
  mb_node(m, "QuantizeLinear", "q1", 3, q1, 1, q1o);
  mb_node(m, "DequantizeLinear", "d1", 3, d1, 1, d1o);
  mb_attr_int(mb_node(m, "DequantizeLinear", "d2", 3, d2, 1, d2o), "axis", 0);
  mb_attr_int(mb_node(m, "DequantizeLinear", "d3", 3, d3, 1, d3o), "axis", 0);
  Onnx__NodeProto *n = mb_node(m, "Conv", "conv", 3, c, 1, co);
  mb_attr_int(n, "group", 2);
  mb_attr_ints(n, "pads", 4, (const int64_t[]){1, 1, 1, 1});
  if (relu)
    mb_node(m, "Relu", "relu", 1, r, 1, ro);
  mb_node(m, "QuantizeLinear", "q2", 3, q2, 1, q2o);
  mb_node(m, "DequantizeLinear", "d4", 3, d4, 1, y_out);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path(file)));
  mb_free(m);
}

/* Live nodes of op `op` in g. */
static int count_op(const Graph *g, OpKind op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i].dead && g->nodes[i].op == op;
  return k;
}

/* file loaded and run by the interpreter on ins before and after
 * fold-qdq (and dce): the folded graph (the caller frees it), its first
 * output before and after in *before and *after (malloc'd). */
static Graph *fold_qdq_run(const char *file, const float *const *ins, float **before,
                           float **after) {
  Diag d = {.quiet = true};
  bool ok;
  Graph *g = load(file, &d, &ok);
  CU_ASSERT_FATAL(ok);
  float *b[1] = {NULL}, *a[1] = {NULL};
  CU_ASSERT_FATAL(interp_run(g, ins, b, &d));
  int order[4], np;
  PassStats st[4];
  CU_ASSERT_FATAL(passes_parse("fold-qdq,dce", order, &np, &d));
  CU_ASSERT_FATAL(passes_run(g, order, np, st, true, NULL, NULL, &d));
  CU_ASSERT_FATAL(interp_run(g, ins, a, &d));
  sb_free(&d.log);
  *before = b[0], *after = a[0];
  return g;
}

/* fold-qdq on file: whether the conv became a QLinearConv (Conv, Relu and
 * the Q after them gone), and the interpreter's output no more than one
 * step of y_scale from the float conv's, on few elements. */
static bool folds(const char *file) {
  float x[288];
  for (int i = 0; i < 288; i++)
    x[i] = sinf(0.37f * (float)i) * 6.0f;
  const float *ins[1] = {x};
  float *before[1] = {NULL}, *after[1] = {NULL};
  Graph *g = fold_qdq_run(file, ins, &before[0], &after[0]);
  bool folded = count_op(g, OP_QLINEARCONV) == 1;
  CU_ASSERT(folded == (count_op(g, OP_CONV) == 0 && count_op(g, OP_RELU) == 0));
  CU_ASSERT(count_op(g, OP_QUANTIZE) == 2 - folded);
  int moved = 0;
  for (int i = 0; i < 576; i++) {
    CU_ASSERT(fabsf(after[0][i] - before[0][i]) <= 0.1f * 1.001f);
    moved += after[0][i] != before[0][i];
  }
  CU_ASSERT(moved <= 576 / 50);
  free(before[0]);
  free(after[0]);
  graph_free(g);
  return folded;
}

/* fold-qdq: the conv with and without a Relu folds; a Relu the output's
 * zero point does not make redundant stays float; generated code of the
 * folded graph gives the interpreter's bits. */
static void test_fold_qdq(void) {
  qdq_conv_model("qdq_conv_relu.onnx", true, 0);
  CU_ASSERT(folds("qdq_conv_relu.onnx"));
  qdq_conv_model("qdq_conv.onnx", false, 100);
  CU_ASSERT(folds("qdq_conv.onnx"));
  qdq_conv_model("qdq_conv_relu10.onnx", true, 10);
  CU_ASSERT(!folds("qdq_conv_relu10.onnx"));
  float x[288];
  for (int i = 0; i < 288; i++)
    x[i] = sinf(0.91f * (float)i) * 7.0f;
  const float *ins[1] = {x};
  check_bits("qdq_conv_relu.onnx", ins);
}

/* The QDQ residual add: a (uint8) and b (int8) quantized and dequantized,
 * added, [Relu,] quantized (uint8, zero point yz) and dequantized. */
static void qdq_add_model(const char *file, bool relu, uint8_t yz) {
  const int64_t dx[4] = {1, 4, 5, 7};
  const float sa = 0.03f, sb = 0.07f, sy = 0.05f;
  const uint8_t za = 100;
  const int8_t zb = -3;
  MB *m = mb_new(13);
  mb_input(m, "a", F32, 4, dx);
  mb_input(m, "b", F32, 4, dx);
  init_f(m, "sa", 0, NULL, &sa);
  init_b(m, "za", U8, 0, NULL, &za);
  init_f(m, "sb", 0, NULL, &sb);
  init_b(m, "zb", I8, 0, NULL, &zb);
  init_f(m, "sy", 0, NULL, &sy);
  init_b(m, "zy", U8, 0, NULL, &yz);
  const char *qa[] = {"a", "sa", "za"}, *qao[] = {"aq"}, *da[] = {"aq", "sa", "za"},
             *dao[] = {"ad"}, *qb[] = {"b", "sb", "zb"}, *qbo[] = {"bq"},
             *db[] = {"bq", "sb", "zb"}, *dbo[] = {"bd"}, *ad[] = {"ad", "bd"}, *so[] = {"s"},
             *r[] = {"s"}, *ro[] = {"r"}, *qy[] = {relu ? "r" : "s", "sy", "zy"},
             *qyo[] = {"yq"}, *dy[] = {"yq", "sy", "zy"};
  mb_node(m, "QuantizeLinear", "qa", 3, qa, 1, qao);
  mb_node(m, "DequantizeLinear", "da", 3, da, 1, dao);
  mb_node(m, "QuantizeLinear", "qb", 3, qb, 1, qbo);
  mb_node(m, "DequantizeLinear", "db", 3, db, 1, dbo);
  mb_node(m, "Add", "add", 2, ad, 1, so);
  if (relu)
    mb_node(m, "Relu", "relu", 1, r, 1, ro);
  mb_node(m, "QuantizeLinear", "qy", 3, qy, 1, qyo);
  mb_node(m, "DequantizeLinear", "dy", 3, dy, 1, y_out);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path(file)));
  mb_free(m);
}

/* fold-qdq on the residual add: QLinearAdd with and without a Relu (not
 * with a Relu the zero point does not make redundant), within one step of
 * the float chain; generated code gives the interpreter's bits. */
static void test_fold_qdq_add(void) {
  float a[140], b[140];
  for (int i = 0; i < 140; i++) {
    a[i] = sinf(0.37f * (float)i) * 3.0f;
    b[i] = cosf(0.21f * (float)i) * 8.0f;
  }
  const float *ins[2] = {a, b};
  static const struct { bool relu; uint8_t yz; bool folds; } cases[3] = {
      {true, 0, true}, {false, 128, true}, {true, 9, false}};
  for (int c = 0; c < 3; c++) {
    qdq_add_model("qdq_add.onnx", cases[c].relu, cases[c].yz);
    float *before[1] = {NULL}, *after[1] = {NULL};
    Graph *g = fold_qdq_run("qdq_add.onnx", ins, &before[0], &after[0]);
    CU_ASSERT(count_op(g, OP_QLINEARADD) == cases[c].folds);
    CU_ASSERT(count_op(g, OP_ADD) == !cases[c].folds);
    for (int i = 0; i < 140; i++)
      CU_ASSERT(fabsf(after[0][i] - before[0][i]) <= 0.05f * 1.001f);
    free(before[0]);
    free(after[0]);
    graph_free(g);
    if (cases[c].folds)
      check_bits("qdq_add.onnx", ins);
  }
  /* on 2 threads, the add's elements are what its threads split
   * (qadd_split; this small one the schedule leaves on one) */
  CompileJob j = {.model = tu_path("qdq_add.onnx"), .name = "quant", .passes = "default",
                  .target = "scalar", .threads = 2};
  qdq_add_model("qdq_add.onnx", false, 128);
  Diag d = {.quiet = true};
  Graph *g = cd_load_model(&j, NULL, NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  int split = 0;
  for (int i = 0; i < g->nnodes; i++)
    split += !g->nodes[i].dead && g->nodes[i].op == OP_QLINEARADD &&
             g->nodes[i].sched.family == kernel_config_named("qadd_split") &&
             g->nodes[i].sched.split == SPLIT_ELEMS;
  CU_ASSERT(split == 1);
  graph_free(g);
  sb_free(&d.log);
}

/* x -> Q(0.04, zq) -> DQ -> MaxPool 'mp' (3x3, stride 2, pads 1, ceil_mode
 * as given) -> Q(0.04, zq2) -> DQ -> y, on x [1, 3, 9, 11]. */
static void qdq_maxpool_model(const char *file, int qtype, int32_t zq, int32_t zq2, bool ceil) {
  const int64_t dx[4] = {1, 3, 9, 11};
  const float sx = 0.04f;
  MB *m = mb_new(13);
  mb_input(m, "x", F32, 4, dx);
  init_f(m, "s", 0, NULL, &sx);
  if (qtype == U8) {
    uint8_t z1 = (uint8_t)zq, z2 = (uint8_t)zq2;
    init_b(m, "z", U8, 0, NULL, &z1);
    init_b(m, "z2", U8, 0, NULL, &z2);
  } else {
    int8_t z1 = (int8_t)zq, z2 = (int8_t)zq2;
    init_b(m, "z", I8, 0, NULL, &z1);
    init_b(m, "z2", I8, 0, NULL, &z2);
  }
  const char *q1[] = {"x", "s", "z"}, *q1o[] = {"xq"}, *d1[] = {"xq", "s", "z"},
             *d1o[] = {"xd"}, *p[] = {"xd"}, *po[] = {"p"}, *q2[] = {"p", "s", "z2"},
             *q2o[] = {"pq"}, *d2[] = {"pq", "s", "z2"};
  mb_node(m, "QuantizeLinear", "q1", 3, q1, 1, q1o);
  mb_node(m, "DequantizeLinear", "d1", 3, d1, 1, d1o);
  Onnx__NodeProto *n = mb_node(m, "MaxPool", "mp", 1, p, 1, po);
  mb_attr_ints(n, "kernel_shape", 2, (const int64_t[]){3, 3});
  mb_attr_ints(n, "strides", 2, (const int64_t[]){2, 2});
  mb_attr_ints(n, "pads", 4, (const int64_t[]){1, 1, 1, 1});
  if (ceil)
    mb_attr_int(n, "ceil_mode", 1);
  mb_node(m, "QuantizeLinear", "q2", 3, q2, 1, q2o);
  mb_node(m, "DequantizeLinear", "d2", 3, d2, 1, y_out);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path(file)));
  mb_free(m);
}

/* fold-qdq on DQ -> MaxPool -> Q of equal parameters: the pool runs on the
 * bytes (uint8 and int8, ceil_mode or not), the output unchanged to the
 * bit; generated code gives the interpreter's bits; different parameters
 * leave it float. */
static void test_fold_qdq_maxpool(void) {
  float x[297];
  for (int i = 0; i < 297; i++)
    x[i] = sinf(0.61f * (float)i) * 6.0f + cosf(0.13f * (float)i);
  const float *ins[1] = {x};
  static const struct { int type; int32_t z, z2; bool ceil, folds; } cases[4] = {
      {U8, 128, 128, false, true}, {I8, -7, -7, true, true}, {U8, 0, 0, true, true},
      {U8, 128, 127, false, false}};
  for (int c = 0; c < 4; c++) {
    qdq_maxpool_model("qdq_maxpool.onnx", cases[c].type, cases[c].z, cases[c].z2, cases[c].ceil);
    float *before[1] = {NULL}, *after[1] = {NULL};
    Graph *g = fold_qdq_run("qdq_maxpool.onnx", ins, &before[0], &after[0]);
    CU_ASSERT(count_op(g, OP_QUANTIZE) == 2 - cases[c].folds);
    int64_t n = value_numel(&g->values[g->outputs[0]]);
    CU_ASSERT(memcmp(before[0], after[0], sizeof(float) * (size_t)n) == 0);
    free(before[0]);
    free(after[0]);
    graph_free(g);
    if (cases[c].folds)
      check_bits("qdq_maxpool.onnx", ins);
  }
}

/* A per-channel scale whose length is not the output channels'. */
static void test_qlinear_bad_axis(void) {
  const int64_t dx[4] = {1, 4, 3, 3}, dw[4] = {2, 4, 1, 1};
  int8_t w[8] = {0};
  const float xs = 0.1f, ys = 0.1f, ws[3] = {0.1f, 0.1f, 0.1f};
  const uint8_t xz = 0, yz = 0;
  const int8_t wz[3] = {0};
  MB *m = mb_new(13);
  mb_input(m, "x", U8, 4, dx);
  init_f(m, "xs", 0, NULL, &xs);
  init_b(m, "xz", U8, 0, NULL, &xz);
  init_b(m, "w", I8, 4, dw, w);
  init_f(m, "ws", 1, three, ws);
  init_b(m, "wz", I8, 1, three, wz);
  init_f(m, "ys", 0, NULL, &ys);
  init_b(m, "yz", U8, 0, NULL, &yz);
  const char *in[] = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"};
  mb_node(m, "QLinearConv", "qc", 8, in, 1, y_out);
  mb_output(m, "y");
  CU_ASSERT(REFUSED(m, "qlinear_bad.onnx", "node 'qc' (QLinearConv)", "w_scale 'ws' has 3",
                    "2 (per output channel)"));
}

/* pass_quantized_io (--io quantized) on x -> Q -> DQ -> Conv -> Relu -> Q
 * -> DQ -> y: the graph's input is now the first Q's uint8 output and its
 * output the last DQ's uint8 input, their scales and zero points recorded,
 * the Q and DQ at the edges gone; the interpreter on x quantized as the
 * caller would (cd_quantize) gives bytes that dequantize to the float
 * graph's output exactly; fold-qdq then folds the conv.  A per-axis Q at
 * the input is refused, naming it, and so is a graph with no edge (here a
 * DQ of the input itself, which is no quantized tensor to expose). */
static void test_quantized_io(void) {
  qdq_conv_model("qdq_io.onnx", true, 0);
  static float x[288], xq[288];
  for (int i = 0; i < 288; i++) {
    x[i] = sinf(0.37f * (float)i) * 6.0f;
    xq[i] = (float)cd_quantize(x[i], 0.05f, 128, 0, 255);
  }
  Diag d = {.quiet = true};
  bool ok;
  Graph *g = load("qdq_io.onnx", &d, &ok);
  CU_ASSERT_FATAL(ok);
  const float *ins[1] = {x};
  float *ref[1] = {NULL}, *got[1] = {NULL};
  CU_ASSERT_FATAL(interp_run(g, ins, ref, &d));
  PassStats st;
  memset(&st, 0, sizeof st);
  ir_recount_uses(g);
  CU_ASSERT_FATAL(pass_quantized_io(g, &st));
  graph_compact(g);
  CU_ASSERT(ir_verify(g, &d));
  const Value *in = &g->values[g->inputs[0]], *out = &g->values[g->outputs[0]];
  CU_ASSERT(g->io_quantized && in->dtype == DT_UINT8 && out->dtype == DT_UINT8);
  CU_ASSERT(!strcmp(in->name, "xq") && !strcmp(out->name, "yq") && in->is_input && out->is_output);
  CU_ASSERT(g->input_q[0].n == 1 && g->input_q[0].scale[0] == 0.05f && g->input_q[0].zero[0] == 128);
  CU_ASSERT(g->output_q[0].n == 1 && g->output_q[0].scale[0] == 0.1f && g->output_q[0].zero[0] == 0);
  CU_ASSERT(count_op(g, OP_QUANTIZE) == 1 && count_op(g, OP_DEQUANTIZE) == 3); /* x's, w's, b's */
  CU_ASSERT(strstr(st.what, "1 input and 1 output") != NULL);
  ins[0] = xq;
  CU_ASSERT_FATAL(interp_run(g, ins, got, &d));
  int differ = 0;
  for (int i = 0; i < 576; i++)
    differ += cd_dequantize((int32_t)got[0][i], 0.1f, 0) != ref[0][i];
  CU_ASSERT(differ == 0);
  int order[4], np;
  PassStats pst[4];
  CU_ASSERT_FATAL(passes_parse("fold-qdq,dce", order, &np, &d));
  CU_ASSERT_FATAL(passes_run(g, order, np, pst, true, NULL, NULL, &d));
  CU_ASSERT(count_op(g, OP_QLINEARCONV) == 1 && count_op(g, OP_QUANTIZE) == 0);
  free(ref[0]);
  free(got[0]);
  graph_free(g);
  /* per axis at the input: refused, naming it */
  const float s4[4] = {0.5f, 1.0f, 2.0f, 4.0f};
  const int8_t z4[4] = {-1, 0, 1, 2};
  Onnx__NodeProto *n;
  MB *m = quantize_model(13, 1, four, s4, I8, z4, &n);
  mb_attr_int(n, "axis", 1);
  CU_ASSERT_FATAL(mb_write(m, tu_path("io_axis.onnx")));
  mb_free(m);
  g = load("io_axis.onnx", &d, &ok);
  CU_ASSERT_FATAL(ok);
  memset(&st, 0, sizeof st);
  ir_recount_uses(g);
  CU_ASSERT(!pass_quantized_io(g, &st));
  CU_ASSERT(strstr(st.error, "--io quantized: input 'x' is quantized per axis (QuantizeLinear "
                             "'q', 4 scales along axis 1)") != NULL);
  graph_free(g);
  /* no edge: the only DQ reads the graph's input */
  const float s1 = 0.5f;
  const uint8_t z1 = 3;
  m = dequantize_model(13, U8, 0, NULL, &s1, U8, &z1, 1);
  CU_ASSERT_FATAL(mb_write(m, tu_path("io_none.onnx")));
  mb_free(m);
  g = load("io_none.onnx", &d, &ok);
  CU_ASSERT_FATAL(ok);
  memset(&st, 0, sizeof st);
  ir_recount_uses(g);
  CU_ASSERT(!pass_quantized_io(g, &st) && !g->io_quantized);
  CU_ASSERT(strstr(st.error, "no input of the model goes straight into a QuantizeLinear") != NULL);
  graph_free(g);
  sb_free(&d.log);
}

void add_quant_suite(void) {
  CU_pSuite s = CU_add_suite("quant", NULL, NULL);
  ADD(s, test_bad_scales);
  ADD(s, test_bad_zero_points);
  ADD(s, test_bad_axes);
  ADD(s, test_bad_types);
  ADD(s, test_quantize_rounding);
  ADD(s, test_per_axis);
  ADD(s, test_integer_inputs_checked);
  ADD(s, test_qdq_generated);
  ADD(s, test_integer_io_generated);
  ADD(s, test_qlinear_generated);
  ADD(s, test_fold_qdq);
  ADD(s, test_fold_qdq_add);
  ADD(s, test_fold_qdq_maxpool);
  ADD(s, test_qlinear_bad_axis);
  ADD(s, test_quantized_io);
}
