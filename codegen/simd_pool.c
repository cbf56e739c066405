/*
 * simd_pool.c — pooling on NCHWc for the SIMD targets: every vector holds
 * the same pixel of c channels, so a window is a max or sum of whole
 * vectors.  MaxPool/AveragePool (2-D, strides, pads, ceil_mode) visit the
 * valid taps of each output pixel; AveragePool divides by the count the
 * scalar kernel would (count_include_pad or not), computed when the kernel
 * is written.  Global pools reduce a block's pixels to one vector.
 */
#include "../compiler/cardinal.h"

#define E(...) cw(e->w, __VA_ARGS__)

static bool simd_pool_blocked(Emitter *e, Graph *g, Node *n) {
  const Target *t = e->t;
  CWriter *w = e->w;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  int c = t->block;
  int64_t CB = (x->dims[1] + c - 1) / c * x->dims[0];
  int64_t IH = x->dims[2], IW = x->dims[3], OH = y->dims[2], OW = y->dims[3];
  bool is_max = n->op == OP_MAXPOOL;
  bool by_blocks = n->sched.split == SPLIT_BLOCKS; /* threads split blocks, or rows */
  cw_var(w, "c", "%d", c);
  cw_var(w, "IH", "%lld", (long long)IH);
  cw_var(w, "IW", "%lld", (long long)IW);
  cw_var(w, "OW", "%lld", (long long)OW);
  cw_var(w, "EH", "%lld", (long long)(IH + p->pad1[1])); /* end of the padded input */
  cw_var(w, "EW", "%lld", (long long)(IW + p->pad1[2]));
  cw(w, "for (long cb = %s; cb < %s; cb++) {\n"
        "const float *X = x0 + cb * %lld;\n"
        "float *Y = y0 + cb * %lld;\n"
        "for (long oh = %s; oh < %s; oh++)\n"
        "for (long ow = 0; ow < ${OW}; ow++) {\n"
        "const long ih0 = oh * %lld - %lld, iw0 = ow * %lld - %lld;\n"
        "%s acc = %s;\n"
        "long count = 0, padded = 0;\n",
     by_blocks ? "s0" : "0", by_blocks ? "s1" : cw_int(w, CB), (long long)(IH * IW * c),
     (long long)(OH * OW * c), by_blocks ? "0" : "s0", by_blocks ? cw_int(w, OH) : "s1",
     (long long)p->stride[1], (long long)p->pad0[1], (long long)p->stride[2],
     (long long)p->pad0[2], t->f32.vtype, is_max ? cw_op(w, t->f32.set1, "-HUGE_VALF", 0, 0) : t->f32.zero);
  const char *xv = cw_op(w, t->f32.load, "X + (ih * ${IW} + iw) * ${c}", 0, 0);
  cw(w, "for (long kh = 0; kh < %lld; kh++)\n"
        "for (long kw = 0; kw < %lld; kw++) {\n"
        "const long ih = ih0 + kh, iw = iw0 + kw;\n"
        "if (ih < ${EH} && iw < ${EW})\n"
        "padded++;\n"
        "if (ih < 0 || ih >= ${IH} || iw < 0 || iw >= ${IW})\n"
        "continue;\n"
        "count++;\n"
        "acc = %s;\n"
        "}\n",
     (long long)p->kernel[1], (long long)p->kernel[2],
     cw_op(w, is_max ? t->f32.maxnan : t->f32.add, "acc", xv, 0));
  const char *val = is_max ? "acc"
                           : cw_op(w, t->f32.mul, "acc",
                                   cw_op(w, t->f32.set1, p->count_include_pad
                                                         ? "1.0f / (float)padded"
                                                         : "count ? 1.0f / (float)count : 0.0f",
                                         0, 0),
                                   0);
  cw(w, "(void)count;\n(void)padded;\n%s;\n}\n}\n",
     cw_op(w, t->f32.store, "Y + (oh * ${OW} + ow) * ${c}", val, 0));
  return true;
}

static bool simd_gpool_blocked(Emitter *e, Graph *g, Node *n) {
  const Target *t = e->t;
  const Value *x = &g->values[n->in[0]];
  int c = t->block;
  int64_t CB = (x->dims[1] + c - 1) / c * x->dims[0];
  int64_t S = x->dims[2] * x->dims[3];
  bool is_max = n->op == OP_GLOBALMAXPOOL;
  (void)CB; /* the threads' units are the blocks */
  E("for (long cb = s0; cb < s1; cb++) {\n"
    "const float *X = x0 + cb * %lld;\n"
    "%s acc = %s;\n"
    "for (long i = 0; i < %lld; i++)\n"
    "acc = %s;\n"
    "%s;\n"
    "}\n",
    (long long)(S * c), t->f32.vtype,
    is_max ? cw_op(e->w, t->f32.load, "X", 0, 0) : t->f32.zero, (long long)S,
    cw_op(e->w, is_max ? t->f32.maxnan : t->f32.add, "acc", cw_op(e->w, t->f32.load, arena_printf(&g->arena, "X + i * %d", c), 0, 0), 0),
    cw_op(e->w, t->f32.store, arena_printf(&g->arena, "y0 + cb * %d", c),
        is_max ? "acc" : cw_op(e->w, t->f32.mul, "acc", cw_op(e->w, t->f32.set1, cw_float(e->w, 1.0 / (double)S), 0, 0), 0), 0));
  return true;
}

/* ------------------------------------------------------------ the families' rows */

static bool pool_blocked_can(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return (n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) && is_act4d(g, n->in[0]) &&
         is_act4d(g, n->out[0]) && n->p.dilation[1] == 1 && n->p.dilation[2] == 1;
}

static bool pool_blocked_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return (n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) &&
         g->values[n->out[0]].layout.kind == LAYOUT_NCHWC;
}

/* Channel blocks of every image, or rows when there are too few. */
static SplitAxis pool_blocked_split(const Graph *g, const Node *n, const Target *t, int T,
                                    int64_t *units) {
  const Value *y = &g->values[n->out[0]];
  int64_t cb = (y->dims[1] + t->block - 1) / t->block * y->dims[0], oh = y->dims[2];
  bool blocks = cb >= 2 * T || oh < 2;
  *units = blocks ? cb : oh;
  return blocks ? SPLIT_BLOCKS : SPLIT_ROWS;
}

static bool gpool_blocked_can(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return (n->op == OP_GLOBALAVGPOOL || n->op == OP_GLOBALMAXPOOL) && is_act4d(g, n->in[0]) &&
         is_act4d(g, n->out[0]);
}

static bool gpool_blocked_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return (n->op == OP_GLOBALAVGPOOL || n->op == OP_GLOBALMAXPOOL) &&
         g->values[n->out[0]].layout.kind == LAYOUT_NCHWC;
}

/* The output's channel blocks, of every image. */
static SplitAxis gpool_blocked_split(const Graph *g, const Node *n, const Target *t, int T,
                                     int64_t *units) {
  const Value *y = &g->values[n->out[0]];
  (void)T;
  *units = (y->dims[1] + t->block - 1) / t->block * y->dims[0];
  return SPLIT_BLOCKS;
}

const KernelConfig kc_pool_blocked = {
    .name = "pool_blocked",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = pool_blocked_runs,
    .can = pool_blocked_can,
    .split = pool_blocked_split,
    .emit = simd_pool_blocked,
};

const KernelConfig kc_gpool_blocked = {
    .name = "gpool_blocked",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = gpool_blocked_runs,
    .can = gpool_blocked_can,
    .split = gpool_blocked_split,
    .emit = simd_gpool_blocked,
};
