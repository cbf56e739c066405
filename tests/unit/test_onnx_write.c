/*
 * test_onnx_write.c — onnx_write, the IR back to ONNX: committed ONNX
 * fixtures and a DSL model round trip (written, loaded again: the same
 * live ops in the same order, the interpreter's outputs bit for bit), and
 * a fused graph is refused by node name with no file left behind.
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SRC(rel) CARDINAL_SOURCE_DIR "/" rel

/* Loads an .onnx or .nx model and infers it, as the tests' loaders do. */
static Graph *load_model(const char *path) {
  Graph *g = graph_new();
  Diag d = {.quiet = true};
  size_t n = strlen(path);
  bool nx = n > 3 && !strcmp(path + n - 3, ".nx");
  bool ok = (nx ? dsl_load_model(g, path, NULL, 0, &d) : onnx_load(g, path, &d)) &&
            graph_infer(g, &d);
  if (!ok) {
    fprintf(stderr, "%s: %s", path, d.log.buf ? d.log.buf : "failed\n");
    graph_free(g);
    g = NULL;
  }
  sb_free(&d.log);
  return g;
}

/* The interpreter's outputs on x[i] = sin(0.37 i) for every input. */
static float **run(Graph *g) {
  const float *ins[8] = {0};
  CU_ASSERT_FATAL(g->ninputs <= 8 && g->noutputs <= 8);
  for (int i = 0; i < g->ninputs; i++) {
    int64_t n = value_numel(&g->values[g->inputs[i]]);
    float *x = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t k = 0; k < n; k++)
      x[k] = sinf(0.37f * (float)k);
    ins[i] = x;
  }
  float **outs = calloc(8, sizeof(float *));
  Diag d = {.quiet = true};
  CU_ASSERT(interp_run(g, ins, outs, &d));
  sb_free(&d.log);
  for (int i = 0; i < g->ninputs; i++)
    free((void *)ins[i]);
  return outs;
}

static int live_nodes(const Graph *g) {
  int n = 0;
  for (int i = 0; i < g->nnodes; i++)
    n += !g->nodes[i].dead;
  return n;
}

/* Writes the model at `src`, loads the file back, compares. */
static void round_trip(const char *src, const char *out) {
  Graph *a = load_model(src);
  CU_ASSERT_FATAL(a != NULL);
  Diag d = {.quiet = true};
  const char *path = tu_path(out);
  size_t live = cd_live_blocks();
  bool wrote = onnx_write(a, path, &d);
  if (!wrote)
    fprintf(stderr, "%s", d.log.buf ? d.log.buf : "");
  CU_ASSERT_FATAL(wrote);
  CU_ASSERT_EQUAL(cd_live_blocks(), live); /* everything it allocated is freed */
  sb_free(&d.log);
  Graph *b = load_model(path);
  CU_ASSERT_FATAL(b != NULL);
  /* (a) the same live ops in the same order */
  CU_ASSERT(live_nodes(a) > 0);
  CU_ASSERT_EQUAL(live_nodes(a), live_nodes(b));
  for (int i = 0, j = 0; i < a->nnodes && j < b->nnodes; i++, j++) {
    while (i < a->nnodes && a->nodes[i].dead)
      i++;
    while (j < b->nnodes && b->nodes[j].dead)
      j++;
    if (i == a->nnodes || j == b->nnodes) {
      CU_ASSERT(i == a->nnodes && j == b->nnodes);
      break;
    }
    CU_ASSERT_EQUAL(a->nodes[i].op, b->nodes[j].op);
    CU_ASSERT_STRING_EQUAL(a->nodes[i].op_type, b->nodes[j].op_type);
    CU_ASSERT_EQUAL(a->nodes[i].nattrs, b->nodes[j].nattrs);
  }
  CU_ASSERT_EQUAL(a->ninputs, b->ninputs);
  CU_ASSERT_EQUAL_FATAL(a->noutputs, b->noutputs);
  /* (b) the interpreter's outputs, bit for bit */
  float **ya = run(a), **yb = run(b);
  for (int o = 0; o < a->noutputs; o++) {
    const Value *va = &a->values[a->outputs[o]], *vb = &b->values[b->outputs[o]];
    CU_ASSERT_EQUAL(va->rank, vb->rank);
    CU_ASSERT_EQUAL(value_numel(va), value_numel(vb));
    CU_ASSERT(ya[o] && yb[o] &&
              !memcmp(ya[o], yb[o], sizeof(float) * (size_t)value_numel(va)));
    free(ya[o]);
    free(yb[o]);
  }
  free(ya);
  free(yb);
  graph_free(a);
  graph_free(b);
}

static void test_write_resnext_tiny(void) {
  round_trip(SRC("tests/e2e/fixtures/resnext_tiny_bn_op11.onnx"), "rt_bn_op11.onnx");
}

static void test_write_opset9(void) {
  round_trip(SRC("tests/e2e/fixtures/resnext_tiny_op9.onnx"), "rt_op9.onnx");
}

static void test_write_block_forms(void) {
  round_trip(SRC("tests/e2e/fixtures/block_form_a.onnx"), "rt_form_a.onnx");
  round_trip(SRC("tests/e2e/fixtures/block_form_c_dynamic.onnx"), "rt_form_c_dyn.onnx");
}

/* The DSL leaves intermediates unnamed: the writer names them. */
static void test_write_dsl(void) {
  round_trip(SRC("examples/resnext/cifar/resnext_tiny.nx"), "rt_dsl.onnx");
}

/* A second write over the first replaces it whole. */
static void test_write_replaces(void) {
  round_trip(SRC("tests/e2e/fixtures/block_form_c.onnx"), "rt_twice.onnx");
  round_trip(SRC("tests/e2e/fixtures/block_form_c.onnx"), "rt_twice.onnx");
}

/* Hand-built: unnamed values, a name repeated, a name the writer would
 * make up for another value ("v3"); all must come out unique, the inputs
 * and outputs keeping theirs; nodes named alike get unique names ("n",
 * "n_1": ONNX Runtime refuses repeats). */
static void test_write_names(void) {
  Graph *g = graph_new();
  const int64_t dims[2] = {2, 3};
  const float c[6] = {1, -2, 3, -4, 5, -6};
  int x = tu_input(g, "x", 2, dims);            /* value 0 */
  int k = tu_const(g, "v3", 2, dims, c);        /* value 1: "v3" is value 3's made-up name */
  int r = tu_node(g, "Relu", 1, &x, NULL);      /* value 2, unnamed */
  int ins[2] = {r, k};
  int a = tu_node(g, "Add", 2, ins, NULL);      /* value 3, unnamed */
  int k2 = tu_const(g, "x", 2, dims, c);        /* value 4: a second "x" */
  int ins2[2] = {a, k2};
  int y = tu_node(g, "Mul", 2, ins2, NULL);
  g->values[y].name = arena_strdup(&g->arena, "y");
  tu_output(g, y);
  for (int i = 0; i < g->nnodes; i++)
    g->nodes[i].name = arena_strdup(&g->arena, i == 2 ? "m" : "n");
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  const char *path = tu_path("names.onnx");
  CU_ASSERT_FATAL(onnx_write(g, path, &d));
  Graph *b = load_model(path); /* the loader refuses a name defined twice */
  CU_ASSERT_FATAL(b != NULL);
  CU_ASSERT_STRING_EQUAL(b->values[b->inputs[0]].name, "x");
  CU_ASSERT_STRING_EQUAL(b->values[b->outputs[0]].name, "y");
  CU_ASSERT(graph_find_value(b, "v3") >= 0 && b->values[graph_find_value(b, "v3")].data);
  CU_ASSERT_STRING_EQUAL(b->nodes[0].name, "n");
  CU_ASSERT_STRING_EQUAL(b->nodes[1].name, "n_1");
  CU_ASSERT_STRING_EQUAL(b->nodes[2].name, "m");
  const float xin[6] = {0.5f, -1, 2, -3, 4, -5};
  float *ya = tu_interp(g, xin), *yb = tu_interp(b, xin);
  CU_ASSERT(!memcmp(ya, yb, sizeof xin));
  free(ya);
  free(yb);
  sb_free(&d.log);
  graph_free(g);
  graph_free(b);
}

/* A folder that does not exist: an error naming the path, nothing made. */
static void test_write_bad_folder(void) {
  Graph *g = load_model(SRC("tests/e2e/fixtures/block_form_c.onnx"));
  CU_ASSERT_FATAL(g != NULL);
  Diag d = {.quiet = true};
  CU_ASSERT_FALSE(onnx_write(g, tu_path("no/such/folder/m.onnx"), &d));
  CU_ASSERT(tu_log_has(&d, "cannot create a temporary file"));
  CU_ASSERT(tu_log_has(&d, "m.onnx"));
  sb_free(&d.log);
  graph_free(g);
}

/* Entries of folder dir (. and .. aside). */
static int entries(const char *dir) {
  DIR *dp = opendir(dir);
  CU_ASSERT_FATAL(dp != NULL);
  int n = 0;
  for (struct dirent *e; (e = readdir(dp));)
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(dp);
  return n;
}

/* After the fusion passes a Conv carries an epilogue: refused, naming it. */
static void test_write_refuses_fused(void) {
  Graph *g = load_model(SRC("tests/e2e/fixtures/resnext_tiny_bn_op11.onnx"));
  CU_ASSERT_FATAL(g != NULL);
  Diag d = {.quiet = true};
  int order[CD_MAX_PASSES], n;
  PassStats st[CD_MAX_PASSES];
  CU_ASSERT_FATAL(passes_parse("fold-bn,fuse-residual,fuse-activation", order, &n, &d));
  CU_ASSERT_FATAL(passes_run(g, order, n, st, true, NULL, NULL, &d));
  const Node *fused = NULL;
  for (int i = 0; i < g->nnodes && !fused; i++)
    if (!g->nodes[i].dead && g->nodes[i].ep.act != OP_COUNT)
      fused = &g->nodes[i];
  CU_ASSERT_FATAL(fused != NULL);
  const char *dir = tu_path("fused");
  CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
  char path[4200];
  snprintf(path, sizeof path, "%s/m.onnx", dir);
  CU_ASSERT_FALSE(onnx_write(g, path, &d));
  char needle[300];
  snprintf(needle, sizeof needle, "node '%s'", node_label(fused));
  CU_ASSERT(tu_log_has(&d, needle));
  CU_ASSERT(tu_log_has(&d, "fusion passes"));
  CU_ASSERT_EQUAL(entries(dir), 0); /* neither the file nor a temporary one */
  sb_free(&d.log);
  graph_free(g);
}

/* A hand-set epilogue, and an internal op: each refused by node name. */
static void test_write_refuses_internal(void) {
  Graph *g = load_model(SRC("tests/e2e/fixtures/block_form_c.onnx"));
  CU_ASSERT_FATAL(g != NULL);
  Node *conv = NULL;
  for (int i = 0; i < g->nnodes && !conv; i++)
    if (!g->nodes[i].dead && g->nodes[i].op == OP_CONV)
      conv = &g->nodes[i];
  CU_ASSERT_FATAL(conv != NULL);
  const char *path = tu_path("epilogue.onnx");
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(onnx_write(g, path, &d)); /* a good file there first */
  struct stat before;
  CU_ASSERT_FATAL(stat(path, &before) == 0);
  int entries_before = entries(tu_path(""));
  conv->ep.residual = conv->in[0];
  CU_ASSERT_FALSE(onnx_write(g, path, &d));
  char needle[300];
  snprintf(needle, sizeof needle, "node '%s' (Conv) carries a fused epilogue", node_label(conv));
  CU_ASSERT(tu_log_has(&d, needle));
  struct stat sb; /* the good file is still there, untouched */
  CU_ASSERT(stat(path, &sb) == 0 && sb.st_ino == before.st_ino && sb.st_size == before.st_size);
  CU_ASSERT_EQUAL(entries(tu_path("")), entries_before);
  conv->ep.residual = -1;
  conv->op = OP_REORDER;
  sb_free(&d.log);
  d = (Diag){.quiet = true};
  CU_ASSERT_FALSE(onnx_write(g, path, &d));
  CU_ASSERT(tu_log_has(&d, "an op Cardinal's passes make"));
  CU_ASSERT(stat(path, &sb) == 0 && sb.st_ino == before.st_ino);
  sb_free(&d.log);
  graph_free(g);
}

void add_onnx_write_suite(void) {
  CU_pSuite s = CU_add_suite("onnx_write", NULL, NULL);
  ADD(s, test_write_resnext_tiny);
  ADD(s, test_write_opset9);
  ADD(s, test_write_block_forms);
  ADD(s, test_write_dsl);
  ADD(s, test_write_replaces);
  ADD(s, test_write_names);
  ADD(s, test_write_bad_folder);
  ADD(s, test_write_refuses_fused);
  ADD(s, test_write_refuses_internal);
}
