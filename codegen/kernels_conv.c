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

/* floor(a / b) and ceil(a / b) for b > 0 and any sign of a. */
static int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

/* Emits lo<s>[k], hi<s>[k]: the output positions of dim s that tap k reads
 * inside the input. */
static void emit_ranges(Emitter *e, const OpParams *p, const int64_t *I,
                        const int64_t *O) {
  for (int s = 0; s < 3; s++) {
    for (int h = 0; h < 2; h++) {
      emit(e, "  static const long %s%d[%lld] = {", h ? "hi" : "lo", s,
           (long long)p->kernel[s]);
      for (int64_t k = 0; k < p->kernel[s]; k++) {
        int64_t off = k * p->dilation[s] - p->pad0[s];
        int64_t lo = ceil_div(-off, p->stride[s]);
        int64_t hi = floor_div(I[s] - 1 - off, p->stride[s]) + 1;
        if (lo < 0) lo = 0;
        if (hi > O[s]) hi = O[s];
        if (hi < lo) hi = lo;
        emit(e, "%s%lld", k ? ", " : "", (long long)(h ? hi : lo));
      }
      emit(e, "};\n");
    }
  }
}

/*
 * Wide output rows: a sum of shifted, scaled input rows.  For each output
 * channel m, input channel c and kernel tap, the output rows gain w * input
 * row; the output positions whose tap falls inside the input are computed
 * here, at compile time, into small tables (lo/hi per tap and spatial dim),
 * so the loops carry no bounds checks and the innermost loop (along W) is
 * a long unit-stride axpy.  On rows of 16 or more pixels this beats the
 * register tiles below, which win on the short rows of late stages.
 */
static void emit_conv_rows(Emitter *e, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = p->group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t isz = I[0] * I[1] * I[2], osz = O[0] * O[1] * O[2];
  int64_t ksz = p->kernel[0] * p->kernel[1] * p->kernel[2];
  bool bias = n->nin > 2 && n->in[2] >= 0;
  emit_ranges(e, p, I, O);
  emit(e, "  for (long b = 0; b < %lld; b++)\n"
          "    for (long m = 0; m < %lld; m++) {\n"
          "      const long g = m / %lld;\n"
          "      float *yp = y0 + (b * %lld + m) * %lld;\n"
          "      for (long i = 0; i < %lld; i++)\n"
          "        yp[i] = %s;\n"
          "      for (long c = 0; c < %lld; c++) {\n"
          "        const float *xp = x0 + (b * %lld + g * %lld + c) * %lld;\n"
          "        const float *wp = x1 + (m * %lld + c) * %lld;\n"
          "        for (long kd = 0; kd < %lld; kd++)\n"
          "          for (long kh = 0; kh < %lld; kh++)\n"
          "            for (long kw = 0; kw < %lld; kw++) {\n"
          "              const float wv = wp[(kd * %lld + kh) * %lld + kw];\n"
          "              for (long od = lo0[kd]; od < hi0[kd]; od++)\n"
          "                for (long oh = lo1[kh]; oh < hi1[kh]; oh++) {\n"
          "                  const long row = ((od * %lld - %lld + kd * %lld) * %lld +\n"
          "                                    oh * %lld - %lld + kh * %lld) * %lld + kw * %lld - %lld;\n"
          "                  float *yr = yp + (od * %lld + oh) * %lld;\n"
          "                  for (long ow = lo2[kw]; ow < hi2[kw]; ow++)\n"
          "                    yr[ow] += wv * xp[row + ow * %lld];\n"
          "                }\n"
          "            }\n"
          "      }\n",
       (long long)N, (long long)M, (long long)Mg, (long long)M, (long long)osz,
       (long long)osz, bias ? "x2[m]" : "0.0f", (long long)Cg, (long long)C,
       (long long)Cg, (long long)isz, (long long)Cg, (long long)ksz,
       (long long)p->kernel[0], (long long)p->kernel[1], (long long)p->kernel[2],
       (long long)p->kernel[1], (long long)p->kernel[2],
       (long long)p->stride[0], (long long)p->pad0[0], (long long)p->dilation[0],
       (long long)I[1], (long long)p->stride[1], (long long)p->pad0[1],
       (long long)p->dilation[1], (long long)I[2], (long long)p->dilation[2],
       (long long)p->pad0[2], (long long)O[1], (long long)O[2],
       (long long)p->stride[2]);
  if (node_has_epilogue(n)) {
    const char *idx = arena_printf(&g->arena, "(b * %lld + m) * %lld + i", (long long)M,
                                   (long long)osz);
    emit(e, "      for (long i = 0; i < %lld; i++)\n        %s\n", (long long)osz,
         epilogue_stmt(e, n, "yp[i]", idx, "m"));
  }
  emit(e, "    }\n");
}

/*
 * Short output rows (fewer than CONV_NR pixels: ResNeXt's last stages, 7x7
 * and 14x14 at stride 2) are a direct convolution in register tiles, as the
 * pointwise convs are: CONV_MR output channels of a group x the whole
 * output row.  For each input channel and kernel tap the tile gathers its
 * row of input pixels once (zero where a tap falls in the padding) and
 * updates MR x OW accumulators.  There the row kernel's axpy loops are too
 * short to pay: layer4's grouped 3x3 of ResNeXt-50 runs 3.2x faster.
 */
#define CONV_MR 4
#define CONV_NR 16

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
  if (O[2] >= CONV_NR) {
    emit_conv_rows(e, g, n);
    return true;
  }
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
  int64_t mfull = Mg / CONV_MR * CONV_MR;
  int mt = (int)(Mg - mfull);
  if (mfull) {
    emit(e, "          for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)mfull, CONV_MR);
    emit_conv_tile(&k, CONV_MR, O[2], "m0", "0", 12);
  }
  if (mt) {
    char at[32];
    snprintf(at, sizeof at, "%lld", (long long)mfull);
    emit_conv_tile(&k, mt, O[2], at, "0", 10);
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
