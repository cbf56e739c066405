/*
 * kernels_linalg.c — scalar kernels for Gemm and MatMul.
 *
 * Row-major i-k-j loops: Y[i,:] += A[i,k] * B[k,:] is a unit-stride axpy
 * when B is not transposed; with transB the inner loop is a dot product
 * over a row of B.  MatMul's broadcast batch offsets are computed at compile
 * time into a table.
 */
#include "../compiler/cardinal.h"

bool gemm_emit(Emitter *e, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  const Value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t M = y->dims[0], N = y->dims[1], K = p->trans_a ? a->dims[0] : a->dims[1];
  bool has_c = n->nin > 2 && n->in[2] >= 0 && p->beta != 0.0f;
  if (n->nin > 2 && n->in[2] >= 0 && !has_c)
    emit(e, "  (void)x2;\n");
  int64_t cs[2] = {0, 0};
  if (has_c)
    broadcast_strides(&g->values[n->in[2]], 2, y->dims, cs);
  const char *aik = p->trans_a ? "x0[k * %lld + i]" : "x0[i * %lld + k]";
  char abuf[64];
  snprintf(abuf, sizeof abuf, aik, (long long)(p->trans_a ? M : K));
  emit(e, "  for (long i = 0; i < %lld; i++) {\n    float *yr = y0 + i * %lld;\n",
       (long long)M, (long long)N);
  if (has_c)
    emit(e, "    for (long j = 0; j < %lld; j++)\n      yr[j] = %s * x2[i * %lld + j * %lld];\n",
         (long long)N, c_float(e, p->beta), (long long)cs[0], (long long)cs[1]);
  else
    emit(e, "    for (long j = 0; j < %lld; j++)\n      yr[j] = 0.0f;\n", (long long)N);
  if (!p->trans_b)
    emit(e, "    for (long k = 0; k < %lld; k++) {\n"
            "      const float av = %s * %s;\n"
            "      const float *br = x1 + k * %lld;\n"
            "      for (long j = 0; j < %lld; j++)\n        yr[j] += av * br[j];\n    }\n",
         (long long)K, c_float(e, p->alpha), abuf, (long long)N, (long long)N);
  else
    emit(e, "    for (long j = 0; j < %lld; j++) {\n"
            "      const float *br = x1 + j * %lld;\n      float acc = 0.0f;\n"
            "      for (long k = 0; k < %lld; k++)\n        acc += %s * br[k];\n"
            "      yr[j] += %s * acc;\n    }\n",
         (long long)N, (long long)K, (long long)K, abuf, c_float(e, p->alpha));
  if (node_has_epilogue(n))
    emit(e, "    for (long j = 0; j < %lld; j++)\n      %s\n", (long long)N,
         epilogue_stmt(e, n, "yr[j]", arena_printf(&g->arena, "i * %lld + j", (long long)N),
                       "j"));
  emit(e, "  }\n");
  return true;
}

bool matmul_emit(Emitter *e, Graph *g, Node *n) {
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  MatMulShape sh;
  CD_ASSERT(matmul_shape(a, b, &sh)); /* checked by matmul_infer */
  int64_t M = sh.M, K = sh.K, N = sh.N, nb = 1;
  for (int k = 0; k < sh.brank; k++)
    nb *= sh.bdims[k];
  for (int t = 0; t < 2; t++) {
    const Value *v = t ? b : a;
    emit(e, "  static const long off%d[%lld] = {", t, (long long)nb);
    for (int64_t bi = 0; bi < nb; bi++)
      emit(e, "%s%lld", bi ? ", " : "",
           (long long)matmul_batch_offset(v, sh.bdims, sh.brank, bi));
    emit(e, "};\n");
  }
  emit(e, "  for (long bi = 0; bi < %lld; bi++) {\n"
          "    const float *A = x0 + off0[bi], *B = x1 + off1[bi];\n"
          "    float *Y = y0 + bi * %lld;\n"
          "    for (long i = 0; i < %lld; i++) {\n"
          "      float *yr = Y + i * %lld;\n"
          "      for (long j = 0; j < %lld; j++)\n        yr[j] = 0.0f;\n"
          "      for (long k = 0; k < %lld; k++) {\n"
          "        const float av = A[i * %lld + k];\n"
          "        for (long j = 0; j < %lld; j++)\n"
          "          yr[j] += av * B[k * %lld + j];\n"
          "      }\n    }\n  }\n",
       (long long)nb, (long long)(M * N), (long long)M, (long long)N, (long long)N,
       (long long)K, (long long)K, (long long)N, (long long)N);
  return true;
}
