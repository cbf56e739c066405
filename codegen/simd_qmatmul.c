/*
 * simd_qmatmul.c — MatMulInteger with a constant B on a target with an
 * 8-bit dot product (Target.i8): Y[R, N] int32 = (A[R, K] - az) B[K, N],
 * A u8 or s8 (per tensor zero point), B s8 with zero points 0 (symmetric
 * weights, what ONNX Runtime's and Cardinal's quantizers write).  An int8
 * classifier head: fold-qdq turns DQ -> Gemm into MatMulInteger -> Cast ->
 * Mul -> Add, and ResNeXt-50's 2048 x 1000 one took 1.45-1.6 ms in the
 * portable loop (6 % of the int8 model).
 *
 * The layout pass packs B as LAYOUT_WDOT4 (c = the table's lanes): per
 * block of c columns and quad of rows, lane l holds B[4q .. 4q+3][col l],
 * so one vector load is c columns' four weights, and a broadcast of A's
 * four bytes A[i][4q .. 4q+3] makes dot4's u8 operand: the roles of the
 * conv kernels (simd_qconv.c) with A as the broadcast.  Each unit (what
 * threads split) is QM_NV vectors of columns; per row of A it accumulates
 * over the quads, streaming its slice of B once a row.  A batch-1 head is
 * bound by reading B (2 MB for ResNeXt-50's) once.
 *
 * The zero point folds as in the conv kernels: sum_k (a - az) b = sum_k a b
 * - az colsum(b), the second term a constant per column (kb, computed here
 * in int64, required to fit int32); s8 activations become u8 by flipping
 * their top bit (a + 128, az + 128), or, on a target whose dot product is
 * s8 x s8 (VecOps.dot_s8: neon), u8 ones s8 (a - 128, az - 128), the
 * flipped bytes the missing ones of a partial quad meet being B's zeros
 * all the same.  A last partial quad reads only A's
 * bytes that exist (B is zero past K).  The sum is the interpreter's int32
 * exactly: the bound on K below keeps every partial sum of dot4 in range.
 */
#include "../compiler/cardinal.h"

#include <stdlib.h>

#define E(...) cw(e->w, __VA_ARGS__)

/* Vectors of columns a unit: the accumulators (4 on 16 registers, whose
 * dot product takes four more). */
#define QM_NV 8
#define QM_NV16 4
/* The largest K: 255 x 128 x K, the largest |sum a b|, and |kb| <= 255 x
 * 128 x K too, stay within int32. */
#define QM_MAX_K 65536

static int qm_nv(const Target *t) { return target_i8_wide(t) ? QM_NV : QM_NV16; }

/* Whether n is MatMulInteger with the operands this kernel takes, B in
 * layout `want` (plain before the layout pass packs it). */
static bool qm_fits(const Graph *g, const Node *n, const Target *t, LayoutKind want) {
  if (n->op != OP_MATMULINTEGER || t->i8.lanes < 2 || !t->i8.dot4 || n->nout != 1)
    return false;
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  const Value *y = &g->values[n->out[0]];
  const QuantParams *q = n->p.q;
  if ((a->dtype != DT_UINT8 && a->dtype != DT_INT8) || a->rank < 2 ||
      a->layout.kind != LAYOUT_PLAIN || b->dtype != DT_INT8 || b->rank != 2 || !b->data ||
      b->layout.kind != want || y->dtype != DT_INT32 || y->layout.kind != LAYOUT_PLAIN ||
      b->dims[0] > QM_MAX_K || q[0].n != 1)
    return false;
  for (int k = 2; k < n->nin; k++)
    if (!absent_or_const(g, n->in[k]))
      return false;
  for (int64_t j = 0; j < q[1].n; j++)
    if (q[1].zero[j] != 0)
      return false;
  return true;
}

bool qmatmul_can_pack(const Graph *g, const Node *n, const Target *t) {
  return qm_fits(g, n, t, LAYOUT_PLAIN);
}

static bool qmatmul_runs(const Graph *g, const Node *n, const Target *t) {
  return qm_fits(g, n, t, LAYOUT_WDOT4) && g->values[n->in[1]].layout.block == t->i8.lanes;
}

static void qmatmul_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  (void)g;
  (void)n;
  s->tile_c = qm_nv(t) * t->i8.lanes; /* columns a unit */
  s->tile_p = 1;
}

/* Units of tile_c columns: threads split the columns, every row whole, so
 * no sum is split. */
static SplitAxis qmatmul_split(const Graph *g, const Node *n, const Target *t, int T,
                               int64_t *units) {
  (void)t;
  (void)T;
  int64_t N = g->values[n->out[0]].dims[g->values[n->out[0]].rank - 1];
  *units = (N + n->sched.tile_c - 1) / n->sched.tile_c;
  return SPLIT_BLOCKS;
}

/* The accumulators of nv vectors from column j0 over row i of A, stored
 * (the last vector `last` lanes, through a buffer when partial). */
static void qm_tile(Emitter *e, int64_t K, int64_t N, int nv, int last, bool flip) {
  const VecOps *iv = &e->t->i8;
  CWriter *w = e->w;
  int L = iv->lanes;
  int64_t K4 = (K + 3) / 4;
  E("{\n");
  for (int v = 0; v < nv; v++)
    E("%s a%d = %s;\n", iv->vtype, v, cw_op(w, iv->load, cw_fmt(w, "kb + j0 + %d", v * L), 0, 0));
  for (int part = 0; part < 2; part++) {
    int bytes = qc_quads_open(e, K, part);
    if (!bytes)
      continue;
    E("uint32_t aq = 0;\nmemcpy(&aq, Ai + 4 * k, %d);\n", bytes);
    if (flip) /* s8 -> u8 (a + 128), or u8 -> s8: only in the bytes that exist */
      E("aq ^= 0x%xu;\n", bytes == 4 ? 0x80808080u : (1u << 8 * bytes) / 255u * 0x80u);
    E("const %s av = %s;\n", iv->vtype, cw_op(w, iv->set1, "(int)aq", 0, 0));
    E("const int8_t *bk = Bj + k * %d;\n", 4 * L);
    for (int v = 0; v < nv; v++)
      E("a%d = %s;\n", v,
        cw_op(w, iv->dot4, cw_fmt(w, "a%d", v), "av",
              cw_op(w, iv->load, cw_fmt(w, "bk + %lld", (long long)v * K4 * 4 * L), 0, 0)));
    E("}\n");
  }
  for (int v = 0; v < nv; v++) {
    if (v < nv - 1 || last == L) {
      E("%s;\n", cw_op(w, iv->store, cw_fmt(w, "Yi + j0 + %d", v * L), cw_fmt(w, "a%d", v), 0));
      continue;
    }
    E("{\nint32_t lanes[%d];\n%s;\nmemcpy(Yi + j0 + %d, lanes, %d);\n}\n", L,
      cw_op(w, iv->store, "lanes", cw_fmt(w, "a%d", v), 0), v * L,
      (int)sizeof(int32_t) * last);
  }
  E("}\n");
  (void)N;
}

static bool qmatmul_emit(Emitter *e, Graph *g, Node *n) {
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  const QuantParams *q = n->p.q;
  int L = e->t->i8.lanes, NT = n->sched.tile_c;
  int64_t K = b->dims[0], N = b->dims[1], R = value_numel(a) / K, K4 = (K + 3) / 4;
  int64_t NP = (N + NT - 1) / NT * NT; /* kb padded to whole units */
  bool flip = (a->dtype == DT_INT8) != (e->t->i8.dot_s8 != 0); /* to the dot's type */
  int64_t az = q[0].zero[0] + (flip ? a->dtype == DT_INT8 ? 128 : -128 : 0);
  /* kb[j] = -az colsum(B)[j], read through the packed B (zero past N) */
  int32_t *kb = calloc((size_t)NP, sizeof(int32_t));
  int8_t *plain = malloc((size_t)(K * N));
  CD_ASSERT(kb && plain);
  layout_to_plain(b, b->data, plain);
  bool ok = true;
  for (int64_t j = 0; j < N; j++) {
    int64_t s = 0;
    for (int64_t k = 0; k < K; k++)
      s += plain[k * N + j];
    int64_t v = -az * s;
    ok = ok && v >= INT32_MIN && v <= INT32_MAX;
    kb[j] = (int32_t)v;
  }
  free(plain);
  CD_ASSERT(ok); /* |az colsum| <= 255 x 128 x QM_MAX_K */
  if (!cw_room(e->w, sat_mul(NP, 14))) {
    free(kb);
    return true; /* over the code budget: the emitter says so */
  }
  E("static const int32_t kb[%lld] = {", (long long)NP);
  for (int64_t j = 0; j < NP; j++)
    E("%s%s%d", j ? "," : "", j % 8 ? " " : "\n", (int)kb[j]);
  E("};\n");
  free(kb);
  int64_t units = NP / NT, Nf = N / NT; /* whole units */
  E("for (long u = s0; u < s1; u++) {\n"
    "const long j0 = u * %d;\n"
    "const int8_t *Bj = x1 + j0 * %lld;\n"
    "for (long i = 0; i < %lld; i++) {\n"
    "const uint8_t *Ai = (const uint8_t *)x0 + i * %lld;\n"
    "int32_t *Yi = y0 + i * %lld;\n",
    NT, (long long)(K4 * 4), (long long)R, (long long)K, (long long)N);
  if (Nf)
    E("%s", Nf < units ? cw_fmt(e->w, "if (u < %lld)\n", (long long)Nf) : "");
  if (Nf)
    qm_tile(e, K, N, NT / L, L, flip);
  if (Nf < units) {
    int64_t rest = N - Nf * NT;
    int nv = (int)((rest + L - 1) / L), last = (int)(rest - (int64_t)(nv - 1) * L);
    E("%s", Nf ? "else\n" : "");
    qm_tile(e, K, N, nv, last, flip);
  }
  E("}\n}\n");
  return true;
}

const KernelConfig kc_qmatmul_u8 = {
    .name = "qmatmul_u8s8",
    .x = DT_UINT8, .w = DT_INT8, .y = DT_INT32,
    .flags = KC_VECTOR,
    .runs = qmatmul_runs,
    .tile = qmatmul_tile,
    .split = qmatmul_split,
    .emit = qmatmul_emit,
};

const KernelConfig kc_qmatmul_s8 = {
    .name = "qmatmul_s8s8",
    .x = DT_INT8, .w = DT_INT8, .y = DT_INT32,
    .flags = KC_VECTOR,
    .runs = qmatmul_runs,
    .tile = qmatmul_tile,
    .split = qmatmul_split,
    .emit = qmatmul_emit,
};
