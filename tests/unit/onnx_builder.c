/*
 * onnx_builder.c — see onnx_builder.h.  Memory is reclaimed by mb_free.
 */
#include "onnx_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct MB {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  void **owned; /* every allocation, freed by mb_free */
  size_t nowned, cap;
};

/* Lists grow by doubling: a 54,000-node chain (test_hostile) took minutes
 * under AddressSanitizer, whose realloc always copies, with a step of one. */
static void *own(MB *m, void *p) {
  if (m->nowned == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 64;
    m->owned = realloc(m->owned, sizeof(void *) * m->cap);
  }
  m->owned[m->nowned++] = p;
  return p;
}

static void *alloc(MB *m, size_t n) { return own(m, calloc(1, n)); }
static char *dup(MB *m, const char *s) { return own(m, strdup(s)); }

/* Appends to a protobuf-c array of n items, whose room is the next power
 * of two: a new array (owned, the old one stays until mb_free) only when n
 * is one. */
#define PUSH(m, arr, n, item)                                             \
  do {                                                                    \
    if (((n) & ((n) - 1)) == 0) {                                         \
      void *na = alloc(m, sizeof(*(arr)) * ((n) ? 2 * (n) : 1));          \
      if (n)                                                              \
        memcpy(na, arr, sizeof(*(arr)) * (n));                            \
      (arr) = na;                                                         \
    }                                                                     \
    (arr)[(n)++] = (item);                                                \
  } while (0)

void mb_set_opset(MB *m, int64_t version) { m->opset.version = version; }

MB *mb_new(int opset) {
  MB *m = calloc(1, sizeof *m);
  onnx__model_proto__init(&m->model);
  onnx__graph_proto__init(&m->graph);
  onnx__operator_set_id_proto__init(&m->opset);
  m->opset.domain = dup(m, "");
  m->opset.has_version = 1;
  m->opset.version = opset;
  m->opsets[0] = &m->opset;
  m->model.has_ir_version = 1;
  m->model.ir_version = 7;
  m->model.n_opset_import = 1;
  m->model.opset_import = m->opsets;
  m->model.graph = &m->graph;
  m->graph.name = dup(m, "test");
  return m;
}

void mb_free(MB *m) {
  for (size_t i = 0; i < m->nowned; i++)
    free(m->owned[i]);
  free(m->owned);
  free(m);
}

static Onnx__ValueInfoProto *value_info(MB *m, const char *name, int dtype,
                                        int rank, const int64_t *dims,
                                        int symbolic) {
  Onnx__ValueInfoProto *vi = alloc(m, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = dup(m, name);
  Onnx__TypeProto *tp = alloc(m, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = alloc(m, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = dtype;
  Onnx__TensorShapeProto *sp = alloc(m, sizeof *sp);
  onnx__tensor_shape_proto__init(sp);
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = alloc(m, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    if (i == symbolic) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = dup(m, "batch");
    } else {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = dims[i];
    }
    PUSH(m, sp->dim, sp->n_dim, d);
  }
  tt->shape = sp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->type = tp;
  return vi;
}

void mb_input(MB *m, const char *name, int dtype, int rank, const int64_t *dims) {
  PUSH(m, m->graph.input, m->graph.n_input, value_info(m, name, dtype, rank, dims, -1));
}

void mb_input_symbolic(MB *m, const char *name, int rank, const int64_t *dims,
                       int symbolic_dim) {
  PUSH(m, m->graph.input, m->graph.n_input,
       value_info(m, name, 1, rank, dims, symbolic_dim));
}

void mb_input_for_initializer(MB *m, const char *name, int rank,
                              const int64_t *dims) {
  mb_input(m, name, 1, rank, dims);
}

void mb_output(MB *m, const char *name) {
  Onnx__ValueInfoProto *vi = alloc(m, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = dup(m, name);
  PUSH(m, m->graph.output, m->graph.n_output, vi);
}

static Onnx__TensorProto *tensor(MB *m, const char *name, int dtype, int rank,
                                 const int64_t *dims) {
  Onnx__TensorProto *t = alloc(m, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = dup(m, name);
  t->has_data_type = 1;
  t->data_type = dtype;
  t->n_dims = (size_t)rank;
  t->dims = alloc(m, sizeof(int64_t) * (size_t)(rank + 1));
  if (rank)
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  PUSH(m, m->graph.initializer, m->graph.n_initializer, t);
  return t;
}

static size_t numel(int rank, const int64_t *dims) {
  size_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= (size_t)dims[i];
  return n;
}

void mb_init_raw(MB *m, const char *name, int dtype, int rank,
                 const int64_t *dims, const void *data, size_t bytes) {
  Onnx__TensorProto *t = tensor(m, name, dtype, rank, dims);
  t->has_raw_data = 1;
  t->raw_data.len = bytes;
  t->raw_data.data = alloc(m, bytes + 1);
  memcpy(t->raw_data.data, data, bytes);
}

void mb_init_floats(MB *m, const char *name, int rank, const int64_t *dims,
                    const float *data) {
  Onnx__TensorProto *t = tensor(m, name, 1, rank, dims);
  t->n_float_data = numel(rank, dims);
  t->float_data = alloc(m, sizeof(float) * (t->n_float_data + 1));
  memcpy(t->float_data, data, sizeof(float) * t->n_float_data);
}

void mb_init_int64s(MB *m, const char *name, int rank, const int64_t *dims,
                    const int64_t *data) {
  Onnx__TensorProto *t = tensor(m, name, 7, rank, dims);
  t->n_int64_data = numel(rank, dims);
  t->int64_data = alloc(m, sizeof(int64_t) * (t->n_int64_data + 1));
  memcpy(t->int64_data, data, sizeof(int64_t) * t->n_int64_data);
}

static Onnx__StringStringEntryProto *kv(MB *m, const char *k, const char *v) {
  Onnx__StringStringEntryProto *e = alloc(m, sizeof *e);
  onnx__string_string_entry_proto__init(e);
  e->key = dup(m, k);
  e->value = dup(m, v);
  return e;
}

void mb_init_external(MB *m, const char *name, int rank, const int64_t *dims,
                      const char *location, int64_t offset) {
  Onnx__TensorProto *t = tensor(m, name, 1, rank, dims);
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  char off[32];
  snprintf(off, sizeof off, "%lld", (long long)offset);
  PUSH(m, t->external_data, t->n_external_data, kv(m, "location", location));
  PUSH(m, t->external_data, t->n_external_data, kv(m, "offset", off));
}

Onnx__NodeProto *mb_node(MB *m, const char *op, const char *name, int nin,
                         const char *const *ins, int nout,
                         const char *const *outs) {
  Onnx__NodeProto *n = alloc(m, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = dup(m, op);
  n->name = dup(m, name ? name : "");
  n->domain = dup(m, "");
  for (int i = 0; i < nin; i++)
    PUSH(m, n->input, n->n_input, dup(m, ins[i]));
  for (int i = 0; i < nout; i++)
    PUSH(m, n->output, n->n_output, dup(m, outs[i]));
  PUSH(m, m->graph.node, m->graph.n_node, n);
  /* Attributes are appended later; remember the builder for them. */
  n->doc_string = (char *)m;
  return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, int type) {
  MB *m = (MB *)n->doc_string;
  Onnx__AttributeProto *a = alloc(m, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = dup(m, name);
  a->has_type = 1;
  a->type = (Onnx__AttributeProto__AttributeType)type;
  PUSH(m, n->attribute, n->n_attribute, a);
  return a;
}

void mb_attr_int(Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

void mb_attr_float(Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

void mb_attr_ints(Onnx__NodeProto *n, const char *name, int count,
                  const int64_t *v) {
  MB *m = (MB *)n->doc_string;
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t)count;
  a->ints = alloc(m, sizeof(int64_t) * (size_t)(count + 1));
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
}

void mb_attr_string(Onnx__NodeProto *n, const char *name, const char *s) {
  MB *m = (MB *)n->doc_string;
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.len = strlen(s);
  a->s.data = (uint8_t *)dup(m, s);
}

void mb_attr_graph(Onnx__NodeProto *n, const char *name) {
  MB *m = (MB *)n->doc_string;
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
  a->g = alloc(m, sizeof *a->g);
  onnx__graph_proto__init(a->g);
}

bool mb_write(MB *m, const char *path) {
  for (size_t i = 0; i < m->graph.n_node; i++)
    m->graph.node[i]->doc_string = NULL;
  size_t n = onnx__model_proto__get_packed_size(&m->model);
  uint8_t *buf = malloc(n + 1);
  onnx__model_proto__pack(&m->model, buf);
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(buf, 1, n, f) == n;
  if (f)
    ok = fclose(f) == 0 && ok;
  free(buf);
  return ok;
}
