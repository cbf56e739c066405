/*
 * onnx_write.c — Graph -> ONNX ModelProto, on protobuf-c: onnx_load's inverse.
 *
 * What it writes:
 *
 *  - every live node, in graph order, with its op_type, domain, name,
 *    inputs and outputs by value name ("" for an omitted optional one) and
 *    its attributes as loaded (a tensor attribute from its constant Value);
 *  - every constant a live node reads (or a graph output that is one), not
 *    a graph input, as an initializer: dtype, dims, raw_data little-endian;
 *  - the graph inputs and outputs as tensor ValueInfos with fixed dims (an
 *    open dim the loader made 1 is written as 1);
 *  - one opset_import per domain used, the largest opset of its nodes
 *    ("ai.onnx" is written as the default domain ""; a graph whose nodes
 *    carry no default-domain opset gets 13, the one the DSL lowers to); IR
 *    version 8, 9 or 10 as ONNX's table gives for that opset; producer
 *    "cardinal".
 *
 * Value names must be unique and non-empty in ONNX; the DSL leaves
 * intermediates unnamed and may repeat a label.  Every value keeps its own
 * name when it is the first to claim it (graph inputs and outputs first);
 * the others are named after their index ("v12", "conv1_12"), never a name
 * claimed or made before.
 *
 * What it does not write: the attributes are the ones loaded, and nothing
 * else records what a node computes, so a graph is written as the
 * frontends made it (graph_infer's constant folding is fine: it only makes
 * constants).  Cardinal's own ops (OPF_INTERNAL: Reorder, Silu), fused
 * epilogues, values in a packed layout, subgraph attributes (AT_OTHER) and
 * string-list attributes (the loader keeps their count only) are refused,
 * naming the node.  A pass that changes a node's parameters but not its
 * attributes (merge-paths' groups) is NOT detected: its change would be
 * lost, so write the model before the passes.  Weights go inline: a model
 * over protobuf's 2 GiB is refused (no external data is written).
 *
 * The file is written to a temporary name in the destination folder and
 * renamed over path once complete, so a failure leaves no partial file.
 */
#include "../../compiler/cardinal.h"
#include "onnx.pb-c.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define PB_MAX_BYTES ((int64_t)INT32_MAX) /* protobuf's own limit on a message */
#define DSL_OPSET 13                      /* what frontend/dsl/builtins.c sets */

typedef struct {
  const Graph *g;
  Diag *d;
  const char *path;  /* for messages */
  Arena a;           /* every message built, freed in one call */
  const char **name; /* per value: its name in the file, NULL until given */
  NameMap used;      /* names given so far */
  NameMap nodes;     /* node names given so far (ONNX Runtime wants them unique) */
  bool *written;     /* per value: already an initializer */
  int64_t raw_bytes; /* initializer bytes so far (against PB_MAX_BYTES) */
} Writer;

/* The name value v goes by in the file: its own if it has one nothing
 * else took, else one made from its index. */
static const char *value_name(Writer *W, int v) {
  if (W->name[v])
    return W->name[v];
  const char *own = W->g->values[v].name;
  const char *s = own && own[0] ? own : NULL;
  for (int k = 0; !s || namemap_get(&W->used, s); k++) {
    CD_STEPS(1);
    if (own && own[0])
      s = k ? arena_printf(&W->a, "%s_%d_%d", own, v, k) : arena_printf(&W->a, "%s_%d", own, v);
    else
      s = k ? arena_printf(&W->a, "v%d_%d", v, k) : arena_printf(&W->a, "v%d", v);
  }
  namemap_put(&W->used, &W->a, s, (void *)s);
  W->name[v] = s;
  return s;
}

/* Gives value v its own name if it has one and nothing took it first. */
static void claim_name(Writer *W, int v) {
  const char *own = W->g->values[v].name;
  if (W->name[v] || W->g->values[v].dead || !own || !own[0] || namemap_get(&W->used, own))
    return;
  namemap_put(&W->used, &W->a, own, (void *)own);
  W->name[v] = own;
}

/* Own names are claimed before any is made up, so a made-up "v12" never
 * pushes a value that is really called v12 off its name; the graph's
 * inputs and outputs first, so theirs survive a duplicate. */
static void claim_names(Writer *W) {
  const Graph *g = W->g;
  for (int i = 0; i < g->ninputs; i++)
    claim_name(W, g->inputs[i]);
  for (int i = 0; i < g->noutputs; i++)
    claim_name(W, g->outputs[i]);
  for (int v = 0; v < g->nvalues; v++)
    claim_name(W, v);
}

/* Whether value v is a constant the file holds as an initializer. */
static bool is_constant(const Graph *g, int v) {
  const Value *x = &g->values[v];
  return x->data && !x->is_input && (x->producer < 0 || g->nodes[x->producer].dead);
}

/* Constant value v as a TensorProto (its data shared, not copied, on a
 * little-endian host). */
static Onnx__TensorProto *tensor_proto(Writer *W, int v, const char *name, const char *who) {
  const Value *x = &W->g->values[v];
  if (x->layout.kind != LAYOUT_PLAIN) {
    diag_error(W->d, "writing %s: constant '%s' (%s) is stored in a packed layout, which "
               "ONNX cannot hold: write the model before Cardinal's layout pass",
               W->path, x->name, who);
    return NULL;
  }
  size_t es = dtype_size(x->dtype), bytes = value_bytes(x);
  if (!es || x->rank < 0 || bytes == SIZE_MAX || x->nbytes != bytes) {
    diag_error(W->d, "writing %s: constant '%s' (%s) has no valid type and shape "
               "(%s, rank %d, %zu bytes held): run shape inference first", W->path,
               x->name, who, dtype_name(x->dtype), x->rank, x->nbytes);
    return NULL;
  }
  if (!ck_add(W->raw_bytes, (int64_t)bytes, &W->raw_bytes) || W->raw_bytes > PB_MAX_BYTES) {
    diag_error(W->d, "writing %s: the constants take more than the 2 GiB one ONNX file "
               "can hold inline (external data is not written)", W->path);
    return NULL;
  }
  Onnx__TensorProto *t = arena_alloc(&W->a, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = name ? (char *)name : NULL;
  t->has_data_type = true;
  t->data_type = (int32_t)x->dtype;
  t->n_dims = (size_t)x->rank;
  t->dims = (int64_t *)x->dims;
  t->has_raw_data = true;
  t->raw_data.len = bytes;
  t->raw_data.data = x->data;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  uint8_t *le = arena_alloc(&W->a, bytes + 1);
  for (size_t i = 0; i < bytes; i += es)
    for (size_t b = 0; b < es; b++)
      le[i + b] = ((const uint8_t *)x->data)[i + es - 1 - b];
  t->raw_data.data = le;
#endif
  return t;
}

/* Graph input or output v as a tensor ValueInfo. */
static Onnx__ValueInfoProto *value_info(Writer *W, int v) {
  const Value *x = &W->g->values[v];
  Onnx__TypeProto__Tensor *tt = arena_alloc(&W->a, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = true;
  tt->elem_type = (int32_t)x->dtype;
  if (x->rank >= 0) {
    tt->shape = arena_alloc(&W->a, sizeof *tt->shape);
    onnx__tensor_shape_proto__init(tt->shape);
    tt->shape->n_dim = (size_t)x->rank;
    tt->shape->dim = arena_alloc(&W->a, sizeof(void *) * ((size_t)x->rank + 1));
    for (int i = 0; i < x->rank; i++) {
      Onnx__TensorShapeProto__Dimension *dm = arena_alloc(&W->a, sizeof *dm);
      onnx__tensor_shape_proto__dimension__init(dm);
      dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dm->dim_value = x->dims[i];
      tt->shape->dim[i] = dm;
    }
  }
  Onnx__TypeProto *tp = arena_alloc(&W->a, sizeof *tp);
  onnx__type_proto__init(tp);
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  Onnx__ValueInfoProto *vi = arena_alloc(&W->a, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = (char *)value_name(W, v);
  vi->type = tp;
  return vi;
}

static bool write_attr(Writer *W, const Node *n, const Attr *at, Onnx__AttributeProto *a) {
  onnx__attribute_proto__init(a);
  a->name = at->name;
  a->has_type = true;
  switch (at->type) {
  case AT_FLOAT:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = true;
    a->f = at->f;
    return true;
  case AT_INT:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = true;
    a->i = at->i;
    return true;
  case AT_STRING:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = true;
    a->s.data = (uint8_t *)(at->s ? at->s : "");
    a->s.len = strlen((const char *)a->s.data);
    return true;
  case AT_FLOATS:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    a->n_floats = at->count > 0 ? (size_t)at->count : 0;
    a->floats = at->floats;
    return true;
  case AT_INTS:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = at->count > 0 ? (size_t)at->count : 0;
    a->ints = at->ints;
    return true;
  case AT_TENSOR:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (at->tensor < 0 || at->tensor >= W->g->nvalues || !W->g->values[at->tensor].data) {
      diag_error(W->d, "writing %s: node '%s' (%s): tensor attribute '%s' names no "
                 "constant", W->path, node_label(n), n->op_type, at->name);
      return false;
    }
    a->t = tensor_proto(W, at->tensor, NULL,
                        arena_printf(&W->a, "attribute '%s' of node '%s'", at->name,
                                     node_label(n)));
    return a->t != NULL;
  case AT_STRINGS:
    if (at->count == 0) {
      a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
      return true;
    }
    diag_error(W->d, "writing %s: node '%s' (%s): attribute '%s' is a list of strings, "
               "which the loader does not keep, so it cannot be written back", W->path,
               node_label(n), n->op_type, at->name);
    return false;
  default:
    diag_error(W->d, "writing %s: node '%s' (%s): attribute '%s' is %s, which Cardinal "
               "does not keep and cannot write", W->path, node_label(n), n->op_type,
               at->name, at->type == AT_OTHER && at->other ? at->other : "of no type");
    return false;
  }
}

/* A node ONNX can express: not one of Cardinal's own ops, no epilogue. */
static bool node_writable(Writer *W, const Node *n) {
  if (n->op < OP_COUNT && (op_table[n->op].flags & OPF_INTERNAL)) {
    diag_error(W->d, "writing %s: node '%s' is a %s, an op Cardinal's passes make and "
               "ONNX does not have: write the model before Cardinal's fusion passes",
               W->path, node_label(n), n->op_type);
    return false;
  }
  if (n->ep.residual >= 0 || n->ep.residual_scale >= 0 || n->ep.act != OP_COUNT) {
    diag_error(W->d, "writing %s: node '%s' (%s) carries a fused epilogue (%s), which "
               "ONNX cannot express: write the model before Cardinal's fusion passes",
               W->path, node_label(n), n->op_type,
               n->ep.residual >= 0 ? "a residual add" : "an activation");
    return false;
  }
  return true;
}

/* Constant v as an initializer, once; false after an error. */
static bool add_initializer(Writer *W, int v, Onnx__GraphProto *gp, const char *who) {
  if (W->written[v])
    return true;
  W->written[v] = true;
  Onnx__TensorProto *t = tensor_proto(W, v, value_name(W, v), who);
  if (!t)
    return false;
  gp->initializer[gp->n_initializer++] = t;
  return true;
}

static bool write_node(Writer *W, const Node *n, Onnx__GraphProto *gp) {
  const Graph *g = W->g;
  if (!node_writable(W, n))
    return false;
  Onnx__NodeProto *np = arena_alloc(&W->a, sizeof *np);
  onnx__node_proto__init(np);
  np->op_type = n->op_type;
  np->domain = n->domain && strcmp(n->domain, "ai.onnx") != 0 ? n->domain : "";
  np->name = n->name && n->name[0] ? n->name : NULL;
  for (int k = 1; np->name && namemap_get(&W->nodes, np->name); k++) { /* unique: n_<k> */
    CD_STEPS(1);
    np->name = arena_printf(&W->a, "%s_%d", n->name, k);
  }
  if (np->name)
    namemap_put(&W->nodes, &W->a, np->name, (void *)np->name);
  np->n_input = (size_t)n->nin;
  np->input = arena_alloc(&W->a, sizeof(char *) * ((size_t)n->nin + 1));
  for (int i = 0; i < n->nin; i++) {
    int v = n->in[i];
    np->input[i] = "";
    if (v < 0)
      continue;
    const Value *x = &g->values[v];
    bool computed = x->is_input || (x->producer >= 0 && !g->nodes[x->producer].dead);
    if (!computed && !x->data) {
      diag_error(W->d, "writing %s: node '%s' (%s) reads '%s', which nothing in the graph "
                 "computes (its producer was removed)", W->path, node_label(n), n->op_type,
                 x->name);
      return false;
    }
    if (is_constant(g, v) &&
        !add_initializer(W, v, gp, arena_printf(&W->a, "input %d of node '%s'", i,
                                                node_label(n))))
      return false;
    np->input[i] = (char *)value_name(W, v);
  }
  np->n_output = (size_t)n->nout;
  np->output = arena_alloc(&W->a, sizeof(char *) * ((size_t)n->nout + 1));
  for (int i = 0; i < n->nout; i++)
    np->output[i] = n->out[i] < 0 ? "" : (char *)value_name(W, n->out[i]);
  np->n_attribute = (size_t)(n->nattrs > 0 ? n->nattrs : 0);
  np->attribute = arena_alloc(&W->a, sizeof(void *) * (np->n_attribute + 1));
  for (size_t i = 0; i < np->n_attribute; i++) {
    np->attribute[i] = arena_alloc(&W->a, sizeof(Onnx__AttributeProto));
    if (!write_attr(W, n, &n->attrs[i], np->attribute[i]))
      return false;
  }
  gp->node[gp->n_node++] = np;
  return true;
}

/* One opset_import per domain its live nodes use, at the largest opset
 * among them; the default domain always. */
static void write_opsets(Writer *W, Onnx__ModelProto *m) {
  const Graph *g = W->g;
  NameMap seen = {0};
  m->opset_import = arena_alloc(&W->a, sizeof(void *) * ((size_t)g->nnodes + 2));
  Onnx__OperatorSetIdProto *def = arena_alloc(&W->a, sizeof *def);
  onnx__operator_set_id_proto__init(def);
  def->domain = "";
  def->has_version = true;
  m->opset_import[m->n_opset_import++] = def;
  namemap_put(&seen, &W->a, "", def);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    const char *dom = n->domain && strcmp(n->domain, "ai.onnx") != 0 ? n->domain : "";
    Onnx__OperatorSetIdProto *o = namemap_get(&seen, dom);
    if (!o) {
      o = arena_alloc(&W->a, sizeof *o);
      onnx__operator_set_id_proto__init(o);
      o->domain = (char *)dom;
      o->has_version = true;
      o->version = 1;
      m->opset_import[m->n_opset_import++] = o;
      namemap_put(&seen, &W->a, dom, o);
    }
    if (n->opset > o->version)
      o->version = n->opset;
  }
  if (def->version < 1)
    def->version = DSL_OPSET;
  /* ONNX's version table: opset 19 and 20 came with IR 9, 21 with IR 10. */
  m->ir_version = def->version >= 21 ? 10 : def->version >= 19 ? 9 : 8;
}

/* The whole model, in W's arena; NULL after an error. */
static Onnx__ModelProto *build_model(Writer *W) {
  const Graph *g = W->g;
  Onnx__GraphProto *gp = arena_alloc(&W->a, sizeof *gp);
  onnx__graph_proto__init(gp);
  gp->name = "cardinal";
  gp->node = arena_alloc(&W->a, sizeof(void *) * ((size_t)g->nnodes + 1));
  /* at most one initializer per value */
  gp->initializer = arena_alloc(&W->a, sizeof(void *) * ((size_t)g->nvalues + 1));
  gp->input = arena_alloc(&W->a, sizeof(void *) * ((size_t)g->ninputs + 1));
  gp->output = arena_alloc(&W->a, sizeof(void *) * ((size_t)g->noutputs + 1));
  for (int i = 0; i < g->ninputs; i++)
    gp->input[gp->n_input++] = value_info(W, g->inputs[i]);
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && !write_node(W, &g->nodes[i], gp))
      return NULL;
  for (int i = 0; i < g->noutputs; i++) {
    int v = g->outputs[i];
    const Value *x = &g->values[v];
    if (!x->data && !x->is_input && (x->producer < 0 || g->nodes[x->producer].dead)) {
      diag_error(W->d, "writing %s: graph output '%s' is computed by nothing in the graph "
                 "(its producer was removed)", W->path, x->name);
      return NULL;
    }
    if (is_constant(g, v) &&
        !add_initializer(W, v, gp, arena_printf(&W->a, "graph output %d", i)))
      return NULL;
    gp->output[gp->n_output++] = value_info(W, v);
  }
  Onnx__ModelProto *m = arena_alloc(&W->a, sizeof *m);
  onnx__model_proto__init(m);
  m->has_ir_version = true;
  m->producer_name = "cardinal";
  m->producer_version = CD_VERSION;
  m->graph = gp;
  write_opsets(W, m);
  return m;
}

/* bytes[0, n) to path by way of a temporary file in its folder. */
static bool write_atomically(Writer *W, const uint8_t *bytes, size_t n) {
  char *tmp = NULL;
  FILE *f = NULL;
  for (int k = 0; k < 100 && !f; k++) {
    tmp = arena_printf(&W->a, "%s.%ld-%d.tmp", W->path, (long)getpid(), k);
    f = cd_create_file(tmp);
    if (!f && errno != EEXIST)
      break;
  }
  if (!f) {
    diag_error(W->d, "writing %s: cannot create a temporary file beside it (%s): %s",
               W->path, tmp, strerror(errno));
    return false;
  }
  bool ok = fwrite(bytes, 1, n, f) == n && fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = ok ? 0 : errno;
  if (fclose(f) != 0 && ok)
    ok = false, err = errno;
  if (ok && rename(tmp, W->path) != 0)
    ok = false, err = errno;
  if (!ok) {
    unlink(tmp);
    diag_error(W->d, "writing %s: %s (nothing written)", W->path, strerror(err ? err : EIO));
  }
  return ok;
}

bool onnx_write(const Graph *g, const char *path, Diag *d) {
  Writer W = {g, d, path, {0}, NULL, {0}, {0}, NULL, 0};
  W.name = arena_alloc(&W.a, sizeof(char *) * ((size_t)g->nvalues + 1));
  W.written = arena_alloc(&W.a, sizeof(bool) * ((size_t)g->nvalues + 1));
  bool ok = false;
  claim_names(&W);
  Onnx__ModelProto *m = build_model(&W);
  if (m) {
    size_t n = onnx__model_proto__get_packed_size(m);
    if (n > (size_t)PB_MAX_BYTES) {
      diag_error(d, "writing %s: the model would take %zu bytes, over the 2 GiB one ONNX "
                 "file can hold inline (external data is not written)", path, n);
    } else {
      uint8_t *buf = malloc(n + 1);
      size_t got = onnx__model_proto__pack(m, buf);
      CD_ASSERT(got == n);
      ok = write_atomically(&W, buf, n);
      free(buf);
    }
  }
  arena_free(&W.a);
  return ok;
}
