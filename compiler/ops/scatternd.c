/*
 * scatternd.c — ScatterND: a copy of data with slices replaced (or combined
 * by `reduction`: add, mul, max, min) by updates, at the index tuples
 * indices gives, any element type.  indices [..., k] names k leading
 * coordinates of data (a negative one counts from the end); each tuple's
 * slice is data's dims from k on, taken in order from updates
 * [indices.shape[:-1], data.shape[k:]].  Later tuples win where two name
 * the same slice, as ONNX's reference loop has it.
 *
 * Exporters write a slice assignment (swin's attn_mask[a:b, c:d] = n) as
 * a ScatterND of indices built from Range and Expand: with shapes fixed it
 * folds at compile time.  At run time an index out of range (an error in
 * ONNX) is clamped, so no kernel writes outside its output.
 */
#include "../cardinal.h"

#include <string.h>

bool scatternd_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  static const char *const names[] = {"none", "add", "mul", "max", "min"};
  const char *r = attr_string(n, "reduction", "none", d);
  for (int i = 0; i < 5; i++)
    if (!strcmp(r, names[i])) {
      n->p.reduction = i;
      return true;
    }
  diag_error(d, "node '%s' (ScatterND): reduction '%s' is not one ONNX defines (none, add, "
             "mul, max, min)", node_label(n), r);
  return false;
}

bool scatternd_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]], *ix = &g->values[n->in[1]], *u = &g->values[n->in[2]];
  int64_t k = ix->rank > 0 ? ix->dims[ix->rank - 1] : -1;
  bool ok = ix->dtype == DT_INT64 && u->dtype == x->dtype && dtype_size(x->dtype) && k >= 1 &&
            k <= x->rank && u->rank == ix->rank - 1 + x->rank - k;
  for (int i = 0; ok && i < u->rank; i++)
    ok = u->dims[i] == (i < ix->rank - 1 ? ix->dims[i] : x->dims[k + i - (ix->rank - 1)]);
  if (!ok) {
    diag_error(d, "node '%s' (ScatterND): indices must be int64 [..., k] with k at most the "
               "data's rank %d, and updates of the data's type, shaped indices.shape[:-1] + "
               "data.shape[k:]", node_label(n), x->rank);
    return false;
  }
  value_set_shape(&g->values[n->out[0]], x->dtype, x->rank, x->dims);
  return true;
}

/* The tuples (count), their length k, and the elements of one slice. */
static void extents(const Graph *g, const Node *n, int64_t *tuples, int64_t *k, int64_t *slice) {
  const Value *x = &g->values[n->in[0]], *ix = &g->values[n->in[1]];
  *k = ix->dims[ix->rank - 1];
  *tuples = *k ? value_numel(ix) / *k : 0;
  *slice = 1;
  for (int i = (int)*k; i < x->rank; i++)
    *slice *= x->dims[i];
}

static double combine(int r, double a, double b) {
  switch (r) {
  case 1: return a + b;
  case 2: return a * b;
  case 3: return b > a || b != b ? b : a;
  case 4: return b < a || b != b ? b : a;
  default: return b;
  }
}

void scatternd_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  size_t es = dtype_size(x->dtype);
  int64_t tuples, k, slice;
  extents(g, n, &tuples, &k, &slice);
  char *Y = data[n->out[0]];
  memcpy(Y, data[n->in[0]], value_bytes(x));
  const int64_t *I = data[n->in[1]];
  for (int64_t t = 0; t < tuples; t++) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; j++) {
      int64_t dim = x->dims[j], v = I[t * k + j];
      v = v < 0 ? v + dim : v;
      v = v < 0 ? 0 : v >= dim ? dim - 1 : v;
      off = off * dim + v;
    }
    off *= slice;
    for (int64_t e = 0; e < slice; e++) {
      if (n->p.reduction == 0) /* a copy, exact for every type */
        memcpy(Y + (size_t)(off + e) * es, (const char *)data[n->in[2]] + (size_t)(t * slice + e) * es,
               es);
      else
        dtype_set(x->dtype, Y, off + e,
            combine(n->p.reduction, dtype_get(x->dtype, Y, off + e),
                    dtype_get(x->dtype, data[n->in[2]], t * slice + e)));
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool scatternd_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  int64_t tuples, k, slice;
  extents(g, n, &tuples, &k, &slice);
  cw(w, "memcpy(y0, x0, %zu);\n", value_bytes(x));
  if (tuples == 0 || slice == 0) {
    cw(w, "(void)x1;\n(void)x2;\n");
    return true;
  }
  bool fl = x->dtype == DT_FLOAT || x->dtype == DT_DOUBLE; /* only a float can be NaN */
  const char *ops[] = {"v", "y0[o + e] + v", "y0[o + e] * v",
                       fl ? "v > y0[o + e] || v != v ? v : y0[o + e]" : "v > y0[o + e] ? v : y0[o + e]",
                       fl ? "v < y0[o + e] || v != v ? v : y0[o + e]" : "v < y0[o + e] ? v : y0[o + e]"};
  cw(w, "for (long t = 0; t < %lld; t++) {\nlong o = 0;\n", (long long)tuples);
  for (int64_t j = 0; j < k; j++) {
    long long dim = (long long)x->dims[j];
    cw(w, "{\nint64_t v = x1[t * %lld + %lld];\nv = v < 0 ? v + %lld : v;\n"
          "o = o * %lld + (long)(v < 0 ? 0 : v >= %lld ? %lld : v);\n}\n",
       (long long)k, (long long)j, dim, dim, dim, dim - 1);
  }
  cw(w, "o *= %lld;\nfor (long e = 0; e < %lld; e++) {\nconst %s v = x2[t * %lld + e];\n"
        "y0[o + e] = %s;\n}\n}\n",
     (long long)slice, (long long)slice, dtype_ctype(x->dtype), (long long)slice,
     ops[n->p.reduction]);
  return true;
}
