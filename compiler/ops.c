/*
 * ops.c — the operator table built from ops.def, and helpers op files share:
 * arity checks, numpy broadcasting, axis normalisation and reading small
 * constant int64 inputs (shapes, axes, pads).
 */
#include "cardinal.h"

#include <string.h>

/* The enum (cardinal.h) and this table are generated from the same rows of
 * ops.def, so they cannot disagree in length or order; tests check that
 * names are unique and op_lookup finds every loadable op. */
const OpInfo op_table[OP_COUNT] = {
#define IN(k) (1u << (k))
#define X(name, id, minin, maxin, minout, maxout, flags, params, fn, dsl) \
  [OP_##id] = {name, minin, maxin, minout, maxout, flags, params, dsl,      \
               fn##_parse, fn##_infer, fn##_eval, fn##_emit},
#include "ops.def"
#undef X
#undef IN
};

bool node_runtime_read(const Node *n, int k) {
  int v = node_read(n, k);
  return v >= 0 && (k >= n->nin || k >= 32 || !(op_table[n->op].param_inputs & (1u << k)));
}

int graph_add_op(Graph *g, OpKind op, int nin, int nout) {
  return graph_add_node(g, op, op_table[op].name, nin, nout);
}

OpKind op_lookup(const char *op_type, const char *domain) {
  if (domain && domain[0] && strcmp(domain, "ai.onnx") != 0)
    return OP_COUNT;
  for (int i = 0; i < OP_COUNT; i++)
    if (!(op_table[i].flags & OPF_INTERNAL) && strcmp(op_table[i].name, op_type) == 0)
      return (OpKind)i;
  return OP_COUNT;
}

bool op_check_arity(Graph *g, Node *n, Diag *d) {
  (void)g;
  const OpInfo *o = &op_table[n->op];
  int nin = n->nin;
  while (nin > 0 && n->in[nin - 1] < 0)
    nin--;
  if (nin < o->min_in || (o->max_in >= 0 && nin > o->max_in)) {
    diag_error(d, "node '%s' (%s): %d inputs, expected %d..%d", node_label(n),
               n->op_type, nin, o->min_in, o->max_in);
    return false;
  }
  if (n->nout < o->min_out || n->nout > o->max_out) {
    diag_error(d, "node '%s' (%s): %d outputs, expected %d..%d", node_label(n),
               n->op_type, n->nout, o->min_out, o->max_out);
    return false;
  }
  for (int i = 0; i < o->min_in; i++)
    if (n->in[i] < 0) {
      diag_error(d, "node '%s' (%s): required input %d is missing",
                 node_label(n), n->op_type, i);
      return false;
    }
  for (int i = 0; i < o->min_out; i++) /* an empty output name in the file */
    if (n->out[i] < 0) {
      diag_error(d, "node '%s' (%s): required output %d is missing",
                 node_label(n), n->op_type, i);
      return false;
    }
  return true;
}

/* numpy broadcasting of na values; dims of the result in dims[rank]. */
bool op_broadcast(Diag *d, const Node *n, int na, const Value **vs, int *rank,
                  int64_t *dims) {
  int r = 0;
  for (int i = 0; i < na; i++)
    if (vs[i]->rank > r)
      r = vs[i]->rank;
  for (int k = 0; k < r; k++)
    dims[k] = 1;
  for (int i = 0; i < na; i++) {
    const Value *v = vs[i];
    for (int k = 0; k < v->rank; k++) {
      int o = r - v->rank + k;
      int64_t a = dims[o], b = v->dims[k];
      if (a == b || b == 1)
        continue;
      if (a == 1) {
        dims[o] = b;
        continue;
      }
      diag_error(d, "node '%s' (%s): shapes cannot broadcast (dim %d: %lld vs %lld)",
                 node_label(n), n->op_type, o, (long long)a, (long long)b);
      return false;
    }
  }
  *rank = r;
  return true;
}

/* Strides (in elements) to read v as if it had shape dims[rank]: 0 where
 * v is broadcast. */
void broadcast_strides(const Value *v, int rank, const int64_t *dims,
                       int64_t *strides) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    int vk = k - (rank - v->rank);
    if (vk < 0 || v->dims[vk] == 1) {
      strides[k] = 0;
    } else {
      strides[k] = s;
    }
    if (vk >= 0)
      s *= v->dims[vk];
  }
  (void)dims;
}

const char *op_bcast_read(CWriter *w, const Value *v, int rank, const int64_t *dims,
                          const char *x) {
  int64_t st[CD_MAX_RANK];
  broadcast_strides(v, rank, dims, st);
  StrBuf sb = {0};
  sb_printf(&sb, "%s[0", x);
  for (int k = 0; k < rank; k++)
    if (st[k] && dims[k] > 1)
      sb_printf(&sb, " + i%d * %lld", k, (long long)st[k]);
  sb_printf(&sb, "]");
  const char *r = cw_fmt(w, "%s", sb.buf);
  sb_free(&sb);
  return r;
}

void bcast_begin(BcastIter *it, const Value *y, int n, const Value *const *xs) {
  CD_ASSERT(n <= CD_BCAST_MAX);
  memset(it, 0, sizeof *it);
  it->n = n;
  it->rank = y->rank;
  memcpy(it->dims, y->dims, sizeof(int64_t) * (size_t)y->rank);
  for (int i = 0; i < n; i++)
    broadcast_strides(xs[i], y->rank, y->dims, it->st[i]);
}

void bcast_next(BcastIter *it) {
  for (int k = it->rank - 1; k >= 0; k--) {
    for (int i = 0; i < it->n; i++)
      it->off[i] += it->st[i][k];
    if (++it->idx[k] < it->dims[k])
      return;
    for (int i = 0; i < it->n; i++)
      it->off[i] -= it->st[i][k] * it->dims[k];
    it->idx[k] = 0;
  }
}

int64_t normalize_axis(int64_t axis, int rank) {
  if (axis < 0)
    axis += rank;
  return axis;
}

/* Reads input `input` of n as constant integers (int64 or int32). */
bool op_const_ints(Graph *g, Node *n, int input, Diag *d, int64_t *out,
                   int *count, int max) {
  int v = n->in[input];
  if (v < 0) {
    *count = 0;
    return true;
  }
  Value *x = &g->values[v];
  if (!x->data) {
    diag_error(d,
               "node '%s' (%s): input %d ('%s') must be a constant; freeze it "
               "with --freeze %s=FILE",
               node_label(n), n->op_type, input, x->name, x->name);
    return false;
  }
  int64_t m = value_numel(x);
  if (m > max) {
    diag_error(d, "node '%s' (%s): input '%s' has %lld elements, at most %d",
               node_label(n), n->op_type, x->name, (long long)m, max);
    return false;
  }
  for (int64_t i = 0; i < m; i++) {
    if (x->dtype == DT_INT64)
      out[i] = ((int64_t *)x->data)[i];
    else if (x->dtype == DT_INT32)
      out[i] = ((int32_t *)x->data)[i];
    else {
      diag_error(d, "node '%s' (%s): input '%s' must be int64, not %s",
                 node_label(n), n->op_type, x->name, dtype_name(x->dtype));
      return false;
    }
  }
  *count = (int)m;
  return true;
}

double value_scalar(const Graph *g, int v, double dflt) {
  if (v < 0 || !g->values[v].data || value_numel(&g->values[v]) < 1)
    return dflt;
  const Value *x = &g->values[v];
  switch (x->dtype) {
  case DT_FLOAT: return ((float *)x->data)[0];
  case DT_DOUBLE: return ((double *)x->data)[0];
  case DT_INT64: return (double)((int64_t *)x->data)[0];
  case DT_INT32: return ((int32_t *)x->data)[0];
  default: return dflt;
  }
}
