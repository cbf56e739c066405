/*
 * ir.c — the graph: values, nodes, attributes, the verifier and a dump.
 *
 * Values and nodes live in growable arrays and are referenced by index, so a
 * pass may append nodes while it walks them without invalidating anything
 * but raw pointers (take pointers again after graph_add_*).  Passes delete by
 * marking `dead`; graph_compact squeezes dead nodes out afterwards.
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

const Limits cd_default_limits = {
    .tensor_elements = INT32_MAX,
    .tensor_bytes = (int64_t)1 << 32,
    .nodes = 1 << 17,
    .fold_work = (int64_t)1 << 31,
    .fold_bytes = (int64_t)256 << 20,
    .code_bytes = (int64_t)64 << 20,
    .param_bytes = (int64_t)1 << 30,
    .dsl_steps = 10000000,
    .dsl_value_bytes = (int64_t)256 << 20,
};

/* One row per element type the IR holds: every stage asks here. */
static const struct {
  DType t;
  size_t size;
  const char *name, *short_name, *ctype;
} dtypes[] = {
    {DT_FLOAT, 4, "float32", "f32", "float"},
    {DT_UINT8, 1, "uint8", "u8", "uint8_t"},
    {DT_INT8, 1, "int8", "s8", "int8_t"},
    {DT_INT32, 4, "int32", "s32", "int32_t"},
    {DT_INT64, 8, "int64", "s64", "int64_t"},
    {DT_BOOL, 1, "bool", "b8", "uint8_t"},
    {DT_DOUBLE, 8, "float64", "f64", "double"},
};

static int dtype_row(DType t) {
  for (int i = 0; i < (int)(sizeof dtypes / sizeof dtypes[0]); i++)
    if (dtypes[i].t == t)
      return i;
  return -1;
}

size_t dtype_size(DType t) {
  int r = dtype_row(t);
  return r < 0 ? 0 : dtypes[r].size;
}

double dtype_get(DType t, const void *p, int64_t i) {
  switch (t) {
  case DT_FLOAT: return ((const float *)p)[i];
  case DT_DOUBLE: return ((const double *)p)[i];
  case DT_INT64: return (double)((const int64_t *)p)[i];
  case DT_INT32: return ((const int32_t *)p)[i];
  case DT_INT8: return ((const int8_t *)p)[i];
  default: return ((const uint8_t *)p)[i]; /* uint8, bool */
  }
}

void dtype_set(DType t, void *p, int64_t i, double v) {
  switch (t) {
  case DT_FLOAT: ((float *)p)[i] = (float)v; break;
  case DT_DOUBLE: ((double *)p)[i] = v; break;
  case DT_INT64: ((int64_t *)p)[i] = cd_f2i_sat(v); break;
  case DT_INT32: ((int32_t *)p)[i] = (int32_t)cd_f2i_sat(v); break;
  case DT_INT8: ((int8_t *)p)[i] = (int8_t)cd_f2i_sat(v); break;
  default: ((uint8_t *)p)[i] = (uint8_t)cd_f2i_sat(v); break;
  }
}

/* ONNX's names of the element types the IR cannot hold, for messages that
 * say which one a model used (TensorProto.DataType). */
static const char *const unheld_names[] = {
    [4] = "uint16",        [5] = "int16",          [8] = "string",
    [10] = "float16",      [12] = "uint32",        [13] = "uint64",
    [14] = "complex64",    [15] = "complex128",    [16] = "bfloat16",
    [17] = "float8e4m3fn", [18] = "float8e4m3fnuz", [19] = "float8e5m2",
    [20] = "float8e5m2fnuz", [21] = "uint4",       [22] = "int4",
    [23] = "float4e2m1",
};

const char *dtype_name(DType t) {
  int r = dtype_row(t);
  if (r >= 0)
    return dtypes[r].name;
  if ((unsigned)t < sizeof unheld_names / sizeof unheld_names[0] && unheld_names[t])
    return unheld_names[t];
  return "unsupported";
}

bool dtype_io_as_float(DType t, int64_t *lo, int64_t *hi) {
  switch (t) {
  case DT_UINT8: *lo = 0, *hi = UINT8_MAX; return true;
  case DT_INT8: *lo = INT8_MIN, *hi = INT8_MAX; return true;
  case DT_INT32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
  default: return false;
  }
}

bool graph_io_as_float(const Graph *g, int v, int64_t *lo, int64_t *hi) {
  return !g->io_quantized && dtype_io_as_float(g->values[v].dtype, lo, hi);
}

bool dtype_out_as_float(DType t, int64_t *lo, int64_t *hi) {
  if (t == DT_INT64) {
    *lo = INT64_MIN, *hi = INT64_MAX;
    return true;
  }
  return dtype_io_as_float(t, lo, hi);
}

bool graph_out_as_float(const Graph *g, int v, int64_t *lo, int64_t *hi) {
  return !g->io_quantized && dtype_out_as_float(g->values[v].dtype, lo, hi);
}

const char *dtype_short(DType t) {
  int r = dtype_row(t);
  CD_ASSERT(r >= 0);
  return dtypes[r].short_name;
}

const char *dtype_ctype(DType t) {
  int r = dtype_row(t);
  CD_ASSERT(r >= 0);
  return dtypes[r].ctype;
}

Graph *graph_new(void) {
  Graph *g = calloc(1, sizeof(Graph));
  CD_ASSERT(g);
  g->threads = 1;
  g->limits = cd_default_limits;
  return g;
}

void graph_free(Graph *g) {
  if (!g)
    return;
  free(g->values);
  free(g->nodes);
  arena_free(&g->arena);
  free(g);
}

int graph_add_value(Graph *g, const char *name) {
  if (g->nvalues == g->cap_values) {
    g->cap_values = g->cap_values ? g->cap_values * 2 : 64;
    g->values = realloc(g->values, sizeof(Value) * (size_t)g->cap_values);
    CD_ASSERT(g->values);
  }
  Value *v = &g->values[g->nvalues];
  memset(v, 0, sizeof *v);
  v->name = arena_strdup(&g->arena, name);
  v->rank = -1;
  v->producer = -1;
  return g->nvalues++;
}

int graph_add_node(Graph *g, OpKind op, const char *op_type, int nin, int nout) {
  if (g->nnodes == g->cap_nodes) {
    g->cap_nodes = g->cap_nodes ? g->cap_nodes * 2 : 64;
    g->nodes = realloc(g->nodes, sizeof(Node) * (size_t)g->cap_nodes);
    CD_ASSERT(g->nodes);
  }
  Node *n = &g->nodes[g->nnodes];
  memset(n, 0, sizeof *n);
  n->op_type = arena_strdup(&g->arena, op_type);
  n->domain = arena_strdup(&g->arena, "");
  n->name = arena_strdup(&g->arena, "");
  n->op = op;
  n->ep = (Epilogue){-1, -1, OP_COUNT, 0, 0};
  n->nin = nin;
  n->nout = nout;
  n->in = arena_alloc(&g->arena, sizeof(int) * (size_t)(nin ? nin : 1));
  n->out = arena_alloc(&g->arena, sizeof(int) * (size_t)(nout ? nout : 1));
  for (int i = 0; i < nin; i++)
    n->in[i] = -1;
  for (int i = 0; i < nout; i++)
    n->out[i] = -1;
  return g->nnodes++;
}

int graph_find_value(const Graph *g, const char *name) {
  for (int i = g->nvalues - 1; i >= 0; i--)
    if (!g->values[i].dead && strcmp(g->values[i].name, name) == 0)
      return i;
  return -1;
}

void value_set_shape(Value *v, DType t, int rank, const int64_t *dims) {
  CD_ASSERT(rank >= 0 && rank <= CD_MAX_RANK);
  v->dtype = t;
  v->rank = rank;
  for (int i = 0; i < rank; i++)
    v->dims[i] = dims[i];
}

void value_set_data(Value *v, void *data, size_t nbytes) {
  v->data = data;
  v->nbytes = nbytes;
}

int graph_add_typed_const(Graph *g, const char *name, DType t, int rank,
                          const int64_t *dims, const void *data) {
  int v = graph_add_value(g, name);
  value_set_shape(&g->values[v], t, rank, dims);
  memcpy(value_alloc_data(g, v), data, value_bytes(&g->values[v]));
  return v;
}

void *value_alloc_data(Graph *g, int v) {
  size_t n = value_storage_bytes(&g->values[v]);
  value_set_data(&g->values[v], arena_alloc(&g->arena, n + 1), n);
  return g->values[v].data;
}

int64_t value_numel(const Value *v) {
  int64_t n = 1;
  for (int i = 0; i < v->rank; i++)
    if (!ck_mul(n, v->dims[i], &n))
      return INT64_MAX; /* over every limit: value_size_ok refuses it */
  return n;
}

size_t value_bytes(const Value *v) {
  int64_t n = value_numel(v), b;
  if (n < 0 || !ck_mul(n, (int64_t)dtype_size(v->dtype), &b))
    return SIZE_MAX;
  return (size_t)b;
}

bool value_size_ok(const Graph *g, const Value *v, char *why, size_t n) {
  const Limits *L = &g->limits;
  int64_t nz = 1, bytes;
  for (int i = 0; i < v->rank; i++) {
    int64_t d = v->dims[i];
    if (d < 0) {
      snprintf(why, n, "dim %d is negative (%lld)", i, (long long)d);
      return false;
    }
    if (d && (!ck_mul(nz, d, &nz) || nz > L->tensor_elements)) {
      snprintf(why, n, "dim %d is %lld: more than the %lld elements a tensor may have", i,
               (long long)d, (long long)L->tensor_elements);
      return false;
    }
  }
  int64_t es = dtype_size(v->dtype) ? (int64_t)dtype_size(v->dtype) : 1;
  if (!ck_mul(value_numel(v), es, &bytes) || bytes > L->tensor_bytes) {
    snprintf(why, n, "%lld elements of %lld bytes exceed the %lld-byte tensor limit "
             "(--max-tensor-bytes)", (long long)value_numel(v), (long long)es,
             (long long)L->tensor_bytes);
    return false;
  }
  return true;
}

bool value_is_const(const Graph *g, int v) {
  return v >= 0 && g->values[v].data != NULL;
}

const char *node_label(const Node *n) {
  return n->name && n->name[0] ? n->name : n->op_type;
}

const Attr *node_attr(const Node *n, const char *name) {
  if (n->attr_log && n->attr_log->n < 32)
    n->attr_log->name[n->attr_log->n++] = name;
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0)
      return &n->attrs[i];
  return NULL;
}

/* "an int", "a list of floats"; other: what an AT_OTHER attribute is. */
static const char *attr_type_name(AttrType t, const char *other) {
  switch (t) {
  case AT_FLOAT: return "a float";
  case AT_INT: return "an int";
  case AT_STRING: return "a string";
  case AT_TENSOR: return "a tensor";
  case AT_FLOATS: return "a list of floats";
  case AT_INTS: return "a list of ints";
  case AT_STRINGS: return "a list of strings";
  default: return other ? other : "of a type Cardinal does not read";
  }
}

bool attr_get(const Node *n, const char *name, AttrType want, Diag *d, const Attr **out) {
  const Attr *a = node_attr(n, name);
  *out = NULL;
  if (!a)
    return true;
  if (a->type == want || (want == AT_FLOAT && a->type == AT_INT)) {
    *out = a;
    return true;
  }
  diag_error(d, "node '%s' (%s): attribute '%s' is %s; %s takes it as %s", node_label(n),
             n->op_type, name, attr_type_name(a->type, a->other), n->op_type,
             attr_type_name(want, NULL));
  if (n->attr_log && !n->attr_log->bad)
    n->attr_log->bad = name;
  return false;
}

int64_t attr_int(const Node *n, const char *name, int64_t dflt, Diag *d) {
  const Attr *a;
  return attr_get(n, name, AT_INT, d, &a) && a ? a->i : dflt;
}

float attr_float(const Node *n, const char *name, float dflt, Diag *d) {
  const Attr *a;
  if (!attr_get(n, name, AT_FLOAT, d, &a) || !a)
    return dflt;
  return a->type == AT_INT ? (float)a->i : a->f;
}

const char *attr_string(const Node *n, const char *name, const char *dflt, Diag *d) {
  const Attr *a;
  return attr_get(n, name, AT_STRING, d, &a) && a ? a->s : dflt;
}

void ir_recount_uses(Graph *g) {
  CD_STEPS(g->nvalues + g->nnodes); /* a pass over the graph */
  for (int i = 0; i < g->nvalues; i++)
    g->values[i].nusers = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < node_nreads(n); j++)
      if (node_read(n, j) >= 0)
        g->values[node_read(n, j)].nusers++;
  }
}

void graph_replace_reads(Graph *g, int from, int to) {
  CD_STEPS(g->nnodes); /* a pass over the nodes */
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == from)
        n->in[j] = to;
    if (n->ep.residual == from)
      n->ep.residual = to;
    if (n->ep.residual_scale == from)
      n->ep.residual_scale = to;
  }
}

int node_add_input(Graph *g, Node *n, int v) {
  int *in = arena_alloc(&g->arena, sizeof(int) * (size_t)(n->nin + 1));
  memcpy(in, n->in, sizeof(int) * (size_t)n->nin);
  in[n->nin] = v;
  n->in = in;
  return n->nin++;
}

int graph_add_const(Graph *g, const char *name, int rank, const int64_t *dims) {
  int64_t copy[CD_MAX_RANK]; /* dims may point into g->values, which may move */
  CD_ASSERT(rank >= 0 && rank <= CD_MAX_RANK);
  memcpy(copy, dims, sizeof(int64_t) * (size_t)rank);
  int v = graph_add_value(g, name);
  value_set_shape(&g->values[v], DT_FLOAT, rank, copy);
  value_alloc_data(g, v);
  return v;
}

bool value_same_shape(const Value *a, const Value *b) {
  return a->rank == b->rank && !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)(a->rank > 0 ? a->rank : 0));
}

bool value_single_use(const Graph *g, int v) {
  return v >= 0 && g->values[v].nusers == 1 && !g->values[v].is_output;
}

/* n's first output is replaced by dead's: n now computes what dead did. */
void node_take_output(Graph *g, Node *n, Node *dead) {
  node_take_output_counted(g, n, dead);
  ir_recount_uses(g);
}

void node_take_output_counted(Graph *g, Node *n, Node *dead) {
  int old = n->out[0];
  n->out[0] = dead->out[0];
  g->values[n->out[0]].producer = (int)(n - g->nodes);
  g->values[old].dead = true;
  g->values[old].producer = -1;
  dead->dead = true;
  for (int j = 0; j < node_nreads(dead); j++) /* what dead read, it reads no more */
    if (node_read(dead, j) >= 0)
      g->values[node_read(dead, j)].nusers--;
}

bool node_has_epilogue(const Node *n) {
  return n->ep.residual >= 0 || n->ep.act != OP_COUNT;
}

/*
 * Drops dead nodes and re-sorts the rest topologically (Kahn's algorithm,
 * always taking the earliest ready node, O((n + e) log n)), so a pass may
 * append nodes or rewire operands without caring where nodes sit; an
 * already sorted graph keeps its order exactly.
 */
void graph_compact(Graph *g) {
  int nn = g->nnodes;
  int *pending = calloc((size_t)nn + 1, sizeof(int));
  int *start = calloc((size_t)nn + 2, sizeof(int)); /* edges from node p: [start[p], start[p+1]) */
  int nedges = 0;
  CD_ASSERT(pending && start);
  for (int pass = 0; pass < 2; pass++) {
    int *fill = pass ? calloc((size_t)nn + 1, sizeof(int)) : NULL;
    int *edges = pass ? malloc(sizeof(int) * (size_t)(nedges + 1)) : NULL;
    CD_ASSERT(!pass || (fill && edges));
    for (int i = 0; i < nn; i++) {
      Node *n = &g->nodes[i];
      if (n->dead)
        continue;
      for (int j = 0; j < node_nreads(n); j++) {
        int v = node_read(n, j);
        int p = v >= 0 ? g->values[v].producer : -1;
        if (p < 0 || p == i || g->nodes[p].dead)
          continue;
        if (!pass) {
          start[p + 1]++;
          pending[i]++;
          nedges++;
        } else {
          edges[start[p] + fill[p]++] = i;
        }
      }
    }
    if (!pass) {
      for (int p = 0; p < nn; p++)
        start[p + 1] += start[p];
      continue;
    }
    IntHeap h = {malloc(sizeof(int) * (size_t)(nn + 1)), 0, NULL}; /* the ready node that came first */
    CD_ASSERT(h.v);
    for (int i = 0; i < nn; i++)
      if (!g->nodes[i].dead && !pending[i])
        intheap_push(&h, i);
    int *order = malloc(sizeof(int) * (size_t)(nn + 1)), k = 0;
    CD_ASSERT(order);
    while (h.n) {
      int i = intheap_pop(&h);
      order[k++] = i;
      for (int e = start[i]; e < start[i + 1]; e++)
        if (--pending[edges[e]] == 0)
          intheap_push(&h, edges[e]);
    }
    int *newidx = malloc(sizeof(int) * (size_t)(nn + 1));
    CD_ASSERT(newidx);
    for (int i = 0; i < nn; i++) {
      newidx[i] = -1;
      CD_ASSERT(g->nodes[i].dead || pending[i] == 0); /* a cycle: a pass bug */
    }
    Node *sorted = malloc(sizeof(Node) * (size_t)(k + 1));
    CD_ASSERT(sorted);
    for (int i = 0; i < k; i++) {
      sorted[i] = g->nodes[order[i]];
      newidx[order[i]] = i;
    }
    if (k)
      memcpy(g->nodes, sorted, sizeof(Node) * (size_t)k);
    for (int i = 0; i < g->nvalues; i++) {
      Value *v = &g->values[i];
      if (v->producer >= 0)
        v->producer = newidx[v->producer];
    }
    g->nnodes = k;
    free(sorted);
    free(newidx);
    free(order);
    free(h.v);
    free(fill);
    free(edges);
  }
  free(pending);
  free(start);
  ir_recount_uses(g);
}
