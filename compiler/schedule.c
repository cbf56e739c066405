/*
 * schedule.c — how each node runs: its kernel family on the target, its
 * register tile, its cache blocking and its split over threads.  Decided
 * here once, after the passes and before the memory plan; the planner (an
 * alias needs no buffer), the emitter (which kernel, which tile), the
 * weight packer, `inspect --json` and the profiler read n->sched and never
 * decide these themselves.
 *
 * Kernel names carry what a kernel is: op (with its kernel extents and
 * stride for convs and pools), dtype, target, tile (channels x pixels) and
 * node, e.g. conv1x1_f32_scalar_8x16_n12.
 */
#include "cardinal.h"

#include <ctype.h>
#include <string.h>

static const char *family_names[KF_COUNT] = {
    [KF_NONE] = "none",           [KF_ALIAS] = "alias",
    [KF_SCALAR] = "scalar",       [KF_CONV_BLOCKED] = "conv_blocked",
    [KF_CONV_GLANES] = "conv_glanes", [KF_POOL_BLOCKED] = "pool_blocked",
    [KF_GPOOL_BLOCKED] = "gpool_blocked", [KF_ELTWISE_VEC] = "eltwise_vec",
    [KF_REORDER] = "reorder",     [KF_GEMM_VEC] = "gemm_vec",
};

const char *kernel_family_name(KernelFamily f) { return family_names[f]; }

/* "conv3x3s2", "maxpool3x3", "relu": the op part of a kernel name. */
static void op_part(const Node *n, char *buf, size_t len) {
  size_t k = 0;
  for (const char *s = op_table[n->op].name; *s && k + 1 < len; s++)
    buf[k++] = (char)tolower((unsigned char)*s);
  buf[k] = 0;
  if (n->op != OP_CONV && n->op != OP_MAXPOOL && n->op != OP_AVGPOOL)
    return;
  const OpParams *p = &n->p;
  for (int s = 3 - p->nsp; s < 3; s++)
    k += (size_t)snprintf(buf + k, len - k, "%s%lld", s > 3 - p->nsp ? "x" : "",
                          (long long)p->kernel[s]);
  int64_t st = p->stride[2];
  if (st > 1)
    snprintf(buf + k, len - k, "s%lld", (long long)st);
}

/* The portable C kernels: tiles as measured on the scalar loops. */
static void schedule_scalar(const Graph *g, Node *n, Schedule *s) {
  s->family = KF_SCALAR;
  if (n->op != OP_CONV)
    return;
  if (conv_is_pointwise(&n->p)) {
    s->tile_c = 8;  /* 8 output channels share each input row */
    s->tile_p = 16; /* a fixed 16-pixel loop the compiler vectorises */
    return;
  }
  /* 8 channels share each gathered row segment when the row is long enough
   * to fill the registers (measured: 2.5x on a 14-wide dense 3x3), 4 on the
   * shortest rows; segments of up to 64 pixels keep the accumulators small. */
  const Value *y = &g->values[n->out[0]];
  s->tile_c = y->dims[y->rank - 1] >= 8 ? 8 : 4;
  s->tile_p = 64;
}

void schedule_build(Graph *g, const Target *t) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    Schedule *s = &n->sched;
    memset(s, 0, sizeof *s);
    s->threads = 1;
    if ((op_table[n->op].flags & OPF_ALIAS) && !g->values[n->out[0]].is_output) {
      s->family = KF_ALIAS;
    } else {
      schedule_scalar(g, n, s);
    }
    char op[48];
    op_part(n, op, sizeof op);
    if (s->tile_c)
      snprintf(s->kernel, sizeof s->kernel, "%s_f32_%s_%dx%d_n%d", op,
               s->family == KF_SCALAR ? "scalar" : t->name, s->tile_c, s->tile_p, i);
    else
      snprintf(s->kernel, sizeof s->kernel, "%s_f32_%s_n%d", op,
               s->family == KF_SCALAR ? "scalar" : t->name, i);
  }
}
