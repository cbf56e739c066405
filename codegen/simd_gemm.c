/*
 * simd_gemm.c — Gemm with a constant B^T on the SIMD targets (a classifier
 * head, and the MatMuls of linear layers, which gemm-from-matmul turns into
 * Gemms): Y[M, N] = alpha A[M, K] B^T + beta C, B^T packed by the layout
 * pass as LAYOUT_WCONV (N outputs in blocks of c, each block's K rows of c
 * lanes contiguous) and C as LAYOUT_CPAD.  A register tile of tile_p rows x
 * tile_c / c vectors accumulates over K: per k, one weight load per vector
 * and one broadcast of A[i][k] per row, rows x vectors FMAs.  The store
 * applies alpha, beta C and the epilogue in registers; a partial last block
 * of N goes through a small buffer, element by element.  A batch-1 head is
 * bound by streaming B from memory, which this does once.
 */
#include "../compiler/cardinal.h"

#define E(...) cw(e->w, __VA_ARGS__)

/* Stores accumulator acc as y0[i][j .. j + c) (i, j in scope): alpha acc +
 * beta C[j ..], then the epilogue (residual, its scale, the activation) as
 * the scalar path computes it, operation for operation. */
static void gemm_store_vector(Emitter *e, Node *n, const char *acc, bool bias) {
  const VecOps *o = &e->t->f32;
  CWriter *w = e->w;
  const char *val = acc;
  if (n->p.alpha != 1.0f)
    val = cw_op(w, o->mul, cw_op(w, o->set1, cw_float(w, n->p.alpha), 0, 0), val, 0);
  if (bias) {
    const char *b = cw_op(w, o->load, "x2 + j", 0, 0);
    if (n->p.beta != 1.0f)
      b = cw_op(w, o->mul, cw_op(w, o->set1, cw_float(w, n->p.beta), 0, 0), b, 0);
    val = cw_op(w, o->add, val, b, 0);
  }
  if (n->ep.residual >= 0) {
    const char *r = cw_op(w, o->load, "r + i * ${N} + j", 0, 0);
    if (n->ep.residual_scale >= 0)
      r = cw_op(w, o->mul, r, cw_op(w, o->load, "rs + j", 0, 0), 0);
    val = cw_op(w, o->add, val, r, 0);
  }
  if (n->ep.act != OP_COUNT) {
    E("const %s ev = %s;\n", o->vtype, val);
    val = act_vector(w, o, n->ep.act, n->ep.act_alpha, n->ep.act_beta, "ev");
  }
  E("%s;\n", cw_op(w, o->store, "y0 + i * ${N} + j", val, 0));
}

/* One tile: mr rows from i0 x nvv vectors from nb (C expressions). */
static void gemm_tile(Emitter *e, Graph *g, Node *n, int mr, int nvv, const char *i0) {
  const Target *t = e->t;
  const Value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int c = t->block;
  int64_t N = y->dims[1], K = a->dims[1];
  bool bias = n->nin > 2 && n->in[2] >= 0 && n->p.beta != 0.0f;
  Arena *ar = &g->arena;
  cw_var(e->w, "c", "%d", c);
  cw_var(e->w, "N", "%lld", (long long)N);
  E("{\n");
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nvv; v++)
      E("%s a%d_%d = %s;\n", t->f32.vtype, r, v, t->f32.zero);
  E("for (long k = 0; k < %lld; k++) {\n", (long long)K);
  for (int v = 0; v < nvv; v++)
    E("const %s w%d = %s;\n", t->f32.vtype, v,
      cw_op(e->w, t->f32.load, arena_printf(ar, "x1 + ((nb + %d) * %lld + k) * %d", v, (long long)K, c),
          0, 0));
  for (int r = 0; r < mr; r++) {
    E("{\nconst %s av = %s;\n", t->f32.vtype,
      cw_op(e->w, t->f32.set1, arena_printf(ar, "x0[(%s + %d) * %lld + k]", i0, r, (long long)K), 0, 0));
    for (int v = 0; v < nvv; v++) {
      const char *acc = arena_printf(ar, "a%d_%d", r, v);
      E("%s = %s;\n", acc, cw_op(e->w, t->f32.fma, "av", arena_printf(ar, "w%d", v), acc));
    }
    E("}\n");
  }
  E("}\n");
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nvv; v++) {
      cw_var(e->w, "v", "%d", v);
      cw_var(e->w, "r", "%d", r);
      /* A whole vector of N: alpha, beta C and the epilogue in registers,
       * one unaligned store; the partial last block of N through lanes. */
      E("if ((nb + ${v} + 1) * ${c} <= ${N}) {\n"
        "const long j = (nb + ${v}) * ${c}, i = %s + ${r};\n",
        i0);
      gemm_store_vector(e, n, arena_printf(ar, "a%d_%d", r, v), bias);
      E("} else {\n"
        "%s;\n",
        cw_op(e->w, t->f32.store, "lanes", arena_printf(ar, "a%d_%d", r, v), 0));
      E("for (long l = 0; l < ${c} && (nb + ${v}) * ${c} + l < ${N}; l++) {\n"
        "const long j = (nb + ${v}) * ${c} + l, i = %s + ${r};\n"
        "float *yo = y0 + i * ${N} + j;\n"
        "*yo = %s * lanes[l]%s;\n"
        "%s\n"
        "}\n"
        "}\n",
        i0, cw_float(e->w, n->p.alpha),
        bias ? arena_printf(ar, " + %s * x2[j]", cw_float(e->w, n->p.beta)) : "",
        epilogue_stmt(e->w, n, "*yo", "i * ${N} + j", "j"));
    }
  E("}\n");
}

/* The output blocks of one row tile: whole groups of nv vectors, then the
 * leftover vectors; by_blocks: only the thread's groups [s0, s1). */
static void gemm_blocks(Emitter *e, Graph *g, Node *n, int mr, const char *i0, bool by_blocks) {
  int c = e->t->block, nv = n->sched.tile_c / c;
  const Value *y = &g->values[n->out[0]];
  int64_t NB = (y->dims[1] + c - 1) / c, nf = NB / nv;
  int rest = (int)(NB - nf * nv);
  if (nf) {
    if (by_blocks)
      E("for (long nb = s0 * %d; nb < (s1 < %lld ? s1 : %lld) * %d; nb += %d)\n", nv,
        (long long)nf, (long long)nf, nv, nv);
    else
      E("for (long nb = 0; nb < %lld; nb += %d)\n", (long long)(nf * nv), nv);
    gemm_tile(e, g, n, mr, nv, i0);
  }
  if (rest) {
    E("%s{\nconst long nb = %lld;\n",
      by_blocks ? arena_printf(&g->arena, "if (s0 <= %lld && %lld < s1) ", (long long)nf,
                               (long long)nf)
                : "",
      (long long)(nf * nv));
    gemm_tile(e, g, n, mr, rest, i0);
    E("}\n");
  }
}

static bool simd_gemm(Emitter *e, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  int mr = n->sched.tile_p > 0 ? n->sched.tile_p : 1;
  int64_t M = y->dims[0], mf = M / mr;
  bool by_blocks = n->sched.split == SPLIT_BLOCKS; /* threads split N's blocks, or row tiles */
  E("float lanes[%d];\n", e->t->block);
  if (n->nin > 2 && n->in[2] >= 0 && n->p.beta == 0.0f)
    E("(void)x2;\n");
  if (mf) {
    if (by_blocks)
      E("for (long i0 = 0; i0 < %lld; i0 += %d) {\n", (long long)(mf * mr), mr);
    else
      E("for (long i0 = s0 * %d; i0 < (s1 < %lld ? s1 : %lld) * %d; i0 += %d) {\n", mr,
        (long long)mf, (long long)mf, mr, mr);
    gemm_blocks(e, g, n, mr, "i0", by_blocks);
    E("}\n");
  }
  if (M > mf * mr) {
    E("%s{\n", by_blocks ? "" : arena_printf(&g->arena, "if (s0 <= %lld && %lld < s1) ",
                                                (long long)mf, (long long)mf));
    gemm_blocks(e, g, n, (int)(M - mf * mr), arena_printf(&g->arena, "%lld", (long long)(mf * mr)),
                by_blocks);
    E("}\n");
  }
  return true;
}

/* ------------------------------------------------------------ the family's row */

bool gemm_can_pack(const Graph *g, const Node *n, const Target *t) {
  if (n->op != OP_GEMM || t->block < 2 || !n->p.trans_b || n->p.trans_a ||
      !absent_or_const(g, n->in[1]) || g->values[n->in[1]].layout.kind != LAYOUT_PLAIN)
    return false;
  if (n->nin > 2 && n->in[2] >= 0) {
    const Value *c = &g->values[n->in[2]];
    if (!c->data || c->rank != 1 || c->dims[0] != g->values[n->in[1]].dims[0])
      return false;
  }
  return true;
}

static bool gemm_vec_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return n->op == OP_GEMM && g->values[n->in[1]].layout.kind == LAYOUT_WCONV;
}

#define GEMM_SPARE_REGS 3 /* beside the accumulators and weights: the broadcast, spares */

/* The packed Gemm's tile: tile_p rows x tile_c / c vectors, the most FMAs
 * per load within the registers, as for the blocked conv (its rows are the
 * conv's pixels). */
static void gemm_vec_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  const Value *y = &g->values[n->out[0]];
  int64_t M = y->dims[0], nb = (y->dims[1] + t->block - 1) / t->block;
  int regs = t->nregs - GEMM_SPARE_REGS;
  double best = 0;
  for (int nv = 1; nv <= 4 && nv <= nb; nv++)
    for (int r = 1; r * nv + nv <= regs && r <= M; r++) {
      int64_t tiles = (M + r - 1) / r;
      double used = (double)M / (double)(tiles * r);
      double score = (double)(r * nv) / (double)(r + nv) * used;
      if (score > best + 1e-9) {
        best = score;
        s->tile_c = nv * t->block;
        s->tile_p = r;
      }
    }
}

/* Row tiles when there are enough, else groups of output blocks. */
static SplitAxis gemm_vec_split(const Graph *g, const Node *n, const Target *t, int T,
                                int64_t *units) {
  const Value *y = &g->values[n->out[0]];
  int c = t->block;
  int64_t nb = (y->dims[1] + c - 1) / c, nv = n->sched.tile_c / c;
  int64_t rows = (y->dims[0] + n->sched.tile_p - 1) / n->sched.tile_p;
  bool by_rows = rows >= 2 * T;
  *units = by_rows ? rows : (nb + nv - 1) / nv;
  return by_rows ? SPLIT_ROWS : SPLIT_BLOCKS;
}

const KernelConfig kc_gemm_vec = {
    .name = "gemm_vec",
    .x = DT_FLOAT, .w = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR,
    .runs = gemm_vec_runs,
    .tile = gemm_vec_tile,
    .split = gemm_vec_split,
    .emit = simd_gemm,
};
