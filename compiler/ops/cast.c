/*
 * cast.c — Cast between the element types the IR holds (float32, float64,
 * int64, int32, int8, uint8, bool), element by element:
 *
 *   to bool              x != 0 (NaN is true, as numpy says)
 *   to a float type      the nearest value (C's conversion)
 *   int or bool to int   C's conversion: wraps modulo 2^bits, as numpy does
 *   float to int         toward zero, saturating at the type's range, NaN
 *                        giving 0 (ONNX leaves these undefined; in C they
 *                        are undefined behaviour, so they are never left to it)
 *
 * Exporters cast shape arithmetic between int64 and float (folded at
 * compile time); a Cast of data computed at run time is a kernel applying
 * the same rules, written per (from, to) pair.
 */
#include "../cardinal.h"

#include <string.h>

static bool is_float_type(DType t) { return t == DT_FLOAT || t == DT_DOUBLE; }

static bool castable(DType t) {
  return t == DT_FLOAT || t == DT_DOUBLE || t == DT_INT64 || t == DT_INT32 || t == DT_INT8 ||
         t == DT_UINT8 || t == DT_BOOL;
}

bool cast_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  n->p.to = (DType)attr_int(n, "to", 0, d);
  return true;
}

bool cast_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  DType to = n->p.to;
  if (!castable(to) || !castable(x->dtype)) {
    diag_error(d, "node '%s' (Cast): a cast from %s to %s; Cardinal casts between float32, "
               "float64, int64, int32, int8, uint8 and bool", node_label(n),
               dtype_name(x->dtype), castable(to) || dtype_size(to) ? dtype_name(to)
                                                                   : "an unsupported type");
    return false;
  }
  value_set_shape(&g->values[n->out[0]], to, x->rank, x->dims);
  return true;
}

/* The range of an integer type, for the saturating float-to-int cast: a
 * float at or past a bound gives the bound (2^63 - 1 is no double: int64
 * saturates from 2^63, the first double past it). */
static void int_range(DType t, double *lo, double *hi, int64_t *ilo, int64_t *ihi) {
  switch (t) {
  case DT_INT64: *ilo = INT64_MIN, *ihi = INT64_MAX; break;
  case DT_INT32: *ilo = INT32_MIN, *ihi = INT32_MAX; break;
  case DT_INT8: *ilo = -128, *ihi = 127; break;
  default: *ilo = 0, *ihi = 255; break;
  }
  *lo = (double)*ilo;
  *hi = t == DT_INT64 ? 9223372036854775808.0 : (double)*ihi;
}

void cast_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  DType from = x->dtype, to = n->p.to;
  int64_t m = value_numel(x);
  const void *X = data[n->in[0]];
  void *Y = data[n->out[0]];
  double lo, hi;
  int64_t ilo, ihi;
  int_range(to, &lo, &hi, &ilo, &ihi);
  for (int64_t i = 0; i < m; i++) {
    double f = 0;
    int64_t k = 0;
    switch (from) {
    case DT_FLOAT: f = ((const float *)X)[i]; break;
    case DT_DOUBLE: f = ((const double *)X)[i]; break;
    case DT_INT64: k = ((const int64_t *)X)[i]; break;
    case DT_INT32: k = ((const int32_t *)X)[i]; break;
    case DT_INT8: k = ((const int8_t *)X)[i]; break;
    default: k = ((const uint8_t *)X)[i]; break; /* uint8, bool */
    }
    if (is_float_type(from) && !is_float_type(to) && to != DT_BOOL) /* saturate, toward zero */
      k = f != f ? 0 : f <= lo ? ilo : f >= hi ? ihi : (int64_t)f;
    bool nz = is_float_type(from) ? f != 0 : k != 0;
    switch (to) {
    case DT_FLOAT: ((float *)Y)[i] = is_float_type(from) ? (float)f : (float)k; break;
    case DT_DOUBLE: ((double *)Y)[i] = is_float_type(from) ? f : (double)k; break;
    case DT_INT64: ((int64_t *)Y)[i] = k; break;
    case DT_INT32: ((int32_t *)Y)[i] = (int32_t)k; break;
    case DT_INT8: ((int8_t *)Y)[i] = (int8_t)k; break;
    case DT_UINT8: ((uint8_t *)Y)[i] = (uint8_t)k; break;
    default: ((uint8_t *)Y)[i] = nz; break;
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool cast_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  DType from = x->dtype, to = n->p.to;
  const char *e;
  if (to == DT_BOOL) {
    e = "(uint8_t)(x0[i] != 0)";
  } else if (is_float_type(from) && !is_float_type(to)) {
    double lo, hi;
    int64_t ilo, ihi;
    int_range(to, &lo, &hi, &ilo, &ihi);
    /* INT64_MIN spelt so that no literal overflows */
    const char *slo = to == DT_INT64 ? "(-9223372036854775807 - 1)" : cw_int(w, ilo);
    const char *ct = dtype_ctype(to);
    e = cw_fmt(w, "x0[i] != x0[i] ? 0 : x0[i] <= %.17g ? (%s)%s : x0[i] >= %.17g ? (%s)%lld : "
               "(%s)x0[i]", lo, ct, slo, hi, ct, (long long)ihi, ct);
  } else {
    e = cw_fmt(w, "(%s)x0[i]", dtype_ctype(to));
  }
  cw(w, "for (long i = 0; i < %lld; i++)\ny0[i] = %s;\n",
     (long long)value_storage_numel(&g->values[n->out[0]]), e);
  return true;
}
