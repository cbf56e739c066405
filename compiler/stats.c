/*
 * stats.c — what `inspect` and `compare` report about a compiled graph
 * (node counts per op, parameters, multiply-accumulates), and the Graphviz
 * rendering behind --dot.
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

int64_t node_macs(const Graph *g, const Node *n) {
  const Value *y = &g->values[n->out[0]];
  if (n->op == OP_CONV || n->op == OP_CONVINTEGER || n->op == OP_QLINEARCONV) {
    /* each output reads W[m]: Cg x kernel (no division: M may be 0) */
    const Value *w = &g->values[n->in[n->op == OP_QLINEARCONV ? 3 : 1]];
    int64_t per = 1;
    for (int i = 1; i < w->rank; i++)
      per = sat_mul(per, w->dims[i]);
    return sat_mul(value_numel(y), per);
  }
  if (n->op == OP_CONVTRANSPOSE) { /* each input element meets every tap of M/group outputs */
    const Value *w = &g->values[n->in[1]];
    int64_t per = 1;
    for (int i = 1; i < w->rank; i++)
      per = sat_mul(per, w->dims[i]);
    return sat_mul(value_numel(&g->values[n->in[0]]), per);
  }
  if (n->op == OP_RESIZE || n->op == OP_UPSAMPLE) { /* the taps of every resized dim */
    int64_t macs = value_numel(y), taps = n->p.rs.mode == RESIZE_NEAREST ? 1
                                         : n->p.rs.mode == RESIZE_LINEAR ? 2 : 4;
    for (int k = 0; k < y->rank; k++)
      if (n->p.rs.resized[k])
        macs = sat_mul(macs, taps);
    return macs;
  }
  if (n->op == OP_EINSUM) { /* one multiply-add per combination of every label */
    EinsumPlan e;
    Diag d = {.quiet = true};
    int64_t macs = einsum_plan(g, n, &e, &d) ? 1 : 0;
    sb_free(&d.log);
    for (int l = 0; macs && l < e.nlab; l++)
      macs = sat_mul(macs, e.ext[l]);
    return macs;
  }
  if (n->op == OP_GEMM) {
    const Value *a = &g->values[n->in[0]];
    return sat_mul(value_numel(y), n->p.trans_a ? a->dims[0] : a->dims[1]);
  }
  if (n->op == OP_MATMUL || n->op == OP_MATMULINTEGER || n->op == OP_QLINEARMATMUL) {
    const Value *a = &g->values[n->in[0]];
    return sat_mul(value_numel(y), a->dims[a->rank - 1]);
  }
  return 0;
}

void graph_stats(const Graph *g, const Plan *p, GraphStats *s) {
  memset(s, 0, sizeof *s);
  s->nodes = g->nnodes;
  for (int i = 0; i < g->nnodes; i++) {
    s->counts[g->nodes[i].op]++;
    s->macs = sat_add(s->macs, node_macs(g, &g->nodes[i]));
  }
  for (int v = 0; v < g->nvalues; v++)
    if (p->loc[v].kind == LOC_WEIGHT && p->alias_of[v] == v)
      s->params = sat_add(s->params, value_numel(&g->values[v])); /* logical: padding is not a parameter */
  s->weight_bytes = p->weight_size;
  s->workspace_bytes = p->ws_size;
}

/* Float constants the nodes read, each once, except BatchNormalization's
 * running mean and variance: what torch's parameters() would count.  A
 * statistic may reach the BatchNormalization through ops that only move
 * data (the DSL's stacked per-path statistics go through a Concat), so the
 * walk goes backwards: a value is a statistic if every node reading it
 * reads it as one, or moves it into one. */
int64_t graph_learnable_params(const Graph *g) {
  char *stat = calloc((size_t)g->nvalues + 1, 1);  /* read as a statistic */
  char *other = calloc((size_t)g->nvalues + 1, 1); /* read as anything else */
  CD_ASSERT(stat && other);
  for (int i = g->nnodes - 1; i >= 0; i--) { /* readers before producers */
    const Node *nd = &g->nodes[i];
    bool moves = nd->op == OP_CONCAT || (op_table[nd->op].flags & OPF_ALIAS);
    bool into_stat = moves && nd->nout == 1 && nd->out[0] >= 0 && stat[nd->out[0]] &&
                     !other[nd->out[0]];
    for (int j = 0; j < node_nreads(nd); j++) {
      int v = node_read(nd, j);
      if (v < 0)
        continue;
      if ((nd->op == OP_BATCHNORM && j >= 3 && j < nd->nin) || (into_stat && j < nd->nin))
        stat[v] = 1;
      else
        other[v] = 1;
    }
  }
  int64_t n = 0;
  for (int v = 0; v < g->nvalues; v++)
    if (other[v] && g->values[v].data && g->values[v].dtype == DT_FLOAT)
      n += value_numel(&g->values[v]);
  free(stat);
  free(other);
  return n;
}

/* A label safe inside a DOT double-quoted string. */
static void dot_text(FILE *f, const char *s) {
  for (int i = 0; s[i] && i < 80; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      fputc('\\', f);
    fputc(c < 32 || c > 126 ? '?' : c, f);
  }
}

static void dot_dims(FILE *f, const Value *v) {
  fputc('[', f);
  for (int i = 0; i < v->rank; i++)
    fprintf(f, "%s%lld", i ? "," : "", (long long)v->dims[i]);
  fputc(']', f);
}

bool graph_write_dot(const Graph *g, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f)
    return false;
  fprintf(f, "digraph cardinal {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
  for (int k = 0; k < g->ninputs; k++) {
    fprintf(f, "  v%d [shape=ellipse, label=\"input ", g->inputs[k]);
    dot_text(f, g->values[g->inputs[k]].name);
    fputs("\\n", f);
    dot_dims(f, &g->values[g->inputs[k]]);
    fputs("\"];\n", f);
  }
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    fprintf(f, "  n%d [label=\"", i);
    dot_text(f, n->op_type);
    if (n->op == OP_CONV && n->p.group > 1)
      fprintf(f, " (group %lld)", (long long)n->p.group);
    if (n->ep.residual >= 0)
      fputs(n->ep.residual_scale >= 0 ? " + scaled residual" : " + residual", f);
    if (n->ep.act != OP_COUNT)
      fprintf(f, " + %s", op_table[n->ep.act].name);
    fputs("\\n", f);
    dot_text(f, n->name);
    fputs("\\n", f);
    dot_dims(f, &g->values[n->out[0]]);
    fprintf(f, "\"%s];\n", node_has_epilogue(n) ? ", style=filled, fillcolor=\"#dde8ff\"" : "");
    for (int j = 0; j < node_nreads(n); j++) {
      int v = node_read(n, j);
      if (v < 0 || g->values[v].data)
        continue;
      int p = g->values[v].producer;
      if (p >= 0)
        fprintf(f, "  n%d -> n%d;\n", p, i);
      else if (g->values[v].is_input)
        fprintf(f, "  v%d -> n%d;\n", v, i);
    }
  }
  for (int k = 0; k < g->noutputs; k++) {
    int v = g->outputs[k];
    fprintf(f, "  o%d [shape=ellipse, label=\"output ", k);
    dot_text(f, g->values[v].name);
    fputs("\"];\n", f);
    if (g->values[v].producer >= 0)
      fprintf(f, "  n%d -> o%d;\n", g->values[v].producer, k);
  }
  fputs("}\n", f);
  return fclose(f) == 0;
}
