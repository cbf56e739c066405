/*
 * groupnorm.c — InstanceNormalization and GroupNormalization: X [N, C,
 * spatial...] has its channels cut into G groups (GroupNormalization's
 * num_groups; InstanceNormalization: G = C), and each group of each image
 * is normalised on its own, over its C/G channels and every position:
 *
 *   mean = sum(x) / L,  var = sum((x - mean)^2) / L     (L = C/G x spatial)
 *   Y    = (x - mean) / sqrt(var + epsilon) * scale + B
 *
 * scale and B are per channel ([C]: InstanceNormalization, and
 * GroupNormalization from opset 21) or per group ([G]: GroupNormalization
 * in opsets 18 to 20); they are read at run time.  The statistics are
 * summed in double: a group of a UNet's 256 x 256 planes is 2^16 values and
 * more, where float sums drift.
 */
#include "../cardinal.h"

#include <math.h>

bool groupnorm_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  n->p.epsilon = attr_float(n, "epsilon", 1e-5f, d);
  n->p.group = 0;
  if (n->op == OP_GROUPNORM) {
    const Attr *a;
    if (!attr_get(n, "num_groups", AT_INT, d, &a))
      return false;
    if (!a || a->i < 1) {
      diag_error(d, "node '%s' (GroupNormalization): num_groups must be given, at least 1",
                 node_label(n));
      return false;
    }
    n->p.group = a->i;
    if (attr_int(n, "stash_type", 1, d) != 1) {
      diag_error(d, "node '%s' (GroupNormalization): stash_type must be 1 (float32 "
                 "statistics)", node_label(n));
      return false;
    }
  }
  return true;
}

bool groupnorm_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  OpParams *p = &n->p;
  if (x->dtype != DT_FLOAT || x->rank < 2) {
    diag_error(d, "node '%s' (%s): X must be float32 [N, C, ...]", node_label(n), n->op_type);
    return false;
  }
  int64_t C = x->dims[1], G = n->op == OP_GROUPNORM ? p->group : C;
  if (G < 1 || C % G) {
    diag_error(d, "node '%s' (%s): %lld channels do not split into %lld groups", node_label(n),
               n->op_type, (long long)C, (long long)G);
    return false;
  }
  p->outer = x->dims[0] * G; /* (image, group) pairs */
  p->len = C / G;            /* channels of a group */
  p->inner = 1;              /* positions of a channel */
  for (int k = 2; k < x->rank; k++)
    p->inner *= x->dims[k];
  for (int i = 1; i < 3; i++) {
    const Value *s = &g->values[n->in[i]];
    int64_t m = value_numel(s);
    if (s->dtype != DT_FLOAT || s->rank != 1 || (m != C && m != G)) {
      diag_error(d, "node '%s' (%s): %s '%s' must be float32 [%lld]%s", node_label(n),
                 n->op_type, i == 1 ? "scale" : "B", s->name, (long long)C,
                 G != C ? " (per channel) or one value per group" : "");
      return false;
    }
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, x->dims);
  return true;
}

/* Whether scale and B hold one value per group (else per channel). */
static bool per_group(const Graph *g, const Node *n) {
  return value_numel(&g->values[n->in[1]]) != n->p.len * (n->p.outer / g->values[n->in[0]].dims[0]);
}

void groupnorm_eval(Graph *g, Node *n, void **data) {
  const OpParams *p = &n->p;
  const float *X = data[n->in[0]], *S = data[n->in[1]], *B = data[n->in[2]];
  float *Y = data[n->out[0]];
  int64_t G = p->outer / g->values[n->in[0]].dims[0], L = p->len * p->inner;
  bool pg = per_group(g, n);
  for (int64_t o = 0; o < p->outer; o++) {
    const float *x = X + o * L;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < L; j++)
      mean += x[j];
    mean /= (double)L;
    for (int64_t j = 0; j < L; j++)
      var += (x[j] - mean) * (x[j] - mean);
    double inv = 1.0 / sqrt(var / (double)L + p->epsilon);
    int64_t grp = o % G;
    for (int64_t c = 0; c < p->len; c++) {
      int64_t k = pg ? grp : grp * p->len + c;
      for (int64_t s = 0; s < p->inner; s++)
        Y[o * L + c * p->inner + s] = (float)((x[c * p->inner + s] - mean) * inv * S[k] + B[k]);
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool groupnorm_emit(CWriter *w, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  int64_t G = p->outer / g->values[n->in[0]].dims[0];
  cw_var(w, "L", "%lld", (long long)(p->len * p->inner));
  cw_var(w, "S", "%lld", (long long)p->inner);
  cw(w, "for (long o = 0; o < %lld; o++) {\n"
        "const float *x = x0 + o * ${L};\n"
        "float *y = y0 + o * ${L};\n"
        "double mean = 0.0, var = 0.0;\n"
        "for (long j = 0; j < ${L}; j++)\n"
        "mean += x[j];\n"
        "mean /= %lld.0;\n"
        "for (long j = 0; j < ${L}; j++)\n"
        "var += (x[j] - mean) * (x[j] - mean);\n"
        "const double inv = 1.0 / sqrt(var / %lld.0 + %s);\n"
        "for (long c = 0; c < %lld; c++) {\n"
        "const long k = %s;\n"
        "const float m = (float)mean, a = (float)(inv * x1[k]), b = x2[k];\n"
        "for (long s = 0; s < ${S}; s++)\n"
        "y[c * ${S} + s] = (x[c * ${S} + s] - m) * a + b;\n"
        "}\n"
        "}\n",
     (long long)p->outer, (long long)(p->len * p->inner), (long long)(p->len * p->inner),
     cw_float(w, p->epsilon), (long long)p->len,
     per_group(g, n) ? cw_fmt(w, "o %% %lld", (long long)G)
                     : cw_fmt(w, "o %% %lld * %lld + c", (long long)G, (long long)p->len));
  return true;
}
