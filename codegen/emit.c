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
 *   inputs[k]            a graph input (float32)
 *   outputs[k]           a graph output (float32)
 *   (an integer graph input or output -- uint8, int8, int32, and int64
 *    outputs -- is a float array of its values to the caller: converted into the workspace before
 *    the first kernel, and out of it after the last)
 *   ((const T *)inputs[k]), ((T *)outputs[k])   the same with --io quantized
 *                        (g->io_quantized): the arrays are of void pointers,
 *                        each to its tensor's own dtype T, integers included
 *   (T *)(ws + off)      an intermediate in the caller's workspace, T its dtype's C type
 *   W(off)               a float32 constant in the weight blob; (const T *)W(off) another
 *
 * Kernel parameters are the node's inputs read at run time x<i> (i = the
 * ONNX input position; parameter inputs such as Reshape's shape were
 * consumed at compile time: node_runtime_read), its epilogue's residual r
 * and residual scale rs, and its outputs y<j>, each declared by its dtype.
 *
 * Weights: embedded (default) as one string literal in NAME_weights.c —
 * compilers lex a string far faster than a {0x3f800000, ...} initializer
 * list, but still at some 10 MB/s: VGG-11's 531 MB took a minute — or as
 * the raw bytes in NAME_weights.bin, which NAME_weights.S includes with
 * the assembler's .incbin (o->weights_incbin: a second; the same bytes,
 * alignment, size and section as the C array, its NUL included), or
 * written to NAME.weights,
 * a 64-byte header followed by the blob, which the caller hands to
 * NAME_set_weights (header bytes 0-9 "CARDINALW1", 16-31 the model hash and
 * 32-47 the hash of the blob's bytes, cd_hash64 in hex, which it checks;
 * the rest zero).  Every
 * constant sits at a 64-byte aligned offset of the blob, in its layout
 * (packed weights in the order their kernel reads them), and the blob
 * itself is 64-byte aligned.  Names
 * from the model reach the output only as escaped string literals or
 * comments, never as identifiers.
 */
#include "../compiler/cardinal.h"
#include "cardinal_rt.h" /* cd_hash64: the blob's hash, which NAME_set_weights checks */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Text safe inside a C comment: printable ASCII without '*' (so neither
 * comment delimiter can form), '\\' or '?' (no line splice, no trigraph),
 * '$' (no ${var} of the C writer) or a brace (the writer's count). */
static void put_comment_text(StrBuf *sb, const char *s) {
  for (int i = 0; s[i] && i < 200; i++) {
    char c = s[i];
    if (c < 32 || c > 126 || c == '*' || c == '\\' || c == '?' || c == '$' || c == '{' ||
        c == '}')
      c = '_';
    sb_putn(sb, &c, 1);
  }
}

/* A C string literal: escapes quotes, backslashes, '?' (trigraphs), '$'
 * (no ${var} of the C writer) and anything not printable. */
static void put_c_string(StrBuf *sb, const char *s) {
  sb_putn(sb, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\' || *p == '?')
      sb_printf(sb, "\\%c", *p);
    else if (*p < 32 || *p > 126 || *p == '$')
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
  case LOC_INPUT:
    if (g->io_quantized) /* const void *const inputs[]: each in its own type */
      return arena_printf(&g->arena, "((const %s *)inputs[%lld])",
                          dtype_ctype(g->values[v].dtype), (long long)l.index);
    return arena_printf(&g->arena, "inputs[%lld]", (long long)l.index);
  case LOC_OUTPUT:
    if (g->io_quantized)
      return arena_printf(&g->arena, "((%s *)outputs[%lld])", dtype_ctype(g->values[v].dtype),
                          (long long)l.index);
    return arena_printf(&g->arena, "outputs[%lld]", (long long)l.index);
  case LOC_WS:
    return arena_printf(&g->arena, "(%s *)(ws + %lld)", dtype_ctype(g->values[v].dtype),
                        (long long)l.index);
  case LOC_WEIGHT:
    if (g->values[v].dtype == DT_FLOAT)
      return arena_printf(&g->arena, "W(%lld)", (long long)l.index);
    return arena_printf(&g->arena, "(const %s *)W(%lld)", dtype_ctype(g->values[v].dtype),
                        (long long)l.index);
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

/* CD_WEIGHTS_ALIGN: 64-byte alignment for the weight blob and the static
 * workspace, in whatever spelling the compiler has. */
static void align_macro(StrBuf *sb) {
  sb_printf(sb, "#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n"
                "#define CD_WEIGHTS_ALIGN _Alignas(64)\n"
                "#elif defined(__GNUC__)\n"
                "#define CD_WEIGHTS_ALIGN __attribute__((aligned(64)))\n"
                "#else\n"
                "#define CD_WEIGHTS_ALIGN /* the compiler's own alignment */\n"
                "#endif\n");
}

/* The declaration of the embedded blob, shared by NAME.c and
 * NAME_weights.c: 64-byte aligned, so every constant in it is too. */
static void weights_decl(StrBuf *sb, const char *name, int64_t size) {
  align_macro(sb);
  sb_printf(sb, "extern CD_WEIGHTS_ALIGN const unsigned char %s_weights[%lld];\n",
            name, (long long)size + 1);
}

/*
 * --weights section (and --static-workspace with it): the definition goes
 * in a named linker section, so a linker script can map it to flash or
 * external RAM.  The names start with .rodata. and .bss., so a default
 * linker script still places them (with the read-only data, and with the
 * zeroed data: the workspace takes no room in the file), and a firmware
 * script maps them by name before its generic rules.  MACRO, defined when
 * the file is compiled, picks another name.
 */
static void section_macro(StrBuf *sb, const char *NAME, const char *what, const char *dflt) {
  sb_printf(sb, "#ifndef %s_%s_SECTION /* -D%s_%s_SECTION='\"name\"' to choose */\n"
                "#define %s_%s_SECTION \"%s\"\n#endif\n"
                "#if defined(__GNUC__) || defined(__clang__)\n"
                "#define CD_%s_IN_SECTION __attribute__((section(%s_%s_SECTION)))\n"
                "#else\n"
                "#error \"--weights section needs __attribute__((section)); compile with gcc or clang, \" \\\n"
                "       \"or rebuild with --weights embed\"\n"
                "#endif\n",
            NAME, what, NAME, what, NAME, what, dflt, what, NAME, what);
}

/* The weights as a string literal, 64 bytes a line. */
static bool write_weights_c(const char *path, const char *name, const char *NAME,
                            bool section, const unsigned char *blob, int64_t size,
                            const char *banner, Diag *d) {
  StrBuf decl = {0}; /* before the file is open: nothing allocates while it is */
  weights_decl(&decl, name, size);
  if (section)
    section_macro(&decl, NAME, "WEIGHTS", ".rodata.cardinal_weights");
  FILE *f = cd_create_file(path);
  if (!f) {
    diag_error(d, "cannot write %s: %s", path, strerror(errno));
    sb_free(&decl);
    return false;
  }
  fprintf(f, "%s", banner);
  fprintf(f, "/* The weight blob of %s: %lld bytes, each constant little-endian in its dtype. */\n"
             "#if defined(__GNUC__)\n"
             "/* One long string literal compiles much faster than an "
             "initializer list. */\n"
             "#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n"
             "#endif\n%s"
             "CD_WEIGHTS_ALIGN %sconst unsigned char %s_weights[%lld] =\n",
          name, (long long)size, decl.buf, section ? "CD_WEIGHTS_IN_SECTION " : "", name,
          (long long)size + 1);
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

/*
 * The weights for the assembler: NAME_weights.bin (the bytes) and
 * NAME_weights.S, which defines NAME_weights as the C array does -- global,
 * 64-byte aligned, SIZE + 1 bytes (the string literal's NUL), in .rodata or
 * the --weights section one -- by including the .bin (.incbin).  The .S is
 * preprocessed (NAME_WEIGHTS_SECTION can be defined as for the C form) and
 * written for ELF in the syntax GNU as and clang's integrated assembler
 * share on x86-64 and AArch64 alike ('%' types, no '@', which is ARM's
 * comment).  An assembler finds the .bin through -I DIR, which gcc and
 * clang hand it; an assembled .S is an object even under -flto (a .c with
 * top-level asm is not: gcc's LTO symbol table misses the symbol, clang's
 * LTO link assembles it without -I).  The hash in the .S comment makes it
 * differ when the .bin does, for ccache and make.
 */
static bool write_weights_asm(const char *spath, const char *bpath, const char *name,
                              const char *NAME, bool section,
                              const unsigned char *blob, int64_t size, uint64_t whash,
                              const char *banner, Diag *d) {
  StrBuf s = {0};
  sb_printf(&s, "%s", banner);
  sb_printf(&s, "/* The weight blob of %s: %lld bytes, each constant little-endian in its dtype\n"
                " * (hash %016llx), in %s_weights.bin beside this file, which the assembler\n"
                " * includes: assemble this file with -I and this folder, as cardinal build\n"
                " * and cardinal_add_model do (gcc and clang pass -I to the assembler).  GNU\n"
                " * assembler syntax, ELF; for any other toolchain, compile again with\n"
                " * --embed-as c for %s_weights.c, a C array of the same bytes. */\n"
                "#if !defined(__ELF__)\n"
                "#error \"%s_weights.S is for ELF targets (gcc or clang): compile the model again "
                "with --embed-as c for a C array any C compiler takes\"\n"
                "#endif\n",
            name, (long long)size, (unsigned long long)whash, name, name, name);
  if (section)
    sb_printf(&s, "#ifndef %s_WEIGHTS_SECTION /* -D%s_WEIGHTS_SECTION='\"name\"' to choose */\n"
                  "#define %s_WEIGHTS_SECTION \".rodata.cardinal_weights\"\n#endif\n"
                  "\t.section %s_WEIGHTS_SECTION,\"a\"\n",
              NAME, NAME, NAME, NAME);
  else
    sb_printf(&s, "\t.section .rodata,\"a\"\n");
  sb_printf(&s, "\t.balign 64\n"
                "\t.globl %s_weights\n"
                "\t.type %s_weights, %%object\n"
                "\t.size %s_weights, %lld\n"
                "%s_weights:\n"
                "\t.incbin \"%s_weights.bin\"\n"
                "\t.byte 0 /* the C array's NUL */\n"
                "\t.section .note.GNU-stack,\"\",%%progbits /* no executable stack */\n",
            name, name, name, (long long)size + 1, name, name);
  bool ok = write_file(bpath, blob, (size_t)size, d) && write_file(spath, s.buf, s.len, d);
  sb_free(&s);
  return ok;
}

static void banner(StrBuf *sb, Graph *g, const CodegenOptions *o) {
  sb_printf(sb, "/* Generated by cardinal %s -- do not edit.\n"
                " * model:  ", CD_VERSION);
  put_comment_text(sb, g->source ? g->source : "?");
  sb_printf(sb, "\n * target: %s\n * passes: ", o->target->name);
  put_comment_text(sb, o->passes ? o->passes : "default");
  sb_printf(sb, "\n */\n");
}

const char *io_layout_name(const Value *v) {
  if (v->layout.kind != LAYOUT_PLAIN) /* the layout pass keeps graph inputs and outputs plain */
    return "blocked";
  return v->rank == 4 ? "NCHW" : "row-major";
}

static const char *weights_mode(const CodegenOptions *o) {
  return o->weights_blob ? "blob" : o->weights_section ? "section" : "embed";
}

/* The kernel attribute of n's family: its vector table's (an int8 family
 * needs more of the ISA than the target's fp32 kernels), else the target's. */
static const char *kernel_attr(const Node *n, const Target *t) {
  const VecOps *v = n->sched.family && (n->sched.family->flags & KC_VECTOR)
                        ? target_vec(t, n->sched.family->y) : NULL;
  return v && v->attr ? v->attr : t->isa_attr;
}

/* The CPU features g's kernels need: the target's, and those of the vector
 * tables its families use. */
static unsigned model_cpu_features(const Graph *g, const Target *t) {
  unsigned f = t->cpu_features;
  for (int i = 0; i < g->nnodes; i++) {
    const KernelConfig *k = g->nodes[i].sched.family;
    const VecOps *v = k && (k->flags & KC_VECTOR) ? target_vec(t, k->y) : NULL;
    if (v && !g->nodes[i].dead)
      f |= v->cpu;
  }
  return f;
}

/* The pointee type of the API's input and output arrays: float, or void
 * with --io quantized (each pointer to its tensor's own dtype). */
static const char *io_ptr(const Graph *g) { return g->io_quantized ? "void" : "float"; }

/* --io quantized: input or output k's type, and its scale and zero point
 * if it is quantized (qp->n 1): what the caller converts with. */
static void io_quant_macros(StrBuf *h, const char *NAME, const char *io_, int k,
                            const Value *v, const QuantParams *qp) {
  sb_printf(h, "#define %s_%s%d_DTYPE \"%s\"\n#define %s_%s%d_TYPE %s /* the C type of its "
               "elements */\n", NAME, io_, k, dtype_name(v->dtype), NAME, io_, k,
            dtype_ctype(v->dtype));
  if (qp->n != 1)
    return;
  char lit[64]; /* %.9g: the float the model holds, exactly; a C float literal */
  snprintf(lit, sizeof lit, "%.9g", (double)qp->scale[0]);
  if (!strpbrk(lit, ".e"))
    strcat(lit, ".0");
  sb_printf(h, "#define %s_%s%d_QUANTIZED 1 /* value = SCALE * (q - ZERO_POINT) */\n"
               "#define %s_%s%d_SCALE %sf\n#define %s_%s%d_ZERO_POINT %d\n", NAME, io_, k,
            NAME, io_, k, lit, NAME, io_, k, (int)qp->zero[0]);
}

/* What the header describes, for people: the same facts as its macros. */
static void header_summary(StrBuf *h, Graph *g, Plan *p, const CodegenOptions *o) {
  const char *name = o->name;
  char NAME[80];
  snprintf(NAME, sizeof NAME, "%s", name);
  for (char *c = NAME; *c; c++)
    if (*c >= 'a' && *c <= 'z')
      *c = (char)(*c - 'a' + 'A');
  sb_printf(h, "/*\n * %s, as compiled (the %s_* macros below say the same to code):\n"
               " *   model file  FNV-1a %016llx\n", name, NAME, (unsigned long long)g->hash);
  sb_printf(h, " *   kernels     %s%s, %d thread%s\n", o->target->name,
            model_cpu_features(g, o->target) ? " (the CPU is checked at run time)" : "",
            g->threads > 1 ? g->threads : 1, g->threads > 1 ? "s" : "");
  sb_printf(h, " *   weights     %lld bytes, ", (long long)p->weight_size);
  if (o->weights_blob)
    sb_printf(h, "in %s.weights, loaded at run time (%s_set_weights)", name, name);
  else if (o->weights_section)
    sb_printf(h, "in %s_weights.%s, linker section %s_WEIGHTS_SECTION", name,
              o->weights_incbin ? "S (and .bin)" : "c", NAME);
  else
    sb_printf(h, "embedded in %s_weights.%s", name, o->weights_incbin ? "S (and .bin)" : "c");
  sb_printf(h, "\n *   workspace   %lld bytes, 64-byte aligned, %s", (long long)p->ws_size,
            o->static_workspace ? arena_printf(&g->arena, "%s_workspace, used when %s_run gets NULL",
                                               name, name)
                                : "the caller's: one per concurrent call");
  for (int io = 0; io < 2; io++) {
    int cnt = io ? g->noutputs : g->ninputs;
    const int *vs = io ? g->outputs : g->inputs;
    for (int k = 0; k < cnt; k++) {
      const Value *v = &g->values[vs[k]];
      sb_printf(h, "\n *   %-6s %-4d '", io ? "output" : "input", k);
      put_comment_text(h, v->name);
      sb_printf(h, "' %s", dtype_name(v->dtype));
      put_dims(h, v);
      sb_printf(h, " %s, %lld elements", io_layout_name(v), (long long)value_numel(v));
      int64_t lo, hi;
      const QuantParams *qp = g->io_quantized ? io ? &g->output_q[k] : &g->input_q[k] : NULL;
      if (io ? graph_out_as_float(g, vs[k], &lo, &hi) : graph_io_as_float(g, vs[k], &lo, &hi))
        sb_printf(h, "\n *               passed as float values: integers in %lld..%lld%s",
                  (long long)lo, (long long)hi,
                  io ? "" : " (any other value: CD_ERR_INPUT)");
      else if (qp && qp->n == 1)
        sb_printf(h, "\n *               passed quantized (--io quantized): %s q, the %s\n"
                     " *               %.9g * (q - %d)", dtype_ctype(v->dtype),
                  io ? "model's float output being" : "model's float input being",
                  (double)qp->scale[0], (int)qp->zero[0]);
      else if (g->io_quantized)
        sb_printf(h, "\n *               passed as %s, as it is (--io quantized: no %s here)",
                  dtype_ctype(v->dtype), io ? "DequantizeLinear writes it" : "QuantizeLinear reads it");
      int n = 0;
      for (int s = 0; s < g->nsymdims; s++)
        if (g->symdims[s].value == vs[k]) {
          sb_printf(h, "%s", n++ ? ", " : "\n *               symbolic in the model: ");
          put_comment_text(h, *g->symdims[s].param ? g->symdims[s].param : "?");
          sb_printf(h, " = %lld (%s)", (long long)v->dims[g->symdims[s].dim],
                    g->symdims[s].by_shape ? "--shape" : "the batch, 1");
        }
    }
  }
  sb_printf(h, "\n */\n");
}

/* Nodes that get a kernel (not aliases): the rows of the profile. */
static int count_kernels(Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !(g->nodes[i].sched.family->flags & KC_ALIAS);
  return k;
}

static bool write_header(Graph *g, Plan *p, const CodegenOptions *o,
                         const char *dir, const char *NAME, uint64_t whash, Diag *d) {
  const char *name = o->name;
  StrBuf h = {0};
  banner(&h, g, o);
  header_summary(&h, g, p, o);
  sb_printf(&h, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n%s"
                "#include \"cardinal_rt.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
            NAME, NAME, g->io_quantized ? "#include <stdint.h> /* the _TYPE macros */\n" : "");
  sb_printf(&h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", NAME,
            g->ninputs, NAME, g->noutputs);
  sb_printf(&h, "#define %s_WORKSPACE_SIZE %lld /* bytes, caller provides, "
                "64-byte aligned */\n", NAME, (long long)p->ws_size);
  sb_printf(&h, "#define %s_WEIGHTS_SIZE %lld /* bytes of constants */\n", NAME,
            (long long)p->weight_size);
  sb_printf(&h, "#define %s_MODEL_HASH \"%016llx\" /* FNV-1a of the model file */\n",
            NAME, (unsigned long long)g->hash);
  sb_printf(&h, "#define %s_WEIGHTS_HASH \"%016llx\" /* of the weight bytes, in their layout */\n",
            NAME, (unsigned long long)whash);
  sb_printf(&h, "#define %s_WEIGHTS_EMBEDDED %d /* linked in (embed, section), else a blob */\n"
                "#define %s_WEIGHTS_MODE \"%s\"\n", NAME, o->weights_blob ? 0 : 1, NAME,
            weights_mode(o));
  sb_printf(&h, "#define %s_STATIC_WORKSPACE %d /* %s_workspace exists */\n", NAME,
            o->static_workspace ? 1 : 0, name);
  sb_printf(&h, "#define %s_CARDINAL_VERSION \"%s\" /* the compiler that wrote this */\n"
                "#define %s_PASSES ", NAME, CD_VERSION, NAME);
  put_c_string(&h, o->passes ? o->passes : "default");
  sb_printf(&h, "\n");
  sb_printf(&h, "#define %s_THREADS %d /* threads each layer is split over (static schedule) */\n",
            NAME, g->threads > 1 ? g->threads : 1);
  sb_printf(&h, "#define %s_TARGET \"%s\" /* the instruction set the kernels use */\n"
                "#define %s_CPU_FEATURES %uu /* CD_CPU_* bits %s_run checks (cd_cpu_has) */\n\n",
            NAME, o->target->name, NAME, model_cpu_features(g, o->target), name);
  for (int io = 0; io < 2; io++) {
    int cnt = io ? g->noutputs : g->ninputs;
    const int *vs = io ? g->outputs : g->inputs;
    for (int k = 0; k < cnt; k++) {
      const Value *v = &g->values[vs[k]];
      sb_printf(&h, "/* %s %d: ", io ? "output" : "input", k);
      put_comment_text(&h, v->name);
      sb_printf(&h, " %s", dtype_name(v->dtype));
      put_dims(&h, v);
      int64_t lo, hi;
      if (io ? graph_out_as_float(g, vs[k], &lo, &hi) : graph_io_as_float(g, vs[k], &lo, &hi))
        sb_printf(&h, ", as float values %lld..%lld", (long long)lo, (long long)hi);
      const char *io_ = io ? "OUTPUT" : "INPUT";
      sb_printf(&h, " */\n#define %s_%s%d_RANK %d\n#define %s_%s%d_SHAPE {", NAME, io_, k,
                v->rank, NAME, io_, k);
      for (int i = 0; i < v->rank; i++)
        sb_printf(&h, "%s%lld", i ? ", " : "", (long long)v->dims[i]);
      sb_printf(&h, "}\n#define %s_%s%d_SIZE %lld /* elements */\n#define %s_%s%d_NAME ", NAME,
                io_, k, (long long)value_numel(v), NAME, io_, k);
      put_c_string(&h, v->name);
      sb_printf(&h, "\n#define %s_%s%d_LAYOUT \"%s\"\n", NAME, io_, k, io_layout_name(v));
      if (g->io_quantized)
        io_quant_macros(&h, NAME, io_, k, v, io ? &g->output_q[k] : &g->input_q[k]);
    }
  }
  /* A model without inputs still declares one-element arrays: ISO C has no
   * zero-size arrays. */
  const char *nin = arena_printf(&g->arena, g->ninputs ? "%s_NUM_INPUTS" : "1", NAME);
  if (g->io_quantized)
    sb_printf(&h, "\n/* Elements of each input and output, in model order, each of its own\n"
                  " * type (%s_INPUTk_TYPE, %s_OUTPUTk_TYPE: --io quantized). */\n", NAME, NAME);
  else
    sb_printf(&h, "\n/* Elements (float32) of each input and output, in model order (an integer\n"
                  " * one, uint8, int8 or int32, is passed as floats holding its values). */\n");
  sb_printf(&h, "extern const size_t %s_input_size[%s];\n"
                "extern const size_t %s_output_size[%s_NUM_OUTPUTS];\n"
                "extern const char *const %s_input_name[%s];\n"
                "extern const char *const %s_output_name[%s_NUM_OUTPUTS];\n\n",
            name, nin, name, NAME, name, nin, name, NAME);
  if (g->io_quantized)
    sb_printf(&h, "/* Runs the model.  Built with --io quantized: inputs[k] points to\n"
                  " * %s_input_size[k] elements of type %s_INPUTk_TYPE, outputs[k] to\n"
                  " * %s_output_size[k] of %s_OUTPUTk_TYPE (uint8_t, int8_t, float ...); a\n"
                  " * quantized one holds q for the model's value %s_..._SCALE * (q -\n"
                  " * %s_..._ZERO_POINT).  workspace: %s_WORKSPACE_SIZE bytes, 64-byte\n"
                  " * aligned, reused freely between calls.  Returns CD_OK (0) or a CD_ERR_*\n"
                  " * code. */\n"
                  "int %s_run(const void *const inputs[], void *const outputs[], void *workspace);\n",
              name, NAME, name, NAME, NAME, NAME, NAME, name);
  else
    sb_printf(&h, "/* Runs the model.  workspace: %s_WORKSPACE_SIZE bytes, 64-byte aligned,\n"
                  " * reused freely between calls.  Returns CD_OK (0) or a CD_ERR_* code\n"
                  " * (CD_ERR_INPUT: an integer input holds a value its type does not). */\n"
                  "int %s_run(const float *const inputs[], float *const outputs[], void *workspace);\n",
              NAME, name);
  if (g->threads > 1)
    sb_printf(&h, "\n/* Threads (built with --threads %d): %s_run splits every layer over the\n"
                  " * caller's thread and %d workers of a static pool, started by the first run or\n"
                  " * by %s_init_threads (CD_OK, or CD_ERR_THREADS) and joined by %s_shutdown.\n"
                  " * Calls from several threads at once are safe with one workspace each; a\n"
                  " * call that finds the pool busy runs every share on its own thread (the\n"
                  " * same results, bit for bit). */\n"
                  "int %s_init_threads(void);\nvoid %s_shutdown(void);\n"
                  "/* To drive the threads yourself: call %s_run_part(t, %s_THREADS, ...) once on\n"
                  " * each of %s_THREADS threads (t = 0 .. %s_THREADS - 1) with the same arguments\n"
                  " * and one workspace; each call runs its share of every layer and calls\n"
                  " * barrier(ctx) between dependent layers, and barrier must return only when\n"
                  " * all %s_THREADS threads have called it (the same number of times).  The\n"
                  " * outputs are complete when every call has returned. */\n"
                  "int %s_run_part(int t, int nthreads, const %s *const inputs[],\n"
                  "                %s *const outputs[], void *workspace,\n"
                  "                void (*barrier)(void *ctx), void *ctx);\n",
              g->threads, name, g->threads - 1, name, name, name, name, name, NAME, NAME, NAME,
              NAME, name, io_ptr(g), io_ptr(g));
  sb_printf(&h, "\n#ifdef CARDINAL_PROFILE\n"
                "/* With -DCARDINAL_PROFILE (all of the model's sources): milliseconds spent\n"
                " * in each kernel, summed over runs, with its name and multiply-adds. */\n"
                "#define %s_NUM_KERNELS %d\n"
                "extern double %s_profile_ms[];\n"
                "/* With threads, %s_profile_ms is thread 0's share of each kernel;\n"
                " * [t * %s_NUM_KERNELS + k] here is thread t's of kernel k, and\n"
                " * %s_profile_wait_ms[t] the time thread t waited at barriers. */\n"
                "extern double %s_profile_thread_ms[];\n"
                "extern double %s_profile_wait_ms[];\n"
                "extern const char *const %s_profile_name[];\n"
                "extern const long long %s_profile_macs[];\n"
                "/* The FMA peak of one core for this target, GFLOP/s, measured now: what\n"
                " * the profile reports each kernel's speed against. */\n"
                "double %s_profile_peak(void);\n"
                "/* The 8-bit dot-product peak of one core (vpdpbusd on AVX-512 VNNI; the\n"
                " * target's int8 dot where it has one, else 0), GOP/s: the integer convs'\n"
                " * yardstick. */\n"
                "double %s_profile_peak_int8(void);\n"
                "#endif\n",
            NAME, count_kernels(g), name, name, NAME, name, name, name, name, name, name, name);
  if (o->static_workspace)
    sb_printf(&h, "\n/* --static-workspace: %s_WORKSPACE_SIZE bytes of static storage, 64-byte\n"
                  " * aligned%s, that %s_run uses when its workspace\n"
                  " * argument is NULL.  One call at a time: concurrent calls need workspaces\n"
                  " * of their own. */\n"
                  "extern unsigned char %s_workspace[%s_WORKSPACE_SIZE > 0 ? %s_WORKSPACE_SIZE : 1];\n",
              NAME, o->weights_section ? arena_printf(&g->arena, " (linker section %s_WORKSPACE_SECTION,\n"
                                                     " * default \".bss.cardinal_workspace\")", NAME) : "",
              name, name, NAME, NAME);
  if (o->weights_section)
    sb_printf(&h, "\n/* --weights section: %s_weights (%s_weights.%s) is in linker section\n"
                  " * %s_WEIGHTS_SECTION, default \".rodata.cardinal_weights\" (define it when\n"
                  " * compiling %s_weights.%s to choose another). */\n",
              name, name, o->weights_incbin ? "S" : "c", NAME, name,
              o->weights_incbin ? "S" : "c");
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

/* Calls f(sb, "x0", v, ...) for each value a kernel takes, in parameter
 * order: its op inputs read at run time x<i> (i = the ONNX input position;
 * parameter inputs such as Reshape's shape were consumed at compile time,
 * node_runtime_read), residual r, residual scale rs, outputs y<j>. */
typedef void (*ParamFn)(StrBuf *sb, Graph *g, const char *pname, int v, bool out, void *ctx);

static void kernel_params(Graph *g, Node *n, StrBuf *sb, ParamFn f, void *ctx) {
  char pname[16];
  for (int i = 0; i < n->nin; i++) {
    if (!node_runtime_read(n, i))
      continue;
    snprintf(pname, sizeof pname, "x%d", i);
    f(sb, g, pname, n->in[i], false, ctx);
  }
  if (n->ep.residual >= 0)
    f(sb, g, "r", n->ep.residual, false, ctx);
  if (n->ep.residual_scale >= 0)
    f(sb, g, "rs", n->ep.residual_scale, false, ctx);
  for (int j = 0; j < n->nout; j++) {
    int v = n->out[j];
    if (v < 0)
      continue;
    snprintf(pname, sizeof pname, "y%d", j);
    f(sb, g, pname, v, true, ctx);
  }
}

/* A parameter declared by its value's dtype: const float *restrict x0. */
static void param_decl(StrBuf *sb, Graph *g, const char *pname, int v, bool out, void *ctx) {
  int *count = ctx;
  sb_printf(sb, "%s%s%s *restrict %s", (*count)++ ? ", " : "", out ? "" : "const ",
            dtype_ctype(g->values[v].dtype), pname);
}

typedef struct {
  Graph *g;
  Plan *p;
  int count;
} ArgCtx;

static void param_arg(StrBuf *sb, Graph *g, const char *pname, int v, bool out, void *ctx) {
  ArgCtx *a = ctx;
  (void)g;
  (void)pname;
  CD_ASSERT(!out || a->p->loc[v].kind == LOC_WS || a->p->loc[v].kind == LOC_OUTPUT);
  sb_printf(sb, "%s%s", a->count++ ? ", " : "", loc_expr(a->g, a->p, v));
}

/* A parameter by its name, to pass it on: x0. */
static void param_name(StrBuf *sb, Graph *g, const char *pname, int v, bool out, void *ctx) {
  int *count = ctx;
  (void)g;
  (void)v;
  (void)out;
  sb_printf(sb, "%s%s", (*count)++ ? ", " : "", pname);
}

/* A kernel's data parameters, declared (decl) or passed on by name: its
 * values (kernel_params), then its scratch when its family has some.
 * Returns how many. */
static int data_params(StrBuf *sb, Graph *g, Node *n, bool decl) {
  int count = 0;
  kernel_params(g, n, sb, decl ? param_decl : param_name, &count);
  if (n->sched.family->scratch)
    sb_printf(sb, "%s%s", count++ ? ", " : "", decl ? "float *restrict sc" : "sc");
  return count;
}

/* With threads, every kernel takes its thread's number last, after the
 * counters of its claimed tails when it has them (NULL: static shares),
 * which follow its scratch when its family has some. */
static void kernel_signature(StrBuf *sb, Graph *g, Node *n, const Target *t) {
  const char *attr = kernel_attr(n, t);
  sb_printf(sb, "static %s%svoid %s(", attr, attr[0] ? " " : "", n->sched.kernel);
  int count = data_params(sb, g, n, true);
  if (n->sched.chunk > 0)
    sb_printf(sb, "%slong *cl", count++ ? ", " : "");
  if (g->threads > 1)
    sb_printf(sb, "%sint tid", count++ ? ", " : "");
  if (!count)
    sb_printf(sb, "void");
  sb_printf(sb, ")");
}

/*
 * A kernel with claimed tails is two functions: NAME_range, the body over
 * units [s0, s1) (its parameters), and NAME, which calls it on the
 * thread's own part [share, own) and then on every chunk cd_pool_claim
 * hands it (emit_claims).  The body is kept out of the loop that calls
 * cd_pool_claim (CD_NOINLINE): a call clobbers every vector register, and
 * with one in the loop around its register tile GCC 12 kept a 64x5 1x1
 * conv's weight vectors on the stack, reloading them for every FMA
 * (ResNet-50's layer4 1x1s on 2 threads ran at 43-46 % of peak).
 */
static void range_signature(StrBuf *sb, Graph *g, Node *n, const Target *t) {
  const char *attr = kernel_attr(n, t);
  sb_printf(sb, "static %s%sCD_NOINLINE void %s_range(", attr, attr[0] ? " " : "",
            n->sched.kernel);
  int count = data_params(sb, g, n, true);
  sb_printf(sb, "%sconst long s0, const long s1)", count ? ", " : "");
}

/* NAME's body for a kernel with claimed tails (range_signature). */
static void emit_claims(CWriter *w, Graph *g, Node *n) {
  const Schedule *s = &n->sched;
  CD_ASSERT(s->chunk > 0 && s->threads == g->threads); /* every thread has a share and a tail */
  StrBuf args = {0};
  int count = data_params(&args, g, n, false);
  cw(w, "static const long cd_share[%d] = {", g->threads + 1);
  for (int t = 0; t <= g->threads; t++)
    cw(w, "%s%lld", t ? ", " : "", (long long)s->share[t]);
  cw(w, "};\nstatic const long cd_own[%d] = {", s->threads);
  for (int t = 0; t < s->threads; t++)
    cw(w, "%s%lld", t ? ", " : "", (long long)s->own[t]);
  cw(w, "};\nlong cd_a = cd_share[tid], cd_b = cl ? cd_own[tid] : cd_share[tid + 1];\n"
        "int cd_next = 0; /* the share whose tail this thread claims from next */\n"
        "do {\n%s_range(%s%scd_a, cd_b);\n"
        "} while (cl && cd_pool_claim(cl, cd_own, cd_share + 1, %lld, tid, %d, &cd_next, "
        "&cd_a, &cd_b));\n",
     s->kernel, args.len ? args.buf : "", count ? ", " : "", (long long)s->chunk, g->threads);
  sb_free(&args);
}

/*
 * The share of a vector kernel's work this call does: units [s0, s1) of the
 * axis the schedule splits (schedule.c); a kernel the schedule gives one
 * thread takes them all.  Scalar kernels ignore tid: only thread 0 calls
 * them.  A kernel with claimed tails has s0 and s1 as parameters of its
 * range function (emit_claims).
 */
static void emit_share(CWriter *w, Graph *g, Node *n) {
  const Schedule *s = &n->sched;
  if (s->chunk > 0)
    return;
  if ((s->family->flags & KC_SCALAR) || s->split == SPLIT_NONE) {
    if (g->threads > 1)
      cw(w, "(void)tid;\n");
    return;
  }
  if (s->threads > 1) {
    /* Every thread of the model calls a split kernel: those past the
     * layer's share count get the empty range [units, units). */
    cw(w, "static const long cd_share[%d] = {", g->threads + 1);
    for (int t = 0; t <= g->threads; t++)
      cw(w, "%s%lld", t ? ", " : "", (long long)s->share[t <= s->threads ? t : s->threads]);
    cw(w, "};\nconst long s0 = cd_share[tid], s1 = cd_share[tid + 1];\n");
    return;
  }
  cw(w, "const long s0 = 0, s1 = %lld; /* one thread */\n", (long long)s->units);
  if (g->threads > 1)
    cw(w, "(void)tid;\n");
}

/*
 * The sequence of kernel calls NAME_run makes.  With T threads, each thread
 * runs the sequence with its tid (a kernel the schedule gives one thread is
 * called by thread 0 alone), and a barrier separates two steps only when the
 * second reads what a step since the last barrier wrote, or writes what one
 * read or wrote (workspace ranges of the memory plan; each input and output
 * buffer is a range of its own; weights are read-only).  The serial form
 * runs every share of a step on one thread before the next step: the same
 * arithmetic in the same order, for a call that finds the pool busy.
 */
typedef struct {
  int64_t a, b; /* [a, b) in one address space: the workspace, then the I/O buffers */
} Region;

typedef struct {
  Graph *g;
  Plan *p;
  StrBuf part;   /* T > 1: each thread's sequence; T == 1: the sequence */
  StrBuf serial; /* T > 1: the sequence on one thread */
  Region *rd, *wr; /* read and written since the last barrier */
  int nrd, nwr, cap;
  bool only0;    /* every step since the last barrier ran on thread 0 alone */
  int barriers;
} Seq;

#define SEQ_IO ((int64_t)1 << 60)   /* the I/O buffers' place after the workspace */
#define SEQ_SPAN ((int64_t)1 << 48) /* each one's room */

/* The caller's output buffer k. */
static Region output_region(int64_t k) {
  return (Region){2 * SEQ_IO + k * SEQ_SPAN, 2 * SEQ_IO + (k + 1) * SEQ_SPAN};
}

static bool region_of(const Seq *q, int v, Region *r) {
  Loc l = q->p->loc[v];
  switch (l.kind) {
  case LOC_WS:
    *r = (Region){l.index, l.index + (int64_t)value_storage_bytes(&q->g->values[v])};
    return true;
  case LOC_INPUT: *r = (Region){SEQ_IO + l.index * SEQ_SPAN, SEQ_IO + (l.index + 1) * SEQ_SPAN}; return true;
  case LOC_OUTPUT: *r = output_region(l.index); return true;
  default: return false; /* weights: read-only */
  }
}

static bool overlaps(const Region *set, int n, Region r) {
  for (int i = 0; i < n; i++)
    if (set[i].a < r.b && r.a < set[i].b)
      return true;
  return false;
}

static void seq_add(Seq *q, Region **set, int *n, Region r) {
  if (q->nrd + q->nwr + 2 > q->cap) {
    q->cap = q->cap ? q->cap * 2 : 64;
    q->rd = realloc(q->rd, sizeof(Region) * (size_t)q->cap);
    q->wr = realloc(q->wr, sizeof(Region) * (size_t)q->cap);
    CD_ASSERT(q->rd && q->wr);
  }
  (*set)[(*n)++] = r;
}

/* One step reading regions rd[0..nr) and writing wr[0..nw), run by thread
 * 0 alone when only0.  Steps that thread 0 alone runs since the last
 * barrier need none between them: one thread runs them in order. */
static void seq_deps_regions(Seq *q, const Region *rd, int nr, const Region *wr, int nw,
                             bool only0) {
  bool conflict = false;
  for (int i = 0; i < nr; i++)
    if (overlaps(q->wr, q->nwr, rd[i]))
      conflict = true;
  for (int i = 0; i < nw; i++)
    if (overlaps(q->wr, q->nwr, wr[i]) || overlaps(q->rd, q->nrd, wr[i]))
      conflict = true;
  if (conflict && !(only0 && q->only0)) {
    sb_printf(&q->part, "  CD_WAIT(tid, jb->barrier(bar));\n");
    q->nrd = q->nwr = 0;
    q->barriers++;
    q->only0 = true;
  }
  q->only0 = q->only0 && only0;
  for (int i = 0; i < nr; i++)
    seq_add(q, &q->rd, &q->nrd, rd[i]);
  for (int i = 0; i < nw; i++)
    seq_add(q, &q->wr, &q->nwr, wr[i]);
}

/* The same for values rd[0..nr) and wr[0..nw) (-1: none). */
static void seq_deps(Seq *q, const int *rd, int nr, const int *wr, int nw, bool only0) {
  Region *r = malloc(sizeof(Region) * (size_t)(nr + nw + 1));
  CD_ASSERT(r);
  int a = 0, b;
  for (int i = 0; i < nr; i++)
    a += rd[i] >= 0 && region_of(q, rd[i], &r[a]);
  b = a;
  for (int i = 0; i < nw; i++)
    b += wr[i] >= 0 && region_of(q, wr[i], &r[b]);
  seq_deps_regions(q, r, a, r + a, b - a, only0);
  free(r);
}

static void seq_step(Seq *q, Node *n, int k, const char *call, int threads) {
  if (q->g->threads <= 1) {
    sb_printf(&q->part, "  CD_PROF(%d, 0, %s);\n", k, call);
    return;
  }
  int *rd = malloc(sizeof(int) * (size_t)node_nreads(n)), nr = 0;
  CD_ASSERT(rd);
  for (int j = 0; j < node_nreads(n); j++)
    rd[nr++] = node_read(n, j);
  seq_deps(q, rd, nr, n->out, n->nout, threads == 1);
  free(rd);
  if (threads > 1) {
    sb_printf(&q->part, "  CD_PROF(%d, tid, %s);\n", k, call);
    sb_printf(&q->serial, "  for (tid = 0; tid < %d; tid++)\n    CD_PROF(%d, tid, %s);\n",
              threads, k, call);
  } else {
    sb_printf(&q->part, "  if (tid == 0)\n    CD_PROF(%d, tid, %s);\n", k, call);
    sb_printf(&q->serial, "  tid = 0;\n  CD_PROF(%d, tid, %s);\n", k, call);
  }
}

/* Statement stmt, on thread 0, reading value rd (or nothing, -1) and
 * writing value wr, or output buffer out_k when wr is -1. */
static void seq_thread0(Seq *q, int rd, int wr, int out_k, const char *stmt) {
  if (q->g->threads <= 1) {
    sb_printf(&q->part, "  %s\n", stmt);
    return;
  }
  Region r[2];
  int nr = rd >= 0 && region_of(q, rd, &r[0]);
  bool placed = wr >= 0 && region_of(q, wr, &r[nr]);
  CD_ASSERT(placed || wr < 0);
  if (wr < 0)
    r[nr] = output_region(out_k);
  seq_deps_regions(q, r, nr, r + nr, 1, true);
  sb_printf(&q->part, "  if (tid == 0)\n    %s\n", stmt);
  sb_printf(&q->serial, "  %s\n", stmt);
}

/* Graph output k is value v held elsewhere: thread 0 copies it. */
static void seq_copy(Seq *q, int k, int v) {
  seq_thread0(q, v, -1, k,
              arena_printf(&q->g->arena, "memcpy(outputs[%d], %s, %lld);", k,
                           loc_expr(q->g, q->p, v), (long long)value_bytes(&q->g->values[v])));
}

/*
 * Integer inputs and outputs (uint8, int8, int32; int64 outputs too,
 * dtype_out_as_float) travel as float arrays holding the integer values
 * (docs/embedding.md): cd_check refuses an
 * input holding a value its type does not (a fraction, NaN, out of
 * range: CD_ERR_INPUT, before any kernel runs); the first steps convert
 * each into its workspace buffer (the memory plan puts it there) and the
 * last ones convert each integer output into the caller's floats.
 */
static bool io_int(const Graph *g, int v, bool out) {
  int64_t lo, hi;
  return out ? graph_out_as_float(g, v, &lo, &hi) : graph_io_as_float(g, v, &lo, &hi);
}

/* The conversion functions of the integer types g's inputs and outputs
 * have, once each. */
static void io_int_functions(StrBuf *c, Graph *g) {
  bool any_in = false, in[2][DT_DOUBLE + 1] = {{false}}; /* [input/output][dtype] */
  for (int io = 0; io < 2; io++)
    for (int k = 0; k < (io ? g->noutputs : g->ninputs); k++) {
      int v = io ? g->outputs[k] : g->inputs[k];
      if (io_int(g, v, io)) {
        in[io][g->values[v].dtype] = true;
        any_in |= !io;
      }
    }
  if (any_in)
    sb_printf(c, "/* Integer inputs arrive as floats: each must be an integer in [lo, hi). */\n"
                 "static int cd_int_ok(const float *x, long n, float lo, float hi) {\n"
                 "  long i;\n  for (i = 0; i < n; i++)\n"
                 "    if (!(x[i] >= lo && x[i] < hi) || x[i] != floorf(x[i]))\n"
                 "      return 0;\n  return 1;\n}\n\n");
  for (int t = 0; t <= DT_DOUBLE; t++) {
    const char *T = in[0][t] || in[1][t] ? dtype_ctype((DType)t) : NULL;
    const char *s = T ? dtype_short((DType)t) : NULL;
    if (in[0][t])
      sb_printf(c, "static void cd_in_%s(const float *x, %s *y, long n) {\n  long i;\n"
                   "  for (i = 0; i < n; i++)\n    y[i] = (%s)x[i];\n}\n\n", s, T, T);
    if (in[1][t])
      sb_printf(c, "static void cd_out_%s(const %s *x, float *y, long n) {\n  long i;\n"
                   "  for (i = 0; i < n; i++)\n    y[i] = (float)x[i];\n}\n\n", s, T);
  }
}

/* "0.0f, 256.0f": the bounds cd_int_ok takes for dtype t. */
static const char *io_int_bounds(Graph *g, DType t) {
  int64_t lo, hi;
  CD_ASSERT(dtype_io_as_float(t, &lo, &hi));
  return arena_printf(&g->arena, "%lld.0f, %lld.0f", (long long)lo, (long long)hi + 1);
}

/* The steps converting the integer inputs, before the first kernel. */
static void seq_int_inputs(Seq *q) {
  Graph *g = q->g;
  for (int k = 0; k < g->ninputs; k++) {
    int v = g->inputs[k];
    if (!io_int(g, v, false) || q->p->loc[v].kind == LOC_NONE)
      continue;
    CD_ASSERT(q->p->loc[v].kind == LOC_WS && g->values[v].layout.kind == LAYOUT_PLAIN);
    seq_thread0(q, -1, v, -1,
                arena_printf(&g->arena, "cd_in_%s(inputs[%d], %s, %lld);",
                             dtype_short(g->values[v].dtype), k, loc_expr(g, q->p, v),
                             (long long)value_numel(&g->values[v])));
  }
}

/* Integer graph output k, value v: converted into the caller's floats. */
static void seq_int_output(Seq *q, int k, int v) {
  Graph *g = q->g;
  CD_ASSERT(g->values[v].layout.kind == LAYOUT_PLAIN);
  seq_thread0(q, v, -1, k,
              arena_printf(&g->arena, "cd_out_%s(%s, outputs[%d], %lld);",
                           dtype_short(g->values[v].dtype), loc_expr(g, q->p, v), k,
                           (long long)value_numel(&g->values[v])));
}

static void seq_free(Seq *q) {
  sb_free(&q->part);
  sb_free(&q->serial);
  free(q->rd);
  free(q->wr);
}

/*
 * NAME_run (and with threads NAME_run_part, NAME_init_threads,
 * NAME_shutdown) around the sequence.
 */
static void run_functions(StrBuf *b, Graph *g, const CodegenOptions *o, const char *NAME, Seq *q) {
  const char *name = o->name;
  int T = g->threads > 1 ? g->threads : 1;
  const char *static_ws = o->static_workspace
      ? arena_printf(&g->arena, "  if (!workspace)\n    workspace = %s_workspace;\n", name) : "";
  sb_printf(b, "/* The arguments every entry point checks before running a kernel:\n"
               " * the arrays and each of their pointers, the workspace, the values of\n"
               " * integer inputs. */\n"
               "static int cd_check(const %s *const inputs[], %s *const outputs[], "
               "const unsigned char *ws) {\n"
               "  if (!inputs || !outputs || (!ws && %s_WORKSPACE_SIZE > 0))\n"
               "    return CD_ERR_NULL;\n", io_ptr(g), io_ptr(g), NAME);
  if (g->ninputs > 0)
    sb_printf(b, "  for (int k = 0; k < %s_NUM_INPUTS; k++)\n"
                 "    if (!inputs[k])\n      return CD_ERR_NULL;\n", NAME);
  if (g->noutputs > 0)
    sb_printf(b, "  for (int k = 0; k < %s_NUM_OUTPUTS; k++)\n"
                 "    if (!outputs[k])\n      return CD_ERR_NULL;\n", NAME);
  sb_printf(b, "  if ((size_t)((uintptr_t)ws %% 64) != 0)\n    return CD_ERR_ALIGN;\n");
  if (o->weights_blob)
    sb_printf(b, "  if (!cd_w)\n    return CD_ERR_WEIGHTS;\n");
  if (model_cpu_features(g, o->target))
    sb_printf(b, "  if (!cd_cpu_has(%s_CPU_FEATURES))\n    return CD_ERR_CPU;\n", NAME);
  for (int k = 0; k < g->ninputs; k++) { /* integer inputs: integers in range */
    const Value *v = &g->values[g->inputs[k]];
    if (io_int(g, g->inputs[k], false))
      sb_printf(b, "  if (!cd_int_ok(inputs[%d], %lld, %s))\n    return CD_ERR_INPUT;\n", k,
                (long long)value_numel(v), io_int_bounds(g, v->dtype));
  }
  sb_printf(b, "  return CD_OK;\n}\n\n");
  if (T == 1) {
    sb_printf(b, "int %s_run(const %s *const inputs[], %s *const outputs[], void *workspace) {\n"
                 "%s"
                 "  unsigned char *ws = (unsigned char *)workspace;\n"
                 "  const int rc = cd_check(inputs, outputs, ws);\n"
                 "  if (rc != CD_OK)\n    return rc;\n"
                 "  (void)ws;\n%s  return CD_OK;\n}\n",
              name, io_ptr(g), io_ptr(g), static_ws, q->part.buf ? q->part.buf : "");
    return;
  }
  /* The claim counters start at zero on every run the pool makes. */
  StrBuf claims = {0};
  int nclaim = schedule_claiming(g);
  if (nclaim)
    sb_printf(&claims, "  jb.claim = (long *)(void *)(jb.ws + %lld);\n"
                       "  memset(jb.claim, 0, sizeof(long) * %d);\n",
              (long long)q->p->claim_off, nclaim * T);
  else
    sb_printf(&claims, "  jb.claim = 0;\n");
  sb_printf(b, "/* One call's arguments, and the barrier its threads meet at. */\n"
               "typedef struct {\n  const %s *const *inputs;\n  %s *const *outputs;\n"
               "  unsigned char *ws;\n  void (*barrier)(void *);\n"
               "  long *claim; /* the counters of claimed tails (NULL: static shares) */\n"
               "} cd_job;\n\n"
               "/* Thread tid's share of every layer (%d barriers). */\n"
               "static void cd_part(int tid, void *job, void *bar) {\n"
               "  const cd_job *jb = (const cd_job *)job;\n"
               "  const %s *const *inputs = jb->inputs;\n"
               "  %s *const *outputs = jb->outputs;\n"
               "  unsigned char *ws = jb->ws;\n"
               "  (void)inputs;\n  (void)outputs;\n  (void)ws;\n  (void)bar;\n%s}\n\n",
            io_ptr(g), io_ptr(g), q->barriers, io_ptr(g), io_ptr(g),
            q->part.buf ? q->part.buf : "");
  sb_printf(b, "/* Every share of every layer on the caller's thread. */\n"
               "static void cd_serial(const cd_job *jb) {\n"
               "  const %s *const *inputs = jb->inputs;\n"
               "  %s *const *outputs = jb->outputs;\n"
               "  unsigned char *ws = jb->ws;\n  int tid = 0;\n"
               "  (void)inputs;\n  (void)outputs;\n  (void)ws;\n  (void)tid;\n%s}\n\n",
            io_ptr(g), io_ptr(g), q->serial.buf ? q->serial.buf : "");
  sb_printf(b, "static cd_pool cd_threads; /* started once; the caller is thread 0 */\n\n"
               "int %s_init_threads(void) {\n  return cd_pool_start(&cd_threads, %s_THREADS);\n}\n\n"
               "void %s_shutdown(void) {\n  cd_pool_stop(&cd_threads);\n}\n\n"
               "int %s_run(const %s *const inputs[], %s *const outputs[], void *workspace) {\n"
               "  cd_job jb;\n  int rc;\n%s"
               "  rc = cd_check(inputs, outputs, (const unsigned char *)workspace);\n"
               "  if (rc != CD_OK)\n    return rc;\n"
               "  jb.inputs = inputs;\n  jb.outputs = outputs;\n"
               "  jb.ws = (unsigned char *)workspace;\n  jb.barrier = cd_pool_barrier;\n"
               "%s"
               "  if (cd_pool_run(&cd_threads, %s_THREADS, cd_part, &jb) != CD_OK) {\n"
               "    jb.claim = 0;\n"
               "    cd_serial(&jb); /* the pool runs another call, or could not start */\n"
               "  }\n"
               "  return CD_OK;\n}\n\n"
               "int %s_run_part(int t, int nthreads, const %s *const inputs[], "
               "%s *const outputs[],\n"
               "                void *workspace, void (*barrier)(void *ctx), void *ctx) {\n"
               "  cd_job jb;\n  int rc;\n%s"
               "  rc = cd_check(inputs, outputs, (const unsigned char *)workspace);\n"
               "  if (rc != CD_OK)\n    return rc;\n"
               "  if (nthreads != %s_THREADS || t < 0 || t >= nthreads || !barrier)\n"
               "    return CD_ERR_THREADS;\n"
               "  jb.inputs = inputs;\n  jb.outputs = outputs;\n"
               "  jb.ws = (unsigned char *)workspace;\n  jb.barrier = barrier;\n"
               "  jb.claim = 0;\n"
               "  cd_part(t, &jb, ctx);\n  return CD_OK;\n}\n",
            name, NAME, name, name, io_ptr(g), io_ptr(g), static_ws, claims.buf ? claims.buf : "",
            NAME, name, io_ptr(g), io_ptr(g), static_ws, NAME);
  sb_free(&claims);
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
  int64_t lo, hi;
  for (int k = 0; k < g->ninputs; k++) {
    const Value *v = &g->values[g->inputs[k]];
    if (v->dtype != DT_FLOAT && !dtype_io_as_float(v->dtype, &lo, &hi))
      diag_error(d, "graph input '%s' is %s: only float32 inputs, and uint8, int8 and int32 "
                 "ones passed as float values, reach generated code (freeze it with "
                 "--freeze %s=FILE)", v->name, dtype_name(v->dtype), v->name);
  }
  for (int k = 0; k < g->noutputs; k++) {
    const Value *v = &g->values[g->outputs[k]];
    if (v->dtype != DT_FLOAT && !dtype_out_as_float(v->dtype, &lo, &hi))
      diag_error(d, "graph output '%s' is %s: only float32 outputs, and uint8, int8, int32 "
                 "and int64 ones passed as float values, are supported", v->name,
                 dtype_name(v->dtype));
  }
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (op_table[n->op].flags & OPF_SHAPE) {
      diag_error(d, "node '%s' (%s) computes a shape at run time: dynamic "
                 "shapes are not supported (freeze the inputs it depends on)",
                 node_label(n), n->op_type);
      continue;
    }
    /* The ops' portable kernels compute in float32 but where ops.def says
     * they are written for their operands' dtypes (OPF_TYPED: they move,
     * compare, select or convert; OPF_INTEGER: the quantized ops, which
     * take the integer dtypes their inference admits); a family of another
     * dtype says so in its row (kernels.c). */
    if (!(n->sched.family->flags & KC_SCALAR) ||
        (op_table[n->op].flags & (OPF_TYPED | OPF_INTEGER)))
      continue;
    for (int k = 0; k < node_nreads(n) + n->nout; k++) {
      bool out = k >= node_nreads(n);
      int v = out ? n->out[k - node_nreads(n)] : node_runtime_read(n, k) ? node_read(n, k) : -1;
      if (v >= 0 && g->values[v].dtype != DT_FLOAT) {
        diag_error(d, "node '%s' (%s): its %s '%s' is %s, and Cardinal's %s kernel computes "
                   "in float32 only", node_label(n), n->op_type, out ? "output" : "input",
                   g->values[v].name, dtype_name(g->values[v].dtype), n->op_type);
        break;
      }
    }
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
/* NAME_profile_peak_int8: the same for the target's 8-bit dot product
 * (Target.i8.dot4: four u8 x s8 products into each int32 lane), 2 ops a
 * multiply-add; 0 on a target without one.  prelude: write the table's
 * helpers (a model without int8 kernels has not). */
static void emit_peak_int8(CWriter *w, const Target *t, const char *name, bool prelude) {
  const VecOps *o = &t->i8;
  cw(w, "#ifdef CARDINAL_PROFILE\n");
  if (o->dot4 && prelude && o->prelude) /* the table's helpers, when no kernel wrote them */
    cw(w, "%s", o->prelude);
  if (!o->dot4) {
    cw(w, "double %s_profile_peak_int8(void) {\n  return 0.0;\n}\n#endif\n\n", name);
    return;
  }
  /* 16 chains at most: more than the dot product's latency x issue width
   * on the cores we know, and gcc 12 spills every one of 28 each iteration */
  int na = t->nregs - 4 < 16 ? t->nregs - 4 : 16;
  cw(w, "static %s double cd_dot_loop(long iters) {\n"
        "  volatile int32_t sink;\n  long i;\n  double t0;\n"
        "  const %s c = %s;\n  int32_t lanes[%d];\n",
     o->attr ? o->attr : t->isa_attr, o->vtype, cw_op(w, o->set1, "0x01ff01ff", 0, 0), o->lanes);
  for (int k = 0; k < na; k++)
    cw(w, "  %s a%d = %s;\n", o->vtype, k, cw_op(w, o->set1, cw_fmt(w, "%d", 0x01010101 * (k + 1)), 0, 0));
  cw(w, "  t0 = cd_now_ms();\n  for (i = 0; i < iters; i++) {\n");
  for (int k = 0; k < na; k++) {
    const char *a = cw_fmt(w, "a%d", k);
    /* the next accumulator's bytes as the s8 operand: no two chains alike,
     * nothing for the compiler to fold (with constant operands gcc sums
     * one dot product once and adds it, a latency-bound chain; with a_k's
     * own bytes it copies a_k first), and each chain one step an iteration */
    cw(w, "    %s = %s;\n", a, cw_op(w, o->dot4, a, "c", cw_fmt(w, "a%d", (k + 1) % na)));
  }
  cw(w, "  }\n  t0 = cd_now_ms() - t0;\n");
  for (int k = 1; k < na; k++)
    cw(w, "  a0 = %s;\n", cw_op(w, o->add, "a0", cw_fmt(w, "a%d", k), 0));
  cw(w, "  %s;\n  sink = lanes[0];\n  (void)sink;\n"
        "  return t0 > 0 ? 2.0 * 4 * %d * %d * (double)iters / (t0 * 1e6) : 0.0;\n}\n\n"
        "double %s_profile_peak_int8(void) {\n"
        "  double best = 0;\n  int r;\n"
        "  if (!cd_cpu_has(%uu))\n    return 0.0;\n"
        "  for (r = 0; r < 5; r++) {\n"
        "    const double g = cd_dot_loop(%d);\n"
        "    best = g > best ? g : best;\n  }\n  return best;\n}\n#endif\n\n",
     cw_op(w, o->store, "lanes", "a0", 0), o->lanes, na, name, (unsigned)o->cpu, 64000000 / na);
}

static void emit_peak(CWriter *w, const Target *t, const char *name) {
  /* vector registers but b, c and a spare, 16 at most (clang 14 spills
   * 28 chains of FMAs every iteration, halving what it measured) */
  int na = t->block > 1 ? (t->nregs - 4 < 16 ? t->nregs - 4 : 16) : 64;
  cw(w, "#ifdef CARDINAL_PROFILE\n"
          "static %s%sdouble cd_fma_loop(long iters) {\n"
          "  volatile float sink;\n  long i;\n  double t0;\n",
       t->isa_attr, t->isa_attr[0] ? " " : "");
  if (t->block > 1) {
    cw(w, "  const %s b = %s, c = %s;\n  float lanes[%d];\n", t->f32.vtype,
         cw_op(w, t->f32.set1, "0.999999f", 0, 0), cw_op(w, t->f32.set1, "1e-6f", 0, 0), t->block);
    for (int k = 0; k < na; k++)
      cw(w, "  %s a%d = %s;\n", t->f32.vtype, k,
           cw_op(w, t->f32.set1, cw_fmt(w, "%d.0f", k), 0, 0));
    cw(w, "  t0 = cd_now_ms();\n  for (i = 0; i < iters; i++) {\n");
    for (int k = 0; k < na; k++) {
      const char *a = cw_fmt(w, "a%d", k);
      cw(w, "    %s = %s;\n", a, cw_op(w, t->f32.fma, a, "b", "c"));
    }
    cw(w, "  }\n  t0 = cd_now_ms() - t0;\n");
    for (int k = 1; k < na; k++)
      cw(w, "  a0 = %s;\n", cw_op(w, t->f32.add, "a0", cw_fmt(w, "a%d", k), 0));
    cw(w, "  %s;\n  sink = lanes[0];\n", cw_op(w, t->f32.store, "lanes", "a0", 0));
  } else {
    /* Plain float code, vectorised by the compiler as the scalar kernels are. */
    cw(w, "  float a[%d];\n  long k;\n"
            "  for (k = 0; k < %d; k++)\n    a[k] = (float)k;\n"
            "  t0 = cd_now_ms();\n"
            "  for (i = 0; i < iters; i++)\n    for (k = 0; k < %d; k++)\n"
            "      a[k] = a[k] * 0.999999f + 1e-6f;\n"
            "  t0 = cd_now_ms() - t0;\n"
            "  for (k = 1; k < %d; k++)\n    a[0] += a[k];\n  sink = a[0];\n",
         na, na, na, na);
  }
  cw(w, "  (void)sink;\n"
          "  return t0 > 0 ? 2.0 * %d * %d * (double)iters / (t0 * 1e6) : 0.0;\n}\n\n"
          "double %s_profile_peak(void) {\n"
          "  double best = 0;\n  int r;\n"
          "  for (r = 0; r < 5; r++) {\n"
          "    const double g = cd_fma_loop(%d);\n"
          "    best = g > best ? g : best;\n  }\n  return best;\n}\n#endif\n\n",
       t->block > 1 ? t->block : 1, na, name, 64000000 / na);
}

void emit_includes(StrBuf *c, const Target *t) {
  sb_printf(c, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n%s\n", t->include);
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
  CWriter cwr;
  cw_init(&cwr, &c, &g->arena, g->limits.code_bytes);
  banner(&c, g, o);
  sb_printf(&c, "#include \"%s.h\"\n\n", name);
  emit_includes(&c, o->target);
  /* The activation table's columns: act.h for activations applied one
   * element at a time, the vector helpers where a vector form calls them. */
  bool acts = false, helpers = false;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (!n->dead && (n->sched.family->flags & KC_VMATH))
      acts = helpers = true;
    OpKind ops[2] = {n->op, n->ep.act};
    for (int k = 0; k < 2; k++)
      if (ops[k] != OP_COUNT && (op_table[ops[k]].flags & OPF_ACTIVATION)) {
        acts = true;
        helpers |= act_uses_helpers(ops[k]) && !(n->sched.family->flags & KC_SCALAR);
      }
  }
  if (acts)
    sb_printf(&c, "%s\n", act_scalar_source());
  /* quant.h, for the kernels of the quantized ops (ops/quant.c). */
  bool quant = false;
  for (int i = 0; i < g->nnodes; i++)
    quant |= (op_table[g->nodes[i].op].flags & OPF_INTEGER) != 0;
  if (quant)
    sb_printf(&c, "%s\n", quant_scalar_source());
  io_int_functions(&c, g);
  const VecOps *vops = target_vec(o->target, DT_FLOAT);
  if (helpers && vops) {
    act_write_vector(&cwr, vops, o->target->isa_attr);
    cw_flush(&cwr);
  }
  /* The declarations kernel families share, once each. */
  for (int k = 0; kernel_configs[k]; k++) {
    const KernelConfig *kc = kernel_configs[k];
    bool wanted = false;
    for (int i = 0; i < g->nnodes && kc->prelude && !wanted; i++)
      wanted = g->nodes[i].sched.family == kc && kc->wants(g, &g->nodes[i]);
    if (wanted)
      sb_printf(&c, "%s", kc->prelude);
  }
  /* The helpers of the vector tables the kernels use (target_vec of a
   * vector family's output type), once each. */
  const VecOps *tabs[2] = {&o->target->f32, &o->target->i8};
  bool i8_prelude = false; /* written: the int8 peak loop needs it too */
  for (int k = 0; k < 2; k++) {
    bool wanted = false;
    for (int i = 0; i < g->nnodes && tabs[k]->prelude && !wanted; i++) {
      const KernelConfig *kc = g->nodes[i].sched.family;
      wanted = !g->nodes[i].dead && kc && (kc->flags & KC_VECTOR) &&
               target_vec(o->target, kc->y) == tabs[k];
    }
    if (wanted)
      sb_printf(&c, "%s", tabs[k]->prelude);
    i8_prelude |= k == 1 && wanted;
  }
  if (o->weights_blob) {
    sb_printf(&c, "/* Set by %s_set_weights: the blob after its 64-byte header. */\n"
                  "static const unsigned char *cd_w;\n"
                  "#define W(off) ((const float *)(cd_w + (off)))\n\n", name);
  } else {
    weights_decl(&c, name, p->weight_size);
    sb_printf(&c, "/* W(off): the float constant at byte offset off of the blob. */\n"
                  "#define W(off) ((const float *)(%s_weights + (off)))\n\n", name);
  }
  if (o->static_workspace) {
    if (o->weights_blob)
      align_macro(&c);
    if (o->weights_section)
      section_macro(&c, NAME, "WORKSPACE", ".bss.cardinal_workspace");
    sb_printf(&c, "/* --static-workspace: what %s_run uses when its workspace is NULL. */\n"
                  "CD_WEIGHTS_ALIGN %sunsigned char %s_workspace[%s_WORKSPACE_SIZE > 0 ? "
                  "%s_WORKSPACE_SIZE : 1];\n\n",
              name, o->weights_section ? "CD_WORKSPACE_IN_SECTION " : "", name, NAME, NAME);
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

  Emitter e = {.w = &cwr, .g = g, .d = d, .t = o->target};
  StrBuf prof_names = {0}, prof_macs = {0};
  int T = g->threads > 1 ? g->threads : 1;
  Seq q = {.g = g, .p = p, .only0 = true};
  int nk = 0; /* kernels emitted */
  int nclaim = 0; /* nodes with claimed tails so far */
  seq_int_inputs(&q);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->sched.family->flags & KC_ALIAS) {
      sb_printf(&q.part, "  /* node %d %s: an alias, no work */\n", i, n->op_type);
      continue;
    }
    kernel_comment(&c, g, n);
    bool claims = n->sched.chunk > 0;
    if (claims && !nclaim)
      cw(&cwr, "#if defined(__GNUC__) || defined(__clang__)\n"
               "#define CD_NOINLINE __attribute__((noinline))\n"
               "#else\n#define CD_NOINLINE\n#endif\n");
    StrBuf sig = {0};
    if (claims)
      range_signature(&sig, g, n, o->target);
    else
      kernel_signature(&sig, g, n, o->target);
    cw(&cwr, "%s {\n", sig.buf);
    sb_free(&sig);
    cw_vars_clear(&cwr);
    emit_share(&cwr, g, n);
    bool ok = n->sched.family->emit(&e, g, n);
    cw_flush(&cwr);
    if (cwr.over || (int64_t)(c.len + body.len) > g->limits.code_bytes) {
      diag_error(d, "node '%s' (%s): the generated code would exceed %lld bytes", node_label(n),
                 n->op_type, (long long)g->limits.code_bytes);
      break;
    }
    if (!ok) {
      if (d->nerrors == 0)
        diag_error(d, "node '%s' (%s): no kernel", node_label(n), n->op_type);
      break;
    }
    cw(&cwr, "}\n");
    if (claims) {
      kernel_signature(&sig, g, n, o->target);
      cw(&cwr, "%s {\n", sig.buf);
      sb_free(&sig);
      emit_claims(&cwr, g, n);
      cw(&cwr, "}\n");
    }
    CD_ASSERT(cwr.depth == 0 && !cwr.pending && !cwr.paren);
    StrBuf call = {0};
    sb_printf(&call, "%s(", n->sched.kernel);
    ArgCtx ac = {g, p, 0};
    kernel_params(g, n, &call, param_arg, &ac);
    if (n->sched.family->scratch) { /* this thread's part of the scratch (plan.c) */
      CD_ASSERT(p->scratch_off >= 0);
      sb_printf(&call, "%s(float *)(void *)(ws + %lld%s)", ac.count++ ? ", " : "",
                (long long)p->scratch_off,
                T > 1 ? arena_printf(&g->arena, " + (long)tid * %lld", (long long)p->scratch_bytes)
                      : "");
    }
    if (n->sched.chunk > 0) { /* this node's counters, when the pool runs it */
      CD_ASSERT(p->claim_off >= 0);
      sb_printf(&call, "%sjb->claim ? jb->claim + %d : (long *)0", ac.count++ ? ", " : "",
                nclaim++ * T);
    }
    sb_printf(&call, "%stid)", T > 1 ? (ac.count ? ", " : "") : "");
    if (T == 1) /* no tid parameter */
      call.buf[call.len - 4] = ')', call.buf[call.len - 3] = 0, call.len -= 3;
    seq_step(&q, n, nk, call.buf, n->sched.threads);
    sb_free(&call);
    /* The profile's row for this kernel: its name and work. */
    sb_printf(&prof_names, "%s\n  ", nk ? "," : "");
    StrBuf label = {0};
    sb_printf(&label, "%s %s '%s'", n->sched.kernel, n->op_type, n->name);
    put_c_string(&prof_names, label.buf);
    sb_free(&label);
    sb_printf(&prof_macs, "%s%lld", nk ? ", " : "", (long long)node_macs(g, n));
    nk++;
  }
  /* Outputs not written in place: graph inputs, constants, repeats, and
   * the integer ones, converted to floats. */
  for (int k = 0; k < g->noutputs; k++) {
    int v = g->outputs[k];
    Loc l = p->loc[v];
    if (l.kind == LOC_OUTPUT && l.index == k)
      continue;
    CD_ASSERT(g->values[v].layout.kind == LAYOUT_PLAIN); /* the layout pass reorders outputs */
    if (io_int(g, v, true))
      seq_int_output(&q, k, v);
    else
      seq_copy(&q, k, v);
  }
  if (d->nerrors) {
    sb_free(&c);
    cw_free(&cwr);
    seq_free(&q);
    sb_free(&prof_names);
    sb_free(&prof_macs);
    return false;
  }
  run_functions(&body, g, o, NAME, &q);
  seq_free(&q);
  sb_printf(&c, "\n#ifdef CARDINAL_PROFILE\n"
                "/* Built with -DCARDINAL_PROFILE: the time of every kernel call adds up in\n"
                " * %s_profile_ms (see %s.h). */\n"
                "double %s_profile_ms[%d];\n"
                "double %s_profile_thread_ms[%d];\n"
                "double %s_profile_wait_ms[%d];\n"
                "const char *const %s_profile_name[%d] = {%s};\n"
                "const long long %s_profile_macs[%d] = {%s};\n"
                "/* Each thread times its own share of each kernel (thread 0's is also\n"
                " * the kernel's time), and its waits at barriers. */\n"
                "#define CD_PROF(i, tid, call) \\\n"
                "  do { \\\n"
                "    const double t0_ = cd_now_ms(); \\\n"
                "    double dt_; \\\n"
                "    call; \\\n"
                "    dt_ = cd_now_ms() - t0_; \\\n"
                "    %s_profile_thread_ms[(tid) * %d + (i)] += dt_; \\\n"
                "    if ((tid) == 0) \\\n"
                "      %s_profile_ms[i] += dt_; \\\n"
                "  } while (0)\n"
                "#define CD_WAIT(tid, call) \\\n"
                "  do { \\\n"
                "    const double t0_ = cd_now_ms(); \\\n"
                "    call; \\\n"
                "    %s_profile_wait_ms[tid] += cd_now_ms() - t0_; \\\n"
                "  } while (0)\n"
                "#else\n"
                "#define CD_PROF(i, tid, call) call\n"
                "#define CD_WAIT(tid, call) call\n"
                "#endif\n\n",
            name, name, name, nk ? nk : 1, name, (nk ? nk : 1) * T, name, T, name, nk ? nk : 1,
            nk ? prof_names.buf : "\"\"", name, nk ? nk : 1, nk ? prof_macs.buf : "0", name,
            nk ? nk : 1, name, name);
  sb_free(&prof_names);
  sb_free(&prof_macs);
  emit_peak(&cwr, o->target, name);
  emit_peak_int8(&cwr, o->target, name, !i8_prelude);
  cw_flush(&cwr);
  cw_free(&cwr);
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
                  "      memcmp(b + 16, %s_MODEL_HASH, 16) != 0 || memcmp(b + 32, %s_WEIGHTS_HASH, 16) != 0 ||\n"
                  "      !cd_weights_ok(b + 64, (size_t)%s_WEIGHTS_SIZE, %s_WEIGHTS_HASH))\n"
                  "    return CD_ERR_WEIGHTS;\n"
                  "  cd_w = b + 64;\n  return CD_OK;\n}\n",
              name, NAME, NAME, NAME, NAME, NAME);
  }
  /* The blob's own hash: a blob of the same model built for another target
   * or with other passes has the same model hash but not these bytes. */
  uint64_t whash = cd_hash64(blob + 64, wsize);
  bool ok = write_header(g, p, o, dir, NAME, whash, d);
  char *cpath = arena_printf(&g->arena, "%s/%s.c", dir, name);
  ok = ok && write_file(cpath, c.buf, c.len, d);
  sb_free(&c);
  if (o->no_weights_file) {
  } else if (ok && o->weights_blob) {
    memcpy(blob, "CARDINALW1", 10);
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)g->hash);
    memcpy(blob + 16, hash, 16);
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)whash);
    memcpy(blob + 32, hash, 16);
    char *wpath = arena_printf(&g->arena, "%s/%s.weights", dir, name);
    ok = write_file(wpath, blob, wsize + 64, d);
  } else if (ok) {
    StrBuf b = {0};
    banner(&b, g, o);
    char *wpath = arena_printf(&g->arena, "%s/%s_weights.c", dir, name);
    if (o->weights_incbin)
      ok = write_weights_asm(arena_printf(&g->arena, "%s/%s_weights.S", dir, name),
                             arena_printf(&g->arena, "%s/%s_weights.bin", dir, name), name,
                             NAME, o->weights_section, blob + 64, (int64_t)wsize, whash, b.buf, d);
    else
      ok = write_weights_c(wpath, name, NAME, o->weights_section, blob + 64, (int64_t)wsize, b.buf, d);
    sb_free(&b);
  }
  free(blob);
  return ok;
}
