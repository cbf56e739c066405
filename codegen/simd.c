/*
 * simd.c — the elementwise and reorder families of the SIMD targets.  Both
 * reuse the op's own loops: an elementwise op on operands of one shape and
 * layout works lane by lane, padding lanes included (what they hold never
 * reaches a real lane), and the reorder kernel handles any block; the
 * compiler vectorises both under the target's attribute.  Each family's
 * outer loop runs over the units [s0, s1) the schedule gives this thread
 * (emit.c writes s0 and s1 before the body).
 */
#include "../compiler/cardinal.h"

#define ELTWISE_UNIT 64 /* elements a thread's share is counted in (a cache line of fp32) */

/* Before the layout pass: an activation (constant parameters) or
 * arithmetic whose operands all have the output's shape runs lane by lane
 * on any layout. */
static bool eltwise_can(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  unsigned f = op_table[n->op].flags;
  if (!(f & (OPF_ACTIVATION | OPF_ELEMENTWISE)) || n->nout != 1 || !is_act4d(g, n->out[0]))
    return false;
  const Value *y = &g->values[n->out[0]];
  for (int i = 0; i < n->nin; i++) {
    if (n->in[i] < 0)
      continue;
    if ((f & OPF_ACTIVATION) && i > 0) {
      if (!absent_or_const(g, n->in[i])) /* Clip bounds known at compile time */
        return false;
      continue;
    }
    if (!value_same_shape(&g->values[n->in[i]], y))
      return false;
  }
  return true;
}

static bool eltwise_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return (op_table[n->op].flags & (OPF_ACTIVATION | OPF_ELEMENTWISE)) &&
         g->values[n->out[0]].layout.kind == LAYOUT_NCHWC;
}

/* Stored elements, in units of ELTWISE_UNIT. */
static SplitAxis eltwise_split(const Graph *g, const Node *n, const Target *t, int T,
                               int64_t *units) {
  (void)t;
  (void)T;
  *units = (value_storage_numel(&g->values[n->out[0]]) + ELTWISE_UNIT - 1) / ELTWISE_UNIT;
  return SPLIT_ELEMS;
}

/* An activation is the table's vector form over whole vectors (NCHWc
 * storage is whole vectors, and the unit a whole number of them); the
 * arithmetic is the op's own loop, which the compiler vectorises. */
static bool eltwise_emit(Emitter *e, Graph *g, Node *n) {
  int64_t m = value_storage_numel(&g->values[n->out[0]]);
  const VecOps *o = target_vec(e->t, DT_FLOAT);
  if (op_table[n->op].flags & OPF_ACTIVATION) {
    CD_ASSERT(m % o->lanes == 0 && ELTWISE_UNIT % o->lanes == 0);
    for (int i = 1; i < n->nin; i++) /* constant parameters (Clip's bounds) are in n->p */
      if (node_runtime_read(n, i))
        cw(e->w, "(void)x%d;\n", i);
    cw(e->w, "for (long i = s0 * %d; i < (s1 * %d < %lld ? s1 * %d : %lld); i += %d) {\n"
             "const %s v = %s;\n"
             "%s;\n"
             "}\n",
       ELTWISE_UNIT, ELTWISE_UNIT, (long long)m, ELTWISE_UNIT, (long long)m, o->lanes, o->vtype,
       cw_op(e->w, o->load, "x0 + i", 0, 0),
       cw_op(e->w, o->store, "y0 + i", act_vector(e->w, o, n->op, n->p.alpha, n->p.beta, "v"), 0));
    return true;
  }
  elementwise_flat(e->w, g, n, cw_fmt(e->w, "s0 * %d", ELTWISE_UNIT),
                   cw_fmt(e->w, "(s1 * %d < %lld ? s1 * %d : %lld)", ELTWISE_UNIT, (long long)m,
                          ELTWISE_UNIT, (long long)m));
  return true;
}

const KernelConfig kc_eltwise_vec = {
    .name = "eltwise_vec",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = eltwise_runs,
    .can = eltwise_can,
    .split = eltwise_split,
    .emit = eltwise_emit,
};

static bool reorder_runs(const Graph *g, const Node *n, const Target *t) {
  (void)g;
  (void)t;
  return n->op == OP_REORDER;
}

/* Blocks of the output: c channels, or one of a plain output, of every image. */
static SplitAxis reorder_split(const Graph *g, const Node *n, const Target *t, int T,
                               int64_t *units) {
  const Value *y = &g->values[n->out[0]];
  (void)t;
  (void)T;
  int64_t b = y->layout.kind == LAYOUT_NCHWC ? y->layout.block : 1;
  *units = (y->rank > 1 ? (y->dims[1] + b - 1) / b : 1) * (y->rank > 0 ? y->dims[0] : 1);
  return SPLIT_BLOCKS;
}

static bool reorder_emit_share(Emitter *e, Graph *g, Node *n) {
  reorder_loops(e->w, g, n, "s0", "s1");
  return true;
}

const KernelConfig kc_reorder = {
    .name = "reorder",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR,
    .runs = reorder_runs,
    .split = reorder_split,
    .emit = reorder_emit_share,
};
