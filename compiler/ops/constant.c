/*
 * constant.c — the ops that exist only at compile time: Constant, and Shape,
 * where the shape arithmetic exporters emit starts.  Their outputs are
 * folded into constants as soon as shapes are known (infer.c); one that
 * cannot be folded is a dynamic shape, which Cardinal refuses.  The rest of
 * that arithmetic (Gather, Cast, Equal, Where, Expand, ...) folds the same
 * way when its inputs are constant, and has kernels for when they are not.
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
