/*
 * schedule.c — how each node runs: its kernel family on the target, its
 * register tile, its cache blocking and its split over threads.  Decided
 * here once, after the passes and before the memory plan; the planner (an
 * alias needs no buffer), the emitter (which kernel, which tile), `inspect
 * --json` and the profiler read n->sched and never decide these themselves.
 *
 * The family is the first kernel configuration (codegen/kernels.c) that
 * runs the node on the target as laid out; the family's row gives its tile
 * and the outer loop its threads split.  What is decided here for every
 * family alike: how that loop is shared among threads, and the kernel's
 * name, which carries what it is: op (with its kernel extents and stride
 * for convs and pools), dtype, target, tile (channels x pixels, or
 * channels x rows x pixels) and node, e.g. conv1x1_f32_avx512_32x14_n12.
 */
#include "cardinal.h"

#include <ctype.h>
#include <string.h>

const char *split_axis_name(SplitAxis a) {
  static const char *names[] = {"none", "blocks", "rows", "tiles", "elems"};
  return names[a];
}

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

/* "f32", or "u8s8" for a family whose input and weights differ: the dtype
 * part of a kernel name. */
static void dtype_part(const Graph *g, const Node *n, const KernelConfig *k, char *buf,
                       size_t len) {
  DType y = n->nout > 0 && n->out[0] >= 0 ? g->values[n->out[0]].dtype : DT_FLOAT;
  if (k->x != DT_UNDEFINED && k->w != DT_UNDEFINED && k->x != k->w)
    snprintf(buf, len, "%s%s", dtype_short(k->x), dtype_short(k->w));
  else
    snprintf(buf, len, "%s", dtype_short(y));
}

/*
 * The split over threads.  Every family with a vector kernel names the
 * outer loop its threads divide (output blocks, rows, pixel tiles or stored
 * elements) and how many units it has, whatever the thread count; with T
 * threads the units are cut in T equal shares (thread t takes [share[t],
 * share[t+1])).  Splitting outputs, never a reduction, keeps every value's
 * arithmetic in the same order: the results do not depend on T.  A layer
 * with less work than a few barrier crossings cost, or fewer units than two,
 * runs on thread 0 while the others go on to the next barrier.
 */
#define SPLIT_MIN_WORK 32768 /* multiply-adds or elements: below, one thread */

/*
 * Claimed tails.  Equal shares finish together only on equal cores: on a
 * shared machine one core often runs slower for a while (ResNet-50 on 2
 * threads of a 2-core VM: one thread's shares summed 23.3 ms a run, the
 * other's 27.2 ms, and which one was slow changed from run to run), and a
 * static split makes the fast thread wait at every barrier.  So the last
 * quarter of each share of a layer with enough work is not run by its
 * owner outright: it is cut in chunks that threads claim from a counter
 * per share (NAME_run's pool; cd_pool_claim), each thread its own tail's
 * first, then the others'.  The units, and so every value's arithmetic, are
 * the same whoever runs them: the results stay bit-identical.  The owner
 * keeps three quarters, so most of what a thread reads is what it wrote
 * (in its own cache) the layer before.  A layer with less work per share
 * than a few claims cost keeps its static shares; so do NAME_run_part and
 * a run that finds the pool busy (every share in order).
 */
#define CLAIM_TAIL 4        /* 1/CLAIM_TAIL of each share is claimable */
#define CLAIM_CHUNKS 4      /* a tail is cut in about this many chunks */
#define CLAIM_MIN_WORK (1 << 20) /* multiply-adds or elements a share: below, static */

static void schedule_claims(const Graph *g, Schedule *s, int64_t work, int64_t min) {
  s->chunk = 0;
  if (s->threads < 2 || work / s->threads < (g->split_min > 0 ? min : CLAIM_MIN_WORK))
    return;
  int64_t tail = s->units;
  for (int t = 0; t < s->threads; t++) {
    int64_t n = s->share[t + 1] - s->share[t], k = n / CLAIM_TAIL;
    s->own[t] = s->share[t + 1] - k;
    if (k < tail)
      tail = k;
  }
  if (tail >= 1) /* every share has a tail (else an uneven split decides) */
    s->chunk = (tail + CLAIM_CHUNKS - 1) / CLAIM_CHUNKS;
}

int schedule_claiming(const Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += g->nodes[i].sched.chunk > 0;
  return k;
}

static void schedule_split(const Graph *g, Node *n, const Target *t, int T) {
  Schedule *s = &n->sched;
  const Value *y = &g->values[n->out[0]];
  int64_t work = node_macs(g, n);
  if (!work)
    work = value_numel(y);
  s->split = SPLIT_NONE;
  s->units = 1;
  if (s->family->split && !(s->family->flags & KC_SCALAR))
    s->split = s->family->split(g, n, t, T, &s->units);
  int64_t min = g->split_min > 0 ? g->split_min : SPLIT_MIN_WORK;
  s->threads = T > 1 && s->split != SPLIT_NONE && work >= min && s->units >= 2
                   ? (int)(s->units < T ? s->units : T)
                   : 1;
  int64_t most = 0;
  for (int k = 0; k <= s->threads; k++) {
    s->share[k] = s->units * k / s->threads;
    if (k && s->share[k] - s->share[k - 1] > most)
      most = s->share[k] - s->share[k - 1];
  }
  s->imbalance = (double)most * s->threads / (double)s->units;
  schedule_claims(g, s, work, min);
}

void schedule_build(Graph *g, const Target *t) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    Schedule *s = &n->sched;
    memset(s, 0, sizeof *s);
    s->family = kernel_config_for(g, n, t);
    if (s->family->tile)
      s->family->tile(g, n, t, s);
    schedule_split(g, n, t, g->threads > 0 ? g->threads : 1);
    const char *tn = s->family->flags & KC_SCALAR ? "scalar" : t->name;
    char op[48], dt[16];
    op_part(n, op, sizeof op);
    if (s->family->tag)
      snprintf(op + strlen(op), sizeof op - strlen(op), "%s", s->family->tag);
    dtype_part(g, n, s->family, dt, sizeof dt);
    if (s->tile_r > 1) /* channels x rows x pixels */
      snprintf(s->kernel, sizeof s->kernel, "%s_%s_%s_%dx%dx%d_n%d", op, dt, tn, s->tile_c,
               s->tile_r, s->tile_p, i);
    else if (s->tile_c)
      snprintf(s->kernel, sizeof s->kernel, "%s_%s_%s_%dx%d_n%d", op, dt, tn, s->tile_c,
               s->tile_p, i);
    else
      snprintf(s->kernel, sizeof s->kernel, "%s_%s_%s_n%d", op, dt, tn, i);
  }
}
