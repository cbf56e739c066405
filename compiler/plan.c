/*
 * plan.c — the static memory plan: where every value lives at run time.
 *
 *  - graph inputs and outputs live in the caller's buffers;
 *  - float constants read by a kernel live in the weight blob, each at a
 *    64-byte aligned offset;
 *  - the output of a shape-only op (Reshape, Flatten, ...) is an alias of its
 *    input's bytes, so it costs nothing;
 *  - every other value gets a 64-byte aligned range of one workspace.
 *
 * Workspace packing is the greedy-by-size scheme of TFLite's arena planner:
 * each value is live from the step that writes it to the last step that
 * reads it (or any of its aliases); buffers are placed largest first at the
 * lowest offset that overlaps no placed buffer with an intersecting
 * lifetime.  ws_lower_bound is the most bytes live at any one step: no plan
 * can use less, and tests compare the two.
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

static int64_t align_up(int64_t x) {
  return (x + CD_ALIGN - 1) / CD_ALIGN * CD_ALIGN;
}

static int root_of(const Plan *p, int v) {
  while (p->alias_of[v] != v)
    v = p->alias_of[v];
  return v;
}

typedef struct {
  int v;
  int64_t size;  /* bytes, aligned */
  int def;       /* step that writes it */
} Item;

/* Largest first; ties by definition step, then value index, so the plan is
 * the same on every run. */
static int cmp_items(const void *a, const void *b) {
  const Item *x = a, *y = b;
  if (x->size != y->size)
    return x->size > y->size ? -1 : 1;
  if (x->def != y->def)
    return x->def < y->def ? -1 : 1;
  return x->v - y->v;
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
      if (node_read(n, j) >= 0) {
        p->last_step[node_read(n, j)] = i;
        used[node_read(n, j)] = true;
      }
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] >= 0) {
        p->def_step[n->out[j]] = i;
        if (p->last_step[n->out[j]] < i)
          p->last_step[n->out[j]] = i;
      }
    CD_ASSERT(n->sched.family != KF_NONE); /* schedule_build runs first */
    if (n->sched.family == KF_ALIAS)
      p->alias_of[n->out[0]] = n->in[0];
  }
  for (int k = 0; k < g->noutputs; k++) {
    int v = g->outputs[k];
    p->last_step[v] = g->nnodes;
    used[v] = true;
  }
  for (int k = 0; k < g->ninputs; k++)
    p->loc[g->inputs[k]] = (Loc){LOC_INPUT, k};
  for (int k = g->noutputs - 1; k >= 0; k--) {
    int v = g->outputs[k];
    if (!g->values[v].is_input && !g->values[v].data)
      p->loc[v] = (Loc){LOC_OUTPUT, k};
  }
  /* Weights: float constants some node reads, in value order. */
  int64_t woff = 0;
  for (int v = 0; v < nv; v++) {
    Value *x = &g->values[v];
    if (x->data && used[v] && x->dtype == DT_FLOAT) {
      p->loc[v] = (Loc){LOC_WEIGHT, woff};
      woff = align_up(woff + (int64_t)value_storage_bytes(x));
    }
  }
  p->weight_size = woff;
  /* Aliases extend their root's lifetime. */
  for (int v = 0; v < nv; v++)
    if (p->alias_of[v] != v) {
      int r = root_of(p, v);
      if (p->last_step[v] > p->last_step[r])
        p->last_step[r] = p->last_step[v];
    }
  Item *items = malloc(sizeof(Item) * ((size_t)nv + 1));
  CD_ASSERT(items);
  int ni = 0;
  for (int v = 0; v < nv; v++) {
    Value *x = &g->values[v];
    if (p->alias_of[v] != v || p->loc[v].kind != LOC_NONE || x->data ||
        x->dead || p->def_step[v] < 0 || x->dtype != DT_FLOAT)
      continue;
    items[ni++] = (Item){v, align_up((int64_t)value_storage_bytes(x)), p->def_step[v]};
  }
  qsort(items, (size_t)ni, sizeof(Item), cmp_items);
  Item *placed = malloc(sizeof(Item) * ((size_t)ni + 1));
  int64_t *offs = malloc(sizeof(int64_t) * ((size_t)ni + 1));
  CD_ASSERT(placed && offs);
  int np = 0;
  for (int i = 0; i < ni; i++) {
    int v = items[i].v;
    int64_t off = 0;
    /* Placed buffers live at the same time, sorted by offset (tiny n: fine). */
    for (bool moved = true; moved;) {
      moved = false;
      for (int k = 0; k < np; k++) {
        int u = placed[k].v;
        if (p->def_step[u] > p->last_step[v] || p->def_step[v] > p->last_step[u])
          continue;
        if (off < offs[k] + placed[k].size && offs[k] < off + items[i].size) {
          off = offs[k] + placed[k].size;
          moved = true;
        }
      }
    }
    placed[np] = items[i];
    offs[np++] = off;
    p->loc[v] = (Loc){LOC_WS, off};
    if (off + items[i].size > p->ws_size)
      p->ws_size = off + items[i].size;
  }
  for (int s = 0; s < g->nnodes; s++) {
    int64_t live = 0;
    for (int k = 0; k < np; k++) {
      int u = placed[k].v;
      if (p->def_step[u] <= s && s <= p->last_step[u])
        live += placed[k].size;
    }
    if (live > p->ws_lower_bound)
      p->ws_lower_bound = live;
  }
  for (int v = 0; v < nv; v++)
    if (p->alias_of[v] != v)
      p->loc[v] = p->loc[root_of(p, v)];
  free(items);
  free(placed);
  free(offs);
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
