/*
 * layout.c — where a value's elements are stored (see Layout in
 * cardinal.h): the storage size of each layout, the conversion of a
 * value's contents to and from the plain row-major form, and the rules
 * saying which layouts a node may read and write.
 *
 * A value keeps its logical ONNX shape whatever its layout; only its
 * storage changes.  Everything that sizes or moves bytes (the planner, the
 * weight writer, the I/O copies, the interpreter) asks here, and the
 * interpreter evaluates any node by converting its operands to plain at the
 * node's boundary and its outputs back, so every pass keeps its oracle.
 *
 *   NCHWc (block c):  element (n, ch, s) of [N, C, S...] lives at
 *                     ((n * ceil(C/c) + ch / c) * S + s) * c + ch % c
 *   WCONV (c, ib):    conv weight (m, j, k) of [M, Cg, K...] with G groups;
 *                     output block ob = m / c reads the input blocks
 *                     [lo(ob), lo(ob) + nb(ob)) of ib channels that hold
 *                     its groups' input channels; per block the layout is
 *                     [nb(ob)][K][ib][c]
 *   WGLANES (c):      [ceil(M/c)][K][Cg][c], lane l of block ob holding
 *                     W[ob*c + l][j][k]
 *   WGDOT (c):        [ceil(M/c)][K][Cg][c], vector m, lane l of block ob
 *                     holding W[ob*c + l / Cg * Cg + m][l % Cg][k]
 *   CPAD (c):         [ceil(C/c) * c], zeros past C
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool layout_equal(Layout a, Layout b) {
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case LAYOUT_PLAIN: return true;
  case LAYOUT_NCHWC: return a.block == b.block;
  case LAYOUT_WCONV: return a.block == b.block && a.iblock == b.iblock && a.group == b.group;
  case LAYOUT_WGLANES:
  case LAYOUT_WGDOT: return a.block == b.block && a.group == b.group;
  case LAYOUT_CPAD: return a.block == b.block;
  }
  return false;
}

const char *layout_name(Layout l, char *buf, size_t n) {
  switch (l.kind) {
  case LAYOUT_PLAIN: snprintf(buf, n, "plain"); break;
  case LAYOUT_NCHWC: snprintf(buf, n, "nchw%dc", l.block); break;
  case LAYOUT_WCONV: snprintf(buf, n, "wconv%do%di", l.block, l.iblock); break;
  case LAYOUT_WGLANES: snprintf(buf, n, "wglanes%d", l.block); break;
  case LAYOUT_WGDOT: snprintf(buf, n, "wgdot%d", l.block); break;
  case LAYOUT_CPAD: snprintf(buf, n, "cpad%d", l.block); break;
  }
  return buf;
}

/* Kernel elements of a conv weight: the product of its spatial dims. */
static int64_t weight_k(const Value *w) {
  int64_t k = 1;
  for (int i = 2; i < w->rank; i++)
    k = sat_mul(k, w->dims[i]);
  return k;
}

void wconv_blocks(const Value *w, int64_t ob, int64_t *lo, int64_t *nb) {
  const Layout *l = &w->layout;
  int64_t M = w->dims[0], Cg = w->dims[1], Mg = M / l->group;
  int64_t m0 = ob * l->block, m1 = m0 + l->block < M ? m0 + l->block : M; /* [m0, m1) */
  int64_t c0 = m0 / Mg * Cg, c1 = ((m1 - 1) / Mg + 1) * Cg;        /* input channels */
  *lo = c0 / l->iblock;
  *nb = ceil_div(c1, l->iblock) - *lo;
}

bool wconv_uniform(const Value *w, Layout l) {
  Value v = *w;
  v.layout = l;
  int64_t lo, nb0, nb;
  wconv_blocks(&v, 0, &lo, &nb0);
  for (int64_t ob = 1; ob < ceil_div(w->dims[0], l.block); ob++) {
    wconv_blocks(&v, ob, &lo, &nb);
    if (nb != nb0)
      return false;
  }
  return true;
}

/* Saturating: inference bounds every logical size (value_size_ok), and a
 * layout pads it by less than a vector per row, so these never saturate
 * on a graph that passed it; a hand-built one gets INT64_MAX, not a wrap. */
int64_t value_storage_numel(const Value *v) {
  const Layout *l = &v->layout;
  switch (l->kind) {
  case LAYOUT_PLAIN: return value_numel(v);
  case LAYOUT_NCHWC: {
    int64_t s = 1;
    for (int i = 2; i < v->rank; i++)
      s = sat_mul(s, v->dims[i]);
    return sat_mul(sat_mul(v->dims[0], ceil_div(v->dims[1], l->block) * l->block), s);
  }
  case LAYOUT_WCONV: {
    int64_t total = 0, lo, nb;
    for (int64_t ob = 0; ob < ceil_div(v->dims[0], l->block); ob++) {
      wconv_blocks(v, ob, &lo, &nb);
      total = sat_add(total, sat_mul(sat_mul(nb * l->iblock, weight_k(v)), l->block));
    }
    return total;
  }
  case LAYOUT_WGLANES:
  case LAYOUT_WGDOT:
    return sat_mul(sat_mul(ceil_div(v->dims[0], l->block) * l->block, v->dims[1]), weight_k(v));
  case LAYOUT_CPAD:
    return ceil_div(v->dims[0], l->block) * l->block;
  }
  return 0;
}

size_t value_storage_bytes(const Value *v) {
  int64_t n = value_storage_numel(v), b;
  if (n < 0 || !ck_mul(n, (int64_t)dtype_size(v->dtype), &b))
    return SIZE_MAX;
  return (size_t)b;
}

/*
 * The one walk over a layout: calls f(plain offset, storage offset) for every
 * stored element, with plain offset -1 for padding (lanes past C, zeros
 * between groups).
 */
typedef void (*ElemFn)(int64_t plain, int64_t stored, void *ctx);

static void layout_walk(const Value *v, ElemFn f, void *ctx) {
  const Layout *l = &v->layout;
  int64_t c = l->block;
  switch (l->kind) {
  case LAYOUT_PLAIN:
    for (int64_t i = 0; i < value_numel(v); i++)
      f(i, i, ctx);
    return;
  case LAYOUT_NCHWC: {
    int64_t N = v->dims[0], C = v->dims[1], S = 1, q = 0;
    for (int i = 2; i < v->rank; i++)
      S *= v->dims[i];
    for (int64_t n = 0; n < N; n++)
      for (int64_t cb = 0; cb < ceil_div(C, c); cb++)
        for (int64_t s = 0; s < S; s++)
          for (int64_t j = 0; j < c; j++, q++) {
            int64_t ch = cb * c + j;
            f(ch < C ? (n * C + ch) * S + s : -1, q, ctx);
          }
    return;
  }
  case LAYOUT_WCONV: {
    int64_t M = v->dims[0], Cg = v->dims[1], K = weight_k(v), Mg = M / l->group;
    int64_t q = 0, lo, nb;
    for (int64_t ob = 0; ob < ceil_div(M, c); ob++) {
      wconv_blocks(v, ob, &lo, &nb);
      for (int64_t bi = 0; bi < nb; bi++)
        for (int64_t k = 0; k < K; k++)
          for (int64_t ci = 0; ci < l->iblock; ci++)
            for (int64_t co = 0; co < c; co++, q++) {
              int64_t m = ob * c + co, cin = (lo + bi) * l->iblock + ci;
              int64_t j = m < M ? cin - m / Mg * Cg : -1;
              f(j >= 0 && j < Cg ? (m * Cg + j) * K + k : -1, q, ctx);
            }
    }
    return;
  }
  case LAYOUT_WGLANES: {
    int64_t M = v->dims[0], Cg = v->dims[1], K = weight_k(v), q = 0;
    for (int64_t ob = 0; ob < ceil_div(M, c); ob++)
      for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < Cg; j++)
          for (int64_t co = 0; co < c; co++, q++) {
            int64_t m = ob * c + co;
            f(m < M ? (m * Cg + j) * K + k : -1, q, ctx);
          }
    return;
  }
  case LAYOUT_WGDOT: {
    int64_t M = v->dims[0], Cg = v->dims[1], K = weight_k(v), q = 0;
    for (int64_t ob = 0; ob < ceil_div(M, c); ob++)
      for (int64_t k = 0; k < K; k++)
        for (int64_t m = 0; m < Cg; m++)
          for (int64_t co = 0; co < c; co++, q++) {
            int64_t o = ob * c + co / Cg * Cg + m, j = co % Cg;
            f(o < M ? (o * Cg + j) * K + k : -1, q, ctx);
          }
    return;
  }
  case LAYOUT_CPAD:
    for (int64_t i = 0; i < value_storage_numel(v); i++)
      f(i < v->dims[0] ? i : -1, i, ctx);
    return;
  }
}

typedef struct {
  const char *src;
  char *dst;
  size_t es;
  bool to_plain;
} Copy;

static void copy_elem(int64_t plain, int64_t stored, void *ctx) {
  Copy *c = ctx;
  if (c->to_plain) {
    if (plain >= 0)
      memcpy(c->dst + (size_t)plain * c->es, c->src + (size_t)stored * c->es, c->es);
  } else if (plain >= 0) {
    memcpy(c->dst + (size_t)stored * c->es, c->src + (size_t)plain * c->es, c->es);
  } else {
    memset(c->dst + (size_t)stored * c->es, 0, c->es);
  }
}

void layout_to_plain(const Value *v, const void *stored, void *plain) {
  Copy c = {stored, plain, dtype_size(v->dtype), true};
  layout_walk(v, copy_elem, &c);
}

void layout_from_plain(const Value *v, const void *plain, void *stored) {
  Copy c = {plain, stored, dtype_size(v->dtype), false};
  layout_walk(v, copy_elem, &c);
}

bool value_set_layout(Graph *g, int vi, Layout l) {
  Value *v = &g->values[vi];
  if (layout_equal(v->layout, l))
    return true;
  if (!v->data) {
    v->layout = l;
    return true;
  }
  /* A constant's contents move to the new layout. */
  void *plain = malloc(value_bytes(v) + 1);
  CD_ASSERT(plain);
  layout_to_plain(v, v->data, plain);
  v->layout = l;
  value_alloc_data(g, vi);
  layout_from_plain(v, plain, v->data);
  free(plain);
  return true;
}

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
    if (n->nin > 2 && n->in[2] >= 0 &&
        !layout_equal(g->values[n->in[2]].layout, (Layout){LAYOUT_CPAD, wl.block, 0, 0}))
      return "a packed Gemm's C is a [N] vector padded to whole vectors (cpad)";
    if (n->ep.residual >= 0 && g->values[n->ep.residual].layout.kind != LAYOUT_PLAIN)
      return "a Gemm's residual is plain";
    return NULL;
  }
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
                w->layout.group == n->p.group && ib == y->layout.block);
    if (!wok)
      return "a Conv's weights are packed for its block, input block and groups";
    if (n->nin > 2 && n->in[2] >= 0 &&
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
  if ((op_table[n->op].flags & (OPF_ACTIVATION | OPF_ELEMENTWISE)) && same_shapes &&
      n->nout == 1)
    return NULL;
  return "this op runs on plain layouts only";
}
