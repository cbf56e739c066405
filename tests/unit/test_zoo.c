/*
 * test_zoo.c — the ops of the models people bring (issue 19): the shape
 * and mask arithmetic of transformer exports folds away once shapes are
 * fixed (and what a parameter input needs is folded before its node is set
 * up); the same ops on data computed at run time are kernels of every
 * dtype, checked against the interpreter on every target this machine
 * runs, NaN inputs included; Resize between blocked convolutions; the
 * interpreter's values where ONNX pins them (Cast's rounding, Where,
 * Range); and the errors of what stays unsupported.  The ONNX conformance
 * data checks the rest of their semantics.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A constant of type t (int64, int32 or bool) holding v. */
static int int_const(Graph *g, DType t, int rank, const int64_t *dims, const int64_t *v) {
  int c = graph_add_value(g, "");
  value_set_shape(&g->values[c], t, rank, dims);
  void *p = value_alloc_data(g, c);
  for (int64_t i = 0; i < value_numel(&g->values[c]); i++) {
    if (t == DT_INT64)
      ((int64_t *)p)[i] = v[i];
    else if (t == DT_INT32)
      ((int32_t *)p)[i] = (int32_t)v[i];
    else
      ((uint8_t *)p)[i] = (uint8_t)v[i];
  }
  return c;
}

static int scalar_i64(Graph *g, int64_t v) { return int_const(g, DT_INT64, 0, NULL, &v); }

static int vec_i64(Graph *g, int n, const int64_t *v) {
  int64_t d = n;
  return int_const(g, DT_INT64, 1, &d, v);
}

static int scalar_f(Graph *g, float v) {
  const int64_t one[1] = {1};
  return tu_const(g, "", 1, one, &v);
}

static int node1(Graph *g, const char *op, int a) { return tu_node(g, op, 1, &a, NULL); }

static int node2(Graph *g, const char *op, int a, int b) {
  int ins[2] = {a, b};
  return tu_node(g, op, 2, ins, NULL);
}

static int cast_to(Graph *g, int x, DType to) {
  Node *n;
  int y = tu_node(g, "Cast", 1, &x, &n);
  tu_attr_int(g, n, "to", to);
  return y;
}

static int live(const Graph *g, OpKind op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i].dead && g->nodes[i].op == op;
  return k;
}

/* ViT's class_token.expand(n, -1, -1) as torch.onnx writes it (Shape ->
 * Gather -> Unsqueeze -> Concat [n, -1, -1] -> ConstantOfShape, Mul, Equal,
 * Where -> Expand), and a Resize whose sizes are float arithmetic on a
 * Shape (Cast -> Mul -> Cast): once the input's shape is fixed, all of it
 * is constants before any pass runs, and the code computes what the
 * interpreter does. */
static void test_shape_arithmetic_folds(void) {
  Graph *g = graph_new();
  const int64_t xd[3] = {2, 4, 6}, cd[3] = {1, 1, 6}, zd[4] = {1, 2, 3, 4};
  float cls[6] = {1, 2, 3, 4, 5, 6};
  int x = tu_input(g, "x", 3, xd), z = tu_input(g, "z", 4, zd);
  int n0 = node2(g, "Gather", node1(g, "Shape", x), scalar_i64(g, 0));
  const int64_t zero = 0, minus1 = -1, one = 1;
  int u = node2(g, "Unsqueeze", n0, vec_i64(g, 1, &zero));
  Node *cn;
  int cat_in[3] = {u, vec_i64(g, 1, &minus1), vec_i64(g, 1, &minus1)};
  int sizes = tu_node(g, "Concat", 3, cat_in, &cn);
  tu_attr_int(g, cn, "axis", 0);
  Node *con;
  int sh = node1(g, "Shape", sizes);
  int ones = tu_node(g, "ConstantOfShape", 1, &sh, &con);
  tu_attr_tensor(g, con, "value", scalar_i64(g, one));
  int neg = node2(g, "Mul", ones, scalar_i64(g, -1));
  int eq = node2(g, "Equal", sizes, neg);
  int where_in[3] = {eq, ones, sizes};
  int shape = tu_node(g, "Where", 3, where_in, NULL);
  int ex = node2(g, "Expand", tu_const(g, "cls", 3, cd, cls), shape);
  Node *cat;
  int tokens_in[2] = {ex, x};
  tu_output(g, tu_node(g, "Concat", 2, tokens_in, &cat));
  tu_attr_int(g, cat, "axis", 1);
  /* sizes of a Resize: Cast(Cast(Shape(z), float) * [1, 1, 2, 1.5], int64) */
  const int64_t four[1] = {4};
  const float f[4] = {1, 1, 2, 1.5f};
  int fs = node2(g, "Mul", cast_to(g, node1(g, "Shape", z), DT_FLOAT), tu_const(g, "", 1, four, f));
  Node *rz;
  int rin[4] = {z, -1, -1, cast_to(g, fs, DT_INT64)};
  int r = tu_node(g, "Resize", 4, rin, &rz);
  tu_attr_str(g, rz, "mode", "nearest");
  tu_output(g, r);
  Diag d = {.quiet = true};
  bool ok = graph_infer(g, &d);
  if (!ok)
    fprintf(stderr, "\n%s\n", d.log.buf);
  CU_ASSERT_FATAL(ok);
  const OpKind gone[] = {OP_SHAPE, OP_GATHER, OP_UNSQUEEZE, OP_CONSTANTOFSHAPE, OP_MUL,
                         OP_EQUAL, OP_WHERE, OP_CAST};
  for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
    if (live(g, gone[i]))
      fprintf(stderr, "\n%s left after inference\n", op_table[gone[i]].name);
    CU_ASSERT_EQUAL(live(g, gone[i]), 0);
  }
  const Value *ev = &g->values[ex], *rv = &g->values[r];
  CU_ASSERT(ev->rank == 3 && ev->dims[0] == 2 && ev->dims[1] == 1 && ev->dims[2] == 6);
  CU_ASSERT(rv->rank == 4 && rv->dims[2] == 6 && rv->dims[3] == 6);
  sb_free(&d.log);
  find_targets();
  check_generated(g, "vitfold", 0.3f, &runnable[0], NULL);
  graph_free(g);
}

/* The same ops on data computed at run time, every dtype they move through
 * (bool, int8, uint8, int32, int64, float64), broadcast, on every target,
 * with NaN inputs too. */
static void test_runtime_kernels(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    const int64_t xd[4] = {2, 3, 4, 5}, yd[3] = {3, 1, 5}, five[1] = {5};
    const float c5[5] = {0.5f, -0.25f, 2, -1, 0};
    int x = tu_input(g, "x", 4, xd), y = tu_input(g, "y", 3, yd);
    int outs[20], no = 0;
    /* comparisons and logic into Where */
    int lt = node2(g, "Less", x, y);
    int w1[3] = {lt, x, y};
    outs[no++] = tu_node(g, "Where", 3, w1, NULL);
    int ge = node2(g, "GreaterOrEqual", x, y), le = node2(g, "LessOrEqual", x, y);
    int strict = node2(g, "Xor", ge, le);
    int keep = node2(g, "And", node1(g, "Not", strict),
                     node2(g, "Or", node2(g, "Greater", x, y), node2(g, "Equal", x, y)));
    int w2[3] = {keep, x, scalar_f(g, -7)};
    outs[no++] = tu_node(g, "Where", 3, w2, NULL);
    /* casts there and back */
    int big = node2(g, "Mul", x, scalar_f(g, 300));
    const DType via[6] = {DT_INT32, DT_INT64, DT_INT8, DT_UINT8, DT_BOOL, DT_DOUBLE};
    for (int k = 0; k < 6; k++)
      outs[no++] = cast_to(g, cast_to(g, k == 4 ? x : big, via[k]), DT_FLOAT);
    /* Gather: constant indices (one negative), and indices computed at run
     * time, some out of range (clamped) */
    const int64_t gi[2] = {-1, 1};
    Node *gn;
    int gin[2] = {x, vec_i64(g, 2, gi)};
    outs[no++] = tu_node(g, "Gather", 2, gin, &gn);
    tu_attr_int(g, gn, "axis", 2);
    int idx = cast_to(g, node2(g, "Mul", y, scalar_f(g, 9)), DT_INT64);
    int gin2[2] = {x, idx};
    outs[no++] = tu_node(g, "Gather", 2, gin2, &gn);
    tu_attr_int(g, gn, "axis", 3);
    /* Expand, Tile */
    const int64_t es[4] = {2, 1, 4, 1}, reps[3] = {2, 1, 3};
    outs[no++] = node2(g, "Expand", y, vec_i64(g, 4, es));
    outs[no++] = node2(g, "Tile", y, vec_i64(g, 3, reps));
    /* variadic Min, Max, Mean with broadcasting */
    int c = tu_const(g, "", 1, five, c5);
    int mm[3] = {x, y, c};
    outs[no++] = tu_node(g, "Max", 3, mm, NULL);
    outs[no++] = tu_node(g, "Min", 2, mm, NULL);
    outs[no++] = tu_node(g, "Mean", 3, mm, NULL);
    int same[3] = {x, node1(g, "Neg", x), node1(g, "Abs", x)};
    outs[no++] = tu_node(g, "Min", 3, same, NULL);
    outs[no++] = tu_node(g, "Max", 3, same, NULL);
    /* parameters only, as graph outputs: kernels that write constants */
    const int64_t cs[2] = {2, 3};
    Node *cn;
    int shp = vec_i64(g, 2, cs);
    outs[no++] = tu_node(g, "ConstantOfShape", 1, &shp, &cn);
    tu_attr_tensor(g, cn, "value", scalar_f(g, 2.5f));
    int rg[3] = {tu_const(g, "", 0, NULL, &c5[3]), tu_const(g, "", 0, NULL, &c5[2]),
                 tu_const(g, "", 0, NULL, &c5[1])}; /* -1 to 2 by -0.25: empty */
    outs[no++] = tu_node(g, "Range", 3, rg, NULL);
    int rg2[3] = {rg[0], rg[1], tu_const(g, "", 0, NULL, &c5[0])};
    outs[no++] = tu_node(g, "Range", 3, rg2, NULL);
    int fam[20];
    for (int k = 0; k < no; k++) {
      tu_output(g, outs[k]);
      fam[k] = tu_nan_eltwise;
    }
    check_generated(g, "zoo", 0.7f, &runnable[ti], fam);
    CU_ASSERT_EQUAL(live(g, OP_WHERE), 2); /* none folded */
    CU_ASSERT_EQUAL(live(g, OP_GATHER), 2);
    CU_ASSERT_EQUAL(live(g, OP_CAST), 13);
    CU_ASSERT_EQUAL(value_numel(&g->values[outs[no - 2]]), 0);
    CU_ASSERT_EQUAL(value_numel(&g->values[outs[no - 1]]), 6);
    graph_free(g);
  }
}

/* Resize between convolutions, which run blocked on the SIMD targets:
 * linear up by 2 (half_pixel), nearest to sizes (asymmetric, floor), cubic
 * down (align_corners), and tf_crop_and_resize with extrapolation. */
static void test_resize_kernels(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int64_t C = 2 * runnable[ti].t->block + 3;
    const int64_t xd[4] = {1, 3, 6, 7}, wd[4] = {C, 3, 1, 1}, four[1] = {4}, eight[1] = {8};
    float *w = malloc(sizeof(float) * (size_t)(C * 3));
    for (int64_t i = 0; i < C * 3; i++)
      w[i] = 0.1f * (float)(i % 7) - 0.3f;
    int x = tu_input(g, "x", 4, xd);
    int cin[2] = {x, tu_const(g, "", 4, wd, w)};
    int conv = tu_node(g, "Conv", 2, cin, NULL);
    free(w);
    static const struct {
      const char *mode, *coord, *nearest;
      float s[4];
      int64_t size[4];
    } cases[] = {
        {"linear", "half_pixel", NULL, {1, 1, 2, 2}, {0}},
        {"nearest", "asymmetric", "floor", {0}, {1, 0, 11, 4}},
        {"cubic", "align_corners", NULL, {1, 1, 0.6f, 0.8f}, {0}},
        {"linear", "tf_crop_and_resize", NULL, {0}, {1, 0, 5, 9}},
        {"nearest", "half_pixel", "round_prefer_ceil", {1, 1, 1.5f, 0.5f}, {0}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
      Node *n;
      int in[4] = {conv, -1, -1, -1};
      if (cases[k].size[0]) {
        int64_t sz[4] = {1, C, cases[k].size[2], cases[k].size[3]};
        in[3] = vec_i64(g, 4, sz);
      } else {
        in[2] = tu_const(g, "", 1, four, cases[k].s);
      }
      if (!strcmp(cases[k].coord, "tf_crop_and_resize")) {
        const float roi[8] = {0, 0, -0.2f, 0.1f, 1, 1, 0.9f, 1.3f};
        in[1] = tu_const(g, "", 1, eight, roi);
      }
      int r = tu_node(g, "Resize", 4, in, &n);
      tu_attr_str(g, n, "mode", cases[k].mode);
      tu_attr_str(g, n, "coordinate_transformation_mode", cases[k].coord);
      if (cases[k].nearest)
        tu_attr_str(g, n, "nearest_mode", cases[k].nearest);
      if (!strcmp(cases[k].coord, "tf_crop_and_resize"))
        tu_attr_float(g, n, "extrapolation_value", -3.5f);
      int relu = node1(g, "Relu", r);
      tu_output(g, relu);
    }
    int fam[5] = {tu_nan_eltwise, tu_nan_eltwise, tu_nan_eltwise, tu_nan_eltwise, tu_nan_eltwise};
    check_generated(g, "resize", 0.9f, &runnable[ti], fam);
    CU_ASSERT_EQUAL(live(g, OP_RESIZE), 5);
    graph_free(g);
  }
}

/* The interpreter where ONNX (or, where ONNX leaves it open, Cast's own
 * rule) pins the value. */
static void test_values(void) {
  Graph *g = graph_new();
  const int64_t xd[1] = {6};
  int x = tu_input(g, "x", 1, xd);
  tu_output(g, cast_to(g, cast_to(g, x, DT_INT32), DT_FLOAT));
  tu_output(g, cast_to(g, cast_to(g, x, DT_UINT8), DT_FLOAT));
  tu_output(g, cast_to(g, cast_to(g, x, DT_BOOL), DT_FLOAT));
  int lt[3] = {node2(g, "Less", x, scalar_f(g, 0)), x, scalar_f(g, 9)};
  tu_output(g, tu_node(g, "Where", 3, lt, NULL));
  int mx[2] = {x, scalar_f(g, 1)};
  tu_output(g, tu_node(g, "Max", 2, mx, NULL));
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const float in[6] = {1.7f, -1.7f, NAN, 3e9f, -0.0f, 255.9f};
  const float want[5][6] = {
      {1, -1, 0, 2147483647.0f, 0, 255},
      {1, 0, 0, 255, 0, 255},
      {1, 1, 1, 1, 0, 1},
      {9, -1.7f, 9, 9, 9, 9},
      {1.7f, 1, NAN, 3e9f, 1, 255.9f},
  };
  const float *ins[1] = {in};
  float *outs[5] = {0};
  CU_ASSERT_FATAL(interp_run(g, ins, outs, &d));
  for (int k = 0; k < 5; k++) {
    for (int i = 0; i < 6; i++) {
      bool same = isnan(want[k][i]) ? isnan(outs[k][i]) : outs[k][i] == want[k][i];
      if (!same)
        fprintf(stderr, "\noutput %d [%d]: %g, want %g\n", k, i, outs[k][i], want[k][i]);
      CU_ASSERT(same);
    }
    free(outs[k]);
  }
  sb_free(&d.log);
  graph_free(g);
}

/* Mod: Python's remainder (fmod 0, the sign of the divisor) and C's
 * (fmod 1), a zero divisor and INT64_MIN % -1 giving 0, folded at compile
 * time on int64 shape values (Swin's window padding); then on data
 * computed at run time, every integer type and float32, on every target. */
static int mod_node(Graph *g, int a, int b, bool fmod) {
  Node *n;
  int ins[2] = {a, b};
  int y = tu_node(g, "Mod", 2, ins, &n);
  tu_attr_int(g, n, "fmod", fmod);
  return y;
}

static void test_mod(void) {
  Graph *g = graph_new();
  const int64_t a[7] = {-7, 7, -7, 7, 5, 0, INT64_MIN}, b[7] = {3, -3, -3, 3, 0, 4, -1};
  const int64_t want[2][7] = {{2, -2, -1, 1, 0, 0, 0}, {-1, 1, -1, 1, 0, 0, 0}};
  int ys[2];
  for (int f = 0; f < 2; f++)
    ys[f] = mod_node(g, vec_i64(g, 7, a), vec_i64(g, 7, b), f);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  CU_ASSERT_EQUAL(live(g, OP_MOD), 0);
  for (int f = 0; f < 2; f++) {
    const int64_t *got = g->values[ys[f]].data;
    CU_ASSERT_FATAL(got != NULL);
    for (int i = 0; i < 7; i++) {
      if (got[i] != want[f][i])
        fprintf(stderr, "\nfmod %d [%d]: %lld, want %lld\n", f, i, (long long)got[i],
                (long long)want[f][i]);
      CU_ASSERT_EQUAL(got[i], want[f][i]);
    }
  }
  sb_free(&d.log);
  graph_free(g);
  /* float32 without fmod is refused, as the spec says */
  g = graph_new();
  const int64_t one[1] = {1};
  tu_output(g, mod_node(g, tu_input(g, "x", 1, one), scalar_f(g, 2), false));
  d = (Diag){.quiet = true};
  CU_ASSERT(!graph_infer(g, &d));
  CU_ASSERT(tu_log_has(&d, "fmod=1"));
  sb_free(&d.log);
  graph_free(g);
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    g = graph_new();
    const int64_t xd[3] = {2, 3, 5}, yd[2] = {3, 1};
    int x = tu_input(g, "x", 3, xd), y = tu_input(g, "y", 2, yd);
    int outs[9], no = 0;
    outs[no++] = mod_node(g, x, y, true);
    const DType ts[4] = {DT_INT64, DT_INT32, DT_INT8, DT_UINT8};
    int xs = node2(g, "Mul", x, scalar_f(g, 40)), ysc = node2(g, "Mul", y, scalar_f(g, 9));
    for (int k = 0; k < 4; k++)
      for (int f = 0; f < 2; f++)
        outs[no++] =
            cast_to(g, mod_node(g, cast_to(g, xs, ts[k]), cast_to(g, ysc, ts[k]), f), DT_FLOAT);
    int fam[9];
    for (int k = 0; k < no; k++) {
      tu_output(g, outs[k]);
      fam[k] = tu_nan_eltwise;
    }
    check_generated(g, "mod", 0.9f, &runnable[ti], fam);
    CU_ASSERT_EQUAL(live(g, OP_MOD), 9);
    graph_free(g);
  }
}

/* GroupNormalization, scale and bias per group (opsets 18-20) and per
 * channel (21), against a direct computation, then generated code on every
 * target against the interpreter. */
static void test_group_norm(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    const int64_t xd[4] = {2, 6, 3, 4}, gd[1] = {3}, cd[1] = {6};
    const float sg[3] = {0.5f, -2, 1.5f}, bg[3] = {0.1f, 0, -1};
    const float sc[6] = {1, 2, 3, -1, 0.5f, 0.25f}, bc[6] = {0, 1, 0, -1, 2, 0.5f};
    int x = tu_input(g, "x", 4, xd);
    Node *n;
    int a[3] = {x, tu_const(g, "", 1, gd, sg), tu_const(g, "", 1, gd, bg)};
    tu_output(g, tu_node(g, "GroupNormalization", 3, a, &n));
    tu_attr_int(g, n, "num_groups", 3);
    n->opset = 18;
    int b[3] = {x, tu_const(g, "", 1, cd, sc), tu_const(g, "", 1, cd, bc)};
    tu_output(g, tu_node(g, "GroupNormalization", 3, b, &n));
    tu_attr_int(g, n, "num_groups", 2);
    tu_attr_float(g, n, "epsilon", 0.01f);
    n->opset = 21;
    if (ti == 0) { /* the interpreter against the formula */
      Diag d = {.quiet = true};
      CU_ASSERT_FATAL(graph_infer(g, &d));
      float xv[144], *outs[2] = {0};
      for (int i = 0; i < 144; i++)
        xv[i] = sinf(0.3f * (float)i) + (float)(i % 5);
      const float *ins[1] = {xv};
      CU_ASSERT_FATAL(interp_run(g, ins, outs, &d));
      double worst = 0;
      for (int k = 0; k < 2; k++) {
        int G = k ? 2 : 3, Cg = 6 / G;
        double eps = k ? 0.01 : 1e-5;
        for (int im = 0; im < 2; im++)
          for (int gr = 0; gr < G; gr++) {
            const float *p = xv + (im * 6 + gr * Cg) * 12;
            double m = 0, v = 0;
            for (int i = 0; i < Cg * 12; i++)
              m += p[i];
            m /= Cg * 12;
            for (int i = 0; i < Cg * 12; i++)
              v += (p[i] - m) * (p[i] - m);
            v /= Cg * 12;
            for (int i = 0; i < Cg * 12; i++) {
              int c = gr * Cg + i / 12;
              double sv = k ? sc[c] : sg[gr], bv = k ? bc[c] : bg[gr];
              double want = (p[i] - m) / sqrt(v + eps) * sv + bv;
              double e = fabs(outs[k][(im * 6 + gr * Cg) * 12 + i] - want);
              worst = e > worst ? e : worst;
            }
          }
        free(outs[k]);
      }
      CU_ASSERT(worst < 1e-5);
      sb_free(&d.log);
    }
    const int fam[2] = {tu_nan_eltwise, tu_nan_eltwise};
    check_generated(g, "gnorm", 0.4f, &runnable[ti], fam);
    graph_free(g);
  }
}

/* GatherND: constant index tuples (negative ones wrap) with batch_dims 0
 * and 1, tuples computed at run time (some out of range: clamped), on
 * every target; a constant index out of range is an error naming the
 * node. */
static int gathernd(Graph *g, int x, int ix, int64_t batch_dims) {
  Node *n;
  int in[2] = {x, ix};
  int y = tu_node(g, "GatherND", 2, in, &n);
  tu_attr_int(g, n, "batch_dims", batch_dims);
  return y;
}

static void test_gathernd(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    const int64_t xd[3] = {2, 3, 4}, yd[2] = {2, 2}, i0d[3] = {2, 1, 2}, i1d[2] = {2, 2},
                  i2d[2] = {3, 3};
    const int64_t i0[4] = {1, -1, 0, 2}, i1[4] = {-3, 1, 2, 3}, i2[9] = {1, 2, 3, -2, 0, -4, 0, 1, 1};
    int x = tu_input(g, "x", 3, xd), y = tu_input(g, "y", 2, yd);
    int outs[4], no = 0;
    outs[no++] = gathernd(g, x, int_const(g, DT_INT64, 3, i0d, i0), 0); /* [2,1,4] */
    outs[no++] = gathernd(g, x, int_const(g, DT_INT64, 2, i1d, i1), 1); /* [2]: batch dim 1 */
    outs[no++] = gathernd(g, x, int_const(g, DT_INT64, 2, i2d, i2), 0); /* [3]: single elements */
    int idx = cast_to(g, node2(g, "Mul", y, scalar_f(g, 3)), DT_INT64);
    outs[no++] = gathernd(g, x, idx, 0); /* [2,4], computed at run time */
    int fam[4];
    for (int k = 0; k < no; k++) {
      tu_output(g, outs[k]);
      fam[k] = tu_nan_eltwise;
    }
    check_generated(g, "gathernd", 0.3f, &runnable[ti], fam);
    CU_ASSERT_EQUAL(live(g, OP_GATHERND), 4);
    const Value *v1 = &g->values[outs[1]], *v2 = &g->values[outs[2]];
    CU_ASSERT(v1->rank == 1 && v1->dims[0] == 2);
    CU_ASSERT(v2->rank == 1 && v2->dims[0] == 3);
    graph_free(g);
  }
  /* the values: x[i] = i, so each gathered entry is its flat index */
  Graph *g = graph_new();
  const int64_t xd[3] = {2, 3, 4}, id[2] = {2, 3}, bd[2] = {2, 2};
  const int64_t ix[6] = {1, -1, 0, 0, 2, 3}, bx[4] = {2, 1, -1, 3};
  int x = tu_input(g, "x", 3, xd);
  tu_output(g, gathernd(g, x, int_const(g, DT_INT64, 2, id, ix), 0));
  tu_output(g, gathernd(g, x, int_const(g, DT_INT64, 2, bd, bx), 1));
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  float in[24];
  for (int i = 0; i < 24; i++)
    in[i] = (float)i;
  const float *ins[1] = {in};
  float *o[2] = {0};
  CU_ASSERT_FATAL(interp_run(g, ins, o, &d));
  CU_ASSERT(o[0][0] == 12 + 2 * 4 + 0 && o[0][1] == 0 + 2 * 4 + 3);
  CU_ASSERT(o[1][0] == 2 * 4 + 1 && o[1][1] == 12 + 2 * 4 + 3);
  free(o[0]);
  free(o[1]);
  sb_free(&d.log);
  graph_free(g);
  /* a constant index out of range, batch_dims past the ranks */
  for (int k = 0; k < 2; k++) {
    g = graph_new();
    const int64_t bad[2] = {0, 4};
    x = tu_input(g, "x", 3, xd);
    tu_output(g, gathernd(g, x, int_const(g, DT_INT64, 1, (int64_t[]){2}, bad), k ? 3 : 0));
    g->nodes[g->nnodes - 1].name = arena_strdup(&g->arena, "the_node");
    Diag e = {.quiet = true};
    CU_ASSERT_FALSE(graph_infer(g, &e));
    const char *want = k ? "batch_dims 3 must be less than the ranks" :
                           "index 4 (entry 1 of indices) is out of range for dim 1 of data, of extent 3";
    bool has = tu_log_has(&e, want) && tu_log_has(&e, "node 'the_node' (GatherND)");
    if (!has)
      fprintf(stderr, "\n%s: got %s\n", want, e.log.buf ? e.log.buf : "nothing");
    CU_ASSERT(has);
    sb_free(&e.log);
    graph_free(g);
  }
}

/* ArgMax and ArgMin: every kind of axis (the last, inner 1; the channels
 * after a convolution that runs blocked on the SIMD targets, the
 * segmentation head; the first), keepdims either way, ties (a Floor makes
 * them) to the first or the last index, NaN inputs, on every target; the
 * interpreter's values where ONNX pins them; an axis out of range is an
 * error naming the node. */
static int argm(Graph *g, const char *op, int x, int64_t axis, int keepdims, int last) {
  Node *n;
  int y = tu_node(g, op, 1, &x, &n);
  tu_attr_int(g, n, "axis", axis);
  tu_attr_int(g, n, "keepdims", keepdims);
  tu_attr_int(g, n, "select_last_index", last);
  n->opset = 13;
  return y;
}

static void test_argmax(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int64_t C = 2 * runnable[ti].t->block + 3;
    const int64_t xd[4] = {2, 3, 4, 5}, wd[4] = {C, 3, 1, 1};
    float *w = malloc(sizeof(float) * (size_t)(C * 3));
    for (int64_t i = 0; i < C * 3; i++)
      w[i] = 0.1f * (float)(i % 7) - 0.3f;
    int x = tu_input(g, "x", 4, xd);
    int cin[2] = {x, tu_const(g, "", 4, wd, w)};
    int conv = tu_node(g, "Conv", 2, cin, NULL);
    free(w);
    int ties = node1(g, "Floor", node2(g, "Mul", x, scalar_f(g, 2)));
    const int64_t zd[2] = {3, 70}; /* a classifier's scores: the lanes form, and its tail */
    int z = tu_input(g, "z", 2, zd);
    int zties = node1(g, "Floor", node2(g, "Mul", z, scalar_f(g, 1.5f)));
    int outs[14], no = 0;
    outs[no++] = argm(g, "ArgMax", conv, 1, 1, 0);  /* the per-pixel class */
    outs[no++] = argm(g, "ArgMin", conv, -3, 0, 1);
    outs[no++] = argm(g, "ArgMax", x, -1, 0, 0);    /* inner 1 */
    outs[no++] = argm(g, "ArgMin", x, 3, 1, 0);
    outs[no++] = argm(g, "ArgMax", ties, 0, 1, 1);  /* ties to the last */
    outs[no++] = argm(g, "ArgMin", ties, 2, 0, 0);  /* ties to the first */
    outs[no++] = argm(g, "ArgMax", ties, -1, 1, 1);
    outs[no++] = argm(g, "ArgMin", ties, -1, 0, 1);
    outs[no++] = argm(g, "ArgMax", z, 1, 0, 0);
    outs[no++] = argm(g, "ArgMin", z, -1, 1, 1);
    outs[no++] = argm(g, "ArgMax", zties, 1, 0, 0);
    outs[no++] = argm(g, "ArgMax", zties, 1, 0, 1);
    outs[no++] = argm(g, "ArgMin", zties, 1, 0, 0);
    outs[no++] = argm(g, "ArgMin", zties, 1, 0, 1);
    int fam[14];
    for (int k = 0; k < no; k++) {
      tu_output(g, outs[k]);
      fam[k] = tu_nan_eltwise;
    }
    check_generated(g, "argmax", 0.37f, &runnable[ti], fam);
    CU_ASSERT_EQUAL(live(g, OP_ARGMAX) + live(g, OP_ARGMIN), 14);
    const Value *v0 = &g->values[outs[0]], *v1 = &g->values[outs[1]];
    CU_ASSERT(v0->dtype == DT_INT64 && v0->rank == 4 && v0->dims[1] == 1 && v0->dims[3] == 5);
    CU_ASSERT(v1->rank == 3 && v1->dims[0] == 2 && v1->dims[1] == 4);
    graph_free(g);
  }
  /* values: ties, and NaN (the first NaN wins, the last with
   * select_last_index, as numpy's argmax has it) */
  Graph *g = graph_new();
  const int64_t xd[2] = {3, 4};
  int x = tu_input(g, "x", 2, xd);
  for (int k = 0; k < 4; k++)
    tu_output(g, argm(g, k % 2 ? "ArgMin" : "ArgMax", x, 1, 0, k / 2));
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const float in[12] = {1, 3, 3, -1, NAN, 2, NAN, 2, -5, 0, -5, 7};
  const float want[4][3] = {{1, 0, 3}, {3, 0, 0}, {2, 2, 3}, {3, 2, 2}};
  const float *ins[1] = {in};
  float *o[4] = {0};
  CU_ASSERT_FATAL(interp_run(g, ins, o, &d));
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < 3; i++) {
      if (o[k][i] != want[k][i])
        fprintf(stderr, "\narg output %d [%d]: %g, want %g\n", k, i, o[k][i], want[k][i]);
      CU_ASSERT(o[k][i] == want[k][i]);
    }
    free(o[k]);
  }
  sb_free(&d.log);
  graph_free(g);
  /* the axis out of range, either side */
  for (int k = 0; k < 2; k++) {
    g = graph_new();
    x = tu_input(g, "x", 2, xd);
    tu_output(g, argm(g, "ArgMax", x, k ? 2 : -3, 1, 0));
    g->nodes[g->nnodes - 1].name = arena_strdup(&g->arena, "the_node");
    Diag e = {.quiet = true};
    CU_ASSERT_FALSE(graph_infer(g, &e));
    const char *want_msg = k ? "axis 2 is out of range for data of rank 2 (-2..1)"
                             : "axis -3 is out of range for data of rank 2 (-2..1)";
    bool has = tu_log_has(&e, want_msg) && tu_log_has(&e, "node 'the_node' (ArgMax)");
    if (!has)
      fprintf(stderr, "\n%s: got %s\n", want_msg, e.log.buf ? e.log.buf : "nothing");
    CU_ASSERT(has);
    sb_free(&e.log);
    graph_free(g);
  }
}

/* Einsum: the matmul forms (lowered by lower-einsum to Transpose, MatMul,
 * Reshape), a transpose and sums (ReduceSum), the conformance data's
 * equations as written (spaces, implicit outputs), a diagonal and
 * broadcast ellipsis dims (Einsum's own kernel); each against the
 * interpreter's Einsum before the passes, on every target. */
static int einsum(Graph *g, const char *eq, int a, int b) {
  Node *n;
  int in[2] = {a, b};
  int y = tu_node(g, "Einsum", b >= 0 ? 2 : 1, in, &n);
  tu_attr_str(g, n, "equation", eq);
  n->opset = 12;
  return y;
}

static void test_einsum(void) {
  find_targets();
  static const struct {
    const char *eq;
    int ra, rb;
    int64_t a[4], b[4];
  } cases[] = {
      {"ij,jk->ik", 2, 2, {3, 5}, {5, 4}},
      {"ij,kj->ik", 2, 2, {3, 5}, {4, 5}},
      {"ji,jk->ki", 2, 2, {5, 3}, {5, 4}},
      {"bij, bjk -> bik", 3, 3, {2, 3, 5}, {2, 5, 4}},
      {"bhid,bhjd->bhij", 4, 4, {2, 3, 4, 5}, {2, 3, 6, 5}},
      {"bhij,bhjd->bihd", 4, 4, {2, 3, 4, 6}, {2, 3, 6, 5}},
      {"...ij,...jk->...ik", 4, 4, {2, 3, 4, 5}, {2, 3, 5, 6}},
      {"ij,jk", 2, 2, {3, 5}, {5, 4}},
      {"i,i", 1, 1, {7}, {7}},
      {"i,j->ij", 1, 1, {3}, {4}},
      {"ij->ji", 2, 0, {3, 5}, {0}},
      {"ij->i", 2, 0, {3, 5}, {0}},
      {"bij->jb", 3, 0, {2, 3, 5}, {0}},
      {"...ii->...i", 3, 0, {2, 4, 4}, {0}},                 /* a diagonal */
      {"...ij,...jk->...ik", 4, 3, {2, 1, 4, 5}, {3, 5, 6}}, /* broadcast */
      {"ij,jk->i", 2, 2, {3, 5}, {5, 4}},                    /* k summed in one operand */
  };
  int nc = (int)(sizeof cases / sizeof cases[0]);
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int fam[32];
    for (int k = 0; k < nc; k++) {
      char an[8], bn[8];
      snprintf(an, sizeof an, "a%d", k);
      snprintf(bn, sizeof bn, "b%d", k);
      int a = tu_input(g, an, cases[k].ra, cases[k].a);
      int b = cases[k].rb ? tu_input(g, bn, cases[k].rb, cases[k].b) : -1;
      tu_output(g, einsum(g, cases[k].eq, a, b));
      fam[k] = tu_nan_eltwise;
    }
    check_generated(g, "einsum", 0.41f, &runnable[ti], fam);
    CU_ASSERT_EQUAL(live(g, OP_EINSUM), 3); /* the diagonal, the broadcast, "ij,jk->i" */
    CU_ASSERT(live(g, OP_MATMUL) + live(g, OP_GEMM) >= 10);
    const Value *v = &g->values[g->outputs[8]], *w = &g->values[g->outputs[12]];
    CU_ASSERT(v->rank == 0);
    CU_ASSERT(w->rank == 2 && w->dims[0] == 5 && w->dims[1] == 2);
    graph_free(g);
  }
  /* values: [[1,2],[3,4]] [[5,6],[7,8]] */
  Graph *g = graph_new();
  const int64_t d2[2] = {2, 2};
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  int ca = tu_const(g, "", 2, d2, a), cb = tu_const(g, "", 2, d2, b);
  tu_output(g, einsum(g, "ij,jk->ik", ca, cb));
  tu_output(g, einsum(g, "ij,kj", ca, cb));
  tu_output(g, einsum(g, "ii", ca, -1));
  tu_output(g, einsum(g, "ij->j", ca, -1));
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  float *o[4] = {0};
  CU_ASSERT_FATAL(interp_run(g, NULL, o, &d));
  const float want[4][4] = {{19, 22, 43, 50}, {17, 23, 39, 53}, {5}, {4, 6}};
  const int len[4] = {4, 4, 1, 2};
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < len[k]; i++) {
      if (o[k][i] != want[k][i])
        fprintf(stderr, "\neinsum %d [%d]: %g, want %g\n", k, i, o[k][i], want[k][i]);
      CU_ASSERT(o[k][i] == want[k][i]);
    }
    free(o[k]);
  }
  sb_free(&d.log);
  graph_free(g);
  /* The ONNX conformance cases are float64, which no graph input or output
   * is (the runner skips them): here through the interpreter, inputs frozen,
   * in float64 (interp_run gives an output of another type in its own
   * bytes). */
  static const char *const onnx_cases[] = {"batch_diagonal", "batch_matmul", "inner_prod", "sum",
                                           "transpose"};
  for (int k = 0; k < 5; k++) {
    char dir[512], model[600], f[2][700], spec[2][1600], out[700];
    snprintf(dir, sizeof dir, "/usr/share/libonnx-testdata/data/node/test_einsum_%s",
             onnx_cases[k]);
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    if (access(model, R_OK)) {
      fprintf(stderr, "\n[no %s: skipped]\n", model);
      continue;
    }
    Graph *probe = graph_new();
    Diag dp = {.quiet = true};
    CU_ASSERT_FATAL(onnx_load(probe, model, &dp));
    const char *fr[2];
    int nf = probe->ninputs;
    for (int i = 0; i < nf; i++) {
      snprintf(f[i], sizeof f[i], "%s/test_data_set_0/input_%d.pb", dir, i);
      snprintf(spec[i], sizeof spec[i], "%s=%s", probe->values[probe->inputs[i]].name, f[i]);
      fr[i] = spec[i];
    }
    graph_free(probe);
    sb_free(&dp.log);
    CompileJob j = {.model = model, .target = "scalar", .passes = "none", .nfreeze = nf,
                    .freeze = fr};
    Diag dl = {.quiet = true};
    Graph *gl = cd_load_model(&j, NULL, NULL, &dl);
    if (!gl)
      fprintf(stderr, "\n%s: %s\n", onnx_cases[k], dl.log.buf ? dl.log.buf : "?");
    CU_ASSERT_FATAL(gl != NULL);
    const Value *yv = &gl->values[gl->outputs[0]];
    CU_ASSERT_FATAL(yv->dtype == DT_DOUBLE && gl->ninputs == 0);
    float *yo[1] = {NULL};
    CU_ASSERT_FATAL(interp_run(gl, NULL, yo, &dl));
    const double *Y = (const double *)(void *)yo[0];
    snprintf(out, sizeof out, "%s/test_data_set_0/output_0.pb", dir);
    HostTensor want_t;
    CU_ASSERT_FATAL(tensor_read(out, &want_t, &dl));
    CU_ASSERT_FATAL(tensor_numel(&want_t) == value_numel(yv));
    double err = 0;
    for (int64_t i = 0; i < value_numel(yv); i++) {
      double w = want_t.dtype == DT_DOUBLE ? ((const double *)want_t.data)[i]
                                           : ((const float *)want_t.data)[i];
      double e = fabs(Y[i] - w) / (1 + fabs(w));
      err = e > err ? e : err;
    }
    if (!(err < 1e-6))
      fprintf(stderr, "\ntest_einsum_%s: error %g\n", onnx_cases[k], err);
    CU_ASSERT(err < 1e-6);
    tensor_free(&want_t);
    free(yo[0]);
    sb_free(&dl.log);
    graph_free(gl);
  }
  /* what Cardinal does not run says so */
  static const struct {
    const char *eq;
    int nin;
    const char *want;
  } bad[] = {
      {"ij,jk,kl->il", 3, "equation \"ij,jk,kl->il\" with 3 operands is not one Cardinal runs: "
                          "it takes an Einsum of one or two operands"},
      {"ij,jk->iz", 2, "equation \"ij,jk->iz\": the output's 'z' is no operand's"},
      {"ijk,jk->ik", 2, "operand 0 has rank 2, its term names 3 dims"},
      {"ij,ij->ij", 2, "a label stands for dims of extents 2 and 3"},
  };
  for (int k = 0; k < 4; k++) {
    g = graph_new();
    const int64_t d23[2] = {2, 3}, d32[2] = {3, 2};
    int ins[3] = {tu_input(g, "a", 2, d23), tu_input(g, "b", 2, k == 3 ? d32 : d32),
                  tu_input(g, "c", 2, d23)};
    Node *n;
    tu_output(g, tu_node(g, "Einsum", bad[k].nin, ins, &n));
    tu_attr_str(g, n, "equation", bad[k].eq);
    n->name = arena_strdup(&g->arena, "the_node");
    Diag e = {.quiet = true};
    CU_ASSERT_FALSE(graph_infer(g, &e));
    bool has = tu_log_has(&e, bad[k].want) && tu_log_has(&e, "node 'the_node' (Einsum)");
    if (!has)
      fprintf(stderr, "\n%s: got %s\n", bad[k].want, e.log.buf ? e.log.buf : "nothing");
    CU_ASSERT(has);
    sb_free(&e.log);
    graph_free(g);
  }
}

/* What stays unsupported says so, naming the node, the reason and a way out. */
static void test_errors(void) {
  static const struct {
    const char *op, *attr, *val, *want;
    bool runtime_scales;
  } cases[] = {
      {"Resize", "mode", "area", "mode 'area' is not one Cardinal knows", false},
      {"Resize", "coordinate_transformation_mode", "center", "'center' is not one ONNX defines",
       false},
      {"Resize", NULL, NULL, "scales 'y' must be a constant (it is computed at run time): "
       "freeze the inputs it depends on", true},
      {"Resize", "antialias", NULL, "antialias = 1 is not supported", false},
      {"Range", NULL, NULL, "its start 'y' must be a constant: the output's length depends "
       "on it (freeze it with --freeze y=FILE)", true},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    Graph *g = graph_new();
    const int64_t xd[4] = {1, 1, 2, 2}, four[1] = {4};
    const float s[4] = {1, 1, 2, 2};
    int x = tu_input(g, "x", 4, xd);
    Node *n;
    if (!strcmp(cases[k].op, "Range")) {
      int yv = tu_input(g, "y", 0, NULL);
      int in[3] = {yv, scalar_f(g, 4), scalar_f(g, 1)};
      tu_output(g, tu_node(g, "Range", 3, in, &n));
    } else {
      int sv = cases[k].runtime_scales ? tu_input(g, "y", 1, four) : tu_const(g, "", 1, four, s);
      int in[3] = {x, -1, sv};
      tu_output(g, tu_node(g, "Resize", 3, in, &n));
      if (cases[k].attr && cases[k].val)
        tu_attr_str(g, n, cases[k].attr, cases[k].val);
      else if (cases[k].attr)
        tu_attr_int(g, n, cases[k].attr, 1);
    }
    n->name = arena_strdup(&g->arena, "the_node");
    Diag d = {.quiet = true};
    CU_ASSERT_FALSE(graph_infer(g, &d));
    bool has = tu_log_has(&d, cases[k].want) && tu_log_has(&d, "node 'the_node'");
    if (!has)
      fprintf(stderr, "\n%s: got %s\n", cases[k].want, d.log.buf ? d.log.buf : "nothing");
    CU_ASSERT(has);
    sb_free(&d.log);
    graph_free(g);
  }
}

/* Sizes a file asks for are checked where they are first known: a Range,
 * a Tile, an Expand, a ConstantOfShape or a Resize past the tensor limit
 * is an error naming the node, never an allocation. */
static void test_hostile_sizes(void) {
  for (int k = 0; k < 5; k++) {
    Graph *g = graph_new();
    const int64_t xd[4] = {1, 1, 2, 2}, four[1] = {4};
    int x = tu_input(g, "x", 4, xd), y;
    Node *n;
    if (k == 0) {
      int in[3] = {scalar_f(g, 0), scalar_f(g, 1e12f), scalar_f(g, 1)};
      y = tu_node(g, "Range", 3, in, &n);
    } else if (k == 1) {
      const int64_t reps[4] = {1, 1, (int64_t)1 << 40, 1};
      y = node2(g, "Tile", x, vec_i64(g, 4, reps));
    } else if (k == 2) {
      const int64_t shp[4] = {(int64_t)1 << 50, 1, 2, 2};
      y = node2(g, "Expand", x, vec_i64(g, 4, shp));
    } else if (k == 3) {
      const int64_t shp[2] = {(int64_t)1 << 20, (int64_t)1 << 20};
      y = node1(g, "ConstantOfShape", vec_i64(g, 2, shp));
    } else {
      const float s[4] = {1, 1, 1e15f, 1};
      int in[3] = {x, -1, tu_const(g, "", 1, four, s)};
      y = tu_node(g, "Resize", 3, in, &n);
    }
    tu_output(g, y);
    Diag d = {.quiet = true};
    uint64_t bytes = cd_alloc_bytes();
    CU_ASSERT_FALSE(graph_infer(g, &d));
    CU_ASSERT(cd_alloc_bytes() - bytes < ((uint64_t)64 << 20));
    bool said = tu_log_has(&d, "too large");
    if (!said)
      fprintf(stderr, "\nhostile size %d: %s\n", k, d.log.buf ? d.log.buf : "no error");
    CU_ASSERT(said);
    sb_free(&d.log);
    graph_free(g);
  }
}

void add_zoo_suite(void) {
  CU_pSuite s = CU_add_suite("zoo", NULL, NULL);
  ADD(s, test_shape_arithmetic_folds);
  ADD(s, test_runtime_kernels);
  ADD(s, test_resize_kernels);
  ADD(s, test_values);
  ADD(s, test_mod);
  ADD(s, test_group_norm);
  ADD(s, test_gathernd);
  ADD(s, test_argmax);
  ADD(s, test_einsum);
  ADD(s, test_errors);
  ADD(s, test_hostile_sizes);
}
