/*
 * simd.c — the elementwise and reorder families of the SIMD targets.  Both
 * reuse the op's own loops: an elementwise op on operands of one shape and
 * layout works lane by lane, padding lanes included (what they hold never
 * reaches a real lane), and the reorder kernel handles any block; the
 * compiler vectorises both under the target's attribute.  Each family's
 * outer loop runs over the units [s0, s1) the schedule gives this thread
 * (emit.c writes s0 and s1 before the body).
 */
#include "../compiler/cardinal.h"

#define E(...) cw(e->w, __VA_ARGS__)
#define ELTWISE_UNIT 64 /* elements a thread's share is counted in (a cache line of fp32) */

/* Before the layout pass: an activation (constant parameters) or
 * arithmetic whose operands all have the output's shape runs lane by lane
 * on any layout. */
static bool eltwise_can(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  unsigned f = op_table[n->op].flags;
  if (!(f & (OPF_ACTIVATION | OPF_ELEMENTWISE)) || n->nout != 1 || !is_act4d(g, n->out[0]))
    return false;
  const Value *y = &g->values[n->out[0]];
  for (int i = 0; i < n->nin; i++) {
    if (n->in[i] < 0)
      continue;
    if ((f & OPF_ACTIVATION) && i > 0) {
      if (!absent_or_const(g, n->in[i])) /* Clip bounds known at compile time */
        return false;
      continue;
    }
    if (!value_same_shape(&g->values[n->in[i]], y))
      return false;
  }
  return true;
}

/* After it: on NCHWc, as eltwise_can said; on the plain layout (any rank)
 * too, an activation or arithmetic of one shape being one flat loop
 * (ConvNeXt's GELU between its MLP's Gemms). */
static bool eltwise_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  unsigned f = op_table[n->op].flags;
  if (!(f & (OPF_ACTIVATION | OPF_ELEMENTWISE)) || n->nout != 1)
    return false;
  const Value *y = &g->values[n->out[0]];
  if (y->layout.kind != LAYOUT_NCHWC && y->layout.kind != LAYOUT_PLAIN)
    return false;
  for (int i = 0; i < n->nin; i++) {
    if (n->in[i] < 0)
      continue;
    if ((f & OPF_ACTIVATION) && i > 0) {
      if (!absent_or_const(g, n->in[i]))
        return false;
      continue;
    }
    const Value *x = &g->values[n->in[i]];
    if (value_numel(x) == 1 && x->rank <= y->rank && x->layout.kind == LAYOUT_PLAIN)
      continue; /* one value for every element (attention's / sqrt(d)) */
    if (!value_same_shape(x, y) || x->layout.kind != y->layout.kind)
      return false;
  }
  return true;
}

/* Stored elements, in units of ELTWISE_UNIT. */
static SplitAxis eltwise_split(const Graph *g, const Node *n, const Target *t, int T,
                               int64_t *units) {
  (void)t;
  (void)T;
  *units = (value_storage_numel(&g->values[n->out[0]]) + ELTWISE_UNIT - 1) / ELTWISE_UNIT;
  return SPLIT_ELEMS;
}

/* An activation is the table's vector form over whole vectors (NCHWc
 * storage is whole vectors, and a unit a whole number of them; plain
 * storage ends with the scalar form over what is left of the last vector);
 * the arithmetic is the op's own loop, which the compiler vectorises. */
static bool eltwise_emit(Emitter *e, Graph *g, Node *n) {
  int64_t m = value_storage_numel(&g->values[n->out[0]]);
  const VecOps *o = target_vec(e->t, DT_FLOAT);
  if (op_table[n->op].flags & OPF_ACTIVATION) {
    CD_ASSERT(ELTWISE_UNIT % o->lanes == 0);
    for (int i = 1; i < n->nin; i++) /* constant parameters (Clip's bounds) are in n->p */
      if (node_runtime_read(n, i))
        cw(e->w, "(void)x%d;\n", i);
    cw(e->w, "const long lo = s0 * %d, hi = s1 * %d < %lld ? s1 * %d : %lld;\n"
             "for (long i = lo; i + %d <= hi; i += %d) {\n"
             "const %s v = %s;\n"
             "%s;\n"
             "}\n",
       ELTWISE_UNIT, ELTWISE_UNIT, (long long)m, ELTWISE_UNIT, (long long)m, o->lanes, o->lanes,
       o->vtype, cw_op(e->w, o->load, "x0 + i", 0, 0),
       cw_op(e->w, o->store, "y0 + i", act_vector(e->w, o, n->op, n->p.alpha, n->p.beta, "v"), 0));
    if (m % o->lanes) /* plain storage: the last vector's elements one by one */
      cw(e->w, "for (long i = hi - (hi - lo) %% %d; i < hi; i++)\n"
               "y0[i] = %s;\n",
         o->lanes, act_scalar(e->w, n->op, n->p.alpha, n->p.beta, "x0[i]"));
    return true;
  }
  elementwise_flat(e->w, g, n, cw_fmt(e->w, "s0 * %d", ELTWISE_UNIT),
                   cw_fmt(e->w, "(s1 * %d < %lld ? s1 * %d : %lld)", ELTWISE_UNIT, (long long)m,
                          ELTWISE_UNIT, (long long)m));
  return true;
}

const KernelConfig kc_eltwise_vec = {
    .name = "eltwise_vec",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = eltwise_runs,
    .can = eltwise_can,
    .split = eltwise_split,
    .emit = eltwise_emit,
};

/*
 * qadd_split: QLinearAdd's portable loop (ops/quant.c, which the C compiler
 * vectorises on any target) over each thread's share of the elements, in
 * units of ELTWISE_UNIT: the residual adds of an int8 ResNet run on every
 * thread like the convs around them.
 */
static bool qadd_runs(const Graph *g, const Node *n, const Target *t) {
  (void)g;
  (void)t;
  return n->op == OP_QLINEARADD;
}

static bool qadd_emit_split(Emitter *e, Graph *g, Node *n) {
  int64_t m = value_numel(&g->values[n->out[0]]);
  qadd_loop(e->w, g, n, cw_fmt(e->w, "s0 * %d", ELTWISE_UNIT),
            cw_fmt(e->w, "(s1 * %d < %lld ? s1 * %d : %lld)", ELTWISE_UNIT, (long long)m,
                   ELTWISE_UNIT, (long long)m));
  return true;
}

/*
 * qadd_vec: QLinearAdd in the target's vectors, on a target whose int8
 * table widens bytes (widen8): per vector of lanes, both operands'
 * bytes zero-extended (s8 ones flipped to u8: x + 128, its zero point +
 * 128, so x - z is unchanged), their zero points off, as floats times their
 * multipliers summed as quant.h's cd_add_requantize sums them (the product
 * b mb rounded, then one fused multiply-add), rounded half to even, plus
 * the zero point, clamped, stored as bytes: its bits.  A share's last
 * partial vector runs the portable loop.  ResNeXt-50's first residual add
 * (802,816 bytes), the kernel alone, best of 50 on one Zen 4 core:
 * 0.388 ms in qadd_split with gcc 12 (which keeps rintf scalar), 0.163
 * with clang 14; here 0.119 with either.
 */
static bool qadd_vec_runs(const Graph *g, const Node *n, const Target *t) {
  (void)g;
  return n->op == OP_QLINEARADD && t->i8.widen8 && target_i8_f32(t)->lanes == t->i8.lanes;
}

static bool qadd_vec_emit(Emitter *e, Graph *g, Node *n) {
  const VecOps *iv = &e->t->i8, *fv = target_i8_f32(e->t);
  CWriter *w = e->w;
  const QuantParams *q = n->p.q;
  int L = iv->lanes;
  int64_t m = value_numel(&g->values[n->out[0]]);
  float ma, mb;
  qadd_multipliers(n, &ma, &mb);
  int64_t lo, hi;
  CD_ASSERT(dtype_io_as_float(q[2].dtype, &lo, &hi));
  E("const long e0 = s0 * %d, e1 = s1 * %d < %lld ? s1 * %d : %lld;\n"
    "const long ev = e0 + (e1 - e0) / %d * %d;\n"
    "for (long e = e0; e < ev; e += %d) {\n",
    ELTWISE_UNIT, ELTWISE_UNIT, (long long)m, ELTWISE_UNIT, (long long)m, L, L, L);
  for (int k = 0; k < 2; k++) {
    bool s8 = q[k].dtype == DT_INT8;
    const char *x = cw_op(w, iv->widen8, cw_fmt(w, "x%d + e", k ? 3 : 0), 0, 0);
    if (s8)
      x = cw_op(w, iv->xor_, x, cw_op(w, iv->set1, "0x80", 0, 0), 0);
    E("const %s f%d = %s;\n", fv->vtype, k,
      cw_op(w, iv->cvtf,
            cw_op(w, iv->sub, x, cw_op(w, iv->set1, cw_int(w, q[k].zero[0] + (s8 ? 128 : 0)), 0, 0), 0),
            0, 0));
  }
  E("%s r = %s;\n", fv->vtype,
    cw_op(w, fv->fma, "f0", cw_op(w, fv->set1, cw_float(w, ma), 0, 0),
          cw_op(w, fv->mul, "f1", cw_op(w, fv->set1, cw_float(w, mb), 0, 0), 0)));
  E("r = %s;\n", cw_op(w, fv->round, "r", 0, 0));
  E("r = %s;\n", cw_op(w, fv->add, "r", cw_op(w, fv->set1, cw_float(w, (float)q[2].zero[0]), 0, 0), 0));
  E("r = %s;\n", cw_op(w, fv->min, cw_op(w, fv->max, "r", cw_op(w, fv->set1, cw_float(w, (float)lo), 0, 0), 0),
                        cw_op(w, fv->set1, cw_float(w, (float)hi), 0, 0), 0));
  E("%s;\n}\n", cw_op(w, iv->store8, "y0 + e", cw_op(w, iv->cvti, "r", 0, 0), cw_int(w, L)));
  qadd_loop(w, g, n, "ev", "e1");
  return true;
}

/*
 * quantize_vec: QuantizeLinear of a float tensor, per tensor, in the
 * target's vectors (an int8 model's input): x / scale (a true division, as
 * quant.h's cd_quantize divides), rounded half to even, plus the zero
 * point, NaN made 0 (cd_saturate's), clamped to the type, stored as bytes;
 * a share's last partial vector through cd_quantize itself.  The elements
 * split over threads.
 */
static bool quantize_vec_runs(const Graph *g, const Node *n, const Target *t) {
  return n->op == OP_QUANTIZE && n->p.q[0].n == 1 && target_i8_f32(t)->lanes == t->i8.lanes &&
         t->i8.store8 && target_i8_f32(t)->unord && g->values[n->in[0]].layout.kind == LAYOUT_PLAIN &&
         g->values[n->out[0]].layout.kind == LAYOUT_PLAIN;
}

static bool quantize_vec_emit(Emitter *e, Graph *g, Node *n) {
  const VecOps *iv = &e->t->i8, *fv = target_i8_f32(e->t);
  CWriter *w = e->w;
  const QuantParams *q = &n->p.q[0];
  int L = iv->lanes;
  int64_t m = value_numel(&g->values[n->out[0]]), lo, hi;
  CD_ASSERT(dtype_io_as_float(q->dtype, &lo, &hi));
  const char *s = cw_float(w, q->scale[0]);
  E("const long e0 = s0 * %d, e1 = s1 * %d < %lld ? s1 * %d : %lld;\n"
    "const long ev = e0 + (e1 - e0) / %d * %d;\n"
    "for (long e = e0; e < ev; e += %d) {\n",
    ELTWISE_UNIT, ELTWISE_UNIT, (long long)m, ELTWISE_UNIT, (long long)m, L, L, L);
  E("%s r = %s;\n", fv->vtype,
    cw_op(w, fv->round,
          cw_op(w, fv->div, cw_op(w, fv->load, "x0 + e", 0, 0), cw_op(w, fv->set1, s, 0, 0), 0), 0,
          0));
  E("r = %s;\n", cw_op(w, fv->add, "r", cw_op(w, fv->set1, cw_float(w, (float)q->zero[0]), 0, 0), 0));
  E("r = %s;\n", cw_op(w, fv->blend, cw_op(w, fv->unord, "r", "r", 0), fv->zero, "r"));
  E("r = %s;\n", cw_op(w, fv->min, cw_op(w, fv->max, "r", cw_op(w, fv->set1, cw_float(w, (float)lo), 0, 0), 0),
                        cw_op(w, fv->set1, cw_float(w, (float)hi), 0, 0), 0));
  E("%s;\n}\n", cw_op(w, iv->store8, "y0 + e", cw_op(w, iv->cvti, "r", 0, 0), cw_int(w, L)));
  E("for (long e = ev; e < e1; e++)\n"
    "y0[e] = (%s)cd_quantize(x0[e], %s, %d, %d, %d);\n",
    dtype_ctype(q->dtype), s, (int)q->zero[0], (int)lo, (int)hi);
  return true;
}

/* The int8 elementwise rows: one per output type (the row's y picks the
 * target's int8 table), their elements split over threads. */
#define I8_ELTWISE_ROW(var, label, xt, yt, runs_fn, emit_fn)                  \
  const KernelConfig var = {                                                   \
      .name = label,                                                           \
      .x = xt, .y = yt,                                                        \
      .flags = KC_VECTOR,                                                      \
      .runs = runs_fn,                                                         \
      .split = eltwise_split,                                                  \
      .emit = emit_fn,                                                         \
  }

I8_ELTWISE_ROW(kc_quantize_vec_u8, "quantize_vec_u8", DT_FLOAT, DT_UINT8, quantize_vec_runs,
               quantize_vec_emit);
I8_ELTWISE_ROW(kc_quantize_vec_s8, "quantize_vec_s8", DT_FLOAT, DT_INT8, quantize_vec_runs,
               quantize_vec_emit);
I8_ELTWISE_ROW(kc_qadd_vec_u8, "qadd_vec_u8", DT_UNDEFINED, DT_UINT8, qadd_vec_runs, qadd_vec_emit);
I8_ELTWISE_ROW(kc_qadd_vec_s8, "qadd_vec_s8", DT_UNDEFINED, DT_INT8, qadd_vec_runs, qadd_vec_emit);

const KernelConfig kc_qadd_split = {
    .name = "qadd_split",
    .runs = qadd_runs,
    .split = eltwise_split,
    .emit = qadd_emit_split,
};

/*
 * channel_bcast: x op s, x of the output's shape and s one value per
 * channel (and image), both NCHWc: a squeeze-and-excitation block's scale
 * (EfficientNet, MobileNetV3) runs on the blocked layout, one vector of s
 * per block, instead of a Reorder of x to plain and back around it.
 */
bool node_is_channel_bcast(const Graph *g, const Node *n, int *big, int *chan) {
  if ((n->op != OP_MUL && n->op != OP_ADD && n->op != OP_SUB && n->op != OP_DIV) ||
      n->nin != 2 || n->nout != 1 || !is_act4d(g, n->out[0]))
    return false;
  const Value *y = &g->values[n->out[0]];
  for (int b = 0; b < 2; b++) {
    const Value *x = &g->values[n->in[b]], *s = &g->values[n->in[1 - b]];
    if (value_same_shape(x, y) && s->rank == 4 && s->dtype == DT_FLOAT &&
        (s->dims[0] == 1 || s->dims[0] == y->dims[0]) && s->dims[1] == y->dims[1] &&
        s->dims[2] == 1 && s->dims[3] == 1 && (y->dims[2] > 1 || y->dims[3] > 1)) {
      if (big)
        *big = b, *chan = 1 - b;
      return true;
    }
  }
  return false;
}

static bool bcast_can(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return node_is_channel_bcast(g, n, NULL, NULL);
}

static bool bcast_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return g->values[n->out[0]].layout.kind == LAYOUT_NCHWC && node_is_channel_bcast(g, n, NULL, NULL);
}

/* Blocks of the output, of every image. */
static SplitAxis bcast_split(const Graph *g, const Node *n, const Target *t, int T,
                             int64_t *units) {
  const Value *y = &g->values[n->out[0]];
  (void)T;
  *units = (y->dims[1] + t->block - 1) / t->block * y->dims[0];
  return SPLIT_BLOCKS;
}

static bool bcast_emit(Emitter *e, Graph *g, Node *n) {
  int big, chan;
  CD_ASSERT(node_is_channel_bcast(g, n, &big, &chan));
  const Value *y = &g->values[n->out[0]], *s = &g->values[n->in[chan]];
  const VecOps *o = target_vec(e->t, DT_FLOAT);
  int c = e->t->block;
  int64_t CB = (y->dims[1] + c - 1) / c, HW = y->dims[2] * y->dims[3];
  const char *xv = cw_op(e->w, o->load, cw_fmt(e->w, "x%d + (u * %lld + p) * %d", big, (long long)HW, c), 0, 0);
  const char *op = n->op == OP_MUL ? o->mul : n->op == OP_ADD ? o->add : n->op == OP_SUB ? o->sub : o->div;
  cw(e->w, "for (long u = s0; u < s1; u++) {\n"
           "const %s sv = %s;\n"
           "for (long p = 0; p < %lld; p++)\n"
           "%s;\n"
           "}\n",
     o->vtype,
     cw_op(e->w, o->load, cw_fmt(e->w, "x%d + %s * %d", chan,
                                 s->dims[0] == 1 ? cw_fmt(e->w, "(u %% %lld)", (long long)CB) : "u", c),
           0, 0),
     (long long)HW,
     cw_op(e->w, o->store, cw_fmt(e->w, "y0 + (u * %lld + p) * %d", (long long)HW, c),
           cw_op(e->w, op, big == 0 ? xv : "sv", big == 0 ? "sv" : xv, 0), 0));
  return true;
}

const KernelConfig kc_channel_bcast = {
    .name = "channel_bcast",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = bcast_runs,
    .can = bcast_can,
    .split = bcast_split,
    .emit = bcast_emit,
};

/*
 * row_bcast: x op s on the plain layout, x of the output's shape and s a
 * run of the output's dims [k0, k1) (1s elsewhere), repeated over the rows
 * before and the elements after: a per-channel scale or bias of a
 * channels-last tensor (inner = 1: a transformer's, ConvNeXt's MLP bias) or
 * of a plain NCHW one (ConvNeXt's layer scale after its Permute back).
 * Rows (each C values of s, or each value of s times `inner`) split over
 * threads; the inner loops are the compiler's to vectorise (contiguous).
 */
#define ROW_BCAST_MIN 4 /* a run shorter than this is not worth a loop of its own */

/* Whether n is such an op: then *C (the run of s) and *inner. */
static bool row_bcast_shape(const Graph *g, const Node *n, int64_t *C, int64_t *inner) {
  if (n->nin != 2 || n->nout != 1 ||
      (n->op != OP_ADD && n->op != OP_SUB && n->op != OP_MUL && n->op != OP_DIV))
    return false;
  const Value *y = &g->values[n->out[0]];
  if (y->layout.kind != LAYOUT_PLAIN || y->dtype != DT_FLOAT)
    return false;
  bool full = false, bcast = false;
  for (int i = 0; i < 2; i++) {
    const Value *x = &g->values[n->in[i]];
    if (x->layout.kind != LAYOUT_PLAIN || x->dtype != DT_FLOAT || x->rank > y->rank)
      return false;
    if (value_same_shape(x, y)) {
      full = true;
      continue;
    }
    if (bcast)
      return false; /* one repeated operand */
    bcast = true;
    int off = y->rank - x->rank, k0 = -1, k1 = -1; /* x right-aligned to y */
    for (int k = 0; k < x->rank; k++)
      if (x->dims[k] != 1) {
        if (x->dims[k] != y->dims[off + k] || (k1 >= 0 && k1 != off + k))
          return false; /* not y's dim, or not one run */
        k0 = k0 < 0 ? off + k : k0;
        k1 = off + k + 1;
      }
    if (k0 < 0)
      return false; /* one value: not a row */
    *C = *inner = 1;
    for (int k = k0; k < k1; k++)
      *C *= y->dims[k];
    for (int k = k1; k < y->rank; k++)
      *inner *= y->dims[k];
  }
  return full && bcast && (*inner > 1 ? *inner : *C) >= ROW_BCAST_MIN;
}

static bool row_bcast_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  int64_t C = 0, inner = 0;
  return row_bcast_shape(g, n, &C, &inner);
}

/* inner = 1: rows of C; else runs of inner, one value of s each. */
static SplitAxis row_bcast_split(const Graph *g, const Node *n, const Target *t, int T,
                                 int64_t *units) {
  (void)t;
  (void)T;
  int64_t C = 0, inner = 0;
  CD_ASSERT(row_bcast_shape(g, n, &C, &inner));
  *units = value_numel(&g->values[n->out[0]]) / (inner > 1 ? inner : C);
  return SPLIT_ROWS;
}

static bool row_bcast_emit(Emitter *e, Graph *g, Node *n) {
  int64_t C = 0, inner = 0;
  CD_ASSERT(row_bcast_shape(g, n, &C, &inner));
  elementwise_rows(e->w, g, n, C, inner, "s0", "s1");
  return true;
}

const KernelConfig kc_row_bcast = {
    .name = "row_bcast",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR,
    .runs = row_bcast_runs,
    .split = row_bcast_split,
    .emit = row_bcast_emit,
};

/*
 * transpose_tiled: a Transpose that swaps two runs of dims, [outer, A, B,
 * inner] -> [outer, B, A, inner] (NCHW <-> NHWC, ConvNeXt's Permutes;
 * ShuffleNet's channel shuffle with inner = H W), as tiles of TRANSPOSE_TILE
 * values of b: each reads TRANSPOSE_TILE contiguous values (or runs of
 * inner) of a row of x and writes them to as many rows of y, which fill in
 * order.  Tiles split over threads.
 */
#define TRANSPOSE_TILE 16

/* Whether n swaps two runs of dims: then the four products. */
static bool transpose_swap(const Graph *g, const Node *n, int64_t *outer, int64_t *A,
                           int64_t *B, int64_t *inner) {
  if (n->op != OP_TRANSPOSE)
    return false;
  const Value *x = &g->values[n->in[0]];
  int r = x->rank;
  if (x->layout.kind != LAYOUT_PLAIN || g->values[n->out[0]].layout.kind != LAYOUT_PLAIN ||
      n->p.nperm != r)
    return false;
  for (int p = 0; p < r; p++)
    for (int q = p + 1; q < r; q++)
      for (int e = q + 1; e <= r; e++) {
        /* perm = [0, p) [q, e) [p, q) [e, r) */
        int k = 0;
        bool ok = true;
        for (int i = 0; i < p && ok; i++)
          ok = n->p.perm[k++] == i;
        for (int i = q; i < e && ok; i++)
          ok = n->p.perm[k++] == i;
        for (int i = p; i < q && ok; i++)
          ok = n->p.perm[k++] == i;
        for (int i = e; i < r && ok; i++)
          ok = n->p.perm[k++] == i;
        if (!ok)
          continue;
        *outer = *A = *B = *inner = 1;
        for (int i = 0; i < r; i++)
          *(i < p ? outer : i < q ? A : i < e ? B : inner) *= x->dims[i];
        return true;
      }
  return false;
}

static bool transpose_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  int64_t o, a, b, i;
  return transpose_swap(g, n, &o, &a, &b, &i);
}

static SplitAxis transpose_split(const Graph *g, const Node *n, const Target *t, int T,
                                 int64_t *units) {
  (void)t;
  (void)T;
  int64_t o, a, b, i;
  CD_ASSERT(transpose_swap(g, n, &o, &a, &b, &i));
  *units = o * ((b + TRANSPOSE_TILE - 1) / TRANSPOSE_TILE);
  return SPLIT_ROWS;
}

static bool transpose_emit_tiled(Emitter *e, Graph *g, Node *n) {
  int64_t O, A, B, I;
  CD_ASSERT(transpose_swap(g, n, &O, &A, &B, &I));
  (void)O;
  cw_var(e->w, "A", "%lld", (long long)A);
  cw_var(e->w, "B", "%lld", (long long)B);
  cw_var(e->w, "I", "%lld", (long long)I);
  cw_var(e->w, "NT", "%lld", (long long)((B + TRANSPOSE_TILE - 1) / TRANSPOSE_TILE));
  cw_var(e->w, "T", "%d", TRANSPOSE_TILE);
  E("for (long u = s0; u < s1; u++) {\n"
    "const long o = u / ${NT}, b0 = u %% ${NT} * ${T}, b1 = b0 + ${T} < ${B} ? b0 + ${T} : ${B};\n"
    "const float *xo = x0 + o * (${A} * ${B} * ${I});\n"
    "float *yo = y0 + o * (${A} * ${B} * ${I});\n"
    "for (long a = 0; a < ${A}; a++)\n"
    "for (long b = b0; b < b1; b++)\n"
    "%s\n"
    "}\n",
    I == 1 ? "yo[b * ${A} + a] = xo[a * ${B} + b];"
           : cw_fmt(e->w, "memcpy(yo + (b * ${A} + a) * ${I}, xo + (a * ${B} + b) * ${I}, %lld);",
                    (long long)(I * (int64_t)sizeof(float))));
  return true;
}

const KernelConfig kc_transpose_tiled = {
    .name = "transpose_tiled",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR,
    .runs = transpose_runs,
    .split = transpose_split,
    .emit = transpose_emit_tiled,
};

/*
 * concat_blocked: a Concat along channels of NCHWc tensors whose channel
 * counts (but the last's) fill whole blocks is, per image, its inputs'
 * blocks one after another: a copy of each block, no Reorder to plain and
 * back around it (GoogLeNet's and DenseNet's concats).
 */
bool concat_is_blockwise(const Graph *g, const Node *n, int block) {
  if (n->op != OP_CONCAT || n->nout != 1 || !is_act4d(g, n->out[0]) ||
      normalize_axis(n->p.axis, 4) != 1 || block < 2)
    return false;
  for (int i = 0; i < n->nin; i++)
    if (!is_act4d(g, n->in[i]) || (i + 1 < n->nin && g->values[n->in[i]].dims[1] % block))
      return false;
  return true;
}

static bool concat_can(const Graph *g, const Node *n, const Target *t) {
  return concat_is_blockwise(g, n, t->block);
}

static bool concat_runs(const Graph *g, const Node *n, const Target *t) {
  return g->values[n->out[0]].layout.kind == LAYOUT_NCHWC && concat_is_blockwise(g, n, t->block);
}

/* The output's blocks, of every image: each is one input's block. */
static SplitAxis concat_split(const Graph *g, const Node *n, const Target *t, int T,
                              int64_t *units) {
  (void)T;
  const Value *y = &g->values[n->out[0]];
  *units = (y->dims[1] + t->block - 1) / t->block * y->dims[0];
  return SPLIT_BLOCKS;
}

/* A table of (input, its block) per output block of an image; each unit
 * copies one block of HW vectors. */
static bool concat_blocked_emit(Emitter *e, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int c = e->t->block;
  int64_t CB = (y->dims[1] + c - 1) / c, HW = y->dims[2] * y->dims[3];
  if (!cw_room(e->w, sat_mul(CB, 16)))
    return true; /* the budget: codegen_write reports it */
  cw(e->w, "static const int src[%lld][2] = {", (long long)CB);
  for (int i = 0, ob = 0; i < n->nin; i++) {
    int64_t cbi = (g->values[n->in[i]].dims[1] + c - 1) / c;
    for (int64_t b = 0; b < cbi; b++, ob++)
      cw(e->w, "%s{%d, %lld}", ob ? ", " : "", i, (long long)b);
  }
  cw(e->w, "};\n");
  cw(e->w, "const float *const x[%d] = {", n->nin);
  for (int i = 0; i < n->nin; i++)
    cw(e->w, "%sx%d", i ? ", " : "", i);
  cw(e->w, "};\n");
  cw(e->w, "static const long cbs[%d] = {", n->nin); /* blocks of each input */
  for (int i = 0; i < n->nin; i++)
    cw(e->w, "%s%lld", i ? ", " : "", (long long)((g->values[n->in[i]].dims[1] + c - 1) / c));
  cw(e->w, "};\n");
  cw(e->w, "for (long u = s0; u < s1; u++) {\n"
           "const long img = u / %lld, ob = u %% %lld, i = src[ob][0];\n"
           "memcpy(y0 + u * %lld, x[i] + (img * cbs[i] + src[ob][1]) * %lld, %lld);\n"
           "}\n",
     (long long)CB, (long long)CB, (long long)(HW * c), (long long)(HW * c),
     (long long)(HW * c * (int64_t)sizeof(float)));
  return true;
}

const KernelConfig kc_concat_blocked = {
    .name = "concat_blocked",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = concat_runs,
    .can = concat_can,
    .split = concat_split,
    .emit = concat_blocked_emit,
};

static bool reorder_runs(const Graph *g, const Node *n, const Target *t) {
  (void)g;
  (void)t;
  return n->op == OP_REORDER;
}

/* Blocks of the output: c channels, or one of a plain output, of every image. */
static SplitAxis reorder_split(const Graph *g, const Node *n, const Target *t, int T,
                               int64_t *units) {
  const Value *y = &g->values[n->out[0]];
  (void)t;
  (void)T;
  int64_t b = y->layout.kind == LAYOUT_NCHWC ? y->layout.block : 1;
  *units = (y->rank > 1 ? (y->dims[1] + b - 1) / b : 1) * (y->rank > 0 ? y->dims[0] : 1);
  return SPLIT_BLOCKS;
}

static bool reorder_emit_share(Emitter *e, Graph *g, Node *n) {
  reorder_loops(e->w, g, n, "s0", "s1");
  return true;
}

const KernelConfig kc_reorder = {
    .name = "reorder",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR,
    .runs = reorder_runs,
    .split = reorder_split,
    .emit = reorder_emit_share,
};
