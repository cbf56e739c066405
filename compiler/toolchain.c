/*
 * toolchain.c — the jobs behind the command line: load a model and run the
 * passes, compile it to C (atomically: into a fresh folder that is renamed
 * into place only when everything is written), build a static library with
 * the system C compiler, and run generated code on inputs through a small
 * harness.  Child processes are spawned with argument vectors, never through
 * a shell, so no path or flag from the user is interpreted twice.
 */
#define _GNU_SOURCE /* renameat2, mkstemps */
#include "cardinal.h"
#include "dsl.h" /* Suggest: "did you mean" for --outputs */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
extern const char cd_runtime_header[]; /* runtime/include/cardinal_rt.h */
extern const char cd_runtime_source[]; /* runtime/cardinal_rt.c */
extern const char cd_runtime_threads_source[]; /* runtime/cardinal_rt_threads.c */

bool cd_is_identifier(const char *s) {
  if (!s || !*s || (*s >= '0' && *s <= '9') || strlen(s) > 64)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_'))
      return false;
  return true;
}

bool cd_is_reserved_name(const char *s) {
  if (!strcasecmp(s, "cardinal_rt") || !strcasecmp(s, "cardinal_rt_threads"))
    return true; /* CARDINAL_RT_H is the runtime header's guard, in any case */
  return (s[0] == 'c' || s[0] == 'C') && (s[1] == 'd' || s[1] == 'D') && (!s[2] || s[2] == '_');
}

/*
 * Headers a model's NAME.h must not be named after.  The generated folder
 * is on the include path (-I) of every build of it -- cardinal build,
 * cardinal_add_model, an embedder's -Iout -- and there NAME.h shadows the
 * system header <NAME.h> for every file (NAME.h itself includes
 * <stddef.h>).  The C11/C23 headers, POSIX's, and the compilers' ones the
 * runtime and the targets reach (gcc's immintrin.h includes some thirty
 * *intrin.h: every name ending in "intrin" is refused, and every arm_*).
 * Compared in any case, for case-insensitive file systems.
 */
static const char *const system_headers[] = {
    "assert", "complex", "ctype", "errno", "fenv", "float", "inttypes", "iso646", "limits",
    "locale", "math", "setjmp", "signal", "stdalign", "stdarg", "stdatomic", "stdbit", "stdbool",
    "stdckdint", "stddef", "stdint", "stdio", "stdlib", "stdnoreturn", "string", "tgmath",
    "threads", "time", "uchar", "wchar", "wctype",
    "aio", "alloca", "cpio", "dirent", "dlfcn", "endian", "err", "error", "execinfo", "fcntl",
    "features", "fmtmsg", "fnmatch", "ftw", "getopt", "glob", "grp", "iconv", "langinfo",
    "libgen", "link", "malloc", "memory", "monetary", "mqueue", "ndbm", "netdb", "nl_types",
    "poll", "pthread", "pwd", "regex", "sched", "search", "semaphore", "spawn", "strings",
    "syslog", "tar", "termios", "trace", "ulimit", "unistd", "utime", "utmp", "utmpx",
    "wordexp",
    "cpuid", "mm_malloc", "mm3dnow", "omp", "openacc", "unwind", "varargs", "stdfix", "cet",
};

bool cd_name_check(const char *s, char *why, size_t n) {
  size_t len = s ? strlen(s) : 0;
  if (!len)
    snprintf(why, n, "empty");
  else if (len > 64)
    snprintf(why, n, "longer than 64 characters");
  else if (!cd_is_identifier(s))
    snprintf(why, n, "not a C identifier (letters, digits and '_', not starting with a digit)");
  else if (cd_is_reserved_name(s))
    snprintf(why, n, "reserved for Cardinal's runtime (cardinal_rt, cardinal_rt_threads, cd_*, "
             "in any case): its files, macros and symbols would collide");
  else if (s[0] == '_')
    snprintf(why, n, "a reserved identifier in C: the header's macros, the name upper-cased "
             "then _H, _NUM_INPUTS, ..., would begin with '_' and a capital letter or a "
             "second '_'");
  else {
    bool header = (len >= 6 && !strcasecmp(s + len - 6, "intrin")) ||
                  !strncasecmp(s, "arm_", 4);
    for (size_t i = 0; !header && i < sizeof system_headers / sizeof system_headers[0]; i++)
      header = !strcasecmp(s, system_headers[i]);
    if (!header)
      return true;
    snprintf(why, n, "a system header's name: %s.h beside the generated code would shadow "
             "<%s.h> for every file compiled with -I on that folder", s, s);
  }
  return false;
}

static bool write_text(const char *path, const char *text, Diag *d) {
  FILE *f = cd_create_file(path);
  if (!f || fputs(text, f) < 0) {
    diag_error(d, "cannot write %s: %s", path, strerror(errno));
    if (f)
      fclose(f);
    return false;
  }
  return fclose(f) == 0;
}

/* The runtime beside the generated code; its thread pool only for a model
 * built with threads (so a single-threaded one needs no pthreads). */
bool cd_write_runtime(const char *dir, bool threads, Diag *d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/cardinal_rt.h", dir);
  if (!write_text(path, cd_runtime_header, d))
    return false;
  snprintf(path, sizeof path, "%s/cardinal_rt.c", dir);
  if (!write_text(path, cd_runtime_source, d))
    return false;
  snprintf(path, sizeof path, "%s/cardinal_rt_threads.c", dir);
  return !threads || write_text(path, cd_runtime_threads_source, d);
}

int cd_spawn_wait(char *const argv[], const char *out, const char *err, int *status) {
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out)
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (err)
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return rc;
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR)
      return errno;
  return 0;
}

/* Runs argv, waits; true on exit status 0.  Output goes to our stderr. */
static bool run_argv(char *const argv[], bool quiet, Diag *d) {
  int status = 0;
  int rc = cd_spawn_wait(argv, quiet ? "/dev/null" : NULL, NULL, &status);
  if (rc != 0) {
    diag_error(d, "cannot run %s: %s", argv[0], strerror(rc));
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    diag_error(d, "%s failed (%s %d)", argv[0],
               WIFEXITED(status) ? "exit status" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return false;
  }
  return true;
}

/* Splits a flags string on spaces into argv slots; returns count. */
static int split_flags(char *s, char **out, int max) {
  int n = 0;
  for (char *t = strtok(s, " \t"); t && n < max; t = strtok(NULL, " \t"))
    out[n++] = t;
  return n;
}

/* The graph input named spec[0, len) of an option's NAME=... (--freeze,
 * --shape), as its index in g->inputs; -1 after an error that lists the
 * model's inputs. */
static int named_input(const Graph *g, const char *opt, const char *spec, size_t len, Diag *d) {
  for (int k = 0; k < g->ninputs; k++) {
    const char *nm = g->values[g->inputs[k]].name;
    if (strlen(nm) == len && !strncmp(nm, spec, len))
      return k;
  }
  StrBuf names = {0};
  for (int i = 0; i < g->ninputs; i++)
    sb_printf(&names, "%s'%s'", i ? ", " : "", g->values[g->inputs[i]].name);
  diag_error(d, "%s %s: the model has no input named '%.*s' (inputs: %s)", opt, spec, (int)len,
             spec, names.buf ? names.buf : "none");
  sb_free(&names);
  return -1;
}

static bool freeze_inputs(Graph *g, const CompileJob *j, Diag *d) {
  for (int f = 0; f < j->nfreeze; f++) {
    const char *spec = j->freeze[f];
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
      diag_error(d, "--freeze expects NAME=FILE, got '%s'", spec);
      return false;
    }
    int k = named_input(g, "--freeze", spec, (size_t)(eq - spec), d);
    if (k < 0)
      return false;
    HostTensor t;
    if (!tensor_read(eq + 1, &t, d))
      return false;
    Value *v = &g->values[g->inputs[k]];
    if (t.dtype != v->dtype && !(t.dtype == DT_INT32 && v->dtype == DT_INT64)) {
      diag_error(d, "--freeze %s: file holds %s, input is %s", v->name,
                 dtype_name(t.dtype), dtype_name(v->dtype));
      tensor_free(&t);
      return false;
    }
    if (t.dtype == DT_INT32) { /* widen to the declared int64 */
      int64_t m = tensor_numel(&t);
      int64_t *w = malloc(sizeof(int64_t) * (size_t)(m + 1));
      CD_ASSERT(w);
      for (int64_t i = 0; i < m; i++)
        w[i] = ((int32_t *)t.data)[i];
      free(t.data);
      t.data = w;
      t.dtype = DT_INT64;
    }
    /* The declared shape stands: a file of another shape was taken as is
     * and the model computed something else.  A raw float32 file has no
     * shape of its own, only its count. */
    size_t fl = strlen(eq + 1);
    bool raw = !(fl >= 4 && !strcmp(eq + 1 + fl - 4, ".npy")) &&
               !(fl >= 3 && !strcmp(eq + 1 + fl - 3, ".pb"));
    bool same = raw ? tensor_numel(&t) == value_numel(v) : t.rank == v->rank;
    for (int i = 0; !raw && same && i < t.rank; i++)
      same = t.dims[i] == v->dims[i];
    if (!same) {
      StrBuf a = {0}, b = {0};
      for (int i = 0; i < v->rank; i++)
        sb_printf(&a, "%s%lld", i ? "," : "", (long long)v->dims[i]);
      for (int i = 0; i < t.rank; i++)
        sb_printf(&b, "%s%lld", i ? "," : "", (long long)t.dims[i]);
      diag_error(d, "--freeze %s: the input is [%s], %s holds [%s]", v->name,
                 a.buf ? a.buf : "", eq + 1, b.buf ? b.buf : "");
      sb_free(&a);
      sb_free(&b);
      tensor_free(&t);
      return false;
    }
    value_set_shape(v, t.dtype, v->rank, v->dims);
    memcpy(value_alloc_data(g, g->inputs[k]), t.data, value_bytes(v));
    v->is_input = false;
    tensor_free(&t);
    memmove(&g->inputs[k], &g->inputs[k + 1], sizeof(int) * (size_t)(g->ninputs - k - 1));
    g->ninputs--;
  }
  return true;
}

/* "--shape x=1,3,N,W": the example an error message suggests, the open
 * dims of input v by name. */
char *cd_shape_hint(const Graph *g, int v, const Diag *d) {
  const Value *val = &g->values[v];
  StrBuf sb = {0};
  sb_printf(&sb, "%s %s=", diag_option(d, "--shape", "SHAPES"), val->name);
  for (int i = 0; i < val->rank; i++) {
    const char *open = NULL;
    for (int s = 0; s < g->nsymdims; s++)
      if (g->symdims[s].value == v && g->symdims[s].dim == i)
        open = *g->symdims[s].param ? g->symdims[s].param : "?";
    if (open && i == 0)
      sb_printf(&sb, "%s1", i ? "," : "");
    else if (open)
      sb_printf(&sb, "%s<%s>", i ? "," : "", open);
    else
      sb_printf(&sb, "%s%lld", i ? "," : "", (long long)val->dims[i]);
  }
  return sb.buf;
}

/*
 * --shape NAME=D0,D1,...: the dims of graph input NAME.  A dim the model
 * fixes must be given as it is; an open one (g->symdims, an ONNX
 * dim_param) takes the value.  An open dim left without --shape is
 * refused -- generated code has static shapes, and a guessed H or W would
 * compile a different network -- except the batch (dim 0), which is 1.
 */
static bool apply_shapes(Graph *g, const CompileJob *j, bool open_ok, Diag *d) {
  const char *opt = diag_option(d, "--shape", "SHAPES");
  for (int f = 0; f < j->nshapes; f++) {
    const char *spec = j->shapes[f];
    const char *eq = strrchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
      diag_error(d, "%s expects NAME=D0,D1,..., got '%s'", opt, spec);
      return false;
    }
    int k = named_input(g, opt, spec, (size_t)(eq - spec), d);
    if (k < 0)
      return false;
    int v = g->inputs[k];
    Value *val = &g->values[v];
    int64_t dims[CD_MAX_RANK];
    int rank = 0;
    for (const char *p = eq + 1;;) {
      char *end;
      errno = 0;
      long long x = strtoll(p, &end, 10);
      if (end == p || errno || x < 1 || x > ((int64_t)1 << 31) || (*end && *end != ',') ||
          rank == CD_MAX_RANK) {
        diag_error(d, "%s %s: dims are positive integers separated by commas", opt, spec);
        return false;
      }
      dims[rank++] = x;
      if (!*end)
        break;
      p = end + 1;
    }
    if (rank != val->rank) {
      char *hint = cd_shape_hint(g, v, d);
      diag_error(d, "%s %s: input '%s' has %d dims, not %d (%s)", opt, spec, val->name,
                 val->rank, rank, hint);
      free(hint);
      return false;
    }
    for (int i = 0; i < rank; i++) {
      int s;
      for (s = 0; s < g->nsymdims; s++)
        if (g->symdims[s].value == v && g->symdims[s].dim == i)
          break;
      if (s < g->nsymdims)
        g->symdims[s].by_shape = true;
      else if (dims[i] != val->dims[i]) {
        diag_error(d, "%s %s: dim %d of input '%s' is %lld in the model, not %lld", opt, spec,
                   i, val->name, (long long)val->dims[i], (long long)dims[i]);
        return false;
      }
    }
    int64_t numel = 1;
    for (int i = 0; i < rank; i++)
      if (__builtin_mul_overflow(numel, dims[i], &numel) || numel > ((int64_t)1 << 40)) {
        diag_error(d, "%s %s: too large", opt, spec);
        return false;
      }
    value_set_shape(val, val->dtype, rank, dims);
  }
  /* run --input FILE: the open dims --shape did not fix, from the file's
   * shape (of the input's rank; other ranks are refused by run, naming
   * both shapes). */
  for (int k = 0; k < j->ninput_shapes && k < g->ninputs; k++) {
    const HostTensor *t = &j->input_shapes[k];
    Value *val = &g->values[g->inputs[k]];
    if (t->rank != val->rank)
      continue;
    int64_t dims[CD_MAX_RANK];
    memcpy(dims, val->dims, sizeof dims);
    for (int s = 0; s < g->nsymdims; s++) {
      SymbolicDim *sd = &g->symdims[s];
      if (sd->value == g->inputs[k] && !sd->by_shape && t->dims[sd->dim] >= 1 &&
          t->dims[sd->dim] <= ((int64_t)1 << 31)) {
        dims[sd->dim] = t->dims[sd->dim];
        sd->by_shape = true;
      }
    }
    value_set_shape(val, val->dtype, val->rank, dims); /* the file holds that many: no overflow */
  }
  int errors = d->nerrors;
  for (int pass = 0; pass < 2; pass++) /* errors first; then, if none, the batch notes */
    for (int s = 0; s < g->nsymdims; s++) {
      const SymbolicDim *sd = &g->symdims[s];
      const Value *val = &g->values[sd->value];
      if (open_ok || sd->by_shape || !val->is_input || (sd->dim == 0) != (pass == 1) ||
          (pass == 1 && d->nerrors > errors))
        continue;
      char named[200] = "";
      if (*sd->param)
        snprintf(named, sizeof named, " ('%s')", sd->param);
      char *hint = cd_shape_hint(g, sd->value, d);
      if (sd->dim == 0)
        diag_warn(d, "graph input '%s': dim 0%s, the batch, is symbolic; compiling batch 1 "
                  "(%s chooses)", val->name, named, hint);
      else
        diag_error(d, "graph input '%s': dim %d%s is symbolic, and generated code has static "
                   "shapes: give it with %s", val->name, sd->dim, named, hint);
      free(hint);
    }
  return d->nerrors == errors;
}

/*
 * --outputs NAME[,NAME...]: cutting the graph.  The named tensors become the
 * graph's outputs, in the order given, and the old outputs stop being ones;
 * every node none of them needs (walking back from them) dies before
 * inference, so an op Cardinal cannot compile past the cut is never looked
 * at.  The inputs stay the model's, used or not, so the generated API keeps
 * the model's input order.  A name must be a tensor a node computes: a
 * graph input or a constant is refused, as is a name given twice.
 */
static bool cut_outputs(Graph *g, const CompileJob *j, Diag *d) {
  if (!j->noutput_names)
    return true;
  const char *opt = diag_option(d, "--outputs", "OUTPUTS");
  int *outs = arena_alloc(&g->arena, sizeof(int) * ((size_t)g->nvalues + 1)), n = 0;
  for (int f = 0; f < j->noutput_names; f++)
    for (const char *p = j->output_names[f];;) {
      size_t len = strcspn(p, ",");
      char *name = arena_printf(&g->arena, "%.*s", (int)len, p);
      int v = *name ? graph_find_value(g, name) : -1;
      if (!*name) {
        diag_error(d, "%s %s: an empty name (names are separated by single commas)", opt,
                   j->output_names[f]);
        return false;
      }
      if (v < 0) {
        Suggest sg;
        suggest_init(&sg, name);
        for (int i = 0; i < g->nvalues; i++)
          if (g->values[i].producer >= 0)
            suggest_add(&sg, g->values[i].name);
        if (suggest_best(&sg))
          diag_error(d, "%s %s: the model has no tensor named '%s'; did you mean '%s'?", opt,
                     name, name, suggest_best(&sg));
        else
          diag_error(d, "%s %s: the model has no tensor named '%s' (the names are "
                     "those of the model's node outputs, as Netron or onnx.load show them)",
                     opt, name, name);
        return false;
      }
      const Value *val = &g->values[v];
      if (val->is_input || val->producer < 0) {
        diag_error(d, "%s %s: '%s' is %s, not a tensor a node computes; name the output "
                   "of a node", opt, name, name, val->is_input ? "a graph input" : "a constant "
                   "(an initializer, or an input made one by --freeze)");
        return false;
      }
      for (int k = 0; k < n; k++)
        if (outs[k] == v) {
          diag_error(d, "%s: '%s' is named twice", opt, name);
          return false;
        }
      outs[n++] = v;
      if (!p[len])
        break;
      p += len + 1;
    }
  for (int k = 0; k < g->noutputs; k++)
    g->values[g->outputs[k]].is_output = false;
  char *need = calloc((size_t)g->nvalues + 1, 1);
  CD_ASSERT(need);
  for (int k = 0; k < n; k++) {
    g->values[outs[k]].is_output = true;
    need[outs[k]] = 1;
  }
  g->outputs = outs;
  g->noutputs = n;
  /* The loader keeps nodes in file order, which ONNX makes topological:
   * one walk back from the last node sees every reader before its
   * producer. */
  for (int i = g->nnodes - 1; i >= 0; i--) {
    Node *nd = &g->nodes[i];
    bool live = false;
    for (int k = 0; k < nd->nout; k++)
      live |= nd->out[k] >= 0 && need[nd->out[k]];
    if (!live) {
      nd->dead = true;
      continue;
    }
    for (int k = 0; k < node_nreads(nd); k++)
      if (node_read(nd, k) >= 0)
        need[node_read(nd, k)] = 1;
  }
  free(need);
  return true;
}

static Graph *load_model(const CompileJob *j, PassStats *stats, int *nstats, Diag *d);

/* --precision int8: g (loaded, float) prepared (QUANT_PREPASSES),
 * calibrated and rewritten to the QDQ format (quantize.c), and the report
 * printed: the float model's outputs, loaded again the same way, against
 * the quantized ones on the calibration inputs. */
static bool quantize_model(const CompileJob *j, Graph *g, bool verify, Diag *d) {
  int order[CD_MAX_PASSES], n = 0;
  PassStats st[CD_MAX_PASSES];
  float **inputs = NULL;
  int ninputs = 0;
  if (!passes_parse(QUANT_PREPASSES, order, &n, d) ||
      !passes_run(g, order, n, st, verify, NULL, NULL, d) ||
      !quant_read_inputs(g, j->quant->calibrate, j->quant->max_inputs, &inputs, &ninputs, d))
    return false;
  QuantSummary sum;
  bool ok = quant_insert(g, j->quant, inputs, ninputs, &sum, d);
  if (ok && j->quant->report) {
    CompileJob fj = *j;
    fj.quant = NULL;
    fj.io_quantized = false; /* the float model, as the caller's floats reach it */
    fj.passes = QUANT_PREPASSES;
    fj.dot = NULL;
    fj.dump_after = NULL;
    Graph *ref = load_model(&fj, NULL, NULL, d);
    ok = ref && quant_report(ref, g, &sum, inputs, ninputs, j->quant, j->quant->report, d);
    graph_free(ref);
  }
  quant_summary_free(&sum);
  for (int i = 0; i < ninputs; i++)
    free(inputs[i]);
  free(inputs);
  return ok;
}

/* The model as its file declares it (cd_load_declared). */
static Graph *load_declared(const CompileJob *j, Diag *d) {
  Graph *g = graph_new();
  if (j->limits)
    g->limits = *j->limits;
  const char *ext = strrchr(j->model, '.');
  bool dsl = ext && !strcmp(ext, ".nx");
  if ((!ext || (strcmp(ext, ".onnx") != 0 && !dsl)) ||
      !(dsl ? dsl_load_model(g, j->model, j->params, j->seed, d) : onnx_load(g, j->model, d)) ||
      !freeze_inputs(g, j, d) || !apply_shapes(g, j, true, d)) {
    graph_free(g);
    return NULL;
  }
  return g;
}

static Graph *load_model(const CompileJob *j, PassStats *stats, int *nstats, Diag *d) {
  Graph *g = graph_new();
  if (j->limits)
    g->limits = *j->limits;
  const char *ext = strrchr(j->model, '.');
  bool dsl = ext && !strcmp(ext, ".nx");
  if (!ext || (strcmp(ext, ".onnx") != 0 && !dsl)) {
    diag_error(d, "unknown model format (expected a .onnx or .nx file)");
    graph_free(g);
    return NULL;
  }
  if (j->params && !dsl) {
    diag_error(d, "--weights FILE.safetensors binds parameters of a .nx model; an ONNX "
               "model carries its own");
    graph_free(g);
    return NULL;
  }
  int order[CD_MAX_PASSES], n = 0;
  g->target = target_find(j->target ? j->target : "native");
  g->threads = j->threads > 1 ? j->threads : 1;
  if (g->threads > CD_MAX_THREADS) {
    diag_error(d, "--threads %d: at most %d", j->threads, CD_MAX_THREADS);
    graph_free(g);
    return NULL;
  }
  if (!g->target) {
    diag_error(d, "unknown target '%s' (known: %s)", j->target, target_names());
    graph_free(g);
    return NULL;
  }
  if (!passes_parse(j->passes, order, &n, d) ||
      !(dsl ? dsl_load_model(g, j->model, j->params, j->seed, d) : onnx_load(g, j->model, d)) ||
      !freeze_inputs(g, j, d) || !apply_shapes(g, j, false, d) || !cut_outputs(g, j, d) ||
      !graph_infer(g, d)) {
    graph_free(g);
    return NULL;
  }
  /* A cut output is a tensor like any other output: of a type outputs may
   * have (the model's own are checked by codegen, at the same rule). */
  for (int k = 0; k < g->noutputs && j->noutput_names; k++) {
    const Value *v = &g->values[g->outputs[k]];
    int64_t lo, hi;
    if (v->dtype != DT_FLOAT && !dtype_out_as_float(v->dtype, &lo, &hi)) {
      diag_error(d, "%s %s: the tensor is %s%s; outputs are float32, or uint8, int8, "
                 "int32 and int64 passed as float values", diag_option(d, "--outputs", "OUTPUTS"), v->name, dtype_name(v->dtype),
                 v->data ? ", known at compile time" : "");
      graph_free(g);
      return NULL;
    }
  }
#ifdef NDEBUG
  bool verify = j->verify || getenv("CARDINAL_VERIFY");
#else
  bool verify = true; /* debug builds check the IR after every pass */
#endif
  if (verify && !ir_verify(g, d)) {
    graph_free(g);
    return NULL;
  }
  g->source_params = graph_learnable_params(g);
  if (j->quant && !quantize_model(j, g, verify, d)) {
    graph_free(g);
    return NULL;
  }
  if (j->io_quantized) { /* the API's choice, before the passes fold what follows the Q */
    PassStats qs;
    memset(&qs, 0, sizeof qs);
    ir_recount_uses(g);
    bool ok = pass_quantized_io(g, &qs);
    graph_compact(g);
    if (!ok || (verify && !ir_verify(g, d))) {
      if (!ok)
        diag_error(d, "%s", qs.error);
      graph_free(g);
      return NULL;
    }
  }
  PassStats local[CD_MAX_PASSES];
  if (!passes_run(g, order, n, stats ? stats : local, verify,
                  j->dump_after, stdout, d)) {
    graph_free(g);
    return NULL;
  }
  if (nstats)
    *nstats = n;
  schedule_build(g, g->target);
  if (j->dot && !graph_write_dot(g, j->dot)) {
    diag_error(d, "cannot write %s: %s", j->dot, strerror(errno));
    graph_free(g);
    return NULL;
  }
  return g;
}

static const char *human_bytes(int64_t n, char *buf, size_t len) {
  if (n >= 1 << 30)
    snprintf(buf, len, "%.2f GiB", (double)n / (1 << 30));
  else if (n >= 1 << 20)
    snprintf(buf, len, "%.2f MiB", (double)n / (1 << 20));
  else
    snprintf(buf, len, "%.1f KiB", (double)n / (1 << 10));
  return buf;
}

bool cd_check_budget(const CompileJob *j, const Plan *p, Diag *d) {
  char a[32], b[32];
  if (j->max_workspace > 0 && p->ws_size > j->max_workspace)
    diag_error(d, "the workspace needs %lld bytes (%s), over --max-workspace %lld (%s)",
               (long long)p->ws_size, human_bytes(p->ws_size, a, sizeof a),
               (long long)j->max_workspace, human_bytes(j->max_workspace, b, sizeof b));
  if (j->max_weights > 0 && p->weight_size > j->max_weights)
    diag_error(d, "the weights need %lld bytes (%s), over --max-weights %lld (%s)",
               (long long)p->weight_size, human_bytes(p->weight_size, a, sizeof a),
               (long long)j->max_weights, human_bytes(j->max_weights, b, sizeof b));
  return d->nerrors == 0;
}

/* Whether j's C compiler, with j's flags, assembles a .S that includes a
 * file through -I dir (.incbin), as NAME_weights.S does: gcc and clang on
 * ELF do, others (tcc, a Mach-O clang, a compiler that is not there) may
 * not.  Probed in dir with files of its own, which it removes. */
static bool cc_assembles_incbin(const CompileJob *j, const char *dir) {
  char src[4096], bin[4096], obj[4096], inc[4200];
  snprintf(src, sizeof src, "%s/probe.S", dir);
  snprintf(bin, sizeof bin, "%s/probe.bin", dir);
  snprintf(obj, sizeof obj, "%s/probe.o", dir);
  snprintf(inc, sizeof inc, "-I%s", dir);
  Diag quiet = {.quiet = true}; /* a probe that cannot write says no, not why */
  bool ok = write_text(bin, "cardinal", &quiet) &&
            write_text(src, "#if !defined(__ELF__)\n#error not ELF\n#endif\n"
                            "\t.section .rodata,\"a\"\n\t.balign 64\n\t.globl cd_probe\n"
                            "\t.type cd_probe, %object\n\t.size cd_probe, 9\ncd_probe:\n"
                            "\t.incbin \"probe.bin\"\n\t.byte 0\n"
                            "\t.section .note.GNU-stack,\"\",%progbits\n", &quiet);
  sb_free(&quiet.log);
  char flags[1024];
  snprintf(flags, sizeof flags, "%s", j->cflags ? j->cflags : "-O3");
  char *argv[64];
  int a = 0;
  argv[a++] = (char *)(j->cc ? j->cc : "cc");
  a += split_flags(flags, argv + a, 48);
  char *tail[] = {inc, "-c", src, "-o", obj, NULL};
  for (int i = 0; tail[i]; i++)
    argv[a++] = tail[i];
  argv[a] = NULL;
  int status = 1;
  int rc = ok ? cd_spawn_wait(argv, "/dev/null", "/dev/null", &status) : -1;
  unlink(src);
  unlink(bin);
  unlink(obj);
  return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Below this many bytes of weights, the C array compiles in a tenth of a
 * second: less than the probe and the extra assembler run cost (and the
 * conformance suite runs hundreds of such models). */
#define INCBIN_MIN_BYTES ((int64_t)1 << 20)

/* Writes NAME.{h,c}, weights and the runtime into dir (which exists).
 * Embedded weights are in the assembler's form (*incbin: NAME_weights.S and
 * .bin) if --embed-as says so, or by default when the job compiles them
 * (probe_cc: build, run), they are INCBIN_MIN_BYTES or more, and the
 * compiler assembles it; else in NAME_weights.c. */
static bool compile_into(const CompileJob *j, Graph *g, const char *dir, bool weights_file,
                         bool probe_cc, bool *incbin, Diag *d) {
  Plan plan;
  if (!g->target) /* a graph built by hand (tests) */
    g->target = &target_scalar;
  schedule_build(g, g->target); /* again for graphs built by hand: it is idempotent */
  if (!plan_build(g, &plan, d))
    return false;
  if (!cd_check_budget(j, &plan, d)) {
    plan_free(&plan);
    return false;
  }
  if (j->report) {
    SizeReport *r = j->report;
    memset(r, 0, sizeof *r);
    r->name = j->name;
    r->weight_bytes = plan.weight_size;
    r->workspace_bytes = plan.ws_size;
    if (j->weights_blob)
      snprintf(r->weights_where, sizeof r->weights_where, "in %s.weights, loaded at run time",
               j->name);
    else
      snprintf(r->weights_where, sizeof r->weights_where, "embedded, %s",
               j->weights_section ? "linker section .rodata.cardinal_weights" : "read-only data");
    if (j->static_workspace)
      snprintf(r->workspace_where, sizeof r->workspace_where, "static %s_workspace%s", j->name,
               j->weights_section ? ", linker section .bss.cardinal_workspace" : "");
    else
      snprintf(r->workspace_where, sizeof r->workspace_where,
               "the caller's, one per concurrent call");
    r->code_bytes = r->stack_bytes = -1;
  }
  bool asm_form = !j->weights_blob && weights_file &&
                  (j->embed_as == EMBED_INCBIN ||
                   (j->embed_as == EMBED_AUTO && probe_cc &&
                    plan.weight_size >= INCBIN_MIN_BYTES && cc_assembles_incbin(j, dir)));
  if (incbin)
    *incbin = asm_form;
  /* Past 64 MiB the C array takes tens of seconds to compile: say why. */
  if (!asm_form && probe_cc && weights_file && !j->weights_blob && j->embed_as == EMBED_AUTO &&
      plan.weight_size >= ((int64_t)64 << 20))
    diag_warn(d, "%s does not assemble %s_weights.S (.incbin, ELF), so the %lld MiB of weights "
                 "are compiled as a C array, which is slow; --embed-as c says that is meant, "
                 "--weights blob loads them at run time instead",
              j->cc ? j->cc : "cc", j->name, (long long)(plan.weight_size >> 20));
  CodegenOptions o = {j->name, g->target, j->weights_blob, j->passes ? j->passes : "default",
                      j->weights_section, j->static_workspace, !weights_file, asm_form};
  bool ok = codegen_write(g, &plan, &o, dir, d) && cd_write_runtime(dir, g->threads > 1, d);
  plan_free(&plan);
  return ok;
}

/*
 * The output folder is replaced in one step, never written in place.
 *
 * Everything goes into a staging folder beside OUT (so on its file system):
 * ".BASE.cardinal-XXXXXX", made by mkdtemp's rules (a fresh random name,
 * mode 0700) next to a lock file ".BASE.cardinal-XXXXXX.lock" created
 * first (mkstemps, O_EXCL) and held with flock for the whole run.  Every
 * file is created with O_CREAT|O_EXCL|O_NOFOLLOW (cd_create_file), so a
 * link planted anywhere is never written through.  When all is written,
 * one rename puts the folder at OUT: renameat2(RENAME_EXCHANGE) swaps it
 * with an existing OUT (whatever OUT was: a folder, or a link, which is
 * replaced, not followed), and the old folder is removed.  So a run that
 * fails, or is killed at any point, leaves OUT as it was or as it is now.
 *
 * What a killed run leaves beside OUT -- its staging folder and lock -- is
 * removed by its signal handler (SIGINT, SIGTERM, SIGHUP: cd_staging_signal)
 * or, after kill -9, by the next run writing the same OUT: a lock nobody
 * holds is a dead run's.  OUT itself is replaced only if it is empty or a
 * folder Cardinal wrote (it holds the marker file .cardinal, or -- written
 * before the marker existed -- nothing but written_files of this name,
 * each recognised by its contents), so `-o .` or `-o ~` is refused instead
 * of wiping a folder of other files, and so is `-o src --name main` where
 * src holds someone's main.c and main.h.
 *
 * That is checked before the compile (to refuse early) and decided at the
 * exchange, on what the exchange moved out: a compile takes seconds, and a
 * folder someone makes at OUT meanwhile is theirs.  If what came out is
 * not Cardinal's, a second exchange puts it back and the new output is
 * discarded.  Only what was checked is deleted: staging_end removes the
 * folder at the staging path only if it is the one checked (device and
 * inode), through the descriptor it checked.  The signals the handler
 * takes are held while the handler's idea of the staging path is not true
 * (the lock made but not yet recorded; someone else's folder moved out
 * and not yet back).
 */
#define MARKER ".cardinal"

/* How a file Cardinal writes is recognised by its contents, in an output
 * folder from before the marker: the name alone proves nothing (a user's
 * main.c is named as the output of --name main is). */
typedef enum {
  PROOF_BANNER,  /* generated C: opens with the comment "Generated by cardinal ..." */
  PROOF_RUNTIME, /* a runtime source: opens with a comment naming the file */
  PROOF_BLOB,    /* a weights blob: begins "CARDINALW1" */
  PROOF_ARCHIVE, /* an ar archive of only the objects below */
  PROOF_NONE,    /* not provable (an object file; the marker, never needed) */
} Proof;

/* Every file a compile or build of model NAME (%s) may write in its
 * folder: what a signal removes from the staging folder, and what an
 * output folder written before the marker existed may hold. */
static const struct {
  const char *name; /* printf format of NAME */
  Proof proof;
} written_files[] = {
    {"%s.h", PROOF_BANNER}, {"%s.c", PROOF_BANNER}, {"%s_weights.c", PROOF_BANNER},
    {"%s_weights.S", PROOF_BANNER}, {"%s_weights.bin", PROOF_NONE},
    {"%s.weights", PROOF_BLOB}, {"lib%s.a", PROOF_ARCHIVE}, {"%s.o", PROOF_NONE},
    {"%s_weights.o", PROOF_NONE}, {"cardinal_rt.h", PROOF_RUNTIME},
    {"cardinal_rt.c", PROOF_RUNTIME}, {"cardinal_rt.o", PROOF_NONE},
    {"cardinal_rt_threads.c", PROOF_RUNTIME}, {"cardinal_rt_threads.o", PROOF_NONE},
    {MARKER, PROOF_NONE}};
#define NWRITTEN (sizeof written_files / sizeof written_files[0])

typedef struct {
  char dir[3600];  /* the staging folder (room left for the names inside it) */
  char lock[3600]; /* its lock file */
  int lock_fd;
  dev_t dev;       /* what staging_end may delete at dir: the staging folder, or */
  ino_t ino;       /* the old OUT once checked; ino 0: nothing */
} Staging;

/* The staging of the run in progress, for the signal handler: paths only,
 * so the handler needs nothing but unlink and rmdir. */
static struct {
  volatile sig_atomic_t active;
  int lock_fd;
  char dir[3600], lock[3600], files[NWRITTEN][3900];
  int nfiles;
} live;

/* Removes what a run in progress has written and re-raises sig. */
void cd_staging_signal(int sig) {
  if (live.active) {
    for (int i = 0; i < live.nfiles; i++)
      unlink(live.files[i]);
    /* A folder that will not go (a compiler's temporary inside) keeps its
     * lock file: the next run sees a lock nobody holds and removes both. */
    if (rmdir(live.dir) == 0 || errno == ENOENT)
      unlink(live.lock);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Holds the signals cd_staging_signal takes (old: the mask to restore). */
static void hold_signals(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, old);
}

/* OUT without trailing slashes, split into its folder and base name. */
static bool split_out(const char *out, char *parent, size_t pn, char *base, size_t bn) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", out);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/')
    buf[--n] = 0;
  char *slash = strrchr(buf, '/');
  const char *b = slash ? slash + 1 : buf;
  if (!*b || !strcmp(b, ".") || !strcmp(b, "..") || strlen(b) >= bn ||
      (slash && (size_t)(slash - buf) >= pn) || strlen(out) >= sizeof buf)
    return false;
  snprintf(base, bn, "%s", b);
  if (!slash)
    snprintf(parent, pn, ".");
  else if (slash == buf)
    snprintf(parent, pn, "/");
  else
    snprintf(parent, pn, "%.*s", (int)(slash - buf), buf);
  return true;
}

/* Removes the staging folders of dead runs for OUT: each with a lock file
 * nobody holds. */
static void remove_stale(const char *parent, const char *base) {
  DIR *dir = opendir(parent);
  if (!dir)
    return;
  char prefix[300];
  snprintf(prefix, sizeof prefix, ".%.255s.cardinal-", base);
  size_t pl = strlen(prefix);
  struct dirent *e;
  while ((e = readdir(dir))) {
    size_t L = strlen(e->d_name);
    if (strncmp(e->d_name, prefix, pl) || L != pl + 6 + 5 || strcmp(e->d_name + L - 5, ".lock"))
      continue;
    char lock[4400], stale[4400];
    snprintf(lock, sizeof lock, "%s/%s", parent, e->d_name);
    int fd = open(lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      snprintf(stale, sizeof stale, "%s/%.*s", parent, (int)(L - 5), e->d_name);
      cd_rm_rf(stale);
      unlink(lock);
    }
    close(fd);
  }
  closedir(dir);
}

static bool staging_begin(const char *out, const char *name, Staging *s, Diag *d) {
  char parent[3300], base[256];
  s->lock_fd = -1;
  if (!split_out(out, parent, sizeof parent, base, sizeof base)) {
    diag_error(d, "-o %s: not a folder name Cardinal can replace", out);
    return false;
  }
  if (!cd_mkdir_p(parent)) {
    diag_error(d, "cannot create %s: %s", parent, strerror(errno));
    return false;
  }
  remove_stale(parent, base);
  for (int tries = 0; tries < 100; tries++) {
    snprintf(s->lock, sizeof s->lock, "%s/.%s.cardinal-XXXXXX.lock", parent, base);
    live.active = 0;
    sigset_t mask;
    hold_signals(&mask); /* until the handler knows the lock */
    s->lock_fd = mkstemps(s->lock, 5);
    if (s->lock_fd < 0) {
      sigprocmask(SIG_SETMASK, &mask, NULL);
      break;
    }
    snprintf(s->dir, sizeof s->dir, "%.*s", (int)(strlen(s->lock) - 5), s->lock);
    /* From here on a signal removes what exists: the lock, the folder, and
     * every file a run may write in it. */
    live.nfiles = 0;
    for (size_t i = 0; i < NWRITTEN; i++) {
      char f[300];
      snprintf(f, sizeof f, written_files[i].name, name);
      snprintf(live.files[live.nfiles++], sizeof live.files[0], "%s/%s", s->dir, f);
    }
    snprintf(live.dir, sizeof live.dir, "%s", s->dir);
    snprintf(live.lock, sizeof live.lock, "%s", s->lock);
    live.lock_fd = s->lock_fd;
    live.active = 1;
    sigprocmask(SIG_SETMASK, &mask, NULL);
    struct stat st;
    if (flock(s->lock_fd, LOCK_EX) == 0 && mkdir(s->dir, 0700) == 0 &&
        lstat(s->dir, &st) == 0) {
      s->dev = st.st_dev;
      s->ino = st.st_ino;
      return true;
    }
    int e = errno;
    live.active = 0;
    close(s->lock_fd);
    unlink(s->lock);
    s->lock_fd = -1;
    if (e != EEXIST)
      break;
  }
  diag_error(d, "cannot create a staging folder beside %s: %s", out, strerror(errno));
  return false;
}

/* Removes the staging folder (after a failure), or the old OUT after the
 * exchange: whichever was checked to be at s->dir, through a descriptor
 * of it (a link is removed, not followed). */
static void staging_end(Staging *s) {
  if (s->lock_fd < 0)
    return;
  struct stat st;
  if (s->ino && lstat(s->dir, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino) {
    if (S_ISLNK(st.st_mode)) {
      unlink(s->dir);
    } else {
      int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino) {
        cd_empty_folder_fd(fd);
        rmdir(s->dir);
      } else if (fd >= 0) {
        close(fd);
      }
    }
  }
  unlink(s->lock);
  live.active = 0;
  close(s->lock_fd);
  s->lock_fd = -1;
}

/* Whether the ar archive open as fd holds only objects a build of model
 * `name` puts in libNAME.a (GNU and System V member names; a symbol
 * table).  Reads with pread into buffers of its own: no allocation. */
static bool archive_ours(int fd, const char *name) {
  char h[61], longnames[4096];
  int64_t nlong = 0;
  if (pread(fd, h, 8, 0) != 8 || memcmp(h, "!<arch>\n", 8))
    return false;
  off_t off = 8;
  for (int members = 0; members < 16; members++) {
    ssize_t r = pread(fd, h, 60, off);
    if (r == 0)
      return members > 0;
    if (r != 60 || h[58] != '`' || h[59] != '\n')
      return false;
    h[58] = 0;
    char *end;
    long long size = strtoll(h + 48, &end, 10);
    if (end == h + 48 || size < 0 || size > ((int64_t)1 << 40))
      return false;
    char field[17], member[300];
    memcpy(field, h, 16);
    field[16] = 0;
    for (int i = 15; i >= 0 && field[i] == ' '; i--)
      field[i] = 0;
    if (!strcmp(field, "/") || !strcmp(field, "/SYM64/")) {
      member[0] = 0; /* the symbol table */
    } else if (!strcmp(field, "//")) { /* the long names, "name/\n" each */
      if (size >= (long long)sizeof longnames || pread(fd, longnames, (size_t)size, off + 60) != size)
        return false;
      nlong = size;
      longnames[nlong] = 0;
      member[0] = 0;
    } else if (field[0] == '/') { /* "/123": at offset 123 of the long names */
      long long at = strtoll(field + 1, &end, 10);
      if (end == field + 1 || *end || at < 0 || at >= nlong)
        return false;
      const char *nm = longnames + at, *stop = strstr(nm, "/\n");
      if (!stop || stop - nm >= (long)sizeof member)
        return false;
      snprintf(member, sizeof member, "%.*s", (int)(stop - nm), nm);
    } else { /* "name.o/" */
      size_t n = strlen(field);
      if (!n || field[n - 1] != '/')
        return false;
      snprintf(member, sizeof member, "%.*s", (int)(n - 1), field);
    }
    if (member[0]) {
      char want[300];
      bool known = false;
      for (size_t i = 0; i < NWRITTEN && !known; i++) {
        size_t n = strlen(written_files[i].name);
        if (n > 2 && !strcmp(written_files[i].name + n - 2, ".o")) {
          snprintf(want, sizeof want, written_files[i].name, name);
          known = !strcmp(want, member);
        }
      }
      if (!known)
        return false;
    }
    off += 60 + size + (size & 1);
  }
  return false; /* more members than a build makes */
}

/* Whether entry e of the folder open as fd is a file Cardinal writes for
 * model `name`, recognised by its name and its contents (Proof). */
static bool cardinal_file(int fd, const char *e, const char *name) {
  char f[300];
  size_t i;
  for (i = 0; i < NWRITTEN; i++) {
    snprintf(f, sizeof f, written_files[i].name, name);
    if (!strcmp(f, e))
      break;
  }
  if (i == NWRITTEN || written_files[i].proof == PROOF_NONE)
    return false;
  int ffd = openat(fd, e, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (ffd < 0)
    return false;
  bool ours = false;
  char head[320];
  if (fstat(ffd, &st) == 0 && S_ISREG(st.st_mode)) {
    ssize_t n = pread(ffd, head, sizeof head - 1, 0);
    head[n > 0 ? n : 0] = 0;
    switch (written_files[i].proof) {
    case PROOF_BANNER:
      ours = !strncmp(head, "/* Generated by cardinal ", 25);
      break;
    case PROOF_RUNTIME:
      snprintf(f, sizeof f, "/*\n * %s ", e);
      ours = !strncmp(head, f, strlen(f));
      break;
    case PROOF_BLOB:
      ours = n >= 10 && !memcmp(head, "CARDINALW1", 10);
      break;
    case PROOF_ARCHIVE:
      ours = archive_ours(ffd, name);
      break;
    case PROOF_NONE:
      break;
    }
  }
  close(ffd);
  return ours;
}

/* Whether the folder open as fd may be replaced: it is empty, or Cardinal
 * wrote it.  Reads through fd, and allocates nothing of ours (it runs
 * while someone's folder may sit at the staging path, where an unwinding
 * allocation would delete it). */
static bool folder_ours(int fd, const char *name) {
  struct stat st;
  if (fstatat(fd, MARKER, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
    return true;
  /* Empty, or holding only files Cardinal writes for this name (an output
   * of a version before the marker). */
  int fd2 = dup(fd);
  DIR *dir = fd2 >= 0 ? fdopendir(fd2) : NULL;
  bool ours = dir != NULL;
  struct dirent *e;
  while (ours && (e = readdir(dir)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      ours = strcmp(e->d_name, MARKER) && cardinal_file(fd, e->d_name, name);
  if (dir)
    closedir(dir);
  else if (fd2 >= 0)
    close(fd2);
  return ours;
}

static const char not_folder[] = "not a folder", unreadable[] = "unreadable",
                  not_ours[] = "not a folder Cardinal wrote (no " MARKER " file)";

/* Why the thing at path may not be replaced by an output of `name` (one
 * of the strings above, errno set for `unreadable`), or NULL if it may:
 * absent, a link (replaced, never followed), an empty folder, or a folder
 * Cardinal wrote.  *st is what was checked (st_ino 0: nothing). */
static const char *not_replaceable(const char *path, const char *name, struct stat *st) {
  if (lstat(path, st) != 0) {
    st->st_ino = 0;
    return errno == ENOENT ? NULL : unreadable;
  }
  if (S_ISLNK(st->st_mode))
    return NULL;
  if (!S_ISDIR(st->st_mode))
    return not_folder;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat fst;
  if (fd < 0 || fstat(fd, &fst) != 0 || fst.st_dev != st->st_dev || fst.st_ino != st->st_ino) {
    if (fd >= 0) {
      close(fd);
      errno = EAGAIN; /* replaced between lstat and open */
    }
    return unreadable;
  }
  bool ours = folder_ours(fd, name);
  close(fd);
  return ours ? NULL : not_ours;
}

static bool out_replaceable(const char *out, const char *name, Diag *d) {
  struct stat st;
  const char *why = not_replaceable(out, name, &st);
  if (why == not_folder)
    diag_error(d, "%s exists and is not a folder: remove it or choose another -o", out);
  else if (why == unreadable)
    diag_error(d, "cannot read %s: %s", out, strerror(errno));
  else if (why)
    diag_error(d, "%s exists and is %s: it would be replaced as a whole; remove it or choose "
               "another -o", out, why);
  return !why;
}

/* The C prefix names the output files and symbols (cd_name_check). */
static bool name_ok(const char *name, Diag *d) {
  char why[300];
  if (cd_name_check(name, why, sizeof why))
    return true;
  diag_error(d, "the name '%s' is %s; choose another --name", name ? name : "", why);
  return false;
}

/* The one rename, an exchange when OUT exists; then what came out of OUT
 * is checked, and put back if it is not Cardinal's.  Signals held. */
static bool commit_exchange(Staging *s, const char *out, const char *name, Diag *d) {
  if (rename(s->dir, out) == 0) /* OUT did not exist, or was an empty folder */
    return true;
  if (renameat2(AT_FDCWD, s->dir, AT_FDCWD, out, RENAME_EXCHANGE) != 0) {
    diag_error(d, "cannot move %s into place as %s: %s", s->dir, out, strerror(errno));
    return false;
  }
  struct stat st;
  const char *why = not_replaceable(s->dir, name, &st);
  if (!why) { /* staging_end deletes it: this one, and only if still there */
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    return true;
  }
  if (renameat2(AT_FDCWD, s->dir, AT_FDCWD, out, RENAME_EXCHANGE) != 0) {
    s->ino = 0; /* keep it, wherever it is */
    diag_error(d, "%s changed while compiling into something %s, and could not be put back "
               "(%s): it is at %s now; move it back by hand", out, why, strerror(errno),
               s->dir);
    return false;
  }
  diag_error(d, "%s appeared while compiling and is %s: it is left as it was and the new "
             "output discarded; remove it or choose another -o", out, why);
  return false;
}

/* The marker, the folder's mode as mkdir would have made it, then the
 * exchange; staging_end removes the old OUT. */
static bool staging_commit(Staging *s, const char *out, const char *name, Diag *d) {
  char marker[4200];
  snprintf(marker, sizeof marker, "%s/" MARKER, s->dir);
  FILE *f = cd_create_file(marker);
  bool ok = f && fputs("Written by cardinal; the next compile to this folder replaces it "
                       "whole.\n", f) >= 0;
  if (f)
    ok = fclose(f) == 0 && ok;
  mode_t mask = umask(0);
  umask(mask);
  ok = ok && chmod(s->dir, 0777 & ~mask) == 0;
  if (!ok) {
    diag_error(d, "cannot finish %s: %s", s->dir, strerror(errno));
    return false;
  }
  sigset_t old;
  hold_signals(&old);
  ok = commit_exchange(s, out, name, d);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return ok;
}

static bool compile_job(const CompileJob *j, Graph **out_g, Diag *d) {
  Graph *g = cd_load_model(j, NULL, NULL, d);
  if (!g)
    return false;
  Staging s;
  bool ok = name_ok(j->name, d) && out_replaceable(j->out_dir, j->name, d) &&
            staging_begin(j->out_dir, j->name, &s, d);
  if (ok) {
    ok = compile_into(j, g, s.dir, true, false, NULL, d) &&
         staging_commit(&s, j->out_dir, j->name, d);
    staging_end(&s);
  }
  if (ok && out_g)
    *out_g = g;
  else
    graph_free(g);
  return ok;
}

/* Compiles each source of `srcs` (at most 8; dir/SRC.c, or dir/SRC.S if
 * SRC is asm_src) to dir/SRC.o, all at once: every compiler is started
 * before the first is waited for.  extra: one more flag, for the C files. */
static bool compile_objects(const CompileJob *j, const char *dir, const char **srcs, int nsrc,
                            const char *asm_src, const char *extra, Diag *d) {
  const char *cc = j->cc ? j->cc : "cc";
  pid_t pids[8];
  int npid = 0;
  bool ok = true;
  CD_ASSERT(nsrc <= 8);
  for (int i = 0; i < nsrc; i++) {
    char flags[1024];
    snprintf(flags, sizeof flags, "%s", j->cflags ? j->cflags : "-O3");
    char *argv[64];
    int a = 0;
    argv[a++] = (char *)cc;
    a += split_flags(flags, argv + a, 48);
    bool is_asm = asm_src && !strcmp(srcs[i], asm_src);
    if (extra && !is_asm)
      argv[a++] = (char *)extra;
    char src[4096], obj[4096], inc[4200];
    snprintf(src, sizeof src, "%s/%s.%s", dir, srcs[i], is_asm ? "S" : "c");
    snprintf(obj, sizeof obj, "%s/%s.o", dir, srcs[i]);
    snprintf(inc, sizeof inc, "-I%s", dir);
    argv[a++] = inc;
    argv[a++] = "-c";
    argv[a++] = src;
    argv[a++] = "-o";
    argv[a++] = obj;
    argv[a] = NULL;
    int rc = posix_spawnp(&pids[npid], cc, NULL, NULL, argv, environ);
    if (rc != 0) {
      diag_error(d, "cannot run %s: %s", cc, strerror(rc));
      ok = false;
      break;
    }
    npid++;
  }
  for (int i = 0; i < npid; i++) {
    int status;
    while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
      ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      diag_error(d, "%s failed on %s/%s.%s", cc, dir, srcs[i],
                 asm_src && !strcmp(srcs[i], asm_src) ? "S" : "c");
      ok = false;
    }
  }
  return ok;
}

/* Whether the C compiler takes -fstack-usage (gcc and clang do). */
static bool cc_has_stack_usage(const CompileJob *j, const char *dir) {
  char obj[4096], su[4096];
  snprintf(obj, sizeof obj, "%s/probe.o", dir);
  snprintf(su, sizeof su, "%s/probe.su", dir);
  char *argv[] = {(char *)(j->cc ? j->cc : "cc"), "-fstack-usage", "-x", "c", "-c", "/dev/null",
                  "-o", obj, NULL};
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ), status = 1;
  posix_spawn_file_actions_destroy(&fa);
  if (rc == 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
  unlink(obj);
  unlink(su);
  return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The code and stack fields of j->report, from the objects and the
 * -fstack-usage files in dir (which it removes). */
static void measure_objects(const CompileJob *j, const char *dir, const char **srcs, int nsrc,
                            bool stack_usage) {
  SizeReport *r = j->report;
  char path[4096], su[4096], tsu[4096];
  bool elf = true;
  r->code_bytes = r->rodata_bytes = r->runtime_code_bytes = 0;
  for (int i = 0; i < nsrc; i++) {
    bool weights = srcs[i] != j->name && strncmp(srcs[i], "cardinal_rt", 11) != 0;
    if (weights)
      continue;
    snprintf(path, sizeof path, "%s/%s.o", dir, srcs[i]);
    int64_t before = r->code_bytes;
    elf = elf && elf_add_sizes(path, r);
    if (srcs[i] != j->name)
      r->runtime_code_bytes += r->code_bytes - before;
  }
  if (!elf)
    r->code_bytes = -1;
  snprintf(su, sizeof su, "%s/%s.su", dir, j->name);
  snprintf(tsu, sizeof tsu, "%s/cardinal_rt_threads.su", dir);
  if (!stack_usage || !stack_from_su(su, j->threads > 1 ? tsu : NULL, j->name, r))
    r->stack_bytes = -1;
  for (int i = 0; i < nsrc; i++) {
    snprintf(path, sizeof path, "%s/%s.su", dir, srcs[i]);
    unlink(path);
  }
}

static bool build_library(const CompileJob *j, const char *dir, bool incbin, Diag *d) {
  const char *srcs[4] = {j->name, "cardinal_rt", NULL, NULL};
  int nsrc = 2;
  if (j->threads > 1)
    srcs[nsrc++] = "cardinal_rt_threads";
  char wname[256];
  if (!j->weights_blob) {
    snprintf(wname, sizeof wname, "%s_weights", j->name);
    srcs[nsrc++] = wname;
  }
  bool stack_usage = j->report && cc_has_stack_usage(j, dir);
  if (!compile_objects(j, dir, srcs, nsrc, incbin ? wname : NULL,
                       stack_usage ? "-fstack-usage" : NULL, d))
    return false;
  if (j->report)
    measure_objects(j, dir, srcs, nsrc, stack_usage);
  char lib[4096];
  snprintf(lib, sizeof lib, "%s/lib%s.a", dir, j->name);
  unlink(lib);
  char *argv[8];
  char objs[4][4096];
  int a = 0;
  argv[a++] = "ar";
  argv[a++] = "rcs";
  argv[a++] = lib;
  for (int i = 0; i < nsrc; i++) {
    snprintf(objs[i], sizeof objs[i], "%s/%s.o", dir, srcs[i]);
    argv[a++] = objs[i];
  }
  argv[a] = NULL;
  bool ok = run_argv(argv, false, d);
  for (int i = 0; i < nsrc; i++)
    unlink(objs[i]);
  return ok;
}

bool cd_measure(const CompileJob *j0, Graph *g, SizeReport *r, Diag *d) {
  CompileJob j = *j0;
  j.report = r;
  const char *tmpdir = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/cardinal-size-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  char *dir = mkdtemp(tmpl);
  if (!dir) {
    diag_error(d, "cannot create a temporary folder: %s", strerror(errno));
    return false;
  }
  const char *srcs[3] = {j.name, "cardinal_rt", "cardinal_rt_threads"};
  int nsrc = g->threads > 1 ? 3 : 2;
  bool ok = compile_into(&j, g, dir, false, false, NULL, d);
  /* The cache (cache.c) keeps the measurement, keyed by what is compiled. */
  CacheKey key;
  bool keyed = false;
  char path[4200];
  if (ok && j.cache_dir) {
    const char *files[] = {"%s.c", "%s.h", "cardinal_rt.c", "cardinal_rt.h",
                           "cardinal_rt_threads.c"};
    cache_key_init(&key, "cardinal size " CD_VERSION);
    keyed = true;
    for (int i = 0; i < (nsrc == 3 ? 5 : 4); i++) {
      char f[256];
      snprintf(f, sizeof f, files[i], j.name);
      snprintf(path, sizeof path, "%s/%s", dir, f);
      keyed = cache_key_file(&key, path) && keyed;
    }
    const char *how[] = {j.cc ? j.cc : "cc", j.cflags ? j.cflags : "-O3"};
    for (int i = 0; i < 2; i++)
      cache_key_add(&key, how[i], strlen(how[i]));
    snprintf(path, sizeof path, "%s/size.txt", dir);
    FILE *f = keyed && cache_get(j.cache_dir, &key, "size.txt", path) ? fopen(path, "r") : NULL;
    long long v[6];
    int dyn;
    if (f && fscanf(f, "%lld %lld %lld %lld %lld %lld %d", &v[0], &v[1], &v[2], &v[3], &v[4],
                    &v[5], &dyn) == 7) {
      r->code_bytes = v[0], r->rodata_bytes = v[1], r->runtime_code_bytes = v[2];
      r->stack_bytes = v[3], r->stack_run = v[4], r->stack_kernel = v[5];
      r->stack_dynamic = dyn;
      r->cached = true;
      fclose(f);
      cd_rm_rf(dir);
      return true;
    }
    if (f)
      fclose(f);
    unlink(path);
  }
  bool stack_usage = ok && cc_has_stack_usage(&j, dir);
  ok = ok && compile_objects(&j, dir, srcs, nsrc, NULL, stack_usage ? "-fstack-usage" : NULL, d);
  if (ok)
    measure_objects(&j, dir, srcs, nsrc, stack_usage);
  if (ok && keyed) {
    snprintf(path, sizeof path, "%s/size.txt", dir);
    FILE *f = fopen(path, "w");
    if (f) {
      fprintf(f, "%lld %lld %lld %lld %lld %lld %d\n", (long long)r->code_bytes,
              (long long)r->rodata_bytes, (long long)r->runtime_code_bytes,
              (long long)r->stack_bytes, (long long)r->stack_run, (long long)r->stack_kernel,
              r->stack_dynamic);
      if (fclose(f) == 0) {
        const char *src[] = {path}, *as[] = {"size.txt"};
        cache_put(j.cache_dir, &key, src, as, 1);
      }
    }
  }
  cd_rm_rf(dir);
  return ok;
}

static bool build_job(const CompileJob *j, Diag *d) {
  Graph *g = cd_load_model(j, NULL, NULL, d);
  if (!g)
    return false;
  Staging s;
  bool ok = name_ok(j->name, d) && out_replaceable(j->out_dir, j->name, d) &&
            staging_begin(j->out_dir, j->name, &s, d);
  if (ok) {
    bool incbin;
    ok = compile_into(j, g, s.dir, true, true, &incbin, d) &&
         build_library(j, s.dir, incbin, d) && staging_commit(&s, j->out_dir, j->name, d);
    staging_end(&s);
  }
  graph_free(g);
  return ok;
}

/* The entry points: an allocation that fails anywhere below unwinds to
 * here (cardinal.h, "memory"), every block allocated since is freed, and
 * what is not memory is undone: the staging folder goes, OUT stays. */
static void unwind_staging(void) {
  if (live.active) {
    cd_rm_rf(live.dir);
    unlink(live.lock);
    close(live.lock_fd);
    live.active = 0;
  }
}

Graph *cd_load_model(const CompileJob *j, PassStats *stats, int *nstats, Diag *d) {
  CdTry t;
  cd_try_begin(&t);
  if (setjmp(t.env)) {
    diag_error(d, "out of memory");
    return NULL;
  }
  Graph *g = load_model(j, stats, nstats, d);
  cd_try_end(&t);
  return g;
}

Graph *cd_load_declared(const CompileJob *j, Diag *d) {
  CdTry t;
  cd_try_begin(&t);
  if (setjmp(t.env)) {
    diag_error(d, "out of memory");
    return NULL;
  }
  Graph *g = load_declared(j, d);
  cd_try_end(&t);
  return g;
}

bool cd_compile(const CompileJob *j, Graph **out_g, Diag *d) {
  CdTry t;
  cd_try_begin(&t);
  if (setjmp(t.env)) {
    unwind_staging();
    diag_error(d, "out of memory");
    return false;
  }
  bool ok = compile_job(j, out_g, d);
  cd_try_end(&t);
  return ok;
}

bool cd_build(const CompileJob *j, Diag *d) {
  CdTry t;
  cd_try_begin(&t);
  if (setjmp(t.env)) {
    unwind_staging();
    diag_error(d, "out of memory");
    return false;
  }
  bool ok = build_job(j, d);
  cd_try_end(&t);
  return ok;
}

/* The harness `run` links with a model: reads inputs from DIR/in<k>.bin,
 * runs RUNS times, prints the median time, writes DIR/out<k>.bin.  The
 * workspace and the outputs start filled with NaN, so a kernel that leaves
 * a lane unwritten shows in the outputs; CARDINAL_CPU_MASK (hex) restricts
 * the CPU features the model may use (cd_cpu_restrict), to test the
 * CD_ERR_CPU path. */
/* Not an identifier, so no model's NAME.c (--name harness) takes its place. */
#define HARNESS_C "cardinal-harness.c"
static const char *harness_text =
    "#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */\n"
    "#include \"%s.h\"\n"
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <time.h>\n\n"
    "static double now_ms(void) {\n"
    "  struct timespec t;\n  clock_gettime(CLOCK_MONOTONIC, &t);\n"
    "  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;\n}\n"
    "static int cmp(const void *a, const void *b) {\n"
    "  double x = *(const double *)a, y = *(const double *)b;\n"
    "  return x < y ? -1 : x > y;\n}\n"
    "%s" /* in and out: pointer arrays of the API's type; es_in, es_out: element sizes */
    "int main(int argc, char **argv) {\n"
    "  char path[4096];\n  int runs = argc > 2 ? atoi(argv[2]) : 1, k, r, rc = 0;\n"
    "  double *t = malloc(sizeof(double) * (runs + 1));\n"
    "  void *ws = cd_aligned_alloc(%s_WORKSPACE_SIZE + 1);\n"
    "  const char *mask = getenv(\"CARDINAL_CPU_MASK\");\n"
    "  if (!t || !ws) return 4;\n"
    "  if (mask)\n    cd_cpu_restrict((unsigned)strtoul(mask, NULL, 16));\n"
    "  memset(ws, 0xff, %s_WORKSPACE_SIZE + 1); /* NaN */\n"
    "%s"
    "  for (k = 0; k < %s_NUM_INPUTS; k++) {\n"
    "    FILE *f;\n    void *b = malloc(%s_input_size[k] * es_in[k] + 4);\n"
    "    sprintf(path, \"%%s/in%%d.bin\", argv[1], k);\n"
    "    f = fopen(path, \"rb\");\n"
    "    if (!b || !f || fread(b, es_in[k], %s_input_size[k], f) != %s_input_size[k]) return 3;\n"
    "    fclose(f);\n    in[k] = b;\n  }\n"
    "  for (k = 0; k < %s_NUM_OUTPUTS; k++) { /* NaN-filled: an element never written shows */\n"
    "    size_t n = %s_output_size[k] * es_out[k];\n"
    "    if (!(out[k] = malloc(n + 4))) return 4;\n"
    "    memset(out[k], 0xff, n);\n  }\n"
    "  for (r = 0; r < runs && rc == 0; r++) {\n"
    "    double t0 = now_ms();\n    rc = %s_run(in, out, ws);\n    t[r] = now_ms() - t0;\n  }\n"
    "  if (rc) { fprintf(stderr, \"%s_run: %%s\\n\", cd_strerror(rc)); return 2; }\n"
    "  qsort(t, runs, sizeof(double), cmp);\n"
    "  printf(\"%%.3f %%.3f %%.3f\\n\", t[runs / 2], t[0], t[runs - 1]);\n"
    "#ifdef CARDINAL_PROFILE\n"
    "  {\n    FILE *f;\n    sprintf(path, \"%%s/profile.txt\", argv[1]);\n"
    "    f = fopen(path, \"w\");\n"
    "    if (f) fprintf(f, \"peak %%.3f %%d\\npeak8 %%.3f\\n\", %s_profile_peak(), %s_THREADS,\n"
    "                   %s_profile_peak_int8());\n"
    "    for (k = 0; f && k < %s_NUM_KERNELS; k++) { /* thread 0's time, the slowest thread's */\n"
    "      double slow = 0;\n      int th;\n"
    "      for (th = 0; th < %s_THREADS; th++)\n"
    "        if (%s_profile_thread_ms[th * %s_NUM_KERNELS + k] > slow)\n"
    "          slow = %s_profile_thread_ms[th * %s_NUM_KERNELS + k];\n"
    "      fprintf(f, \"%%.6f %%lld %%.6f %%s\\n\", %s_profile_ms[k] / runs, %s_profile_macs[k],\n"
    "              slow / runs, %s_profile_name[k]);\n    }\n"
    "    for (k = 0; f && k < %s_THREADS; k++)\n"
    "      fprintf(f, \"wait %%d %%.6f\\n\", k, %s_profile_wait_ms[k] / runs);\n"
    "    if (f) fclose(f);\n  }\n"
    "#endif\n"
    "  for (k = 0; k < %s_NUM_OUTPUTS; k++) {\n"
    "    FILE *f;\n    sprintf(path, \"%%s/out%%d.bin\", argv[1], k);\n"
    "    f = fopen(path, \"wb\");\n"
    "    if (!f || fwrite(out[k], es_out[k], %s_output_size[k], f) != %s_output_size[k]) return 4;\n"
    "    fclose(f);\n  }\n  return 0;\n}\n";

/* Bytes of one element of graph input or output v at the generated API: 4
 * (float32, or an integer as a float), or with --io quantized its own
 * dtype's (1 for uint8 and int8; int32 is 4 either way). */
static size_t io_elem_bytes(const Graph *g, int v) {
  return g->io_quantized ? dtype_size(g->values[v].dtype) : 4;
}

/* n float values of integers (cd_run_generated's convention) as elements
 * of integer dtype t (uint8, int8, int32; malloc'd). */
static void *io_to_bytes(DType t, const float *x, size_t n) {
  unsigned char *b = malloc(n * dtype_size(t) + 4);
  CD_ASSERT(b && (t == DT_UINT8 || t == DT_INT8 || t == DT_INT32));
  for (size_t i = 0; i < n; i++) {
    int32_t v = (int32_t)x[i];
    if (t == DT_INT32)
      memcpy(b + 4 * i, &v, 4);
    else
      b[i] = (unsigned char)v;
  }
  return b;
}

/* In place: n elements of integer dtype t at the start of y, as n floats
 * (int64, wider than a float, from the first; the narrower from the last). */
static void io_from_bytes(DType t, float *y, size_t n) {
  CD_ASSERT(t == DT_UINT8 || t == DT_INT8 || t == DT_INT32 || t == DT_INT64);
  const unsigned char *b = (const unsigned char *)y;
  if (t == DT_INT64) {
    for (size_t i = 0; i < n; i++) {
      int64_t v;
      memcpy(&v, b + 8 * i, 8);
      y[i] = (float)v;
    }
    return;
  }
  for (size_t i = n; i-- > 0;) {
    int32_t v;
    if (t == DT_INT32)
      memcpy(&v, b + 4 * i, 4);
    else
      v = t == DT_UINT8 ? b[i] : (int8_t)b[i];
    y[i] = (float)v;
  }
}

/*
 * What every build of the tests compiles the same, made once in
 * j->pch_dir (CompileJob.pch_dir) for this compiler and flags:
 *  - the generated code's system headers (emit_includes) precompiled:
 *    pch-KEY.h and its .gch.  GCC and clang take FILE.h.gch for `-include
 *    FILE.h` when the same compiler made it with the same flags, and parse
 *    FILE.h otherwise; the object code is the same either way (a 10 KB
 *    model: 0.7 s of gcc's time -> 0.15 s, the rest was immintrin.h);
 *  - the runtime's objects: rt-KEY.o for each source.
 * KEY hashes the compiler, flags and text; each file is made under a name
 * of this process's and renamed into place, so processes sharing the
 * folder never see half a file.
 */
static bool shared_name(const CompileJob *j, const char *flags, const char *text,
                        const char *text2, const char *fmt, char out[4096]) {
  const char *cc = j->cc ? j->cc : "cc";
  Sha256 s;
  unsigned char dg[32];
  char hex[65];
  sha256_init(&s);
  const char *parts[] = {CD_VERSION, cc, flags, text, text2};
  for (int i = 0; i < 5; i++)
    sha256_update(&s, parts[i], strlen(parts[i]) + 1);
  sha256_final(&s, dg);
  sha256_hex(dg, hex);
  return snprintf(out, 4096, fmt, j->pch_dir, hex) < 4096 &&
         (mkdir(j->pch_dir, 0700) == 0 || errno == EEXIST);
}

/* Runs j's compiler: cc FLAGS ARGS... (NULL-terminated, at most 10). */
static bool run_cc(const CompileJob *j, const char *flags, char *const args[], bool quiet,
                   Diag *d) {
  char fl[1024], *argv[56];
  snprintf(fl, sizeof fl, "%s", flags);
  int a = 0;
  argv[a++] = (char *)(j->cc ? j->cc : "cc");
  a += split_flags(fl, argv + a, 44);
  for (int i = 0; args[i] && i < 10; i++)
    argv[a++] = args[i];
  argv[a] = NULL;
  return run_argv(argv, quiet, d);
}

/* Runs cc FLAGS ARGS... -o TMP and renames TMP to dst (made by another
 * process meanwhile: the same bytes). */
static bool shared_make(const CompileJob *j, const char *flags, char *const args[],
                        const char *dst) {
  char tmp[4200], *all[12];
  snprintf(tmp, sizeof tmp, "%.4096s.%ld.tmp", dst, (long)getpid());
  unlink(tmp);
  int a = 0;
  for (; args[a] && a < 8; a++)
    all[a] = args[a];
  all[a++] = "-o";
  all[a++] = tmp;
  all[a] = NULL;
  Diag q = {.quiet = true};
  bool ok = run_cc(j, flags, all, true, &q) && rename(tmp, dst) == 0;
  if (!ok)
    unlink(tmp);
  sb_free(&q.log);
  return ok;
}

/* The precompiled header for target t: the path of its FILE.h in out;
 * false if it cannot be made or would not help. */
static bool pch_header(const CompileJob *j, const Target *t, const char *flags,
                       char out[4096]) {
  if (!t->include[0])
    return false; /* math.h and the like alone: quicker to parse than a .gch to load */
  StrBuf text = {0};
  emit_includes(&text, t);
  bool named = shared_name(j, flags, text.buf, "", "%s/pch-%.16s.h", out);
  char gch[4200], tmp[4200];
  snprintf(gch, sizeof gch, "%.4096s.gch", out);
  snprintf(tmp, sizeof tmp, "%.4096s.%ld", out, (long)getpid());
  struct stat st;
  bool ok = named && stat(gch, &st) == 0;
  if (!ok && named) {
    Diag q = {.quiet = true};
    unlink(tmp);
    char *args[] = {"-x", "c-header", out, NULL};
    ok = write_text(tmp, text.buf, &q) && rename(tmp, out) == 0 &&
         shared_make(j, flags, args, gch);
    unlink(tmp);
    sb_free(&q.log);
  }
  sb_free(&text);
  return ok;
}

/* The runtime source src (dir/cardinal_rt.c, the text of it in text)
 * compiled: its object's path in out, false if it cannot be made. */
static bool rt_object(const CompileJob *j, const char *flags, const char *src,
                      const char *text, char out[4096]) {
  if (!shared_name(j, flags, text, cd_runtime_header, "%s/rt-%.16s.o", out))
    return false;
  struct stat st;
  char *args[] = {"-c", (char *)src, NULL};
  return stat(out, &st) == 0 || shared_make(j, flags, args, out);
}

/* Runs the generated program (argv) once, its stdout to tpath, and reads
 * the times it prints there into j->ms_median, ms_min, ms_max. */
static bool run_timed(CompileJob *j, char **argv, const char *tpath, Diag *d) {
  int status = 0;
  int rc = cd_spawn_wait(argv, tpath, NULL, &status);
  if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    diag_error(d, "the generated program failed (%s %d)",
               rc ? "spawn error" : WIFEXITED(status) ? "exit status" : "signal",
               rc ? rc : WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return false;
  }
  FILE *f = fopen(tpath, "r");
  double med = 0, mn = 0, mx = 0;
  if (f && fscanf(f, "%lf %lf %lf", &med, &mn, &mx) == 3) {
    j->ms_median = med;
    j->ms_min = mn;
    j->ms_max = mx;
  }
  if (f)
    fclose(f);
  return true;
}

bool cd_run_generated(CompileJob *j, Graph *g, const float *const *inputs,
                      float **outputs, Diag *d) {
  const char *tmpdir = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/cardinal-run-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  char *dir = mkdtemp(tmpl);
  if (!dir) {
    diag_error(d, "cannot create a temporary folder: %s", strerror(errno));
    return false;
  }
  const char *name = j->name;
  bool incbin = false;
  bool ok = compile_into(j, g, dir, true, true, &incbin, d);
  char NAME[80];
  snprintf(NAME, sizeof NAME, "%s", name);
  for (char *c = NAME; *c; c++)
    if (*c >= 'a' && *c <= 'z')
      *c = (char)(*c - 'a' + 'A');
  char path[4096];
  if (ok) {
    char blob[512] = "";
    if (j->weights_blob)
      snprintf(blob, sizeof blob,
               "  { void *wb; size_t wn; sprintf(path, \"%%s/%s.weights\", argv[1]);\n"
               "    if (cd_load_file(path, &wb, &wn) || %s_set_weights(wb, wn)) return 5; }\n",
               name, name);
    StrBuf h = {0}, decl = {0};
    const char *T = g->io_quantized ? "void" : "float";
    sb_printf(&decl, "static const %s *in[%s_NUM_INPUTS + 1];\nstatic %s *out[%s_NUM_OUTPUTS + 1];\n"
                     "static const size_t es_in[] = {", T, NAME, T, NAME);
    for (int k = 0; k < g->ninputs; k++)
      sb_printf(&decl, "%zu, ", io_elem_bytes(g, g->inputs[k]));
    sb_printf(&decl, "0};\nstatic const size_t es_out[] = {");
    for (int k = 0; k < g->noutputs; k++)
      sb_printf(&decl, "%zu, ", io_elem_bytes(g, g->outputs[k]));
    sb_printf(&decl, "0};\n");
    sb_printf(&h, harness_text, name, decl.buf, NAME, NAME, blob, NAME, name, name, name,
              NAME, name, name, name, name, NAME, name, NAME, NAME, name, NAME, name, NAME, name,
              name, name, NAME, name, NAME, name, name);
    snprintf(path, sizeof path, "%s/" HARNESS_C, dir);
    ok = write_text(path, h.buf, d);
    sb_free(&h);
    sb_free(&decl);
  }
  for (int k = 0; ok && k < g->ninputs; k++) {
    snprintf(path, sizeof path, "%s/in%d.bin", dir, k);
    FILE *f = fopen(path, "wb");
    size_t n = (size_t)value_numel(&g->values[g->inputs[k]]);
    size_t es = io_elem_bytes(g, g->inputs[k]);
    DType t = g->values[g->inputs[k]].dtype;
    void *bytes = g->io_quantized && t != DT_FLOAT ? io_to_bytes(t, inputs[k], n) : NULL;
    ok = f && fwrite(bytes ? bytes : inputs[k], es, n, f) == n;
    free(bytes);
    if (f)
      fclose(f);
  }
  char exe[4096];
  snprintf(exe, sizeof exe, "%s/run", dir);
  char flags[1024];
  snprintf(flags, sizeof flags, "%s%s", j->cflags ? j->cflags : "-O3",
           j->profile ? " -DCARDINAL_PROFILE" : "");
  /* The build cache (cache.c): the key is everything the C compiler reads
   * and how it is run; the blob weights and the inputs are read at run
   * time from dir, so they are not part of it. */
  CacheKey key;
  bool keyed = false;
  j->cache_hit = false;
  if (ok && j->cache_dir) {
    const char *files[] = {HARNESS_C, "%s.c", "%s.h", "cardinal_rt.c", "cardinal_rt.h",
                           "cardinal_rt_threads.c", incbin ? "%s_weights.S" : "%s_weights.c"};
    cache_key_init(&key, "cardinal run " CD_VERSION);
    keyed = true;
    for (int i = 0; i < 7; i++) {
      if ((i == 5 && g->threads <= 1) || (i == 6 && j->weights_blob))
        continue;
      char f[256];
      snprintf(f, sizeof f, files[i], name);
      snprintf(path, sizeof path, "%s/%s", dir, f);
      keyed = cache_key_file(&key, path) && keyed;
    }
    const char *how[] = {j->cc ? j->cc : "cc", flags, j->runner ? j->runner : ""};
    for (int i = 0; i < 3; i++)
      cache_key_add(&key, how[i], strlen(how[i]));
    /* A hit is copied into dir, checked as it is copied, and the copy runs. */
    j->cache_hit = keyed && cache_get(j->cache_dir, &key, "run", exe);
  }
  if (ok && !j->cache_hit) {
    char *argv[64], srcs[5][4200], inc[4200], pch[4096];
    const char *cc = j->cc ? j->cc : "cc";
    snprintf(srcs[1], sizeof srcs[1], "%s/%s.c", dir, name);
    /* With j->pch_dir, NAME.c is compiled alone with the precompiled
     * header (the harness defines its feature macros before its first
     * system header), and the runtime's objects come from there. */
    if (j->pch_dir && pch_header(j, g->target, flags, pch)) {
      char src[4200];
      snprintf(src, sizeof src, "%s", srcs[1]);
      snprintf(srcs[1], sizeof srcs[1], "%s/%s.o", dir, name); /* linked below */
      char *args[] = {"-include", pch, "-c", src, "-o", srcs[1], NULL};
      ok = run_cc(j, flags, args, false, d);
    }
    snprintf(srcs[0], sizeof srcs[0], "%s/" HARNESS_C, dir);
    snprintf(srcs[2], sizeof srcs[2], "%s/cardinal_rt.c", dir);
    snprintf(srcs[3], sizeof srcs[3], "%s/cardinal_rt_threads.c", dir);
    const char *rt_text[2] = {cd_runtime_source, cd_runtime_threads_source};
    for (int i = 2; j->pch_dir && i < 4; i++) {
      char o[4096];
      if ((i == 2 || g->threads > 1) && rt_object(j, flags, srcs[i], rt_text[i - 2], o))
        snprintf(srcs[i], sizeof srcs[i], "%s", o);
    }
    int a = 0;
    argv[a++] = (char *)cc;
    a += split_flags(flags, argv + a, 40);
    snprintf(srcs[4], sizeof srcs[4], "%s/%s_weights.%s", dir, name, incbin ? "S" : "c");
    snprintf(inc, sizeof inc, "-I%s", dir); /* where NAME_weights.S finds its .bin */
    argv[a++] = inc;
    for (int i = 0; i < 5; i++)
      if ((i != 3 || g->threads > 1) && (i != 4 || !j->weights_blob))
        argv[a++] = srcs[i];
    argv[a++] = "-o";
    argv[a++] = exe;
    argv[a++] = "-lm";
    if (g->threads > 1)
      argv[a++] = "-lpthread";
    if (j->runner)
      argv[a++] = "-static"; /* an emulator runs it without the target's libraries */
    argv[a] = NULL;
    ok = ok && run_argv(argv, false, d);
    if (ok && keyed) {
      const char *src[] = {exe}, *as[] = {"run"};
      cache_put(j->cache_dir, &key, src, as, 1);
    }
  }
  if (ok) {
    char runs[16];
    snprintf(runs, sizeof runs, "%d", j->runs > 0 ? j->runs : 1);
    char *direct[] = {exe, dir, runs, NULL};
    char *wrapped[] = {(char *)j->runner, exe, dir, runs, NULL};
    char tpath[4096];
    snprintf(tpath, sizeof tpath, "%s/time.txt", dir);
    for (int r = 0; ok && r < (j->rounds > 1 ? j->rounds : 1); r++) {
      ok = run_timed(j, j->runner ? wrapped : direct, tpath, d);
      if (ok && j->after_round)
        j->after_round(j->round_ctx, r, j->ms_median);
    }
  }
  for (int k = 0; ok && k < g->noutputs; k++) {
    snprintf(path, sizeof path, "%s/out%d.bin", dir, k);
    size_t n = (size_t)value_numel(&g->values[g->outputs[k]]);
    size_t es = io_elem_bytes(g, g->outputs[k]);
    outputs[k] = malloc(n * (es > 4 ? es : 4) + 4); /* an int64 output's bytes, then its floats */
    CD_ASSERT(outputs[k]);
    FILE *f = fopen(path, "rb");
    ok = f && fread(outputs[k], es, n, f) == n;
    if (ok && g->io_quantized && g->values[g->outputs[k]].dtype != DT_FLOAT)
      io_from_bytes(g->values[g->outputs[k]].dtype, outputs[k], n); /* its own type: as floats */
    if (f)
      fclose(f);
    if (!ok)
      diag_error(d, "cannot read the generated program's output %d", k);
  }
  if (ok && j->profile) {
    snprintf(path, sizeof path, "%s/profile.txt", dir);
    uint8_t *text;
    size_t n;
    if (cd_read_file(path, &text, &n)) {
      j->profile_text = realloc(text, n + 1);
      CD_ASSERT(j->profile_text);
      j->profile_text[n] = 0;
    }
  }
  if (!getenv("CARDINAL_KEEP_TMP"))
    cd_rm_rf(dir);
  else
    fprintf(stderr, "cardinal: kept %s\n", dir);
  return ok;
}
