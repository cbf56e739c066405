/*
 * test_main.c — the CUnit unit suites: frontend (loader and its errors),
 * shape inference, the verifier, the memory planner, the interpreter and
 * passes, codegen, the runtime's helpers.
 */
#include "testutil.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[] = "/tmp/cardinal-unit-XXXXXX";

const char *tu_path(const char *file) {
  static char buf[8][4096];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", scratch, file);
  return buf[k];
}

const char *tu_pch(void) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/pch", scratch);
  return buf;
}

/* A copy of ints[n] with room for one more, in the graph's arena (freed
 * with the graph, as a loader's are). */
int *tu_grow_ints(Graph *g, const int *ints, int n) {
  int *p = arena_alloc(&g->arena, sizeof(int) * (size_t)(n + 1));
  if (n)
    memcpy(p, ints, sizeof(int) * (size_t)n);
  return p;
}

int tu_input(Graph *g, const char *name, int rank, const int64_t *dims) {
  int v = graph_add_value(g, name);
  value_set_shape(&g->values[v], DT_FLOAT, rank, dims);
  g->values[v].is_input = true;
  g->inputs = tu_grow_ints(g, g->inputs, g->ninputs);
  g->inputs[g->ninputs++] = v;
  return v;
}

int tu_const(Graph *g, const char *name, int rank, const int64_t *dims,
             const float *data) {
  return graph_add_typed_const(g, name, DT_FLOAT, rank, dims, data);
}

int tu_node(Graph *g, const char *op, int nin, const int *ins, Node **out) {
  int ni = graph_add_node(g, op_lookup(op, ""), op, nin, 1);
  int v = graph_add_value(g, "");
  Node *n = &g->nodes[ni];
  n->opset = 13;
  for (int i = 0; i < nin; i++)
    n->in[i] = ins[i];
  n->out[0] = v;
  g->values[v].producer = ni;
  if (out)
    *out = n;
  return v;
}

void tu_output(Graph *g, int v) {
  g->outputs = tu_grow_ints(g, g->outputs, g->noutputs);
  g->outputs[g->noutputs++] = v;
  g->values[v].is_output = true;
}

float *tu_interp(Graph *g, const float *x) {
  float *outs[8] = {0};
  const float *ins[1] = {x};
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(interp_run(g, ins, outs, &d));
  sb_free(&d.log);
  for (int i = 1; i < g->noutputs; i++)
    free(outs[i]);
  return outs[0];
}

static Attr *new_attr(Graph *g, Node *n, const char *name, AttrType type) {
  Attr *a = arena_alloc(&g->arena, sizeof(Attr) * (size_t)(n->nattrs + 1));
  if (n->nattrs)
    memcpy(a, n->attrs, sizeof(Attr) * (size_t)n->nattrs);
  n->attrs = a;
  a = &a[n->nattrs++];
  a->name = arena_strdup(&g->arena, name);
  a->type = type;
  return a;
}

void tu_attr_int(Graph *g, Node *n, const char *name, int64_t v) {
  new_attr(g, n, name, AT_INT)->i = v;
}

void tu_attr_float(Graph *g, Node *n, const char *name, float v) {
  new_attr(g, n, name, AT_FLOAT)->f = v;
}

void tu_attr_ints(Graph *g, Node *n, const char *name, int count, const int64_t *v) {
  Attr *a = new_attr(g, n, name, AT_INTS);
  a->count = count;
  a->ints = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)(count + 1));
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
}

void tu_attr_str(Graph *g, Node *n, const char *name, const char *s) {
  new_attr(g, n, name, AT_STRING)->s = arena_strdup(&g->arena, s);
}

void tu_attr_tensor(Graph *g, Node *n, const char *name, int v) {
  new_attr(g, n, name, AT_TENSOR)->tensor = v;
}

bool tu_log_has(const Diag *d, const char *needle) {
  return d->log.buf && strstr(d->log.buf, needle);
}

/* unit_tests [SUITE]: every suite, or the one named. */
int main(int argc, char **argv) {
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 2;
  }
  if (CU_initialize_registry() != CUE_SUCCESS)
    return 2;
  add_frontend_suite();
  add_infer_suite();
  add_verify_suite();
  add_plan_suite();
  add_interp_suite();
  add_passes_suite();
  add_dsl_suite();
  add_codegen_suite();
  add_hostile_suite();
  add_runtime_suite();
  add_quant_suite();
  add_zoo_suite();
  add_onnx_write_suite();
  add_quantize_suite();
  add_cut_suite();
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_pSuite only = argc > 1 ? CU_get_suite(argv[1]) : NULL;
  if (argc > 1 && !only) {
    fprintf(stderr, "no suite '%s'\n", argv[1]);
    return 2;
  }
  CU_pTest test = only && argc > 2 ? CU_get_test(only, argv[2]) : NULL;
  if (argc > 2 && !test) {
    fprintf(stderr, "no test '%s' in suite '%s'\n", argv[2], argv[1]);
    return 2;
  }
  if (test)
    CU_basic_run_test(only, test);
  else if (only)
    CU_basic_run_suite(only);
  else
    CU_basic_run_tests();
  unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  cd_rm_rf(scratch);
  return failed ? 1 : 0;
}
