/*
 * simd.c — the dispatcher from a node's scheduled kernel family to the
 * micro-kernel that emits it, written once over the target's table.  The
 * elementwise and reorder families reuse the op's own kernel: both are
 * loops over every stored element (an elementwise op on equal shapes does
 * not care about the layout; the reorder kernel handles any block), which
 * the compiler vectorises under the target's attribute.
 */
#include "../compiler/cardinal.h"

bool simd_emit(Emitter *e, Graph *g, Node *n) {
  switch (n->sched.family) {
  case KF_CONV_BLOCKED: return simd_conv_blocked(e, g, n);
  case KF_CONV_GLANES: return simd_conv_glanes(e, g, n);
  case KF_POOL_BLOCKED: return simd_pool_blocked(e, g, n);
  case KF_GPOOL_BLOCKED: return simd_gpool_blocked(e, g, n);
  case KF_GEMM_VEC: return simd_gemm(e, g, n);
  case KF_ELTWISE_VEC:
  case KF_REORDER: return op_table[n->op].emit(e, g, n);
  default: break;
  }
  diag_error(e->d, "internal error: node '%s' (%s) is scheduled as %s, which target %s "
             "does not emit", node_label(n), n->op_type, kernel_family_name(n->sched.family),
             e->t->name);
  return false;
}
