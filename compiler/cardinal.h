/*
 * cardinal.h — the compiler's one internal header.
 *
 * Cardinal reads a model (ONNX or the DSL) into a Graph, runs passes over
 * it, schedules and plans memory, and emits C.  Every stage talks to the next through
 * the IR declared here; each file's exports are grouped under a banner that
 * names the file.
 *
 * The IR is index based: a Graph owns an array of Values (tensors) and an
 * array of Nodes; nodes name their operands by value index, values name their
 * producer by node index.  All memory of one compilation comes from one Arena
 * and is freed in one call.
 */
#ifndef CARDINAL_H
#define CARDINAL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h> /* before the allocation macros below */
#include <string.h>

#define CD_VERSION "0.1.0"
#define CD_MAX_RANK 8   /* ONNX allows more; no op we support needs it */
#define CD_MAX_SPATIAL 3 /* Conv and pooling: 1-D, 2-D and 3-D */
#define CD_MAX_SPLIT 32  /* outputs of one Split */

/* Internal invariants stay checked in release builds (see STYLE.md). */
#define CD_ASSERT(c) \
  ((c) ? (void)0 : cd_internal_error(__FILE__, __LINE__, #c))
void cd_internal_error(const char *file, int line, const char *what);

/* ---------------------------------------------------------------- memory (arena.c) */

/*
 * Every allocation of the compiler goes through cd_xmalloc, cd_xcalloc,
 * cd_xrealloc, cd_xstrdup and cd_xstrndup, every free through cd_xfree (x:
 * the runtime, linked into the tests, has a cd_free of its own): the macros
 * below rename them in each file that includes this header (the generated
 * lexer and parser too), so no call site can forget.  Each block
 * is on one list, so a failed allocation needs no check where it happens:
 * it unwinds to the innermost cd_try (a setjmp at the library's entry
 * points: cd_load_model, cd_compile, cd_build), which has every block
 * allocated since it began freed and reports "out of memory" -- a clean
 * error that leaks nothing, whichever allocation failed.  With no cd_try in
 * force it reports and exits.  The list's links are masked, so that
 * LeakSanitizer still sees a block nothing points to as leaked.  One
 * compilation at a time (the list and the tries are per process).
 *
 *   CdTry t;
 *   cd_try_begin(&t);
 *   if (setjmp(t.env)) {     allocations since cd_try_begin are freed,
 *     ...                    the try is over: undo what is not memory
 *   }
 *   ...
 *   cd_try_end(&t);
 */
void *cd_xmalloc(size_t n);
void *cd_xcalloc(size_t n, size_t m);
void *cd_xrealloc(void *p, size_t n);
char *cd_xstrdup(const char *s);
char *cd_xstrndup(const char *s, size_t n);
void cd_xfree(void *p);
/* p outlives the cd_try in force: a caller's Diag log grown inside it. */
void cd_keep(void *p);

typedef struct CdTry {
  jmp_buf env;
  struct CdTry *outer;
  uint64_t mark; /* blocks numbered above it were allocated inside */
} CdTry;
void cd_try_begin(CdTry *t);
void cd_try_end(CdTry *t);
/* Unwinds to the innermost cd_try, as a failed allocation does: a try that
 * only undoes something (closes a file) passes the failure on with it. */
_Noreturn void cd_oom(void);
/* Fault injection (tests): the n-th allocation from now fails (0: none). */
void cd_fail_alloc(uint64_t n);
uint64_t cd_alloc_count(void); /* allocations so far */
uint64_t cd_alloc_bytes(void); /* bytes asked of them so far (realloc: the new size) */
size_t cd_live_blocks(void);   /* blocks allocated and not freed */

/* The work counter of the complexity tests (tests/unit/test_hostile.c,
 * class 6): each loop whose trip count a model file controls -- where a
 * hostile file once found quadratic time -- adds its iterations with
 * CD_STEPS, so a test bounds steps (and cd_alloc_bytes), not seconds: a
 * loaded machine cannot fail it, a quadratic loop cannot pass it.  One add
 * per iteration; the compiler runs on one thread.  Read it with
 * cd_step_count(). */
extern uint64_t cd_steps_taken;
#define CD_STEPS(n) (cd_steps_taken += (uint64_t)(n))
uint64_t cd_step_count(void);

/* The renaming.  (free)(p) -- the name in parentheses -- still reaches the
 * C library, for memory it allocated itself (realpath). */
#undef strdup
#undef strndup
#define malloc(n) cd_xmalloc(n)
#define calloc(n, m) cd_xcalloc(n, m)
#define realloc(p, n) cd_xrealloc(p, n)
#define strdup(s) cd_xstrdup(s)
#define strndup(s, n) cd_xstrndup(s, n)
#define free(p) cd_xfree(p)

/* ---------------------------------------------------------------- arena.c */

typedef struct ArenaChunk ArenaChunk;
typedef struct {
  ArenaChunk *head; /* most recent chunk first */
} Arena;

void *arena_alloc(Arena *a, size_t n);            /* zeroed, 16-byte aligned */
void *arena_alloc_raw(Arena *a, size_t n);        /* not zeroed: for bytes the caller writes
                                                     every one of (weights: zeroing and then
                                                     filling hundreds of MB cost seconds) */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...);
void arena_free(Arena *a);

/* A growable string used by the emitters and reporters. */
typedef struct {
  char *buf;  /* NUL terminated, malloc'd */
  size_t len; /* bytes used, without the NUL */
  size_t cap; /* bytes allocated */
} StrBuf;

/* A string -> pointer map (open addressing), in an arena, for lookups whose
 * count a model controls: names must not make a stage quadratic.  Keys are
 * not copied; an empty map has cap 0. */
typedef struct {
  const char **keys;
  void **vals;
  size_t cap, n; /* slots (a power of two), keys held */
} NameMap;

void *namemap_get(const NameMap *m, const char *key); /* NULL if absent */
void namemap_put(NameMap *m, Arena *a, const char *key, void *val);

/* A binary min-heap of ints (v holds room for every push), ordered by
 * key[x], or by x itself when key is NULL; ties leave no order promised. */
typedef struct {
  int *v, n;
  const int *key;
} IntHeap;
void intheap_push(IntHeap *h, int x);
int intheap_pop(IntHeap *h);

void sb_printf(StrBuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap);
void sb_putn(StrBuf *sb, const char *s, size_t n);
void sb_free(StrBuf *sb);
/* Names from a model file are printed, never obeyed: sb_put_printable
 * appends s[0..n) with its terminal control characters as \xNN (newline
 * and tab pass); every Diag message goes through it, and cd_print is
 * fprintf through it, for what the CLI prints besides messages. */
void sb_put_printable(StrBuf *sb, const char *s, size_t n);
void cd_print(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cd_vprint(FILE *f, const char *fmt, va_list ap);

/* Diagnostics: user errors are collected, then printed by the driver. */
typedef struct {
  const char *file; /* the model file errors are about */
  int nerrors;      /* errors reported so far */
  int nwarnings;
  bool quiet;       /* collect, but do not print (unit tests) */
  bool cmake;       /* name options as cardinal_add_model spells them (SHAPES, OUTPUTS) */
  StrBuf log;       /* every message, for tests to inspect */
} Diag;

/* An option as a message names it: cli (--shape), or, run by CMake's
 * cardinal_add_model (Diag.cmake), that function's argument (SHAPES). */
static inline const char *diag_option(const Diag *d, const char *cli, const char *cmake) {
  return d && d->cmake ? cmake : cli;
}
void diag_error(Diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void diag_warn(Diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

uint64_t cd_hash_bytes(uint64_t h, const void *p, size_t n); /* FNV-1a 64 */
/* Files.  A file the user names is read as given (a pipe too), up to a
 * size; a file a model names (external data, an import) is opened with
 * cd_open_inside: only a regular file inside the model's folder. */
bool cd_read_file(const char *path, uint8_t **data, size_t *size); /* up to 4 GiB + 64 KiB */
/* Reads path whole, at most max bytes (EFBIG past it); false with errno set. */
bool cd_read_file_max(const char *path, size_t max, uint8_t **data, size_t *size);
/* Reads an open regular file whole (EINVAL for anything else), at most max
 * bytes (EFBIG); the fd stays open. */
bool cd_read_fd(int fd, size_t max, uint8_t **data, size_t *size);
/* The same for any open file but a folder (EISDIR), a pipe too; the fd
 * stays open (a failed allocation closes it as it unwinds). */
bool cd_read_open(int fd, size_t max, uint8_t **data, size_t *size);
/* Whether rel, a path a model names, is relative and has no ".." part. */
bool cd_path_is_relative_inside(const char *rel);
/* Opens path for reading only if, once every link is resolved, it is a
 * regular file inside folder `root` (never a FIFO, a device or a link out);
 * returns an fd and its size, or -1 with errno set and *why saying what
 * was refused (NULL when it is errno's reason). */
int cd_open_inside(const char *root, const char *path, int64_t *size, const char **why);

/*
 * Checked arithmetic.  Every dim, element count, byte count and offset a
 * model file can make large is computed with these, never with a bare
 * + - * (signed overflow is undefined behaviour, and a wrapped size is a
 * small buffer).  ck_* return false when the exact result does not fit an
 * int64_t; sat_* clamp to INT64_MIN/INT64_MAX instead, for results a limit
 * check follows (a clamped value is always over the limit).
 */
static inline bool ck_add(int64_t a, int64_t b, int64_t *r) { return !__builtin_add_overflow(a, b, r); }
static inline bool ck_sub(int64_t a, int64_t b, int64_t *r) { return !__builtin_sub_overflow(a, b, r); }
static inline bool ck_mul(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r); }
int64_t sat_add(int64_t a, int64_t b);
int64_t sat_sub(int64_t a, int64_t b);
int64_t sat_mul(int64_t a, int64_t b);
/* A double as an int64_t: false for NaN and for values out of range, where
 * a C cast is undefined; cd_f2i_sat clamps them instead (NaN -> 0). */
bool ck_f2i(double x, int64_t *r);
int64_t cd_f2i_sat(double x);

/* ---------------------------------------------------------------- fs.c */

/* Creates path for writing: O_CREAT|O_EXCL|O_NOFOLLOW, never through a link
 * or over a file; NULL with errno set. */
FILE *cd_create_file(const char *path);
/* Makes path and the folders above it (mode 0777 less the umask). */
bool cd_mkdir_p(const char *path);
/* Deletes path and everything under it, by descriptor: a link (at path or
 * anywhere below) is removed, never followed, even one swapped in while
 * the tree is deleted.  The folders above path are taken as given.  True
 * if nothing is left (absent counts). */
bool cd_rm_rf(const char *path);
/* The same for entry `name` of the folder open as dirfd. */
bool cd_rm_rf_at(int dirfd, const char *name);
/* Deletes everything in the folder open as fd (the same way), then closes fd. */
void cd_empty_folder_fd(int fd);

/* ---------------------------------------------------------------- hash.c */

typedef struct {
  uint32_t h[8];          /* the state */
  uint64_t bytes;         /* hashed so far */
  unsigned char buf[64];  /* a partial block */
  size_t nbuf;            /* bytes in buf */
} Sha256;
void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *p, size_t n);
void sha256_final(Sha256 *s, unsigned char out[32]);
void sha256_hex(const unsigned char d[32], char hex[65]); /* lower case */

/* ---------------------------------------------------------------- cwriter.c */

/*
 * The C writer (cwriter.c says how it indents): every stage that writes C
 * -- an op's scalar kernel, a SIMD micro-kernel, the emitter -- writes
 * lines through one, never counting spaces, and names the numbers of a
 * long template with cw_var instead of positional arguments.
 */
#define CW_MAX_VARS 48   /* ${names} one kernel defines (asserted) */
#define CW_MAX_DEPTH 64  /* braces open at once (asserted) */

typedef struct {
  const char *name, *val;
} CwVar;

typedef struct CWriter {
  StrBuf *out;         /* where complete lines go */
  Arena *arena;        /* strings built for the code (cw_fmt, cw_float, cw_op) */
  int64_t budget;      /* bytes out may hold (Limits.code_bytes) */
  bool over;           /* the budget is spent: nothing more is written */
  StrBuf line;         /* the line being written, until its '\n' */
  int stack[CW_MAX_DEPTH]; /* the level of the line that opened each brace */
  int depth;           /* braces open */
  int paren;           /* parentheses open at the end of the last line */
  int pending;         /* braceless control headers above the next statement */
  int stmt_level;      /* the level of the statement a continuation continues */
  bool header, cont;   /* the last line began a control header / ended on an operator */
  bool in_comment;     /* inside a block comment that spans lines */
  bool pp_cont;        /* the last line was a preprocessor line continued with a backslash */
  CwVar vars[CW_MAX_VARS]; /* ${name} -> value, replaced in every line written */
  int nvars;
} CWriter;

void cw_init(CWriter *w, StrBuf *out, Arena *arena, int64_t budget);
void cw_free(CWriter *w);
/* Writes text (printf format): complete lines go out indented, ${vars}
 * replaced; a partial line waits for the rest. */
void cw(CWriter *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cw_vwrite(CWriter *w, const char *fmt, va_list ap);
void cw_flush(CWriter *w); /* ends a partial line */
/* Whether `bytes` more fit the budget; if not, over is set (a kernel's
 * tables are checked before they are written). */
bool cw_room(CWriter *w, int64_t bytes);
void cw_var(CWriter *w, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cw_vars_clear(CWriter *w);
/* Strings for the code, in the writer's arena ("" once over budget). */
const char *cw_fmt(CWriter *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *cw_int(CWriter *w, int64_t v);
const char *cw_float(CWriter *w, double f); /* a round-trip literal: 0.1f, NAN, HUGE_VALF */
/* `for (long V0 = 0; V0 < dims[0]; V0++)` ... r deep, braceless: the next
 * line written is their body. */
void cw_loop_nest(CWriter *w, char v, const int64_t *dims, int r);
/* Fills template tmpl's $0 $1 $2 with a, b, c: a target's vector operation. */
const char *cw_op(CWriter *w, const char *tmpl, const char *a, const char *b, const char *c);

/*
 * A target's vector operations on one element type (codegen/target_*.c
 * fill them in; micro-kernels and the activation table write vector code
 * only through them): C templates of their operands $0 $1 $2, filled by
 * cw_op.  A mask is what a comparison gives and blend takes.
 */
typedef struct VecOps {
  int dtype;               /* DType of a lane */
  int lanes;               /* elements a register holds; 0: the target has none */
  const char *vtype, *mtype; /* the vector type; the comparison mask type */
  const char *load, *store;/* load($0 = address); store($0 = address, $1 = vector) */
  const char *set1, *zero; /* set1($0 = an element expression) */
  const char *add, *sub, *mul, *div;
  const char *fma;         /* $0 * $1 + $2, one rounding */
  const char *max, *min;   /* the instruction's own NaN rule: on x86 a NaN in either gives $1 */
  const char *maxnan;      /* max that gives NaN when either is NaN (MaxPool) */
  const char *sqrt, *abs;
  const char *round;       /* to the nearest integer, ties to even */
  const char *lt;          /* mask of $0 < $1 (false for NaN) */
  const char *unord;       /* mask of: $0 or $1 is NaN */
  const char *blend;       /* $0 (a mask) ? $1 : $2, lane by lane */
  const char *ldexp;       /* $0 * 2^$1, $1 an integral value in [-126, 127] */
  const char *getexp;      /* floor(log2($0)) for a positive normal $0, as a float */
  const char *getmant;     /* $0 / 2^getexp($0), in [1, 2), for a positive normal $0 */
  /* 8-bit integer tables (Target.i8; lanes are 32-bit sums, vtype an integer vector): */
  const char *dot4;        /* $0 + per lane the 4 u8 bytes of $1 (s8 with dot_s8) times the
                              4 s8 bytes of $2, int32 */
  int dot_s8;              /* dot4 multiplies s8 by s8 (AArch64's sdot: its u8 x s8 form,
                              usdot, needs i8mm): kernels pack u8 activations as x - 128 */
  const char *xor_;        /* $0 ^ $1, bitwise */
  const char *cvtf;        /* int32 lanes $0 as floats (nearest even) */
  const char *cvti;        /* float lanes $0, integers in int32's range, as int32 */
  const char *cvtrn;       /* float lanes $0 in int32's range, rounded to the nearest (ties to
                              even, whatever the rounding mode), as int32 (NULL: none) */
  const char *store8;      /* the low byte of each of the first $2 lanes of $1 to bytes at $0 */
  const char *widen8;      /* the `lanes` bytes at $0, zero-extended, as the int32 lanes (NULL: none) */
  const char *hsum;        /* the sum of the int32 lanes of $0, as an int32 (NULL: none) */
  const struct VecOps *fops; /* the float operations of the int8 kernels' width, under
                              their attribute (NULL: the target's f32): target_i8_f32 */
  /* The vector whose lane i holds bytes rows[0][i], rows[1][i], rows[2][i],
   * rows[3][i] (rows[k] NULL: 0), for lanes i < n (past n: 0; nothing past
   * rows[k] + n is read): four byte rows interleaved for dot4. */
  const char *(*interleave4)(CWriter *w, const char *const rows[4], int n);
  /* interleave4 of the bytes rows[k][idx[i]], idx the int32 lanes of the
   * vector named idx (4 bytes read at each; NULL: the target has none). */
  const char *(*interleave4x)(CWriter *w, const char *const rows[4], const char *idx);
  /* Byte rows for gathering shifted and strided pixels (simd_qconv.c's
   * KxK kernels; NULL: the target has none): a row holds 2 x lanes bytes
   * (rtype2), a long row 4 x lanes (rtype4).  loadrow2 and loadrow4 load
   * the bytes at $0 whose bit is set in the mask $1 (a runtime integer;
   * the others are not read) and give the byte $2 elsewhere; evens and
   * odds are the even and the odd bytes of a long row as a row;
   * interleave4x2 is interleave4 of four rows (NULL: 0) for their first
   * and their last `lanes` bytes, the two vectors' names in out[]; alignr
   * is the vector of lanes $2.. of the pair ($1 low, $0 high), $2 an
   * integer constant in [0, lanes). */
  const char *rtype2, *rtype4;
  const char *loadrow2, *loadrow4, *evens, *odds, *alignr;
  const char *rfill2;      /* the row of bytes $0 */
  const char *loadrow2m;   /* loadrow2 with the row $2 where the mask $1 is off */
  const char *store8m;     /* store8 of the lanes of $1 in the mask $2, to $0 + lane */
  void (*interleave4x2)(CWriter *w, const char *const rows[4], const char *out[2]);
  const char *attr;        /* the kernel attribute its ops need, replacing the target's
                              isa_attr (NULL: the target's) */
  unsigned cpu;            /* CD_CPU_* bits its ops need besides the target's */
  /* dot4 with weights split ahead (NULL: none): $0 + the dot of the u8 bytes
   * of $1 with a quad of s8 weights given as $2, a pointer to two int32
   * (qconv_wsplit's: the even and the odd weights as 16-bit words), which
   * kernels whose weights are a table of the generated C take. */
  const char *dot4w;
  const char *prelude;     /* helper functions its templates call, written once into a
                              file whose kernels use the table (NULL: none) */
} VecOps;

/* ---------------------------------------------------------------- ir.c */

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum {
  DT_UNDEFINED = 0,
  DT_FLOAT = 1,
  DT_UINT8 = 2,
  DT_INT8 = 3,
  DT_INT32 = 6,
  DT_INT64 = 7,
  DT_BOOL = 9,
  DT_DOUBLE = 11,
} DType;

size_t dtype_size(DType t); /* 0 for types the IR cannot hold */
const char *dtype_name(DType t);  /* "float32", as ONNX says it */
const char *dtype_short(DType t); /* "f32", "u8", "s8", "s32": in kernel names */
const char *dtype_ctype(DType t); /* "float", "uint8_t": what generated C declares */
/* Element i of p, an array of type t, as a double (int64 beyond 2^53
 * rounds), and the store back, saturating to integer types (cd_f2i_sat):
 * for the interpreter's kernels that take every type alike. */
double dtype_get(DType t, const void *p, int64_t i);
void dtype_set(DType t, void *p, int64_t i, double v);
/* The integer types whose graph inputs and outputs the generated API (and
 * interp_run) pass as float arrays holding the integer values: uint8, int8
 * and int32 (docs/embedding.md, "Integer inputs and outputs"); their range
 * in *lo, *hi. */
bool dtype_io_as_float(DType t, int64_t *lo, int64_t *hi);
/* The same for graph outputs: those types, and int64 (the indices ArgMax
 * and ArgMin give), written as the nearest float (exact to 2^24).  An int64
 * input stays one to freeze: no float holds every value of it. */
bool dtype_out_as_float(DType t, int64_t *lo, int64_t *hi);

/*
 * How a value's elements are stored (layout.c).  The dims of a Value are
 * always its logical ONNX shape; the layout says where element (n, c, ...)
 * lives, and so how many bytes the value takes:
 *
 *   LAYOUT_PLAIN   row-major in the logical dims (NCHW, OIHW, ...)
 *   LAYOUT_NCHWC   activations [N][ceil(C/c)][spatial...][c], c = block;
 *                  the lanes of channels >= C may hold anything (zero
 *                  after a Reorder, f(0) after an elementwise f): no
 *                  kernel lets them reach a real lane (a conv reads only
 *                  the real channels of an input's last block)
 *   LAYOUT_WCONV   conv weights [M, C/group, k...] packed for the blocked
 *                  direct conv: [ceil(M/c)][input blocks][k...][iblock][c],
 *                  per output block only the input blocks its groups read,
 *                  zero where an output channel does not read an input
 *                  (iblock = the input's block, 1 for a plain input)
 *   LAYOUT_WGLANES conv weights of a grouped conv whose groups share a
 *                  vector (tile-grouped-conv): [ceil(M/c)][k...][C/group][c],
 *                  lane l of block ob holding W[ob*c + l][j][k]
 *   LAYOUT_WGDOT   the same, for the kernel's dot form: [ceil(M/c)][k...]
 *                  [Mg][c], vector m of block ob holding in lane l, of
 *                  group l / Cg, W[ob*c + l / Cg * Cg + m][l % Cg][k]
 *   LAYOUT_CPAD    a per-channel vector [C] (bias, scale) padded with zeros
 *                  to ceil(C/c)*c, so whole vectors can be loaded
 *   LAYOUT_WDOT4   a [K, N] matrix of bytes (MatMulInteger's constant B)
 *                  for 4-byte dot products: [ceil(N/c)][ceil(K/4)][c][4],
 *                  lane l of quad q of block nb holding B[4q .. 4q+3][nb*c
 *                  + l], zero past K and N
 *   LAYOUT_WWINO   3x3 conv weights [M, C, 3, 3] (one group) in Winograd's
 *                  F(2x2, 3x3) domain (the winograd pass): U = G g G^T, 16
 *                  values per (m, j), stored [16][ceil(M/c)][ceil(C/c)][c
 *                  (input j)][c (output m)], zero past M.  Not a
 *                  reordering: the plain form comes back through G's left
 *                  inverse, exact up to rounding (layout.c)
 */
typedef enum {
  LAYOUT_PLAIN, LAYOUT_NCHWC, LAYOUT_WCONV, LAYOUT_WGLANES, LAYOUT_WGDOT, LAYOUT_CPAD,
  LAYOUT_WDOT4, LAYOUT_WWINO
} LayoutKind;

typedef struct {
  LayoutKind kind;
  int block;           /* channels per block (vector lanes); 1 when plain */
  int iblock;          /* LAYOUT_WCONV: the input activation's block */
  int64_t group;       /* LAYOUT_WCONV/WGLANES/WGDOT: the conv's groups (WWINO: 1) */
} Layout;

typedef struct {
  char *name;          /* ONNX name; never used as a C identifier */
  DType dtype;         /* element type */
  int rank;            /* -1 while unknown */
  int64_t dims[CD_MAX_RANK]; /* logical shape, whatever the layout */
  Layout layout;       /* how the elements are stored (PLAIN unless the layout pass says) */
  void *data;          /* constant contents in `layout` (arena), NULL if computed */
  size_t nbytes;       /* bytes at data; the verifier checks them against the layout */
  int producer;        /* index of the producing node, -1 for inputs/constants */
  int nusers;          /* nodes reading it, recomputed by ir_recount_uses */
  bool is_input;       /* a runtime graph input */
  bool is_output;      /* a graph output */
  bool dead;           /* removed by a pass */
} Value;

typedef enum {
  AT_NONE,
  AT_FLOAT,
  AT_INT,
  AT_STRING,
  AT_TENSOR,
  AT_FLOATS,
  AT_INTS,
  AT_STRINGS,
  AT_OTHER, /* graphs, sparse tensors: kept only to be refused */
} AttrType;

typedef struct {
  char *name;
  AttrType type;
  float f;
  int64_t i;
  char *s;
  int count;        /* elements of ints/floats */
  int64_t *ints;
  float *floats;
  int tensor;       /* AT_TENSOR: index of a constant Value */
  const char *other; /* AT_OTHER: what it is, for messages ("a graph") */
} Attr;

/*
 * Operator parameters.  Each op's parse function reads the attributes (and
 * constant inputs such as Reshape's shape) into this struct once, when the
 * node is loaded; from then on nothing reads the attributes again.  Shape
 * inference is a pure function of these parameters and the input shapes,
 * so it can be re-run after any pass (the verifier does); a pass that
 * changes what a node computes changes its parameters.  Fields marked
 * "derived" are recomputed by inference from the others and the shapes.
 * One flat struct: every op uses the fields it needs.
 */
typedef enum { AUTO_PAD_NOTSET, AUTO_PAD_SAME_UPPER, AUTO_PAD_SAME_LOWER, AUTO_PAD_VALID } AutoPad;

/* One quantized operand of an op of ops/quant.c, from its constant scale
 * and zero point inputs (parameter inputs: parse reads them, no kernel
 * does).  n is 1 per tensor, or the length of the axis the op quantizes
 * along (ops/quant.c says which); the arrays are in the graph's arena. */
typedef struct {
  DType dtype;          /* the quantized type: DT_UINT8, DT_INT8 (DT_INT32: a dequantized x) */
  int64_t n;            /* scales and zero points */
  const float *scale;   /* n scales, finite and positive; NULL for ops without (ConvInteger) */
  const int32_t *zero;  /* n zero points, in dtype's range (zeros when the model gives none) */
} QuantParams;

/* Resize and Upsample (ops/resize.c says what each mode computes). */
typedef enum { RESIZE_NEAREST, RESIZE_LINEAR, RESIZE_CUBIC } ResizeMode;
typedef enum {
  RESIZE_HALF_PIXEL, RESIZE_HALF_PIXEL_SYMMETRIC, RESIZE_PYTORCH_HALF_PIXEL,
  RESIZE_ALIGN_CORNERS, RESIZE_ASYMMETRIC, RESIZE_TF_HALF_PIXEL_FOR_NN,
  RESIZE_TF_CROP_AND_RESIZE
} ResizeCoord;
typedef enum {
  RESIZE_ROUND_PREFER_FLOOR, RESIZE_ROUND_PREFER_CEIL, RESIZE_FLOOR, RESIZE_CEIL,
  RESIZE_SIMPLE /* before opset 11: floor, or ceil when downsampling (as ONNX Runtime) */
} ResizeNearest;
typedef enum { RESIZE_STRETCH, RESIZE_NOT_LARGER, RESIZE_NOT_SMALLER } ResizeAspect;

typedef struct {
  ResizeMode mode;
  ResizeCoord coord;        /* coordinate_transformation_mode */
  ResizeNearest nearest;    /* nearest_mode */
  ResizeAspect aspect;      /* keep_aspect_ratio_policy (opset 18), with sizes */
  float cubic_a;            /* cubic_coeff_a */
  bool exclude_outside;     /* taps outside the input weigh 0, the others renormalised */
  float extrapolation;      /* tf_crop_and_resize: the value outside the ROI */
  bool by_sizes;            /* the output extents were given (sizes), else scales */
  bool resized[CD_MAX_RANK];/* the dim is one of the given axes (all, without axes) */
  double scale[CD_MAX_RANK];/* per dim: as given (by_sizes: derived, sizes / input) */
  int64_t size[CD_MAX_RANK];/* per dim: as given (by_sizes), else -1 */
  double roi[2 * CD_MAX_RANK]; /* tf_crop_and_resize: starts, then ends, per dim */
} ResizeParams;

typedef struct {
  int nsp;                          /* spatial rank of Conv/pool (1..3) */
  int64_t kernel[CD_MAX_SPATIAL];   /* kernel extent per spatial dim (Conv: derived from W) */
  int64_t stride[CD_MAX_SPATIAL];
  int64_t dilation[CD_MAX_SPATIAL];
  int64_t pad0[CD_MAX_SPATIAL];     /* padding before, per spatial dim (derived under SAME/VALID) */
  int64_t pad1[CD_MAX_SPATIAL];     /* padding after */
  AutoPad auto_pad;                 /* Conv/pools */
  int64_t group;                    /* Conv groups; GroupNormalization's num_groups */
  bool ceil_mode;                   /* pools */
  bool count_include_pad;           /* AveragePool */
  bool trans_a, trans_b;            /* Gemm */
  float alpha, beta;                /* Gemm, LeakyRelu, HardSigmoid, Clip bounds */
  float epsilon;                    /* BatchNormalization */
  int64_t axis;                     /* Softmax, Concat, Flatten, Gather */
  int nperm;                        /* Transpose */
  int64_t perm[CD_MAX_RANK];
  int pad_mode;                     /* Pad: 0 constant, 1 reflect, 2 edge */
  int64_t pads[2 * CD_MAX_RANK];    /* Pad: begin[rank] then end[rank] */
  float pad_value;                  /* Pad constant (attribute form) */
  int64_t outer, len, inner;        /* Softmax/Concat/Gather: dims before, on, after the axis (derived) */
  DType to;                         /* Cast */
  int nshape;                       /* Reshape: target shape (0 copies, -1 infers) */
  int64_t shape[CD_MAX_RANK];
  bool allowzero;                   /* Reshape */
  int naxes;                        /* Squeeze/Unsqueeze/Pad/Reduce* axes, as given (-1: none given) */
  int64_t axes[CD_MAX_RANK];
  bool keepdims;                    /* Reduce*: reduced dims stay as 1 */
  bool noop_empty;                  /* Reduce*: noop_with_empty_axes */
  int nslice;                       /* Slice: entries in starts/ends/steps (and axes, if given) */
  int64_t starts[CD_MAX_RANK], ends[CD_MAX_RANK], steps[CD_MAX_RANK]; /* Slice, as given */
  int nsplit;                       /* Split: sizes given (-1: none, split equally) */
  int64_t split[CD_MAX_SPLIT];
  int64_t start, end;               /* Shape: the slice of dims it returns */
  QuantParams q[3];                 /* ops/quant.c: the quantized operands (x, w, y as it says) */
  double num[3];                    /* ConstantOfShape: num[0] its value; Range: start, limit,
                                       delta (float types) */
  int64_t inum[3];                  /* ... the same, exactly, for integer and bool types */
  ResizeParams rs;                  /* Resize, Upsample */
  int64_t blocksize;                /* DepthToSpace, SpaceToDepth */
  bool crd;                         /* DepthToSpace: mode CRD (else DCR) */
  int64_t out_pad[CD_MAX_SPATIAL];  /* ConvTranspose: output_padding (the last dims, as stride) */
  int64_t out_shape[CD_MAX_SPATIAL];/* ConvTranspose: output_shape, when given (0s: not) */
  int reduction;                    /* ScatterND: 0 none, 1 add, 2 mul, 3 max, 4 min */
  bool fmod;                        /* Mod: C's fmod, the sign of the dividend (else the
                                       divisor's, as Python's %) */
  bool last_index;                  /* ArgMax, ArgMin: select_last_index (ties go to the last) */
  const char *equation;             /* Einsum, as given (ops/einsum.c reads it) */
} OpParams;

typedef enum {
#define X(name, id, ...) OP_##id,
#include "ops.def"
#undef X
  OP_COUNT
} OpKind;

/*
 * The schedule of one node (schedule.c): which kernel family runs it on the
 * target (a row of the kernel configurations, codegen/kernels.c), its
 * register tile and cache blocking, and its split over threads.  Decided
 * once after the passes; the emitter, the weight packer, `inspect` and the
 * profiler read it and never decide these themselves.
 */
struct KernelConfig;

/* What a kernel's threads split (the outer loop each share takes a range of). */
typedef enum {
  SPLIT_NONE,   /* one thread runs it all */
  SPLIT_BLOCKS, /* output channel blocks (groups of tile_c / c of them for convs) */
  SPLIT_ROWS,   /* output rows */
  SPLIT_TILES,  /* pixel tiles of a flattened image */
  SPLIT_ELEMS,  /* stored elements, in whole vectors */
} SplitAxis;

#define CD_MAX_THREADS 64
#define CD_MAX_ROUNDS 100 /* cardinal bench --rounds */

typedef struct {
  const struct KernelConfig *family; /* its kernel family (NULL: not scheduled yet) */
  int tile_c;         /* register tile: output channels */
  int tile_p;         /* register tile: output pixels (a row segment for direct convs) */
  int tile_r;         /* register tile: output rows (grouped lanes; 1 elsewhere) */
  int extra;          /* int8 1x1: pixels past the strips, dotted along the channels */
  int64_t kc;         /* cache block of the reduction, in input channel blocks (0: whole) */
  bool ob_outer;      /* loop order: output blocks outside the pixels (else pixels outside;
                         conv_wino: an image as one strip, its output groups split) */
  const char *order;  /* that order for people ("blocks", "blocks+pf" with prefetch, "pixels"),
                         NULL where it has none */
  bool prefetch;      /* blocked conv, blocks outside, flat pixels: the pixel tiles of an
                         output group prefetch the next group's weights (emit_prefetch) */
  int threads;        /* threads its work is split over (1: thread 0 runs it) */
  SplitAxis split;    /* what is split */
  int64_t units;      /* how many of them */
  int64_t share[CD_MAX_THREADS + 1]; /* thread t takes units [share[t], share[t+1]) */
  int64_t chunk;      /* > 0: the tail of each share, [own[t], share[t+1]), is claimed in
                         chunks of this many units by whichever thread is free first */
  int64_t own[CD_MAX_THREADS]; /* with chunk: where thread t's tail starts */
  double imbalance;   /* largest share / mean share (1: even) */
  char kernel[128];    /* the C name of its kernel: op, dtype, target, tile, node */
} Schedule;

/*
 * A fused epilogue, applied to a Conv or Gemm output per element after the
 * op itself (and its bias):
 *
 *   y = act(y + residual * residual_scale[channel])
 *
 * The residual and its per-channel scale are values the node reads besides
 * its op inputs: they are not part of the op's arity (ops.def), but every
 * walk over what a node reads (liveness, verification, the planner) sees
 * them through node_nreads/node_read.  Scales of BatchNormalization are
 * folded into weights, not kept here.
 */
typedef struct {
  int residual;       /* value index of the residual operand (same shape as the output), or -1 */
  int residual_scale; /* value index of a [C] float constant scaling it, or -1 */
  OpKind act;         /* OP_COUNT for none, else a unary op (Relu, Clip, ...) */
  float act_alpha, act_beta; /* its parameters (LeakyRelu slope, Clip bounds) */
} Epilogue;

typedef struct {
  OpKind op;          /* OP_COUNT for an op Cardinal does not know */
  char *op_type;      /* as written in the model */
  char *domain;       /* "" for the default ONNX domain */
  char *name;         /* node name, may be empty */
  int opset;          /* opset version in force for its domain */
  int nin, nout;
  int *in;            /* op inputs: value indices, -1 for an omitted optional input */
  int *out;
  int nattrs;
  Attr *attrs;        /* as loaded; read only by the op's parse function */
  OpParams p;         /* filled by the op's parse function, kept current by passes */
  Epilogue ep;        /* fused work after the op (Conv, Gemm) */
  Schedule sched;     /* how it runs: kernel family, tiles, threads (schedule.c) */
  bool dead;          /* removed by a pass */
  struct AttrLog *attr_log; /* NULL, or where node_attr records the names asked for */
} Node;

/* The attribute names an op's functions asked node_attr for, so the DSL can
 * refuse a keyword no function reads (MaxPool(x, kernel=...)). */
typedef struct AttrLog {
  const char *name[32];
  int n;
  const char *bad;     /* the first one of the wrong type (attr_get reported it) */
} AttrLog;

/* What node n reads: its op inputs, then its epilogue's operands; a
 * read may be -1 (an omitted input, no residual). */
static inline int node_nreads(const Node *n) { return n->nin + 2; }
static inline int node_read(const Node *n, int k) {
  return k < n->nin ? n->in[k] : k == n->nin ? n->ep.residual : n->ep.residual_scale;
}
/* Whether node n has its k-th op input (ONNX omits trailing ones and
 * writes "" for one in the middle: -1 here). */
static inline bool node_has_input(const Node *n, int k) { return k < n->nin && n->in[k] >= 0; }

/* A dim of a graph input the model leaves open (an ONNX dim_param, or no
 * value): the loader makes it 1, `--shape` fixes it (toolchain.c). */
typedef struct {
  int value;          /* the graph input */
  int dim;            /* which of its dims */
  const char *param;  /* its name in the model ("" if none) */
  bool by_shape;      /* fixed by --shape (else the loader's 1) */
} SymbolicDim;
/*
 * What one model may ask of the compiler (README, "Limits").  A model file
 * is hostile input: each quantity below is checked where it is first
 * known -- a shape at inference, a file before it is read, work as it is
 * done -- so no file makes the compiler overflow, exhaust memory or run
 * unbounded.  Each Graph carries its own copy: graph_new sets the
 * defaults, `--max-tensor-bytes` changes the one users may need to.
 */
typedef struct {
  int64_t tensor_elements; /* elements of one tensor, and any dim (2^31: generated
                              code indexes with long, 32 bits on some targets) */
  int64_t tensor_bytes;    /* bytes of one tensor (4 GiB; --max-tensor-bytes) */
  int nodes;               /* nodes of one graph, as loaded or made by the DSL */
  int64_t fold_work;       /* element operations (multiply-adds for Conv, Gemm,
                              MatMul) constant folding may spend */
  int64_t fold_bytes;      /* bytes of constants folding may make, beyond the bytes
                              of the model's own constants (Graph.source_bytes) */
  int64_t code_bytes;      /* bytes of generated C, the weights aside */
  int64_t param_bytes;     /* bytes of parameters a DSL model may declare */
  int64_t dsl_steps;       /* evaluation steps a DSL model may take (loops nest) */
  int64_t dsl_value_bytes; /* bytes of strings and lists a DSL model may build
                              (labels and names made of them included) */
} Limits;

extern const Limits cd_default_limits;

typedef struct {
  Arena arena;        /* owns everything below */
  Value *values;
  int nvalues, cap_values;
  Node *nodes;        /* topological order once loaded */
  int nnodes, cap_nodes;
  int *inputs;        /* runtime inputs, model order */
  int ninputs;
  int *outputs;       /* graph outputs, model order */
  int noutputs;
  char *source;       /* model path, for messages and generated headers */
  uint64_t hash;      /* hash of the model file, for the generated header */
  int64_t source_params; /* learnable parameters as loaded (no BN running stats) */
  const struct Target *target; /* what the passes prepare it for (layout, tiling); NULL: none yet */
  int threads;        /* threads the schedule splits each layer over (1..CD_MAX_THREADS) */
  int64_t split_min;  /* work below which a layer stays on one thread (0: the schedule's
                         SPLIT_MIN_WORK; the tests' 1 splits every layer that can) */
  SymbolicDim *symdims; /* open dims of the inputs, as loaded (arena) */
  int nsymdims;
  Limits limits;      /* what this model may ask for (graph_new: the defaults) */
  int64_t fold_work;  /* constant folding so far: element operations ... */
  int64_t fold_bytes; /* ... and bytes made (against limits.fold_*) */
  int64_t source_bytes; /* bytes of the constants the model brought (its initializers and
                           Constant tensors, a DSL model's parameters): folding may make
                           as many again beyond limits.fold_bytes, so a model whose
                           exporter left a Transpose on each weight folds every one */
  bool io_quantized;  /* --io quantized (pass_quantized_io): every input and output is
                         passed in its own dtype, none as floats holding integers */
  QuantParams *input_q, *output_q; /* with io_quantized, per input / output k: the scale
                         and zero point it is quantized at (n 1), or n 0 (not quantized) */
} Graph;

/* Whether graph input or output v reaches the generated API as floats holding
 * its integers (dtype_io_as_float's types), which --io quantized turns off:
 * there every input and output is passed in its own dtype. */
bool graph_io_as_float(const Graph *g, int v, int64_t *lo, int64_t *hi);
/* The same for graph output v: dtype_out_as_float's types (int64 too). */
bool graph_out_as_float(const Graph *g, int v, int64_t *lo, int64_t *hi);
Graph *graph_new(void);
void graph_free(Graph *g);
int graph_add_value(Graph *g, const char *name);
/* A node of op `op` (OP_COUNT: one Cardinal does not know) spelt op_type. */
int graph_add_node(Graph *g, OpKind op, const char *op_type, int nin, int nout);
int graph_find_value(const Graph *g, const char *name); /* -1 if none */
void value_set_shape(Value *v, DType t, int rank, const int64_t *dims);
/* Makes v a constant: data (arena, or shared with another constant) of nbytes. */
void value_set_data(Value *v, void *data, size_t nbytes);
void *value_alloc_data(Graph *g, int v); /* zeroed storage for v's shape and layout */
int64_t value_numel(const Value *v);  /* INT64_MAX if the product overflows */
size_t value_bytes(const Value *v);    /* SIZE_MAX if it overflows */
/* Whether v's shape is within g's limits: every dim in [0, tensor_elements],
 * the product of its nonzero dims and its bytes within the tensor limits (so
 * no product of some of its dims can overflow).  If not, why[n] says why. */
bool value_size_ok(const Graph *g, const Value *v, char *why, size_t n);
const char *node_label(const Node *n); /* name, or op type if unnamed */
const Attr *node_attr(const Node *n, const char *name);
/* An attribute of the type the op's spec gives it.  attr_get sets *out to
 * attribute `name` of n, or NULL if n has none; one of another type is an
 * error naming the node, the attribute, the type given and the type
 * expected (false), never its default taken silently.  An int passes
 * where a float is expected (ONNX's checker refuses it; its value is
 * exact).  attr_int, attr_float and attr_string return the value, or dflt
 * when absent or of the wrong type (reported: node_setup fails a parse
 * that reported an error). */
bool attr_get(const Node *n, const char *name, AttrType want, Diag *d, const Attr **out);
int64_t attr_int(const Node *n, const char *name, int64_t dflt, Diag *d);
float attr_float(const Node *n, const char *name, float dflt, Diag *d);
const char *attr_string(const Node *n, const char *name, const char *dflt, Diag *d);
void ir_recount_uses(Graph *g);
void graph_compact(Graph *g); /* drop dead nodes, re-sort topologically */
int node_add_input(Graph *g, Node *n, int v); /* appends an op input, returns its slot */
void graph_replace_reads(Graph *g, int from, int to); /* every read of from reads to */
int graph_add_const(Graph *g, const char *name, int rank, const int64_t *dims); /* zeroed float32 */
/* A constant of type t and shape dims[rank] (rank 0: a scalar) holding a
 * copy of data. */
int graph_add_typed_const(Graph *g, const char *name, DType t, int rank, const int64_t *dims,
                          const void *data);
bool value_single_use(const Graph *g, int v); /* one reader, not a graph output */
bool value_same_shape(const Value *a, const Value *b);
void node_take_output(Graph *g, Node *n, Node *dead); /* n writes dead's output; dead dies */
/* The same in O(1): the use counts lose dead's reads, and the caller adds
 * those of any read it gave n (node_take_output recounts every node: a
 * pass doing it per node was quadratic). */
void node_take_output_counted(Graph *g, Node *n, Node *dead);
bool node_has_epilogue(const Node *n);
void epilogue_eval(Graph *g, Node *n, void **data);      /* interp.c */
bool value_is_const(const Graph *g, int v);

/* ---------------------------------------------------------------- layout.c */

bool layout_equal(Layout a, Layout b);
const char *layout_name(Layout l, char *buf, size_t n); /* "nchw16c", "plain" */
int64_t value_storage_numel(const Value *v);  /* elements stored, padding included */
size_t value_storage_bytes(const Value *v);
/* LAYOUT_WCONV: output block ob reads input blocks [*lo, *lo + *nb). */
void wconv_blocks(const Value *w, int64_t ob, int64_t *lo, int64_t *nb);
/* Whether conv weight w packed as l reads the same number of input blocks
 * for every output block (what the blocked kernel needs). */
bool wconv_uniform(const Value *w, Layout l);
void layout_to_plain(const Value *v, const void *stored, void *plain);
void layout_from_plain(const Value *v, const void *plain, void *stored); /* pads with 0 */
/* Gives value vi layout l; a constant's contents are repacked. */
bool value_set_layout(Graph *g, int vi, Layout l);
/* A new constant holding constant v's contents in layout l (v may have
 * other readers: an initializer shared between nodes is never repacked in
 * place); v itself when it is absent (-1) or already in l. */
int value_packed_copy(Graph *g, int v, Layout l);

/* ---------------------------------------------------------------- ops.c */

/* One row of the operator table (ops.def). */
typedef struct {
  const char *name;
  int min_in, max_in;         /* -1 max: variadic */
  int min_out, max_out;
  unsigned flags;             /* OPF_* */
  unsigned param_inputs;      /* bit k: input k is read by parse, never by a kernel */
  const char *dsl_name;       /* the DSL's lowercase convenience, "" for none */
  bool (*parse)(Graph *g, Node *n, Diag *d);   /* attrs, const inputs -> params (once) */
  bool (*infer)(Graph *g, Node *n, Diag *d);   /* params, input shapes -> output shapes */
  void (*eval)(Graph *g, Node *n, void **data); /* reference semantics, plain layouts */
  bool (*emit)(CWriter *w, Graph *g, Node *n); /* the portable scalar C kernel body */
} OpInfo;

bool conv_is_pointwise(const OpParams *p); /* conv.c: 1x1, unpadded */
/* conv.c, for Conv and the integer convs (ops/quant.c), whose input x and
 * weight w are inputs xi and wi: the attributes (groups, kernel_shape and
 * the spatial ones) and the output shape (rank in *rank, dims[rank]),
 * p->kernel set from w. */
bool conv_attrs_parse(Graph *g, Node *n, Diag *d, int xi, int wi);
bool conv_shape_infer(Graph *g, Node *n, Diag *d, int xi, int wi, int *rank, int64_t *dims);
/* quant.c: QLinearAdd's loop over output elements [lo, hi) (C expressions). */
void qadd_loop(CWriter *w, Graph *g, Node *n, const char *lo, const char *hi);
/* Its multipliers a_scale / y_scale and b_scale / y_scale, as it computes them. */
void qadd_multipliers(const Node *n, float *ma, float *mb);
/* quant.c: quant.h, for generated sources whose kernels call it. */
const char *quant_scalar_source(void);
void conv_scalar_tile(const Graph *g, const Node *n, Schedule *s); /* its scalar kernel's tiles */
/* elementwise.c: the kernel over stored elements [i0, i1) of an op whose
 * operands all have the output's shape and layout. */
void elementwise_flat(CWriter *w, Graph *g, Node *n, const char *i0, const char *i1);
/* ... of a binary op whose other operand is a run of C values, repeated
 * over the rows and each over `inner` elements (plain): rows [r0, r1) of C
 * (inner = 1), else runs [r0, r1) of inner elements. */
void elementwise_rows(CWriter *w, Graph *g, Node *n, int64_t C, int64_t inner, const char *r0,
                      const char *r1);
/* reorder.c: the Reorder kernel over output blocks [u0, u1) of n * C/c. */
void reorder_loops(CWriter *w, Graph *g, Node *n, const char *u0, const char *u1);
/* act.c, the activation table (every OPF_ACTIVATION op has a row): op
 * with parameters a, b (an epilogue's act_alpha, act_beta) applied to x by
 * the reference (the interpreter), as generated scalar C (a call of act.h,
 * which act_scalar_source gives for the source), or as a vector expression
 * over target operations o (calling the cd_v_* helpers act_write_vector
 * writes once per source, when act_uses_helpers). */
float act_apply(OpKind op, float x, float a, float b);
const char *act_scalar(CWriter *w, OpKind op, float a, float b, const char *x);
const char *act_vector(CWriter *w, const VecOps *o, OpKind op, float a, float b, const char *x);
bool act_uses_helpers(OpKind op);
const char *act_scalar_source(void);
void act_write_vector(CWriter *w, const VecOps *o, const char *attr);
/* The statement applying n's epilogue to lvalue `y` (element index `idx`
 * into the residual r, channel `chan` of the scale rs), or "" when n has
 * none. */
const char *epilogue_stmt(CWriter *w, Node *n, const char *y, const char *idx,
                          const char *chan);

enum {
  OPF_ALIAS = 1,        /* output is the input's bytes reshaped: no kernel */
  OPF_SHAPE = 2,        /* only ever folded at compile time (Shape) */
  OPF_ELEMENTWISE = 4,  /* broadcasting arithmetic: an elementwise kernel on any layout
                           when every operand has the output's shape */
  OPF_ACTIVATION = 8,   /* unary float -> float: fusable into an epilogue
                           (it has a row in the activation table, act.c), a step of a
                           merge-paths path, elementwise on any layout */
  OPF_PER_CHANNEL = 16, /* params are per channel (dim 1): merge-paths stacks them */
  OPF_INTERNAL = 32,    /* made by passes only, never loaded from a model (Reorder) */
  OPF_TYPED = 64,       /* its portable kernel is written for its operands' dtypes (it
                           moves, compares, selects or converts), not for float32 only */
  OPF_INTEGER = 128,     /* its scalar kernel reads and writes the integer dtypes its infer
                           admits (uint8, int8, int32), not float32 only; it calls quant.h */
};

extern const OpInfo op_table[OP_COUNT];
OpKind op_lookup(const char *op_type, const char *domain);
int graph_add_op(Graph *g, OpKind op, int nin, int nout); /* a node of a known op (passes) */
/* Whether read k of n (node_read) is an operand its kernel reads at run
 * time: present, and not a parameter input its parse consumed.  The planner
 * places exactly these (and what kernels write), the emitter passes them. */
bool node_runtime_read(const Node *n, int k);

/* Shared helpers for op files. */
bool op_check_arity(Graph *g, Node *n, Diag *d);
bool op_broadcast(Diag *d, const Node *n, int na, const Value **vs, int *rank,
                  int64_t *dims);
void broadcast_strides(const Value *v, int rank, const int64_t *dims,
                       int64_t *strides);
/* Broadcast operands.  op_bcast_read: the C expression reading operand x
 * (value v) at output coordinate (i0, i1, ...: cw_loop_nest's 'i') of an
 * output of dims[rank], x[0 + i0 * s0 + ...] with the dims v broadcasts
 * left out.  BcastIter: the same walk in the interpreter, the output's
 * elements in order with each operand's element offset. */
const char *op_bcast_read(CWriter *w, const Value *v, int rank, const int64_t *dims,
                          const char *x);
#define CD_BCAST_MAX 4 /* operands of one walk (Where has 3) */
typedef struct {
  int n, rank;                          /* operands; the output's rank */
  int64_t dims[CD_MAX_RANK];            /* the output's dims */
  int64_t st[CD_BCAST_MAX][CD_MAX_RANK];/* per operand, 0 where it broadcasts */
  int64_t idx[CD_MAX_RANK];             /* the output coordinate */
  int64_t off[CD_BCAST_MAX];            /* per operand: its element at idx */
} BcastIter;
void bcast_begin(BcastIter *it, const Value *y, int n, const Value *const *xs);
void bcast_next(BcastIter *it); /* to the next output element, row-major */
int64_t normalize_axis(int64_t axis, int rank);
bool op_const_ints(Graph *g, Node *n, int input, Diag *d, int64_t *out,
                   int *count, int max);
double value_scalar(const Graph *g, int v, double dflt); /* constant scalar */
void sp_dims3(const Value *v, int nsp, int64_t *out); /* conv.c */

/* gemm.c: MatMul's operands seen as batched matrices (numpy matmul). */
typedef struct {
  int brank;                  /* broadcast batch rank */
  int64_t bdims[CD_MAX_RANK]; /* batch dims of the output */
  int64_t M, K, N;
} MatMulShape;
bool matmul_shape(const Value *a, const Value *b, MatMulShape *s);
/* reduce.c: whether reduction n of x reduces its trailing dims only (each
 * output a run of *count contiguous elements, the outputs in order). */
bool reduce_trailing(const Node *n, const Value *x, int64_t *count);
/* slice.c: Slice n's first index and step along every dim of x (false
 * where inference would refuse its axes). */
bool slice_begin_step(const Node *n, const Value *x, int64_t *begin, int64_t *step);
/* Resize's per-dim taps (ops/resize.c), which its interpreter and kernels
 * share: output coordinate o of a dim reads input indices idx[o * taps + t]
 * with weights w[o * taps + t]; outside[o]: tf_crop_and_resize's
 * extrapolation (NULL if never).  identity: o reads o alone, weight 1. */
typedef struct {
  int taps;
  int64_t *idx;
  float *w;
  bool *outside;
  bool identity;
} AxisTable;
void resize_tables(const Graph *g, const Node *n, AxisTable *t); /* one per dim */
void resize_tables_free(const Graph *g, const Node *n, AxisTable *t);
/* Element offset in v of batch `bi` of the output's batch dims. */
int64_t matmul_batch_offset(const Value *v, const int64_t *bdims, int brank, int64_t bi);
/* pad.c: input coordinate of output coordinate o along a dim, or -1 (pad). */
int64_t pad_source(int mode, int64_t o, int64_t begin, int64_t in);
/* conv.c: the outputs o in [*lo, *hi) of a dim (in inputs, out outputs)
 * whose input o * s - p + k * dl (tap k) is in [0, in). */
void conv_tap_range(int64_t in, int64_t out, int64_t s, int64_t p, int64_t k, int64_t dl,
                    int64_t *lo, int64_t *hi);
/* conv.c: the spatial attributes Conv and the pools share.  _parse reads
 * strides, dilations, pads and auto_pad; _infer computes the output extents
 * (and the pads SAME/VALID imply) from p->kernel and the input extents. */
bool op_spatial_parse(Node *n, Diag *d, int nsp);
bool op_spatial_infer(Node *n, Diag *d, int nsp, const int64_t *in_sp, int64_t *out_sp);

/* Every op's functions, declared from the table. */
#define X(name, id, minin, maxin, minout, maxout, flags, params, fn, dsl) \
  bool fn##_parse(Graph *g, Node *n, Diag *d);                    \
  bool fn##_infer(Graph *g, Node *n, Diag *d);                    \
  void fn##_eval(Graph *g, Node *n, void **data);                 \
  bool fn##_emit(CWriter *w, Graph *g, Node *n);
#include "ops.def"
#undef X

/* ---------------------------------------------------------------- infer.c */

/* Shape inference over the whole graph in order: each node is set up
 * (arity checked, attributes parsed, shapes inferred); nodes whose inputs
 * are all constant (or whose output depends only on shapes) are evaluated on
 * the spot, so shape arithmetic folds away as it is met. */
bool graph_infer(Graph *g, Diag *d);
bool node_setup(Graph *g, Node *n, Diag *d);  /* arity, parse, infer: a new node */
bool node_infer(Graph *g, Node *n, Diag *d);  /* infer only: re-runnable at any time */

/* An Einsum's equation resolved against its operands' shapes (ops/einsum.c):
 * every label (a letter, or one dim an ellipsis stands for) with its
 * extent, where each operand and the output hold it.  The lower-einsum
 * pass reads it to find the matmul forms. */
#define EIN_MAX_LABELS (2 * CD_MAX_RANK)
typedef struct {
  int nop;                            /* operands: 1 or 2 */
  int nlab;                           /* distinct labels */
  int64_t ext[EIN_MAX_LABELS];        /* extent of each label */
  int rank[2];                        /* each operand's rank */
  int lab[2][CD_MAX_RANK];            /* the label of each operand dim */
  int64_t stride[2][EIN_MAX_LABELS];  /* element stride per label (summed over a repeated
                                         label: the diagonal; 0: absent or broadcast) */
  int nout;                           /* the output's rank */
  int out[CD_MAX_RANK];               /* the label of each output dim */
  bool in_out[EIN_MAX_LABELS];        /* the label is an output dim (else summed) */
  bool repeated;                      /* a label twice in one operand (a diagonal) */
  bool broadcast;                     /* an ellipsis dim of 1 against a larger one */
} EinsumPlan;
bool einsum_plan(const Graph *g, const Node *n, EinsumPlan *e, Diag *d);
bool node_is_foldable(const Graph *g, const Node *n);
bool node_fold(Graph *g, Node *n, Diag *d);

/* ---------------------------------------------------------------- interp.c */

/* Runs the graph on its inputs (model input order); outputs are malloc'd,
 * one per graph output, in output order.  Inputs and outputs are float
 * arrays, as in the generated API: a uint8, int8 or int32 one holds its
 * integer values as floats (dtype_io_as_float), and an input value that is
 * not one (a fraction, out of range) is an error. */
bool interp_run(Graph *g, const float *const *inputs, float **outputs,
                Diag *d);
/* interp_run, calling observe(ctx, g, v, data) on each value v a node
 * computes, as it is computed (data in v's layout, valid during the call). */
typedef void (*InterpObserver)(void *ctx, const Graph *g, int v, const void *data);
bool interp_run_observed(Graph *g, const float *const *inputs, float **outputs,
                         InterpObserver observe, void *ctx, Diag *d);
/* Evaluates one node on data[] (per value, in the value's layout). */
void node_eval(Graph *g, Node *n, void **data);

/* ---------------------------------------------------------------- verify.c */

bool ir_verify(Graph *g, Diag *d); /* the strict verifier; see verify.c */
void ir_dump(const Graph *g, FILE *f);
/* NULL when the layouts node n reads and writes are ones it can run on. */
const char *node_layout_error(const Graph *g, const Node *n);

/* ---------------------------------------------------------------- passes.c */

typedef struct {
  char name[32];
  int nodes_before, nodes_after;
  int changes;
  char what[160]; /* e.g. "removed 3 Identity" */
  char error[400]; /* why the pass refused the graph (it returned false), or "" */
  double ms;
} PassStats;

typedef struct {
  const char *name;
  bool (*fn)(Graph *g, PassStats *st);
  bool in_default;
} PassInfo;

#define CD_MAX_PASSES 32 /* at least pass_count (passes.c asserts it): size order[] by it */
extern const PassInfo pass_list[];
extern const int pass_count;
/* Parses LIST ("default", "none", "a,b", "default,-a") into pass indices,
 * each pass at most once (at most pass_count of them), in the order first
 * named. */
bool passes_parse(const char *list, int *order, int *n, Diag *d);
bool passes_run(Graph *g, const int *order, int n, PassStats *stats,
                bool verify, const char *dump_after, FILE *dump, Diag *d);

bool pass_fold_qdq(Graph *g, PassStats *st);
bool pass_fold_constants(Graph *g, PassStats *st);
bool pass_fold_bn(Graph *g, PassStats *st);
bool pass_convtranspose_to_conv(Graph *g, PassStats *st);
bool pass_bn_to_conv(Graph *g, PassStats *st);
bool pass_merge_paths(Graph *g, PassStats *st);
bool pass_fuse_residual(Graph *g, PassStats *st);
bool pass_fuse_activation(Graph *g, PassStats *st);
bool pass_eliminate_identity(Graph *g, PassStats *st);
bool pass_fold_pad(Graph *g, PassStats *st);
bool pass_tile_grouped_conv(Graph *g, PassStats *st);
bool pass_winograd(Graph *g, PassStats *st);
bool pass_layout(Graph *g, PassStats *st);
bool pass_dce(Graph *g, PassStats *st);
bool pass_lower_einsum(Graph *g, PassStats *st);
bool pass_gemm_from_matmul(Graph *g, PassStats *st);
bool pass_fuse_gelu(Graph *g, PassStats *st);
bool pass_fuse_swish(Graph *g, PassStats *st);
/* Not in pass_list: run by load_model for --io quantized (passes/quantized_io.c). */
bool pass_quantized_io(Graph *g, PassStats *st);

/* ---------------------------------------------------------------- rewrite.c */

/* Rewrites several passes share (a pass never calls another pass). */
typedef struct {
  float *a, *t; /* per-channel scale and shift, malloc'd */
  int64_t C;
} Affine;
bool bn_affine(Graph *g, Node *bn, Affine *f); /* BN(y) = a y + t; false unless constant */
/* Folds BN node bi into its input's producer: 1 direct, 2 through an Add, 0 not. */
int rewrite_fold_bn(Graph *g, int bi);
bool is_fusable_activation(const Graph *g, const Node *n); /* OPF_ACTIVATION, constant params */
bool rewrite_fuse_activation(Graph *g, Node *p); /* p's single activation reader into p */
/* A new node op(ins) (default parameters; a Gemm gets transB = 1) writing
 * value out (made if -1), its shapes inferred; returns its index.  The _attr
 * form gives it one int attribute first (Cast's to, DequantizeLinear's
 * axis). */
int rewrite_add_node(Graph *g, OpKind op, int nin, const int *ins, int out, int opset);
int rewrite_add_node_attr(Graph *g, OpKind op, int nin, const int *ins, int out, int opset,
                          const char *attr, int64_t value);
/* Pattern matching: whether v is a constant float of one element within
 * rel (relative) of want; the operand of binary node n other than v (-1 if
 * n does not read v); the live node of op `op` that is v's only reader
 * (reader: each value's reader, as the pass indexed them), or NULL. */
bool const_scalar_near(const Graph *g, int v, float want, float rel);
int other_operand(const Node *n, int v);
Node *only_reader(Graph *g, const int *reader, int v, OpKind op);

/* ---------------------------------------------------------------- codegen/target_*.c */

/*
 * A code generation target (DESIGN.md, "Targets, layouts and the
 * schedule"): a table, not a fork.  It says how wide its vectors are, which
 * CPU features the code needs and how to enable them, and spells the
 * vector operations the generic micro-kernel emitters (codegen/simd_*.c)
 * are written in.  What a target lacks falls back to the op's scalar C.
 */
typedef struct Target {
  const char *name;        /* as --target spells it */
  int block;               /* channels of an NCHWc block: the 32-bit lanes of a vector
                              register (fp32 values, int32 sums); 1 for scalar */
  int nregs;               /* vector registers */
  int64_t l1, l2;          /* data cache bytes per core the schedule blocks for */
  const char *isa_attr;    /* function attribute enabling the ISA ("" for none) */
  const char *include;     /* headers (and an #error for the wrong architecture) */
  unsigned cpu_features;   /* CD_CPU_* bits (cardinal_rt.h) checked before the first kernel */
  const char *cc_check;    /* C preprocessor condition true where the intrinsics compile */
  VecOps f32;              /* fp32 vector operations (lanes 0: none) */
  VecOps i8;               /* 8-bit integer operations, u8 x s8 dot products into int32
                              lanes (lanes 0: none) */
  /* The vector whose lanes in each group of cg consecutive lanes all hold
   * lane j of that group of x (cg divides block): what lets several groups
   * of a grouped conv share a vector.  NULL where the target cannot. */
  const char *(*group_bcast)(CWriter *w, int cg, int j, const char *x);
  /* The dot form of a grouped conv (LAYOUT_WGDOT) for groups of dot_cg
   * channels (0: none): group_sum writes the statements folding acc[0..cg)
   * -- lanes (group, input channel j), one vector per output channel m --
   * into one vector of (group, m) lanes, and returns its name. */
  int dot_cg;
  const char *(*group_sum)(CWriter *w, int cg, const char *const *acc);
} Target;

/* The vector operations target t has for dtype dt, or NULL (then kernels
 * of that dtype are its ops' scalar C). */
const VecOps *target_vec(const Target *t, DType dt);

extern const Target target_scalar, target_avx2, target_avx512, target_avx512_novnni, target_neon;
/* Whether t's int8 kernels have 32 registers of 16 int32 lanes (the wide
 * register tiles), not avx2's 16 of 8. */
bool target_i8_wide(const Target *t);
/* The float operations t's int8 kernels use (their requantization): the
 * int8 table's fops, else t's f32. */
const VecOps *target_i8_f32(const Target *t);
const Target *target_find(const char *name); /* NULL if unknown; "native" = best for this host */
const char *target_names(void);              /* "scalar, avx2, ..." for messages */

/* ---------------------------------------------------------------- codegen/kernels.c */

/*
 * Kernel configurations, as data (in the spirit of XNNPACK's per-(op,
 * dtype, ISA) configs): every kernel family is one row, defined beside its
 * emitter (codegen/simd_*.c) and listed in kernels.c, most specific first.
 * The schedule gives each node the first row that runs it on the target as
 * laid out; the layout passes ask the rows what can run blocked.  A new
 * family (an int8 conv, a bf16 GEMM) is a row and its emitter file.
 */
typedef struct Emitter Emitter;

typedef struct KernelConfig {
  const char *name;   /* the family, as inspect shows it ("conv_blocked") */
  DType x, w, y;      /* dtypes of input 0, input 1 (weights) and output 0; DT_UNDEFINED: any */
  unsigned flags;     /* KC_* */
  /* Whether n, as laid out, is this family's (the generic checks -- dtypes,
   * the target's vector operations for y -- are done first). */
  bool (*runs)(const Graph *g, const Node *n, const Target *t);
  /* Before the layout pass (KC_BLOCKED rows): whether n could run on NCHWc
   * in this family on t; NULL: the layout pass never picks it. */
  bool (*can)(const Graph *g, const Node *n, const Target *t);
  /* Its register tile, cache blocking and loop order (NULL: none). */
  void (*tile)(const Graph *g, Node *n, const Target *t, Schedule *s);
  /* The outer loop its threads split and that loop's units (NULL: one thread). */
  SplitAxis (*split)(const Graph *g, const Node *n, const Target *t, int threads,
                     int64_t *units);
  /* The kernel body (codegen), NULL for KC_ALIAS. */
  bool (*emit)(Emitter *e, Graph *g, Node *n);
  /* Declarations its kernels share, written once before the first kernel
   * of a model that has some node for which wants() holds (NULL: none). */
  const char *prelude;
  bool (*wants)(const Graph *g, const Node *n);
  /* Bytes of scratch each thread's call needs (NULL: none): the plan keeps
   * the most any node asks, per thread, after every buffer; the kernel
   * takes its thread's part as `float *sc`. */
  int64_t (*scratch)(const Graph *g, const Node *n, const Target *t);
  const char *tag;    /* appended to the op part of its kernels' names ("wino"), or NULL */
} KernelConfig;

enum {
  KC_VECTOR = 1,  /* needs the target's vector operations for its y dtype */
  KC_BLOCKED = 2, /* runs on NCHWc activations (the layout pass asks `can`) */
  KC_ALIAS = 4,   /* no kernel: the output is the input's bytes */
  KC_SCALAR = 8,  /* the op's portable C kernel (ops/<family>.c), on thread 0 */
  KC_VMATH = 16,  /* calls the activation table's vector helpers (cd_v_exp ...) itself */
};

extern const KernelConfig *const kernel_configs[]; /* NULL-terminated, most specific first */
/* The first row running n on t as laid out (never NULL: the scalar row runs anything). */
const KernelConfig *kernel_config_for(const Graph *g, const Node *n, const Target *t);
const KernelConfig *kernel_config_named(const char *name); /* NULL if none */
/* Whether t has a family running n on NCHWc activations (a KC_BLOCKED row
 * whose `can` holds; the layout pass asks before it moves n). */
bool node_can_block(const Graph *g, const Node *n, const Target *t);
/* simd_conv.c: the input block a blocked conv reads: the target's c, or 1
 * (plain) for an input of fewer than c channels not already blocked. */
int conv_input_block(const Graph *g, const Node *n, const Target *t);
/* Whether t runs the grouped conv n with several groups a vector
 * (LAYOUT_WGLANES; the tile-grouped-conv pass asks). */
bool conv_can_glanes(const Graph *g, const Node *n, const Target *t);
/* Whether such a conv takes the dot form (LAYOUT_WGDOT) on t. */
bool conv_glanes_dot(const Graph *g, const Node *n, const Target *t);
/* Whether t runs the blocked conv n in Winograd's F(2x2, 3x3)
 * (LAYOUT_WWINO; the winograd pass asks). */
bool conv_can_wino(const Graph *g, const Node *n, const Target *t);
/* simd_gemm.c: whether t has a vector kernel for Gemm n with B^T packed
 * (the layout pass packs it). */
bool gemm_can_pack(const Graph *g, const Node *n, const Target *t);
/* simd_qmatmul.c: whether t has a vector kernel for MatMulInteger n with
 * its constant B packed as LAYOUT_WDOT4 (the layout pass packs it). */
bool qmatmul_can_pack(const Graph *g, const Node *n, const Target *t);
/* simd_qconv.c: opens the int8 kernels' loop over quads of a sum of C
 * terms: part 0 the whole quads (`for (long k ...) {`), part 1 the last
 * partial one (`{ const long k = C / 4;`); returns the quad's bytes (4,
 * or C % 4), 0 when there is nothing to open.  The caller closes it. */
int qc_quads_open(Emitter *e, int64_t C, int part);
/* A stride-1 unpadded 1x1 conv: its pixels are one flat range. */
bool conv_flat_pixels(const Node *n);
/* The grouped-lanes tile (simd_conv.c, conv_glanes_tile): most accumulators
 * of a one-row tile (past them the C compilers spill), and the registers
 * beside the accumulators (the input, its permute, the weight, a spare). */
#define GLANES_ROW_ACC 14
#define GLANES_SPARE_REGS 4
/* What the rows' predicates ask of operands: absent (-1) or a constant; a
 * 4-D fp32 activation of at least one image (the rank NCHWc kernels take). */
static inline bool absent_or_const(const Graph *g, int v) {
  return v < 0 || g->values[v].data != NULL;
}
static inline bool is_act4d(const Graph *g, int v) {
  return v >= 0 && g->values[v].rank == 4 && g->values[v].dtype == DT_FLOAT &&
         g->values[v].dims[0] >= 1;
}
/* Whether binary elementwise n multiplies, adds, subtracts or divides a
 * 4-D tensor of its output's shape by a per-channel [N or 1, C, 1, 1] one
 * (a squeeze-and-excitation scale): *big and *chan the input slots (simd.c;
 * the verifier's layout rules accept it blocked). */
bool node_is_channel_bcast(const Graph *g, const Node *n, int *big, int *chan);
/* Whether Concat n joins 4-D fp32 tensors along channels with every input
 * but the last a whole number of `block`-channel blocks: then NCHWc of its
 * output is its inputs' blocks one after another (simd.c, concat_blocked;
 * the verifier's layout rules accept it blocked). */
bool concat_is_blockwise(const Graph *g, const Node *n, int block);
/* The kernel emitters the rows name (codegen/simd_*.c). */
struct Emitter {
  CWriter *w;       /* the kernel function body being written */
  Graph *g;         /* the graph */
  Diag *d;
  const Target *t;  /* the target the kernels are for */
};

/* ---------------------------------------------------------------- schedule.c */

/* Decides every node's Schedule for target t (after the passes). */
void schedule_build(Graph *g, const Target *t);
const char *split_axis_name(SplitAxis a);
/* Nodes whose shares have claimed tails (Schedule.chunk > 0): each has
 * g->threads counters in the workspace (plan.c). */
int schedule_claiming(const Graph *g);

/* ---------------------------------------------------------------- plan.c */

typedef enum {
  LOC_NONE,
  LOC_INPUT,   /* index into inputs[] */
  LOC_OUTPUT,  /* index into outputs[] */
  LOC_WS,      /* byte offset into the workspace */
  LOC_WEIGHT,  /* byte offset into the weight blob */
} LocKind;

typedef struct {
  LocKind kind;
  int64_t index;  /* input/output number or byte offset */
} Loc;

typedef struct {
  Loc *loc;            /* per value */
  int *def_step;       /* per value: step that writes it (-1 input/const) */
  int *last_step;      /* per value: last step that reads it */
  int *alias_of;       /* per value: value whose bytes it shares, or itself */
  int64_t ws_size;     /* bytes of workspace */
  int64_t claim_off;   /* byte offset of the claim counters (schedule_claiming), -1: none */
  int64_t scratch_off; /* byte offset of the kernels' scratch (KernelConfig.scratch), -1: none */
  int64_t scratch_bytes; /* ... and a thread's part of it (a multiple of CD_ALIGN) */
  int64_t ws_lower_bound; /* max over steps of live bytes: no plan does better */
  int64_t weight_size; /* bytes of the weight blob */
} Plan;

#define CD_ALIGN 64 /* every buffer starts on a cache line, for SIMD loads */

bool plan_build(Graph *g, Plan *p, Diag *d);
void plan_free(Plan *p);

/* ---------------------------------------------------------------- stats.c */

typedef struct {
  int nodes;
  int counts[OP_COUNT]; /* live nodes per op */
  int64_t params;       /* float constants the generated code reads */
  int64_t macs;         /* multiply-accumulates of Conv, Gemm, MatMul */
  int64_t weight_bytes, workspace_bytes;
} GraphStats;

void graph_stats(const Graph *g, const Plan *p, GraphStats *s);
int64_t node_macs(const Graph *g, const Node *n); /* multiply-adds of one node */
int64_t graph_learnable_params(const Graph *g); /* as torch counts them */
bool graph_write_dot(const Graph *g, const char *path);

/* ---------------------------------------------------------------- codegen */

typedef struct {
  const char *name;     /* C prefix, a valid identifier */
  const struct Target *target; /* what the kernels are written for */
  bool weights_blob;    /* side file instead of embedded */
  const char *passes;   /* for the header comment */
  bool weights_section; /* embedded, in a named linker section (NAME_WEIGHTS_SECTION) */
  bool static_workspace; /* NAME_workspace, a static array NAME_run uses when passed NULL */
  bool no_weights_file; /* write neither NAME_weights.c nor NAME.weights (sizes only) */
  bool weights_incbin;  /* embedded as NAME_weights.bin, which NAME_weights.S includes
                           (.incbin), instead of a C array in NAME_weights.c */
} CodegenOptions;

/* The layout of a graph input or output as the caller holds it: "NCHW"
 * (plain rank 4) or "row-major" (other ranks); "blocked" never reaches the
 * caller (the layout pass reorders inputs and outputs to plain). */
const char *io_layout_name(const Value *v);

/* The system headers NAME.c includes for target t, every one of them
 * (cd_run_generated's precompiled header is made of the same text). */
void emit_includes(StrBuf *c, const Target *t);
/* Writes DIR/NAME.h, DIR/NAME.c and DIR/NAME_weights.c (or NAME.weights). */
bool codegen_write(Graph *g, Plan *p, const CodegenOptions *o,
                   const char *dir, Diag *d);

/* ---------------------------------------------------------------- tensorio.c */

typedef struct {
  DType dtype;
  int rank;
  int64_t dims[CD_MAX_RANK];
  void *data;  /* malloc'd */
  char *name;  /* malloc'd, may be NULL */
} HostTensor;

/* Reads .npy, ONNX TensorProto (.pb) or raw float32 (anything else). */
bool tensor_read(const char *path, HostTensor *t, Diag *d);
bool tensor_write_npy(const char *path, const float *data, int rank,
                      const int64_t *dims);
void tensor_free(HostTensor *t);
int64_t tensor_numel(const HostTensor *t);
/* An integer tensor as float values, in place: what generated code and
 * interp_run take for an integer input (dtype_io_as_float), and give for
 * an integer output (dtype_out_as_float).  True for float32 (unchanged)
 * and the integer types dtype_out_as_float names; false, t unchanged, for
 * others (callers feeding an input check dtype_io_as_float first). */
bool tensor_as_float(HostTensor *t);

/* ---------------------------------------------------------------- frontend */

bool onnx_load(Graph *g, const char *path, Diag *d);
/* Writes g as an ONNX model to path (written to a temporary file in the
 * same folder, then renamed, so a failure leaves no partial file): the
 * live nodes with their attributes as loaded, the constants they read as
 * initializers, the inputs and outputs with fixed dims, one opset_import
 * per domain (frontend/onnx/onnx_write.c).  A graph as a frontend made it
 * (graph_infer's folding included): Cardinal's own ops, fused epilogues and
 * packed layouts are refused, naming the node; write before the passes. */
bool onnx_write(const Graph *g, const char *path, Diag *d);
bool dsl_load_model(Graph *g, const char *path, const char *params, uint64_t seed,
                    Diag *d); /* frontend/dsl/lower.c */
/* Writes the parameters of a .nx model (bound from `params` or seeded) to
 * `out` as safetensors, with torch's names and layouts. */
bool dsl_save_params(const char *path, const char *params, uint64_t seed, const char *out,
                     Diag *d);
bool onnx_load_tensor(const char *path, HostTensor *t, Diag *d);

/* ---------------------------------------------------------------- cache.c */

/* The build cache's folder (created, mode 0700), malloc'd; NULL when it is
 * off, or refused -- not this user's, or writable by others -- with a
 * warning saying so on d. */
char *cache_root(Diag *d);
/* An entry's key: a SHA-256 of everything the build reads. */
typedef struct {
  Sha256 sha;
} CacheKey;
void cache_key_init(CacheKey *k, const char *what); /* what: the kind of entry and version */
void cache_key_add(CacheKey *k, const void *p, size_t n);
bool cache_key_file(CacheKey *k, const char *path); /* false if it cannot be read */
/* Copies `file` of entry k to dst (created; executable if it was), if the
 * entry is there, this user's, writable by no one else, with no link in
 * the way, and the file's bytes hash to what cache_put recorded; else
 * false, and an entry that failed a check is deleted. */
bool cache_get(const char *root, const CacheKey *k, const char *file, const char *dst);
/* Makes entry k of files[i] (named as[i]), recording each one's SHA-256. */
bool cache_put(const char *root, const CacheKey *k, const char *const *files,
               const char *const *as, int n);

/* ---------------------------------------------------------------- report.c */

/* How much memory a built model takes (report.c says how each is found). */
typedef struct {
  const char *name;           /* the C prefix */
  int64_t weight_bytes, workspace_bytes; /* from the plan */
  char weights_where[96], workspace_where[96]; /* "embedded", "linker section ...", ... */
  int64_t code_bytes;         /* executable bytes of the library's objects; -1: unknown */
  int64_t runtime_code_bytes; /* ... of which the runtime's */
  int64_t rodata_bytes;       /* read-only bytes besides the weights and the code */
  int64_t stack_bytes;        /* NAME_run's stack on the caller's thread; -1: unknown */
  int64_t stack_run, stack_kernel; /* NAME_run's own frame, the largest kernel's */
  bool stack_dynamic;         /* some frame grows at run time: stack_bytes is a floor */
  bool cached;                /* cd_measure: code and stack from the build cache */
} SizeReport;

bool elf_add_sizes(const char *path, SizeReport *r);
/* Fills r's stack fields from NAME.su (and the thread pool's .su, for a
 * model built with threads); false if NAME_run is not in it. */
bool stack_from_su(const char *model_su, const char *threads_su, const char *name,
                   SizeReport *r);
void report_print(FILE *f, const char *prefix, const SizeReport *r);

/* ---------------------------------------------------------------- quantize.c */

/* The calibrating quantizer (quantize.c says what it writes). */
typedef enum { CALIB_MINMAX, CALIB_PERCENTILE } CalibMethod;
typedef struct QuantizeOptions {
  const char *calibrate;  /* folder of .npy inputs, one per file */
  CalibMethod method;
  double percentile;      /* CALIB_PERCENTILE: the range holds this % of values (each side) */
  int max_inputs;         /* calibrate on the first this many files by name (0: all) */
  int nexclude;
  const char **exclude;   /* node names kept float */
  bool quiet;             /* no progress on stderr */
  FILE *report;           /* where the SQNR report goes (NULL: none) */
} QuantizeOptions;
/* The passes before quantizing: BatchNorm into the weights, constants
 * folded; the graph stays plain ONNX (quantize.c). */
#define QUANT_PREPASSES "fold-constants,eliminate-identity,fold-bn,dce"

typedef struct {
  int n;                  /* nodes quantized */
  int activations;        /* Q -> DQ pairs inserted */
  const char **node, **op, **value; /* per node: label, op, output (in the graph's arena) */
} QuantSummary;
/* The calibration inputs of g's one float input: the .npy files of dir,
 * by name, the first max (0: all); each checked against the input. */
bool quant_read_inputs(const Graph *g, const char *dir, int max, float ***out, int *n,
                       Diag *d);
/* Calibrates g on inputs and rewrites it to the QDQ format. */
bool quant_insert(Graph *g, const QuantizeOptions *o, float **inputs, int ninputs,
                  QuantSummary *sum, Diag *d);
/* Prints each quantized node's SQNR, qg (quant_insert's) against ref (the
 * same model, float), and the outputs' error and arg-max agreement. */
bool quant_report(Graph *ref, Graph *qg, const QuantSummary *s, float **inputs, int ninputs,
                  const QuantizeOptions *o, FILE *f, Diag *d);
void quant_summary_free(QuantSummary *s);

/* ---------------------------------------------------------------- toolchain.c */

/* The form of embedded weights (--weights embed or section).  The bytes in
 * memory are the same either way; the assembler's form builds in a second
 * instead of the C compiler's minute for a 500 MB model. */
typedef enum {
  EMBED_AUTO,   /* build, run: incbin if the C compiler assembles it; compile: c */
  EMBED_INCBIN, /* NAME_weights.S + NAME_weights.bin (GNU assembler, ELF) */
  EMBED_C,      /* NAME_weights.c, a string literal (any C compiler) */
} EmbedAs;

typedef struct {
  const char *model;
  const char *out_dir;
  const char *name;
  const char *target;
  const char *passes;
  bool weights_blob;
  bool weights_section; /* embedded, in a named linker section */
  bool weights_set;     /* --weights given (run defaults to blob, else embed) */
  EmbedAs embed_as;     /* the form of embedded weights (--embed-as) */
  bool static_workspace; /* NAME_workspace, a static array */
  int64_t max_workspace, max_weights; /* refuse to compile past these bytes (0: no limit) */
  SizeReport *report;   /* cd_build, if set: the memory the built library takes */
  const char *cache_dir; /* cd_run_generated, cd_measure: reuse builds kept here (cache.c) */
  const char *pch_dir;  /* cd_run_generated: the system headers precompiled here, once per
                           compiler, flags and target (the tests' hundreds of small builds) */
  bool cache_hit;       /* ... and the last one did */
  bool verify;          /* ir_verify after every pass */
  const char *dump_after;
  const char *dot;      /* write the final graph here (Graphviz) */
  const char *cc;       /* C compiler for build/run */
  const char *cflags;
  int nfreeze;
  const char **freeze;  /* NAME=FILE */
  int nshapes;
  const char **shapes;  /* NAME=D0,D1,...: fixes the open dims of an input */
  int noutput_names;
  const char **output_names; /* --outputs NAME[,NAME...]: these tensors are the outputs */
  int ninput_shapes;
  const HostTensor *input_shapes; /* run --input: each file's shape, by input (rank -1: a
                                     raw file, no shape); fixes the dims --shape leaves open */
  const char *params;   /* DSL: parameters from this .safetensors file */
  const QuantizeOptions *quant; /* int8: quantize (calibrated) before the passes; NULL: float */
  bool io_quantized;    /* --io quantized: the Q/DQ at the edges dropped (pass_quantized_io),
                           the API passes those tensors quantized */
  const Limits *limits; /* what the model may ask for; NULL: cd_default_limits */
  uint64_t seed;        /* DSL: seed of generated parameters without one */
  int threads;          /* threads of the generated code (0 or 1: one) */
  int runs;             /* cd_run_generated: timed runs */
  int rounds;           /* cd_run_generated: runs the program this many times (0: once, at
                           most CD_MAX_ROUNDS), */
  void (*after_round)(void *ctx, int round, double ms_median); /* calling this after each */
  void *round_ctx;
  const char *runner;   /* cd_run_generated: run the program through this (qemu-aarch64), linked -static */
  bool profile;         /* cd_run_generated: time every kernel (-DCARDINAL_PROFILE) */
  char *profile_text;   /* its result: "ms macs name" lines, malloc'd */
  double ms_median, ms_min, ms_max; /* cd_run_generated: measured times */
} CompileJob;

/* Loads, freezes, infers, runs passes, schedules: a graph ready for codegen. */
Graph *cd_load_model(const CompileJob *j, PassStats *stats, int *nstats,
                     Diag *d);
/* The model as its file declares it: loaded, --freeze and --shape applied,
 * open dims left as they are (the loader's 1, unless --shape), nothing
 * inferred; for `inspect` on a model whose shapes are not all known. */
Graph *cd_load_declared(const CompileJob *j, Diag *d);
/* "--shape x=1,3,<height>,<width>": the --shape fixing input value v's open
 * dims (malloc'd). */
char *cd_shape_hint(const Graph *g, int v, const Diag *d);
bool cd_compile(const CompileJob *j, Graph **out_g, Diag *d);
bool cd_build(const CompileJob *j, Diag *d);
/* Runs argv (found on PATH) with its stdout to file `out` and its stderr to
 * `err` (NULL: ours; each created or truncated), and waits for it: 0 with
 * its wait status in *status, or the error that kept it from running. */
int cd_spawn_wait(char *const argv[], const char *out, const char *err, int *status);
/* Compiles the model with a harness into a temporary directory, runs it on
 * the inputs and returns malloc'd outputs (graph output order). */
bool cd_run_generated(CompileJob *j, Graph *g, const float *const *inputs,
                      float **outputs, Diag *d);
bool cd_write_runtime(const char *dir, bool threads, Diag *d);
/* The report of cd_build without a build: NAME.c and the runtime compiled
 * in a temporary folder (the weights are not: their size is known). */
bool cd_measure(const CompileJob *j, Graph *g, SizeReport *r, Diag *d);
/* --max-workspace, --max-weights: an error stating the size needed when the
 * plan is over either. */
bool cd_check_budget(const CompileJob *j, const Plan *p, Diag *d);
/* bench.c: the model's one input read from path (or x[i] = sin(0.37 i)),
 * malloc'd; and `cardinal bench` (with ONNX Runtime when `peer`). */
float *cd_model_input(Graph *g, const char *path, Diag *d);
bool cd_bench(CompileJob *j, const char *input, bool peer, Diag *d);
bool cd_is_identifier(const char *s);
/* A C prefix Cardinal reserves: its runtime's files and symbols (cardinal_rt,
 * cd_*, in any case), which a model's NAME.c and NAME_* would collide with. */
bool cd_is_reserved_name(const char *s);
/* Whether s may name a model's C API and files: an identifier of at most 64
 * characters, not the runtime's, not starting with '_' (NAME_H would be a
 * reserved identifier), not a system header's name (NAME.h would shadow
 * it); if not, false and why (a phrase: "the name 'x' is WHY"). */
bool cd_name_check(const char *s, char *why, size_t n);
/* For SIGINT/SIGTERM/SIGHUP: removes the staging of the compile in progress
 * (async-signal-safe), then re-raises sig. */
void cd_staging_signal(int sig);

#endif
