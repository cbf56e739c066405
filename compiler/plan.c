/*
 * plan.c — the static memory plan: where every value lives at run time.
 *
 *  - graph inputs and outputs live in the caller's buffers, except those of
 *    an integer type, which the caller passes as floats: they live in the
 *    workspace, an input from step 0 (converted before the first kernel),
 *    an output to the end (converted after the last);
 *  - float constants read by a kernel live in the weight blob, each at a
 *    64-byte aligned offset;
 *  - the output of a shape-only op (Reshape, Flatten, ...) is an alias of its
 *    input's bytes, so it costs nothing;
 *  - every other value gets a 64-byte aligned range of one workspace;
 *  - with threads, the counters of the claimed tails of the layers' shares
 *    (schedule.c) follow the buffers;
 *  - then the kernels' scratch (KernelConfig.scratch: Winograd's transformed
 *    tiles), one part per thread, as large as the most any node asks: a
 *    thread runs its kernels one after another, so they share its part.
 *
 * Workspace packing is the greedy-by-size scheme of TFLite's arena planner:
 * each value is live from the step that writes it to the last step that
 * reads it (or any of its aliases); buffers are placed largest first at the
 * lowest offset that overlaps no placed buffer with an intersecting
 * lifetime.  ws_lower_bound is the most bytes live at any one step: no plan
 * can use less, and tests compare the two.
 *
 * A model file is hostile input, so every step is O(n log n) in the values
 * plus the pairs of intersecting lifetimes (a 200,000-node chain plans in
 * milliseconds): the pairs are found by one sweep over the lifetimes, each
 * buffer's first fit is one pass over its placed neighbours sorted by
 * offset, and the lower bound is a prefix sum over the steps.  A graph with
 * more than PLAN_MAX_PAIRS intersecting pairs (thousands of buffers live at
 * once) gets every buffer its own range instead: no sharing, but no
 * quadratic time either.
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

static int64_t align_up(int64_t x) {
  return (x + CD_ALIGN - 1) / CD_ALIGN * CD_ALIGN;
}

#define PLAN_MAX_PAIRS (1 << 23)

typedef struct {
  int v;
  int64_t size;  /* bytes, aligned */
  int def;       /* step that writes it */
} Item;

/* Largest first; ties by definition step, then value index, so the plan is
 * the same on every run. */
static int cmp_items(const void *a, const void *b) {
  const Item *x = a, *y = b;
  CD_STEPS(1);
  if (x->size != y->size)
    return x->size > y->size ? -1 : 1;
  if (x->def != y->def)
    return x->def < y->def ? -1 : 1;
  return x->v - y->v;
}

static const int *sort_key;
static int cmp_by_key(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  CD_STEPS(1);
  return sort_key[x] != sort_key[y] ? (sort_key[x] < sort_key[y] ? -1 : 1) : x - y;
}

/*
 * The pairs of items whose lifetimes [def, last] intersect, as adjacency
 * lists (adj[start[i] .. start[i+1]) for item i), found by one sweep in
 * order of definition: when item i starts, every item still live
 * intersects it.  Returns the number of pairs; lists are built only when
 * there are at most `max` (adj NULL otherwise).
 */
static int64_t lifetime_pairs(int ni, const int *def, const int *last, int64_t max,
                              int **start_out, int **adj_out) {
  int *order = malloc(sizeof(int) * ((size_t)ni + 1));
  int *active = malloc(sizeof(int) * ((size_t)ni + 1)), *pos = malloc(sizeof(int) * ((size_t)ni + 1));
  IntHeap h = {malloc(sizeof(int) * ((size_t)ni + 1)), 0, last};
  CD_ASSERT(order && active && pos && h.v);
  for (int i = 0; i < ni; i++)
    order[i] = i;
  sort_key = def;
  qsort(order, (size_t)ni, sizeof(int), cmp_by_key);
  int *start = NULL, *adj = NULL, *fill = NULL;
  int64_t pairs = 0;
  for (int pass = 0; pass < 2; pass++) {
    int na = 0;
    h.n = 0;
    for (int k = 0; k < ni; k++) {
      int i = order[k];
      CD_STEPS(pass ? 1 + na : 1); /* an item, and in pass 1 its pairs */
      while (h.n && last[h.v[0]] < def[i]) { /* expired: swap-remove from active */
        int j = intheap_pop(&h), at = pos[j];
        active[at] = active[--na];
        pos[active[at]] = at;
      }
      if (!pass)
        pairs += na;
      else
        for (int a = 0; a < na; a++) {
          int j = active[a];
          adj[start[i] + fill[i]++] = j;
          adj[start[j] + fill[j]++] = i;
        }
      pos[i] = na;
      active[na++] = i;
      intheap_push(&h, i);
    }
    if (pass || pairs > max)
      break;
    /* Degrees: a second sweep counts them the same way. */
    start = calloc((size_t)ni + 2, sizeof(int));
    fill = calloc((size_t)ni + 1, sizeof(int));
    adj = malloc(sizeof(int) * (size_t)(2 * pairs + 1));
    CD_ASSERT(start && fill && adj);
    na = 0;
    h.n = 0;
    for (int k = 0; k < ni; k++) {
      int i = order[k];
      CD_STEPS(1 + na); /* an item, its pairs */
      while (h.n && last[h.v[0]] < def[i]) {
        int j = intheap_pop(&h), at = pos[j];
        active[at] = active[--na];
        pos[active[at]] = at;
      }
      start[i + 1] += na;
      for (int a = 0; a < na; a++)
        start[active[a] + 1]++;
      pos[i] = na;
      active[na++] = i;
      intheap_push(&h, i);
    }
    for (int i = 0; i < ni; i++)
      start[i + 1] += start[i];
  }
  free(order);
  free(active);
  free(pos);
  free(h.v);
  free(fill);
  *start_out = start;
  *adj_out = adj;
  return pairs;
}

typedef struct {
  int64_t off, end;
} Range;

static int cmp_ranges(const void *a, const void *b) {
  const Range *x = a, *y = b;
  CD_STEPS(1);
  return x->off != y->off ? (x->off < y->off ? -1 : 1) : (x->end < y->end ? -1 : x->end > y->end);
}

bool plan_build(Graph *g, Plan *p, Diag *d) {
  (void)d;
  int nv = g->nvalues;
  memset(p, 0, sizeof *p);
  p->loc = calloc((size_t)nv + 1, sizeof(Loc));
  p->def_step = malloc(sizeof(int) * ((size_t)nv + 1));
  p->last_step = malloc(sizeof(int) * ((size_t)nv + 1));
  p->alias_of = malloc(sizeof(int) * ((size_t)nv + 1));
  bool *used = calloc((size_t)nv + 1, 1);
  CD_ASSERT(p->loc && p->def_step && p->last_step && p->alias_of && used);
  for (int v = 0; v < nv; v++) {
    p->def_step[v] = -1;
    p->last_step[v] = -1;
    p->alias_of[v] = v;
  }
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    CD_ASSERT(!n->dead);
    for (int j = 0; j < node_nreads(n); j++)
      if (node_runtime_read(n, j)) {
        p->last_step[node_read(n, j)] = i;
        used[node_read(n, j)] = true;
      }
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] >= 0) {
        p->def_step[n->out[j]] = i;
        if (p->last_step[n->out[j]] < i)
          p->last_step[n->out[j]] = i;
      }
    CD_ASSERT(n->sched.family != NULL); /* schedule_build runs first */
    /* Nodes are in order, so the input's root is final: alias the root
     * directly, and a chain of a million Reshapes costs no walk. */
    if (n->sched.family->flags & KC_ALIAS)
      p->alias_of[n->out[0]] = p->alias_of[n->in[0]];
  }
  for (int k = 0; k < g->noutputs; k++) {
    int v = g->outputs[k];
    p->last_step[v] = g->nnodes;
    used[v] = true;
  }
  int64_t lo, hi;
  for (int k = 0; k < g->ninputs; k++) {
    int v = g->inputs[k];
    if (graph_io_as_float(g, v, &lo, &hi)) {
      /* Converted from the caller's floats into the workspace before the
       * first kernel (emit.c): written at step 0. */
      p->def_step[v] = 0;
      if (p->last_step[v] < 0)
        p->last_step[v] = 0;
      continue;
    }
    p->loc[v] = (Loc){LOC_INPUT, k};
  }
  for (int k = g->noutputs - 1; k >= 0; k--) {
    int v = g->outputs[k];
    /* An integer output lives in the workspace; the caller gets it as
     * floats after the last kernel. */
    if (!g->values[v].is_input && !g->values[v].data &&
        !graph_out_as_float(g, v, &lo, &hi))
      p->loc[v] = (Loc){LOC_OUTPUT, k};
  }
  /* Weights: constants some kernel reads, in value order. */
  int64_t woff = 0;
  for (int v = 0; v < nv; v++) {
    Value *x = &g->values[v];
    if (x->data && used[v]) {
      CD_ASSERT(dtype_size(x->dtype) > 0); /* inference refuses types the IR cannot hold */
      p->loc[v] = (Loc){LOC_WEIGHT, woff};
      woff = align_up(woff + (int64_t)value_storage_bytes(x));
    }
  }
  p->weight_size = woff;
  /* Aliases extend their root's lifetime. */
  for (int v = 0; v < nv; v++)
    if (p->alias_of[v] != v) {
      int r = p->alias_of[v];
      if (p->last_step[v] > p->last_step[r])
        p->last_step[r] = p->last_step[v];
    }
  Item *items = malloc(sizeof(Item) * ((size_t)nv + 1));
  CD_ASSERT(items);
  int ni = 0;
  for (int v = 0; v < nv; v++) {
    Value *x = &g->values[v];
    if (p->alias_of[v] != v || p->loc[v].kind != LOC_NONE || x->data ||
        x->dead || p->def_step[v] < 0)
      continue;
    CD_ASSERT(dtype_size(x->dtype) > 0);
    items[ni++] = (Item){v, align_up((int64_t)value_storage_bytes(x)), p->def_step[v]};
  }
  qsort(items, (size_t)ni, sizeof(Item), cmp_items);
  int *def = malloc(sizeof(int) * ((size_t)ni + 1)), *last = malloc(sizeof(int) * ((size_t)ni + 1));
  int64_t *offs = malloc(sizeof(int64_t) * ((size_t)ni + 1));
  CD_ASSERT(def && last && offs);
  for (int i = 0; i < ni; i++) {
    def[i] = p->def_step[items[i].v];
    last[i] = p->last_step[items[i].v];
    offs[i] = -1; /* not placed yet */
  }
  int *start, *adj;
  lifetime_pairs(ni, def, last, PLAN_MAX_PAIRS, &start, &adj);
  Range *nb = malloc(sizeof(Range) * ((size_t)ni + 1));
  CD_ASSERT(nb);
  int64_t top = 0;
  for (int i = 0; i < ni; i++) {
    int64_t off = 0;
    CD_STEPS(1);
    if (adj) {
      /* The lowest offset clear of every placed neighbour: one pass in
       * order of offset (a neighbour starting past off + size ends it). */
      int k = 0;
      CD_STEPS(start[i + 1] - start[i]); /* its neighbours */
      for (int e = start[i]; e < start[i + 1]; e++)
        if (offs[adj[e]] >= 0)
          nb[k++] = (Range){offs[adj[e]], offs[adj[e]] + items[adj[e]].size};
      qsort(nb, (size_t)k, sizeof(Range), cmp_ranges);
      for (int e = 0; e < k && nb[e].off < off + items[i].size; e++) {
        CD_STEPS(1);
        if (off < nb[e].end)
          off = nb[e].end;
      }
    } else {
      off = top; /* too many pairs: a range of its own */
    }
    offs[i] = off;
    top = off + items[i].size > top ? off + items[i].size : top;
    p->loc[items[i].v] = (Loc){LOC_WS, off};
  }
  /* The counters of claimed tails (schedule.c): g->threads longs a
   * claiming node, in node order, after every buffer; live all the run. */
  int64_t claims = sat_mul(sat_mul(schedule_claiming(g), g->threads), (int64_t)sizeof(long));
  p->claim_off = claims ? align_up(top) : -1;
  p->ws_size = claims ? sat_add(p->claim_off, claims) : top;
  p->scratch_bytes = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const KernelConfig *k = g->nodes[i].sched.family;
    int64_t b = k && k->scratch ? align_up(k->scratch(g, &g->nodes[i], g->target)) : 0;
    p->scratch_bytes = b > p->scratch_bytes ? b : p->scratch_bytes;
  }
  int64_t scratch = sat_mul(p->scratch_bytes, g->threads > 1 ? g->threads : 1);
  p->scratch_off = scratch ? align_up(p->ws_size) : -1;
  if (scratch)
    p->ws_size = sat_add(p->scratch_off, scratch);
  /* Bytes live at each step: +size where a buffer starts, -size after its
   * last step, summed in order. */
  int64_t *delta = calloc((size_t)g->nnodes + 3, sizeof(int64_t));
  CD_ASSERT(delta);
  for (int i = 0; i < ni; i++) {
    delta[def[i]] += items[i].size;
    delta[last[i] + 1] -= items[i].size;
  }
  int64_t live = 0;
  CD_STEPS(ni + g->nnodes); /* the lower bound: a pass over buffers, one over steps */
  for (int s = 0; s <= g->nnodes; s++) {
    live += delta[s];
    if (s < g->nnodes && live > p->ws_lower_bound)
      p->ws_lower_bound = live;
  }
  p->ws_lower_bound = sat_add(sat_add(p->ws_lower_bound, claims), scratch);
  for (int v = 0; v < nv; v++)
    if (p->alias_of[v] != v)
      p->loc[v] = p->loc[p->alias_of[v]];
  free(delta);
  free(nb);
  free(start);
  free(adj);
  free(def);
  free(last);
  free(offs);
  free(items);
  free(used);
  return true;
}

void plan_free(Plan *p) {
  free(p->loc);
  free(p->def_step);
  free(p->last_step);
  free(p->alias_of);
  memset(p, 0, sizeof *p);
}
