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
  bool bias = node_has_input(n, 2) && n->p.beta != 0.0f;
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
  if (node_has_input(n, 2) && n->p.beta == 0.0f)
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
  if (node_has_input(n, 2)) {
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

/*
 * matmul_vec: MatMul of two computed float tensors (no constant to pack: a
 * transformer's attention, Q K^T and the weights times V), batched, on the
 * plain layout.  Per batch, a tile of MATMUL_MR rows of A x nv vectors of
 * a B row: per k, nv loads of B's row k and one broadcast of A[r][k] per
 * row, MATMUL_MR x nv FMAs; then single vectors; the columns past the last
 * whole vector from a zero-padded copy of them (one vector a row of B),
 * stored through a buffer; the last tile of rows as many rows as are left.
 * Units (batch, tile of rows) split over threads; each output is one sum
 * over k in order, whatever the split.  ViT-B/16's attention (12 heads,
 * 197 tokens, 64 a head): the 24 MatMuls of a run 32.4 ms (the portable
 * i-k-j loops) -> 13.8 (one Zen 4 core, shared).
 */
#define MATMUL_MR 4

static bool matmul_vec_shape(const Graph *g, const Node *n, MatMulShape *sh) {
  if (n->op != OP_MATMUL)
    return false;
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]], *y = &g->values[n->out[0]];
  return a->dtype == DT_FLOAT && b->dtype == DT_FLOAT && a->layout.kind == LAYOUT_PLAIN &&
         b->layout.kind == LAYOUT_PLAIN && y->layout.kind == LAYOUT_PLAIN && a->rank >= 2 &&
         b->rank >= 2 && matmul_shape(a, b, sh) && sh->K > 0 && value_numel(y) > 0;
}

static bool matmul_vec_runs(const Graph *g, const Node *n, const Target *t) {
  MatMulShape sh;
  return matmul_vec_shape(g, n, &sh) && sh.N >= t->f32.lanes;
}

static int64_t matmul_batches(const MatMulShape *sh) {
  int64_t nb = 1;
  for (int k = 0; k < sh->brank; k++)
    nb *= sh->bdims[k];
  return nb;
}

static SplitAxis matmul_vec_split(const Graph *g, const Node *n, const Target *t, int T,
                                  int64_t *units) {
  (void)t;
  (void)T;
  MatMulShape sh;
  CD_ASSERT(matmul_vec_shape(g, n, &sh));
  *units = matmul_batches(&sh) * ((sh.M + MATMUL_MR - 1) / MATMUL_MR);
  return SPLIT_ROWS;
}

/* Columns [j, j + nv L) of the unit's first mr rows (A, Y in scope), B's
 * rows `bstride` floats apart at `bp`; with `tail`, one vector whose first
 * nt lanes are stored (through a buffer). */
static void matmul_tile(Emitter *e, int mr, int nv, const char *j0, const char *bp,
                        const char *bstride, bool tail) {
  const VecOps *o = &e->t->f32;
  CWriter *w = e->w;
  E("{\nconst long j = %s;\n", j0);
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++)
      E("%s c%d_%d = %s;\n", o->vtype, r, v, o->zero);
  E("for (long k = 0; k < ${K}; k++) {\n");
  for (int v = 0; v < nv; v++)
    E("const %s b%d = %s;\n", o->vtype, v,
      cw_op(w, o->load, cw_fmt(w, "%s + k * %s + %s%d", bp, bstride, tail ? "" : "j + ", v * o->lanes),
            0, 0));
  for (int r = 0; r < mr; r++) {
    E("{\nconst %s a = %s;\n", o->vtype, cw_op(w, o->set1, cw_fmt(w, "A[%d * ${K} + k]", r), 0, 0));
    for (int v = 0; v < nv; v++)
      E("c%d_%d = %s;\n", r, v, cw_op(w, o->fma, "a", cw_fmt(w, "b%d", v), cw_fmt(w, "c%d_%d", r, v)));
    E("}\n");
  }
  E("}\n");
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) {
      const char *c = cw_fmt(w, "c%d_%d", r, v);
      if (tail)
        E("{\nfloat t[%d];\n%s;\nfor (long q = 0; q < ${nt}; q++)\nY[%d * ${N} + j + q] = t[q];\n}\n",
          o->lanes, cw_op(w, o->store, "t", c, 0), r);
      else
        E("%s;\n", cw_op(w, o->store, cw_fmt(w, "Y + %d * ${N} + j + %d", r, v * o->lanes), c, 0));
    }
  E("}\n");
}

/* The packed tail of B (its last N % L columns, zero-padded to a vector a
 * row) lives on the stack: up to this many bytes, else those columns are
 * summed element by element. */
#define MATMUL_TAIL_BYTES (32 << 10)

/* A unit of mr rows: whole tiles of nv vectors, single vectors, the tail. */
static void matmul_rows(Emitter *e, int mr, int nv, int64_t nvec, int64_t L, bool packed) {
  CWriter *w = e->w;
  if (nvec >= nv) {
    E("for (long jt = 0; jt + %d <= %lld; jt += %d)\n", nv, (long long)nvec, nv);
    matmul_tile(e, mr, nv, cw_fmt(w, "jt * %lld", (long long)L), "B", "${N}", false);
  }
  if (nvec % nv) {
    E("for (long jt = %lld; jt < %lld; jt++)\n", (long long)(nvec / nv * nv), (long long)nvec);
    matmul_tile(e, mr, 1, cw_fmt(w, "jt * %lld", (long long)L), "B", "${N}", false);
  }
  if (packed)
    matmul_tile(e, mr, 1, cw_fmt(w, "%lld", (long long)(nvec * L)), "bt", cw_int(w, (int)L), true);
  else
    E("for (long i = 0; i < %d; i++)\n"
      "for (long j = %lld; j < ${N}; j++) {\n"
      "float s = 0.0f;\n"
      "for (long k = 0; k < ${K}; k++)\n"
      "s += A[i * ${K} + k] * B[k * ${N} + j];\n"
      "Y[i * ${N} + j] = s;\n"
      "}\n",
      mr, (long long)(nvec * L));
}

static bool matmul_vec_emit(Emitter *e, Graph *g, Node *n) {
  const VecOps *o = &e->t->f32;
  CWriter *w = e->w;
  MatMulShape sh;
  CD_ASSERT(matmul_vec_shape(g, n, &sh));
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  int64_t nb = matmul_batches(&sh), M = sh.M, N = sh.N, K = sh.K, L = o->lanes;
  int nv = e->t->nregs >= 32 ? 4 : 2; /* MATMUL_MR x nv accumulators, nv loads, a broadcast */
  int64_t nvec = N / L, MB = (M + MATMUL_MR - 1) / MATMUL_MR, nt = N % L;
  bool packed = nt && K * L * 4 <= MATMUL_TAIL_BYTES;
  cw_var(w, "K", "%lld", (long long)K);
  cw_var(w, "N", "%lld", (long long)N);
  cw_var(w, "nt", "%lld", (long long)nt);
  for (int t = 0; t < 2; t++) {
    const Value *v = t ? b : a;
    E("static const long off%d[%lld] = {", t, (long long)nb);
    for (int64_t bi = 0; bi < nb; bi++)
      E("%s%lld", bi ? ", " : "", (long long)matmul_batch_offset(v, sh.bdims, sh.brank, bi));
    E("};\n");
  }
  E("for (long u = s0; u < s1; u++) {\n"
    "const long bi = u / %lld, i0 = u %% %lld * %d;\n"
    "const float *A = x0 + off0[bi] + i0 * ${K}, *B = x1 + off1[bi];\n"
    "float *Y = y0 + bi * %lld + i0 * ${N};\n",
    (long long)MB, (long long)MB, MATMUL_MR, (long long)(M * N));
  if (packed)
    E("float bt[%lld];\n"
      "for (long k = 0; k < ${K}; k++)\n"
      "for (long q = 0; q < %lld; q++)\n"
      "bt[k * %lld + q] = q < ${nt} ? B[k * ${N} + %lld + q] : 0.0f;\n",
      (long long)(K * L), (long long)L, (long long)L, (long long)(nvec * L));
  int rem = (int)(M % MATMUL_MR);
  if (rem)
    E("if (i0 + %d <= %lld) {\n", MATMUL_MR, (long long)M);
  matmul_rows(e, MATMUL_MR, nv, nvec, L, packed);
  if (rem) {
    E("} else {\n");
    matmul_rows(e, rem, nv, nvec, L, packed);
    E("}\n");
  }
  E("}\n");
  return true;
}

const KernelConfig kc_matmul_vec = {
    .name = "matmul_vec",
    .x = DT_FLOAT, .w = DT_FLOAT, .y = DT_FLOAT,
    .flags = KC_VECTOR,
    .runs = matmul_vec_runs,
    .split = matmul_vec_split,
    .emit = matmul_vec_emit,
};
