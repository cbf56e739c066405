/*
 * kernels.c — the kernel configurations: the list of kernel families, most
 * specific first, and the choice among them (see cardinal.h, "Kernel
 * configurations").  Each row is defined beside its emitter; this file
 * lists them and holds the two that have none: alias (no kernel) and scalar
 * (the op's portable C kernel, the fallback that runs anything).
 *
 * A node gets the first row whose dtypes match its input 0, input 1 and
 * output 0, whose vector operations the target has (KC_VECTOR) and whose
 * `runs` accepts the node as laid out.  Adding a family: its row and
 * emitter in a codegen/simd_*.c file, an extern and an entry below.
 */
#include "cardinal.h"

#include <string.h>

static bool alias_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return (op_table[n->op].flags & OPF_ALIAS) && !g->values[n->out[0]].is_output;
}

static const KernelConfig kc_alias = {
    .name = "alias",
    .flags = KC_ALIAS,
    .runs = alias_runs,
};

static bool scalar_runs(const Graph *g, const Node *n, const Target *t) {
  (void)g;
  (void)n;
  (void)t;
  return true;
}

static void scalar_tile(const Graph *g, Node *n, const Target *t, Schedule *s) {
  (void)t;
  if (n->op == OP_CONV)
    conv_scalar_tile(g, n, s);
}

static bool scalar_emit(Emitter *e, Graph *g, Node *n) {
  return op_table[n->op].emit(e->w, g, n);
}

static const KernelConfig kc_scalar = {
    .name = "scalar",
    .flags = KC_SCALAR,
    .runs = scalar_runs,
    .tile = scalar_tile,
    .emit = scalar_emit,
};

extern const KernelConfig kc_gemm_vec, kc_reorder, kc_conv_glanes, kc_conv_wino, kc_conv_blocked,
    kc_pool_blocked, kc_gpool_blocked, kc_channel_bcast, kc_concat_blocked, kc_layernorm_vec,
    kc_row_bcast, kc_transpose_tiled, kc_eltwise_vec, kc_qconv1x1_u8s8u8, kc_qconv1x1_u8s8s8,
    kc_qconv1x1_s8s8u8, kc_qconv1x1_s8s8s8, kc_qconv_u8s8u8, kc_qconv_u8s8s8, kc_qconv_s8s8u8,
    kc_qconv_s8s8s8, kc_quantize_vec_u8, kc_quantize_vec_s8, kc_qadd_vec_u8, kc_qadd_vec_s8, kc_qadd_split, kc_qmatmul_u8, kc_qmatmul_s8, kc_maxpool_int, kc_slice_copy, kc_concat_copy, kc_alias_copy, kc_depth_to_space, kc_resize_rows, kc_softmax_rows, kc_matmul_vec, kc_reduce_rows;

const KernelConfig *const kernel_configs[] = {
    &kc_alias,           &kc_gemm_vec,        &kc_reorder,         &kc_conv_glanes,
    &kc_conv_wino,       &kc_conv_blocked,    &kc_pool_blocked,    &kc_gpool_blocked,   &kc_channel_bcast,
    &kc_concat_blocked,  &kc_layernorm_vec,   &kc_row_bcast,       &kc_transpose_tiled,
    &kc_eltwise_vec,     &kc_qconv1x1_u8s8u8, &kc_qconv1x1_u8s8s8, &kc_qconv1x1_s8s8u8,
    &kc_qconv1x1_s8s8s8, &kc_qconv_u8s8u8,    &kc_qconv_u8s8s8,    &kc_qconv_s8s8u8,
    &kc_qconv_s8s8s8,    &kc_quantize_vec_u8, &kc_quantize_vec_s8, &kc_qadd_vec_u8,     &kc_qadd_vec_s8,     &kc_qadd_split,      &kc_qmatmul_u8,      &kc_qmatmul_s8,
    &kc_maxpool_int,     &kc_slice_copy,      &kc_concat_copy,     &kc_alias_copy,      &kc_depth_to_space,  &kc_resize_rows,     &kc_softmax_rows,    &kc_matmul_vec,      &kc_reduce_rows,
    &kc_scalar,          NULL,
};

/* Whether row k's dtypes and vector operations fit n on t. */
static bool fits(const KernelConfig *k, const Graph *g, const Node *n, const Target *t) {
  const DType want[3] = {k->x, k->w, k->y};
  const int v[3] = {n->nin > 0 ? n->in[0] : -1, n->nin > 1 ? n->in[1] : -1,
                    n->nout > 0 ? n->out[0] : -1};
  for (int i = 0; i < 3; i++)
    if (want[i] != DT_UNDEFINED && (v[i] < 0 || g->values[v[i]].dtype != want[i]))
      return false;
  return !(k->flags & KC_VECTOR) || target_vec(t, k->y) != NULL;
}

const KernelConfig *kernel_config_for(const Graph *g, const Node *n, const Target *t) {
  for (int i = 0; kernel_configs[i]; i++) {
    const KernelConfig *k = kernel_configs[i];
    if (fits(k, g, n, t) && k->runs(g, n, t))
      return k;
  }
  CD_ASSERT(!"the scalar row runs every node");
  return NULL;
}

const KernelConfig *kernel_config_named(const char *name) {
  for (int i = 0; kernel_configs[i]; i++)
    if (!strcmp(kernel_configs[i]->name, name))
      return kernel_configs[i];
  return NULL;
}

bool node_can_block(const Graph *g, const Node *n, const Target *t) {
  for (int i = 0; kernel_configs[i]; i++) {
    const KernelConfig *k = kernel_configs[i];
    if ((k->flags & KC_BLOCKED) && k->can && fits(k, g, n, t) && k->can(g, n, t))
      return true;
  }
  return false;
}
