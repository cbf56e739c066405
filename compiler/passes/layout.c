/*
 * layout: activations move to the blocked NCHWc layout (c = the target's
 * floats per vector) and weights are packed in the order their kernels
 * read them, with no reorders between layers.
 *
 * Walking the nodes in order, a node runs blocked when the target has a
 * kernel for it on NCHWc (node_can_block, schedule.c) and either it is a
 * Conv or one of its inputs is already blocked; its output becomes NCHWc.
 *  - A blocked Conv reads a blocked input, or a plain one when it has fewer
 *    than c channels (the 3-channel stem: reading NCHW directly beats
 *    padding 3 channels to c); its weights become LAYOUT_WCONV (which
 *    tile-grouped-conv, after this pass, may repack as LAYOUT_WGLANES), its
 *    bias and residual scale LAYOUT_CPAD, its residual NCHWc.
 *  - A node that runs plain reads plain copies of blocked inputs.
 * A copy in the other layout is one Reorder per value, shared by every
 * reader; a blocked graph output gets a Reorder back to plain, so graph
 * inputs and outputs keep their plain layout.  Packed constants are new
 * constants: an initializer shared with another node is never repacked.
 * A Gemm with a constant B^T (a classifier head) gets it packed as WCONV,
 * N outputs a vector, its bias as CPAD; its A and Y stay plain.  So does
 * an int8 head's MatMulInteger, its constant B packed as WDOT4 (quads of
 * rows, a vector of columns) where the target's int8 table runs it.
 * On a target without vectors the pass does nothing.
 */
#include "../cardinal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  Graph *g;
  const Target *t;
  int *blocked_of; /* per value: its NCHWc copy, or -1 */
  int *plain_of;   /* per value: its plain copy, or -1 */
  int nmap;        /* entries of both maps */
  int reorders;
} Ctx;

/* Grows the maps to cover value v (values are added as the pass goes). */
static void map_cover(Ctx *c, int v) {
  if (v < c->nmap)
    return;
  int n = (v + 1) * 2;
  c->blocked_of = realloc(c->blocked_of, sizeof(int) * (size_t)n);
  c->plain_of = realloc(c->plain_of, sizeof(int) * (size_t)n);
  CD_ASSERT(c->blocked_of && c->plain_of);
  for (int k = c->nmap; k < n; k++)
    c->blocked_of[k] = c->plain_of[k] = -1;
  c->nmap = n;
}

static int reorder(Ctx *c, int v, Layout to) {
  Graph *g = c->g;
  int ni = graph_add_op(g, OP_REORDER, 1, 1);
  int y = graph_add_value(g, g->values[v].name);
  Node *n = &g->nodes[ni];
  n->in[0] = v;
  n->out[0] = y;
  n->opset = 1;
  g->values[y].producer = ni;
  g->values[y].layout = to;
  Diag d = {.quiet = true};
  CD_ASSERT(node_setup(g, n, &d));
  sb_free(&d.log);
  c->reorders++;
  return y;
}

static int as_blocked(Ctx *c, int v) {
  if (c->g->values[v].layout.kind == LAYOUT_NCHWC)
    return v;
  map_cover(c, v);
  if (c->blocked_of[v] < 0)
    c->blocked_of[v] = reorder(c, v, (Layout){LAYOUT_NCHWC, c->t->block, 0, 0});
  return c->blocked_of[v];
}

static int as_plain(Ctx *c, int v) {
  if (c->g->values[v].layout.kind == LAYOUT_PLAIN)
    return v;
  map_cover(c, v);
  if (c->plain_of[v] < 0)
    c->plain_of[v] = reorder(c, v, (Layout){LAYOUT_PLAIN, 1, 0, 0});
  return c->plain_of[v];
}

static void block_conv(Ctx *c, int i) {
  Graph *g = c->g;
  int vec = c->t->block;
  Node *n = &g->nodes[i];
  int ib = conv_input_block(g, n, c->t);
  int in = ib > 1 ? as_blocked(c, n->in[0]) : n->in[0];
  n = &g->nodes[i];
  n->in[0] = in;
  Layout cpad = {LAYOUT_CPAD, vec, 0, 0};
  int w = value_packed_copy(g, n->in[1], (Layout){LAYOUT_WCONV, vec, ib, n->p.group});
  int b = n->nin > 2 ? value_packed_copy(g, n->in[2], cpad) : -1;
  int rs = value_packed_copy(g, n->ep.residual_scale, cpad);
  int r = n->ep.residual >= 0 ? as_blocked(c, n->ep.residual) : -1;
  n = &g->nodes[i];
  n->in[1] = w;
  if (n->nin > 2)
    n->in[2] = b;
  n->ep.residual = r;
  n->ep.residual_scale = rs;
}

bool pass_layout(Graph *g, PassStats *st) {
  const Target *t = g->target;
  if (!t || t->block < 2) {
    snprintf(st->what, sizeof st->what, "nothing to do for target %s", t ? t->name : "scalar");
    return true;
  }
  Ctx c = {g, t, NULL, NULL, 0, 0};
  int n0 = g->nnodes, moved = 0;
  for (int i = 0; i < n0; i++) {
    Node *n = &g->nodes[i];
    if (n->dead || n->op == OP_REORDER)
      continue;
    bool any_blocked = false;
    for (int k = 0; k < n->nin; k++)
      any_blocked |= n->in[k] >= 0 && g->values[n->in[k]].layout.kind == LAYOUT_NCHWC;
    bool block = node_can_block(g, n, t) && (n->op == OP_CONV || any_blocked);
    if (gemm_can_pack(g, n, t)) {
      int w = value_packed_copy(g, n->in[1], (Layout){LAYOUT_WCONV, t->block, 1, 1});
      int cb = n->nin > 2 ? value_packed_copy(g, n->in[2], (Layout){LAYOUT_CPAD, t->block, 0, 0})
                          : -1;
      n = &g->nodes[i];
      n->in[1] = w;
      if (n->nin > 2)
        n->in[2] = cb;
    }
    if (qmatmul_can_pack(g, n, t)) {
      int w = value_packed_copy(g, n->in[1], (Layout){LAYOUT_WDOT4, t->i8.lanes, 0, 0});
      n = &g->nodes[i];
      n->in[1] = w;
    }
    if (!block) {
      for (int k = 0; k < node_nreads(n); k++) {
        int v = node_read(n, k);
        if (v < 0 || g->values[v].layout.kind != LAYOUT_NCHWC)
          continue;
        int p = as_plain(&c, v);
        n = &g->nodes[i];
        if (k < n->nin)
          n->in[k] = p;
        else if (k == n->nin)
          n->ep.residual = p;
      }
      continue;
    }
    if (n->op == OP_CONV) {
      block_conv(&c, i);
    } else {
      for (int k = 0; k < n->nin; k++) {
        int v = n->in[k];
        if (v < 0 || g->values[v].rank != 4)
          continue; /* an activation's scalar parameters stay plain */
        /* A constant operand of the output's shape is packed like it. */
        int b = g->values[v].data ? value_packed_copy(g, v, (Layout){LAYOUT_NCHWC, t->block, 0, 0})
                                  : as_blocked(&c, v);
        g->nodes[i].in[k] = b;
      }
    }
    n = &g->nodes[i];
    int y = n->out[0];
    if (g->values[y].is_output) {
      /* n writes a new blocked value; a Reorder writes the graph output. */
      int nb = graph_add_value(g, g->values[y].name);
      Value *yb = &g->values[nb];
      value_set_shape(yb, DT_FLOAT, g->values[y].rank, g->values[y].dims);
      yb->layout = (Layout){LAYOUT_NCHWC, t->block, 0, 0};
      yb->producer = i;
      g->nodes[i].out[0] = nb;
      int ri = graph_add_op(g, OP_REORDER, 1, 1);
      Node *r = &g->nodes[ri];
      r->in[0] = nb;
      r->out[0] = y;
      r->opset = 1;
      g->values[y].producer = ri;
      Diag d = {.quiet = true};
      CD_ASSERT(node_setup(g, r, &d));
      sb_free(&d.log);
      c.reorders++;
    } else {
      g->values[y].layout = (Layout){LAYOUT_NCHWC, t->block, 0, 0};
    }
    moved++;
  }
  free(c.blocked_of);
  free(c.plain_of);
  ir_recount_uses(g);
  st->changes = moved + c.reorders;
  snprintf(st->what, sizeof st->what, "%d nodes on nchw%dc (%s), %d reorders", moved, t->block,
           t->name, c.reorders);
  return true;
}
