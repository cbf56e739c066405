/*
 * test_codegen.c — the emitter: hostile tensor and node names reach the
 * generated C only escaped (the result compiles under -Werror and runs
 * right), float literals round-trip, --name must be an identifier.
 */
#include "onnx_builder.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_hostile_names(void) {
  const char *evil_in = "x */ int pwned; /* \"?\?=\\\n#include <evil.h>";
  const char *evil_mid = "*/ system(\"rm -rf /\"); /*";
  const char *evil_out = "y\"; int z = \"?\?/";
  MB *m = mb_new(13);
  const int64_t dims[2] = {1, 3};
  mb_input(m, evil_in, 1, 2, dims);
  const char *i0[1] = {evil_in}, *o0[1] = {evil_mid};
  mb_node(m, "Relu", "*/ evil node /*", 1, i0, 1, o0);
  const char *i1[1] = {evil_mid}, *o1[1] = {evil_out};
  mb_node(m, "Sigmoid", "\n#define x y", 1, i1, 1, o1);
  mb_output(m, evil_out);
  CU_ASSERT_FATAL(mb_write(m, tu_path("evil.onnx")));
  mb_free(m);
  CompileJob j = {.model = tu_path("evil.onnx"), .name = "evil",
                  .cflags = "-O1 -std=c99 -pedantic -Wall -Wextra -Werror"};
  Diag d = {.quiet = true};
  Graph *g = cd_load_model(&j, NULL, NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  const float x[3] = {-1, 0, 2};
  const float *ins[1] = {x};
  float *outs[1] = {0};
  CU_ASSERT_FATAL(cd_run_generated(&j, g, ins, outs, &d));
  CU_ASSERT_DOUBLE_EQUAL(outs[0][0], 0.5, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(outs[0][2], 1 / (1 + exp(-2.0)), 1e-6);
  free(outs[0]);
  /* And the header keeps the names as escaped strings. */
  j.out_dir = tu_path("evil_out");
  CU_ASSERT_FATAL(cd_compile(&j, NULL, &d));
  uint8_t *h;
  size_t n;
  CU_ASSERT_FATAL(cd_read_file(tu_path("evil_out/evil.c"), &h, &n));
  h = realloc(h, n + 1);
  h[n] = 0;
  CU_ASSERT(strstr((char *)h, "int pwned") == NULL ||
            strstr((char *)h, "\"x */ int pwned") != NULL);
  CU_ASSERT(strstr((char *)h, "\n#include <evil.h>") == NULL);
  CU_ASSERT(strstr((char *)h, "\n#define x y") == NULL);
  free(h);
  graph_free(g);
  sb_free(&d.log);
}

static void test_float_literals(void) {
  Graph *g = graph_new();
  Emitter e = {.g = g};
  const float vals[] = {0.1f, -3.4028235e38f, 1e-45f, 1.0f / 3, 16777217.0f};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    const char *s = c_float(&e, vals[i]);
    float back = strtof(s[0] == '(' ? s + 1 : s, NULL);
    CU_ASSERT_EQUAL(back, vals[i]);
  }
  CU_ASSERT_STRING_EQUAL(c_float(&e, INFINITY), "HUGE_VALF");
  CU_ASSERT_STRING_EQUAL(c_float(&e, 2.0), "2.0f");
  graph_free(g);
}

static void test_identifiers(void) {
  CU_ASSERT(cd_is_identifier("resnext50"));
  CU_ASSERT(cd_is_identifier("_net_1"));
  CU_ASSERT_FALSE(cd_is_identifier("1net"));
  CU_ASSERT_FALSE(cd_is_identifier("net-1"));
  CU_ASSERT_FALSE(cd_is_identifier(""));
  CU_ASSERT_FALSE(cd_is_identifier("a;b"));
}


/* Runs g through the interpreter, then through the default passes and
 * generated C (compiled with -Werror); every output must agree to 1e-5
 * (NaN where the interpreter has NaN: Log and Sqrt of negatives).
 * g is left as the passes made it, for further checks. */
static void check_generated(Graph *g, const char *name, float phase) {
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  float **ins = calloc((size_t)g->ninputs, sizeof(float *));
  for (int k = 0; k < g->ninputs; k++) {
    int64_t n = value_numel(&g->values[g->inputs[k]]);
    ins[k] = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
      ins[k][i] = sinf(phase * (float)i + (float)k);
  }
  float **want = calloc((size_t)g->noutputs, sizeof(float *));
  CU_ASSERT_FATAL(interp_run(g, (const float *const *)ins, want, &d));
  int order[16], np;
  CU_ASSERT_FATAL(passes_parse("default", order, &np, &d));
  PassStats st[16];
  CU_ASSERT_FATAL(passes_run(g, order, np, st, true, NULL, NULL, &d));
  CompileJob j = {.name = name, .cflags = "-O2 -std=c99 -pedantic -Wall -Wextra -Werror"};
  float **got = calloc((size_t)g->noutputs, sizeof(float *));
  CU_ASSERT_FATAL(cd_run_generated(&j, g, (const float *const *)ins, got, &d));
  for (int k = 0; k < g->noutputs; k++) {
    int64_t n = value_numel(&g->values[g->outputs[k]]);
    double err = 0;
    for (int64_t i = 0; i < n; i++)
      err = isnan(got[k][i]) != isnan(want[k][i]) /* fmax would drop a NaN */
                ? INFINITY
                : fmax(err, fabs((double)got[k][i] - want[k][i]) / (1 + fabs((double)want[k][i])));
    if (err > 1e-5)
      fprintf(stderr, "\n%s case %d: error %g\n", name, k, err);
    CU_ASSERT(err <= 1e-5);
    free(got[k]);
    free(want[k]);
  }
  for (int k = 0; k < g->ninputs; k++)
    free(ins[k]);
  free(ins);
  free(got);
  free(want);
  sb_free(&d.log);
}

/* relu(y + r) with r a new input "r<ncase>" of shape rd: what
 * fuse-residual turns into a conv epilogue. */
static int add_residual_relu(Graph *g, int y, int ncase, const int64_t *rd) {
  char name[32];
  snprintf(name, sizeof name, "r%d", ncase);
  int add_in[2] = {y, tu_input(g, name, 4, rd)};
  y = tu_node(g, "Add", 2, add_in, NULL);
  return tu_node(g, "Relu", 1, &y, NULL);
}

/* The pointwise-conv kernel's register tiles (CONV1X1_MR x CONV1X1_NR =
 * 8 x 16): channel and pixel counts below, at, and past one tile and
 * several, groups, strides 1 and 2, with and without bias and a residual +
 * ReLU epilogue, all in one generated program, against the interpreter. */
static void test_conv1x1_tile_boundaries(void) {
  static const int64_t pix[] = {1, 15, 16, 17, 33, 49};
  static const int64_t chans[] = {1, 7, 8, 9, 17};
  Graph *g = graph_new();
  uint32_t s = 3;
  int ncase = 0;
  for (int pi = 0; pi < 6; pi++)
    for (int mi = 0; mi < 5; mi++) {
      int64_t P = pix[pi], Mg = chans[mi], G = 1 + (ncase % 3 == 2), Cg = 1 + ncase % 4;
      bool bias = ncase % 2 == 0, residual = ncase % 4 == 1, strided = ncase % 5 == 3;
      /* A strided case reads every other pixel of a 2 x 2P input. */
      int64_t xd[4] = {1, Cg * G, strided ? 2 : 1, strided ? 2 * P : P},
              wd[4] = {Mg * G, Cg, 1, 1}, bd[1] = {Mg * G};
      char name[32];
      snprintf(name, sizeof name, "x%d", ncase);
      int x = tu_input(g, name, 4, xd);
      float w[4096], b[64];
      for (int i = 0; i < Mg * G * Cg; i++) {
        s = s * 1664525u + 1013904223u;
        w[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
      }
      for (int i = 0; i < Mg * G; i++)
        b[i] = 0.1f * (float)i;
      int ins[3] = {x, tu_const(g, "", 4, wd, w), bias ? tu_const(g, "", 1, bd, b) : -1};
      Node *n;
      int y = tu_node(g, "Conv", bias ? 3 : 2, ins, &n);
      tu_attr_int(g, n, "group", G);
      if (strided) {
        const int64_t st2[2] = {2, 2};
        tu_attr_ints(g, n, "strides", 2, st2);
      }
      if (residual) {
        int64_t rd[4] = {1, Mg * G, 1, P};
        y = add_residual_relu(g, y, ncase, rd);
      }
      tu_output(g, y);
      ncase++;
    }
  check_generated(g, "tiles", 0.7f);
  int fused = 0;
  for (int i = 0; i < g->nnodes; i++)
    fused += g->nodes[i].op == OP_CONV && g->nodes[i].ep.residual >= 0;
  CU_ASSERT(fused > 0); /* the epilogue path is exercised */
  graph_free(g);
}


/* The direct-conv kernel's tiles: 4 channels on rows under 8 pixels, 8 on
 * longer ones, rows cut into 64-pixel segments: widths 1, 7, 17, 64, 65,
 * 130 (and halves at stride 2), channel counts below, at and past a tile,
 * 3x3 and 5x5 kernels with padding, dilation 2, groups, bias, a residual +
 * ReLU epilogue; one generated program against the interpreter. */
static void test_conv_tile_boundaries(void) {
  static const int64_t widths[] = {1, 7, 17, 64, 65, 130};
  static const int64_t chans[] = {1, 3, 4, 9, 17};
  Graph *g = graph_new();
  uint32_t s = 11;
  int ncase = 0;
  for (int wi = 0; wi < 6; wi++)
    for (int mi = 0; mi < 5; mi++) {
      int64_t Wd = widths[wi], Mg = chans[mi], G = 1 + (ncase % 3 == 1), Cg = 1 + ncase % 3;
      int64_t K = ncase % 4 == 3 ? 5 : 3, S = ncase % 5 == 2 ? 2 : 1, D = ncase % 7 == 4 ? 2 : 1;
      int64_t pad = (K / 2) * D;
      bool bias = ncase % 2 == 0, residual = ncase % 4 == 1;
      int64_t xd[4] = {1, Cg * G, 3, Wd}, wd[4] = {Mg * G, Cg, K, K}, bd[1] = {Mg * G};
      char name[32];
      snprintf(name, sizeof name, "x%d", ncase);
      int x = tu_input(g, name, 4, xd);
      float w[4096], b[64];
      for (int i = 0; i < Mg * G * Cg * K * K; i++) {
        s = s * 1664525u + 1013904223u;
        w[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
      }
      for (int i = 0; i < Mg * G; i++)
        b[i] = 0.1f * (float)i - 0.2f;
      int ins[3] = {x, tu_const(g, "", 4, wd, w), bias ? tu_const(g, "", 1, bd, b) : -1};
      Node *n;
      int y = tu_node(g, "Conv", bias ? 3 : 2, ins, &n);
      const int64_t pads[4] = {pad, pad, pad, pad}, st[2] = {S, S}, dl[2] = {D, D};
      tu_attr_int(g, n, "group", G);
      tu_attr_ints(g, n, "pads", 4, pads);
      tu_attr_ints(g, n, "strides", 2, st);
      tu_attr_ints(g, n, "dilations", 2, dl);
      if (residual) {
        int64_t rd[4] = {1, Mg * G, (3 + 2 * pad - D * (K - 1) - 1) / S + 1,
                         (Wd + 2 * pad - D * (K - 1) - 1) / S + 1};
        y = add_residual_relu(g, y, ncase, rd);
      }
      tu_output(g, y);
      ncase++;
    }
  check_generated(g, "ctiles", 0.9f);
  graph_free(g);
}

/* Every activation of the op table, with its default attributes (and
 * Gelu's tanh form), alone and fused into a Conv's epilogue by
 * fuse-activation: generated C against the interpreter. */
static void test_activation_kernels(void) {
  Graph *g = graph_new();
  const int64_t xd[4] = {1, 3, 4, 5}, wd[4] = {2, 3, 1, 1};
  const float w[6] = {0.5f, -1, 2, 1.5f, 0.25f, -3};
  int x = tu_input(g, "x", 4, xd);
  int nact = 0;
  for (int op = 0; op <= OP_COUNT; op++) {
    if (op < OP_COUNT && !(op_table[op].flags & OPF_ACTIVATION))
      continue;
    const char *name = op < OP_COUNT ? op_table[op].name : "Gelu";
    Node *n;
    int a = tu_node(g, name, 1, &x, &n);
    if (op == OP_COUNT)
      tu_attr_str(g, n, "approximate", "tanh");
    tu_output(g, a);
    int ins[2] = {x, tu_const(g, "", 4, wd, w)};
    int c = tu_node(g, "Conv", 2, ins, NULL);
    c = tu_node(g, name, 1, &c, &n);
    if (op == OP_COUNT)
      tu_attr_str(g, n, "approximate", "tanh");
    tu_output(g, c);
    nact++;
  }
  check_generated(g, "acts", 0.7f);
  int fused = 0;
  for (int i = 0; i < g->nnodes; i++)
    fused += !g->nodes[i].dead && g->nodes[i].op == OP_CONV && g->nodes[i].ep.act != OP_COUNT;
  CU_ASSERT_EQUAL(fused, nact);
  graph_free(g);
}

/* LayerNormalization kernels: with and without B, a one-value Scale, the
 * Mean and InvStdDev outputs; generated C against the interpreter. */
static void test_layernorm_kernels(void) {
  Graph *g = graph_new();
  const int64_t xd[3] = {2, 5, 6}, sd[2] = {5, 6}, one[1] = {1};
  float sc[30], b[30];
  for (int i = 0; i < 30; i++)
    sc[i] = 0.1f * (float)i - 1, b[i] = 0.05f * (float)(i % 7);
  int x = tu_input(g, "x", 3, xd);
  for (int c = 0; c < 3; c++) {
    int nout = c == 2 ? 3 : 1;
    int ni = graph_add_node(g, "LayerNormalization", 3, nout);
    Node *n = &g->nodes[ni];
    n->opset = 17;
    n->in[0] = x;
    /* c = 0: axis -1, Scale [6], no B; 1: axis 1, one-value Scale and B;
     * 2: axis -2, Scale and B [5, 6], Mean and InvStdDev. */
    n->in[1] = c == 0 ? tu_const(g, "", 1, sd + 1, sc)
               : c == 1 ? tu_const(g, "", 1, one, sc) : tu_const(g, "", 2, sd, sc);
    n->in[2] = c == 0 ? -1 : c == 1 ? tu_const(g, "", 1, one, b) : tu_const(g, "", 2, sd, b);
    tu_attr_int(g, &g->nodes[ni], "axis", c == 0 ? -1 : c == 1 ? 1 : -2);
    for (int j = 0; j < nout; j++) {
      int v = graph_add_value(g, "");
      g->nodes[ni].out[j] = v;
      g->values[v].producer = ni;
      tu_output(g, v);
    }
  }
  check_generated(g, "lnorm", 1.3f);
  graph_free(g);
}

void add_codegen_suite(void) {
  CU_pSuite s = CU_add_suite("codegen", NULL, NULL);
  ADD(s, test_hostile_names);
  ADD(s, test_float_literals);
  ADD(s, test_identifiers);
  ADD(s, test_conv1x1_tile_boundaries);
  ADD(s, test_conv_tile_boundaries);
  ADD(s, test_activation_kernels);
  ADD(s, test_layernorm_kernels);
}
