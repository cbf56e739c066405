/*
 * simd_pool.c — pooling on NCHWc for the SIMD targets: every vector holds
 * the same pixel of c channels, so a window is a max or sum of whole
 * vectors.  MaxPool/AveragePool (2-D, strides, pads, ceil_mode) visit the
 * valid taps of each output pixel; AveragePool divides by the count the
 * scalar kernel would (count_include_pad or not), computed when the kernel
 * is written.  Global pools reduce a block's pixels to one vector.
 */
#include "../compiler/cardinal.h"

#define E(...) emit(e, __VA_ARGS__)

bool simd_pool_blocked(Emitter *e, Graph *g, Node *n) {
  const Target *t = e->t;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  int c = t->vec;
  int64_t CB = (x->dims[1] + c - 1) / c * x->dims[0];
  int64_t IH = x->dims[2], IW = x->dims[3], OH = y->dims[2], OW = y->dims[3];
  bool is_max = n->op == OP_MAXPOOL;
  bool by_blocks = n->sched.split == SPLIT_BLOCKS; /* threads split blocks, or rows */
  E("  for (long cb = %s; cb < %s; cb++) {\n"
    "    const float *X = x0 + cb * %lld;\n"
    "    float *Y = y0 + cb * %lld;\n"
    "    for (long oh = %s; oh < %s; oh++)\n"
    "      for (long ow = 0; ow < %lld; ow++) {\n"
    "        const long ih0 = oh * %lld - %lld, iw0 = ow * %lld - %lld;\n"
    "        %s acc = %s;\n"
    "        long count = 0, padded = 0;\n"
    "        for (long kh = 0; kh < %lld; kh++)\n"
    "          for (long kw = 0; kw < %lld; kw++) {\n"
    "            const long ih = ih0 + kh, iw = iw0 + kw;\n"
    "            if (ih < %lld && iw < %lld)\n"
    "              padded++;\n"
    "            if (ih < 0 || ih >= %lld || iw < 0 || iw >= %lld)\n"
    "              continue;\n"
    "            count++;\n"
    "            acc = %s;\n"
    "          }\n",
    by_blocks ? "s0" : "0", by_blocks ? "s1" : arena_printf(&g->arena, "%lld", (long long)CB),
    (long long)(IH * IW * c), (long long)(OH * OW * c), by_blocks ? "0" : "s0",
    by_blocks ? arena_printf(&g->arena, "%lld", (long long)OH) : "s1",
    (long long)OW, (long long)p->stride[1], (long long)p->pad0[1], (long long)p->stride[2],
    (long long)p->pad0[2], t->vtype, is_max ? vop(e, t->set1, "-HUGE_VALF", 0, 0) : t->zero,
    (long long)p->kernel[1], (long long)p->kernel[2], (long long)(IH + p->pad1[1]),
    (long long)(IW + p->pad1[2]), (long long)IH, (long long)IW,
    vop(e, is_max ? t->max : t->add, "acc", vop(e, t->load, arena_printf(&g->arena, "X + (ih * %lld + iw) * %d", (long long)IW, c), 0, 0), 0));
  if (is_max)
    E("        (void)count;\n        (void)padded;\n"
      "        %s;\n",
      vop(e, t->store, arena_printf(&g->arena, "Y + (oh * %lld + ow) * %d", (long long)OW, c), "acc", 0));
  else
    E("        (void)count;\n        (void)padded;\n"
      "        %s;\n",
      vop(e, t->store, arena_printf(&g->arena, "Y + (oh * %lld + ow) * %d", (long long)OW, c),
          vop(e, t->mul, "acc", vop(e, t->set1, p->count_include_pad ? "1.0f / (float)padded" : "count ? 1.0f / (float)count : 0.0f", 0, 0), 0), 0));
  E("      }\n  }\n");
  return true;
}

bool simd_gpool_blocked(Emitter *e, Graph *g, Node *n) {
  const Target *t = e->t;
  const Value *x = &g->values[n->in[0]];
  int c = t->vec;
  int64_t CB = (x->dims[1] + c - 1) / c * x->dims[0];
  int64_t S = x->dims[2] * x->dims[3];
  bool is_max = n->op == OP_GLOBALMAXPOOL;
  (void)CB; /* the threads' units are the blocks */
  E("  for (long cb = s0; cb < s1; cb++) {\n"
    "    const float *X = x0 + cb * %lld;\n"
    "    %s acc = %s;\n"
    "    for (long i = 0; i < %lld; i++)\n"
    "      acc = %s;\n"
    "    %s;\n"
    "  }\n",
    (long long)(S * c), t->vtype,
    is_max ? vop(e, t->load, "X", 0, 0) : t->zero, (long long)S,
    vop(e, is_max ? t->max : t->add, "acc", vop(e, t->load, arena_printf(&g->arena, "X + i * %d", c), 0, 0), 0),
    vop(e, t->store, arena_printf(&g->arena, "y0 + cb * %d", c),
        is_max ? "acc" : vop(e, t->mul, "acc", vop(e, t->set1, c_float(e, 1.0 / (double)S), 0, 0), 0), 0));
  return true;
}
