/*
 * gather.c — Gather: the entries of data picked along one axis by indices,
 * any element type.  Seen as outer x len x inner around the axis, with ni
 * indices:
 *
 *   y[o][i][r] = x[o][indices[i]][r]      (a negative index counts from the end)
 *
 * Exporters gather dims out of Shape (folded at compile time like the rest
 * of the shape arithmetic), and vision transformers take the class token
 * with x[:, 0], a Gather on data computed at run time: a kernel copying
 * rows of inner elements.  Constant indices are checked against the axis
 * when the node is inferred; indices computed at run time that are out of
 * range (ONNX makes that an error) are clamped to the axis, so no kernel
 * reads outside its input.
 */
#include "../cardinal.h"

#include <string.h>

bool gather_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  n->p.axis = attr_int(n, "axis", 0, d);
  return true;
}

static int64_t index_at(const Value *ix, const void *data, int64_t i) {
  return ix->dtype == DT_INT64 ? ((const int64_t *)data)[i] : ((const int32_t *)data)[i];
}

bool gather_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]], *ix = &g->values[n->in[1]];
  int64_t axis = normalize_axis(n->p.axis, x->rank);
  if (axis < 0 || axis >= x->rank) {
    diag_error(d, "node '%s' (Gather): axis %lld is out of range for data of rank %d",
               node_label(n), (long long)n->p.axis, x->rank);
    return false;
  }
  if (ix->rank + x->rank - 1 > CD_MAX_RANK || (ix->dtype != DT_INT64 && ix->dtype != DT_INT32) ||
      !dtype_size(x->dtype)) {
    diag_error(d, "node '%s' (Gather): indices must be int64 or int32 (got %s), data of a "
               "type Cardinal holds (got %s), the output of rank at most %d",
               node_label(n), dtype_name(ix->dtype), dtype_name(x->dtype), CD_MAX_RANK);
    return false;
  }
  if (ix->data) {
    for (int64_t i = 0; i < value_numel(ix); i++) {
      int64_t k = index_at(ix, ix->data, i);
      if (k < -x->dims[axis] || k >= x->dims[axis]) {
        diag_error(d, "node '%s' (Gather): index %lld is out of range for axis %lld of "
                   "extent %lld", node_label(n), (long long)k, (long long)axis,
                   (long long)x->dims[axis]);
        return false;
      }
    }
  }
  OpParams *p = &n->p;
  p->axis = axis;
  p->outer = p->inner = 1;
  int64_t dims[CD_MAX_RANK];
  int r = 0;
  for (int k = 0; k < axis; k++)
    p->outer *= dims[r++] = x->dims[k];
  for (int k = 0; k < ix->rank; k++)
    dims[r++] = ix->dims[k];
  for (int k = (int)axis + 1; k < x->rank; k++)
    p->inner *= dims[r++] = x->dims[k];
  p->len = x->dims[axis];
  value_set_shape(&g->values[n->out[0]], x->dtype, r, dims);
  return true;
}

void gather_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]], *ix = &g->values[n->in[1]];
  const OpParams *p = &n->p;
  size_t es = dtype_size(x->dtype);
  int64_t ni = value_numel(ix), len = p->len;
  char *Y = data[n->out[0]];
  const char *X = data[n->in[0]];
  for (int64_t o = 0; o < p->outer; o++)
    for (int64_t i = 0; i < ni; i++) {
      int64_t k = index_at(ix, data[n->in[1]], i);
      k = k < 0 ? k + len : k;
      k = k < 0 ? 0 : k >= len ? len - 1 : k;
      memcpy(Y + (size_t)((o * ni + i) * p->inner) * es,
             X + (size_t)((o * len + k) * p->inner) * es, (size_t)p->inner * es);
    }
}

/* ------------------------------------------------------------ scalar kernel */

bool gather_emit(CWriter *w, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  int64_t ni = value_numel(&g->values[n->in[1]]);
  if (ni == 0 || p->inner == 0 || p->outer == 0 || p->len == 0) {
    cw(w, "(void)x0;\n(void)x1;\n(void)y0; /* empty */\n");
    return true;
  }
  cw_var(w, "NI", "%lld", (long long)ni);
  cw_var(w, "LEN", "%lld", (long long)p->len);
  cw_var(w, "INNER", "%lld", (long long)p->inner);
  cw(w, "for (long o = 0; o < %lld; o++)\n"
        "for (long i = 0; i < ${NI}; i++) {\n"
        "int64_t k = x1[i];\n"
        "k = k < 0 ? k + ${LEN} : k;\n"
        "k = k < 0 ? 0 : k >= ${LEN} ? ${LEN} - 1 : k; /* clamped: no read outside x0 */\n"
        "memcpy(y0 + (o * ${NI} + i) * ${INNER}, x0 + (o * ${LEN} + (long)k) * ${INNER}, "
        "${INNER} * sizeof *y0);\n"
        "}\n",
     (long long)p->outer);
  return true;
}
