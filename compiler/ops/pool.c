/*
 * pool.c — MaxPool, AveragePool (1-D..3-D, pads, auto_pad, ceil_mode,
 * dilations, count_include_pad), GlobalAveragePool, GlobalMaxPool.
 *
 * A window starts at o*stride - pad0 and visits start + k*dilation.
 * AveragePool divides by the number of visited positions inside the input
 * (count_include_pad = 0) or inside the padded input [-pad0, in + pad1)
 * (count_include_pad = 1); with ceil_mode a window may hang past both, and
 * those positions never count, as in PyTorch and ONNX's reference.
 *
 * MaxPool also takes uint8 and int8 (opset 12 on; 2-D, without Indices):
 * the quantized models' pool, which fold-qdq makes of DQ -> MaxPool -> Q
 * (the max commutes with dequantizing).  Its portable kernel is written so
 * a C compiler vectorises it: per output row and tap, a loop over the
 * output columns the tap reaches, their range worked out here.
 */
#include "../cardinal.h"

#include <float.h>
#include <math.h>

bool pool_parse(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  if (x->rank < 3 || x->rank > 5) {
    diag_error(d, "node '%s' (%s): input must be of rank 3 to 5", node_label(n), n->op_type);
    return false;
  }
  OpParams *p = &n->p;
  int nsp = x->rank - 2;
  p->nsp = nsp;
  for (int k = 0; k < 3; k++)
    p->kernel[k] = p->stride[k] = p->dilation[k] = 1;
  if (n->op == OP_GLOBALAVGPOOL || n->op == OP_GLOBALMAXPOOL)
    return true;
  const Attr *ks;
  if (!attr_get(n, "kernel_shape", AT_INTS, d, &ks))
    return false;
  if (!ks || ks->count != nsp) {
    diag_error(d, "node '%s' (%s): kernel_shape must list %d extents",
               node_label(n), n->op_type, nsp);
    return false;
  }
  p->ceil_mode = attr_int(n, "ceil_mode", 0, d) != 0;
  p->count_include_pad = attr_int(n, "count_include_pad", 0, d) != 0;
  if (n->op == OP_MAXPOOL && attr_int(n, "storage_order", 0, d) != 0 && n->nout > 1) {
    diag_error(d, "node '%s' (MaxPool): column-major Indices are not supported",
               node_label(n));
    return false;
  }
  if (!op_spatial_parse(n, d, nsp))
    return false;
  for (int k = 0; k < nsp; k++) {
    if (ks->ints[k] < 1 || ks->ints[k] > INT32_MAX) {
      diag_error(d, "node '%s' (%s): kernel extents must be from 1 to 2^31 - 1",
                 node_label(n), n->op_type);
      return false;
    }
    p->kernel[3 - nsp + k] = ks->ints[k];
  }
  return true;
}

bool pool_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  OpParams *p = &n->p;
  int nsp = p->nsp;
  bool int_max = n->op == OP_MAXPOOL && nsp == 2 && n->nout == 1 &&
                 (x->dtype == DT_UINT8 || x->dtype == DT_INT8);
  if ((x->dtype != DT_FLOAT && !int_max) || x->rank != nsp + 2) {
    diag_error(d, "node '%s' (%s): input must be float32%s of rank %d", node_label(n),
               n->op_type, n->op == OP_MAXPOOL ? " (or uint8, int8: 2-D, without Indices)" : "",
               nsp + 2);
    return false;
  }
  int64_t dims[5] = {x->dims[0], x->dims[1]};
  if (n->op == OP_GLOBALAVGPOOL || n->op == OP_GLOBALMAXPOOL) {
    for (int k = 0; k < nsp; k++) {
      p->kernel[3 - nsp + k] = x->dims[2 + k];
      dims[2 + k] = 1;
    }
  } else {
    int64_t in_sp[3] = {1, 1, 1}, out_sp[3] = {1, 1, 1};
    for (int k = 0; k < nsp; k++)
      in_sp[k] = x->dims[2 + k];
    if (!op_spatial_infer(n, d, nsp, in_sp, out_sp))
      return false;
    for (int k = 0; k < nsp; k++)
      dims[2 + k] = out_sp[k];
  }
  value_set_shape(&g->values[n->out[0]], x->dtype, x->rank, dims);
  return true;
}

/* MaxPool of uint8 or int8 (2-D): the max of the taps inside the input. */
static void int_maxpool_eval(Graph *g, Node *n, void **data) {
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  bool u8 = x->dtype == DT_UINT8;
  for (int64_t c = 0, planes = x->dims[0] * x->dims[1]; c < planes; c++)
    for (int64_t oh = 0; oh < O[1]; oh++)
      for (int64_t ow = 0; ow < O[2]; ow++) {
        int32_t acc = u8 ? 0 : -128;
        for (int64_t kh = 0; kh < p->kernel[1]; kh++)
          for (int64_t kw = 0; kw < p->kernel[2]; kw++) {
            int64_t ih = oh * p->stride[1] - p->pad0[1] + kh * p->dilation[1];
            int64_t iw = ow * p->stride[2] - p->pad0[2] + kw * p->dilation[2];
            if (ih < 0 || ih >= I[1] || iw < 0 || iw >= I[2])
              continue;
            int64_t e = (c * I[1] + ih) * I[2] + iw;
            int32_t v = u8 ? ((const uint8_t *)data[n->in[0]])[e] : ((const int8_t *)data[n->in[0]])[e];
            acc = v > acc ? v : acc;
          }
        int64_t o = (c * O[1] + oh) * O[2] + ow;
        if (u8)
          ((uint8_t *)data[n->out[0]])[o] = (uint8_t)acc;
        else
          ((int8_t *)data[n->out[0]])[o] = (int8_t)acc;
      }
}

/* Its kernel: per plane and output row, the row starts at the lowest value,
 * then each tap in range maxes in a contiguous run of output columns. */
static void int_maxpool_emit(CWriter *w, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  const char *T = dtype_ctype(x->dtype);
  cw(w, "for (long c = 0; c < %lld; c++)\n"
        "for (long oh = 0; oh < %lld; oh++) {\n"
        "const %s *xp = x0 + c * %lld;\n"
        "%s *yr = y0 + (c * %lld + oh) * %lld;\n"
        "for (long ow = 0; ow < %lld; ow++)\n"
        "yr[ow] = %d;\n",
     (long long)(x->dims[0] * x->dims[1]), (long long)O[1], T, (long long)(I[1] * I[2]), T,
     (long long)O[1], (long long)O[2], (long long)O[2], x->dtype == DT_UINT8 ? 0 : -128);
  for (int64_t kh = 0; kh < p->kernel[1]; kh++) {
    cw(w, "{\nconst long ih = oh * %lld + %lld;\n"
          "if (ih >= 0 && ih < %lld) {\n"
          "const %s *xr = xp + ih * %lld;\n",
       (long long)p->stride[1], (long long)(kh * p->dilation[1] - p->pad0[1]), (long long)I[1], T,
       (long long)I[2]);
    for (int64_t kw = 0; kw < p->kernel[2]; kw++) {
      int64_t w0, w1, off = kw * p->dilation[2] - p->pad0[2];
      conv_tap_range(I[2], O[2], p->stride[2], p->pad0[2], kw, p->dilation[2], &w0, &w1);
      if (w0 < w1)
        cw(w, "for (long ow = %lld; ow < %lld; ow++) {\n"
              "const %s v = xr[ow * %lld + %lld];\n"
              "yr[ow] = v > yr[ow] ? v : yr[ow];\n"
              "}\n",
           (long long)w0, (long long)w1, T, (long long)p->stride[2], (long long)off);
    }
    cw(w, "}\n}\n");
  }
  cw(w, "}\n");
}

void pool_eval(Graph *g, Node *n, void **data) {
  if (g->values[n->in[0]].dtype != DT_FLOAT) {
    int_maxpool_eval(g, n, data);
    return;
  }
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const float *X = data[n->in[0]];
  float *Y = data[n->out[0]];
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  bool is_max = n->op == OP_MAXPOOL || n->op == OP_GLOBALMAXPOOL;
  int64_t planes = x->dims[0] * x->dims[1];
  for (int64_t c = 0; c < planes; c++) {
    const float *Xc = X + c * I[0] * I[1] * I[2];
    float *Yc = Y + c * O[0] * O[1] * O[2];
    for (int64_t od = 0; od < O[0]; od++)
      for (int64_t oh = 0; oh < O[1]; oh++)
        for (int64_t ow = 0; ow < O[2]; ow++) {
          int64_t o[3] = {od, oh, ow};
          double acc = is_max ? -INFINITY : 0.0;
          int64_t count = 0, padded = 0;
          int64_t pos[3];
          for (int64_t kd = 0; kd < p->kernel[0]; kd++)
            for (int64_t kh = 0; kh < p->kernel[1]; kh++)
              for (int64_t kw = 0; kw < p->kernel[2]; kw++) {
                int64_t k[3] = {kd, kh, kw};
                bool inside = true, in_pad = true;
                for (int s = 0; s < 3; s++) {
                  pos[s] = o[s] * p->stride[s] - p->pad0[s] + k[s] * p->dilation[s];
                  if (pos[s] < 0 || pos[s] >= I[s])
                    inside = false;
                  if (pos[s] < -p->pad0[s] || pos[s] >= I[s] + p->pad1[s])
                    in_pad = false;
                }
                if (in_pad)
                  padded++;
                if (!inside)
                  continue;
                float v = Xc[(pos[0] * I[1] + pos[1]) * I[2] + pos[2]];
                count++;
                if (is_max)
                  acc = v > acc || isnan(v) ? v : acc;
                else
                  acc += v;
              }
          if (!is_max) {
            int64_t div = p->count_include_pad ? padded : count;
            acc = div ? acc / (double)div : 0.0;
          }
          Yc[(od * O[1] + oh) * O[2] + ow] = (float)acc;
        }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool pool_emit(CWriter *w, Graph *g, Node *n) {
  if (g->values[n->in[0]].dtype != DT_FLOAT) {
    int_maxpool_emit(w, g, n);
    return true;
  }
  const OpParams *p = &n->p;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t I[3], O[3];
  sp_dims3(x, p->nsp, I);
  sp_dims3(y, p->nsp, O);
  bool is_max = n->op == OP_MAXPOOL || n->op == OP_GLOBALMAXPOOL;
  int64_t planes = x->dims[0] * x->dims[1];
  int64_t isz = I[0] * I[1] * I[2], osz = O[0] * O[1] * O[2];
  if (n->op == OP_GLOBALAVGPOOL || n->op == OP_GLOBALMAXPOOL) {
    cw(w, "for (long c = 0; c < %lld; c++) {\n"
          "const float *xp = x0 + c * %lld;\n"
          "float acc = %s;\n"
          "for (long i = 0; i < %lld; i++)\n"
          "%s;\n"
          "y0[c] = %s;\n"
          "}\n",
       (long long)planes, (long long)isz, is_max ? "xp[0]" : "0.0f", (long long)isz,
       is_max ? "acc = xp[i] > acc || xp[i] != xp[i] ? xp[i] : acc" : "acc += xp[i]",
       is_max ? "acc" : cw_fmt(w, "acc / %s", cw_float(w, (double)isz)));
    return true;
  }
  /* Per spatial dim s (d, h, w): input extent I, output extent O, kernel
   * K, stride S, padding before P and after, dilation D. */
  static const char *const dim[3] = {"d", "h", "w"};
  for (int s = 0; s < 3; s++) {
    cw_var(w, cw_fmt(w, "I%s", dim[s]), "%lld", (long long)I[s]);
    cw_var(w, cw_fmt(w, "O%s", dim[s]), "%lld", (long long)O[s]);
    cw_var(w, cw_fmt(w, "K%s", dim[s]), "%lld", (long long)p->kernel[s]);
    cw_var(w, cw_fmt(w, "S%s", dim[s]), "%lld", (long long)p->stride[s]);
    cw_var(w, cw_fmt(w, "P%s", dim[s]), "%lld", (long long)p->pad0[s]);
    cw_var(w, cw_fmt(w, "D%s", dim[s]), "%lld", (long long)p->dilation[s]);
    cw_var(w, cw_fmt(w, "E%s", dim[s]), "%lld", (long long)(I[s] + p->pad1[s])); /* padded end */
  }
  cw(w, "for (long c = 0; c < %lld; c++) {\n"
        "const float *xp = x0 + c * %lld;\n"
        "float *yp = y0 + c * %lld;\n"
        "for (long od = 0; od < ${Od}; od++)\n"
        "for (long oh = 0; oh < ${Oh}; oh++)\n"
        "for (long ow = 0; ow < ${Ow}; ow++) {\n"
        "float acc = %s;\n"
        "long count = 0, padded = 0;\n"
        "for (long kd = 0; kd < ${Kd}; kd++) {\n"
        "const long id = od * ${Sd} - ${Pd} + kd * ${Dd};\n"
        "for (long kh = 0; kh < ${Kh}; kh++) {\n"
        "const long ih = oh * ${Sh} - ${Ph} + kh * ${Dh};\n"
        "for (long kw = 0; kw < ${Kw}; kw++) {\n"
        "const long iw = ow * ${Sw} - ${Pw} + kw * ${Dw};\n"
        "if (id >= -${Pd} && id < ${Ed} && ih >= -${Ph} && ih < ${Eh} &&\n"
        "iw >= -${Pw} && iw < ${Ew})\n"
        "padded++;\n"
        "if (id < 0 || id >= ${Id} || ih < 0 || ih >= ${Ih} || iw < 0 || iw >= ${Iw})\n"
        "continue;\n"
        "{\n"
        "const float v = xp[(id * ${Ih} + ih) * ${Iw} + iw];\n"
        "count++;\n"
        "%s\n"
        "}\n"
        "}\n"
        "}\n"
        "}\n",
     (long long)planes, (long long)isz, (long long)osz, is_max ? "-HUGE_VALF" : "0.0f",
     is_max ? "if (v > acc || v != v) acc = v;" : "acc += v;");
  if (is_max)
    cw(w, "(void)count;\n(void)padded;\n"
          "yp[(od * ${Oh} + oh) * ${Ow} + ow] = acc;\n");
  else
    cw(w, "(void)count;\n(void)padded;\n"
          "{\nconst long div = %s;\n"
          "yp[(od * ${Oh} + oh) * ${Ow} + ow] = div ? acc / (float)div : 0.0f;\n"
          "}\n",
       p->count_include_pad ? "padded" : "count");
  cw(w, "}\n}\n");
  return true;
}
