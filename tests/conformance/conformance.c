/*
 * conformance.c — runs the ONNX backend conformance data (Debian's
 * libonnx-testdata) through the reference interpreter and through generated
 * C, comparing as the ONNX backend test does: |got - want| <= atol + rtol *
 * |want| with rtol 1e-3, atol 1e-7.
 *
 * A case is in scope when every node's op is in Cardinal's list (issue 2),
 * every graph output is float32 or an integer type the generated API
 * passes as floats (uint8, int8, int32, int64: dtype_out_as_float)
 * produced by ops whose kernels write integers (OPF_INTEGER: the quantized
 * ops; OPF_TYPED: the ops written for their operands' dtypes, ArgMax's
 * indices, a Gather of int32), every input is of a
 * type the IR holds, and nothing runs in training mode.  Generated code
 * takes float32 inputs and the quantized ops' integer ones (read as their
 * values in floats, as the API takes them; an integer output must equal
 * the expected one exactly), so the others (int64 shapes, axes, pads;
 * Where's bool condition) are frozen to the case's values, and so is an
 * input that an op reads at compile time (a parameter input of ops.def:
 * Resize's scales, Range's start, QuantizeLinear's scale), as `--freeze`
 * would be given for it.  A case out of scope is skipped: counted, and
 * listed with its reason ("SKIP name (reason)"); an output of a type the
 * IR cannot hold (float16, string) is a non-float output like any other.
 * So is a model the loader refuses with one of the diagnostics that name
 * something Cardinal does not support (unsupported_load below: a sequence
 * input, another domain's ops).  Any other load failure -- a file that does not parse, a
 * damaged model, test data that does not read, a case folder without a
 * model or data -- fails the case: a broken case is never "out of scope".
 *
 *   conformance [--shard I/N] [--verbose] [--no-codegen] [--cc CC] [--cflags FLAGS]
 *               [--target T] [--runner PROG] [--threads N] [--min-run N] DIR...
 *
 * --target picks the code generation target (default native); --runner
 * runs the generated programs through an emulator (qemu-aarch64 with
 * --cc aarch64-linux-gnu-gcc --target neon; --cflags -march=armv8.2-a+dotprod
 * builds it for the dot-product extension: FLAGS follow the strict ones
 * below).  A target this machine cannot
 * run (its CPU lacks the features, or the code is for another architecture
 * and no --runner is given) is a skip: the reason is printed and the exit
 * status is 77 (ctest's SKIP_RETURN_CODE).  --threads N also runs the
 * generated code built for N threads and requires the bits of the 1-thread
 * build, for each case whose schedule on N threads splits a kernel --
 * every kernel with two units of work splits, however small (the default
 * schedule leaves small ones on one thread, and the conformance cases are
 * small) -- and a run where no case splits fails, as does a run of 100
 * cases or more where no case's threads claim the tails of shares.  The
 * generated code's system headers (immintrin.h, arm_neon.h: most of a small case's
 * compile) are precompiled once, in a folder of this run's that goes when
 * it ends.  --min-run N fails the run when fewer than N cases were in
 * scope (passed or failed): data folders, a shard or a scope rule that
 * quietly shrank would otherwise pass on nothing.
 *
 * Exit status: 0 every case in scope passed, 1 a case failed or too few
 * ran, 2 bad usage or no data, 77 skipped.
 *
 * The generated C is compiled with -std=c99 -pedantic -Wall -Wextra -Werror,
 * so any warning in emitted code fails its case.
 */
#include "cardinal.h"
#include "cardinal_rt.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* In scope: every op of ops.def a model can name, except the shape
 * arithmetic that only ever folds at compile time (Shape). */
static bool in_scope_op(const Node *n) {
  return n->op != OP_COUNT && !(op_table[n->op].flags & (OPF_SHAPE | OPF_INTERNAL));
}

typedef struct {
  int pass, fail, skipped;
  int pass3d, fail3d;
  bool verbose, codegen;
  const char *cc, *target, *runner;
  const char *cflags; /* after the strict flags (NULL: none) */
  int threads; /* > 1: also run on this many threads, bit-identical to one */
  int split;   /* data sets whose schedule on those threads splits a kernel */
  int claim;   /* ... and has a kernel whose shares' tails are claimed (schedule.c) */
  const char *pch_dir; /* the system headers, precompiled once (CompileJob.pch_dir) */
} Totals;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *dir, char ***out) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int n = 0, cap = 64;
  char **v = malloc(sizeof(char *) * (size_t)cap);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap)
      v = realloc(v, sizeof(char *) * (size_t)(cap *= 2));
    v[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(v, (size_t)n, sizeof(char *), cmp_str);
  *out = v;
  return n;
}

static bool file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* The loader's diagnostics (frontend/onnx/onnx_load.c) that mean "a model
 * Cardinal does not support", and the reason its skip gives: every other
 * load error fails the case. */
static const struct {
  const char *needle, *why;
} unsupported_load[] = {
    {"Cardinal supports tensor inputs only", "a sequence, map or optional input"},
    {"Cardinal supports the default domain's ops only", "another domain's ops only"},
};

static const char *unsupported_why(const char *log) {
  for (size_t i = 0; log && i < sizeof unsupported_load / sizeof unsupported_load[0]; i++)
    if (strstr(log, unsupported_load[i].needle))
      return unsupported_load[i].why;
  return NULL;
}

static void one_line(char *s) {
  for (char *nl; (nl = strchr(s, '\n'));)
    *nl = ' ';
}

static void skip_case(Totals *t, const char *name, const char *why) {
  t->skipped++;
  printf("SKIP %s (%s)\n", name, why);
}

static void fail_case(Totals *t, const char *name, const char *msg) {
  t->fail++;
  printf("FAIL %s: %s\n", name, msg);
}

/* exact: an integer output, which must be the expected integers. */
static bool close_enough(const float *got, const float *want, int64_t n, bool exact,
                         double *worst) {
  bool ok = true;
  *worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double g = got[i], w = want[i];
    if (isnan(w) && isnan(g))
      continue;
    double err = fabs(g - w), tol = exact ? 0.0 : 1e-7 + 1e-3 * fabs(w);
    if (!(err <= tol)) {
      ok = false;
      if (!(err <= *worst))
        *worst = err;
    }
  }
  return ok;
}

/* Whether graph input v is a parameter input of some node (ops.def: its
 * parse reads it as a constant -- a scale, a zero point): the case runs
 * with it frozen to the data's values. */
static bool is_param_input(const Graph *g, int v) {
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    for (int j = 0; n->op != OP_COUNT && j < n->nin && j < 32; j++)
      if (n->in[j] == v && (op_table[n->op].param_inputs & (1u << j)))
        return true;
  }
  return false;
}

/* Whether tensors of dtype t reach generated code as float values. */
static bool io_type(DType t) {
  int64_t lo, hi;
  return t == DT_FLOAT || dtype_io_as_float(t, &lo, &hi);
}

/* Whether tensors of dtype t come out of generated code as float values
 * (int64 too: ArgMax's indices). */
static bool out_type(DType t) {
  int64_t lo, hi;
  return t == DT_FLOAT || dtype_out_as_float(t, &lo, &hi);
}

/* Whether integer value v meets only ops whose kernels take integers of
 * `flags` (OPF_INTEGER: the quantized ops; OPF_TYPED too: the ops written
 * for their operands' dtypes, which move, select, convert or index them):
 * its producer, and every node reading it.  An Add of two uint8 tensors is
 * an op Cardinal runs in float32 only: out of scope, as it was. */
static bool integer_ops_only_of(const Graph *g, int v, unsigned flags) {
  int p = g->values[v].producer;
  if (p >= 0 && (g->nodes[p].op == OP_COUNT || !(op_table[g->nodes[p].op].flags & flags)))
    return false;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == v && (n->op == OP_COUNT || !(op_table[n->op].flags & flags)))
        return false;
  }
  return true;
}

static bool integer_ops_only(const Graph *g, int v) {
  return integer_ops_only_of(g, v, OPF_INTEGER);
}

/* Why a case is out of scope, or NULL. */
static const char *scope(Graph *g) {
  static char why[256];
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (!in_scope_op(n)) {
      snprintf(why, sizeof why, "op %s", n->op_type);
      return why;
    }
    int nout = n->nout;
    while (nout > 0 && n->out[nout - 1] < 0)
      nout--;
    if (nout > op_table[n->op].max_out) { /* an output Cardinal does not make: MaxPool's Indices */
      snprintf(why, sizeof why, "op %s with %d outputs", n->op_type, nout);
      return why;
    }
    Diag quiet = {.quiet = true}; /* a wrongly typed attribute fails the case later, loudly */
    bool training = n->op == OP_BATCHNORM && attr_int(n, "training_mode", 0, &quiet);
    sb_free(&quiet.log);
    if (n->op == OP_BATCHNORM && (training || n->nout > 1))
      return "training mode";
    if (n->op == OP_DROPOUT && n->nin > 2 && n->in[2] >= 0)
      return "training mode";
  }
  for (int k = 0; k < g->ninputs; k++) {
    DType t = g->values[g->inputs[k]].dtype;
    if (!dtype_size(t)) {
      snprintf(why, sizeof why, "an input of type %d", (int)t);
      return why;
    }
  }
  return NULL;
}

/* Whether graph input v is frozen to the case's data: some op reads it as
 * a parameter input (at compile time), or it is neither float32 nor an
 * integer input of the quantized ops only (which the API takes as floats). */
static bool frozen_input(const Graph *g, int v) {
  if (is_param_input(g, v))
    return true;
  DType t = g->values[v].dtype;
  return t != DT_FLOAT && !(io_type(t) && integer_ops_only(g, v));
}

static bool is_3d(Graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if ((n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL ||
         n->op == OP_GLOBALAVGPOOL || n->op == OP_GLOBALMAXPOOL) &&
        n->in[0] >= 0 && g->values[n->in[0]].rank == 5)
      return true;
  }
  return false;
}

static void run_case(const char *root, const char *name, Totals *t) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/model.onnx", root, name);
  if (!file_exists(path)) {
    fail_case(t, name, "not a case: no model.onnx");
    return;
  }
  Diag d = {.file = path, .quiet = true};
  Graph *probe = graph_new();
  if (!onnx_load(probe, path, &d)) {
    char msg[512];
    const char *why = unsupported_why(d.log.buf);
    snprintf(msg, sizeof msg, "does not load: %s", d.log.buf ? d.log.buf : "?");
    one_line(msg);
    if (why)
      skip_case(t, name, why);
    else
      fail_case(t, name, msg);
    graph_free(probe);
    sb_free(&d.log);
    return;
  }
  const char *why = scope(probe);
  char broken[512] = ""; /* why the case's data does not read */
  bool three_d = false;
  char **sets = NULL;
  int nsets = 0;
  if (!why) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    char **all;
    int na = list_dir(dir, &all);
    sets = malloc(sizeof(char *) * (size_t)(na + 1));
    for (int i = 0; i < na; i++) {
      if (!strncmp(all[i], "test_data_set_", 14))
        sets[nsets++] = all[i];
      else
        free(all[i]);
    }
    free(all);
    /* Expected outputs must be float32; one that does not read is a
     * broken case, not a skipped one. */
    for (int k = 0; k < probe->noutputs && nsets && !why && !broken[0]; k++) {
      snprintf(path, sizeof path, "%s/%s/%s/output_%d.pb", root, name, sets[0], k);
      HostTensor ht;
      Diag dd = {.file = path, .quiet = true};
      bool read = tensor_read(path, &ht, &dd);
      if (!read && dd.log.buf && strstr(dd.log.buf, "element type") &&
          strstr(dd.log.buf, "is not supported")) /* float16, a string: not a float32 output */
        why = "non-float output";
      else if (!read)
        snprintf(broken, sizeof broken, "test data: %.480s", dd.log.buf ? dd.log.buf : path);
      else if (!out_type(ht.dtype) ||
               (ht.dtype != DT_FLOAT &&
                !integer_ops_only_of(probe, probe->outputs[k], OPF_INTEGER | OPF_TYPED)))
        why = "non-float output";
      if (read)
        tensor_free(&ht);
      sb_free(&dd.log);
    }
    if (!nsets)
      snprintf(broken, sizeof broken, "no test_data_set_* folder");
  }
  graph_free(probe);
  sb_free(&d.log);
  if (why || broken[0]) {
    one_line(broken);
    if (why)
      skip_case(t, name, why);
    else
      fail_case(t, name, broken);
    for (int s = 0; s < nsets; s++)
      free(sets[s]);
    free(sets);
    return;
  }
  bool ok = true;
  char msg[512] = "";
  for (int s = 0; s < nsets && ok; s++) {
    /* Freeze inputs to this data set's values (frozen_input), then load. */
    Graph *g0 = graph_new();
    Diag d0 = {.file = path, .quiet = true};
    snprintf(path, sizeof path, "%s/%s/model.onnx", root, name);
    onnx_load(g0, path, &d0);
    char *freeze_specs[64];
    const char *freeze_ptrs[64];
    int nf = 0, nin_float = 0;
    int input_file[64];
    for (int k = 0; k < g0->ninputs && k < 64; k++) {
      char f[4096];
      snprintf(f, sizeof f, "%s/%s/%s/input_%d.pb", root, name, sets[s], k);
      if (frozen_input(g0, g0->inputs[k])) {
        freeze_specs[nf] = malloc(strlen(f) + strlen(g0->values[g0->inputs[k]].name) + 2);
        sprintf(freeze_specs[nf], "%s=%s", g0->values[g0->inputs[k]].name, f);
        freeze_ptrs[nf] = freeze_specs[nf];
        nf++;
      } else {
        input_file[nin_float++] = k;
      }
    }
    graph_free(g0);
    sb_free(&d0.log);
    char flags[512];
    snprintf(flags, sizeof flags, "-O1 -std=c99 -pedantic -Wall -Wextra -Werror%s%s",
             t->cflags ? " " : "", t->cflags ? t->cflags : "");
    CompileJob j = {.model = path, .name = "model", .passes = "default",
                    .nfreeze = nf, .freeze = freeze_ptrs, .verify = true,
                    .cc = t->cc, .target = t->target, .runner = t->runner, .cflags = flags,
                    .pch_dir = t->pch_dir};
    Diag dl = {.file = path, .quiet = true};
    Graph *g = cd_load_model(&j, NULL, NULL, &dl);
    for (int f = 0; f < nf; f++)
      free(freeze_specs[f]);
    if (!g) {
      ok = false;
      snprintf(msg, sizeof msg, "load: %s", dl.log.buf ? dl.log.buf : "?");
      sb_free(&dl.log);
      break;
    }
    three_d = is_3d(g);
    HostTensor ins[64], want[64];
    const float *inp[64];
    int nin = 0, nwant = 0;
    for (int k = 0; k < nin_float && ok; k++) {
      char f[4096];
      snprintf(f, sizeof f, "%s/%s/%s/input_%d.pb", root, name, sets[s], input_file[k]);
      ok = tensor_read(f, &ins[nin], &dl);
      if (ok && !tensor_as_float(&ins[nin])) {
        snprintf(msg, sizeof msg, "input %d is %s", input_file[k], dtype_name(ins[nin].dtype));
        tensor_free(&ins[nin]);
        ok = false;
      }
      if (ok)
        inp[nin] = ins[nin].data, nin++;
    }
    for (int k = 0; k < g->noutputs && ok; k++) {
      char f[4096];
      snprintf(f, sizeof f, "%s/%s/%s/output_%d.pb", root, name, sets[s], k);
      ok = tensor_read(f, &want[nwant], &dl);
      if (ok && !tensor_as_float(&want[nwant])) {
        snprintf(msg, sizeof msg, "output %d is %s", k, dtype_name(want[nwant].dtype));
        ok = false;
      }
      if (ok && tensor_numel(&want[nwant]) != value_numel(&g->values[g->outputs[k]])) {
        snprintf(msg, sizeof msg, "output %d has %lld elements, expected %lld", k,
                 (long long)value_numel(&g->values[g->outputs[k]]),
                 (long long)tensor_numel(&want[nwant]));
        ok = false;
      }
      nwant++;
    }
    if (!ok && !msg[0])
      snprintf(msg, sizeof msg, "test data: %s", dl.log.buf ? dl.log.buf : "?");
    float *outs[64] = {0}, *one[64] = {0};
    int engines = t->codegen ? (t->threads > 1 ? 3 : 2) : 1;
    g->split_min = 1; /* on T threads, every layer with two units of work splits */
    for (int engine = 0; engine < engines && ok; engine++) {
      g->threads = engine == 2 ? t->threads : 1; /* engine 2: the same code on T threads */
      if (engine == 2) {
        /* ... when some kernel splits: else every kernel runs on thread 0
         * as on one, and the threads' run would show nothing new */
        schedule_build(g, g->target);
        bool splits = false;
        for (int i = 0; i < g->nnodes; i++)
          splits |= g->nodes[i].sched.threads > 1;
        t->split += splits;
        t->claim += splits && schedule_claiming(g) > 0;
        if (!splits)
          break;
      }
      bool ran = engine == 0 ? interp_run(g, inp, outs, &dl)
                             : cd_run_generated(&j, g, inp, outs, &dl);
      if (!ran) {
        snprintf(msg, sizeof msg, "%s failed: %s", engine ? "generated C" : "interpreter",
                 dl.log.buf ? dl.log.buf : "?");
        ok = false;
      }
      for (int k = 0; k < g->noutputs && ok; k++) {
        double worst;
        bool exact = g->values[g->outputs[k]].dtype != DT_FLOAT;
        if (!close_enough(outs[k], want[k].data, tensor_numel(&want[k]), exact, &worst)) {
          snprintf(msg, sizeof msg, "%s: output %d differs (max error %g)",
                   engine ? "generated C" : "interpreter", k, worst);
          ok = false;
        }
      }
      for (int k = 0; k < g->noutputs && ok && engine == 2; k++)
        if (memcmp(outs[k], one[k], sizeof(float) * (size_t)tensor_numel(&want[k]))) {
          snprintf(msg, sizeof msg, "generated C on %d threads: output %d is not the bits "
                   "of 1 thread", t->threads, k);
          ok = false;
        }
      for (int k = 0; k < g->noutputs; k++) {
        if (engine == 1)
          one[k] = outs[k];
        else
          free(outs[k]);
        outs[k] = NULL;
      }
    }
    for (int k = 0; k < g->noutputs; k++)
      free(one[k]);
    for (int k = 0; k < nin; k++)
      tensor_free(&ins[k]);
    for (int k = 0; k < nwant; k++)
      tensor_free(&want[k]);
    sb_free(&dl.log);
    graph_free(g);
  }
  for (int s = 0; s < nsets; s++)
    free(sets[s]);
  free(sets);
  if (ok) {
    t->pass++;
    t->pass3d += three_d;
    if (t->verbose)
      printf("PASS %s\n", name);
  } else {
    t->fail3d += three_d;
    one_line(msg);
    char label[600];
    snprintf(label, sizeof label, "%s%s", name, three_d ? " (3-D)" : "");
    fail_case(t, label, msg);
  }
  fflush(stdout);
}

/* Whether code generated for t runs on this machine without a --runner:
 * the target's architecture is the one this program was built for (its
 * cc_check is the condition its sources #error on) and the CPU has its
 * features.  Why not, in *why. */
static bool host_runs(const Target *t, const char **why) {
  static const char *const here[] = {
      "1",
#if defined(__x86_64__)
      "defined(__x86_64__)",
#endif
#if defined(__aarch64__)
      "defined(__aarch64__)",
#endif
  };
  bool arch = false;
  for (size_t i = 0; i < sizeof here / sizeof here[0]; i++)
    arch |= !strcmp(t->cc_check, here[i]);
  if (!arch) {
    *why = "its code is for another architecture (give --cc and --runner)";
    return false;
  }
  if (!cd_cpu_has(t->cpu_features)) {
    *why = "this CPU lacks its instruction set";
    return false;
  }
  return true;
}

int main(int argc, char **argv) {
  Totals t = {.codegen = true};
  int shard = 0, nshards = 1, min_run = 0;
  int first = 1;
  for (; first < argc && argv[first][0] == '-'; first++) {
    if (!strcmp(argv[first], "--verbose"))
      t.verbose = true;
    else if (!strcmp(argv[first], "--no-codegen"))
      t.codegen = false;
    else if (!strcmp(argv[first], "--cc") && first + 1 < argc)
      t.cc = argv[++first];
    else if (!strcmp(argv[first], "--cflags") && first + 1 < argc)
      t.cflags = argv[++first];
    else if (!strcmp(argv[first], "--target") && first + 1 < argc)
      t.target = argv[++first];
    else if (!strcmp(argv[first], "--runner") && first + 1 < argc)
      t.runner = argv[++first];
    else if (!strcmp(argv[first], "--threads") && first + 1 < argc)
      t.threads = atoi(argv[++first]);
    else if (!strcmp(argv[first], "--min-run") && first + 1 < argc &&
             sscanf(argv[++first], "%d", &min_run) == 1 && min_run >= 0) {
    } else if (!strcmp(argv[first], "--shard") && first + 1 < argc &&
               sscanf(argv[++first], "%d/%d", &shard, &nshards) == 2 && nshards > 0) {
    } else {
      fprintf(stderr, "usage: conformance [--shard I/N] [--verbose] [--no-codegen] "
                      "[--cc CC] [--cflags FLAGS] [--target T] [--runner PROG] [--threads N] "
                      "[--min-run N] "
                      "DIR...\n");
      return 2;
    }
  }
  const Target *tg = t.target ? target_find(t.target) : NULL;
  if (t.target && !tg) {
    fprintf(stderr, "conformance: unknown target '%s' (known: %s)\n", t.target, target_names());
    return 2;
  }
  const char *why;
  if (tg && !t.runner && t.codegen && !host_runs(tg, &why)) {
    printf("conformance: SKIPPED: this machine cannot run target %s: %s\n", tg->name, why);
    return 77;
  }
  if (first >= argc) {
    fprintf(stderr, "conformance: no test-data folder given\n");
    return 2;
  }
  const char *tmpdir = getenv("TMPDIR");
  char pch[4096];
  snprintf(pch, sizeof pch, "%s/cardinal-pch-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  t.pch_dir = mkdtemp(pch); /* NULL: no precompiled headers, slower */
  int idx = 0;
  for (int a = first; a < argc; a++) {
    char **names = NULL; /* list_dir leaves it alone for a folder it cannot open */
    int n = list_dir(argv[a], &names);
    if (!n) {
      fprintf(stderr, "conformance: %s is empty or missing (apt-get install "
                      "libonnx-testdata)\n", argv[a]);
      free(names);
      if (t.pch_dir)
        cd_rm_rf(t.pch_dir);
      return 2;
    }
    for (int i = 0; i < n; i++) {
      if (idx++ % nshards == shard)
        run_case(argv[a], names[i], &t);
      free(names[i]);
    }
    free(names);
  }
  if (t.pch_dir)
    cd_rm_rf(t.pch_dir);
  int ran = t.pass + t.fail;
  printf("conformance: %d cases in scope (%d of them 3-D: %d pass), %d skipped (listed above)\n",
         ran, t.pass3d + t.fail3d, t.pass3d, t.skipped);
  if (t.threads > 1)
    printf("conformance: on %d threads, %d data sets split a kernel and matched 1 thread's "
           "bits (the others split none: run once); in %d of them threads claimed the "
           "tails of shares\n", t.threads, t.split, t.claim);
  printf("%d passed, %d failed\n", t.pass, t.fail);
  if (t.threads > 1 && t.codegen && ran && !t.split) {
    printf("conformance: FAILED: --threads %d, and no case split a kernel\n", t.threads);
    return 1;
  }
  if (t.threads > 1 && t.codegen && ran >= 100 && !t.claim) {
    printf("conformance: FAILED: --threads %d, and no case claimed a tail\n", t.threads);
    return 1;
  }
  if (ran < min_run) {
    printf("conformance: FAILED: %d cases ran, --min-run asks for at least %d\n", ran, min_run);
    return 1;
  }
  return t.fail ? 1 : 0;
}
