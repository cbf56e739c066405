/*
 * mod.c — Mod: the remainder of a division, elementwise with numpy
 * broadcasting, both operands and the result of one type (float32,
 * float64, int64, int32, int8, uint8).  Attribute fmod:
 *
 *   fmod 1   C's fmod / %: truncated division, the sign of the dividend
 *   fmod 0   Python's %: floored division, the sign of the divisor
 *            (r = a % b; r += b when r != 0 and r, b differ in sign);
 *            integers only, as the spec says
 *
 * Swin exports pad each window with (w - H % w) % w on shape values, which
 * folds at compile time once the input's shape is fixed; on data computed
 * at run time it is a kernel of the same rules.  A zero divisor, which ONNX
 * leaves undefined and C makes undefined behaviour, gives 0 for integers
 * (numpy's answer) and NaN for floats (fmod's); so does INT_MIN % -1,
 * whose quotient overflows.
 */
#include "../cardinal.h"

#include <math.h>

static bool is_float_type(DType t) { return t == DT_FLOAT || t == DT_DOUBLE; }

bool mod_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  int64_t f = attr_int(n, "fmod", 0, d);
  if (f != 0 && f != 1) {
    diag_error(d, "node '%s' (Mod): fmod must be 0 or 1 (it is %lld)", node_label(n),
               (long long)f);
    return false;
  }
  n->p.fmod = f == 1;
  return true;
}

bool mod_infer(Graph *g, Node *n, Diag *d) {
  const Value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  DType t = a->dtype;
  bool typed = t == DT_FLOAT || t == DT_DOUBLE || t == DT_INT64 || t == DT_INT32 ||
               t == DT_INT8 || t == DT_UINT8;
  if (b->dtype != t || !typed || (is_float_type(t) && !n->p.fmod)) {
    diag_error(d, "node '%s' (Mod): operands of %s and %s; Mod takes two operands of one "
               "type (float32, float64, int64, int32, int8, uint8), fmod=1 for the float types",
               node_label(n), dtype_name(t), dtype_name(b->dtype));
    return false;
  }
  const Value *vs[2] = {a, b};
  int rank;
  int64_t dims[CD_MAX_RANK];
  if (!op_broadcast(d, n, 2, vs, &rank, dims))
    return false;
  value_set_shape(&g->values[n->out[0]], t, rank, dims);
  return true;
}

/* The integer remainder by the rules above; lo: the type's minimum. */
static int64_t imod(int64_t a, int64_t b, bool fmod, int64_t lo) {
  if (b == 0 || (b == -1 && a == lo))
    return 0;
  int64_t r = a % b;
  if (!fmod && r != 0 && (r < 0) != (b < 0))
    r += b;
  return r;
}

void mod_eval(Graph *g, Node *n, void **data) {
  const Value *y = &g->values[n->out[0]];
  const Value *xs[2] = {&g->values[n->in[0]], &g->values[n->in[1]]};
  BcastIter it;
  bcast_begin(&it, y, 2, xs);
  const void *A = data[n->in[0]], *B = data[n->in[1]];
  void *Y = data[n->out[0]];
  int64_t m = value_numel(y);
  bool f = n->p.fmod;
  for (int64_t e = 0; e < m; e++, bcast_next(&it)) {
    int64_t i = it.off[0], j = it.off[1];
    switch (y->dtype) {
    case DT_FLOAT: ((float *)Y)[e] = fmodf(((const float *)A)[i], ((const float *)B)[j]); break;
    case DT_DOUBLE: ((double *)Y)[e] = fmod(((const double *)A)[i], ((const double *)B)[j]); break;
    case DT_INT64:
      ((int64_t *)Y)[e] = imod(((const int64_t *)A)[i], ((const int64_t *)B)[j], f, INT64_MIN);
      break;
    case DT_INT32:
      ((int32_t *)Y)[e] =
          (int32_t)imod(((const int32_t *)A)[i], ((const int32_t *)B)[j], f, INT32_MIN);
      break;
    case DT_INT8:
      ((int8_t *)Y)[e] = (int8_t)imod(((const int8_t *)A)[i], ((const int8_t *)B)[j], f, -128);
      break;
    default:
      ((uint8_t *)Y)[e] = (uint8_t)imod(((const uint8_t *)A)[i], ((const uint8_t *)B)[j], f, 0);
      break;
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool mod_emit(CWriter *w, Graph *g, Node *n) {
  const Value *y = &g->values[n->out[0]];
  const char *a = op_bcast_read(w, &g->values[n->in[0]], y->rank, y->dims, "x0");
  const char *b = op_bcast_read(w, &g->values[n->in[1]], y->rank, y->dims, "x1");
  if (value_numel(y) == 0) {
    cw(w, "(void)x0;\n(void)x1;\n(void)y0; /* empty */\n");
    return true;
  }
  const char *ct = dtype_ctype(y->dtype);
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, y->rank);
  if (is_float_type(y->dtype)) {
    cw(w, "y0[i++] = %s(%s, %s);\n", y->dtype == DT_FLOAT ? "fmodf" : "fmod", a, b);
    return true;
  }
  /* A signed type also guards its minimum % -1; uint8 has neither (and
   * comparing it with -1 would be a warning under -Wextra). */
  const char *lo = y->dtype == DT_INT64 ? "(-9223372036854775807 - 1)"
                   : y->dtype == DT_INT32 ? "(-2147483647 - 1)" : "-128";
  cw(w, "{\nconst %s a = %s, b = %s;\n", ct, a, b);
  if (y->dtype == DT_UINT8)
    cw(w, "y0[i++] = (uint8_t)(b == 0 ? 0 : a %% b);\n}\n");
  else if (n->p.fmod)
    cw(w, "y0[i++] = (%s)(b == 0 || (b == -1 && a == %s) ? 0 : a %% b);\n}\n", ct, lo);
  else
    cw(w, "%s r = (%s)(b == 0 || (b == -1 && a == %s) ? 0 : a %% b);\n"
          "y0[i++] = (%s)(r != 0 && (r < 0) != (b < 0) ? r + b : r);\n}\n",
       ct, ct, lo, ct);
  return true;
}
