/*
 * fill.c — the ops whose output depends on parameters alone:
 * ConstantOfShape (a tensor of the given shape, every element the `value`
 * attribute: one element of any type the IR holds, float32 0 by default)
 * and Range (start, start + delta, ... short of limit, in the inputs' type:
 * max(ceil((limit - start) / delta), 0) elements).
 *
 * Their inputs are parameter inputs (ops.def), so they must be constant,
 * and a node whose runtime reads are all constant folds at compile time
 * (infer.c); the kernels below only run for such a node whose output is a
 * graph output, and write the same values.
 */
#include "../cardinal.h"

#include <math.h>
#include <string.h>

static bool is_float_type(DType t) { return t == DT_FLOAT || t == DT_DOUBLE; }

/* Element i of a fill: num/inum[0] + i * num/inum[2] (ConstantOfShape: step 0). */
static void put(DType t, void *y, int64_t i, double f, int64_t k) {
  switch (t) {
  case DT_FLOAT: ((float *)y)[i] = (float)f; break;
  case DT_DOUBLE: ((double *)y)[i] = f; break;
  case DT_INT64: ((int64_t *)y)[i] = k; break;
  case DT_INT32: ((int32_t *)y)[i] = (int32_t)k; break;
  case DT_INT8: ((int8_t *)y)[i] = (int8_t)k; break;
  default: ((uint8_t *)y)[i] = (uint8_t)k; break; /* uint8, bool */
  }
}

/* A C literal of the element (f, k) of type t. */
static const char *literal(CWriter *w, DType t, double f, int64_t k) {
  if (t == DT_FLOAT)
    return cw_float(w, f);
  if (t == DT_DOUBLE)
    return isfinite(f) ? cw_fmt(w, "%.17g", f) : f != f ? "(double)NAN" : f > 0 ? "HUGE_VAL" : "-HUGE_VAL";
  if (k == INT64_MIN) /* no literal of its own */
    return "(-9223372036854775807 - 1)";
  return cw_fmt(w, "(%s)%lld", dtype_ctype(t), (long long)k);
}

/* A one-element constant of any type as (double, int64). */
static void scalar_of(const Value *v, const void *p, double *f, int64_t *k) {
  *f = 0;
  *k = 0;
  switch (v->dtype) {
  case DT_FLOAT: *f = ((const float *)p)[0]; break;
  case DT_DOUBLE: *f = ((const double *)p)[0]; break;
  case DT_INT64: *k = ((const int64_t *)p)[0]; break;
  case DT_INT32: *k = ((const int32_t *)p)[0]; break;
  case DT_INT8: *k = ((const int8_t *)p)[0]; break;
  default: *k = ((const uint8_t *)p)[0]; break;
  }
}

static bool constantofshape_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  if (!op_const_ints(g, n, 0, d, p->shape, &p->nshape, CD_MAX_RANK))
    return false;
  for (int k = 0; k < p->nshape; k++)
    if (p->shape[k] < 0) {
      diag_error(d, "node '%s' (ConstantOfShape): dim %d of the shape is %lld", node_label(n),
                 k, (long long)p->shape[k]);
      return false;
    }
  const Attr *a;
  if (!attr_get(n, "value", AT_TENSOR, d, &a))
    return false;
  p->to = DT_FLOAT;
  p->num[0] = 0;
  p->inum[0] = 0;
  if (a) {
    const Value *t = &g->values[a->tensor];
    if (value_numel(t) != 1 || !dtype_size(t->dtype)) {
      diag_error(d, "node '%s' (ConstantOfShape): value must be one element of a type "
                 "Cardinal holds (it is %lld of %s)", node_label(n), (long long)value_numel(t),
                 dtype_name(t->dtype));
      return false;
    }
    p->to = t->dtype;
    scalar_of(t, t->data, &p->num[0], &p->inum[0]);
  }
  p->num[2] = 0;
  p->inum[2] = 0;
  return true;
}

/* Range: three constant scalars of one type. */
static bool range_parse(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  static const char *const names[3] = {"start", "limit", "delta"};
  DType t = g->values[n->in[0]].dtype;
  for (int i = 0; i < 3; i++) {
    const Value *v = &g->values[n->in[i]];
    if (!v->data) {
      diag_error(d, "node '%s' (Range): its %s '%s' must be a constant: the output's length "
                 "depends on it (freeze it with --freeze %s=FILE)", node_label(n), names[i],
                 v->name, v->name);
      return false;
    }
    if (v->dtype != t || value_numel(v) != 1 ||
        (t != DT_FLOAT && t != DT_DOUBLE && t != DT_INT64 && t != DT_INT32)) {
      diag_error(d, "node '%s' (Range): start, limit and delta must be scalars of one type, "
                 "float32, float64, int64 or int32 (%s '%s' is %lld of %s)", node_label(n),
                 names[i], v->name, (long long)value_numel(v), dtype_name(v->dtype));
      return false;
    }
    scalar_of(v, v->data, &p->num[i], &p->inum[i]);
  }
  p->to = t;
  if (is_float_type(t) ? p->num[2] == 0 || !isfinite(p->num[2]) : p->inum[2] == 0) {
    diag_error(d, "node '%s' (Range): delta is %g; it must be finite and nonzero", node_label(n),
               is_float_type(t) ? p->num[2] : (double)p->inum[2]);
    return false;
  }
  return true;
}

bool fill_parse(Graph *g, Node *n, Diag *d) {
  return n->op == OP_RANGE ? range_parse(g, n, d) : constantofshape_parse(g, n, d);
}

/* Range's length, or -1 when it is not a number Cardinal can hold. */
static int64_t range_len(const OpParams *p) {
  if (is_float_type(p->to)) {
    double len = ceil((p->num[1] - p->num[0]) / p->num[2]);
    int64_t r;
    if (len != len)
      return -1;
    if (len <= 0)
      return 0;
    return ck_f2i(len, &r) ? r : -1;
  }
  int64_t diff, dl = p->inum[2];
  if (!ck_sub(p->inum[1], p->inum[0], &diff))
    return -1;
  if (diff == 0 || (diff > 0) != (dl > 0))
    return 0;
  if (dl == -1) /* diff / -1 cannot overflow: diff < 0 here */
    return -diff;
  return diff / dl + (diff % dl != 0);
}

bool fill_infer(Graph *g, Node *n, Diag *d) {
  OpParams *p = &n->p;
  if (n->op == OP_CONSTANTOFSHAPE) {
    value_set_shape(&g->values[n->out[0]], p->to, p->nshape, p->shape);
    return true;
  }
  int64_t len = range_len(p);
  if (len < 0) {
    diag_error(d, "node '%s' (Range): the length from %g to %g by %g is not a size",
               node_label(n), is_float_type(p->to) ? p->num[0] : (double)p->inum[0],
               is_float_type(p->to) ? p->num[1] : (double)p->inum[1],
               is_float_type(p->to) ? p->num[2] : (double)p->inum[2]);
    return false;
  }
  value_set_shape(&g->values[n->out[0]], p->to, 1, &len);
  return true;
}

void fill_eval(Graph *g, Node *n, void **data) {
  const OpParams *p = &n->p;
  const Value *y = &g->values[n->out[0]];
  int64_t m = value_numel(y);
  for (int64_t i = 0; i < m; i++) {
    double f = n->op == OP_CONSTANTOFSHAPE ? p->num[0] /* as is: -0 stays -0 */
               : p->to == DT_FLOAT ? (double)((float)p->num[0] + (float)i * (float)p->num[2])
                                   : p->num[0] + (double)i * p->num[2];
    put(p->to, data[n->out[0]], i, f, p->inum[0] + i * p->inum[2]);
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool fill_emit(CWriter *w, Graph *g, Node *n) {
  const OpParams *p = &n->p;
  int64_t m = value_numel(&g->values[n->out[0]]);
  if (m == 0) {
    cw(w, "(void)y0; /* empty */\n");
    return true;
  }
  const char *e;
  if (n->op == OP_CONSTANTOFSHAPE)
    e = literal(w, p->to, p->num[0], p->inum[0]);
  else if (p->to == DT_FLOAT)
    e = cw_fmt(w, "%s + (float)i * %s", cw_float(w, (float)p->num[0]),
               cw_float(w, (float)p->num[2]));
  else if (p->to == DT_DOUBLE)
    e = cw_fmt(w, "%s + (double)i * %s", literal(w, DT_DOUBLE, p->num[0], 0),
               literal(w, DT_DOUBLE, p->num[2], 0));
  else
    e = cw_fmt(w, "(%s)(%s + (int64_t)i * %s)", dtype_ctype(p->to),
               literal(w, DT_INT64, 0, p->inum[0]), literal(w, DT_INT64, 0, p->inum[2]));
  cw(w, "for (long i = 0; i < %lld; i++)\ny0[i] = %s;\n", (long long)m, e);
  return true;
}
