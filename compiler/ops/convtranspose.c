/*
 * convtranspose.c — ConvTranspose (1-D, 2-D, 3-D; groups, strides,
 * dilations, pads, output_padding, output_shape, auto_pad): the upsampling
 * convolution of UNet decoders.  X [N, C, in...], W [C, M/group, k...],
 * optional B [M].  Input pixel i of channel c (group g) scatters into the
 * output through every tap k:
 *
 *   y[n][g M/group + m][i s - pad0 + k d] += x[n][c][i] W[c][m][k]
 *
 * per spatial dim, each output extent being
 *
 *   out = s (in - 1) + output_padding + (K - 1) d + 1 - pad0 - pad1
 *
 * With output_shape given (or auto_pad SAME_*, where it is in x s), the
 * pads are what makes that equation hold: total = s (in - 1) +
 * output_padding + (K - 1) d + 1 - out, split as ONNX says (SAME_UPPER:
 * total / 2 before; otherwise the larger half before); a negative total
 * (an output_shape past the natural extent) extends the end, which only
 * the bias reaches.
 *
 * The kernel is that scatter, taps innermost, for one image at a time:
 * a portable kernel.  The common case, kernel = stride (no overlap), never
 * reaches it: the convtranspose-to-conv pass makes it a 1x1 Conv and a
 * DepthToSpace.  (Overlapping windows on SIMD kernels, as a GEMM and
 * col2im or s^2 sub-pixel convs, are to come.)
 */
#include "../cardinal.h"

#include <string.h>

/* Attribute `name` (nsp ints) into the last nsp of out[3]; absent: leaves out. */
static bool spatial_ints(const Node *n, const char *name, int nsp, int64_t *out, Diag *d) {
  const Attr *a;
  if (!attr_get(n, name, AT_INTS, d, &a))
    return false;
  if (!a)
    return true;
  if (a->count != nsp) {
    diag_error(d, "node '%s' (ConvTranspose): attribute %s needs %d integers", node_label(n),
               name, nsp);
    return false;
  }
  for (int k = 0; k < nsp; k++)
    out[3 - nsp + k] = a->ints[k];
  return true;
}

bool convtranspose_parse(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  if (x->rank < 3 || x->rank > 5 || w->rank != x->rank) {
    diag_error(d, "node '%s' (ConvTranspose): input rank %d and weight rank %d: need equal "
               "ranks of 3 to 5", node_label(n), x->rank, w->rank);
    return false;
  }
  int nsp = x->rank - 2;
  OpParams *p = &n->p;
  int64_t ks[3] = {0, 0, 0};
  for (int k = 0; k < 3; k++)
    p->out_pad[k] = p->out_shape[k] = 0;
  if (!spatial_ints(n, "kernel_shape", nsp, ks, d) ||
      !spatial_ints(n, "output_padding", nsp, p->out_pad, d) ||
      !spatial_ints(n, "output_shape", nsp, p->out_shape, d))
    return false;
  for (int k = 0; k < nsp; k++)
    if ((ks[3 - nsp + k] && ks[3 - nsp + k] != w->dims[2 + k]) || p->out_pad[3 - nsp + k] < 0 ||
        p->out_pad[3 - nsp + k] > INT32_MAX || p->out_shape[3 - nsp + k] < 0 ||
        p->out_shape[3 - nsp + k] > INT32_MAX) {
      diag_error(d, "node '%s' (ConvTranspose): kernel_shape disagrees with the weight, or "
                 "output_padding or output_shape is negative or past 2^31", node_label(n));
      return false;
    }
  p->group = attr_int(n, "group", 1, d);
  return op_spatial_parse(n, d, nsp);
}

bool convtranspose_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  OpParams *p = &n->p;
  int nsp = p->nsp;
  if (x->dtype != DT_FLOAT || w->dtype != DT_FLOAT || x->rank != nsp + 2 ||
      w->rank != x->rank) {
    diag_error(d, "node '%s' (ConvTranspose): X and W must be float32 of rank %d",
               node_label(n), nsp + 2);
    return false;
  }
  int64_t C = x->dims[1], G = p->group;
  if (G < 1 || C % G || w->dims[0] != C || value_numel(x) == 0 || value_numel(w) == 0) {
    diag_error(d, "node '%s' (ConvTranspose): W must be [C = %lld, M / group, k...] with C "
               "divisible by group %lld, and neither empty", node_label(n), (long long)C,
               (long long)G);
    return false;
  }
  int64_t M = sat_mul(w->dims[1], G);
  if (node_has_input(n, 2)) {
    const Value *b = &g->values[n->in[2]];
    if (b->dtype != DT_FLOAT || value_numel(b) != M) {
      diag_error(d, "node '%s' (ConvTranspose): B must be float32 [%lld]", node_label(n),
                 (long long)M);
      return false;
    }
  }
  int64_t dims[CD_MAX_RANK] = {x->dims[0], M};
  for (int k = 0; k < nsp; k++) {
    int s = 3 - nsp + k;
    p->kernel[s] = w->dims[2 + k];
    int64_t in = x->dims[2 + k], st = p->stride[s], out, total;
    /* Each term is below 2^31 (parse, the tensor limits): no overflow. */
    int64_t natural = st * (in - 1) + p->out_pad[s] + (p->kernel[s] - 1) * p->dilation[s] + 1;
    bool same = p->auto_pad == AUTO_PAD_SAME_UPPER || p->auto_pad == AUTO_PAD_SAME_LOWER;
    if (p->out_shape[s] || same) {
      out = p->out_shape[s] ? p->out_shape[s] : in * st;
      total = natural - out;
      if (total < 0) {
        p->pad0[s] = 0;
        p->pad1[s] = total;
      } else if (p->auto_pad == AUTO_PAD_SAME_UPPER) {
        p->pad0[s] = total / 2;
        p->pad1[s] = total - total / 2;
      } else {
        p->pad0[s] = total - total / 2;
        p->pad1[s] = total / 2;
      }
    } else {
      if (p->auto_pad == AUTO_PAD_VALID)
        p->pad0[s] = p->pad1[s] = 0;
      out = natural - p->pad0[s] - p->pad1[s];
    }
    if (out < 1) {
      diag_error(d, "node '%s' (ConvTranspose): dim %d of the output would be %lld",
                 node_label(n), k, (long long)out);
      return false;
    }
    dims[2 + k] = out;
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, dims);
  return true;
}

/* The extents in three spatial dims (1s before the real ones). */
typedef struct {
  int64_t N, C, M, Cg, Mg, in[3], out[3], k[3];
} CtDims;

static void ct_dims(const Graph *g, const Node *n, CtDims *c) {
  const Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]], *y = &g->values[n->out[0]];
  c->N = x->dims[0];
  c->C = x->dims[1];
  c->M = y->dims[1];
  c->Cg = c->C / n->p.group;
  c->Mg = w->dims[1];
  sp_dims3(x, n->p.nsp, c->in);
  sp_dims3(y, n->p.nsp, c->out);
  sp_dims3(w, n->p.nsp, c->k);
}

void convtranspose_eval(Graph *g, Node *n, void **data) {
  const OpParams *p = &n->p;
  CtDims c;
  ct_dims(g, n, &c);
  const float *X = data[n->in[0]], *W = data[n->in[1]];
  const float *B = node_has_input(n, 2) ? data[n->in[2]] : NULL;
  float *Y = data[n->out[0]];
  int64_t osz = c.out[0] * c.out[1] * c.out[2], isz = c.in[0] * c.in[1] * c.in[2];
  int64_t ksz = c.k[0] * c.k[1] * c.k[2];
  for (int64_t b = 0; b < c.N; b++)
    for (int64_t m = 0; m < c.M; m++)
      for (int64_t o = 0; o < osz; o++)
        Y[(b * c.M + m) * osz + o] = B ? B[m] : 0.0f;
  for (int64_t b = 0; b < c.N; b++)
    for (int64_t ci = 0; ci < c.C; ci++) {
      int64_t grp = ci / c.Cg;
      for (int64_t i = 0; i < isz; i++) {
        int64_t id[3] = {i / (c.in[1] * c.in[2]), i / c.in[2] % c.in[1], i % c.in[2]};
        float v = X[(b * c.C + ci) * isz + i];
        for (int64_t m = 0; m < c.Mg; m++)
          for (int64_t k = 0; k < ksz; k++) {
            int64_t kd[3] = {k / (c.k[1] * c.k[2]), k / c.k[2] % c.k[1], k % c.k[2]}, off = 0;
            bool in = true;
            for (int s = 0; s < 3; s++) {
              int64_t o = id[s] * p->stride[s] - p->pad0[s] + kd[s] * p->dilation[s];
              in &= o >= 0 && o < c.out[s];
              off = off * c.out[s] + o;
            }
            if (in)
              Y[(b * c.M + grp * c.Mg + m) * osz + off] += v * W[(ci * c.Mg + m) * ksz + k];
          }
      }
    }
}

/* ------------------------------------------------------------ scalar kernel */

bool convtranspose_emit(CWriter *w, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  CtDims c;
  ct_dims(g, n, &c);
  bool bias = node_has_input(n, 2);
  static const char *const ax[3] = {"D", "H", "W"};
  for (int s = 0; s < 3; s++) {
    cw_var(w, cw_fmt(w, "I%s", ax[s]), "%lld", (long long)c.in[s]);
    cw_var(w, cw_fmt(w, "O%s", ax[s]), "%lld", (long long)c.out[s]);
    cw_var(w, cw_fmt(w, "K%s", ax[s]), "%lld", (long long)c.k[s]);
    cw_var(w, cw_fmt(w, "S%s", ax[s]), "%lld", (long long)p->stride[s]);
    cw_var(w, cw_fmt(w, "P%s", ax[s]), "%lld", (long long)p->pad0[s]);
    cw_var(w, cw_fmt(w, "L%s", ax[s]), "%lld", (long long)p->dilation[s]);
  }
  cw_var(w, "M", "%lld", (long long)c.M);
  cw_var(w, "C", "%lld", (long long)c.C);
  cw_var(w, "CG", "%lld", (long long)c.Cg);
  cw_var(w, "MG", "%lld", (long long)c.Mg);
  cw_var(w, "OSZ", "%lld", (long long)(c.out[0] * c.out[1] * c.out[2]));
  cw_var(w, "ISZ", "%lld", (long long)(c.in[0] * c.in[1] * c.in[2]));
  cw_var(w, "KSZ", "%lld", (long long)(c.k[0] * c.k[1] * c.k[2]));
  cw(w, "for (long b = 0; b < %lld; b++) {\n", (long long)c.N);
  cw(w, "float *yb = y0 + b * ${M} * ${OSZ};\n"
        "for (long m = 0; m < ${M}; m++)\n"
        "for (long o = 0; o < ${OSZ}; o++)\n"
        "yb[m * ${OSZ} + o] = %s;\n", bias ? "x2[m]" : "0.0f");
  cw(w, "for (long ci = 0; ci < ${C}; ci++) {\n"
        "const float *xc = x0 + (b * ${C} + ci) * ${ISZ};\n"
        "float *yg = yb + ci / ${CG} * ${MG} * ${OSZ};\n"
        "for (long id = 0; id < ${ID}; id++)\n"
        "for (long ih = 0; ih < ${IH}; ih++)\n"
        "for (long iw = 0; iw < ${IW}; iw++) {\n"
        "const float v = xc[(id * ${IH} + ih) * ${IW} + iw];\n"
        "for (long m = 0; m < ${MG}; m++) {\n"
        "const float *wk = x1 + (ci * ${MG} + m) * ${KSZ};\n"
        "float *ym = yg + m * ${OSZ};\n"
        "for (long kd = 0; kd < ${KD}; kd++) {\n"
        "const long od = id * ${SD} - ${PD} + kd * ${LD};\n"
        "if (od < 0 || od >= ${OD})\ncontinue;\n"
        "for (long kh = 0; kh < ${KH}; kh++) {\n"
        "const long oh = ih * ${SH} - ${PH} + kh * ${LH};\n"
        "if (oh < 0 || oh >= ${OH})\ncontinue;\n"
        "for (long kw = 0; kw < ${KW}; kw++) {\n"
        "const long ow = iw * ${SW} - ${PW} + kw * ${LW};\n"
        "if (ow >= 0 && ow < ${OW})\n"
        "ym[(od * ${OH} + oh) * ${OW} + ow] += v * wk[(kd * ${KH} + kh) * ${KW} + kw];\n"
        "}\n}\n}\n}\n}\n}\n}\n");
  return true;
}
