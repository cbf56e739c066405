/*
 * simd_conv.c — the convolution micro-kernels of the SIMD targets, written
 * once over the target's table of vector operations (VecOps filled by cw_op, target_*.c).
 *
 * conv_blocked: Y (NCHWc) = conv(X (NCHWc, or plain NCHW read as c = 1),
 * W (LAYOUT_WCONV)).  The output is cut in register tiles of tile_p pixels
 * (along a row, or over the flattened image for a stride-1 1x1) times nv =
 * tile_c / c output vectors.  A tile's accumulators live in registers while
 * it runs over its input blocks, taps and the ib channels of each block:
 *
 *   for each input channel ci of a block, each tap (kh, kw):
 *     w[v]     = load(W[ob + v][block][kh][kw][ci][0..c))      nv loads
 *     acc[p][v] += broadcast(X[block][ih][iw(p, kw)][ci]) * w[v]
 *
 * so each broadcast input feeds nv FMAs and each weight vector tile_p.
 * Taps that fall into the padding are known when the kernel is written:
 * tiles of a row are grouped by which (pixel, kw) pairs are valid, interior
 * tiles run in a loop, edge tiles get their own code; a row of the padding
 * (kh) is skipped at run time.  The reduction over input blocks is cut in
 * chunks of kc blocks (the schedule's cache blocking): the first chunk
 * starts from the bias, later ones from the partial sums in Y, and the last
 * applies the epilogue (residual, its scale, the activation) in registers
 * before the only store of the final value.
 *
 * conv_glanes: a grouped conv whose groups (Cg = Mg channels) divide c,
 * weights LAYOUT_WGLANES.  Output block ob holds c/Cg whole groups, and
 * reads input block ob.  For each input pixel of a tile's span and each j <
 * Cg, the input vector is permuted (group_bcast) so lane l holds input
 * channel j of its own group; that one vector feeds the FMAs of every
 * horizontal tap it reaches: acc[p] += perm_j(X[ih][iw]) * W[kh][kw][j].
 * Its dot form (weights LAYOUT_WGDOT) permutes nothing: lane l holds input
 * channel j = l % Cg of its group as loaded, each pixel has an accumulator
 * per output channel m of a group, acc[p][m] += X[ih][iw] * W[kh][kw][m],
 * and after the taps the target's group_sum folds the Cg accumulators of
 * a pixel (summing the j lanes of each group) into lanes (group, m).
 */
#include "../compiler/cardinal.h"

#include <stdlib.h>
#include <string.h>

/* The zeros a blocked conv reading a plain input row by row offsets its
 * tap columns by (emit_tile says why): cd_zero, declared by the family's
 * prelude, read into zk[ZERO_LEN] at the kernel's start. */
#define ZERO_LEN 16
/* Pixels, channels or kernel rows one register tile holds: a tile lives in
 * registers, so it never comes near this (asserted where arrays use it). */
#define TILE_MAX 64
#define STR_(x) #x
#define STR(x) STR_(x)

/* A stride-1 unpadded 1x1 conv: its pixels are one flat range. */
bool conv_flat_pixels(const Node *n) {
  const OpParams *p = &n->p;
  return conv_is_pointwise(p) && p->stride[1] == 1 && p->stride[2] == 1;
}

static bool wants_zeros(const Graph *g, const Node *n) {
  return g->values[n->in[0]].layout.kind == LAYOUT_PLAIN && !conv_flat_pixels(n);
}

/* The family's prelude (cd_zero): for the plain input's tap columns, and
 * for the bias each tile starts from (emit_tile). */
static bool wants_prelude(const Graph *g, const Node *n) {
  return wants_zeros(g, n) || node_has_input(n, 2);
}

typedef struct {
  Emitter *e;
  Graph *g;
  Node *n;
  const Target *t;
  int c;               /* lanes */
  int ib;              /* channels per input block: c, or 1 for a plain input */
  int64_t N, C, IH, IW, M, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW;
  int64_t CBI;         /* blocks of the input */
  int64_t MB;          /* blocks of the output */
  int64_t NB;          /* input blocks each output block reads */
  int64_t WOB;         /* floats of W per output block */
  int64_t KC;          /* input blocks per reduction chunk (= NB when unchunked) */
  bool flat;           /* pixels over the whole image (stride-1 1x1) */
  bool dot;            /* conv_glanes in its dot form (LAYOUT_WGDOT weights) */
  bool bias;
  int nv, tp;          /* register tile: vectors x pixels */
  bool pf;             /* the schedule's prefetch (emit_prefetch) */
} Conv;

#define E(...) cw(k->e->w, __VA_ARGS__)

static const char *V(const Conv *k, const char *tmpl, const char *a, const char *b,
                     const char *c) {
  return cw_op(k->e->w, tmpl, a, b, c);
}

static const char *fmt(const Conv *k, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(const Conv *k, const char *f, ...) {
  if (k->e->w->over) /* past the code budget nothing is written: build nothing either */
    return "";
  va_list ap;
  va_start(ap, f);
  StrBuf sb = {0};
  sb_vprintf(&sb, f, ap);
  va_end(ap);
  const char *s = arena_strdup(&k->g->arena, sb.buf);
  sb_free(&sb);
  return s;
}

/* Stores acc as the final value of output vector (ob + v, pixel at `off`):
 * residual, scale and activation (the activation table's vector form)
 * applied in registers. */
static void store_final(const Conv *k, const char *acc, int v, const char *yoff) {
  const VecOps *o = &k->t->f32;
  const Node *n = k->n;
  const char *val = acc;
  if (n->ep.residual >= 0) {
    const char *r = V(k, o->load, fmt(k, "R + %s", yoff), 0, 0);
    if (n->ep.residual_scale >= 0)
      val = V(k, o->fma, r, V(k, o->load, fmt(k, "rs + (ob + %d) * %d", v, k->c), 0, 0), val);
    else
      val = V(k, o->add, val, r, 0);
  }
  if (n->ep.act == OP_COUNT) {
    E("%s;\n", V(k, o->store, fmt(k, "Y + %s", yoff), val, 0));
    return;
  }
  E("{\nconst %s ev = %s;\n%s;\n}\n", o->vtype, val,
    V(k, o->store, fmt(k, "Y + %s", yoff),
      act_vector(k->e->w, o, n->ep.act, n->ep.act_alpha, n->ep.act_beta, "ev"), 0));
}

/* Output offset (floats, within image Y) of vector v, pixel p of the tile
 * starting at pixel expression `pix0` (a flat pixel index, or ow0 in row
 * oh). */
static const char *yoff(const Conv *k, int v, int p, const char *pix0) {
  if (k->flat)
    return fmt(k, "(ob + %d) * %lld + (%s + %d) * %d", v, (long long)(k->OH * k->OW * k->c),
               pix0, p, k->c);
  return fmt(k, "(ob + %d) * %lld + (oh * %lld + %s + %d) * %d", v,
             (long long)(k->OH * k->OW * k->c), (long long)k->OW, pix0, p, k->c);
}

/* Where a thread's whole units of step end: its share's end s1 (units,
 * within the nf whole ones) when split, else all of them. */
static const char *unit_end(const Conv *k, int step, int64_t nf, bool split) {
  return split ? fmt(k, "(s1 < %lld ? s1 : %lld) * %d", (long long)nf, (long long)nf, step)
               : fmt(k, "%lld", (long long)(nf * step));
}

/*
 * Blocks outside, each output group's weight panel is read from memory by
 * the group's first pixel tile, at the pace of its FMAs, then from L2 by
 * the others; that first tile waits on memory.  Instead, the tiles of a
 * group ask for the next group's panel ahead of time, each its share: at
 * input block cb, the i-th of the q tiles a thread runs for the group
 * prefetches (into L2) lines [i pf, (i + 1) pf) of the next group's block
 * cb (nv vectors x lpb lines), pf = lines / q rounded up; so the next
 * panel arrives spread over the group's tiles.  Split by tiles, a thread
 * runs q = units / threads of them (i = tile mod q: shares are cut
 * evenly); else all.  Only within the groups the thread runs ([s0, s1)
 * when the threads split them).
 */
static void emit_prefetch(const Conv *k, const char *pix0) {
  const Schedule *s = &k->n->sched;
  int64_t lpb = (int64_t)k->ib * k->c / 16; /* 64-byte lines of a block (ib = c, 1x1) */
  CD_ASSERT(lpb >= 1 && k->flat);
  int64_t lines = k->nv * lpb, P = k->OH * k->OW;
  int64_t q = s->split == SPLIT_TILES ? (s->units + s->threads - 1) / s->threads
                                      : (P + k->tp - 1) / k->tp;
  int64_t pf = (lines + q - 1) / q, groups = k->MB / k->nv;
  const char *lim = unit_end(k, k->nv, groups, s->split == SPLIT_BLOCKS);
  E("if (ob + %d < %s) {\n"
    "const long j0 = (%s) / %d %% %lld * %lld;\n"
    "for (long j = j0; j < j0 + %lld && j < %lld; j++)\n"
    "__builtin_prefetch(Wo + (%d + j / %lld) * %lld + cb * %lld + j %% %lld * 16, 0, 2);\n"
    "}\n",
    k->nv, lim, pix0, k->tp, (long long)q, (long long)pf, (long long)pf, (long long)lines,
    k->nv, (long long)lpb, (long long)k->WOB, (long long)(lpb * 16), (long long)lpb);
}

/*
 * One register tile: nvv vectors x np pixels from pixel expression pix0;
 * valid[p * KW + kw] says whether tap kw of pixel p reads inside the row
 * (row mode).  Chunked reductions start from Y after the first chunk.
 */
static void emit_tile(const Conv *k, int nvv, int np, const char *pix0, const bool *valid) {
  const Target *t = k->t;
  bool chunked = k->KC < k->NB;
  E("{\n");
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nvv; v++)
      E("%s a%d_%d;\n", t->f32.vtype, p, v);
  if (chunked)
    E("if (kc0 == 0) {\n");
  /* The bias through a zero the compiler cannot see: else GCC hoists the
   * bias vectors of an output group out of its pixel loop and keeps them
   * live beside the tile, spilling the tile's weights to the stack, one
   * reload per FMA (ResNet-50's 64x5 1x1s with a residual on 2 threads). */
  if (k->bias)
    E("const float *bq = x2 + cd_zero[0];\n");
  for (int v = 0; v < nvv; v++) {
    const char *init = k->bias ? V(k, t->f32.load, fmt(k, "bq + (ob + %d) * %d", v, k->c), 0, 0)
                               : t->f32.zero;
    for (int p = 0; p < np; p++)
      E("a%d_%d = %s;\n", p, v, init);
  }
  if (chunked) {
    E("} else {\n");
    for (int p = 0; p < np; p++)
      for (int v = 0; v < nvv; v++)
        E("a%d_%d = %s;\n", p, v, V(k, t->f32.load, fmt(k, "Y + %s", yoff(k, v, p, pix0)), 0, 0));
    E("}\n");
  }
  /* The reduction. */
  E("for (long cb = %s; cb < %s; cb++) {\n", chunked ? "kc0" : "0",
    chunked ? fmt(k, "(kc0 + %lld < %lld ? kc0 + %lld : %lld)", (long long)k->KC,
                  (long long)k->NB, (long long)k->KC, (long long)k->NB)
            : fmt(k, "%lld", (long long)k->NB));
  E("const float *xb = X + (lo + cb) * %lld;\n"
    "const float *wb = Wo + cb * %lld;\n",
    (long long)(k->IH * k->IW * k->ib), (long long)(k->KH * k->KW * k->ib * k->c));
  if (k->pf)
    emit_prefetch(k, pix0);
  /* The channels of the block: the last block of an input whose C is not a
   * multiple of the block holds only C % ib real ones; its padding lanes may
   * hold anything (a fused Log of 0, say) and must never be read. */
  const char *nci = fmt(k, "%d", k->ib);
  if (k->C % k->ib)
    nci = fmt(k, "(lo + cb == %lld ? %lld : %d)", (long long)(k->CBI - 1),
              (long long)(k->C % k->ib), k->ib);
  const char *xrow;
  if (k->flat) {
    xrow = fmt(k, "xb + (%s) * %d", pix0, k->ib);
    E("{\nconst float *xr = %s;\nconst float *wk = wb;\n",
      xrow);
  } else {
    E("for (long kh = 0; kh < %lld; kh++) {\n"
      "const long ih = oh * %lld - %lld + kh * %lld;\n"
      "const float *xr, *wk;\n"
      "if (ih < 0 || ih >= %lld)\ncontinue;\n"
      "xr = xb + ih * %lld + (%s) * %lld;\n"
      "wk = wb + kh * %lld;\n"
      "(void)xr; /* no tap of this tile may fall inside the row */\n"
      "(void)wk;\n",
      (long long)k->KH, (long long)k->SH, (long long)k->PH, (long long)k->DH, (long long)k->IH,
      (long long)(k->IW * k->ib), pix0, (long long)(k->SW * k->ib),
      (long long)(k->KW * k->ib * k->c));
  }
  /* Each tap column kw has its own loop over the block's channels: within
   * one, every broadcast address is distinct.  (With kw inside one loop,
   * tap kw of pixel p and tap kw-1 of pixel p+1 read the same input; gcc and
   * clang then keep all those broadcasts live across the taps and spill:
   * measured 41 % slower on a 3x3.)  A plain input (ib = 1) has one
   * channel a loop, so the columns meet again; there each column reads
   * through its own pointer, offset by a zero the compiler cannot see
   * (zk[kw], read from a volatile at the kernel's start), which keeps the
   * addresses of different columns apart. */
  for (int kw = 0; kw < (k->flat ? 1 : k->KW); kw++) {
    bool any = false;
    for (int p = 0; p < np; p++)
      any |= k->flat || valid[p * k->KW + kw];
    if (!any)
      continue;
    const char *xbase = "xr";
    if (k->ib == 1 && !k->flat) {
      E("{\nconst float *xq = xr + zk[%d];\n", kw % ZERO_LEN);
      xbase = "xq";
    }
    E("for (long ci = 0; ci < %s; ci++) {\n", nci);
    for (int v = 0; v < nvv; v++)
      E("const %s w%d = %s;\n", t->f32.vtype, v,
        V(k, t->f32.load, fmt(k, "wk + %lld + ci * %d", (long long)(v * k->WOB + kw * k->ib * k->c), k->c),
          0, 0));
    for (int p = 0; p < np; p++) {
      if (!k->flat && !valid[p * k->KW + kw])
        continue;
      /* Input pixel of tap kw for tile pixel p, relative to the tile's first. */
      int64_t rel = k->flat ? p : (int64_t)p * k->SW - k->PW + kw * k->DW;
      E("{\nconst %s xv = %s;\n", t->f32.vtype,
        V(k, t->f32.set1, fmt(k, "%s[%lld + ci]", xbase, (long long)(rel * k->ib)), 0, 0));
      for (int v = 0; v < nvv; v++)
        E("a%d_%d = %s;\n", p, v, V(k, t->f32.fma, "xv", fmt(k, "w%d", v), fmt(k, "a%d_%d", p, v)));
      E("}\n");
    }
    E("}\n");
    if (k->ib == 1 && !k->flat)
      E("}\n");
  }
  E("}\n}\n");
  /* Store: partial sums, or the final value with the epilogue. */
  if (chunked) {
    E("if (kc0 + %lld < %lld) {\n", (long long)k->KC, (long long)k->NB);
    for (int p = 0; p < np; p++)
      for (int v = 0; v < nvv; v++)
        E("%s;\n", V(k, t->f32.store, fmt(k, "Y + %s", yoff(k, v, p, pix0)), fmt(k, "a%d_%d", p, v), 0));
    E("} else {\n");
  }
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nvv; v++)
      store_final(k, fmt(k, "a%d_%d", p, v), v, yoff(k, v, p, pix0));
  if (chunked)
    E("}\n");
  E("}\n");
}

/* The output blocks of one tile: its body for nvv vectors from `ob`, with
 * ob's weights (Wo) and input blocks (lo) set up. */
static void emit_ob_body(const Conv *k, int nvv, int np, const char *pix0, const bool *valid) {
  E("const float *Wo = x1 + ob * %lld;\n"
    "const long lo = %s;\n",
    (long long)k->WOB, k->NB == k->CBI ? "0" : "lo_tab[ob]");
  emit_tile(k, nvv, np, pix0, valid);
}

/* Pixels outside: the loop over every output block group around a tile
 * (full groups of nv vectors, then the leftover blocks).  Output blocks
 * outside (nvv > 0): the tile alone, ob set by the caller. */
static void emit_obs(const Conv *k, int nvv, int np, const char *pix0, const bool *valid) {
  if (nvv) {
    E("{\n");
    emit_ob_body(k, nvv, np, pix0, valid);
    E("}\n");
    return;
  }
  int64_t full = k->MB / k->nv * k->nv;
  int rest = (int)(k->MB - full);
  if (full) {
    E("for (long ob = 0; ob < %lld; ob += %d) {\n", (long long)full, k->nv);
    emit_ob_body(k, k->nv, np, pix0, valid);
    E("}\n");
  }
  if (rest) {
    E("{\nconst long ob = %lld;\n", (long long)full);
    emit_ob_body(k, rest, np, pix0, valid);
    E("}\n");
  }
}

/* A row of OW output pixels cut in tiles of tp: runs of tiles with the same
 * shape and valid taps share one loop. */
static void emit_row(const Conv *k, int nvv) {
  int64_t ntiles = (k->OW + k->tp - 1) / k->tp;
  bool *valid = calloc((size_t)(ntiles * k->tp * k->KW + 1), 1);
  int *np = calloc((size_t)ntiles + 1, sizeof(int));
  CD_ASSERT(valid && np);
  for (int64_t ti = 0; ti < ntiles; ti++) {
    int64_t ow0 = ti * k->tp;
    np[ti] = (int)(ow0 + k->tp <= k->OW ? k->tp : k->OW - ow0);
    for (int p = 0; p < np[ti]; p++)
      for (int kw = 0; kw < k->KW; kw++) {
        int64_t iw = (ow0 + p) * k->SW - k->PW + kw * k->DW;
        valid[(ti * k->tp + p) * k->KW + kw] = iw >= 0 && iw < k->IW;
      }
  }
  size_t tsz = (size_t)(k->tp * k->KW);
  for (int64_t ti = 0; ti < ntiles;) {
    int64_t tj = ti + 1;
    while (tj < ntiles && np[tj] == np[ti] &&
           !memcmp(&valid[tj * (int64_t)tsz], &valid[ti * (int64_t)tsz], tsz))
      tj++;
    if (tj - ti > 1) {
      E("for (long ow0 = %lld; ow0 < %lld; ow0 += %d) {\n", (long long)(ti * k->tp),
        (long long)(tj * k->tp), k->tp);
      emit_obs(k, nvv, np[ti], "ow0", &valid[ti * (int64_t)tsz]);
      E("}\n");
    } else {
      E("{\n");
      emit_obs(k, nvv, np[ti], fmt(k, "%lld", (long long)(ti * k->tp)), &valid[ti * (int64_t)tsz]);
      E("}\n");
    }
    ti = tj;
  }
  free(valid);
  free(np);
}

/* Opens the loop `for (var = ...; ...; var += step)` over the nf whole units
 * of step: a thread's share [s0, s1) of them when split, else all; a
 * leftover partial unit is the last unit, which rest_guard opens. */
static void unit_loop(const Conv *k, const char *ind, const char *var, int step, int64_t nf,
                      bool split) {
  E("%sfor (long %s = %s; %s < %s; %s += %d) {\n", ind, var,
    split ? fmt(k, "s0 * %d", step) : "0", var, unit_end(k, step, nf, split), var, step);
}

/* The leftover unit is unit nf: the share [s0, s1) holding it runs it. */
static const char *rest_guard(const Conv *k, int64_t nf, bool split) {
  return split ? fmt(k, "if (s0 <= %lld && %lld < s1) ", (long long)nf, (long long)nf) : "";
}

/* Every pixel of the output image, in tiles: nvv = 0 puts the output block
 * loop inside each tile, nvv > 0 emits tiles of nvv vectors for the
 * caller's ob. */
static void emit_pixels(const Conv *k, int nvv) {
  bool split = k->n->sched.split == SPLIT_TILES || k->n->sched.split == SPLIT_ROWS;
  if (k->flat) {
    /* Tiles [s0, s1) when the threads split the tiles; the tail tile is the
     * last unit. */
    int64_t P = k->OH * k->OW, nf = P / k->tp, full = nf * k->tp;
    if (full) {
      unit_loop(k, "      ", "p0", k->tp, nf, split);
      emit_obs(k, nvv, k->tp, "p0", NULL);
      E("}\n");
    }
    if (P > full) {
      E("%s{\n", rest_guard(k, nf, split));
      emit_obs(k, nvv, (int)(P - full), fmt(k, "%lld", (long long)full), NULL);
      E("}\n");
    }
    return;
  }
  if (split)
    E("for (long oh = s0; oh < s1; oh++) {\n");
  else
    E("for (long oh = 0; oh < %lld; oh++) {\n", (long long)k->OH);
  emit_row(k, nvv);
  E("}\n");
}

static void conv_setup(Conv *k, Emitter *e, Graph *g, Node *n) {
  memset(k, 0, sizeof *k);
  k->e = e;
  k->g = g;
  k->n = n;
  k->t = e->t;
  k->c = e->t->block;
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  k->ib = x->layout.kind == LAYOUT_NCHWC ? k->c : 1;
  k->N = x->dims[0];
  k->C = x->dims[1];
  k->IH = x->dims[2];
  k->IW = x->dims[3];
  k->M = y->dims[1];
  k->OH = y->dims[2];
  k->OW = y->dims[3];
  k->KH = p->kernel[1];
  k->KW = p->kernel[2];
  k->SH = p->stride[1];
  k->SW = p->stride[2];
  k->PH = p->pad0[1];
  k->PW = p->pad0[2];
  k->DH = p->dilation[1];
  k->DW = p->dilation[2];
  k->CBI = (k->C + k->ib - 1) / k->ib;
  k->MB = (k->M + k->c - 1) / k->c;
  k->bias = node_has_input(n, 2);
  k->nv = n->sched.tile_c / k->c;
  k->tp = n->sched.tile_p;
  if (w->layout.kind == LAYOUT_WCONV) {
    int64_t lo;
    wconv_blocks(w, 0, &lo, &k->NB);
    k->WOB = k->NB * k->KH * k->KW * k->ib * k->c;
  }
  k->KC = n->sched.kc > 0 && n->sched.kc < k->NB ? n->sched.kc : k->NB;
  k->flat = conv_flat_pixels(n);
  k->pf = n->sched.prefetch;
}

static bool simd_conv_blocked(Emitter *e, Graph *g, Node *n) {
  Conv kk, *k = &kk;
  conv_setup(k, e, g, n);
  const Value *w = &g->values[n->in[1]];
  CD_ASSERT(w->layout.kind == LAYOUT_WCONV && k->nv >= 1 && k->tp >= 1);
  if (k->NB != k->CBI) {
    /* Output block ob reads input blocks from lo_tab[ob]. */
    E("static const long lo_tab[%lld] = {", (long long)k->MB);
    for (int64_t ob = 0; ob < k->MB; ob++) {
      int64_t lo, nb;
      wconv_blocks(w, ob, &lo, &nb);
      CD_ASSERT(nb == k->NB);
      E("%s%lld", ob ? ", " : "", (long long)lo);
    }
    E("};\n");
  }
  if (wants_zeros(g, n))
    E("long zk[%d];\n"
      "for (int i = 0; i < %d; i++)\n"
      "zk[i] = cd_zero[i];\n", ZERO_LEN, ZERO_LEN);
  E("for (long n = 0; n < %lld; n++) {\n"
    "const float *X = x0 + n * %lld;\n"
    "float *Y = y0 + n * %lld;\n",
    (long long)k->N, (long long)(k->CBI * k->IH * k->IW * k->ib),
    (long long)(k->MB * k->OH * k->OW * k->c));
  if (n->ep.residual >= 0)
    E("const float *R = r + n * %lld;\n", (long long)(k->MB * k->OH * k->OW * k->c));
  bool chunked = k->KC < k->NB;
  if (chunked)
    E("for (long kc0 = 0; kc0 < %lld; kc0 += %lld) {\n", (long long)k->NB, (long long)k->KC);
  if (!n->sched.ob_outer) {
    emit_pixels(k, 0);
  } else {
    /* Groups of nv output blocks [s0, s1) when the threads split the
     * blocks; the leftover blocks are the last group. */
    int64_t full = k->MB / k->nv * k->nv, nf = full / k->nv;
    int rest = (int)(k->MB - full);
    bool split = n->sched.split == SPLIT_BLOCKS;
    if (full) {
      unit_loop(k, "    ", "ob", k->nv, nf, split);
      emit_pixels(k, k->nv);
      E("}\n");
    }
    if (rest) {
      E("%s{\nconst long ob = %lld;\n", rest_guard(k, nf, split), (long long)full);
      emit_pixels(k, rest);
      E("}\n");
    }
  }
  if (chunked)
    E("}\n");
  E("}\n");
  return true;
}

/* ------------------------------------------------------------ conv_glanes */

/* Opens a grouped-lanes tile's loop over kernel rows: for each kh whose
 * input row ih is inside the image, xr points at the tile's first input
 * pixel in it and, when wstride > 0, wk at kernel row kh of the block's
 * weights (wstride floats a row).  The caller closes it: "}\n}\n". */
static void emit_glanes_kh_loop(const Conv *k, const char *ow0, int64_t wstride) {
  E("for (long kh = 0; kh < %lld; kh++) {\n"
    "const long ih = oh * %lld - %lld + kh * %lld;\n"
    "if (ih >= 0 && ih < %lld) {\n"
    "const float *xr = Xb + ih * %lld + (%s) * %lld;\n"
    "(void)xr; /* an edge tile may have no tap inside */\n",
    (long long)k->KH, (long long)k->SH, (long long)k->PH, (long long)k->DH, (long long)k->IH,
    (long long)(k->IW * k->c), ow0, (long long)(k->SW * k->c));
  if (wstride > 0)
    E("const float *wk = Wo + kh * %lld;\n"
      "(void)wk;\n", (long long)wstride);
}

/* A dot-form tile: np pixels of row oh from ow0 (a constant ow0_const >= 0
 * on edge tiles, whose taps outside the row are left out). */
static void emit_gdot_tile(const Conv *k, int64_t Cg, int np, const char *ow0,
                           int64_t ow0_const) {
  const Target *t = k->t;
  E("{\n");
  for (int p = 0; p < np; p++)
    for (int64_t m = 0; m < Cg; m++)
      E("%s d%d_%lld = %s;\n", t->f32.vtype, p, (long long)m, t->f32.zero);
  emit_glanes_kh_loop(k, ow0, k->KW * Cg * k->c);
  for (int64_t kw = 0; kw < k->KW; kw++) {
    bool in[TILE_MAX] = {false}, any = false;
    CD_ASSERT(np <= TILE_MAX);
    for (int p = 0; p < np; p++) {
      int64_t rel = p * k->SW + kw * k->DW - k->PW; /* pixel offset from ow0 * SW */
      in[p] = ow0_const < 0 || (ow0_const * k->SW + rel >= 0 && ow0_const * k->SW + rel < k->IW);
      if (in[p])
        E("const %s x%lld_%d = %s;\n", t->f32.vtype, (long long)kw, p,
          V(k, t->f32.load, fmt(k, "xr + %lld", (long long)(rel * k->c)), 0, 0));
      any |= in[p];
    }
    for (int64_t m = 0; m < Cg && any; m++) {
      E("{\nconst %s w = %s;\n", t->f32.vtype,
        V(k, t->f32.load, fmt(k, "wk + %lld", (long long)((kw * Cg + m) * k->c)), 0, 0));
      for (int p = 0; p < np; p++)
        if (in[p]) {
          const char *acc = fmt(k, "d%d_%lld", p, (long long)m);
          E("%s = %s;\n", acc,
            V(k, t->f32.fma, fmt(k, "x%lld_%d", (long long)kw, p), "w", acc));
        }
      E("}\n");
    }
  }
  E("}\n}\n");
  for (int p = 0; p < np; p++) {
    const char *acc[TILE_MAX];
    CD_ASSERT(Cg <= TILE_MAX);
    for (int64_t m = 0; m < Cg; m++)
      acc[m] = fmt(k, "d%d_%lld", p, (long long)m);
    E("{\n");
    const char *sum = t->group_sum(k->e->w, (int)Cg, acc);
    if (k->bias)
      sum = V(k, t->f32.add, sum, V(k, t->f32.load, "x2 + ob * CD_C", 0, 0), 0);
    store_final(k, sum, 0,
                fmt(k, "ob * %lld + (oh * %lld + %s + %d) * %d",
                    (long long)(k->OH * k->OW * k->c), (long long)k->OW, ow0, p, k->c));
    E("}\n");
  }
  E("}\n");
}

/*
 * One tile of the grouped-lanes kernel: nr output rows from oh x np pixels
 * from ow0.  Input row ir of the tile (ih = oh * SH - PH + ir) feeds output
 * row rr through tap kh wherever ir = rr * SH + kh * DH, so rows of several
 * output rows share each permuted vector as the columns do: with SH = 2 one
 * row of outputs reuses a permute 1.5 times, four rows 1.9 times.
 */
static void emit_glanes_tile(const Conv *k, int64_t Cg, int nr, int np, const char *ow0,
                             int64_t ow0_const) {
  const Target *t = k->t;
  if (k->dot) {
    CD_ASSERT(nr == 1);
    emit_gdot_tile(k, Cg, np, ow0, ow0_const);
    return;
  }
  E("{\n");
  for (int rr = 0; rr < nr; rr++)
    for (int p = 0; p < np; p++)
      E("%s a%d_%d = %s;\n", t->f32.vtype, rr, p,
        k->bias ? V(k, t->f32.load, "x2 + ob * CD_C", 0, 0) : t->f32.zero);
  int64_t irows = (int64_t)(nr - 1) * k->SH + (k->KH - 1) * k->DH + 1;
  int64_t span = (int64_t)(np - 1) * k->SW + (k->KW - 1) * k->DW + 1;
  /* One output row: the kernel rows in a loop at run time (a third of the
   * code); several: each input row unrolled with the rows it feeds. */
  bool one = nr == 1;
  if (one)
    irows = 1;
  for (int64_t ir = 0; ir < irows; ir++) {
    /* The (output row, kernel row) pairs this input row feeds. */
    int pr[TILE_MAX], npair = 0;
    const char *pk[TILE_MAX];
    CD_ASSERT(nr <= TILE_MAX);
    for (int rr = 0; rr < nr && !one; rr++) {
      int64_t d = ir - rr * k->SH;
      if (d >= 0 && d % k->DH == 0 && d / k->DH < k->KH) {
        pr[npair] = rr;
        pk[npair++] = fmt(k, "%lld", (long long)(d / k->DH));
      }
    }
    if (one) {
      pr[0] = 0;
      pk[npair++] = "kh";
    }
    if (!npair)
      continue;
    if (one)
      emit_glanes_kh_loop(k, ow0, 0);
    else
      E("{\n"
        "const long ih = oh * %lld - %lld + %lld;\n"
        "if (ih >= 0 && ih < %lld) {\n"
        "const float *xr = Xb + ih * %lld + (%s) * %lld;\n"
        "(void)xr;\n",
        (long long)k->SH, (long long)k->PH, (long long)ir, (long long)k->IH,
        (long long)(k->IW * k->c), ow0, (long long)(k->SW * k->c));
    for (int64_t q = 0; q < span; q++) {
      int64_t rel = q - k->PW; /* pixel offset from ow0 * SW */
      if (ow0_const >= 0) {
        int64_t iw = ow0_const * k->SW + rel;
        if (iw < 0 || iw >= k->IW)
          continue;
      }
      /* Which (pixel, tap) pairs this input pixel feeds. */
      bool any = false;
      for (int64_t kw = 0; kw < k->KW; kw++) {
        int64_t d = q - kw * k->DW;
        any |= d >= 0 && d % k->SW == 0 && d / k->SW < np;
      }
      if (!any)
        continue;
      E("{\nconst %s xv = %s;\n", t->f32.vtype,
        V(k, t->f32.load, fmt(k, "xr + %lld", (long long)(rel * k->c)), 0, 0));
      for (int64_t j = 0; j < Cg; j++) {
        E("{\nconst %s pv = %s;\n", t->f32.vtype,
          t->group_bcast(k->e->w, (int)Cg, (int)j, "xv"));
        for (int a = 0; a < npair; a++)
          for (int64_t kw = 0; kw < k->KW; kw++) {
            int64_t d = q - kw * k->DW;
            if (d < 0 || d % k->SW || d / k->SW >= np)
              continue;
            const char *acc = fmt(k, "a%d_%lld", pr[a], (long long)(d / k->SW));
            E("%s = %s;\n", acc,
              V(k, t->f32.fma, "pv",
                V(k, t->f32.load,
                  fmt(k, "Wo + %s * %lld + %lld", pk[a], (long long)(k->KW * Cg * k->c),
                      (long long)((kw * Cg + j) * k->c)), 0, 0),
                acc));
          }
        E("}\n");
      }
      E("}\n");
    }
    E("}\n}\n");
  }
  for (int rr = 0; rr < nr; rr++)
    for (int p = 0; p < np; p++)
      store_final(k, fmt(k, "a%d_%d", rr, p), 0,
                  fmt(k, "ob * %lld + ((oh + %d) * %lld + %s + %d) * %d",
                      (long long)(k->OH * k->OW * k->c), rr, (long long)k->OW, ow0, p, k->c));
  E("}\n");
}

/* A row group of nr output rows from oh: its tiles along the row, edge
 * tiles (some input pixel outside the row) with their constant ow0, the
 * interior in a loop. */
static void emit_glanes_rows(const Conv *k, int64_t Cg, int nr) {
  int64_t ntiles = (k->OW + k->tp - 1) / k->tp;
  for (int64_t ti = 0; ti < ntiles;) {
    int64_t ow0 = ti * k->tp;
    int np = (int)(ow0 + k->tp <= k->OW ? k->tp : k->OW - ow0);
    int64_t span = (int64_t)(np - 1) * k->SW + (k->KW - 1) * k->DW + 1;
    bool inside = ow0 * k->SW - k->PW >= 0 && ow0 * k->SW - k->PW + span <= k->IW;
    if (!inside || np != k->tp) {
      emit_glanes_tile(k, Cg, nr, np, fmt(k, "%lld", (long long)ow0), ow0);
      ti++;
      continue;
    }
    int64_t tj = ti + 1;
    while (tj < ntiles) {
      int64_t o = tj * k->tp;
      if (o + k->tp > k->OW || o * k->SW - k->PW + span > k->IW)
        break;
      tj++;
    }
    E("for (long ow0 = %lld; ow0 < %lld; ow0 += %d)\n", (long long)ow0,
      (long long)(tj * k->tp), k->tp);
    emit_glanes_tile(k, Cg, nr, np, "ow0", -1);
    ti = tj;
  }
}

static bool simd_conv_glanes(Emitter *e, Graph *g, Node *n) {
  Conv kk, *k = &kk;
  conv_setup(k, e, g, n);
  const Value *w = &g->values[n->in[1]];
  k->dot = w->layout.kind == LAYOUT_WGDOT;
  CD_ASSERT((w->layout.kind == LAYOUT_WGLANES || k->dot) && k->ib == k->c);
  int64_t Cg = w->dims[1];
  CD_ASSERT(!k->dot || (Cg == k->t->dot_cg && Cg <= 64 && n->sched.tile_p <= 64));
  int R = n->sched.tile_r > 0 ? n->sched.tile_r : 1;
  int64_t ngroups = (k->OH + R - 1) / R, nfull = k->OH / R; /* row groups, whole ones */
  k->WOB = k->KH * k->KW * Cg * k->c;
  E("enum { CD_C = %d };\n", k->c);
  /* Threads split the blocks (units: n * MB + ob) or the row groups. */
  bool by_blocks = n->sched.split == SPLIT_BLOCKS;
  E("for (long u = %s; u < %s; u++) {\n"
    "const long n = u / %lld, ob = u %% %lld;\n"
    "const float *Xb = x0 + (n * %lld + ob) * %lld;\n"
    "const float *Wo = x1 + ob * %lld;\n"
    "float *Y = y0 + n * %lld;\n",
    by_blocks ? "s0" : "0", by_blocks ? "s1" : fmt(k, "%lld", (long long)(k->N * k->MB)),
    (long long)k->MB, (long long)k->MB, (long long)k->CBI, (long long)(k->IH * k->IW * k->c),
    (long long)k->WOB, (long long)(k->MB * k->OH * k->OW * k->c));
  if (n->ep.residual >= 0)
    E("const float *R = r + n * %lld;\n", (long long)(k->MB * k->OH * k->OW * k->c));
  E("for (long og = %s; og < %s; og++) {\n"
    "const long oh = og * %d;\n",
    by_blocks ? "0" : "s0", by_blocks ? fmt(k, "%lld", (long long)ngroups) : "s1", R);
  if (nfull < ngroups) {
    E("if (og < %lld) {\n", (long long)nfull);
    emit_glanes_rows(k, Cg, R);
    E("} else {\n");
    emit_glanes_rows(k, Cg, (int)(k->OH - nfull * R));
    E("}\n");
  } else {
    emit_glanes_rows(k, Cg, R);
  }
  E("}\n}\n");
  return true;
}

/* ------------------------------------------------------------ the families' rows */

bool conv_can_glanes(const Graph *g, const Node *n, const Target *t) {
  if (n->op != OP_CONV || t->block < 2 || !t->group_bcast || !is_act4d(g, n->in[0]))
    return false;
  const Value *w = &g->values[n->in[1]];
  int64_t Cg = w->dims[1], Mg = w->dims[0] / n->p.group;
  /* Groups as wide as a vector or wider run faster as dense convs over
   * their own blocks (88 % of peak at 16 and 32 channels a group, against
   * 55 % for 16 permutes a pixel). */
  return n->p.group > 1 && Cg == Mg && Cg < t->block && t->block % Cg == 0 &&
         absent_or_const(g, n->in[1]) && (n->nin < 3 || absent_or_const(g, n->in[2]));
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
  return x->layout.kind == LAYOUT_NCHWC || x->dims[1] >= t->block ? t->block : 1;
}

/* Before the layout pass: a conv runs blocked when its weights, packed for
 * the blocked kernel, read the same number of input blocks for every
 * output block. */
static bool conv_blocked_can(const Graph *g, const Node *n, const Target *t) {
  if (n->op != OP_CONV || !is_act4d(g, n->in[0]) || !is_act4d(g, n->out[0]) ||
      !absent_or_const(g, n->in[1]) || (n->nin > 2 && !absent_or_const(g, n->in[2])))
    return false;
  const Value *w = &g->values[n->in[1]];
  return wconv_uniform(w, (Layout){LAYOUT_WCONV, t->block, conv_input_block(g, n, t), n->p.group});
}

static bool conv_blocked_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return n->op == OP_CONV && g->values[n->out[0]].layout.kind == LAYOUT_NCHWC &&
         g->values[n->in[1]].layout.kind == LAYOUT_WCONV;
}

static bool conv_glanes_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  LayoutKind wk = g->values[n->in[1]].layout.kind;
  return n->op == OP_CONV && g->values[n->out[0]].layout.kind == LAYOUT_NCHWC &&
         (wk == LAYOUT_WGLANES || wk == LAYOUT_WGDOT);
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
 *    the output) when one output group's weight panel would not fit in
 *    half of L2 (the 512-channel 3x3 at 7x7), or, blocks outside, when the
 *    input passes 2x L2: each output group streamed all of it from memory,
 *    a tile reading 128 blocks 50 KB apart, too many streams to prefetch
 *    (FCN-ResNet-50's dilated layer4 1x1s, 2048 -> 512 at 28x28: 52-65 % of
 *    peak; in chunks that fit in half of L2, 91-93 %, the model 4.3 %
 *    faster on 1 thread and 4.9 % on 2, bench/ab.sh); elsewhere chunking
 *    bought nothing measurable (inputs under 2x L2 chunked the same way:
 *    Wide ResNet-50 1.7 % faster, DenseNet-121 2.8 % slower);
 *  - a flat conv with blocks outside whose weights pass half of L2 (read
 *    from further out each run) and whose input fits in half of it
 *    prefetches the next group's panel while the group runs
 *    (emit_prefetch), its reduction cut so that two panels and the input
 *    fit in half of L2: layer4 1x1s at 7x7 went from 70-75 % of peak to
 *    85-88 % on one thread; models 0.3-3.6 % faster, RegNetX-400MF 9.4 %
 *    (bench/ab.sh, 1 thread; 2 threads within 2 % either way).  With the
 *    input past half of L2 (ResNeXt-101's layer3 1x1s, 1024 -> 1024 at
 *    14x14) it was 2.2 % faster on one thread and 2.2 % slower on two, split
 *    by pixels: left out.
 */
#define BLOCKED_SPARE_REGS 3   /* registers beside a tile's accumulators and weights: the
                                  broadcast and spares, for the reason above */
#define OB_OUTER_BELOW 784     /* output pixels below which output blocks go outside */
#define UNEVEN_GROUPS_SCORE 0.9 /* a tile whose nv leaves the last output group short */
#define INPUT_CHUNK_L2S 2      /* blocks outside, input past this many L2s: chunked */

/* A register tile's score: FMAs per load (p pixels x nv vectors: p nv / (p
 * + nv)), discounted for pixels wasted in the last of P's tiles and for a
 * short last group of the mb output blocks. */
static double blocked_tile_score(int64_t P, int p, int nv, int64_t mb) {
  int64_t tiles = (P + p - 1) / p;
  double used = (double)P / (double)(tiles * p);
  return (double)(p * nv) / (double)(p + nv) * used * (mb % nv ? UNEVEN_GROUPS_SCORE : 1.0);
}

static void conv_blocked_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  const Value *w = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  int c = t->block;
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
  int regs = t->nregs - BLOCKED_SPARE_REGS;
  int best_nv = 1, best_p = 1;
  double best = 0;
  for (int nv = 1; nv <= 4 && nv <= mb; nv++)
    for (int p = 1; p * nv + nv <= regs && p <= P && (!per_group || per_group % nv == 0); p++) {
      double score = blocked_tile_score(P, p, nv, mb);
      if (score > best + 1e-9) {
        best = score;
        best_nv = nv;
        best_p = p;
      }
    }
  s->tile_c = best_nv * c;
  s->tile_p = best_p;
  int64_t k = n->p.kernel[1] * n->p.kernel[2] * conv_input_block(g, n, t);
  int64_t panel = (int64_t)best_nv * nb * k * c * 4; /* weight bytes of one output group */
  /* Past half of L2, the order streams the weights (pixels outside: all
   * of them per pixel tile) or the input (blocks outside: all of it per
   * output group) from further out: the fewer bytes win. */
  const Value *x = &g->values[n->in[0]];
  int64_t groups = (mb + best_nv - 1) / best_nv, wbytes = sat_mul(panel, groups);
  int64_t ptiles = sat_mul(conv_flat_pixels(n) ? 1 : y->dims[2], (P + best_p - 1) / best_p);
  int64_t xbytes = sat_mul(sat_mul(x->dims[1], x->dims[2]), sat_mul(x->dims[3], 4));
  if (wbytes > t->l2 / 2 || xbytes > t->l2 / 2)
    s->ob_outer = sat_mul(xbytes > t->l2 / 2 ? xbytes : 0, groups) <
                  sat_mul(wbytes > t->l2 / 2 ? wbytes : 0, ptiles);
  else
    s->ob_outer = y->dims[2] * y->dims[3] < OB_OUTER_BELOW;
  s->order = s->ob_outer ? "blocks" : "pixels";
  s->kc = 0;
  s->prefetch = s->ob_outer && conv_flat_pixels(n) && conv_input_block(g, n, t) == c &&
                wbytes > t->l2 / 2 && xbytes <= t->l2 / 2 && ptiles >= 2;
  if (s->prefetch)
    s->order = "blocks+pf";
  if (s->prefetch && 2 * panel + xbytes > t->l2 / 2) {
    /* Two panels (the group's and the next) and the input in half of L2:
     * the reduction in that many even chunks. */
    int64_t per = 2 * (int64_t)best_nv * k * c * 4 + x->dims[2] * x->dims[3] * c * 4;
    int64_t kc = (t->l2 / 2) / per;
    kc = kc < 1 ? 1 : kc;
    int64_t chunks = (nb + kc - 1) / kc;
    s->kc = chunks > 1 ? (nb + chunks - 1) / chunks : 0;
    return;
  }
  if (panel > t->l2 / 2) {
    int64_t kc = (t->l2 / 2) / ((int64_t)best_nv * k * c * 4);
    s->kc = kc < 1 ? 1 : kc;
  } else if (s->ob_outer && xbytes > INPUT_CHUNK_L2S * t->l2) {
    int64_t kc = (t->l2 / 2) / sat_mul(sat_mul(x->dims[2], x->dims[3]), c * 4);
    s->kc = kc < 1 ? 1 : kc < nb ? kc : 0;
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
#define GDOT_SPARE_REGS 2      /* beside a dot tile's pixels (Cg + 1 each) and its weight vector */

static void conv_glanes_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  const Value *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  int64_t OH = y->dims[2], OW = y->dims[3];
  int64_t KH = p->kernel[1], KW = p->kernel[2], SH = p->stride[1], SW = p->stride[2];
  int regs = t->nregs - GLANES_SPARE_REGS;
  /* A one-row tile (stride 1) keeps its accumulators live across the
   * kernel-row loop; past GLANES_ROW_ACC of them the C compilers spill
   * (ResNeXt-50 on avx512, layer1's 3x3 at 16x28: 148-167 GFLOP/s; 16x14:
   * 232-240; 16x7: 206-211; layer2's at 16x28: 176, at 16x14: 186).
   * Row groups (stride 2) were measured insensitive to their size. */
  if (SH == 1 && regs > GLANES_ROW_ACC)
    regs = GLANES_ROW_ACC;
  double best = 0;
  s->tile_c = t->block;
  s->tile_r = 1;
  s->tile_p = 1;
  if (g->values[n->in[1]].layout.kind == LAYOUT_WGDOT) {
    /* Cg accumulators and an input vector a pixel, one weight vector: the
     * most pixels that fit, fewest wasted at the row's end (each tile
     * reloads the weights and folds its lanes once). */
    int64_t Cg = g->values[n->in[1]].dims[1];
    for (int np = 1; np * (Cg + 1) + 1 <= t->nregs - GDOT_SPARE_REGS && np <= OW; np++) {
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

/*
 * Output blocks when there are enough groups of them for every thread (with
 * blocks outside) and the weights outweigh the input 8x, else pixel tiles of a
 * flat 1x1, else rows.  Either way a thread reads something whole: split by
 * output blocks, all of the input, half of it just written by the other
 * cores (the layer before was split too); split by pixels, all the weights,
 * clean and shared.  On a 2-core Zen 5, ResNet-50 on 2 threads, layer3's
 * 1x1s (weights 1.3x their input) took 0.55-0.60 ms split by blocks (no
 * faster than one thread) and 0.32-0.35 ms by pixels; its 3x3s at 14x14
 * (weights 12x) and layer4's convs (10-94x) were faster by blocks.  Between
 * 4x and 8x, pixels won too: ResNeXt-101's layer3 1x1s (1024 -> 1024 at
 * 14x14, 5.2x) split by pixels made it 3.8 % faster on 2 threads, ResNeXt-50
 * 2.7 %, ResNet-50 and Wide ResNet-50 1.1 %, the zoo's others within 1 %
 * either way (bench/ab.sh, 60 runs a side in turns); 16x bought nothing more.
 */
#define SPLIT_BLOCKS_WEIGHTS 8 /* weights over input bytes from which blocks split */

static SplitAxis conv_blocked_split(const Graph *g, const Node *n, const Target *t, int T,
                                    int64_t *units) {
  const Value *y = &g->values[n->out[0]];
  const Schedule *s = &n->sched;
  int c = t->block;
  int64_t mb = (y->dims[1] + c - 1) / c, nv = s->tile_c / c;
  int64_t groups = (mb + nv - 1) / nv;
  size_t wb = value_storage_bytes(&g->values[n->in[1]]);
  size_t xb = value_storage_bytes(&g->values[n->in[0]]);
  bool by_blocks = wb / SPLIT_BLOCKS_WEIGHTS > xb;
  if (s->ob_outer && groups >= 2 * T && by_blocks) {
    *units = groups;
    return SPLIT_BLOCKS;
  }
  if (conv_flat_pixels(n)) {
    *units = (y->dims[2] * y->dims[3] + s->tile_p - 1) / s->tile_p;
    return SPLIT_TILES;
  }
  *units = y->dims[2];
  return SPLIT_ROWS;
}

/* Channel blocks of every image, or row groups when there are too few. */
static SplitAxis conv_glanes_split(const Graph *g, const Node *n, const Target *t, int T,
                                   int64_t *units) {
  const Value *y = &g->values[n->out[0]];
  int c = t->block;
  int64_t cb = (y->dims[1] + c - 1) / c * y->dims[0];
  int64_t groups = (y->dims[2] + n->sched.tile_r - 1) / n->sched.tile_r; /* row groups */
  bool blocks = cb >= 2 * T || groups < 2;
  *units = blocks ? cb : groups;
  return blocks ? SPLIT_BLOCKS : SPLIT_ROWS;
}

/* ------------------------------------------------------------ conv_wino */

/*
 * conv_wino: a stride-1 3x3 conv in Winograd's F(2x2, 3x3) (the winograd
 * pass; weights LAYOUT_WWINO, U = G g G^T).  The output is cut in tiles of
 * 2x2 pixels, TW = ceil(OW/2) a tile row, and the tile rows in strips of
 * tile_r; the threads split the strips (order "strips") or, where that
 * streams fewer bytes, the output groups of an image taken as one strip
 * (order "blocks"); a strip runs end to end in its thread's scratch (the
 * plan's, per thread):
 *
 *   1. input transform: for each input block and tile, the 4x4 patch d
 *      (zeros outside the image) becomes V = B^T d B, 16 vectors, stored
 *      V[x][cb][tile][c];
 *   2. for each group of nv output blocks:
 *      - for each x of the 16, the product M[x] = V[x] U[x] over the input
 *        channels: the blocked kernel's register tile (tile_p tiles x nv
 *        vectors, broadcast V, load U), stored M[x][tile][v][c];
 *      - output transform: Y = A^T M A for each tile (2x2 pixels), the bias,
 *        then the epilogue (residual, scale, activation) in registers
 *        before the only store; pixels past an odd OH or OW are not stored.
 *
 *   B^T = | 1  0 -1  0 |   A^T = | 1 1  1  0 |
 *         | 0  1  1  0 |         | 0 1 -1 -1 |
 *         | 0 -1  1  0 |
 *         | 0  1  0 -1 |
 *
 * A strip's V takes 16 C floats a tile, M 16 nv c: the strip is as many
 * tile rows as keep both within half of L2, or all of it when U is too big
 * to stay there (wino_shape), and no more than leaves every thread a
 * strip; the weights of one x for one group (nv c x C) stay in L1/L2
 * across the strip's tiles.
 */
typedef struct {
  int64_t TW, TH;  /* tiles a row, tile rows */
  int64_t R, NS;   /* tile rows a strip, strips an image */
  bool blocks;     /* one strip an image, the threads splitting its output groups */
  int64_t NG;      /* output groups (of nv blocks) */
} Wino;

static void wino_shape(const Graph *g, const Node *n, const Target *t, int nv, Wino *s) {
  const Value *y = &g->values[n->out[0]];
  int64_t c = t->block, C = g->values[n->in[0]].dims[1];
  s->TW = (y->dims[3] + 1) / 2;
  s->TH = (y->dims[2] + 1) / 2;
  int64_t row = sat_mul(64 * s->TW, C + (int64_t)nv * c); /* V and M bytes of one tile row */
  /* Every strip streams all of U: where U cannot stay in L2 (past half of
   * it), strips as large as L2 holds (ResNet-50's layer3 3x3, 4 MB of U:
   * 0.63-0.65 ms as one strip of 7 tile rows, 0.71-0.73 ms in strips of 3);
   * elsewhere half of it (layer1, 64 channels at 56x56: 0.57-0.59 ms in
   * strips of 2 rows, 0.66-0.81 in strips of 4). */
  int64_t M = y->dims[1], u = sat_mul(64 * g->values[n->in[1]].dims[1], M); /* bytes of U */
  s->R = (u > t->l2 / 2 ? t->l2 : t->l2 / 2) / row;
  int T = g->threads > 1 ? g->threads : 1;
  if (s->R > (s->TH + T - 1) / T)
    s->R = (s->TH + T - 1) / T;
  if (s->R < 1)
    s->R = 1;
  s->NS = (s->TH + s->R - 1) / s->R;
  s->NG = ((M + c - 1) / c + nv - 1) / nv;
  /* Or the whole image as one strip, the threads splitting its output
   * groups (each transforms the input itself): where that streams fewer
   * bytes from past L2 -- each group reads all of V, each strip all of U.
   * ResNet-50's layer4 3x3 (16 MB of U, 512 KB of V) on 2 threads:
   * 0.93 ms in two strips (no faster than on 1 thread), 0.60 ms split by
   * groups; its layer3 3x3, 0.44-0.49 and 0.36 ms; Wide ResNet-50's
   * layer3 and layer4 3x3s, 1.9 -> 1.3 ms and 3.5 -> 2.1 ms. */
  int64_t v = sat_mul(sat_mul(64 * C, s->TH), s->TW);
  int64_t by_strips = u > t->l2 / 2 ? sat_mul(u, s->NS) : u;
  int64_t by_groups = v > t->l2 ? sat_mul(v, s->NG) : v;
  s->blocks = by_groups < by_strips;
  if (s->blocks) {
    s->R = s->TH;
    s->NS = 1;
  }
}

/* Whether the transforms pay: enough channels that V U's products outweigh
 * them (each input element is transformed once, each output once, against
 * 16 x C x M / (4 pixels) multiply-adds), enough tiles to fill the
 * register tile, and a strip of one tile row (its V and its M for the
 * widest output group) within L2: past it every product streams V from
 * memory.  FCN-ResNet-50's classifier 3x3, 2048 -> 512 at 28x28 (a tile
 * row's V is 1.8 MB): 92.7 ms in Winograd, ~71 ms direct (1 thread). */
#define WINO_MIN_CHANNELS 32   /* input and output channels */
#define WINO_MIN_PIXELS 49     /* output pixels */

bool conv_can_wino(const Graph *g, const Node *n, const Target *t) {
  if (n->op != OP_CONV || t->block < 4 || !t->f32.lanes || n->nin < 2)
    return false;
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  /* One group: ResNeXt's grouped 3x3s (groups of 16 to 64 channels) ran
   * 1.2-1.8x slower in it than on the direct kernels (each group's products
   * over 16-64 channels, too short for the transforms around them). */
  return is_act4d(g, n->in[0]) && x->layout.kind == LAYOUT_NCHWC &&
         x->layout.block == t->block && w->layout.kind == LAYOUT_WCONV && w->data &&
         w->dtype == DT_FLOAT &&
         y->layout.kind == LAYOUT_NCHWC && p->group == 1 && w->rank == 4 && w->dims[2] == 3 &&
         w->dims[3] == 3 && p->stride[1] == 1 && p->stride[2] == 1 && p->dilation[1] == 1 &&
         p->dilation[2] == 1 && x->dims[1] % t->block == 0 && x->dims[1] >= WINO_MIN_CHANNELS &&
         y->dims[1] >= WINO_MIN_CHANNELS && y->dims[2] * y->dims[3] >= WINO_MIN_PIXELS &&
         sat_mul(64 * ((y->dims[3] + 1) / 2), x->dims[1] + 4 * (int64_t)t->block) <= t->l2;
}

static bool conv_wino_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return n->op == OP_CONV && g->values[n->out[0]].layout.kind == LAYOUT_NCHWC &&
         g->values[n->in[1]].layout.kind == LAYOUT_WWINO;
}

/* The register tile as the blocked conv's (most FMAs per load within the
 * registers), over the tiles of a strip. */
static void conv_wino_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  const Value *y = &g->values[n->out[0]];
  int c = t->block;
  int64_t mb = (y->dims[1] + c - 1) / c;
  int regs = t->nregs - BLOCKED_SPARE_REGS, best_nv = 1, best_p = 1;
  double best = 0;
  for (int nv = 1; nv <= 4 && nv <= mb; nv++) {
    Wino w;
    wino_shape(g, n, t, nv, &w);
    int64_t P = w.R * w.TW;
    for (int p = 1; p * nv + nv <= regs && p <= P; p++) {
      double score = blocked_tile_score(P, p, nv, mb);
      if (score > best + 1e-9) {
        best = score;
        best_nv = nv;
        best_p = p;
      }
    }
  }
  Wino w;
  wino_shape(g, n, t, best_nv, &w);
  s->tile_c = best_nv * c;
  s->tile_p = best_p;
  s->tile_r = (int)w.R;
  s->ob_outer = w.blocks;
  s->order = w.blocks ? "blocks" : "strips";
}

/* The strips and groups conv_wino_tile decided, as the schedule holds them
 * (tile_r tile rows a strip; ob_outer: an image split by output groups). */
static void wino_sched(const Graph *g, const Node *n, const Target *t, Wino *w) {
  const Value *y = &g->values[n->out[0]];
  int64_t c = t->block, nv = n->sched.tile_c / c;
  w->TW = (y->dims[3] + 1) / 2;
  w->TH = (y->dims[2] + 1) / 2;
  w->R = n->sched.tile_r;
  w->NS = (w->TH + w->R - 1) / w->R;
  w->NG = ((y->dims[1] + c - 1) / c + nv - 1) / nv;
  w->blocks = n->sched.ob_outer;
}

static SplitAxis conv_wino_split(const Graph *g, const Node *n, const Target *t, int T,
                                 int64_t *units) {
  (void)T;
  Wino w;
  wino_sched(g, n, t, &w);
  *units = g->values[n->out[0]].dims[0] * (w.blocks ? w.NG : w.NS);
  return w.blocks ? SPLIT_BLOCKS : SPLIT_ROWS;
}

/* A thread's scratch: a strip's V and M. */
static int64_t conv_wino_scratch(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  int64_t T = n->sched.tile_r * ((g->values[n->out[0]].dims[3] + 1) / 2);
  return sat_mul(64 * T, g->values[n->in[0]].dims[1] + n->sched.tile_c);
}

/* A register tile of the product for x: np tiles from t0 x nvv vectors. */
static void emit_wino_gemm_tile(const Conv *k, int64_t T, int nvv, int np, const char *t0) {
  const VecOps *o = &k->t->f32;
  int c = k->c;
  E("{\n");
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nvv; v++)
      E("%s a%d_%d = %s;\n", o->vtype, p, v, o->zero);
  E("for (long cb = 0; cb < %lld; cb++) {\n"
    "const float *vb = Vx + (cb * %lld + %s) * %d;\n"
    "const float *ub = Ux + cb * %d;\n"
    "for (long ci = 0; ci < %d; ci++) {\n",
    (long long)k->CBI, (long long)T, t0, c, c * c, c);
  for (int v = 0; v < nvv; v++)
    E("const %s w%d = %s;\n", o->vtype, v,
      V(k, o->load, fmt(k, "ub + %lld + ci * %d", (long long)(v * k->CBI * c * c), c), 0, 0));
  for (int p = 0; p < np; p++) {
    E("{\nconst %s xv = %s;\n", o->vtype, V(k, o->set1, fmt(k, "vb[%d + ci]", p * c), 0, 0));
    for (int v = 0; v < nvv; v++)
      E("a%d_%d = %s;\n", p, v, V(k, o->fma, "xv", fmt(k, "w%d", v), fmt(k, "a%d_%d", p, v)));
    E("}\n");
  }
  E("}\n}\n");
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nvv; v++)
      E("%s;\n", V(k, o->store, fmt(k, "Mx + ((%s + %d) * %d + %d) * %d", t0, p, k->nv, v, c),
                   fmt(k, "a%d_%d", p, v), 0));
  E("}\n");
}

/* One group of nvv output blocks from ob over a strip of T tiles: the 16
 * products, then the output transform and epilogue. */
static void emit_wino_group(const Conv *k, int64_t T, int64_t TW, int nvv) {
  const VecOps *o = &k->t->f32;
  int c = k->c;
  int64_t full = T / k->tp * k->tp;
  E("for (int xi = 0; xi < 16; xi++) {\n"
    "const float *Vx = V + xi * %lld;\n"
    "const float *Ux = x1 + (xi * %lld + ob) * %lld;\n"
    "float *Mx = Mt + xi * %lld;\n",
    (long long)(k->CBI * T * c), (long long)k->MB, (long long)(k->CBI * c * c),
    (long long)(T * k->nv * c));
  if (full) {
    E("for (long t0 = 0; t0 < %lld; t0 += %d)\n", (long long)full, k->tp);
    emit_wino_gemm_tile(k, T, nvv, k->tp, "t0");
  }
  if (T > full)
    emit_wino_gemm_tile(k, T, nvv, (int)(T - full), fmt(k, "%lld", (long long)full));
  E("}\n");
  /* Output transform. */
  E("for (long t = 0; t < %lld; t++) {\n"
    "const long oh = (th0 + t / %lld) * 2, ow = t %% %lld * 2;\n"
    "const float *mt = Mt + t * %d;\n",
    (long long)T, (long long)TW, (long long)TW, k->nv * c);
  for (int v = 0; v < nvv; v++) {
    E("{\n");
    for (int x = 0; x < 16; x++)
      E("const %s m%d = %s;\n", o->vtype, x,
        V(k, o->load, fmt(k, "mt + %lld", (long long)(x * T * k->nv * c + v * c)), 0, 0));
    for (int j = 0; j < 4; j++) /* rows: A^T M */
      E("const %s r0_%d = %s, r1_%d = %s;\n", o->vtype, j,
        V(k, o->add, V(k, o->add, fmt(k, "m%d", j), fmt(k, "m%d", 4 + j), 0), fmt(k, "m%d", 8 + j), 0),
        j, V(k, o->sub, V(k, o->sub, fmt(k, "m%d", 4 + j), fmt(k, "m%d", 8 + j), 0), fmt(k, "m%d", 12 + j), 0));
    const char *bias = k->bias ? V(k, o->load, fmt(k, "x2 + (ob + %d) * %d", v, c), 0, 0) : NULL;
    if (bias)
      E("const %s bv = %s;\n", o->vtype, bias);
    for (int a = 0; a < 2; a++) {
      if (a == 1 && k->OH % 2)
        E("if (oh + 1 < %lld) {\n", (long long)k->OH);
      for (int b = 0; b < 2; b++) {
        if (b == 1 && k->OW % 2)
          E("if (ow + 1 < %lld) {\n", (long long)k->OW);
        const char *val =
            b == 0 ? V(k, o->add, V(k, o->add, fmt(k, "r%d_0", a), fmt(k, "r%d_1", a), 0), fmt(k, "r%d_2", a), 0)
                   : V(k, o->sub, V(k, o->sub, fmt(k, "r%d_1", a), fmt(k, "r%d_2", a), 0), fmt(k, "r%d_3", a), 0);
        if (bias)
          val = V(k, o->add, val, "bv", 0);
        E("{\nconst %s y%d%d = %s;\n", o->vtype, a, b, val);
        store_final(k, fmt(k, "y%d%d", a, b), v,
                    fmt(k, "(ob + %d) * %lld + ((oh + %d) * %lld + ow + %d) * %d", v,
                        (long long)(k->OH * k->OW * c), a, (long long)k->OW, b, c));
        E("}\n");
        if (b == 1 && k->OW % 2)
          E("}\n");
      }
      if (a == 1 && k->OH % 2)
        E("}\n");
    }
    E("}\n");
  }
  E("}\n");
}

/* A strip of nr tile rows from tile row th0: its input transform, then its
 * output groups (with `blocks`, groups [g0, g1) only). */
static void emit_wino_strip(const Conv *k, int64_t nr, int64_t TW, bool blocks) {
  const VecOps *o = &k->t->f32;
  int c = k->c;
  int64_t T = nr * TW;
  /* Input transform. */
  E("for (long cb = 0; cb < %lld; cb++) {\n"
    "const float *xb = X + cb * %lld;\n"
    "float *vb = V + cb * %lld;\n"
    "for (long t = 0; t < %lld; t++) {\n"
    "const long ih0 = (th0 + t / %lld) * 2 - %lld, iw0 = t %% %lld * 2 - %lld;\n",
    (long long)k->CBI, (long long)(k->IH * k->IW * c), (long long)(T * c), (long long)T,
    (long long)TW, (long long)k->PH, (long long)TW, (long long)k->PW);
  for (int i = 0; i < 4; i++)
    E("%s d%d_0, d%d_1, d%d_2, d%d_3;\n", o->vtype, i, i, i, i);
  E("if (ih0 >= 0 && ih0 + 4 <= %lld && iw0 >= 0 && iw0 + 4 <= %lld) {\n"
    "const float *xp = xb + (ih0 * %lld + iw0) * %d;\n",
    (long long)k->IH, (long long)k->IW, (long long)k->IW, c);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      E("d%d_%d = %s;\n", i, j, V(k, o->load, fmt(k, "xp + %lld", (long long)((i * k->IW + j) * c)), 0, 0));
  E("} else {\n");
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      E("d%d_%d = (unsigned long)(ih0 + %d) < %lluul && (unsigned long)(iw0 + %d) < %lluul ? %s : %s;\n",
        i, j, i, (unsigned long long)k->IH, j, (unsigned long long)k->IW,
        V(k, o->load, fmt(k, "xb + ((ih0 + %d) * %lld + iw0 + %d) * %d", i, (long long)k->IW, j, c), 0, 0),
        o->zero);
  E("}\n");
  static const char *const rows[4][2] = {{"0", "2"}, {"1", "2"}, {"2", "1"}, {"1", "3"}};
  for (int i = 0; i < 4; i++) /* B^T d: rows */
    for (int j = 0; j < 4; j++)
      E("const %s e%d_%d = %s;\n", o->vtype, i, j,
        V(k, i == 1 ? o->add : o->sub, fmt(k, "d%s_%d", rows[i][0], j), fmt(k, "d%s_%d", rows[i][1], j), 0));
  for (int i = 0; i < 4; i++) /* (B^T d) B: columns */
    for (int j = 0; j < 4; j++)
      E("%s;\n", V(k, o->store, fmt(k, "vb + %lld + t * %d", (long long)((i * 4 + j) * k->CBI * T * c), c),
                   V(k, j == 1 ? o->add : o->sub, fmt(k, "e%d_%s", i, rows[j][0]), fmt(k, "e%d_%s", i, rows[j][1]), 0),
                   0));
  E("}\n}\n");
  /* The output groups: all of them, or [g0, g1) when the threads split
   * them; the last is short when nv does not divide the blocks. */
  int64_t fullg = k->MB / k->nv;
  int rest = (int)(k->MB - fullg * k->nv);
  if (fullg) {
    E("for (long gi = %s; gi < %s; gi++) {\n"
      "const long ob = gi * %d;\n",
      blocks ? "g0" : "0", blocks ? fmt(k, "(g1 < %lld ? g1 : %lld)", (long long)fullg, (long long)fullg)
                              : fmt(k, "%lld", (long long)fullg), k->nv);
    emit_wino_group(k, T, TW, k->nv);
    E("}\n");
  }
  if (rest) {
    E("%s{\nconst long ob = %lld;\n",
      blocks ? fmt(k, "if (g0 <= %lld && %lld < g1) ", (long long)fullg, (long long)fullg) : "",
      (long long)(fullg * k->nv));
    emit_wino_group(k, T, TW, rest);
    E("}\n");
  }
}

static bool simd_conv_wino(Emitter *e, Graph *g, Node *n) {
  Conv kk, *k = &kk;
  conv_setup(k, e, g, n);
  CD_ASSERT(g->values[n->in[1]].layout.kind == LAYOUT_WWINO && k->ib == k->c && k->nv >= 1 &&
            k->tp >= 1);
  Wino w;
  wino_sched(g, n, e->t, &w);
  int64_t c = k->c, T = w.R * w.TW, last = w.TH - (w.NS - 1) * w.R;
  if (w.blocks) /* units: n * NG + group; each image's share of them */
    E("for (long n = s0 / %lld; n < %lld && n * %lld < s1; n++) {\n"
      "const long g0 = s0 > n * %lld ? s0 - n * %lld : 0;\n"
      "const long g1 = s1 < (n + 1) * %lld ? s1 - n * %lld : %lld;\n"
      "const long th0 = 0;\n",
      (long long)w.NG, (long long)k->N, (long long)w.NG, (long long)w.NG, (long long)w.NG,
      (long long)w.NG, (long long)w.NG, (long long)w.NG);
  else /* units: n * NS + strip */
    E("for (long u = s0; u < s1; u++) {\n"
      "const long n = u / %lld, th0 = u %% %lld * %lld;\n",
      (long long)w.NS, (long long)w.NS, (long long)w.R);
  E("const float *X = x0 + n * %lld;\n"
    "float *Y = y0 + n * %lld;\n"
    "float *V = sc;\n"
    "float *Mt = V + %lld;\n",
    (long long)(k->CBI * k->IH * k->IW * c), (long long)(k->MB * k->OH * k->OW * c),
    (long long)(16 * k->CBI * T * c));
  if (n->ep.residual >= 0)
    E("const float *R = r + n * %lld;\n", (long long)(k->MB * k->OH * k->OW * c));
  if (last < w.R) {
    E("if (th0 + %lld <= %lld) {\n", (long long)w.R, (long long)w.TH);
    emit_wino_strip(k, w.R, w.TW, w.blocks);
    E("} else {\n");
    emit_wino_strip(k, last, w.TW, w.blocks);
    E("}\n");
  } else {
    emit_wino_strip(k, w.R, w.TW, w.blocks);
  }
  E("}\n");
  return true;
}

const KernelConfig kc_conv_wino = {
    .name = "conv_wino",
    .x = DT_FLOAT, .w = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = conv_wino_runs,
    .tile = conv_wino_tile,
    .split = conv_wino_split,
    .emit = simd_conv_wino,
    .scratch = conv_wino_scratch,
    .tag = "wino",
};

const KernelConfig kc_conv_blocked = {
    .name = "conv_blocked",
    .x = DT_FLOAT, .w = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = conv_blocked_runs,
    .can = conv_blocked_can,
    .tile = conv_blocked_tile,
    .split = conv_blocked_split,
    .emit = simd_conv_blocked,
    .prelude = "/* Zeros the compiler cannot see through: kernels offset pointers by them\n"
               " * to keep it from merging loads it should not keep live (simd_conv.c). */\n"
               "static volatile long cd_zero[" STR(ZERO_LEN) "];\n\n",
    .wants = wants_prelude,
};

const KernelConfig kc_conv_glanes = {
    .name = "conv_glanes",
    .x = DT_FLOAT, .w = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR | KC_BLOCKED,
    .runs = conv_glanes_runs,
    .tile = conv_glanes_tile,
    .split = conv_glanes_split,
    .emit = simd_conv_glanes,
};
