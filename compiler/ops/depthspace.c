/*
 * depthspace.c — DepthToSpace and SpaceToDepth: blocks of b x b pixels
 * moved between the channels and the plane (pixel shuffle), any element
 * type, on [N, C, H, W]:
 *
 *   DepthToSpace  [N, C, H, W] -> [N, C/b^2, H b, W b]
 *                 y[n][c][h b + i][w b + j] = x[n][(i b + j) C/b^2 + c][h][w]   (DCR)
 *                                           = x[n][c b^2 + i b + j][h][w]      (CRD)
 *   SpaceToDepth  [N, C, H, W] -> [N, C b^2, H/b, W/b]
 *                 y[n][(i b + j) C + c][h][w] = x[n][c][h b + i][w b + j]
 *
 * Each output is written in order by loops over (n, c, h, i, w, j) or
 * (n, i, j, c, h, w): the order of its dims.
 */
#include "../cardinal.h"

#include <string.h>

bool depthspace_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  const Attr *a;
  if (!attr_get(n, "blocksize", AT_INT, d, &a))
    return false;
  if (!a || a->i < 1 || a->i > 1 << 16) {
    diag_error(d, "node '%s' (%s): blocksize must be given, from 1 to 65536", node_label(n),
               n->op_type);
    return false;
  }
  n->p.blocksize = a->i;
  const char *mode = attr_string(n, "mode", "DCR", d);
  if (strcmp(mode, "DCR") && strcmp(mode, "CRD")) {
    diag_error(d, "node '%s' (%s): mode must be DCR or CRD, not '%s'", node_label(n),
               n->op_type, mode);
    return false;
  }
  n->p.crd = !strcmp(mode, "CRD");
  return true;
}

bool depthspace_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  int64_t b = n->p.blocksize, bb = b * b;
  bool d2s = n->op == OP_DEPTHTOSPACE;
  if (x->rank != 4 || !dtype_size(x->dtype) ||
      (d2s ? x->dims[1] % bb : x->dims[2] % b || x->dims[3] % b)) {
    diag_error(d, "node '%s' (%s): the input must be [N, C, H, W] with %s divisible by %lld",
               node_label(n), n->op_type, d2s ? "C" : "H and W", (long long)(d2s ? bb : b));
    return false;
  }
  int64_t dims[4] = {x->dims[0], d2s ? x->dims[1] / bb : sat_mul(x->dims[1], bb),
                     d2s ? sat_mul(x->dims[2], b) : x->dims[2] / b,
                     d2s ? sat_mul(x->dims[3], b) : x->dims[3] / b};
  value_set_shape(&g->values[n->out[0]], x->dtype, 4, dims);
  return true;
}

/* The input element of output loop coordinates q[6] (the order above). */
static int64_t source(const Node *n, const Value *x, const int64_t *q) {
  int64_t b = n->p.blocksize, C = x->dims[1], H = x->dims[2], W = x->dims[3];
  if (n->op == OP_SPACETODEPTH) { /* q: n, i, j, c, h, w */
    return ((q[0] * C + q[3]) * H + q[4] * b + q[1]) * W + q[5] * b + q[2];
  }
  /* q: n, c, h, i, w, j */
  int64_t c = n->p.crd ? q[1] * b * b + q[3] * b + q[5] : (q[3] * b + q[5]) * (C / (b * b)) + q[1];
  return ((q[0] * C + c) * H + q[2]) * W + q[4];
}

/* The extents of those loops. */
static void loop_dims(const Node *n, const Value *x, int64_t *e) {
  int64_t b = n->p.blocksize;
  if (n->op == OP_SPACETODEPTH) {
    const int64_t v[6] = {x->dims[0], b, b, x->dims[1], x->dims[2] / b, x->dims[3] / b};
    memcpy(e, v, sizeof v);
  } else {
    const int64_t v[6] = {x->dims[0], x->dims[1] / (b * b), x->dims[2], b, x->dims[3], b};
    memcpy(e, v, sizeof v);
  }
}

void depthspace_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  size_t es = dtype_size(x->dtype);
  int64_t e[6], q[6] = {0}, m = value_numel(x);
  loop_dims(n, x, e);
  for (int64_t k = 0; k < m; k++) {
    memcpy((char *)data[n->out[0]] + (size_t)k * es,
           (const char *)data[n->in[0]] + (size_t)source(n, x, q) * es, es);
    for (int j = 5; j >= 0; j--) {
      if (++q[j] < e[j])
        break;
      q[j] = 0;
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool depthspace_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  int64_t e[6], b = n->p.blocksize, C = x->dims[1], H = x->dims[2], W = x->dims[3];
  loop_dims(n, x, e);
  if (value_numel(x) == 0) {
    cw(w, "(void)x0;\n(void)y0; /* empty */\n");
    return true;
  }
  cw(w, "long k = 0;\n");
  cw_loop_nest(w, 'q', e, 6);
  if (n->op == OP_SPACETODEPTH)
    cw(w, "y0[k++] = x0[((q0 * %lld + q3) * %lld + q4 * %lld + q1) * %lld + q5 * %lld + q2];\n",
       (long long)C, (long long)H, (long long)b, (long long)W, (long long)b);
  else if (n->p.crd)
    cw(w, "y0[k++] = x0[((q0 * %lld + q1 * %lld + q3 * %lld + q5) * %lld + q2) * %lld + q4];\n",
       (long long)C, (long long)(b * b), (long long)b, (long long)H, (long long)W);
  else
    cw(w, "y0[k++] = x0[((q0 * %lld + (q3 * %lld + q5) * %lld + q1) * %lld + q2) * %lld + q4];\n",
       (long long)C, (long long)b, (long long)(C / (b * b)), (long long)H, (long long)W);
  return true;
}
