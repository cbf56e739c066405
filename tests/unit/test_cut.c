/*
 * test_cut.c — cutting a graph (--outputs, CompileJob.output_names) and the
 * report on a model static code cannot compile: the cut graph holds only
 * what the named tensors need and computes what the full graph computed
 * there; a bad name is an error that says which and why; nodes whose
 * output depends on the data (NonZero, TopK with a computed k) are one
 * report, a line per op kind, that names the --outputs to give.
 */
#include "onnx_builder.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static const int64_t xdims[4] = {1, 2, 4, 4};

/* x[1,2,4,4] -> Conv(w, pad 1) -> conv_out -> Relu -> relu_out -> Mul(k) ->
 * mul_out -> Sigmoid -> y, and Acos(mul_out) -> z (an op Cardinal does not
 * know); when `tap`, no Acos, and relu_out a graph output instead of z. */
static void write_chain(const char *path, bool tap) {
  MB *m = mb_new(13);
  mb_input(m, "x", 1, 4, xdims);
  const int64_t wd[4] = {3, 2, 3, 3}, kd[1] = {1};
  float w[54], k[1] = {0.75f};
  for (int i = 0; i < 54; i++)
    w[i] = (float)((i * 37) % 11 - 5) / 8.0f;
  mb_init_floats(m, "w", 4, wd, w);
  mb_init_floats(m, "k", 1, kd, k);
  const char *c_in[2] = {"x", "w"}, *c_out[1] = {"conv_out"};
  Onnx__NodeProto *c = mb_node(m, "Conv", "conv", 2, c_in, 1, c_out);
  const int64_t pads[4] = {1, 1, 1, 1};
  mb_attr_ints(c, "pads", 4, pads);
  const char *r_in[1] = {"conv_out"}, *r_out[1] = {"relu_out"};
  mb_node(m, "Relu", "relu", 1, r_in, 1, r_out);
  const char *m_in[2] = {"relu_out", "k"}, *m_out[1] = {"mul_out"};
  mb_node(m, "Mul", "mul", 2, m_in, 1, m_out);
  const char *s_in[1] = {"mul_out"}, *s_out[1] = {"y"};
  mb_node(m, "Sigmoid", "sigmoid", 1, s_in, 1, s_out);
  const char *a_out[1] = {"z"};
  if (!tap) /* (an unused Acos still stops a model: inference sees every node) */
    mb_node(m, "Acos", "acos", 1, s_in, 1, a_out);
  mb_output(m, "y");
  mb_output(m, tap ? "relu_out" : "z");
  CU_ASSERT_FATAL(mb_write(m, path));
  mb_free(m);
}

static void write_detector(const char *path);

static Graph *load_cut(const char *path, int n, const char **names, Diag *d) {
  CompileJob j = {.model = path, .target = "scalar", .passes = "none", .output_names = names,
                  .noutput_names = n};
  return cd_load_model(&j, NULL, NULL, d);
}

static int count_op(const Graph *g, OpKind op) {
  int n = 0;
  for (int i = 0; i < g->nnodes; i++)
    n += !g->nodes[i].dead && g->nodes[i].op == op;
  return n;
}

/* The cut at relu_out: only Conv and Relu are left, relu_out is the one
 * output, and the interpreter's value of it is the full graph's. */
static void test_cut_keeps_what_outputs_need(void) {
  write_chain(tu_path("chain.onnx"), false);
  write_chain(tu_path("chain_tap.onnx"), true);
  /* Without a cut, the Acos branch stops the model. */
  Diag d0 = {.quiet = true};
  CU_ASSERT(load_cut(tu_path("chain.onnx"), 0, NULL, &d0) == NULL);
  CU_ASSERT(tu_log_has(&d0, "Acos"));
  sb_free(&d0.log);

  const char *names[1] = {"relu_out"};
  Diag d = {.quiet = true};
  Graph *g = load_cut(tu_path("chain.onnx"), 1, names, &d);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(d.nerrors, 0);
  CU_ASSERT_EQUAL(g->nnodes, 2);
  CU_ASSERT_EQUAL(count_op(g, OP_CONV), 1);
  CU_ASSERT_EQUAL(count_op(g, OP_RELU), 1);
  CU_ASSERT_EQUAL_FATAL(g->noutputs, 1);
  CU_ASSERT_STRING_EQUAL(g->values[g->outputs[0]].name, "relu_out");
  CU_ASSERT(g->values[g->outputs[0]].is_output);
  CU_ASSERT_FALSE(g->values[graph_find_value(g, "y")].is_output);
  CU_ASSERT_EQUAL(g->ninputs, 1);
  CU_ASSERT(ir_verify(g, &d));

  Diag df = {.quiet = true};
  Graph *full = load_cut(tu_path("chain_tap.onnx"), 0, NULL, &df);
  CU_ASSERT_FATAL(full != NULL);
  CU_ASSERT_EQUAL_FATAL(full->noutputs, 2);
  CU_ASSERT_EQUAL(full->nnodes, 4);
  float x[32];
  for (int i = 0; i < 32; i++)
    x[i] = (float)((i * 13) % 7) - 3.0f;
  float *outs[2] = {0};
  const float *ins[1] = {x};
  CU_ASSERT_FATAL(interp_run(full, ins, outs, &df));
  float *cut = tu_interp(g, x);
  int zeros = 0;
  for (int i = 0; i < 3 * 16; i++) {
    CU_ASSERT_EQUAL(cut[i], outs[1][i]); /* the same arithmetic: bit-identical */
    zeros += outs[1][i] == 0;
  }
  CU_ASSERT(zeros > 0 && zeros < 48); /* the Relu did something, not everything */
  free(cut);
  free(outs[0]);
  free(outs[1]);
  graph_free(full);
  graph_free(g);

  /* Two outputs, in the order named, by one list or two options. */
  const char *one[1] = {"y,conv_out"}, *two[2] = {"y", "conv_out"};
  for (int t = 0; t < 2; t++) {
    Diag d2 = {.quiet = true};
    g = load_cut(tu_path("chain.onnx"), t ? 2 : 1, t ? two : one, &d2);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT_EQUAL_FATAL(g->noutputs, 2);
    CU_ASSERT_STRING_EQUAL(g->values[g->outputs[0]].name, "y");
    CU_ASSERT_STRING_EQUAL(g->values[g->outputs[1]].name, "conv_out");
    CU_ASSERT_EQUAL(g->nnodes, 4); /* Acos is gone */
    CU_ASSERT_EQUAL(count_op(g, OP_SIGMOID), 1);
    graph_free(g);
    sb_free(&d2.log);
  }
  sb_free(&d.log);
  sb_free(&df.log);
}

/* A name the model does not have, a graph input, a constant, a name given
 * twice, an empty one: each an error naming it and saying why. */
static void test_cut_bad_names(void) {
  write_chain(tu_path("chain.onnx"), false);
  const char *cases[][2] = {
      {"relu_ot", "no tensor named 'relu_ot'; did you mean 'relu_out'?"},
      {"qqqqqqqq", "no tensor named 'qqqqqqqq' (the names are those of the model's node"},
      {"x", "'x' is a graph input, not a tensor a node computes"},
      {"w", "'w' is a constant (an initializer"},
      {"y,relu_out,y", "'y' is named twice"},
      {"y,", "an empty name"},
  };
  /* and an int64 tensor (detector.onnx, below): an output passed as float
   * values, as a model's own int64 outputs are (ArgMax's) */
  write_detector(tu_path("detector_k.onnx"));
  const char *k[1] = {"k"};
  Diag dk = {.quiet = true};
  Graph *gk = load_cut(tu_path("detector_k.onnx"), 1, k, &dk);
  CU_ASSERT_FATAL(gk != NULL);
  CU_ASSERT_EQUAL(gk->values[gk->outputs[0]].dtype, DT_INT64);
  graph_free(gk);
  sb_free(&dk.log);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Diag d = {.quiet = true};
    const char *names[1] = {cases[i][0]};
    CU_ASSERT(load_cut(tu_path("chain.onnx"), 1, names, &d) == NULL);
    CU_ASSERT_EQUAL(d.nerrors, 1);
    if (!tu_log_has(&d, cases[i][1]))
      fprintf(stderr, "\n--outputs %s: expected \"%s\" in:\n%s", cases[i][0], cases[i][1],
              d.log.buf ? d.log.buf : "");
    CU_ASSERT(tu_log_has(&d, cases[i][1]));
    sb_free(&d.log);
  }
}

/*
 * x[2,3] -> Relu -> feat -> Exp -> score;  NonZero(feat) -> nz;
 * k = Reshape(Cast(ReduceMax(score)), [1]) (computed at run time);
 * TopK(score, k) -> vals, idx;  TopK(feat, [1]) -> top1 (a constant k).
 */
static void write_detector(const char *path) {
  MB *m = mb_new(13);
  const int64_t xd[2] = {2, 3}, one[1] = {1};
  mb_input(m, "x", 1, 2, xd);
  const int64_t shape1[1] = {1}, kc[1] = {1};
  mb_init_int64s(m, "shape1", 1, one, shape1);
  mb_init_int64s(m, "kc", 1, one, kc);
  const char *r_in[1] = {"x"}, *r_out[1] = {"feat"};
  mb_node(m, "Relu", "relu", 1, r_in, 1, r_out);
  const char *e_in[1] = {"feat"}, *e_out[1] = {"score"};
  mb_node(m, "Exp", "exp", 1, e_in, 1, e_out);
  const char *nz_out[1] = {"nz"};
  mb_node(m, "NonZero", "nonzero", 1, e_in, 1, nz_out);
  const char *mx_in[1] = {"score"}, *mx_out[1] = {"mx"};
  Onnx__NodeProto *mx = mb_node(m, "ReduceMax", "max", 1, mx_in, 1, mx_out);
  mb_attr_int(mx, "keepdims", 0);
  const char *c_in[1] = {"mx"}, *c_out[1] = {"mx64"};
  Onnx__NodeProto *c = mb_node(m, "Cast", "cast", 1, c_in, 1, c_out);
  mb_attr_int(c, "to", 7);
  const char *rs_in[2] = {"mx64", "shape1"}, *rs_out[1] = {"k"};
  mb_node(m, "Reshape", "reshape", 2, rs_in, 1, rs_out);
  const char *t_in[2] = {"score", "k"}, *t_out[2] = {"vals", "idx"};
  mb_node(m, "TopK", "topk_dyn", 2, t_in, 2, t_out);
  const char *tc_in[2] = {"feat", "kc"}, *tc_out[2] = {"top1", "top1_idx"};
  mb_node(m, "TopK", "topk_const", 2, tc_in, 2, tc_out);
  const char *a_in[1] = {"vals"}, *a_out[1] = {"after"};
  mb_node(m, "Relu", "relu_after", 1, a_in, 1, a_out);
  mb_output(m, "nz");
  mb_output(m, "after");
  mb_output(m, "top1");
  CU_ASSERT_FATAL(mb_write(m, path));
  mb_free(m);
}

/* One error: a line per op kind (count, first node, why), the nodes after
 * them, and the --outputs that compiles the part before them. */
static void test_data_dependent_report(void) {
  write_detector(tu_path("detector.onnx"));
  Diag d = {.quiet = true, .file = "detector.onnx"};
  CU_ASSERT(load_cut(tu_path("detector.onnx"), 0, NULL, &d) == NULL);
  CU_ASSERT_EQUAL(d.nerrors, 1);
  CU_ASSERT(tu_log_has(&d, "3 nodes cannot be compiled to static code"));
  CU_ASSERT(tu_log_has(&d, "NonZero               1 node   first 'nonzero' (opset 13): the "
                           "size of its output depends on the data"));
  CU_ASSERT(tu_log_has(&d, "TopK                  1 node   first 'topk_dyn' (opset 13): k is "
                           "computed at run time"));
  CU_ASSERT(tu_log_has(&d, "TopK                  1 node   first 'topk_const' (opset 13): not "
                           "supported"));
  CU_ASSERT(tu_log_has(&d, "and 1 node after them"));
  /* k is int64, which reaches the caller only as floats: the float max it
   * is cast from instead */
  CU_ASSERT(tu_log_has(&d, "\n  --outputs feat,score,mx\n"));
  int lines = 0;
  for (const char *p = d.log.buf; p && *p; p++)
    lines += *p == '\n';
  CU_ASSERT(lines <= 8);
  sb_free(&d.log);

  /* The suggestion works: cut there, the model compiles. */
  const char *names[1] = {"feat,score,mx"};
  Diag d2 = {.quiet = true};
  Graph *g = load_cut(tu_path("detector.onnx"), 1, names, &d2);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(g->noutputs, 3);
  graph_free(g);
  sb_free(&d2.log);
}

/* Many tensors read by data-dependent nodes, all computed from one: the
 * suggestion is that one, not the list. */
static void test_data_dependent_merged(void) {
  MB *m = mb_new(13);
  const int64_t xd[2] = {2, 3}, one[1] = {1};
  mb_input(m, "x", 1, 2, xd);
  const char *r_in[1] = {"x"}, *r_out[1] = {"scores"};
  mb_node(m, "Sigmoid", "sigmoid", 1, r_in, 1, r_out);
  for (int i = 0; i < 6; i++) {
    char c[16], mo[16], nz[16], nn[16], mn[16];
    snprintf(c, sizeof c, "c%d", i);
    snprintf(mo, sizeof mo, "class%d", i);
    snprintf(nz, sizeof nz, "nz%d", i);
    snprintf(nn, sizeof nn, "nonzero%d", i);
    snprintf(mn, sizeof mn, "mul%d", i);
    float cv[1] = {(float)i};
    mb_init_floats(m, c, 1, one, cv);
    const char *m_in[2] = {"scores", c}, *m_out[1] = {mo};
    mb_node(m, "Mul", mn, 2, m_in, 1, m_out);
    const char *n_in[1] = {mo}, *n_out[1] = {nz};
    mb_node(m, "NonZero", nn, 1, n_in, 1, n_out);
    mb_output(m, nz);
  }
  CU_ASSERT_FATAL(mb_write(m, tu_path("perclass.onnx")));
  mb_free(m);
  Diag d = {.quiet = true};
  CU_ASSERT(load_cut(tu_path("perclass.onnx"), 0, NULL, &d) == NULL);
  CU_ASSERT(tu_log_has(&d, "NonZero               6 nodes  first 'nonzero0'"));
  CU_ASSERT(tu_log_has(&d, "\n  --outputs scores\n"));
  sb_free(&d.log);
}

void add_cut_suite(void) {
  CU_pSuite s = CU_add_suite("cut", NULL, NULL);
  ADD(s, test_cut_keeps_what_outputs_need);
  ADD(s, test_cut_bad_names);
  ADD(s, test_data_dependent_report);
  ADD(s, test_data_dependent_merged);
}
