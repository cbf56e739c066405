/*
 * test_hostile.c — a model file is hostile input.  One regression test per
 * bug class of the hardening audit (issue 11), each on the smallest model
 * showing it: shape arithmetic that overflows, divisions by a dim of zero,
 * memory errors, stack overflow, tiny files asking for huge work,
 * quadratic algorithms, files outside the model's folder and silently
 * wrong models.  Each must end in a clean error (or the right result),
 * never a crash, a hang or undefined behaviour (the sanitizer mode of the
 * suite runs these under ASan and UBSan).
 *
 * The guards against work -- quadratic algorithms, work past a budget,
 * memory before a check -- count it, never time it: steps (cd_step_count:
 * the loops a model file sizes count their iterations, CD_STEPS) and bytes
 * allocated (cd_alloc_bytes).  A loaded machine cannot fail them, a slow
 * algorithm cannot pass them, and the counts are the same under the
 * sanitizers.
 */
#include "dsl.h"
#include "onnx_builder.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const int64_t d4[4] = {1, 1, 4, 4};

/*
 * A complexity guard: work(n) in steps for n and 4n.  Linear work grows 4
 * times, n log n about 4.6 times at the sizes used, a quadratic loop 16
 * times (a quadratic term only as large as the linear one already gives
 * 10); LINEAR_GROWTH lies between.  At least n steps at n: the counter sees
 * the work, or the guard guards nothing.
 */
#define LINEAR_GROWTH 6.0

static void expect_linear(const char *what, uint64_t (*work)(int n, int k), int k, int n) {
  uint64_t a = work(n, k), b = work(4 * n, k);
  double growth = (double)b / (double)(a ? a : 1);
  if (a < (uint64_t)n || !(growth <= LINEAR_GROWTH))
    fprintf(stderr, "\n%s: %llu steps at n = %d, %llu at 4n (x%.2f; at most x%.1f)\n", what,
            (unsigned long long)a, n, (unsigned long long)b, growth, LINEAR_GROWTH);
  CU_ASSERT(a >= (uint64_t)n);
  CU_ASSERT(growth <= LINEAR_GROWTH);
}

/* Loads and infers path; true if both pass.  Errors in d (quiet). */
static bool load_infer(const char *path, Diag *d) {
  Graph *g = graph_new();
  d->quiet = true;
  bool ok = onnx_load(g, path, d) && graph_infer(g, d);
  graph_free(g);
  return ok;
}

/* Writes m, frees it, and expects loading + inference to fail saying needle. */
static void expect_model_error(MB *m, const char *file, const char *needle) {
  CU_ASSERT_FATAL(mb_write(m, tu_path(file)));
  mb_free(m);
  Diag d = {0};
  bool ok = load_infer(tu_path(file), &d);
  CU_ASSERT(!ok);
  if (!tu_log_has(&d, needle)) {
    fprintf(stderr, "\n%s: expected '%s' in:\n%s\n", file, needle, d.log.buf ? d.log.buf : "");
    CU_FAIL("message");
  }
  sb_free(&d.log);
}

/* x[1,1,4,4] -> op -> y, for the spatial ops. */
static MB *one_node(const char *op, Onnx__NodeProto **n) {
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, d4);
  const char *ins[1] = {"x"}, *outs[1] = {"y"};
  *n = mb_node(m, op, "n", 1, ins, 1, outs);
  mb_output(m, "y");
  return m;
}

/* ------------------------------------------------------------ 1. overflow */

static void test_pool_huge_pads(void) {
  Onnx__NodeProto *n;
  MB *m = one_node("MaxPool", &n);
  const int64_t k[2] = {1, 1}, pads[4] = {(int64_t)1 << 62, (int64_t)1 << 62, 0, 0};
  mb_attr_ints(n, "kernel_shape", 2, k);
  mb_attr_ints(n, "pads", 4, pads);
  expect_model_error(m, "pool_pads.onnx", "pads must be below 2^31");
  /* Within the attribute bound, the output is over the tensor limit. */
  m = one_node("MaxPool", &n);
  const int64_t big[4] = {INT32_MAX, INT32_MAX, 0, 0};
  mb_attr_ints(n, "kernel_shape", 2, k);
  mb_attr_ints(n, "pads", 4, big);
  expect_model_error(m, "pool_pads2.onnx", "output 'y' is too large");
}

static void test_conv_huge_dilation_and_stride(void) {
  const int64_t wd[4] = {1, 1, 3, 3}, dil[2] = {(int64_t)1 << 62, 1};
  float w[9] = {0};
  for (int same = 0; same < 2; same++) {
    MB *m = mb_new(13);
    mb_input(m, "x", 1, 4, d4);
    mb_init_raw(m, "W", 1, 4, wd, w, sizeof w);
    const char *ins[2] = {"x", "W"}, *outs[1] = {"y"};
    Onnx__NodeProto *n = mb_node(m, "Conv", "c", 2, ins, 1, outs);
    if (same) { /* SAME padding divides by the stride: (in + st - 1) / st overflowed */
      mb_attr_string(n, "auto_pad", "SAME_UPPER");
      mb_attr_ints(n, "strides", 2, (const int64_t[2]){INT64_MAX, 1});
    } else {
      mb_attr_ints(n, "dilations", 2, dil);
    }
    mb_output(m, "y");
    expect_model_error(m, "conv_dil.onnx", "must be below 2^31");
  }
}

static void test_pad_overflow(void) {
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, d4);
  const int64_t pd[1] = {8}, pads[8] = {0, 0, INT64_MAX, 0, 0, 0, 1, 0};
  mb_init_int64s(m, "pads", 1, pd, pads);
  const char *ins[2] = {"x", "pads"}, *outs[1] = {"y"};
  mb_node(m, "Pad", "p", 2, ins, 1, outs);
  mb_output(m, "y");
  expect_model_error(m, "pad.onnx", "overflow");
}

static void test_reshape_overflow(void) {
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, d4);
  const int64_t sd[1] = {3}, shape[3] = {(int64_t)1 << 32, (int64_t)1 << 32, -1};
  mb_init_int64s(m, "s", 1, sd, shape);
  const char *ins[2] = {"x", "s"}, *outs[1] = {"y"};
  mb_node(m, "Reshape", "r", 2, ins, 1, outs);
  mb_output(m, "y");
  expect_model_error(m, "reshape.onnx", "the target shape's size overflows");
}

/* An empty tensor must not carry dims whose product overflows: Flatten of
 * [0, 2^31-1, 2^31-1] made a dim of 2^62 from a value of 0 elements. */
static void test_flatten_of_empty_giant(void) {
  MB *m = mb_new(13);
  const int64_t xd[3] = {0, INT32_MAX, INT32_MAX};
  mb_input(m, "x", 1, 3, xd);
  const char *ins[1] = {"x"}, *outs[1] = {"y"};
  mb_node(m, "Flatten", "f", 1, ins, 1, outs);
  mb_output(m, "y");
  expect_model_error(m, "flatten.onnx", "input 'x' is too large");
}

static void test_concat_over_limit(void) {
  MB *m = mb_new(13);
  const int64_t xd[2] = {1, (int64_t)1 << 30};
  mb_input(m, "x", 1, 2, xd);
  const char *ins[4] = {"x", "x", "x", "x"}, *outs[1] = {"y"};
  Onnx__NodeProto *n = mb_node(m, "Concat", "c", 4, ins, 1, outs);
  mb_attr_int(n, "axis", 1);
  mb_output(m, "y");
  expect_model_error(m, "concat.onnx", "output 'y' is too large");
}

static void test_value_numel_saturates(void) {
  Graph *g = graph_new();
  int v = graph_add_value(g, "v");
  const int64_t dims[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
  value_set_shape(&g->values[v], DT_FLOAT, 2, dims);
  CU_ASSERT_EQUAL(value_numel(&g->values[v]), INT64_MAX);
  CU_ASSERT_EQUAL(value_bytes(&g->values[v]), SIZE_MAX);
  char why[160];
  CU_ASSERT(!value_size_ok(g, &g->values[v], why, sizeof why));
  /* The limit is the graph's: a smaller one refuses a small tensor. */
  const int64_t small[1] = {1000};
  value_set_shape(&g->values[v], DT_FLOAT, 1, small);
  CU_ASSERT(value_size_ok(g, &g->values[v], why, sizeof why));
  g->limits.tensor_bytes = 3999;
  CU_ASSERT(!value_size_ok(g, &g->values[v], why, sizeof why));
  CU_ASSERT(strstr(why, "--max-tensor-bytes") != NULL);
  graph_free(g);
}

static void test_checked_helpers(void) {
  int64_t r;
  CU_ASSERT(!ck_add(INT64_MAX, 1, &r));
  CU_ASSERT(!ck_sub(INT64_MIN, 1, &r));
  CU_ASSERT(!ck_mul((int64_t)1 << 32, (int64_t)1 << 31, &r));
  CU_ASSERT(ck_mul((int64_t)1 << 31, (int64_t)1 << 31, &r) && r == (int64_t)1 << 62);
  CU_ASSERT_EQUAL(sat_mul(-((int64_t)1 << 40), (int64_t)1 << 40), INT64_MIN);
  CU_ASSERT_EQUAL(sat_sub(0, INT64_MIN), INT64_MAX);
  CU_ASSERT(!ck_f2i(9223372036854775808.0, &r));
  CU_ASSERT(ck_f2i(-9223372036854775808.0, &r) && r == INT64_MIN);
  CU_ASSERT(!ck_f2i(NAN, &r));
  CU_ASSERT_EQUAL(cd_f2i_sat(1e30), INT64_MAX);
  CU_ASSERT_EQUAL(cd_f2i_sat(-1e30), INT64_MIN);
  CU_ASSERT_EQUAL(cd_f2i_sat(NAN), 0);
}

/* Folds op(inputs) on int64 or float constants; returns the int64 output. */
static const int64_t *fold_int64(Graph *g, const char *op, int nin, const int *ins,
                                 int64_t to) {
  Node *n;
  int y = tu_node(g, op, nin, ins, &n);
  if (to)
    tu_attr_int(g, n, "to", to);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(node_setup(g, n, &d));
  CU_ASSERT_FATAL(node_fold(g, n, &d));
  sb_free(&d.log);
  return g->values[y].data;
}

static int const_i64(Graph *g, int n, const int64_t *v) {
  int64_t dim = n;
  int c = graph_add_value(g, "");
  value_set_shape(&g->values[c], DT_INT64, 1, &dim);
  memcpy(value_alloc_data(g, c), v, sizeof(int64_t) * (size_t)n);
  return c;
}

/* float -> int64 casts of 1e30 or 2^64 were undefined (x86 gave INT64_MIN,
 * a negative dim); they saturate. */
static void test_cast_saturates(void) {
  Graph *g = graph_new();
  const int64_t dims[1] = {5};
  const float x[5] = {1e30f, -1e30f, NAN, 18446744073709551616.0f, -7.9f};
  int c = tu_const(g, "c", 1, dims, x);
  const int64_t *y = fold_int64(g, "Cast", 1, &c, DT_INT64);
  CU_ASSERT_EQUAL(y[0], INT64_MAX);
  CU_ASSERT_EQUAL(y[1], INT64_MIN);
  CU_ASSERT_EQUAL(y[2], 0);
  CU_ASSERT_EQUAL(y[3], INT64_MAX);
  CU_ASSERT_EQUAL(y[4], -7);
  graph_free(g);
}

/* Shape arithmetic in int64 was done in double and cast back: undefined
 * past 2^63, inexact past 2^53. */
static void test_int64_arithmetic_saturates(void) {
  Graph *g = graph_new();
  const int64_t a[4] = {(int64_t)1 << 62, INT64_MAX, INT64_MIN, ((int64_t)1 << 53) + 1};
  const int64_t b[4] = {4, 1, -1, 2};
  int ab[2] = {const_i64(g, 4, a), const_i64(g, 4, b)};
  const int64_t *mul = fold_int64(g, "Mul", 2, ab, 0);
  CU_ASSERT_EQUAL(mul[0], INT64_MAX);
  CU_ASSERT_EQUAL(mul[3], ((int64_t)1 << 54) + 2);
  const int64_t *add = fold_int64(g, "Add", 2, ab, 0);
  CU_ASSERT_EQUAL(add[1], INT64_MAX);
  CU_ASSERT_EQUAL(add[3], ((int64_t)1 << 53) + 3); /* exact */
  const int64_t *div = fold_int64(g, "Div", 2, ab, 0);
  CU_ASSERT_EQUAL(div[2], 0); /* INT64_MIN / -1 does not trap */
  graph_free(g);
}

/* ------------------------------------------------------------ DSL */

static const char *write_text(const char *name, const char *text) {
  const char *p = tu_path(name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
  return p;
}

/* Compiles DSL text; expects failure with `needle` in the messages. */
static void expect_dsl_error(const char *text, const char *needle) {
  const char *p = write_text("h.nx", text);
  Graph *g = graph_new();
  Diag d = {.quiet = true};
  bool ok = dsl_load_model(g, p, NULL, 0, &d) && graph_infer(g, &d);
  CU_ASSERT(!ok);
  if (!tu_log_has(&d, needle)) {
    fprintf(stderr, "\nexpected '%s' in:\n%s\n", needle, d.log.buf ? d.log.buf : "");
    CU_FAIL("message");
  }
  graph_free(g);
  sb_free(&d.log);
}

static void test_dsl_dims_over_2_31(void) {
  /* f32[4294967297, 4] was truncated to int: [1, 4]. */
  expect_dsl_error("model m(x: f32[4294967297, 4]) { return relu(x) }\n", "is too large");
}

static void test_dsl_range_and_negation(void) {
  /* hi - lo overflowed: the 100000-step check passed and the loop ran
   * for 2^63 steps. */
  expect_dsl_error("model m(x: f32[2]) {\n  for i in -9223372036854775807 - 1 .. 1 {\n"
                   "    x = relu(x)\n  }\n  return x\n}\n",
                   "a range of more than 100000 steps");
  expect_dsl_error("model m(x: f32[2]) {\n  n = -(-9223372036854775807 - 1)\n  return x\n}\n",
                   "integer overflow");
}

/* ------------------------------------------------------------ 2. division by zero */

/* A Conv with zero output channels divided by them (stats.c, rewrite.c,
 * the 1x1 kernel's pixels per image); a BatchNormalization of size 0 in
 * its kernel and fold-bn. */
static void test_empty_conv_and_bn(void) {
  for (int k = 0; k < 3; k++) { /* a Conv of 0 channels; a BN of C = 0; a BN of N = 0 */
    MB *m = mb_new(13);
    const int64_t xd[4] = {k == 2 ? 0 : 1, k == 1 ? 0 : 1, 4, 4}, wd[4] = {0, 1, 1, 1};
    const int64_t cd[1] = {k == 1 ? 0 : 1};
    mb_input(m, "x", 1, 4, xd);
    mb_init_raw(m, "W", 1, 4, wd, (const float[1]){0}, 0);
    if (k == 0) {
      const char *cins[2] = {"x", "W"}, *couts[1] = {"c"};
      mb_node(m, "Conv", "conv", 2, cins, 1, couts);
    }
    const char *bn[5] = {"s", "b", "m", "v"};
    for (int i = 0; i < 4; i++)
      mb_init_raw(m, bn[i], 1, 1, cd, (const float[1]){1}, k == 1 ? 0 : 4);
    const char *bins[5] = {k == 0 ? "c" : "x", "s", "b", "m", "v"}, *bouts[1] = {"y"};
    mb_node(m, "BatchNormalization", "bn", 5, bins, 1, bouts);
    mb_output(m, "y");
    expect_model_error(m, "empty.onnx", k == 0 ? "the weight is empty" : "the input is empty");
  }
}

/* node_macs divided by the output channels. */
static void test_macs_of_empty_conv(void) {
  Graph *g = graph_new();
  const int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {0, 1, 1, 1};
  int x = tu_input(g, "x", 4, xd);
  int w = graph_add_value(g, "w");
  value_set_shape(&g->values[w], DT_FLOAT, 4, wd);
  Node *n;
  int ins[2] = {x, w};
  int y = tu_node(g, "Conv", 2, ins, &n);
  const int64_t yd[4] = {1, 0, 2, 2};
  value_set_shape(&g->values[y], DT_FLOAT, 4, yd);
  CU_ASSERT_EQUAL(node_macs(g, n), 0);
  graph_free(g);
}

/* ------------------------------------------------------------ 3. memory errors */

/* A numpy batch dim of 0 against 1 became 1: MatMul read A past its end. */
static void test_matmul_broadcast_zero(void) {
  Graph *g = graph_new();
  const int64_t ad[3] = {0, 2, 3}, bd[3] = {1, 3, 4};
  int ins[2] = {tu_input(g, "a", 3, ad), tu_input(g, "b", 3, bd)};
  Node *n;
  int y = tu_node(g, "MatMul", 2, ins, &n);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(node_setup(g, n, &d));
  CU_ASSERT_EQUAL(g->values[y].dims[0], 0);
  graph_free(g);
  sb_free(&d.log);
}

/* strtoll ran past the end of the safetensors header: into the tensor
 * bytes, or past the file's bytes when a number ends the file (ASan sees
 * it in the sanitizer mode; cd_read_file's buffer ends with the file). */
static void test_safetensors_number_at_end(void) {
  const char *json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  for (int cut = 0; cut < 2; cut++) {
    FILE *f = fopen(tu_path("n.safetensors"), "wb");
    uint64_t hl = strlen(json) - (cut ? 3 : 0); /* cut: the header ends "...[0,4" */
    fwrite(&hl, 8, 1, f);
    fwrite(json, 1, hl, f);
    if (!cut)
      fwrite("1234", 1, 4, f); /* digits right after the header */
    fclose(f);
    SafeTensors st;
    Diag d = {.quiet = true};
    bool ok = safetensors_open(&st, tu_path("n.safetensors"), &d);
    CU_ASSERT_EQUAL(ok, !cut);
    if (ok) {
      CU_ASSERT_EQUAL(st.n, 1);
      CU_ASSERT_EQUAL(st.t[0].bytes, 4);
      safetensors_close(&st);
    } else {
      CU_ASSERT(tu_log_has(&d, "not valid JSON"));
    }
    sb_free(&d.log);
  }
}

/* 5,000 nested TypeProtos in 35 KB: protobuf-c's recursive unpacking ran
 * off the end of the stack.  The bytes are written back to front. */
static void test_protobuf_nesting(void) {
  size_t cap = 1 << 17, at = cap;
  uint8_t *b = malloc(cap);
  /* prepends a tag and a length-delimited field holding b[at, cap) */
  size_t end = cap;
#define PUT(byte) (b[--at] = (uint8_t)(byte))
  for (int level = 0; level < 5000; level++) {
    for (int k = 0; k < 2; k++) { /* Sequence.elem_type = 1, TypeProto.sequence_type = 4 */
      size_t len = end - at;
      uint8_t v[10];
      int nv = 0;
      do {
        v[nv++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
        len >>= 7;
      } while (len);
      while (nv)
        PUT(v[--nv]);
      PUT(k == 0 ? 0x0a : 0x22);
    }
  }
  size_t tlen = end - at;
  /* ValueInfoProto { name = "x", type = ... } */
  uint8_t v[10];
  int nv = 0;
  do {
    v[nv++] = (uint8_t)((tlen & 0x7f) | (tlen > 0x7f ? 0x80 : 0));
    tlen >>= 7;
  } while (tlen);
  while (nv)
    PUT(v[--nv]);
  PUT(0x12);
  PUT('x');
  PUT(1);
  PUT(0x0a);
  for (int k = 0; k < 2; k++) { /* GraphProto.input = 11, ModelProto.graph = 7 */
    size_t len = end - at;
    nv = 0;
    do {
      v[nv++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
      len >>= 7;
    } while (len);
    while (nv)
      PUT(v[--nv]);
    PUT(k == 0 ? 0x5a : 0x3a);
  }
  PUT(8); /* ir_version = 8 */
  PUT(0x08);
#undef PUT
  FILE *f = fopen(tu_path("nested.onnx"), "wb");
  fwrite(b + at, 1, end - at, f);
  fclose(f);
  free(b);
  Diag d = {0};
  CU_ASSERT(!load_infer(tu_path("nested.onnx"), &d));
  CU_ASSERT(tu_log_has(&d, "messages nest deeper than 100 levels"));
  sb_free(&d.log);
}

/* An Identity of a graph input whose type is a map, not a tensor, into an
 * output declared uint64 (found by fuzz_onnx): shape inference let the
 * value through and the schedule's kernel naming asserted on its type. */
static void test_non_tensor_input(void) {
  static const unsigned char model[] = {
      0x08, 0x08, 0x3a, 0x3d, 0x0a, 0x10, 0x0a, 0x01, 0x78, 0x12, 0x01, 0x79, 0x22, 0x08,
      0x49, 0x64, 0x65, 0x6e, 0x74, 0x69, 0x74, 0x79, 0x12, 0x01, 0x67, 0x5a, 0x1b, 0x0a,
      0x01, 0x78, 0x12, 0x16, 0x0a, 0x14, 0x28, 0x01, 0x12, 0x10, 0x0a, 0x02, 0x08, 0x01,
      0x0a, 0x02, 0x08, 0x04, 0x0a, 0x02, 0x08, 0x06, 0x0a, 0x02, 0x08, 0x06, 0x62, 0x09,
      0x0a, 0x01, 0x79, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x01, 0x42, 0x04, 0x0a, 0x00, 0x10,
      0x0d};
  FILE *f = fopen(tu_path("maptype.onnx"), "wb");
  CU_ASSERT_FATAL(f != NULL);
  fwrite(model, 1, sizeof model, f);
  fclose(f);
  Diag d = {0};
  CU_ASSERT(!load_infer(tu_path("maptype.onnx"), &d));
  CU_ASSERT(tu_log_has(&d, "input 'x' is not a tensor of a supported element type"));
  sb_free(&d.log);
}

/* ------------------------------------------------------------ 4. stack */

/* Three blocks, each an expression of 480 nested calls: inside the
 * evaluator's depth limit (1500), but ~1440 frames of a call's arguments
 * overflowed the C stack (under ASan, or with a smaller stack). */
static void test_dsl_nested_calls_stack(void) {
  StrBuf sb = {0};
  const char *inner[3] = {"relu", "b1", "b2"};
  for (int b = 0; b < 3; b++) {
    sb_printf(&sb, "block b%d(x) {\n  return ", b + 1);
    for (int i = 0; i < 480; i++)
      sb_printf(&sb, "%s(", inner[b]);
    sb_printf(&sb, "x");
    for (int i = 0; i < 480; i++)
      sb_printf(&sb, ")");
    sb_printf(&sb, "\n}\n");
  }
  sb_printf(&sb, "model m(x: f32[2]) { return b3(x) }\n");
  expect_dsl_error(sb.buf, "evaluation nests deeper than");
  sb_free(&sb);
}

/* ------------------------------------------------------------ 5. budgets */

/* Folding was uncapped: a Pad of a 1-element constant folded 2^28 floats
 * (a 1 GB weights file from a few hundred bytes), a Conv of two padded
 * constants 10^13 multiply-adds. */
static void test_fold_budget(void) {
  for (int conv = 0; conv < 2; conv++) {
    MB *m = mb_new(13);
    const int64_t xd[4] = {1, 1, 1, 1}, one[4] = {1, 1, 1, 1}, pd[1] = {8};
    mb_input(m, "x", 1, 4, xd);
    mb_init_raw(m, "c", 1, 4, one, (const float[1]){1}, 4);
    const int64_t big[8] = {0, 0, 0, 0, 0, 0, conv ? 4095 : 1 << 14, 1 << 14};
    const int64_t kw[8] = {0, 0, 0, 0, 0, 0, 1023, 1023};
    mb_init_int64s(m, "p", 1, pd, big);
    mb_init_int64s(m, "pw", 1, pd, kw);
    const char *pi[2] = {"c", "p"}, *po[1] = {"X"}, *wi[2] = {"c", "pw"}, *wo[1] = {"W"};
    mb_node(m, "Pad", "pad", 2, pi, 1, po);
    mb_node(m, "Pad", "padw", 2, wi, 1, wo);
    const char *ci[2] = {"X", "W"}, *co[1] = {"K"};
    if (conv)
      mb_node(m, "Conv", "conv", 2, ci, 1, co);
    const char *ai[2] = {"x", conv ? "K" : "X"}, *ao[1] = {"y"};
    mb_node(m, "Add", "add", 2, ai, 1, ao); /* keeps the folded value a weight */
    mb_output(m, "y");
    CU_ASSERT_FATAL(mb_write(m, tu_path("fold.onnx")));
    mb_free(m);
    CompileJob j = {.model = tu_path("fold.onnx"), .target = "scalar"};
    Diag d = {.quiet = true};
    Graph *g = cd_load_model(&j, NULL, NULL, &d);
    CU_ASSERT(g == NULL);
    CU_ASSERT(tu_log_has(&d, "would exceed the constant-folding budget"));
    graph_free(g);
    sb_free(&d.log);
  }
}

/* The byte budget counts beyond the model's own constants: ViT-B/16
 * exported with its weights' Transposes left in (training=PRESERVE) folds
 * 340 MB of transposed weights, past the 256 MB budget, and failed.  Here
 * with a budget of 1 KiB: one Transpose of a 4 KiB weight folds (4 KiB is
 * within 1 KiB plus the model's 4 KiB); three of it do not (12 KiB). */
static void test_fold_budget_own_bytes(void) {
  for (int copies = 1; copies <= 3; copies += 2) {
    MB *m = mb_new(13);
    const int64_t xd[2] = {32, 32};
    float w[32 * 32];
    for (int i = 0; i < 32 * 32; i++)
      w[i] = (float)i;
    mb_input(m, "x", 1, 2, xd);
    mb_init_floats(m, "w", 2, xd, w);
    const char *prev = "x";
    char t[8], names[3][8];
    for (int k = 0; k < copies; k++) {
      snprintf(t, sizeof t, "t%d", k);
      snprintf(names[k], sizeof names[k], k == copies - 1 ? "y" : "s%d", k);
      const char *ti[1] = {"w"}, *to[1] = {t}, *ai[2] = {prev, t}, *ao[1] = {names[k]};
      mb_node(m, "Transpose", NULL, 1, ti, 1, to);
      mb_node(m, "Add", NULL, 2, ai, 1, ao);
      prev = names[k];
    }
    mb_output(m, "y");
    CU_ASSERT_FATAL(mb_write(m, tu_path("fold_own.onnx")));
    mb_free(m);
    Limits lim = cd_default_limits;
    lim.fold_bytes = 1024;
    CompileJob j = {.model = tu_path("fold_own.onnx"), .target = "scalar", .limits = &lim};
    Diag d = {.quiet = true};
    Graph *g = cd_load_model(&j, NULL, NULL, &d);
    if (copies == 1) {
      CU_ASSERT(g != NULL);
    } else {
      CU_ASSERT(g == NULL);
      CU_ASSERT(tu_log_has(&d, "would exceed the constant-folding budget"));
      CU_ASSERT(tu_log_has(&d, "1024 and the 4096 bytes of its own constants"));
    }
    graph_free(g);
    sb_free(&d.log);
  }
}

/* The node limit held for the DSL only: an ONNX graph may have as many
 * nodes as its file holds (each node costs a kilobyte of IR). */
static void test_onnx_node_limit(void) {
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, d4);
  char a[16], y[16];
  for (int i = 0; i < 101; i++) {
    snprintf(a, sizeof a, i ? "v%d" : "x", i - 1);
    snprintf(y, sizeof y, i == 100 ? "y" : "v%d", i);
    const char *ins[1] = {a}, *outs[1] = {y};
    mb_node(m, "Relu", NULL, 1, ins, 1, outs);
  }
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("nodes.onnx")));
  mb_free(m);
  Limits lim = cd_default_limits;
  lim.nodes = 100;
  CompileJob j = {.model = tu_path("nodes.onnx"), .target = "scalar", .limits = &lim};
  Diag d = {.quiet = true};
  CU_ASSERT(cd_load_model(&j, NULL, NULL, &d) == NULL);
  CU_ASSERT(tu_log_has(&d, "the graph has 101 nodes; at most 100 are allowed"));
  sb_free(&d.log);
}

/* A compile of `file` for `target`, refused for its code budget: the
 * allocations (cd_alloc_count) and steps (cd_step_count: emit() counts its
 * calls, written or not) it took. */
static void refused_compile_work(const char *file, const char *target, uint64_t *allocs,
                                 uint64_t *steps) {
  CompileJob j = {.model = tu_path(file), .target = target, .name = "net",
                  .out_dir = tu_path("refused_out")};
  Diag d = {.quiet = true};
  uint64_t c0 = cd_alloc_count(), s0 = cd_step_count();
  CU_ASSERT(!cd_compile(&j, NULL, &d));
  *allocs = cd_alloc_count() - c0;
  *steps = cd_step_count() - s0;
  CU_ASSERT(tu_log_has(&d, "the generated code would exceed"));
  sb_free(&d.log);
}

/* Work past the budget, for a model made by make(n) and one made by
 * make(2n): the allocations are the same within a tenth (once the budget
 * is spent nothing is built), and the steps grow no faster than the file
 * (a loop may still visit what the file holds, not what it asks for). */
static void expect_flat_past_budget(const char *what, const char *target,
                                    void (*make)(int64_t n), int64_t n) {
  uint64_t a[2], st[2];
  double bytes[2];
  for (int i = 0; i < 2; i++) {
    make(i ? 2 * n : n);
    struct stat sb;
    CU_ASSERT_FATAL(stat(tu_path("budget.onnx"), &sb) == 0);
    bytes[i] = (double)sb.st_size;
    refused_compile_work("budget.onnx", target, &a[i], &st[i]);
  }
  bool flat = a[0] > 0 && a[1] <= a[0] + a[0] / 10;
  bool steps = st[0] > 0 && (double)st[1] <= 1.1 * (double)st[0] * bytes[1] / bytes[0];
  if (!flat || !steps)
    fprintf(stderr, "\n%s: refusing n = %lld, %llu allocations and %llu steps (%.0f-byte "
            "file); 2n, %llu and %llu (%.0f bytes)\n", what, (long long)n,
            (unsigned long long)a[0], (unsigned long long)st[0], bytes[0],
            (unsigned long long)a[1], (unsigned long long)st[1], bytes[1]);
  CU_ASSERT(flat);
  CU_ASSERT(steps);
}

/* x[1, 1, 1, K + 100] -> Conv with a 1 x K kernel -> y. */
static void make_wide_conv(int64_t K) {
  const int64_t xd[4] = {1, 1, 1, K + 100}, wd[4] = {1, 1, 1, K};
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, xd);
  float *w = calloc((size_t)K, sizeof(float));
  mb_init_raw(m, "W", 1, 4, wd, w, sizeof(float) * (size_t)K);
  free(w);
  const char *ins[2] = {"x", "W"}, *outs[1] = {"y"};
  mb_node(m, "Conv", "wide", 2, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("budget.onnx")));
  mb_free(m);
}

/* Past the code budget, the SIMD emitters went on building every string
 * they would have written: a 1 MB Conv with a 250,000-wide kernel took
 * 18 s and 1 GB to be refused (17 million allocations; 1.9 million build
 * the 64 MiB of code up to the budget).  Nothing is built past it: a
 * kernel of 500,000 allocates what one of 250,000 does. */
static void test_code_budget_stops_work(void) {
  expect_flat_past_budget("a 1 x n Conv on avx2", "avx2", make_wide_conv, 250000);
}

/* x[1, 1] -> Pad of n columns -> y. */
static void make_big_pad(int64_t n) {
  MB *m = mb_new(13);
  const int64_t xd[2] = {1, 1}, pd[1] = {4}, pads[4] = {0, 0, 0, n};
  mb_input(m, "x", 1, 2, xd);
  mb_init_int64s(m, "p", 1, pd, pads);
  const char *ins[2] = {"x", "p"}, *outs[1] = {"y"};
  mb_node(m, "Pad", "pad", 2, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("budget.onnx")));
  mb_free(m);
}

/* The Pad kernel's tables have an entry per output coordinate: a Pad of
 * 2^28 columns from 100 bytes wrote gigabytes of C.  Generated code has a
 * budget (Limits.code_bytes); tables are checked before they are written,
 * so 2^29 columns cost what 2^28 do, in allocations and in steps. */
static void test_code_budget(void) {
  expect_flat_past_budget("a Pad of n columns", "scalar", make_big_pad, (int64_t)1 << 28);
}

static void test_dsl_budgets(void) {
  /* Loops are capped one by one, but nest: 10^10 evaluations. */
  expect_dsl_error("model m(x: f32[2]) {\n  for i in 0..100000 {\n    for j in 0..100000 {\n"
                   "      k = i\n    }\n  }\n  return x\n}\n",
                   "evaluation takes more than 10000000 steps");
  /* The same with a body the static checks reject (i is not defined): it
   * evaluates nothing, but its loops still take their turns (found by
   * fuzz_dsl: it ran for hours). */
  expect_dsl_error("model m(x: f32[2]) {\n  for k in 0..100000 {\n    for j in 0..100000 { k = i }\n"
                   "  }\n  return x\n}\n",
                   "evaluation takes more than 10000000 steps");
  /* 300,000 nodes from a few lines. */
  expect_dsl_error("model m(x: f32[2]) {\n  for i in 0..100000 {\n    x = relu(relu(relu(x)))\n"
                   "  }\n  return x\n}\n",
                   "the model makes more than 131072 nodes");
  /* 4 GiB of parameters from 60 bytes (the budget is 1 GiB). */
  expect_dsl_error("model m(x: f32[2]) {\n  w = param(\"w\", [32768, 32768])\n  return x\n}\n",
                   "past 1073741824 bytes");
}

/* A string doubled 31 times took 3.1 GB and ended in "internal error at
 * arena.c" (vsnprintf past 2 GiB); a label or a parameter name made of
 * it copied it again at every call.  Every string and list the evaluator
 * builds is charged to one budget (256 MiB), reported at the line. */
static void test_dsl_value_budget(void) {
  const char *cases[3] = {
      "  for i in 0..31 {\n    s = s + s\n  }\n",
      ("  for i in 0..20 {\n    s = s + s\n  }\n  for i in 0..1000 {\n    y = l[s][i]: relu(x)\n"
       "  }\n"),
      "  for i in 0..1000 {\n    l = [[j for j in 0..100000] for k in 0..i]\n  }\n"};
  for (int k = 0; k < 3; k++) {
    char text[512];
    snprintf(text, sizeof text, "model m(x: f32[2]) {\n  s = \"a\"\n%s  return x\n}\n",
             cases[k]);
    uint64_t b0 = cd_alloc_bytes();
    expect_dsl_error(text, "strings and lists take more than 268435456 bytes");
    CU_ASSERT(cd_alloc_bytes() - b0 < (uint64_t)4 << 30); /* the budget, copies and all */
  }
  expect_dsl_error("model m(x: f32[2]) {\n  s = \"a\"\n  for i in 0..31 {\n    s = s + s\n"
                   "  }\n  return x\n}\n", "h.nx:4:11: error:");
}

/* ------------------------------------------------------------ 6. quadratic */

/* A graph of n nodes, node i reading up to 3 earlier values (the input or
 * outputs), output sizes random; scheduled by hand (plan_build reads only
 * the edges, the sizes and the kernel family). */
static Graph *random_dag(int n, unsigned seed, int fanin) {
  Graph *g = graph_new();
  const int64_t xd[1] = {16};
  int x = tu_input(g, "x", 1, xd);
  for (int i = 0; i < n; i++) {
    int ins[3], k = 1 + (int)(rand_r(&seed) % (unsigned)fanin);
    for (int j = 0; j < k; j++) {
      int back = 1 + (int)(rand_r(&seed) % 8u);
      ins[j] = i - back >= 0 && rand_r(&seed) % 4 ? g->nodes[i - back].out[0] : x;
    }
    Node *nd;
    int y = tu_node(g, "Relu", k, ins, &nd);
    nd->sched.family = kernel_config_named("scalar");
    const int64_t yd[1] = {1 + (int64_t)(rand_r(&seed) % 1000u)};
    value_set_shape(&g->values[y], DT_FLOAT, 1, yd);
  }
  tu_output(g, g->nodes[n - 1].out[0]);
  return g;
}

/* The planner before it was made O(n log n), verbatim in effect: every
 * buffer, largest first, at the lowest offset no placed buffer with an
 * intersecting lifetime overlaps, found by rescanning them all. */
static void reference_offsets(const Graph *g, const Plan *p, int64_t *want) {
  int nv = g->nvalues, np = 0;
  int *vs = malloc(sizeof(int) * (size_t)nv);
  for (int v = 0; v < nv; v++)
    if (p->loc[v].kind == LOC_WS && p->alias_of[v] == v)
      vs[np++] = v;
  /* largest first, then by definition step, then value */
  for (int a = 1; a < np; a++)
    for (int b = a; b > 0; b--) {
      int u = vs[b - 1], v = vs[b];
      int64_t su = (int64_t)(value_storage_bytes(&g->values[u]) + 63) / 64 * 64;
      int64_t sv = (int64_t)(value_storage_bytes(&g->values[v]) + 63) / 64 * 64;
      bool swap = su != sv ? su < sv
                  : p->def_step[u] != p->def_step[v] ? p->def_step[u] > p->def_step[v] : u > v;
      if (!swap)
        break;
      vs[b - 1] = v;
      vs[b] = u;
    }
  for (int i = 0; i < np; i++) {
    int v = vs[i];
    int64_t sv = (int64_t)(value_storage_bytes(&g->values[v]) + 63) / 64 * 64, off = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (int k = 0; k < i; k++) {
        int u = vs[k];
        int64_t su = (int64_t)(value_storage_bytes(&g->values[u]) + 63) / 64 * 64;
        if (p->def_step[u] > p->last_step[v] || p->def_step[v] > p->last_step[u])
          continue;
        if (off < want[u] + su && want[u] < off + sv) {
          off = want[u] + su;
          moved = true;
        }
      }
    }
    want[v] = off;
  }
  free(vs);
}

static void test_plan_same_as_quadratic_one(void) {
  for (unsigned seed = 1; seed <= 20; seed++) {
    Graph *g = random_dag(300, seed, seed % 2 ? 3 : 1);
    Plan p;
    Diag d = {.quiet = true};
    CU_ASSERT_FATAL(plan_build(g, &p, &d));
    int64_t *want = calloc((size_t)g->nvalues, sizeof(int64_t));
    reference_offsets(g, &p, want);
    for (int v = 0; v < g->nvalues; v++)
      if (p.loc[v].kind == LOC_WS && p.alias_of[v] == v)
        CU_ASSERT_EQUAL(p.loc[v].index, want[v]);
    CU_ASSERT(p.ws_size >= p.ws_lower_bound);
    free(want);
    plan_free(&p);
      graph_free(g);
  }
}

/* The planner rescanned every placed buffer for every buffer: a
 * 200,000-node chain took over a minute.  plan_build's steps (items and
 * pairs swept, comparisons, neighbours looked at) on chains of 50,000 and
 * 200,000 nodes grow linearly. */
static uint64_t plan_steps(int n, int fanin) {
  Graph *g = random_dag(n, 7, fanin);
  Plan p;
  Diag d = {.quiet = true};
  uint64_t s0 = cd_step_count();
  CU_ASSERT_FATAL(plan_build(g, &p, &d));
  uint64_t steps = cd_step_count() - s0;
  CU_ASSERT(p.ws_size >= p.ws_lower_bound && p.ws_lower_bound > 0);
  plan_free(&p);
  graph_free(g);
  return steps;
}

/* The C writer looked for a line's end from the start of the line at each
 * write: a table of n entries written one by one on one line (Pad's maps,
 * found by fuzz_onnx: a 10 s timeout) was quadratic. */
static uint64_t cw_line_steps(int n, int k) {
  (void)k;
  Graph *g = graph_new();
  StrBuf out = {0};
  CWriter w;
  cw_init(&w, &out, &g->arena, INT64_MAX);
  uint64_t s0 = cd_step_count();
  cw(&w, "static const long map[%d] = {", n);
  for (int i = 0; i < n; i++)
    cw(&w, "%s%d", i ? ", " : "", i);
  cw(&w, "};\n");
  uint64_t steps = cd_step_count() - s0;
  CU_ASSERT(out.len > (size_t)n && out.buf[out.len - 1] == '\n');
  cw_free(&w);
  sb_free(&out);
  graph_free(g);
  return steps;
}

static void test_plan_linear(void) {
  expect_linear("plan_build of a chain", plan_steps, 1, 50000);
  expect_linear("plan_build of a DAG of fan-in 3", plan_steps, 3, 50000);
  expect_linear("a C line written in n pieces", cw_line_steps, 0, 50000);
}

/* The newline rule rescanned the rest of a run of blank lines at each of
 * them: 200,000 blank lines took 86 s.  The scanning is flex's, out of
 * CD_STEPS's reach; what keeps it linear is that a run of blank and
 * comment lines is one match (lexer.l), so the steps (a match each, and
 * what parsing and lowering count) do not grow with the run.  Matching line
 * by line, as the quadratic rule did, adds a step a line. */
static uint64_t blank_lines_steps(int n) {
  StrBuf sb = {0};
  for (int i = 0; i < n; i++)
    sb_putn(&sb, i % 3 ? "\n" : "  # c\n", i % 3 ? 1 : 6);
  sb_printf(&sb, "model m(x: f32[2]) {\n");
  for (int i = 0; i < n; i++)
    sb_putn(&sb, "\n", 1);
  sb_printf(&sb, "  y = x\n\n\n    -> relu()\n  return y\n}\n");
  const char *p = write_text("blank.nx", sb.buf);
  sb_free(&sb);
  Graph *g = graph_new();
  Diag d = {.quiet = true};
  uint64_t s0 = cd_step_count();
  CU_ASSERT(dsl_load_model(g, p, NULL, 0, &d));
  uint64_t steps = cd_step_count() - s0;
  CU_ASSERT_EQUAL(g->nnodes, 1); /* the chain continued across the blank lines */
  graph_free(g);
  sb_free(&d.log);
  return steps;
}

static void test_dsl_blank_lines(void) {
  uint64_t a = blank_lines_steps(50000), b = blank_lines_steps(200000);
  bool flat = a > 0 && b <= a + 2 * 150000 / 100; /* under a step per 100 more lines */
  if (!flat)
    fprintf(stderr, "\nblank lines: %llu steps for 2 x 50,000, %llu for 2 x 200,000\n",
            (unsigned long long)a, (unsigned long long)b);
  CU_ASSERT(flat);
}

/* Names were found by linear search (a frame's variables, the blocks, the
 * definitions checked for duplicates, the names a block reads), and every
 * error message rescanned the file for its line: 60,000 assignments took
 * 4 s, a megabyte of stray bytes a million scans.  Steps (names compared,
 * NameMap probes, bytes scanned for an error's line, lexer matches) for n
 * and 4n: 25,000 and 100,000 assignments; 12,500 and 50,000 blocks, the
 * last called n / 5 times; 250,000 and a million stray bytes. */
static uint64_t names_steps(int n, int k) {
  StrBuf sb = {0};
  if (k == 0) {
    sb_printf(&sb, "model m(x: f32[2]) {\n");
    for (int i = 0; i < n; i++)
      sb_printf(&sb, "  v%d = %d\n", i, i);
    sb_printf(&sb, "  return x\n}\n");
  } else if (k == 1) {
    for (int i = 0; i < n; i++)
      sb_printf(&sb, "block b%d(x) { return x }\n", i);
    sb_printf(&sb, "model m(x: f32[2]) {\n  for i in 0..%d {\n    x = b%d(x)\n  }\n"
                   "  return x\n}\n", n / 5, n - 1);
  } else {
    sb_printf(&sb, "model m(x: f32[2]) { return x }\n");
    for (int i = 0; i < n; i++)
      sb_putn(&sb, "$", 1);
  }
  const char *p = write_text("names.nx", sb.buf);
  sb_free(&sb);
  Graph *g = graph_new();
  Diag d = {.quiet = true};
  uint64_t s0 = cd_step_count();
  bool ok = dsl_load_model(g, p, NULL, 0, &d);
  uint64_t steps = cd_step_count() - s0;
  CU_ASSERT_EQUAL(ok, k < 2);
  if (k == 2)
    CU_ASSERT(tu_log_has(&d, "too many errors (100); stopping"));
  graph_free(g);
  sb_free(&d.log);
  return steps;
}

static void test_dsl_many_names(void) {
  expect_linear("DSL: n assignments", names_steps, 0, 25000);
  expect_linear("DSL: n blocks", names_steps, 1, 12500);
  expect_linear("DSL: n stray bytes", names_steps, 2, 250000);
}

/* Passes recounted every node's uses after each fusion (node_take_output),
 * and looked for an activation's reader from the graph's start: a chain of
 * 20,000 Conv + Add + Relu took 53 s in fuse-residual, 14,000 Conv + BN
 * 8 s in fold-bn.  The steps of loading and compiling (the passes' scans:
 * use recounts, reader searches; the planner) for chains of n and 4n
 * blocks: 5,000 and 20,000 Conv + Add + Relu, 3,500 and 14,000 Conv + BN. */
static uint64_t chain_steps(int n, int bn) {
  MB *m = mb_new(13);
  const int64_t xd[4] = {1, 2, 2, 2}, wd[4] = {2, 2, 1, 1}, sd[1] = {2};
  mb_input(m, "x", 1, 4, xd);
  mb_init_raw(m, "W", 1, 4, wd, (const float[4]){1, 0, 0, 1}, 16);
  mb_init_raw(m, "s", 1, 1, sd, (const float[2]){1, 1}, 8);
  char a[32], c[32], t[32], y[32];
  for (int i = 0; i < n; i++) {
    snprintf(a, sizeof a, i ? "y%d" : "x", i - 1);
    snprintf(c, sizeof c, "c%d", i);
    snprintf(t, sizeof t, "t%d", i);
    snprintf(y, sizeof y, i == n - 1 ? "y" : "y%d", i);
    const char *ci[2] = {a, "W"}, *co[1] = {c};
    mb_node(m, "Conv", NULL, 2, ci, 1, co);
    if (bn) {
      const char *bi[5] = {c, "s", "s", "s", "s"}, *bo[1] = {y};
      mb_node(m, "BatchNormalization", NULL, 5, bi, 1, bo);
    } else {
      const char *ai[2] = {c, a}, *ao[1] = {t}, *ri[1] = {t}, *ro[1] = {y};
      mb_node(m, "Add", NULL, 2, ai, 1, ao);
      mb_node(m, "Relu", NULL, 1, ri, 1, ro);
    }
  }
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("chain.onnx")));
  mb_free(m);
  CompileJob j = {.model = tu_path("chain.onnx"), .target = "scalar"};
  Diag d = {.quiet = true};
  uint64_t s0 = cd_step_count();
  Graph *g = cd_load_model(&j, NULL, NULL, &d);
  uint64_t steps = cd_step_count() - s0;
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(g->nnodes, n); /* every Add, Relu and BN fused or folded */
  graph_free(g);
  sb_free(&d.log);
  return steps;
}

static void test_passes_linear(void) {
  expect_linear("Conv + Add + Relu chain", chain_steps, 0, 5000);
  expect_linear("Conv + BN chain", chain_steps, 1, 3500);
}

/* ------------------------------------------------------------ 7. files outside the folder */

/* ext/m.onnx with W's external data at `loc` (dims wd), loaded: the load
 * allocates under 4 MiB (an arena chunk is one), whatever the dims ask
 * for -- the data is sized against the file before any is read. */
static void expect_external(const char *loc, int rank, const int64_t *wd, const char *needle) {
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, d4);
  mb_init_external(m, "W", rank, wd, loc, 0);
  const char *ins[2] = {"x", "W"}, *outs[1] = {"y"};
  mb_node(m, "Conv", "conv", 2, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("ext/m.onnx")));
  mb_free(m);
  Diag d = {0};
  uint64_t b0 = cd_alloc_bytes();
  bool ok = load_infer(tu_path("ext/m.onnx"), &d);
  uint64_t bytes = cd_alloc_bytes() - b0;
  if (bytes >= 4 << 20)
    fprintf(stderr, "\n%s: %llu bytes allocated\n", loc, (unsigned long long)bytes);
  CU_ASSERT(bytes < 4 << 20);
  CU_ASSERT_EQUAL(ok, needle == NULL);
  if (needle && !tu_log_has(&d, needle)) {
    fprintf(stderr, "\n%s: expected '%s' in:\n%s\n", loc, needle, d.log.buf ? d.log.buf : "");
    CU_FAIL("message");
  }
  sb_free(&d.log);
}

static void test_external_data_outside(void) {
  const int64_t wd[4] = {1, 1, 1, 1};
  mkdir(tu_path("ext"), 0777);
  FILE *f = fopen(tu_path("secret.bin"), "wb");
  fwrite("abcd", 1, 4, f);
  fclose(f);
  f = fopen(tu_path("ext/w.bin"), "wb");
  fwrite("abcd", 1, 4, f);
  fclose(f);
  /* a link inside the folder leading out: /etc/passwd ended up in the weights */
  CU_ASSERT_FATAL(symlink("../secret.bin", tu_path("ext/link.bin")) == 0);
  expect_external("link.bin", 4, wd, "a link leading out of the model's folder");
  /* a link staying inside is fine */
  CU_ASSERT_FATAL(symlink("w.bin", tu_path("ext/same.bin")) == 0);
  expect_external("same.bin", 4, wd, NULL);
  /* a FIFO blocked the loader forever */
  CU_ASSERT_FATAL(mkfifo(tu_path("ext/fifo.bin"), 0600) == 0);
  expect_external("fifo.bin", 4, wd, "not a regular file");
  /* a folder */
  mkdir(tu_path("ext/dir.bin"), 0777);
  expect_external("dir.bin", 4, wd, "not a regular file");
}

/* 4 GiB of external data was allocated (and zeroed) before the 4-byte file
 * was found short: 100 bytes of model, 4 GB of memory. */
static void test_external_data_size_first(void) {
  const int64_t wd[4] = {(int64_t)1 << 28, 1, 2, 2};
  mkdir(tu_path("ext"), 0777);
  FILE *f = fopen(tu_path("ext/small.bin"), "wb");
  fwrite("abcd", 1, 4, f);
  fclose(f);
  expect_external("small.bin", 4, wd, "is shorter than offset 0 + 4294967296 bytes");
}

/* import accepted absolute and ".." paths, and read "/dev/zero" forever. */
static void test_dsl_import_outside(void) {
  mkdir(tu_path("imp"), 0777);
  FILE *f = fopen(tu_path("outside.nx"), "w");
  fputs("block b(x) { return x }\n", f);
  fclose(f);
  unlink(tu_path("imp/link.nx"));
  CU_ASSERT_FATAL(symlink("../outside.nx", tu_path("imp/link.nx")) == 0);
  unlink(tu_path("imp/fifo.nx"));
  CU_ASSERT_FATAL(mkfifo(tu_path("imp/fifo.nx"), 0600) == 0);
  const char *imports[4] = {"/dev/zero", "../outside.nx", "link.nx", "fifo.nx"};
  const char *why[4] = {"by a relative path without '..'", "by a relative path without '..'",
                        "a link leading out of the model's folder", "not a regular file"};
  for (int i = 0; i < 4; i++) {
    char text[200];
    snprintf(text, sizeof text, "import \"%s\"\nmodel m(x: f32[2]) { return b(x) }\n",
             imports[i]);
    f = fopen(tu_path("imp/m.nx"), "w");
    fputs(text, f);
    fclose(f);
    Graph *g = graph_new();
    Diag d = {.quiet = true};
    CU_ASSERT(!dsl_load_model(g, tu_path("imp/m.nx"), NULL, 0, &d));
    if (!tu_log_has(&d, why[i])) {
      fprintf(stderr, "\nimport %s: expected '%s' in:\n%s\n", imports[i], why[i],
              d.log.buf ? d.log.buf : "");
      CU_FAIL("message");
    }
    graph_free(g);
    sb_free(&d.log);
  }
}

/* ------------------------------------------------------------ 9. silently wrong */

/* sum() and concat() of more than 64 tensors silently used the first 64. */
static void test_dsl_sum_concat_over_64(void) {
  const char *p = write_text("c.nx", "model m(x: f32[1, 2]) {\n"
                                     "  return concat([x for i in 0..70], axis=1)\n}\n");
  Graph *g = graph_new();
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(dsl_load_model(g, p, NULL, 0, &d));
  CU_ASSERT_EQUAL(g->values[g->outputs[0]].dims[1], 140);
  graph_free(g);
  sb_free(&d.log);
  expect_dsl_error("model m(x: f32[1, 2]) {\n  return sum([x for i in 0..70])\n}\n",
                   "more than 64 inputs");
}

/* An attribute of the wrong type took its default, silently: Conv's group
 * given as a graph ran one group, auto_pad given as an int NOTSET, a
 * LeakyRelu's alpha given as a string 0.01.  The error names the node, the
 * attribute and both types.  An int passes where a float is expected. */
static void test_attribute_types(void) {
  static const char *const want[5] = {
      "node 'c' (Conv): attribute 'group' is a graph; Conv takes it as an int",
      "node 'c' (Conv): attribute 'auto_pad' is an int; Conv takes it as a string",
      "node 'c' (LeakyRelu): attribute 'alpha' is a string; LeakyRelu takes it as a float",
      "node 'c' (Concat): attribute 'axis' is a float; Concat takes it as an int",
      NULL};
  for (int k = 0; k < 5; k++) {
    MB *m = mb_new(13);
    mb_input(m, "x", 1, 4, d4);
    const int64_t wd[4] = {1, 1, 1, 1};
    mb_init_raw(m, "W", 1, 4, wd, (const float[1]){1}, 4);
    const char *ins[2] = {"x", "W"}, *outs[1] = {"y"};
    const char *op = k < 2 ? "Conv" : k == 3 ? "Concat" : "LeakyRelu";
    Onnx__NodeProto *n = mb_node(m, op, "c", k < 2 ? 2 : 1, ins, 1, outs);
    if (k == 0)
      mb_attr_graph(n, "group");
    else if (k == 1)
      mb_attr_int(n, "auto_pad", 1);
    else if (k == 2)
      mb_attr_string(n, "alpha", "zero");
    else if (k == 3)
      mb_attr_float(n, "axis", 1.0f);
    else
      mb_attr_int(n, "alpha", 2);
    mb_output(m, "y");
    if (want[k]) {
      expect_model_error(m, "attr.onnx", want[k]);
      continue;
    }
    CU_ASSERT_FATAL(mb_write(m, tu_path("attr.onnx")));
    mb_free(m);
    Graph *g = graph_new();
    Diag d = {.quiet = true};
    CU_ASSERT(onnx_load(g, tu_path("attr.onnx"), &d) && graph_infer(g, &d));
    CU_ASSERT_EQUAL(g->nodes[0].p.alpha, 2.0f);
    graph_free(g);
    sb_free(&d.log);
  }
}

/* The .npy header was searched for words: any 'True' after
 * 'fortran_order' read as Fortran order, 'fortran_order': Falsey as C
 * order, and a header in double quotes was refused.  It is parsed as the
 * Python dict it is. */
static void test_npy_header(void) {
  static const struct {
    const char *header, *error; /* error NULL: reads as float32 [2] */
  } cases[] = {
      {"{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f4\"}", NULL},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }", NULL},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'note': 'True'}",
       "unknown key 'note'"},
      {"{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", "Fortran-order .npy"},
      {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,), }",
       "'fortran_order' must be True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (1,)}",
       "key 'shape' given twice"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", "not (n)"},
      {"{'descr': '<f4', 'shape': (2,), }", "no 'fortran_order'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} True", "bytes after the dict"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    FILE *f = fopen(tu_path("h.npy"), "wb");
    size_t hl = strlen(cases[i].header) + 1;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hl & 255), f);
    fputc((int)(hl >> 8), f);
    fputs(cases[i].header, f);
    fputc('\n', f);
    fwrite((const float[2]){1, 2}, 4, 2, f);
    fclose(f);
    HostTensor t;
    Diag d = {.quiet = true};
    bool ok = tensor_read(tu_path("h.npy"), &t, &d);
    CU_ASSERT_EQUAL(ok, cases[i].error == NULL);
    if (ok) {
      CU_ASSERT(t.rank == 1 && t.dims[0] == 2 && ((float *)t.data)[1] == 2);
      tensor_free(&t);
    } else if (!cases[i].error || !tu_log_has(&d, cases[i].error)) {
      fprintf(stderr, "\n%s: expected '%s' in:\n%s\n", cases[i].header,
              cases[i].error ? cases[i].error : "(success)", d.log.buf ? d.log.buf : "");
      CU_FAIL("message");
    }
    sb_free(&d.log);
  }
}

/* A safetensors file naming a tensor twice bound the first silently. */
static void test_safetensors_duplicate_name(void) {
  const char *json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                     "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
  FILE *f = fopen(tu_path("dup.safetensors"), "wb");
  uint64_t hl = strlen(json);
  fwrite(&hl, 8, 1, f);
  fwrite(json, 1, hl, f);
  fwrite("12345678", 1, 8, f);
  fclose(f);
  SafeTensors st;
  Diag d = {.quiet = true};
  CU_ASSERT(!safetensors_open(&st, tu_path("dup.safetensors"), &d));
  CU_ASSERT(tu_log_has(&d, "tensor 'w' appears twice"));
  sb_free(&d.log);
}

/* --freeze took the file's shape: a [3] tensor froze an input declared [4]. */
static void test_freeze_wrong_shape(void) {
  MB *m = mb_new(13);
  const int64_t xd[2] = {2, 2}, sd[1] = {2};
  mb_input(m, "x", 1, 2, xd);
  mb_input(m, "s", 7, 1, sd);
  const char *ins[2] = {"x", "s"}, *outs[1] = {"y"};
  mb_node(m, "Reshape", "r", 2, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("freeze.onnx")));
  mb_free(m);
  const int64_t three[1] = {3};
  for (int good = 0; good < 2; good++) {
    FILE *f = fopen(tu_path("s.npy"), "wb");
    /* a version-1 .npy of int64 [n] holding 1, 4 (and 1) */
    char hdr[118];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }",
                     good ? 2 : (int)three[0]);
    memset(hdr + n, ' ', sizeof hdr - (size_t)n - 1);
    hdr[sizeof hdr - 1] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)sizeof hdr, f);
    fputc(0, f);
    fwrite(hdr, 1, sizeof hdr, f);
    const int64_t v[3] = {1, 4, 1};
    fwrite(v, 8, good ? 2 : 3, f);
    fclose(f);
    char spec[4200];
    snprintf(spec, sizeof spec, "s=%s", tu_path("s.npy"));
    const char *specs[1] = {spec};
    CompileJob j = {.model = tu_path("freeze.onnx"), .target = "scalar", .nfreeze = 1,
                    .freeze = specs};
    Diag d = {.quiet = true};
    Graph *g = cd_load_model(&j, NULL, NULL, &d);
    CU_ASSERT_EQUAL(g != NULL, good);
    if (!good)
      CU_ASSERT(tu_log_has(&d, "--freeze s: the input is [2]"));
    graph_free(g);
    sb_free(&d.log);
  }
}

/* The opset is an int64: 2^32 + 13 was read as 13. */
static void test_opset_out_of_range(void) {
  for (int k = 0; k < 2; k++) {
    MB *m = mb_new(13);
    mb_set_opset(m, k ? -5 : ((int64_t)1 << 32) + 13);
    mb_input(m, "x", 1, 4, d4);
    const char *ins[1] = {"x"}, *outs[1] = {"y"};
    mb_node(m, "Relu", "r", 1, ins, 1, outs);
    mb_output(m, "y");
    expect_model_error(m, "opset.onnx", "is not one Cardinal knows (1 to 21)");
  }
}

/* The build cache binds an entry to what it was built from and what was
 * built with SHA-256 (issue 17): FIPS 180-4's examples, fed whole and in
 * pieces of every size from 1 to 130 bytes. */
static void test_sha256_vectors(void) {
  static const struct {
    const char *text, *hex;
  } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  unsigned char d[32];
  char hex[65];
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    Sha256 s;
    sha256_init(&s);
    sha256_update(&s, v[i].text, strlen(v[i].text));
    sha256_final(&s, d);
    sha256_hex(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, v[i].hex);
  }
  size_t n = 1000000;
  char *a = malloc(n);
  memset(a, 'a', n);
  for (size_t piece = 1; piece <= 130; piece += piece < 70 ? 1 : 13) {
    Sha256 s;
    sha256_init(&s);
    for (size_t at = 0; at < n; at += piece)
      sha256_update(&s, a + at, at + piece <= n ? piece : n - at);
    sha256_final(&s, d);
    sha256_hex(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
  free(a);
}

void add_hostile_suite(void) {
  CU_pSuite s = CU_add_suite("hostile", NULL, NULL);
  ADD(s, test_pool_huge_pads);
  ADD(s, test_conv_huge_dilation_and_stride);
  ADD(s, test_pad_overflow);
  ADD(s, test_reshape_overflow);
  ADD(s, test_flatten_of_empty_giant);
  ADD(s, test_concat_over_limit);
  ADD(s, test_value_numel_saturates);
  ADD(s, test_checked_helpers);
  ADD(s, test_cast_saturates);
  ADD(s, test_int64_arithmetic_saturates);
  ADD(s, test_dsl_dims_over_2_31);
  ADD(s, test_dsl_range_and_negation);
  ADD(s, test_empty_conv_and_bn);
  ADD(s, test_macs_of_empty_conv);
  ADD(s, test_matmul_broadcast_zero);
  ADD(s, test_safetensors_number_at_end);
  ADD(s, test_protobuf_nesting);
  ADD(s, test_non_tensor_input);
  ADD(s, test_dsl_nested_calls_stack);
  ADD(s, test_fold_budget);
  ADD(s, test_fold_budget_own_bytes);
  ADD(s, test_code_budget);
  ADD(s, test_onnx_node_limit);
  ADD(s, test_code_budget_stops_work);
  ADD(s, test_dsl_budgets);
  ADD(s, test_dsl_value_budget);
  ADD(s, test_plan_same_as_quadratic_one);
  ADD(s, test_plan_linear);
  ADD(s, test_dsl_blank_lines);
  ADD(s, test_dsl_many_names);
  ADD(s, test_passes_linear);
  ADD(s, test_external_data_outside);
  ADD(s, test_external_data_size_first);
  ADD(s, test_dsl_import_outside);
  ADD(s, test_dsl_sum_concat_over_64);
  ADD(s, test_attribute_types);
  ADD(s, test_npy_header);
  ADD(s, test_safetensors_duplicate_name);
  ADD(s, test_freeze_wrong_shape);
  ADD(s, test_opset_out_of_range);
  ADD(s, test_sha256_vectors);
}
