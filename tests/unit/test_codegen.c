/*
 * test_codegen.c — the emitter: hostile tensor and node names reach the
 * generated C only escaped (the result compiles under -Werror and runs
 * right), float literals round-trip, --name must be an identifier.
 */
#include "onnx_builder.h"
#include "testutil.h"
#include "cardinal_rt.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Reading generated C the way a compiler does, to check where model names
 * ended up: c_phases applies translation phases 1 and 2 (trigraphs, which
 * -std=c99 enables, and backslash-newline splices); c_split then separates
 * the code from comments and literals.  `code` keeps everything outside
 * them (a comment becomes a space, a literal its quotes), `lits` gets each
 * string literal's value, unescaped, each followed by a NUL.
 */
static char *c_phases(const char *src) {
  static const char tri[][2] = {{'=', '#'}, {'/', '\\'}, {'\'', '^'}, {'(', '['}, {')', ']'},
                                {'!', '|'}, {'<', '{'}, {'>', '}'}, {'-', '~'}};
  size_t n = strlen(src), k = 0;
  char *t = malloc(n + 1), *u = malloc(n + 1);
  CU_ASSERT_FATAL(t && u);
  for (size_t i = 0; i < n; i++) {
    char c = src[i];
    if (c == '?' && i + 2 < n && src[i + 1] == '?')
      for (int j = 0; j < 9; j++)
        if (src[i + 2] == tri[j][0]) {
          c = tri[j][1];
          i += 2;
          break;
        }
    t[k++] = c;
  }
  t[k] = 0;
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    if (t[i] == '\\' && t[i + 1] == '\n') {
      i++;
      continue;
    }
    u[m++] = t[i];
  }
  u[m] = 0;
  free(t);
  return u;
}

static void c_split(const char *src, StrBuf *code, StrBuf *lits) {
  char *s = c_phases(src);
  for (const char *p = s; *p;) {
    if (p[0] == '/' && p[1] == '*') {
      const char *e = strstr(p + 2, "*/");
      CU_ASSERT_FATAL(e != NULL); /* an unterminated comment */
      sb_putn(code, " ", 1);
      p = e + 2;
    } else if (p[0] == '/' && p[1] == '/') {
      p += strcspn(p, "\n");
    } else if (*p == '"' || *p == '\'') {
      char q = *p++;
      sb_putn(code, &q, 1);
      while (*p && *p != q && *p != '\n') {
        char c = *p++;
        if (c == '\\') {
          c = *p++;
          const char *esc = strchr("n\nt\tr\rv\va\ab\bf\f", c);
          if (c >= '0' && c <= '7') {
            int v = c - '0';
            for (int j = 0; j < 2 && *p >= '0' && *p <= '7'; j++)
              v = v * 8 + (*p++ - '0');
            c = (char)v;
          } else if (c == 'x') {
            int v = 0;
            for (; strchr("0123456789abcdefABCDEF", *p) && *p; p++)
              v = v * 16 + (*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10);
            c = (char)v;
          } else if (esc && (esc - "n\nt\tr\rv\va\ab\bf\f") % 2 == 0) {
            c = esc[1];
          }
        }
        if (q == '"')
          sb_putn(lits, &c, 1);
      }
      CU_ASSERT_FATAL(*p == q); /* an unterminated literal */
      sb_putn(code, &q, 1);
      p++;
      if (q == '"')
        sb_putn(lits, "", 1);
    } else {
      sb_putn(code, p++, 1);
    }
  }
  free(s);
}

/* Whether `name` is the value of one of the string literals in lits. */
static bool lits_have(const StrBuf *lits, const char *name) {
  for (size_t k = 0; k < lits->len; k += strlen(lits->buf + k) + 1)
    if (!strcmp(lits->buf + k, name))
      return true;
  return false;
}

/* The checker above sees what a compiler sees: a name closing a comment
 * or a literal puts its payload in the code, a trigraph line splice hides
 * a line in a comment, escapes are undone. */
static void test_name_checker(void) {
  static const struct {
    const char *src;
    bool code_has_pwned;
    const char *lit;
  } cases[] = {
      {"/* x */ int pwned; /* */\n", true, NULL},
      {"const char *s = \"x\"; int pwned; const char *t = \"\";\n", true, "x"},
      {"// a ?\?/\nint pwned;\n", false, NULL},
      {"/* pwned */ const char *s = \"pwned \\\"\\?\\012\\x41\";\n", false, "pwned \"?\nA"},
  };
  for (int i = 0; i < 4; i++) {
    StrBuf code = {0}, lits = {0};
    c_split(cases[i].src, &code, &lits);
    CU_ASSERT_EQUAL(strstr(code.buf, "pwned") != NULL, cases[i].code_has_pwned);
    if (cases[i].lit)
      CU_ASSERT(lits_have(&lits, cases[i].lit));
    sb_free(&code);
    sb_free(&lits);
  }
}

/* The file's code (outside comments and literals) holds none of the
 * hostile names' payloads, and each of `names` is spelled exactly by one
 * of its string literals. */
static void check_names_contained(const char *path, const char *const *names, int nnames) {
  uint8_t *h;
  size_t n;
  CU_ASSERT_FATAL(cd_read_file(path, &h, &n));
  char *src = malloc(n + 1);
  CU_ASSERT_FATAL(src != NULL);
  memcpy(src, h, n);
  src[n] = 0;
  free(h);
  StrBuf code = {0}, lits = {0};
  c_split(src, &code, &lits);
  const char *payloads[] = {"pwned", "evil.h", "system", "rm -rf", "define x"};
  for (int i = 0; i < 5; i++) {
    if (code.buf && strstr(code.buf, payloads[i]))
      fprintf(stderr, "\n%s: '%s' outside a comment or literal\n", path, payloads[i]);
    CU_ASSERT(!code.buf || !strstr(code.buf, payloads[i]));
  }
  for (int i = 0; i < nnames; i++) {
    if (!lits_have(&lits, names[i]))
      fprintf(stderr, "\n%s: no string literal spells name %d\n", path, i);
    CU_ASSERT(lits_have(&lits, names[i]));
  }
  sb_free(&code);
  sb_free(&lits);
  free(src);
}

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
  /* And the sources keep the names only as escaped string literals (the
   * input and output name tables) or defanged comments: no payload is
   * code, and the literals spell the names exactly. */
  j.out_dir = tu_path("evil_out");
  CU_ASSERT_FATAL(cd_compile(&j, NULL, &d));
  const char *io_names[2] = {evil_in, evil_out};
  check_names_contained(tu_path("evil_out/evil.c"), io_names, 2);
  check_names_contained(tu_path("evil_out/evil.h"), NULL, 0);
  check_names_contained(tu_path("evil_out/evil_weights.c"), NULL, 0);
  graph_free(g);
  sb_free(&d.log);
}

static void test_float_literals(void) {
  Graph *g = graph_new();
  StrBuf out = {0};
  CWriter w;
  cw_init(&w, &out, &g->arena, INT64_MAX);
  const float vals[] = {0.1f, -3.4028235e38f, 1e-45f, 1.0f / 3, 16777217.0f};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    const char *s = cw_float(&w, vals[i]);
    float back = strtof(s[0] == '(' ? s + 1 : s, NULL);
    CU_ASSERT_EQUAL(back, vals[i]);
  }
  CU_ASSERT_STRING_EQUAL(cw_float(&w, INFINITY), "HUGE_VALF");
  CU_ASSERT_STRING_EQUAL(cw_float(&w, 2.0), "2.0f");
  cw_free(&w);
  graph_free(g);
}

/* The C writer indents by the code's braces and braceless headers, leaves
 * literals, comments and preprocessor lines alone, and fills ${vars}. */
static void test_cwriter(void) {
  Graph *g = graph_new();
  StrBuf out = {0};
  CWriter w;
  cw_init(&w, &out, &g->arena, INT64_MAX);
  cw_var(&w, "N", "%d", 7);
  cw(&w, "void f(float *y) {\n"
         "      for (long i = 0; i < ${N}; i++)\n"
         "for (long j = 0; j < 2; j++)\n"
         "y[i] += \"{(\" [0] + '}';\n"
         "  if (y[0] > 0 &&\n"
         "y[1] > 0)\n"
         "y[2] = 1; /* a { in a comment */\n"
         "else\n"
         "y[2] = 2;\n"
         "/* a comment\n"
         "* over lines */\n"
         "#define X(a) \\\n"
         "  do { a; } while (0)\n"
         "for (long k = 0; k < 2; k++)\n"
         "{\n"
         "y[k] = 0;\n"
         "}\n"
         "} /* ${N} */\n");
  cw_flush(&w);
  CU_ASSERT_STRING_EQUAL(out.buf,
      "void f(float *y) {\n"
      "  for (long i = 0; i < 7; i++)\n"
      "    for (long j = 0; j < 2; j++)\n"
      "      y[i] += \"{(\" [0] + '}';\n"
      "  if (y[0] > 0 &&\n"
      "      y[1] > 0)\n"
      "    y[2] = 1; /* a { in a comment */\n"
      "  else\n"
      "    y[2] = 2;\n"
      "  /* a comment\n"
      "   * over lines */\n"
      "#define X(a) \\\n"
      "  do { a; } while (0)\n"
      "  for (long k = 0; k < 2; k++)\n"
      "    {\n"
      "      y[k] = 0;\n"
      "    }\n"
      "} /* 7 */\n");
  CU_ASSERT_EQUAL(w.depth, 0);
  cw_free(&w);
  /* Past the budget nothing more is written. */
  cw_init(&w, &out, &g->arena, (int64_t)out.len + 10);
  cw(&w, "int a_long_line_past_the_budget;\nint b;\n");
  CU_ASSERT(w.over);
  CU_ASSERT_PTR_NULL(strstr(out.buf, "int b;"));
  cw_free(&w);
  sb_free(&out);
  graph_free(g);
}

static void test_identifiers(void) {
  CU_ASSERT(cd_is_identifier("resnext50"));
  CU_ASSERT(cd_is_identifier("_net_1"));
  CU_ASSERT_FALSE(cd_is_identifier("1net"));
  CU_ASSERT_FALSE(cd_is_identifier("net-1"));
  CU_ASSERT_FALSE(cd_is_identifier(""));
  CU_ASSERT_FALSE(cd_is_identifier("a;b"));
  /* Names that pass as identifiers and break a build (issue 17, item 5). */
  char why[300];
  const char *bad[] = {"CARDINAL_RT", "Cardinal_Rt_Threads", "cd_net", "CD", "_", "_net", "__x",
                       "stddef", "stdio", "Stdio", "immintrin", "avx512fintrin", "arm_neon",
                       "pthread", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CU_ASSERT_FALSE(cd_name_check(bad[i], why, sizeof why));
    CU_ASSERT(strlen(why) > 0);
  }
  char long_name[66];
  memset(long_name, 'a', 65);
  long_name[65] = 0;
  CU_ASSERT_FALSE(cd_name_check(long_name, why, sizeof why));
  CU_ASSERT(strstr(why, "64") != NULL);
  long_name[64] = 0;
  CU_ASSERT(cd_name_check(long_name, why, sizeof why));
  const char *good[] = {"net", "resnext50", "harness", "main", "m", "W", "cardinal", "cdx",
                        "net_", "stdio2", "intrinsic"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    CU_ASSERT(cd_name_check(good[i], why, sizeof why));
}


/* The targets this machine runs: scalar always, the x86 ones when the CPU
 * has them, neon through the AArch64 cross compiler and qemu-user when both
 * are installed (setup.sh installs them); the others are skipped with a
 * note. */
Runnable runnable[4];
int nrunnable;
/* The int8 kernel tests' targets: runnable's, and avx512_novnni (avx512's
 * fp32 tables, avx2's int8 ones) after avx512 where the CPU has AVX-512,
 * and neon a second time built for the dot-product extension
 * (-march=armv8.2-a+dotprod: SDOT, target_neon.c) after neon. */
static Runnable runnable8[6];
static int nrunnable8;

/* The kernel families (rows of kernel_configs) some test here has run
 * against the interpreter, on any target: test_every_family_tested, last
 * in the suite, requires all of them. */
static const KernelConfig *families_run[64];
static int nfamilies_run;

static void note_families(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    const KernelConfig *f = g->nodes[i].sched.family;
    bool seen = false;
    for (int k = 0; k < nfamilies_run && !seen; k++)
      seen = families_run[k] == f;
    if (!seen && f) {
      CU_ASSERT_FATAL(nfamilies_run < 64); /* room for every family (32 once dropped some) */
      families_run[nfamilies_run++] = f;
    }
  }
}

static bool on_path(const char *prog) {
  const char *path = getenv("PATH");
  char buf[4096];
  while (path && *path) {
    const char *e = strchr(path, ':');
    size_t n = e ? (size_t)(e - path) : strlen(path);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
    if (access(buf, X_OK) == 0)
      return true;
    path = e ? e + 1 : NULL;
  }
  return false;
}

/* Whether cc with flags defines the preprocessor macro `macro`. */
static bool cc_defines(const char *cc, const char *flags, const char *macro) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "echo | %s %s -dM -E - 2>/dev/null | grep -q ' %s '", cc, flags,
           macro);
  return system(cmd) == 0;
}

void find_targets(void) {
  if (nrunnable)
    return;
  runnable[nrunnable++] = (Runnable){&target_scalar, NULL, NULL, NULL};
#if defined(__x86_64__)
  if (cd_cpu_has(CD_CPU_AVX2))
    runnable[nrunnable++] = (Runnable){&target_avx2, NULL, NULL, NULL};
  else
    fprintf(stderr, "\n[skipping avx2 kernel tests: this CPU lacks AVX2/FMA]\n");
  if (cd_cpu_has(CD_CPU_AVX2 | CD_CPU_AVX512))
    runnable[nrunnable++] = (Runnable){&target_avx512, NULL, NULL, NULL};
  else
    fprintf(stderr, "\n[skipping avx512 kernel tests: this CPU lacks AVX-512]\n");
#endif
  if (on_path("aarch64-linux-gnu-gcc") && on_path("qemu-aarch64"))
    runnable[nrunnable++] = (Runnable){&target_neon, "aarch64-linux-gnu-gcc", "qemu-aarch64", NULL};
  else
    fprintf(stderr, "\n[skipping neon kernel tests: aarch64-linux-gnu-gcc or qemu-aarch64 "
                    "missing]\n");
  for (int i = 0; i < nrunnable; i++) {
    runnable8[nrunnable8++] = runnable[i];
    if (runnable[i].t == &target_avx512)
      runnable8[nrunnable8++] = (Runnable){&target_avx512_novnni, NULL, NULL, NULL};
    if (runnable[i].t == &target_neon) {
      /* each build what it says: the cross compiler's default flags
       * without the extension (the widening path), these with it; qemu-user
       * runs SDOT (a program using it without would die of SIGILL) */
      static const char dotprod[] = "-march=armv8.2-a+dotprod";
      CU_ASSERT(!cc_defines(runnable[i].cc, "", "__ARM_FEATURE_DOTPROD"));
      CU_ASSERT(cc_defines(runnable[i].cc, dotprod, "__ARM_FEATURE_DOTPROD"));
      runnable8[nrunnable8] = runnable[i];
      runnable8[nrunnable8++].cflags = dotprod;
    }
  }
}

/*
 * The SIMD targets this machine must run, found without find_targets (a
 * CPU check or a list that quietly lost a target would empty the SIMD
 * sweeps, which then assert nothing): AVX2 with FMA and AVX-512 F by
 * libgcc's CPU check, neon when the AArch64 cross tools are installed.
 * Each sweep over runnable[1..] ends with simd_swept, which requires it
 * ran on exactly these -- and on a machine with none (no x86 SIMD, no
 * cross tools) says the sweep was skipped, as CUnit 2.1 has no skip.
 */
static int simd_expected(void) {
  int n = 0;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    n += 1 + (__builtin_cpu_supports("avx512f") != 0);
#endif
  n += on_path("aarch64-linux-gnu-gcc") && on_path("qemu-aarch64");
  return n;
}

static void simd_swept(const char *test, int ran) {
  int want = simd_expected();
  if (want == 0 && ran == 0) {
    fprintf(stderr, "\n[%s: SKIPPED: this machine runs no SIMD target (no AVX2 and FMA, "
                    "no aarch64-linux-gnu-gcc and qemu-aarch64)]\n", test);
    return;
  }
  if (ran != want)
    fprintf(stderr, "\n%s: ran on %d SIMD targets, this machine runs %d\n", test, ran, want);
  CU_ASSERT(ran >= 1);
  CU_ASSERT_EQUAL(ran, want);
}

/* The flags a sweep builds r's programs with: strict C99 warning-free,
 * then r's own (-march=armv8.2-a+dotprod). */
static const char *sweep_cflags(const Runnable *r, char *buf, size_t n) {
  snprintf(buf, n, "-O2 -std=c99 -pedantic -Wall -Wextra -Werror%s%s", r->cflags ? " " : "",
           r->cflags ? r->cflags : "");
  return buf;
}



/*
 * NaN in the sweeps (issue 16).  Every output of a sweep belongs to a
 * family -- the kernel or epilogue whose NaN semantics it shows -- and with
 * its family's flag on, check_generated runs the program it built a second
 * time, on inputs with a NaN every NAN_EVERY-th element: generated code
 * must give NaN exactly where the interpreter does.  An activation's
 * families are NF_ACT + 2 op (alone) and NF_ACT + 2 op + 1 (in a conv's
 * epilogue); op OP_COUNT is Gelu's tanh form.
 *
 * A family some target disagrees on is off, behind its NAN_SWEEP_* define.
 * Since the activation table (act.c) every activation, epilogue or not,
 * and every max pool propagate NaN on every target, as ONNX does.
 */
/* Grouped convs on the zero-padded blocked kernel (the tile sweeps' groups
 * of 2, whose groups share a vector without the grouped-lanes kernels)
 * spread a NaN or an inf into the other groups of the vector (0 x NaN) on
 * avx2, avx512 and neon: the zero weights between groups are multiplied
 * like any other.  Known, and off: the grouped-lanes kernels, which take
 * the grouped convs of ResNeXt and MobileNet, keep it in its group. */
#define NAN_SWEEP_GROUPED_CONV 0
#define NAN_SWEEP_RELU_EPILOGUE 1
#define NAN_SWEEP_LEAKYRELU_EPILOGUE 1
#define NAN_SWEEP_CLIP_EPILOGUE 1
#define NAN_SWEEP_MAXPOOL 1
#define NAN_SWEEP_GLOBAL_MAXPOOL 1

typedef enum {
  NF_CONV,             /* direct and pointwise conv kernels, bias */
  NF_CONV_RES,         /* ... with a residual + ReLU epilogue */
  NF_CONV_GROUPED,     /* grouped conv kernels: a NaN stays in its group */
  NF_CONV_GROUPED_RES, /* both: on when NF_CONV_GROUPED and NF_CONV_RES are */
  NF_GEMM,             /* the packed Gemm kernel */
  NF_GEMM_RELU,        /* ... with a fused ReLU */
  NF_ELTWISE,          /* elementwise ops around the blocked kernels, Concat */
  NF_CLIP_CONST,       /* Relu, MaxPool 1x1, Add, Clip of constant bounds, blocked */
  NF_MAXPOOL,          /* MaxPool windows */
  NF_AVGPOOL,          /* AveragePool windows */
  NF_GMAXPOOL,         /* GlobalMaxPool */
  NF_GAVGPOOL,         /* GlobalAveragePool */
  NF_ERF,              /* Erf, Gelu */
  NF_POW,              /* Pow by 2, by 3, by a tensor */
  NF_LAYERNORM,        /* LayerNormalization */
  NF_ACT,              /* NF_ACT + 2 op (+ 1 in a conv's epilogue): an activation */
} NanFamily;

#define NAN_EVERY 53 /* a prime: the NaN fall on every lane of a vector in turn */
const int tu_nan_eltwise = NF_ELTWISE; /* for the zoo suite (testutil.h) */

static bool nan_family_on(int f) {
  static const bool on[NF_ACT] = {
      [NF_CONV] = true,
      [NF_CONV_RES] = NAN_SWEEP_RELU_EPILOGUE,
      [NF_CONV_GROUPED] = NAN_SWEEP_GROUPED_CONV,
      [NF_CONV_GROUPED_RES] = NAN_SWEEP_GROUPED_CONV && NAN_SWEEP_RELU_EPILOGUE,
      [NF_GEMM] = true,
      [NF_GEMM_RELU] = true,
      [NF_ELTWISE] = true,
      [NF_CLIP_CONST] = true,
      [NF_MAXPOOL] = NAN_SWEEP_MAXPOOL,
      [NF_AVGPOOL] = true,
      [NF_GMAXPOOL] = NAN_SWEEP_GLOBAL_MAXPOOL,
      [NF_GAVGPOOL] = true,
      [NF_ERF] = true,
      [NF_POW] = true,
      [NF_LAYERNORM] = true,
  };
  if (f < NF_ACT)
    return on[f];
  int op = (f - NF_ACT) / 2;
  bool fused = (f - NF_ACT) % 2;
  if (fused && op == OP_RELU)
    return NAN_SWEEP_RELU_EPILOGUE;
  if (fused && op == OP_LEAKYRELU)
    return NAN_SWEEP_LEAKYRELU_EPILOGUE;
  if (fused && op == OP_CLIP)
    return NAN_SWEEP_CLIP_EPILOGUE;
  return true;
}

static const char *nan_family_name(int f) {
  static const char *const names[NF_ACT] = {
      "conv", "conv + residual + relu", "grouped conv", "grouped conv + residual + relu",
      "gemm", "gemm + relu", "eltwise", "relu, maxpool 1x1, clip", "maxpool", "avgpool",
      "global maxpool", "global avgpool", "erf", "pow", "layernorm"};
  static char buf[64];
  if (f < NF_ACT)
    return names[f];
  int op = (f - NF_ACT) / 2;
  snprintf(buf, sizeof buf, "%s%s", op < OP_COUNT ? op_table[op].name : "Gelu (tanh)",
           (f - NF_ACT) % 2 ? " in a conv's epilogue" : "");
  return buf;
}

/* g's inputs for check_generated: sin(phase i + k), with NaN at every
 * NAN_EVERY-th element (from an offset per input) if nan. */
static float **sweep_inputs(const Graph *g, float phase, bool nan) {
  float **ins = calloc((size_t)g->ninputs, sizeof(float *));
  for (int k = 0; k < g->ninputs; k++) {
    int64_t n = value_numel(&g->values[g->inputs[k]]);
    ins[k] = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
      ins[k][i] = nan && i % NAN_EVERY == (5 * k + 3) % NAN_EVERY ? NAN
                                                                 : sinf(phase * (float)i + (float)k);
  }
  return ins;
}

/* got against want, output by output (those with check[k], or all): to
 * 1e-5, NaN where want has NaN. */
static void compare_outputs(const Graph *g, float **got, float **want, const bool *check,
                            const int *fam, const char *name, const char *target, bool nan) {
  for (int k = 0; k < g->noutputs; k++) {
    if (check && !check[k])
      continue;
    int64_t n = value_numel(&g->values[g->outputs[k]]);
    double err = 0;
    int64_t wrong_nan = 0, nans = 0;
    for (int64_t i = 0; i < n; i++) {
      bool gn = isnan(got[k][i]), wn = isnan(want[k][i]);
      nans += wn;
      wrong_nan += gn != wn;
      double e = gn != wn ? INFINITY /* an unwritten lane, or a wrong NaN */
                 : gn     ? 0.0
                          : fabs((double)got[k][i] - want[k][i]) / (1 + fabs((double)want[k][i]));
      err = e > err ? e : err; /* fmax would drop a NaN */
    }
    if (!(err <= 1e-5))
      fprintf(stderr, "\n%s on %s, output %d%s%s%s: error %g (%lld of %lld NaN in the "
              "interpreter's, %lld disagree)\n", name, target, k, fam ? " (" : "",
              fam ? nan_family_name(fam[k]) : "", fam ? ")" : "", err, (long long)nans,
              (long long)n, (long long)wrong_nan);
    if (nan && !(err <= 1e-5))
      fprintf(stderr, "  (with NaN inputs)\n");
    CU_ASSERT(err <= 1e-5);
  }
}

/* Runs g through the interpreter, then through the default passes for
 * target t and generated C (compiled with -Werror; the harness fills the
 * workspace and the outputs with NaN first, so an unwritten lane shows);
 * every output must agree to 1e-5 (NaN where the interpreter has NaN: Log
 * and Sqrt of negatives).  fam (NULL: none) gives each output's NaN family:
 * the outputs whose family is on are checked again with NaN inputs, on the
 * same build.  g is left as the passes made it. */
void check_generated(Graph *g, const char *name, float phase, const Runnable *r,
                     const int *fam) {
  const Target *t = r->t;
  char label[128]; /* the target, and the flags it was built with */
  snprintf(label, sizeof label, "%s%s%s", t->name, r->cflags ? " " : "", r->cflags ? r->cflags : "");
  Diag d = {.quiet = true};
  g->target = t;
  CU_ASSERT_FATAL(graph_infer(g, &d));
  mkdir(tu_path("nan-cache"), 0777);
  float **ins = sweep_inputs(g, phase, false), **nins = NULL;
  float **want = calloc((size_t)g->noutputs, sizeof(float *)), **nwant = NULL;
  CU_ASSERT_FATAL(interp_run(g, (const float *const *)ins, want, &d));
  bool *check = calloc((size_t)g->noutputs, sizeof(bool)), any = false;
  for (int k = 0; fam && k < g->noutputs; k++)
    any |= check[k] = nan_family_on(fam[k]);
  if (any) {
    nins = sweep_inputs(g, phase, true);
    nwant = calloc((size_t)g->noutputs, sizeof(float *));
    CU_ASSERT_FATAL(interp_run(g, (const float *const *)nins, nwant, &d));
  }
  int order[CD_MAX_PASSES], np;
  CU_ASSERT_FATAL(passes_parse("default", order, &np, &d));
  PassStats st[CD_MAX_PASSES];
  CU_ASSERT_FATAL(passes_run(g, order, np, st, true, NULL, NULL, &d));
  /* The NaN run reuses the build: a cache folder of the scratch's. */
  char flags[256];
  CompileJob j = {.name = name, .cflags = sweep_cflags(r, flags, sizeof flags),
                  .cc = r->cc, .runner = r->runner, .cache_dir = any ? tu_path("nan-cache") : NULL,
                  .pch_dir = tu_pch()};
  float **got = calloc((size_t)g->noutputs, sizeof(float *));
  bool ran = cd_run_generated(&j, g, (const float *const *)ins, got, &d);
  if (!ran)
    fprintf(stderr, "\n%s on %s: %s\n", name, label, d.log.buf ? d.log.buf : "");
  CU_ASSERT_FATAL(ran);
  note_families(g);
  compare_outputs(g, got, want, NULL, fam, name, label, false);
  if (any) {
    float **ngot = calloc((size_t)g->noutputs, sizeof(float *));
    ran = cd_run_generated(&j, g, (const float *const *)nins, ngot, &d);
    if (!ran)
      fprintf(stderr, "\n%s on %s, NaN inputs: %s\n", name, label, d.log.buf ? d.log.buf : "");
    CU_ASSERT_FATAL(ran);
    CU_ASSERT(j.cache_hit); /* the program checked above */
    compare_outputs(g, ngot, nwant, check, fam, name, label, true);
    for (int k = 0; k < g->noutputs; k++) {
      free(ngot[k]);
      free(nwant[k]);
    }
    for (int k = 0; k < g->ninputs; k++)
      free(nins[k]);
    free(ngot);
    free(nwant);
    free(nins);
  }
  for (int k = 0; k < g->noutputs; k++) {
    free(got[k]);
    free(want[k]);
  }
  for (int k = 0; k < g->ninputs; k++)
    free(ins[k]);
  free(ins);
  free(got);
  free(want);
  free(check);
  sb_free(&d.log);
}

/* The graph check_generated left (passes run), built for T threads: every
 * output must be the bits of the 1-thread build (each kernel's split covers
 * its units once; no reduction is split). */
static void check_threads(Graph *g, const char *name, const Runnable *r, int T) {
  Diag d = {.quiet = true};
  float **ins = calloc((size_t)g->ninputs, sizeof(float *));
  for (int k = 0; k < g->ninputs; k++) {
    int64_t n = value_numel(&g->values[g->inputs[k]]);
    ins[k] = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
      ins[k][i] = cosf(0.37f * (float)i + (float)k);
  }
  float **one = calloc((size_t)g->noutputs, sizeof(float *));
  float **many = calloc((size_t)g->noutputs, sizeof(float *));
  char flags[256];
  CompileJob j = {.name = name, .cflags = sweep_cflags(r, flags, sizeof flags),
                  .cc = r->cc, .runner = r->runner, .pch_dir = tu_pch()};
  g->threads = 1;
  CU_ASSERT_FATAL(cd_run_generated(&j, g, (const float *const *)ins, one, &d));
  g->threads = T;
  bool ran = cd_run_generated(&j, g, (const float *const *)ins, many, &d);
  if (!ran)
    fprintf(stderr, "\n%s on %s%s%s, %d threads: %s\n", name, r->t->name, r->cflags ? " " : "",
            r->cflags ? r->cflags : "", T, d.log.buf ? d.log.buf : "");
  CU_ASSERT_FATAL(ran);
  int split = 0;
  for (int i = 0; i < g->nnodes; i++)
    split += g->nodes[i].sched.threads > 1;
  CU_ASSERT(split > 0); /* some kernels really are split */
  for (int k = 0; k < g->noutputs; k++) {
    size_t bytes = sizeof(float) * (size_t)value_numel(&g->values[g->outputs[k]]);
    bool same = memcmp(one[k], many[k], bytes) == 0;
    if (!same)
      fprintf(stderr, "\n%s on %s%s%s, output %d: %d threads differ from 1\n", name, r->t->name,
              r->cflags ? " " : "", r->cflags ? r->cflags : "", k, T);
    CU_ASSERT(same);
    free(one[k]);
    free(many[k]);
  }
  g->threads = 1;
  for (int k = 0; k < g->ninputs; k++)
    free(ins[k]);
  free(ins);
  free(one);
  free(many);
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

static uint32_t wseed;
static float wrand(void) {
  wseed = wseed * 1664525u + 1013904223u;
  return (float)((wseed >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* One conv case: input [1, Cg*G, H, W], M = Mg*G outputs, k x k kernel,
 * stride, pad, dilation; with a bias and/or a residual + ReLU epilogue.
 * Returns its output. */
typedef struct {
  int64_t Cg, Mg, G, H, W, K, S, P, D;
  bool bias, residual;
} ConvCase;

/* A case's NaN family: grouped or not, with the residual epilogue or not. */
static int conv_family(const ConvCase *c) {
  return c->G > 1 ? (c->residual ? NF_CONV_GROUPED_RES : NF_CONV_GROUPED)
                  : (c->residual ? NF_CONV_RES : NF_CONV);
}

static int conv_case(Graph *g, const ConvCase *c, int ncase) {
  int64_t xd[4] = {1, c->Cg * c->G, c->H, c->W}, wd[4] = {c->Mg * c->G, c->Cg, c->K, c->K},
          bd[1] = {c->Mg * c->G};
  char name[32];
  snprintf(name, sizeof name, "x%d", ncase);
  int x = tu_input(g, name, 4, xd);
  int64_t nw = wd[0] * wd[1] * wd[2] * wd[3];
  float *w = malloc(sizeof(float) * (size_t)nw), *b = malloc(sizeof(float) * (size_t)bd[0]);
  for (int64_t i = 0; i < nw; i++)
    w[i] = wrand();
  for (int64_t i = 0; i < bd[0]; i++)
    b[i] = 0.1f * (float)i - 0.2f;
  int ins[3] = {x, tu_const(g, "", 4, wd, w), c->bias ? tu_const(g, "", 1, bd, b) : -1};
  free(w);
  free(b);
  Node *n;
  int y = tu_node(g, "Conv", c->bias ? 3 : 2, ins, &n);
  const int64_t pads[4] = {c->P, c->P, c->P, c->P}, st[2] = {c->S, c->S}, dl[2] = {c->D, c->D};
  tu_attr_int(g, n, "group", c->G);
  tu_attr_ints(g, n, "pads", 4, pads);
  tu_attr_ints(g, n, "strides", 2, st);
  tu_attr_ints(g, n, "dilations", 2, dl);
  if (c->residual) {
    int64_t rd[4] = {1, c->Mg * c->G, (c->H + 2 * c->P - c->D * (c->K - 1) - 1) / c->S + 1,
                     (c->W + 2 * c->P - c->D * (c->K - 1) - 1) / c->S + 1};
    y = add_residual_relu(g, y, ncase, rd);
  }
  return y;
}

/* The pointwise-conv kernels' register tiles (scalar: 8 channels x 16
 * pixels; SIMD: tile_c x tile_p of the schedule): channel and pixel counts
 * below, at, and past one tile and several, groups, strides 1 and 2, with
 * and without bias and a residual + ReLU epilogue, all in one generated
 * program per target, against the interpreter. */
static void test_conv1x1_tile_boundaries(void) {
  static const int64_t pix[] = {1, 15, 16, 17, 33, 49};
  static const int64_t chans[] = {1, 7, 8, 9, 17};
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    wseed = 3;
    int ncase = 0, fam[30];
    for (int pi = 0; pi < 6; pi++)
      for (int mi = 0; mi < 5; mi++) {
        bool strided = ncase % 5 == 3;
        /* A strided case reads every other pixel of a 2 x 2P input. */
        ConvCase c = {1 + ncase % 4, chans[mi], 1 + (ncase % 3 == 2), strided ? 2 : 1,
                      strided ? 2 * pix[pi] : pix[pi], 1, strided ? 2 : 1, 0, 1,
                      ncase % 2 == 0, ncase % 4 == 1};
        if (strided && c.residual)
          c.H = 2;
        tu_output(g, conv_case(g, &c, ncase));
        fam[ncase++] = conv_family(&c);
      }
    check_generated(g, "tiles", 0.7f, &runnable[ti], fam);
    int fused = 0;
    for (int i = 0; i < g->nnodes; i++)
      fused += g->nodes[i].op == OP_CONV && g->nodes[i].ep.residual >= 0;
    CU_ASSERT(fused > 0); /* the epilogue path is exercised */
    graph_free(g);
  }
}

/* The direct-conv kernels' tiles: widths 1, 7, 17, 64, 65, 130 (and halves
 * at stride 2), channel counts below, at and past a tile, 3x3 and 5x5
 * kernels with padding, dilation 2, groups, bias, a residual + ReLU
 * epilogue; one generated program per target against the interpreter. */
static void test_conv_tile_boundaries(void) {
  static const int64_t widths[] = {1, 7, 17, 64, 65, 130};
  static const int64_t chans[] = {1, 3, 4, 9, 17};
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    wseed = 11;
    int ncase = 0, fam[30];
    for (int wi = 0; wi < 6; wi++)
      for (int mi = 0; mi < 5; mi++) {
        int64_t K = ncase % 4 == 3 ? 5 : 3, D = ncase % 7 == 4 ? 2 : 1;
        ConvCase c = {1 + ncase % 3, chans[mi], 1 + (ncase % 3 == 1), 3, widths[wi], K,
                      ncase % 5 == 2 ? 2 : 1, (K / 2) * D, D, ncase % 2 == 0, ncase % 4 == 1};
        tu_output(g, conv_case(g, &c, ncase));
        fam[ncase++] = conv_family(&c);
      }
    check_generated(g, "ctiles", 0.9f, &runnable[ti], fam);
    if (ti > 0)
      check_threads(g, "ctiles", &runnable[ti], 4);
    graph_free(g);
  }
}

/*
 * The SIMD kernels at the vector width's boundaries, per target (c = 8 for
 * avx2, 16 for avx512): output and input channels around c and 2c (a
 * partial last block: its padding lanes must stay finite and never reach an
 * output), input channels below c (the plain-input path of the stem),
 * widths around the register tile, 1x1 (flat pixels, and strided), 3x3,
 * 5x5 and 7x7 with strides 1 and 2 and dilation, groups of 1, 2, 4, 8, 16
 * and 32 channels and depthwise (the grouped-lanes kernel and the
 * zero-padded blocked one), a reduction long enough to be cut in cache
 * chunks, and every epilogue: bias, residual, residual scale (BN folded
 * through an identity shortcut), ReLU.
 */
static void test_simd_conv_boundaries(void) {
  find_targets();
  int ran = 0;
  for (int ti = 1; ti < nrunnable; ti++) {
    const Target *t = runnable[ti].t;
    int64_t c = t->block;
    const ConvCase cases[] = {
        /* Cg, Mg, G, H, W, K, S, P, D, bias, residual */
        {c - 1, c + 1, 1, 5, 9, 1, 1, 0, 1, true, false},
        {c, c, 1, 4, 15, 1, 1, 0, 1, false, true},
        {c + 1, 2 * c + 1, 1, 3, 29, 1, 1, 0, 1, true, true},
        {2 * c, 3 * c, 1, 6, 10, 1, 2, 0, 1, true, false},
        {3, c, 1, 17, 17, 7, 2, 3, 1, true, false},
        {3, 2 * c - 1, 1, 9, 23, 3, 1, 1, 1, false, false},
        {c, c, 1, 7, 7, 3, 1, 1, 1, true, true},
        {c + 3, c - 2, 1, 11, 20, 3, 2, 1, 1, true, false},
        {2 * c, 2 * c, 1, 9, 31, 5, 1, 2, 1, false, true},
        {c, c, 1, 9, 12, 3, 1, 2, 2, true, false},
        {4, 4, 2 * c / 4, 10, 19, 3, 1, 1, 1, true, true},
        {4, 4, 2 * c / 4 + 1, 9, 9, 3, 2, 1, 1, true, false},
        {4, 4, 2 * c / 4, 3, 2 * GLANES_ROW_ACC, 3, 1, 1, 1, false, true}, /* 2 full row tiles */
        {8, 8, 2, 8, 15, 3, 1, 1, 1, false, true},
        /* 8-channel groups: avx512's dot form (strides, dilation, 5x5, a
         * partial last block, padding wider than a tile) */
        {8, 8, 3, 9, 17, 3, 2, 1, 1, true, false},
        {8, 8, 2, 7, 13, 3, 1, 2, 2, false, true},
        {8, 8, 4, 6, 11, 5, 1, 2, 1, true, true},
        {8, 8, 2, 3, 2, 3, 2, 4, 1, true, false},
        {8, 8, 2, 2, 1, 3, 1, 5, 1, false, false}, /* a tile with no tap inside */
        {2, 2, c, 6, 14, 3, 1, 1, 1, true, false},
        {1, 1, 2 * c + 3, 7, 13, 3, 1, 1, 1, true, true},
        {16, 16, 3, 7, 7, 3, 2, 1, 1, true, false},
        {32, 32, 2, 5, 6, 3, 1, 1, 1, true, true},
        {64 * c, c, 1, 2, 3, 1, 1, 0, 1, true, true},
        /* padding wider than a row tile: no tap of a tile falls inside */
        {c, c, 1, 2, 2, 1, 1, 6, 1, true, false},
        {3, c, 1, 2, 2, 3, 1, 7, 1, true, false},
        {4, 4, c / 2, 2, 2, 3, 2, 30, 1, true, false},
        /* more output rows and blocks than threads, and fewer */
        {c, 2 * c, 1, 3, 3, 3, 1, 1, 1, true, false},
    };
    Graph *g = graph_new();
    wseed = 17;
    int n = (int)(sizeof cases / sizeof cases[0]), want_glanes = 0, want_dot = 0, fam[32];
    CU_ASSERT_FATAL(n <= 32);
    for (int i = 0; i < n; i++) {
      tu_output(g, conv_case(g, &cases[i], i));
      fam[i] = conv_family(&cases[i]);
      const ConvCase *cc = &cases[i]; /* groups narrower than a vector share one */
      bool gl = cc->G > 1 && cc->Cg == cc->Mg && cc->Cg < c && c % cc->Cg == 0;
      want_glanes += gl;
      want_dot += gl && cc->Cg == t->dot_cg;
    }
    /* clang here (the other sweeps use cc): its warnings differ. */
    Runnable r = runnable[ti];
    if (!r.cc && on_path("clang"))
      r.cc = "clang";
    check_generated(g, "simd", 0.3f, &r, fam);
    check_threads(g, "simd", &r, 3);
    check_threads(g, "simd", &r, 7); /* layers with fewer units than threads */
    int glanes = 0, blocked = 0, wide = 0, dot = 0;
    for (int i = 0; i < g->nnodes; i++) {
      const Node *nd = &g->nodes[i];
      glanes += nd->sched.family == kernel_config_named("conv_glanes");
      dot += nd->sched.family == kernel_config_named("conv_glanes") &&
             g->values[nd->in[1]].layout.kind == LAYOUT_WGDOT;
      blocked += nd->sched.family == kernel_config_named("conv_blocked");
      if (nd->sched.family == kernel_config_named("conv_glanes") && nd->p.stride[1] == 1) {
        /* one-row tiles stay within the accumulators that do not spill */
        CU_ASSERT(nd->sched.tile_r == 1 && nd->sched.tile_p <= GLANES_ROW_ACC);
        wide += g->values[nd->out[0]].dims[3] == 2 * GLANES_ROW_ACC &&
                nd->sched.tile_p == (t->nregs - GLANES_SPARE_REGS < GLANES_ROW_ACC ? nd->sched.tile_p
                                                                   : GLANES_ROW_ACC);
      }
    }
    CU_ASSERT_EQUAL(wide, c > 4); /* NEON: 4-channel groups fill a vector */
    CU_ASSERT_EQUAL(dot, want_dot);
    CU_ASSERT(t->dot_cg == 0 || dot >= 5);
    if (glanes != want_glanes || blocked != n - glanes)
      for (int i = 0; i < g->nnodes; i++)
        fprintf(stderr, "%s %s\n", g->nodes[i].sched.kernel,
                g->nodes[i].sched.family->name);
    CU_ASSERT(want_glanes >= 2);
    CU_ASSERT_EQUAL(glanes, want_glanes); /* narrow groups share vectors */
    CU_ASSERT_EQUAL(blocked, n - glanes); /* every other conv runs the blocked kernel */
    graph_free(g);
    ran++;
  }
  simd_swept("simd conv boundaries", ran);
}

/*
 * Winograd's F(2x2, 3x3) kernel (conv_wino) per SIMD target, against the
 * interpreter on the graph before the passes: odd and even output sizes
 * (tiles cut by the image's last row and column), padding 0, 1 and 2, a
 * partial last output block, an output group short of nv blocks, the last
 * strip shorter than the others, images split by output groups instead
 * of strips, bias,
 * residual + ReLU; then 3 threads for the bits of 1 (strips change with
 * the threads, each tile's arithmetic does not).  Channels are
 * multiples of 16 (whole vectors on every target) and at least the pass's
 * 32.
 */
static void test_conv_wino_boundaries(void) {
  find_targets();
  int ran = 0;
  const ConvCase cases[] = {
      /* Cg, Mg, G, H, W, K, S, P, D, bias, residual */
      {32, 33, 1, 7, 7, 3, 1, 1, 1, true, false},   /* odd: a partial tile a side */
      {32, 48, 1, 8, 10, 3, 1, 1, 1, false, true},  /* even */
      {48, 32, 1, 9, 13, 3, 1, 0, 1, true, true},   /* no padding: 7 x 11 */
      {32, 80, 1, 11, 9, 3, 1, 2, 1, true, false},  /* padding 2: 13 x 11 */
      {32, 67, 1, 15, 30, 3, 1, 1, 1, false, false},
      {32, 32, 1, 81, 9, 3, 1, 1, 1, true, true},   /* 41 tile rows: strips and a short last one */
  };
  int n = (int)(sizeof cases / sizeof cases[0]), fam[8];
  for (int ti = 1; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    wseed = 29;
    for (int i = 0; i < n; i++) {
      tu_output(g, conv_case(g, &cases[i], i));
      fam[i] = conv_family(&cases[i]);
    }
    check_generated(g, "wino", 0.4f, &runnable[ti], fam);
    int wino = 0, short_strip = 0, by_groups = 0;
    for (int i = 0; i < g->nnodes; i++) {
      const Node *nd = &g->nodes[i];
      if (nd->sched.family != kernel_config_named("conv_wino"))
        continue;
      wino++;
      CU_ASSERT(g->values[nd->in[1]].layout.kind == LAYOUT_WWINO);
      CU_ASSERT(strstr(nd->sched.kernel, "conv3x3wino_") == nd->sched.kernel);
      int64_t TH = (g->values[nd->out[0]].dims[2] + 1) / 2;
      short_strip += TH % nd->sched.tile_r != 0;
      by_groups += !strcmp(nd->sched.order, "blocks");
    }
    CU_ASSERT_EQUAL(wino, n); /* every case ran Winograd's kernel */
    CU_ASSERT(short_strip > 0);
    CU_ASSERT(by_groups > 0 && by_groups < n); /* images split by strips, and by groups */
    Plan p;
    Diag d = {.quiet = true};
    CU_ASSERT_FATAL(plan_build(g, &p, &d));
    CU_ASSERT(p.scratch_off >= 0 && p.scratch_off % CD_ALIGN == 0 && p.scratch_bytes > 0);
    CU_ASSERT(p.ws_size >= p.scratch_off + p.scratch_bytes);
    for (int v = 0; v < g->nvalues; v++)
      if (p.loc[v].kind == LOC_WS)
        CU_ASSERT(p.loc[v].index + (int64_t)value_storage_bytes(&g->values[v]) <= p.scratch_off);
    plan_free(&p);
    sb_free(&d.log);
    check_threads(g, "wino", &runnable[ti], 3);
    graph_free(g);
    ran++;
  }
  simd_swept("winograd conv boundaries", ran);
}

/*
 * What happens around the blocked kernels, per SIMD target: an elementwise
 * op that turns padding lanes into -inf or NaN (Log, Div of channel counts
 * not a multiple of the vector width) ahead of a conv, which must not let
 * them into real lanes; an elementwise op with a constant operand of the
 * output's shape (packed like the activation); a Clip with constant bounds
 * on blocked data; a Concat of more inputs than 64, built on threads (the
 * barrier before it must see every input).
 */
static void test_simd_around_kernels(void) {
  find_targets();
  int ran = 0;
  for (int ti = 1; ti < nrunnable; ti++) {
    int64_t c = runnable[ti].t->block;
    Graph *g = graph_new();
    wseed = 23;
    const int64_t xd[4] = {1, 3, 12, 16};
    int x = tu_input(g, "x", 4, xd);
    /* Conv(3 -> c + 4) of positive weights and a bias over 2 (so a > 0.2
     * wherever |x| <= 1), Log, Conv(-> 8). */
    int64_t M = c + 4, wd[4] = {M, 3, 1, 1}, bd[1] = {M}, w2d[4] = {8, M, 3, 3};
    float *w = malloc(sizeof(float) * (size_t)(8 * M * 9 + M * 3 + M));
    for (int64_t i = 0; i < 8 * M * 9 + M * 3 + M; i++)
      w[i] = wrand();
    for (int64_t i = 0; i < M * 3; i++)
      w[i] = fabsf(w[i]);
    for (int64_t i = M * 3; i < M * 4; i++)
      w[i] = 2.0f + fabsf(w[i]);
    int ins[3] = {x, tu_const(g, "", 4, wd, w), tu_const(g, "", 1, bd, w + M * 3)};
    int a = tu_node(g, "Conv", 3, ins, NULL);
    int l = tu_node(g, "Log", 1, &a, NULL);
    int ins2[2] = {l, tu_const(g, "", 4, w2d, w + M * 4)};
    Node *n;
    int y = tu_node(g, "Conv", 2, ins2, &n);
    const int64_t pads[4] = {1, 1, 1, 1};
    tu_attr_ints(g, n, "pads", 4, pads);
    tu_output(g, y);
    /* Div of two convs (0/0 in the padding lanes), then a conv. */
    int ins3[2] = {x, tu_const(g, "", 4, wd, w + 5)};
    int b = tu_node(g, "Conv", 2, ins3, NULL);
    int dv[2] = {b, a};
    int q = tu_node(g, "Div", 2, dv, NULL);
    int ins4[2] = {q, tu_const(g, "", 4, w2d, w + M * 2)};
    y = tu_node(g, "Conv", 2, ins4, &n);
    tu_attr_ints(g, n, "pads", 4, pads);
    tu_output(g, y);
    /* MaxPool(1x1) of a blocked conv, plus a constant of its shape, Clip. */
    int64_t kd[4] = {1, M, 12, 16};
    float *kc = malloc(sizeof(float) * (size_t)(M * 192));
    for (int64_t i = 0; i < M * 192; i++)
      kc[i] = 0.1f * (float)(i % 17) - 0.8f;
    int r = tu_node(g, "Relu", 1, &a, NULL);
    int mp = tu_node(g, "MaxPool", 1, &r, &n);
    const int64_t one[2] = {1, 1};
    tu_attr_ints(g, n, "kernel_shape", 2, one);
    int ad[2] = {mp, tu_const(g, "", 4, kd, kc)};
    int s = tu_node(g, "Add", 2, ad, NULL);
    const int64_t sd[1] = {1};
    const float lo = -0.5f, hi = 0.75f;
    int cl[3] = {s, tu_const(g, "", 0, sd, &lo), tu_const(g, "", 0, sd, &hi)};
    tu_output(g, tu_node(g, "Clip", 3, cl, NULL));
    /* A Concat of 70 convs of x (each 1 -> c/2 channels). */
    int cat[70];
    int64_t cd[4] = {c / 2, 3, 1, 1};
    for (int i = 0; i < 70; i++) {
      int ci[2] = {x, tu_const(g, "", 4, cd, w + i)};
      cat[i] = tu_node(g, "Conv", 2, ci, NULL);
    }
    Node *cn;
    int cc = tu_node(g, "Concat", 70, cat, &cn);
    tu_attr_int(g, cn, "axis", 1);
    tu_output(g, cc);
    free(w);
    free(kc);
    const int fam[4] = {NF_ELTWISE, NF_ELTWISE, NF_CLIP_CONST, NF_ELTWISE};
    check_generated(g, "around", 0.5f, &runnable[ti], fam);
    check_threads(g, "around", &runnable[ti], 2);
    int blocked = 0;
    for (int i = 0; i < g->nnodes; i++)
      blocked += g->values[g->nodes[i].out[0]].layout.kind == LAYOUT_NCHWC &&
                 (g->nodes[i].op == OP_LOG || g->nodes[i].op == OP_DIV ||
                  g->nodes[i].op == OP_ADD || g->nodes[i].op == OP_CLIP);
    CU_ASSERT_EQUAL(blocked, 4); /* they ran on the blocked layout */
    graph_free(g);
    ran++;
  }
  simd_swept("simd around kernels", ran);
}

/* A constant of dtype dt holding data. */
static int const_typed(Graph *g, DType dt, int rank, const int64_t *dims, const void *data) {
  return graph_add_typed_const(g, "", dt, rank, dims, data);
}

/* An int8 conv's shape: x [N, C, H, W], G groups of C / G input and M / G
 * output channels, a KH x KW kernel, strides S, pads P on every side. */
typedef struct {
  int64_t N, C, M, H, W, KH, KW, S, P, G;
} QConvShape;

/* One int8 conv case: x float [N, C, H, W] -> QuantizeLinear (uint8,
 * zero point near 128, or int8 near 0) -> QLinearConv with s8 weights
 * [M, C / G, KH, KW]; flags: 1 weights per output channel, 2 weight zero
 * points not 0, 4 a bias, 8 an int8 output (else uint8), 16 int8
 * activations.  The output scale puts most outputs in range and some past
 * it (saturated).  Returns the output. */
static int qconv_case_k(Graph *g, const QConvShape *sh, int flags, int ncase) {
  int64_t Cg = sh->C / sh->G, KK = sh->KH * sh->KW, M = sh->M;
  int64_t xd[4] = {sh->N, sh->C, sh->H, sh->W}, wd[4] = {M, Cg, sh->KH, sh->KW}, md[1] = {M};
  char name[32];
  snprintf(name, sizeof name, "qx%d", ncase);
  const float xs = 1.0f / 128.0f;
  const uint8_t xz = (uint8_t)(120 + ncase % 16);
  const int8_t xzs = (int8_t)(ncase % 16 - 8);
  int xsv = tu_const(g, "", 0, NULL, &xs);
  int xzv = flags & 16 ? const_typed(g, DT_INT8, 0, NULL, &xzs) : const_typed(g, DT_UINT8, 0, NULL, &xz);
  int qin[3] = {tu_input(g, name, 4, xd), xsv, xzv};
  int xq = tu_node(g, "QuantizeLinear", 3, qin, NULL);
  int8_t *w = malloc((size_t)(M * Cg * KK)), *wz = malloc((size_t)M);
  float *ws = malloc(sizeof(float) * (size_t)M);
  int32_t *b = malloc(sizeof(int32_t) * (size_t)M);
  for (int64_t i = 0; i < M * Cg * KK; i++)
    w[i] = (int8_t)(int)(wrand() * 254.0f);
  bool per_ch = flags & 1;
  for (int64_t m = 0; m < M; m++) {
    ws[m] = 0.01f * (float)(1 + m % 5);
    wz[m] = flags & 2 ? (int8_t)(m % 7 - 3) : 0;
    b[m] = (int32_t)(m * 997 % 4001) - 2000;
  }
  const float ys = xs * 0.01f * 30.0f * sqrtf((float)(Cg * KK));
  const uint8_t yzu = 100;
  const int8_t yzs = -3;
  int ins[9] = {xq, xsv, xzv, const_typed(g, DT_INT8, 4, wd, w),
                per_ch ? tu_const(g, "", 1, md, ws) : tu_const(g, "", 0, NULL, ws),
                const_typed(g, DT_INT8, per_ch ? 1 : 0, md, wz), tu_const(g, "", 0, NULL, &ys),
                flags & 8 ? const_typed(g, DT_INT8, 0, NULL, &yzs)
                          : const_typed(g, DT_UINT8, 0, NULL, &yzu),
                flags & 4 ? const_typed(g, DT_INT32, 1, md, b) : -1};
  free(w);
  free(wz);
  free(ws);
  free(b);
  Node *n;
  int y = tu_node(g, "QLinearConv", flags & 4 ? 9 : 8, ins, &n);
  if (sh->KH * sh->KW > 1 || sh->S > 1 || sh->P || sh->G > 1) {
    const int64_t pads[4] = {sh->P, sh->P, sh->P, sh->P}, st[2] = {sh->S, sh->S};
    tu_attr_int(g, n, "group", sh->G);
    tu_attr_ints(g, n, "pads", 4, pads);
    tu_attr_ints(g, n, "strides", 2, st);
  }
  return y;
}

/* A 1x1, stride 1, unpadded, ungrouped case of qconv_case_k. */
static int qconv_case(Graph *g, int64_t N, int64_t C, int64_t M, int64_t H, int64_t W,
                      int flags, int ncase) {
  QConvShape sh = {N, C, M, H, W, 1, 1, 1, 0, 1};
  return qconv_case_k(g, &sh, flags, ncase);
}

/* The int8 1x1 conv family (simd_qconv.c) on the targets with an 8-bit
 * table whose CPU bits this machine has (avx512 with VNNI; avx2, whose
 * exact dot product needs AVX2 alone; neon under qemu, built with and
 * without the dot-product extension): pixels below, at and past a
 * 16-lane vector (one strip) and two (avx2: 8-lane vectors, strips of 3:
 * 24 and 48 pixels too), output channels around the 16-channel tile
 * (avx2's 4), input channels 1..13 (partial groups of four) and 64,
 * two images, every flag combination; all in one program against the
 * interpreter, outputs pre-filled with NaN by the harness.  Integer
 * outputs: equal, not close. */
static void test_qconv1x1_kernels(void) {
  static const int64_t hw[][2] = {{1, 1}, {3, 5}, {4, 4}, {1, 17}, {1, 31}, {4, 8},
                                  {3, 11}, {7, 7}, {4, 6}, {2, 24}, {5, 10}, {5, 7}};
  static const int64_t ms[] = {1, 15, 16, 17, 33};
  static const int64_t cs[] = {1, 3, 4, 5, 8, 13, 64, 131};
  find_targets();
  int ran = 0;
  int ran_neon = 0, want_neon = 0;
  for (int i = 0; i < nrunnable8; i++)
    want_neon += runnable8[i].t == &target_neon;
  bool ran_avx2 = false;
  for (int ti = 0; ti < nrunnable8; ti++) {
    const VecOps *v = target_vec(runnable8[ti].t, DT_UINT8);
    if (!v)
      continue;
    if (!cd_cpu_has(runnable8[ti].t->cpu_features | v->cpu)) {
      fprintf(stderr, "\n[skipping the int8 1x1 kernels on %s: this CPU lacks AVX-512 VNNI]\n",
              runnable8[ti].t->name);
      continue;
    }
    Graph *g = graph_new();
    wseed = 5;
    int ncase = 0;
    for (int pi = 0; pi < 12; pi++)
      for (int mi = 0; mi < 5; mi++) {
        tu_output(g, qconv_case(g, ncase == 7 ? 2 : 1, cs[ncase % 8], ms[mi], hw[pi][0],
                                hw[pi][1], ncase % 32, ncase));
        ncase++;
      }
    check_generated(g, "qconv1x1", 0.9f, &runnable8[ti], NULL);
    /* images of 1 to 3 pixels past whole vectors (17, 33, 49, 50, 35
     * pixels) dot those along the channels on a target with hsum */
    int extra[4] = {0};
    for (int i = 0; i < g->nnodes; i++)
      if (g->nodes[i].sched.extra >= 1 && g->nodes[i].sched.extra <= 3)
        extra[g->nodes[i].sched.extra]++;
    if (v->hsum)
      CU_ASSERT(extra[1] > 0 && extra[2] > 0 && extra[3] > 0);
    static const char *const rows[4] = {"qconv1x1_u8s8u8", "qconv1x1_u8s8s8",
                                        "qconv1x1_s8s8u8", "qconv1x1_s8s8s8"};
    int vec[4] = {0}, all = 0;
    for (int i = 0; i < g->nnodes; i++)
      for (int r = 0; r < 4; r++)
        vec[r] += g->nodes[i].sched.family == kernel_config_named(rows[r]);
    for (int r = 0; r < 4; r++) {
      CU_ASSERT(vec[r] > 0); /* each row ran */
      all += vec[r];
    }
    CU_ASSERT_EQUAL(all, ncase); /* every case took the family */
    graph_free(g);
    /* Strided 1x1s on a target that packs them by offsets (interleave4x;
     * output rows of at most half a vector): strides 2 and 3, 1 to 98
     * output pixels (one strip of 1 to 4 vectors, then strips of one, the
     * last partial), channels in partial and whole quads, around the
     * tiles; two images; every flag combination. */
    if (v->interleave4x) {
      static const int64_t sh_hw_s[][3] = {{14, 14, 2}, {2, 2, 2}, {8, 16, 2}, {12, 10, 3},
                                           {28, 15, 2}, {4, 6, 2}};
      static const int64_t sc[] = {3, 8, 13, 64}, sm[] = {1, 6, 17, 33};
      g = graph_new();
      wseed = 9;
      int ns = 0;
      for (int i = 0; i < 24; i++) {
        const int64_t *d = sh_hw_s[i % 6];
        QConvShape sh = {i % 7 == 3 ? 2 : 1, sc[i % 4], sm[(i / 4) % 4], d[0], d[1], 1, 1, d[2], 0, 1};
        tu_output(g, qconv_case_k(g, &sh, (i * 5) % 32, i));
        ns++;
      }
      check_generated(g, "qconv1x1_strided", 0.9f, &runnable8[ti], NULL);
      int took = 0;
      for (int i = 0; i < g->nnodes; i++)
        for (int r = 0; r < 4; r++)
          took += g->nodes[i].sched.family == kernel_config_named(rows[r]);
      CU_ASSERT_EQUAL(took, ns); /* every case took the family */
      graph_free(g);
    }
    /* Threads split the pixel strips: 3 threads over 2 images of 42 strips
     * (the last partial) give the bits of 1; so do they over 7x7 images
     * (on avx512 one strip an image, so the strips' channel tiles are
     * split too: 1 image in 3 chunks, the partial tile in the last; 2
     * images in 2 each). */
    g = graph_new();
    tu_output(g, qconv_case(g, 2, 29, 64, 20, 33, 7 | 16, 0));
    tu_output(g, qconv_case(g, 1, 40, 83, 7, 7, 2 | 4, 1));
    tu_output(g, qconv_case(g, 2, 36, 70, 7, 7, 1 | 8, 2));
    check_generated(g, "qconv1x1_threads", 0.3f, &runnable8[ti], NULL);
    check_threads(g, "qconv1x1_threads", &runnable8[ti], 3);
    if (target_i8_wide(runnable8[ti].t)) /* the one-strip images ran on 3 threads */
      for (int k = 1; k < 3; k++)
        CU_ASSERT_EQUAL(g->nodes[g->values[g->outputs[k]].producer].sched.threads, 3);
    graph_free(g);
    ran++;
    ran_neon += runnable8[ti].t == &target_neon;
    ran_avx2 |= runnable8[ti].t == &target_avx2;
  }
  if (!ran)
    fprintf(stderr, "\n[test_qconv1x1_kernels: SKIPPED: no target here runs 8-bit kernels]\n");
#if defined(__x86_64__)
  CU_ASSERT(ran_avx2 || !cd_cpu_has(CD_CPU_AVX2)); /* avx2's table: no VNNI needed */
#endif
  (void)ran_avx2;
  CU_ASSERT_EQUAL(ran_neon, want_neon); /* both neon builds, when the cross tools are here */
}

/* How many nodes of g the four rows named prefix_{u8s8u8,u8s8s8,s8s8u8,
 * s8s8s8} took; each row must have taken one. */
static int count_qconv_rows(Graph *g, const char *prefix) {
  static const char *const types[4] = {"u8s8u8", "u8s8s8", "s8s8u8", "s8s8s8"};
  int all = 0;
  for (int r = 0; r < 4; r++) {
    char name[64];
    snprintf(name, sizeof name, "%s_%s", prefix, types[r]);
    const KernelConfig *k = kernel_config_named(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    int cnt = 0;
    for (int i = 0; i < g->nnodes; i++)
      cnt += g->nodes[i].sched.family == k;
    CU_ASSERT(cnt > 0); /* each row ran */
    all += cnt;
  }
  return all;
}

/* The general int8 conv family (simd_qconv.c, KxK): kernels 3x3, 7x7, 1x1
 * (stride 2 or padded), 5x3, 3x5 and 3x9, strides 1 and 2, pads 0, 1 and 3,
 * groups 1, 2, 4 and 32 of 3, 4, 5, 8 and 1 input channels and 1 .. 17
 * output channels (around the 16-channel tile), images from 1x1 to 33
 * wide (strips of 16 output pixels: fewer, one, more; odd widths), every
 * flag combination (u8 and s8 in and out, per-tensor and per-channel,
 * weight zero points, a bias); all against the interpreter, outputs
 * pre-filled with NaN by the harness; integer outputs: equal.  The family
 * takes kernels up to lanes wide at stride 1, 2 lanes at stride 2 (neon's
 * 4 lanes: not the 5- to 9-wide ones at stride 1; avx2's 8: not 9 at
 * stride 1); the others run the scalar kernel, checked as well.  neon runs
 * twice, with and without the dot-product extension (find_targets' runnable8).  Then
 * the thread split (strips of rows) on a grouped 3x3 of stride 2 and a 7x7
 * stem, and a ResNeXt-like grouped 3x3 (4 channels a group, 24 rows:
 * tiles of 4 rows, QK_ROWS) whose units are blocks of rows.  The sweep's
 * images of 8, 9 and 12 output rows take tiles of several rows too (and
 * of half the channels when that frees the registers), those of 1, 5 and
 * 7 one row. */
static void test_qconv_kernels(void) {
  static const int64_t kk[][2] = {{3, 3}, {7, 7}, {1, 1}, {3, 3}, {5, 3}, {3, 5}};
  static const int64_t cgs[] = {3, 4, 5, 8, 1};
  static const int64_t mgs[] = {1, 4, 8, 15, 16, 17, 3};
  static const int64_t gs[] = {1, 2, 4, 32};
  static const int64_t hws[][2] = {{1, 1}, {5, 7}, {8, 17}, {3, 33}, {12, 13}, {7, 16}, {9, 31}};
  static const int64_t pads[] = {0, 1, 3};
  find_targets();
  int ran = 0, ran_neon = 0, want_neon = 0;
  for (int i = 0; i < nrunnable8; i++)
    want_neon += runnable8[i].t == &target_neon;
  bool ran_avx2 = false;
  for (int ti = 0; ti < nrunnable8; ti++) {
    const VecOps *v = target_vec(runnable8[ti].t, DT_UINT8);
    if (!v || !v->alignr)
      continue;
    if (!cd_cpu_has(runnable8[ti].t->cpu_features | v->cpu)) {
      fprintf(stderr, "\n[skipping the int8 KxK kernels on %s: this CPU lacks AVX-512 VNNI]\n",
              runnable8[ti].t->name);
      continue;
    }
    Graph *g = graph_new();
    wseed = 7;
    int ncase = 0, nvec = 0;
    for (int i = 0; i < 50; i++) {
      QConvShape sh = {.N = i % 11 == 5 ? 2 : 1, .KH = kk[i % 6][0], .KW = kk[i % 6][1],
                       .S = 1 + (i / 3) % 2, .P = pads[(i / 2) % 3], .G = gs[(i / 5) % 4]};
      int64_t cg = cgs[i % 5], mg = mgs[i % 7];
      if (sh.G == 32 && cg * mg > 64) /* keep the program small */
        mg = 2;
      sh.C = sh.G * cg;
      sh.M = sh.G * mg;
      sh.H = hws[(i / 4) % 7][0];
      sh.W = hws[(i / 4) % 7][1];
      while (sh.H + 2 * sh.P < sh.KH || sh.W + 2 * sh.P < sh.KW)
        sh.P++;
      if (sh.KH * sh.KW == 1 && sh.S == 1 && sh.P == 0 && sh.G == 1)
        sh.S = 2; /* not the 1x1 family's */
      if (i >= 48) /* kernels 9 wide: past 8 lanes at stride 1 */
        sh = (QConvShape){1, 8, 17, 6, 21, 3, 9, i - 47, 1, 1};
      tu_output(g, qconv_case_k(g, &sh, i % 32, ncase));
      ncase++;
      /* the family's limit: a tap is one alignr of two vectors (stride 1)
       * or of the even or odd columns' two (stride 2) */
      nvec += sh.KW <= sh.S * v->lanes;
    }
    check_generated(g, "qconv", 0.9f, &runnable8[ti], NULL);
    CU_ASSERT_EQUAL(count_qconv_rows(g, "qconv"), nvec); /* every case it can took the family */
    CU_ASSERT(nvec > ncase / 2);
    graph_free(g);
    /* Threads split the strips: 3 threads over 2 images of a grouped 3x3
     * of stride 2 and of a 7x7 stem (each 17 rows of 2 strips, the last
     * partial), and of a grouped 3x3 on 7x7 images (strips of 2 rows of 7
     * pixels, the last strip of an image 1 row), and of a grouped 3x3 on
     * tiles of 4 rows give the bits of 1.  (A
     * layer of fewer than 32768 outputs is not split: SPLIT_MIN_WORK,
     * QLinearConv counting no MACs.) */
    g = graph_new();
    QConvShape a = {2, 64, 64, 33, 34, 3, 3, 2, 1, 16}, stem = {2, 3, 64, 33, 34, 7, 7, 2, 3, 1},
               narrow = {2, 352, 352, 7, 7, 3, 3, 1, 1, 32},
               rows = {2, 128, 128, 24, 40, 3, 3, 1, 1, 32};
    tu_output(g, qconv_case_k(g, &a, 7 | 16, 0));
    tu_output(g, qconv_case_k(g, &stem, 2 | 4 | 8, 1));
    tu_output(g, qconv_case_k(g, &narrow, 1 | 2 | 4, 2));
    tu_output(g, qconv_case_k(g, &rows, 1 | 2 | 4, 3));
    check_generated(g, "qconv_threads", 0.3f, &runnable8[ti], NULL);
    check_threads(g, "qconv_threads", &runnable8[ti], 3);
    graph_free(g);
    ran++;
    ran_neon += runnable8[ti].t == &target_neon;
    ran_avx2 |= runnable8[ti].t == &target_avx2;
  }
  if (!ran)
    fprintf(stderr, "\n[test_qconv_kernels: SKIPPED: no target here runs 8-bit kernels]\n");
#if defined(__x86_64__)
  CU_ASSERT(ran_avx2 || !cd_cpu_has(CD_CPU_AVX2)); /* avx2's table: no VNNI needed */
#endif
  (void)ran_avx2;
  CU_ASSERT_EQUAL(ran_neon, want_neon); /* both neon builds, when the cross tools are here */
}

/* QDQ residual add a + b: both quantized (b s8 when s8 says, else u8) and
 * dequantized, added, quantized (uint8, zero point 0 after a Relu, else
 * 128; int8 with zero point -10 when s8out says) and dequantized;
 * fold-qdq makes it one QLinearAdd. */
static int qadd_case(Graph *g, const int64_t *dims, bool relu, bool s8, bool s8out, int ncase) {
  const float sa = 0.02f + 0.001f * (float)ncase, sb = 0.05f, sy = 0.06f;
  const uint8_t zu = 120, zy = relu ? 0 : 128;
  const int8_t zs = -5;
  int q[2];
  for (int k = 0; k < 2; k++) {
    char name[32];
    snprintf(name, sizeof name, "qa%d_%d", ncase, k);
    int sv = tu_const(g, "", 0, NULL, k ? &sb : &sa);
    int zv = s8 && k ? const_typed(g, DT_INT8, 0, NULL, &zs) : const_typed(g, DT_UINT8, 0, NULL, &zu);
    int qi[3] = {tu_input(g, name, 4, dims), sv, zv};
    int xq = tu_node(g, "QuantizeLinear", 3, qi, NULL);
    int di[3] = {xq, sv, zv};
    q[k] = tu_node(g, "DequantizeLinear", 3, di, NULL);
  }
  int sum = tu_node(g, "Add", 2, q, NULL);
  if (relu)
    sum = tu_node(g, "Relu", 1, &sum, NULL);
  const int8_t zys = -10;
  int syv = tu_const(g, "", 0, NULL, &sy);
  int zyv = s8out ? const_typed(g, DT_INT8, 0, NULL, &zys) : const_typed(g, DT_UINT8, 0, NULL, &zy);
  int qi[3] = {sum, syv, zyv};
  int yq = tu_node(g, "QuantizeLinear", 3, qi, NULL);
  int di[3] = {yq, syv, zyv};
  return tu_node(g, "DequantizeLinear", 3, di, NULL);
}

/* fold-qdq on g, so the interpreter check_generated consults is the folded
 * graph's (the fold moves an output by a step where the float chain's
 * roundings fell the other side of a tie: test_quant.c checks that). */
static void fold_qdq_first(Graph *g) {
  Diag d = {.quiet = true};
  int order[4], np;
  PassStats st[4];
  CU_ASSERT_FATAL(graph_infer(g, &d) && passes_parse("fold-qdq,dce", order, &np, &d) &&
                  passes_run(g, order, np, st, true, NULL, NULL, &d));
  sb_free(&d.log);
}

/* The residual add of int8 models (qadd_split, simd.c): element counts
 * around the 64-element unit a thread's share is counted in, with and
 * without a Relu, u8 and s8 operands, against the interpreter (the add
 * folded into QLinearAdd first); and a large one split over 3 threads,
 * the bits of 1. */
static void test_qadd_split(void) {
  static const int64_t sizes[][4] = {{1, 1, 1, 1}, {1, 1, 7, 9}, {1, 4, 4, 4}, {1, 5, 13, 1},
                                     {2, 3, 5, 7}, {1, 1, 3, 11}, {1, 2, 4, 4}};
  find_targets();
  for (int ti = 0; ti < nrunnable8; ti++) {
    Graph *g = graph_new();
    wseed = 11;
    for (int c = 0; c < 7; c++)
      tu_output(g, qadd_case(g, sizes[c], c % 2 == 0, c >= 3, c == 5, c)); /* s8 out: no Relu */
    fold_qdq_first(g);
    check_generated(g, "qadd", 0.7f, &runnable8[ti], NULL);
    /* where the int8 table widens bytes, the vector rows (u8 and s8
     * outputs), else the portable loop split */
    bool vec = runnable8[ti].t->i8.widen8 != NULL;
    int folded = 0;
    for (int i = 0; i < g->nnodes; i++) {
      const KernelConfig *f = g->nodes[i].sched.family;
      bool s8 = g->values[g->nodes[i].out[0]].dtype == DT_INT8;
      folded += !g->nodes[i].dead && g->nodes[i].op == OP_QLINEARADD &&
                f == kernel_config_named(!vec ? "qadd_split" : s8 ? "qadd_vec_s8" : "qadd_vec_u8");
    }
    CU_ASSERT_EQUAL(folded, 7);
    graph_free(g);
  }
  for (int ti = 0; ti < nrunnable8; ti += nrunnable8 - 1 > 0 ? nrunnable8 - 1 : 1) {
    Graph *g = graph_new();
    tu_output(g, qadd_case(g, (const int64_t[]){1, 16, 50, 50}, true, false, false, 9));
    tu_output(g, qadd_case(g, (const int64_t[]){1, 16, 50, 51}, false, true, true, 10));
    fold_qdq_first(g);
    check_generated(g, "qadd_threads", 0.4f, &runnable8[ti], NULL);
    check_threads(g, "qadd_threads", &runnable8[ti], 3);
    graph_free(g);
  }
}

/* One int8 head case: a float [R.., K] (rank 2, or 3 with 2 batches) ->
 * QuantizeLinear (uint8 with zero point near 128, or int8 near 0: flag 1)
 * -> MatMulInteger with a constant s8 B [K, N]; flag 2 gives B's zero
 * points (zeros, per column), flag 4 leaves out A's.  Returns the int32
 * output. */
static int qmatmul_case(Graph *g, int64_t R, int64_t K, int64_t N, int flags, int ncase) {
  char name[32];
  snprintf(name, sizeof name, "qm%d", ncase);
  const float xs = 1.0f / 128.0f;
  const uint8_t az = (uint8_t)(120 + ncase % 16);
  const int8_t azs = (int8_t)(ncase % 16 - 8), zero0 = 0;
  int64_t ad[3] = {R > 2 ? 2 : R, R > 2 ? R / 2 : K, K}, bd[2] = {K, N}, nd[1] = {N};
  int xzv = flags & 1 ? const_typed(g, DT_INT8, 0, NULL, &azs) : const_typed(g, DT_UINT8, 0, NULL, &az);
  int qin[3] = {tu_input(g, name, R > 2 ? 3 : 2, ad), tu_const(g, "", 0, NULL, &xs), xzv};
  int xq = tu_node(g, "QuantizeLinear", 3, qin, NULL);
  int8_t *b = malloc((size_t)(K * N)), *bz = calloc((size_t)N, 1);
  for (int64_t i = 0; i < K * N; i++)
    b[i] = (int8_t)(int)(wrand() * 254.0f);
  int ins[4] = {xq, const_typed(g, DT_INT8, 2, bd, b),
                flags & 4 ? -1 : const_typed(g, flags & 1 ? DT_INT8 : DT_UINT8, 0, NULL,
                                             flags & 1 ? (const void *)&azs : (const void *)&az),
                flags & 2 ? const_typed(g, DT_INT8, 1, nd, bz) : const_typed(g, DT_INT8, 0, NULL, &zero0)};
  free(b);
  free(bz);
  return tu_node(g, "MatMulInteger", 4, ins, NULL);
}

/* The int8 head kernel (simd_qmatmul.c) on the targets whose 8-bit table
 * this CPU runs: columns around a vector and the unit of QM_NV (avx2:
 * QM_NV16) vectors, K in whole and partial quads, 1 to 3 rows and two
 * batches, u8 and s8 activations, zero points given or not; the int32
 * outputs equal the interpreter's, outputs pre-filled with NaN (neon with
 * and without +dotprod).  Then 3 threads over 1000 columns give the bits
 * of 1. */
static void test_qmatmul_kernels(void) {
  static const int64_t ks[] = {1, 3, 4, 5, 13, 64, 67};
  find_targets();
  int ran = 0;
  int ran_neon = 0, want_neon = 0;
  for (int i = 0; i < nrunnable8; i++)
    want_neon += runnable8[i].t == &target_neon;
  for (int ti = 0; ti < nrunnable8; ti++) {
    const VecOps *v = target_vec(runnable8[ti].t, DT_UINT8);
    if (!v)
      continue;
    if (!cd_cpu_has(runnable8[ti].t->cpu_features | v->cpu)) {
      fprintf(stderr, "\n[skipping the int8 head kernels on %s: this CPU lacks AVX-512 VNNI]\n",
              runnable8[ti].t->name);
      continue;
    }
    int64_t L = v->lanes, U = (target_i8_wide(runnable8[ti].t) ? 8 : 4) * L;
    const int64_t ns[] = {1, L - 1, L, L + 1, U - 1, U, U + 1, 2 * U + L + 3};
    Graph *g = graph_new();
    wseed = 13;
    int ncase = 0;
    for (int ni = 0; ni < 8; ni++)
      for (int r = 0; r < 3; r++) {
        int64_t R = ncase % 5 == 4 ? 4 : 1 + r;
        tu_output(g, qmatmul_case(g, R, ks[ncase % 7], ns[ni], ncase % 8, ncase));
        ncase++;
      }
    check_generated(g, "qmatmul", 0.9f, &runnable8[ti], NULL);
    int took[2] = {0, 0};
    for (int i = 0; i < g->nnodes; i++) {
      took[0] += g->nodes[i].sched.family == kernel_config_named("qmatmul_u8s8");
      took[1] += g->nodes[i].sched.family == kernel_config_named("qmatmul_s8s8");
    }
    CU_ASSERT(took[0] > 0 && took[1] > 0);
    CU_ASSERT_EQUAL(took[0] + took[1], ncase); /* every case took the family */
    graph_free(g);
    g = graph_new();
    tu_output(g, qmatmul_case(g, 1, 2048, 1000, 0, 0));
    check_generated(g, "qmatmul_threads", 0.3f, &runnable8[ti], NULL);
    check_threads(g, "qmatmul_threads", &runnable8[ti], 3);
    graph_free(g);
    ran++;
    ran_neon += runnable8[ti].t == &target_neon;
  }
  if (!ran)
    fprintf(stderr, "\n[test_qmatmul_kernels: SKIPPED: no target here runs 8-bit kernels]\n");
  CU_ASSERT_EQUAL(ran_neon, want_neon); /* both neon builds, when the cross tools are here */
}

/* QuantizeLinear per tensor in vectors (quantize_vec, simd.c): float
 * inputs of 1 to 211 elements (tails), uint8 and int8, scales that
 * saturate both ends, then with NaN inputs (made 0, as the interpreter
 * does); the bytes equal the interpreter's on every target with an int8
 * table; 3 threads = 1. */
static void test_quantize_vec(void) {
  static const int64_t ns[] = {1, 7, 8, 15, 16, 17, 64, 65, 211};
  find_targets();
  for (int ti = 0; ti < nrunnable8; ti++) {
    if (!target_vec(runnable8[ti].t, DT_UINT8) ||
        !cd_cpu_has(runnable8[ti].t->cpu_features | runnable8[ti].t->i8.cpu))
      continue;
    Graph *g = graph_new();
    int fam[9];
    for (int c = 0; c < 9; c++) {
      char name[16];
      snprintf(name, sizeof name, "qv%d", c);
      const float sc = c % 3 == 0 ? 1.0f / 200.0f : 1.0f / (60.0f + (float)c);
      const uint8_t zu = (uint8_t)(90 + c);
      const int8_t zs = (int8_t)(c - 4);
      int in[3] = {tu_input(g, name, 1, &ns[c]), tu_const(g, "", 0, NULL, &sc),
                   c % 2 ? const_typed(g, DT_INT8, 0, NULL, &zs) : const_typed(g, DT_UINT8, 0, NULL, &zu)};
      tu_output(g, tu_node(g, "QuantizeLinear", 3, in, NULL));
      fam[c] = NF_ELTWISE;
    }
    check_generated(g, "quantize_vec", 0.9f, &runnable8[ti], fam);
    int took = 0;
    for (int i = 0; i < g->nnodes; i++)
      took += g->nodes[i].sched.family == kernel_config_named("quantize_vec_u8") ||
              g->nodes[i].sched.family == kernel_config_named("quantize_vec_s8");
    CU_ASSERT_EQUAL(took, 9);
    graph_free(g);
    g = graph_new();
    const float sc = 1.0f / 100.0f;
    const uint8_t zu = 128;
    int in[3] = {tu_input(g, "qt", 4, (const int64_t[]){1, 3, 150, 151}), tu_const(g, "", 0, NULL, &sc),
                 const_typed(g, DT_UINT8, 0, NULL, &zu)};
    tu_output(g, tu_node(g, "QuantizeLinear", 3, in, NULL));
    check_generated(g, "quantize_vec_threads", 0.3f, &runnable8[ti], NULL);
    check_threads(g, "quantize_vec_threads", &runnable8[ti], 3);
    graph_free(g);
  }
}

/* Slice x along one axis: starts, ends, steps as int64 inputs (opset 10+). */
static int slice_case(Graph *g, int x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  const int64_t one[1] = {1};
  int ins[5] = {x, const_typed(g, DT_INT64, 1, one, &start), const_typed(g, DT_INT64, 1, one, &end),
                const_typed(g, DT_INT64, 1, one, &axis), const_typed(g, DT_INT64, 1, one, &step)};
  return tu_node(g, "Slice", 5, ins, NULL);
}

/* The copy families (simd_copy.c) on every target: Slices copied in runs
 * (a channel range of 2 images, a reversed outer dim, a strided outer dim
 * under whole rows, a run of exactly 16, one run of 11 chunks) and
 * Concats (three parts on channels of 2 images, on the outer axis, two
 * parts of 11 chunks) and Flattens that write graph outputs (one of 23
 * chunks), pre-filled with NaN, equal to the interpreter's;
 * then 3 threads over the large ones give the bits of 1. */
static void test_copy_families(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int a = tu_input(g, "ca", 4, (const int64_t[]){2, 10, 5, 7});
    int b = tu_input(g, "cb", 3, (const int64_t[]){3, 4, 40});
    int c = tu_input(g, "cc", 3, (const int64_t[]){4, 6, 20});
    int d = tu_input(g, "cd", 2, (const int64_t[]){5, 17});
    int big = tu_input(g, "cbig", 4, (const int64_t[]){1, 116, 28, 28});
    tu_output(g, slice_case(g, a, 1, 3, 9, 1));
    tu_output(g, slice_case(g, b, 0, 2, -100, -1));
    tu_output(g, slice_case(g, c, 1, 1, 5, 2));
    tu_output(g, slice_case(g, d, 1, 0, 16, 1));
    int h0 = slice_case(g, big, 1, 0, 58, 1), h1 = slice_case(g, big, 1, 58, 116, 1);
    int p[3] = {tu_input(g, "cp0", 4, (const int64_t[]){2, 3, 4, 5}),
                tu_input(g, "cp1", 4, (const int64_t[]){2, 5, 4, 5}),
                tu_input(g, "cp2", 4, (const int64_t[]){2, 1, 4, 5})};
    Node *n;
    tu_output(g, tu_node(g, "Concat", 3, p, &n));
    tu_attr_int(g, n, "axis", 1);
    int q[2] = {tu_input(g, "cq0", 2, (const int64_t[]){3, 20}),
                tu_input(g, "cq1", 2, (const int64_t[]){2, 20})};
    tu_output(g, tu_node(g, "Concat", 2, q, &n));
    tu_attr_int(g, n, "axis", 0);
    int hh[2] = {h1, h0};
    tu_output(g, tu_node(g, "Concat", 2, hh, &n));
    tu_attr_int(g, n, "axis", 1);
    tu_output(g, tu_node(g, "Flatten", 1, &big, NULL)); /* 23 chunks */
    tu_output(g, tu_node(g, "Flatten", 1, &a, NULL));
    check_generated(g, "copy", 0.7f, &runnable[ti], NULL);
    int fam[3] = {0, 0, 0};
    for (int i = 0; i < g->nnodes; i++) {
      fam[0] += g->nodes[i].sched.family == kernel_config_named("slice_copy");
      fam[1] += g->nodes[i].sched.family == kernel_config_named("concat_copy");
      fam[2] += g->nodes[i].sched.family == kernel_config_named("alias_copy");
    }
    CU_ASSERT_EQUAL(fam[0], 6);
    CU_ASSERT_EQUAL(fam[1], 3);
    CU_ASSERT_EQUAL(fam[2], 2); /* shape-only ops writing graph outputs copy */
    if (ti == nrunnable - 1)
      check_threads(g, "copy_threads", &runnable[ti], 3);
    graph_free(g);
  }
}

/* DepthToSpace on the plain layout (depth_to_space_rows, simd_copy.c) on
 * every target: DCR and CRD, blocks of 2 and 3, rows of 16 to 64 output
 * elements, pre-filled with NaN, equal to the interpreter's; 3 threads over
 * them give the bits of 1 (the largest is split).  Rows under 16 stay the
 * portable kernel's. */
static void test_depth_to_space(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    static const int64_t xs[][4] = {{2, 8, 3, 8}, {1, 18, 4, 13}, {1, 12, 5, 8}, {1, 8, 2, 5},
                                    {1, 64, 32, 32}};
    for (int c = 0; c < 5; c++) {
      char name[16];
      snprintf(name, sizeof name, "d2s%d", c);
      int x = tu_input(g, name, 4, xs[c]);
      Node *n;
      int y = tu_node(g, "DepthToSpace", 1, &x, &n);
      tu_attr_int(g, n, "blocksize", c == 1 ? 3 : 2);
      if (c % 2)
        tu_attr_str(g, n, "mode", "CRD");
      tu_output(g, y);
    }
    check_generated(g, "depth_to_space", 0.7f, &runnable[ti], NULL);
    int rows = 0;
    for (int i = 0; i < g->nnodes; i++)
      rows += g->nodes[i].sched.family == kernel_config_named("depth_to_space_rows");
    CU_ASSERT_EQUAL(rows, 4); /* the 10-wide output stays portable */
    if (ti == nrunnable - 1)
      check_threads(g, "depth_to_space_threads", &runnable[ti], 3);
    graph_free(g);
  }
}

/* Resize of H and W on the plain layout (resize_rows, simd_resize.c) on
 * every target, against the interpreter, pre-filled with NaN: linear up
 * (half_pixel, 2x2 and 1x2: H unresized), cubic up (pytorch_half_pixel,
 * 2.5x3), nearest up (asymmetric, floor, 3x4), linear down and up
 * (align_corners, to sizes 5x9), on images of 6x7 and 28x28 (the large
 * one split over 3 threads: the bits of 1); outputs narrower than 8 and
 * tf_crop_and_resize's extrapolation stay the portable kernel's. */
static void test_resize_rows(void) {
  static const struct {
    const char *mode, *coord;
    float s[4];
    int64_t size[4];
    bool rows;
  } cases[] = {
      {"linear", "half_pixel", {1, 1, 2, 2}, {0}, true},
      {"linear", "half_pixel", {1, 1, 1, 2}, {0}, true},
      {"cubic", "pytorch_half_pixel", {1, 1, 2.5f, 3}, {0}, true},
      {"nearest", "asymmetric", {1, 1, 3, 4}, {0}, true},
      {"linear", "align_corners", {0}, {2, 3, 5, 9}, true},
      {"linear", "half_pixel", {1, 1, 0.5f, 0.5f}, {0}, false},
      {"linear", "half_pixel", {1, 1, 4, 4}, {0}, true},
  };
  const int64_t four[1] = {4};
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int want = 0;
    for (int k = 0; k < 7; k++) {
      char name[16];
      snprintf(name, sizeof name, "rz%d", k);
      const int64_t small[4] = {2, 3, 6, 7}, big[4] = {1, 8, 28, 28};
      int in[4] = {tu_input(g, name, 4, k == 6 ? big : small), -1, -1, -1};
      if (cases[k].size[0])
        in[3] = const_typed(g, DT_INT64, 1, four, cases[k].size);
      else
        in[2] = tu_const(g, "", 1, four, cases[k].s);
      Node *n;
      tu_output(g, tu_node(g, "Resize", 4, in, &n));
      tu_attr_str(g, n, "mode", cases[k].mode);
      tu_attr_str(g, n, "coordinate_transformation_mode", cases[k].coord);
      if (!strcmp(cases[k].mode, "nearest"))
        tu_attr_str(g, n, "nearest_mode", "floor");
      want += cases[k].rows;
    }
    check_generated(g, "resize_rows", 0.7f, &runnable[ti], NULL);
    int rows = 0;
    for (int i = 0; i < g->nnodes; i++)
      rows += g->nodes[i].sched.family == kernel_config_named("resize_rows");
    CU_ASSERT_EQUAL(rows, want);
    if (ti == nrunnable - 1)
      check_threads(g, "resize_rows_threads", &runnable[ti], 3);
    graph_free(g);
  }
}

/* Softmax over the last axis (softmax_rows, simd_norm.c) and MatMul of two
 * computed tensors (matmul_vec, simd_gemm.c) on every target, against the
 * interpreter, pre-filled with NaN: softmax rows of 7, 16 and 197 (tails,
 * whole vectors), one over a middle axis (the portable kernel's); matmuls
 * batched [2, 3] x [2, 3] with 5 rows (a tile and a row left) and 33
 * columns (whole tiles, a single vector, a tail of 1), a batch broadcast
 * of B [20, 40], a K of 600 (the tail summed element by element), and
 * ViT's 12 x 197 x 64 attention, the large ones split over 3 threads (the
 * bits of 1); and elementwise ops with an operand of one value (attention's
 * scale), which run in the elementwise family. */
static void test_softmax_matmul(void) {
  static const int64_t sm[][3] = {{3, 5, 7}, {2, 3, 16}, {1, 12, 197}, {2, 9, 4}};
  static const int64_t mm[][2][4] = {{{2, 3, 5, 17}, {2, 3, 17, 33}},
                                     {{1, 3, 7, 20}, {1, 1, 20, 40}},
                                     {{1, 1, 6, 600}, {1, 1, 600, 20}},
                                     {{1, 12, 197, 64}, {1, 12, 64, 197}}};
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    for (int c = 0; c < 4; c++) {
      char name[16];
      snprintf(name, sizeof name, "sm%d", c);
      int x = tu_input(g, name, 3, sm[c]);
      Node *n;
      tu_output(g, tu_node(g, "Softmax", 1, &x, &n));
      if (c == 3)
        tu_attr_int(g, n, "axis", 1);
      snprintf(name, sizeof name, "ma%d", c);
      int ab[2] = {tu_input(g, name, 4, mm[c][0]), -1};
      snprintf(name, sizeof name, "mb%d", c);
      ab[1] = tu_input(g, name, 4, mm[c][1]);
      tu_output(g, tu_node(g, "MatMul", 2, ab, NULL));
    }
    /* attention's scale: a tensor by one value, a rank-0 and a [1] */
    const int64_t sd[3] = {2, 3, 40}, one[1] = {1};
    const float sq = 8.0f, half = 0.5f;
    int dv[2] = {tu_input(g, "sdiv", 3, sd), tu_const(g, "", 0, NULL, &sq)};
    tu_output(g, tu_node(g, "Div", 2, dv, NULL));
    int mv[2] = {tu_const(g, "", 1, one, &half), dv[0]};
    tu_output(g, tu_node(g, "Mul", 2, mv, NULL));
    check_generated(g, "softmax_matmul", 0.7f, &runnable[ti], NULL);
    int fam[3] = {0, 0, 0};
    for (int i = 0; i < g->nnodes; i++) {
      fam[0] += g->nodes[i].sched.family == kernel_config_named("softmax_rows");
      fam[1] += g->nodes[i].sched.family == kernel_config_named("matmul_vec");
      fam[2] += g->nodes[i].sched.family == kernel_config_named("eltwise_vec");
    }
    bool vec = target_vec(runnable[ti].t, DT_FLOAT) != NULL;
    CU_ASSERT_EQUAL(fam[0], vec ? 3 : 0);
    CU_ASSERT_EQUAL(fam[1], vec ? 4 : 0);
    CU_ASSERT_EQUAL(fam[2], vec ? 2 : 0);
    if (ti == nrunnable - 1)
      check_threads(g, "softmax_matmul_threads", &runnable[ti], 3);
    graph_free(g);
  }
}

/* ReduceMean and ReduceSum over trailing dims (reduce_rows, simd_norm.c)
 * on every target: rows of 1, 7, 16, 49 and 77 elements (tails, whole
 * vectors), keepdims on and off, against the interpreter; a reduction of
 * a middle dim stays the portable kernel's. */
static void test_reduce_rows(void) {
  static const int64_t xs[][4] = {{2, 3, 7, 7}, {4, 16, 1, 1}, {3, 1, 1, 7}, {1, 2, 7, 11}};
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int rows = 0;
    for (int c = 0; c < 5; c++) {
      char name[16];
      snprintf(name, sizeof name, "rx%d", c);
      const int64_t *xd = xs[c % 4];
      int64_t axes[2] = {2, 3}, mid = 1, one = 1, two = 2;
      if (c == 1) /* [4, 16, 1, 1] over dims 1 and 2: dim 3 is kept (of 1), not trailing */
        axes[0] = 1, axes[1] = 2;
      int ins[2] = {tu_input(g, name, 4, xd),
                    const_typed(g, DT_INT64, 1, c == 4 ? &one : &two, c == 4 ? &mid : axes)};
      Node *n;
      int y = tu_node(g, c % 2 ? "ReduceSum" : "ReduceMean", 2, ins, &n);
      n->opset = 18;
      tu_attr_int(g, n, "keepdims", c % 3 ? 1 : 0);
      tu_output(g, y);
      rows += c != 4 && c != 1; /* c == 4: a middle dim */
    }
    check_generated(g, "reduce_rows", 0.6f, &runnable[ti], NULL);
    int took = 0;
    for (int i = 0; i < g->nnodes; i++)
      took += g->nodes[i].sched.family == kernel_config_named("reduce_rows");
    CU_ASSERT_EQUAL(took, ti == 0 ? 0 : rows); /* vectors: the SIMD targets */
    graph_free(g);
  }
}

/* MaxPool of bytes (maxpool_int, simd_pool.c) on every target: a float
 * input quantized to uint8 or int8 (zero point inside the range, so both
 * ends saturate), kernels 1x1 to 5x3, strides 1 to 3, pads up to 2 and
 * ceil_mode (windows past the input), images narrower and wider than a
 * vector; the bytes equal the interpreter's, outputs pre-filled with NaN;
 * then 3 threads over the planes give the bits of 1. */
static int qpool_case(Graph *g, const int64_t *xd, const int64_t *k, int64_t s, int64_t pad,
                      bool ceil, bool s8, int ncase) {
  char name[32];
  snprintf(name, sizeof name, "qp%d", ncase);
  const float xs = 1.0f / 100.0f;
  const uint8_t zu = 100;
  const int8_t zs = -20;
  int qin[3] = {tu_input(g, name, 4, xd), tu_const(g, "", 0, NULL, &xs),
                s8 ? const_typed(g, DT_INT8, 0, NULL, &zs) : const_typed(g, DT_UINT8, 0, NULL, &zu)};
  int xq = tu_node(g, "QuantizeLinear", 3, qin, NULL);
  Node *n;
  int y = tu_node(g, "MaxPool", 1, &xq, &n);
  const int64_t pads[4] = {pad, pad > 1 ? 1 : pad, pad, pad}, st[2] = {s, s};
  tu_attr_ints(g, n, "kernel_shape", 2, k);
  tu_attr_ints(g, n, "pads", 4, pads);
  tu_attr_ints(g, n, "strides", 2, st);
  if (ceil)
    tu_attr_int(g, n, "ceil_mode", 1);
  return y;
}

static void test_maxpool_int(void) {
  static const int64_t ks[][2] = {{3, 3}, {2, 2}, {1, 1}, {5, 3}, {3, 5}};
  static const int64_t hw[][2] = {{1, 1}, {7, 9}, {12, 70}, {5, 33}, {20, 17}};
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int ncase = 0;
    for (int i = 0; i < 20; i++) {
      const int64_t *k = ks[i % 5];
      int64_t s = 1 + i % 3, pad = (i / 3) % 3, xd[4] = {1 + i % 2, 2 + i % 3, hw[i / 4][0], hw[i / 4][1]};
      if (pad >= k[0] || pad >= k[1])
        pad = 0;
      while (xd[2] + 2 * pad < k[0] || xd[3] + 2 * pad < k[1])
        xd[2]++, xd[3]++;
      tu_output(g, qpool_case(g, xd, k, s, pad, i % 4 == 1, i % 2 == 1, ncase++));
    }
    check_generated(g, "maxpool_int", 0.8f, &runnable[ti], NULL);
    int took = 0;
    for (int i = 0; i < g->nnodes; i++)
      took += g->nodes[i].sched.family == kernel_config_named("maxpool_int");
    CU_ASSERT_EQUAL(took, ncase); /* every case took the family */
    graph_free(g);
  }
  Graph *g = graph_new();
  tu_output(g, qpool_case(g, (const int64_t[]){2, 32, 56, 56}, (const int64_t[]){3, 3}, 2, 1,
                          false, false, 0));
  check_generated(g, "maxpool_int_threads", 0.4f, &runnable[nrunnable - 1], NULL);
  check_threads(g, "maxpool_int_threads", &runnable[nrunnable - 1], 3);
  graph_free(g);
}

/* The packed Gemm kernel (a classifier head: transB, B constant): rows M,
 * outputs N around the vector width and the 4-vector tile (whole vectors
 * stored from registers, a partial last one by lanes), K from 1, with and
 * without C, alpha and beta not 1, a fused residual and ReLU; per SIMD
 * target. */
static void test_simd_gemm(void) {
  find_targets();
  int ran = 0;
  for (int ti = 1; ti < nrunnable; ti++) {
    int64_t c = runnable[ti].t->block;
    const int64_t Ns[] = {1, c - 1, c, c + 1, 4 * c, 4 * c + 3, 9 * c + 5, 1000};
    const int64_t Ks[] = {1, 7, 33};
    Graph *g = graph_new();
    wseed = 5;
    int ncase = 0, fam[24];
    for (int ni = 0; ni < 8; ni++)
      for (int ki = 0; ki < 3; ki++) {
        /* the last outputs: a head big enough to be split over threads */
        int64_t M = 1 + ncase % 3, N = Ns[ni], K = ni == 7 ? 512 : Ks[ki];
        int64_t ad[2] = {M, K}, bd[2] = {N, K}, cd[1] = {N};
        char name[16];
        snprintf(name, sizeof name, "a%d", ncase);
        float *b = malloc(sizeof(float) * (size_t)(N * K + N));
        for (int64_t i = 0; i < N * K + N; i++)
          b[i] = wrand();
        bool bias = ncase % 2 == 0;
        int ins[3] = {tu_input(g, name, 2, ad), tu_const(g, "", 2, bd, b),
                      bias ? tu_const(g, "", 1, cd, b + N * K) : -1};
        free(b);
        if (ncase % 5 == 2) { /* a classifier head: [M, K, 1, 1], flattened (an alias) */
          int64_t a4[4] = {M, K, 1, 1};
          value_set_shape(&g->values[ins[0]], DT_FLOAT, 4, a4);
          ins[0] = tu_node(g, "Flatten", 1, ins, NULL);
        }
        Node *n;
        int y = tu_node(g, "Gemm", bias ? 3 : 2, ins, &n);
        tu_attr_int(g, n, "transB", 1);
        if (ncase % 3 == 1) {
          tu_attr_float(g, n, "alpha", 0.5f);
          tu_attr_float(g, n, "beta", -2.0f);
        }
        if (ncase % 6 == 5) { /* a residual, fused into the epilogue (fuse-residual) */
          int64_t yd[2] = {M, N};
          snprintf(name, sizeof name, "r%d", ncase);
          int add[2] = {y, tu_input(g, name, 2, yd)};
          y = tu_node(g, "Add", 2, add, NULL);
        }
        if (ncase % 4 == 3)
          y = tu_node(g, "Relu", 1, &y, NULL);
        tu_output(g, y);
        fam[ncase] = ncase % 4 == 3 ? NF_GEMM_RELU : NF_GEMM;
        ncase++;
      }
    check_generated(g, "gemm", 0.4f, &runnable[ti], fam);
    check_threads(g, "gemm", &runnable[ti], 3);
    int packed = 0;
    for (int i = 0; i < g->nnodes; i++)
      packed += g->nodes[i].sched.family == kernel_config_named("gemm_vec");
    CU_ASSERT_EQUAL(packed, ncase);
    int fused = 0; /* the residuals went into the Gemms' epilogues */
    for (int i = 0; i < g->nnodes; i++)
      fused += !g->nodes[i].dead && g->nodes[i].op == OP_GEMM && g->nodes[i].ep.residual >= 0;
    CU_ASSERT_EQUAL(fused, 4);
    graph_free(g);
    ran++;
  }
  simd_swept("simd gemm", ran);
}

/* Every activation of the op table, with its default attributes (and
 * Gelu's tanh form), alone and fused into a Conv's epilogue by
 * fuse-activation (a vector epilogue on the SIMD targets, or the lanes one
 * by one for the activations without a vector form): generated C against
 * the interpreter, on every target. */
/* Generated code's erf (cd_erff, a rational approximation, not libm's)
 * against the interpreter's erff over [-8, 8] (past the clamp at 4), on
 * NaN (Log of a negative) and -inf (Log of 0), alone and inside Gelu. */
static void test_erf_range(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    const int64_t xd[4] = {1, 2, 9, 23}, one[1] = {1};
    const float eight = 8;
    int x = tu_input(g, "x", 4, xd);
    int ins[2] = {x, tu_const(g, "", 1, one, &eight)};
    int big = tu_node(g, "Mul", 2, ins, NULL);
    tu_output(g, tu_node(g, "Erf", 1, &big, NULL));
    tu_output(g, tu_node(g, "Gelu", 1, &big, NULL));
    int l = tu_node(g, "Log", 1, &x, NULL);
    tu_output(g, tu_node(g, "Erf", 1, &l, NULL));
    const int fam[3] = {NF_ERF, NF_ERF, NF_ERF};
    check_generated(g, "erf", 0.37f, &runnable[ti], fam);
    graph_free(g);
  }
}

/* Pow by a constant 2 is emitted as a product (pow_square), by 3 or by a
 * runtime exponent as powf; each against the interpreter, and the kernels
 * compile warning-free though the first ignores its exponent operand. */
static void test_pow_kernels(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    const int64_t xd[4] = {1, 3, 4, 5}, one[1] = {1};
    const float two = 2, three = 3;
    int x = tu_input(g, "x", 4, xd), e = tu_input(g, "e", 4, xd);
    int sq[2] = {x, tu_const(g, "", 1, one, &two)};
    tu_output(g, tu_node(g, "Pow", 2, sq, NULL));
    int cu[2] = {x, tu_const(g, "", 1, one, &three)};
    tu_output(g, tu_node(g, "Pow", 2, cu, NULL));
    int ee[2] = {x, e}; /* NaN where x < 0 and e is not an integer, in both */
    tu_output(g, tu_node(g, "Pow", 2, ee, NULL));
    const int fam[3] = {NF_POW, NF_POW, NF_POW};
    check_generated(g, "pow", 0.9f, &runnable[ti], fam);
    int pows = 0;
    for (int i = 0; i < g->nnodes; i++)
      pows += g->nodes[i].op == OP_POW;
    CU_ASSERT_EQUAL(pows, 3); /* none folded away */
    graph_free(g);
  }
}

static void test_activation_kernels(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    const int64_t xd[4] = {1, 3, 4, 5}, wd[4] = {2, 3, 1, 1};
    const float w[6] = {0.5f, -1, 2, 1.5f, 0.25f, -3};
    int x = tu_input(g, "x", 4, xd);
    int nact = 0, fam[2 * (OP_COUNT + 1)];
    for (int op = 0; op <= OP_COUNT; op++) {
      if (op < OP_COUNT && !(op_table[op].flags & OPF_ACTIVATION))
        continue;
      const char *name = op < OP_COUNT ? op_table[op].name : "Gelu";
      Node *n;
      OpKind kind = op < OP_COUNT ? (OpKind)op : OP_GELU; /* internal ops have no lookup */
      int a = tu_node(g, name, 1, &x, &n);
      n->op = kind;
      if (op == OP_COUNT)
        tu_attr_str(g, n, "approximate", "tanh");
      tu_output(g, a);
      int ins[2] = {x, tu_const(g, "", 4, wd, w)};
      int c = tu_node(g, "Conv", 2, ins, NULL);
      c = tu_node(g, name, 1, &c, &n);
      n->op = kind;
      if (op == OP_COUNT)
        tu_attr_str(g, n, "approximate", "tanh");
      tu_output(g, c);
      fam[2 * nact] = NF_ACT + 2 * op;
      fam[2 * nact + 1] = NF_ACT + 2 * op + 1;
      nact++;
    }
    check_generated(g, "acts", 0.7f, &runnable[ti], fam);
    int fused = 0;
    for (int i = 0; i < g->nnodes; i++)
      fused += !g->nodes[i].dead && g->nodes[i].op == OP_CONV && g->nodes[i].ep.act != OP_COUNT;
    CU_ASSERT_EQUAL(fused, nact);
    graph_free(g);
  }
}

/* The pooling kernels, on every target (the SIMD ones on NCHWc): channel
 * counts below, past and twice past the vector width (partial last
 * blocks), MaxPool and AveragePool 3x3 stride 2 with padding (with and
 * without count_include_pad), 2x2 stride 2 with ceil_mode, GlobalMaxPool
 * and GlobalAveragePool.  Each reads a 1x1 conv (which puts the pools on
 * the blocked layout) of weights that are never 0, so a NaN input pixel is
 * NaN in every channel on every target (a grouped conv of zero-padded
 * weights would spread it only on some). */
static void test_pool_kernels(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    int64_t c = runnable[ti].t->block;
    const int64_t chans[3] = {3, c + 1, 2 * c + 3};
    Graph *g = graph_new();
    wseed = 29;
    int fam[18], nout = 0;
    for (int ci = 0; ci < 3; ci++) {
      int64_t C = chans[ci], xd[4] = {1, C, 9, 11}, wd[4] = {C, C, 1, 1};
      char name[16];
      snprintf(name, sizeof name, "x%d", ci);
      float *w = malloc(sizeof(float) * (size_t)(C * C));
      for (int64_t i = 0; i < C * C; i++)
        w[i] = 1 + wrand(); /* never 0: a NaN pixel is NaN in every channel, as in ONNX */
      int ins[2] = {tu_input(g, name, 4, xd), tu_const(g, "", 4, wd, w)};
      free(w);
      Node *n;
      int d = tu_node(g, "Conv", 2, ins, &n);
      const int64_t k3[2] = {3, 3}, k2[2] = {2, 2}, s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1};
      for (int k = 0; k < 4; k++) {
        bool max = k < 2, three = k != 1;
        int y = tu_node(g, max ? "MaxPool" : "AveragePool", 1, &d, &n);
        tu_attr_ints(g, n, "kernel_shape", 2, three ? k3 : k2);
        tu_attr_ints(g, n, "strides", 2, s2);
        if (three)
          tu_attr_ints(g, n, "pads", 4, p1);
        else
          tu_attr_int(g, n, "ceil_mode", 1);
        if (k == 3)
          tu_attr_int(g, n, "count_include_pad", 1);
        tu_output(g, y);
        fam[nout++] = max ? NF_MAXPOOL : NF_AVGPOOL;
      }
      tu_output(g, tu_node(g, "GlobalMaxPool", 1, &d, NULL));
      fam[nout++] = NF_GMAXPOOL;
      tu_output(g, tu_node(g, "GlobalAveragePool", 1, &d, NULL));
      fam[nout++] = NF_GAVGPOOL;
    }
    check_generated(g, "pool", 0.6f, &runnable[ti], fam);
    int blocked = 0;
    for (int i = 0; i < g->nnodes; i++)
      blocked += g->nodes[i].sched.family == kernel_config_named("pool_blocked") ||
                 g->nodes[i].sched.family == kernel_config_named("gpool_blocked");
    CU_ASSERT_EQUAL(blocked, ti > 0 ? 18 : 0); /* the SIMD kernels ran */
    graph_free(g);
  }
}

/*
 * The activation table: every activation, on every target this machine
 * runs, in its three forms -- the reference (interpreter), the scalar
 * column (the scalar target), the vector column fused into a conv's
 * epilogue and as a standalone blocked kernel (fuse-activation off) --
 * over +-0, +-inf, NaN, denormals, the kinks (HardSwish and HardSigmoid at
 * +-3, the clip bounds), the edges of exp's range and a dense sweep of
 * [-12, 12].  NaN must stay NaN, infinities must match exactly, and
 * everything else agree within the bound act.c states: 1e-6 relative plus
 * an absolute term (2e-7: exp(x) - 1 near 0, tanh's rational; 1e-37
 * elsewhere, for results in the denormals).
 */
static void act_inputs(float *x, int n) {
  static const float special[] = {
      0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-40f, 1.17549435e-38f, -1.17549435e-38f,
      3.0f, -3.0f, 3.0000002f, -2.9999998f, 6.0f, -6.0f, 1.0f, -1.0f, 0.5f, -0.5f, 1e-7f,
      -1e-7f, 88.0f, 88.7f, 88.73f, 89.0f, 100.0f, -87.3f, -88.0f, -103.0f, -104.0f, -110.0f,
      7.9f, -7.9f, 8.0f, -8.0f, 4.0f, -4.0f, 1e30f, -1e30f, 3.4e38f, -3.4e38f, 20.0f, -20.0f,
      0.25f, 2.0f};
  int ns = (int)(sizeof special / sizeof special[0]);
  for (int i = 0; i < n; i++)
    x[i] = i < ns ? special[i] : -12.0f + 24.0f * (float)(i - ns) / (float)(n - ns);
}

static bool act_close(float x, float got, float want, float abs_tol) {
  if (isnan(want) || isnan(got))
    return isnan(want) && isnan(got);
  if (isinf(want) || isinf(got))
    return got == want;
  double scale = fabs((double)x) > 1 ? fabs((double)x) : 1;
  return fabs((double)got - want) <= 1e-6 * fabs((double)want) + abs_tol * scale;
}

static void test_activation_table(void) {
  find_targets();
  enum { C = 16, W = 160 }; /* whole blocks on every target */
  const int64_t xd[4] = {1, C, 1, W}, wd[4] = {C, 1, 1, 1};
  float *x = malloc(sizeof(float) * C * W), ones[C];
  act_inputs(x, C * W);
  for (int c = 0; c < C; c++)
    ones[c] = 1.0f;
  int nops = 0;
  for (int op = 0; op < OP_COUNT; op++) {
    if (!(op_table[op].flags & OPF_ACTIVATION))
      continue;
    for (int form = 0; form < (op == OP_GELU ? 2 : 1); form++)
      for (int ti = 0; ti < nrunnable; ti++)
        for (int fused = 0; fused < 2; fused++) {
          const Runnable *r = &runnable[ti];
          Graph *g = graph_new();
          g->target = r->t;
          int in = tu_input(g, "x", 4, xd);
          Node *cv;
          int ins[2] = {in, tu_const(g, "w", 4, wd, ones)};
          int y = tu_node(g, "Conv", 2, ins, &cv); /* depthwise, weight 1: y = x exactly */
          tu_attr_int(g, cv, "group", C);
          Node *n;
          int bounds[3] = {y, -1, -1};
          if (op == OP_CLIP) {
            const int64_t one[1] = {1};
            const float lo = -2.5f, hi = 6.0f;
            bounds[1] = tu_const(g, "lo", 0, one, &lo);
            bounds[2] = tu_const(g, "hi", 0, one, &hi);
          }
          int a = tu_node(g, op_table[op].name, op == OP_CLIP ? 3 : 1, bounds, &n);
          n->op = (OpKind)op; /* internal ops (Silu) are not looked up by name */
          if (form)
            tu_attr_str(g, n, "approximate", "tanh");
          if (op == OP_LEAKYRELU || op == OP_ELU)
            tu_attr_float(g, n, "alpha", 0.3f);
          tu_output(g, a);
          Diag d = {.quiet = true};
          CU_ASSERT_FATAL(graph_infer(g, &d));
          float *want = NULL;
          CU_ASSERT_FATAL(interp_run(g, (const float *const *)&x, &want, &d));
          int order[CD_MAX_PASSES], np;
          CU_ASSERT_FATAL(passes_parse(fused ? "default" : "default,-fuse-activation", order, &np, &d));
          PassStats st[CD_MAX_PASSES];
          CU_ASSERT_FATAL(passes_run(g, order, np, st, true, NULL, NULL, &d));
          /* The form under test really is the one that runs. */
          int epilogue = 0, standalone = 0;
          for (int i = 0; i < g->nnodes; i++) {
            epilogue += (int)g->nodes[i].ep.act == op;
            standalone += (int)g->nodes[i].op == op;
          }
          CU_ASSERT_EQUAL(epilogue, fused);
          CU_ASSERT_EQUAL(standalone, !fused);
          CompileJob j = {.name = "act", .cflags = "-O2 -std=c99 -pedantic -Wall -Wextra -Werror",
                          .cc = r->cc, .runner = r->runner, .pch_dir = tu_pch()};
          float *got = NULL;
          bool ran = cd_run_generated(&j, g, (const float *const *)&x, &got, &d);
          if (!ran)
            fprintf(stderr, "\n%s on %s: %s\n", op_table[op].name, r->t->name,
                    d.log.buf ? d.log.buf : "");
          CU_ASSERT_FATAL(ran);
          note_families(g);
          /* Where the result cancels (e^x - 1 near 0, 1 + erf or 1 + tanh near
           * -1, x a + b near 0), an ulp of the larger term, times |x| where x
           * multiplies it (Gelu, Mish, HardSwish, SiLU). */
          float abs_tol = op == OP_ELU || op == OP_SELU || op == OP_TANH || op == OP_MISH ||
                                  op == OP_GELU || op == OP_SOFTPLUS || op == OP_SIGMOID ||
                                  op == OP_SILU || op == OP_HARDSIGMOID || op == OP_HARDSWISH
                              ? 3e-7f
                              : 1e-37f;
          int bad = 0;
          for (int i = 0; i < C * W; i++)
            if (!act_close(x[i], got[i], want[i], abs_tol) && bad++ < 3)
              fprintf(stderr, "\n%s%s on %s (%s): f(%.9g) = %.9g, the interpreter %.9g\n",
                      op_table[op].name, form ? " (tanh)" : "", r->t->name,
                      fused ? "epilogue" : "kernel", x[i], got[i], want[i]);
          CU_ASSERT_EQUAL(bad, 0);
          free(got);
          free(want);
          sb_free(&d.log);
          graph_free(g);
        }
    nops++;
  }
  CU_ASSERT(nops >= 17); /* every activation of the table was run */
  free(x);
}

/* LayerNormalization kernels: with and without B, a one-value Scale, the
 * Mean and InvStdDev outputs, rows of a partial vector, of whole vectors
 * and a tail, of whole vectors only; generated C against the interpreter
 * on every target (layernorm_vec on the SIMD ones, over 1 and 2 threads). */
static void test_layernorm_kernels(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int64_t c = runnable[ti].t->block;
    const int64_t xd[3] = {2, 5, 6}, sd[2] = {5, 6}, one[1] = {1};
    /* rows of a partial vector, whole vectors and a tail, whole vectors only */
    const int64_t rd[3][3] = {{3, 2, c > 1 ? c - 1 : 1}, {3, 2, 2 * c + 5}, {1, 2100, 4 * c}};
    float sc[128], b[128];
    for (int i = 0; i < 128; i++)
      sc[i] = 0.1f * (float)(i % 30) - 1, b[i] = 0.05f * (float)(i % 7);
    int x = tu_input(g, "x", 3, xd);
    int fam[8], nout = 0;
    for (int cse = 0; cse < 6; cse++) {
      int nres = cse == 2 ? 3 : 1, xin = x;
      int ni = graph_add_op(g, OP_LAYERNORM, 3, nres);
      Node *n = &g->nodes[ni];
      n->opset = 17;
      if (cse < 3) {
        /* 0: axis -1, Scale [6], no B; 1: axis 1, one-value Scale and B;
         * 2: axis -2, Scale and B [5, 6], Mean and InvStdDev. */
        n->in[1] = cse == 0 ? tu_const(g, "", 1, sd + 1, sc)
                   : cse == 1 ? tu_const(g, "", 1, one, sc) : tu_const(g, "", 2, sd, sc);
        n->in[2] = cse == 0 ? -1 : cse == 1 ? tu_const(g, "", 1, one, b) : tu_const(g, "", 2, sd, b);
        tu_attr_int(g, &g->nodes[ni], "axis", cse == 0 ? -1 : cse == 1 ? 1 : -2);
      } else {
        char name[8];
        snprintf(name, sizeof name, "r%d", cse);
        xin = tu_input(g, name, 3, rd[cse - 3]);
        g->nodes[ni].in[1] = tu_const(g, "", 1, rd[cse - 3] + 2, sc);
        g->nodes[ni].in[2] = tu_const(g, "", 1, rd[cse - 3] + 2, b);
        tu_attr_int(g, &g->nodes[ni], "axis", -1);
      }
      g->nodes[ni].in[0] = xin;
      for (int j = 0; j < nres; j++) {
        int v = graph_add_value(g, "");
        g->nodes[ni].out[j] = v;
        g->values[v].producer = ni;
        tu_output(g, v);
        fam[nout++] = NF_LAYERNORM;
      }
    }
    check_generated(g, "lnorm", 1.3f, &runnable[ti], fam);
    if (runnable[ti].t->block > 1) {
      int vec = 0;
      for (int i = 0; i < g->nnodes; i++)
        vec += g->nodes[i].sched.family == kernel_config_named("layernorm_vec");
      CU_ASSERT_EQUAL(vec, 6);
      check_threads(g, "lnorm", &runnable[ti], 2);
    }
    graph_free(g);
  }
}

/* Squeeze-and-excitation scales on the blocked layout (channel_bcast): x
 * times, plus, minus, over a per-channel tensor, either operand first, the
 * per-channel one computed (GlobalAveragePool, Sigmoid: [N, C, 1, 1]) or a
 * constant [1, C, 1, 1] broadcast over two images; channel counts a
 * partial block and past it; NaN inputs too. */
static void test_channel_bcast(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    int64_t c = runnable[ti].t->block;
    Graph *g = graph_new();
    wseed = 41;
    int fam[8], nout = 0;
    static const char *const ops[4] = {"Mul", "Add", "Sub", "Div"};
    for (int ci = 0; ci < 2; ci++) {
      int64_t C = ci ? 2 * c + 3 : c - 1 > 0 ? c - 1 : 1, N = ci + 1;
      int64_t xd[4] = {N, C, 5, 7}, wd[4] = {C, C, 1, 1}, sd[4] = {1, C, 1, 1};
      char name[16];
      snprintf(name, sizeof name, "x%d", ci);
      float *w = malloc(sizeof(float) * (size_t)(C * C));
      for (int64_t i = 0; i < C * C; i++)
        w[i] = 1 + wrand();
      int ins[2] = {tu_input(g, name, 4, xd), tu_const(g, "", 4, wd, w)};
      int y = tu_node(g, "Conv", 2, ins, NULL); /* puts y on the blocked layout */
      for (int64_t i = 0; i < C; i++)
        w[i] = 1 + 0.5f * wrand(); /* in [0.5, 1.5]: a divisor far from 0 */
      int s = ci ? tu_const(g, "", 4, sd, w) : tu_node(g, "GlobalAveragePool", 1, &y, NULL);
      free(w);
      if (!ci)
        s = tu_node(g, "Sigmoid", 1, &s, NULL);
      for (int k = 0; k < 4; k++) { /* s * y, y + s, s - y, y / s (s far from 0) */
        bool s_first = k == 0 || k == 2;
        int b[2] = {s_first ? s : y, s_first ? y : s};
        tu_output(g, tu_node(g, ops[k], 2, b, NULL));
        fam[nout++] = NF_ELTWISE;
      }
    }
    check_generated(g, "bcast", 0.3f, &runnable[ti], fam);
    int bc = 0;
    for (int i = 0; i < g->nnodes; i++)
      bc += g->nodes[i].sched.family == kernel_config_named("channel_bcast");
    CU_ASSERT_EQUAL(bc, ti > 0 ? 8 : 0); /* on SIMD targets, no Reorder around them */
    graph_free(g);
  }
}

/* Scales and biases repeated over rows (row_bcast): x op s with s the last
 * dims of x (a constant [C], a constant [3, C], an input [1, C]) or a
 * middle run of them (a constant [C, 1, 1] and an input [1, C, 1, 1] over
 * NCHW), either operand first; row lengths around the vector width, and
 * tensors big enough to be split over threads; NaN inputs too. */
static void test_row_bcast(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    int64_t c = runnable[ti].t->block;
    Graph *g = graph_new();
    wseed = 47;
    int fam[20], nout = 0, want = 0;
    static const char *const ops[4] = {"Mul", "Add", "Sub", "Div"};
    const int64_t Cs[5] = {c + 3 > 4 ? c + 3 : 5, 2 * c, 48, c + 1, 2 * c + 3};
    const int64_t rows[5] = {3, 2, 700, 5, 20};
    for (int ci = 0; ci < 5; ci++) {
      int64_t C = Cs[ci], r = rows[ci];
      bool nchw = ci >= 3, input = ci == 2 || ci == 4;
      int64_t xd[4] = {2, r, C, 0}, sd[4] = {ci == 1 ? r : 1, C, 0, 0};
      if (nchw) /* x [2, C, r, r + 1], s [C, 1, 1] or [1, C, 1, 1] */
        xd[1] = C, xd[2] = r, xd[3] = r + 1, sd[0] = ci == 3 ? C : 1, sd[1] = ci == 3 ? 1 : C,
        sd[2] = sd[3] = 1;
      int srank = nchw ? (ci == 3 ? 3 : 4) : ci == 0 ? 1 : 2;
      const int64_t *sdims = ci == 0 ? sd + 1 : sd;
      char name[16];
      snprintf(name, sizeof name, "x%d", ci);
      int x = tu_input(g, name, nchw ? 4 : 3, xd), sv;
      if (input) {
        snprintf(name, sizeof name, "s%d", ci);
        sv = tu_input(g, name, srank, sdims);
      } else {
        int64_t ns = 1;
        for (int k = 0; k < srank; k++)
          ns *= sdims[k];
        float *w = malloc(sizeof(float) * (size_t)ns);
        for (int64_t i = 0; i < ns; i++)
          w[i] = 1 + 0.5f * wrand(); /* in [0.5, 1.5]: a divisor far from 0 */
        sv = tu_const(g, "", srank, sdims, w);
        free(w);
      }
      for (int k = 0; k < 4; k++) {
        if (input && k == 3)
          continue; /* an input divisor could be near 0 */
        bool s_first = k == 0 || k == 2;
        int b[2] = {s_first ? sv : x, s_first ? x : sv};
        tu_output(g, tu_node(g, ops[k], 2, b, NULL));
        fam[nout++] = NF_ELTWISE;
        want++;
      }
    }
    check_generated(g, "rowbcast", 0.3f, &runnable[ti], fam);
    int rb = 0;
    for (int i = 0; i < g->nnodes; i++)
      rb += g->nodes[i].sched.family == kernel_config_named("row_bcast");
    CU_ASSERT_EQUAL(rb, ti > 0 ? want : 0);
    if (ti > 0)
      check_threads(g, "rowbcast", &runnable[ti], 2);
    graph_free(g);
  }
}

/* Transposes that swap two runs of dims (transpose_tiled): NCHW <-> NHWC
 * with channels around the tile, a batched 2-D transpose, ShuffleNet's
 * channel shuffle (runs of H W), one big enough to be split over threads;
 * a permutation that is not one swap stays with the scalar kernel. */
static void test_transpose_tiled(void) {
  find_targets();
  static const struct {
    int rank;
    int64_t dims[5], perm[5];
  } cases[] = {
      {4, {1, 17, 5, 7}, {0, 2, 3, 1}},  {4, {2, 5, 7, 33}, {0, 3, 1, 2}},
      {3, {2, 5, 37}, {0, 2, 1}},        {5, {2, 2, 3, 4, 5}, {0, 2, 1, 3, 4}},
      {4, {1, 40, 30, 35}, {0, 2, 3, 1}}, {4, {2, 3, 4, 5}, {0, 3, 2, 1}},
  };
  const int ncases = (int)(sizeof cases / sizeof cases[0]);
  for (int ti = 0; ti < nrunnable; ti++) {
    Graph *g = graph_new();
    int fam[8];
    for (int k = 0; k < ncases; k++) {
      char name[16];
      snprintf(name, sizeof name, "x%d", k);
      int x = tu_input(g, name, cases[k].rank, cases[k].dims);
      Node *n;
      int y = tu_node(g, "Transpose", 1, &x, &n);
      tu_attr_ints(g, n, "perm", cases[k].rank, cases[k].perm);
      tu_output(g, y);
      fam[k] = NF_ELTWISE;
    }
    check_generated(g, "transpose", 0.0f, &runnable[ti], fam);
    int tiled = 0;
    for (int i = 0; i < g->nnodes; i++)
      tiled += g->nodes[i].sched.family == kernel_config_named("transpose_tiled");
    CU_ASSERT_EQUAL(tiled, ti > 0 ? ncases - 1 : 0);
    if (ti > 0)
      check_threads(g, "transpose", &runnable[ti], 2);
    graph_free(g);
  }
}

/* Concats along channels on the blocked layout (concat_blocked): inputs of
 * whole blocks and a last one of a partial block, two images, then a
 * MaxPool reading the concat (GoogLeNet's inception blocks); a concat
 * whose first input is a partial block stays plain. */
static void test_concat_blocked(void) {
  find_targets();
  for (int ti = 0; ti < nrunnable; ti++) {
    int64_t c = runnable[ti].t->block;
    Graph *g = graph_new();
    wseed = 43;
    const int64_t xd[4] = {2, 5, 6, 7}, k3[2] = {3, 3}, p1[4] = {1, 1, 1, 1};
    int x = tu_input(g, "x", 4, xd);
    int64_t widths[2][3] = {{c, 2 * c, c + 3}, {c + 1, c, c}};
    int fam[4], nout = 0;
    for (int k = 0; k < 2; k++) {
      int ys[3];
      for (int i = 0; i < 3; i++) {
        int64_t wd[4] = {widths[k][i], 5, 1, 1};
        float *w = malloc(sizeof(float) * (size_t)(widths[k][i] * 5));
        for (int64_t j = 0; j < widths[k][i] * 5; j++)
          w[j] = 1 + wrand();
        int ins[2] = {x, tu_const(g, "", 4, wd, w)};
        free(w);
        ys[i] = tu_node(g, "Conv", 2, ins, NULL);
      }
      Node *n;
      int cat = tu_node(g, "Concat", 3, ys, &n);
      tu_attr_int(g, n, "axis", k ? 1 : -3);
      tu_output(g, cat);
      fam[nout++] = NF_ELTWISE;
      int mp = tu_node(g, "MaxPool", 1, &cat, &n);
      tu_attr_ints(g, n, "kernel_shape", 2, k3);
      tu_attr_ints(g, n, "pads", 4, p1);
      tu_output(g, mp);
      fam[nout++] = NF_MAXPOOL;
    }
    check_generated(g, "concat", 0.45f, &runnable[ti], fam);
    int blocked = 0, plain = 0;
    for (int i = 0; i < g->nnodes; i++)
      if (g->nodes[i].op == OP_CONCAT) {
        blocked += g->nodes[i].sched.family == kernel_config_named("concat_blocked");
        plain += g->nodes[i].sched.family == kernel_config_named("concat_copy");
      }
    CU_ASSERT_EQUAL(blocked, ti > 0 ? 1 : 0);
    CU_ASSERT_EQUAL(plain, ti > 0 ? 1 : 2);
    graph_free(g);
  }
}

/* The rule: every kernel family has a test comparing it with the
 * interpreter (the tests above note the families they run). */
static void test_every_family_tested(void) {
  find_targets();
  int missing = 0;
  for (int i = 0; kernel_configs[i]; i++) {
    bool seen = false;
    for (int k = 0; k < nfamilies_run && !seen; k++)
      seen = families_run[k] == kernel_configs[i];
    /* A family whose vector table needs CPU bits no runnable target has
     * here (AVX-512 VNNI) cannot run: said, not counted. */
    const KernelConfig *k = kernel_configs[i];
    bool can = !(k->flags & KC_VECTOR);
    for (int r = 0; r < nrunnable && !can; r++) {
      const VecOps *v = target_vec(runnable[r].t, k->y);
      can = v && cd_cpu_has(runnable[r].t->cpu_features | v->cpu);
    }
    if (!seen && !can) {
      fprintf(stderr, "\n[kernel family %s: no target this CPU runs has it: not run]\n",
              k->name);
      continue;
    }
    if (!seen) {
      fprintf(stderr, "\nkernel family %s: no test here ran it against the interpreter\n",
              kernel_configs[i]->name);
      missing++;
    }
  }
  CU_ASSERT(nrunnable > 1); /* a SIMD target ran: its families count */
  CU_ASSERT_EQUAL(missing, 0);
}

/* Files in dir whose names end with suffix. */
static int count_suffix(const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t l = strlen(e->d_name), k = strlen(suffix);
    n += l > k && !strcmp(e->d_name + l - k, suffix);
  }
  if (d)
    closedir(d);
  return n;
}

/* CompileJob.pch_dir: the target's system headers precompiled once per
 * compiler and flags (a .gch each), used again, and the results those
 * of a build without them. */
static void test_precompiled_headers(void) {
  MB *m = mb_new(13);
  const int64_t dims[2] = {1, 37};
  mb_input(m, "x", 1, 2, dims);
  const char *i0[1] = {"x"}, *o0[1] = {"s"}, *o1[1] = {"y"};
  mb_node(m, "Sigmoid", "sig", 1, i0, 1, o0);
  mb_node(m, "Relu", "relu", 1, o0, 1, o1);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("pch.onnx")));
  mb_free(m);
  const char *dir = tu_path("pch-own");
  const char *ccs[2] = {"cc", on_path("clang") ? "clang" : NULL};
  float x[37];
  for (int i = 0; i < 37; i++)
    x[i] = (float)(i - 18) / 4.0f;
  const float *ins[1] = {x};
  float *want[1] = {0};
  Diag d = {.quiet = true};
  int made = 0;
  for (int k = 0; k < 2 && ccs[k]; k++)
    for (int again = 0; again < 3; again++) {
      if (!again)
        made = count_suffix(dir, ".h.gch");
      /* again 0: without; 1: made; 2: used */
      CompileJob j = {.model = tu_path("pch.onnx"), .name = "pch", .target = "native",
                      .cc = ccs[k], .cflags = "-O1 -std=c99 -pedantic -Wall -Wextra -Werror",
                      .pch_dir = again ? dir : NULL};
      Graph *g = cd_load_model(&j, NULL, NULL, &d);
      CU_ASSERT_FATAL(g != NULL);
      float *got[1] = {0};
      CU_ASSERT_FATAL(cd_run_generated(&j, g, ins, got, &d));
      if (!want[0])
        want[0] = got[0];
      else {
        CU_ASSERT_EQUAL(memcmp(want[0], got[0], sizeof x), 0);
        free(got[0]);
      }
      if (again && g->target->include[0]) /* scalar (no SIMD here): nothing to precompile */
        CU_ASSERT_EQUAL(count_suffix(dir, ".h.gch"), made + 1);
      graph_free(g);
    }
  /* one per compiler (clang never reads gcc's), no temporary left behind */
  made = count_suffix(dir, ".h.gch");
  CU_ASSERT(made == 0 || made == (ccs[1] ? 2 : 1));
  CU_ASSERT_EQUAL(count_suffix(dir, ".tmp"), 0);
  CU_ASSERT_EQUAL(count_suffix(dir, ".h"), made); /* each .gch's header, no half-written one */
  free(want[0]);
  sb_free(&d.log);
}

/* A model of one C -> M conv, K x K, "same" padding, on an H x H image,
 * scheduled for avx512 on T threads, on the direct kernels (no winograd). */
static Graph *one_conv(int64_t C, int64_t M, int64_t H, int64_t K, int T) {
  MB *m = mb_new(13);
  const int64_t xd[4] = {1, C, H, H};
  const int64_t wd[4] = {M, C, K, K};
  float *w = calloc((size_t)(M * C * K * K), sizeof(float));
  CU_ASSERT_FATAL(w != NULL);
  mb_input(m, "x", 1, 4, xd);
  mb_init_floats(m, "w", 4, wd, w);
  const char *in[2] = {"x", "w"}, *out[1] = {"y"};
  Onnx__NodeProto *nd = mb_node(m, "Conv", "conv", 2, in, 1, out);
  const int64_t pads[4] = {K / 2, K / 2, K / 2, K / 2};
  mb_attr_ints(nd, "pads", 4, pads);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("order.onnx")));
  mb_free(m);
  free(w);
  CompileJob j = {.model = tu_path("order.onnx"), .name = "order", .target = "avx512",
                  .passes = "default,-winograd", .threads = T}; /* the blocked kernel's rules */
  Diag d = {.quiet = true};
  Graph *g = cd_load_model(&j, NULL, NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  sb_free(&d.log);
  return g;
}

/* Its one blocked conv's schedule. */
static const Schedule *blocked_sched(const Graph *g) {
  const Schedule *s = NULL;
  int convs = 0;
  for (int k = 0; k < g->nnodes; k++)
    if (g->nodes[k].sched.family == kernel_config_named("conv_blocked")) {
      convs++;
      s = &g->nodes[k].sched;
    }
  CU_ASSERT_FATAL(convs == 1);
  return s;
}

/* The blocked conv's loop order on avx512 (1 MB of L2): past half of it,
 * the order that streams fewer bytes from further out -- VGG's 3x3s of
 * 256-512 channels at 28x28 and 56x56 put the output blocks outside (the
 * input per group, not 2-9 MB of weights per pixel tile); ResNet's 1x1
 * 64->256 at 56x56 keeps the pixels outside (its weights fit; its input
 * does not), as does a small conv (neither past half of L2). */
static void test_conv_order_by_traffic(void) {
  const struct {
    int64_t C, M, H, K;
    bool blocks;
  } cases[] = {{512, 512, 28, 3, true}, {256, 256, 56, 3, true}, {64, 256, 56, 1, false},
               {64, 64, 28, 3, false}, {512, 512, 7, 3, true}};
  for (int i = 0; i < 5; i++) {
    Graph *g = one_conv(cases[i].C, cases[i].M, cases[i].H, cases[i].K, 1);
    const Schedule *s = blocked_sched(g);
    if (s->ob_outer != cases[i].blocks)
      fprintf(stderr, "\ncase %d: order %s\n", i, s->order);
    CU_ASSERT_EQUAL(s->ob_outer, cases[i].blocks);
    graph_free(g);
  }
}

/* A blocks-outside conv whose input passes 2x L2 streams it once per output
 * group: its reduction is cut so that a chunk of the input (kc blocks of
 * every pixel) fits in half of L2 and serves every group from there.  FCN's
 * dilated layer4 1x1 (2048 -> 512 at 28x28, 6.4 MB of input) takes chunks
 * of 10 blocks (524288 / (784 * 64) bytes); ResNet-50's layer3 1x1 (0.8 MB
 * of input) keeps its whole reduction. */
static void test_conv_chunk_by_input(void) {
  Graph *g = one_conv(2048, 512, 28, 1, 1);
  const Schedule *s = blocked_sched(g);
  CU_ASSERT(s->ob_outer);
  CU_ASSERT_EQUAL(s->kc, 10);
  graph_free(g);
  g = one_conv(1024, 256, 14, 1, 1);
  s = blocked_sched(g);
  CU_ASSERT(s->ob_outer);
  CU_ASSERT_EQUAL(s->kc, 0);
  graph_free(g);
}

/* A blocks-outside flat conv whose weights pass half of L2 while its input
 * fits in half of it prefetches the next output group's panel (emit_prefetch),
 * its reduction cut in even chunks when two panels and the input would not
 * fit in half of L2: ResNet-50's layer4 1x1 2048 -> 512 at 7x7 (chunks of 43
 * of its 128 blocks: 524288 / (2 * 4096 + 3136) bytes a block is 46, 3
 * chunks), 512 -> 2048 whole; not layer1's (pixels outside), nor FCN's
 * dilated 2048 -> 512 at 28x28 (its input past half of L2).  Then, on every
 * SIMD target here, two such convs (a short last output group, bias,
 * residual + ReLU; one chunked on avx512) against the interpreter, and on 3
 * threads the bits of 1. */
static void test_conv_prefetch(void) {
  const struct {
    int64_t C, M, H;
    bool prefetch;
    int64_t kc;
  } cases[] = {{2048, 512, 7, true, 43}, {512, 2048, 7, true, 0}, {64, 256, 56, false, 0},
               {2048, 512, 28, false, 10}};
  for (int i = 0; i < 4; i++) {
    Graph *g = one_conv(cases[i].C, cases[i].M, cases[i].H, 1, 1);
    const Schedule *s = blocked_sched(g);
    if (s->prefetch != cases[i].prefetch || s->kc != cases[i].kc)
      fprintf(stderr, "\ncase %d: prefetch %d, kc %lld\n", i, s->prefetch, (long long)s->kc);
    CU_ASSERT_EQUAL(s->prefetch, cases[i].prefetch);
    CU_ASSERT_EQUAL(s->kc, cases[i].kc);
    graph_free(g);
  }
  find_targets();
  for (int ti = 1; ti < nrunnable; ti++) { /* the SIMD targets */
    Graph *g = graph_new();
    wseed = 5;
    int fam[2];
    ConvCase a = {640, 208, 1, 7, 7, 1, 1, 0, 1, true, true};
    ConvCase b = {768, 176, 1, 7, 7, 1, 1, 0, 1, true, false};
    tu_output(g, conv_case(g, &a, 0));
    fam[0] = conv_family(&a);
    tu_output(g, conv_case(g, &b, 1));
    fam[1] = conv_family(&b);
    check_generated(g, "prefetch", 0.9f, &runnable[ti], fam);
    int prefetching = 0, chunked = 0;
    for (int i = 0; i < g->nnodes; i++) {
      prefetching += g->nodes[i].sched.prefetch;
      chunked += g->nodes[i].sched.prefetch && g->nodes[i].sched.kc > 0;
    }
    if (!prefetching)
      fprintf(stderr, "\nprefetch on %s: no conv prefetches\n", runnable[ti].t->name);
    CU_ASSERT(prefetching > 0);
    if (!strcmp(runnable[ti].t->name, "avx512"))
      CU_ASSERT_EQUAL(chunked, 1); /* 768 -> 176: 2 x 196 KB of panels and 147 KB of input */
    check_threads(g, "prefetch", &runnable[ti], 3);
    graph_free(g);
  }
}

/* On 2 threads, a blocks-outside conv splits by output blocks only when its
 * weights pass 8x its input (each thread then reads the whole input, not
 * all the weights): ResNet-50's layer3 1x1 (1024 -> 256 at 14x14, weights
 * 1.3x) and layer3.0's stride-2 3x3 are split by pixels, as is
 * ResNeXt-101's layer3 1x1 (1024 -> 1024, 5.2x); ResNet-50's 3x3 at 14x14
 * (12x) and layer4's 3x3 (94x) by blocks.  Every case keeps blocks outside. */
static void test_conv_split_by_bytes(void) {
  const struct {
    int64_t C, M, H, K;
    SplitAxis split;
  } cases[] = {{1024, 256, 14, 1, SPLIT_TILES}, {256, 256, 14, 3, SPLIT_BLOCKS},
               {512, 512, 7, 3, SPLIT_BLOCKS}, {1024, 512, 14, 1, SPLIT_TILES},
               {1024, 1024, 14, 1, SPLIT_TILES}};
  for (int i = 0; i < 5; i++) {
    Graph *g = one_conv(cases[i].C, cases[i].M, cases[i].H, cases[i].K, 2);
    const Schedule *s = blocked_sched(g);
    CU_ASSERT(s->ob_outer);
    if (s->split != cases[i].split)
      fprintf(stderr, "\ncase %d: split %d\n", i, (int)s->split);
    CU_ASSERT_EQUAL(s->split, cases[i].split);
    CU_ASSERT_EQUAL(s->threads, 2);
    graph_free(g);
  }
}

/* The C a 1x1 conv's register tile becomes keeps the tile in registers:
 * ResNet-50's layer4 shape (7x7, a 64x5 tile: 20 accumulators, 4 weight
 * vectors, a broadcast) with a bias, a residual and ReLU, on 1 thread and
 * on 2 with claimed tails, compiled by the system's cc at -O3: no FMA of
 * the kernel reads a vector from the stack.  (GCC 12 spilled the weights
 * when the claim loop's call sat around the tile, and when it hoisted the
 * bias vectors out of the pixel loop: emit_claims, emit_tile.) */
static void test_conv_tile_in_registers(void) {
#if !defined(__x86_64__)
  fprintf(stderr, "\n[skipping test_conv_tile_in_registers: reads x86-64 assembly]\n");
  return;
#endif
  if (!on_path("cc")) {
    fprintf(stderr, "\n[skipping test_conv_tile_in_registers: no cc]\n");
    return;
  }
  const int64_t C = 512, H = 7;
  MB *m = mb_new(13);
  const int64_t xd[4] = {1, C, H, H}, wd[4] = {C, C, 1, 1}, bd[1] = {C};
  float *w = calloc((size_t)(C * C), sizeof(float)), *b = calloc((size_t)C, sizeof(float));
  CU_ASSERT_FATAL(w && b);
  mb_input(m, "x", 1, 4, xd);
  mb_input(m, "r", 1, 4, xd);
  mb_init_floats(m, "w", 4, wd, w);
  mb_init_floats(m, "b", 1, bd, b);
  const char *ci[3] = {"x", "w", "b"}, *co[1] = {"c"};
  mb_node(m, "Conv", "conv", 3, ci, 1, co);
  const char *ai[2] = {"c", "r"}, *ao[1] = {"s"};
  mb_node(m, "Add", "add", 2, ai, 1, ao);
  const char *ri[1] = {"s"}, *ro[1] = {"y"};
  mb_node(m, "Relu", "relu", 1, ri, 1, ro);
  mb_output(m, "y");
  CU_ASSERT_FATAL(mb_write(m, tu_path("spill.onnx")));
  mb_free(m);
  free(w);
  free(b);
  for (int T = 1; T <= 2; T++) {
    char dir[64];
    snprintf(dir, sizeof dir, "spill_t%d", T);
    CompileJob j = {.model = tu_path("spill.onnx"), .name = "spill", .target = "avx512",
                    .threads = T, .out_dir = tu_path(dir)};
    Diag d = {.quiet = true};
    Graph *g = NULL;
    CU_ASSERT_FATAL(cd_compile(&j, &g, &d));
    const Schedule *s = blocked_sched(g);
    CU_ASSERT_EQUAL(s->tile_c, 64);
    CU_ASSERT_EQUAL(s->tile_p, 5);
    CU_ASSERT_EQUAL(s->chunk > 0, T == 2); /* 2 threads: the claim loop around it */
    char asm_path[4096], cmd[12288];
    snprintf(asm_path, sizeof asm_path, "%s/spill.s", tu_path(dir));
    snprintf(cmd, sizeof cmd, "cc -O3 -S -o '%s' '%s/spill.c' -I'%s'", asm_path, tu_path(dir),
             tu_path(dir));
    CU_ASSERT_FATAL(system(cmd) == 0);
    FILE *f = fopen(asm_path, "r");
    CU_ASSERT_FATAL(f != NULL);
    char line[512], fn[256] = "";
    int fmas = 0, spilled = 0;
    while (fgets(line, sizeof line, f)) {
      size_t n = strlen(line);
      if (n > 2 && line[n - 2] == ':' && line[0] != '.' && line[0] != '\t')
        snprintf(fn, sizeof fn, "%.*s", (int)(n - 2), line);
      if (strncmp(fn, s->kernel, strlen(s->kernel)) || !strstr(line, "vfmadd"))
        continue;
      fmas++;
      spilled += strstr(line, "(%rsp)") || strstr(line, "(%rbp)");
    }
    fclose(f);
    if (spilled)
      fprintf(stderr, "\n%s: %d of %d FMAs read the stack\n", asm_path, spilled, fmas);
    CU_ASSERT(fmas >= 20);
    CU_ASSERT_EQUAL(spilled, 0);
    graph_free(g);
    sb_free(&d.log);
  }
}

/* Claimed tails (schedule.c): on 2 threads, a conv with enough work per
 * share keeps the first three quarters of each share for its owner and
 * lets the last quarter be claimed in chunks of a quarter of it; the plan
 * puts the layer's two counters after every buffer.  A small conv keeps
 * static shares, as does everything on one thread (and then the plan has
 * no counters). */
static void test_claimed_tails(void) {
  Graph *g = one_conv(64, 64, 56, 3, 2); /* ResNet-50's layer1 3x3: 56 rows */
  const Schedule *s = blocked_sched(g);
  CU_ASSERT_EQUAL_FATAL(s->threads, 2);
  CU_ASSERT(s->chunk > 0);
  int64_t least = s->units;
  for (int t = 0; t < 2; t++) {
    int64_t n = s->share[t + 1] - s->share[t];
    CU_ASSERT_EQUAL(s->own[t], s->share[t + 1] - n / 4);
    least = n / 4 < least ? n / 4 : least;
  }
  CU_ASSERT_EQUAL(s->chunk, (least + 3) / 4);
  CU_ASSERT_EQUAL(s->split, SPLIT_ROWS);
  CU_ASSERT_EQUAL(s->own[0], 21); /* rows [0, 21) its own, [21, 28) claimable in 2s */
  CU_ASSERT_EQUAL(s->chunk, 2);
  CU_ASSERT_EQUAL(schedule_claiming(g), 1);
  Plan p;
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(plan_build(g, &p, &d));
  CU_ASSERT(p.claim_off >= 0 && p.claim_off % CD_ALIGN == 0);
  CU_ASSERT_EQUAL(p.ws_size, p.claim_off + 2 * (int64_t)sizeof(long));
  for (int v = 0; v < g->nvalues; v++)
    if (p.loc[v].kind == LOC_WS)
      CU_ASSERT(p.loc[v].index + (int64_t)value_storage_bytes(&g->values[v]) <= p.claim_off);
  plan_free(&p);
  graph_free(g);
  g = one_conv(16, 16, 8, 3, 2); /* 147,456 multiply-adds: static */
  CU_ASSERT_EQUAL(blocked_sched(g)->chunk, 0);
  CU_ASSERT_EQUAL(schedule_claiming(g), 0);
  graph_free(g);
  g = one_conv(64, 64, 56, 3, 1);
  CU_ASSERT_EQUAL(blocked_sched(g)->chunk, 0);
  CU_ASSERT_FATAL(plan_build(g, &p, &d));
  CU_ASSERT_EQUAL(p.claim_off, -1);
  plan_free(&p);
  graph_free(g);
  sb_free(&d.log);
}

void add_codegen_suite(void) {
  CU_pSuite s = CU_add_suite("codegen", NULL, NULL);
  ADD(s, test_name_checker);
  ADD(s, test_hostile_names);
  ADD(s, test_precompiled_headers);
  ADD(s, test_float_literals);
  ADD(s, test_cwriter);
  ADD(s, test_identifiers);
  ADD(s, test_conv1x1_tile_boundaries);
  ADD(s, test_conv_tile_boundaries);
  ADD(s, test_simd_conv_boundaries);
  ADD(s, test_conv_wino_boundaries);
  ADD(s, test_conv_order_by_traffic);
  ADD(s, test_conv_split_by_bytes);
  ADD(s, test_conv_chunk_by_input);
  ADD(s, test_conv_prefetch);
  ADD(s, test_claimed_tails);
  ADD(s, test_conv_tile_in_registers);
  ADD(s, test_simd_gemm);
  ADD(s, test_qconv1x1_kernels);
  ADD(s, test_qconv_kernels);
  ADD(s, test_qadd_split);
  ADD(s, test_qmatmul_kernels);
  ADD(s, test_maxpool_int);
  ADD(s, test_quantize_vec);
  ADD(s, test_copy_families);
  ADD(s, test_depth_to_space);
  ADD(s, test_resize_rows);
  ADD(s, test_softmax_matmul);
  ADD(s, test_reduce_rows);
  ADD(s, test_simd_around_kernels);
  ADD(s, test_pool_kernels);
  ADD(s, test_activation_kernels);
  ADD(s, test_activation_table);
  ADD(s, test_erf_range);
  ADD(s, test_pow_kernels);
  ADD(s, test_layernorm_kernels);
  ADD(s, test_channel_bcast);
  ADD(s, test_row_bcast);
  ADD(s, test_transpose_tiled);
  ADD(s, test_concat_blocked);
  ADD(s, test_every_family_tested); /* last: it checks what the others ran */
}
