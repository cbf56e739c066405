/*
 * kernels_layout.c — scalar kernels for the data-movement ops: a copy for a
 * shape-only op whose output is a graph output (otherwise it is an alias and
 * has no kernel), Concat, Transpose, Pad (index maps computed at compile
 * time), Softmax.  Constant, Shape, Gather and Cast never reach codegen:
 * they are folded, and a node that could not be folded is reported as a
 * dynamic shape before emission starts.
 */
#include "../compiler/cardinal.h"

bool reshape_emit(Emitter *e, Graph *g, Node *n) {
  emit(e, "  memcpy(y0, x0, %zu);\n", value_bytes(&g->values[n->out[0]]));
  for (int i = 1; i < n->nin; i++)
    if (n->in[i] >= 0 && g->values[n->in[i]].dtype == DT_FLOAT)
      emit(e, "  (void)x%d;\n", i);
  if (n->nout > 1 && n->out[1] >= 0 && g->values[n->out[1]].dtype == DT_FLOAT)
    emit(e, "  (void)y1;\n");
  return true;
}

bool concat_emit(Emitter *e, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int64_t row = y->dims[n->p.axis] * n->p.inner, at = 0;
  emit(e, "  for (long o = 0; o < %lld; o++) {\n", (long long)n->p.outer);
  for (int i = 0; i < n->nin; i++) {
    int64_t part = g->values[n->in[i]].dims[n->p.axis] * n->p.inner;
    emit(e, "    memcpy(y0 + o * %lld + %lld, x%d + o * %lld, %lld);\n",
         (long long)row, (long long)at, i, (long long)part, (long long)part * 4);
    at += part;
  }
  emit(e, "  }\n");
  return true;
}

bool transpose_emit(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int r = x->rank;
  int64_t xs[CD_MAX_RANK], s = 1;
  for (int k = r - 1; k >= 0; k--) {
    xs[k] = s;
    s *= x->dims[k];
  }
  emit(e, "  long i = 0;\n");
  for (int k = 0; k < r; k++)
    emit(e, "%*sfor (long i%d = 0; i%d < %lld; i%d++)\n", 2 + 2 * k, "", k, k,
         (long long)y->dims[k], k);
  emit(e, "%*sy0[i++] = x0[0", 2 + 2 * r, "");
  for (int k = 0; k < r; k++)
    emit(e, " + i%d * %lld", k, (long long)xs[n->p.perm[k]]);
  emit(e, "];\n");
  return true;
}

bool softmax_emit(Emitter *e, Graph *g, Node *n) {
  (void)g;
  const OpParams *p = &n->p;
  emit(e, "  for (long o = 0; o < %lld; o++)\n"
          "    for (long i = 0; i < %lld; i++) {\n"
          "      const float *x = x0 + o * %lld + i;\n"
          "      float *y = y0 + o * %lld + i;\n"
          "      float mx = -HUGE_VALF, sum = 0.0f;\n"
          "      for (long k = 0; k < %lld; k++)\n"
          "        mx = x[k * %lld] > mx ? x[k * %lld] : mx;\n"
          "      for (long k = 0; k < %lld; k++)\n"
          "        sum += y[k * %lld] = expf(x[k * %lld] - mx);\n"
          "      for (long k = 0; k < %lld; k++)\n"
          "        y[k * %lld] /= sum;\n"
          "    }\n",
       (long long)p->outer, (long long)p->inner, (long long)(p->len * p->inner),
       (long long)(p->len * p->inner), (long long)p->len, (long long)p->inner,
       (long long)p->inner, (long long)p->len, (long long)p->inner,
       (long long)p->inner, (long long)p->len, (long long)p->inner);
  return true;
}

bool pad_emit(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  int r = x->rank;
  int64_t xs[CD_MAX_RANK], s = 1;
  for (int k = r - 1; k >= 0; k--) {
    xs[k] = s;
    s *= x->dims[k];
  }
  /* map<k>[o]: input offset along dim k for output coordinate o, or -1. */
  for (int k = 0; k < r; k++) {
    emit(e, "  static const long map%d[%lld] = {", k, (long long)y->dims[k]);
    for (int64_t o = 0; o < y->dims[k]; o++) {
      int64_t src = pad_source(p->pad_mode, o, p->pads[k], x->dims[k]);
      emit(e, "%s%lld", o ? ", " : "", (long long)(src < 0 ? -1 : src * xs[k]));
    }
    emit(e, "};\n");
  }
  bool runtime_value = n->nin > 2 && n->in[2] >= 0 && !g->values[n->in[2]].data;
  emit(e, "  const float value = %s;\n", runtime_value ? "x2[0]" : c_float(e, p->pad_value));
  if (n->nin > 2 && n->in[2] >= 0 && !runtime_value)
    emit(e, "  (void)x2;\n");
  emit(e, "  long i = 0;\n");
  for (int k = 0; k < r; k++)
    emit(e, "%*sfor (long i%d = 0; i%d < %lld; i%d++)\n", 2 + 2 * k, "", k, k,
         (long long)y->dims[k], k);
  emit(e, "%*sy0[i++] = ", 2 + 2 * r, "");
  for (int k = 0; k < r; k++)
    emit(e, "%smap%d[i%d] < 0", k ? " || " : "", k, k);
  if (r == 0)
    emit(e, "0");
  emit(e, " ? value : x0[0");
  for (int k = 0; k < r; k++)
    emit(e, " + map%d[i%d]", k, k);
  emit(e, "];\n");
  return true;
}

static bool never_emitted(Emitter *e, Node *n) {
  diag_error(e->d, "node '%s' (%s) must be folded at compile time",
             node_label(n), n->op_type);
  return false;
}

bool constant_emit(Emitter *e, Graph *g, Node *n) { (void)g; return never_emitted(e, n); }
bool shape_emit(Emitter *e, Graph *g, Node *n) { (void)g; return never_emitted(e, n); }
bool gather_emit(Emitter *e, Graph *g, Node *n) { (void)g; return never_emitted(e, n); }
bool cast_emit(Emitter *e, Graph *g, Node *n) { (void)g; return never_emitted(e, n); }
