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
};

int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  return ck_add(a, b, &r) ? r : b > 0 ? INT64_MAX : INT64_MIN;
}

int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  return ck_sub(a, b, &r) ? r : b < 0 ? INT64_MAX : INT64_MIN;
}

int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  return ck_mul(a, b, &r) ? r : (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
}

/* Every double in [-2^63, 2^63) truncates to an int64_t; both bounds are
 * exact doubles, and NaN fails both comparisons. */
bool ck_f2i(double x, int64_t *r) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
    return false;
  *r = (int64_t)x;
  return true;
}

int64_t cd_f2i_sat(double x) {
  int64_t r;
  if (ck_f2i(x, &r))
    return r;
  return x != x ? 0 : x > 0 ? INT64_MAX : INT64_MIN;
}

size_t dtype_size(DType t) {
  switch (t) {
  case DT_FLOAT: return 4;
  case DT_INT32: return 4;
  case DT_INT64: return 8;
  case DT_DOUBLE: return 8;
  case DT_UINT8: case DT_INT8: case DT_BOOL: return 1;
  default: return 0;
  }
}

const char *dtype_name(DType t) {
  switch (t) {
  case DT_FLOAT: return "float32";
  case DT_UINT8: return "uint8";
  case DT_INT8: return "int8";
  case DT_INT32: return "int32";
  case DT_INT64: return "int64";
  case DT_BOOL: return "bool";
  case DT_DOUBLE: return "float64";
  default: return "unsupported";
  }
}

Graph *graph_new(void) {
  Graph *g = calloc(1, sizeof(Graph));
  CD_ASSERT(g);
  g->target = &target_scalar; /* until the driver picks one */
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

int graph_add_node(Graph *g, const char *op_type, int nin, int nout) {
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
  n->op = op_lookup(op_type, "");
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

int graph_add_op(Graph *g, OpKind op, int nin, int nout) {
  int ni = graph_add_node(g, op_table[op].name, nin, nout);
  g->nodes[ni].op = op;
  return ni;
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

int64_t attr_int(const Node *n, const char *name, int64_t dflt) {
  const Attr *a = node_attr(n, name);
  return a && a->type == AT_INT ? a->i : dflt;
}

float attr_float(const Node *n, const char *name, float dflt) {
  const Attr *a = node_attr(n, name);
  if (a && a->type == AT_FLOAT)
    return a->f;
  if (a && a->type == AT_INT)
    return (float)a->i;
  return dflt;
}

const char *attr_string(const Node *n, const char *name, const char *dflt) {
  const Attr *a = node_attr(n, name);
  return a && a->type == AT_STRING ? a->s : dflt;
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

/* "2", "2 to 3" or "1 or more": how many operands an op takes, for messages. */
static const char *count_range(char *buf, size_t n, int lo, int hi) {
  if (hi < 0)
    snprintf(buf, n, "%d or more", lo);
  else if (lo == hi)
    snprintf(buf, n, "%d", lo);
  else
    snprintf(buf, n, "%d to %d", lo, hi);
  return buf;
}

/* "float32[1,8,8,8]", for messages. */
static const char *shape_str(char *buf, size_t n, const Value *v) {
  size_t k = (size_t)snprintf(buf, n, "%s[", dtype_name(v->dtype));
  for (int i = 0; i < v->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)v->dims[i]);
  if (k < n)
    snprintf(buf + k, n - k, "]");
  return buf;
}

/* The fields of OpParams by name, so the verifier can say which parameter
 * re-inference changes.  Keep in step with OpParams: a field missing here
 * is still caught (the whole struct is compared), only not named. */
#define PARAM_FIELD(f) {#f, offsetof(OpParams, f), sizeof(((OpParams *)0)->f)}
static const struct {
  const char *name;
  size_t off, size;
} param_fields[] = {
    PARAM_FIELD(nsp),       PARAM_FIELD(kernel),    PARAM_FIELD(stride),
    PARAM_FIELD(dilation),  PARAM_FIELD(pad0),      PARAM_FIELD(pad1),
    PARAM_FIELD(auto_pad),  PARAM_FIELD(group),     PARAM_FIELD(ceil_mode),
    PARAM_FIELD(count_include_pad), PARAM_FIELD(trans_a), PARAM_FIELD(trans_b),
    PARAM_FIELD(alpha),     PARAM_FIELD(beta),      PARAM_FIELD(epsilon),
    PARAM_FIELD(axis),      PARAM_FIELD(nperm),     PARAM_FIELD(perm),
    PARAM_FIELD(pad_mode),  PARAM_FIELD(pads),      PARAM_FIELD(pad_value),
    PARAM_FIELD(outer),     PARAM_FIELD(len),       PARAM_FIELD(inner),
    PARAM_FIELD(to),        PARAM_FIELD(nshape),    PARAM_FIELD(shape),
    PARAM_FIELD(allowzero), PARAM_FIELD(naxes),     PARAM_FIELD(axes),
    PARAM_FIELD(start),     PARAM_FIELD(end),
};
#undef PARAM_FIELD

/* "kernel, pad0": the parameters that differ between a and b. */
static const char *param_diff(char *buf, size_t n, const OpParams *a, const OpParams *b) {
  size_t k = 0;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof param_fields / sizeof param_fields[0] && k < n; i++)
    if (memcmp((const char *)a + param_fields[i].off, (const char *)b + param_fields[i].off,
               param_fields[i].size))
      k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "", param_fields[i].name);
  if (!buf[0])
    snprintf(buf, n, "a field the verifier does not name");
  return buf;
}

/*
 * The strict verifier.  Run after every pass in debug builds and tests, and
 * under --verify.  It checks, and reports each violation naming the node or
 * value and saying why:
 *  - every live value is defined exactly once (a graph input, a constant or
 *    one node's output), before it is read (so the graph has no cycle), and
 *    names its producer;
 *  - each node's op inputs and outputs are within the arity of ops.def, and
 *    its required inputs and outputs are present;
 *  - re-running the node's shape inference gives the shapes it has and the
 *    parameters it has (inference is a pure function of both);
 *  - every constant holds exactly the bytes its shape and layout need;
 *  - an epilogue sits on a Conv or Gemm, its residual has the output's
 *    shape, its scale is a constant [C], its activation is an activation;
 *  - every node reads and writes layouts it can run on (layout.c);
 *  - every graph output is computed.
 * After the first violation it stops checking nodes (later ones would only
 * repeat it) but still reports every graph output never computed.
 */
static void verify_node(Graph *g, int i, const char *defined, Diag *d) {
  Node *n = &g->nodes[i];
  const char *nl = node_label(n);
  const OpInfo *o = &op_table[n->op];
  char want[32], s1[256], s2[256];
  int nin = n->nin;
  while (nin > 0 && n->in[nin - 1] < 0)
    nin--;
  if (nin < o->min_in || (o->max_in >= 0 && nin > o->max_in)) {
    diag_error(d, "verify: node '%s' (%s) has %d inputs; %s takes %s", nl, n->op_type, nin,
               o->name, count_range(want, sizeof want, o->min_in, o->max_in));
    return;
  }
  if (n->nout < o->min_out || n->nout > o->max_out) {
    diag_error(d, "verify: node '%s' (%s) has %d outputs; %s makes %s", nl, n->op_type,
               n->nout, o->name, count_range(want, sizeof want, o->min_out, o->max_out));
    return;
  }
  for (int j = 0; j < o->min_in; j++)
    if (n->in[j] < 0) {
      diag_error(d, "verify: node '%s' (%s): required input %d is missing", nl, n->op_type, j);
      return;
    }
  for (int j = 0; j < o->min_out; j++)
    if (n->out[j] < 0) {
      diag_error(d, "verify: node '%s' (%s): required output %d is missing", nl, n->op_type, j);
      return;
    }
  for (int j = 0; j < node_nreads(n); j++) {
    int v = node_read(n, j);
    if (v < 0)
      continue;
    if (v >= g->nvalues) {
      diag_error(d, "verify: node '%s' reads value %d, which does not exist", nl, v);
      return;
    }
    if (g->values[v].dead) {
      diag_error(d, "verify: node '%s' reads '%s', which a pass removed", nl,
                 g->values[v].name);
      return;
    }
    if (!defined[v]) {
      diag_error(d, "verify: node '%s' reads '%s' before it is defined (a cycle, or "
                 "out of order)", nl, g->values[v].name);
      return;
    }
  }
  const Epilogue *ep = &n->ep;
  if (node_has_epilogue(n) || ep->residual_scale >= 0) {
    const Value *y = &g->values[n->out[0]];
    if (n->op != OP_CONV && n->op != OP_GEMM)
      diag_error(d, "verify: node '%s' (%s) has an epilogue; only Conv and Gemm do", nl,
                 n->op_type);
    if (ep->act != OP_COUNT && !(op_table[ep->act].flags & OPF_ACTIVATION))
      diag_error(d, "verify: node '%s': epilogue activation %s is not an activation", nl,
                 op_table[ep->act].name);
    if (ep->residual_scale >= 0 && ep->residual < 0)
      diag_error(d, "verify: node '%s': a residual scale without a residual", nl);
    if (ep->residual >= 0) {
      const Value *r = &g->values[ep->residual];
      if (!value_same_shape(r, y))
        diag_error(d, "verify: node '%s': residual '%s' is %s; the output '%s' is %s", nl,
                   r->name, shape_str(s1, sizeof s1, r), y->name, shape_str(s2, sizeof s2, y));
    }
    if (ep->residual_scale >= 0) {
      const Value *sc = &g->values[ep->residual_scale];
      if (!sc->data || sc->rank != 1 || y->rank < 2 || sc->dims[0] != y->dims[1])
        diag_error(d, "verify: node '%s': residual scale '%s' is not a constant [C]", nl,
                   sc->name);
    }
  }
  /* Re-infer on a copy of the node; the outputs' shapes are restored. */
  Value *saved = malloc(sizeof(Value) * (size_t)(n->nout + 1));
  int nsave = n->nout;
  CD_ASSERT(saved);
  for (int j = 0; j < nsave; j++)
    if (n->out[j] >= 0)
      saved[j] = g->values[n->out[j]];
  Node copy = *n;
  Diag quiet = {.quiet = true};
  bool ok = o->infer(g, &copy, &quiet);
  for (int j = 0; j < nsave && ok; j++) {
    int v = n->out[j];
    if (v < 0)
      continue;
    const Value *now = &g->values[v], *was = &saved[j];
    if (now->dtype != was->dtype || !value_same_shape(now, was)) {
      diag_error(d, "verify: node '%s' (%s): output '%s' is %s, but re-inference gives %s",
                 nl, n->op_type, was->name, shape_str(s1, sizeof s1, was),
                 shape_str(s2, sizeof s2, now));
      ok = true; /* reported */
      break;
    }
  }
  if (!ok) {
    /* Inference's own message, as one line: "error: ...\n" without the frame. */
    const char *why = quiet.log.buf ? quiet.log.buf : "?";
    if (!strncmp(why, "error: ", 7))
      why += 7;
    diag_error(d, "verify: node '%s' (%s): shape inference fails on it now: %.*s", nl,
               n->op_type, (int)strcspn(why, "\n"), why);
  } else if (memcmp(&copy.p, &n->p, sizeof n->p) != 0)
    diag_error(d, "verify: node '%s' (%s): its parameters disagree with its inputs' "
               "shapes (re-inference changes %s)", nl, n->op_type,
               param_diff(s1, sizeof s1, &n->p, &copy.p));
  sb_free(&quiet.log);
  for (int j = 0; j < nsave; j++)
    if (n->out[j] >= 0)
      g->values[n->out[j]] = saved[j];
  free(saved);
  const char *why = node_layout_error(g, n);
  if (why)
    diag_error(d, "verify: node '%s' (%s): layouts: %s", nl, n->op_type, why);
}

bool ir_verify(Graph *g, Diag *d) {
  int errors = d->nerrors;
  char *defined = calloc((size_t)g->nvalues + 1, 1);
  CD_ASSERT(defined);
  for (int i = 0; i < g->nvalues; i++) {
    const Value *v = &g->values[i];
    if (v->dead)
      continue;
    if (v->data || v->is_input)
      defined[i] = 1;
    if (v->data && v->is_input)
      diag_error(d, "verify: '%s' is both a graph input and a constant", v->name);
    if (v->data && v->producer >= 0)
      diag_error(d, "verify: constant '%s' has a producer", v->name);
    if (v->data && v->rank >= 0 && v->nbytes != value_storage_bytes(v))
      diag_error(d, "verify: constant '%s' holds %zu bytes; its shape and layout need %zu",
                 v->name, v->nbytes, value_storage_bytes(v));
  }
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    if (n->op == OP_COUNT) {
      diag_error(d, "verify: node '%s' has an unknown op %s", node_label(n), n->op_type);
      continue;
    }
    for (int j = 0; j < n->nout; j++) {
      int v = n->out[j];
      if (v < 0)
        continue;
      if (v >= g->nvalues) {
        diag_error(d, "verify: node '%s' writes value %d, which does not exist",
                   node_label(n), v);
        continue;
      }
      const Value *o = &g->values[v];
      if (o->producer != i)
        diag_error(d, "verify: value '%s' does not name node '%s' as producer",
                   o->name, node_label(n));
      if (o->rank < 0)
        diag_error(d, "verify: value '%s' has no shape", o->name);
      if (defined[v])
        diag_error(d, "verify: value '%s' is defined twice (node '%s' writes it again)",
                   o->name, node_label(n));
    }
    if (d->nerrors == errors)
      verify_node(g, i, defined, d);
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] >= 0 && n->out[j] < g->nvalues)
        defined[n->out[j]] = 1;
  }
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] < 0 || g->outputs[i] >= g->nvalues)
      diag_error(d, "verify: graph output %d is value %d, which does not exist", i,
                 g->outputs[i]);
    else if (!defined[g->outputs[i]])
      diag_error(d, "verify: graph output '%s' is never computed",
                 g->values[g->outputs[i]].name);
  free(defined);
  return d->nerrors == errors;
}

static void dump_value(const Graph *g, int v, FILE *f) {
  if (v < 0) {
    fprintf(f, "_");
    return;
  }
  const Value *x = &g->values[v];
  fprintf(f, "%%%d:%s[", v, dtype_name(x->dtype));
  for (int i = 0; i < x->rank; i++)
    fprintf(f, "%s%lld", i ? "," : "", (long long)x->dims[i]);
  fprintf(f, "]");
  if (x->layout.kind != LAYOUT_PLAIN) {
    char buf[32];
    fprintf(f, "@%s", layout_name(x->layout, buf, sizeof buf));
  }
  fprintf(f, "%s", x->data ? "=const" : "");
}

void ir_dump(const Graph *g, FILE *f) {
  fprintf(f, "graph %s: %d nodes\n", g->source ? g->source : "", g->nnodes);
  for (int i = 0; i < g->ninputs; i++) {
    fprintf(f, "  input ");
    dump_value(g, g->inputs[i], f);
    fprintf(f, "\n");
  }
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    fprintf(f, "  ");
    for (int j = 0; j < n->nout; j++) {
      if (j)
        fprintf(f, ", ");
      dump_value(g, n->out[j], f);
    }
    fprintf(f, " = %s(", n->op_type);
    for (int j = 0; j < n->nin; j++) {
      if (j)
        fprintf(f, ", ");
      dump_value(g, n->in[j], f);
    }
    fprintf(f, ")");
    if (n->ep.residual >= 0) {
      fprintf(f, " + residual ");
      dump_value(g, n->ep.residual, f);
      if (n->ep.residual_scale >= 0) {
        fprintf(f, " * ");
        dump_value(g, n->ep.residual_scale, f);
      }
    }
    if (n->ep.act != OP_COUNT)
      fprintf(f, " then %s", op_table[n->ep.act].name);
    fprintf(f, "\n");
  }
  for (int i = 0; i < g->noutputs; i++) {
    fprintf(f, "  output ");
    dump_value(g, g->outputs[i], f);
    fprintf(f, "\n");
  }
}
