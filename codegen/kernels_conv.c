/*
 * kernels_conv.c — scalar kernels for Conv and the pools.
 *
 * Conv is written as a sum of shifted, scaled input planes: for each output
 * channel m, input channel c and kernel tap (kd, kh, kw), the output rows
 * gain w * input row.  The range of output positions whose tap falls inside
 * the input is computed here, at compile time, into small tables (lo/hi per
 * tap and spatial dim), so the generated loops carry no bounds checks and
 * the innermost loop (along W) is a unit-stride axpy compilers vectorise.
 */
#include "../compiler/cardinal.h"

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

bool conv_emit(Emitter *e, Graph *g, Node *n) {
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
  (void)ksz;
  if (node_has_epilogue(n)) {
    const char *idx = arena_printf(&g->arena, "(b * %lld + m) * %lld + i", (long long)M,
                                   (long long)osz);
    emit(e, "      for (long i = 0; i < %lld; i++)\n        %s\n", (long long)osz,
         epilogue_stmt(e, n, "yp[i]", idx, "m"));
  }
  emit(e, "    }\n");
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
