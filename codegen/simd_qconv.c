/*
 * simd_qconv.c — the int8 convolutions.  First the 1x1 one: QLinearConv with a 1x1 kernel,
 * stride 1, no padding, group 1, u8 or s8 activations and constant s8 weights,
 * on a target with an 8-bit dot product (Target.i8: AVX-512 VNNI's
 * vpdpbusd, four u8 x s8 products summed into each int32 lane, exactly;
 * on avx2 two vpmaddwd of the bytes split into 16-bit words, as exact;
 * on neon four s8 x s8 products, SDOT or widening multiplies, see
 * target_neon.c).
 *
 * The activations are NCHW, so the four channels a lane multiplies are
 * P bytes apart.  Each strip of tile_p pixels is therefore packed first,
 * once for all output channels: per group of four channels k and vector
 * of 16 pixels v, the target's interleave4 makes the vector whose lane i
 * holds channels 4k..4k+3 of pixel i (xp[k][v], on the stack: C / 4 x
 * tile_p / 16 vectors, at most 32 KiB for QC_MAX_C channels); the missing
 * channels of a last partial group and the pixels past a partial strip are
 * zeros, and nothing past the row is read.  Then each register tile of
 * tile_c output channels x tile_p pixels accumulates over k: one vector
 * load of xp per pixel vector, one broadcast of the four weights
 * W[m][4k..4k+3] per channel, tile_c x tile_p / 16 dot products.
 *
 * Zero points are folded, as the sum expands:
 *   sum_c (x - xz)(w - wz[m]) + B[m]
 *     = sum_c x w  -  wz[m] sum_c x  +  (B[m] - xz sum_c w + C xz wz[m])
 * the last term a constant per channel (kb[], computed here in int64 and
 * required to fit int32), the middle one a dot product of the strip with
 * ones (only when some wz is not 0; in a last partial group of four
 * channels, ones only where the channels are).  s8 activations become u8
 * as they are packed, x + 128 (the top bit flipped), with the zero point
 * xz + 128: x - xz is unchanged, so is every sum.  On a target whose dot
 * product multiplies s8 by s8 (VecOps.dot_s8: neon, whose SDOT has no u8
 * x s8 form) it is the other way: u8 activations become s8, x - 128 (the
 * same flip), with the zero point xz - 128; the missing channels' and
 * pixels' bytes, flipped too, meet zero weights or are not stored, and
 * the sum with ones is of the flipped bytes, as the zero point is
 * (qc_flip, qconsts).  The int32 result is the
 * interpreter's accumulator exactly.  It is then requantized as quant.h's
 * cd_requantize does, in the target's fp32 vector operations: (float)acc
 * times the channel's multiplier (cd_multiplier, computed here, one
 * rounding), rounded half to even, plus the zero point, clamped to the
 * output type's range in float, converted (exact: an integer in range),
 * and its low bytes stored (masked for a partial vector).  A target with
 * cvtrn (avx512) clamps first, to [lo - zp, hi - zp] (integers, so the
 * rounding of the clamped value is the clamped rounding), rounds in the
 * conversion and adds the zero point as an integer: one instruction fewer
 * an output vector (ResNeXt-50's 53 int8 convs 23.67 -> 23.32 ms, gcc 12;
 * its grouped 3x3s 4-8 %).  So every output
 * is the interpreter's bits, on any number of threads (they split the
 * strips, each packing its own).
 *
 * Strided 1x1 convs (ResNet's downsampling ones) of narrow output rows
 * are this family too on a target with interleave4x: a table gx of each output pixel's input offset
 * (the strips' padding 0, a valid offset) and one dword gather a channel
 * row and pixel vector pack them (qc_gathers: the last pixel's 4 bytes in
 * the row).  In the KxK family a strip was one output row: ResNeXt-50's
 * 1024 -> 2048 7x7 one used 7 of 16 lanes, 1.23 ms; here 0.74 (gcc 12).
 *
 * The second family here (qconv_*, "KxK, strided, grouped" below) takes
 * the other QLinearConvs: any kernel, strides, padding and groups, with
 * the same constants, epilogue and splits.
 *
 * On avx2 (8 lanes, 16 registers, target_x86.c's avx2 int8 table) both
 * families run unchanged but for the tiles (QC_MR16 ...) and the KxK
 * weights, split ahead into even and odd 16-bit words (dot4w).  Measured
 * with `cardinal run MODEL --profile --runs 50`, best of 3, one Zen 4 core
 * shared with other work (runs vary by 10-15 %), gcc 12, the QLinearConv
 * kernel alone (GOP/s: 2 ops a MAC): 1x1 256 -> 1024 at 14x14 0.73-0.81
 * ms (127-140; avx512 0.26, 392; the fp32 conv on avx2 0.92, 112); 3x3
 * 64 -> 64 at 56x56 1.62 ms (143; avx512 0.62, 373; fp32 avx2 2.17, 106);
 * grouped 3x3 128 -> 128 in 32 groups at 56x56 0.42-0.47 ms (61-68;
 * avx512 0.165, 175; fp32 avx2 0.334, 86: slower than fp32, the
 * 4-channel groups bound by the packing and the requantization, not the
 * dot products).  gcc's TER spilled the unrolled taps' products (the
 * kernels' attribute turns it off, see target_x86.c): 3x3 1.96 ms and
 * grouped 0.51 with it.
 *
 * On neon (4 lanes, 32 registers) both families run with avx512's tiles
 * (16 channels by one vector, of 4 pixels here), untuned: no AArch64
 * machine measured them yet, and qemu-user, which runs their tests, says
 * nothing of speed.  The KxK family there takes kernels up to 4 wide at
 * stride 1 and 8 at stride 2 (ResNet's 3x3s and 7x7 stem); wider ones
 * stay scalar.
 */
#include "../compiler/cardinal.h"
#include "../compiler/quant.h"

#include <math.h>
#include <stdlib.h>

#define E(...) cw(e->w, __VA_ARGS__)

#define QC_MAX_C 2048 /* the packed strip (tile_p x C bytes) stays within 64 KiB of stack */
/* The register tile: 16 output channels x 1 vector of 16 pixels, 16
 * accumulators beside the input, the weight and the pixel sum.  Measured
 * on a 256 -> 1024 channel 14x14 layer (cardinal bench, one core): 12 x 2
 * (24 accumulators), 8 x 3 and 6 x 4 ran as fast with clang 14 (0.40 ms)
 * but gcc 12 made 12 x 2 0.58 ms and this one 0.36 ms. */
#define QC_MR 16 /* output channels a tile */
#define QC_NV 1  /* vectors of pixels a tile (the strip) */
/* Small images (ResNeXt-50's 7x7 stage, 49 pixels) take one strip of all
 * their pixel vectors and fewer channels, QC_SMALL_ACC accumulators: with
 * strips of one vector the weights (2 MiB for 1024 -> 2048) were read once
 * a strip, four times.  Measured on ResNeXt-50's three 1024 -> 2048 7x7
 * layers (one Zen 4 core, gcc 12, best of 3 runs, summed): 16 x 1 (the
 * tile above) 2.41 ms, 6 channels x 4 vectors 2.10, 8 x 2 2.23, 12 x 2
 * 2.49; later (best of 6, with the downsampling one, 4 x 4 ... 5 x 4):
 * 24 accumulators 2.10 + 0.73, 20 2.03 + 0.69 (clang 14 2.15 -> 2.10),
 * 16 2.18.  (Then the 2048-channel ones took two vectors, the strip in
 * 64 KiB: 10 x 2 as fast as 12 x 2; now see QC_EXTRA and QC_MAX_XP.) */
#define QC_SMALL_NV 4   /* up to this many pixel vectors: one strip */
#define QC_SMALL_ACC 20 /* accumulators of such a tile */
/* A small image of a few pixels past whole vectors (7x7: 3 x 16 + 1) on a
 * target with hsum takes the whole vectors as its strip and the pixels
 * past them (Schedule.extra, at most this many) as dot products along the
 * channels: per tile channel, the channel's weight row (in L1 after the
 * tile's k loop) against the pixel's column of C bytes, packed once a
 * strip, summed across the lanes at the end.  A fourth vector of 1 pixel
 * in 16 cost a quarter of the tile's dot products: ResNeXt-50's four
 * 1024 -> 2048 channel 7x7 layers (conv3s, downsampling) (one Zen 4 core, gcc
 * 12, thread CPU time on a shared machine) 0.72-0.77 ms each with 5 x 64
 * tiles, 0.62-0.65 with 6 x 48 and the 49th pixel so. */
#define QC_EXTRA 3
/* Bytes of the packed strip xp on the stack (`build` reports the stack
 * the kernels need): 96 KiB let ResNeXt-50's 2048-channel 7x7 layers take
 * three whole vectors and the 49th pixel as the others do (0.67-0.73 ->
 * 0.59-0.63 ms each, measured as the extra pixels were) instead of two
 * strips of two vectors, the second half empty. */
#define QC_MAX_XP (96 << 10)
/* The one-vector tiles prefetch each weight row this many bytes ahead (a
 * tile's 16 rows, C bytes apart, are 16 streams, reread every strip from
 * L2).  ResNeXt-50's 53 int8 convs (one Zen 4 core, gcc 12, best of 6):
 * none 23.30 ms, 64 bytes 22.89, 128 22.86-22.99, 256 (3 runs) 23.24; 12 x 2 and
 * 6 x 4 tiles lost with it (their layers' 2.18 -> 2.31 ms at 256).  One
 * prefetch a k step, of row k mod 16 (a line holds 16 steps of a row),
 * instead of one a row a step: the 53 convs 22.83 -> 22.61 ms (sums of
 * per-kernel minima over 3 alternating runs, thread CPU time). */
#define QC_PREFETCH 128
/* On 16 registers (avx2) 16 accumulators leave none for the operands, and
 * its dot product takes four more (the halves of the split pixels and
 * weights).  Measured on the 256 -> 1024 14x14 layer (one Zen 4 core, gcc
 * 12, GOP/s): 8 x 1 vectors 107, 12 x 1 106, 4 x 2 131, 6 x 2 130, 5 x 3
 * 131, 3 x 3 138, 4 x 3 136-140, 3 x 4 and 4 x 4 140, 2 x 4 129: four
 * channels by three vectors, the weights' split shared by three.  The KxK
 * tiles (one vector) on a 64-channel 3x3 at 56x56: 4 channels 98, 6 111,
 * 8 119, 10 116, 12 113. */
#define QC_MR16 4  /* 1x1: output channels a tile on 16 registers */
#define QC_NV16 3  /* 1x1: vectors of pixels a tile on 16 registers */
#define QK_MR16 8  /* KxK: output channels a tile on 16 registers */

static bool qc_wide(const Target *t) { return target_i8_wide(t); }

/* The per-channel constants of n: kb[M] (B - xz sum w + C xz wz), the
 * multipliers mul[M] and the weight zero points wz[M], malloc'd; false
 * when a kb does not fit int32 or a multiplier is not finite. */
typedef struct {
  int32_t *kb, *wz;
  float *mul;
  bool any_wz; /* some wz[m] is not 0 */
} QConsts;

static void qconsts_free(QConsts *k) {
  free(k->kb);
  free(k->wz);
  free(k->mul);
}

/* Whether n's activations are flipped (x ^ 0x80) as they are packed: s8
 * ones for a u8 dot product, u8 ones for an s8 one (Target.i8.dot_s8). */
static bool qc_flip(const Graph *g, const Node *n, const Target *t) {
  return (g->values[n->in[0]].dtype == DT_INT8) != (t->i8.dot_s8 != 0);
}

static bool qconsts(const Graph *g, const Node *n, const Target *t, QConsts *k) {
  const QuantParams *q = n->p.q;
  const Value *w = &g->values[n->in[3]];
  const int8_t *W = w->data;
  const int32_t *B = node_has_input(n, 8) ? g->values[n->in[8]].data : NULL;
  int64_t M = w->dims[0], C = w->dims[1] * w->dims[2] * w->dims[3]; /* the sum's terms */
  /* the zero point as packed: s8 flipped to u8 (+ 128), or u8 to s8 (- 128) */
  int64_t xz = q[0].zero[0] + (qc_flip(g, n, t) ? q[0].dtype == DT_INT8 ? 128 : -128 : 0);
  k->kb = malloc(sizeof(int32_t) * (size_t)M);
  k->wz = malloc(sizeof(int32_t) * (size_t)M);
  k->mul = malloc(sizeof(float) * (size_t)M);
  CD_ASSERT(k->kb && k->wz && k->mul);
  k->any_wz = false;
  bool ok = true;
  for (int64_t m = 0; m < M; m++) {
    int64_t j = q[1].n > 1 ? m : 0, sw = 0;
    for (int64_t c = 0; c < C; c++)
      sw += W[m * C + c];
    int64_t kb = (B ? B[m] : 0) - xz * sw + C * xz * q[1].zero[j];
    k->kb[m] = (int32_t)kb;
    k->wz[m] = q[1].zero[j];
    k->any_wz |= q[1].zero[j] != 0;
    k->mul[m] = cd_multiplier(q[0].scale[0], q[1].scale[j], q[2].scale[0]);
    ok = ok && kb >= INT32_MIN && kb <= INT32_MAX && isfinite(k->mul[m]);
  }
  return ok;
}

/* A strided 1x1 conv (ResNet's downsampling ones) of output rows of at
 * most half a vector packs its strips with the target's interleave4x,
 * reading 4 bytes at each pixel's offset: taken when the last pixel's 4
 * bytes are within a channel's rows.  Wider rows take the KxK family
 * (strips of one output row, the even bytes of loaded rows): ResNeXt-50's
 * 28- and 14-wide downsampling convs ran 0.94 and 0.95 ms gathering, 0.69
 * and 0.78 there (one Zen 4 core, gcc 12, thread CPU time on a shared
 * machine); the 7-wide one is as fast either way. */
static bool qc_gathers(const Graph *g, const Node *n, const Target *t) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  if (!t->i8.interleave4x || x->rank != 4 || y->rank != 4 || 2 * y->dims[3] > t->i8.lanes)
    return false;
  int64_t last = (y->dims[2] - 1) * p->stride[1] * x->dims[3] + (y->dims[3] - 1) * p->stride[2];
  return last + 3 < x->dims[2] * x->dims[3];
}

static bool qconv1x1_runs(const Graph *g, const Node *n, const Target *t) {
  if (n->op != OP_QLINEARCONV || n->p.group != 1 || !conv_is_pointwise(&n->p) || n->p.nsp != 2)
    return false;
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[3]];
  const Value *y = &g->values[n->out[0]];
  if (!conv_flat_pixels(n) && !qc_gathers(g, n, t))
    return false;
  int b = n->nin > 8 ? n->in[8] : -1;
  if ((x->dtype != DT_UINT8 && x->dtype != DT_INT8) || x->rank != 4 || x->layout.kind != LAYOUT_PLAIN || y->layout.kind != LAYOUT_PLAIN ||
      w->dtype != DT_INT8 || !w->data || w->layout.kind != LAYOUT_PLAIN || x->dims[1] > QC_MAX_C ||
      !absent_or_const(g, b))
    return false;
  QConsts k;
  bool ok = qconsts(g, n, t, &k);
  qconsts_free(&k);
  return ok;
}

static void qconv1x1_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  s->tile_c = qc_wide(t) ? QC_MR : QC_MR16;
  s->tile_p = (qc_wide(t) ? QC_NV : QC_NV16) * t->i8.lanes;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t P = y->dims[2] * y->dims[3], C4 = (x->dims[1] + 3) / 4, L = t->i8.lanes;
  int64_t nv = (P + L - 1) / L;
  while (nv > 1 && C4 * nv * L * 4 > QC_MAX_XP)
    nv--;
  if (qc_wide(t) && nv > 1 && P <= QC_SMALL_NV * L) { /* one strip (two past QC_MAX_XP) */
    if (t->i8.hsum && P % L && P % L <= QC_EXTRA && C4 * (P / L) * L * 4 <= QC_MAX_XP) {
      nv = P / L; /* the whole vectors, and the rest along the channels */
      s->extra = (int)(P % L);
    }
    s->tile_p = (int)(nv * L);
    s->tile_c = QC_SMALL_ACC / (int)nv;
  }
}

/* static const T name[n] = {...}; */
static bool emit_table(Emitter *e, const char *type, const char *name, const int32_t *iv,
                       const float *fv, int64_t n) {
  if (!cw_room(e->w, sat_mul(n, 20)))
    return false;
  E("static const %s %s[%lld] = {", type, name, (long long)n);
  for (int64_t i = 0; i < n; i++)
    E("%s%s%s", i ? "," : "", i % 8 ? " " : "\n", iv ? cw_int(e->w, iv[i]) : cw_float(e->w, fv[i]));
  E("};\n");
  return true;
}

int qc_quads_open(Emitter *e, int64_t C, int part) {
  int64_t full = C / 4;
  int bytes = part ? (int)(C % 4) : 4;
  if (part ? bytes == 0 : full == 0)
    return 0;
  if (part)
    E("{\nconst long k = %lld;\n", (long long)full);
  else
    E("for (long k = 0; k < %lld; k++) {\n", (long long)full);
  return bytes;
}

/* Packs the strip at p0 (a C expression): nv pixel vectors, the last of
 * last_lanes pixels, into xp[C4][nv]; with zero points of w, its pixel
 * sums into sx0.. */
static void pack_strip(Emitter *e, const Node *n, int64_t C, int64_t P, int nv, int last_lanes,
                       bool any_wz, bool flip, bool gather) {
  const VecOps *iv = &e->t->i8;
  int L = iv->lanes;
  int64_t C4 = (C + 3) / 4;
  (void)n;
  E("%s xp[%lld][%d];\n", iv->vtype, (long long)C4, nv);
  for (int v = 0; v < nv && gather; v++) /* the pixels' offsets in a channel */
    E("const %s gi%d = %s;\n", iv->vtype, v, cw_op(e->w, iv->load, cw_fmt(e->w, "gx + p0 + %d", v * L), 0, 0));
  for (int v = 0; v < nv && any_wz; v++)
    E("%s sx%d = %s;\n", iv->vtype, v, iv->zero);
  for (int part = 0; part < 2; part++) {
    int rows = qc_quads_open(e, C, part);
    if (!rows)
      continue;
    for (int v = 0; v < nv; v++) {
      const char *r[4];
      for (int j = 0; j < 4; j++)
        r[j] = j < rows ? gather ? cw_fmt(e->w, "X + (4 * k + %d) * %lld", j, (long long)P)
                                 : cw_fmt(e->w, "X + (4 * k + %d) * %lld + p0 + %d", j,
                                          (long long)P, v * L)
                        : NULL;
      E("{\n");
      const char *il = gather ? iv->interleave4x(e->w, r, cw_fmt(e->w, "gi%d", v))
                              : iv->interleave4(e->w, r, v == nv - 1 ? last_lanes : L);
      E("xp[k][%d] = %s;\n", v,
        flip ? cw_op(e->w, iv->xor_, il, cw_op(e->w, iv->set1, "(int)0x80808080", 0, 0), 0) : il);
      if (any_wz) /* ones in the real channels' bytes */
        E("sx%d = %s;\n", v,
          cw_op(e->w, iv->dot4, cw_fmt(e->w, "sx%d", v), cw_fmt(e->w, "xp[k][%d]", v),
                cw_op(e->w, iv->set1,
                      rows == 4 ? "0x01010101" : rows == 3 ? "0x010101" : rows == 2 ? "0x0101" : "0x01",
                      0, 0)));
      E("}\n");
    }
    E("}\n");
  }
}

/* Output rows packed into one vector (the KxK family's narrow images):
 * rp rows of OW pixels, row r in lanes [r seg, r seg + OW), of OH rows. */
typedef struct {
  int rp;
  int64_t seg, OW, OH;
} QRows;

/* The requantizing epilogue of a register tile: accumulators a<i>_<v> of
 * mr channels from m0 (a C expression) x nv pixel vectors, stored to
 * Y + channel * P + p0: with row_step 0 the vectors of a strip (the last of
 * `last` lanes, a C expression), else output rows row_step apart of `last`
 * lanes each. */
static void emit_requant(Emitter *e, int64_t P, int mr, const char *m0, int nv, int64_t row_step,
                         const char *last, const QRows *rows, bool any_wz, bool addkb, int32_t zp,
                         int32_t lo, int32_t hi) {
  const VecOps *iv = &e->t->i8, *fv = target_i8_f32(e->t);
  int L = iv->lanes;
  CWriter *w = e->w;
  bool rn = iv->cvtrn != NULL; /* clamp, round in the conversion, then + zp */
  const char *flo = cw_op(w, fv->set1, cw_float(w, rn ? lo - zp : lo), 0, 0);
  const char *fhi = cw_op(w, fv->set1, cw_float(w, rn ? hi - zp : hi), 0, 0);
  for (int i = 0; i < mr; i++)
    for (int v = 0; v < nv; v++) {
      const char *a = cw_fmt(w, "a%d_%d", i, v);
      E("{\n");
      if (addkb)
        E("%s = %s;\n", a,
          cw_op(w, iv->add, a, cw_op(w, iv->set1, cw_fmt(w, "kb[%s + %d]", m0, i), 0, 0), 0));
      if (any_wz)
        E("%s = %s;\n", a,
          cw_op(w, iv->sub, a,
                cw_op(w, iv->mul, cw_op(w, iv->set1, cw_fmt(w, "wz[%s + %d]", m0, i), 0, 0),
                      cw_fmt(w, "sx%d", v), 0),
                0));
      E("%s f = %s;\n", fv->vtype, cw_op(w, iv->cvtf, a, 0, 0));
      E("f = %s;\n", cw_op(w, fv->mul, "f", cw_op(w, fv->set1, cw_fmt(w, "qm[%s + %d]", m0, i), 0, 0), 0));
      if (!rn) {
        E("f = %s;\n", cw_op(w, fv->round, "f", 0, 0));
        E("f = %s;\n", cw_op(w, fv->add, "f", "yz", 0));
      }
      E("f = %s;\n", cw_op(w, fv->min, cw_op(w, fv->max, "f", flo, 0), fhi, 0));
      E("const %s yv = %s;\n", iv->vtype,
        rn ? cw_op(w, iv->add, cw_op(w, iv->cvtrn, "f", 0, 0),
                   cw_op(w, iv->set1, cw_int(w, zp), 0, 0), 0)
           : cw_op(w, iv->cvti, "f", 0, 0));
      if (rows && rows->rp > 1) { /* lanes [r seg, r seg + OW) are output row oh0 + r */
        for (int r = 0; r < rows->rp; r++)
          E("if (oh0 + %d < %lld) %s;\n", r, (long long)rows->OH,
            cw_op(w, iv->store8m,
                  cw_fmt(w, "Y + (%s + %d) * %lld + p0 + %lld", m0, i, (long long)P,
                         (long long)(r * (rows->OW - rows->seg))),
                  "yv", cw_fmt(w, "0x%llxu", (((1ull << rows->OW) - 1) << (r * rows->seg)))));
      } else
        E("%s;\n", cw_op(w, iv->store8, cw_fmt(w, "Y + (%s + %d) * %lld + p0 + %lld", m0, i,
                                               (long long)P, (long long)v * (row_step ? row_step : L)),
                         "yv", row_step || v == nv - 1 ? last : cw_int(w, L)));
      E("}\n");
    }
}

/* One register tile: mr channels from m0 (a C expression) x the strip's
 * nv vectors. */
static void emit_tile(Emitter *e, const Node *n, int64_t C, int64_t P, int mr, const char *m0,
                      int nv, int last_lanes, bool any_wz, int32_t lo, int32_t hi) {
  const VecOps *iv = &e->t->i8;
  CWriter *w = e->w;
  E("{\n");
  for (int i = 0; i < mr; i++)
    for (int v = 0; v < nv; v++)
      E("%s a%d_%d = %s;\n", iv->vtype, i, v,
        nv > 1 ? iv->zero /* kb added after: gcc 12 merged equal starts, then copied */
               : cw_op(w, iv->set1, cw_fmt(w, "kb[%s + %d]", m0, i), 0, 0));
  for (int part = 0; part < 2; part++) {
    int bytes = qc_quads_open(e, C, part);
    if (!bytes)
      continue;
    for (int v = 0; v < nv; v++)
      E("const %s xv%d = xp[k][%d];\n", iv->vtype, v, v);
    /* one base pointer, the rows at constant offsets: a pointer a row took
     * mr registers, and gcc reloaded them from the stack */
    E("const int8_t *wk = x3 + %s * %lld + 4 * k;\n", m0, (long long)C);
    if (!part && nv == 1) /* see QC_PREFETCH */
      E("__builtin_prefetch(wk + (k & 15) * %lld + %d, 0, 3);\n", (long long)C, QC_PREFETCH);
    for (int i = 0; i < mr; i++) {
      E("{\nint32_t wq = 0;\nmemcpy(&wq, wk + %lld, %d);\n", (long long)(i * C), bytes);
      E("const %s wv = %s;\n", iv->vtype, cw_op(w, iv->set1, "wq", 0, 0));
      for (int v = 0; v < nv; v++) {
        const char *a = cw_fmt(w, "a%d_%d", i, v);
        E("%s = %s;\n", a, cw_op(w, iv->dot4, a, cw_fmt(w, "xv%d", v), "wv"));
      }
      E("}\n");
    }
    E("}\n");
  }
  emit_requant(e, P, mr, m0, nv, 0, cw_int(w, last_lanes), NULL, any_wz, nv > 1, n->p.q[2].zero[0],
               lo, hi);
  /* The pixels past the strip (Schedule.extra): per channel, its weight
   * row against the pixel's packed column, summed across the lanes, then
   * quant.h's cd_requantize (the bits of emit_requant's). */
  int B = 4 * iv->lanes;
  int64_t Cf = C / B * B;
  for (int j = 0; j < n->sched.extra; j++)
    for (int i = 0; i < mr; i++) {
      E("{\n%s h = %s;\nconst int8_t *wr = x3 + (%s + %d) * %lld;\n", iv->vtype, iv->zero, m0, i,
        (long long)C);
      if (Cf)
        E("for (long c = 0; c < %lld; c += %d)\nh = %s;\n", (long long)Cf, B,
          cw_op(w, iv->dot4, "h", cw_op(w, iv->load, cw_fmt(w, "xc[%d] + c", j), 0, 0),
                cw_op(w, iv->load, "wr + c", 0, 0)));
      if (C > Cf)
        E("h = %s;\n",
          cw_op(w, iv->dot4, "h", cw_op(w, iv->load, cw_fmt(w, "xc[%d] + %lld", j, (long long)Cf), 0, 0),
                cw_op(w, iv->loadrow4, cw_fmt(w, "wr + %lld", (long long)Cf),
                      cw_fmt(w, "0x%llxull", (unsigned long long)((1ull << (C - Cf)) - 1)), "0")));
      E("const int32_t acc = %s + kb[%s + %d]%s;\n", cw_op(w, iv->hsum, "h", 0, 0), m0, i,
        any_wz ? cw_fmt(w, " - wz[%s + %d] * sxc[%d]", m0, i, j) : "");
      E("Y[(%s + %d) * %lld + %d] = (%s)cd_requantize(acc, qm[%s + %d], %d, %d, %d);\n}\n", m0, i,
        (long long)P, n->sched.tile_p + j, dtype_ctype(n->p.q[2].dtype), m0, i,
        (int)n->p.q[2].zero[0], (int)lo, (int)hi);
    }
  E("}\n");
}

/*
 * The channel chunks of a strip: when an image has fewer strips than there
 * are threads (ResNeXt-50's 7x7 stage: 49 pixels, one strip), the units
 * threads split are (strip, chunk of channel tiles) pairs, each packing its
 * strip: 1 where the strips alone give every thread work.  Chunk ch takes
 * the whole tiles [ch TF / MC, (ch + 1) TF / MC) and the last one also the
 * partial tile.  The split and the emitter both ask here.  ResNeXt-50's
 * 2048-channel 7x7 layers on 2 threads (Zen 4, gcc 12, a shared machine):
 * 0.81-1.28 ms each on thread 0 alone before, 0.38 ms split.
 */
static int64_t qc_strips(const Graph *g, const Node *n) {
  const Value *y = &g->values[n->out[0]];
  int64_t P = y->dims[2] * y->dims[3] - n->sched.extra;
  return y->dims[0] * ((P + n->sched.tile_p - 1) / n->sched.tile_p);
}

static int64_t qc_chunks(const Graph *g, const Node *n) {
  int64_t T = g->threads > 1 ? g->threads : 1, S = qc_strips(g, n);
  int64_t tiles = g->values[n->out[0]].dims[1] / n->sched.tile_c; /* whole ones */
  if (S >= T || tiles < 2)
    return 1;
  int64_t mc = (T + S - 1) / S;
  return mc < tiles ? mc : tiles;
}

/* One strip of nv pixel vectors at p0: packed, then every channel tile of
 * its chunk ch (of MC). */
static void emit_strip(Emitter *e, const Node *n, int64_t C, int64_t M, int64_t P, int64_t HW,
                       int nv, int last_lanes, bool any_wz, int32_t lo, int32_t hi, int64_t MC) {
  int MR = n->sched.tile_c;
  int64_t Mf = M / MR * MR, TF = M / MR;
  bool flip = qc_flip(e->g, n, e->t);
  pack_strip(e, n, C, HW, nv, last_lanes, any_wz, flip, HW != P);
  if (n->sched.extra) { /* each extra pixel's column of C bytes, zeros past C */
    int B = 4 * e->t->i8.lanes;
    E("uint8_t xc[%d][%lld];\nmemset(xc, 0, sizeof xc);\n", n->sched.extra,
      (long long)((C + B - 1) / B * B));
    if (any_wz)
      E("int32_t sxc[%d] = {0};\n", n->sched.extra);
    for (int j = 0; j < n->sched.extra; j++) {
      int p = n->sched.tile_p + j;
      E("for (long c = 0; c < %lld; c++) {\n"
        "xc[%d][c] = (uint8_t)(X[c * %lld + %s]%s);\n%s"
        "}\n",
        (long long)C, j, (long long)HW, HW != P ? cw_fmt(e->w, "gx[%d]", p) : cw_int(e->w, p),
        flip ? " ^ 0x80" : "", any_wz ? cw_fmt(e->w, "sxc[%d] += xc[%d][c];\n", j, j) : "");
    }
  }
  if (Mf) {
    if (MC > 1)
      E("for (long m0 = ch * %lld / %lld * %d; m0 < (ch + 1) * %lld / %lld * %d; m0 += %d)\n",
        (long long)TF, (long long)MC, MR, (long long)TF, (long long)MC, MR, MR);
    else
      E("for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)Mf, MR);
    emit_tile(e, n, C, P, MR, "m0", nv, last_lanes, any_wz, lo, hi);
  }
  if (M > Mf) {
    if (MC > 1)
      E("if (ch == %lld)\n", (long long)(MC - 1));
    emit_tile(e, n, C, P, (int)(M - Mf), cw_int(e->w, Mf), nv, last_lanes, any_wz, lo, hi);
  }
}

static bool qconv1x1_emit(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const QuantParams *q = n->p.q;
  int64_t C = x->dims[1], M = y->dims[1], P = y->dims[2] * y->dims[3];
  int64_t HW = x->dims[2] * x->dims[3]; /* P but for a strided conv */
  int L = e->t->i8.lanes, NR = n->sched.tile_p;
  int64_t Pm = P - n->sched.extra, Pf = Pm / NR * NR; /* the strips' pixels, whole strips' */
  int64_t lo, hi;
  CD_ASSERT(dtype_io_as_float(q[2].dtype, &lo, &hi));
  QConsts k;
  CD_ASSERT(qconsts(g, n, e->t, &k)); /* runs() checked */
  bool ok = emit_table(e, "int32_t", "kb", k.kb, NULL, M) &&
            emit_table(e, "float", "qm", NULL, k.mul, M) &&
            (!k.any_wz || emit_table(e, "int32_t", "wz", k.wz, NULL, M));
  bool any_wz = k.any_wz;
  qconsts_free(&k);
  if (ok && HW != P) { /* strided: each output pixel's input offset, the strips' padding 0 */
    int64_t np = (P + NR - 1) / NR * NR, OW = y->dims[3];
    int32_t *gx = calloc((size_t)np, sizeof(int32_t));
    CD_ASSERT(gx);
    for (int64_t i = 0; i < P; i++)
      gx[i] = (int32_t)(i / OW * n->p.stride[1] * x->dims[3] + i % OW * n->p.stride[2]);
    ok = emit_table(e, "int32_t", "gx", gx, NULL, np);
    free(gx);
  }
  if (!ok)
    return true; /* over the code budget: the emitter says so */
  if (node_has_input(n, 8))
    E("(void)x8; /* the bias is in kb */\n");
  if (!e->t->i8.cvtrn) /* else the epilogue adds the integer */
    E("const %s yz = %s;\n", target_i8_f32(e->t)->vtype,
      cw_op(e->w, target_i8_f32(e->t)->set1, cw_float(e->w, (float)q[2].zero[0]), 0, 0));
  int64_t S = (Pm + NR - 1) / NR, MC = qc_chunks(g, n); /* units: (strip, chunk) of an image */
  E("for (long u = s0; u < s1; u++) {\n"
    "const long ch = u %% %lld, b = u / %lld / %lld, p0 = u / %lld %% %lld * %d;\n"
    "(void)ch;\n"
    "const uint8_t *X = (const uint8_t *)x0 + b * %lld;\n"
    "%s *Y = y0 + b * %lld;\n",
    (long long)MC, (long long)MC, (long long)S, (long long)MC, (long long)S, NR,
    (long long)(C * HW), dtype_ctype(q[2].dtype),
    (long long)(M * P));
  if (Pf) {
    E("%s{\n", Pm > Pf ? cw_fmt(e->w, "if (p0 < %lld) ", (long long)Pf) : "");
    emit_strip(e, n, C, M, P, HW, NR / L, L, any_wz, (int32_t)lo, (int32_t)hi, MC);
    E("}\n");
  }
  if (Pm > Pf) {
    int64_t rest = Pm - Pf;
    int nv = (int)((rest + L - 1) / L), last = (int)(rest - (int64_t)(nv - 1) * L);
    E("%s{\n", Pf ? "else " : "");
    emit_strip(e, n, C, M, P, HW, nv, last, any_wz, (int32_t)lo, (int32_t)hi, MC);
    E("}\n");
  }
  E("}\n");
  return true;
}

/* Threads split the strips of tile_p pixels of every image (and their
 * channel chunks, qc_chunks): each packs its own strips, and no sum is
 * split, so every thread count gives the same bits. */
static SplitAxis qconv1x1_split(const Graph *g, const Node *n, const Target *t, int T,
                                int64_t *units) {
  (void)t;
  (void)T; /* g->threads: qc_chunks */
  *units = qc_strips(g, n) * qc_chunks(g, n);
  return SPLIT_TILES;
}

/* ------------------------------------------------------ KxK, strided, grouped */

/*
 * The general family: QLinearConv with any KH x KW kernel (KW <= 16, and
 * at most the lanes at stride 1, twice them at stride 2: a tap's shift is
 * alignr's constant, below the lanes), horizontal stride 1 or 2 (any
 * vertical stride), any padding, dilation 1, any group count.  A KxK conv is the sum over taps (kh, kw) of 1x1 convs
 * of shifted inputs, so a strip is 16 consecutive output pixels of one
 * output row (ow0..ow0+15, the last strip of a row partial), and per group,
 * per quad of its input channels k and kernel row kh, the input row ih =
 * oh SH - PH + kh is packed once into xr[k][kh][..]: for stride 1 two
 * vectors of quads (input columns iw0..iw0+31, iw0 = ow0 - PW), so tap kw
 * is lanes kw..kw+15 of the pair (one alignr); for stride 2 the even and
 * the odd columns of iw0..iw0+63 apart (E0 O0 E1 O1: vpmovwb of 32 bytes,
 * and of them shifted right by 8), so tap kw is lanes kw/2.. of the even
 * or the odd pair.  Only the vectors the taps read are packed.
 *
 * Padding is exact through the folded zero points: every byte a tap reads
 * outside the image is the activations' zero point (masked loads with the
 * zero point as the fill; a row outside the image is all zero point), so
 * x - xz = 0 there, as the interpreter skips it, and kb, sx (over every
 * tap, pad bytes included) and the per-channel constants are those of the
 * 1x1 kernel with C -> Cg KH KW.  Input columns outside the image are
 * never read (the loads' masks, per strip), nor are rows outside it.
 *
 * Each register tile of up to QC_MR output channels of one group loops
 * over its group's quads and kernel rows, and per tap makes the tap vector
 * once and one dot product per channel with the broadcast 4 weights of
 * wq[m][k][kh][kw] (packed here, a partial quad's missing channels 0).
 * Threads split the strips (N x OH x ceil(OW / 16)); each packs its own.
 *
 * Narrow images at stride 1 (2 OW + KW - 1 <= 16: ResNeXt's 7x7 stage)
 * put rp rows in a strip instead: output row oh0 + r in lanes r seg ..
 * r seg + OW - 1 (seg = OW + KW - 1, a padded input row), each input row
 * merged into the packed bytes by its own masked load, so the taps are
 * still one alignr; the lanes between rows are computed, not stored (one
 * masked store a row).  The 1024-channel 7x7 layer below ran 0.162 ms
 * with 7 of 16 lanes a strip, 0.095 with 14.
 *
 * The packing of a row is interleave4x2: 32 pixels of four channel rows in
 * 6 shuffles (two il4_512 take 22; the grouped 3x3 below ran 0.203 ms with
 * them).  Measured with `cardinal run MODEL --profile --runs 50`, one Zen 4
 * core, gcc 12, against vpdpbusd's measured peak of 460 GOP/s (one zmm a
 * cycle at 3.6 GHz): ResNeXt-50's grouped 3x3s (32 groups) 128 ch 56x56
 * 0.166 ms (174 GOP/s, 38 %), 256 ch stride 2 0.148 (42 %), 256 ch 28x28
 * 0.112 (56 %), 512 ch 14x14 0.094 (67 %), 1024 ch 7x7 0.095 (66 %); the
 * 7x7 stride-2 stem 3 -> 64 at 224x224 0.791 ms (298 GOP/s, 65 %; the
 * fp32 conv 2.03 ms); clang 14 the same within 5 % (the machine is
 * shared: single runs vary by up to 15 %).  The small groups are bound by instructions, not by the dot
 * products' latency: with 4 channels a group, 16 outputs take 9 dot
 * products and about as many instructions of requantization, plus the
 * packing; two accumulators a channel (even and odd taps) ran no faster.
 */

/* One group's packed rows xr, on the stack: Cg4 x KH x (2 or 4) vectors;
 * 64 KiB holds a 3x3 of 512 channels a group (ResNet-50's largest), and
 * of up to 1024 at stride 1 with 1x1 kernels. */
#define QK_MAX_STACK (64 << 10)
/* The packed weights wq are a table in the generated C (about 12 bytes of
 * source an entry), except for 1x1 kernels on whole quads, which read the
 * plain weights (x3) as the 1x1 family does; past this many entries the
 * node stays scalar (ResNeXt-50's largest, 1024 channels in 32 groups, has
 * 73,728; ResNet-50's 512-channel 3x3 589,824).  A target with dot4w (avx2)
 * takes each quad split ahead, two entries. */
#define QK_MAX_TABLE (1 << 20)

typedef struct {
  int64_t N, C, IH, IW, M, OH, OW, KH, KW, SH, SW, PH, PW, G, Cg, Mg, Cg4;
  int nr; /* packed vectors a (quad, kernel row): stride 1 x0 x1, stride 2 E0 O0 E1 O1 */
  QRows rows; /* rp output rows a strip (stride 1, OW + KW - 1 + OW <= lanes), else 1 */
  int R;      /* output rows a tile, each its own vector (rp 1): QK_ROWS */
  int mr;     /* output channels a (whole) tile */
  int64_t KHR; /* input rows packed a quad: (R - 1) SH + KH */
} QK;

/* Output rows a tile takes (a strip of one row: rp 1) when its channels
 * leave registers free: R rows share each broadcast weight and each
 * packed input row (KH + (R - 1) SH rows packed for R KH row uses), so
 * small groups spend fewer instructions a dot product.  At most this
 * many, and a divisor of OH (no partial block of rows); a tile of half
 * the channels takes them if the whole one leaves no room.  ResNeXt-50's
 * grouped 3x3s (one Zen 4 core, gcc 12, thread CPU time on a shared
 * machine): 128 ch 56x56 (4 x 4 rows) 0.171 -> 0.133 ms, 256 ch 28x28
 * (8 x 3) 0.120 -> 0.107, 512 ch 14x14 (8 x 2 instead of 16 x 1) 0.108 ->
 * 0.100; the sixteen 2.18 -> 1.99 ms; avx2's (16 registers) unchanged. */
#define QK_ROWS 4

static void qk_setup(const Graph *g, const Node *n, const Target *t, QK *k) {
  int L = t->i8.lanes;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  k->N = x->dims[0], k->C = x->dims[1], k->IH = x->dims[2], k->IW = x->dims[3];
  k->M = y->dims[1], k->OH = y->dims[2], k->OW = y->dims[3];
  k->KH = p->kernel[1], k->KW = p->kernel[2], k->SH = p->stride[1], k->SW = p->stride[2];
  k->PH = p->pad0[1], k->PW = p->pad0[2];
  k->G = p->group, k->Cg = k->C / k->G, k->Mg = k->M / k->G, k->Cg4 = (k->Cg + 3) / 4;
  k->nr = k->SW == 1 ? (k->KW > 1 ? 2 : 1) : (int)(k->KW < 4 ? k->KW : 4);
  k->rows.seg = k->OW + k->KW - 1, k->rows.OW = k->OW, k->rows.OH = k->OH;
  int64_t rp = k->SW == 1 ? (L + k->KW - 1) / k->rows.seg : 1;
  k->rows.rp = (int)(rp < 1 ? 1 : rp > k->OH ? k->OH : rp);
  /* registers: mr x R accumulators, R taps, a broadcast weight, a spare */
  int regs = qc_wide(t) ? 32 : 16, MR = qc_wide(t) ? QC_MR : QK_MR16;
  int mr = k->Mg < MR ? (int)k->Mg : MR;
  k->mr = mr, k->R = 1;
  for (; k->rows.rp == 1 && k->R == 1 && mr >= 4; mr /= 2) /* half the channels, more rows */
    for (int R = QK_ROWS; R > 1 && k->R == 1; R--)
      if (k->OH % R == 0 && mr * R + R + 2 <= regs)
        k->mr = mr, k->R = R;
  k->KHR = (k->R - 1) * k->SH + k->KH;
}

/* A quad of s8 weights (byte j of q weight j) split as dot4w takes it:
 * w[0] weights 0 and 2, w[1] 1 and 3, each sign-extended to a 16-bit
 * word (the even one low). */
static void qconv_wsplit(uint32_t q, int32_t w[2]) {
  for (int h = 0; h < 2; h++) {
    uint32_t lo = (uint16_t)(int16_t)(int8_t)(q >> (8 * h));
    uint32_t hi = (uint16_t)(int16_t)(int8_t)(q >> (8 * h + 16));
    w[h] = (int32_t)(lo | hi << 16);
  }
}

/* Whether the tiles read the plain weights x3 (1x1 kernels on whole quads:
 * W[m][4k..4k+3] are wq[m][k]), not a table. */
static bool qk_direct(const QK *k) { return k->KH * k->KW == 1 && k->Cg % 4 == 0; }

static bool qconv_runs(const Graph *g, const Node *n, const Target *t) {
  if (n->op != OP_QLINEARCONV || n->p.nsp != 2 || !t->i8.alignr || !t->i8.interleave4x2)
    return false;
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[3]];
  const Value *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  int b = n->nin > 8 ? n->in[8] : -1;
  if ((x->dtype != DT_UINT8 && x->dtype != DT_INT8) || x->rank != 4 || y->rank != 4 ||
      x->layout.kind != LAYOUT_PLAIN || y->layout.kind != LAYOUT_PLAIN || w->dtype != DT_INT8 ||
      !w->data || w->layout.kind != LAYOUT_PLAIN || w->rank != 4 || !absent_or_const(g, b) ||
      p->q[0].n != 1 || p->dilation[1] != 1 || p->dilation[2] != 1 ||
      (p->stride[2] != 1 && p->stride[2] != 2) || p->kernel[2] > 16 ||
      p->kernel[2] > p->stride[2] * t->i8.lanes || p->group < 1)
    return false;
  QK k;
  qk_setup(g, n, t, &k);
  if (k.C % k.G || k.M % k.G || k.Cg4 * k.KHR * k.nr * t->i8.lanes * 4 > QK_MAX_STACK ||
      (!qk_direct(&k) && k.M * k.Cg4 * k.KH * k.KW * (t->i8.dot4w ? 2 : 1) > QK_MAX_TABLE))
    return false;
  QConsts c;
  bool ok = qconsts(g, n, t, &c);
  qconsts_free(&c);
  return ok;
}

static void qconv_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  QK k;
  qk_setup(g, n, t, &k);
  s->tile_c = k.mr;
  s->tile_p = t->i8.lanes;
}

static SplitAxis qconv_split(const Graph *g, const Node *n, const Target *t, int T,
                             int64_t *units) {
  (void)T;
  QK k;
  qk_setup(g, n, t, &k);
  int64_t L = n->sched.tile_p;
  int64_t U = k.rows.rp * k.R; /* output rows a unit */
  *units = k.N * ((k.OH + U - 1) / U) * ((k.OW + L - 1) / L);
  return SPLIT_TILES;
}

/* Tap kw of the packed row xr[k][kh + dr]. */
static const char *qk_tap(Emitter *e, const QK *k, int64_t dr, int kw) {
  int lo = k->SW == 1 ? 0 : kw & 1, hi = k->SW == 1 ? 1 : 2 + (kw & 1);
  int sh = k->SW == 1 ? kw : kw >> 1;
  const char *row = dr ? cw_fmt(e->w, "kh + %lld", (long long)dr) : "kh";
  if (sh == 0)
    return cw_fmt(e->w, "xr[k][%s][%d]", row, lo);
  return cw_op(e->w, e->t->i8.alignr, cw_fmt(e->w, "xr[k][%s][%d]", row, hi),
               cw_fmt(e->w, "xr[k][%s][%d]", row, lo), cw_int(e->w, sh));
}

static const char *ones_of(int rows) {
  return rows == 4 ? "0x01010101" : rows == 3 ? "0x010101" : rows == 2 ? "0x0101" : "0x01";
}

/* Stores the two vectors interleave4x2 made into xr[k][kh][v0] and
 * [v0 + 2 step] (those below nr; step 0: [v0], [v0 + 1]). */
static void qk_store_pair(Emitter *e, const QK *k, const char *const r[4], int v0, int step) {
  const char *out[2];
  E("{\n");
  e->t->i8.interleave4x2(e->w, r, out);
  for (int h = 0; h < 2; h++) {
    int v = v0 + h * (step ? 2 : 1);
    if (v < k->nr)
      E("xr[k][kh][%d] = %s;\n", v, out[h]);
    else
      E("(void)%s;\n", out[h]);
  }
  E("}\n");
}

/* xr[k][kh] of a strip of one output row (oh, iw0, mk0 in scope): the
 * input row's columns from iw0 (masked: the zero point outside), or all
 * zero point when the row is outside the image. */
static void qk_pack_row(Emitter *e, const QK *k, int rows, const char *fill, uint8_t xraw) {
  const VecOps *iv = &e->t->i8;
  CWriter *w = e->w;
  int64_t HW = k->IH * k->IW;
  const char *r[4];
  E("const long ih = oh * %lld - %lld + kh;\n", (long long)k->SH, (long long)k->PH);
  E("if (ih >= 0 && ih < %lld) {\n", (long long)k->IH);
  E("const uint8_t *R = Xg + 4 * k * %lld + ih * %lld + iw0;\n", (long long)HW,
    (long long)k->IW);
  if (k->SW == 1) {
    for (int j = 0; j < 4; j++)
      r[j] = j < rows ? cw_op(w, iv->loadrow2, cw_fmt(w, "R + %lld", (long long)(j * HW)), "mk0",
                              fill)
                      : NULL;
    qk_store_pair(e, k, r, 0, 0);
  } else {
    for (int j = 0; j < rows; j++)
      E("const %s r%d = %s;\n", iv->rtype4, j,
        cw_op(w, iv->loadrow4, cw_fmt(w, "R + %lld", (long long)(j * HW)), "mk0", fill));
    for (int odd = 0; odd < 2 && odd < k->nr; odd++) { /* E0 E1, then O0 O1 */
      for (int j = 0; j < 4; j++)
        r[j] = j < rows ? cw_op(w, odd ? iv->odds : iv->evens, cw_fmt(w, "r%d", j), 0, 0) : NULL;
      qk_store_pair(e, k, r, odd, 1);
    }
  }
  E("} else {\n");
  for (int v = 0; v < k->nr; v++)
    E("xr[k][kh][%d] = %s;\n", v,
      cw_op(w, iv->set1, cw_fmt(w, "(int)0x%08xu", (unsigned)xraw * 0x01010101u), 0, 0));
  E("}\n");
}

/* xr[k][kh] of a strip of rp output rows from oh0 (stride 1): row r's
 * padded input row in lanes r seg.., merged by masked loads into rows of
 * the zero point. */
static void qk_pack_rows(Emitter *e, const QK *k, int rows, const char *fill) {
  const VecOps *iv = &e->t->i8;
  CWriter *w = e->w;
  const QRows *q = &k->rows;
  int64_t HW = k->IH * k->IW;
  uint64_t cols = ((1ull << k->IW) - 1) << k->PW; /* a padded row's real columns */
  const char *r[4];
  for (int j = 0; j < rows; j++)
    E("%s rr%d = %s;\n", iv->rtype2, j, cw_op(w, iv->rfill2, fill, 0, 0));
  for (int rr = 0; rr < q->rp; rr++) {
    E("{\nconst long ih = (oh0 + %d) * %lld - %lld + kh;\n", rr, (long long)k->SH,
      (long long)k->PH);
    E("if (oh0 + %d < %lld && ih >= 0 && ih < %lld) {\n", rr, (long long)k->OH,
      (long long)k->IH);
    for (int j = 0; j < rows; j++)
      E("rr%d = %s;\n", j,
        cw_op(w, iv->loadrow2m,
              cw_fmt(w, "Xg + (4 * k + %d) * %lld + ih * %lld - %lld", j, (long long)HW,
                     (long long)k->IW, (long long)(k->PW + rr * q->seg)),
              cw_fmt(w, "0x%llxu", (unsigned long long)(cols << (rr * q->seg))),
              cw_fmt(w, "rr%d", j)));
    E("}\n}\n");
  }
  for (int j = 0; j < 4; j++)
    r[j] = j < rows ? cw_fmt(w, "rr%d", j) : NULL;
  qk_store_pair(e, k, r, 0, 0);
}

/* Packs the group's rows into xr (Xg, oh0 and the row helpers' names in
 * scope); with zero points of w, the strip's sums over every tap into sx0. */
static void qk_pack(Emitter *e, const QK *k, uint8_t xraw, bool any_wz, bool flip) {
  const VecOps *iv = &e->t->i8;
  CWriter *w = e->w;
  const char *fill = cw_int(w, xraw);
  E("%s xr[%lld][%lld][%d];\n", iv->vtype, (long long)k->Cg4, (long long)k->KHR, k->nr);
  for (int r = 0; any_wz && r < k->R; r++)
    E("%s sx%d = %s;\n", iv->vtype, r, iv->zero);
  for (int part = 0; part < 2; part++) {
    int rows = qc_quads_open(e, k->Cg, part);
    if (!rows)
      continue;
    E("for (long kh = 0; kh < %lld; kh++) {\n", (long long)k->KHR);
    if (k->rows.rp > 1)
      qk_pack_rows(e, k, rows, fill);
    else
      qk_pack_row(e, k, rows, fill, xraw);
    for (int v = 0; flip && v < k->nr; v++)
      E("xr[k][kh][%d] = %s;\n", v,
        cw_op(w, iv->xor_, cw_fmt(w, "xr[k][kh][%d]", v),
              cw_op(w, iv->set1, "(int)0x80808080", 0, 0), 0));
    for (int r = 0; any_wz && r < k->R; r++) { /* row r's taps: packed rows r SH .. */
      E("if (kh >= %lld && kh < %lld) {\n", (long long)(r * k->SH),
        (long long)(r * k->SH + k->KH));
      for (int kw = 0; kw < k->KW; kw++)
        E("sx%d = %s;\n", r, cw_op(w, iv->dot4, cw_fmt(w, "sx%d", r), qk_tap(e, k, 0, kw),
                                   cw_op(w, iv->set1, ones_of(rows), 0, 0)));
      E("}\n");
    }
    E("}\n}\n");
  }
}

/* One register tile: mr channels of the group from mb (in scope) x the
 * unit's R output rows. */
static void qk_tile(Emitter *e, const QK *k, int mr, bool any_wz, int32_t zp, int32_t lo,
                    int32_t hi) {
  const VecOps *iv = &e->t->i8;
  CWriter *w = e->w;
  int64_t KK = k->KH * k->KW, WM = k->Cg4 * KK; /* wq entries a channel */
  E("{\n");
  for (int i = 0; i < mr; i++)
    for (int r = 0; r < k->R; r++)
      E("%s a%d_%d = %s;\n", iv->vtype, i, r,
        cw_op(w, iv->set1, cw_fmt(w, "kb[mb + %d]", i), 0, 0));
  E("for (long k = 0; k < %lld; k++)\n", (long long)k->Cg4);
  E("for (long kh = 0; kh < %lld; kh++) {\n", (long long)k->KH);
  if (qk_direct(k))
    E("const int8_t *wk = x3 + mb * %lld + 4 * k;\n(void)kh;\n", (long long)k->Cg);
  else
    E("const int32_t *wk = wq + ((mb * %lld + k) * %lld + kh * %lld) * %d;\n", (long long)k->Cg4,
      (long long)KK, (long long)k->KW, iv->dot4w ? 2 : 1);
  for (int kw = 0; kw < k->KW; kw++) {
    E("{\n");
    for (int r = 0; r < k->R; r++) /* row r reads packed rows r SH .. */
      E("const %s xt%d = %s;\n", iv->vtype, r, qk_tap(e, k, r * k->SH, kw));
    for (int i = 0; i < mr; i++) {
      const char *wv = NULL;
      if (qk_direct(k)) {
        E("int32_t w%d;\nmemcpy(&w%d, wk + %lld, 4);\n", i, i, (long long)(i * k->Cg));
        wv = cw_fmt(w, "w%d", i);
      } else if (!iv->dot4w)
        wv = cw_fmt(w, "wk[%lld]", (long long)(i * WM + kw));
      if (wv) /* one broadcast for the R rows */
        E("{\nconst %s wv = %s;\n", iv->vtype, cw_op(w, iv->set1, wv, 0, 0));
      for (int r = 0; r < k->R; r++) {
        const char *a = cw_fmt(w, "a%d_%d", i, r), *xt = cw_fmt(w, "xt%d", r);
        E("%s = %s;\n", a,
          wv ? cw_op(w, iv->dot4, a, xt, "wv") /* the pair split ahead: */
             : cw_op(w, iv->dot4w, a, xt, cw_fmt(w, "wk + %lld", (long long)(2 * (i * WM + kw)))));
      }
      if (wv)
        E("}\n");
    }
    E("}\n");
  }
  E("}\n");
  emit_requant(e, k->OH * k->OW, mr, "mb", k->R, k->R > 1 ? k->OW : 0, "nl", &k->rows, any_wz,
               false, zp, lo, hi);
  E("}\n");
}

static bool qconv_emit(Emitter *e, Graph *g, Node *n) {
  const VecOps *iv = &e->t->i8;
  const QuantParams *q = n->p.q;
  const Value *wv = &g->values[n->in[3]];
  const int8_t *W = wv->data;
  QK k;
  qk_setup(g, n, e->t, &k);
  int L = iv->lanes, MR = n->sched.tile_c;
  CD_ASSERT(n->sched.tile_p == L);
  int64_t lo, hi, KK = k.KH * k.KW;
  CD_ASSERT(dtype_io_as_float(q[2].dtype, &lo, &hi));
  QConsts c;
  CD_ASSERT(qconsts(g, n, e->t, &c)); /* runs() checked */
  int64_t nwq = qk_direct(&k) ? 1 : k.M * k.Cg4 * KK;
  int32_t *wq = calloc((size_t)nwq, sizeof(int32_t));
  CD_ASSERT(wq);
  for (int64_t m = 0; m < k.M && !qk_direct(&k); m++)
    for (int64_t ci = 0; ci < k.Cg; ci++)
      for (int64_t t = 0; t < KK; t++) {
        uint32_t byte = (uint8_t)W[(m * k.Cg + ci) * KK + t];
        int32_t *d = &wq[(m * k.Cg4 + ci / 4) * KK + t];
        *d = (int32_t)((uint32_t)*d | byte << (8 * (ci % 4)));
      }
  if (iv->dot4w && !qk_direct(&k)) { /* each quad as the pair dot4w reads */
    int32_t *sp = calloc((size_t)nwq * 2, sizeof(int32_t));
    CD_ASSERT(sp);
    for (int64_t i = 0; i < nwq; i++)
      qconv_wsplit((uint32_t)wq[i], sp + 2 * i);
    free(wq);
    wq = sp;
  }
  bool ok = emit_table(e, "int32_t", "kb", c.kb, NULL, k.M) &&
            emit_table(e, "float", "qm", NULL, c.mul, k.M) &&
            (!c.any_wz || emit_table(e, "int32_t", "wz", c.wz, NULL, k.M)) &&
            (qk_direct(&k) || emit_table(e, "int32_t", "wq", wq, NULL, nwq * (iv->dot4w ? 2 : 1)));
  bool any_wz = c.any_wz;
  qconsts_free(&c);
  free(wq);
  if (!ok)
    return true; /* over the code budget: the emitter says so */
  bool flip = qc_flip(g, n, e->t);
  uint8_t xraw = (uint8_t)q[0].zero[0]; /* the zero point's byte as stored */
  if (!qk_direct(&k))
    E("(void)x3; /* packed in wq */\n");
  if (node_has_input(n, 8))
    E("(void)x8; /* the bias is in kb */\n");
  if (!e->t->i8.cvtrn) /* else the epilogue adds the integer */
    E("const %s yz = %s;\n", target_i8_f32(e->t)->vtype,
      cw_op(e->w, target_i8_f32(e->t)->set1, cw_float(e->w, (float)q[2].zero[0]), 0, 0));
  int64_t SR = (k.OW + L - 1) / L, U = k.rows.rp * k.R; /* strips a row, rows a unit */
  int64_t OHB = (k.OH + U - 1) / U;
  E("for (long u = s0; u < s1; u++) {\n"
    "const long b = u / %lld, oh0 = u / %lld %% %lld * %lld, ow0 = u %% %lld * %d;\n"
    "const uint8_t *X = (const uint8_t *)x0 + b * %lld;\n"
    "%s *Y = y0 + b * %lld;\n"
    "const long p0 = oh0 * %lld + ow0;\n",
    (long long)(OHB * SR), (long long)SR, (long long)OHB, (long long)U, (long long)SR, L,
    (long long)(k.C * k.IH * k.IW), dtype_ctype(q[2].dtype), (long long)(k.M * k.OH * k.OW),
    (long long)k.OW);
  if (k.rows.rp == 1) {
    int width = (int)k.SW * 2 * L; /* the input columns a strip reads from iw0 */
    E("const long oh = oh0, iw0 = ow0 * %lld - %lld;\n"
      "const unsigned nl = %lld - ow0 < %d ? (unsigned)(%lld - ow0) : %du;\n",
      (long long)k.SW, (long long)k.PW, (long long)k.OW, L, (long long)k.OW, L);
    E("uint64_t mk0;\n{\nconst long lo = iw0 < 0 ? -iw0 : 0, "
      "hi = %lld - iw0 < %d ? %lld - iw0 : %d;\n"
      "mk0 = lo < hi ? (hi >= 64 ? ~0ull : (1ull << hi) - 1u) >> lo << lo : 0u;\n}\n",
      (long long)k.IW, width, (long long)k.IW, width);
  } else
    E("(void)ow0; /* 0: %lld rows of %lld pixels a strip */\n", (long long)k.rows.rp,
      (long long)k.OW);
  E("for (long g = 0; g < %lld; g++) {\n", (long long)k.G);
  E("const uint8_t *Xg = X + g * %lld;\n", (long long)(k.Cg * k.IH * k.IW));
  qk_pack(e, &k, xraw, any_wz, flip);
  int64_t Mf = k.Mg / MR * MR;
  if (Mf) {
    E("for (long m0 = 0; m0 < %lld; m0 += %d) {\nconst long mb = g * %lld + m0;\n",
      (long long)Mf, MR, (long long)k.Mg);
    qk_tile(e, &k, MR, any_wz, q[2].zero[0], (int32_t)lo, (int32_t)hi);
    E("}\n");
  }
  if (k.Mg > Mf) {
    E("{\nconst long mb = g * %lld + %lld;\n", (long long)k.Mg, (long long)Mf);
    qk_tile(e, &k, (int)(k.Mg - Mf), any_wz, q[2].zero[0], (int32_t)lo, (int32_t)hi);
    E("}\n");
  }
  E("}\n}\n");
  return true;
}

/* ------------------------------------------------------------ the family's rows */

/* One row per activation and output type (the rows' y picks the target's
 * table): u8 in and out is what ONNX Runtime's static quantizer writes. */
#define QCONV_ROW(var, xt, yt, label)                                            \
  const KernelConfig var = {                                                     \
      .name = label,                                                             \
      .x = xt, .y = yt, /* w: QLinearConv's input 1 is x_scale; runs checks input 3 */ \
      .flags = KC_VECTOR,                                                        \
      .runs = qconv1x1_runs,                                                     \
      .tile = qconv1x1_tile,                                                     \
      .split = qconv1x1_split,                                                   \
      .emit = qconv1x1_emit,                                                     \
  }

QCONV_ROW(kc_qconv1x1_u8s8u8, DT_UINT8, DT_UINT8, "qconv1x1_u8s8u8");
QCONV_ROW(kc_qconv1x1_u8s8s8, DT_UINT8, DT_INT8, "qconv1x1_u8s8s8");
QCONV_ROW(kc_qconv1x1_s8s8u8, DT_INT8, DT_UINT8, "qconv1x1_s8s8u8");
QCONV_ROW(kc_qconv1x1_s8s8s8, DT_INT8, DT_INT8, "qconv1x1_s8s8s8");

/* The general family (KxK, strides 1 and 2, padding, groups): after the
 * 1x1 rows, which keep the pointwise convs. */
#define QCONVK_ROW(var, xt, yt, label)                                           \
  const KernelConfig var = {                                                     \
      .name = label,                                                             \
      .x = xt, .y = yt,                                                          \
      .flags = KC_VECTOR,                                                        \
      .runs = qconv_runs,                                                        \
      .tile = qconv_tile,                                                        \
      .split = qconv_split,                                                      \
      .emit = qconv_emit,                                                        \
  }

QCONVK_ROW(kc_qconv_u8s8u8, DT_UINT8, DT_UINT8, "qconv_u8s8u8");
QCONVK_ROW(kc_qconv_u8s8s8, DT_UINT8, DT_INT8, "qconv_u8s8s8");
QCONVK_ROW(kc_qconv_s8s8u8, DT_INT8, DT_UINT8, "qconv_s8s8u8");
QCONVK_ROW(kc_qconv_s8s8s8, DT_INT8, DT_INT8, "qconv_s8s8s8");
