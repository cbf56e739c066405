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
  bool has_b = n->nin > 2 && n->in[2] >= 0;
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
