/*
 * convtranspose-to-conv: a ConvTranspose whose kernel equals its stride
 * (b x b, stride b: a UNet decoder's 2x2 stride-2 upsampling) writes each
 * output pixel from exactly one input pixel:
 *
 *   y[n][m][h b + i][w b + j] = B[m] + sum_c x[n][c][h][w] W[c][m][i][j]
 *
 * which is a 1x1 Conv to M b^2 channels, channel (i b + j) M + m with
 * weights W'[(i b + j) M + m][c] = W[c][m][i][j] and bias B[m], then
 * DepthToSpace (DCR) of blocksize b.  The conv runs the register-tiled 1x1
 * kernels (the ConvTranspose kernel is a portable scatter: a UNet at
 * 256x256 spent 90 % of its time there) and the DepthToSpace copies rows.
 * Only that case: 2-D, one group, no dilation, pads or output_padding,
 * constant weights and bias; the rest keeps the portable kernel.
 */
#include "../cardinal.h"

/* Whether n is such a ConvTranspose: then its block size b. */
static bool lowerable(const Graph *g, const Node *n, int64_t *b) {
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  const OpParams *p = &n->p;
  if (x->rank != 4 || x->dtype != DT_FLOAT || !w->data || p->group != 1 ||
      (node_has_input(n, 2) && !g->values[n->in[2]].data))
    return false;
  *b = p->stride[1];
  for (int s = 1; s < 3; s++)
    if (p->kernel[s] != *b || p->stride[s] != *b || p->dilation[s] != 1 || p->pad0[s] ||
        p->pad1[s] || p->out_pad[s])
      return false;
  return *b >= 2;
}

bool pass_convtranspose_to_conv(Graph *g, PassStats *st) {
  int made = 0, n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    int64_t b;
    if (g->nodes[i].dead || g->nodes[i].op != OP_CONVTRANSPOSE || !lowerable(g, &g->nodes[i], &b))
      continue;
    Node *n = &g->nodes[i];
    int x = n->in[0], y = n->out[0], wv = n->in[1], bv = n->nin > 2 ? n->in[2] : -1;
    int64_t C = g->values[wv].dims[0], M = g->values[wv].dims[1], bb = b * b;
    int64_t wd[4] = {M * bb, C, 1, 1}, bd[1] = {M * bb};
    int nw = graph_add_const(g, "", 4, wd), nb = graph_add_const(g, "", 1, bd);
    float *W = g->values[nw].data, *B = g->values[nb].data;
    const float *W0 = g->values[wv].data, *B0 = bv >= 0 ? g->values[bv].data : NULL;
    for (int64_t c = 0; c < C; c++)
      for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < bb; k++) /* k = i b + j */
          W[(k * M + m) * C + c] = W0[(c * M + m) * bb + k];
    for (int64_t k = 0; k < bb; k++)
      for (int64_t m = 0; m < M; m++)
        B[k * M + m] = B0 ? B0[m] : 0.0f;
    g->nodes[i].dead = true;
    char *name = g->nodes[i].name; /* the profile names both after it */
    int ins[3] = {x, nw, nb};
    int conv = rewrite_add_node(g, OP_CONV, 3, ins, -1, 11); /* may move the nodes */
    int mid = g->nodes[conv].out[0];
    int d2s = rewrite_add_node_attr(g, OP_DEPTHTOSPACE, 1, &mid, y, 13, "blocksize", b);
    g->nodes[conv].name = g->nodes[d2s].name = name;
    made++;
  }
  if (made)
    ir_recount_uses(g);
  st->changes = made;
  snprintf(st->what, sizeof st->what,
           "made %d ConvTranspose (kernel = stride) 1x1 Convs and DepthToSpace", made);
  return true;
}
