/*
 * argmax.c — ArgMax and ArgMin: the index of the largest (smallest) entry
 * along one axis, as int64.  Seen as outer x len x inner around the axis:
 *
 *   y[o][r] = the i in 0..len-1 where x[o][i][r] is largest (smallest)
 *
 * keepdims (default 1) keeps the axis as a dim of 1; a negative axis counts
 * from the end (ONNX allows it from opset 11; it is taken at every opset).
 * Ties go to the first index, or to the last with select_last_index
 * (opset 12).  A NaN counts as larger and smaller than any number, as
 * numpy's argmax and argmin (ONNX's reference) have it: the first NaN wins,
 * or the last one with select_last_index.
 *
 * Classifier heads and segmentation outputs end in one: [N, classes] over
 * the last axis (inner 1: ARG_LANES lanes, each the best of every
 * ARG_LANES-th score, branch-free so the compiler vectorises them, then
 * merged by value and index), or the per-pixel class of [N, C, H, W] over
 * the channels (inner H*W: the kernel walks the pixels in the inner loop,
 * one running best per pixel, branch-free, so its loads are contiguous and
 * vectorise).  gcc 12 at -O3 vectorises both loops for x86-64 (AVX2 blends;
 * its AArch64 build leaves them scalar: a NEON form is work left).
 * The output is int64; a graph output of it reaches the caller as floats
 * holding the indices (dtype_out_as_float).
 */
#include "../cardinal.h"

#include <math.h>

bool argmax_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  n->p.axis = attr_int(n, "axis", 0, d);
  n->p.keepdims = attr_int(n, "keepdims", 1, d) != 0;
  n->p.last_index = attr_int(n, "select_last_index", 0, d) != 0;
  if (n->p.last_index && n->opset < 12) {
    diag_error(d, "node '%s' (%s): select_last_index is an attribute only from opset 12 "
               "(this is %d)", node_label(n), n->op_type, n->opset);
    return false;
  }
  return true;
}

bool argmax_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  int64_t axis = normalize_axis(n->p.axis, x->rank);
  if (axis < 0 || axis >= x->rank) {
    diag_error(d, "node '%s' (%s): axis %lld is out of range for data of rank %d (-%d..%d)",
               node_label(n), n->op_type, (long long)n->p.axis, x->rank, x->rank,
               x->rank - 1);
    return false;
  }
  if (x->dtype == DT_BOOL || !dtype_size(x->dtype) || x->dims[axis] == 0) {
    diag_error(d, "node '%s' (%s): data must be of a numeric type Cardinal holds (got %s) "
               "and its axis %lld not empty", node_label(n), n->op_type,
               dtype_name(x->dtype), (long long)axis);
    return false;
  }
  OpParams *p = &n->p;
  p->axis = axis;
  p->outer = p->inner = 1;
  int64_t dims[CD_MAX_RANK];
  int r = 0;
  for (int k = 0; k < x->rank; k++) {
    if (k < axis)
      p->outer *= x->dims[k];
    else if (k > axis)
      p->inner *= x->dims[k];
    if (k != axis || p->keepdims)
      dims[r++] = k == axis ? 1 : x->dims[k];
  }
  p->len = x->dims[axis];
  value_set_shape(&g->values[n->out[0]], DT_INT64, r, dims);
  return true;
}

/* Whether v replaces best (the running max, or min): NaN first (the first
 * one, or the last with `last`), then the order, ties by `last`.  int64
 * beyond 2^53 compares in double: no model's arg-max meets that. */
static bool beats(bool max, bool last, double v, double best) {
  if (isnan(best))
    return last && isnan(v);
  if (isnan(v))
    return true;
  return max ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
}

void argmax_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]];
  const OpParams *p = &n->p;
  bool max = n->op == OP_ARGMAX;
  int64_t *Y = data[n->out[0]];
  for (int64_t o = 0; o < p->outer; o++)
    for (int64_t r = 0; r < p->inner; r++) {
      int64_t base = o * p->len * p->inner + r, bi = 0;
      double best = dtype_get(x->dtype, data[n->in[0]], base);
      for (int64_t i = 1; i < p->len; i++) {
        double v = dtype_get(x->dtype, data[n->in[0]], base + i * p->inner);
        if (beats(max, p->last_index, v, best))
          best = v, bi = i;
      }
      Y[o * p->inner + r] = bi;
    }
}

/* ------------------------------------------------------------ scalar kernel */

/* The test beats() makes, in C, of v against the running best `b`: only
 * a float can be NaN. */
static const char *take_expr(Graph *g, bool max, bool last, bool fl, const char *b) {
  const char *cmp = max ? (last ? ">=" : ">") : (last ? "<=" : "<");
  if (!fl)
    return arena_printf(&g->arena, "v %s %s", cmp, b);
  if (last)
    return arena_printf(&g->arena, "%s != %s ? v != v : (v %s %s || v != v)", b, b, cmp, b);
  return arena_printf(&g->arena, "%s == %s && (v %s %s || v != v)", b, b, cmp, b);
}

/* The same between two running bests, v at index vi against b at bx, in
 * any order of their indices: the order, then NaN, then the index
 * (the lower one first, the higher with select_last_index). */
static const char *merge_expr(Graph *g, bool max, bool last, bool fl) {
  const char *cmp = max ? ">" : "<", *ix = last ? ">" : "<";
  if (!fl)
    return arena_printf(&g->arena, "v %s b || (v == b && vi %s bx)", cmp, ix);
  return arena_printf(&g->arena, "(b == b && (v %s b || v != v)) || "
                      "((v == b || (v != v && b != b)) && vi %s bx)", cmp, ix);
}

/* Lanes of the row form: each keeps the best of every LANES-th entry
 * (the compiler vectorises the lane loop), then the lanes merge. */
#define ARG_LANES 16

bool argmax_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]];
  const OpParams *p = &n->p;
  bool max = n->op == OP_ARGMAX, fl = x->dtype == DT_FLOAT || x->dtype == DT_DOUBLE;
  cw_var(w, "LEN", "%lld", (long long)p->len);
  cw_var(w, "INNER", "%lld", (long long)p->inner);
  cw_var(w, "T", "%s", dtype_ctype(x->dtype));
  cw_var(w, "L", "%d", ARG_LANES);
  cw(w, "/* %s along axis %lld (%lld entries), ties to the %s%s */\n", n->op_type,
     (long long)p->axis, (long long)p->len, p->last_index ? "last" : "first",
     fl ? "; a NaN wins" : "");
  if (p->inner == 1 && p->len < 2 * ARG_LANES) {
    cw(w, "for (long o = 0; o < %lld; o++) {\n"
          "const ${T} *xo = x0 + o * ${LEN};\n"
          "${T} b = xo[0];\nint64_t bi = 0;\n"
          "for (long i = 1; i < ${LEN}; i++) {\nconst ${T} v = xo[i];\n"
          "if (%s) {\nb = v;\nbi = i;\n}\n}\n"
          "y0[o] = bi;\n}\n",
       (long long)p->outer, take_expr(g, max, p->last_index, fl, "b"));
    return true;
  }
  if (p->inner == 1) {
    /* a row of a classifier's scores: ARG_LANES lanes, each the best of
     * every ARG_LANES-th entry, branch-free; then the lanes merge (by
     * value, then index); then the entries past the last whole lanes */
    cw(w, "for (long o = 0; o < %lld; o++) {\n"
          "const ${T} *xo = x0 + o * ${LEN};\n"
          "${T} lb[${L}];\nint64_t li[${L}];\n"
          "for (long l = 0; l < ${L}; l++) {\nlb[l] = xo[l];\nli[l] = l;\n}\n"
          "for (long i = ${L}; i + ${L} <= ${LEN}; i += ${L})\n"
          "for (long l = 0; l < ${L}; l++) {\nconst ${T} v = xo[i + l];\n"
          "const int t = %s;\nlb[l] = t ? v : lb[l];\nli[l] = t ? i + l : li[l];\n}\n"
          "${T} b = lb[0];\nint64_t bx = li[0];\n"
          "for (long l = 1; l < ${L}; l++) {\nconst ${T} v = lb[l];\nconst int64_t vi = li[l];\n"
          "if (%s) {\nb = v;\nbx = vi;\n}\n}\n"
          "for (long i = ${LEN} / ${L} * ${L}; i < ${LEN}; i++) {\nconst ${T} v = xo[i];\n"
          "if (%s) {\nb = v;\nbx = i;\n}\n}\n"
          "y0[o] = bx;\n}\n",
       (long long)p->outer, take_expr(g, max, p->last_index, fl, "lb[l]"),
       merge_expr(g, max, p->last_index, fl), take_expr(g, max, p->last_index, fl, "b"));
    return true;
  }
  /* a running best per position of a block of the inner positions, the
   * axis outside them: contiguous loads, branch-free, so the compiler
   * vectorises the inner loop (the per-pixel class of a segmentation) */
  cw(w, "for (long o = 0; o < %lld; o++) {\n"
        "const ${T} *xo = x0 + o * ${LEN} * ${INNER};\n"
        "int64_t *yo = y0 + o * ${INNER};\n"
        "for (long r0 = 0; r0 < ${INNER}; r0 += 256) {\n"
        "${T} b[256];\nint64_t bi[256];\n"
        "const long m = ${INNER} - r0 < 256 ? ${INNER} - r0 : 256;\n"
        "for (long r = 0; r < m; r++) {\nb[r] = xo[r0 + r];\nbi[r] = 0;\n}\n"
        "for (long i = 1; i < ${LEN}; i++)\n"
        "for (long r = 0; r < m; r++) {\nconst ${T} v = xo[i * ${INNER} + r0 + r];\n"
        "const int t = %s;\nb[r] = t ? v : b[r];\nbi[r] = t ? i : bi[r];\n}\n"
        "for (long r = 0; r < m; r++)\nyo[r0 + r] = bi[r];\n"
        "}\n}\n",
     (long long)p->outer, take_expr(g, max, p->last_index, fl, "b[r]"));
  return true;
}
