/*
 * test_passes.c — one test per fusion pass on small graphs built here: the
 * graph must change as intended (node counts, epilogues, group counts) and
 * the interpreter's output must not (to float rounding), both sides of each
 * pass's boundary conditions.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 99;
static float rnd(void) {
  seed = seed * 1664525u + 1013904223u;
  return (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static int rconst(Graph *g, int rank, const int64_t *dims, float lo_pos) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= dims[i];
  float *d = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    d[i] = lo_pos > 0 ? lo_pos + fabsf(rnd()) : rnd();
  int v = tu_const(g, "", rank, dims, d);
  free(d);
  return v;
}

/* conv(x) with a k x k kernel, padding k/2, C -> M channels, `group`. */
static int conv(Graph *g, int x, int64_t C, int64_t M, int64_t k, int64_t group, bool bias) {
  const int64_t wd[4] = {M, C / group, k, k}, bd[1] = {M};
  int ins[3] = {x, rconst(g, 4, wd, 0), bias ? rconst(g, 1, bd, 0) : -1};
  Node *n;
  int y = tu_node(g, "Conv", bias ? 3 : 2, ins, &n);
  const int64_t p = k / 2, pads[4] = {p, p, p, p};
  tu_attr_ints(g, n, "pads", 4, pads);
  tu_attr_int(g, n, "group", group);
  return y;
}

static int bn(Graph *g, int x, int64_t C) {
  const int64_t d[1] = {C};
  int ins[5] = {x, rconst(g, 1, d, 0), rconst(g, 1, d, 0), rconst(g, 1, d, 0),
                rconst(g, 1, d, 0.5f)};
  return tu_node(g, "BatchNormalization", 5, ins, NULL);
}

static int count(const Graph *g, OpKind op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i].dead && (op == OP_COUNT || g->nodes[i].op == op);
  return k;
}

static const Node *find(const Graph *g, OpKind op) {
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].op == op)
      return &g->nodes[i];
  return NULL;
}

/* Infers, runs `passes` with the verifier on, and checks that the
 * interpreter output moved by at most 1e-5 of its magnitude. */
static void run_and_compare(Graph *g, const char *passes) {
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const Value *x = &g->values[g->inputs[0]];
  int64_t n = value_numel(x), m = value_numel(&g->values[g->outputs[0]]);
  float *in = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    in[i] = rnd() * 4;
  float *before = tu_interp(g, in);
  int order[16], np;
  CU_ASSERT_FATAL(passes_parse(passes, order, &np, &d));
  PassStats st[16];
  CU_ASSERT_FATAL(passes_run(g, order, np, st, true, NULL, NULL, &d));
  float *after = tu_interp(g, in);
  double err = 0, mag = 0;
  for (int64_t i = 0; i < m; i++) {
    err = fmax(err, fabs((double)after[i] - before[i]));
    mag = fmax(mag, fabs((double)before[i]));
  }
  CU_ASSERT(mag > 0);
  CU_ASSERT(err <= 1e-5 * mag);
  if (!(err <= 1e-5 * mag))
    fprintf(stderr, "\n%s: error %g of magnitude %g\n", passes, err, mag);
  free(in);
  free(before);
  free(after);
  sb_free(&d.log);
}

static const int64_t X4[4] = {1, 8, 5, 5};

static void test_fold_bn_into_conv(void) {
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int y = bn(g, conv(g, x, 8, 8, 3, 1, false), 8);
  tu_output(g, y);
  run_and_compare(g, "fold-bn");
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 0);
  CU_ASSERT_EQUAL(count(g, OP_COUNT), 1);
  const Node *c = find(g, OP_CONV);
  CU_ASSERT(c && c->nin >= 3 && c->in[2] >= 0); /* gained a bias */
  graph_free(g);
}

static void test_fold_bn_identity_shortcut(void) {
  /* The article's block end: relu(bn(conv(x) + x)). */
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int ins[2] = {conv(g, x, 8, 8, 3, 2, true), x};
  int s = tu_node(g, "Add", 2, ins, NULL);
  int r = bn(g, s, 8);
  int y = tu_node(g, "Relu", 1, &r, NULL);
  tu_output(g, y);
  run_and_compare(g, "fold-bn,fuse-residual,fuse-activation");
  CU_ASSERT_EQUAL(count(g, OP_COUNT), 1);
  const Node *c = find(g, OP_CONV);
  CU_ASSERT_FATAL(c != NULL);
  CU_ASSERT(c->ep.residual == x);
  CU_ASSERT(c->ep.residual_scale >= 0); /* BN's scale on the shortcut */
  CU_ASSERT_EQUAL(c->ep.act, OP_RELU);
  graph_free(g);
}

static void test_fold_bn_conv_shortcut(void) {
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int ins[2] = {conv(g, x, 8, 16, 3, 1, false), conv(g, x, 8, 16, 1, 1, false)};
  int s = tu_node(g, "Add", 2, ins, NULL);
  tu_output(g, bn(g, s, 16));
  run_and_compare(g, "fold-bn");
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 0);
  CU_ASSERT_EQUAL(count(g, OP_MUL), 0); /* both operands took the scale */
  CU_ASSERT_EQUAL(count(g, OP_CONV), 2);
  graph_free(g);
}

static void test_fold_bn_forward(void) {
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int b = bn(g, x, 8);
  tu_output(g, conv(g, b, 8, 4, 1, 2, true)); /* 1x1, unpadded, 2 groups */
  run_and_compare(g, "fold-bn");
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 0);
  CU_ASSERT_EQUAL(find(g, OP_CONV)->in[0], x);
  graph_free(g);
  /* Padded: the zeros would not be shifted, so BN must stay. */
  g = graph_new();
  x = tu_input(g, "x", 4, X4);
  b = bn(g, x, 8);
  tu_output(g, conv(g, b, 8, 4, 3, 1, true));
  run_and_compare(g, "fold-bn");
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 1);
  graph_free(g);
}

static void test_fold_bn_into_gemm(void) {
  Graph *g = graph_new();
  const int64_t xd[2] = {3, 6}, wd[2] = {5, 6}, cd[1] = {5};
  int ins[3] = {tu_input(g, "x", 2, xd), rconst(g, 2, wd, 0), rconst(g, 1, cd, 0)};
  Node *n;
  int y = tu_node(g, "Gemm", 3, ins, &n);
  tu_attr_int(g, n, "transB", 1);
  tu_output(g, bn(g, y, 5));
  run_and_compare(g, "fold-bn");
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 0);
  CU_ASSERT_EQUAL(count(g, OP_GEMM), 1);
  graph_free(g);
}

static void test_fuse_activation(void) {
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int c = conv(g, x, 8, 8, 3, 1, true);
  tu_output(g, tu_node(g, "Relu", 1, &c, NULL));
  run_and_compare(g, "fuse-activation");
  CU_ASSERT_EQUAL(count(g, OP_COUNT), 1);
  CU_ASSERT_EQUAL(find(g, OP_CONV)->ep.act, OP_RELU);
  graph_free(g);
  /* A conv output read twice keeps its activation separate. */
  g = graph_new();
  x = tu_input(g, "x", 4, X4);
  c = conv(g, x, 8, 8, 3, 1, true);
  int r = tu_node(g, "Sigmoid", 1, &c, NULL);
  int ins[2] = {r, c};
  tu_output(g, tu_node(g, "Add", 2, ins, NULL));
  run_and_compare(g, "fuse-activation");
  CU_ASSERT_EQUAL(count(g, OP_SIGMOID), 1);
  CU_ASSERT_EQUAL(find(g, OP_CONV)->ep.act, OP_COUNT);
  graph_free(g);
}

static void test_fuse_residual(void) {
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int h = conv(g, x, 8, 8, 3, 1, true);
  int ins[2] = {x, conv(g, h, 8, 8, 1, 1, false)};
  int s = tu_node(g, "Add", 2, ins, NULL);
  tu_output(g, tu_node(g, "Relu", 1, &s, NULL));
  run_and_compare(g, "fuse-residual");
  CU_ASSERT_EQUAL(count(g, OP_ADD), 0);
  CU_ASSERT_EQUAL(count(g, OP_RELU), 0); /* taken along with the Add */
  CU_ASSERT_EQUAL(count(g, OP_CONV), 2);
  graph_free(g);
  /* A broadcasting Add is not a residual. */
  g = graph_new();
  x = tu_input(g, "x", 4, X4);
  const int64_t bd[4] = {1, 8, 1, 1};
  int ins2[2] = {conv(g, x, 8, 8, 3, 1, true), rconst(g, 4, bd, 0)};
  tu_output(g, tu_node(g, "Add", 2, ins2, NULL));
  run_and_compare(g, "fuse-residual");
  CU_ASSERT_EQUAL(count(g, OP_ADD), 1);
  graph_free(g);
}

/* C paths conv1x1 -> relu -> conv3x3 [-> relu -> conv1x1], from one input. */
static void test_merge_paths(void) {
  for (int form = 0; form < 2; form++) { /* 0: summed (a), 1: concatenated (b) */
    Graph *g = graph_new();
    int x = tu_input(g, "x", 4, X4);
    int leaves[4];
    for (int i = 0; i < 4; i++) {
      int h = conv(g, x, 8, 2, 1, 1, true);
      h = tu_node(g, "Relu", 1, &h, NULL);
      h = conv(g, h, 2, 2, 3, 1, true);
      if (form == 0) {
        h = tu_node(g, "Relu", 1, &h, NULL);
        h = conv(g, h, 2, 8, 1, 1, true);
      }
      leaves[i] = h;
    }
    int y;
    if (form == 0) {
      int a = leaves[0];
      for (int i = 1; i < 4; i++) {
        int ins[2] = {a, leaves[i]};
        a = tu_node(g, "Add", 2, ins, NULL);
      }
      int ins[2] = {a, x}; /* the shortcut joins the same tree */
      y = tu_node(g, "Add", 2, ins, NULL);
    } else {
      Node *n;
      y = tu_node(g, "Concat", 4, leaves, &n);
      tu_attr_int(g, n, "axis", 1);
    }
    tu_output(g, y);
    run_and_compare(g, "merge-paths");
    CU_ASSERT_EQUAL(count(g, OP_CONV), form == 0 ? 3 : 2);
    CU_ASSERT_EQUAL(count(g, OP_RELU), form == 0 ? 2 : 1);
    CU_ASSERT_EQUAL(count(g, OP_CONCAT), 0);
    CU_ASSERT_EQUAL(count(g, OP_ADD), form == 0 ? 1 : 0); /* only the shortcut */
    int grouped = 0;
    for (int i = 0; i < g->nnodes; i++)
      if (g->nodes[i].op == OP_CONV && g->nodes[i].p.group == 4)
        grouped++;
    CU_ASSERT_EQUAL(grouped, 1);
    graph_free(g);
  }
  /* Paths that differ (one has a 5x5 conv) are left alone. */
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int a = conv(g, conv(g, x, 8, 2, 1, 1, true), 2, 8, 3, 1, true);
  int b = conv(g, conv(g, x, 8, 2, 1, 1, true), 2, 8, 5, 1, true);
  int ins[2] = {a, b};
  tu_output(g, tu_node(g, "Add", 2, ins, NULL));
  run_and_compare(g, "merge-paths");
  CU_ASSERT_EQUAL(count(g, OP_CONV), 4);
  graph_free(g);
}

void add_passes_suite(void) {
  CU_pSuite s = CU_add_suite("passes", NULL, NULL);
  ADD(s, test_fold_bn_into_conv);
  ADD(s, test_fold_bn_identity_shortcut);
  ADD(s, test_fold_bn_conv_shortcut);
  ADD(s, test_fold_bn_forward);
  ADD(s, test_fold_bn_into_gemm);
  ADD(s, test_fuse_activation);
  ADD(s, test_fuse_residual);
  ADD(s, test_merge_paths);
}
