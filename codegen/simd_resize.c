/*
 * simd_resize.c — Resize of the spatial dims of an NCHW tensor on the plain
 * layout (a segmentation head's upsampling to the image: LRASPP's and
 * DeepLabV3's bilinear 28x28 -> 224x224), separably, an output row at a
 * time: the input rows its H taps read blended into one row v (a loop the
 * C compiler vectorises over the input width), then each output column
 * from its W taps of v.  Any mode (nearest, linear, cubic) and coordinate
 * transform: both use Resize's own tables (ops/resize.c resize_tables),
 * so the taps and weights are the interpreter's; the sums are float, in
 * the order above (the interpreter sums the products in double): within
 * a few float roundings.  N and C unresized, no tf_crop_and_resize
 * extrapolation; the rest runs the portable kernel.  Rows split over
 * threads.
 */
#include "../compiler/cardinal.h"

#include <string.h>

#define E(...) cw(e->w, __VA_ARGS__)

#define RESIZE_MAX_ROW 8192 /* v lives on the stack: input rows up to this wide */

static bool resize_rows_shape(const Graph *g, const Node *n) {
  if (n->op != OP_RESIZE)
    return false;
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  if (x->rank != 4 || x->dtype != DT_FLOAT || x->layout.kind != LAYOUT_PLAIN ||
      y->layout.kind != LAYOUT_PLAIN || value_numel(y) == 0 || x->dims[3] > RESIZE_MAX_ROW ||
      y->dims[3] < 8 || x->dims[0] != y->dims[0] || x->dims[1] != y->dims[1])
    return false;
  AxisTable t[CD_MAX_RANK];
  resize_tables(g, n, t);
  bool ok = t[0].identity && t[1].identity && !t[2].outside && !t[3].outside;
  resize_tables_free(g, n, t);
  return ok;
}

static bool resize_rows_runs(const Graph *g, const Node *n, const Target *t) {
  (void)t;
  return resize_rows_shape(g, n);
}

static SplitAxis resize_rows_split(const Graph *g, const Node *n, const Target *t, int T,
                                   int64_t *units) {
  (void)t;
  (void)T;
  const Value *y = &g->values[n->out[0]];
  *units = y->dims[0] * y->dims[1] * y->dims[2];
  return SPLIT_ROWS;
}

/* Tap k's column of a dim's table (n outputs of `taps`), as a static array
 * named name<k>: ints (the index times mul) or floats.  One array a tap
 * keeps each loop's reads contiguous, so the compiler vectorises them (the
 * columns as gathers). */
static void tap_table(Emitter *e, const char *type, const char *name, int k, const AxisTable *t,
                      int64_t n, int64_t mul) {
  E("static const %s %s%d[%lld] = {", type, name, k, (long long)n);
  for (int64_t i = 0; i < n; i++)
    E("%s%s%s", i % 12 ? " " : "\n",
      !strcmp(type, "float") ? cw_float(e->w, t->w[i * t->taps + k])
                             : cw_fmt(e->w, "%lld", (long long)(t->idx[i * t->taps + k] * mul)),
      i + 1 < n ? "," : "");
  E("\n};\n");
}

static bool resize_rows_emit(Emitter *e, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t IH = x->dims[2], IW = x->dims[3], OH = y->dims[2], OW = y->dims[3];
  if (!cw_room(e->w, (OH + OW) * 4 * 2 * 24)) /* the tables, before they are made */
    return true;
  AxisTable t[CD_MAX_RANK];
  resize_tables(g, n, t);
  int T = t[2].taps;
  for (int k = 0; k < T; k++) {
    tap_table(e, "long", "ro", k, &t[2], OH, IW); /* input row offsets */
    tap_table(e, "float", "rw", k, &t[2], OH, 1);
    tap_table(e, "int", "co", k, &t[3], OW, 1); /* input columns */
    tap_table(e, "float", "cw", k, &t[3], OW, 1);
  }
  resize_tables_free(g, n, t);
  E("for (long u = s0; u < s1; u++) {\n"
    "const long oy = u %% %lld;\n"
    "const float *restrict X = x0 + u / %lld * %lld;\n"
    "float *restrict Y = y0 + u * %lld;\n"
    "float v[%lld];\n"
    "for (long c = 0; c < %lld; c++)\n"
    "v[c] = ",
    (long long)OH, (long long)OH, (long long)(IH * IW), (long long)OW, (long long)IW,
    (long long)IW);
  for (int k = 0; k < T; k++)
    E("%srw%d[oy] * X[ro%d[oy] + c]", k ? " + " : "", k, k);
  E(";\nfor (long c = 0; c < %lld; c++)\nY[c] = ", (long long)OW);
  for (int k = 0; k < T; k++)
    E("%scw%d[c] * v[co%d[c]]", k ? " + " : "", k, k);
  E(";\n}\n");
  return true;
}

const KernelConfig kc_resize_rows = {
    .name = "resize_rows",
    .x = DT_FLOAT, .y = DT_FLOAT,
    .runs = resize_rows_runs,
    .split = resize_rows_split,
    .emit = resize_rows_emit,
};
