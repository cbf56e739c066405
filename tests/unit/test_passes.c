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
  int order[CD_MAX_PASSES], np;
  CU_ASSERT_FATAL(passes_parse(passes, order, &np, &d));
  PassStats st[CD_MAX_PASSES];
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

/* run_and_compare for graphs of several inputs and outputs: every output
 * within 1e-5 of its magnitude (a NaN anywhere fails). */
static void run_and_compare_all(Graph *g, const char *passes) {
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  float *ins[8] = {0}, *before[8] = {0}, *after[8] = {0};
  CU_ASSERT_FATAL(g->ninputs <= 8 && g->noutputs <= 8);
  for (int k = 0; k < g->ninputs; k++) {
    int64_t n = value_numel(&g->values[g->inputs[k]]);
    ins[k] = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
      ins[k][i] = rnd() * 4;
  }
  CU_ASSERT_FATAL(interp_run(g, (const float *const *)ins, before, &d));
  int order[CD_MAX_PASSES], np;
  CU_ASSERT_FATAL(passes_parse(passes, order, &np, &d));
  PassStats st[CD_MAX_PASSES];
  CU_ASSERT_FATAL(passes_run(g, order, np, st, true, NULL, NULL, &d));
  CU_ASSERT_FATAL(interp_run(g, (const float *const *)ins, after, &d));
  for (int k = 0; k < g->noutputs; k++) {
    double err = 0, mag = 0;
    for (int64_t i = 0; i < value_numel(&g->values[g->outputs[k]]); i++) {
      double e = fabs((double)after[k][i] - before[k][i]);
      err = e != e || e > err ? e : err;
      mag = fmax(mag, fabs((double)before[k][i]));
    }
    CU_ASSERT(mag > 0 && err <= 1e-5 * mag);
    if (!(err <= 1e-5 * mag))
      fprintf(stderr, "\n%s, output %d: error %g of magnitude %g\n", passes, k, err, mag);
    free(before[k]);
    free(after[k]);
  }
  for (int k = 0; k < g->ninputs; k++)
    free(ins[k]);
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

/* bn-to-conv: a BN that folds nowhere (DenseNet's BN -> ReLU -> Conv)
 * becomes a depthwise 1x1 Conv (weights a, bias t, in the BN's place, the
 * ReLU then in its epilogue); ranks 3 to 5, so a BN of [N, C] stays. */
static void test_bn_to_conv(void) {
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int b = bn(g, x, 8);
  int r = tu_node(g, "Relu", 1, &b, NULL);
  tu_output(g, conv(g, r, 8, 4, 3, 1, true));
  run_and_compare(g, "default");
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 0);
  CU_ASSERT_EQUAL(count(g, OP_RELU), 0);
  CU_ASSERT_EQUAL(count(g, OP_CONV), 2);
  const Node *dw = find(g, OP_CONV);
  CU_ASSERT_FATAL(dw != NULL);
  CU_ASSERT(dw->in[0] == x && dw->p.group == 8 && dw->p.kernel[1] == 1 && dw->p.kernel[2] == 1);
  CU_ASSERT_EQUAL(dw->ep.act, OP_RELU);
  CU_ASSERT_EQUAL(g->values[dw->in[1]].dims[0], 8);
  CU_ASSERT_EQUAL(g->values[dw->in[1]].dims[1], 1);
  graph_free(g);
  const int64_t v2[2] = {3, 8};
  g = graph_new();
  x = tu_input(g, "x", 2, v2);
  tu_output(g, bn(g, x, 8));
  run_and_compare(g, "bn-to-conv");
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 1);
  graph_free(g);
}

/* convtranspose-to-conv: a ConvTranspose whose kernel is its stride (2x2
 * stride 2, 3x3 stride 3, with and without a bias) becomes a 1x1 Conv and
 * a DepthToSpace; a 3x3 of stride 2 with pads (overlapping windows) and a
 * grouped one stay. */
static void test_convtranspose_to_conv(void) {
  static const struct {
    int64_t k, s, pad, group;
    bool bias, lowered;
  } cs[] = {{2, 2, 0, 1, true, true}, {3, 3, 0, 1, false, true}, {3, 2, 1, 1, true, false},
            {2, 2, 0, 2, true, false}};
  for (int c = 0; c < 4; c++) {
    Graph *g = graph_new();
    const int64_t xd[4] = {2, 6, 5, 7}, wd[4] = {6, 4 / cs[c].group, cs[c].k, cs[c].k},
                  bd[1] = {4}, st[2] = {cs[c].s, cs[c].s},
                  pads[4] = {cs[c].pad, cs[c].pad, cs[c].pad, cs[c].pad};
    int ins[3] = {tu_input(g, "x", 4, xd), rconst(g, 4, wd, 0), cs[c].bias ? rconst(g, 1, bd, 0) : -1};
    Node *n;
    tu_output(g, tu_node(g, "ConvTranspose", cs[c].bias ? 3 : 2, ins, &n));
    tu_attr_ints(g, n, "strides", 2, st);
    tu_attr_ints(g, n, "pads", 4, pads);
    tu_attr_int(g, n, "group", cs[c].group);
    run_and_compare(g, "convtranspose-to-conv");
    CU_ASSERT_EQUAL(count(g, OP_CONVTRANSPOSE), !cs[c].lowered);
    CU_ASSERT_EQUAL(count(g, OP_CONV), cs[c].lowered);
    CU_ASSERT_EQUAL(count(g, OP_DEPTHTOSPACE), cs[c].lowered);
    if (cs[c].lowered) {
      const Node *d2s = find(g, OP_DEPTHTOSPACE), *cv = find(g, OP_CONV);
      CU_ASSERT(d2s->p.blocksize == cs[c].k && !d2s->p.crd && d2s->in[0] == cv->out[0]);
      CU_ASSERT_EQUAL(g->values[cv->in[1]].dims[0], 4 * cs[c].k * cs[c].k);
    }
    graph_free(g);
  }
}

/* Pad(x, pads) with constant pads (int64) and value (NULL: none given). */
static int pad(Graph *g, int x, const int64_t *pads, const float *value) {
  const int64_t pd[1] = {8}, one[1] = {1};
  int ins[3] = {x, graph_add_typed_const(g, "", DT_INT64, 1, pd, pads),
                value ? tu_const(g, "", 1, one, value) : -1};
  return tu_node(g, "Pad", value ? 3 : 2, ins, NULL);
}

/* fold-pad: a Pad of nothing goes; a Pad of zeros on H and W goes into the
 * padding of the Conv or AveragePool reading it (which then counts the
 * pads); a Pad of another value, one before a MaxPool, and one before an
 * AveragePool that excludes its own padding from the count all stay. */
static void test_fold_pad(void) {
  static const int64_t none[8] = {0}, hw[8] = {0, 0, 1, 2, 0, 0, 2, 1},
                       chan[8] = {0, 1, 0, 0, 0, 0, 0, 0};
  const float zero = 0.0f, one = 1.0f;
  for (int c = 0; c < 7; c++) {
    Graph *g = graph_new();
    int x = tu_input(g, "x", 4, X4);
    int p = pad(g, x, c == 0 ? none : c == 5 ? chan : hw, c == 3 ? &one : c == 1 ? &zero : NULL);
    int y;
    Node *q;
    if (c == 0 || c == 1 || c == 5)
      y = conv(g, p, c == 5 ? 9 : 8, 4, 3, 1, true);
    else {
      y = tu_node(g, c == 4 ? "MaxPool" : "AveragePool", 1, &p, &q);
      const int64_t k[2] = {3, 3}, own[4] = {1, 1, 1, 1};
      tu_attr_ints(g, q, "kernel_shape", 2, k);
      if (c == 6)
        tu_attr_ints(g, q, "pads", 4, own); /* count_include_pad 0 */
    }
    tu_output(g, y);
    run_and_compare(g, "fold-pad");
    /* folded: 0 (none), 1 (conv), 2 (avgpool); kept: 3 (value 1), 4
     * (MaxPool), 5 (channels padded), 6 (its own pads excluded) */
    CU_ASSERT_EQUAL(count(g, OP_PAD), c >= 3);
    if (c == 1)
      CU_ASSERT(find(g, OP_CONV)->p.pad0[1] == 2 && find(g, OP_CONV)->p.pad1[2] == 2);
    if (c == 2)
      CU_ASSERT(find(g, OP_AVGPOOL)->p.count_include_pad && find(g, OP_AVGPOOL)->in[0] == x);
    graph_free(g);
  }
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

/*
 * Form (a) as people write it.  A block is C paths conv1x1 (8 -> 2) [-> BN]
 * -> relu -> conv3x3 [-> BN] -> relu -> conv1x1 (2 -> 8) [-> BN] from x,
 * summed in some association, [-> BN], with the shortcut x added after the
 * sum or as one of its terms, -> relu.  After the default passes it must be
 * form (c): three convs and nothing else, the middle one grouped C ways, the
 * last one carrying the residual and the ReLU.
 */
typedef enum { SUM_LEFT, SUM_RIGHT, SUM_BALANCED, SUM_OP } Assoc;
enum { SC_NONE, SC_AFTER, SC_INSIDE };

typedef struct {
  const char *label;  /* printed when the block does not become form (c) */
  Assoc assoc;        /* ((p0 + p1) + p2) ..., p0 + (p1 + ...), a balanced tree, one Sum */
  int zero;           /* the sum starts from 0: 1 zeros_like(x), 2 a [1] zero initializer */
  bool bn_paths;      /* a BatchNorm after every conv of a path */
  bool bias;          /* the paths' convs have biases */
  bool bn_after;      /* a BatchNorm after the sum */
  int shortcut;       /* SC_NONE, SC_AFTER (after the sum and its BN), SC_INSIDE (2nd term) */
  const int *order;   /* the order the paths are summed in; NULL for creation order */
  int card;           /* C, 4 unless given */
} BlockSpec;

static int block_path(Graph *g, int x, const BlockSpec *s) {
  int h = conv(g, x, 8, 2, 1, 1, s->bias);
  h = s->bn_paths ? bn(g, h, 2) : h;
  h = tu_node(g, "Relu", 1, &h, NULL);
  h = conv(g, h, 2, 2, 3, 1, s->bias);
  h = s->bn_paths ? bn(g, h, 2) : h;
  h = tu_node(g, "Relu", 1, &h, NULL);
  h = conv(g, h, 2, 8, 1, 1, s->bias);
  return s->bn_paths ? bn(g, h, 8) : h;
}

static int sum_terms(Graph *g, Assoc a, const int *t, int n) {
  if (n == 1)
    return t[0];
  if (a == SUM_OP)
    return tu_node(g, "Sum", n, t, NULL);
  int ins[2];
  if (a == SUM_LEFT) {
    ins[0] = sum_terms(g, a, t, n - 1);
    ins[1] = t[n - 1];
  } else if (a == SUM_RIGHT) {
    ins[0] = t[0];
    ins[1] = sum_terms(g, a, t + 1, n - 1);
  } else {
    ins[0] = sum_terms(g, a, t, n / 2);
    ins[1] = sum_terms(g, a, t + n / 2, n - n / 2);
  }
  return tu_node(g, "Add", 2, ins, NULL);
}

static Graph *form_a_block(const BlockSpec *s, int *xv) {
  Graph *g = graph_new();
  int C = s->card ? s->card : 4;
  int x = tu_input(g, "x", 4, X4);
  int leaves[64], t[68], n = 0;
  for (int i = 0; i < C; i++)
    leaves[i] = block_path(g, x, s);
  if (s->zero) {
    const int64_t one[1] = {1};
    float z[200] = {0};
    t[n++] = s->zero == 1 ? tu_const(g, "zeros", 4, X4, z) : tu_const(g, "zero", 1, one, z);
  }
  for (int i = 0; i < C; i++) {
    t[n++] = leaves[s->order ? s->order[i] : i];
    if (i == 0 && s->shortcut == SC_INSIDE)
      t[n++] = x;
  }
  int y = sum_terms(g, s->assoc, t, n);
  if (s->bn_after)
    y = bn(g, y, 8);
  if (s->shortcut == SC_AFTER) {
    int ins[2] = {y, x};
    y = tu_node(g, "Add", 2, ins, NULL);
  }
  tu_output(g, tu_node(g, "Relu", 1, &y, NULL));
  *xv = x;
  return g;
}

/* The Conv writing v, or NULL. */
static const Node *conv_writing(const Graph *g, int v) {
  int p = v >= 0 ? g->values[v].producer : -1;
  return p >= 0 && g->nodes[p].op == OP_CONV ? &g->nodes[p] : NULL;
}

static void check_form_c(const BlockSpec *s) {
  int x, C = s->card ? s->card : 4;
  unsigned failures = CU_get_number_of_failures();
  Graph *g = form_a_block(s, &x);
  run_and_compare(g, "default");
  CU_ASSERT_EQUAL(count(g, OP_COUNT), 3);
  CU_ASSERT_EQUAL(count(g, OP_CONV), 3);
  CU_ASSERT_EQUAL(count(g, OP_ADD) + count(g, OP_SUM) + count(g, OP_MUL), 0);
  CU_ASSERT_EQUAL(count(g, OP_RELU) + count(g, OP_BATCHNORM), 0);
  const Node *last = conv_writing(g, g->outputs[0]);
  const Node *mid = last ? conv_writing(g, last->in[0]) : NULL;
  const Node *first = mid ? conv_writing(g, mid->in[0]) : NULL;
  CU_ASSERT(last && mid && first);
  if (last && mid && first) {
    CU_ASSERT_EQUAL(last->ep.residual, s->shortcut == SC_NONE ? -1 : x);
    /* fold-bn scales an identity shortcut a BN follows */
    CU_ASSERT_EQUAL(last->ep.residual_scale >= 0, s->bn_after && s->shortcut == SC_INSIDE);
    CU_ASSERT_EQUAL(last->ep.act, OP_RELU);
    CU_ASSERT_EQUAL(last->p.group, 1);
    CU_ASSERT_EQUAL(mid->p.group, C);
    CU_ASSERT_EQUAL(mid->ep.act, OP_RELU);
    CU_ASSERT_EQUAL(first->p.group, 1);
    CU_ASSERT_EQUAL(first->in[0], x);
    CU_ASSERT_EQUAL(g->values[first->out[0]].dims[1], 2 * C);
  }
  if (CU_get_number_of_failures() != failures) {
    fprintf(stderr, "\n%s (sum %d, zero %d, BN in paths %d, bias %d, BN after %d, shortcut %d, "
            "order %s, C = %d) became:\n", s->label, (int)s->assoc, s->zero, s->bn_paths,
            s->bias, s->bn_after, s->shortcut, s->order ? "shuffled" : "as made", C);
    ir_dump(g, stderr);
  }
  graph_free(g);
}

static void test_merge_left_chain(void) {
  /* out = p0(x); for p in rest: out = out + p(x); relu(bn(out) + x) */
  check_form_c(&(BlockSpec){"naive loop", SUM_LEFT, .bn_paths = true, .bn_after = true,
                            .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"naive loop, C = 32", SUM_LEFT, .bn_paths = true,
                            .bn_after = true, .shortcut = SC_AFTER, .card = 32});
  check_form_c(&(BlockSpec){"left, biases", SUM_LEFT, .bias = true, .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"left, shortcut inside", SUM_LEFT, .bn_paths = true,
                            .shortcut = SC_INSIDE});
}

static void test_merge_right_chain(void) {
  check_form_c(&(BlockSpec){"right", SUM_RIGHT, .bn_paths = true, .bn_after = true,
                            .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"right, shortcut inside", SUM_RIGHT, .bias = true,
                            .shortcut = SC_INSIDE});
}

static void test_merge_balanced_tree(void) {
  check_form_c(&(BlockSpec){"balanced", SUM_BALANCED, .bn_paths = true, .bn_after = true,
                            .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"balanced, shortcut inside", SUM_BALANCED, .bn_paths = true,
                            .shortcut = SC_INSIDE});
  check_form_c(&(BlockSpec){"balanced, 8 paths", SUM_BALANCED, .bias = true,
                            .shortcut = SC_AFTER, .card = 8});
}

static void test_merge_sum_op(void) {
  check_form_c(&(BlockSpec){"Sum", SUM_OP, .bn_paths = true, .bn_after = true,
                            .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"Sum with the shortcut", SUM_OP, .bn_paths = true,
                            .shortcut = SC_INSIDE});
  check_form_c(&(BlockSpec){"Sum with the shortcut, BN", SUM_OP, .bn_paths = true,
                            .bn_after = true, .shortcut = SC_INSIDE});
}

static void test_merge_zero_start(void) {
  check_form_c(&(BlockSpec){"zeros_like, left", SUM_LEFT, .zero = 1, .bn_paths = true,
                            .bn_after = true, .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"0 initializer, left", SUM_LEFT, .zero = 2, .bias = true,
                            .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"zeros_like, Sum", SUM_OP, .zero = 1, .bn_paths = true,
                            .shortcut = SC_INSIDE});
  check_form_c(&(BlockSpec){"0 initializer, balanced", SUM_BALANCED, .zero = 2,
                            .bn_paths = true, .bn_after = true, .shortcut = SC_INSIDE});
}

static void test_merge_any_order(void) {
  static const int order[4] = {2, 0, 3, 1};
  check_form_c(&(BlockSpec){"order, left", SUM_LEFT, .bn_paths = true, .bn_after = true,
                            .shortcut = SC_INSIDE, .order = order});
  check_form_c(&(BlockSpec){"order, balanced", SUM_BALANCED, .bias = true,
                            .shortcut = SC_AFTER, .order = order});
  check_form_c(&(BlockSpec){"order, right", SUM_RIGHT, .bn_paths = true,
                            .shortcut = SC_AFTER, .order = order});
}

static void test_merge_bn_in_paths(void) {
  check_form_c(&(BlockSpec){"BN in paths", SUM_LEFT, .bn_paths = true, .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"no BN, no bias", SUM_LEFT, .shortcut = SC_AFTER});
  check_form_c(&(BlockSpec){"BN and bias", SUM_BALANCED, .bn_paths = true, .bias = true,
                            .shortcut = SC_AFTER});
  /* Without fold-bn: the inner BNs are stacked into one each, the last ones
   * go into the merged last conv. */
  int x;
  Graph *g = form_a_block(&(BlockSpec){"", SUM_LEFT, .bn_paths = true, .shortcut = SC_AFTER}, &x);
  run_and_compare(g, "merge-paths");
  CU_ASSERT_EQUAL(count(g, OP_CONV), 3);
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 2);
  CU_ASSERT_EQUAL(count(g, OP_RELU), 3);
  CU_ASSERT_EQUAL(count(g, OP_ADD), 1); /* the shortcut */
  CU_ASSERT_EQUAL(count(g, OP_COUNT), 9);
  graph_free(g);
}

static void test_merge_bn_after_sum(void) {
  /* fold-bn folds it through the sum's last Add (a Mul on the rest of the
   * tree), or cannot (Sum, balanced) and merge-paths folds it after. */
  for (int a = SUM_LEFT; a <= SUM_OP; a++)
    for (int sc = SC_NONE; sc <= SC_INSIDE; sc++) {
      check_form_c(&(BlockSpec){"BN after", (Assoc)a, .bn_after = true, .shortcut = sc});
      check_form_c(&(BlockSpec){"BN after, BN in paths", (Assoc)a, .bn_paths = true,
                                .bn_after = true, .shortcut = sc});
    }
}

static void test_merge_shortcut(void) {
  for (int a = SUM_LEFT; a <= SUM_OP; a++) {
    check_form_c(&(BlockSpec){"shortcut after", (Assoc)a, .bias = true, .shortcut = SC_AFTER});
    check_form_c(&(BlockSpec){"shortcut inside", (Assoc)a, .bias = true,
                              .shortcut = SC_INSIDE});
    check_form_c(&(BlockSpec){"no shortcut", (Assoc)a, .bias = true});
  }
}

/* Every combination of the above (paths shuffled in half of them). */
static void test_merge_every_combination(void) {
  static const int order[4] = {3, 1, 0, 2};
  for (int a = SUM_LEFT; a <= SUM_OP; a++)
    for (int zero = 0; zero < 3; zero++)
      for (int k = 0; k < 8; k++)
        for (int sc = SC_NONE; sc <= SC_INSIDE; sc++)
          check_form_c(&(BlockSpec){"combination", (Assoc)a, zero, .bn_paths = k & 1,
                                    .bias = k & 2, .bn_after = k & 4, .shortcut = sc,
                                    .order = (a + zero + k + sc) & 1 ? order : NULL});
}

static int grouped_convs(const Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i].dead && g->nodes[i].op == OP_CONV && g->nodes[i].p.group > 1;
  return k;
}

/* conv k x k, C -> M, with a stride and a dilation (padded to keep the size
 * at stride 1). */
static int conv_sd(Graph *g, int x, int64_t C, int64_t M, int64_t k, int64_t stride,
                   int64_t dil) {
  const int64_t wd[4] = {M, C, k, k};
  int ins[2] = {x, rconst(g, 4, wd, 0)};
  Node *n;
  int y = tu_node(g, "Conv", 2, ins, &n);
  const int64_t p = dil * (k / 2), pads[4] = {p, p, p, p}, st[2] = {stride, stride},
                dl[2] = {dil, dil};
  tu_attr_ints(g, n, "pads", 4, pads);
  tu_attr_ints(g, n, "strides", 2, st);
  tu_attr_ints(g, n, "dilations", 2, dl);
  return y;
}

/* Two paths conv_sd(8 -> d, 1x1, stride s1) -> act -> conv_sd(d -> 8, 3x3,
 * stride s2, dilation dl), summed; path 1's activation takes alpha if >= 0. */
static void check_two_paths(bool merge, int64_t d1, const int64_t *s1, const int64_t *s2,
                            const int64_t *dl, const char *act, float alpha1) {
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int t[2];
  for (int i = 0; i < 2; i++) {
    int64_t d = i ? d1 : 2;
    int h = conv_sd(g, x, 8, d, 1, s1[i], 1);
    Node *n;
    h = tu_node(g, act, 1, &h, &n);
    if (i && alpha1 >= 0)
      tu_attr_float(g, n, "alpha", alpha1);
    t[i] = conv_sd(g, h, d, 8, 3, s2[i], dl[i]);
  }
  tu_output(g, tu_node(g, "Add", 2, t, NULL));
  run_and_compare(g, "merge-paths");
  CU_ASSERT_EQUAL(count(g, OP_CONV), merge ? 2 : 4);
  CU_ASSERT_EQUAL(count(g, OP_ADD), merge ? 0 : 1);
  graph_free(g);
}

static void test_merge_paths_not_equivalent(void) {
  const int64_t one[2] = {1, 1}, s12[2] = {1, 2}, s21[2] = {2, 1}, d12[2] = {1, 2};
  check_two_paths(true, 2, one, one, one, "Relu", -1);          /* the control */
  check_two_paths(false, 3, one, one, one, "Relu", -1);         /* widths differ */
  check_two_paths(false, 2, s21, s12, one, "Relu", -1);         /* strides differ, same output */
  check_two_paths(false, 2, one, one, d12, "Relu", -1);         /* dilations differ, same shapes */
  check_two_paths(true, 2, one, one, one, "LeakyRelu", 0.01f);  /* alpha as the default */
  check_two_paths(false, 2, one, one, one, "LeakyRelu", 0.5f);  /* alpha differs */

  /* Paths reading different sources: x and relu(x). */
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int r = tu_node(g, "Relu", 1, &x, NULL);
  BlockSpec plain = {"", SUM_LEFT, .bias = true};
  int t[3] = {block_path(g, x, &plain), block_path(g, r, &plain), x};
  tu_output(g, sum_terms(g, SUM_LEFT, t, 3));
  run_and_compare(g, "merge-paths");
  CU_ASSERT_EQUAL(count(g, OP_CONV), 6);
  CU_ASSERT_EQUAL(grouped_convs(g), 0);
  graph_free(g);

  /* A path's output, or a value inside it, read by something else: that
   * path stays; the three others merge. */
  for (int inside = 0; inside < 2; inside++) {
    g = graph_new();
    x = tu_input(g, "x", 4, X4);
    int p[4];
    for (int i = 0; i < 4; i++)
      p[i] = block_path(g, x, &plain);
    int y = sum_terms(g, SUM_LEFT, p, 4);
    if (inside) {
      /* the 3x3 conv of path 1 is also a graph output */
      const Node *last = &g->nodes[g->values[p[1]].producer];
      const Node *relu = &g->nodes[g->values[last->in[0]].producer];
      tu_output(g, y);
      tu_output(g, relu->in[0]);
    } else {
      int ins[2] = {y, tu_node(g, "Sigmoid", 1, &p[1], NULL)};
      tu_output(g, tu_node(g, "Add", 2, ins, NULL));
    }
    run_and_compare(g, "merge-paths");
    CU_ASSERT_EQUAL(count(g, OP_CONV), 6);
    CU_ASSERT_EQUAL(grouped_convs(g), 1);
    for (int i = 0; i < g->nnodes; i++)
      if (!g->nodes[i].dead && g->nodes[i].p.group > 1)
        CU_ASSERT_EQUAL(g->nodes[i].p.group, 3);
    graph_free(g);
  }

  /* Paths of zero width (an empty weight) never reach merge-paths: a Conv
   * of an empty tensor is refused at inference (every later stage divides
   * by its channels), with a message. */
  g = graph_new();
  x = tu_input(g, "x", 4, X4);
  int e[3];
  for (int i = 0; i < 2; i++) {
    int h = conv(g, x, 8, 0, 1, 1, false);
    h = tu_node(g, "Relu", 1, &h, NULL);
    e[i] = conv(g, h, 0, 8, 1, 1, true);
  }
  e[2] = x;
  tu_output(g, sum_terms(g, SUM_LEFT, e, 3));
  Diag de = {.quiet = true};
  CU_ASSERT(!graph_infer(g, &de));
  CU_ASSERT(tu_log_has(&de, "the weight is empty"));
  sb_free(&de.log);
  graph_free(g);

  /* A Concat with an input that is not a path stays as it is. */
  g = graph_new();
  x = tu_input(g, "x", 4, X4);
  int c[3] = {conv(g, x, 8, 2, 1, 1, true), conv(g, x, 8, 2, 1, 1, true), x};
  Node *n;
  int y = tu_node(g, "Concat", 3, c, &n);
  tu_attr_int(g, n, "axis", 1);
  tu_output(g, y);
  run_and_compare(g, "merge-paths");
  CU_ASSERT_EQUAL(count(g, OP_CONV), 2);
  CU_ASSERT_EQUAL(count(g, OP_CONCAT), 1);
  graph_free(g);

  /* A Mul by a constant that is not per channel is not part of the sum:
   * the sum under it merges, the one above it sees one path. */
  g = graph_new();
  x = tu_input(g, "x", 4, X4);
  int q[3] = {block_path(g, x, &plain), block_path(g, x, &plain), block_path(g, x, &plain)};
  int s01 = sum_terms(g, SUM_LEFT, q, 2);
  int m[2] = {s01, rconst(g, 4, X4, 0)};
  int ins[2] = {tu_node(g, "Mul", 2, m, NULL), q[2]};
  tu_output(g, tu_node(g, "Add", 2, ins, NULL));
  run_and_compare(g, "merge-paths");
  CU_ASSERT_EQUAL(count(g, OP_CONV), 6);
  CU_ASSERT_EQUAL(count(g, OP_MUL), 1);
  CU_ASSERT_EQUAL(grouped_convs(g), 1);
  graph_free(g);
}

/* A linear layer on 3-D and 2-D inputs (MatMul by a constant, then a bias
 * Add): one Gemm each, the 3-D one between two Reshapes, the bias its C;
 * a MatMul of two computed operands stays. */
/* A one-element float constant. */
static int scalar(Graph *g, float v) {
  const int64_t one[1] = {1};
  return tu_const(g, "", 1, one, &v);
}

/* GELU as torch exports it before opset 20, after a conv: form 0 is
 * Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5); form 1 swaps every
 * operand, multiplies by 1/sqrt(2) and halves x first; form 2 adds 2, not 1
 * (not a GELU). */
static int erf_gelu(Graph *g, int x, int form) {
  int t1, t3;
  if (form == 1) {
    int m[2] = {scalar(g, 0.70710678f), x};
    t1 = tu_node(g, "Mul", 2, m, NULL);
  } else {
    int dv[2] = {x, scalar(g, 1.41421356f)};
    t1 = tu_node(g, "Div", 2, dv, NULL);
  }
  int t2 = tu_node(g, "Erf", 1, &t1, NULL);
  int ad[2] = {form == 1 ? scalar(g, 1) : t2, form == 1 ? t2 : scalar(g, form == 2 ? 2 : 1)};
  t3 = tu_node(g, "Add", 2, ad, NULL);
  if (form == 1) {
    int h[2] = {scalar(g, 0.5f), x};
    int m[2] = {t3, tu_node(g, "Mul", 2, h, NULL)};
    return tu_node(g, "Mul", 2, m, NULL);
  }
  int m[2] = {x, t3};
  int t4 = tu_node(g, "Mul", 2, m, NULL);
  int h[2] = {t4, scalar(g, 0.5f)};
  return tu_node(g, "Mul", 2, h, NULL);
}

static void test_fuse_gelu(void) {
  for (int form = 0; form < 3; form++) {
    Graph *g = graph_new();
    int x = tu_input(g, "x", 4, X4);
    tu_output(g, erf_gelu(g, conv(g, x, 8, 8, 3, 1, true), form));
    run_and_compare(g, "fuse-gelu,fuse-activation,dce");
    if (form < 2) { /* one Gelu, in the conv's epilogue */
      CU_ASSERT_EQUAL(count(g, OP_COUNT), 1);
      CU_ASSERT_EQUAL(find(g, OP_CONV)->ep.act, OP_GELU);
      CU_ASSERT_EQUAL(find(g, OP_CONV)->ep.act_alpha, 0); /* approximate "none" */
    } else {
      CU_ASSERT_EQUAL(count(g, OP_ERF), 1);
      CU_ASSERT_EQUAL(count(g, OP_COUNT), 6);
    }
    graph_free(g);
  }
  /* x read by something else besides the pattern keeps the pattern's x
   * reads valid: the Gelu is made, the conv keeps no activation. */
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int c = conv(g, x, 8, 8, 3, 1, true);
  int ins[2] = {erf_gelu(g, c, 0), c};
  tu_output(g, tu_node(g, "Add", 2, ins, NULL));
  run_and_compare(g, "fuse-gelu,fuse-activation,dce");
  CU_ASSERT_EQUAL(count(g, OP_GELU), 1);
  CU_ASSERT_EQUAL(count(g, OP_ERF), 0);
  CU_ASSERT_EQUAL(find(g, OP_CONV)->ep.act, OP_COUNT);
  graph_free(g);
}

/* SiLU as x * sigmoid(x) (either order), HardSwish as x * hardsigmoid(x)
 * and as x * relu6(x + 3) / 6 (Div, or Mul by 1/6): each becomes one
 * activation that fuse-activation moves into the conv; a near miss (x
 * times another tensor's sigmoid, a relu6 of x + 2) stays. */
static int swish(Graph *g, int x, int form) {
  if (form <= 2) {
    Node *n;
    int s = tu_node(g, form == 2 ? "HardSigmoid" : "Sigmoid", 1, &x, &n);
    if (form == 2) {
      tu_attr_float(g, n, "alpha", 1.0f / 6);
      tu_attr_float(g, n, "beta", 0.5f);
    }
    int m[2] = {form == 1 ? s : x, form == 1 ? x : s};
    return tu_node(g, "Mul", 2, m, NULL);
  }
  int a[2] = {scalar(g, form == 5 ? 2 : 3), x};
  int t = tu_node(g, "Add", 2, a, NULL);
  int c[3] = {t, scalar(g, 0), scalar(g, 6)};
  t = tu_node(g, "Clip", 3, c, NULL);
  int m[2] = {x, t};
  t = tu_node(g, "Mul", 2, m, NULL);
  int d[2] = {t, scalar(g, form == 4 ? 1.0f / 6 : 6)};
  return tu_node(g, form == 4 ? "Mul" : "Div", 2, d, NULL);
}

static void test_fuse_swish(void) {
  static const OpKind want[6] = {OP_SILU, OP_SILU, OP_HARDSWISH, OP_HARDSWISH, OP_HARDSWISH,
                                 OP_COUNT};
  for (int form = 0; form < 6; form++) {
    Graph *g = graph_new();
    int x = tu_input(g, "x", 4, X4);
    tu_output(g, swish(g, conv(g, x, 8, 8, 3, 1, true), form));
    run_and_compare(g, "fuse-swish,fuse-activation,dce");
    if (want[form] != OP_COUNT) { /* one node: the conv, the activation in its epilogue */
      CU_ASSERT_EQUAL(g->nnodes, 1);
      CU_ASSERT_EQUAL(find(g, OP_CONV)->ep.act, want[form]);
    } else {
      CU_ASSERT_EQUAL(count(g, OP_CLIP), 1); /* x + 2: not a HardSwish */
    }
    graph_free(g);
  }
  /* x * sigmoid(z): not a SiLU */
  Graph *g = graph_new();
  int x = tu_input(g, "x", 4, X4);
  int c = conv(g, x, 8, 8, 3, 1, true), c2 = conv(g, x, 8, 8, 3, 1, true);
  int s = tu_node(g, "Sigmoid", 1, &c2, NULL);
  int m[2] = {c, s};
  tu_output(g, tu_node(g, "Mul", 2, m, NULL));
  run_and_compare(g, "fuse-swish,fuse-activation,dce");
  CU_ASSERT_EQUAL(count(g, OP_SILU), 0);
  CU_ASSERT_EQUAL(count(g, OP_MUL), 1);
  graph_free(g);
}

static void test_gemm_from_matmul(void) {
  Graph *g = graph_new();
  const int64_t xd[3] = {2, 3, 5}, wd[2] = {5, 7}, bd[1] = {7}, b2[2] = {1, 7}, x2d[2] = {4, 5};
  int x = tu_input(g, "x", 3, xd);
  int ins[2] = {x, rconst(g, 2, wd, 0)};
  int m = tu_node(g, "MatMul", 2, ins, NULL);
  int add[2] = {rconst(g, 1, bd, 0), m}; /* the bias first: either order */
  tu_output(g, tu_node(g, "Add", 2, add, NULL));
  int x2 = tu_input(g, "x2", 2, x2d);
  int ins2[2] = {x2, rconst(g, 2, wd, 0)};
  int m2 = tu_node(g, "MatMul", 2, ins2, NULL);
  int add2[2] = {m2, rconst(g, 2, b2, 0)};
  tu_output(g, tu_node(g, "Add", 2, add2, NULL));
  int ins3[2] = {x2, x2};
  int t = tu_node(g, "Transpose", 1, &ins3[1], NULL);
  int ins4[2] = {x2, t};
  tu_output(g, tu_node(g, "MatMul", 2, ins4, NULL)); /* [4,5] x [5,4]: not constant */
  run_and_compare_all(g, "gemm-from-matmul");
  CU_ASSERT_EQUAL(count(g, OP_GEMM), 2);
  CU_ASSERT_EQUAL(count(g, OP_MATMUL), 1);
  CU_ASSERT_EQUAL(count(g, OP_ADD), 0);
  CU_ASSERT_EQUAL(count(g, OP_RESHAPE), 2);
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i].op == OP_GEMM)
      CU_ASSERT(g->nodes[i].p.trans_b && g->nodes[i].nin == 3 && g->nodes[i].in[2] >= 0);
  graph_free(g);
}


/* winograd: the stride-1 3x3 conv of 32 channels and more is repacked in
 * Winograd's domain (its weight's plain form, back through G's left
 * inverse, within rounding of the original), a strided one and a narrow
 * one keep the direct layout; the interpreter's output moves by rounding
 * only.  Off with -winograd. */
static void test_winograd(void) {
  for (int on = 0; on < 2; on++) {
    Graph *g = graph_new();
    g->target = &target_avx512;
    const int64_t xd[4] = {1, 32, 9, 9};
    int x = tu_input(g, "x", 4, xd);
    int a = conv(g, x, 32, 48, 3, 1, true);   /* Winograd */
    int b = conv(g, a, 48, 16, 3, 1, false);  /* 16 outputs: too few */
    Node *s2;
    const int64_t wd[4] = {32, 48, 3, 3}, st[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    int ins[2] = {a, rconst(g, 4, wd, 0)};
    int c = tu_node(g, "Conv", 2, ins, &s2);  /* stride 2 */
    tu_attr_ints(g, s2, "strides", 2, st);
    tu_attr_ints(g, s2, "pads", 4, pads);
    tu_output(g, b);
    tu_output(g, c);
    const float *w0 = g->values[g->nodes[0].in[1]].data;
    float *orig = malloc(sizeof(float) * 32 * 48 * 9);
    memcpy(orig, w0, sizeof(float) * 32 * 48 * 9);
    run_and_compare_all(g, on ? "default" : "default,-winograd");
    int wino = 0, direct = 0;
    for (int i = 0; i < g->nnodes; i++) {
      const Node *n = &g->nodes[i];
      if (n->dead || n->op != OP_CONV)
        continue;
      const Value *w = &g->values[n->in[1]];
      wino += w->layout.kind == LAYOUT_WWINO;
      direct += w->layout.kind == LAYOUT_WCONV;
      if (w->layout.kind == LAYOUT_WWINO) {
        CU_ASSERT_EQUAL(w->dims[0], 48);
        CU_ASSERT_EQUAL(value_storage_numel(w), 16 * 48 * 32);
        float *back = malloc(sizeof(float) * 32 * 48 * 9);
        layout_to_plain(w, w->data, back);
        double err = 0;
        for (int k = 0; k < 32 * 48 * 9; k++)
          err = fmax(err, fabs((double)back[k] - orig[k]));
        CU_ASSERT(err <= 1e-6); /* NaN fails too */
        free(back);
      }
    }
    CU_ASSERT_EQUAL(wino, on);
    CU_ASSERT_EQUAL(direct, 3 - on);
    free(orig);
    graph_free(g);
  }
  /* A strip of one tile row must fit in L2 (avx512: 1 MB): 1024 channels in
   * at 28x28 take 64 x 14 x (1024 + 64) = 974,848 bytes a tile row, in
   * Winograd; at 32x32, 1,114,112: direct. */
  for (int wide = 0; wide < 2; wide++) {
    Graph *g = graph_new();
    g->target = &target_avx512;
    const int64_t xd[4] = {1, 1024, 28 + 4 * wide, 28 + 4 * wide};
    tu_output(g, conv(g, tu_input(g, "x", 4, xd), 1024, 32, 3, 1, false));
    Diag d = {.quiet = true};
    CU_ASSERT_FATAL(graph_infer(g, &d));
    int order[CD_MAX_PASSES], np;
    CU_ASSERT_FATAL(passes_parse("default", order, &np, &d));
    PassStats st[CD_MAX_PASSES];
    CU_ASSERT_FATAL(passes_run(g, order, np, st, true, NULL, NULL, &d));
    int wino = 0;
    for (int i = 0; i < g->nnodes; i++)
      wino += !g->nodes[i].dead && g->nodes[i].op == OP_CONV &&
              g->values[g->nodes[i].in[1]].layout.kind == LAYOUT_WWINO;
    CU_ASSERT_EQUAL(wino, !wide);
    sb_free(&d.log);
    graph_free(g);
  }
}

void add_passes_suite(void) {
  CU_pSuite s = CU_add_suite("passes", NULL, NULL);
  ADD(s, test_fold_bn_into_conv);
  ADD(s, test_fold_bn_identity_shortcut);
  ADD(s, test_fold_bn_conv_shortcut);
  ADD(s, test_fold_bn_forward);
  ADD(s, test_bn_to_conv);
  ADD(s, test_fold_pad);
  ADD(s, test_convtranspose_to_conv);
  ADD(s, test_fold_bn_into_gemm);
  ADD(s, test_fuse_activation);
  ADD(s, test_fuse_residual);
  ADD(s, test_merge_paths);
  ADD(s, test_merge_left_chain);
  ADD(s, test_merge_right_chain);
  ADD(s, test_merge_balanced_tree);
  ADD(s, test_merge_sum_op);
  ADD(s, test_merge_zero_start);
  ADD(s, test_merge_any_order);
  ADD(s, test_merge_bn_in_paths);
  ADD(s, test_merge_bn_after_sum);
  ADD(s, test_merge_shortcut);
  ADD(s, test_merge_every_combination);
  ADD(s, test_merge_paths_not_equivalent);
  ADD(s, test_gemm_from_matmul);
  ADD(s, test_winograd);
  ADD(s, test_fuse_gelu);
  ADD(s, test_fuse_swish);
}
