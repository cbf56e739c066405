/*
 * test_interp.c — the reference interpreter on hand-computed cases, and the
 * passes: each one must change the graph as intended while the
 * interpreter's output stays the same.
 */
#include "testutil.h"
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_conv_by_hand(void) {
  /* x = 1..9 (3x3), W = ones 2x2: valid conv sums each 2x2 window. */
  Graph *g = graph_new();
  const int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 1, 2, 2};
  const float ones[4] = {1, 1, 1, 1};
  int ins[2] = {tu_input(g, "x", 4, xd), tu_const(g, "W", 4, wd, ones)};
  int y = tu_node(g, "Conv", 2, ins, NULL);
  tu_output(g, y);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  float *out = tu_interp(g, x);
  CU_ASSERT_DOUBLE_EQUAL(out[0], 12, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(out[1], 16, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(out[2], 24, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(out[3], 28, 1e-6);
  free(out);
  graph_free(g);
  /* pads 1, stride 2: windows at -1, 1 -> corners. */
  g = graph_new();
  int ins2[2] = {tu_input(g, "x", 4, xd), tu_const(g, "W", 4, wd, ones)};
  Node *n;
  y = tu_node(g, "Conv", 2, ins2, &n);
  const int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {2, 2};
  tu_attr_ints(g, n, "pads", 4, pads);
  tu_attr_ints(g, n, "strides", 2, strides);
  tu_output(g, y);
  CU_ASSERT_FATAL(graph_infer(g, &d));
  out = tu_interp(g, x);
  CU_ASSERT_DOUBLE_EQUAL(out[0], 1, 1e-6);       /* only x[0,0] */
  CU_ASSERT_DOUBLE_EQUAL(out[1], 2 + 3, 1e-6);   /* x[0,1..2] */
  CU_ASSERT_DOUBLE_EQUAL(out[2], 4 + 7, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(out[3], 5 + 6 + 8 + 9, 1e-6);
  free(out);
  graph_free(g);
  sb_free(&d.log);
}

static void test_avgpool_count_include_pad(void) {
  const int64_t xd[4] = {1, 1, 2, 2}, k[2] = {2, 2}, pads[4] = {1, 1, 1, 1},
                st[2] = {2, 2};
  const float x[4] = {4, 8, 12, 16};
  for (int include = 0; include < 2; include++) {
    Graph *g = graph_new();
    int in = tu_input(g, "x", 4, xd);
    Node *n;
    int y = tu_node(g, "AveragePool", 1, &in, &n);
    tu_attr_ints(g, n, "kernel_shape", 2, k);
    tu_attr_ints(g, n, "pads", 4, pads);
    tu_attr_ints(g, n, "strides", 2, st);
    tu_attr_int(g, n, "count_include_pad", include);
    tu_output(g, y);
    Diag d = {.quiet = true};
    CU_ASSERT_FATAL(graph_infer(g, &d));
    float *out = tu_interp(g, x);
    /* Each 2x2 window holds one real pixel and three pads. */
    CU_ASSERT_DOUBLE_EQUAL(out[0], include ? 1.0 : 4.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(out[3], include ? 4.0 : 16.0, 1e-6);
    free(out);
    graph_free(g);
    sb_free(&d.log);
  }
}

static void test_softmax_and_gemm(void) {
  Graph *g = graph_new();
  const int64_t xd[2] = {2, 3};
  int in = tu_input(g, "x", 2, xd);
  int y = tu_node(g, "Softmax", 1, &in, NULL);
  tu_output(g, y);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const float x[6] = {1, 2, 3, -1, 0, 1000};
  float *out = tu_interp(g, x);
  CU_ASSERT_DOUBLE_EQUAL(out[0] + out[1] + out[2], 1.0, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(out[5], 1.0, 1e-6); /* no overflow on large logits */
  CU_ASSERT(out[2] > out[1] && out[1] > out[0]);
  free(out);
  graph_free(g);

  g = graph_new();
  const int64_t bd[2] = {2, 3}, cd[1] = {2};
  const float b[6] = {1, 0, 0, 0, 1, 0}, c[2] = {10, 20};
  int gins[3] = {tu_input(g, "a", 2, xd), tu_const(g, "B", 2, bd, b),
                 tu_const(g, "C", 1, cd, c)};
  Node *n;
  y = tu_node(g, "Gemm", 3, gins, &n);
  tu_attr_int(g, n, "transB", 1);
  tu_output(g, y);
  CU_ASSERT_FATAL(graph_infer(g, &d));
  out = tu_interp(g, x); /* Y = A B^T + C picks columns 0 and 1 */
  CU_ASSERT_DOUBLE_EQUAL(out[0], 1 + 10, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(out[1], 2 + 20, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(out[2], -1 + 10, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(out[3], 0 + 20, 1e-6);
  free(out);
  graph_free(g);
  sb_free(&d.log);
}

/* x -> op -> y on 1-D x; attribute setter `attrs` may be NULL.  Returns
 * the interpreter's y (malloc'd), NULL if inference failed (log in d). */
static float *unary_by_hand(const char *op, void (*attrs)(Graph *, Node *), int64_t len,
                            const float *x, Diag *d) {
  Graph *g = graph_new();
  int in = tu_input(g, "x", 1, &len);
  Node *n;
  int y = tu_node(g, op, 1, &in, &n);
  n->name = "act";
  if (attrs)
    attrs(g, n);
  tu_output(g, y);
  float *out = graph_infer(g, d) ? tu_interp(g, x) : NULL;
  graph_free(g);
  return out;
}

static void check_values(const float *got, const float *want, int n, double tol) {
  CU_ASSERT_FATAL(got != NULL);
  for (int i = 0; i < n; i++) {
    if (!(fabs((double)got[i] - want[i]) <= tol * (1 + fabs((double)want[i]))))
      fprintf(stderr, "\n  element %d: got %.9g, want %.9g\n", i, got[i], want[i]);
    CU_ASSERT(fabs((double)got[i] - want[i]) <= tol * (1 + fabs((double)want[i])));
  }
}

static void elu_half(Graph *g, Node *n) { tu_attr_float(g, n, "alpha", 0.5f); }
static void gelu_tanh(Graph *g, Node *n) { tu_attr_str(g, n, "approximate", "tanh"); }
static void gelu_bad(Graph *g, Node *n) { tu_attr_str(g, n, "approximate", "fast"); }

/* The activations against PyTorch's values (torch.nn.functional). */
static void test_activations_by_hand(void) {
  Diag d = {.quiet = true};
  const float x3[3] = {-1, 0, 2};
  float *y = unary_by_hand("Elu", elu_half, 3, x3, &d);
  check_values(y, (const float[]){-0.31606027483940125f, 0, 2}, 3, 1e-6);
  free(y);
  y = unary_by_hand("Selu", NULL, 3, x3, &d);
  check_values(y, (const float[]){-1.1113307476043701f, 0, 2.1014020442962646f}, 3, 1e-6);
  free(y);
  /* Softplus: no overflow at either end. */
  const float xs[5] = {-100, -1, 0, 1, 100};
  y = unary_by_hand("Softplus", NULL, 5, xs, &d);
  check_values(y, (const float[]){3.783505853677006e-44f, 0.3132616877555847f,
                                  0.6931471824645996f, 1.31326162815094f, 100},
               5, 1e-6);
  free(y);
  const float xg[7] = {-3, -1, -0.5f, 0, 0.5f, 1, 3};
  y = unary_by_hand("Gelu", NULL, 7, xg, &d);
  check_values(y, (const float[]){-0.004049867391586304f, -0.1586552858352661f,
                                  -0.1542687863111496f, 0, 0.3457311987876892f,
                                  0.8413447141647339f, 2.995950222015381f},
               7, 1e-6);
  free(y);
  y = unary_by_hand("Gelu", gelu_tanh, 7, xg, &d);
  check_values(y, (const float[]){-0.0036374330520629883f, -0.15880799293518066f,
                                  -0.1542859971523285f, 0, 0.3457140028476715f,
                                  0.8411920070648193f, 2.9963626861572266f},
               7, 1e-6);
  free(y);
  CU_ASSERT_EQUAL(d.nerrors, 0);
  CU_ASSERT_PTR_NULL(unary_by_hand("Gelu", gelu_bad, 7, xg, &d));
  CU_ASSERT(tu_log_has(&d, "node 'act' (Gelu): approximate must be \"none\" or \"tanh\", "
                           "not \"fast\""));
  sb_free(&d.log);
}

/* LayerNormalization over the last axis, with Scale, B, Mean and InvStdDev. */
static void test_layernorm_by_hand(void) {
  Graph *g = graph_new();
  const int64_t xd[2] = {2, 3}, sd[1] = {3};
  const float scale[3] = {1, 2, -1}, bias[3] = {0, 1, 0.5f};
  int x = tu_input(g, "x", 2, xd);
  int ni = graph_add_op(g, OP_LAYERNORM, 3, 3);
  Node *n = &g->nodes[ni];
  n->opset = 17;
  n->in[0] = x;
  n->in[1] = tu_const(g, "scale", 1, sd, scale);
  n->in[2] = tu_const(g, "B", 1, sd, bias);
  tu_attr_float(g, &g->nodes[ni], "epsilon", 0.25f);
  for (int j = 0; j < 3; j++) {
    int v = graph_add_value(g, "");
    g->nodes[ni].out[j] = v;
    g->values[v].producer = ni;
    tu_output(g, v);
  }
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const float xv[6] = {1, 2, 3, -4, 0, 4}; /* means 2, 0; variances 2/3, 32/3 */
  const float *in[1] = {xv};
  float *out[3];
  CU_ASSERT_FATAL(interp_run(g, in, out, &d));
  double i0 = 1 / sqrt(2.0 / 3 + 0.25), i1 = 1 / sqrt(32.0 / 3 + 0.25);
  check_values(out[0], (const float[]){(float)-i0, 1, (float)(-i0 + 0.5),
                                       (float)(-4 * i1), 1, (float)(-4 * i1 + 0.5)}, 6, 1e-6);
  check_values(out[1], (const float[]){2, 0}, 2, 1e-6);
  check_values(out[2], (const float[]){(float)i0, (float)i1}, 2, 1e-6);
  for (int j = 0; j < 3; j++)
    free(out[j]);
  graph_free(g);
  sb_free(&d.log);
}

static int live_count(const Graph *g, OpKind op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i].dead && (op == OP_COUNT || g->nodes[i].op == op);
  return k;
}

/* Runs the named passes; returns the interpreter output before and after. */
static void run_passes(Graph *g, const char *list, const float *x, float **before,
                       float **after) {
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  *before = tu_interp(g, x);
  int order[CD_MAX_PASSES], n;
  CU_ASSERT_FATAL(passes_parse(list, order, &n, &d));
  PassStats st[CD_MAX_PASSES];
  CU_ASSERT_FATAL(passes_run(g, order, n, st, true, NULL, NULL, &d));
  CU_ASSERT(ir_verify(g, &d));
  *after = tu_interp(g, x);
  sb_free(&d.log);
}

static void test_pass_eliminate_identity(void) {
  Graph *g = graph_new();
  const int64_t xd[4] = {1, 2, 2, 2};
  int v = tu_input(g, "x", 4, xd);
  v = tu_node(g, "Relu", 1, &v, NULL);
  v = tu_node(g, "Identity", 1, &v, NULL);
  v = tu_node(g, "Dropout", 1, &v, NULL);
  v = tu_node(g, "Flatten", 1, &v, NULL);
  v = tu_node(g, "Flatten", 1, &v, NULL); /* no-op: already 2-D */
  v = tu_node(g, "Sigmoid", 1, &v, NULL);
  tu_output(g, v);
  float x[8] = {-1, 2, -3, 4, 5, -6, 7, 8}, *b, *a;
  run_passes(g, "eliminate-identity,dce", x, &b, &a);
  CU_ASSERT_EQUAL(live_count(g, OP_IDENTITY), 0);
  CU_ASSERT_EQUAL(live_count(g, OP_DROPOUT), 0);
  CU_ASSERT_EQUAL(live_count(g, OP_FLATTEN), 1);
  CU_ASSERT_EQUAL(live_count(g, OP_COUNT), 3);
  CU_ASSERT_EQUAL(memcmp(a, b, sizeof x), 0);
  free(a);
  free(b);
  graph_free(g);
}

static void test_pass_dce_and_fold(void) {
  Graph *g = graph_new();
  const int64_t xd[2] = {2, 2};
  const float w[4] = {1, 2, 3, 4};
  int x = tu_input(g, "x", 2, xd);
  int c = tu_const(g, "W", 2, xd, w);
  int wt = tu_node(g, "Transpose", 1, &c, NULL); /* constant: folds */
  int ins[2] = {x, wt};
  int y = tu_node(g, "MatMul", 2, ins, NULL);
  tu_node(g, "Tanh", 1, &x, NULL); /* dead */
  tu_output(g, y);
  float xv[4] = {1, -1, 0.5f, 2}, *b, *a;
  run_passes(g, "default", xv, &b, &a);
  CU_ASSERT_EQUAL(live_count(g, OP_TRANSPOSE), 0);
  CU_ASSERT_EQUAL(live_count(g, OP_TANH), 0);
  CU_ASSERT_EQUAL(live_count(g, OP_COUNT), 1);
  CU_ASSERT_EQUAL(memcmp(a, b, sizeof xv), 0);
  free(a);
  free(b);
  graph_free(g);
}

static void test_passes_parse(void) {
  int order[CD_MAX_PASSES], n;
  Diag d = {.quiet = true};
  CU_ASSERT(passes_parse("none", order, &n, &d) && n == 0);
  CU_ASSERT(passes_parse("default", order, &n, &d) && n == pass_count);
  CU_ASSERT(passes_parse("default,-dce", order, &n, &d) && n == pass_count - 1);
  CU_ASSERT(passes_parse("dce", order, &n, &d) && n == 1);
  CU_ASSERT_FALSE(passes_parse("fold-everything", order, &n, &d));
  CU_ASSERT(tu_log_has(&d, "unknown pass 'fold-everything'"));
  sb_free(&d.log);
}

/* --passes is a set in order: each pass at most once, at the place it was
 * first named, however often it is dropped and named again (300 times
 * overflowed the parser's fixed arrays and ran the pass 300 times). */
static void test_passes_parse_set(void) {
  int order[CD_MAX_PASSES], n, fold_bn = -1, dce = -1;
  Diag d = {.quiet = true};
  for (int i = 0; i < pass_count; i++) {
    fold_bn = !strcmp(pass_list[i].name, "fold-bn") ? i : fold_bn;
    dce = !strcmp(pass_list[i].name, "dce") ? i : dce;
  }
  CU_ASSERT_FATAL(fold_bn >= 0 && dce >= 0);
  StrBuf on = {0}, off = {0};
  sb_printf(&on, "fold-bn");
  for (int i = 0; i < 300; i++)
    sb_printf(&on, ",-fold-bn,fold-bn");
  sb_printf(&off, "%s,-fold-bn", on.buf);
  CU_ASSERT(passes_parse(on.buf, order, &n, &d) && n == 1 && order[0] == fold_bn);
  CU_ASSERT(passes_parse(off.buf, order, &n, &d) && n == 0);
  sb_free(&on);
  sb_free(&off);
  /* Named again, a default pass keeps its place; the list's own order. */
  int def[CD_MAX_PASSES], ndef;
  CU_ASSERT_FATAL(passes_parse("default", def, &ndef, &d));
  CU_ASSERT(passes_parse("default,-fold-bn,fold-bn,dce,default", order, &n, &d) && n == ndef &&
            !memcmp(order, def, sizeof(int) * (size_t)n));
  CU_ASSERT(passes_parse("dce,fold-bn,dce", order, &n, &d) && n == 2 && order[0] == dce &&
            order[1] == fold_bn);
  CU_ASSERT(passes_parse("-dce,dce,none", order, &n, &d) && n == 1 && order[0] == dce);
  /* Every pass named, dropped and named again: each once. */
  StrBuf all = {0};
  for (int r = 0; r < 3; r++)
    for (int i = 0; i < pass_count; i++)
      sb_printf(&all, "%s%s,-%s,%s", all.buf ? "," : "", pass_list[i].name, pass_list[i].name,
                pass_list[i].name);
  CU_ASSERT(passes_parse(all.buf, order, &n, &d) && n == pass_count);
  for (int i = 0; i < n; i++)
    CU_ASSERT_EQUAL(order[i], i);
  sb_free(&all);
  sb_free(&d.log);
}

/* quant.h, ONNX's rounding written down once: half to even after the
 * division by the scale, the zero point added, saturation at both ends. */
static void test_quantize_rounding(void) {
  static const struct {
    float x, scale;
    int32_t zp, lo, hi, want;
  } q[] = {
      {0.5f, 1, 0, -128, 127, 0},    {1.5f, 1, 0, -128, 127, 2},  {2.5f, 1, 0, -128, 127, 2},
      {-0.5f, 1, 0, -128, 127, 0},   {-1.5f, 1, 0, -128, 127, -2}, {-2.5f, 1, 0, -128, 127, -2},
      {0.625f, 0.25f, 0, -128, 127, 2}, /* 2.5 exactly: even */
      {3.0f, 2.0f, 128, 0, 255, 130}, {300, 1, 0, 0, 255, 255},  {-200, 1, 0, -128, 127, -128},
      {-1, 1, 0, 0, 255, 0},         {INFINITY, 1, 3, 0, 255, 255}, {-INFINITY, 1, 3, -128, 127, -128},
      {NAN, 1, 3, 0, 255, 0},        {1e30f, 1e-30f, 0, -128, 127, 127},
      {0.49999997f, 1, 10, 0, 255, 10}, {127.5f, 1, 0, -128, 127, 127}, {126.5f, 1, 0, -128, 127, 126},
  };
  for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
    int32_t got = cd_quantize(q[i].x, q[i].scale, q[i].zp, q[i].lo, q[i].hi);
    if (got != q[i].want)
      fprintf(stderr, "\nquantize(%g / %g + %d) = %d, want %d\n", q[i].x, q[i].scale, q[i].zp,
              got, q[i].want);
    CU_ASSERT_EQUAL(got, q[i].want);
  }
  CU_ASSERT_EQUAL(cd_requantize(-7, 0.5f, 0, -128, 127), -4); /* -3.5: even */
  CU_ASSERT_EQUAL(cd_requantize(-5, 0.5f, 3, -128, 127), 1);  /* -2.5 -> -2, + 3 */
  CU_ASSERT_EQUAL(cd_requantize(1 << 30, 1.0f, 0, 0, 255), 255);
  CU_ASSERT_EQUAL(cd_requantize(INT32_MIN, 1.0f, 0, -128, 127), -128);
  CU_ASSERT_DOUBLE_EQUAL(cd_dequantize(130, 0.5f, 128), 1.0, 0);
  CU_ASSERT_DOUBLE_EQUAL(cd_dequantize(-128, 0.25f, 0), -32.0, 0);
}

void add_interp_suite(void) {
  CU_pSuite s = CU_add_suite("interp+passes", NULL, NULL);
  ADD(s, test_conv_by_hand);
  ADD(s, test_avgpool_count_include_pad);
  ADD(s, test_softmax_and_gemm);
  ADD(s, test_activations_by_hand);
  ADD(s, test_layernorm_by_hand);
  ADD(s, test_pass_eliminate_identity);
  ADD(s, test_pass_dce_and_fold);
  ADD(s, test_passes_parse);
  ADD(s, test_passes_parse_set);
  ADD(s, test_quantize_rounding);
}
