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

void add_codegen_suite(void) {
  CU_pSuite s = CU_add_suite("codegen", NULL, NULL);
  ADD(s, test_hostile_names);
  ADD(s, test_float_literals);
  ADD(s, test_identifiers);
}
