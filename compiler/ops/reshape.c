/*
 * reshape.c — the ops that only relabel a tensor's shape: Flatten, Reshape
 * (0 copies a dim unless allowzero, -1 is inferred), Squeeze, Unsqueeze,
 * Identity and inference-mode Dropout.  Their output is the input's bytes;
 * the planner makes it an alias, so they cost nothing at run time.  They
 * run on any element type, so they also fold int64 shape arithmetic.
 */
#include "../cardinal.h"

#include <string.h>

/* Axes from the `axes` attribute (older opsets) or input 1 (opset 13+);
 * p->naxes = -1 when neither is given. */
static bool read_axes(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  const Attr *a;
  p->naxes = -1;
  if (!attr_get(n, "axes", AT_INTS, d, &a))
    return false;
  if (a) {
    if (a->count > CD_MAX_RANK) {
      diag_error(d, "node '%s' (%s): bad axes attribute", node_label(n),
                 n->op_type);
      return false;
    }
    memcpy(p->axes, a->ints, sizeof(int64_t) * (size_t)a->count);
    p->naxes = a->count;
    return true;
  }
  if (node_has_input(n, 1))
    return op_const_ints(g, n, 1, d, p->axes, &p->naxes, CD_MAX_RANK);
  return true;
}

bool reshape_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  switch (n->op) {
  case OP_DROPOUT:
    /* Training mode drops nothing at ratio 0 (torch's F.dropout(x, p=0.0)
     * exports so: swin_t's attention). */
    if (node_has_input(n, 2) && value_scalar(g, n->in[2], 1) != 0 &&
        !(node_has_input(n, 1) && g->values[n->in[1]].data &&
          value_scalar(g, n->in[1], 1) == 0)) {
      diag_error(d, "node '%s' (Dropout): training_mode must be a constant "
                 "false (or the ratio a constant 0)", node_label(n));
      return false;
    }
    return true;
  case OP_FLATTEN:
    p->axis = attr_int(n, "axis", 1, d);
    return true;
  case OP_RESHAPE: {
    const Attr *a;
    if (!attr_get(n, "shape", AT_INTS, d, &a))
      return false;
    if (node_has_input(n, 1)) {
      if (!op_const_ints(g, n, 1, d, p->shape, &p->nshape, CD_MAX_RANK))
        return false;
    } else if (a && a->count <= CD_MAX_RANK) {
      memcpy(p->shape, a->ints, sizeof(int64_t) * (size_t)a->count);
      p->nshape = a->count;
    } else {
      diag_error(d, "node '%s' (Reshape): no shape", node_label(n));
      return false;
    }
    p->allowzero = attr_int(n, "allowzero", 0, d) != 0;
    return true;
  }
  case OP_SQUEEZE:
  case OP_UNSQUEEZE:
    return read_axes(g, n, d);
  default:
    return true;
  }
}

bool reshape_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  const OpParams *p = &n->p;
  int64_t dims[CD_MAX_RANK];
  int r = 0;
  switch (n->op) {
  case OP_IDENTITY:
  case OP_DROPOUT:
    r = x->rank;
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)r);
    if (n->nout > 1 && n->out[1] >= 0)
      value_set_shape(&g->values[n->out[1]], DT_BOOL, r, dims);
    break;
  case OP_FLATTEN: {
    int64_t axis = normalize_axis(p->axis, x->rank);
    if (axis < 0 || axis > x->rank) {
      diag_error(d, "node '%s' (Flatten): axis out of range", node_label(n));
      return false;
    }
    dims[0] = dims[1] = 1;
    for (int k = 0; k < x->rank; k++) /* a product of some of x's dims: no overflow */
      dims[k < axis ? 0 : 1] = sat_mul(dims[k < axis ? 0 : 1], x->dims[k]);
    r = 2;
    break;
  }
  case OP_RESHAPE: {
    int infer = -1;
    int64_t known = 1;
    for (int k = 0; k < p->nshape; k++) {
      int64_t s = p->shape[k];
      if (s == 0 && !p->allowzero) {
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
      if (!ck_mul(known, s, &known)) {
        diag_error(d, "node '%s' (Reshape): the target shape's size overflows", node_label(n));
        return false;
      }
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
    r = p->nshape;
    break;
  }
  case OP_SQUEEZE: {
    bool drop[CD_MAX_RANK] = {0};
    for (int i = 0; i < p->naxes; i++) {
      int64_t a = normalize_axis(p->axes[i], x->rank);
      if (a < 0 || a >= x->rank || x->dims[a] != 1) {
        diag_error(d, "node '%s' (Squeeze): axis %lld is not a unit dim",
                   node_label(n), (long long)p->axes[i]);
        return false;
      }
      drop[a] = true;
    }
    for (int k = 0; k < x->rank; k++)
      if (!(p->naxes >= 0 ? drop[k] : x->dims[k] == 1))
        dims[r++] = x->dims[k];
    break;
  }
  case OP_UNSQUEEZE: {
    r = x->rank + (p->naxes > 0 ? p->naxes : 0);
    if (p->naxes < 0 || r > CD_MAX_RANK) {
      diag_error(d, "node '%s' (Unsqueeze): needs axes, result rank <= %d",
                 node_label(n), CD_MAX_RANK);
      return false;
    }
    bool ins[CD_MAX_RANK] = {0};
    for (int i = 0; i < p->naxes; i++) {
      int64_t a = normalize_axis(p->axes[i], r);
      if (a < 0 || a >= r || ins[a]) {
        diag_error(d, "node '%s' (Unsqueeze): bad axis %lld", node_label(n),
                   (long long)p->axes[i]);
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

/* ------------------------------------------------------------ scalar kernel */

bool reshape_emit(CWriter *w, Graph *g, Node *n) {
  cw(w, "memcpy(y0, x0, %zu);\n", value_bytes(&g->values[n->out[0]]));
  for (int i = 1; i < n->nin; i++)
    if (n->in[i] >= 0 && g->values[n->in[i]].dtype == DT_FLOAT)
      cw(w, "(void)x%d;\n", i);
  if (n->nout > 1 && n->out[1] >= 0 && g->values[n->out[1]].dtype == DT_FLOAT)
    cw(w, "(void)y1;\n");
  return true;
}
