/*
 * test_dsl.c — the DSL: the lexer, the parser (each construct), every error
 * class (located, and several in one run), the safetensors reader (good,
 * truncated, bad JSON, bad offsets, wrong dtype), weight binding, and the
 * three ResNeXt block forms computing the same function.
 */
#include "dsl.h"
#include "parser.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dsl_tokens(const char *text, int *out, int max);

static const char *write_text(const char *name, const char *text) {
  const char *p = tu_path(name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
  return p;
}

/* Compiles `text` as a .nx file; returns the graph or NULL, errors in d. */
static Graph *load(const char *text, const char *weights, Diag *d) {
  const char *p = write_text("t.nx", text);
  Graph *g = graph_new();
  d->quiet = true;
  if (!dsl_load_model(g, p, weights, 0, d) || !graph_infer(g, d)) {
    graph_free(g);
    return NULL;
  }
  return g;
}

static void expect_error(const char *text, const char *needle, int line) {
  Diag d = {0};
  Graph *g = load(text, NULL, &d);
  CU_ASSERT(g == NULL);
  char where[64];
  snprintf(where, sizeof where, "t.nx:%d:", line);
  bool ok = tu_log_has(&d, needle) && tu_log_has(&d, where);
  if (!ok)
    fprintf(stderr, "\nexpected '%s' at line %d in:\n%s\n", needle, line, d.log.buf ? d.log.buf : "");
  CU_ASSERT(ok);
  CU_ASSERT(tu_log_has(&d, "^")); /* the caret line */
  graph_free(g);
  sb_free(&d.log);
}

/* Compiles `text` as t.nx and checks its diagnostics exactly: the lines
 * saying "error:" or "note:", with the scratch folder taken out of the
 * paths, are `want` (NULL-terminated), in order. */
static void expect_diags(const char *text, const char *const *want) {
  Diag d = {0};
  Graph *g = load(text, NULL, &d);
  CU_ASSERT(g == NULL);
  const char *path = tu_path("t.nx");
  size_t dir = strlen(path) - strlen("t.nx");
  StrBuf got = {0};
  for (const char *p = d.log.buf ? d.log.buf : ""; *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(n < 1000 ? n : 1000), p);
    if (strstr(line, ": error: ") || strstr(line, ": note: "))
      sb_printf(&got, "%s\n", strncmp(line, path, dir) ? line : line + dir);
    p = e ? e + 1 : p + n;
  }
  StrBuf exp = {0};
  for (int i = 0; want[i]; i++)
    sb_printf(&exp, "%s\n", want[i]);
  bool ok = !strcmp(got.buf ? got.buf : "", exp.buf ? exp.buf : "");
  if (!ok)
    fprintf(stderr, "\nexpected:\n%sgot:\n%s(full log:\n%s)\n", exp.buf ? exp.buf : "",
            got.buf ? got.buf : "", d.log.buf ? d.log.buf : "");
  CU_ASSERT(ok);
  sb_free(&got);
  sb_free(&exp);
  sb_free(&d.log);
}

static void test_lexer(void) {
  int t[64];
  int n = dsl_tokens("y = x -> conv(64, k=3) # comment\n  -> bn()\nfor i in 0..3 {", t, 64);
  int want[] = {IDENT, '=', IDENT, ARROW, IDENT, '(', INT, ',', IDENT, '=', INT, ')',
                ARROW, IDENT, '(', ')', NL, FOR, IDENT, IN, INT, DOTDOT, INT, '{'};
  CU_ASSERT_EQUAL(n, (int)(sizeof want / sizeof want[0]));
  for (int i = 0; i < n && i < (int)(sizeof want / sizeof want[0]); i++)
    CU_ASSERT_EQUAL(t[i], want[i]);
  n = dsl_tokens("1.5 2e-3 \"s\" true f(\n a\n) // c", t, 64);
  int want2[] = {FLOAT, FLOAT, STRING, BOOL, IDENT, '(', IDENT, ')'};
  CU_ASSERT_EQUAL(n, 8); /* newlines inside ( ) vanish */
  for (int i = 0; i < n && i < 8; i++)
    CU_ASSERT_EQUAL(t[i], want2[i]);
  n = dsl_tokens("a == b != c <= d >= e && f || !g", t, 64);
  CU_ASSERT_EQUAL(n, 14);
  CU_ASSERT_EQUAL(t[1], EQ);
  CU_ASSERT_EQUAL(t[11], OR);
}

static DslDef *parse(const char *text, DslProgram *prog, Arena *ar, Diag *d) {
  memset(prog, 0, sizeof *prog);
  prog->arena = ar;
  prog->d = d;
  d->quiet = true;
  CU_ASSERT(dsl_parse_file(prog, write_text("p.nx", text)));
  return prog->ndefs ? &prog->defs[0] : NULL;
}

static void test_parser_constructs(void) {
  Arena ar = {0};
  Diag d = {0};
  DslProgram prog;
  DslDef *b = parse("block b(x, w, s = 1) {\n"
                    "  y = x -> c1: conv(w, k=3) -> relu()\n"
                    "  if s != 1 { y = y } else if s == 2 { y = x } else { y = x }\n"
                    "  for i in 0..3 { y = [i]: f(y) }\n"
                    "  l = [a for a in 0..4]\n"
                    "  m = [1, 2.5, \"s\"]\n"
                    "  v = if true then x.shape[1] else -1\n"
                    "  return y, layer1.0: g(y)\n"
                    "}\n"
                    "model m(x: f32[1, 3, 8, 8]) { return b(x, 4) }\n",
                    &prog, &ar, &d);
  CU_ASSERT_FATAL(b != NULL);
  CU_ASSERT_EQUAL(prog.ndefs, 2);
  CU_ASSERT_FALSE(b->is_model);
  CU_ASSERT_EQUAL(b->nparams, 3);
  CU_ASSERT(b->params[2].dflt && b->params[2].dflt->kind == A_INT);
  Ast **s = b->body->list.v;
  CU_ASSERT_EQUAL(b->body->list.n, 7);
  CU_ASSERT_EQUAL(s[0]->kind, A_ASSIGN);
  CU_ASSERT_EQUAL(s[0]->a->kind, A_CHAIN);             /* (x -> c1: conv) -> relu */
  CU_ASSERT_EQUAL(s[0]->a->a->b->kind, A_LABELED);
  CU_ASSERT_EQUAL(s[1]->kind, A_IF);
  CU_ASSERT_EQUAL(s[1]->c->kind, A_IF);                /* else if */
  CU_ASSERT_EQUAL(s[2]->kind, A_FOR);
  CU_ASSERT_EQUAL(s[3]->a->kind, A_COMP);
  CU_ASSERT_EQUAL(s[4]->a->kind, A_LIST);
  CU_ASSERT_EQUAL(s[4]->a->list.n, 3);
  CU_ASSERT_EQUAL(s[5]->a->kind, A_IFEXPR);
  CU_ASSERT_EQUAL(s[5]->a->b->kind, A_INDEX);          /* x.shape[1] */
  CU_ASSERT_EQUAL(s[6]->kind, A_RETURN);
  CU_ASSERT_EQUAL(s[6]->list.n, 2);
  CU_ASSERT_EQUAL(s[6]->list.v[1]->a->kind, A_MEMBER_INT); /* layer1.0 */
  DslDef *m = &prog.defs[1];
  CU_ASSERT(m->is_model);
  CU_ASSERT_EQUAL(m->params[0].rank, 4);
  CU_ASSERT_EQUAL(m->params[0].dims[1], 3);
  arena_free(&ar);
  sb_free(&d.log);
}

static void test_import(void) {
  write_text("lib.nx", "block double(x) { return x + x }\n");
  unlink(tu_path("alias.nx"));
  CU_ASSERT_FATAL(symlink("lib.nx", tu_path("alias.nx")) == 0);
  /* A file is read once however it is spelled (it was told apart by its
   * path: "'double' is defined twice"), and however many files import it. */
  write_text("also.nx", "import \"./lib.nx\"\nblock quad(x) { return double(double(x)) }\n");
  Diag d = {0};
  Graph *g = load("import \"lib.nx\"\nimport \"./lib.nx\"\nimport \"alias.nx\"\n"
                  "import \"also.nx\"\nmodel m(x: f32[2]) { return quad(x) }\n", NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(g->nnodes, 2);
  CU_ASSERT_EQUAL(g->nodes[0].op, OP_ADD);
  graph_free(g);
  sb_free(&d.log);
  /* A file importing itself was parsed 64 times, then "too many imports";
   * a cycle is an error naming it, at the import that closes it. */
  write_text("self.nx", "import \"self.nx\"\nblock b(x) { return x }\n");
  expect_diags("import \"self.nx\"\nmodel m(x: f32[2]) { return b(x) }\n",
               (const char *[]){"self.nx:1:8: error: 'self.nx' imports itself; remove this "
                                "import", NULL});
  expect_diags("import \"./t.nx\"\nmodel m(x: f32[2]) { return x }\n",
               (const char *[]){"t.nx:1:8: error: 't.nx' imports itself; remove this import",
                                NULL});
  write_text("a.nx", "import \"b.nx\"\nblock fa(x) { return x }\n");
  write_text("b.nx", "import \"lib.nx\"\nimport \"a.nx\"\nblock fb(x) { return x }\n");
  expect_diags("import \"a.nx\"\nmodel m(x: f32[2]) { return fa(x) }\n",
               (const char *[]){"b.nx:2:8: error: import cycle: 'a.nx' imports 'b.nx', which "
                                "imports 'a.nx' again; remove one of these imports (the blocks "
                                "of every file read are visible in all of them)", NULL});
}

static void test_naming(void) {
  Diag d = {0};
  Graph *g = load("block blk(x) { return x -> conv1: conv(4, k=1) -> down.0: bn() }\n"
                  "model m(x: f32[1, 2, 4, 4]) {\n"
                  "  for i in 0..2 { x = layer1[i]: blk(x) }\n"
                  "  return x -> flatten() -> fc: linear(3)\n}\n",
                  NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  const char *names[] = {"layer1.0.conv1.weight", "layer1.1.conv1.bias",
                         "layer1.1.down.0.running_var", "fc.weight"};
  for (int i = 0; i < 4; i++)
    CU_ASSERT(graph_find_value(g, names[i]) >= 0);
  int v = graph_find_value(g, "fc.weight");
  CU_ASSERT_EQUAL(g->values[v].dims[0], 3);
  CU_ASSERT_EQUAL(g->values[v].dims[1], 64);
  graph_free(g);
  sb_free(&d.log);
}

static void test_branch_on_shape(void) {
  Diag d = {0};
  const char *src = "block b(x, out) {\n"
                    "  if x.shape[1] != out { x = x -> proj: conv(out, k=1) }\n"
                    "  return x\n}\n"
                    "model m(x: f32[1, 4, 2, 2]) { return b(x, %d) }\n";
  char text[512];
  snprintf(text, sizeof text, src, 4);
  Graph *g = load(text, NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(g->nnodes, 1); /* just the Identity copying the input out */
  graph_free(g);
  snprintf(text, sizeof text, src, 8);
  g = load(text, NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(g->nodes[0].op, OP_CONV);
  graph_free(g);
  sb_free(&d.log);
}

static void test_error_classes(void) {
  expect_error("model m(x: f32[1, 2]) {\n  y = x +* 2\n  return y\n}\n",
               "expected an expression, found '*'", 2);
  expect_error("block unused(x) {\n  return x -> conv(widht)\n}\n"
               "model m(x: f32[1, 2]) { return x }\n", "undefined name 'widht'", 2);
  expect_error("model m(x: f32[1, 2]) {\n  return x -> frob()\n}\n",
               "undefined block or op 'frob'", 2);
  expect_error("block b(x, w) { return x }\nmodel m(x: f32[1, 2]) {\n  return b(x)\n}\n",
               "block 'b' needs argument 'w'", 3);
  expect_error("block b(x) { return x }\nmodel m(x: f32[1, 2]) {\n  return b(x, 1, 2)\n}\n",
               "block 'b' takes 1 argument, got 3", 3);
  expect_error("block b(x) { return x }\nmodel m(x: f32[1, 2]) {\n  return b(x, y=2)\n}\n",
               "block 'b' has no parameter 'y'", 3);
  expect_error("model m(x: f32[1, 2, 4, 4]) {\n  return x -> conv(4, k=\"3\")\n}\n",
               "conv: argument k must be an int or a list of 2 ints", 2);
  expect_error("model m(x: f32[1, 2, 4, 4]) {\n  return x -> conv(4, strides=2)\n}\n",
               "conv has no argument named 'strides'", 2);
  expect_error("model m(x: f32[1, 2, 4, 4]) {\n  return MaxPool(x, kernel_shape=[\"a\"])\n}\n",
               "attribute kernel_shape: a list of numbers is expected", 2);
  expect_error("model m(x: f32[1, 2, 4, 4]) {\n  return relu(x, x)\n}\n",
               "relu takes 1 positional argument, got 2", 2);
  expect_error("block b(x, c) { return x -> conv(c, k=3, groups=3) }\n"
               "model m(x: f32[1, 4, 4, 4]) {\n  return b(x, 6)\n}\n",
               "do not split into 3 groups", 1);
  expect_error("block b(x, y) { return x + y }\n"
               "model m(x: f32[1, 4], y: f32[1, 3]) {\n  return b(x, y)\n}\n",
               "shapes cannot broadcast", 1);
  expect_error("model m(x: f32[1, 2]) {\n  n = 4 / 0\n  return x\n}\n", "division by zero", 2);
  expect_error("model m(x: f32[1, 2]) {\n  n = 9223372036854775807 * 2\n  return x\n}\n",
               "integer overflow", 2);
  expect_error("model m(x: f32[1, 2]) {\n  for i in 0..1000000 { x = x }\n  return x\n}\n",
               "more than 100000 steps", 2);
  expect_error("model m(x: f32[1, 2]) {\n  return x.size\n}\n", "has no member 'size'", 2);
  expect_error("model m(x: f32[1, 2]) {\n  return 3\n}\n", "must return tensors", 1);
}

/* A block or model without 'return' is reported in it, at its '}', once,
 * in the user's words; the caller sees no made-up value. */
static void test_missing_return(void) {
  expect_diags("block a(x) {\n  y = x -> relu()\n}\n"
               "model m(x: f32[1, 4, 8, 8]) {\n  y = a(x)\n  y = a(y)\n"
               "  z = y -> conv(4, k=1) -> relu()\n  return z\n}\n",
               (const char *[]){"t.nx:3:1: error: block 'a' ends without 'return'",
                                "t.nx:2:3: note: add 'return y' after its last statement",
                                NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  y = x -> relu()\n}\n",
               (const char *[]){"t.nx:3:1: error: model 'm' ends without 'return': a model "
                                "returns its output tensors",
                                "t.nx:2:3: note: add 'return y' after its last statement",
                                NULL});
  expect_diags("block a(x) {\n  if x.rank == 2 {\n    return x\n  }\n}\n"
               "model m(x: f32[1, 4, 8, 8]) {\n  y = a(x)\n  return y -> relu()\n}\n",
               (const char *[]){"t.nx:5:1: error: block 'a' reached its end without a 'return' "
                                "running (its returns are all in branches not taken)",
                                "t.nx:7:7: note: in block 'a' called here", NULL});
}

/* No internal names for kinds of values; a mistake in a block called four
 * times is reported once; a recursion notes each call site once. */
static void test_no_repeats(void) {
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  return x -> conv(true, k=1)\n}\n",
               (const char *[]){"t.nx:2:20: error: conv: the output channel count must be "
                                "an int, not a bool", NULL});
  expect_diags("block b(x) {\n  return x -> conv(4, k=\"3\")\n}\n"
               "model m(x: f32[1, 4, 8, 8]) {\n  for i in 0..4 {\n    x = [i]: b(x)\n  }\n"
               "  x = b(x)\n  return x\n}\n",
               (const char *[]){"t.nx:2:23: error: conv: argument k must be an int or a list "
                                "of 2 ints", "t.nx:6:14: note: in block 'b' called here", NULL});
  expect_diags("block r(x) { return r(x) }\nmodel m(x: f32[1, 2]) {\n  return r(x)\n}\n",
               (const char *[]){"t.nx:1:21: error: block 'r' calls itself more than 64 levels "
                                "deep (does its recursion stop?)",
                                "t.nx:1:21: note: in block 'r' called here",
                                "t.nx:3:10: note: in block 'r' called here", NULL});
}

/* "did you mean" for names, blocks and ops, keywords, layer arguments and
 * op attributes; an ONNX-named op refuses a keyword it does not read. */
static void test_suggestions(void) {
  static const struct {
    const char *body; /* the model's statement, at line 4 */
    const char *want;
  } cases[] = {
      {"  y = x -> conv(widht, k=1)", "t.nx:4:17: error: undefined name 'widht'; did you mean 'width'?"},
      {"  y = x -> conv(4, k=1, bias=False)", "t.nx:4:30: error: undefined name 'False'; did you mean 'false'?"},
      {"  y = bottlenek(x, width)", "t.nx:4:7: error: undefined block or op 'bottlenek'; did you mean 'bottleneck'?"},
      {"  y = x -> rleu()", "t.nx:4:12: error: undefined block or op 'rleu'; did you mean 'relu'?"},
      {"  y = x -> ReLU()", "t.nx:4:12: error: undefined block or op 'ReLU'; did you mean 'relu'?"},
      {"  y = x -> max_pool(k=2)", "t.nx:4:12: error: undefined block or op 'max_pool'; did you mean 'maxpool'?"},
      {"  y = bottleneck", "t.nx:4:7: error: undefined name 'bottleneck'; 'bottleneck' is a block: call it, as bottleneck(...)"},
      {"  y = x -> conv(4, k=3, padding=1)", "t.nx:4:25: error: conv has no argument named 'padding'; did you mean 'pad'?"},
      {"  y = x -> conv(4, kernel_size=3)", "t.nx:4:20: error: conv has no argument named 'kernel_size'; did you mean 'k'?"},
      {"  y = x -> conv(4, k=3, strides=2)", "t.nx:4:25: error: conv has no argument named 'strides'; did you mean 'stride'?"},
      {"  y = x -> conv(4, k=3, frob=2)", "t.nx:4:25: error: conv has no argument named 'frob' (it takes k, stride, pad, dilation, groups, bias)"},
      {"  y = x -> maxpool(kernel_size=2)", "t.nx:4:20: error: maxpool has no argument named 'kernel_size'; did you mean 'k'?"},
      {"  y = x -> bn(epsilon=1e-3)", "t.nx:4:15: error: bn has no argument named 'epsilon'; did you mean 'eps'?"},
      {"  y = MaxPool(x, kernel=[2, 2])", "t.nx:4:18: error: MaxPool takes no attribute 'kernel'; did you mean 'kernel_shape'?"},
      {"  y = x -> relu(inplace=true)", "t.nx:4:17: error: relu takes no attribute 'inplace'"},
      {"  y = bottleneck(x, widht=4)", "t.nx:4:21: error: block 'bottleneck' has no parameter 'widht'; did you mean 'width'?"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "block bottleneck(x, width) { return x }\nmodel m(x: f32[1, 4, 8, 8]) {\n"
             "  width = 4\n%s\n  return y\n}\n", cases[i].body);
    expect_diags(text, (const char *[]){cases[i].want, NULL});
  }
}

/* Arguments: bools are not ints, and after '->' the piped input is not
 * counted among the arguments a message talks about. */
static void test_arguments(void) {
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  return x -> conv(4, k=3, bias=0)\n}\n",
               (const char *[]){"t.nx:2:28: error: conv: argument bias must be true or false, "
                                "not an int", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  return x -> conv(4, k=3, groups=true)\n}\n",
               (const char *[]){"t.nx:2:28: error: conv: argument groups must be an int, "
                                "not a bool", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  return x -> flatten(1)\n}\n",
               (const char *[]){"t.nx:2:15: error: flatten after '->' takes no argument "
                                "besides its input, got 1",
                                "t.nx:2:23: note: attributes are keyword arguments: "
                                "flatten(..., NAME=VALUE)", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  return x -> conv(4, 3)\n}\n",
               (const char *[]){"t.nx:2:15: error: conv after '->' takes 1 positional argument "
                                "besides its input, got 2", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  return conv(x)\n}\n",
               (const char *[]){"t.nx:2:10: error: conv takes 2 positional arguments, got 1",
                                NULL});
  /* An ONNX attribute of the wrong type took its default: exit 0. */
  expect_diags("model m(x: f32[1, 4, 8, 8], w: f32[4, 2, 3, 3]) {\n"
               "  y = Conv(x, w, group=\"a\")\n  z = LeakyRelu(x, alpha=\"zero\")\n"
               "  return y, z, leaky_relu(x, alpha=[1])\n}\n",
               (const char *[]){"t.nx:2:18: error: node 'Conv_0' (Conv): attribute 'group' is "
                                "a string; Conv takes it as an int",
                                "t.nx:3:20: error: node 'LeakyRelu_1' (LeakyRelu): attribute "
                                "'alpha' is a string; LeakyRelu takes it as a float",
                                "t.nx:4:30: error: node 'leaky_relu_2' (LeakyRelu): attribute "
                                "'alpha' is a list of ints; LeakyRelu takes it as a float", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  return MaxPool(x, kernel_shape=3)\n}\n",
               (const char *[]){"t.nx:2:21: error: node 'MaxPool_0' (MaxPool): attribute "
                                "'kernel_shape' is an int; MaxPool takes it as a list of ints",
                                NULL});
  /* A keyword given twice: the first was taken, silently. */
  expect_diags("block f(x, a = 1) { return x }\nmodel m(x: f32[1, 4]) {\n"
               "  y = f(x, a=2, a=3)\n  return leaky_relu(y, alpha=0.1, alpha=0.2)\n}\n",
               (const char *[]){"t.nx:3:17: error: keyword argument 'a' is given twice (first "
                                "at 3:12); keep one",
                                "t.nx:4:35: error: keyword argument 'alpha' is given twice "
                                "(first at 4:24); keep one", NULL});
  /* An int where a float is expected is that number. */
  Diag d = {0};
  Graph *g = load("model m(x: f32[1, 4]) {\n  return LeakyRelu(x, alpha=2)\n}\n", NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL(g->nodes[g->nnodes - 1].p.alpha, 2.0f);
  graph_free(g);
  sb_free(&d.log);
}

/* dropout (identity at inference), silu = x sigmoid(x), gelu (exact or
 * tanh), flatten() after '->'. */
static void test_conveniences(void) {
  Diag d = {0};
  Graph *g = load("model m(x: f32[1, 2, 2, 2]) {\n"
                  "  return x -> dropout(p=0.3) -> silu() -> gelu(approximate=\"tanh\")\n"
                  "           -> flatten()\n}\n", NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  int ops[5] = {0};
  OpKind want[5] = {OP_DROPOUT, OP_SIGMOID, OP_MUL, OP_GELU, OP_FLATTEN};
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; k < 5; k++)
      ops[k] += g->nodes[i].op == want[k];
  for (int k = 0; k < 5; k++)
    CU_ASSERT_EQUAL(ops[k], 1);
  const Value *y = &g->values[g->outputs[0]];
  CU_ASSERT(y->rank == 2 && y->dims[0] == 1 && y->dims[1] == 8);
  const float x[8] = {-3, -1, -0.5f, 0, 0.25f, 1, 2, 4};
  float *out = tu_interp(g, x);
  for (int i = 0; i < 8; i++) {
    double s = x[i] / (1 + exp(-x[i]));
    double ge = 0.5 * s * (1 + tanh(sqrt(2 / M_PI) * (s + 0.044715 * s * s * s)));
    CU_ASSERT_DOUBLE_EQUAL(out[i], ge, 1e-5);
  }
  free(out);
  graph_free(g);
  sb_free(&d.log);
  expect_diags("model m(x: f32[1, 4]) {\n  return x -> dropout(p=1.5)\n}\n",
               (const char *[]){"t.nx:2:23: error: dropout: p is a probability in [0, 1), "
                                "not 1.5", NULL});
  expect_diags("model m(x: f32[1, 4]) {\n  return x -> dropout(prob=0.2)\n}\n",
               (const char *[]){"t.nx:2:23: error: dropout takes no attribute 'prob'; "
                                "did you mean 'p'?", NULL});
}

/* Two layers with one label in one scope would share their parameters:
 * an error naming the first, unless the second says `shared`. */
static void test_duplicate_labels(void) {
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n"
               "  y = x -> c: conv(4, k=1) -> bn1: bn() -> relu()\n"
               "  y = y -> c: conv(8, k=3, pad=1) -> bn1: bn()\n  return y\n}\n",
               (const char *[]){"t.nx:3:12: error: label 'c' already names a layer at 2:12",
                                "t.nx:2:12: note: 'c' first used here",
                                "t.nx:3:12: note: rename one, or write 'shared c:' to use the "
                                "same parameters twice", NULL});
  expect_diags("block b(x) {\n  return x -> conv1: conv(4, k=1) -> bn1: bn()\n}\n"
               "model m(x: f32[1, 4, 8, 8]) {\n  y = b(x)\n  y = b(y)\n  return y\n}\n",
               (const char *[]){"t.nx:2:15: error: label 'conv1' already names a layer, made "
                                "by the call of block 'b' at 5:7",
                                "t.nx:6:7: note: block 'b' called again here, in the same "
                                "scope: label each call (b1: b(...)) to give it its own "
                                "parameters", NULL});
  expect_diags("block b(x) {\n  return x -> conv(4, k=1)\n}\n"
               "model m(x: f32[1, 4, 8, 8]) {\n  y = enc: b(x)\n  y = enc: b(y)\n  return y\n}\n",
               (const char *[]){"t.nx:6:7: error: label 'enc' already names a block call at 5:7",
                                "t.nx:5:7: note: 'enc' first used here",
                                "t.nx:6:7: note: rename one, or write 'shared enc:' to use the "
                                "same parameters twice", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  y = x -> c: conv(4, k=1)\n"
               "  z = x -> shared c: conv(8, k=1)\n  return y + z\n}\n",
               (const char *[]){"t.nx:3:22: error: shared parameter 'c.weight' is [8,4,1,1] "
                                "here but [4,4,1,1] where it was made at 2:15", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  y = shared x\n  return y\n}\n",
               (const char *[]){"t.nx:2:7: error: 'shared' goes before the label of a call: "
                                "shared LABEL: call(...)", NULL});
  expect_diags("model m(x: f32[2]) {\n  a = param(\"w\", [2])\n  b = param(\"w\", [2])\n"
               "  return x + a + b\n}\n",
               (const char *[]){"t.nx:3:7: error: parameter 'w' is already made at 2:7",
                                "t.nx:3:7: note: labels name parameters: give this call another "
                                "label, or write 'shared LABEL:' to reuse that parameter", NULL});
  /* 'shared' of a label no earlier call made made new parameters, silently. */
  expect_diags("block b(x) {\n  return x -> conv1: conv(4, k=1)\n}\n"
               "model m(x: f32[1, 4, 2, 2]) {\n  y = enc: b(x)\n  z = shared enx: b(x)\n"
               "  w = shared q: param(\"w\", [2])\n  return y - z\n}\n",
               (const char *[]){"t.nx:6:7: error: 'shared enx:' names no earlier call in this "
                                "scope; did you mean 'shared enc:'?",
                                "t.nx:7:17: error: shared parameter 'q.w' was never made: "
                                "'shared LABEL: param(...)' reuses a parameter an earlier call "
                                "made; remove 'shared' to make it here", NULL});
  /* Sharing asked for: one set of parameters, read twice. */
  Diag d = {0};
  Graph *g = load("block b(x) {\n  return x -> conv1: conv(4, k=1) -> bn1: bn()\n}\n"
                  "model m(x: f32[1, 4, 2, 2]) {\n  y = enc: b(x)\n  z = shared enc: b(x)\n"
                  "  z = [0]: b(z)\n  for i in 1..2 {\n    z = shared [0]: b(z)\n  }\n"
                  "  return y - z\n}\n",
                  NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  int convs = 0, weights = 0;
  for (int i = 0; i < g->nnodes; i++)
    convs += g->nodes[i].op == OP_CONV;
  for (int v = 0; v < g->nvalues; v++)
    weights += g->values[v].data && strstr(g->values[v].name, "conv1.weight") != NULL;
  CU_ASSERT_EQUAL(convs, 4);
  CU_ASSERT_EQUAL(weights, 2); /* enc.conv1.weight and 0.conv1.weight */
  CU_ASSERT(graph_find_value(g, "enc.conv1.weight") >= 0 && graph_find_value(g, "0.bn1.bias") >= 0);
  graph_free(g);
  sb_free(&d.log);
}

/* Syntax errors: what was expected and found, at the right place, with a
 * hint for what people bring from other languages; an unclosed bracket
 * where it was opened; a missing '}' with the '{'; one error per statement
 * and no cascade: each case gives exactly the lines listed. */
static void test_syntax_errors(void) {
  static const char *const M = "model m(x: f32[1, 4, 8, 8]) {\n";
  static const struct {
    const char *text; /* "%s" is the model's first line */
    const char *want[4];
  } cases[] = {
      {"def bottleneck(x, c) {\n  y = x -> conv(c, k=1) -> relu()\n  return y\n}\n"
       "%s  return bottleneck(x, 4)\n}\n",
       {"t.nx:1:1: error: 'def' does not start a definition; did you mean 'block'?"}},
      {"def f(x):\n  y = x\n  return y\n%s  return f(x)\n}\n",
       {"t.nx:1:1: error: 'def' does not start a definition; did you mean 'block'?"}},
      {"modle n(x: f32[1]) {\n  return x\n}\n",
       {"t.nx:1:1: error: 'modle' does not start a definition; did you mean 'model'?"}},
      {"block a(x):\n  return x\n%s  return a(x)\n}\n",
       {"t.nx:1:11: error: expected '{', found ':'; a body is written in braces, not after a colon"}},
      {"%s  y = x -> relu()\n  return y\n}\ny = layer1: stage(y, 64)\n",
       {"t.nx:5:1: error: expected 'block', 'model' or 'import', found 'y'; statements go "
        "inside the body of a block or a model", "t.nx:4:1: note: the body of 'm' ended here"}},
      {"%s  y = x +* 2\n  z = y ** 3\n  return y\n}\n",
       {"t.nx:2:10: error: expected an expression, found '*'",
        "t.nx:3:10: error: expected an expression, found '*'"}},
      {"%s  y = x -> conv(4, k=1\n  z = y -> relu(\n  return z\n}\n",
       {"t.nx:2:16: error: this '(' is not closed",
        "t.nx:3:3: note: expected ')' or ',' before the next line",
        "t.nx:3:16: error: this '(' is not closed",
        "t.nx:4:3: note: expected ')' or ',' before the next line"}},
      {"%s  y = [x,\n       x\n  return y\n}\n",
       {"t.nx:2:7: error: this '[' is not closed",
        "t.nx:4:3: note: expected ']' or ',' before the next line"}},
      {"block a(x) {\n  y = x -> relu()\n  return y\n\nblock b(x) {\n  return x\n}\n"
       "%s  return b(a(x))\n}\n",
       {"t.nx:5:1: error: expected '}' before 'block'", "t.nx:1:12: note: '{' opened here"}},
      {"block a(x) {\n  if x.rank == 4 {\n    x = x -> relu()\n  return x\n}\n"
       "%s  return a(x)\n}\n",
       {"t.nx:6:1: error: expected '}' before 'model'", "t.nx:2:18: note: '{' opened here"}},
      {"%s  y = x -> relu()\n  return y\n",
       {"t.nx:3:11: error: expected '}' before the end of the file",
        "t.nx:1:29: note: '{' opened here"}},
      {"%s  return x\n}\n}\n", {"t.nx:4:1: error: this '}' closes nothing: no '{' is open",
                                "t.nx:3:1: note: the body of 'm' ended here"}},
      {"%s  y = x -> relu())\n  return y\n}\n",
       {"t.nx:2:18: error: this ')' closes nothing: no '(' is open"}},
      {"%s  for i in range(3) {\n    x = x -> relu()\n  }\n  return x\n}\n",
       {"t.nx:2:12: error: range(...) is Python; the DSL writes the range as 0..3: for i in 0..3"}},
      {"%s  for i in range(3):\n    x = x -> relu()\n  return x\n}\n",
       {"t.nx:2:21: error: expected '..' and a body in braces, found the end of the line; a loop "
        "is written `for i in 0..n { ... }` (n excluded), not Python's `for i in range(n):`"}},
      {"%s  y = x -> conv(4, k=3, stride=2 if true else 1)\n  return y\n}\n",
       {"t.nx:2:34: error: unexpected 'if' after an expression; the DSL's conditional is "
        "`if c then a else b`, not Python's `a if c else b`"}},
      {"%s  n = 3\n  l = [i for i in range(1, n)]\n  return x\n}\n",
       {"t.nx:3:19: error: range(...) is Python; the DSL writes the range as 1..n: for i in 1..n"}},
      {"%s  if x.rank == 4 and x.rank > 2 {\n    x = x -> relu()\n  }\n  return x\n}\n",
       {"t.nx:2:18: error: 'and' is not a keyword of the DSL; did you mean '&&'?"}},
      {"%s  if not true {\n    x = x\n  }\n  return x\n}\n",
       {"t.nx:2:6: error: 'not' is not a keyword of the DSL; did you mean '!'?"}},
      {"%s  if x.rank == 4 {\n    x = x\n  } elif x.rank == 3 {\n    x = x\n  }\n  return x\n}\n",
       {"t.nx:4:5: error: 'elif' is not a keyword of the DSL; did you mean 'else if'?"}},
      {"%s  if x.rank = 4 {\n    x = x -> relu()\n  }\n  return x\n}\n",
       {"t.nx:2:13: error: unexpected '=' in an expression; did you mean '=='?"}},
      {"%s  n = 1\n  n += 1\n  return x\n}\n",
       {"t.nx:3:5: error: '+=' is not in the DSL: write NAME = NAME + ..."}},
      {"model n(x) {\n  return x\n}\n",
       {"t.nx:1:10: error: expected ':', found ')'; a model's inputs are typed: x: f32[1, 3, 32, 32]"}},
      {"%s  y = x \xe2\x86\x92 relu() \xe2\x86\x92 relu()\n  return y\n}\n",
       {"t.nx:2:9: error: '\xe2\x86\x92' (U+2192) is not ASCII; type '->'"}},
      {"%s  y = x \xc3\x97 2\n  return y\n}\n",
       {"t.nx:2:9: error: '\xc3\x97' (U+00D7) is not ASCII; type '*'"}},
      {"%s  y = x $ 2\n  return y\n}\n", {"t.nx:2:9: error: unexpected character '$'"}},
      {"%s  return x\n}\n\xef\xbb\xbf\n",
       {"t.nx:4:1: error: a byte-order mark (U+FEFF) inside the file: delete it"}},
      /* No cascades: a call over several lines broken on its first line, a
       * missing comma at a line's end, a stray '}' or '{' inside a call, a
       * stray '{' in a header, an unterminated string, a '}' too many. */
      {"%s  y = f(x, a +* b,\n        c,\n        d)\n  return y\n}\n",
       {"t.nx:2:15: error: expected an expression, found '*'"}},
      {"%s  y = f(x, a\n        c,\n        d)\n  return y\n}\n",
       {"t.nx:3:9: error: expected ')', ',' or an operator, found 'c'"}},
      {"%s  y = f(x, a }\n        c)\n  return y\n}\n",
       {"t.nx:2:14: error: unexpected '}' inside '(' ... ')'", "t.nx:2:8: note: '(' opened here"}},
      {"%s  y = f({ x)\n  return y\n}\n",
       {"t.nx:2:9: error: expected ')' or an expression, found '{'"}},
      {"block a(x, d { \n  return x\n}\n%s  return a(x, 1)\n}\n",
       {"t.nx:1:14: error: expected ')', ',' or '=', found '{'"}},
      {"%s  if x.rank == \"a {\n    x = x\n  }\n  return x\n}\n",
       {"t.nx:2:16: error: unterminated string"}},
      {"%s  y = x -> conv(4, k=1)\n  }\n  return y\n}\n",
       {"t.nx:4:3: error: expected 'block', 'model' or 'import', found 'return'; statements go "
        "inside the body of a block or a model", "t.nx:3:3: note: the body of 'm' ended here"}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[1024];
    snprintf(text, sizeof text, cases[i].text, M);
    const char *want[5] = {0};
    memcpy(want, cases[i].want, sizeof cases[i].want);
    expect_diags(text, want);
  }
  /* A byte-order mark starting the file is skipped. */
  Diag d = {0};
  char text[256];
  snprintf(text, sizeof text, "\xef\xbb\xbf%s  return x -> relu()\n}\n", M);
  Graph *g = load(text, NULL, &d);
  CU_ASSERT(g != NULL && g->nnodes == 1);
  graph_free(g);
  sb_free(&d.log);
}

/* One mistake, one error: a statement with an error is not run (nor
 * reported again when it runs), names it would have set stay silent, an
 * undefined name or block is reported at its first use only, a condition
 * that cannot be decided silences both branches' names. */
static void test_one_error_per_mistake(void) {
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  c = 4\n"
               "  y = x -> conv(c, k=1, st,ride=1)\n  return y -> relu()\n}\n",
               (const char *[]){"t.nx:3:25: error: a positional argument after keyword arguments",
                                NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  y = x -> conv(widht, k=1)\n"
               "  z = y -> conv(widht, k=1) + y\n  return z -> conv(widht, k=1)\n}\n",
               (const char *[]){"t.nx:2:17: error: undefined name 'widht'", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  y = x -> frob()\n  return y -> frob()\n}\n",
               (const char *[]){"t.nx:2:12: error: undefined block or op 'frob'", NULL});
  /* Independent mistakes are each found, whatever the values: a call's
   * name is checked before anything runs. */
  expect_diags("block unused(x) { return x -> frob() }\nmodel m(x: f32[1, 4, 8, 8]) {\n"
               "  y = x -> conv(64, k=3, padding=1)\n  return y -> rleu()\n}\n",
               (const char *[]){"t.nx:1:31: error: undefined block or op 'frob'",
                                "t.nx:4:15: error: undefined block or op 'rleu'; did you mean "
                                "'relu'?",
                                "t.nx:3:26: error: conv has no argument named 'padding'; did you "
                                "mean 'pad'?", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  y = x\n  if x.shap[1] != 8 {\n"
               "    y = x -> conv(8, k=1)\n  }\n  return y + x -> conv(8, k=1)\n}\n",
               (const char *[]){"t.nx:3:8: error: a tensor has no member 'shap'; did you mean "
                                "'shape'?", NULL});
  expect_diags("model m(x: f32[1, 4, 8, 8]) {\n  return x -> global_avgpool() -> flatt, en()"
               "\n}\n",
               (const char *[]){"t.nx:2:35: error: '->' must be followed by a call: flatt(...)",
                                NULL});
}

/* A file of blocks alone says how to use it. */
static void test_library_file(void) {
  Diag d = {0};
  Graph *g = load("block double(x) {\n  return x + x\n}\nblock twice(x) { return x }\n",
                  NULL, &d);
  CU_ASSERT(g == NULL);
  CU_ASSERT(tu_log_has(&d, "error: this file only defines blocks (double, twice); "
                           "import it from a file with a model: import \"t.nx\" then model "
                           "NAME(x: f32[...]) { ... }"));
  sb_free(&d.log);
}

/* A generated program nested a million levels deep is an error, not a
 * stack overflow. */
static void test_deep_nesting(void) {
  StrBuf sb = {0};
  sb_printf(&sb, "model m(x: f32[1, 2]) {\n  n = 1");
  for (int i = 0; i < 200000; i++)
    sb_printf(&sb, " + 1");
  sb_printf(&sb, "\n  return x\n}\n");
  expect_error(sb.buf, "expressions nest deeper than 500 levels", 2);
  sb_free(&sb);
  sb_printf(&sb, "model m(x: f32[1, 2]) {\n  n = ");
  for (int i = 0; i < 20000; i++)
    sb_printf(&sb, "(");
  sb_printf(&sb, "1");
  for (int i = 0; i < 20000; i++)
    sb_printf(&sb, ")");
  sb_printf(&sb, "\n  return x\n}\n");
  expect_error(sb.buf, "nest too deeply for the parser", 2);
  sb_free(&sb);
  /* More brackets left open than the lexer remembers (256), then a body
   * and the end of the file (found by fuzz_dsl: the lexer closed that body
   * with a '}' that closed nothing, again and again, for ever). */
  sb_printf(&sb, ")\n{\nblock");
  for (int i = 0; i < 300; i++)
    sb_printf(&sb, "(");
  sb_printf(&sb, "{([");
  expect_error(sb.buf, "is not closed", 3);
  sb_free(&sb);
}

static void test_several_errors_at_once(void) {
  Diag d = {0};
  Graph *g = load("model m(x: f32[1, 2, 4, 4]) {\n"
                  "  a = x -> conv(4, k=\"3\")\n"
                  "  b = x -> nope()\n"
                  "  c = x + undefined_thing\n"
                  "  return x\n}\n",
                  NULL, &d);
  CU_ASSERT(g == NULL);
  CU_ASSERT_EQUAL(d.nerrors, 3);
  CU_ASSERT(tu_log_has(&d, "t.nx:2:") && tu_log_has(&d, "t.nx:3:") && tu_log_has(&d, "t.nx:4:"));
  sb_free(&d.log);
}

/* A safetensors file with the given JSON header and data. */
static const char *st_file(const char *name, const char *json, const void *data, size_t n,
                           int64_t declared) {
  const char *p = tu_path(name);
  FILE *f = fopen(p, "wb");
  uint64_t len = declared >= 0 ? (uint64_t)declared : strlen(json);
  for (int i = 0; i < 8; i++)
    fputc((int)(len >> (8 * i)) & 0xff, f);
  fputs(json, f);
  fwrite(data, 1, n, f);
  fclose(f);
  return p;
}

static void test_safetensors_reader(void) {
  float w[6] = {1, 2, 3, 4, 5, 6};
  SafeTensors st;
  Diag d = {.quiet = true};
  const char *good = st_file("good.safetensors",
                             "{\"__metadata__\":{\"format\":\"pt\"},"
                             "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
                             w, sizeof w, -1);
  CU_ASSERT_FATAL(safetensors_open(&st, good, &d));
  CU_ASSERT_EQUAL(st.n, 1);
  const StTensor *t = safetensors_find(&st, "a.weight");
  CU_ASSERT_FATAL(t != NULL);
  CU_ASSERT_EQUAL(t->rank, 2);
  CU_ASSERT_EQUAL(t->dims[1], 3);
  CU_ASSERT_EQUAL(memcmp(t->data, w, 24), 0);
  safetensors_close(&st);
  struct {
    const char *json;
    size_t n;
    int64_t declared;
    const char *needle;
  } bad[] = {
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, 5000, "exceeds the file"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}", 24, -1, "not valid JSON"},
      {"{\"a\" \"dtype\"}", 24, -1, "not valid JSON"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,28]}}", 24, -1, "bad data_offsets"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}", 24, -1, "bad data_offsets"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,24]}}", 24, -1, "bad data_offsets"},
      {"{\"a\":{\"dtype\":\"Q7\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, -1, "unknown dtype"},
      {"{\"a\":{\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, -1, "lacks dtype"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    Diag e = {.quiet = true};
    const char *p = st_file("bad.safetensors", bad[i].json, w, bad[i].n, bad[i].declared);
    CU_ASSERT_FALSE(safetensors_open(&st, p, &e));
    if (!tu_log_has(&e, bad[i].needle))
      fprintf(stderr, "\ncase %zu: expected '%s' in %s\n", i, bad[i].needle, e.log.buf);
    CU_ASSERT(tu_log_has(&e, bad[i].needle));
    sb_free(&e.log);
  }
  FILE *f = fopen(tu_path("short.safetensors"), "wb");
  fwrite("abc", 1, 3, f);
  fclose(f);
  CU_ASSERT_FALSE(safetensors_open(&st, tu_path("short.safetensors"), &d));
  CU_ASSERT(tu_log_has(&d, "truncated"));
  sb_free(&d.log);
}

static void test_weight_binding(void) {
  const char *model = "model m(x: f32[2, 3]) {\n  return x -> fc: linear(2)\n}\n";
  float w[8] = {1, 0, 0, 0, 1, 0, 10, 20}; /* weight [2,3] then bias [2] */
  const char *hdr =
      "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
      "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[32,40]}}";
  float data[10];
  memcpy(data, w, sizeof w);
  memset(data + 8, 0, 8);
  Diag d = {0};
  Graph *g = load(model, st_file("w.safetensors", hdr, data, 40, -1), &d);
  CU_ASSERT_FATAL(g != NULL);
  const float x[6] = {1, 2, 3, 4, 5, 6};
  float *y = tu_interp(g, x);
  CU_ASSERT_DOUBLE_EQUAL(y[0], 11, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(y[1], 22, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(y[2], 14, 1e-6);
  free(y);
  graph_free(g);
  struct {
    const char *hdr;
    const char *needle;
  } bad[] = {
      {"{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
       "parameter 'fc.bias' is missing"},
      {"{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
       "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}",
       "parameter 'fc.weight' is [2,3] in the model but [3,2]"},
      {"{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
       "\"fc.bias\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]}}",
       "parameter 'fc.bias' is F16"},
      {"{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
       "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
       "\"fc.extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[32,36]}}",
       "tensor 'fc.extra' is not a parameter"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    Diag e = {0};
    g = load(model, st_file("w.safetensors", bad[i].hdr, data, 40, -1), &e);
    CU_ASSERT(g == NULL);
    if (!tu_log_has(&e, bad[i].needle))
      fprintf(stderr, "\ncase %zu: expected '%s' in %s\n", i, bad[i].needle, e.log.buf);
    CU_ASSERT(tu_log_has(&e, bad[i].needle));
    graph_free(g);
    sb_free(&e.log);
  }
  sb_free(&d.log);
}

/* Acceptance: the three forms of the block compute the same function. */
static void test_block_forms_agree(void) {
  float *out[3];
  float x[3 * 16 * 16];
  for (int i = 0; i < 3 * 16 * 16; i++)
    x[i] = sinf(0.37f * (float)i);
  int nodes[3];
  int64_t params[3];
  for (int f = 0; f < 3; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/resnext/forms/block_form_%c.nx",
             CARDINAL_SOURCE_DIR, 'a' + f);
    CompileJob j = {.model = path, .passes = "default", .verify = true};
    Diag d = {.quiet = true};
    Graph *g = cd_load_model(&j, NULL, NULL, &d);
    CU_ASSERT_FATAL(g != NULL);
    nodes[f] = g->nnodes;
    params[f] = g->source_params;
    out[f] = tu_interp(g, x);
    graph_free(g);
    sb_free(&d.log);
  }
  CU_ASSERT_EQUAL(nodes[0], nodes[2]); /* merge-paths: (a) and (b) become (c) */
  CU_ASSERT_EQUAL(nodes[1], nodes[2]);
  /* The same learnable parameters, however they are written: the running
   * statistics (form (c) stacks them with concat) are not among them. */
  CU_ASSERT_EQUAL(params[0], 13514);
  CU_ASSERT_EQUAL(params[1], params[0]);
  CU_ASSERT_EQUAL(params[2], params[0]);
  for (int f = 0; f < 2; f++) {
    double err = 0, mag = 0;
    for (int i = 0; i < 10; i++) {
      double e = fabs((double)out[f][i] - out[2][i]);
      err = isnan(e) || e > err ? e : err; /* fmax would drop a NaN */
      mag = fmax(mag, fabs((double)out[2][i]));
    }
    CU_ASSERT(mag > 0 && err <= 1e-5 * mag);
  }
  for (int f = 0; f < 3; f++)
    free(out[f]);
}

void add_dsl_suite(void) {
  CU_pSuite s = CU_add_suite("dsl", NULL, NULL);
  ADD(s, test_lexer);
  ADD(s, test_parser_constructs);
  ADD(s, test_import);
  ADD(s, test_naming);
  ADD(s, test_branch_on_shape);
  ADD(s, test_error_classes);
  ADD(s, test_several_errors_at_once);
  ADD(s, test_missing_return);
  ADD(s, test_no_repeats);
  ADD(s, test_library_file);
  ADD(s, test_suggestions);
  ADD(s, test_arguments);
  ADD(s, test_conveniences);
  ADD(s, test_duplicate_labels);
  ADD(s, test_syntax_errors);
  ADD(s, test_one_error_per_mistake);
  ADD(s, test_deep_nesting);
  ADD(s, test_safetensors_reader);
  ADD(s, test_weight_binding);
  ADD(s, test_block_forms_agree);
}
