/*
 * layernorm.c — LayerNormalization (opset 17).
 *
 * X is seen as outer x inner, inner = the product of dims [axis, rank)
 * (axis default -1).  Each row of inner elements is normalised on its own:
 *
 *   mean = sum(x) / inner,  var = sum((x - mean)^2) / inner
 *   inv  = 1 / sqrt(var + epsilon)
 *   Y    = (x - mean) * inv * Scale + B          (B optional)
 *
 * Scale and B hold one value per normalised element (the shape
 * X.shape[axis:], leading 1s allowed) or a single value.  The optional
 * outputs Mean and InvStdDev (X's shape with dims from axis on set to 1)
 * are computed as well.  stash_type must be 1 (float32 statistics).
 */
#include "../cardinal.h"

#include <math.h>

bool layernorm_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  n->p.axis = attr_int(n, "axis", -1, d);
  n->p.epsilon = attr_float(n, "epsilon", 1e-5f, d);
  int64_t stash = attr_int(n, "stash_type", 1, d);
  if (stash != 1) {
    diag_error(d, "node '%s' (LayerNormalization): stash_type %lld is not supported "
               "(only 1, float32)", node_label(n), (long long)stash);
    return false;
  }
  return true;
}

bool layernorm_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  OpParams *p = &n->p;
  if (x->dtype != DT_FLOAT || x->rank < 1) {
    diag_error(d, "node '%s' (LayerNormalization): X must be float32 of rank >= 1",
               node_label(n));
    return false;
  }
  int64_t axis = normalize_axis(p->axis, x->rank);
  if (axis < 0 || axis >= x->rank) {
    diag_error(d, "node '%s' (LayerNormalization): axis %lld is out of range for rank %d",
               node_label(n), (long long)p->axis, x->rank);
    return false;
  }
  p->axis = axis; /* normalised: running this again changes nothing */
  p->outer = p->inner = 1;
  for (int k = 0; k < x->rank; k++) {
    if (k < axis)
      p->outer *= x->dims[k];
    else
      p->inner *= x->dims[k];
  }
  for (int i = 1; i < n->nin; i++) {
    if (n->in[i] < 0)
      continue;
    const Value *s = &g->values[n->in[i]];
    bool shape_ok = value_numel(s) == p->inner;
    for (int k = 0; k < s->rank && shape_ok; k++) {
      int back = s->rank - k; /* 1 for the last dim */
      shape_ok = s->dims[k] == (back <= x->rank - axis ? x->dims[x->rank - back] : 1);
    }
    if (s->dtype != DT_FLOAT || (!shape_ok && value_numel(s) != 1)) {
      diag_error(d, "node '%s' (LayerNormalization): %s '%s' must be float32 of the "
                 "normalised shape (X's dims from axis %lld on) or one value",
                 node_label(n), i == 1 ? "Scale" : "B", s->name, (long long)axis);
      return false;
    }
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, x->dims);
  int64_t sd[CD_MAX_RANK];
  for (int k = 0; k < x->rank; k++)
    sd[k] = k < axis ? x->dims[k] : 1;
  for (int j = 1; j < n->nout; j++)
    if (n->out[j] >= 0)
      value_set_shape(&g->values[n->out[j]], DT_FLOAT, x->rank, sd);
  return true;
}

void layernorm_eval(Graph *g, Node *n, void **data) {
  const OpParams *p = &n->p;
  const float *X = data[n->in[0]], *S = data[n->in[1]];
  const float *B = node_has_input(n, 2) ? data[n->in[2]] : NULL;
  bool s1 = value_numel(&g->values[n->in[1]]) == 1;
  bool b1 = B && value_numel(&g->values[n->in[2]]) == 1;
  float *Y = data[n->out[0]];
  float *M = n->nout > 1 && n->out[1] >= 0 ? data[n->out[1]] : NULL;
  float *I = n->nout > 2 && n->out[2] >= 0 ? data[n->out[2]] : NULL;
  for (int64_t o = 0; o < p->outer; o++) {
    const float *x = X + o * p->inner;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < p->inner; j++)
      mean += x[j];
    mean /= (double)p->inner;
    for (int64_t j = 0; j < p->inner; j++)
      var += (x[j] - mean) * (x[j] - mean);
    var /= (double)p->inner;
    double inv = 1.0 / sqrt(var + p->epsilon);
    for (int64_t j = 0; j < p->inner; j++)
      Y[o * p->inner + j] =
          (float)((x[j] - mean) * inv * S[s1 ? 0 : j] + (B ? B[b1 ? 0 : j] : 0.0));
    if (M)
      M[o] = (float)mean;
    if (I)
      I[o] = (float)inv;
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool layernorm_emit(CWriter *w, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  bool has_b = node_has_input(n, 2);
  bool s1 = value_numel(&g->values[n->in[1]]) == 1;
  bool b1 = has_b && value_numel(&g->values[n->in[2]]) == 1;
  bool mean_out = n->nout > 1 && n->out[1] >= 0, inv_out = n->nout > 2 && n->out[2] >= 0;
  cw_var(w, "L", "%lld", (long long)p->inner); /* the normalised length */
  cw_var(w, "Lf", "%s", cw_float(w, (double)p->inner));
  cw(w, "for (long o = 0; o < %lld; o++) {\n"
        "const float *x = x0 + o * ${L};\n"
        "float *y = y0 + o * ${L};\n"
        "float mean = 0.0f, var = 0.0f;\n"
        "for (long j = 0; j < ${L}; j++)\n"
        "mean += x[j];\n"
        "mean /= ${Lf};\n"
        "for (long j = 0; j < ${L}; j++)\n"
        "var += (x[j] - mean) * (x[j] - mean);\n"
        "const float inv = 1.0f / sqrtf(var / ${Lf} + %s);\n"
        "for (long j = 0; j < ${L}; j++)\n"
        "y[j] = (x[j] - mean) * inv * x1[%s]%s;\n",
     (long long)p->outer, cw_float(w, p->epsilon), s1 ? "0" : "j",
     has_b ? cw_fmt(w, " + x2[%s]", b1 ? "0" : "j") : "");
  if (mean_out)
    cw(w, "y1[o] = mean;\n");
  if (inv_out)
    cw(w, "y2[o] = inv;\n");
  cw(w, "}\n");
  return true;
}
