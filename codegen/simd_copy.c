/*
 * simd_copy.c — the ops that only move contiguous runs of elements, on the
 * plain layout, as memcpy of runs split over threads: Slice with unit steps
 * along the dims it copies in runs (ShuffleNet's channel splits), and
 * Concat, and the shape-only ops (Reshape, Flatten, Identity...) that must
 * copy because their output is a graph output (elsewhere they are aliases,
 * no kernel).  Their portable kernels (ops/slice.c element by element,
 * ops/concat.c one memcpy a run, thread 0 alone) run the rest.  A unit is
 * at most COPY_UNIT elements of one run, so one large run (a channel split
 * of one image is one run) still splits over threads; copies are exact,
 * so the bits do not depend on the split.
 */
#include "../compiler/cardinal.h"

#include <string.h>

#define E(...) cw(e->w, __VA_ARGS__)

#define COPY_UNIT 4096 /* elements a unit copies at most */

/* A Slice as runs: `run` contiguous elements from x at `base` plus the
 * outer index's offset (dims od[0..nout), x strides os[]), written to y
 * one after another. */
typedef struct {
  int64_t run, nruns, base;
  int nout;
  int64_t od[CD_MAX_RANK], os[CD_MAX_RANK];
} Runs;

static bool slice_runs(const Graph *g, const Node *n, Runs *r) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t begin[CD_MAX_RANK], step[CD_MAX_RANK], xs[CD_MAX_RANK], s = 1;
  memset(r, 0, sizeof *r);
  if (x->rank < 1 || y->rank != x->rank || !slice_begin_step(n, x, begin, step))
    return false;
  for (int k = x->rank - 1; k >= 0; k--) {
    xs[k] = s;
    s *= x->dims[k];
  }
  int k = x->rank - 1;
  r->run = 1;
  while (k >= 0 && y->dims[k] == x->dims[k] && step[k] == 1)
    r->run *= y->dims[k--];
  if (k >= 0 && step[k] == 1)
    r->run *= y->dims[k--];
  r->nout = k + 1;
  r->nruns = 1;
  r->base = 0;
  for (int j = 0; j < x->rank; j++)
    r->base += begin[j] * xs[j];
  for (int j = 0; j <= k; j++) {
    r->od[j] = y->dims[j];
    r->os[j] = step[j] * xs[j];
    r->nruns *= y->dims[j];
  }
  return r->run >= 16; /* shorter runs: the element loop does as well */
}

static bool plain_io(const Graph *g, const Node *n) {
  for (int k = 0; k < n->nin; k++)
    if (n->in[k] >= 0 && g->values[n->in[k]].layout.kind != LAYOUT_PLAIN)
      return false;
  return g->values[n->out[0]].layout.kind == LAYOUT_PLAIN;
}

static int64_t chunks(int64_t elems) { return (elems + COPY_UNIT - 1) / COPY_UNIT; }

static bool slice_copy_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  Runs r;
  return n->op == OP_SLICE && plain_io(g, n) && value_numel(&g->values[n->out[0]]) > 0 &&
         slice_runs(g, n, &r);
}

static SplitAxis slice_copy_split(const Graph *g, const Node *n, const Target *t, int T,
                                  int64_t *units) {
  (void)t;
  (void)T;
  Runs r;
  CD_ASSERT(slice_runs(g, n, &r));
  *units = r.nruns * chunks(r.run);
  return SPLIT_ELEMS;
}

/* Copies chunk c of the run: n elements from xp + c * COPY_UNIT to yp + ... */
static void copy_chunk(Emitter *e, const char *yp, const char *xp, int64_t run) {
  E("{\nconst long n = %lld - c * %d < %d ? %lld - c * %d : %d;\n"
    "memcpy(%s + c * %d, %s + c * %d, (size_t)n * sizeof *y0);\n}\n",
    (long long)run, COPY_UNIT, COPY_UNIT, (long long)run, COPY_UNIT, COPY_UNIT, yp, COPY_UNIT, xp,
    COPY_UNIT);
}

static bool slice_copy_emit(Emitter *e, Graph *g, Node *n) {
  Runs r;
  CD_ASSERT(slice_runs(g, n, &r));
  int64_t cpr = chunks(r.run);
  E("for (long u = s0; u < s1; u++) {\n"
    "const long q = u / %lld, c = u %% %lld;\n"
    "long off = %lld, i = q;\n",
    (long long)cpr, (long long)cpr, (long long)r.base);
  for (int j = r.nout - 1; j >= 0; j--)
    E("off += i %% %lld * %lld;\ni /= %lld;\n", (long long)r.od[j], (long long)r.os[j],
      (long long)r.od[j]);
  E("(void)i;\n");
  copy_chunk(e, cw_fmt(e->w, "y0 + q * %lld", (long long)r.run), "x0 + off", r.run);
  E("}\n");
  return true;
}

const KernelConfig kc_slice_copy = {
    .name = "slice_copy",
    .runs = slice_copy_runs,
    .split = slice_copy_split,
    .emit = slice_copy_emit,
};

/* Concat: per outer index, each input's part (its dims from the axis on) in
 * turn; the units are the chunks of every part of every outer index. */
static bool concat_copy_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  if (n->op != OP_CONCAT || !plain_io(g, n) || n->p.inner < 1)
    return false;
  for (int i = 0; i < n->nin; i++)
    if (g->values[n->in[i]].dims[n->p.axis] * n->p.inner < 16)
      return false; /* short parts: the one-memcpy-a-part loop does as well */
  return true;
}

static int64_t concat_chunks(const Graph *g, const Node *n) {
  int64_t t = 0;
  for (int i = 0; i < n->nin; i++)
    t += chunks(g->values[n->in[i]].dims[n->p.axis] * n->p.inner);
  return t;
}

static SplitAxis concat_copy_split(const Graph *g, const Node *n, const Target *t, int T,
                                   int64_t *units) {
  (void)t;
  (void)T;
  *units = n->p.outer * concat_chunks(g, n);
  return SPLIT_ELEMS;
}

static bool concat_copy_emit(Emitter *e, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int64_t row = y->dims[n->p.axis] * n->p.inner, tot = concat_chunks(g, n), at = 0, c0 = 0;
  E("for (long u = s0; u < s1; u++) {\n"
    "const long o = u / %lld, v = u %% %lld;\n",
    (long long)tot, (long long)tot);
  for (int i = 0; i < n->nin; i++) {
    int64_t part = g->values[n->in[i]].dims[n->p.axis] * n->p.inner, c1 = c0 + chunks(part);
    E("%sif (v < %lld) {\nconst long c = v - %lld;\n", i ? "else " : "", (long long)c1,
      (long long)c0);
    copy_chunk(e, cw_fmt(e->w, "y0 + o * %lld + %lld", (long long)row, (long long)at),
               cw_fmt(e->w, "x%d + o * %lld", i, (long long)part), part);
    E("}\n");
    at += part;
    c0 = c1;
  }
  E("}\n");
  return true;
}

const KernelConfig kc_concat_copy = {
    .name = "concat_copy",
    .runs = concat_copy_runs,
    .split = concat_copy_split,
    .emit = concat_copy_emit,
};

/* A shape-only op (OPF_ALIAS) writing a graph output: its elements in
 * order, as chunks. */
static bool alias_copy_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return (op_table[n->op].flags & OPF_ALIAS) && g->values[n->out[0]].is_output &&
         (n->nout == 1 || n->out[1] < 0) && plain_io(g, n) &&
         value_numel(&g->values[n->out[0]]) > 0;
}

static SplitAxis alias_copy_split(const Graph *g, const Node *n, const Target *t, int T,
                                  int64_t *units) {
  (void)t;
  (void)T;
  *units = chunks(value_numel(&g->values[n->out[0]]));
  return SPLIT_ELEMS;
}

static bool alias_copy_emit(Emitter *e, Graph *g, Node *n) {
  for (int i = 1; i < n->nin; i++) /* Dropout's ratio, when a graph input */
    if (node_runtime_read(n, i))
      E("(void)x%d;\n", i);
  E("for (long c = s0; c < s1; c++)\n");
  copy_chunk(e, "y0", "x0", value_numel(&g->values[n->out[0]]));
  return true;
}

const KernelConfig kc_alias_copy = {
    .name = "alias_copy",
    .runs = alias_copy_runs,
    .split = alias_copy_split,
    .emit = alias_copy_emit,
};

/*
 * depth_to_space_rows: DepthToSpace on the plain layout (a lowered
 * ConvTranspose's pixel shuffle) an output row at a time: row (n, c, h b
 * + i) interleaves the b input rows of channels (i, j = 0 .. b-1), element
 * w of row j going to w b + j; loops the C compiler vectorises.  Rows
 * split over threads.
 */
static bool d2s_rows_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return n->op == OP_DEPTHTOSPACE && plain_io(g, n) && value_numel(&g->values[n->out[0]]) > 0 &&
         g->values[n->out[0]].dims[3] >= 16;
}

static SplitAxis d2s_rows_split(const Graph *g, const Node *n, const Target *t, int T,
                                int64_t *units) {
  (void)t;
  (void)T;
  const Value *y = &g->values[n->out[0]];
  *units = y->dims[0] * y->dims[1] * y->dims[2];
  return SPLIT_ROWS;
}

static bool d2s_rows_emit(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  int64_t b = n->p.blocksize, C = x->dims[1], H = x->dims[2], W = x->dims[3], Co = C / (b * b);
  /* the input channel of output channel c, row phase i, column phase j */
  const char *ch = n->p.crd ? cw_fmt(e->w, "c * %lld + i * %lld + j", (long long)(b * b), (long long)b)
                            : cw_fmt(e->w, "(i * %lld + j) * %lld + c", (long long)b, (long long)Co);
  E("for (long u = s0; u < s1; u++) {\n"
    "const long i = u %% %lld, h = u / %lld %% %lld, c = u / %lld %% %lld, b = u / %lld;\n",
    (long long)b, (long long)b, (long long)H, (long long)(b * H), (long long)Co,
    (long long)(b * H * Co));
  E("for (long j = 0; j < %lld; j++) {\n"
    "const long q = %s;\n"
    "const %s *restrict xr = x0 + ((b * %lld + q) * %lld + h) * %lld;\n"
    "%s *restrict yr = y0 + u * %lld + j;\n"
    "for (long w = 0; w < %lld; w++)\n"
    "yr[w * %lld] = xr[w];\n}\n}\n",
    (long long)b, ch, dtype_ctype(x->dtype), (long long)C, (long long)H, (long long)W,
    dtype_ctype(x->dtype), (long long)(W * b), (long long)W, (long long)b);
  return true;
}

const KernelConfig kc_depth_to_space = {
    .name = "depth_to_space_rows",
    .runs = d2s_rows_runs,
    .split = d2s_rows_split,
    .emit = d2s_rows_emit,
};
