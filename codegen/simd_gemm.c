/*
 * simd_gemm.c — Gemm with a constant B^T (a classifier head) on the SIMD
 * targets: Y[M, N] = alpha A[M, K] B^T + C, with B^T packed by the layout
 * pass as LAYOUT_WCONV (N outputs in blocks of c, each block's K rows of c
 * lanes contiguous) and C as LAYOUT_CPAD.  For each row of A, tiles of
 * tile_c outputs (tile_c / c vectors) accumulate over K, one broadcast of
 * A[i][k] feeding every vector; the last block of N is stored through a
 * small buffer, and the epilogue (residual, activation) runs per element.
 * A batch-1 head is bound by streaming B from memory, which this does once.
 */
#include "../compiler/cardinal.h"

#define E(...) emit(e, __VA_ARGS__)

bool simd_gemm(Emitter *e, Graph *g, Node *n) {
  const Target *t = e->t;
  const Value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int c = t->vec, nv = n->sched.tile_c / c;
  int64_t M = y->dims[0], N = y->dims[1], K = a->dims[1], NB = (N + c - 1) / c;
  bool bias = n->nin > 2 && n->in[2] >= 0 && n->p.beta != 0.0f;
  Arena *ar = &g->arena;
  if (n->nin > 2 && n->in[2] >= 0 && !bias)
    E("  (void)x2;\n");
  E("  for (long i = 0; i < %lld; i++) {\n"
    "    const float *A = x0 + i * %lld;\n"
    "    for (long nb = s0 * %d; nb < s1 * %d && nb < %lld; nb += %d) {\n"
    "      %s acc[%d];\n"
    "      float lanes[%d];\n"
    "      long v, k, l;\n"
    "      for (v = 0; v < %d; v++)\n"
    "        acc[v] = %s;\n"
    "      for (k = 0; k < %lld; k++) {\n"
    "        const %s av = %s;\n"
    "        for (v = 0; v < %d; v++)\n"
    "          if (nb + v < %lld)\n"
    "            acc[v] = %s;\n"
    "      }\n"
    "      for (v = 0; v < %d && nb + v < %lld; v++) {\n"
    "        %s;\n"
    "        for (l = 0; l < %d && (nb + v) * %d + l < %lld; l++) {\n"
    "          const long j = (nb + v) * %d + l;\n"
    "          float *yo = y0 + i * %lld + j;\n"
    "          *yo = %s * lanes[l]%s;\n"
    "          %s\n"
    "        }\n"
    "      }\n"
    "    }\n"
    "  }\n",
    (long long)M, (long long)K, nv, nv, (long long)NB, nv, t->vtype, nv, c, nv,
    t->zero,
    (long long)K, t->vtype, vop(e, t->set1, "A[k]", 0, 0), nv, (long long)NB,
    vop(e, t->fma, "av", vop(e, t->load, arena_printf(ar, "x1 + ((nb + v) * %lld + k) * %d", (long long)K, c), 0, 0), "acc[v]"),
    nv, (long long)NB, vop(e, t->store, "lanes", "acc[v]", 0), c, c, (long long)N, c,
    (long long)N, c_float(e, n->p.alpha),
    bias ? arena_printf(ar, " + %s * x2[j]", c_float(e, n->p.beta)) : "",
    epilogue_stmt(e, n, "*yo", arena_printf(ar, "i * %lld + j", (long long)N), "j"));
  return true;
}
