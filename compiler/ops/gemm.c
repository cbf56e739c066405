/*
 * gemm.c — Gemm (Y = alpha * A' B' + beta * C, A' = transA ? A^T : A, C
 * broadcast to [M, N]) and MatMul (numpy matmul: batch dims broadcast, a
 * 1-D operand is promoted to a matrix and its unit dim removed afterwards).
 */
#include "../cardinal.h"

#include <string.h>

bool gemm_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)d;
  OpParams *p = &n->p;
  p->trans_a = attr_int(n, "transA", 0, d) != 0;
  p->trans_b = attr_int(n, "transB", 0, d) != 0;
  p->alpha = attr_float(n, "alpha", 1.0f, d);
  p->beta = attr_float(n, "beta", 1.0f, d);
  return true;
}

bool gemm_infer(Graph *g, Node *n, Diag *d) {
  Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  if (a->dtype != DT_FLOAT || b->dtype != DT_FLOAT || a->rank != 2 ||
      b->rank != 2) {
    diag_error(d, "node '%s' (Gemm): A and B must be float32 matrices",
               node_label(n));
    return false;
  }
  OpParams *p = &n->p;
  int64_t M = p->trans_a ? a->dims[1] : a->dims[0];
  int64_t K = p->trans_a ? a->dims[0] : a->dims[1];
  int64_t K2 = p->trans_b ? b->dims[1] : b->dims[0];
  int64_t N = p->trans_b ? b->dims[0] : b->dims[1];
  if (K != K2) {
    diag_error(d, "node '%s' (Gemm): inner dimensions differ (%lld vs %lld)",
               node_label(n), (long long)K, (long long)K2);
    return false;
  }
  int64_t dims[2] = {M, N};
  if (node_has_input(n, 2)) {
    const Value *c = &g->values[n->in[2]];
    const Value *vs[1] = {c};
    int64_t bd[CD_MAX_RANK];
    int r;
    if (c->dtype != DT_FLOAT || c->rank > 2 ||
        !op_broadcast(d, n, 1, vs, &r, bd)) {
      diag_error(d, "node '%s' (Gemm): C must be float32 of rank <= 2",
                 node_label(n));
      return false;
    }
    for (int k = 0; k < c->rank; k++) {
      int64_t want = dims[2 - c->rank + k];
      if (c->dims[k] != 1 && c->dims[k] != want) {
        diag_error(d, "node '%s' (Gemm): C does not broadcast to [%lld,%lld]",
                   node_label(n), (long long)M, (long long)N);
        return false;
      }
    }
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, 2, dims);
  return true;
}

void gemm_eval(Graph *g, Node *n, void **data) {
  const OpParams *p = &n->p;
  const Value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const float *A = data[n->in[0]], *B = data[n->in[1]];
  const float *C = node_has_input(n, 2) ? data[n->in[2]] : NULL;
  float *Y = data[n->out[0]];
  int64_t M = y->dims[0], N = y->dims[1];
  int64_t K = p->trans_a ? a->dims[0] : a->dims[1];
  int64_t cs[2] = {0, 0};
  if (C)
    broadcast_strides(&g->values[n->in[2]], 2, y->dims, cs);
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++) {
        float av = p->trans_a ? A[k * M + i] : A[i * K + k];
        float bv = p->trans_b ? B[j * K + k] : B[k * N + j];
        acc += (double)av * bv;
      }
      acc *= p->alpha;
      if (C)
        acc += (double)p->beta * C[i * cs[0] + j * cs[1]];
      Y[i * N + j] = (float)acc;
    }
}

bool matmul_shape(const Value *a, const Value *b, MatMulShape *s) {
  if (a->rank < 1 || b->rank < 1)
    return false;
  s->M = a->rank == 1 ? 1 : a->dims[a->rank - 2];
  s->K = a->dims[a->rank - 1];
  int64_t K2 = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  s->N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  if (s->K != K2)
    return false;
  int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
  s->brank = ra > rb ? ra : rb;
  for (int k = 0; k < s->brank; k++) {
    int ka = k - (s->brank - ra), kb = k - (s->brank - rb);
    int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
    if (da != db && da != 1 && db != 1)
      return false;
    s->bdims[k] = da == 1 ? db : da; /* numpy: 1 broadcasts to 0 too */
  }
  return true;
}

bool matmul_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  (void)n;
  (void)d;
  return true;
}

bool matmul_infer(Graph *g, Node *n, Diag *d) {
  Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  MatMulShape s;
  if (a->dtype != DT_FLOAT || b->dtype != DT_FLOAT || !matmul_shape(a, b, &s)) {
    diag_error(d, "node '%s' (MatMul): float32 operands of compatible shapes "
               "needed", node_label(n));
    return false;
  }
  int64_t dims[CD_MAX_RANK];
  int r = 0;
  for (int k = 0; k < s.brank; k++)
    dims[r++] = s.bdims[k];
  if (a->rank > 1)
    dims[r++] = s.M;
  if (b->rank > 1)
    dims[r++] = s.N;
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, r, dims);
  return true;
}

/* Element offset of batch index `bi` (of the output's batch dims) in v. */
int64_t matmul_batch_offset(const Value *v, const int64_t *bdims, int brank,
                            int64_t bi) {
  int vr = v->rank > 2 ? v->rank - 2 : 0;
  int64_t off = 0, stride = v->rank >= 2 ? v->dims[v->rank - 1] * v->dims[v->rank - 2] : 0;
  for (int k = brank - 1; k >= 0; k--) {
    int64_t idx = bi % bdims[k];
    bi /= bdims[k];
    int vk = k - (brank - vr);
    if (vk < 0)
      continue;
    if (v->dims[vk] != 1)
      off += idx * stride;
    stride *= v->dims[vk];
  }
  return off;
}

void matmul_eval(Graph *g, Node *n, void **data) {
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  MatMulShape s;
  CD_ASSERT(matmul_shape(a, b, &s));
  const float *A = data[n->in[0]], *B = data[n->in[1]];
  float *Y = data[n->out[0]];
  int64_t nb = 1;
  for (int k = 0; k < s.brank; k++)
    nb *= s.bdims[k];
  for (int64_t bi = 0; bi < nb; bi++) {
    const float *Ab = A + matmul_batch_offset(a, s.bdims, s.brank, bi);
    const float *Bb = B + matmul_batch_offset(b, s.bdims, s.brank, bi);
    float *Yb = Y + bi * s.M * s.N;
    for (int64_t i = 0; i < s.M; i++)
      for (int64_t j = 0; j < s.N; j++) {
        double acc = 0;
        for (int64_t k = 0; k < s.K; k++)
          acc += (double)Ab[i * s.K + k] * Bb[k * s.N + j];
        Yb[i * s.N + j] = (float)acc;
      }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool gemm_emit(CWriter *w, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  const Value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t M = y->dims[0], N = y->dims[1], K = p->trans_a ? a->dims[0] : a->dims[1];
  bool has_c = node_has_input(n, 2) && p->beta != 0.0f;
  if (node_has_input(n, 2) && !has_c)
    cw(w, "(void)x2;\n");
  int64_t cs[2] = {0, 0};
  if (has_c)
    broadcast_strides(&g->values[n->in[2]], 2, y->dims, cs);
  const char *aik = p->trans_a ? "x0[k * %lld + i]" : "x0[i * %lld + k]";
  char abuf[64];
  snprintf(abuf, sizeof abuf, aik, (long long)(p->trans_a ? M : K));
  cw(w, "for (long i = 0; i < %lld; i++) {\nfloat *yr = y0 + i * %lld;\n",
       (long long)M, (long long)N);
  if (has_c)
    cw(w, "for (long j = 0; j < %lld; j++)\nyr[j] = %s * x2[i * %lld + j * %lld];\n",
         (long long)N, cw_float(w, p->beta), (long long)cs[0], (long long)cs[1]);
  else
    cw(w, "for (long j = 0; j < %lld; j++)\nyr[j] = 0.0f;\n", (long long)N);
  if (!p->trans_b)
    cw(w, "for (long k = 0; k < %lld; k++) {\n"
          "const float av = %s * %s;\n"
          "const float *br = x1 + k * %lld;\n"
          "for (long j = 0; j < %lld; j++)\nyr[j] += av * br[j];\n}\n",
         (long long)K, cw_float(w, p->alpha), abuf, (long long)N, (long long)N);
  else
    cw(w, "for (long j = 0; j < %lld; j++) {\n"
          "const float *br = x1 + j * %lld;\nfloat acc = 0.0f;\n"
          "for (long k = 0; k < %lld; k++)\nacc += %s * br[k];\n"
          "yr[j] += %s * acc;\n}\n",
         (long long)N, (long long)K, (long long)K, abuf, cw_float(w, p->alpha));
  if (node_has_epilogue(n))
    cw(w, "for (long j = 0; j < %lld; j++)\n%s\n", (long long)N,
         epilogue_stmt(w, n, "yr[j]", arena_printf(&g->arena, "i * %lld + j", (long long)N),
                     "j"));
  cw(w, "}\n");
  return true;
}

bool matmul_emit(CWriter *w, Graph *g, Node *n) {
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  MatMulShape sh;
  CD_ASSERT(matmul_shape(a, b, &sh)); /* checked by matmul_infer */
  int64_t M = sh.M, K = sh.K, N = sh.N, nb = 1;
  for (int k = 0; k < sh.brank; k++)
    nb *= sh.bdims[k];
  for (int t = 0; t < 2; t++) {
    const Value *v = t ? b : a;
    cw(w, "static const long off%d[%lld] = {", t, (long long)nb);
    for (int64_t bi = 0; bi < nb; bi++)
      cw(w, "%s%lld", bi ? ", " : "",
           (long long)matmul_batch_offset(v, sh.bdims, sh.brank, bi));
    cw(w, "};\n");
  }
  cw(w, "for (long bi = 0; bi < %lld; bi++) {\n"
        "const float *A = x0 + off0[bi], *B = x1 + off1[bi];\n"
        "float *Y = y0 + bi * %lld;\n"
        "for (long i = 0; i < %lld; i++) {\n"
        "float *yr = Y + i * %lld;\n"
        "for (long j = 0; j < %lld; j++)\nyr[j] = 0.0f;\n"
        "for (long k = 0; k < %lld; k++) {\n"
        "const float av = A[i * %lld + k];\n"
        "for (long j = 0; j < %lld; j++)\n"
        "yr[j] += av * B[k * %lld + j];\n"
        "}\n}\n}\n",
       (long long)nb, (long long)(M * N), (long long)M, (long long)N, (long long)N,
       (long long)K, (long long)K, (long long)N, (long long)N);
  return true;
}
