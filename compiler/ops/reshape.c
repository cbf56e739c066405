/*
 * reshape.c — the ops that only relabel a tensor's shape: Flatten, Reshape
 * (0 copies a dim unless allowzero, -1 is inferred), Squeeze, Unsqueeze,
 * Identity and inference-mode Dropout.  Their output is the input's bytes;
 * the planner makes it an alias, so they cost nothing at run time.  They
 * run on any element type, so they also fold int64 shape arithmetic.
 */
#include "../cardinal.h"

#include <string.h>

/* Axes from the `axes` attribute (older opsets) or input 1 (opset 13+). */
static bool read_axes(Graph *g, Node *n, Diag *d, int64_t *axes, int *count,
                      bool *given) {
  const Attr *a = node_attr(n, "axes");
  *given = false;
  *count = 0;
  if (a) {
    if (a->type != AT_INTS || a->count > CD_MAX_RANK) {
      diag_error(d, "node '%s' (%s): bad axes attribute", node_label(n),
                 n->op_type);
      return false;
    }
    memcpy(axes, a->ints, sizeof(int64_t) * (size_t)a->count);
    *count = a->count;
    *given = true;
    return true;
  }
  if (n->nin > 1 && n->in[1] >= 0) {
    *given = true;
    return op_const_ints(g, n, 1, d, axes, count, CD_MAX_RANK);
  }
  return true;
}

bool reshape_infer(Graph *g, Node *n, Diag *d) {
  if (!op_check_arity(g, n, d))
    return false;
  Value *x = &g->values[n->in[0]];
  int64_t dims[CD_MAX_RANK];
  int r = 0;
  switch (n->op) {
  case OP_IDENTITY:
  case OP_DROPOUT:
    if (n->op == OP_DROPOUT && n->nin > 2 && n->in[2] >= 0 &&
        value_scalar(g, n->in[2], 1) != 0) {
      diag_error(d, "node '%s' (Dropout): training_mode must be a constant "
                 "false", node_label(n));
      return false;
    }
    r = x->rank;
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)r);
    if (n->nout > 1 && n->out[1] >= 0)
      value_set_shape(&g->values[n->out[1]], DT_BOOL, r, dims);
    break;
  case OP_FLATTEN: {
    int64_t axis = normalize_axis(attr_int(n, "axis", 1), x->rank);
    if (axis < 0 || axis > x->rank) {
      diag_error(d, "node '%s' (Flatten): axis out of range", node_label(n));
      return false;
    }
    dims[0] = dims[1] = 1;
    for (int k = 0; k < x->rank; k++)
      dims[k < axis ? 0 : 1] *= x->dims[k];
    r = 2;
    break;
  }
  case OP_RESHAPE: {
    int64_t shape[CD_MAX_RANK];
    int cnt = 0;
    const Attr *a = node_attr(n, "shape");
    if (n->nin > 1 && n->in[1] >= 0) {
      if (!op_const_ints(g, n, 1, d, shape, &cnt, CD_MAX_RANK))
        return false;
    } else if (a && a->type == AT_INTS && a->count <= CD_MAX_RANK) {
      memcpy(shape, a->ints, sizeof(int64_t) * (size_t)a->count);
      cnt = a->count;
    } else {
      diag_error(d, "node '%s' (Reshape): no shape", node_label(n));
      return false;
    }
    bool allowzero = attr_int(n, "allowzero", 0) != 0;
    int infer = -1;
    int64_t known = 1;
    for (int k = 0; k < cnt; k++) {
      int64_t s = shape[k];
      if (s == 0 && !allowzero) {
        if (k >= x->rank) {
          diag_error(d, "node '%s' (Reshape): 0 at dim %d copies a missing "
                     "input dim", node_label(n), k);
          return false;
        }
        s = x->dims[k];
      }
      if (s == -1) {
        if (infer >= 0) {
          diag_error(d, "node '%s' (Reshape): more than one -1", node_label(n));
          return false;
        }
        infer = k;
        s = 1;
      } else if (s < 0) {
        diag_error(d, "node '%s' (Reshape): negative dim %lld", node_label(n),
                   (long long)s);
        return false;
      }
      dims[k] = s;
      known *= s;
    }
    int64_t total = value_numel(x);
    if (infer >= 0) {
      if (known == 0 || total % known) {
        diag_error(d, "node '%s' (Reshape): cannot infer -1 (%lld elements)",
                   node_label(n), (long long)total);
        return false;
      }
      dims[infer] = total / known;
    }
    r = cnt;
    break;
  }
  case OP_SQUEEZE: {
    int64_t axes[CD_MAX_RANK];
    int cnt;
    bool given;
    if (!read_axes(g, n, d, axes, &cnt, &given))
      return false;
    bool drop[CD_MAX_RANK] = {0};
    for (int i = 0; i < cnt; i++) {
      int64_t a = normalize_axis(axes[i], x->rank);
      if (a < 0 || a >= x->rank || x->dims[a] != 1) {
        diag_error(d, "node '%s' (Squeeze): axis %lld is not a unit dim",
                   node_label(n), (long long)axes[i]);
        return false;
      }
      drop[a] = true;
    }
    for (int k = 0; k < x->rank; k++)
      if (!(given ? drop[k] : x->dims[k] == 1))
        dims[r++] = x->dims[k];
    break;
  }
  case OP_UNSQUEEZE: {
    int64_t axes[CD_MAX_RANK];
    int cnt;
    bool given;
    if (!read_axes(g, n, d, axes, &cnt, &given))
      return false;
    r = x->rank + cnt;
    if (!given || r > CD_MAX_RANK) {
      diag_error(d, "node '%s' (Unsqueeze): needs axes, result rank <= %d",
                 node_label(n), CD_MAX_RANK);
      return false;
    }
    bool ins[CD_MAX_RANK] = {0};
    for (int i = 0; i < cnt; i++) {
      int64_t a = normalize_axis(axes[i], r);
      if (a < 0 || a >= r || ins[a]) {
        diag_error(d, "node '%s' (Unsqueeze): bad axis %lld", node_label(n),
                   (long long)axes[i]);
        return false;
      }
      ins[a] = true;
    }
    for (int k = 0, j = 0; k < r; k++)
      dims[k] = ins[k] ? 1 : x->dims[j++];
    break;
  }
  default:
    CD_ASSERT(!"not a reshape op");
  }
  Value *y = &g->values[n->out[0]];
  value_set_shape(y, x->dtype, r, dims);
  if (value_numel(y) != value_numel(x)) {
    diag_error(d, "node '%s' (%s): %lld elements cannot become %lld",
               node_label(n), n->op_type, (long long)value_numel(x),
               (long long)value_numel(y));
    return false;
  }
  return true;
}

void reshape_eval(Graph *g, Node *n, void **data) {
  memcpy(data[n->out[0]], data[n->in[0]], value_bytes(&g->values[n->in[0]]));
  if (n->nout > 1 && n->out[1] >= 0)
    memset(data[n->out[1]], 1, value_bytes(&g->values[n->out[1]]));
}
