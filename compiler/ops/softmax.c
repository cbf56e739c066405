/*
 * softmax.c — Softmax.  Before opset 13 the input is seen as a matrix
 * [prod(dims[:axis]), prod(dims[axis:])] (axis default 1) and each row is
 * normalised; from opset 13 on, softmax runs along one axis (default -1).
 * Either way the op is outer x len x inner with the sum over len.
 */
#include "../cardinal.h"

#include <math.h>

bool softmax_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)d;
  n->p.axis = attr_int(n, "axis", n->opset < 13 ? 1 : -1, d);
  return true;
}

bool softmax_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  if (x->dtype != DT_FLOAT || x->rank < 1) {
    diag_error(d, "node '%s' (Softmax): input must be float32", node_label(n));
    return false;
  }
  bool old = n->opset < 13;
  int64_t axis = normalize_axis(n->p.axis, x->rank);
  if (axis < 0 || axis >= x->rank) {
    diag_error(d, "node '%s' (Softmax): axis out of range", node_label(n));
    return false;
  }
  OpParams *p = &n->p;
  p->axis = axis; /* normalised: running this again changes nothing */
  p->outer = p->len = p->inner = 1;
  for (int k = 0; k < x->rank; k++) {
    if (k < axis)
      p->outer *= x->dims[k];
    else if (k == axis || old)
      p->len *= x->dims[k];
    else
      p->inner *= x->dims[k];
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, x->dims);
  return true;
}

void softmax_eval(Graph *g, Node *n, void **data) {
  (void)g;
  const OpParams *p = &n->p;
  const float *X = data[n->in[0]];
  float *Y = data[n->out[0]];
  for (int64_t o = 0; o < p->outer; o++)
    for (int64_t i = 0; i < p->inner; i++) {
      const float *x = X + o * p->len * p->inner + i;
      float *y = Y + o * p->len * p->inner + i;
      float mx = -INFINITY;
      for (int64_t k = 0; k < p->len; k++)
        mx = fmaxf(mx, x[k * p->inner]);
      double sum = 0;
      for (int64_t k = 0; k < p->len; k++)
        sum += expf(x[k * p->inner] - mx);
      for (int64_t k = 0; k < p->len; k++)
        y[k * p->inner] = (float)(expf(x[k * p->inner] - mx) / sum);
    }
}

/* ------------------------------------------------------------ scalar kernel */

bool softmax_emit(CWriter *w, Graph *g, Node *n) {
  (void)g;
  const OpParams *p = &n->p;
  cw_var(w, "len", "%lld", (long long)p->len);     /* the axis */
  cw_var(w, "inner", "%lld", (long long)p->inner); /* its stride */
  cw_var(w, "outer", "%lld", (long long)(p->len * p->inner));
  cw(w, "for (long o = 0; o < %lld; o++)\n"
        "for (long i = 0; i < ${inner}; i++) {\n"
        "const float *x = x0 + o * ${outer} + i;\n"
        "float *y = y0 + o * ${outer} + i;\n"
        "float mx = -HUGE_VALF, sum = 0.0f;\n"
        "for (long k = 0; k < ${len}; k++)\n"
        "mx = x[k * ${inner}] > mx ? x[k * ${inner}] : mx;\n"
        "for (long k = 0; k < ${len}; k++)\n"
        "sum += y[k * ${inner}] = expf(x[k * ${inner}] - mx);\n"
        "for (long k = 0; k < ${len}; k++)\n"
        "y[k * ${inner}] /= sum;\n"
        "}\n",
     (long long)p->outer);
  return true;
}
