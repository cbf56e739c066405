/*
 * onnx_load.c — ONNX ModelProto -> Graph, on protobuf-c.
 *
 * The C bindings (onnx.pb-c.[ch]) are generated at build time by protoc-c
 * from Debian's onnx.proto.  This file turns the protobuf tree into the IR:
 *
 *  - initializers (raw_data, typed fields, or external data files next to
 *    the model) become constant Values; a graph input that is also an
 *    initializer (IR version < 4 exports) is a constant, not an input;
 *  - graph inputs get their declared shapes; a symbolic dim is recorded in
 *    g->symdims and set to 1 for now: generated code has static shapes, and
 *    cd_load_model fixes it from --shape, or refuses it (the batch aside);
 *  - each NodeProto becomes a Node with its attributes copied out; a tensor
 *    attribute becomes an unnamed constant Value;
 *  - the default-domain opset version is recorded on every node.
 *
 * Everything read from the file is checked before use: sizes against the
 * data present, dims against overflow, names against the values defined so
 * far.  External data may only name files inside the model's folder.
 */
#include "../../compiler/cardinal.h"
#include "onnx.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S(x) ((x) ? (x) : "")

typedef struct {
  Graph *g;
  Diag *d;
  const char *dir;  /* folder of the model, for external data */
  int opset;        /* default-domain opset */
  int *names;       /* open-addressing table: value index or -1 */
  size_t cap;       /* its size, a power of two */
} Loader;

/* Names -> values while loading, so a graph of n nodes loads in O(n).  A
 * name is defined once (name_is_new refuses a second definition), except
 * an initializer an old exporter also lists as a graph input. */
static size_t name_slot(const Loader *L, const char *name) {
  size_t h = (size_t)cd_hash_bytes(0, name, strlen(name)) & (L->cap - 1);
  while (L->names[h] >= 0 && strcmp(L->g->values[L->names[h]].name, name) != 0)
    h = (h + 1) & (L->cap - 1);
  return h;
}

static int name_find(const Loader *L, const char *name) {
  return L->names[name_slot(L, name)];
}

static void name_define(Loader *L, int v) {
  L->names[name_slot(L, L->g->values[v].name)] = v;
}

/* Who defines value v, for messages. */
static const char *definer(Loader *L, int v) {
  const Value *x = &L->g->values[v];
  if (x->producer >= 0)
    return arena_printf(&L->g->arena, "node '%s'", node_label(&L->g->nodes[x->producer]));
  return x->is_input ? "a graph input" : "an initializer";
}

/* ONNX is SSA: a name is defined once.  ONNX Runtime refuses a model that
 * breaks this; so do we, naming both definitions. */
static bool name_is_new(Loader *L, const char *name, const char *who) {
  int old = name_find(L, name);
  if (old < 0)
    return true;
  diag_error(L->d, "'%s' is defined twice (by %s and by %s): every value of an ONNX "
             "graph has one definition", name, definer(L, old), who);
  return false;
}

/* Whether some node at or after position `from` writes `name`. */
static bool defined_later(const Onnx__GraphProto *gp, size_t from, const char *name) {
  for (size_t i = from; i < gp->n_node; i++)
    for (size_t j = 0; j < gp->node[i]->n_output; j++)
      if (gp->node[i]->output[j] && !strcmp(gp->node[i]->output[j], name))
        return true;
  return false;
}

/*
 * protobuf-c unpacks nested messages recursively, one C frame per level:
 * 5,000 nested TypeProtos (a 34 KB file) overflow the stack.  So before
 * unpacking, the wire format is walked without recursion, by the schema
 * (a length-delimited field is a nested message only if the descriptor says
 * so), and a file nesting messages deeper than PB_MAX_DEPTH is refused.
 * Legitimate models nest a few levels per subgraph (Model, Graph, Node,
 * Attribute, Graph, ...).  Malformed input passes: unpacking refuses it.
 */
#define PB_MAX_DEPTH 100

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

static bool pb_nesting_ok(const uint8_t *buf, size_t n, const ProtobufCMessageDescriptor *root) {
  struct {
    const uint8_t *p, *end;
    const ProtobufCMessageDescriptor *desc;
  } st[PB_MAX_DEPTH];
  int top = 0;
  st[0].p = buf;
  st[0].end = buf + n;
  st[0].desc = root;
  while (top >= 0) {
    const uint8_t **p = &st[top].p, *end = st[top].end;
    if (*p >= end) {
      top--;
      continue;
    }
    uint64_t key, len;
    if (!pb_varint(p, end, &key))
      return true;
    switch (key & 7) {
    case 0:
      if (!pb_varint(p, end, &len))
        return true;
      break;
    case 1:
    case 5: {
      size_t k = (key & 7) == 1 ? 8 : 4;
      if ((size_t)(end - *p) < k)
        return true;
      *p += k;
      break;
    }
    case 2: {
      if (!pb_varint(p, end, &len) || len > (uint64_t)(end - *p))
        return true;
      const ProtobufCFieldDescriptor *f =
          key >> 3 <= UINT32_MAX
              ? protobuf_c_message_descriptor_get_field(st[top].desc, (unsigned)(key >> 3))
              : NULL;
      const uint8_t *sub = *p;
      *p += len;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (top + 1 >= PB_MAX_DEPTH)
          return false;
        top++;
        st[top].p = sub;
        st[top].end = sub + len;
        st[top].desc = f->descriptor;
      }
      break;
    }
    default:
      return true; /* groups, or garbage: protobuf-c refuses them */
    }
  }
  return true;
}

/* protobuf-c allocates through the compiler's allocator: its blocks are
 * tracked, and a failed allocation unwinds like any other (cardinal.h). */
static void *pb_alloc(void *ctx, size_t n) {
  (void)ctx;
  return malloc(n);
}

static void pb_free(void *ctx, void *p) {
  (void)ctx;
  free(p);
}

static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

static bool dims_numel(const int64_t *dims, size_t rank, int64_t *numel) {
  int64_t n = 1;
  for (size_t i = 0; i < rank; i++) {
    if (dims[i] < 0)
      return false;
    if (dims[i] && n > ((int64_t)1 << 40) / dims[i])
      return false;
    n *= dims[i];
  }
  *numel = n;
  return true;
}

/* n bytes of the arena, not zeroed (the caller reads into them and fails
 * unless every byte came); an allocation that fails closes fd on its way
 * out. */
static uint8_t *alloc_closing(Loader *L, size_t n, int fd) {
  CdTry t;
  cd_try_begin(&t);
  if (setjmp(t.env)) {
    close(fd);
    cd_oom();
  }
  uint8_t *buf = arena_alloc_raw(&L->g->arena, n);
  cd_try_end(&t);
  return buf;
}

static bool read_external(Loader *L, const Onnx__TensorProto *t,
                          const char *what, uint8_t **out, size_t want) {
  const char *loc = NULL;
  int64_t offset = 0, length = -1;
  for (size_t i = 0; i < t->n_external_data; i++) {
    const char *k = S(t->external_data[i]->key), *v = S(t->external_data[i]->value);
    char *end;
    if (!strcmp(k, "location"))
      loc = v;
    else if (!strcmp(k, "offset") || !strcmp(k, "length")) {
      errno = 0;
      long long x = strtoll(v, &end, 10);
      if (errno || *end || x < 0) {
        diag_error(L->d, "tensor '%s': bad external data %s '%s'", what, k, v);
        return false;
      }
      if (!strcmp(k, "offset"))
        offset = x;
      else
        length = x;
    }
  }
  if (!loc) {
    diag_error(L->d, "tensor '%s': external data without a location", what);
    return false;
  }
  if (!cd_path_is_relative_inside(loc)) {
    diag_error(L->d, "tensor '%s': external data path '%s' leaves the model's "
               "folder; refused", what, loc);
    return false;
  }
  if (length >= 0 && (size_t)length != want) {
    diag_error(L->d, "tensor '%s': external data length %lld, expected %zu",
               what, (long long)length, want);
    return false;
  }
  /* Only a regular file inside the model's folder, links resolved (a link
   * to /etc/passwd, a FIFO that blocks forever are refused), and its size
   * checked before anything is allocated for it. */
  char *path = arena_printf(&L->g->arena, "%s/%s", L->dir, loc);
  const char *why;
  int64_t fsize = 0;
  int fd = cd_open_inside(L->dir, path, &fsize, &why);
  if (fd < 0) {
    diag_error(L->d, "tensor '%s': cannot open external data '%s': %s", what, loc,
               why ? why : strerror(errno));
    return false;
  }
  if (offset > fsize || (int64_t)want > fsize - offset) {
    close(fd);
    diag_error(L->d, "tensor '%s': external data '%s' is shorter than "
               "offset %lld + %zu bytes", what, loc, (long long)offset, want);
    return false;
  }
  uint8_t *buf = alloc_closing(L, want + 1, fd);
  buf[want] = 0;
  size_t got = 0;
  while (got < want) {
    ssize_t r = pread(fd, buf + got, want - got, (off_t)(offset + (int64_t)got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  if (got != want) {
    diag_error(L->d, "tensor '%s': external data '%s' is shorter than "
               "offset %lld + %zu bytes", what, loc, (long long)offset, want);
    return false;
  }
  *out = buf;
  return true;
}

/* Converts a TensorProto to dtype/dims/data (arena). */
static bool load_tensor(Loader *L, const Onnx__TensorProto *t, Value *v) {
  const char *what = t->name && t->name[0] ? t->name : "(unnamed)";
  DType dt = (DType)t->data_type;
  size_t es = dtype_size(dt);
  if (!es) {
    diag_error(L->d, "tensor '%s': element type %d is not supported", what,
               (int)t->data_type);
    return false;
  }
  if (t->n_dims > CD_MAX_RANK) {
    diag_error(L->d, "tensor '%s': rank %zu exceeds %d", what, t->n_dims,
               CD_MAX_RANK);
    return false;
  }
  int64_t numel;
  if (!dims_numel(t->dims, t->n_dims, &numel)) {
    diag_error(L->d, "tensor '%s': invalid dims", what);
    return false;
  }
  value_set_shape(v, dt, (int)t->n_dims, t->dims);
  size_t bytes = (size_t)numel * es;
  char why[160];
  if (!value_size_ok(L->g, v, why, sizeof why)) { /* before external data is allocated */
    diag_error(L->d, "tensor '%s' is too large: %s", what, why);
    return false;
  }
  uint8_t *data = NULL;
  if (t->has_data_location &&
      t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    if (!read_external(L, t, what, &data, bytes))
      return false;
  } else if (t->has_raw_data) {
    if (t->raw_data.len != bytes) {
      diag_error(L->d, "tensor '%s': raw_data holds %zu bytes, shape needs %zu",
                 what, t->raw_data.len, bytes);
      return false;
    }
    data = arena_alloc_raw(&L->g->arena, bytes + 1); /* every byte written here */
    data[bytes] = 0;
    if (bytes) /* an empty tensor may have no raw_data buffer at all */
      memcpy(data, t->raw_data.data, bytes);
  } else {
    size_t have;
    switch (dt) {
    case DT_FLOAT: have = t->n_float_data; break;
    case DT_INT64: have = t->n_int64_data; break;
    case DT_DOUBLE: have = t->n_double_data; break;
    default: have = t->n_int32_data; break;
    }
    if (have != (size_t)numel) {
      diag_error(L->d, "tensor '%s': %zu stored elements, shape needs %lld",
                 what, have, (long long)numel);
      return false;
    }
    data = arena_alloc(&L->g->arena, bytes + 1);
    for (int64_t i = 0; i < numel; i++) {
      switch (dt) {
      case DT_FLOAT: ((float *)data)[i] = t->float_data[i]; break;
      case DT_INT64: ((int64_t *)data)[i] = t->int64_data[i]; break;
      case DT_DOUBLE: ((double *)data)[i] = t->double_data[i]; break;
      case DT_INT32: ((int32_t *)data)[i] = t->int32_data[i]; break;
      default: data[i] = (uint8_t)t->int32_data[i]; break;
      }
    }
  }
  value_set_data(v, data, bytes);
  L->g->source_bytes = sat_add(L->g->source_bytes, (int64_t)bytes);
  return true;
}

static int add_const(Loader *L, const Onnx__TensorProto *t, const char *name) {
  int vi = graph_add_value(L->g, name);
  if (!load_tensor(L, t, &L->g->values[vi]))
    return -1;
  return vi;
}

static bool load_attr(Loader *L, const Onnx__AttributeProto *a, Attr *at,
                      const Node *n) {
  Graph *g = L->g;
  at->name = arena_strdup(&g->arena, S(a->name));
  int type = a->has_type ? (int)a->type : -1;
  if (type < 0) { /* IR v1 models leave the type out */
    if (a->n_ints) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    else if (a->n_floats) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    else if (a->has_i) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    else if (a->has_f) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    else if (a->has_s) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    else if (a->t) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    else type = 0;
  }
  switch (type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
    at->type = AT_FLOAT;
    at->f = a->f;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
    at->type = AT_INT;
    at->i = a->i;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    at->type = AT_STRING;
    at->s = arena_strndup(&g->arena, (const char *)a->s.data, a->s.len);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    at->type = AT_FLOATS;
    at->count = (int)a->n_floats;
    at->floats = arena_alloc(&g->arena, sizeof(float) * (a->n_floats + 1));
    if (a->n_floats) /* a->floats is NULL when empty */
      memcpy(at->floats, a->floats, sizeof(float) * a->n_floats);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    at->type = AT_INTS;
    at->count = (int)a->n_ints;
    at->ints = arena_alloc(&g->arena, sizeof(int64_t) * (a->n_ints + 1));
    if (a->n_ints)
      memcpy(at->ints, a->ints, sizeof(int64_t) * a->n_ints);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
    if (!a->t) {
      diag_error(L->d, "node '%s': tensor attribute '%s' is empty",
                 node_label(n), at->name);
      return false;
    }
    at->type = AT_TENSOR;
    at->tensor = add_const(L, a->t, "");
    if (at->tensor < 0)
      return false;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
    at->type = AT_STRINGS;
    at->count = (int)a->n_strings;
    break;
  default: { /* kept only to be refused, by name, if an op reads it */
    static const char *const what[] = {
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH] = "a graph",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS] = "a list of tensors",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS] = "a list of graphs",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR] = "a sparse tensor",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS] = "a list of sparse tensors",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO] = "a type",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS] = "a list of types",
    };
    at->type = AT_OTHER;
    at->other = type == 0 ? "empty (no type, no value)"
                : type < (int)(sizeof what / sizeof what[0]) && what[type] ? what[type]
                                                                            : "of no type ONNX defines";
    break;
  }
  }
  return true;
}

/* Records dim `dim` of input v as open; cd_load_model fixes it (--shape)
 * or refuses it, the batch aside. */
static void note_symbolic(Graph *g, int v, int dim, const char *param) {
  int n = g->nsymdims;
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) { /* full: capacity 4, then doubling */
    SymbolicDim *s = arena_alloc(&g->arena, sizeof(SymbolicDim) * (size_t)(n ? 2 * n : 4));
    if (n)
      memcpy(s, g->symdims, sizeof(SymbolicDim) * (size_t)n);
    g->symdims = s;
  }
  g->symdims[g->nsymdims++] = (SymbolicDim){v, dim, arena_strdup(&g->arena, param), false};
}

/* Declared type of a graph input/output; shapes from dim_value (an open
 * dim is 1 until cd_load_model applies --shape). */
static bool load_value_info(Loader *L, const Onnx__ValueInfoProto *vi,
                            Value *v) {
  const Onnx__TypeProto *tp = vi->type;
  /* A sequence, map, optional or sparse input is a model Cardinal does not
   * support (the conformance runner counts it out of scope by this
   * message); no type at all is a damaged file. */
  static const struct {
    Onnx__TypeProto__ValueCase kind;
    const char *name;
  } other[] = {{ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE, "a sequence"},
               {ONNX__TYPE_PROTO__VALUE_MAP_TYPE, "a map"},
               {ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE, "an optional"},
               {ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE, "a sparse tensor"}};
  for (size_t i = 0; tp && i < sizeof other / sizeof other[0]; i++)
    if (tp->value_case == other[i].kind) {
      diag_error(L->d, "graph input '%s' is %s: Cardinal supports tensor inputs only",
                 S(vi->name), other[i].name);
      return false;
    }
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
      !tp->tensor_type) {
    diag_error(L->d, "graph input '%s' has no tensor type", S(vi->name));
    return false;
  }
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  v->dtype = (DType)tt->elem_type;
  if (!tt->shape) {
    diag_error(L->d, "graph input '%s' has no shape", S(vi->name));
    return false;
  }
  if (tt->shape->n_dim > CD_MAX_RANK) {
    diag_error(L->d, "graph input '%s': rank %zu exceeds %d", S(vi->name),
               tt->shape->n_dim, CD_MAX_RANK);
    return false;
  }
  int64_t dims[CD_MAX_RANK];
  for (size_t i = 0; i < tt->shape->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
    if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
        dm->dim_value >= 0) {
      dims[i] = dm->dim_value;
    } else {
      note_symbolic(L->g, (int)(v - L->g->values), (int)i,
                    dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                        ? S(dm->dim_param) : "");
      dims[i] = 1;
    }
  }
  int64_t numel;
  if (!dims_numel(dims, tt->shape->n_dim, &numel)) {
    diag_error(L->d, "graph input '%s': shape too large", S(vi->name));
    return false;
  }
  value_set_shape(v, v->dtype, (int)tt->shape->n_dim, dims);
  return true;
}

static bool load_graph(Loader *L, const Onnx__ModelProto *m) {
  Graph *g = L->g;
  Diag *d = L->d;
  const Onnx__GraphProto *gp = m->graph;
  if (gp->n_node > (size_t)g->limits.nodes) {
    diag_error(d, "the graph has %zu nodes; at most %d are allowed", gp->n_node,
               g->limits.nodes);
    return false;
  }
  size_t names = gp->n_initializer + gp->n_input;
  for (size_t i = 0; i < gp->n_node; i++)
    names += gp->node[i]->n_output;
  for (L->cap = 64; L->cap < 2 * names + 1; L->cap *= 2)
    ;
  L->names = arena_alloc(&g->arena, sizeof(int) * L->cap);
  for (size_t i = 0; i < L->cap; i++)
    L->names[i] = -1;
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *t = gp->initializer[i];
    if (!t->name || !t->name[0]) {
      diag_error(d, "initializer %zu has no name", i);
      return false;
    }
    if (!name_is_new(L, t->name, "another initializer"))
      return false;
    int v = add_const(L, t, t->name);
    if (v < 0)
      return false;
    name_define(L, v);
  }
  g->inputs = arena_alloc(&g->arena, sizeof(int) * (gp->n_input + 1));
  for (size_t i = 0; i < gp->n_input; i++) {
    const char *name = S(gp->input[i]->name);
    int old = name_find(L, name);
    if (old >= 0 && !g->values[old].is_input)
      continue; /* an initializer listed as input: a constant */
    if (!name_is_new(L, name, "another graph input"))
      return false;
    int v = graph_add_value(g, name);
    name_define(L, v);
    if (!load_value_info(L, gp->input[i], &g->values[v]))
      return false;
    g->values[v].is_input = true;
    g->inputs[g->ninputs++] = v;
  }
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *np = gp->node[i];
    int ni = graph_add_node(g, op_lookup(S(np->op_type), S(np->domain)), S(np->op_type),
                            (int)np->n_input, (int)np->n_output);
    Node *n = &g->nodes[ni];
    n->name = arena_strdup(&g->arena, S(np->name));
    n->domain = arena_strdup(&g->arena, S(np->domain));
    n->opset = L->opset;
    for (size_t j = 0; j < np->n_input; j++) {
      const char *in = S(np->input[j]);
      if (!in[0])
        continue;
      int v = name_find(L, in);
      if (v < 0 && defined_later(gp, i, in)) {
        diag_error(d, "node '%s' (%s) reads '%s' before the node that writes it: the "
                   "graph has a cycle or is not in topological order", node_label(n),
                   n->op_type, in);
        return false;
      }
      if (v < 0) {
        diag_error(d, "node '%s' (%s) reads '%s', which nothing defines "
                   "before it", node_label(n), n->op_type, in);
        return false;
      }
      n->in[j] = v;
    }
    n->nattrs = (int)np->n_attribute;
    n->attrs = arena_alloc(&g->arena, sizeof(Attr) * (np->n_attribute + 1));
    for (size_t j = 0; j < np->n_attribute; j++) {
      if (!load_attr(L, np->attribute[j], &n->attrs[j], n))
        return false;
      n = &g->nodes[ni]; /* add_const may not move nodes, but be safe */
    }
    for (size_t j = 0; j < np->n_output; j++) {
      const char *out = S(np->output[j]);
      if (!out[0])
        continue;
      if (!name_is_new(L, out, arena_printf(&g->arena, "node '%s'", node_label(&g->nodes[ni]))))
        return false;
      int v = graph_add_value(g, out);
      name_define(L, v);
      g->values[v].producer = ni;
      g->nodes[ni].out[j] = v;
    }
  }
  g->outputs = arena_alloc(&g->arena, sizeof(int) * (gp->n_output + 1));
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *name = S(gp->output[i]->name);
    int v = name_find(L, name);
    if (v < 0) {
      diag_error(d, "graph output '%s' is never computed", name);
      return false;
    }
    g->values[v].is_output = true;
    g->outputs[g->noutputs++] = v;
  }
  if (g->noutputs == 0) {
    diag_error(d, "the graph has no outputs");
    return false;
  }
  return true;
}

bool onnx_load(Graph *g, const char *path, Diag *d) {
  uint8_t *bytes;
  size_t size;
  if (!cd_read_file(path, &bytes, &size)) {
    diag_error(d, "cannot read: %s", strerror(errno));
    return false;
  }
  g->source = arena_strdup(&g->arena, path);
  g->hash = cd_hash_bytes(0, bytes, size);
  if (!pb_nesting_ok(bytes, size, &onnx__model_proto__descriptor)) {
    free(bytes);
    diag_error(d, "messages nest deeper than %d levels: not a model Cardinal reads (a "
               "hostile file?)", PB_MAX_DEPTH);
    return false;
  }
  Onnx__ModelProto *m = onnx__model_proto__unpack(&pb_allocator, size, bytes);
  free(bytes);
  if (!m) {
    diag_error(d, "not a valid ONNX model (protobuf parse failed: truncated "
               "or corrupt file?)");
    return false;
  }
  bool ok = false;
  Loader L = {g, d, NULL, -1, NULL, 0};
  if (!m->graph || !m->has_ir_version) {
    diag_error(d, "not an ONNX model (no graph or IR version)");
    goto done;
  }
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const char *dom = S(m->opset_import[i]->domain);
    int64_t v = m->opset_import[i]->version; /* an int64: 2^32 + 13 is not 13 */
    if (dom[0] && strcmp(dom, "ai.onnx") != 0)
      continue;
    if (v < 1 || v > 21) {
      diag_error(d, "opset %lld of the default domain is not one Cardinal knows (1 to 21)",
                 (long long)v);
      goto done;
    }
    if (L.opset >= 0 && v != L.opset) {
      diag_error(d, "the default domain is imported twice, at opsets %d and %lld", L.opset,
                 (long long)v);
      goto done;
    }
    L.opset = (int)v;
  }
  if (L.opset < 0) {
    /* A model of another domain's ops only (ai.onnx.preview.training's
     * optimizers) is one Cardinal does not support; no opset_import at all
     * is required since IR 3: missing means damage. */
    if (m->ir_version >= 3 && m->n_opset_import > 0) {
      diag_error(d, "the model imports domain '%s' (opset %lld) but not the default "
                 "ONNX domain: Cardinal supports the default domain's ops only",
                 S(m->opset_import[0]->domain), (long long)m->opset_import[0]->version);
      goto done;
    }
    if (m->ir_version >= 3) {
      diag_error(d, "no default-domain opset_import (truncated or corrupt file?)");
      goto done;
    }
    L.opset = 1;
  }
  char *dir = arena_strdup(&g->arena, path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  else
    dir = ".";
  L.dir = dir;
  ok = load_graph(&L, m);
done:
  onnx__model_proto__free_unpacked(m, &pb_allocator);
  return ok && d->nerrors == 0;
}

/* A standalone TensorProto file (.pb), as in the ONNX test data. */
bool onnx_load_tensor(const char *path, HostTensor *t, Diag *d) {
  uint8_t *bytes;
  size_t size;
  if (!cd_read_file(path, &bytes, &size)) {
    diag_error(d, "%s: cannot read: %s", path, strerror(errno));
    return false;
  }
  Onnx__TensorProto *tp = pb_nesting_ok(bytes, size, &onnx__tensor_proto__descriptor)
                              ? onnx__tensor_proto__unpack(&pb_allocator, size, bytes)
                              : NULL;
  free(bytes);
  if (!tp) {
    diag_error(d, "%s: not a TensorProto", path);
    return false;
  }
  Graph *g = graph_new();
  char *dir = arena_strdup(&g->arena, path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  else
    dir = ".";
  Loader L = {g, d, dir, 0, NULL, 0};
  int v = add_const(&L, tp, S(tp->name));
  bool ok = v >= 0;
  if (ok) {
    Value *x = &g->values[v];
    memset(t, 0, sizeof *t);
    t->dtype = x->dtype;
    t->rank = x->rank;
    memcpy(t->dims, x->dims, sizeof t->dims);
    size_t bytes_ = value_bytes(x);
    t->data = malloc(bytes_ + 1);
    t->name = strdup(x->name);
    CD_ASSERT(t->data && t->name);
    memcpy(t->data, x->data, bytes_);
  }
  onnx__tensor_proto__free_unpacked(tp, &pb_allocator);
  graph_free(g);
  return ok;
}
