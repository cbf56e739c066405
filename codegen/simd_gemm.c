/*
 * simd_gemm.c — Gemm with a constant B^T on the SIMD targets (a classifier
 * head, and the MatMuls of linear layers, which gemm-from-matmul turns into
 * Gemms): Y[M, N] = alpha A[M, K] B^T + beta C, B^T packed by the layout
 * pass as LAYOUT_WCONV (N outputs in blocks of c, each block's K rows of c
 * lanes contiguous) and C as LAYOUT_CPAD.  A register tile of tile_p rows x
 * tile_c / c vectors accumulates over K: per k, one weight load per vector
 * and one broadcast of A[i][k] per row, rows x vectors FMAs.  The store
 * goes through a small buffer per vector (a partial last block of N needs
 * it), with alpha, beta C and the epilogue per element.  A batch-1 head is
 * bound by streaming B from memory, which this does once.
 */
#include "../compiler/cardinal.h"

#define E(...) emit(e, __VA_ARGS__)

/* One tile: mr rows from i0 x nvv vectors from nb (C expressions). */
static void gemm_tile(Emitter *e, Graph *g, Node *n, int mr, int nvv, const char *i0) {
  const Target *t = e->t;
  const Value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int c = t->vec;
  int64_t N = y->dims[1], K = a->dims[1];
  bool bias = n->nin > 2 && n->in[2] >= 0 && n->p.beta != 0.0f;
  Arena *ar = &g->arena;
  E("        {\n");
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nvv; v++)
      E("          %s a%d_%d = %s;\n", t->vtype, r, v, t->zero);
  E("          for (long k = 0; k < %lld; k++) {\n", (long long)K);
  for (int v = 0; v < nvv; v++)
    E("            const %s w%d = %s;\n", t->vtype, v,
      vop(e, t->load, arena_printf(ar, "x1 + ((nb + %d) * %lld + k) * %d", v, (long long)K, c),
          0, 0));
  for (int r = 0; r < mr; r++) {
    E("            {\n              const %s av = %s;\n", t->vtype,
      vop(e, t->set1, arena_printf(ar, "x0[(%s + %d) * %lld + k]", i0, r, (long long)K), 0, 0));
    for (int v = 0; v < nvv; v++) {
      const char *acc = arena_printf(ar, "a%d_%d", r, v);
      E("              %s = %s;\n", acc, vop(e, t->fma, "av", arena_printf(ar, "w%d", v), acc));
    }
    E("            }\n");
  }
  E("          }\n");
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nvv; v++) {
      E("          %s;\n", vop(e, t->store, "lanes", arena_printf(ar, "a%d_%d", r, v), 0));
      E("          for (long l = 0; l < %d && (nb + %d) * %d + l < %lld; l++) {\n"
        "            const long j = (nb + %d) * %d + l, i = %s + %d;\n"
        "            float *yo = y0 + i * %lld + j;\n"
        "            *yo = %s * lanes[l]%s;\n"
        "            %s\n"
        "          }\n",
        c, v, c, (long long)N, v, c, i0, r, (long long)N, c_float(e, n->p.alpha),
        bias ? arena_printf(ar, " + %s * x2[j]", c_float(e, n->p.beta)) : "",
        epilogue_stmt(e, n, "*yo", arena_printf(ar, "i * %lld + j", (long long)N), "j"));
    }
  E("        }\n");
}

/* The output blocks of one row tile: whole groups of nv vectors, then the
 * leftover vectors; by_blocks: only the thread's groups [s0, s1). */
static void gemm_blocks(Emitter *e, Graph *g, Node *n, int mr, const char *i0, bool by_blocks) {
  int c = e->t->vec, nv = n->sched.tile_c / c;
  const Value *y = &g->values[n->out[0]];
  int64_t NB = (y->dims[1] + c - 1) / c, nf = NB / nv;
  int rest = (int)(NB - nf * nv);
  if (nf) {
    if (by_blocks)
      E("      for (long nb = s0 * %d; nb < (s1 < %lld ? s1 : %lld) * %d; nb += %d)\n", nv,
        (long long)nf, (long long)nf, nv, nv);
    else
      E("      for (long nb = 0; nb < %lld; nb += %d)\n", (long long)(nf * nv), nv);
    gemm_tile(e, g, n, mr, nv, i0);
  }
  if (rest) {
    E("      %s{\n        const long nb = %lld;\n",
      by_blocks ? arena_printf(&g->arena, "if (s0 <= %lld && %lld < s1) ", (long long)nf,
                               (long long)nf)
                : "",
      (long long)(nf * nv));
    gemm_tile(e, g, n, mr, rest, i0);
    E("      }\n");
  }
}

bool simd_gemm(Emitter *e, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int mr = n->sched.tile_p > 0 ? n->sched.tile_p : 1;
  int64_t M = y->dims[0], mf = M / mr;
  bool by_blocks = n->sched.split == SPLIT_BLOCKS; /* threads split N's blocks, or row tiles */
  E("  float lanes[%d];\n", e->t->vec);
  if (n->nin > 2 && n->in[2] >= 0 && n->p.beta == 0.0f)
    E("  (void)x2;\n");
  if (mf) {
    if (by_blocks)
      E("  for (long i0 = 0; i0 < %lld; i0 += %d) {\n", (long long)(mf * mr), mr);
    else
      E("  for (long i0 = s0 * %d; i0 < (s1 < %lld ? s1 : %lld) * %d; i0 += %d) {\n", mr,
        (long long)mf, (long long)mf, mr, mr);
    gemm_blocks(e, g, n, mr, "i0", by_blocks);
    E("  }\n");
  }
  if (M > mf * mr) {
    E("  %s{\n", by_blocks ? "" : arena_printf(&g->arena, "if (s0 <= %lld && %lld < s1) ",
                                                (long long)mf, (long long)mf));
    gemm_blocks(e, g, n, (int)(M - mf * mr), arena_printf(&g->arena, "%lld", (long long)(mf * mr)),
                by_blocks);
    E("  }\n");
  }
  return true;
}
