/*
 * conv.c — Conv (1-D, 2-D, 3-D; groups, strides, dilations, pads, auto_pad,
 * optional bias) and the spatial-attribute logic pooling shares.
 *
 * Internally every spatial op works on three spatial dims (D, H, W): a 2-D
 * op has D = 1, a 1-D op D = H = 1, with kernel 1, stride 1, dilation 1 and
 * no padding on the added dims.  The output extent of each dim is
 *
 *   out = floor_or_ceil((in + pad0 + pad1 - dil*(k-1) - 1) / stride) + 1
 *
 * and auto_pad SAME_* picks pad0 + pad1 = max(0, (ceil(in/s)-1)*s +
 * dil*(k-1) + 1 - in), the odd pixel going after (UPPER) or before (LOWER).
 */
#include "../cardinal.h"

#include <string.h>

/* Spatial extents of v (rank nsp+2) as three dims, right-aligned. */
void sp_dims3(const Value *v, int nsp, int64_t *out) {
  for (int k = 0; k < 3; k++)
    out[k] = 1;
  for (int k = 0; k < nsp; k++)
    out[3 - nsp + k] = v->dims[2 + k];
}

static bool read_ints(const Node *n, const char *name, int want, int64_t *out,
                      Diag *d) {
  const Attr *a;
  if (!attr_get(n, name, AT_INTS, d, &a))
    return false;
  if (!a)
    return true;
  if (a->count != want) {
    diag_error(d, "node '%s' (%s): attribute %s needs %d integers",
               node_label(n), n->op_type, name, want);
    return false;
  }
  for (int i = 0; i < want; i++)
    out[i] = a->ints[i];
  return true;
}

static const char *auto_pad_names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

bool op_spatial_parse(Node *n, Diag *d, int nsp) {
  OpParams *p = &n->p;
  int64_t stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pads[6] = {0};
  if (!read_ints(n, "strides", nsp, stride, d) ||
      !read_ints(n, "dilations", nsp, dil, d) ||
      !read_ints(n, "pads", 2 * nsp, pads, d))
    return false;
  const char *ap = attr_string(n, "auto_pad", "NOTSET", d);
  p->auto_pad = AUTO_PAD_NOTSET;
  for (int k = 0; k < 4; k++)
    if (!strcmp(ap, auto_pad_names[k]))
      p->auto_pad = (AutoPad)k;
  if (p->auto_pad == AUTO_PAD_NOTSET && strcmp(ap, "NOTSET") != 0) {
    diag_error(d, "node '%s' (%s): unknown auto_pad '%s' (expected NOTSET, SAME_UPPER, "
               "SAME_LOWER or VALID)", node_label(n), n->op_type, ap);
    return false;
  }
  for (int k = 0; k < nsp; k++) {
    if (stride[k] < 1 || dil[k] < 1 || pads[k] < 0 || pads[nsp + k] < 0) {
      diag_error(d, "node '%s' (%s): strides and dilations must be positive and pads "
                 "non-negative", node_label(n), n->op_type);
      return false;
    }
    /* No dim exceeds the tensor limit (< 2^31), so neither does any
     * sensible window; past it the generated code's longs would not hold
     * them on every target. */
    if (stride[k] > INT32_MAX || dil[k] > INT32_MAX || pads[k] > INT32_MAX ||
        pads[nsp + k] > INT32_MAX) {
      diag_error(d, "node '%s' (%s): strides, dilations and pads must be below 2^31",
                 node_label(n), n->op_type);
      return false;
    }
  }
  p->nsp = nsp;
  for (int k = 0; k < 3; k++) {
    p->stride[k] = 1;
    p->dilation[k] = 1;
    p->pad0[k] = p->pad1[k] = 0;
  }
  for (int k = 0; k < nsp; k++) {
    int s = 3 - nsp + k;
    p->stride[s] = stride[k];
    p->dilation[s] = dil[k];
    p->pad0[s] = pads[k];
    p->pad1[s] = pads[nsp + k];
  }
  return true;
}

/*
 * Output extents of an op whose input has spatial extents in_sp[nsp], from
 * n->p (kernel[] already set); under SAME_* and VALID the pads are derived
 * here, so running it twice gives the same result.
 */
bool op_spatial_infer(Node *n, Diag *d, int nsp, const int64_t *in_sp, int64_t *out_sp) {
  OpParams *p = &n->p;
  for (int k = 0; k < nsp; k++) {
    int s = 3 - nsp + k;
    int64_t in = in_sp[k], K = p->kernel[s], st = p->stride[s];
    if (K < 1) {
      diag_error(d, "node '%s' (%s): kernel extents must be positive", node_label(n),
                 n->op_type);
      return false;
    }
    /* Checked: the attributes are the file's, up to 2^31 each. */
    int64_t ext, out, span, total, pads;
    bool ok = ck_mul(p->dilation[s], K - 1, &ext) && ck_add(ext, 1, &ext);
    if (ok && (p->auto_pad == AUTO_PAD_SAME_UPPER || p->auto_pad == AUTO_PAD_SAME_LOWER)) {
      out = in / st + (in % st != 0);
      ok = ck_mul(out - 1, st, &total) && ck_add(total, ext, &total) &&
           ck_sub(total, in, &total);
      if (total < 0)
        total = 0;
      p->pad0[s] = p->auto_pad == AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
      p->pad1[s] = total - p->pad0[s];
    } else if (ok && p->auto_pad == AUTO_PAD_VALID) {
      p->pad0[s] = p->pad1[s] = 0;
      out = in < ext ? 0 : (in - ext) / st + 1;
    } else if (ok) {
      ok = ck_add(in, p->pad0[s], &pads) && ck_add(pads, p->pad1[s], &pads) &&
           ck_sub(pads, ext, &span);
      if (!ok || span < 0)
        out = 0;
      else if (p->ceil_mode) {
        out = span / st + (span % st != 0) + 1;
        /* The last window must start inside the input or left padding. */
        if ((out - 1) * st >= in + p->pad0[s])
          out--;
      } else
        out = span / st + 1;
    }
    if (!ok) {
      diag_error(d, "node '%s' (%s): the window of dim %d (kernel %lld, dilation %lld, "
                 "pads %lld and %lld) overflows", node_label(n), n->op_type, k,
                 (long long)K, (long long)p->dilation[s], (long long)p->pad0[s],
                 (long long)p->pad1[s]);
      return false;
    }
    if (out < 1) {
      diag_error(d, "node '%s' (%s): kernel larger than its padded input "
                 "(dim %d: input %lld, window %lld)", node_label(n),
                 n->op_type, k, (long long)in, (long long)ext);
      return false;
    }
    out_sp[k] = out;
  }
  return true;
}

bool conv_parse(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  if (x->rank < 3 || x->rank > 5 || w->rank != x->rank) {
    diag_error(d, "node '%s' (Conv): input rank %d and weight rank %d: need "
               "equal ranks of 3 to 5", node_label(n), x->rank, w->rank);
    return false;
  }
  int nsp = x->rank - 2;
  int64_t ks[3] = {1, 1, 1};
  if (!read_ints(n, "kernel_shape", nsp, ks, d))
    return false;
  for (int k = 0; k < nsp; k++)
    if (node_attr(n, "kernel_shape") && ks[k] != w->dims[2 + k]) {
      diag_error(d, "node '%s' (Conv): kernel_shape disagrees with the weight",
                 node_label(n));
      return false;
    }
  n->p.group = attr_int(n, "group", 1, d);
  return op_spatial_parse(n, d, nsp);
}

bool conv_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  if (x->dtype != DT_FLOAT || w->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (Conv): only float32 is supported", node_label(n));
    return false;
  }
  OpParams *p = &n->p;
  int nsp = p->nsp;
  if (x->rank != nsp + 2 || w->rank != x->rank) {
    diag_error(d, "node '%s' (Conv): input rank %d and weight rank %d: need %d",
               node_label(n), x->rank, w->rank, nsp + 2);
    return false;
  }
  if (value_numel(x) == 0 || value_numel(w) == 0) {
    /* Every stage after this divides by the channels, the batch or the
     * kernel (per-group sizes, pixels per image, MACs per output). */
    diag_error(d, "node '%s' (Conv): %s is empty (a dim of 0); empty tensors are not "
               "supported", node_label(n), value_numel(x) == 0 ? "the input" : "the weight");
    return false;
  }
  int64_t C = x->dims[1], M = w->dims[0], wc;
  if (p->group < 1 || C % p->group || M % p->group ||
      !ck_mul(w->dims[1], p->group, &wc) || wc != C) {
    diag_error(d, "node '%s' (Conv): %lld input channels, weight [%lld,%lld,..] "
               "and group %lld do not agree", node_label(n), (long long)C,
               (long long)M, (long long)w->dims[1], (long long)p->group);
    return false;
  }
  for (int k = 0; k < 3; k++)
    p->kernel[k] = 1;
  for (int k = 0; k < nsp; k++)
    p->kernel[3 - nsp + k] = w->dims[2 + k];
  if (n->nin > 2 && n->in[2] >= 0) {
    Value *b = &g->values[n->in[2]];
    if (b->rank != 1 || b->dims[0] != M || b->dtype != DT_FLOAT) {
      diag_error(d, "node '%s' (Conv): bias must be float32 [%lld]",
                 node_label(n), (long long)M);
      return false;
    }
  }
  int64_t in_sp[3] = {1, 1, 1}, out_sp[3] = {1, 1, 1};
  for (int k = 0; k < nsp; k++)
    in_sp[k] = x->dims[2 + k];
  if (!op_spatial_infer(n, d, nsp, in_sp, out_sp))
    return false;
  int64_t dims[5] = {x->dims[0], M};
  for (int k = 0; k < nsp; k++)
    dims[2 + k] = out_sp[k];
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, dims);
  return true;
}

void conv_eval(Graph *g, Node *n, void **data) {
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  const float *X = data[n->in[0]], *W = data[n->in[1]];
  const float *B = n->nin > 2 && n->in[2] >= 0 ? data[n->in[2]] : NULL;
  float *Y = data[n->out[0]];
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = p->group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  const int64_t *K = p->kernel, *S = p->stride, *Dl = p->dilation,
                *P = p->pad0;
  for (int64_t b = 0; b < N; b++)
    for (int64_t m = 0; m < M; m++) {
      int64_t grp = m / Mg;
      for (int64_t od = 0; od < O[0]; od++)
        for (int64_t oh = 0; oh < O[1]; oh++)
          for (int64_t ow = 0; ow < O[2]; ow++) {
            double acc = B ? B[m] : 0.0;
            for (int64_t c = 0; c < Cg; c++)
              for (int64_t kd = 0; kd < K[0]; kd++) {
                int64_t id = od * S[0] - P[0] + kd * Dl[0];
                if (id < 0 || id >= I[0])
                  continue;
                for (int64_t kh = 0; kh < K[1]; kh++) {
                  int64_t ih = oh * S[1] - P[1] + kh * Dl[1];
                  if (ih < 0 || ih >= I[1])
                    continue;
                  for (int64_t kw = 0; kw < K[2]; kw++) {
                    int64_t iw = ow * S[2] - P[2] + kw * Dl[2];
                    if (iw < 0 || iw >= I[2])
                      continue;
                    int64_t ci = grp * Cg + c;
                    acc += (double)X[(((b * C + ci) * I[0] + id) * I[1] + ih) * I[2] + iw] *
                           W[(((m * Cg + c) * K[0] + kd) * K[1] + kh) * K[2] + kw];
                  }
                }
              }
            Y[(((b * M + m) * O[0] + od) * O[1] + oh) * O[2] + ow] = (float)acc;
          }
    }
}

/* ------------------------------------------------------------ scalar kernel */

/*
 * A pointwise conv (1x1, stride 1, no padding) is a GEMM per image and
 * group: Y[Mg, P] = W[Mg, Cg] X[Cg, P] with P the pixels.  It is written in
 * register tiles of MR output channels x NR pixels (the schedule's tile_c x
 * tile_p, schedule.c): the tile's accumulators stay in registers across the
 * whole Cg reduction, each loaded input row feeds MR channels, and the
 * epilogue (bias, residual, activation) is applied as the tile is stored,
 * so the output is written once.  The pixel loop of fixed length NR
 * vectorises at -O3 with any SIMD the compiler targets.  Channels and
 * pixels past the last full tile are register tiles too, of the leftover
 * size (mt channels x NR pixels, MR x pt, and the mt x pt corner), emitted
 * by the same emit_tile with those sizes as constants.  A strided 1x1 conv
 * (ResNet's downsampling shortcut) is the same GEMM over the input pixels
 * a compile-time map picks: each tile gathers its NR pixels of a channel
 * once, for MR rows.
 */

/* 1x1, unpadded; any stride (a strided one reads its pixels through a map). */
bool conv_is_pointwise(const OpParams *p) {
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
  const int MR = n->sched.tile_c, NR = n->sched.tile_p;
  int64_t Mfull = Mg / MR * MR, Pfull = P / NR * NR;
  int mt = (int)(Mg - Mfull);       /* channels past the last full tile */
  int64_t pt = P - Pfull;           /* pixels past the last full tile */
  Tiles k = {e, n, M, Mg, n->nin > 2 && n->in[2] >= 0, value_numel(x) / (N * C) != P};
  if (k.strided) {
    if (!emit_room(e, sat_mul(P, 22))) /* the pixel map, before it is written */
      return;
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
    emit(e, "      for (long p0 = 0; p0 < %lld; p0 += %d) {\n", (long long)Pfull, NR);
    if (Mfull) {
      emit(e, "        for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)Mfull, MR);
      emit_tile(&k, MR, NR, "m0", "p0", 10);
    }
    if (mt)
      emit_tile(&k, mt, NR, mtail, "p0", 8);
    emit(e, "      }\n");
  }
  if (pt) {
    if (Mfull) {
      emit(e, "      for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)Mfull, MR);
      emit_tile(&k, MR, pt, "m0", ptail, 8);
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
 * to tile_p pixels).  For each input channel and kernel tap the tile
 * gathers its segment of input pixels once (zero where a tap falls in the
 * padding) and updates the MR x segment accumulators, so each gathered
 * pixel feeds MR channels.  Measured against per-tap axpy loops along rows
 * (the kernel this replaced): 1.5x on the stem, 1.4-2.5x on dense 3x3,
 * 3.2x on ResNeXt-50's layer4 grouped 3x3.
 */

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
  if (conv_is_pointwise(p)) {
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
  /* tile_c channels x row segments of up to tile_p pixels (schedule.c). */
  const int mr = n->sched.tile_c, CONV_CW = n->sched.tile_p;
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
