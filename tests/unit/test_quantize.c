/*
 * test_quantize.c — the calibrating quantizer (quantize.c) on real data:
 * the digits ResNeXt of tests/models/digits (trained on scikit-learn's 8x8
 * digits, README there), calibrated on its 64 training images, keeps its
 * held-out accuracy within half a point of float, every conv folded into a
 * QLinearConv, generated code giving the interpreter's bits; the QDQ model
 * it writes loads back as QDQ; and each bad input is refused with a message
 * naming it.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DIGITS CARDINAL_SOURCE_DIR "/tests/models/digits"

static int count_live(const Graph *g, OpKind op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i].dead && g->nodes[i].op == op;
  return k;
}

/* The held-out images and labels. */
static int64_t heldout(HostTensor *x, HostTensor *y) {
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(tensor_read(DIGITS "/heldout_x.npy", x, &d));
  CU_ASSERT_FATAL(tensor_read(DIGITS "/heldout_y.npy", y, &d));
  CU_ASSERT_FATAL(x->dtype == DT_FLOAT && x->rank == 4 && x->dims[0] == 500);
  CU_ASSERT_FATAL(y->dtype == DT_INT64 && y->dims[0] == 500);
  sb_free(&d.log);
  return x->dims[0];
}

/* Top-1 hits of g (interpreter) on the held-out set. */
static int hits(Graph *g, const HostTensor *x, const HostTensor *y) {
  Diag d = {.quiet = true};
  int ok = 0;
  for (int64_t i = 0; i < x->dims[0]; i++) {
    const float *in[1] = {(const float *)x->data + i * 64};
    float *out[1] = {NULL};
    CU_ASSERT_FATAL(interp_run(g, in, out, &d));
    int best = 0;
    for (int k = 1; k < 10; k++)
      best = out[0][k] > out[0][best] ? k : best;
    ok += best == ((const int64_t *)y->data)[i];
    free(out[0]);
  }
  sb_free(&d.log);
  return ok;
}

static Graph *load_digits(const QuantizeOptions *q, const char *passes, Diag *d) {
  CompileJob j = {.model = DIGITS "/digits_resnext.onnx", .name = "digits", .passes = passes,
                  .target = "native", .verify = true, .quant = q};
  return cd_load_model(&j, NULL, NULL, d);
}

/* int8 within half a point of float on the held-out images, with min/max
 * and with percentile ranges; all 8 convs folded to QLinearConv, the Gemm
 * head to MatMulInteger, the two residual adds to QLinearAdd. */
static void test_digits_accuracy(void) {
  HostTensor x = {0}, y = {0};
  int64_t n = heldout(&x, &y);
  Diag d = {.quiet = true};
  Graph *f = load_digits(NULL, "default", &d);
  CU_ASSERT_FATAL(f != NULL);
  int base = hits(f, &x, &y);
  CU_ASSERT(base >= 495); /* the fixture's 497 of 500 */
  for (int m = 0; m < 2; m++) {
    QuantizeOptions q = {.calibrate = DIGITS "/calib", .quiet = true,
                         .method = m ? CALIB_PERCENTILE : CALIB_MINMAX, .percentile = 99.99};
    Graph *g = load_digits(&q, "default", &d);
    if (!g)
      fprintf(stderr, "\n%s\n", d.log.buf ? d.log.buf : "");
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT(count_live(g, OP_QLINEARCONV) == 8);
    CU_ASSERT(count_live(g, OP_CONV) == 0);
    CU_ASSERT(count_live(g, OP_GEMM) == 0); /* the head: MatMulInteger on int8 weights */
    CU_ASSERT(count_live(g, OP_MATMULINTEGER) == 1);
    CU_ASSERT(count_live(g, OP_QLINEARADD) == 2); /* the residual adds */
    CU_ASSERT(count_live(g, OP_ADD) == 1); /* the head's bias */
    int got = hits(g, &x, &y);
    if (1000.0 * (base - got) > 5.0 * (double)n) /* more than half a point below */
      fprintf(stderr, "\nint8 (%s): %d of %lld, float %d\n", m ? "percentile" : "minmax", got,
              (long long)n, base);
    CU_ASSERT(1000.0 * (base - got) <= 5.0 * (double)n);
    graph_free(g);
  }
  graph_free(f);
  tensor_free(&x);
  tensor_free(&y);
  sb_free(&d.log);
}

/* Generated code of the int8 digits model gives the interpreter's output
 * (the integer convs are exact; the float ops between them -- the residual
 * Adds on dequantized values, the pool, the Gemm head -- round as fp32
 * kernels do, so: within 1e-5 of the output's magnitude, same arg-max). */
static void test_digits_generated(void) {
  HostTensor x = {0}, y = {0};
  heldout(&x, &y);
  QuantizeOptions q = {.calibrate = DIGITS "/calib", .quiet = true, .max_inputs = 16};
  CompileJob j = {.model = DIGITS "/digits_resnext.onnx", .name = "digits", .passes = "default",
                  .target = "native", .verify = true, .quant = &q, .threads = 2,
                  .cflags = "-O2 -std=c99 -pedantic -Wall -Wextra -Werror"};
  Diag d = {.quiet = true};
  Graph *g = cd_load_model(&j, NULL, NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  for (int i = 0; i < 3; i++) {
    const float *in[1] = {(const float *)x.data + i * 97 * 64};
    float *want[1] = {NULL}, *got[1] = {NULL};
    CU_ASSERT_FATAL(interp_run(g, in, want, &d));
    bool ran = cd_run_generated(&j, g, in, got, &d);
    if (!ran)
      fprintf(stderr, "\n%s\n", d.log.buf ? d.log.buf : "");
    CU_ASSERT_FATAL(ran);
    double err = 0, mag = 0;
    int wa = 0, ga = 0;
    for (int k = 0; k < 10; k++) {
      err = fmax(err, fabs((double)want[0][k] - got[0][k]));
      mag = fmax(mag, fabs((double)want[0][k]));
      wa = want[0][k] > want[0][wa] ? k : wa;
      ga = got[0][k] > got[0][ga] ? k : ga;
    }
    if (!(err <= 1e-5 * mag))
      fprintf(stderr, "\nint8 digits, image %d: generated code off by %g of %g\n", i, err, mag);
    CU_ASSERT(err <= 1e-5 * mag);
    CU_ASSERT(wa == ga);
    free(want[0]);
    free(got[0]);
  }
  graph_free(g);
  tensor_free(&x);
  tensor_free(&y);
  sb_free(&d.log);
}

/* The written QDQ model loads back: int8 weights behind DequantizeLinear,
 * a QuantizeLinear per activation, and the same outputs as the graph it
 * was written from. */
static void test_quantize_writes_qdq(void) {
  QuantizeOptions q = {.calibrate = DIGITS "/calib", .quiet = true};
  Diag d = {.quiet = true};
  Graph *g = load_digits(&q, "none", &d);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT(count_live(g, OP_QUANTIZE) == 12);
  CU_ASSERT(count_live(g, OP_DEQUANTIZE) == 12 + 9 + 8); /* activations, weights, conv biases */
  CU_ASSERT_FATAL(onnx_write(g, tu_path("digits_int8.onnx"), &d));
  Graph *back = graph_new();
  CU_ASSERT_FATAL(onnx_load(back, tu_path("digits_int8.onnx"), &d) && graph_infer(back, &d));
  CU_ASSERT(count_live(back, OP_QUANTIZE) == 12);
  int int8_weights = 0;
  for (int v = 0; v < back->nvalues; v++)
    int8_weights += back->values[v].data && back->values[v].dtype == DT_INT8 &&
                    back->values[v].rank == 4;
  CU_ASSERT(int8_weights == 8);
  float in[64];
  for (int i = 0; i < 64; i++)
    in[i] = (float)((i * 7) % 17) / 16.0f;
  const float *ins[1] = {in};
  float *a[1] = {NULL}, *b[1] = {NULL};
  CU_ASSERT_FATAL(interp_run(g, ins, a, &d) && interp_run(back, ins, b, &d));
  CU_ASSERT(memcmp(a[0], b[0], 10 * sizeof(float)) == 0);
  free(a[0]);
  free(b[0]);
  graph_free(back);
  graph_free(g);
  sb_free(&d.log);
}

/* q's calibration refused with a message holding why. */
static bool refused(QuantizeOptions *q, const char *model, const char *why) {
  Diag d = {.quiet = true};
  CompileJob j = {.model = model, .name = "m", .passes = "default", .target = "native",
                  .quant = q};
  Graph *g = cd_load_model(&j, NULL, NULL, &d);
  bool ok = !g && tu_log_has(&d, why);
  if (!ok)
    fprintf(stderr, "\nexpected '%s', got: %s\n", why, d.log.buf ? d.log.buf : "(loaded)");
  graph_free(g);
  sb_free(&d.log);
  return ok;
}

static void test_quantize_errors(void) {
  QuantizeOptions q = {.quiet = true};
  const char *digits = DIGITS "/digits_resnext.onnx";
  mkdir(tu_path("empty_calib"), 0700);
  q.calibrate = tu_path("empty_calib");
  CU_ASSERT(refused(&q, digits, "holds no .npy files; put one input per file there "
                                "(float32 [1,1,8,8], as 'input')"));
  q.calibrate = tu_path("no_such_folder");
  CU_ASSERT(refused(&q, digits, "cannot open the calibration folder"));
  mkdir(tu_path("bad_calib"), 0700);
  int64_t dims[4] = {1, 1, 4, 4};
  float z[16] = {0};
  char path[4200];
  snprintf(path, sizeof path, "%s/a.npy", tu_path("bad_calib"));
  CU_ASSERT_FATAL(tensor_write_npy(path, z, 4, dims));
  q.calibrate = tu_path("bad_calib");
  CU_ASSERT(refused(&q, digits, "a.npy' is float32 [1,1,4,4]; the model's input 'input' is "
                                "float32 [1,1,8,8]"));
  q.calibrate = DIGITS "/calib";
  const char *ex[1] = {"/no/such/Conv"};
  q.exclude = ex, q.nexclude = 1;
  CU_ASSERT(refused(&q, digits, "--exclude /no/such/Conv: the model has no node of that name"));
  q.nexclude = 0;
  /* a model already quantized (the QDQ file written above) */
  QuantizeOptions w = {.calibrate = DIGITS "/calib", .quiet = true};
  Diag d = {.quiet = true};
  Graph *g = load_digits(&w, "none", &d);
  CU_ASSERT_FATAL(g && onnx_write(g, tu_path("already.onnx"), &d));
  graph_free(g);
  sb_free(&d.log);
  CU_ASSERT(refused(&q, tu_path("already.onnx"), "the model is already quantized"));
}

/* --exclude keeps a conv float: one Conv left, seven folded. */
static void test_quantize_exclude(void) {
  const char *ex[1] = {"/block2/conv2/Conv"};
  QuantizeOptions q = {.calibrate = DIGITS "/calib", .quiet = true, .exclude = ex,
                       .nexclude = 1};
  Diag d = {.quiet = true};
  Graph *g = load_digits(&q, "default", &d);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT(count_live(g, OP_QLINEARCONV) == 7);
  CU_ASSERT(count_live(g, OP_CONV) == 1);
  graph_free(g);
  sb_free(&d.log);
}

/* A .nx model (values the DSL leaves unnamed) quantizes and writes a QDQ
 * file whose node names are unique (ONNX Runtime refuses repeats) and
 * which loads back with the same outputs. */
static void test_quantize_dsl(void) {
  mkdir(tu_path("calib_nx"), 0700);
  int64_t dims[4] = {1, 3, 32, 32};
  float *x = malloc(sizeof(float) * 3072);
  CU_ASSERT_FATAL(x != NULL);
  char path[4200];
  for (int f = 0; f < 2; f++) {
    for (int i = 0; i < 3072; i++)
      x[i] = sinf(0.37f * (float)i + (float)f);
    snprintf(path, sizeof path, "%s/c%d.npy", tu_path("calib_nx"), f);
    CU_ASSERT_FATAL(tensor_write_npy(path, x, 4, dims));
  }
  QuantizeOptions q = {.calibrate = tu_path("calib_nx"), .quiet = true};
  CompileJob j = {.model = CARDINAL_SOURCE_DIR "/examples/resnext/cifar/resnext_tiny.nx",
                  .name = "tiny", .passes = "none", .target = "native", .quant = &q};
  Diag d = {.quiet = true};
  Graph *g = cd_load_model(&j, NULL, NULL, &d);
  if (!g)
    fprintf(stderr, "\n%s\n", d.log.buf ? d.log.buf : "");
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT(count_live(g, OP_QUANTIZE) > 0);
  CU_ASSERT_FATAL(onnx_write(g, tu_path("tiny_int8.onnx"), &d));
  Graph *back = graph_new();
  CU_ASSERT_FATAL(onnx_load(back, tu_path("tiny_int8.onnx"), &d) && graph_infer(back, &d));
  int repeats = 0;
  for (int a = 0; a < back->nnodes; a++) {
    for (int b = a + 1; b < back->nnodes; b++)
      repeats += back->nodes[a].name[0] && !strcmp(back->nodes[a].name, back->nodes[b].name);
  }
  CU_ASSERT(repeats == 0);
  const float *ins[1] = {x};
  float *a[1] = {NULL}, *b[1] = {NULL};
  CU_ASSERT_FATAL(interp_run(g, ins, a, &d) && interp_run(back, ins, b, &d));
  CU_ASSERT(memcmp(a[0], b[0], sizeof(float) * (size_t)value_numel(&g->values[g->outputs[0]])) == 0);
  free(a[0]);
  free(b[0]);
  free(x);
  graph_free(back);
  graph_free(g);
  sb_free(&d.log);
}

void add_quantize_suite(void) {
  CU_pSuite s = CU_add_suite("quantize", NULL, NULL);
  ADD(s, test_digits_accuracy);
  ADD(s, test_digits_generated);
  ADD(s, test_quantize_writes_qdq);
  ADD(s, test_quantize_errors);
  ADD(s, test_quantize_exclude);
  ADD(s, test_quantize_dsl);
}
