/*
 * simd.c — the dispatcher from a node's scheduled kernel family to the
 * micro-kernel that emits it, written once over the target's table.  The
 * elementwise and reorder families reuse the op's own loops: an elementwise
 * op on operands of one shape and layout works lane by lane, padding lanes
 * included (what they hold never reaches a real lane), and the reorder
 * kernel handles any block; the compiler vectorises both under the
 * target's attribute.  Every family's
 * outer loop runs over the units [s0, s1) the schedule gives this thread
 * (emit.c writes s0 and s1 before the body).
 */
#include "../compiler/cardinal.h"

bool simd_emit(Emitter *e, Graph *g, Node *n) {
  switch (n->sched.family) {
  case KF_CONV_BLOCKED: return simd_conv_blocked(e, g, n);
  case KF_CONV_GLANES: return simd_conv_glanes(e, g, n);
  case KF_POOL_BLOCKED: return simd_pool_blocked(e, g, n);
  case KF_GPOOL_BLOCKED: return simd_gpool_blocked(e, g, n);
  case KF_GEMM_VEC: return simd_gemm(e, g, n);
  case KF_ELTWISE_VEC: {
    int64_t m = value_storage_numel(&g->values[n->out[0]]);
    elementwise_flat(e, g, n, "s0 * 64",
                     arena_printf(&g->arena, "(s1 * 64 < %lld ? s1 * 64 : %lld)", (long long)m,
                                  (long long)m));
    return true;
  }
  case KF_REORDER: reorder_loops(e, g, n, "s0", "s1"); return true;
  default: break;
  }
  diag_error(e->d, "internal error: node '%s' (%s) is scheduled as %s, which target %s "
             "does not emit", node_label(n), n->op_type, kernel_family_name(n->sched.family),
             e->t->name);
  return false;
}
