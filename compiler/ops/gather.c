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

/*
 * GatherND: slices of data picked by index tuples, any element type.  With
 * batch_dims b, data [B..., D...] and indices [B..., T..., k] (the b
 * leading dims shared), each k-tuple names k leading coordinates of data's
 * D dims within its batch (a negative one counts from the end), and the
 * slice it names (data's dims from b + k on, `slice` elements) is copied
 * out in order:
 *
 *   y[batch][t][e] = x[batch][tuple(t)][e]       y: indices.shape[:-1] + data.shape[b+k:]
 *
 * As for Gather, constant indices are checked when the node is inferred,
 * and indices computed at run time that are out of range (an error in
 * ONNX) are clamped to their dim, so no kernel reads outside its input.
 */
bool gathernd_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  n->p.axis = attr_int(n, "batch_dims", 0, d); /* held as axis: where the tuples start */
  return true;
}

/* The batches, the tuples per batch, their length k, the elements of one
 * slice and of one batch of data. */
typedef struct {
  int64_t batches, tuples, k, slice, batch_elems;
} NdExtents;

static NdExtents nd_extents(const Graph *g, const Node *n) {
  const Value *x = &g->values[n->in[0]], *ix = &g->values[n->in[1]];
  int b = (int)n->p.axis;
  NdExtents e = {1, 1, ix->dims[ix->rank - 1], 1, 1};
  for (int i = 0; i < b; i++)
    e.batches *= x->dims[i];
  for (int i = b; i < ix->rank - 1; i++)
    e.tuples *= ix->dims[i];
  for (int i = b; i < x->rank; i++)
    e.batch_elems *= x->dims[i];
  for (int i = b + (int)e.k; i < x->rank; i++)
    e.slice *= x->dims[i];
  return e;
}

bool gathernd_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]], *ix = &g->values[n->in[1]];
  int64_t b = n->p.axis, k = ix->rank > 0 ? ix->dims[ix->rank - 1] : -1;
  bool ok = b >= 0 && b < ix->rank && b < x->rank && k >= 1 && k <= x->rank - b;
  for (int i = 0; ok && i < b; i++)
    ok = ix->dims[i] == x->dims[i];
  if (!ok) {
    diag_error(d, "node '%s' (GatherND): batch_dims %lld must be less than the ranks of data "
               "(%d) and indices (%d), their first batch_dims dims equal, and indices' last "
               "dim k (%lld) in 1..rank(data) - batch_dims", node_label(n), (long long)b,
               x->rank, ix->rank, (long long)k);
    return false;
  }
  int r = (int)(ix->rank - 1 + x->rank - b - k);
  if (ix->dtype != DT_INT64 || !dtype_size(x->dtype) || r > CD_MAX_RANK) {
    diag_error(d, "node '%s' (GatherND): indices must be int64 (got %s), data of a type "
               "Cardinal holds (got %s), the output of rank at most %d", node_label(n),
               dtype_name(ix->dtype), dtype_name(x->dtype), CD_MAX_RANK);
    return false;
  }
  if (ix->data) {
    const int64_t *I = ix->data;
    for (int64_t i = 0; i < value_numel(ix); i++) {
      int64_t dim = x->dims[b + i % k], v = I[i];
      if (v < -dim || v >= dim) {
        diag_error(d, "node '%s' (GatherND): index %lld (entry %lld of indices) is out of "
                   "range for dim %lld of data, of extent %lld", node_label(n), (long long)v,
                   (long long)i, (long long)(b + i % k), (long long)dim);
        return false;
      }
    }
  }
  int64_t dims[CD_MAX_RANK];
  int nd = 0;
  for (int i = 0; i < ix->rank - 1; i++)
    dims[nd++] = ix->dims[i];
  for (int i = (int)(b + k); i < x->rank; i++)
    dims[nd++] = x->dims[i];
  value_set_shape(&g->values[n->out[0]], x->dtype, nd, dims);
  return true;
}

void gathernd_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  size_t es = dtype_size(x->dtype);
  NdExtents e = nd_extents(g, n);
  const int64_t *I = data[n->in[1]];
  char *Y = data[n->out[0]];
  const char *X = data[n->in[0]];
  for (int64_t bt = 0; bt < e.batches; bt++)
    for (int64_t t = 0; t < e.tuples; t++) {
      const int64_t *tuple = I + (bt * e.tuples + t) * e.k;
      int64_t off = 0;
      for (int64_t j = 0; j < e.k; j++) {
        int64_t dim = x->dims[n->p.axis + j], v = tuple[j];
        v = v < 0 ? v + dim : v;
        v = v < 0 ? 0 : v >= dim ? dim - 1 : v;
        off = off * dim + v;
      }
      memcpy(Y + (size_t)((bt * e.tuples + t) * e.slice) * es,
             X + (size_t)(bt * e.batch_elems + off * e.slice) * es, (size_t)e.slice * es);
    }
}

bool gathernd_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  NdExtents e = nd_extents(g, n);
  if (e.batches == 0 || e.tuples == 0 || e.slice == 0) {
    cw(w, "(void)x0;\n(void)x1;\n(void)y0; /* empty */\n");
    return true;
  }
  cw_var(w, "T", "%lld", (long long)e.tuples);
  cw_var(w, "K", "%lld", (long long)e.k);
  cw_var(w, "SLICE", "%lld", (long long)e.slice);
  cw(w, "for (long b = 0; b < %lld; b++)\nfor (long t = 0; t < ${T}; t++) {\n"
        "const int64_t *ix = x1 + (b * ${T} + t) * ${K};\nlong o = 0;\n",
     (long long)e.batches);
  for (int64_t j = 0; j < e.k; j++) {
    long long dim = (long long)x->dims[n->p.axis + j];
    cw(w, "{\nint64_t v = ix[%lld];\nv = v < 0 ? v + %lld : v;\n"
          "o = o * %lld + (long)(v < 0 ? 0 : v >= %lld ? %lld : v); /* clamped: no read "
          "outside x0 */\n}\n",
       (long long)j, dim, dim, dim, dim - 1);
  }
  cw(w, "memcpy(y0 + (b * ${T} + t) * ${SLICE}, x0 + b * %lld + o * ${SLICE}, "
        "${SLICE} * sizeof *y0);\n}\n",
     (long long)e.batch_elems);
  return true;
}
