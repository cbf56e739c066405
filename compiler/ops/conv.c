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
  const Attr *a = node_attr(n, name);
  if (!a)
    return true;
  if (a->type != AT_INTS || a->count != want) {
    diag_error(d, "node '%s' (%s): attribute %s needs %d integers",
               node_label(n), n->op_type, name, want);
    return false;
  }
  for (int i = 0; i < want; i++)
    out[i] = a->ints[i];
  return true;
}

/*
 * Fills n->p's kernel/stride/dilation/pads from attributes for an op whose
 * input has spatial extents in_sp[nsp]; writes output extents to out_sp.
 * kernel[] must already hold the kernel extents (from W or kernel_shape).
 */
bool op_spatial(Node *n, Diag *d, int nsp, const int64_t *in_sp,
                int64_t *out_sp) {
  OpParams *p = &n->p;
  int64_t stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pads[6] = {0};
  if (!read_ints(n, "strides", nsp, stride, d) ||
      !read_ints(n, "dilations", nsp, dil, d) ||
      !read_ints(n, "pads", 2 * nsp, pads, d))
    return false;
  const char *ap = attr_string(n, "auto_pad", "NOTSET");
  for (int k = 0; k < nsp; k++) {
    if (stride[k] < 1 || dil[k] < 1 || p->kernel[3 - nsp + k] < 1 ||
        pads[k] < 0 || pads[nsp + k] < 0) {
      diag_error(d, "node '%s' (%s): strides, dilations and kernel must be "
                 "positive and pads non-negative", node_label(n), n->op_type);
      return false;
    }
  }
  for (int k = 0; k < 3; k++) {
    p->stride[k] = 1;
    p->dilation[k] = 1;
    p->pad0[k] = p->pad1[k] = 0;
  }
  for (int k = 0; k < nsp; k++) {
    int s = 3 - nsp + k;
    int64_t in = in_sp[k], K = p->kernel[s];
    int64_t ext = dil[k] * (K - 1) + 1;
    p->stride[s] = stride[k];
    p->dilation[s] = dil[k];
    int64_t out;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
      out = (in + stride[k] - 1) / stride[k];
      int64_t total = (out - 1) * stride[k] + ext - in;
      if (total < 0)
        total = 0;
      p->pad0[s] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
      p->pad1[s] = total - p->pad0[s];
    } else if (!strcmp(ap, "VALID")) {
      out = (in - ext) / stride[k] + 1;
      if (in < ext)
        out = 0;
    } else if (!strcmp(ap, "NOTSET")) {
      p->pad0[s] = pads[k];
      p->pad1[s] = pads[nsp + k];
      int64_t span = in + pads[k] + pads[nsp + k] - ext;
      if (span < 0)
        out = 0;
      else if (p->ceil_mode) {
        out = (span + stride[k] - 1) / stride[k] + 1;
        /* The last window must start inside the input or left padding. */
        if ((out - 1) * stride[k] >= in + pads[k])
          out--;
      } else
        out = span / stride[k] + 1;
    } else {
      diag_error(d, "node '%s' (%s): unknown auto_pad '%s'", node_label(n),
                 n->op_type, ap);
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

bool conv_infer(Graph *g, Node *n, Diag *d) {
  if (!op_check_arity(g, n, d))
    return false;
  Value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]];
  if (x->dtype != DT_FLOAT || w->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (Conv): only float32 is supported", node_label(n));
    return false;
  }
  if (x->rank < 3 || x->rank > 5 || w->rank != x->rank) {
    diag_error(d, "node '%s' (Conv): input rank %d and weight rank %d: need "
               "equal ranks of 3 to 5", node_label(n), x->rank, w->rank);
    return false;
  }
  OpParams *p = &n->p;
  int nsp = x->rank - 2;
  p->nsp = nsp;
  p->group = attr_int(n, "group", 1);
  int64_t C = x->dims[1], M = w->dims[0];
  if (p->group < 1 || C % p->group || M % p->group ||
      w->dims[1] * p->group != C) {
    diag_error(d, "node '%s' (Conv): %lld input channels, weight [%lld,%lld,..] "
               "and group %lld do not agree", node_label(n), (long long)C,
               (long long)M, (long long)w->dims[1], (long long)p->group);
    return false;
  }
  int64_t ks[3] = {1, 1, 1};
  if (!read_ints(n, "kernel_shape", nsp, ks, d))
    return false;
  for (int k = 0; k < 3; k++)
    p->kernel[k] = 1;
  for (int k = 0; k < nsp; k++) {
    p->kernel[3 - nsp + k] = w->dims[2 + k];
    if (node_attr(n, "kernel_shape") && ks[k] != w->dims[2 + k]) {
      diag_error(d, "node '%s' (Conv): kernel_shape disagrees with the weight",
                 node_label(n));
      return false;
    }
  }
  if (n->nin > 2 && n->in[2] >= 0) {
    Value *b = &g->values[n->in[2]];
    if (b->rank != 1 || b->dims[0] != M || b->dtype != DT_FLOAT) {
      diag_error(d, "node '%s' (Conv): bias must be float32 [%lld]",
                 node_label(n), (long long)M);
      return false;
    }
  }
  int64_t in_sp[3], out_sp[3];
  for (int k = 0; k < nsp; k++)
    in_sp[k] = x->dims[2 + k];
  if (!op_spatial(n, d, nsp, in_sp, out_sp))
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
