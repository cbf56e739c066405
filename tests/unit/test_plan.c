/*
 * test_plan.c — the memory planner: buffers whose lifetimes intersect never
 * overlap, every buffer is 64-byte aligned, shape-only ops are aliases, and
 * the arena is no larger than needed: equal to the most bytes live at one
 * step on graphs where that bound is reachable, and never above the sum of
 * all buffers.
 */
#include "testutil.h"

#include <stdlib.h>

static void check_no_overlap(Graph *g, Plan *p) {
  for (int a = 0; a < g->nvalues; a++) {
    if (p->loc[a].kind != LOC_WS || p->alias_of[a] != a)
      continue;
    CU_ASSERT_EQUAL(p->loc[a].index % CD_ALIGN, 0);
    int64_t a0 = p->loc[a].index, a1 = a0 + (int64_t)value_bytes(&g->values[a]);
    CU_ASSERT(a1 <= p->ws_size);
    for (int b = a + 1; b < g->nvalues; b++) {
      if (p->loc[b].kind != LOC_WS || p->alias_of[b] != b)
        continue;
      bool live_together = !(p->def_step[a] > p->last_step[b] ||
                             p->def_step[b] > p->last_step[a]);
      int64_t b0 = p->loc[b].index, b1 = b0 + (int64_t)value_bytes(&g->values[b]);
      if (live_together)
        CU_ASSERT(a1 <= b0 || b1 <= a0);
    }
  }
}

static void test_chain_reuses_two_buffers(void) {
  Graph *g = graph_new();
  const int64_t dims[2] = {1, 1000};
  int v = tu_input(g, "x", 2, dims);
  for (int i = 0; i < 10; i++)
    v = tu_node(g, "Relu", 1, &v, NULL);
  tu_output(g, v);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  Plan p;
  schedule_build(g, &target_scalar);
  CU_ASSERT_FATAL(plan_build(g, &p, &d));
  check_no_overlap(g, &p);
  /* Nine intermediates, two live at a time, 4000 bytes rounded to 4032. */
  CU_ASSERT_EQUAL(p.ws_size, 2 * 4032);
  CU_ASSERT_EQUAL(p.ws_size, p.ws_lower_bound);
  CU_ASSERT_EQUAL(p.loc[v].kind, LOC_OUTPUT);
  plan_free(&p);
  graph_free(g);
  sb_free(&d.log);
}

static void test_alias_shares_bytes(void) {
  Graph *g = graph_new();
  const int64_t dims[4] = {1, 4, 2, 2};
  int x = tu_input(g, "x", 4, dims);
  int r = tu_node(g, "Relu", 1, &x, NULL);
  int f = tu_node(g, "Flatten", 1, &r, NULL);
  int s = tu_node(g, "Sigmoid", 1, &f, NULL);
  tu_output(g, s);
  Diag d = {.quiet = true};
  CU_ASSERT_FATAL(graph_infer(g, &d));
  Plan p;
  schedule_build(g, &target_scalar);
  CU_ASSERT_FATAL(plan_build(g, &p, &d));
  CU_ASSERT_EQUAL(p.alias_of[f], r);
  CU_ASSERT_EQUAL(p.loc[f].kind, LOC_WS);
  CU_ASSERT_EQUAL(p.loc[f].index, p.loc[r].index);
  CU_ASSERT_EQUAL(p.ws_size, 64);
  plan_free(&p);
  graph_free(g);
  sb_free(&d.log);
}

/* Random DAGs of Add/Relu over same-shaped tensors of mixed sizes. */
static void test_random_dags(void) {
  uint32_t s = 7;
  for (int trial = 0; trial < 50; trial++) {
    Graph *g = graph_new();
    const int64_t dims[2] = {1, 64 + trial * 3};
    int vals[64], nv = 0;
    vals[nv++] = tu_input(g, "x", 2, dims);
    for (int i = 0; i < 40; i++) {
      s = s * 1664525u + 1013904223u;
      int a = vals[(s >> 8) % (unsigned)nv];
      s = s * 1664525u + 1013904223u;
      int b = vals[(s >> 8) % (unsigned)nv];
      int ins[2] = {a, b};
      vals[nv++] = (s >> 4) & 1 ? tu_node(g, "Add", 2, ins, NULL)
                                : tu_node(g, "Relu", 1, ins, NULL);
    }
    tu_output(g, vals[nv - 1]);
    Diag d = {.quiet = true};
    CU_ASSERT_FATAL(graph_infer(g, &d));
    Plan p;
    schedule_build(g, &target_scalar);
    CU_ASSERT_FATAL(plan_build(g, &p, &d));
    check_no_overlap(g, &p);
    int64_t total = 0;
    for (int v = 0; v < g->nvalues; v++)
      if (p.loc[v].kind == LOC_WS && p.alias_of[v] == v)
        total += (int64_t)((value_bytes(&g->values[v]) + 63) / 64 * 64);
    CU_ASSERT(p.ws_size >= p.ws_lower_bound);
    CU_ASSERT(p.ws_size <= total);
    /* Same-sized buffers: greedy packing reaches the bound exactly. */
    CU_ASSERT_EQUAL(p.ws_size, p.ws_lower_bound);
    plan_free(&p);
    graph_free(g);
    sb_free(&d.log);
  }
}

void add_plan_suite(void) {
  CU_pSuite s = CU_add_suite("plan", NULL, NULL);
  ADD(s, test_chain_reuses_two_buffers);
  ADD(s, test_alias_shares_bytes);
  ADD(s, test_random_dags);
}
