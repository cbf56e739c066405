/*
 * test_verify.c — the strict verifier (ir_verify) and the operator table.
 *
 * One small valid graph is built by hand,
 *
 *   x[1,4,8,8] -> Conv(W, B, pads 1) -> c -> Relu -> r -> GlobalAveragePool
 *     -> p -> Flatten -> f -> Gemm(Wg[5,8], Bg, transB) -> y[1,5]
 *
 * and checked to pass; then each test breaks one rule of the verifier,
 * once, and checks that ir_verify fails with a message naming the node or
 * value and saying why.  Messages are matched in full where the graph
 * fixes them, so a verifier that fails for another reason fails the test.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static const float zeros[512]; /* contents of every constant: values do not matter here */

/* A node whose node and output value carry names, as the messages use them. */
static int named_node(Graph *g, const char *op, int nin, const int *ins, const char *node,
                      const char *value) {
  Node *n;
  int v = tu_node(g, op, nin, ins, &n);
  n->name = arena_strdup(&g->arena, node);
  g->values[v].name = arena_strdup(&g->arena, value);
  return v;
}

static Node *node_named(Graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (!strcmp(g->nodes[i].name, name))
      return &g->nodes[i];
  CU_FAIL_FATAL("no such node");
  return NULL;
}

static int value_named(Graph *g, const char *name) {
  int v = graph_find_value(g, name);
  CU_ASSERT_FATAL(v >= 0);
  return v;
}

/* The graph of the file comment, shapes inferred. */
static Graph *valid_graph(void) {
  Graph *g = graph_new();
  const int64_t xd[4] = {1, 4, 8, 8}, wd[4] = {8, 4, 3, 3}, bd[1] = {8}, gwd[2] = {5, 8},
                gbd[1] = {5}, pads[4] = {1, 1, 1, 1};
  int x = tu_input(g, "x", 4, xd);
  int cin[3] = {x, tu_const(g, "W", 4, wd, zeros), tu_const(g, "B", 1, bd, zeros)};
  int c = named_node(g, "Conv", 3, cin, "conv", "c");
  tu_attr_ints(g, node_named(g, "conv"), "pads", 4, pads);
  int r = named_node(g, "Relu", 1, &c, "relu", "r");
  int p = named_node(g, "GlobalAveragePool", 1, &r, "gap", "p");
  int f = named_node(g, "Flatten", 1, &p, "flatten", "f");
  int gin[3] = {f, tu_const(g, "Wg", 2, gwd, zeros), tu_const(g, "Bg", 1, gbd, zeros)};
  int y = named_node(g, "Gemm", 3, gin, "fc", "y");
  tu_attr_int(g, node_named(g, "fc"), "transB", 1);
  tu_output(g, y);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  sb_free(&d.log);
  return g;
}

static void expect_valid(Graph *g) {
  Diag d = {.quiet = true};
  bool ok = ir_verify(g, &d);
  if (!ok)
    fprintf(stderr, "\nunexpected: %s", d.log.buf);
  CU_ASSERT(ok);
  CU_ASSERT_EQUAL(d.nerrors, 0);
  sb_free(&d.log);
}

/* ir_verify fails with exactly `nerrors` errors, the log holding `msg`. */
static void expect_invalid(Graph *g, int nerrors, const char *msg) {
  Diag d = {.quiet = true};
  CU_ASSERT_FALSE(ir_verify(g, &d));
  CU_ASSERT_EQUAL(d.nerrors, nerrors);
  if (!tu_log_has(&d, msg) || d.nerrors != nerrors)
    fprintf(stderr, "\nexpected %d error(s) with '%s' in:\n%s", nerrors, msg,
            d.log.buf ? d.log.buf : "");
  CU_ASSERT(tu_log_has(&d, msg));
  sb_free(&d.log);
}

static void test_valid_graph_passes(void) {
  Graph *g = valid_graph();
  expect_valid(g);
  CU_ASSERT_EQUAL(g->nnodes, 5);
  CU_ASSERT_EQUAL(g->values[value_named(g, "c")].dims[3], 8); /* padded: 8x8 kept */
  CU_ASSERT_EQUAL(g->values[value_named(g, "y")].dims[1], 5);
  graph_free(g);
}

/* The other side of the epilogue rules: a Conv adding a residual of its
 * output's shape, scaled by a constant [C], then a Relu, is valid. */
static void test_valid_epilogue_passes(void) {
  Graph *g = valid_graph();
  const int64_t rd[4] = {1, 8, 8, 8}, sd[1] = {8};
  int skip = tu_input(g, "skip", 4, rd);
  int scale = tu_const(g, "scale", 1, sd, zeros);
  Node *conv = node_named(g, "conv");
  conv->ep = (Epilogue){skip, scale, OP_RELU, 0, 0};
  expect_valid(g);
  graph_free(g);
}

static void test_value_defined_twice(void) {
  Graph *g = valid_graph();
  int c = value_named(g, "c"); /* conv's output, now also a graph input */
  g->values[c].is_input = true;
  g->inputs = tu_grow_ints(g, g->inputs, g->ninputs);
  g->inputs[g->ninputs++] = c;
  expect_invalid(g, 1, "error: verify: value 'c' is defined twice (node 'conv' writes it again)\n");
  graph_free(g);
}

static void test_value_defined_by_two_nodes(void) {
  Graph *g = valid_graph();
  int c = value_named(g, "c"), r = value_named(g, "r");
  int ni = graph_add_op(g, OP_RELU, 1, 1);
  Node *n = &g->nodes[ni];
  n->name = arena_strdup(&g->arena, "relu2");
  n->in[0] = c;
  n->out[0] = r; /* relu wrote r already */
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(node_setup(g, n, &d));
  sb_free(&d.log);
  /* The value names one producer, so the second writer is reported twice. */
  expect_invalid(g, 2, "error: verify: value 'r' is defined twice (node 'relu2' writes it again)\n");
  graph_free(g);
}

static void test_read_before_definition(void) {
  Graph *g = valid_graph();
  node_named(g, "relu")->in[0] = value_named(g, "y"); /* y depends on relu: a cycle */
  expect_invalid(g, 1, "error: verify: node 'relu' reads 'y' before it is defined (a cycle, "
                       "or out of order)\n");
  graph_free(g);
}

static void test_read_of_removed_value(void) {
  Graph *g = valid_graph();
  g->values[value_named(g, "Bg")].dead = true;
  expect_invalid(g, 1, "error: verify: node 'fc' reads 'Bg', which a pass removed\n");
  graph_free(g);
}

static void test_too_many_inputs(void) {
  Graph *g = valid_graph();
  Node *relu = node_named(g, "relu");
  node_add_input(g, relu, value_named(g, "x"));
  expect_invalid(g, 1, "error: verify: node 'relu' (Relu) has 2 inputs; Relu takes 1\n");
  graph_free(g);
}

static void test_too_few_inputs(void) {
  Graph *g = valid_graph();
  node_named(g, "conv")->nin = 1;
  expect_invalid(g, 1, "error: verify: node 'conv' (Conv) has 1 inputs; Conv takes 2 to 3\n");
  graph_free(g);
}

static void test_too_many_outputs(void) {
  Graph *g = valid_graph();
  Node *relu = node_named(g, "relu");
  int *out = arena_alloc(&g->arena, 2 * sizeof(int));
  out[0] = relu->out[0];
  out[1] = -1;
  relu->out = out;
  relu->nout = 2;
  expect_invalid(g, 1, "error: verify: node 'relu' (Relu) has 2 outputs; Relu makes 1\n");
  graph_free(g);
}

/* A required input left out in the middle (Gemm's B) is no smaller arity:
 * the trailing count is right, the operand is not there. */
static void test_required_input_missing(void) {
  Graph *g = valid_graph();
  node_named(g, "fc")->in[1] = -1;
  expect_invalid(g, 1, "error: verify: node 'fc' (Gemm): required input 1 is missing\n");
  graph_free(g);
}

static void test_required_output_missing(void) {
  Graph *g = valid_graph();
  node_named(g, "relu")->out[0] = -1;
  expect_invalid(g, 1, "error: verify: node 'relu' (Relu): required output 0 is missing\n");
  graph_free(g);
}

/* A parameter changed behind the shapes: the stride halves the output a
 * pass did not update. */
static void test_conv_stride_changed(void) {
  Graph *g = valid_graph();
  Node *conv = node_named(g, "conv");
  conv->p.stride[1] = conv->p.stride[2] = 2;
  expect_invalid(g, 1, "error: verify: node 'conv' (Conv): output 'c' is float32[1,8,8,8], "
                       "but re-inference gives float32[1,8,4,4]\n");
  graph_free(g);
}

/* Groups that the weight cannot have: inference itself refuses. */
static void test_conv_group_changed(void) {
  Graph *g = valid_graph();
  node_named(g, "conv")->p.group = 2;
  expect_invalid(g, 1, "error: verify: node 'conv' (Conv): shape inference fails on it now: "
                       "node 'conv' (Conv): 4 input channels, weight [8,4,..] and group 2 "
                       "do not agree\n");
  graph_free(g);
}

/* A derived parameter (the kernel extent, which comes from W) that no
 * longer matches the weight: the shapes agree, the parameters do not. */
static void test_conv_kernel_param_changed(void) {
  Graph *g = valid_graph();
  Node *conv = node_named(g, "conv");
  conv->p.kernel[1] = conv->p.kernel[2] = 1; /* pads 1 kept: re-inferred 3x3 gives 8x8 too */
  expect_invalid(g, 1, "error: verify: node 'conv' (Conv): its parameters disagree with its "
                       "inputs' shapes (re-inference changes kernel)\n");
  graph_free(g);
}

static void test_gemm_trans_b_flipped(void) {
  Graph *g = valid_graph();
  Node *fc = node_named(g, "fc");
  fc->p.trans_b = !fc->p.trans_b;
  expect_invalid(g, 1, "error: verify: node 'fc' (Gemm): shape inference fails on it now: "
                       "node 'fc' (Gemm): inner dimensions differ (8 vs 5)\n");
  graph_free(g);
}

static void test_output_shape_altered(void) {
  Graph *g = valid_graph();
  g->values[value_named(g, "y")].dims[1] = 6;
  expect_invalid(g, 1, "error: verify: node 'fc' (Gemm): output 'y' is float32[1,6], but "
                       "re-inference gives float32[1,5]\n");
  graph_free(g);
}

static void test_const_bytes_mismatch(void) {
  Graph *g = valid_graph();
  g->values[value_named(g, "W")].nbytes -= 4;
  expect_invalid(g, 1, "error: verify: constant 'W' holds 1148 bytes; its shape and layout "
                       "need 1152\n");
  graph_free(g);
}

/* A layout given to a constant without repacking it: the bytes are the
 * plain ones, the layout (blocks of 16 output channels) needs more. */
static void test_const_bytes_vs_layout(void) {
  Graph *g = valid_graph();
  g->values[value_named(g, "W")].layout = (Layout){LAYOUT_WCONV, 16, 1, 1};
  expect_invalid(g, 1, "error: verify: constant 'W' holds 1152 bytes; its shape and layout "
                       "need 2304\n");
  graph_free(g);
}

static void test_epilogue_on_non_conv(void) {
  Graph *g = valid_graph();
  node_named(g, "relu")->ep.act = OP_RELU;
  expect_invalid(g, 1, "error: verify: node 'relu' (Relu) has an epilogue; only Conv and Gemm "
                       "do\n");
  graph_free(g);
}

static void test_residual_wrong_shape(void) {
  Graph *g = valid_graph();
  const int64_t rd[4] = {1, 8, 4, 4};
  int skip = tu_input(g, "skip", 4, rd);
  node_named(g, "conv")->ep.residual = skip;
  expect_invalid(g, 1, "error: verify: node 'conv': residual 'skip' is float32[1,8,4,4]; the "
                       "output 'c' is float32[1,8,8,8]\n");
  graph_free(g);
}

static void test_residual_scale_not_constant(void) {
  Graph *g = valid_graph();
  const int64_t rd[4] = {1, 8, 8, 8}, sd[1] = {8};
  int skip = tu_input(g, "skip", 4, rd), scale = tu_input(g, "scale", 1, sd);
  Node *conv = node_named(g, "conv");
  conv->ep.residual = skip;
  conv->ep.residual_scale = scale;
  expect_invalid(g, 1, "error: verify: node 'conv': residual scale 'scale' is not a constant "
                       "[C]\n");
  graph_free(g);
}

static void test_residual_scale_wrong_length(void) {
  Graph *g = valid_graph();
  const int64_t rd[4] = {1, 8, 8, 8}, sd[1] = {4};
  int skip = tu_input(g, "skip", 4, rd), scale = tu_const(g, "scale", 1, sd, zeros);
  Node *conv = node_named(g, "conv");
  conv->ep.residual = skip;
  conv->ep.residual_scale = scale;
  expect_invalid(g, 1, "error: verify: node 'conv': residual scale 'scale' is not a constant "
                       "[C]\n");
  graph_free(g);
}

static void test_residual_scale_without_residual(void) {
  Graph *g = valid_graph();
  const int64_t sd[1] = {8};
  node_named(g, "conv")->ep.residual_scale = tu_const(g, "scale", 1, sd, zeros);
  expect_invalid(g, 1, "error: verify: node 'conv': a residual scale without a residual\n");
  graph_free(g);
}

static void test_epilogue_act_not_activation(void) {
  Graph *g = valid_graph();
  node_named(g, "conv")->ep.act = OP_ADD;
  expect_invalid(g, 1, "error: verify: node 'conv': epilogue activation Add is not an "
                       "activation\n");
  graph_free(g);
}

/* x -> Reorder "in16" -> Relu "relu16" -> Reorder "out" -> y, the middle in
 * NCHW16c: the smallest graph with layouts other than plain. */
static Graph *nchwc_graph(void) {
  Graph *g = graph_new();
  const int64_t xd[4] = {1, 8, 4, 4};
  int x = tu_input(g, "x", 4, xd);
  int x16 = named_node(g, "Reorder", 1, &x, "in16", "x16");
  node_named(g, "in16")->op = OP_REORDER; /* internal: not found by name */
  int r16 = named_node(g, "Relu", 1, &x16, "relu16", "r16");
  int y = named_node(g, "Reorder", 1, &r16, "out", "y");
  node_named(g, "out")->op = OP_REORDER;
  tu_output(g, y);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  sb_free(&d.log);
  g->values[value_named(g, "x16")].layout = (Layout){LAYOUT_NCHWC, 16, 0, 0};
  g->values[value_named(g, "r16")].layout = (Layout){LAYOUT_NCHWC, 16, 0, 0};
  return g;
}

static void test_valid_layouts_pass(void) {
  Graph *g = nchwc_graph();
  expect_valid(g);
  graph_free(g);
}

/* A Relu reading NCHW16c but writing plain. */
static void test_layout_mismatch(void) {
  Graph *g = nchwc_graph();
  g->values[value_named(g, "r16")].layout = (Layout){LAYOUT_PLAIN, 1, 0, 0};
  expect_invalid(g, 1, "error: verify: node 'relu16' (Relu): layouts: the node reads and "
                       "writes different layouts\n");
  graph_free(g);
}

static void test_output_never_computed(void) {
  Graph *g = valid_graph();
  const int64_t dims[2] = {1, 5};
  int ghost = graph_add_value(g, "ghost");
  value_set_shape(&g->values[ghost], DT_FLOAT, 2, dims);
  tu_output(g, ghost);
  expect_invalid(g, 1, "error: verify: graph output 'ghost' is never computed\n");
  graph_free(g);
}

static void test_unknown_op(void) {
  Graph *g = valid_graph();
  node_named(g, "relu")->op = OP_COUNT;
  expect_invalid(g, 1, "error: verify: node 'relu' has an unknown op Relu\n");
  graph_free(g);
}

static void test_input_and_constant(void) {
  Graph *g = valid_graph();
  Value *x = &g->values[value_named(g, "x")];
  value_set_data(x, arena_alloc(&g->arena, value_bytes(x)), value_bytes(x));
  expect_invalid(g, 1, "error: verify: 'x' is both a graph input and a constant\n");
  graph_free(g);
}

/* ops.def: one row per op, each name once; op_lookup finds each op a model
 * may name, at its own row, and never an internal one. */
static void test_op_table(void) {
  for (int i = 0; i < OP_COUNT; i++) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(op_table[i].name);
    for (int j = i + 1; j < OP_COUNT; j++)
      if (!strcmp(op_table[i].name, op_table[j].name)) {
        fprintf(stderr, "\nop %s appears twice in ops.def\n", op_table[i].name);
        CU_FAIL("duplicate op name");
      }
    OpKind want = op_table[i].flags & OPF_INTERNAL ? OP_COUNT : (OpKind)i;
    if (op_lookup(op_table[i].name, "") != want)
      fprintf(stderr, "\nop_lookup(%s) is wrong\n", op_table[i].name);
    CU_ASSERT_EQUAL(op_lookup(op_table[i].name, ""), want);
    CU_ASSERT_EQUAL(op_lookup(op_table[i].name, "ai.onnx"), want);
    CU_ASSERT_EQUAL(op_lookup(op_table[i].name, "com.microsoft"), OP_COUNT);
  }
  CU_ASSERT(op_table[OP_REORDER].flags & OPF_INTERNAL);
  CU_ASSERT_EQUAL(op_lookup("Reorder", ""), OP_COUNT);
  CU_ASSERT_EQUAL(op_lookup("Conv", ""), OP_CONV);
  CU_ASSERT_EQUAL(op_lookup("conv", ""), OP_COUNT); /* names are case-sensitive */
}

void add_verify_suite(void) {
  CU_pSuite s = CU_add_suite("verify", NULL, NULL);
  ADD(s, test_valid_graph_passes);
  ADD(s, test_valid_epilogue_passes);
  ADD(s, test_value_defined_twice);
  ADD(s, test_value_defined_by_two_nodes);
  ADD(s, test_read_before_definition);
  ADD(s, test_read_of_removed_value);
  ADD(s, test_too_many_inputs);
  ADD(s, test_too_few_inputs);
  ADD(s, test_too_many_outputs);
  ADD(s, test_required_input_missing);
  ADD(s, test_required_output_missing);
  ADD(s, test_conv_stride_changed);
  ADD(s, test_conv_group_changed);
  ADD(s, test_conv_kernel_param_changed);
  ADD(s, test_gemm_trans_b_flipped);
  ADD(s, test_output_shape_altered);
  ADD(s, test_const_bytes_mismatch);
  ADD(s, test_const_bytes_vs_layout);
  ADD(s, test_epilogue_on_non_conv);
  ADD(s, test_residual_wrong_shape);
  ADD(s, test_residual_scale_not_constant);
  ADD(s, test_residual_scale_wrong_length);
  ADD(s, test_residual_scale_without_residual);
  ADD(s, test_epilogue_act_not_activation);
  ADD(s, test_valid_layouts_pass);
  ADD(s, test_layout_mismatch);
  ADD(s, test_output_never_computed);
  ADD(s, test_unknown_op);
  ADD(s, test_input_and_constant);
  ADD(s, test_op_table);
}
