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

/*
 * maxpool_int: 2-D MaxPool of uint8 or int8 on the plain layout (an int8
 * ResNet's stem pool: fold-qdq keeps its bytes), in portable C the C
 * compiler vectorises for the target, planes split over threads.  Per
 * output row, the max of its valid input rows is taken along the whole row
 * first (contiguous bytes: whole vectors), into a row padded on both sides
 * with the type's lowest value; then each output is the max of its KW
 * neighbours there.  Padding is the lowest value, which no max can pick
 * over a real one, and a window with no valid row gives it too: the
 * interpreter's int_maxpool_eval, which starts there and skips what is
 * outside.  ResNeXt-50's 3x3/2 pool on 64 x 112 x 112 bytes, the kernel
 * alone, best of 50 on one Zen 4 core (gcc 12 -O3): 0.198 ms in the
 * portable tap-by-tap kernel (ops/pool.c, thread 0 alone), 0.064-0.074 ms
 * here (clang 14: 0.097).
 */
static bool maxpool_int_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  const Value *x = &g->values[n->in[0]];
  const OpParams *p = &n->p;
  return n->op == OP_MAXPOOL && n->nout == 1 && p->nsp == 2 &&
         (x->dtype == DT_UINT8 || x->dtype == DT_INT8) && x->layout.kind == LAYOUT_PLAIN &&
         g->values[n->out[0]].layout.kind == LAYOUT_PLAIN && p->dilation[1] == 1 &&
         p->dilation[2] == 1;
}

/* The planes (image x channel). */
static SplitAxis maxpool_int_split(const Graph *g, const Node *n, const Target *t, int T,
                                   int64_t *units) {
  (void)t;
  (void)T;
  const Value *y = &g->values[n->out[0]];
  *units = y->dims[0] * y->dims[1];
  return SPLIT_BLOCKS;
}

static bool maxpool_int_emit(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  int64_t IH = x->dims[2], IW = x->dims[3], OH = y->dims[2], OW = y->dims[3];
  int64_t KH = p->kernel[1], KW = p->kernel[2], SH = p->stride[1], SW = p->stride[2];
  int64_t PH = p->pad0[1], PW = p->pad0[2];
  int64_t RW = (OW - 1) * SW + KW; /* the padded row the windows read */
  if (RW < PW + IW)
    RW = PW + IW;
  const char *T = dtype_ctype(x->dtype), *lo = x->dtype == DT_UINT8 ? "0" : "-128";
  E("%s r[%lld];\n"
    "for (long i = 0; i < %lld; i++)\n"
    "r[i] = %s;\n"
    "for (long c = s0; c < s1; c++) {\n"
    "const %s *xp = x0 + c * %lld;\n"
    "%s *yp = y0 + c * %lld;\n"
    "for (long oh = 0; oh < %lld; oh++) {\n"
    "const long ih0 = oh * %lld - %lld;\n"
    "const long k0 = ih0 < 0 ? -ih0 : 0, k1 = %lld < %lld - ih0 ? %lld : %lld - ih0;\n"
    "%s *rr = r + %lld;\n"
    "if (k0 >= k1) {\n"
    "for (long iw = 0; iw < %lld; iw++)\n"
    "rr[iw] = %s;\n"
    "} else {\n"
    "const %s *x1 = xp + (ih0 + k0) * %lld;\n"
    "for (long iw = 0; iw < %lld; iw++)\n"
    "rr[iw] = x1[iw];\n"
    "for (long kh = k0 + 1; kh < k1; kh++) {\n"
    "const %s *xr = xp + (ih0 + kh) * %lld;\n"
    "for (long iw = 0; iw < %lld; iw++)\n"
    "rr[iw] = xr[iw] > rr[iw] ? xr[iw] : rr[iw];\n"
    "}\n"
    "}\n"
    "%s *yr = yp + oh * %lld;\n"
    "for (long ow = 0; ow < %lld; ow++) {\n"
    "const %s *w = r + ow * %lld;\n"
    "%s m = w[0];\n",
    T, (long long)RW, (long long)RW, lo, T, (long long)(IH * IW), T, (long long)(OH * OW),
    (long long)OH, (long long)SH, (long long)PH, (long long)KH, (long long)IH, (long long)KH,
    (long long)IH, T, (long long)PW, (long long)IW, lo, T, (long long)IW, (long long)IW, T,
    (long long)IW, (long long)IW, T, (long long)OW, (long long)OW, T, (long long)SW, T);
  for (int64_t kw = 1; kw < KW; kw++)
    E("m = w[%lld] > m ? w[%lld] : m;\n", (long long)kw, (long long)kw);
  E("yr[ow] = m;\n}\n}\n}\n");
  return true;
}

const KernelConfig kc_maxpool_int = {
    .name = "maxpool_int",
    .runs = maxpool_int_runs,
    .split = maxpool_int_split,
    .emit = maxpool_int_emit,
};
