/*
 * test_frontend.c — the ONNX loader: every initializer storage form, old-IR
 * initializer inputs, Constant nodes, symbolic dims, and the errors a bad or
 * hostile file must produce (never a crash, never partial output).
 */
#include "onnx_builder.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const int64_t d4[4] = {1, 2, 3, 3};

/* x[1,2,3,3] -> Conv(W, B) -> y, with W and B stored as `form` says. */
static MB *conv_model(int form) {
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, d4);
  const int64_t wd[4] = {2, 2, 1, 1}, bd[1] = {2};
  const float w[4] = {1, 2, 3, 4}, b[2] = {0.5f, -0.5f};
  if (form == 0) {
    mb_init_raw(m, "W", 1, 4, wd, w, sizeof w);
    mb_init_raw(m, "B", 1, 1, bd, b, sizeof b);
  } else if (form == 1) {
    mb_init_floats(m, "W", 4, wd, w);
    mb_init_floats(m, "B", 1, bd, b);
  } else {
    FILE *f = fopen(tu_path("weights.bin"), "wb");
    fwrite("pad!", 1, 4, f);
    fwrite(w, 4, 4, f);
    fwrite(b, 4, 2, f);
    fclose(f);
    mb_init_external(m, "W", 4, wd, "weights.bin", 4);
    mb_init_external(m, "B", 1, bd, "weights.bin", 20);
  }
  const char *ins[3] = {"x", "W", "B"}, *outs[1] = {"y"};
  mb_node(m, "Conv", "conv", 3, ins, 1, outs);
  mb_output(m, "y");
  return m;
}

static void check_conv_model(const char *path) {
  Graph *g = graph_new();
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(onnx_load(g, path, &d));
  CU_ASSERT_FATAL(graph_infer(g, &d));
  CU_ASSERT_EQUAL(g->ninputs, 1);
  CU_ASSERT_EQUAL(g->nnodes, 1);
  float x[18];
  for (int i = 0; i < 18; i++)
    x[i] = (float)i;
  float *y = tu_interp(g, x);
  /* y[0,0] = 1*x[c0] + 2*x[c1] + 0.5; y[0,1] = 3*x[c0] + 4*x[c1] - 0.5 */
  for (int p = 0; p < 9; p++) {
    CU_ASSERT_DOUBLE_EQUAL(y[p], x[p] + 2 * x[9 + p] + 0.5, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(y[9 + p], 3 * x[p] + 4 * x[9 + p] - 0.5, 1e-5);
  }
  free(y);
  graph_free(g);
  sb_free(&d.log);
}

static void test_raw_data(void) {
  MB *m = conv_model(0);
  CU_ASSERT_FATAL(mb_write(m, tu_path("raw.onnx")));
  mb_free(m);
  check_conv_model(tu_path("raw.onnx"));
}

static void test_typed_fields(void) {
  MB *m = conv_model(1);
  CU_ASSERT_FATAL(mb_write(m, tu_path("typed.onnx")));
  mb_free(m);
  check_conv_model(tu_path("typed.onnx"));
}

static void test_external_data(void) {
  MB *m = conv_model(2);
  CU_ASSERT_FATAL(mb_write(m, tu_path("external.onnx")));
  mb_free(m);
  check_conv_model(tu_path("external.onnx"));
}

static void expect_load_error(const char *path, const char *needle) {
  Graph *g = graph_new();
  Diag d = {.quiet = true, .file = path};
  bool ok = onnx_load(g, path, &d) && graph_infer(g, &d);
  CU_ASSERT_FALSE(ok);
  CU_ASSERT_EQUAL(d.nerrors, 1); /* said once, no errors following from it */
  if (!tu_log_has(&d, needle))
    fprintf(stderr, "\nexpected '%s' in: %s\n", needle, d.log.buf ? d.log.buf : "");
  CU_ASSERT(tu_log_has(&d, needle));
  graph_free(g);
  sb_free(&d.log);
}

static void test_external_escape_refused(void) {
  const char *locs[] = {"../weights.bin", "/etc/passwd", "sub/../../x.bin"};
  for (int i = 0; i < 3; i++) {
    MB *m = mb_new(13);
    mb_input(m, "x", 1, 4, d4);
    const int64_t wd[4] = {2, 2, 1, 1};
    mb_init_external(m, "W", 4, wd, locs[i], 0);
    const char *ins[2] = {"x", "W"}, *outs[1] = {"y"};
    mb_node(m, "Conv", "conv", 2, ins, 1, outs);
    mb_output(m, "y");
    CU_ASSERT_FATAL(mb_write(m, tu_path("escape.onnx")));
    mb_free(m);
    expect_load_error(tu_path("escape.onnx"), "leaves the model's folder");
  }
}

static void test_external_short_file(void) {
  MB *m = conv_model(2);
  CU_ASSERT_FATAL(mb_write(m, tu_path("short.onnx")));
  mb_free(m);
  FILE *f = fopen(tu_path("weights.bin"), "wb"); /* too short now */
  fwrite("xx", 1, 2, f);
  fclose(f);
  expect_load_error(tu_path("short.onnx"), "external data");
}

static void test_initializer_as_input(void) {
  /* IR < 4 exports list initializers among the graph inputs. */
  MB *m = conv_model(0);
  const int64_t wd[4] = {2, 2, 1, 1}, bd[1] = {2};
  mb_input_for_initializer(m, "W", 4, wd);
  mb_input_for_initializer(m, "B", 1, bd);
  CU_ASSERT_FATAL(mb_write(m, tu_path("oldir.onnx")));
  mb_free(m);
  check_conv_model(tu_path("oldir.onnx"));
}

static void test_symbolic_dim(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {0, 4};
  mb_input_symbolic(m, "x", 2, dims, 0);
  const char *ins[1] = {"x"}, *outs[1] = {"y"};
  mb_node(m, "Relu", "r", 1, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("sym.onnx")));
  mb_free(m);
  Graph *g = graph_new();
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(onnx_load(g, tu_path("sym.onnx"), &d));
  /* The loader records the open dim and makes it 1; cd_load_model decides. */
  CU_ASSERT_EQUAL(d.nwarnings, 0);
  CU_ASSERT_EQUAL_FATAL(g->nsymdims, 1);
  CU_ASSERT_EQUAL(g->symdims[0].value, g->inputs[0]);
  CU_ASSERT_EQUAL(g->symdims[0].dim, 0);
  CU_ASSERT_STRING_EQUAL(g->symdims[0].param, "batch");
  CU_ASSERT_EQUAL(g->values[g->inputs[0]].dims[0], 1);
  graph_free(g);
  sb_free(&d.log);
  /* A symbolic batch compiles as 1, with a warning that names it. */
  CompileJob j = {.model = tu_path("sym.onnx"), .target = "scalar"};
  Diag d2 = {.quiet = true};
  g = cd_load_model(&j, NULL, NULL, &d2);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(d2.nwarnings, 1);
  CU_ASSERT(tu_log_has(&d2, "dim 0 ('batch'), the batch, is symbolic"));
  graph_free(g);
  sb_free(&d2.log);
}

/* A symbolic dim other than the batch is an error naming the input and the
 * dim, unless --shape fixes it; --shape cannot change a fixed dim. */
static void test_shape_option(void) {
  MB *m = mb_new(13);
  const int64_t dims[3] = {1, 4, 0};
  mb_input_symbolic(m, "x", 3, dims, 2);
  const char *ins[1] = {"x"}, *outs[1] = {"y"};
  mb_node(m, "Relu", "r", 1, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("symw.onnx")));
  mb_free(m);
  CompileJob j = {.model = tu_path("symw.onnx"), .target = "scalar"};
  Diag d = {.quiet = true};
  CU_ASSERT(cd_load_model(&j, NULL, NULL, &d) == NULL);
  CU_ASSERT(tu_log_has(&d, "graph input 'x': dim 2 ('batch') is symbolic"));
  CU_ASSERT(tu_log_has(&d, "--shape x=1,4,<batch>"));
  sb_free(&d.log);
  const char *good[1] = {"x=1,4,7"}, *fixed[1] = {"x=1,5,7"}, *rank[1] = {"x=1,4"},
             *none[1] = {"z=1,4,7"}, *bad[1] = {"x=1,4,0"};
  j.shapes = good;
  j.nshapes = 1;
  Diag d2 = {.quiet = true};
  Graph *g = cd_load_model(&j, NULL, NULL, &d2);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(d2.nwarnings + d2.nerrors, 0);
  CU_ASSERT_EQUAL(g->values[g->outputs[0]].dims[2], 7);
  CU_ASSERT(g->symdims[0].by_shape);
  graph_free(g);
  const char **wrong[4] = {fixed, rank, none, bad};
  const char *says[4] = {"dim 1 of input 'x' is 4 in the model, not 5", "has 3 dims, not 2",
                         "no input named 'z' (inputs: 'x')", "positive integers"};
  for (int i = 0; i < 4; i++) {
    Diag d3 = {.quiet = true};
    j.shapes = wrong[i];
    CU_ASSERT(cd_load_model(&j, NULL, NULL, &d3) == NULL);
    CU_ASSERT(tu_log_has(&d3, says[i]));
    sb_free(&d3.log);
  }
}

static void test_truncated_and_garbage(void) {
  MB *m = conv_model(0);
  CU_ASSERT_FATAL(mb_write(m, tu_path("whole.onnx")));
  mb_free(m);
  uint8_t *b;
  size_t n;
  CU_ASSERT_FATAL(cd_read_file(tu_path("whole.onnx"), &b, &n));
  for (size_t cut = 1; cut < n; cut += 7) {
    FILE *f = fopen(tu_path("cut.onnx"), "wb");
    fwrite(b, 1, cut, f);
    fclose(f);
    Graph *g = graph_new();
    Diag d = {.quiet = true, .file = "cut.onnx"};
    bool ok = onnx_load(g, tu_path("cut.onnx"), &d) && graph_infer(g, &d);
    CU_ASSERT_FALSE(ok); /* a truncated model never loads */
    CU_ASSERT(d.nerrors > 0);
    graph_free(g);
    sb_free(&d.log);
  }
  free(b);
  /* Random bytes, a fixed seed: the loader must fail cleanly each time. */
  uint32_t s = 12345;
  for (int trial = 0; trial < 200; trial++) {
    uint8_t junk[512];
    size_t len = 1 + (size_t)trial * 2;
    for (size_t i = 0; i < len; i++) {
      s = s * 1664525u + 1013904223u;
      junk[i] = (uint8_t)(s >> 24);
    }
    FILE *f = fopen(tu_path("junk.onnx"), "wb");
    fwrite(junk, 1, len, f);
    fclose(f);
    Graph *g = graph_new();
    Diag d = {.quiet = true};
    bool ok = onnx_load(g, tu_path("junk.onnx"), &d) && graph_infer(g, &d);
    CU_ASSERT_FALSE(ok);
    graph_free(g);
    sb_free(&d.log);
  }
  FILE *f = fopen(tu_path("empty.onnx"), "wb");
  fclose(f);
  expect_load_error(tu_path("empty.onnx"), "not an ONNX model");
  expect_load_error(tu_path("missing.onnx"), "cannot read");
}

static void test_unsupported_ops_all_reported(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {2, 2};
  mb_input(m, "x", 1, 2, dims);
  const char *i0[1] = {"x"}, *o0[1] = {"a"}, *i1[1] = {"a"}, *o1[1] = {"b"},
             *i2[1] = {"b"}, *o2[1] = {"c"};
  mb_node(m, "Acos", "acos_node", 1, i0, 1, o0);
  mb_node(m, "Relu", "relu", 1, i1, 1, o1);
  mb_node(m, "Celu", "celu_node", 1, i2, 1, o2);
  mb_output(m, "c");
  CU_ASSERT_FATAL(mb_write(m, tu_path("unsupported.onnx")));
  mb_free(m);
  Graph *g = graph_new();
  Diag d = {.quiet = true, .file = "unsupported.onnx"};
  CU_ASSERT_FALSE(onnx_load(g, tu_path("unsupported.onnx"), &d) && graph_infer(g, &d));
  /* one error, a line per op kind; Celu, after Acos, is listed too */
  CU_ASSERT_EQUAL(d.nerrors, 1);
  CU_ASSERT(tu_log_has(&d, "2 nodes cannot be compiled to static code:"));
  CU_ASSERT(tu_log_has(&d, "\n  Acos                  1 node   first 'acos_node' (opset 13): not "
                           "supported"));
  CU_ASSERT(tu_log_has(&d, "\n  Celu                  1 node   first 'celu_node' (opset 13): not "
                           "supported"));
  CU_ASSERT(tu_log_has(&d, "and 1 node after them"));
  CU_ASSERT_FALSE(tu_log_has(&d, "--outputs")); /* nothing before Acos to compile */
  graph_free(g);
  sb_free(&d.log);
}

static void test_missing_initializer(void) {
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, d4);
  const char *ins[2] = {"x", "W_missing"}, *outs[1] = {"y"};
  mb_node(m, "Conv", "conv", 2, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("noinit.onnx")));
  mb_free(m);
  expect_load_error(tu_path("noinit.onnx"), "reads 'W_missing', which nothing defines");
}

/* The model at path is refused with exactly one error, one line: the file,
 * then `msg`. */
static void expect_exact_error(const char *path, const char *msg) {
  Graph *g = graph_new();
  Diag d = {.quiet = true, .file = path};
  CU_ASSERT_FALSE(onnx_load(g, path, &d) && graph_infer(g, &d));
  CU_ASSERT_EQUAL(d.nerrors, 1);
  char want[1024];
  snprintf(want, sizeof want, "%s: error: %s\n", path, msg);
  bool same = d.log.buf && !strcmp(d.log.buf, want);
  if (!same)
    fprintf(stderr, "\nexpected: %sgot:      %s", want, d.log.buf ? d.log.buf : "(nothing)\n");
  CU_ASSERT(same);
  graph_free(g);
  sb_free(&d.log);
}

/* ONNX is SSA: each of these defines one name twice, and is refused with
 * both definers named. */
static void test_two_nodes_write_one_value(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {2, 2};
  mb_input(m, "x", 1, 2, dims);
  const char *ins[1] = {"x"}, *outs[1] = {"y"};
  mb_node(m, "Relu", "first", 1, ins, 1, outs);
  mb_node(m, "Sigmoid", "second", 1, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("twice.onnx")));
  mb_free(m);
  expect_exact_error(tu_path("twice.onnx"),
                     "'y' is defined twice (by node 'first' and by node 'second'): every "
                     "value of an ONNX graph has one definition");
}

static void test_node_output_is_initializer(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {2, 2};
  const float w[4] = {1, 2, 3, 4};
  mb_input(m, "x", 1, 2, dims);
  mb_init_floats(m, "W", 2, dims, w);
  const char *ins[2] = {"x", "W"}, *outs[1] = {"W"};
  mb_node(m, "Add", "add", 2, ins, 1, outs);
  mb_output(m, "W");
  CU_ASSERT_FATAL(mb_write(m, tu_path("init_twice.onnx")));
  mb_free(m);
  expect_exact_error(tu_path("init_twice.onnx"),
                     "'W' is defined twice (by an initializer and by node 'add'): every "
                     "value of an ONNX graph has one definition");
}

static void test_node_output_is_graph_input(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {2, 2};
  mb_input(m, "x", 1, 2, dims);
  const char *ins[1] = {"x"}, *outs[1] = {"x"};
  mb_node(m, "Relu", "relu", 1, ins, 1, outs);
  mb_output(m, "x");
  CU_ASSERT_FATAL(mb_write(m, tu_path("input_twice.onnx")));
  mb_free(m);
  expect_exact_error(tu_path("input_twice.onnx"),
                     "'x' is defined twice (by a graph input and by node 'relu'): every "
                     "value of an ONNX graph has one definition");
}

static void test_two_graph_inputs_one_name(void) {
  MB *m = mb_new(13);
  const int64_t a[2] = {2, 2}, b[2] = {3, 3};
  mb_input(m, "x", 1, 2, a);
  mb_input(m, "x", 1, 2, b);
  const char *ins[1] = {"x"}, *outs[1] = {"y"};
  mb_node(m, "Relu", "relu", 1, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("inputs_twice.onnx")));
  mb_free(m);
  expect_exact_error(tu_path("inputs_twice.onnx"),
                     "'x' is defined twice (by a graph input and by another graph input): "
                     "every value of an ONNX graph has one definition");
}

static void test_two_initializers_one_name(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {2, 2};
  const float w[4] = {1, 2, 3, 4};
  mb_input(m, "x", 1, 2, dims);
  mb_init_floats(m, "W", 2, dims, w);
  mb_init_floats(m, "W", 2, dims, w);
  const char *ins[2] = {"x", "W"}, *outs[1] = {"y"};
  mb_node(m, "Add", "add", 2, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("inits_twice.onnx")));
  mb_free(m);
  expect_exact_error(tu_path("inits_twice.onnx"),
                     "'W' is defined twice (by an initializer and by another initializer): "
                     "every value of an ONNX graph has one definition");
}

/* A node reading what a later node writes: out of order (ONNX requires
 * topological order), and a node reading its own output: a cycle. */
static void test_nodes_out_of_order(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {2, 2};
  mb_input(m, "x", 1, 2, dims);
  const char *i0[1] = {"a"}, *o0[1] = {"y"}, *i1[1] = {"x"}, *o1[1] = {"a"};
  mb_node(m, "Relu", "second", 1, i0, 1, o0);
  mb_node(m, "Sigmoid", "first", 1, i1, 1, o1);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("order.onnx")));
  mb_free(m);
  expect_exact_error(tu_path("order.onnx"),
                     "node 'second' (Relu) reads 'a' before the node that writes it: the "
                     "graph has a cycle or is not in topological order");
  m = mb_new(13);
  mb_input(m, "x", 1, 2, dims);
  const char *i2[2] = {"x", "loop"}, *o2[1] = {"loop"};
  mb_node(m, "Add", "self", 2, i2, 1, o2);
  mb_output(m, "loop");
  CU_ASSERT_FATAL(mb_write(m, tu_path("cycle.onnx")));
  mb_free(m);
  expect_exact_error(tu_path("cycle.onnx"),
                     "node 'self' (Add) reads 'loop' before the node that writes it: the "
                     "graph has a cycle or is not in topological order");
}

/* An empty name for a required output: refused, not written through
 * value -1. */
static void test_required_output_unnamed(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {2, 2};
  mb_input(m, "x", 1, 2, dims);
  const char *ins[1] = {"x"}, *o0[1] = {""}, *o1[1] = {"y"};
  mb_node(m, "Relu", "relu", 1, ins, 1, o0);
  mb_node(m, "Sigmoid", "sig", 1, ins, 1, o1);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("noout.onnx")));
  mb_free(m);
  expect_exact_error(tu_path("noout.onnx"), "node 'relu' (Relu): required output 0 is missing");
}

static void test_inconsistent_shapes(void) {
  MB *m = mb_new(13);
  const int64_t a[2] = {2, 3}, b[1] = {4};
  mb_input(m, "a", 1, 2, a);
  mb_input(m, "b", 1, 1, b);
  const char *ins[2] = {"a", "b"}, *outs[1] = {"y"};
  mb_node(m, "Add", "add_bad", 2, ins, 1, outs);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("badshape.onnx")));
  mb_free(m);
  expect_load_error(tu_path("badshape.onnx"), "'add_bad' (Add): shapes cannot broadcast");
}

static void test_no_partial_output(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {2, 2};
  mb_input(m, "x", 1, 2, dims);
  const char *i0[1] = {"x"}, *o0[1] = {"y"};
  mb_node(m, "Acos", "acos", 1, i0, 1, o0);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("bad.onnx")));
  mb_free(m);
  const char *out = tu_path("never_created");
  CompileJob j = {.model = tu_path("bad.onnx"), .out_dir = out, .name = "net"};
  Diag d = {.quiet = true};
  CU_ASSERT_FALSE(cd_compile(&j, NULL, &d));
  struct stat st;
  CU_ASSERT_NOT_EQUAL(stat(out, &st), 0);
  sb_free(&d.log);
}

static void test_tensor_files(void) {
  const int64_t dims[3] = {2, 1, 3};
  const float data[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
  CU_ASSERT_FATAL(tensor_write_npy(tu_path("t.npy"), data, 3, dims));
  HostTensor t;
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(tensor_read(tu_path("t.npy"), &t, &d));
  CU_ASSERT_EQUAL(t.rank, 3);
  CU_ASSERT_EQUAL(t.dims[2], 3);
  CU_ASSERT_EQUAL(memcmp(t.data, data, sizeof data), 0);
  tensor_free(&t);
  FILE *f = fopen(tu_path("bad.npy"), "wb");
  fwrite("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'", 1, 26, f);
  fclose(f);
  CU_ASSERT_FALSE(tensor_read(tu_path("bad.npy"), &t, &d));
  sb_free(&d.log);
}

void add_frontend_suite(void) {
  CU_pSuite s = CU_add_suite("frontend", NULL, NULL);
  ADD(s, test_raw_data);
  ADD(s, test_typed_fields);
  ADD(s, test_external_data);
  ADD(s, test_external_escape_refused);
  ADD(s, test_external_short_file);
  ADD(s, test_initializer_as_input);
  ADD(s, test_symbolic_dim);
  ADD(s, test_shape_option);
  ADD(s, test_truncated_and_garbage);
  ADD(s, test_unsupported_ops_all_reported);
  ADD(s, test_missing_initializer);
  ADD(s, test_two_nodes_write_one_value);
  ADD(s, test_node_output_is_initializer);
  ADD(s, test_node_output_is_graph_input);
  ADD(s, test_two_graph_inputs_one_name);
  ADD(s, test_two_initializers_one_name);
  ADD(s, test_nodes_out_of_order);
  ADD(s, test_required_output_unnamed);
  ADD(s, test_inconsistent_shapes);
  ADD(s, test_no_partial_output);
  ADD(s, test_tensor_files);
}
