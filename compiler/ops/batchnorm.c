/*
 * batchnorm.c — BatchNormalization in inference form:
 *
 *   y = scale * (x - mean) / sqrt(var + epsilon) + B,  per channel (dim 1)
 *
 * Training mode (training_mode = 1, or the opset < 9 is_test = 0 with extra
 * outputs) is refused: Cardinal compiles inference graphs.
 */
#include "../cardinal.h"

#include <math.h>

bool batchnorm_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  if (attr_int(n, "training_mode", 0, d) != 0 || n->nout > 1) {
    diag_error(d, "node '%s' (BatchNormalization): training mode is not "
               "supported", node_label(n));
    return false;
  }
  n->p.epsilon = attr_float(n, "epsilon", 1e-5f, d);
  return true;
}

bool batchnorm_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  if (x->dtype != DT_FLOAT || x->rank < 2) {
    diag_error(d, "node '%s' (BatchNormalization): input must be float32 of "
               "rank >= 2", node_label(n));
    return false;
  }
  if (value_numel(x) == 0) { /* the kernel and fold-bn divide by N x C */
    diag_error(d, "node '%s' (BatchNormalization): the input is empty (a dim of 0); "
               "empty tensors are not supported", node_label(n));
    return false;
  }
  for (int i = 1; i < 5; i++) {
    Value *v = &g->values[n->in[i]];
    if (v->dtype != DT_FLOAT || v->rank != 1 || v->dims[0] != x->dims[1]) {
      diag_error(d, "node '%s' (BatchNormalization): parameter '%s' must be "
                 "float32 [%lld]", node_label(n), v->name, (long long)x->dims[1]);
      return false;
    }
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, x->dims);
  return true;
}

void batchnorm_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  const float *X = data[n->in[0]], *S = data[n->in[1]], *B = data[n->in[2]],
              *M = data[n->in[3]], *V = data[n->in[4]];
  float *Y = data[n->out[0]];
  int64_t N = x->dims[0], C = x->dims[1], inner = value_numel(x) / (N * C);
  if (N * C == 0)
    return;
  for (int64_t b = 0; b < N; b++)
    for (int64_t c = 0; c < C; c++) {
      float a = S[c] / sqrtf(V[c] + n->p.epsilon);
      const float *xc = X + (b * C + c) * inner;
      float *yc = Y + (b * C + c) * inner;
      for (int64_t i = 0; i < inner; i++)
        yc[i] = (xc[i] - M[c]) * a + B[c];
    }
}

/* ------------------------------------------------------------ scalar kernel */

bool batchnorm_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  int64_t N = x->dims[0], C = x->dims[1], nc = N * C;
  int64_t inner = nc > 0 ? value_numel(x) / nc : 0;
  cw(w, "for (long b = 0; b < %lld; b++)\n"
        "for (long c = 0; c < %lld; c++) {\n"
        "const float a = x1[c] / sqrtf(x4[c] + %s), s = x2[c], mu = x3[c];\n"
        "const float *xc = x0 + (b * %lld + c) * %lld;\n"
        "float *yc = y0 + (b * %lld + c) * %lld;\n"
        "for (long i = 0; i < %lld; i++)\n"
        "yc[i] = (xc[i] - mu) * a + s;\n"
        "}\n",
       (long long)N, (long long)C, cw_float(w, n->p.epsilon), (long long)C,
       (long long)inner, (long long)C, (long long)inner, (long long)inner);
  return true;
}
