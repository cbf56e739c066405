/*
 * kernels_conv.c — scalar kernels for Conv and the pools.
 *
 * Convolutions are written as register-tiled loops with every shape a
 * constant: a pointwise conv is a GEMM (emit_conv1x1), any other conv a
 * direct convolution along output rows (conv_emit).  In both, a tile of
 * output channels x pixels keeps its accumulators in registers across the
 * whole reduction, fixed-length inner loops let -O3 vectorise with whatever
 * SIMD the compiler targets, and the node's epilogue (bias, residual,
 * activation) is applied as the tile is stored, so each output is written
 * once.
 */
#include "../compiler/cardinal.h"

/*
 * A pointwise conv (1x1, stride 1, no padding) is a GEMM per image and
 * group: Y[Mg, P] = W[Mg, Cg] X[Cg, P] with P the pixels.  It is written in
 * register tiles of CONV1X1_MR output channels x CONV1X1_NR pixels: the
 * tile's accumulators stay in registers across the whole Cg reduction, each
 * loaded input row feeds MR channels, and the epilogue (bias, residual,
 * activation) is applied as the tile is stored, so the output is written
 * once.  The pixel loop of fixed length NR vectorises at -O3 with any SIMD
 * the compiler targets.  Pixels and rows past the last full tile take a
 * plain dot-product loop.  A strided 1x1 conv (ResNet's downsampling
 * shortcut) is the same GEMM over the input pixels a compile-time map
 * picks: each tile gathers its NR pixels of a channel once, for MR rows.
 */
#define CONV1X1_MR 8
#define CONV1X1_NR 16

/* 1x1, unpadded; any stride (a strided one reads its pixels through a map). */
static bool is_pointwise(const OpParams *p) {
  for (int s = 0; s < 3; s++)
    if (p->kernel[s] != 1 || p->pad0[s] || p->pad1[s])
      return false;
  return true;
}

/* What a register-tiled conv kernel needs to emit its tiles. */
typedef struct {
  Emitter *e;
  Node *n;
  int64_t M, Mg;     /* output channels, per group */
  bool bias;         /* input 2 is a bias */
  bool strided;      /* pointwise only: pixels read through pix[] */
} Tiles;

/* acc[mr][nr], each row starting from its channel's bias. */
static void emit_tile_init(const Tiles *k, int mr, int64_t nr, const char *m0, int ind) {
  Emitter *e = k->e;
  emit(e, "%*s{\n%*s  float acc[%d][%lld];\n", ind, "", ind, "", mr, (long long)nr);
  emit(e, "%*s  for (long i = 0; i < %d; i++)\n"
          "%*s    for (long j = 0; j < %lld; j++)\n"
          "%*s      acc[i][j] = %s;\n",
       ind, "", mr, ind, "", (long long)nr, ind, "",
       k->bias ? arena_printf(&e->g->arena, "x2[g * %lld + %s + i]", (long long)k->Mg, m0)
               : "0.0f");
}

/* The tile's store, a row at a time: the row's output, residual and channel
 * are fixed before the pixel loop, which stays unit-stride, epilogue and
 * all.  Output row i starts at (m0 + i) * plane + at. */
static void emit_tile_store(const Tiles *k, int mr, int64_t nr, const char *m0,
                            const char *plane, const char *at, int ind) {
  Emitter *e = k->e;
  Node *n = k->n;
  emit(e, "%*s  for (long i = 0; i < %d; i++) {\n"
          "%*s    float *yr = Y + (%s + i) * %s + %s;\n",
       ind, "", mr, ind, "", m0, plane, at);
  if (n->ep.residual >= 0)
    emit(e, "%*s    const long ro = (b * %lld + g * %lld + %s + i) * %s + %s;\n", ind, "",
         (long long)k->M, (long long)k->Mg, m0, plane, at);
  if (n->ep.residual_scale >= 0)
    emit(e, "%*s    const long ch = g * %lld + %s + i;\n", ind, "", (long long)k->Mg, m0);
  emit(e, "%*s    for (long j = 0; j < %lld; j++) {\n"
          "%*s      yr[j] = acc[i][j];\n"
          "%*s      %s\n"
          "%*s    }\n"
          "%*s  }\n"
          "%*s}\n",
       ind, "", (long long)nr, ind, "", ind, "", epilogue_stmt(e, n, "yr[j]", "ro + j", "ch"),
       ind, "", ind, "", ind, "");
}

/*
 * One pointwise tile: mr output channels from m0 x nr pixels from p0 (C
 * expressions), mr and nr compile-time constants.  The full tiles, the
 * rows and pixels past them and the corner all use this same code, so
 * every one of them is an outer-product loop the compiler vectorises (a
 * dot-product loop for the leftovers was slower: GCC gave up vectorising
 * it as soon as an epilogue followed).
 */
static void emit_tile(const Tiles *k, int mr, int64_t nr, const char *m0, const char *p0,
                      int ind) {
  Emitter *e = k->e;
  emit_tile_init(k, mr, nr, m0, ind);
  emit(e, "%*s  for (long c = 0; c < CG; c++) {\n", ind, "");
  if (k->strided)
    emit(e, "%*s    float xr[%lld];\n"
            "%*s    for (long j = 0; j < %lld; j++)\n"
            "%*s      xr[j] = X[c * IP + pix[%s + j]];\n",
         ind, "", (long long)nr, ind, "", (long long)nr, ind, "", p0);
  else
    emit(e, "%*s    const float *xr = X + c * P + %s;\n", ind, "", p0);
  emit(e, "%*s    for (long i = 0; i < %d; i++) {\n"
          "%*s      const float wv = W[(%s + i) * CG + c];\n"
          "%*s      for (long j = 0; j < %lld; j++)\n"
          "%*s        acc[i][j] += wv * xr[j];\n"
          "%*s    }\n"
          "%*s  }\n",
       ind, "", mr, ind, "", m0, ind, "", (long long)nr, ind, "", ind, "", ind, "");
  emit_tile_store(k, mr, nr, m0, "P", p0, ind);
}

static void emit_conv1x1(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = n->p.group;
  int64_t Cg = C / G, Mg = M / G, P = value_numel(y) / (N * M), IP = value_numel(x) / (N * C);
  int64_t Mfull = Mg / CONV1X1_MR * CONV1X1_MR, Pfull = P / CONV1X1_NR * CONV1X1_NR;
  int mt = (int)(Mg - Mfull);       /* channels past the last full tile */
  int64_t pt = P - Pfull;           /* pixels past the last full tile */
  Tiles k = {e, n, M, Mg, n->nin > 2 && n->in[2] >= 0, value_numel(x) / (N * C) != P};
  if (k.strided) {
    int64_t I[3], O[3];
    sp_dims3(x, n->p.nsp, I);
    sp_dims3(y, n->p.nsp, O);
    emit(e, "  static const long pix[%lld] = {", (long long)P);
    int64_t q = 0;
    for (int64_t od = 0; od < O[0]; od++)
      for (int64_t oh = 0; oh < O[1]; oh++)
        for (int64_t ow = 0; ow < O[2]; ow++, q++)
          emit(e, "%s%s%lld", q ? "," : "", q % 16 ? "" : "\n    ",
               (long long)(((od * n->p.stride[0]) * I[1] + oh * n->p.stride[1]) * I[2] +
                           ow * n->p.stride[2]));
    emit(e, "};\n");
  }
  emit(e, "  const long P = %lld, IP = %lld, CG = %lld;\n", (long long)P, (long long)IP,
       (long long)Cg);
  emit(e, "  for (long b = 0; b < %lld; b++)\n"
          "    for (long g = 0; g < %lld; g++) {\n"
          "      const float *X = x0 + (b * %lld + g * CG) * IP;\n"
          "      const float *W = x1 + g * %lld * CG;\n"
          "      float *Y = y0 + (b * %lld + g * %lld) * P;\n",
       (long long)N, (long long)G, (long long)C, (long long)Mg, (long long)M, (long long)Mg);
  char mtail[32], ptail[32];
  snprintf(mtail, sizeof mtail, "%lld", (long long)Mfull);
  snprintf(ptail, sizeof ptail, "%lld", (long long)Pfull);
  /* Pixel tiles outside: a tile's input columns (CG x NR) stay in cache
   * while every channel tile reads them; the weights stream once per
   * pixel tile, NR/MR times less traffic than the other order. */
  if (Pfull) {
    emit(e, "      for (long p0 = 0; p0 < %lld; p0 += %d) {\n", (long long)Pfull, CONV1X1_NR);
    if (Mfull) {
      emit(e, "        for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)Mfull, CONV1X1_MR);
      emit_tile(&k, CONV1X1_MR, CONV1X1_NR, "m0", "p0", 10);
    }
    if (mt)
      emit_tile(&k, mt, CONV1X1_NR, mtail, "p0", 8);
    emit(e, "      }\n");
  }
  if (pt) {
    if (Mfull) {
      emit(e, "      for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)Mfull, CONV1X1_MR);
      emit_tile(&k, CONV1X1_MR, pt, "m0", ptail, 8);
    }
    if (mt)
      emit_tile(&k, mt, pt, mtail, ptail, 6);
  }
  emit(e, "    }\n");
}

/*
 * Every other conv (3x3 grouped or dense, the 7x7 stem, dilated, 1-D and
 * 3-D) is a direct convolution in register tiles, as the pointwise convs
 * are: 4 or 8 output channels of a group x a segment of one output row (up
 * to CONV_CW pixels).  For each input channel and kernel tap the tile
 * gathers its segment of input pixels once (zero where a tap falls in the
 * padding) and updates the MR x segment accumulators, so each gathered
 * pixel feeds MR channels.  Measured against per-tap axpy loops along rows
 * (the kernel this replaced): 1.5x on the stem, 1.4-2.5x on dense 3x3,
 * 3.2x on ResNeXt-50's layer4 grouped 3x3.
 */
#define CONV_CW 64 /* longest row segment one tile covers */

static void emit_conv_tile(const Tiles *k, int mr, int64_t nr, const char *m0,
                           const char *ow0, int ind) {
  Emitter *e = k->e;
  emit_tile_init(k, mr, nr, m0, ind);
  emit(e, "%*s  for (long c = 0; c < CG; c++)\n"
          "%*s    for (long kd = 0; kd < KD; kd++) {\n"
          "%*s      const long id = od * SD - PD + kd * DD;\n"
          "%*s      if (id < 0 || id >= ID)\n"
          "%*s        continue;\n"
          "%*s      for (long kh = 0; kh < KH; kh++) {\n"
          "%*s        const long ih = oh * SH - PH + kh * DH;\n"
          "%*s        const float *xrow, *wk;\n"
          "%*s        if (ih < 0 || ih >= IH)\n"
          "%*s          continue;\n"
          "%*s        xrow = X + ((c * ID + id) * IH + ih) * IW;\n"
          "%*s        wk = W + (((%s) * CG + c) * KD + kd) * KH * KW + kh * KW;\n"
          "%*s        for (long kw = 0; kw < KW; kw++) {\n"
          "%*s          float xv[%lld];\n"
          "%*s          for (long j = 0; j < %lld; j++) {\n",
       ind, "", ind, "", ind, "", ind, "", ind, "", ind, "", ind, "", ind, "", ind, "", ind, "",
       ind, "", ind, "", m0, ind, "", ind, "", (long long)nr, ind, "", (long long)nr);
  emit(e, "%*s            const long iw = (%s + j) * SW - PW + kw * DW;\n"
          "%*s            xv[j] = iw >= 0 && iw < IW ? xrow[iw] : 0.0f;\n",
       ind, "", ow0, ind, "");
  emit(e, "%*s          }\n"
          "%*s          for (long i = 0; i < %d; i++) {\n"
          "%*s            const float wv = wk[i * CG * KD * KH * KW + kw];\n"
          "%*s            for (long j = 0; j < %lld; j++)\n"
          "%*s              acc[i][j] += wv * xv[j];\n"
          "%*s          }\n"
          "%*s        }\n"
          "%*s      }\n"
          "%*s    }\n",
       ind, "", ind, "", mr, ind, "", ind, "", (long long)nr, ind, "", ind, "", ind, "", ind, "",
       ind, "");
  emit_tile_store(k, mr, nr, m0, "OSZ",
                  arena_printf(&e->g->arena, "(od * OH + oh) * OW + %s", ow0), ind);
}

bool conv_emit(Emitter *e, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  if (is_pointwise(p)) {
    emit_conv1x1(e, g, n);
    return true;
  }
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = p->group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t isz = I[0] * I[1] * I[2], osz = O[0] * O[1] * O[2];
  Tiles k = {e, n, M, Mg, n->nin > 2 && n->in[2] >= 0, false};
  emit(e, "  const long ID = %lld, IH = %lld, IW = %lld, OH = %lld, OW = %lld, OSZ = %lld;\n"
          "  const long CG = %lld, KD = %lld, KH = %lld, KW = %lld;\n"
          "  const long SD = %lld, SH = %lld, SW = %lld, PD = %lld, PH = %lld, PW = %lld;\n"
          "  const long DD = %lld, DH = %lld, DW = %lld;\n",
       (long long)I[0], (long long)I[1], (long long)I[2], (long long)O[1], (long long)O[2],
       (long long)osz, (long long)Cg, (long long)p->kernel[0], (long long)p->kernel[1],
       (long long)p->kernel[2], (long long)p->stride[0], (long long)p->stride[1],
       (long long)p->stride[2], (long long)p->pad0[0], (long long)p->pad0[1],
       (long long)p->pad0[2], (long long)p->dilation[0], (long long)p->dilation[1],
       (long long)p->dilation[2]);
  emit(e, "  for (long b = 0; b < %lld; b++)\n"
          "    for (long g = 0; g < %lld; g++) {\n"
          "      const float *X = x0 + (b * %lld + g * CG) * %lld;\n"
          "      const float *W = x1 + g * %lld * CG * KD * KH * KW;\n"
          "      float *Y = y0 + (b * %lld + g * %lld) * OSZ;\n"
          "      for (long od = 0; od < %lld; od++)\n"
          "        for (long oh = 0; oh < OH; oh++) {\n",
       (long long)N, (long long)G, (long long)C, (long long)isz, (long long)Mg, (long long)M,
       (long long)Mg, (long long)O[0]);
  /* Channels per tile: 8 share each gathered row when the row is long
   * enough to fill the registers (measured: 2.5x on a 14-wide dense 3x3),
   * 4 on the shortest rows. */
  int mr = O[2] >= 8 ? 8 : 4;
  int64_t mfull = Mg / mr * mr;
  int mt = (int)(Mg - mfull);
  /* Row segments of CONV_CW pixels (the accumulators must stay small),
   * then the rest of the row. */
  int64_t segs = O[2] / CONV_CW, rest = O[2] - segs * CONV_CW;
  char mat[32], rat[32];
  snprintf(mat, sizeof mat, "%lld", (long long)mfull);
  snprintf(rat, sizeof rat, "%lld", (long long)(segs * CONV_CW));
  for (int part = 0; part < 2; part++) {
    int64_t nr = part ? rest : CONV_CW;
    const char *ow0 = part ? rat : "ow0";
    int ind = part ? 10 : 12;
    if (!nr || (!part && !segs))
      continue;
    if (!part)
      emit(e, "          for (long ow0 = 0; ow0 < %lld; ow0 += %d) {\n",
           (long long)(segs * CONV_CW), CONV_CW);
    if (mfull) {
      emit(e, "%*sfor (long m0 = 0; m0 < %lld; m0 += %d)\n", ind, "", (long long)mfull, mr);
      emit_conv_tile(&k, mr, nr, "m0", ow0, ind + 2);
    }
    if (mt)
      emit_conv_tile(&k, mt, nr, mat, ow0, ind);
    if (!part)
      emit(e, "          }\n");
  }
  emit(e, "        }\n    }\n");
  return true;
}

bool pool_emit(Emitter *e, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  bool is_max = n->op == OP_MAXPOOL || n->op == OP_GLOBALMAXPOOL;
  int64_t planes = x->dims[0] * x->dims[1];
  int64_t isz = I[0] * I[1] * I[2], osz = O[0] * O[1] * O[2];
  if (n->op == OP_GLOBALAVGPOOL || n->op == OP_GLOBALMAXPOOL) {
    emit(e, "  for (long c = 0; c < %lld; c++) {\n"
            "    const float *xp = x0 + c * %lld;\n"
            "    float acc = %s;\n"
            "    for (long i = 0; i < %lld; i++)\n"
            "      %s;\n"
            "    y0[c] = %s;\n"
            "  }\n",
         (long long)planes, (long long)isz, is_max ? "xp[0]" : "0.0f",
         (long long)isz, is_max ? "acc = xp[i] > acc ? xp[i] : acc" : "acc += xp[i]",
         is_max ? "acc" : arena_printf(&g->arena, "acc / %s", c_float(e, (double)isz)));
    return true;
  }
  emit(e, "  for (long c = 0; c < %lld; c++) {\n"
          "    const float *xp = x0 + c * %lld;\n"
          "    float *yp = y0 + c * %lld;\n"
          "    for (long od = 0; od < %lld; od++)\n"
          "      for (long oh = 0; oh < %lld; oh++)\n"
          "        for (long ow = 0; ow < %lld; ow++) {\n"
          "          float acc = %s;\n"
          "          long count = 0, padded = 0;\n"
          "          for (long kd = 0; kd < %lld; kd++) {\n"
          "            const long id = od * %lld - %lld + kd * %lld;\n"
          "            for (long kh = 0; kh < %lld; kh++) {\n"
          "              const long ih = oh * %lld - %lld + kh * %lld;\n"
          "              for (long kw = 0; kw < %lld; kw++) {\n"
          "                const long iw = ow * %lld - %lld + kw * %lld;\n"
          "                if (id >= -%lld && id < %lld && ih >= -%lld && ih < %lld &&\n"
          "                    iw >= -%lld && iw < %lld)\n"
          "                  padded++;\n"
          "                if (id < 0 || id >= %lld || ih < 0 || ih >= %lld || iw < 0 || iw >= %lld)\n"
          "                  continue;\n"
          "                {\n"
          "                  const float v = xp[(id * %lld + ih) * %lld + iw];\n"
          "                  count++;\n"
          "                  %s\n"
          "                }\n"
          "              }\n"
          "            }\n"
          "          }\n",
       (long long)planes, (long long)isz, (long long)osz, (long long)O[0],
       (long long)O[1], (long long)O[2], is_max ? "-HUGE_VALF" : "0.0f",
       (long long)p->kernel[0], (long long)p->stride[0], (long long)p->pad0[0],
       (long long)p->dilation[0], (long long)p->kernel[1], (long long)p->stride[1],
       (long long)p->pad0[1], (long long)p->dilation[1], (long long)p->kernel[2],
       (long long)p->stride[2], (long long)p->pad0[2], (long long)p->dilation[2],
       (long long)p->pad0[0], (long long)(I[0] + p->pad1[0]), (long long)p->pad0[1],
       (long long)(I[1] + p->pad1[1]), (long long)p->pad0[2],
       (long long)(I[2] + p->pad1[2]), (long long)I[0], (long long)I[1],
       (long long)I[2], (long long)I[1], (long long)I[2],
       is_max ? "if (v > acc || v != v) acc = v;" : "acc += v;");
  if (is_max)
    emit(e, "          (void)count;\n          (void)padded;\n"
            "          yp[(od * %lld + oh) * %lld + ow] = acc;\n",
         (long long)O[1], (long long)O[2]);
  else
    emit(e, "          (void)count;\n          (void)padded;\n"
            "          {\n            const long div = %s;\n"
            "            yp[(od * %lld + oh) * %lld + ow] = div ? acc / (float)div : 0.0f;\n"
            "          }\n",
         p->count_include_pad ? "padded" : "count", (long long)O[1], (long long)O[2]);
  emit(e, "        }\n  }\n");
  return true;
}
