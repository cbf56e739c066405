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

#include <stdlib.h>

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

bool conv_attrs_parse(Graph *g, Node *n, Diag *d, int xi, int wi) {
  Value *x = &g->values[n->in[xi]], *w = &g->values[n->in[wi]];
  if (x->rank < 3 || x->rank > 5 || w->rank != x->rank) {
    diag_error(d, "node '%s' (%s): input rank %d and weight rank %d: need "
               "equal ranks of 3 to 5", node_label(n), n->op_type, x->rank, w->rank);
    return false;
  }
  int nsp = x->rank - 2;
  int64_t ks[3] = {1, 1, 1};
  if (!read_ints(n, "kernel_shape", nsp, ks, d))
    return false;
  for (int k = 0; k < nsp; k++)
    if (node_attr(n, "kernel_shape") && ks[k] != w->dims[2 + k]) {
      diag_error(d, "node '%s' (%s): kernel_shape disagrees with the weight",
                 node_label(n), n->op_type);
      return false;
    }
  n->p.group = attr_int(n, "group", 1, d);
  return op_spatial_parse(n, d, nsp);
}

bool conv_parse(Graph *g, Node *n, Diag *d) { return conv_attrs_parse(g, n, d, 0, 1); }

bool conv_shape_infer(Graph *g, Node *n, Diag *d, int xi, int wi, int *rank, int64_t *dims) {
  Value *x = &g->values[n->in[xi]], *w = &g->values[n->in[wi]];
  OpParams *p = &n->p;
  int nsp = p->nsp;
  if (x->rank != nsp + 2 || w->rank != x->rank) {
    diag_error(d, "node '%s' (%s): input rank %d and weight rank %d: need %d",
               node_label(n), n->op_type, x->rank, w->rank, nsp + 2);
    return false;
  }
  if (value_numel(x) == 0 || value_numel(w) == 0) {
    /* Every stage after this divides by the channels, the batch or the
     * kernel (per-group sizes, pixels per image, MACs per output). */
    diag_error(d, "node '%s' (%s): %s is empty (a dim of 0); empty tensors are not "
               "supported", node_label(n), n->op_type,
               value_numel(x) == 0 ? "the input" : "the weight");
    return false;
  }
  int64_t C = x->dims[1], M = w->dims[0], wc;
  if (p->group < 1 || C % p->group || M % p->group ||
      !ck_mul(w->dims[1], p->group, &wc) || wc != C) {
    diag_error(d, "node '%s' (%s): %lld input channels, weight [%lld,%lld,..] "
               "and group %lld do not agree", node_label(n), n->op_type, (long long)C,
               (long long)M, (long long)w->dims[1], (long long)p->group);
    return false;
  }
  for (int k = 0; k < 3; k++)
    p->kernel[k] = 1;
  for (int k = 0; k < nsp; k++)
    p->kernel[3 - nsp + k] = w->dims[2 + k];
  int64_t in_sp[3] = {1, 1, 1}, out_sp[3] = {1, 1, 1};
  for (int k = 0; k < nsp; k++)
    in_sp[k] = x->dims[2 + k];
  if (!op_spatial_infer(n, d, nsp, in_sp, out_sp))
    return false;
  dims[0] = x->dims[0];
  dims[1] = M;
  for (int k = 0; k < nsp; k++)
    dims[2 + k] = out_sp[k];
  *rank = x->rank;
  return true;
}

bool conv_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  if (x->dtype != DT_FLOAT || w->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (Conv): only float32 is supported", node_label(n));
    return false;
  }
  int rank;
  int64_t dims[5];
  if (!conv_shape_infer(g, n, d, 0, 1, &rank, dims))
    return false;
  if (node_has_input(n, 2)) {
    Value *b = &g->values[n->in[2]];
    if (b->rank != 1 || b->dims[0] != dims[1] || b->dtype != DT_FLOAT) {
      diag_error(d, "node '%s' (Conv): bias must be float32 [%lld]",
                 node_label(n), (long long)dims[1]);
      return false;
    }
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, rank, dims);
  return true;
}

void conv_tap_range(int64_t in, int64_t out, int64_t s, int64_t p, int64_t k, int64_t dl,
                      int64_t *lo, int64_t *hi) {
  int64_t off = k * dl - p; /* input = o * s + off */
  *lo = off >= 0 ? 0 : (-off + s - 1) / s;
  *hi = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;
  *hi = *hi < out ? *hi : out;
  *lo = *lo < *hi ? *lo : *hi;
}

/*
 * The reference: each output is its bias plus the products of every tap in
 * range, in the order (input channel, kd, kh, kw), summed in double (each
 * float product is exact there) and rounded to float once.  It is computed
 * tap by tap over a plane of double accumulators, so the inner loop runs
 * over contiguous outputs without a bounds test -- the same additions, in
 * the same order, for every output.
 */
void conv_eval(Graph *g, Node *n, void **data) {
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  const float *X = data[n->in[0]], *W = data[n->in[1]];
  const float *B = node_has_input(n, 2) ? data[n->in[2]] : NULL;
  float *Y = data[n->out[0]];
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = p->group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  const int64_t *K = p->kernel, *S = p->stride, *Dl = p->dilation, *P = p->pad0;
  int64_t plane = O[0] * O[1] * O[2], iplane = I[0] * I[1] * I[2], taps = K[0] * K[1] * K[2];
  double *acc = malloc(sizeof(double) * (size_t)plane + 1);
  CD_ASSERT(acc);
  for (int64_t b = 0; b < N; b++)
    for (int64_t m = 0; m < M; m++) {
      int64_t grp = m / Mg;
      for (int64_t o = 0; o < plane; o++)
        acc[o] = B ? B[m] : 0.0;
      for (int64_t c = 0; c < Cg; c++) {
        const float *xc = X + (b * C + grp * Cg + c) * iplane;
        const float *wc = W + (m * Cg + c) * taps;
        for (int64_t kd = 0; kd < K[0]; kd++)
          for (int64_t kh = 0; kh < K[1]; kh++)
            for (int64_t kw = 0; kw < K[2]; kw++) {
              double wv = wc[(kd * K[1] + kh) * K[2] + kw];
              int64_t d0, d1, h0, h1, w0, w1;
              conv_tap_range(I[0], O[0], S[0], P[0], kd, Dl[0], &d0, &d1);
              conv_tap_range(I[1], O[1], S[1], P[1], kh, Dl[1], &h0, &h1);
              conv_tap_range(I[2], O[2], S[2], P[2], kw, Dl[2], &w0, &w1);
              for (int64_t od = d0; od < d1; od++)
                for (int64_t oh = h0; oh < h1; oh++) {
                  int64_t id = od * S[0] - P[0] + kd * Dl[0], ih = oh * S[1] - P[1] + kh * Dl[1];
                  const float *xr = xc + (id * I[1] + ih) * I[2];
                  int64_t off = kw * Dl[2] - P[2];
                  double *ar = acc + (od * O[1] + oh) * O[2];
                  for (int64_t ow = w0; ow < w1; ow++)
                    ar[ow] += (double)xr[ow * S[2] + off] * wv;
                }
            }
      }
      float *yp = Y + (b * M + m) * plane;
      for (int64_t o = 0; o < plane; o++)
        yp[o] = (float)acc[o];
    }
  free(acc);
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

/* The scalar kernel's tiles, as measured on its loops (the scalar row of
 * the kernel configurations asks). */
void conv_scalar_tile(const Graph *g, const Node *n, Schedule *s) {
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

/* 1x1, unpadded; any stride (a strided one reads its pixels through a map). */
bool conv_is_pointwise(const OpParams *p) {
  for (int s = 0; s < 3; s++)
    if (p->kernel[s] != 1 || p->pad0[s] || p->pad1[s])
      return false;
  return true;
}

/* What a register-tiled conv kernel needs to emit its tiles. */
typedef struct {
  CWriter *w;
  Node *n;
  int64_t M, Mg;     /* output channels, per group */
  bool bias;         /* input 2 is a bias */
  bool strided;      /* pointwise only: pixels read through pix[] */
} Tiles;

/* acc[mr][nr], each row starting from its channel's bias. */
static void emit_tile_init(const Tiles *k, int mr, int64_t nr, const char *m0) {
  CWriter *w = k->w;
  cw(w, "{\n"
        "float acc[%d][%lld];\n"
        "for (long i = 0; i < %d; i++)\n"
        "for (long j = 0; j < %lld; j++)\n"
        "acc[i][j] = %s;\n",
     mr, (long long)nr, mr, (long long)nr,
     k->bias ? cw_fmt(w, "x2[g * %lld + %s + i]", (long long)k->Mg, m0) : "0.0f");
}

/* The tile's store, a row at a time: the row's output, residual and channel
 * are fixed before the pixel loop, which stays unit-stride, epilogue and
 * all.  Output row i starts at (m0 + i) * plane + at. */
static void emit_tile_store(const Tiles *k, int mr, int64_t nr, const char *m0,
                            const char *plane, const char *at) {
  CWriter *w = k->w;
  Node *n = k->n;
  cw(w, "for (long i = 0; i < %d; i++) {\n"
        "float *yr = Y + (%s + i) * %s + %s;\n", mr, m0, plane, at);
  if (n->ep.residual >= 0)
    cw(w, "const long ro = (b * %lld + g * %lld + %s + i) * %s + %s;\n", (long long)k->M,
       (long long)k->Mg, m0, plane, at);
  if (n->ep.residual_scale >= 0)
    cw(w, "const long ch = g * %lld + %s + i;\n", (long long)k->Mg, m0);
  cw(w, "for (long j = 0; j < %lld; j++) {\n"
        "yr[j] = acc[i][j];\n"
        "%s\n"
        "}\n"
        "}\n"
        "}\n",
     (long long)nr, epilogue_stmt(w, n, "yr[j]", "ro + j", "ch"));
}

/*
 * One pointwise tile: mr output channels from m0 x nr pixels from p0 (C
 * expressions), mr and nr compile-time constants.  The full tiles, the
 * rows and pixels past them and the corner all use this same code, so
 * every one of them is an outer-product loop the compiler vectorises (a
 * dot-product loop for the leftovers was slower: GCC gave up vectorising
 * it as soon as an epilogue followed).
 */
static void emit_tile(const Tiles *k, int mr, int64_t nr, const char *m0, const char *p0) {
  CWriter *w = k->w;
  emit_tile_init(k, mr, nr, m0);
  cw(w, "for (long c = 0; c < CG; c++) {\n");
  if (k->strided)
    cw(w, "float xr[%lld];\n"
          "for (long j = 0; j < %lld; j++)\n"
          "xr[j] = X[c * IP + pix[%s + j]];\n",
       (long long)nr, (long long)nr, p0);
  else
    cw(w, "const float *xr = X + c * P + %s;\n", p0);
  cw(w, "for (long i = 0; i < %d; i++) {\n"
        "const float wv = W[(%s + i) * CG + c];\n"
        "for (long j = 0; j < %lld; j++)\n"
        "acc[i][j] += wv * xr[j];\n"
        "}\n"
        "}\n",
     mr, m0, (long long)nr);
  emit_tile_store(k, mr, nr, m0, "P", p0);
}

static void emit_conv1x1(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *wt = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  int64_t N = x->dims[0], C = x->dims[1], M = wt->dims[0], G = n->p.group;
  int64_t Cg = C / G, Mg = M / G, P = value_numel(y) / (N * M), IP = value_numel(x) / (N * C);
  const int MR = n->sched.tile_c, NR = n->sched.tile_p;
  int64_t Mfull = Mg / MR * MR, Pfull = P / NR * NR;
  int mt = (int)(Mg - Mfull);       /* channels past the last full tile */
  int64_t pt = P - Pfull;           /* pixels past the last full tile */
  Tiles k = {w, n, M, Mg, node_has_input(n, 2), value_numel(x) / (N * C) != P};
  if (k.strided) {
    if (!cw_room(w, sat_mul(P, 22))) /* the pixel map, before it is written */
      return;
    int64_t I[3], O[3];
    sp_dims3(x, n->p.nsp, I);
    sp_dims3(y, n->p.nsp, O);
    cw(w, "static const long pix[%lld] = {", (long long)P);
    int64_t q = 0;
    for (int64_t od = 0; od < O[0]; od++)
      for (int64_t oh = 0; oh < O[1]; oh++)
        for (int64_t ow = 0; ow < O[2]; ow++, q++)
          cw(w, "%s%s%lld", q ? "," : "", q % 16 ? "" : "\n",
             (long long)(((od * n->p.stride[0]) * I[1] + oh * n->p.stride[1]) * I[2] +
                       ow * n->p.stride[2]));
    cw(w, "};\n");
  }
  cw_var(w, "C", "%lld", (long long)C);
  cw_var(w, "M", "%lld", (long long)M);
  cw_var(w, "Mg", "%lld", (long long)Mg);
  cw(w, "const long P = %lld, IP = %lld, CG = %lld;\n", (long long)P, (long long)IP,
     (long long)Cg);
  cw(w, "for (long b = 0; b < %lld; b++)\n"
        "for (long g = 0; g < %lld; g++) {\n"
        "const float *X = x0 + (b * ${C} + g * CG) * IP;\n"
        "const float *W = x1 + g * ${Mg} * CG;\n"
        "float *Y = y0 + (b * ${M} + g * ${Mg}) * P;\n",
     (long long)N, (long long)G);
  const char *mtail = cw_int(w, Mfull), *ptail = cw_int(w, Pfull);
  /* Pixel tiles outside: a tile's input columns (CG x NR) stay in cache
   * while every channel tile reads them; the weights stream once per
   * pixel tile, NR/MR times less traffic than the other order. */
  if (Pfull) {
    cw(w, "for (long p0 = 0; p0 < %lld; p0 += %d) {\n", (long long)Pfull, NR);
    if (Mfull) {
      cw(w, "for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)Mfull, MR);
      emit_tile(&k, MR, NR, "m0", "p0");
    }
    if (mt)
      emit_tile(&k, mt, NR, mtail, "p0");
    cw(w, "}\n");
  }
  if (pt) {
    if (Mfull) {
      cw(w, "for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)Mfull, MR);
      emit_tile(&k, MR, pt, "m0", ptail);
    }
    if (mt)
      emit_tile(&k, mt, pt, mtail, ptail);
  }
  cw(w, "}\n");
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
                           const char *ow0) {
  CWriter *w = k->w;
  emit_tile_init(k, mr, nr, m0);
  cw(w, "for (long c = 0; c < CG; c++)\n"
        "for (long kd = 0; kd < KD; kd++) {\n"
        "const long id = od * SD - PD + kd * DD;\n"
        "if (id < 0 || id >= ID)\n"
        "continue;\n"
        "for (long kh = 0; kh < KH; kh++) {\n"
        "const long ih = oh * SH - PH + kh * DH;\n"
        "const float *xrow, *wk;\n"
        "if (ih < 0 || ih >= IH)\n"
        "continue;\n"
        "xrow = X + ((c * ID + id) * IH + ih) * IW;\n"
        "wk = W + (((%s) * CG + c) * KD + kd) * KH * KW + kh * KW;\n"
        "for (long kw = 0; kw < KW; kw++) {\n"
        "float xv[%lld];\n"
        "for (long j = 0; j < %lld; j++) {\n"
        "const long iw = (%s + j) * SW - PW + kw * DW;\n"
        "xv[j] = iw >= 0 && iw < IW ? xrow[iw] : 0.0f;\n"
        "}\n"
        "for (long i = 0; i < %d; i++) {\n"
        "const float wv = wk[i * CG * KD * KH * KW + kw];\n"
        "for (long j = 0; j < %lld; j++)\n"
        "acc[i][j] += wv * xv[j];\n"
        "}\n"
        "}\n"
        "}\n"
        "}\n",
     m0, (long long)nr, (long long)nr, ow0, mr, (long long)nr);
  emit_tile_store(k, mr, nr, m0, "OSZ", cw_fmt(w, "(od * OH + oh) * OW + %s", ow0));
}

bool conv_emit(CWriter *w, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  if (conv_is_pointwise(p)) {
    emit_conv1x1(w, g, n);
    return true;
  }
  const Value *x = &g->values[n->in[0]], *wt = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  int64_t N = x->dims[0], C = x->dims[1], M = wt->dims[0], G = p->group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t isz = I[0] * I[1] * I[2], osz = O[0] * O[1] * O[2];
  Tiles k = {w, n, M, Mg, node_has_input(n, 2), false};
  cw(w, "const long ID = %lld, IH = %lld, IW = %lld, OH = %lld, OW = %lld, OSZ = %lld;\n",
     (long long)I[0], (long long)I[1], (long long)I[2], (long long)O[1], (long long)O[2],
     (long long)osz);
  cw(w, "const long CG = %lld, KD = %lld, KH = %lld, KW = %lld;\n", (long long)Cg,
     (long long)p->kernel[0], (long long)p->kernel[1], (long long)p->kernel[2]);
  cw(w, "const long SD = %lld, SH = %lld, SW = %lld, PD = %lld, PH = %lld, PW = %lld;\n",
     (long long)p->stride[0], (long long)p->stride[1], (long long)p->stride[2],
     (long long)p->pad0[0], (long long)p->pad0[1], (long long)p->pad0[2]);
  cw(w, "const long DD = %lld, DH = %lld, DW = %lld;\n", (long long)p->dilation[0],
     (long long)p->dilation[1], (long long)p->dilation[2]);
  cw_var(w, "C", "%lld", (long long)C);
  cw_var(w, "M", "%lld", (long long)M);
  cw_var(w, "Mg", "%lld", (long long)Mg);
  cw(w, "for (long b = 0; b < %lld; b++)\n"
        "for (long g = 0; g < %lld; g++) {\n"
        "const float *X = x0 + (b * ${C} + g * CG) * %lld;\n"
        "const float *W = x1 + g * ${Mg} * CG * KD * KH * KW;\n"
        "float *Y = y0 + (b * ${M} + g * ${Mg}) * OSZ;\n"
        "for (long od = 0; od < %lld; od++)\n"
        "for (long oh = 0; oh < OH; oh++) {\n",
     (long long)N, (long long)G, (long long)isz, (long long)O[0]);
  /* tile_c channels x row segments of up to tile_p pixels (schedule.c). */
  const int mr = n->sched.tile_c, seg = n->sched.tile_p;
  int64_t mfull = Mg / mr * mr;
  int mt = (int)(Mg - mfull);
  /* Row segments of seg pixels (the accumulators must stay small), then
   * the rest of the row. */
  int64_t segs = O[2] / seg, rest = O[2] - segs * seg;
  const char *mat = cw_int(w, mfull), *rat = cw_int(w, segs * seg);
  for (int part = 0; part < 2; part++) {
    int64_t nr = part ? rest : seg;
    const char *ow0 = part ? rat : "ow0";
    if (!nr || (!part && !segs))
      continue;
    if (!part)
      cw(w, "for (long ow0 = 0; ow0 < %lld; ow0 += %d) {\n", (long long)(segs * seg), seg);
    if (mfull) {
      cw(w, "for (long m0 = 0; m0 < %lld; m0 += %d)\n", (long long)mfull, mr);
      emit_conv_tile(&k, mr, nr, "m0", ow0);
    }
    if (mt)
      emit_conv_tile(&k, mt, nr, mat, ow0);
    if (!part)
      cw(w, "}\n");
  }
  cw(w, "}\n}\n");
  return true;
}
