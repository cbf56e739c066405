/*
 * main.c — the `cardinal` command line: compile, build, run, inspect.
 *
 * Each subcommand parses its own GNU-style options (getopt_long), fills a
 * CompileJob and calls the library (toolchain.c).  User errors print one
 * line naming the file and the problem and exit 1; usage errors exit 2.
 */
#include "cardinal.h"

#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *usage_main =
    "usage: cardinal COMMAND [OPTIONS] MODEL\n"
    "\n"
    "Compiles a neural network (ONNX, or a .nx model in Cardinal's DSL) into\n"
    "standalone C.\n"
    "\n"
    "commands:\n"
    "  compile   write NAME.h, NAME.c, the weights and the runtime into DIR\n"
    "  build     compile, then build DIR/libNAME.a with the C compiler\n"
    "  run       run the model on input tensors (generated C or --reference)\n"
    "  inspect   print the graph's statistics (node counts, parameters, MACs)\n"
    "  compare   build and time the model under several pass configurations\n"
    "  bench     time the generated code, next to ONNX Runtime when it is installed\n"
    "\n"
    "Run 'cardinal COMMAND --help' for a command's options.\n"
    "'cardinal --version' prints the version.\n";

static const char *usage_compile =
    "usage: cardinal %s MODEL -o DIR [options]\n"
    "\n"
    "%s"
    "\n"
    "options:\n"
    "  -o, --output DIR        output folder (created; files are replaced)\n"
    "  -n, --name NAME         C prefix of the generated API (default: from MODEL)\n"
    "  -t, --target T          native (default: the best this machine runs), avx512,\n"
    "                          avx2 (x86-64 with FMA), neon (AArch64), or scalar\n"
    "                          (portable C99, any compiler and CPU)\n"
    "  -p, --passes LIST       passes to run: default, none, or a comma list;\n"
    "                          '-NAME' drops one (e.g. default,-dce)\n"
    "  -w, --weights MODE      embed (default: NAME_weights.c) or blob (NAME.weights);\n"
    "                          or FILE.safetensors: the parameters of a .nx model\n"
    "      --seed N            .nx without a safetensors file: seed of the generated\n"
    "                          parameters (default 0)\n"
    "  -f, --freeze NAME=FILE  make input NAME a constant (.npy, .pb or raw f32)\n"
    "      --verify            check the IR after every pass (always on in debug builds;\n"
    "                          or set CARDINAL_VERIFY=1)\n"
    "      --dump-after PASS   print the graph after PASS\n"
    "      --dot FILE          write the final graph for Graphviz (dot -Tsvg FILE)\n"
    "      --max-tensor-bytes N  refuse a tensor of more than N bytes (default\n"
    "                          4294967296; README, Limits)\n"
    "%s"
    "  -h, --help              this text\n";

static const char *usage_build_extra =
    "      --cc CC             C compiler (default: cc)\n"
    "      --cflags FLAGS      its flags (default: -O3)\n";

static const char *usage_run =
    "usage: cardinal run MODEL --input FILE... [options]\n"
    "\n"
    "Runs the model on inputs (.npy, ONNX .pb or raw float32), one --input per\n"
    "model input in order.  By default the model is compiled to C, built and\n"
    "run; --reference runs the reference interpreter instead.  Without\n"
    "--output, prints each output's shape, first values and arg-max.\n"
    "\n"
    "options:\n"
    "  -i, --input FILE        an input tensor (repeat per input)\n"
    "  -O, --output FILE       write an output (.npy, else raw float32; repeat)\n"
    "  -r, --reference         use the reference interpreter\n"
    "  -t, --target T          as for compile (default native)\n"
    "  -p, --passes LIST       as for compile\n"
    "  -f, --freeze NAME=FILE  as for compile\n"
    "  -w, --weights MODE      embed, blob or FILE.safetensors, as for compile\n"
    "      --seed N            as for compile\n"
    "      --runs N            time N runs of the generated code (default 1)\n"
    "      --profile           time every kernel and print where the time goes\n"
    "      --dot FILE          write the final graph for Graphviz\n"
    "      --verify, --dump-after PASS   as for compile\n"
    "      --max-tensor-bytes N  as for compile\n"
    "      --cc CC, --cflags FLAGS   the C compiler and its flags\n"
    "  -h, --help              this text\n";

static const char *usage_inspect =
    "usage: cardinal inspect MODEL [options]\n"
    "\n"
    "Loads the model, runs the passes and prints statistics: nodes per op type,\n"
    "parameters, multiply-accumulates, weight and workspace bytes, and what\n"
    "each pass did.\n"
    "\n"
    "options:\n"
    "  -p, --passes LIST       as for compile\n"
    "  -f, --freeze NAME=FILE  as for compile\n"
    "  -w, --weights FILE.safetensors, --seed N   parameters of a .nx model\n"
    "      --json              print JSON instead of text\n"
    "      --dump-after PASS   print the graph after PASS\n"
    "      --dump              print the final graph\n"
    "      --schedule          print each node's kernel, tile, cache block and layout\n"
    "  -t, --target T          as for compile (the layout and schedule depend on it)\n"
    "      --dot FILE          write the final graph for Graphviz (dot -Tsvg FILE)\n"
    "      --max-tensor-bytes N  as for compile\n"
    "  -h, --help              this text\n";

static const char *usage_bench =
    "usage: cardinal bench MODEL [options]\n"
    "\n"
    "Builds MODEL for the target, runs the generated code N times on one core and\n"
    "prints the median latency (min, max); for an ONNX model, also ONNX Runtime's\n"
    "median on the same input, measured in the same run, and the ratio.  ONNX\n"
    "Runtime is the npm package onnxruntime-node under $ORT_DIR or /opt/ort, run by\n"
    "node; without it the peer is skipped with a note.\n"
    "\n"
    "options:\n"
    "      --runs N            timed runs (default 20)\n"
    "  -t, --target T          as for compile (default native)\n"
    "  -p, --passes LIST       as for compile\n"
    "  -i, --input FILE        the input (default: x[i] = sin(0.37 i), as ONNX Runtime's)\n"
    "      --no-peer           do not run ONNX Runtime\n"
    "  -f, --freeze NAME=FILE  as for compile\n"
    "  -w, --weights FILE.safetensors, --seed N   parameters of a .nx model\n"
    "      --cc CC, --cflags FLAGS   the C compiler and its flags\n"
    "  -h, --help              this text\n";

static const char *usage_compare =
    "usage: cardinal compare MODEL --configs CONFIG... [options]\n"
    "\n"
    "Builds and runs MODEL once per pass configuration and prints a table:\n"
    "nodes, MACs, weight and workspace bytes, median latency (min-max), the\n"
    "speed-up over the first configuration and the largest output difference\n"
    "from it.  A configuration is a --passes list, e.g.\n"
    "  cardinal compare m.onnx --configs none fold-bn fold-bn,fuse-activation default\n"
    "\n"
    "options:\n"
    "      --configs LIST...   the configurations (default: none default)\n"
    "      --runs N            timed runs per configuration (default 5)\n"
    "  -t, --target T          as for compile (default native); passes such as layout\n"
    "                          and tile-grouped-conv do nothing on scalar\n"
    "  -i, --input FILE        the input (default: x[i] = sin(0.37 i), as ort_time.js)\n"
    "      --csv FILE          also write the table as CSV\n"
    "      --json              print JSON instead of the table\n"
    "      --svg FILE          draw latency and workspace bars (open in a browser)\n"
    "  -f, --freeze NAME=FILE  as for compile\n"
    "  -w, --weights FILE.safetensors, --seed N   parameters of a .nx model\n"
    "      --cc CC, --cflags FLAGS   the C compiler and its flags\n"
    "  -h, --help              this text\n";

enum { O_VERIFY = 256, O_DUMP_AFTER, O_CC, O_CFLAGS, O_JSON, O_RUNS, O_DUMP, O_DOT, O_CSV,
       O_SVG, O_SEED, O_PROFILE, O_SCHEDULE, O_NO_PEER, O_MAX_TENSOR };

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'},
    {"name", required_argument, 0, 'n'},
    {"target", required_argument, 0, 't'},
    {"passes", required_argument, 0, 'p'},
    {"weights", required_argument, 0, 'w'},
    {"freeze", required_argument, 0, 'f'},
    {"input", required_argument, 0, 'i'},
    {"reference", no_argument, 0, 'r'},
    {"help", no_argument, 0, 'h'},
    {"verify", no_argument, 0, O_VERIFY},
    {"dump-after", required_argument, 0, O_DUMP_AFTER},
    {"dump", no_argument, 0, O_DUMP},
    {"cc", required_argument, 0, O_CC},
    {"cflags", required_argument, 0, O_CFLAGS},
    {"json", no_argument, 0, O_JSON},
    {"runs", required_argument, 0, O_RUNS},
    {"dot", required_argument, 0, O_DOT},
    {"csv", required_argument, 0, O_CSV},
    {"svg", required_argument, 0, O_SVG},
    {"seed", required_argument, 0, O_SEED},
    {"profile", no_argument, 0, O_PROFILE},
    {"max-tensor-bytes", required_argument, 0, O_MAX_TENSOR},
    {"schedule", no_argument, 0, O_SCHEDULE},
    {"no-peer", no_argument, 0, O_NO_PEER},
    {0, 0, 0, 0},
};

typedef struct {
  CompileJob job;
  const char *inputs[64];
  int ninputs;
  const char *outputs[64];
  int noutputs;
  const char *freeze[64];
  const char *csv, *svg;
  bool reference, json, dump, schedule, no_peer;
  Limits limits;        /* job.limits points here once an option changes one */
} Args;

static int usage_error(const char *cmd, const char *msg, const char *arg) {
  fprintf(stderr, "cardinal %s: %s%s%s\nTry 'cardinal %s --help'.\n", cmd, msg,
          arg ? " " : "", arg ? arg : "", cmd);
  return 2;
}

/* Default C name: the model file's base name, made an identifier. */
static char *default_name(const char *model) {
  const char *b = strrchr(model, '/');
  b = b ? b + 1 : model;
  static char s[72]; /* one per process: no allocation to free */
  memset(s, 0, sizeof s);
  size_t k = 0;
  if (*b >= '0' && *b <= '9')
    s[k++] = 'm', s[k++] = '_';
  for (const char *p = b; *p && *p != '.' && k < 60; p++) {
    char c = *p;
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    s[k++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '_';
  }
  if (!k)
    strcpy(s, "model");
  if (cd_is_reserved_name(s)) { /* cardinal_rt.onnx: m_cardinal_rt */
    memmove(s + 2, s, strlen(s) + 1);
    s[0] = 'm', s[1] = '_';
  }
  return s;
}

static int parse_args(const char *cmd, int argc, char **argv, Args *a,
                      const char *help) {
  memset(a, 0, sizeof *a);
  a->job.freeze = a->freeze;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":o:n:t:p:w:f:i:O:rh", long_opts, NULL)) != -1) {
    switch (c) {
    case 'o':
      if (!strcmp(cmd, "run")) {
        if (a->noutputs == 64)
          return usage_error(cmd, "too many --output", NULL);
        a->outputs[a->noutputs++] = optarg;
      } else if (!optarg[0]) {
        return usage_error(cmd, "-o needs a folder name", NULL);
      } else
        a->job.out_dir = optarg;
      break;
    case 'O':
      if (a->noutputs == 64)
        return usage_error(cmd, "too many --output", NULL);
      a->outputs[a->noutputs++] = optarg;
      break;
    case 'n': a->job.name = optarg; break;
    case 't': a->job.target = optarg; break;
    case 'p': a->job.passes = optarg; break;
    case 'w': {
      size_t L = strlen(optarg);
      if (!strcmp(optarg, "blob"))
        a->job.weights_blob = true;
      else if (L > 12 && !strcmp(optarg + L - 12, ".safetensors"))
        a->job.params = optarg;
      else if (strcmp(optarg, "embed") != 0)
        return usage_error(cmd, "--weights takes embed, blob or FILE.safetensors, not", optarg);
      break;
    }
    case O_SEED: {
      char *end;
      unsigned long long v = strtoull(optarg, &end, 10);
      if (*end || !*optarg)
        return usage_error(cmd, "--seed takes a non-negative integer, not", optarg);
      a->job.seed = v;
      break;
    }
    case 'f':
      if (a->job.nfreeze == 64)
        return usage_error(cmd, "too many --freeze", NULL);
      a->freeze[a->job.nfreeze++] = optarg;
      break;
    case 'i':
      if (a->ninputs == 64)
        return usage_error(cmd, "too many --input", NULL);
      a->inputs[a->ninputs++] = optarg;
      break;
    case 'r': a->reference = true; break;
    case 'h':
      fputs(help, stdout);
      printf("\npasses, in the order they run (all are in 'default'):\n ");
      for (int i = 0; i < pass_count; i++)
        printf(" %s", pass_list[i].name);
      printf("\n");
      exit(0);
    case O_VERIFY: a->job.verify = true; break;
    case O_DUMP_AFTER: a->job.dump_after = optarg; break;
    case O_DUMP: a->dump = true; break;
    case O_SCHEDULE: a->schedule = true; break;
    case O_NO_PEER: a->no_peer = true; break;
    case O_CC: a->job.cc = optarg; break;
    case O_CFLAGS: a->job.cflags = optarg; break;
    case O_JSON: a->json = true; break;
    case O_DOT: a->job.dot = optarg; break;
    case O_PROFILE: a->job.profile = true; break;
    case O_MAX_TENSOR: {
      char *end;
      errno = 0;
      long long v = strtoll(optarg, &end, 10);
      if (*end || !*optarg || errno || v < 1)
        return usage_error(cmd, "--max-tensor-bytes takes a positive byte count, not", optarg);
      a->limits = cd_default_limits;
      a->limits.tensor_bytes = v;
      a->job.limits = &a->limits;
      break;
    }
    case O_CSV: a->csv = optarg; break;
    case O_SVG: a->svg = optarg; break;
    case O_RUNS: {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end || n < 1 || n > 100000)
        return usage_error(cmd, "--runs takes a count from 1 to 100000, not", optarg);
      a->job.runs = (int)n;
      break;
    }
    case ':': return usage_error(cmd, "missing value for", argv[optind - 1]);
    default: return usage_error(cmd, "unknown option", argv[optind - 1]);
    }
  }
  if (optind >= argc)
    return usage_error(cmd, "no MODEL given", NULL);
  if (optind + 1 < argc)
    return usage_error(cmd, "unexpected argument", argv[optind + 1]);
  a->job.model = argv[optind];
  if (a->job.name && !cd_is_identifier(a->job.name))
    return usage_error(cmd, "--name must be a C identifier, not", a->job.name);
  if (a->job.name && cd_is_reserved_name(a->job.name))
    return usage_error(cmd, "--name may not be the runtime's (cardinal_rt, cd_*):", a->job.name);
  if (!a->job.name)
    a->job.name = default_name(a->job.model);
  if (a->job.target && !target_find(a->job.target)) {
    char known[160];
    snprintf(known, sizeof known, "unknown --target (available: %s):", target_names());
    return usage_error(cmd, known, a->job.target);
  }
  return 0;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmd_compile(int argc, char **argv, bool build) {
  const char *cmd = build ? "build" : "compile";
  char help[4096];
  snprintf(help, sizeof help, usage_compile, cmd,
           build ? "Compiles MODEL to C and builds DIR/libNAME.a (generated code + runtime).\n"
                   "Link it with: cc app.c DIR/libNAME.a -lm\n"
                 : "Compiles MODEL to C: DIR/NAME.h, DIR/NAME.c, DIR/NAME_weights.c (or\n"
                   "DIR/NAME.weights) and the runtime (cardinal_rt.h, cardinal_rt.c).\n",
           build ? usage_build_extra : "");
  Args a;
  int rc = parse_args(cmd, argc, argv, &a, help);
  if (rc)
    return rc;
  if (!a.job.out_dir)
    return usage_error(cmd, "-o DIR is required", NULL);
  Diag d = {.file = a.job.model};
  double t0 = now_ms();
  /* Interrupted, the run removes its staging folder (DIR stays as it was). */
  signal(SIGINT, cd_staging_signal);
  signal(SIGTERM, cd_staging_signal);
  signal(SIGHUP, cd_staging_signal);
  bool ok = build ? cd_build(&a.job, &d) : cd_compile(&a.job, NULL, &d);
  sb_free(&d.log);
  if (!ok)
    return 1;
  fprintf(stderr, "cardinal: %s %s -> %s/%s%s (%.1f s)\n", build ? "built" : "compiled",
          a.job.model, a.job.out_dir, build ? "lib" : "", build ? a.job.name : a.job.name,
          (now_ms() - t0) / 1e3);
  if (build)
    fprintf(stderr, "cardinal: link with: cc app.c %s/lib%s.a -lm\n", a.job.out_dir,
            a.job.name);
  return 0;
}

static void print_output(const Value *v, const float *y, int k) {
  int64_t n = value_numel(v);
  printf("output %d '%s' float32[", k, v->name);
  for (int i = 0; i < v->rank; i++)
    printf("%s%lld", i ? "," : "", (long long)v->dims[i]);
  printf("]:");
  for (int64_t i = 0; i < n && i < 8; i++)
    printf(" %.6g", y[i]);
  if (n > 8)
    printf(" ...");
  int64_t am = 0;
  for (int64_t i = 1; i < n; i++)
    if (y[i] > y[am])
      am = i;
  printf("\n  arg-max %lld (%.6g)\n", (long long)am, n ? y[am] : 0.0);
}

typedef struct {
  double ms;
  long long macs;
  char name[200];
} ProfRow;

static int cmp_prof(const void *a, const void *b) {
  double x = ((const ProfRow *)a)->ms, y = ((const ProfRow *)b)->ms;
  return x > y ? -1 : x < y;
}

/* The per-kernel profile, slowest first, with each kernel's share and
 * arithmetic rate (2 flops per multiply-add). */
static void print_profile(const char *text) {
  int cap = 64, n = 0;
  ProfRow *r = malloc(sizeof(ProfRow) * (size_t)cap);
  CD_ASSERT(r);
  double total = 0, peak = 0;
  for (const char *p = text; *p;) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (n == cap) {
      r = realloc(r, sizeof(ProfRow) * (size_t)(cap *= 2));
      CD_ASSERT(r);
    }
    char line[400];
    snprintf(line, sizeof line, "%.*s", (int)(len < 399 ? len : 399), p);
    int off = 0;
    if (sscanf(line, "peak %lf", &peak) == 1) {
      p = e ? e + 1 : p + len;
      continue;
    }
    if (sscanf(line, "%lf %lld %n", &r[n].ms, &r[n].macs, &off) == 2) {
      snprintf(r[n].name, sizeof r[n].name, "%s", line + off);
      total += r[n].ms;
      n++;
    }
    p = e ? e + 1 : p + len;
  }
  qsort(r, (size_t)n, sizeof(ProfRow), cmp_prof);
  printf("%10s %6s %8s %6s  %s\n", "ms/run", "share", "GFLOP/s", "%peak", "kernel");
  double macs = 0;
  for (int i = 0; i < n; i++) {
    double gf = r[i].ms > 0 ? 2.0 * (double)r[i].macs / (r[i].ms * 1e6) : 0.0;
    macs += (double)r[i].macs;
    printf("%10.3f %5.1f%% %8.2f %5.1f%%  %s\n", r[i].ms, total > 0 ? 100 * r[i].ms / total : 0,
           gf, peak > 0 ? 100 * gf / peak : 0.0, r[i].name);
  }
  double gf = total > 0 ? 2.0 * macs / (total * 1e6) : 0.0;
  printf("%10.3f        in %d kernels: %.2f GFLOP/s, %.1f%% of the %.1f GFLOP/s FMA peak "
         "measured on one core\n", total, n, gf, peak > 0 ? 100 * gf / peak : 0.0, peak);
  free(r);
}

/* Errors are reported through the Diag, as in the other commands, so each
 * is one line starting with the model's path; messages about an input or
 * output file name that file next. */
static int cmd_run(int argc, char **argv) {
  Args a;
  int rc = parse_args("run", argc, argv, &a, usage_run);
  if (rc)
    return rc;
  Diag d = {.file = a.job.model};
  Graph *g = cd_load_model(&a.job, NULL, NULL, &d);
  if (!g) {
    sb_free(&d.log);
    return 1;
  }
  if (a.ninputs != g->ninputs) {
    StrBuf names = {0};
    for (int k = 0; k < g->ninputs; k++)
      sb_printf(&names, "%s'%s'", k ? ", " : "", g->values[g->inputs[k]].name);
    diag_error(&d, "the model has %d inputs, %d --input given (one per input, in order: %s)",
               g->ninputs, a.ninputs, names.buf ? names.buf : "none");
    sb_free(&names);
    sb_free(&d.log);
    graph_free(g);
    return 2;
  }
  HostTensor *ts = calloc((size_t)g->ninputs + 1, sizeof(HostTensor));
  const float **ins = calloc((size_t)g->ninputs + 1, sizeof(float *));
  float **outs = calloc((size_t)g->noutputs + 1, sizeof(float *));
  CD_ASSERT(ts && ins && outs);
  bool ok = true;
  for (int k = 0; k < g->ninputs && ok; k++) {
    ok = tensor_read(a.inputs[k], &ts[k], &d);
    const Value *v = &g->values[g->inputs[k]];
    if (ok && v->dtype != DT_FLOAT) { /* the interpreter would read the floats as v's type */
      diag_error(&d, "%s: input '%s' is %s; only float32 inputs are fed from files (make it a "
                 "constant with --freeze %s=FILE)", a.inputs[k], v->name, dtype_name(v->dtype),
                 v->name);
      ok = false;
    }
    if (ok && (ts[k].dtype != DT_FLOAT || tensor_numel(&ts[k]) != value_numel(v))) {
      diag_error(&d, "%s: input '%s' needs %lld float32 values, the file holds %lld %s",
                 a.inputs[k], v->name, (long long)value_numel(v),
                 (long long)tensor_numel(&ts[k]), dtype_name(ts[k].dtype));
      ok = false;
    }
    ins[k] = ok ? ts[k].data : NULL;
  }
  if (ok) {
    double t0 = now_ms();
    if (a.reference) {
      ok = interp_run(g, ins, outs, &d);
      if (ok)
        fprintf(stderr, "cardinal: reference interpreter: %.1f ms\n", now_ms() - t0);
    } else {
      ok = cd_run_generated(&a.job, g, ins, outs, &d);
      if (ok && a.job.profile_text) {
        print_profile(a.job.profile_text);
        free(a.job.profile_text);
      }
      if (ok)
        fprintf(stderr, "cardinal: generated C: %.3f ms median of %d run(s) "
                        "(min %.3f, max %.3f); compile+build %.1f s\n",
                a.job.ms_median, a.job.runs ? a.job.runs : 1, a.job.ms_min,
                a.job.ms_max, (now_ms() - t0) / 1e3);
    }
  }
  for (int k = 0; ok && k < g->noutputs; k++) {
    const Value *v = &g->values[g->outputs[k]];
    if (k < a.noutputs) {
      const char *p = a.outputs[k];
      size_t L = strlen(p);
      bool npy = L > 4 && !strcmp(p + L - 4, ".npy");
      bool w;
      errno = 0;
      if (npy)
        w = tensor_write_npy(p, outs[k], v->rank, v->dims);
      else {
        FILE *f = fopen(p, "wb");
        w = f && fwrite(outs[k], 4, (size_t)value_numel(v), f) == (size_t)value_numel(v);
        if (f)
          w = (fclose(f) == 0) && w;
      }
      if (!w) {
        diag_error(&d, "%s: cannot write output '%s'%s%s", p, v->name, errno ? ": " : "",
                   errno ? strerror(errno) : "");
        ok = false;
      }
    } else {
      print_output(v, outs[k], k);
    }
  }
  for (int k = 0; k < g->ninputs; k++)
    tensor_free(&ts[k]);
  for (int k = 0; k < g->noutputs; k++)
    free(outs[k]);
  free(ts);
  free(ins);
  free(outs);
  graph_free(g);
  sb_free(&d.log);
  return ok ? 0 : 1;
}

static void json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 32)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

static int cmd_inspect(int argc, char **argv) {
  Args a;
  int rc = parse_args("inspect", argc, argv, &a, usage_inspect);
  if (rc)
    return rc;
  Diag d = {.file = a.job.model};
  PassStats stats[64];
  int nstats = 0;
  Graph *g = cd_load_model(&a.job, stats, &nstats, &d);
  if (!g) {
    sb_free(&d.log);
    return 1;
  }
  Plan plan;
  plan_build(g, &plan, &d);
  GraphStats gs;
  graph_stats(g, &plan, &gs);
  const int *counts = gs.counts;
  int64_t macs = gs.macs, params = gs.params;
  if (a.dump)
    ir_dump(g, stdout);
  if (a.json) {
    printf("{\n  \"model\": ");
    json_string(a.job.model);
    printf(",\n  \"inputs\": %d,\n  \"outputs\": %d,\n  \"nodes\": %d,\n  \"ops\": {",
           g->ninputs, g->noutputs, g->nnodes);
    bool first = true;
    for (int i = 0; i < OP_COUNT; i++)
      if (counts[i]) {
        printf("%s\n    \"%s\": %d", first ? "" : ",", op_table[i].name, counts[i]);
        first = false;
      }
    printf("\n  },\n  \"source_parameters\": %lld,\n  \"parameters\": %lld,\n  \"macs\": %lld,\n"
           "  \"weight_bytes\": %lld,\n  \"workspace_bytes\": %lld,\n"
           "  \"workspace_lower_bound\": %lld,\n  \"passes\": [",
           (long long)g->source_params, (long long)params, (long long)macs,
           (long long)plan.weight_size, (long long)plan.ws_size, (long long)plan.ws_lower_bound);
    for (int i = 0; i < nstats; i++) {
      printf("%s\n    {\"name\": \"%s\", \"nodes_before\": %d, \"nodes_after\": %d, "
             "\"changes\": %d, \"what\": ",
             i ? "," : "", stats[i].name, stats[i].nodes_before, stats[i].nodes_after,
             stats[i].changes);
      json_string(stats[i].what);
      printf(", \"ms\": %.3f}", stats[i].ms);
    }
    printf("\n  ],\n  \"target\": \"%s\",\n  \"schedule\": [", g->target->name);
    for (int i = 0; i < g->nnodes; i++) {
      const Node *n = &g->nodes[i];
      const Schedule *s = &n->sched;
      char lay[32];
      printf("%s\n    {\"node\": %d, \"op\": \"%s\", \"name\": ", i ? "," : "", i, n->op_type);
      json_string(n->name);
      printf(", \"kernel\": \"%s\", \"family\": \"%s\", \"tile_c\": %d, \"tile_p\": %d, "
             "\"kc\": %lld, \"threads\": %d, \"layout\": \"%s\", \"macs\": %lld}",
             s->kernel, kernel_family_name(s->family), s->tile_c, s->tile_p, (long long)s->kc,
             s->threads, layout_name(g->values[n->out[0]].layout, lay, sizeof lay),
             (long long)node_macs(g, n));
    }
    printf("\n  ]\n}\n");
  } else {
    printf("model       %s\nnodes       %d\n", a.job.model, g->nnodes);
    for (int i = 0; i < OP_COUNT; i++)
      if (counts[i])
        printf("  %-20s %d\n", op_table[i].name, counts[i]);
    printf("model parameters %lld (%.2f M; learnable, as loaded)\n",
           (long long)g->source_params, (double)g->source_params / 1e6);
    printf("parameters  %lld (%.2f M; constants of the compiled graph)\nMACs        %lld (%.3f G)\n"
           "weights     %lld bytes\nworkspace   %lld bytes (lower bound %lld)\n",
           (long long)params, (double)params / 1e6, (long long)macs, (double)macs / 1e9,
           (long long)plan.weight_size, (long long)plan.ws_size,
           (long long)plan.ws_lower_bound);
    for (int i = 0; i < nstats; i++)
      printf("pass %-20s %4d -> %4d nodes  %8.3f ms  %s\n", stats[i].name,
             stats[i].nodes_before, stats[i].nodes_after, stats[i].ms, stats[i].what);
    printf("target      %s (%d floats a vector)\n", g->target->name, g->target->vec);
    if (a.schedule) {
      printf("%4s %-14s %-6s %5s %4s %-9s  %s\n", "node", "family", "tile", "kc", "thr",
             "layout", "kernel");
      for (int i = 0; i < g->nnodes; i++) {
        const Schedule *s = &g->nodes[i].sched;
        char tile[24], lay[32];
        snprintf(tile, sizeof tile, s->tile_c ? "%dx%d" : "-", s->tile_c, s->tile_p);
        printf("%4d %-14s %-6s %5lld %4d %-9s  %s\n", i, kernel_family_name(s->family), tile,
               (long long)s->kc, s->threads,
               layout_name(g->values[g->nodes[i].out[0]].layout, lay, sizeof lay), s->kernel);
      }
    }
  }
  plan_free(&plan);
  graph_free(g);
  sb_free(&d.log);
  return 0;
}

static int cmd_bench(int argc, char **argv) {
  Args a;
  int rc = parse_args("bench", argc, argv, &a, usage_bench);
  if (rc)
    return rc;
  if (a.ninputs > 1)
    return usage_error("bench", "one --input at most", NULL);
  if (!a.job.runs)
    a.job.runs = 20;
  Diag d = {.file = a.job.model};
  bool ok = cd_bench(&a.job, a.ninputs ? a.inputs[0] : NULL, !a.no_peer, &d);
  sb_free(&d.log);
  return ok ? 0 : 1;
}

int cd_compare(CompileJob *base, const char *const *configs, int nconfigs,
               const char *input, const char *csv, const char *svg, bool json, Diag *d);

static int cmd_compare(int argc, char **argv) {
  /* --configs takes every following argument up to the next option. */
  const char *configs[64];
  int nconfigs = 0;
  char **rest = calloc((size_t)argc + 1, sizeof(char *));
  int nrest = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--configs")) {
      while (i + 1 < argc && argv[i + 1][0] != '-' && nconfigs < 64) {
        /* The model is the one argument ending in .onnx. */
        size_t L = strlen(argv[i + 1]);
        if (L > 5 && !strcmp(argv[i + 1] + L - 5, ".onnx"))
          break;
        configs[nconfigs++] = argv[++i];
      }
      continue;
    }
    rest[nrest++] = argv[i];
  }
  Args a;
  int rc = parse_args("compare", nrest, rest, &a, usage_compare);
  if (rc) {
    free(rest);
    return rc;
  }
  if (!nconfigs) {
    configs[nconfigs++] = "none";
    configs[nconfigs++] = "default";
  }
  if (!a.job.runs)
    a.job.runs = 5;
  Diag d = {.file = a.job.model};
  for (int i = 0; i < nconfigs; i++) { /* reject a bad list before any work */
    int order[64], n;
    if (!passes_parse(configs[i], order, &n, &d)) {
      free(rest);
      sb_free(&d.log);
      return 1;
    }
  }
  rc = cd_compare(&a.job, configs, nconfigs, a.ninputs ? a.inputs[0] : NULL, a.csv, a.svg,
                  a.json, &d);
  free(rest);
  sb_free(&d.log);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_main, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(usage_main, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("cardinal %s\n", CD_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "compile"))
    return cmd_compile(argc - 1, argv + 1, false);
  if (!strcmp(cmd, "build"))
    return cmd_compile(argc - 1, argv + 1, true);
  if (!strcmp(cmd, "run"))
    return cmd_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "inspect"))
    return cmd_inspect(argc - 1, argv + 1);
  if (!strcmp(cmd, "compare"))
    return cmd_compare(argc - 1, argv + 1);
  if (!strcmp(cmd, "bench"))
    return cmd_bench(argc - 1, argv + 1);
  fprintf(stderr, "cardinal: unknown command '%s'\n\n%s", cmd, usage_main);
  return 2;
}
