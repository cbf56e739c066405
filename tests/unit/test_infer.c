/*
 * test_infer.c — shape inference: each op family's output shapes, both
 * sides of its boundary conditions, and the folding of exporter shape
 * arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape).
 */
#include "onnx_builder.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static bool dims_are(const Value *v, int rank, const int64_t *dims) {
  if (v->rank != rank)
    return false;
  for (int i = 0; i < rank; i++)
    if (v->dims[i] != dims[i])
      return false;
  return true;
}

/* The messages of the last one_op or reshape_to, so a refused case can
 * check it was refused for the reason it is about. */
static char last_log[1024];

static void keep_log(Diag *d) {
  snprintf(last_log, sizeof last_log, "%s", d->log.buf ? d->log.buf : "");
  sb_free(&d->log);
}

static bool refused_for(const char *why) {
  if (!strstr(last_log, why))
    fprintf(stderr, "\nexpected '%s' in: %s\n", why, last_log);
  return strstr(last_log, why) != NULL;
}

/* Builds x -> op -> y with the attributes set by `attrs`, infers shapes. */
typedef void (*AttrFn)(Node *n, Graph *g);

static Graph *one_op(const char *op, int rank, const int64_t *dims, int nextra,
                     const int *extra_rank, const int64_t (*extra_dims)[8],
                     AttrFn attrs, bool *ok) {
  Graph *g = graph_new();
  int ins[8];
  ins[0] = tu_input(g, "x", rank, dims);
  for (int i = 0; i < nextra; i++) {
    float zeros[4096] = {0};
    ins[1 + i] = tu_const(g, "w", extra_rank[i], extra_dims[i], zeros);
  }
  Node *n;
  int y = tu_node(g, op, 1 + nextra, ins, &n);
  if (attrs)
    attrs(n, g);
  tu_output(g, y);
  Diag d = {.quiet = true};
  *ok = graph_infer(g, &d);
  keep_log(&d);
  return g;
}

static void conv_s2_p1(Node *n, Graph *g) {
  const int64_t s[2] = {2, 2}, p[4] = {1, 1, 1, 1};
  tu_attr_ints(g, n, "strides", 2, s);
  tu_attr_ints(g, n, "pads", 4, p);
}
static void conv_grouped(Node *n, Graph *g) { tu_attr_int(g, n, "group", 4); }
static void conv_same_upper(Node *n, Graph *g) {
  const int64_t s[2] = {2, 2};
  tu_attr_ints(g, n, "strides", 2, s);
  tu_attr_str(g, n, "auto_pad", "SAME_UPPER");
}
static void conv_dilated(Node *n, Graph *g) {
  const int64_t dl[2] = {2, 2};
  tu_attr_ints(g, n, "dilations", 2, dl);
}

static void test_conv_shapes(void) {
  const int64_t x[4] = {1, 8, 7, 7};
  const int extra_rank[1] = {4};
  const int64_t w[1][8] = {{16, 8, 3, 3}};
  bool ok;
  Graph *g = one_op("Conv", 4, x, 1, extra_rank, w, conv_s2_p1, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t y1[4] = {1, 16, 4, 4}; /* floor((7 + 2 - 3) / 2) + 1 */
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 4, y1));
  graph_free(g);

  const int64_t wg[1][8] = {{16, 2, 3, 3}}; /* 8 channels in 4 groups of 2 */
  g = one_op("Conv", 4, x, 1, extra_rank, wg, conv_grouped, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t y2[4] = {1, 16, 5, 5};
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 4, y2));
  CU_ASSERT_EQUAL(g->nodes[0].p.group, 4);
  graph_free(g);

  g = one_op("Conv", 4, x, 1, extra_rank, w, conv_same_upper, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t y3[4] = {1, 16, 4, 4}; /* ceil(7 / 2) */
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 4, y3));
  CU_ASSERT_EQUAL(g->nodes[0].p.pad0[2], 1);
  CU_ASSERT_EQUAL(g->nodes[0].p.pad1[2], 1);
  graph_free(g);

  g = one_op("Conv", 4, x, 1, extra_rank, w, conv_dilated, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t y4[4] = {1, 16, 3, 3}; /* window 5 */
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 4, y4));
  graph_free(g);

  /* A weight whose channels per group (3) times the groups (4) are not
   * the input's 8: an error, not a crash. */
  const int64_t wbad[1][8] = {{16, 3, 3, 3}};
  g = one_op("Conv", 4, x, 1, extra_rank, wbad, conv_grouped, &ok);
  CU_ASSERT_FALSE(ok);
  CU_ASSERT(refused_for("8 input channels, weight [16,3,..] and group 4 do not agree"));
  graph_free(g);
  /* Groups that do not divide the channels (6 in 4 groups). */
  const int64_t x6[4] = {1, 6, 7, 7};
  const int64_t w3[1][8] = {{16, 2, 3, 3}};
  g = one_op("Conv", 4, x6, 1, extra_rank, w3, conv_grouped, &ok);
  CU_ASSERT_FALSE(ok);
  CU_ASSERT(refused_for("6 input channels, weight [16,2,..] and group 4 do not agree"));
  graph_free(g);

  /* 1-D */
  const int64_t x1[3] = {1, 8, 10};
  const int erank1[1] = {3};
  const int64_t w1[1][8] = {{4, 8, 3}};
  g = one_op("Conv", 3, x1, 1, erank1, w1, NULL, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t y5[3] = {1, 4, 8};
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 3, y5));
  graph_free(g);
}

static void pool_k3_s2_ceil(Node *n, Graph *g) {
  const int64_t k[2] = {3, 3}, s[2] = {2, 2};
  tu_attr_ints(g, n, "kernel_shape", 2, k);
  tu_attr_ints(g, n, "strides", 2, s);
  tu_attr_int(g, n, "ceil_mode", 1);
}
static void pool_k3_s2(Node *n, Graph *g) {
  const int64_t k[2] = {3, 3}, s[2] = {2, 2};
  tu_attr_ints(g, n, "kernel_shape", 2, k);
  tu_attr_ints(g, n, "strides", 2, s);
}

static void test_pool_shapes(void) {
  const int64_t x[4] = {1, 2, 8, 8};
  bool ok;
  Graph *g = one_op("MaxPool", 4, x, 0, NULL, NULL, pool_k3_s2, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t y[4] = {1, 2, 3, 3}; /* floor(5/2)+1 */
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 4, y));
  graph_free(g);
  g = one_op("MaxPool", 4, x, 0, NULL, NULL, pool_k3_s2_ceil, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t yc[4] = {1, 2, 4, 4}; /* ceil(5/2)+1, last window starts at 6 < 8 */
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 4, yc));
  graph_free(g);
  g = one_op("GlobalAveragePool", 4, x, 0, NULL, NULL, NULL, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t yg[4] = {1, 2, 1, 1};
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 4, yg));
  graph_free(g);
  g = one_op("MaxPool", 4, x, 0, NULL, NULL, NULL, &ok); /* no kernel_shape */
  CU_ASSERT_FALSE(ok);
  CU_ASSERT(refused_for("kernel_shape must list 2 extents"));
  graph_free(g);
}

static void gemm_tb(Node *n, Graph *g) { tu_attr_int(g, n, "transB", 1); }

static void test_gemm_matmul_shapes(void) {
  const int64_t a[2] = {3, 5};
  const int er[1] = {2};
  const int64_t bt[1][8] = {{7, 5}};
  bool ok;
  Graph *g = one_op("Gemm", 2, a, 1, er, bt, gemm_tb, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t y[2] = {3, 7};
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 2, y));
  graph_free(g);
  g = one_op("Gemm", 2, a, 1, er, bt, NULL, &ok); /* K mismatch without transB */
  CU_ASSERT_FALSE(ok);
  CU_ASSERT(refused_for("inner dimensions differ (5 vs 7)"));
  graph_free(g);
  const int64_t x[3] = {4, 3, 5};
  const int er2[1] = {1};
  const int64_t v[1][8] = {{5}};
  g = one_op("MatMul", 3, x, 1, er2, v, NULL, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t ym[2] = {4, 3}; /* a 1-D right operand drops its dim */
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 2, ym));
  graph_free(g);
  const int er3[1] = {4};
  const int64_t bb[1][8] = {{2, 1, 5, 6}};
  g = one_op("MatMul", 3, x, 1, er3, bb, NULL, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t yb[4] = {2, 4, 3, 6}; /* batch dims broadcast */
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 4, yb));
  graph_free(g);
}

/* Reshape with a constant int64 shape input. */
static Graph *reshape_to(int count, const int64_t *shape, bool allowzero, bool *ok) {
  Graph *g = graph_new();
  const int64_t x[4] = {2, 3, 4, 0 + 5};
  int ins[2];
  ins[0] = tu_input(g, "x", 4, x);
  ins[1] = graph_add_value(g, "shape");
  int64_t d = count;
  value_set_shape(&g->values[ins[1]], DT_INT64, 1, &d);
  memcpy(value_alloc_data(g, ins[1]), shape, 8 * (size_t)count);
  Node *n;
  int y = tu_node(g, "Reshape", 2, ins, &n);
  if (allowzero)
    tu_attr_int(g, n, "allowzero", 1);
  tu_output(g, y);
  Diag dg = {.quiet = true};
  *ok = graph_infer(g, &dg);
  keep_log(&dg);
  return g;
}

static void test_reshape_shapes(void) {
  bool ok;
  const int64_t s1[3] = {0, -1, 5};
  Graph *g = reshape_to(3, s1, false, &ok);
  CU_ASSERT_FATAL(ok);
  const int64_t y1[3] = {2, 12, 5};
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 3, y1));
  graph_free(g);
  const int64_t s2[2] = {-1, -1};
  g = reshape_to(2, s2, false, &ok);
  CU_ASSERT_FALSE(ok);
  CU_ASSERT(refused_for("more than one -1"));
  graph_free(g);
  const int64_t s3[2] = {7, -1}; /* 120 is not a multiple of 7 */
  g = reshape_to(2, s3, false, &ok);
  CU_ASSERT_FALSE(ok);
  CU_ASSERT(refused_for("cannot infer -1 (120 elements)"));
  graph_free(g);
  const int64_t s4[2] = {0, 120}; /* allowzero: 0 means 0 elements: mismatch */
  g = reshape_to(2, s4, true, &ok);
  CU_ASSERT_FALSE(ok);
  CU_ASSERT(refused_for("120 elements cannot become 0"));
  graph_free(g);
}

/* The flatten that old torch exports emit for x.view(x.size(0), -1). */
static void test_shape_arithmetic_folds(void) {
  MB *m = mb_new(9);
  const int64_t x[4] = {1, 8, 2, 2};
  mb_input(m, "x", 1, 4, x);
  const int64_t one[1] = {1};
  const int64_t zero = 0, minus1 = -1, ax = 0;
  mb_init_int64s(m, "idx", 0, NULL, &zero);
  mb_init_int64s(m, "m1", 1, one, &minus1);
  (void)ax;
  const char *i0[1] = {"x"}, *o0[1] = {"shp"};
  mb_node(m, "Shape", "shape", 1, i0, 1, o0);
  const char *i1[2] = {"shp", "idx"}, *o1[1] = {"n"};
  mb_node(m, "Gather", "gather", 2, i1, 1, o1);
  const char *i2[1] = {"n"}, *o2[1] = {"n1"};
  Onnx__NodeProto *u = mb_node(m, "Unsqueeze", "unsq", 1, i2, 1, o2);
  const int64_t axes[1] = {0};
  mb_attr_ints(u, "axes", 1, axes);
  const char *i3[2] = {"n1", "m1"}, *o3[1] = {"target"};
  Onnx__NodeProto *c = mb_node(m, "Concat", "concat", 2, i3, 1, o3);
  mb_attr_int(c, "axis", 0);
  const char *i4[2] = {"x", "target"}, *o4[1] = {"flat"};
  mb_node(m, "Reshape", "reshape", 2, i4, 1, o4);
  mb_output(m, "flat");
  CU_ASSERT_FATAL(mb_write(m, tu_path("flatten.onnx")));
  mb_free(m);
  Graph *g = graph_new();
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(onnx_load(g, tu_path("flatten.onnx"), &d));
  CU_ASSERT_FATAL(graph_infer(g, &d));
  CU_ASSERT_EQUAL(g->nnodes, 1); /* only the Reshape is left */
  CU_ASSERT_EQUAL(g->nodes[0].op, OP_RESHAPE);
  const int64_t y[2] = {1, 32};
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 2, y));
  graph_free(g);
  sb_free(&d.log);
}

static void test_broadcast_and_concat(void) {
  Graph *g = graph_new();
  const int64_t a[4] = {2, 3, 1, 5}, b[2] = {4, 1};
  int ins[2] = {tu_input(g, "a", 4, a), tu_input(g, "b", 2, b)};
  int y = tu_node(g, "Add", 2, ins, NULL);
  tu_output(g, y);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const int64_t yd[4] = {2, 3, 4, 5};
  CU_ASSERT(dims_are(&g->values[y], 4, yd));
  graph_free(g);
  g = graph_new();
  const int64_t c1[3] = {2, 3, 4}, c2[3] = {2, 5, 4};
  int cins[2] = {tu_input(g, "a", 3, c1), tu_input(g, "b", 3, c2)};
  Node *n;
  y = tu_node(g, "Concat", 2, cins, &n);
  tu_attr_int(g, n, "axis", -2);
  tu_output(g, y);
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const int64_t cd[3] = {2, 8, 4};
  CU_ASSERT(dims_are(&g->values[y], 3, cd));
  graph_free(g);
  sb_free(&d.log);
}

/* An int64 value: a runtime input, or a constant holding data. */
static int int64_value(Graph *g, const char *name, int rank, const int64_t *dims,
                       const int64_t *data) {
  int v = graph_add_value(g, name);
  value_set_shape(&g->values[v], DT_INT64, rank, dims);
  if (data) {
    memcpy(value_alloc_data(g, v), data, value_bytes(&g->values[v]));
  } else {
    g->values[v].is_input = true;
    g->inputs = tu_grow_ints(g, g->inputs, g->ninputs);
    g->inputs[g->ninputs++] = v;
  }
  return v;
}

/* Pow: float base; a constant integer exponent becomes float32, a runtime
 * one is refused, naming the node and the exponent. */
static void test_pow_exponents(void) {
  const int64_t xd[2] = {2, 3}, ed[1] = {3}, two[3] = {2, 2, 3};
  for (int runtime = 0; runtime < 2; runtime++) {
    Graph *g = graph_new();
    int ins[2] = {tu_input(g, "x", 2, xd), int64_value(g, "e", 1, ed, runtime ? NULL : two)};
    Node *n;
    int y = tu_node(g, "Pow", 2, ins, &n);
    n->name = "sq";
    tu_output(g, y);
    Diag d = {.quiet = true};
    bool ok = graph_infer(g, &d);
    if (runtime) {
      CU_ASSERT_FALSE(ok);
      CU_ASSERT(tu_log_has(&d, "node 'sq' (Pow): the exponent 'e' is int64 computed at run "
                               "time; only float32 exponents"));
    } else {
      CU_ASSERT_FATAL(ok);
      const Value *e = &g->values[g->nodes[0].in[1]];
      CU_ASSERT(e->dtype == DT_FLOAT && e->data && dims_are(e, 1, ed));
      CU_ASSERT_EQUAL(((float *)e->data)[2], 3.0f);
      CU_ASSERT(dims_are(&g->values[y], 2, xd));
      const float x[6] = {1, 2, 3, -1, 0.5f, 2};
      const float *in[2] = {x, NULL};
      float *out[1];
      CU_ASSERT_FATAL(interp_run(g, in, out, &d));
      CU_ASSERT_DOUBLE_EQUAL(out[0][2], 27, 1e-6);
      CU_ASSERT_DOUBLE_EQUAL(out[0][3], 1, 1e-6);
      CU_ASSERT_DOUBLE_EQUAL(out[0][5], 8, 1e-6);
      free(out[0]);
    }
    graph_free(g);
    sb_free(&d.log);
  }
  /* An integer base is refused. */
  Graph *g = graph_new();
  int ins[2] = {int64_value(g, "b", 1, ed, NULL), tu_input(g, "x", 1, ed)};
  Node *n;
  tu_output(g, tu_node(g, "Pow", 2, ins, &n));
  n->name = "ipow";
  Diag d = {.quiet = true};
  CU_ASSERT_FALSE(graph_infer(g, &d));
  CU_ASSERT(tu_log_has(&d, "node 'ipow' (Pow): the base 'b' must be float32, not int64"));
  graph_free(g);
  sb_free(&d.log);
}

/* op(x [2, 3, 4, 5]) with axes as an attribute (opset 13) or, when
 * `as_input`, a constant int64 input (opset 18); naxes -1: no axes. */
static Graph *reduce_case(const char *op, int naxes, const int64_t *axes, bool as_input,
                          int keepdims, int noop, Diag *d, bool *ok) {
  Graph *g = graph_new();
  const int64_t xd[4] = {2, 3, 4, 5};
  int64_t na = naxes < 0 ? 0 : naxes;
  int ins[2] = {tu_input(g, "x", 4, xd),
                as_input && naxes >= 0 ? int64_value(g, "axes", 1, &na, axes ? axes : xd) : -1};
  Node *n;
  int y = tu_node(g, op, ins[1] >= 0 ? 2 : 1, ins, &n);
  n->name = "red";
  n->opset = as_input ? 18 : 13;
  if (!as_input && naxes >= 0)
    tu_attr_ints(g, n, "axes", naxes, axes);
  if (keepdims >= 0)
    tu_attr_int(g, n, "keepdims", keepdims);
  if (noop >= 0)
    tu_attr_int(g, n, "noop_with_empty_axes", noop);
  tu_output(g, y);
  *ok = graph_infer(g, d);
  return g;
}

static void test_reduce_shapes(void) {
  Diag d = {.quiet = true};
  bool ok;
  const int64_t a13[2] = {1, -1}, a_dup[2] = {1, -3}, a_bad[1] = {4};
  Graph *g = reduce_case("ReduceMean", 2, a13, false, -1, -1, &d, &ok);
  CU_ASSERT(ok && dims_are(&g->values[g->outputs[0]], 4, (const int64_t[]){2, 1, 4, 1}));
  graph_free(g);
  g = reduce_case("ReduceMax", 2, a13, true, 0, -1, &d, &ok);
  CU_ASSERT(ok && dims_are(&g->values[g->outputs[0]], 2, (const int64_t[]){2, 4}));
  graph_free(g);
  g = reduce_case("ReduceSum", -1, NULL, false, 0, -1, &d, &ok); /* every axis */
  CU_ASSERT(ok && dims_are(&g->values[g->outputs[0]], 0, NULL));
  graph_free(g);
  g = reduce_case("ReduceSum", 0, NULL, true, 1, 1, &d, &ok); /* empty axes: noop */
  CU_ASSERT(ok && dims_are(&g->values[g->outputs[0]], 4, (const int64_t[]){2, 3, 4, 5}));
  graph_free(g);
  g = reduce_case("ReduceSum", 0, NULL, true, 1, 0, &d, &ok); /* empty axes: all */
  CU_ASSERT(ok && dims_are(&g->values[g->outputs[0]], 4, (const int64_t[]){1, 1, 1, 1}));
  graph_free(g);
  CU_ASSERT_EQUAL(d.nerrors, 0);
  g = reduce_case("ReduceMean", 2, a_dup, false, -1, -1, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'red' (ReduceMean): axis -3 is out of range for "
                                  "rank 4 or repeated"));
  graph_free(g);
  g = reduce_case("ReduceMean", 1, a_bad, true, -1, -1, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "axis 4 is out of range"));
  graph_free(g);
  /* The axes' form must match the opset. */
  g = graph_new();
  const int64_t xd[2] = {2, 3}, one = 1;
  int ins[2] = {tu_input(g, "x", 2, xd), int64_value(g, "axes", 1, &one, a13)};
  Node *n;
  tu_output(g, tu_node(g, "ReduceMax", 2, ins, &n));
  n->name = "old";
  n->opset = 13;
  CU_ASSERT_FALSE(graph_infer(g, &d));
  CU_ASSERT(tu_log_has(&d, "node 'old' (ReduceMax): axes are an input only from opset 18"));
  graph_free(g);
  g = graph_new();
  ins[0] = tu_input(g, "x", 2, xd);
  ins[1] = int64_value(g, "axes", 1, &one, NULL); /* a runtime input */
  tu_output(g, tu_node(g, "ReduceSum", 2, ins, &n));
  n->name = "dyn";
  CU_ASSERT_FALSE(graph_infer(g, &d));
  CU_ASSERT(tu_log_has(&d, "node 'dyn' (ReduceSum): input 1 ('axes') must be a constant"));
  graph_free(g);
  g = graph_new();
  ins[0] = tu_input(g, "x", 2, xd);
  tu_output(g, tu_node(g, "ReduceSum", 1, ins, &n));
  n->name = "attr18";
  n->opset = 18;
  tu_attr_ints(g, n, "axes", 1, a13);
  CU_ASSERT_FALSE(graph_infer(g, &d));
  CU_ASSERT(tu_log_has(&d, "node 'attr18' (ReduceSum): from opset 13 the axes are an input"));
  graph_free(g);
  sb_free(&d.log);
}

/* Slice of x [20, 10, 5] with constant starts/ends/axes/steps (n entries;
 * axes or steps NULL: omitted). */
static Graph *slice_case(int n, const int64_t *starts, const int64_t *ends,
                         const int64_t *axes, const int64_t *steps, Diag *d, bool *ok) {
  Graph *g = graph_new();
  const int64_t xd[3] = {20, 10, 5}, nd = n;
  int ins[5] = {tu_input(g, "x", 3, xd), int64_value(g, "starts", 1, &nd, starts),
                int64_value(g, "ends", 1, &nd, ends),
                axes ? int64_value(g, "axes", 1, &nd, axes) : -1,
                steps ? int64_value(g, "steps", 1, &nd, steps) : -1};
  Node *nd_;
  int y = tu_node(g, "Slice", 5, ins, &nd_);
  nd_->name = "sl";
  tu_output(g, y);
  *ok = graph_infer(g, d);
  return g;
}

static void test_slice_shapes(void) {
  Diag d = {.quiet = true};
  bool ok;
  const int64_t big = INT64_MAX, small = INT64_MIN;
  /* Negative steps to the very start; clamping of out-of-range bounds. */
  Graph *g = slice_case(3, (const int64_t[]){20, 10, 4}, (const int64_t[]){0, small, -6},
                        (const int64_t[]){0, 1, 2}, (const int64_t[]){-1, -3, -2}, &d, &ok);
  CU_ASSERT(ok && dims_are(&g->values[g->outputs[0]], 3, (const int64_t[]){19, 4, 3}));
  graph_free(g);
  g = slice_case(2, (const int64_t[]){-100, 1}, (const int64_t[]){big, 1000},
                 (const int64_t[]){-1, -3}, (const int64_t[]){2, 7}, &d, &ok);
  CU_ASSERT(ok && dims_are(&g->values[g->outputs[0]], 3, (const int64_t[]){3, 10, 3}));
  graph_free(g);
  g = slice_case(1, (const int64_t[]){15}, (const int64_t[]){5}, NULL, NULL, &d, &ok);
  CU_ASSERT(ok && dims_are(&g->values[g->outputs[0]], 3, (const int64_t[]){0, 10, 5}));
  graph_free(g);
  CU_ASSERT_EQUAL(d.nerrors, 0);
  g = slice_case(1, (const int64_t[]){0}, (const int64_t[]){5}, NULL, (const int64_t[]){0},
                 &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'sl' (Slice): step 0 is 0"));
  graph_free(g);
  g = slice_case(2, (const int64_t[]){0, 0}, (const int64_t[]){5, 5},
                 (const int64_t[]){1, -2}, NULL, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'sl' (Slice): an axis is repeated (input rank 3)"));
  graph_free(g);
  g = slice_case(1, (const int64_t[]){0}, (const int64_t[]){5}, (const int64_t[]){3}, NULL,
                 &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'sl' (Slice): an axis is out of range"));
  graph_free(g);
  sb_free(&d.log);
  /* Starts computed at run time; starts and ends of different lengths. */
  d = (Diag){.quiet = true};
  g = graph_new();
  const int64_t xd[2] = {4, 4}, one = 1, two = 2;
  int ins[3] = {tu_input(g, "x", 2, xd), int64_value(g, "s", 1, &one, NULL),
                int64_value(g, "e", 1, &one, xd)};
  Node *n;
  tu_output(g, tu_node(g, "Slice", 3, ins, &n));
  n->name = "dyn";
  CU_ASSERT_FALSE(graph_infer(g, &d));
  CU_ASSERT(tu_log_has(&d, "node 'dyn' (Slice): input 1 ('s') must be a constant"));
  graph_free(g);
  g = graph_new();
  ins[0] = tu_input(g, "x", 2, xd);
  ins[1] = int64_value(g, "s", 1, &one, xd);
  ins[2] = int64_value(g, "e", 1, &two, xd);
  tu_output(g, tu_node(g, "Slice", 3, ins, &n));
  n->name = "mismatch";
  CU_ASSERT_FALSE(graph_infer(g, &d));
  CU_ASSERT(tu_log_has(&d, "node 'mismatch' (Slice): 1 starts, 2 ends"));
  graph_free(g);
  sb_free(&d.log);
}

/* Slice at opset 1 (attributes) on a shape vector folds at compile time:
 * Reshape(x, Shape(x)[1:]) is a constant-shape Reshape. */
static void test_slice_folds_shapes(void) {
  Graph *g = graph_new();
  const int64_t xd[4] = {1, 8, 3, 5};
  int x = tu_input(g, "x", 4, xd);
  int shp = tu_node(g, "Shape", 1, &x, NULL);
  Node *n;
  int sl = tu_node(g, "Slice", 1, &shp, &n);
  n->opset = 1;
  tu_attr_ints(g, n, "starts", 1, (const int64_t[]){1});
  tu_attr_ints(g, n, "ends", 1, (const int64_t[]){INT64_MAX});
  int ins[2] = {x, sl};
  int y = tu_node(g, "Reshape", 2, ins, NULL);
  tu_output(g, y);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  CU_ASSERT_EQUAL(g->nnodes, 1);
  CU_ASSERT(dims_are(&g->values[y], 3, xd + 1));
  graph_free(g);
  sb_free(&d.log);
}

/* Split of x [2, 7] along axis 1 into nout outputs, at `opset`, sizes as
 * a constant input (n sizes; NULL: none), num_outputs when > 0. */
static Graph *split_case(int opset, int nout, int n, const int64_t *sizes, int num_outputs,
                         Diag *d, bool *ok) {
  Graph *g = graph_new();
  const int64_t xd[2] = {2, 7}, nd = n;
  int x = tu_input(g, "x", 2, xd);
  int s = sizes ? int64_value(g, "split", 1, &nd, sizes) : -1;
  int ni = graph_add_op(g, OP_SPLIT, 2, nout);
  Node *sp = &g->nodes[ni];
  sp->opset = opset;
  sp->name = "sp";
  sp->in[0] = x;
  sp->in[1] = s;
  tu_attr_int(g, sp, "axis", -1);
  if (num_outputs > 0)
    tu_attr_int(g, sp, "num_outputs", num_outputs);
  for (int j = 0; j < nout; j++) {
    int v = graph_add_value(g, "");
    g->nodes[ni].out[j] = v;
    g->values[v].producer = ni;
    tu_output(g, v);
  }
  *ok = graph_infer(g, d);
  return g;
}

static void test_split_shapes(void) {
  Diag d = {.quiet = true};
  bool ok;
  Graph *g = split_case(13, 3, 3, (const int64_t[]){2, 0, 5}, 0, &d, &ok);
  CU_ASSERT_FATAL(ok);
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 2, (const int64_t[]){2, 2}));
  CU_ASSERT(dims_are(&g->values[g->outputs[1]], 2, (const int64_t[]){2, 0}));
  CU_ASSERT(dims_are(&g->values[g->outputs[2]], 2, (const int64_t[]){2, 5}));
  const float x[14] = {0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16};
  const float *in[1] = {x};
  float *out[3];
  CU_ASSERT_FATAL(interp_run(g, in, out, &d));
  CU_ASSERT(out[0][0] == 0 && out[0][1] == 1 && out[0][2] == 10 && out[0][3] == 11);
  CU_ASSERT(out[2][0] == 2 && out[2][4] == 6 && out[2][5] == 12 && out[2][9] == 16);
  for (int j = 0; j < 3; j++)
    free(out[j]);
  graph_free(g);
  /* Opset 18, num_outputs 3 of 7: 3, 3, 1. */
  g = split_case(18, 3, 0, NULL, 3, &d, &ok);
  CU_ASSERT_FATAL(ok);
  CU_ASSERT(dims_are(&g->values[g->outputs[1]], 2, (const int64_t[]){2, 3}));
  CU_ASSERT(dims_are(&g->values[g->outputs[2]], 2, (const int64_t[]){2, 1}));
  graph_free(g);
  CU_ASSERT_EQUAL(d.nerrors, 0);
  g = split_case(13, 2, 0, NULL, 0, &d, &ok); /* 7 is odd */
  CU_ASSERT(!ok && tu_log_has(&d, "node 'sp' (Split): equal parts cannot cut axis 1 of "
                                  "extent 7 into 2 parts"));
  graph_free(g);
  g = split_case(13, 2, 2, (const int64_t[]){3, 3}, 0, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'sp' (Split): the split sizes cannot cut axis 1"));
  graph_free(g);
  g = split_case(13, 2, 3, (const int64_t[]){3, 3, 1}, 0, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'sp' (Split): 3 split sizes for 2 outputs"));
  graph_free(g);
  g = split_case(18, 2, 0, NULL, 3, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'sp' (Split): num_outputs must be the number of "
                                  "outputs (2)"));
  graph_free(g);
  sb_free(&d.log);
}

/* LayerNormalization of x [2, 3, 4] with a Scale of shape sd (rank sr),
 * axis given, stash_type when >= 0; three outputs. */
static Graph *layernorm_case(int64_t axis, int sr, const int64_t *sd, int stash, Diag *d,
                             bool *ok) {
  Graph *g = graph_new();
  const int64_t xd[3] = {2, 3, 4};
  float ones[64];
  for (int i = 0; i < 64; i++)
    ones[i] = 1;
  int ins[2] = {tu_input(g, "x", 3, xd), tu_const(g, "scale", sr, sd, ones)};
  int ni = graph_add_op(g, OP_LAYERNORM, 2, 3);
  Node *n = &g->nodes[ni];
  n->opset = 17;
  n->name = "ln";
  n->in[0] = ins[0];
  n->in[1] = ins[1];
  tu_attr_int(g, n, "axis", axis);
  if (stash >= 0)
    tu_attr_int(g, n, "stash_type", stash);
  for (int j = 0; j < 3; j++) {
    int v = graph_add_value(g, "");
    g->nodes[ni].out[j] = v;
    g->values[v].producer = ni;
    tu_output(g, v);
  }
  *ok = graph_infer(g, d);
  return g;
}

static void test_layernorm_shapes(void) {
  Diag d = {.quiet = true};
  bool ok;
  Graph *g = layernorm_case(-2, 2, (const int64_t[]){3, 4}, -1, &d, &ok);
  CU_ASSERT_FATAL(ok);
  CU_ASSERT(dims_are(&g->values[g->outputs[0]], 3, (const int64_t[]){2, 3, 4}));
  CU_ASSERT(dims_are(&g->values[g->outputs[1]], 3, (const int64_t[]){2, 1, 1}));
  CU_ASSERT(dims_are(&g->values[g->outputs[2]], 3, (const int64_t[]){2, 1, 1}));
  CU_ASSERT_EQUAL(g->nodes[0].p.axis, 1);
  CU_ASSERT_EQUAL(g->nodes[0].p.inner, 12);
  graph_free(g);
  g = layernorm_case(2, 3, (const int64_t[]){1, 1, 4}, 1, &d, &ok); /* leading 1s */
  CU_ASSERT(ok);
  graph_free(g);
  CU_ASSERT_EQUAL(d.nerrors, 0);
  g = layernorm_case(3, 1, (const int64_t[]){4}, -1, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'ln' (LayerNormalization): axis 3 is out of range "
                                  "for rank 3"));
  graph_free(g);
  g = layernorm_case(1, 1, (const int64_t[]){4}, -1, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'ln' (LayerNormalization): Scale 'scale' must be "
                                  "float32 of the normalised shape (X's dims from axis 1 on)"));
  graph_free(g);
  g = layernorm_case(-1, 1, (const int64_t[]){4}, 11, &d, &ok);
  CU_ASSERT(!ok && tu_log_has(&d, "node 'ln' (LayerNormalization): stash_type 11 is not "
                                  "supported"));
  graph_free(g);
  sb_free(&d.log);
}

void add_infer_suite(void) {
  CU_pSuite s = CU_add_suite("infer", NULL, NULL);
  ADD(s, test_conv_shapes);
  ADD(s, test_pool_shapes);
  ADD(s, test_gemm_matmul_shapes);
  ADD(s, test_reshape_shapes);
  ADD(s, test_shape_arithmetic_folds);
  ADD(s, test_broadcast_and_concat);
  ADD(s, test_pow_exponents);
  ADD(s, test_reduce_shapes);
  ADD(s, test_slice_shapes);
  ADD(s, test_slice_folds_shapes);
  ADD(s, test_split_shapes);
  ADD(s, test_layernorm_shapes);
}
