/*
 * simd.c — the dispatcher from a node's scheduled kernel family to the
 * target's micro-kernel emitter.  The families and what each needs are in
 * schedule.c; a family a target does not implement is never scheduled
 * there, so reaching the end here is an internal error.
 */
#include "../compiler/cardinal.h"

bool simd_emit(Emitter *e, Graph *g, Node *n) {
  (void)g;
  diag_error(e->d, "internal error: node '%s' (%s) is scheduled as %s, which target %s "
             "does not emit", node_label(n), n->op_type, kernel_family_name(n->sched.family),
             e->t->name);
  return false;
}
