/*
 * constant.c — the ops that exist only at compile time: Constant, and the
 * shape arithmetic exporters emit (Shape, Gather, Cast).  Their outputs are
 * folded into constants as soon as shapes are known (infer.c); one that
 * cannot be folded is a dynamic shape, which Cardinal refuses.
 */
#include "../cardinal.h"

#include <string.h>

bool constant_parse(Graph *g, Node *n, Diag *d) {
  Value *y = &g->values[n->out[0]];
  if (y->data)
    return true;
  Arena *ar = &g->arena;
  const Attr *a = n->nattrs == 1 ? &n->attrs[0] : NULL;
  if (!a) {
    diag_error(d, "node '%s' (Constant): needs exactly one value attribute",
               node_label(n));
    return false;
  }
  if (a->type == AT_TENSOR && !strcmp(a->name, "value")) {
    Value *t = &g->values[a->tensor];
    value_set_shape(y, t->dtype, t->rank, t->dims);
    value_set_data(y, t->data, t->nbytes);
  } else if (!strcmp(a->name, "value_float") && a->type == AT_FLOAT) {
    value_set_shape(y, DT_FLOAT, 0, NULL);
    value_set_data(y, arena_alloc(ar, 4), 4);
    *(float *)y->data = a->f;
  } else if (!strcmp(a->name, "value_int") && a->type == AT_INT) {
    value_set_shape(y, DT_INT64, 0, NULL);
    value_set_data(y, arena_alloc(ar, 8), 8);
    *(int64_t *)y->data = a->i;
  } else if (!strcmp(a->name, "value_floats") && a->type == AT_FLOATS) {
    int64_t dim = a->count;
    value_set_shape(y, DT_FLOAT, 1, &dim);
    value_set_data(y, arena_alloc(ar, 4 * (size_t)a->count + 1), 4 * (size_t)a->count);
    memcpy(y->data, a->floats, 4 * (size_t)a->count);
  } else if (!strcmp(a->name, "value_ints") && a->type == AT_INTS) {
    int64_t dim = a->count;
    value_set_shape(y, DT_INT64, 1, &dim);
    value_set_data(y, arena_alloc(ar, 8 * (size_t)a->count + 1), 8 * (size_t)a->count);
    memcpy(y->data, a->ints, 8 * (size_t)a->count);
  } else {
    diag_error(d, "node '%s' (Constant): attribute '%s' is not supported",
               node_label(n), a->name);
    return false;
  }
  return true;
}

/* The value was made by constant_parse; its shape is its data's. */
bool constant_infer(Graph *g, Node *n, Diag *d) {
  (void)d;
  return g->values[n->out[0]].data != NULL;
}

void constant_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  memcpy(data[n->out[0]], y->data, value_bytes(y));
}

bool shape_parse(Graph *g, Node *n, Diag *d) {
  (void)d;
  n->p.start = attr_int(n, "start", 0, d);
  n->p.end = attr_int(n, "end", g->values[n->in[0]].rank, d);
  return true;
}

bool shape_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  int64_t start = normalize_axis(n->p.start, x->rank);
  int64_t end = normalize_axis(n->p.end, x->rank);
  if (start < 0) start = 0;
  if (end > x->rank) end = x->rank;
  if (end < start) end = start;
  n->p.outer = start;
  int64_t dim = end - start;
  value_set_shape(&g->values[n->out[0]], DT_INT64, 1, &dim);
  (void)d;
  return true;
}

void shape_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  for (int64_t i = 0; i < y->dims[0]; i++)
    ((int64_t *)data[n->out[0]])[i] = x->dims[n->p.outer + i];
}

bool gather_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)d;
  n->p.axis = attr_int(n, "axis", 0, d);
  return true;
}

bool gather_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]], *ix = &g->values[n->in[1]];
  int64_t axis = normalize_axis(n->p.axis, x->rank);
  if (axis < 0 || axis >= x->rank || ix->rank + x->rank - 1 > CD_MAX_RANK ||
      (ix->dtype != DT_INT64 && ix->dtype != DT_INT32)) {
    diag_error(d, "node '%s' (Gather): bad axis or indices", node_label(n));
    return false;
  }
  if (ix->data) {
    for (int64_t i = 0; i < value_numel(ix); i++) {
      int64_t k = ix->dtype == DT_INT64 ? ((int64_t *)ix->data)[i]
                                        : ((int32_t *)ix->data)[i];
      if (k < -x->dims[axis] || k >= x->dims[axis]) {
        diag_error(d, "node '%s' (Gather): index %lld out of range",
                   node_label(n), (long long)k);
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
  value_set_shape(&g->values[n->out[0]], x->dtype, r, dims);
  return true;
}

void gather_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]], *ix = &g->values[n->in[1]];
  const OpParams *p = &n->p;
  size_t es = dtype_size(x->dtype);
  int64_t ni = value_numel(ix), len = x->dims[p->axis];
  char *Y = data[n->out[0]];
  const char *X = data[n->in[0]];
  for (int64_t o = 0; o < p->outer; o++)
    for (int64_t i = 0; i < ni; i++) {
      int64_t k = ix->dtype == DT_INT64 ? ((int64_t *)data[n->in[1]])[i]
                                        : ((int32_t *)data[n->in[1]])[i];
      if (k < 0)
        k += len;
      CD_ASSERT(k >= 0 && k < len);
      memcpy(Y + (size_t)((o * ni + i) * p->inner) * es,
             X + (size_t)((o * len + k) * p->inner) * es,
             (size_t)p->inner * es);
    }
}

bool cast_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)d;
  n->p.to = (DType)attr_int(n, "to", 0, d);
  return true;
}

bool cast_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  DType to = n->p.to;
  if ((to != DT_FLOAT && to != DT_INT64 && to != DT_INT32) ||
      (x->dtype != DT_FLOAT && x->dtype != DT_INT64 && x->dtype != DT_INT32)) {
    diag_error(d, "node '%s' (Cast): only float32/int32/int64 casts fold",
               node_label(n));
    return false;
  }
  value_set_shape(&g->values[n->out[0]], to, x->rank, x->dims);
  return true;
}

void cast_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  int64_t m = value_numel(x);
  for (int64_t i = 0; i < m; i++) {
    double v = x->dtype == DT_FLOAT   ? ((float *)data[n->in[0]])[i]
               : x->dtype == DT_INT64 ? (double)((int64_t *)data[n->in[0]])[i]
                                      : ((int32_t *)data[n->in[0]])[i];
    /* Out-of-range values (1e30, 2^64, NaN) saturate: a C cast of them is
     * undefined. */
    int64_t iv = cd_f2i_sat(v);
    if (n->p.to == DT_FLOAT)
      ((float *)data[n->out[0]])[i] = (float)v;
    else if (n->p.to == DT_INT64)
      ((int64_t *)data[n->out[0]])[i] = x->dtype == DT_INT64 ? ((int64_t *)data[n->in[0]])[i] : iv;
    else
      ((int32_t *)data[n->out[0]])[i] = (int32_t)(iv < INT32_MIN ? INT32_MIN : iv > INT32_MAX ? INT32_MAX : iv);
  }
}

/* ------------------------------------------------------------ scalar kernel */

/* Never reached: graph_infer folds these as it meets them, and codegen
 * refuses an OPF_SHAPE node left in the graph with its own message. */
static bool never_emitted(CWriter *w, Node *n) {
  (void)w;
  (void)n;
  return false;
}

bool constant_emit(CWriter *w, Graph *g, Node *n) { (void)g; return never_emitted(w, n); }

bool shape_emit(CWriter *w, Graph *g, Node *n) { (void)g; return never_emitted(w, n); }

bool gather_emit(CWriter *w, Graph *g, Node *n) { (void)g; return never_emitted(w, n); }

bool cast_emit(CWriter *w, Graph *g, Node *n) { (void)g; return never_emitted(w, n); }
