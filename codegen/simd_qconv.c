/*
 * simd_qconv.c — the int8 1x1 convolution: QLinearConv with a 1x1 kernel,
 * stride 1, no padding, group 1, u8 or s8 activations and constant s8 weights,
 * on a target with an 8-bit dot product (Target.i8: AVX-512 VNNI's
 * vpdpbusd, four u8 x s8 products summed into each int32 lane, exactly).
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
 * xz + 128: x - xz is unchanged, so is every sum.  The int32 result is the
 * interpreter's accumulator exactly.  It is then requantized as quant.h's
 * cd_requantize does, in the target's fp32 vector operations: (float)acc
 * times the channel's multiplier (cd_multiplier, computed here, one
 * rounding), rounded half to even, plus the zero point, clamped to the
 * output type's range in float, converted (exact: an integer in range),
 * and its low bytes stored (masked for a partial vector).  So every output
 * is the interpreter's bits, on any number of threads (they split the
 * strips, each packing its own).
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

static bool qconsts(const Graph *g, const Node *n, QConsts *k) {
  const QuantParams *q = n->p.q;
  const Value *w = &g->values[n->in[3]];
  const int8_t *W = w->data;
  const int32_t *B = n->nin > 8 && n->in[8] >= 0 ? g->values[n->in[8]].data : NULL;
  int64_t M = w->dims[0], C = w->dims[1];
  int64_t xz = q[0].zero[0] + (q[0].dtype == DT_INT8 ? 128 : 0); /* s8: flipped to u8 */
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

static bool qconv1x1_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  if (n->op != OP_QLINEARCONV || n->p.group != 1 || !conv_flat_pixels(n))
    return false;
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[3]];
  const Value *y = &g->values[n->out[0]];
  int b = n->nin > 8 ? n->in[8] : -1;
  if ((x->dtype != DT_UINT8 && x->dtype != DT_INT8) || x->rank != 4 || x->layout.kind != LAYOUT_PLAIN || y->layout.kind != LAYOUT_PLAIN ||
      w->dtype != DT_INT8 || !w->data || w->layout.kind != LAYOUT_PLAIN || x->dims[1] > QC_MAX_C ||
      !absent_or_const(g, b))
    return false;
  QConsts k;
  bool ok = qconsts(g, n, &k);
  qconsts_free(&k);
  return ok;
}

static void qconv1x1_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  (void)g;
  (void)n;
  s->tile_c = QC_MR;
  s->tile_p = QC_NV * t->i8.lanes;
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

/* Packs the strip at p0 (a C expression): nv pixel vectors, the last of
 * last_lanes pixels, into xp[C4][nv]; with zero points of w, its pixel
 * sums into sx0.. */
static void pack_strip(Emitter *e, const Node *n, int64_t C, int64_t P, int nv, int last_lanes,
                       bool any_wz, bool flip) {
  const VecOps *iv = &e->t->i8;
  int L = iv->lanes;
  int64_t C4 = (C + 3) / 4;
  (void)n;
  E("%s xp[%lld][%d];\n", iv->vtype, (long long)C4, nv);
  for (int v = 0; v < nv && any_wz; v++)
    E("%s sx%d = %s;\n", iv->vtype, v, iv->zero);
  for (int part = 0; part < 2; part++) {
    int64_t full = C / 4;
    int rows = part ? (int)(C % 4) : 4; /* the channels of each group */
    if (part ? rows == 0 : full == 0)
      continue;
    if (part)
      E("{\nconst long k = %lld;\n", (long long)full);
    else
      E("for (long k = 0; k < %lld; k++) {\n", (long long)full);
    for (int v = 0; v < nv; v++) {
      const char *r[4];
      for (int j = 0; j < 4; j++)
        r[j] = j < rows ? cw_fmt(e->w, "X + (4 * k + %d) * %lld + p0 + %d", j, (long long)P,
                                 v * L)
                        : NULL;
      E("{\n");
      const char *il = iv->interleave4(e->w, r, v == nv - 1 ? last_lanes : L);
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

/* One register tile: mr channels from m0 (a C expression) x the strip's
 * nv vectors. */
static void emit_tile(Emitter *e, const Node *n, int64_t C, int64_t P, int mr, const char *m0,
                      int nv, int last_lanes, bool any_wz, int32_t lo, int32_t hi) {
  const VecOps *iv = &e->t->i8, *fv = &e->t->f32;
  int L = iv->lanes;
  CWriter *w = e->w;
  E("{\n");
  for (int i = 0; i < mr; i++)
    for (int v = 0; v < nv; v++)
      E("%s a%d_%d = %s;\n", iv->vtype, i, v,
        cw_op(w, iv->set1, cw_fmt(w, "kb[%s + %d]", m0, i), 0, 0));
  for (int part = 0; part < 2; part++) {
    int64_t full = C / 4;
    int bytes = part ? (int)(C % 4) : 4;
    if (part ? bytes == 0 : full == 0)
      continue;
    if (part)
      E("{\nconst long k = %lld;\n", (long long)full);
    else
      E("for (long k = 0; k < %lld; k++) {\n", (long long)full);
    for (int v = 0; v < nv; v++)
      E("const %s xv%d = xp[k][%d];\n", iv->vtype, v, v);
    for (int i = 0; i < mr; i++) {
      E("{\nint32_t wq = 0;\nmemcpy(&wq, x3 + (%s + %d) * %lld + 4 * k, %d);\n", m0, i,
        (long long)C, bytes);
      E("const %s wv = %s;\n", iv->vtype, cw_op(w, iv->set1, "wq", 0, 0));
      for (int v = 0; v < nv; v++) {
        const char *a = cw_fmt(w, "a%d_%d", i, v);
        E("%s = %s;\n", a, cw_op(w, iv->dot4, a, cw_fmt(w, "xv%d", v), "wv"));
      }
      E("}\n");
    }
    E("}\n");
  }
  (void)n;
  const char *flo = cw_op(w, fv->set1, cw_float(w, lo), 0, 0);
  const char *fhi = cw_op(w, fv->set1, cw_float(w, hi), 0, 0);
  for (int i = 0; i < mr; i++)
    for (int v = 0; v < nv; v++) {
      const char *a = cw_fmt(w, "a%d_%d", i, v);
      E("{\n");
      if (any_wz)
        E("%s = %s;\n", a,
          cw_op(w, iv->sub, a,
                cw_op(w, iv->mul, cw_op(w, iv->set1, cw_fmt(w, "wz[%s + %d]", m0, i), 0, 0),
                      cw_fmt(w, "sx%d", v), 0),
                0));
      E("%s f = %s;\n", fv->vtype, cw_op(w, iv->cvtf, a, 0, 0));
      E("f = %s;\n", cw_op(w, fv->mul, "f", cw_op(w, fv->set1, cw_fmt(w, "qm[%s + %d]", m0, i), 0, 0), 0));
      E("f = %s;\n", cw_op(w, fv->round, "f", 0, 0));
      E("f = %s;\n", cw_op(w, fv->add, "f", "yz", 0));
      E("f = %s;\n", cw_op(w, fv->min, cw_op(w, fv->max, "f", flo, 0), fhi, 0));
      E("%s;\n", cw_op(w, iv->store8, cw_fmt(w, "Y + (%s + %d) * %lld + p0 + %d", m0, i,
                                             (long long)P, v * L),
                       cw_op(w, iv->cvti, "f", 0, 0),
                       cw_int(w, v == nv - 1 ? last_lanes : L)));
      E("}\n");
    }
  E("}\n");
}

/* The activations' type (uint8, or int8: flipped as they are packed). */
static DType g_xdtype(const Emitter *e, const Node *n) { return e->g->values[n->in[0]].dtype; }

/* One strip of nv pixel vectors at p0: packed, then every channel tile. */
static void emit_strip(Emitter *e, const Node *n, int64_t C, int64_t M, int64_t P, int nv,
                       int last_lanes, bool any_wz, int32_t lo, int32_t hi) {
  int MR = n->sched.tile_c;
  int64_t Mf = M / MR * MR;
  pack_strip(e, n, C, P, nv, last_lanes, any_wz, g_xdtype(e, n) == DT_INT8);
  if (Mf) {
    E("for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)Mf, MR);
    emit_tile(e, n, C, P, MR, "m0", nv, last_lanes, any_wz, lo, hi);
  }
  if (M > Mf)
    emit_tile(e, n, C, P, (int)(M - Mf), cw_int(e->w, Mf), nv, last_lanes, any_wz, lo, hi);
}

static bool qconv1x1_emit(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const QuantParams *q = n->p.q;
  int64_t C = x->dims[1], M = y->dims[1], P = x->dims[2] * x->dims[3];
  int L = e->t->i8.lanes, NR = n->sched.tile_p;
  int64_t Pf = P / NR * NR;
  int64_t lo, hi;
  CD_ASSERT(dtype_io_as_float(q[2].dtype, &lo, &hi));
  QConsts k;
  CD_ASSERT(qconsts(g, n, &k)); /* runs() checked */
  bool ok = emit_table(e, "int32_t", "kb", k.kb, NULL, M) &&
            emit_table(e, "float", "qm", NULL, k.mul, M) &&
            (!k.any_wz || emit_table(e, "int32_t", "wz", k.wz, NULL, M));
  bool any_wz = k.any_wz;
  qconsts_free(&k);
  if (!ok)
    return true; /* over the code budget: the emitter says so */
  if (n->nin > 8 && n->in[8] >= 0)
    E("(void)x8; /* the bias is in kb */\n");
  E("const %s yz = %s;\n", e->t->f32.vtype,
    cw_op(e->w, e->t->f32.set1, cw_float(e->w, (float)q[2].zero[0]), 0, 0));
  int64_t S = (P + NR - 1) / NR; /* strips an image: the units threads split */
  E("for (long u = s0; u < s1; u++) {\n"
    "const long b = u / %lld, p0 = u %% %lld * %d;\n"
    "const uint8_t *X = (const uint8_t *)x0 + b * %lld;\n"
    "%s *Y = y0 + b * %lld;\n",
    (long long)S, (long long)S, NR, (long long)(C * P), dtype_ctype(q[2].dtype),
    (long long)(M * P));
  if (Pf) {
    E("%s{\n", P > Pf ? cw_fmt(e->w, "if (p0 < %lld) ", (long long)Pf) : "");
    emit_strip(e, n, C, M, P, NR / L, L, any_wz, (int32_t)lo, (int32_t)hi);
    E("}\n");
  }
  if (P > Pf) {
    int64_t rest = P - Pf;
    int nv = (int)((rest + L - 1) / L), last = (int)(rest - (int64_t)(nv - 1) * L);
    E("%s{\n", Pf ? "else " : "");
    emit_strip(e, n, C, M, P, nv, last, any_wz, (int32_t)lo, (int32_t)hi);
    E("}\n");
  }
  E("}\n");
  return true;
}

/* Threads split the strips of tile_p pixels of every image: each packs its
 * own strips, and no sum is split, so every thread count gives the same
 * bits. */
static SplitAxis qconv1x1_split(const Graph *g, const Node *n, const Target *t, int T,
                                int64_t *units) {
  (void)t;
  (void)T;
  const Value *x = &g->values[n->in[0]];
  int64_t P = x->dims[2] * x->dims[3];
  *units = x->dims[0] * ((P + n->sched.tile_p - 1) / n->sched.tile_p);
  return SPLIT_TILES;
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
