/*
 * schedule.c — how each node runs: its kernel family on the target, its
 * register tile, its cache blocking and its split over threads.  Decided
 * here once, after the passes and before the memory plan; the planner (an
 * alias needs no buffer), the emitter (which kernel, which tile), `inspect
 * --json` and the profiler read n->sched and never decide these themselves.
 * What a target can run blocked is decided here too (node_can_block), and
 * the layout and tile-grouped-conv passes ask before they move a node.
 *
 * The families on a SIMD target (c = the target's floats per vector):
 *
 *   conv_blocked  a direct convolution over NCHWc (a 1x1 is a GEMM over
 *                 flattened pixels): a register tile of tile_p output pixels
 *                 x tile_c/c output vectors accumulates over the input
 *                 channels and taps, one broadcast input per tile_c/c FMAs
 *                 and one weight vector per tile_p; the reduction is cut in
 *                 chunks of kc input blocks so a tile's input stays in L1
 *   conv_glanes   a grouped conv with c/Cg groups per vector (Cg = channels
 *                 per group dividing c): the input vector of a pixel is
 *                 permuted so lane l sees channel j of its own group, one
 *                 permute feeding every horizontal tap
 *   pool_blocked, gpool_blocked: vector loops over whole blocks
 *   gemm_vec      a Gemm with B^T packed: rows x vectors of accumulators
 *   eltwise_vec, reorder: loops over stored elements (lane by lane,
 *                 padding lanes included) the compiler vectorises
 *
 * Kernel names carry what a kernel is: op (with its kernel extents and
 * stride for convs and pools), dtype, target, tile (channels x pixels) and
 * node, e.g. conv1x1_f32_avx512_32x14_n12.
 */
#include "cardinal.h"

#include <ctype.h>
#include <string.h>

static const char *family_names[KF_COUNT] = {
    [KF_NONE] = "none",           [KF_ALIAS] = "alias",
    [KF_SCALAR] = "scalar",       [KF_CONV_BLOCKED] = "conv_blocked",
    [KF_CONV_GLANES] = "conv_glanes", [KF_POOL_BLOCKED] = "pool_blocked",
    [KF_GPOOL_BLOCKED] = "gpool_blocked", [KF_ELTWISE_VEC] = "eltwise_vec",
    [KF_REORDER] = "reorder",     [KF_GEMM_VEC] = "gemm_vec",
};

const char *kernel_family_name(KernelFamily f) { return family_names[f]; }

const char *split_axis_name(SplitAxis a) {
  static const char *names[] = {"none", "blocks", "rows", "tiles", "elems"};
  return names[a];
}

/* "conv3x3s2", "maxpool3x3", "relu": the op part of a kernel name. */
static void op_part(const Node *n, char *buf, size_t len) {
  size_t k = 0;
  for (const char *s = op_table[n->op].name; *s && k + 1 < len; s++)
    buf[k++] = (char)tolower((unsigned char)*s);
  buf[k] = 0;
  if (n->op != OP_CONV && n->op != OP_MAXPOOL && n->op != OP_AVGPOOL)
    return;
  const OpParams *p = &n->p;
  for (int s = 3 - p->nsp; s < 3; s++)
    k += (size_t)snprintf(buf + k, len - k, "%s%lld", s > 3 - p->nsp ? "x" : "",
                          (long long)p->kernel[s]);
  int64_t st = p->stride[2];
  if (st > 1)
    snprintf(buf + k, len - k, "s%lld", (long long)st);
}

static bool is_const(const Graph *g, int v) { return v < 0 || g->values[v].data != NULL; }

/* A 4-D float activation: the only rank NCHWc kernels take. */
static bool is_4d(const Graph *g, int v) {
  return v >= 0 && g->values[v].rank == 4 && g->values[v].dtype == DT_FLOAT && g->values[v].dims[0] >= 1;
}

bool conv_can_glanes(const Graph *g, const Node *n, const Target *t) {
  if (n->op != OP_CONV || t->vec < 2 || !t->group_bcast || !is_4d(g, n->in[0]))
    return false;
  const Value *w = &g->values[n->in[1]];
  int64_t Cg = w->dims[1], Mg = w->dims[0] / n->p.group;
  /* Groups as wide as a vector or wider run faster as dense convs over
   * their own blocks (88 % of peak at 16 and 32 channels a group, against
   * 55 % for 16 permutes a pixel). */
  return n->p.group > 1 && Cg == Mg && Cg < t->vec && t->vec % Cg == 0 &&
         is_const(g, n->in[1]) && (n->nin < 3 || is_const(g, n->in[2]));
}

/* Whether a grouped-lanes conv takes the dot form (LAYOUT_WGDOT): where the
 * target has it for the group width.  The permute form needs one permute
 * per input pixel and channel, each feeding at most KH*KW/(SH*SW) FMAs;
 * across 128-bit lanes (8-channel groups on avx512) that throttled it to
 * 45 % of peak at stride 2 and 65 % at stride 1 (ResNeXt-50 layer2), where
 * the dot form loads the input as it is and folds lanes once per pixel. */
bool conv_glanes_dot(const Graph *g, const Node *n, const Target *t) {
  return t->dot_cg > 0 && g->values[n->in[1]].dims[1] == t->dot_cg;
}

/* The block a blocked conv reads its input in: c, unless the input is plain
 * with fewer than c channels (the stem), which it reads as it is. */
int conv_input_block(const Graph *g, const Node *n, const Target *t) {
  const Value *x = &g->values[n->in[0]];
  return x->layout.kind == LAYOUT_NCHWC || x->dims[1] >= t->vec ? t->vec : 1;
}

bool gemm_can_pack(const Graph *g, const Node *n, const Target *t) {
  if (n->op != OP_GEMM || t->vec < 2 || !n->p.trans_b || n->p.trans_a ||
      !is_const(g, n->in[1]) || g->values[n->in[1]].layout.kind != LAYOUT_PLAIN)
    return false;
  if (n->nin > 2 && n->in[2] >= 0) {
    const Value *c = &g->values[n->in[2]];
    if (!c->data || c->rank != 1 || c->dims[0] != g->values[n->in[1]].dims[0])
      return false;
  }
  return true;
}

bool node_can_block(const Graph *g, const Node *n, const Target *t) {
  if (t->vec < 2 || n->nout != 1 || !is_4d(g, n->out[0]))
    return false;
  switch (n->op) {
  case OP_CONV: {
    if (!is_4d(g, n->in[0]) || !is_const(g, n->in[1]) || (n->nin > 2 && !is_const(g, n->in[2])))
      return false;
    const Value *w = &g->values[n->in[1]];
    return wconv_uniform(w, (Layout){LAYOUT_WCONV, t->vec, conv_input_block(g, n, t), n->p.group});
  }
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    return n->p.dilation[1] == 1 && n->p.dilation[2] == 1;
  case OP_GLOBALAVGPOOL:
  case OP_GLOBALMAXPOOL:
    return true;
  default:
    break;
  }
  unsigned f = op_table[n->op].flags;
  if (!(f & (OPF_ACTIVATION | OPF_ELEMENTWISE)))
    return false;
  const Value *y = &g->values[n->out[0]];
  for (int i = 0; i < n->nin; i++) {
    if (n->in[i] < 0)
      continue;
    if ((f & OPF_ACTIVATION) && i > 0) {
      if (!is_const(g, n->in[i])) /* Clip bounds known at compile time */
        return false;
      continue;
    }
    if (!value_same_shape(&g->values[n->in[i]], y))
      return false;
  }
  return true;
}

/* The portable C kernels: tiles as measured on the scalar loops. */
static void schedule_scalar(const Graph *g, Node *n, Schedule *s) {
  s->family = KF_SCALAR;
  if (n->op != OP_CONV)
    return;
  if (conv_is_pointwise(&n->p)) {
    s->tile_c = 8;  /* 8 output channels share each input row */
    s->tile_p = 16; /* a fixed 16-pixel loop the compiler vectorises */
    return;
  }
  /* 8 channels share each gathered row segment when the row is long enough
   * to fill the registers (measured: 2.5x on a 14-wide dense 3x3), 4 on the
   * shortest rows; segments of up to 64 pixels keep the accumulators small. */
  const Value *y = &g->values[n->out[0]];
  s->tile_c = y->dims[y->rank - 1] >= 8 ? 8 : 4;
  s->tile_p = 64;
}

/* Pixels flattened over the whole image (a stride-1 unpadded 1x1 conv reads
 * them contiguously), or along one output row. */
bool conv_flat_pixels(const Node *n) {
  const OpParams *p = &n->p;
  return conv_is_pointwise(p) && p->stride[1] == 1 && p->stride[2] == 1;
}

/*
 * The blocked conv's tile, loop order and cache blocking, as measured on a
 * Zen 5 core (AVX-512; AVX2 likewise with its 16 registers):
 *  - the register tile: tile_p pixels x nv vectors of accumulators, plus nv
 *    weight vectors and a broadcast, within the registers less one spare
 *    (a tile using all 32 needs the compiler to fold every broadcast into
 *    its FMA, which clang does not always do); among those, the most FMAs
 *    per load (p nv / (p + nv)), discounted for pixels wasted in a row's
 *    last tile: 6x4, 8x3 or 14x2 on AVX-512 reach 92-99 % of peak on 1x1s,
 *    6x2 on AVX2 95 %;
 *  - the order: pixels outside (each input tile is read from L1 by every
 *    output block) on images of 784 pixels or more; output blocks outside
 *    (the weight panel of a group of output blocks stays in L2 across the
 *    image) on smaller ones, where pixels-outside re-reads megabytes of
 *    weights per pixel tile (7x7 layers fell to 25-37 %);
 *  - the reduction is cut in chunks (kc input blocks, partial sums kept in
 *    the output) only when one output group's weight panel would not fit
 *    in half of L2 (the 512-channel 3x3 at 7x7); elsewhere chunking bought
 *    nothing measurable.
 */
static void schedule_conv_blocked(const Graph *g, Node *n, const Target *t, Schedule *s) {
  const Value *w = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  int c = t->vec;
  int64_t mb = (y->dims[1] + c - 1) / c, lo, nb;
  wconv_blocks(w, 0, &lo, &nb);
  int64_t P = conv_flat_pixels(n) ? y->dims[2] * y->dims[3] : y->dims[3];
  /* Grouped convs: the output blocks of one tile must read the same input
   * blocks (one group). */
  /* Output blocks of one group (1 when a block holds several groups: then
   * each block reads its own input blocks); 0 for an ungrouped conv. */
  int64_t per_group = 0;
  if (n->p.group > 1)
    per_group = (y->dims[1] / n->p.group) / c > 0 ? (y->dims[1] / n->p.group) / c : 1;
  int regs = t->nregs - 3; /* a broadcast and a spare beside the tile */
  int best_nv = 1, best_p = 1;
  double best = 0;
  for (int nv = 1; nv <= 4 && nv <= mb; nv++)
    for (int p = 1; p * nv + nv <= regs && p <= P && (!per_group || per_group % nv == 0); p++) {
      int64_t tiles = (P + p - 1) / p;
      double used = (double)P / (double)(tiles * p);
      double score = (double)(p * nv) / (double)(p + nv) * used * (mb % nv ? 0.9 : 1.0);
      if (score > best + 1e-9) {
        best = score;
        best_nv = nv;
        best_p = p;
      }
    }
  s->tile_c = best_nv * c;
  s->tile_p = best_p;
  s->ob_outer = y->dims[2] * y->dims[3] < 784;
  int64_t k = n->p.kernel[1] * n->p.kernel[2] * conv_input_block(g, n, t);
  int64_t panel = (int64_t)best_nv * nb * k * c * 4; /* weight bytes of one output group */
  s->kc = 0;
  if (panel > t->l2 / 2) {
    int64_t kc = (t->l2 / 2) / ((int64_t)best_nv * k * c * 4);
    s->kc = kc < 1 ? 1 : kc;
  }
}

/*
 * The split over threads.  Every family with a vector kernel names the
 * outer loop its threads divide (output blocks, rows, pixel tiles or stored
 * elements) and how many units it has, whatever the thread count; with T
 * threads the units are cut in T equal shares (thread t takes [share[t],
 * share[t+1])).  Splitting outputs, never a reduction, keeps every value's
 * arithmetic in the same order: the results do not depend on T.  A layer
 * with less work than a few barrier crossings cost, or fewer units than two,
 * runs on thread 0 while the others go on to the next barrier.
 */
#define SPLIT_MIN_WORK 32768 /* multiply-adds or elements: below, one thread */

static void schedule_split(const Graph *g, Node *n, const Target *t, int T) {
  Schedule *s = &n->sched;
  const Value *y = &g->values[n->out[0]];
  int c = t->vec > 1 ? t->vec : 1;
  int64_t work = node_macs(g, n), oh = y->rank == 4 ? y->dims[2] : 1;
  if (!work)
    work = value_numel(y);
  s->split = SPLIT_NONE;
  s->units = 1;
  switch (s->family) {
  case KF_CONV_BLOCKED: {
    int64_t mb = (y->dims[1] + c - 1) / c, nv = s->tile_c / c;
    int64_t groups = (mb + nv - 1) / nv;
    int64_t tiles = (y->dims[2] * y->dims[3] + s->tile_p - 1) / s->tile_p;
    if (s->ob_outer && groups >= 2 * T) {
      s->split = SPLIT_BLOCKS;
      s->units = groups;
    } else if (conv_flat_pixels(n)) {
      s->split = SPLIT_TILES;
      s->units = tiles;
    } else {
      s->split = SPLIT_ROWS;
      s->units = oh;
    }
    break;
  }
  case KF_CONV_GLANES: {
    int64_t cb = (y->dims[1] + c - 1) / c * y->dims[0];
    int64_t groups = (oh + s->tile_r - 1) / s->tile_r; /* row groups */
    s->split = cb >= 2 * T || groups < 2 ? SPLIT_BLOCKS : SPLIT_ROWS;
    s->units = s->split == SPLIT_BLOCKS ? cb : groups;
    break;
  }
  case KF_POOL_BLOCKED: {
    int64_t cb = (y->dims[1] + c - 1) / c * y->dims[0];
    s->split = cb >= 2 * T || oh < 2 ? SPLIT_BLOCKS : SPLIT_ROWS;
    s->units = s->split == SPLIT_BLOCKS ? cb : oh;
    break;
  }
  case KF_GPOOL_BLOCKED:
  case KF_REORDER: {
    /* Blocks of the output: c channels, or one of a plain output. */
    int64_t b = y->layout.kind == LAYOUT_NCHWC ? y->layout.block : 1;
    s->split = SPLIT_BLOCKS;
    s->units = (y->rank > 1 ? (y->dims[1] + b - 1) / b : 1) * (y->rank > 0 ? y->dims[0] : 1);
    break;
  }
  case KF_GEMM_VEC: {
    /* Row tiles when there are enough, else groups of output blocks. */
    int64_t nb = (y->dims[1] + c - 1) / c, nv = s->tile_c / c;
    int64_t rows = (y->dims[0] + s->tile_p - 1) / s->tile_p;
    s->split = rows >= 2 * T ? SPLIT_ROWS : SPLIT_BLOCKS;
    s->units = s->split == SPLIT_ROWS ? rows : (nb + nv - 1) / nv;
    break;
  }
  case KF_ELTWISE_VEC:
    s->split = SPLIT_ELEMS;
    s->units = (value_storage_numel(y) + 63) / 64; /* 64-element (cache line) units */
    break;
  default:
    break;
  }
  s->threads = T > 1 && s->split != SPLIT_NONE && work >= SPLIT_MIN_WORK && s->units >= 2
                   ? (int)(s->units < T ? s->units : T)
                   : 1;
  int64_t most = 0;
  for (int k = 0; k <= s->threads; k++) {
    s->share[k] = s->units * k / s->threads;
    if (k && s->share[k] - s->share[k - 1] > most)
      most = s->share[k] - s->share[k - 1];
  }
  s->imbalance = (double)most * s->threads / (double)s->units;
}

/* The packed Gemm's tile: tile_p rows x tile_c / c vectors, the most FMAs
 * per load within the registers, as for the blocked conv (its rows are the
 * conv's pixels). */
static void schedule_gemm(const Graph *g, Node *n, const Target *t, Schedule *s) {
  const Value *y = &g->values[n->out[0]];
  int64_t M = y->dims[0], nb = (y->dims[1] + t->vec - 1) / t->vec;
  int regs = t->nregs - 3;
  double best = 0;
  for (int nv = 1; nv <= 4 && nv <= nb; nv++)
    for (int r = 1; r * nv + nv <= regs && r <= M; r++) {
      int64_t tiles = (M + r - 1) / r;
      double used = (double)M / (double)(tiles * r);
      double score = (double)(r * nv) / (double)(r + nv) * used;
      if (score > best + 1e-9) {
        best = score;
        s->tile_c = nv * t->vec;
        s->tile_p = r;
      }
    }
}

/*
 * The grouped-lanes tile: tile_r rows x tile_p pixels of accumulators
 * (within the registers less the input, its permute and a spare).  Each
 * permute (one per input pixel and channel of a group) feeds every
 * (pixel, tap) of the tile it reaches; the tile maximising FMAs per
 * permute wins (with stride 2 one row reuses a permute 1.5 times, four rows
 * 1.9 times), discounted for pixels wasted at the end of a row or rows past
 * the image.  Several rows only at stride 2 and more, where a single row
 * reuses a permute least (each unrolled input row is code: at stride 1 the
 * kernel rows stay a loop).
 */
static void schedule_conv_glanes(const Graph *g, Node *n, const Target *t, Schedule *s) {
  const Value *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  int64_t OH = y->dims[2], OW = y->dims[3];
  int64_t KH = p->kernel[1], KW = p->kernel[2], SH = p->stride[1], SW = p->stride[2];
  int regs = t->nregs - 4;
  /* A one-row tile (stride 1) keeps its accumulators live across the
   * kernel-row loop; past GLANES_ROW_ACC of them the C compilers spill
   * (ResNeXt-50 on avx512, layer1's 3x3 at 16x28: 148-167 GFLOP/s; 16x14:
   * 232-240; 16x7: 206-211; layer2's at 16x28: 176, at 16x14: 186).
   * Row groups (stride 2) were measured insensitive to their size. */
  if (SH == 1 && regs > GLANES_ROW_ACC)
    regs = GLANES_ROW_ACC;
  double best = 0;
  s->tile_c = t->vec;
  s->tile_r = 1;
  s->tile_p = 1;
  if (g->values[n->in[1]].layout.kind == LAYOUT_WGDOT) {
    /* Cg accumulators and an input vector a pixel, one weight vector: the
     * most pixels that fit, fewest wasted at the row's end (each tile
     * reloads the weights and folds its lanes once). */
    int64_t Cg = g->values[n->in[1]].dims[1];
    for (int np = 1; np * (Cg + 1) + 1 <= t->nregs - 2 && np <= OW; np++) {
      int64_t tiles = (OW + np - 1) / np;
      double score = (double)OW / (double)(tiles * np) * np / (np + 1.0);
      if (score > best + 1e-9) {
        best = score;
        s->tile_p = np;
      }
    }
    return;
  }
  for (int r = 1; r <= (SH > 1 ? 4 : 1) && r <= OH; r++)
    for (int np = 1; np * r <= regs && np <= OW; np++) {
      double fmas = (double)r * np * KH * KW;
      double perms = (double)((r - 1) * SH + KH) * (double)((np - 1) * SW + KW);
      int64_t tiles = (OW + np - 1) / np, groups = (OH + r - 1) / r;
      double used = (double)(OW * OH) / (double)(tiles * np * groups * r);
      double score = fmas / perms * used;
      if (score > best + 1e-9) {
        best = score;
        s->tile_r = r;
        s->tile_p = np;
      }
    }
}

void schedule_build(Graph *g, const Target *t) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    Schedule *s = &n->sched;
    memset(s, 0, sizeof *s);
    bool blocked = n->nout > 0 && n->out[0] >= 0 &&
                   g->values[n->out[0]].layout.kind == LAYOUT_NCHWC;
    bool from_blocked = n->nin > 0 && n->in[0] >= 0 &&
                        g->values[n->in[0]].layout.kind == LAYOUT_NCHWC;
    if ((op_table[n->op].flags & OPF_ALIAS) && !g->values[n->out[0]].is_output) {
      s->family = KF_ALIAS;
    } else if (n->op == OP_GEMM && g->values[n->in[1]].layout.kind == LAYOUT_WCONV) {
      s->family = KF_GEMM_VEC;
      schedule_gemm(g, n, t, s);
    } else if (n->op == OP_REORDER && t->vec > 1) {
      s->family = KF_REORDER;
    } else if (!blocked && !(n->op == OP_REORDER && from_blocked)) {
      schedule_scalar(g, n, s);
    } else if (n->op == OP_CONV) {
      LayoutKind wk = g->values[n->in[1]].layout.kind;
      if (wk == LAYOUT_WGLANES || wk == LAYOUT_WGDOT) {
        s->family = KF_CONV_GLANES;
        schedule_conv_glanes(g, n, t, s);
      } else {
        s->family = KF_CONV_BLOCKED;
        schedule_conv_blocked(g, n, t, s);
      }
    } else if (n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) {
      s->family = KF_POOL_BLOCKED;
    } else if (n->op == OP_GLOBALAVGPOOL || n->op == OP_GLOBALMAXPOOL) {
      s->family = KF_GPOOL_BLOCKED;
    } else {
      s->family = KF_ELTWISE_VEC;
    }
    schedule_split(g, n, t, g->threads > 0 ? g->threads : 1);
    const char *tn = s->family == KF_SCALAR ? "scalar" : t->name;
    char op[48];
    op_part(n, op, sizeof op);
    if (s->tile_r > 1) /* channels x rows x pixels */
      snprintf(s->kernel, sizeof s->kernel, "%s_f32_%s_%dx%dx%d_n%d", op, tn, s->tile_c,
               s->tile_r, s->tile_p, i);
    else if (s->tile_c)
      snprintf(s->kernel, sizeof s->kernel, "%s_f32_%s_%dx%d_n%d", op, tn, s->tile_c,
               s->tile_p, i);
    else
      snprintf(s->kernel, sizeof s->kernel, "%s_f32_%s_n%d", op, tn, i);
  }
}
