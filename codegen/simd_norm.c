/*
 * simd_norm.c — LayerNormalization on the SIMD targets (ConvNeXt after
 * every depthwise conv, the transformers' blocks): rows of `inner`
 * contiguous floats on the plain layout, each normalised on its own, the
 * rows split over threads.  Per row three passes, as the scalar kernel
 * (ops/layernorm.c) does them: the sum, then the sum of squared
 * differences from the mean, then (x - mean) * inv * Scale + B; each pass
 * whole vectors in registers (one accumulator), the partial last vector
 * element by element.  The sums are added in another order than the scalar
 * kernel's: the result differs by rounding, within the interpreter's
 * tolerance.
 */
#include "../compiler/cardinal.h"

#define E(...) cw(e->w, __VA_ARGS__)

static bool lnorm_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  if (n->op != OP_LAYERNORM)
    return false;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] >= 0 && g->values[n->in[i]].layout.kind != LAYOUT_PLAIN)
      return false;
  return g->values[n->out[0]].layout.kind == LAYOUT_PLAIN;
}

static SplitAxis lnorm_split(const Graph *g, const Node *n, const Target *t, int T,
                             int64_t *units) {
  (void)g;
  (void)t;
  (void)T;
  *units = n->p.outer;
  return SPLIT_ROWS;
}

/* Horizontal sum of vector `acc` plus the tail x[j] for j in [full, L),
 * into float `dst` (declared by the caller); `term` the tail's summand. */
static void row_sum(Emitter *e, const char *acc, const char *dst, const char *term) {
  E("{\n"
    "float l[${lanes}];\n"
    "%s;\n"
    "%s = 0.0f;\n"
    "for (int k = 0; k < ${lanes}; k++)\n"
    "%s += l[k];\n"
    "for (long j = ${full}; j < ${L}; j++)\n"
    "%s += %s;\n"
    "}\n",
    cw_op(e->w, e->t->f32.store, "l", acc, 0), dst, dst, dst, term);
}

static bool lnorm_emit(Emitter *e, Graph *g, Node *n) {
  const VecOps *o = &e->t->f32;
  CWriter *w = e->w;
  const OpParams *p = &n->p;
  bool has_b = node_has_input(n, 2);
  bool s1 = value_numel(&g->values[n->in[1]]) == 1;
  bool b1 = has_b && value_numel(&g->values[n->in[2]]) == 1;
  cw_var(w, "L", "%lld", (long long)p->inner);
  cw_var(w, "Lf", "%s", cw_float(w, (double)p->inner));
  cw_var(w, "lanes", "%d", o->lanes);
  cw_var(w, "full", "%lld", (long long)(p->inner / o->lanes * o->lanes));
  const char *xv = cw_op(w, o->load, "x + j", 0, 0);
  E("for (long o = s0; o < s1; o++) {\n"
    "const float *x = x0 + o * ${L};\n"
    "float *y = y0 + o * ${L};\n"
    "float mean, var;\n"
    "%s acc = %s;\n"
    "for (long j = 0; j < ${full}; j += ${lanes})\n"
    "acc = %s;\n",
    o->vtype, o->zero, cw_op(w, o->add, "acc", xv, 0));
  row_sum(e, "acc", "mean", "x[j]");
  E("mean /= ${Lf};\n"
    "const %s vm = %s;\n"
    "acc = %s;\n"
    "for (long j = 0; j < ${full}; j += ${lanes}) {\n"
    "const %s d = %s;\n"
    "acc = %s;\n"
    "}\n",
    o->vtype, cw_op(w, o->set1, "mean", 0, 0), o->zero, o->vtype, cw_op(w, o->sub, xv, "vm", 0),
    cw_op(w, o->fma, "d", "d", "acc"));
  row_sum(e, "acc", "var", "(x[j] - mean) * (x[j] - mean)");
  const char *sv = s1 ? cw_op(w, o->set1, "x1[0]", 0, 0) : cw_op(w, o->load, "x1 + j", 0, 0);
  const char *val = cw_op(w, o->mul, cw_op(w, o->mul, cw_op(w, o->sub, xv, "vm", 0), "vi", 0), sv, 0);
  if (has_b)
    val = cw_op(w, o->add, val, b1 ? cw_op(w, o->set1, "x2[0]", 0, 0) : cw_op(w, o->load, "x2 + j", 0, 0), 0);
  E("const float inv = 1.0f / sqrtf(var / ${Lf} + %s);\n"
    "const %s vi = %s;\n"
    "for (long j = 0; j < ${full}; j += ${lanes})\n"
    "%s;\n"
    "for (long j = ${full}; j < ${L}; j++)\n"
    "y[j] = (x[j] - mean) * inv * x1[%s]%s;\n",
    cw_float(w, p->epsilon), o->vtype, cw_op(w, o->set1, "inv", 0, 0),
    cw_op(w, o->store, "y + j", val, 0), s1 ? "0" : "j",
    has_b ? cw_fmt(w, " + x2[%s]", b1 ? "0" : "j") : "");
  if (n->nout > 1 && n->out[1] >= 0)
    E("y1[o] = mean;\n");
  if (n->nout > 2 && n->out[2] >= 0)
    E("y2[o] = inv;\n");
  E("}\n");
  return true;
}

const KernelConfig kc_layernorm_vec = {
    .name = "layernorm_vec",
    .x = DT_FLOAT, .w = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR,
    .runs = lnorm_runs,
    .split = lnorm_split,
    .emit = lnorm_emit,
};

/*
 * reduce_rows: ReduceSum and ReduceMean of float over the trailing dims on
 * the plain layout (ShuffleNet's final mean over H and W): each output the
 * sum of a contiguous row, in vectors (lane sums added in lane order, then
 * the tail), the mean dividing it by the count; the rows split over
 * threads.  The interpreter sums in double in element order: the two agree
 * to float rounding, not to the bit.
 */
static bool reduce_rows_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  int64_t count;
  const Value *x = &g->values[n->in[0]];
  return (n->op == OP_REDUCEMEAN || n->op == OP_REDUCESUM) && x->dtype == DT_FLOAT &&
         x->layout.kind == LAYOUT_PLAIN && g->values[n->out[0]].layout.kind == LAYOUT_PLAIN &&
         reduce_trailing(n, x, &count) && count >= 1;
}

static SplitAxis reduce_rows_split(const Graph *g, const Node *n, const Target *t, int T,
                                   int64_t *units) {
  (void)t;
  (void)T;
  *units = value_numel(&g->values[n->out[0]]);
  return SPLIT_ROWS;
}

static bool reduce_rows_emit(Emitter *e, Graph *g, Node *n) {
  const VecOps *o = &e->t->f32;
  int64_t C;
  CD_ASSERT(reduce_trailing(n, &g->values[n->in[0]], &C));
  int L = o->lanes;
  E("for (long r = s0; r < s1; r++) {\n"
    "const float *xr = x0 + r * %lld;\n"
    "%s a = %s;\n"
    "for (long i = 0; i < %lld; i += %d)\n"
    "a = %s;\n"
    "float lanes[%d], s = 0.0f;\n"
    "%s;\n"
    "for (int l = 0; l < %d; l++)\n"
    "s += lanes[l];\n"
    "for (long i = %lld; i < %lld; i++)\n"
    "s += xr[i];\n"
    "y0[r] = %s;\n"
    "}\n",
    (long long)C, o->vtype, o->zero, (long long)(C / L * L), L,
    cw_op(e->w, o->add, "a", cw_op(e->w, o->load, "xr + i", 0, 0), 0), L,
    cw_op(e->w, o->store, "lanes", "a", 0), L, (long long)(C / L * L), (long long)C,
    n->op == OP_REDUCEMEAN ? cw_fmt(e->w, "s / %s", cw_float(e->w, (double)C)) : "s");
  return true;
}

const KernelConfig kc_reduce_rows = {
    .name = "reduce_rows",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR,
    .runs = reduce_rows_runs,
    .split = reduce_rows_split,
    .emit = reduce_rows_emit,
};

/*
 * softmax_rows: Softmax over the last axis (a transformer's attention
 * scores, a classifier's probabilities) on the plain layout, rows split
 * over threads.  Per row: the maximum in vectors, then exp(x - max) by the
 * activation table's vector exp into y while summing, then y times 1 /
 * sum; the partial last vector element by element (expf).  The vector exp
 * and the order of the sum differ from the scalar kernel by rounding,
 * within the interpreter's tolerance.
 */
static bool softmax_rows_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return n->op == OP_SOFTMAX && n->p.inner == 1 && n->p.len > 0 &&
         g->values[n->in[0]].layout.kind == LAYOUT_PLAIN &&
         g->values[n->out[0]].layout.kind == LAYOUT_PLAIN;
}

static bool softmax_rows_emit(Emitter *e, Graph *g, Node *n) {
  (void)g;
  const VecOps *o = &e->t->f32;
  CWriter *w = e->w;
  cw_var(w, "L", "%lld", (long long)n->p.len);
  cw_var(w, "lanes", "%d", o->lanes);
  cw_var(w, "full", "%lld", (long long)(n->p.len / o->lanes * o->lanes));
  const char *xv = cw_op(w, o->load, "x + j", 0, 0);
  E("for (long r = s0; r < s1; r++) {\n"
    "const float *x = x0 + r * ${L};\n"
    "float *y = y0 + r * ${L};\n"
    "float mx = -HUGE_VALF, sum = 0.0f;\n"
    "{\n"
    "%s m = %s;\n"
    "for (long j = 0; j < ${full}; j += ${lanes})\n"
    "m = %s;\n"
    "float l[${lanes}];\n"
    "%s;\n"
    "for (int k = 0; k < ${lanes}; k++)\n"
    "mx = l[k] > mx ? l[k] : mx;\n"
    "for (long j = ${full}; j < ${L}; j++)\n"
    "mx = x[j] > mx ? x[j] : mx;\n"
    "}\n",
    o->vtype, cw_op(w, o->set1, "-HUGE_VALF", 0, 0), cw_op(w, o->max, "m", xv, 0),
    cw_op(w, o->store, "l", "m", 0));
  E("const %s vm = %s;\n"
    "%s acc = %s;\n"
    "for (long j = 0; j < ${full}; j += ${lanes}) {\n"
    "const %s v = %s;\n"
    "%s;\n"
    "acc = %s;\n"
    "}\n",
    o->vtype, cw_op(w, o->set1, "mx", 0, 0), o->vtype, o->zero, o->vtype,
    act_vector(w, o, OP_EXP, 0, 0, cw_op(w, o->sub, xv, "vm", 0)), cw_op(w, o->store, "y + j", "v", 0),
    cw_op(w, o->add, "acc", "v", 0));
  row_sum(e, "acc", "sum", "(y[j] = expf(x[j] - mx))");
  E("const float inv = 1.0f / sum;\n"
    "const %s vi = %s;\n"
    "for (long j = 0; j < ${full}; j += ${lanes})\n"
    "%s;\n"
    "for (long j = ${full}; j < ${L}; j++)\n"
    "y[j] *= inv;\n"
    "}\n",
    o->vtype, cw_op(w, o->set1, "inv", 0, 0),
    cw_op(w, o->store, "y + j", cw_op(w, o->mul, cw_op(w, o->load, "y + j", 0, 0), "vi", 0), 0));
  return true;
}

const KernelConfig kc_softmax_rows = {
    .name = "softmax_rows",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_VMATH,
    .runs = softmax_rows_runs,
    .split = lnorm_split,
    .emit = softmax_rows_emit,
};
