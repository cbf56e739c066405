/*
 * verify.c — the strict verifier (ir_verify), the layout rules each node's
 * kernels run under (node_layout_error), and the text dump of a graph.
 *
 * The verifier runs after every pass in tests and under --verify: single
 * definition of every value, arity, every node re-inferred from its
 * parameters and compared, constant sizes against their layouts, epilogue
 * operands, layouts each kind of node can run on, topological order.  It
 * sits above the IR and the op table it reads (ir.c itself knows no op).
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

static bool is_activation_layout(Layout l) {
  return l.kind == LAYOUT_PLAIN || l.kind == LAYOUT_NCHWC;
}

/*
 * Which layouts node n may read and write: the rule the verifier checks on
 * every edge and the layout pass follows.  Plain everywhere is always
 * valid.  Otherwise:
 *  - Reorder converts between two activation layouts;
 *  - Conv reads NCHWc (or plain) activations and WCONV/WGLANES weights of
 *    its own geometry, and writes NCHWc; its bias and residual scale are
 *    CPAD of the output's block, its residual has the output's layout;
 *  - pools read and write the same NCHWc;
 *  - a Gemm (transB) may read B^T packed as WCONV (N output "channels" of
 *    K inputs, input block 1) and C as CPAD, its A and Y plain;
 *  - a MatMulInteger may read its constant [K, N] B packed as WDOT4, its A
 *    and Y plain;
 *  - an activation, or arithmetic whose operands all have the output's
 *    shape, reads and writes one layout.
 * Returns NULL when the node's layouts are valid, else why not.
 */
const char *node_layout_error(const Graph *g, const Node *n) {
  const Value *y = n->nout > 0 && n->out[0] >= 0 ? &g->values[n->out[0]] : NULL;
  bool all_plain = true;
  for (int k = 0; k < node_nreads(n); k++) {
    int v = node_read(n, k);
    if (v >= 0 && g->values[v].layout.kind != LAYOUT_PLAIN)
      all_plain = false;
  }
  for (int k = 0; k < n->nout; k++)
    if (n->out[k] >= 0 && g->values[n->out[k]].layout.kind != LAYOUT_PLAIN)
      all_plain = false;
  if (all_plain)
    return NULL;
  const Value *x = &g->values[n->in[0]];
  if (n->op == OP_GEMM) {
    const Value *b = &g->values[n->in[1]];
    Layout wl = {LAYOUT_WCONV, b->layout.block, 1, 1};
    if (x->layout.kind != LAYOUT_PLAIN || y->layout.kind != LAYOUT_PLAIN || !n->p.trans_b ||
        n->p.trans_a || !layout_equal(b->layout, wl))
      return "a Gemm reads a plain A and B^T packed as wconv (transB, not transA)";
    if (node_has_input(n, 2) &&
        !layout_equal(g->values[n->in[2]].layout, (Layout){LAYOUT_CPAD, wl.block, 0, 0}))
      return "a packed Gemm's C is a [N] vector padded to whole vectors (cpad)";
    if (n->ep.residual >= 0 && g->values[n->ep.residual].layout.kind != LAYOUT_PLAIN)
      return "a Gemm's residual is plain";
    return NULL;
  }
  if (n->op == OP_MATMULINTEGER)
    return x->layout.kind == LAYOUT_PLAIN && y->layout.kind == LAYOUT_PLAIN &&
                   g->values[n->in[1]].layout.kind == LAYOUT_WDOT4 &&
                   g->values[n->in[1]].rank == 2 && g->values[n->in[1]].data
               ? NULL
               : "a MatMulInteger reads a plain A and a constant [K, N] B packed as wdot4";
  if (n->op == OP_REORDER)
    return is_activation_layout(x->layout) && is_activation_layout(y->layout) &&
                   !layout_equal(x->layout, y->layout)
               ? NULL
               : "a Reorder converts between two different activation layouts";
  if (n->op == OP_CONV) {
    const Value *w = &g->values[n->in[1]];
    if (y->layout.kind != LAYOUT_NCHWC)
      return "a Conv with packed weights writes NCHWc";
    if (!is_activation_layout(x->layout) ||
        (x->layout.kind == LAYOUT_NCHWC && x->layout.block != y->layout.block))
      return "a Conv reads plain or NCHWc of its output's block";
    int ib = x->layout.kind == LAYOUT_NCHWC ? x->layout.block : 1;
    bool wok = (w->layout.kind == LAYOUT_WCONV && w->layout.block == y->layout.block &&
                w->layout.iblock == ib && w->layout.group == n->p.group) ||
               ((w->layout.kind == LAYOUT_WGLANES || w->layout.kind == LAYOUT_WGDOT) &&
                w->layout.block == y->layout.block &&
                w->layout.group == n->p.group && ib == y->layout.block) ||
               (w->layout.kind == LAYOUT_WWINO && w->layout.block == y->layout.block &&
                w->layout.group == 1 && n->p.group == 1 && ib == y->layout.block &&
                w->rank == 4 && w->dims[2] == 3 && w->dims[3] == 3 && w->dims[1] % ib == 0);
    if (!wok)
      return "a Conv's weights are packed for its block, input block and groups";
    if (node_has_input(n, 2) &&
        !layout_equal(g->values[n->in[2]].layout, (Layout){LAYOUT_CPAD, y->layout.block, 0, 0}))
      return "a blocked Conv's bias is padded to whole vectors (cpad)";
    if (n->ep.residual >= 0 && !layout_equal(g->values[n->ep.residual].layout, y->layout))
      return "a Conv's residual has its output's layout";
    if (n->ep.residual_scale >= 0 &&
        !layout_equal(g->values[n->ep.residual_scale].layout,
                      (Layout){LAYOUT_CPAD, y->layout.block, 0, 0}))
      return "a blocked Conv's residual scale is padded to whole vectors (cpad)";
    return NULL;
  }
  /* The operands the op works on lane by lane: every input of arithmetic,
   * input 0 of an activation (its others are constant parameters, Clip's
   * bounds, read from the node's parameters). */
  int lanes = op_table[n->op].flags & OPF_ACTIVATION ? 1 : n->nin;
  bool same_shapes = true;
  for (int k = 0; k < lanes; k++) {
    const Value *v = n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
    if (v && (v->rank != y->rank || memcmp(v->dims, y->dims, sizeof(int64_t) * (size_t)y->rank)))
      same_shapes = false;
  }
  for (int k = lanes; k < n->nin; k++)
    if (n->in[k] >= 0 && !g->values[n->in[k]].data)
      same_shapes = false;
  bool one_layout = node_has_epilogue(n) == false;
  for (int k = 0; k < lanes && one_layout; k++)
    if (n->in[k] >= 0 && !layout_equal(g->values[n->in[k]].layout, y->layout))
      one_layout = false;
  if (!one_layout)
    return "the node reads and writes different layouts";
  if (n->op == OP_MAXPOOL || n->op == OP_AVGPOOL || n->op == OP_GLOBALAVGPOOL ||
      n->op == OP_GLOBALMAXPOOL)
    return y->layout.kind == LAYOUT_NCHWC && y->rank >= 3 ? NULL
                                                          : "pools run on NCHWc or plain";
  if (n->op == OP_CONCAT && y->layout.kind == LAYOUT_NCHWC &&
      concat_is_blockwise(g, n, y->layout.block))
    return NULL; /* every input blocked alike (checked above): concat_blocked */
  if (y->layout.kind == LAYOUT_NCHWC && node_is_channel_bcast(g, n, NULL, NULL))
    return NULL; /* both operands blocked alike (checked above): the channel_bcast family */
  if ((op_table[n->op].flags & (OPF_ACTIVATION | OPF_ELEMENTWISE)) && same_shapes &&
      n->nout == 1)
    return NULL;
  return "this op runs on plain layouts only";
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
    PARAM_FIELD(start),     PARAM_FIELD(end),       PARAM_FIELD(q),
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
