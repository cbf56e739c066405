/*
 * emit.c — the C emitter: NAME.h, NAME.c and the weights.
 *
 * NAME.c is straight-line: one static kernel function per node, then
 * NAME_run, which calls them in order with pointers fixed by the memory
 * plan.  Which kernel a node gets is the schedule's decision (n->sched,
 * schedule.c): the op's portable scalar kernel (compiler/ops/), or a SIMD
 * micro-kernel the target describes; every shape in it is a constant, and
 * its name says op, dtype, target, tile and node.  Pointers are:
 *
 *   inputs[k]            a graph input
 *   outputs[k]           a graph output
 *   (float *)(ws + off)  an intermediate in the caller's workspace
 *   W(off)               a constant in the weight blob
 *
 * Kernel parameters are the node's float inputs x<i> (i = the ONNX input
 * position; int64 inputs such as shapes were consumed at compile time), its
 * epilogue's residual r and residual scale rs, and its outputs y<j>.
 *
 * Weights: embedded (default) as one string literal in NAME_weights.c —
 * compilers lex a string far faster than a {0x3f800000, ...} initializer
 * list, so a 100 MB model builds in seconds — or written to NAME.weights,
 * a 64-byte header (magic, model hash, size) followed by the blob, which the
 * caller hands to NAME_set_weights.  Every constant sits at a 64-byte
 * aligned offset of the blob, in its layout (packed weights in the order
 * their kernel reads them), and the blob itself is 64-byte aligned.  Names
 * from the model reach the output only as escaped string literals or
 * comments, never as identifiers.
 */
#include "../compiler/cardinal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Generated code is work the model asks for: past Limits.code_bytes,
 * emit() writes nothing more and codegen_write reports it. */
void emit(Emitter *e, const char *fmt, ...) {
  if (e->over)
    return;
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(e->out, fmt, ap);
  va_end(ap);
  e->over = (int64_t)e->out->len > e->g->limits.code_bytes;
}

bool emit_room(Emitter *e, int64_t bytes) {
  if (sat_add((int64_t)e->out->len, bytes) > e->g->limits.code_bytes)
    e->over = true;
  return !e->over;
}

const char *c_float(Emitter *e, double f) {
  float x = (float)f;
  if (isnan(x))
    return "NAN";
  if (isinf(x))
    return x > 0 ? "HUGE_VALF" : "(-HUGE_VALF)";
  char buf[64];
  snprintf(buf, sizeof buf, "%.9g", (double)x);
  if (!strpbrk(buf, ".en"))
    strcat(buf, ".0");
  strcat(buf, "f");
  return arena_printf(&e->g->arena, x < 0 ? "(%s)" : "%s", buf);
}

/* Text safe inside a C comment: printable ASCII without '*' (so neither
 * comment delimiter can form), '\\' or '?' (no line splice, no trigraph). */
static void put_comment_text(StrBuf *sb, const char *s) {
  for (int i = 0; s[i] && i < 200; i++) {
    char c = s[i];
    if (c < 32 || c > 126 || c == '*' || c == '\\' || c == '?')
      c = '_';
    sb_putn(sb, &c, 1);
  }
}

/* A C string literal: escapes quotes, backslashes, '?' (trigraphs) and
 * anything not printable. */
static void put_c_string(StrBuf *sb, const char *s) {
  sb_putn(sb, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\' || *p == '?')
      sb_printf(sb, "\\%c", *p);
    else if (*p < 32 || *p > 126)
      sb_printf(sb, "\\%03o", *p);
    else
      sb_putn(sb, (const char *)p, 1);
  }
  sb_putn(sb, "\"", 1);
}

static void put_dims(StrBuf *sb, const Value *v) {
  sb_printf(sb, "[");
  for (int i = 0; i < v->rank; i++)
    sb_printf(sb, "%s%lld", i ? "," : "", (long long)v->dims[i]);
  sb_printf(sb, "]");
}

static const char *loc_expr(Graph *g, Plan *p, int v) {
  Loc l = p->loc[v];
  switch (l.kind) {
  case LOC_INPUT: return arena_printf(&g->arena, "inputs[%lld]", (long long)l.index);
  case LOC_OUTPUT: return arena_printf(&g->arena, "outputs[%lld]", (long long)l.index);
  case LOC_WS: return arena_printf(&g->arena, "(float *)(ws + %lld)", (long long)l.index);
  case LOC_WEIGHT: return arena_printf(&g->arena, "W(%lld)", (long long)l.index);
  default: return NULL;
  }
}

static bool write_file(const char *path, const void *data, size_t n, Diag *d) {
  FILE *f = cd_create_file(path); /* never through a link, never over a file */
  if (!f || fwrite(data, 1, n, f) != n) {
    diag_error(d, "cannot write %s: %s", path, strerror(errno));
    if (f)
      fclose(f);
    return false;
  }
  if (fclose(f) != 0) {
    diag_error(d, "cannot write %s: %s", path, strerror(errno));
    return false;
  }
  return true;
}

static void fill_weights(Graph *g, Plan *p, unsigned char *blob) {
  for (int v = 0; v < g->nvalues; v++)
    if (p->loc[v].kind == LOC_WEIGHT && p->alias_of[v] == v)
      memcpy(blob + p->loc[v].index, g->values[v].data,
             value_storage_bytes(&g->values[v]));
}

/* The declaration of the embedded blob, shared by NAME.c and
 * NAME_weights.c: 64-byte aligned, so every constant in it is too. */
static void weights_decl(StrBuf *sb, const char *name, int64_t size) {
  sb_printf(sb, "#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n"
                "#define CD_WEIGHTS_ALIGN _Alignas(64)\n"
                "#elif defined(__GNUC__)\n"
                "#define CD_WEIGHTS_ALIGN __attribute__((aligned(64)))\n"
                "#else\n"
                "#define CD_WEIGHTS_ALIGN /* the compiler's own alignment */\n"
                "#endif\n"
                "extern CD_WEIGHTS_ALIGN const unsigned char %s_weights[%lld];\n",
            name, (long long)size + 1);
}

/* The weights as a string literal, 64 bytes a line. */
static bool write_weights_c(const char *path, const char *name,
                            const unsigned char *blob, int64_t size,
                            const char *banner, Diag *d) {
  StrBuf decl = {0}; /* before the file is open: nothing allocates while it is */
  weights_decl(&decl, name, size);
  FILE *f = cd_create_file(path);
  if (!f) {
    diag_error(d, "cannot write %s: %s", path, strerror(errno));
    sb_free(&decl);
    return false;
  }
  fprintf(f, "%s", banner);
  fprintf(f, "/* The weight blob of %s: %lld bytes, little-endian float32. */\n"
             "#if defined(__GNUC__)\n"
             "/* One long string literal compiles much faster than an "
             "initializer list. */\n"
             "#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n"
             "#endif\n%s"
             "CD_WEIGHTS_ALIGN const unsigned char %s_weights[%lld] =\n",
          name, (long long)size, decl.buf, name, (long long)size + 1);
  sb_free(&decl);
  static char esc[256][5];
  for (int c = 0; c < 256; c++) {
    /* Escapes are always 3 octal digits, so a digit after one is safe. */
    bool plain = c >= 32 && c < 127 && c != '"' && c != '\\' && c != '?';
    if (plain)
      snprintf(esc[c], sizeof esc[c], "%c", c);
    else
      snprintf(esc[c], sizeof esc[c], "\\%03o", c);
  }
  if (size == 0)
    fputs("\"\"", f);
  for (int64_t i = 0; i < size; i += 64) {
    fputc('"', f);
    for (int64_t j = i; j < i + 64 && j < size; j++)
      fputs(esc[blob[j]], f);
    fputs("\"\n", f);
  }
  fputs(";\n", f);
  bool ok = !ferror(f);
  if (fclose(f) != 0 || !ok) {
    diag_error(d, "cannot write %s", path);
    return false;
  }
  return true;
}

static void banner(StrBuf *sb, Graph *g, const CodegenOptions *o) {
  sb_printf(sb, "/* Generated by cardinal %s -- do not edit.\n"
                " * model:  ", CD_VERSION);
  put_comment_text(sb, g->source ? g->source : "?");
  sb_printf(sb, "\n * target: %s\n * passes: ", o->target->name);
  put_comment_text(sb, o->passes ? o->passes : "default");
  sb_printf(sb, "\n */\n");
}

/* Nodes that get a kernel (not aliases): the rows of the profile. */
static int count_kernels(Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += g->nodes[i].sched.family != KF_ALIAS;
  return k;
}

static bool write_header(Graph *g, Plan *p, const CodegenOptions *o,
                         const char *dir, const char *NAME, Diag *d) {
  const char *name = o->name;
  StrBuf h = {0};
  banner(&h, g, o);
  sb_printf(&h, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n"
                "#include \"cardinal_rt.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
            NAME, NAME);
  sb_printf(&h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", NAME,
            g->ninputs, NAME, g->noutputs);
  sb_printf(&h, "#define %s_WORKSPACE_SIZE %lld /* bytes, caller provides, "
                "64-byte aligned */\n", NAME, (long long)p->ws_size);
  sb_printf(&h, "#define %s_WEIGHTS_SIZE %lld /* bytes of constants */\n", NAME,
            (long long)p->weight_size);
  sb_printf(&h, "#define %s_MODEL_HASH \"%016llx\" /* FNV-1a of the model file */\n",
            NAME, (unsigned long long)g->hash);
  sb_printf(&h, "#define %s_WEIGHTS_EMBEDDED %d\n", NAME, o->weights_blob ? 0 : 1);
  sb_printf(&h, "#define %s_TARGET \"%s\" /* the instruction set the kernels use */\n"
                "#define %s_CPU_FEATURES %uu /* CD_CPU_* bits %s_run checks (cd_cpu_has) */\n\n",
            NAME, o->target->name, NAME, o->target->cpu_features, name);
  for (int io = 0; io < 2; io++) {
    int cnt = io ? g->noutputs : g->ninputs;
    const int *vs = io ? g->outputs : g->inputs;
    for (int k = 0; k < cnt; k++) {
      const Value *v = &g->values[vs[k]];
      sb_printf(&h, "/* %s %d: ", io ? "output" : "input", k);
      put_comment_text(&h, v->name);
      sb_printf(&h, " float32");
      put_dims(&h, v);
      sb_printf(&h, " */\n#define %s_%s%d_RANK %d\n#define %s_%s%d_SHAPE {", NAME,
                io ? "OUTPUT" : "INPUT", k, v->rank, NAME, io ? "OUTPUT" : "INPUT", k);
      for (int i = 0; i < v->rank; i++)
        sb_printf(&h, "%s%lld", i ? ", " : "", (long long)v->dims[i]);
      sb_printf(&h, "}\n");
    }
  }
  /* A model without inputs still declares one-element arrays: ISO C has no
   * zero-size arrays. */
  const char *nin = arena_printf(&g->arena, g->ninputs ? "%s_NUM_INPUTS" : "1", NAME);
  sb_printf(&h, "\n/* Elements (float32) of each input and output, in model order. */\n"
                "extern const size_t %s_input_size[%s];\n"
                "extern const size_t %s_output_size[%s_NUM_OUTPUTS];\n"
                "extern const char *const %s_input_name[%s];\n"
                "extern const char *const %s_output_name[%s_NUM_OUTPUTS];\n\n",
            name, nin, name, NAME, name, nin, name, NAME);
  sb_printf(&h, "/* Runs the model.  workspace: %s_WORKSPACE_SIZE bytes, 64-byte aligned,\n"
                " * reused freely between calls.  Returns CD_OK (0) or a CD_ERR_* code. */\n"
                "int %s_run(const float *const inputs[], float *const outputs[], void *workspace);\n",
            NAME, name);
  sb_printf(&h, "\n#ifdef CARDINAL_PROFILE\n"
                "/* With -DCARDINAL_PROFILE (all of the model's sources): milliseconds spent\n"
                " * in each kernel, summed over runs, with its name and multiply-adds. */\n"
                "#define %s_NUM_KERNELS %d\n"
                "extern double %s_profile_ms[];\n"
                "extern const char *const %s_profile_name[];\n"
                "extern const long long %s_profile_macs[];\n"
                "/* The FMA peak of one core for this target, GFLOP/s, measured now: what\n"
                " * the profile reports each kernel's speed against. */\n"
                "double %s_profile_peak(void);\n"
                "#endif\n",
            NAME, count_kernels(g), name, name, name, name);
  if (o->weights_blob)
    sb_printf(&h, "\n/* Weights live in %s.weights: pass its bytes (64-byte aligned, e.g.\n"
                  " * from cd_load_file) before the first run.  Checks the header and size;\n"
                  " * the blob must outlive every later run. */\n"
                  "int %s_set_weights(const void *blob, size_t size);\n",
              name, name);
  sb_printf(&h, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
  char *path = arena_printf(&g->arena, "%s/%s.h", dir, name);
  bool ok = write_file(path, h.buf, h.len, d);
  sb_free(&h);
  return ok;
}

/* Calls f(e, "x0", v) for each value a kernel takes, in parameter order:
 * float op inputs x<i>, residual r, residual scale rs, outputs y<j>. */
typedef void (*ParamFn)(StrBuf *sb, const char *pname, int v, bool out, void *ctx);

static void kernel_params(Graph *g, Node *n, StrBuf *sb, ParamFn f, void *ctx) {
  char pname[16];
  for (int i = 0; i < n->nin; i++) {
    int v = n->in[i];
    if (v < 0 || g->values[v].dtype != DT_FLOAT)
      continue;
    snprintf(pname, sizeof pname, "x%d", i);
    f(sb, pname, v, false, ctx);
  }
  if (n->ep.residual >= 0)
    f(sb, "r", n->ep.residual, false, ctx);
  if (n->ep.residual_scale >= 0)
    f(sb, "rs", n->ep.residual_scale, false, ctx);
  for (int j = 0; j < n->nout; j++) {
    int v = n->out[j];
    if (v < 0 || g->values[v].dtype != DT_FLOAT)
      continue;
    snprintf(pname, sizeof pname, "y%d", j);
    f(sb, pname, v, true, ctx);
  }
}

static void param_decl(StrBuf *sb, const char *pname, int v, bool out, void *ctx) {
  int *count = ctx;
  (void)v;
  sb_printf(sb, "%s%sfloat *restrict %s", (*count)++ ? ", " : "", out ? "" : "const ", pname);
}

typedef struct {
  Graph *g;
  Plan *p;
  int count;
} ArgCtx;

static void param_arg(StrBuf *sb, const char *pname, int v, bool out, void *ctx) {
  ArgCtx *a = ctx;
  (void)pname;
  CD_ASSERT(!out || a->p->loc[v].kind == LOC_WS || a->p->loc[v].kind == LOC_OUTPUT);
  sb_printf(sb, "%s%s", a->count++ ? ", " : "", loc_expr(a->g, a->p, v));
}

static void kernel_signature(StrBuf *sb, Graph *g, Node *n, const Target *t) {
  sb_printf(sb, "static %s%svoid %s(", t->isa_attr, t->isa_attr[0] ? " " : "", n->sched.kernel);
  int count = 0;
  kernel_params(g, n, sb, param_decl, &count);
  if (!count)
    sb_printf(sb, "void");
  sb_printf(sb, ")");
}

static void kernel_comment(StrBuf *sb, Graph *g, Node *n) {
  sb_printf(sb, "\n/* %s: ", n->sched.kernel);
  put_comment_text(sb, n->op_type);
  sb_printf(sb, " '");
  put_comment_text(sb, n->name);
  sb_printf(sb, "'");
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] >= 0) {
      sb_printf(sb, " x%d", i);
      put_dims(sb, &g->values[n->in[i]]);
    }
  sb_printf(sb, " ->");
  for (int j = 0; j < n->nout; j++)
    if (n->out[j] >= 0) {
      sb_printf(sb, " y%d", j);
      put_dims(sb, &g->values[n->out[j]]);
    }
  for (int j = 0; j < node_nreads(n) + n->nout; j++) {
    int v = j < node_nreads(n) ? node_read(n, j) : n->out[j - node_nreads(n)];
    char buf[32];
    if (v >= 0 && g->values[v].layout.kind != LAYOUT_PLAIN)
      sb_printf(sb, " %s", layout_name(g->values[v].layout, buf, sizeof buf));
  }
  if (node_has_epilogue(n))
    sb_printf(sb, "\n *   epilogue:%s%s%s", n->ep.residual >= 0 ? " + r" : "",
              n->ep.residual_scale >= 0 ? " * rs" : "",
              n->ep.act != OP_COUNT ? ", then " : "");
  if (n->ep.act != OP_COUNT)
    put_comment_text(sb, op_table[n->ep.act].name);
  const OpParams *p = &n->p;
  if (n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) {
    sb_printf(sb, "\n *   kernel %lldx%lldx%lld stride %lld,%lld,%lld pads %lld,%lld,%lld/%lld,%lld,%lld",
              (long long)p->kernel[0], (long long)p->kernel[1], (long long)p->kernel[2],
              (long long)p->stride[0], (long long)p->stride[1], (long long)p->stride[2],
              (long long)p->pad0[0], (long long)p->pad0[1], (long long)p->pad0[2],
              (long long)p->pad1[0], (long long)p->pad1[1], (long long)p->pad1[2]);
    if (n->op == OP_CONV)
      sb_printf(sb, " dilation %lld,%lld,%lld group %lld", (long long)p->dilation[0],
                (long long)p->dilation[1], (long long)p->dilation[2], (long long)p->group);
  }
  sb_printf(sb, " */\n");
}

static bool check_io(Graph *g, Diag *d) {
  for (int k = 0; k < g->ninputs; k++)
    if (g->values[g->inputs[k]].dtype != DT_FLOAT)
      diag_error(d, "graph input '%s' is %s: only float32 inputs reach generated "
                 "code (freeze it with --freeze %s=FILE)", g->values[g->inputs[k]].name,
                 dtype_name(g->values[g->inputs[k]].dtype), g->values[g->inputs[k]].name);
  for (int k = 0; k < g->noutputs; k++)
    if (g->values[g->outputs[k]].dtype != DT_FLOAT)
      diag_error(d, "graph output '%s' is %s: only float32 outputs are supported",
                 g->values[g->outputs[k]].name, dtype_name(g->values[g->outputs[k]].dtype));
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (op_table[n->op].flags & OPF_SHAPE)
      diag_error(d, "node '%s' (%s) computes a shape at run time: dynamic "
                 "shapes are not supported (freeze the inputs it depends on)",
                 node_label(n), n->op_type);
  }
  return d->nerrors == 0;
}

/*
 * NAME_profile_peak, in profiling builds: the target's FMA throughput on one
 * core, from a loop of independent FMAs on registers (every vector register
 * but 4 as an accumulator, more than latency x issue width on the cores we
 * know; 64
 * floats for scalar, which the compiler vectorises as it does the scalar
 * kernels), best of 5.  Measured by the same compiler and flags as the
 * kernels, on the machine that runs them.
 */
static void emit_peak(Emitter *e, const char *name) {
  const Target *t = e->t;
  int na = t->vec > 1 ? t->nregs - 4 : 64; /* vector registers but b, c and a spare */
  emit(e, "#ifdef CARDINAL_PROFILE\n"
          "static %s%sdouble cd_fma_loop(long iters) {\n"
          "  volatile float sink;\n  long i;\n  double t0;\n",
       t->isa_attr, t->isa_attr[0] ? " " : "");
  if (t->vec > 1) {
    emit(e, "  const %s b = %s, c = %s;\n  float lanes[%d];\n", t->vtype,
         vop(e, t->set1, "0.999999f", 0, 0), vop(e, t->set1, "1e-6f", 0, 0), t->vec);
    for (int k = 0; k < na; k++)
      emit(e, "  %s a%d = %s;\n", t->vtype, k,
           vop(e, t->set1, arena_printf(&e->g->arena, "%d.0f", k), 0, 0));
    emit(e, "  t0 = cd_now_ms();\n  for (i = 0; i < iters; i++) {\n");
    for (int k = 0; k < na; k++) {
      const char *a = arena_printf(&e->g->arena, "a%d", k);
      emit(e, "    %s = %s;\n", a, vop(e, t->fma, a, "b", "c"));
    }
    emit(e, "  }\n  t0 = cd_now_ms() - t0;\n");
    for (int k = 1; k < na; k++)
      emit(e, "  a0 = %s;\n", vop(e, t->add, "a0", arena_printf(&e->g->arena, "a%d", k), 0));
    emit(e, "  %s;\n  sink = lanes[0];\n", vop(e, t->store, "lanes", "a0", 0));
  } else {
    /* Plain float code, vectorised by the compiler as the scalar kernels are. */
    emit(e, "  float a[%d];\n  long k;\n"
            "  for (k = 0; k < %d; k++)\n    a[k] = (float)k;\n"
            "  t0 = cd_now_ms();\n"
            "  for (i = 0; i < iters; i++)\n    for (k = 0; k < %d; k++)\n"
            "      a[k] = a[k] * 0.999999f + 1e-6f;\n"
            "  t0 = cd_now_ms() - t0;\n"
            "  for (k = 1; k < %d; k++)\n    a[0] += a[k];\n  sink = a[0];\n",
         na, na, na, na);
  }
  emit(e, "  (void)sink;\n"
          "  return t0 > 0 ? 2.0 * %d * %d * (double)iters / (t0 * 1e6) : 0.0;\n}\n\n"
          "double %s_profile_peak(void) {\n"
          "  double best = 0;\n  int r;\n"
          "  for (r = 0; r < 5; r++) {\n"
          "    const double g = cd_fma_loop(%d);\n"
          "    best = g > best ? g : best;\n  }\n  return best;\n}\n#endif\n\n",
       t->vec > 1 ? t->vec : 1, na, name, 64000000 / na);
}

/* The kernel body of node n: the target's micro-kernel for its family, or
 * the op's scalar kernel. */
static bool emit_kernel(Emitter *e, Graph *g, Node *n) {
  if (n->sched.family == KF_SCALAR)
    return op_table[n->op].emit(e, g, n);
  return simd_emit(e, g, n);
}

bool codegen_write(Graph *g, Plan *p, const CodegenOptions *o,
                   const char *dir, Diag *d) {
  if (!check_io(g, d))
    return false;
  const char *name = o->name;
  char *NAME = arena_strdup(&g->arena, name);
  for (char *c = NAME; *c; c++)
    if (*c >= 'a' && *c <= 'z')
      *c = (char)(*c - 'a' + 'A');

  StrBuf c = {0}, body = {0};
  banner(&c, g, o);
  sb_printf(&c, "#include \"%s.h\"\n\n#include <math.h>\n#include <stdint.h>\n"
                "#include <string.h>\n%s\n", name, o->target->include);
  if (o->target->vec > 1)
    sb_printf(&c, "/* Zeros the compiler cannot see through: kernels offset pointers by them\n"
                  " * to keep it from merging loads it should not keep live (simd_conv.c). */\n"
                  "static volatile long cd_zero[16];\n\n");
  if (o->weights_blob) {
    sb_printf(&c, "/* Set by %s_set_weights: the blob after its 64-byte header. */\n"
                  "static const unsigned char *cd_w;\n"
                  "#define W(off) ((const float *)(cd_w + (off)))\n\n", name);
  } else {
    weights_decl(&c, name, p->weight_size);
    sb_printf(&c, "/* W(off): the float constant at byte offset off of the blob. */\n"
                  "#define W(off) ((const float *)(%s_weights + (off)))\n\n", name);
  }
  for (int io = 0; io < 2; io++) {
    int cnt = io ? g->noutputs : g->ninputs;
    const int *vs = io ? g->outputs : g->inputs;
    const char *len = cnt ? arena_printf(&g->arena, "%s_NUM_%s", NAME, io ? "OUTPUTS" : "INPUTS")
                          : "1";
    sb_printf(&c, "const size_t %s_%s_size[%s] = {", name, io ? "output" : "input", len);
    for (int k = 0; k < cnt; k++)
      sb_printf(&c, "%s%lld", k ? ", " : "", (long long)value_numel(&g->values[vs[k]]));
    sb_printf(&c, "%s};\nconst char *const %s_%s_name[%s] = {", cnt ? "" : "0", name,
              io ? "output" : "input", len);
    for (int k = 0; k < cnt; k++) {
      if (k)
        sb_printf(&c, ", ");
      put_c_string(&c, g->values[vs[k]].name);
    }
    sb_printf(&c, "%s};\n", cnt ? "" : "0");
  }

  Emitter e = {.out = &c, .g = g, .d = d, .t = o->target};
  StrBuf prof_names = {0}, prof_macs = {0};
  int nk = 0; /* kernels emitted */
  sb_printf(&body, "int %s_run(const float *const inputs[], float *const outputs[], void *workspace) {\n"
                   "  unsigned char *ws = (unsigned char *)workspace;\n", name);
  sb_printf(&body, "  if (!inputs || !outputs || (!ws && %s_WORKSPACE_SIZE > 0))\n"
                   "    return CD_ERR_NULL;\n"
                   "  if ((size_t)((uintptr_t)ws %% 64) != 0)\n    return CD_ERR_ALIGN;\n", NAME);
  if (o->weights_blob)
    sb_printf(&body, "  if (!cd_w)\n    return CD_ERR_WEIGHTS;\n");
  if (o->target->cpu_features)
    sb_printf(&body, "  if (!cd_cpu_has(%s_CPU_FEATURES))\n    return CD_ERR_CPU;\n", NAME);
  sb_printf(&body, "  (void)ws;\n");
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->sched.family == KF_ALIAS) {
      sb_printf(&body, "  /* node %d %s: an alias, no work */\n", i, n->op_type);
      continue;
    }
    kernel_comment(&c, g, n);
    kernel_signature(&c, g, n, o->target);
    sb_printf(&c, " {\n");
    bool ok = emit_kernel(&e, g, n);
    if (e.over || (int64_t)(c.len + body.len) > g->limits.code_bytes) {
      diag_error(d, "node '%s' (%s): the generated code would exceed %lld bytes", node_label(n),
                 n->op_type, (long long)g->limits.code_bytes);
      break;
    }
    if (!ok) {
      if (d->nerrors == 0)
        diag_error(d, "node '%s' (%s): no kernel", node_label(n), n->op_type);
      break;
    }
    sb_printf(&c, "}\n");
    sb_printf(&body, "  CD_PROF(%d, %s(", nk, n->sched.kernel);
    ArgCtx ac = {g, p, 0};
    kernel_params(g, n, &body, param_arg, &ac);
    sb_printf(&body, "));\n");
    /* The profile's row for this kernel: its name and work. */
    sb_printf(&prof_names, "%s\n  ", nk ? "," : "");
    StrBuf label = {0};
    sb_printf(&label, "%s %s '%s'", n->sched.kernel, n->op_type, n->name);
    put_c_string(&prof_names, label.buf);
    sb_free(&label);
    sb_printf(&prof_macs, "%s%lld", nk ? ", " : "", (long long)node_macs(g, n));
    nk++;
  }
  /* Outputs not written in place: graph inputs, constants, repeats. */
  for (int k = 0; k < g->noutputs; k++) {
    int v = g->outputs[k];
    Loc l = p->loc[v];
    if (l.kind == LOC_OUTPUT && l.index == k)
      continue;
    CD_ASSERT(g->values[v].layout.kind == LAYOUT_PLAIN); /* the layout pass reorders outputs */
    sb_printf(&body, "  memcpy(outputs[%d], %s, %lld);\n", k, loc_expr(g, p, v),
              (long long)value_bytes(&g->values[v]));
  }
  sb_printf(&body, "  return CD_OK;\n}\n");
  if (d->nerrors) {
    sb_free(&c);
    sb_free(&body);
    sb_free(&prof_names);
    sb_free(&prof_macs);
    return false;
  }
  sb_printf(&c, "\n#ifdef CARDINAL_PROFILE\n"
                "/* Built with -DCARDINAL_PROFILE: the time of every kernel call adds up in\n"
                " * %s_profile_ms (see %s.h). */\n"
                "double %s_profile_ms[%d];\n"
                "const char *const %s_profile_name[%d] = {%s};\n"
                "const long long %s_profile_macs[%d] = {%s};\n"
                "#define CD_PROF(i, call) \\\n"
                "  do { \\\n"
                "    const double t0_ = cd_now_ms(); \\\n"
                "    call; \\\n"
                "    %s_profile_ms[i] += cd_now_ms() - t0_; \\\n"
                "  } while (0)\n"
                "#else\n"
                "#define CD_PROF(i, call) call\n"
                "#endif\n\n",
            name, name, name, nk ? nk : 1, name, nk ? nk : 1,
            nk ? prof_names.buf : "\"\"", name, nk ? nk : 1, nk ? prof_macs.buf : "0", name);
  sb_free(&prof_names);
  sb_free(&prof_macs);
  emit_peak(&e, name);
  sb_putn(&c, body.buf, body.len);
  sb_free(&body);

  size_t wsize = (size_t)p->weight_size;
  unsigned char *blob = calloc(wsize + 64 + 1, 1);
  if (!blob) {
    diag_error(d, "out of memory for the %zu-byte weight blob", wsize);
    sb_free(&c);
    return false;
  }
  fill_weights(g, p, blob + 64);
  if (o->weights_blob) {
    sb_printf(&c, "\nint %s_set_weights(const void *blob, size_t size) {\n"
                  "  const unsigned char *b = (const unsigned char *)blob;\n"
                  "  if (!b)\n    return CD_ERR_NULL;\n"
                  "  if ((size_t)((uintptr_t)b %% 64) != 0)\n    return CD_ERR_ALIGN;\n"
                  "  if (size != 64 + (size_t)%s_WEIGHTS_SIZE || memcmp(b, \"CARDINALW1\", 10) != 0 ||\n"
                  "      memcmp(b + 16, %s_MODEL_HASH, 16) != 0)\n    return CD_ERR_WEIGHTS;\n"
                  "  cd_w = b + 64;\n  return CD_OK;\n}\n",
              name, NAME, NAME);
  }
  bool ok = write_header(g, p, o, dir, NAME, d);
  char *cpath = arena_printf(&g->arena, "%s/%s.c", dir, name);
  ok = ok && write_file(cpath, c.buf, c.len, d);
  sb_free(&c);
  if (ok && o->weights_blob) {
    memcpy(blob, "CARDINALW1", 10);
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)g->hash);
    memcpy(blob + 16, hash, 16);
    char *wpath = arena_printf(&g->arena, "%s/%s.weights", dir, name);
    ok = write_file(wpath, blob, wsize + 64, d);
  } else if (ok) {
    StrBuf b = {0};
    banner(&b, g, o);
    char *wpath = arena_printf(&g->arena, "%s/%s_weights.c", dir, name);
    ok = write_weights_c(wpath, name, blob + 64, (int64_t)wsize, b.buf, d);
    sb_free(&b);
  }
  free(blob);
  return ok;
}

const char *epilogue_stmt(Emitter *e, Node *n, const char *y, const char *idx,
                          const char *chan) {
  Arena *ar = &e->g->arena;
  const Epilogue *ep = &n->ep;
  if (!node_has_epilogue(n))
    return "";
  const char *v = y;
  if (ep->residual >= 0) {
    if (ep->residual_scale >= 0)
      v = arena_printf(ar, "(%s + r[%s] * rs[%s])", y, idx, chan);
    else
      v = arena_printf(ar, "(%s + r[%s])", y, idx);
  }
  if (ep->act == OP_COUNT)
    return arena_printf(ar, "%s = %s;", y, v);
  return arena_printf(ar, "{ const float ev = %s; %s = %s; }", v, y,
                      unary_expr(e, ep->act, ep->act_alpha, ep->act_beta, "ev"));
}
