/*
 * resize.c — Resize (opsets 10 to 19) and Upsample (7 to 9): the upsampling
 * of segmentation models and UNets, on float32 data.
 *
 * Each output coordinate x of a resized dim maps to a coordinate x_orig of
 * the input (ONNX's coordinate_transformation_mode; s is the dim's scale,
 * given or, with sizes, out / in; out' = s * in, as ONNX's reference has it,
 * which is not always the integer extent out):
 *
 *   half_pixel            (x + 0.5) / s - 0.5
 *   half_pixel_symmetric  in/2 (1 - out/out') + (x + 0.5) / s - 0.5
 *   pytorch_half_pixel    out' == 1 ? -0.5 : (x + 0.5) / s - 0.5
 *   align_corners         out' == 1 ? 0 : x (in - 1) / (out' - 1)
 *   asymmetric            x / s
 *   tf_half_pixel_for_nn  (x + 0.5) / s
 *   tf_crop_and_resize    out' == 1 ? (end - start)(in - 1) / 2 : x (end - start)(in - 1) / (out' - 1),
 *                         plus start (in - 1) (start, end: the dim's ROI); past
 *                         [0, in - 1] the output is extrapolation_value
 *
 * and then, with b = floor(x_orig) and f = x_orig - b, reads taps of the
 * input, their indices clamped into [0, in) (the edge repeats):
 *
 *   nearest  one tap: x_orig itself when it is an integer, else b or b + 1
 *            by nearest_mode (round_prefer_floor: b + 1 when f > 0.5;
 *            round_prefer_ceil: when f >= 0.5; floor: b; ceil: b + 1);
 *            before opset 11 (and in Upsample), x / s truncated, or
 *            rounded up when downsampling, as ONNX Runtime does
 *   linear   b, b + 1 weighted 1 - f, f
 *   cubic    b - 1 .. b + 2 weighted by Keys' kernel of cubic_coeff_a at
 *            f + 1, f, 1 - f, 2 - f; exclude_outside zeroes the weights of
 *            taps outside the input and rescales the others to sum to 1
 *
 * A dim's taps and weights depend only on its output coordinate, so they
 * are computed once per dim (axis_table) and the N-D result is the sum,
 * over the product of the dims' taps, of the product of their weights times
 * the input there.  A dim that maps every x to x alone (scale 1 in most
 * modes) is an identity and costs nothing.  The interpreter and the kernel
 * read the same tables; the ONNX conformance data checks both.  The output
 * extent is floor(in * scale) with scales, the size given with sizes
 * (opset 18's keep_aspect_ratio_policy: one scale for the given axes, the
 * smallest or largest of size / in, and round(in * scale)).
 *
 * Not supported, with an error saying so: antialias (opset 18), data that
 * is not float32, a ROI, scales or sizes computed at run time (they are
 * parameter inputs: freeze what they depend on).
 */
#include "../cardinal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const coord_names[] = {
    "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
    "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
static const char *const nearest_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                            "ceil"};
static const char *const aspect_names[] = {"stretch", "not_larger", "not_smaller"};

/* s's index in names[n], or -1. */
static int name_index(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(s, names[i]))
      return i;
  return -1;
}

static int64_t input_count(const Graph *g, const Node *n, int k) {
  return k < n->nin && n->in[k] >= 0 ? value_numel(&g->values[n->in[k]]) : 0;
}

/* Input k, a constant of float32 or float64, into out[] (at most max). */
static bool const_floats(Graph *g, Node *n, int k, const char *what, Diag *d, double *out,
                         int *count, int max) {
  const Value *v = &g->values[n->in[k]];
  if (!v->data) {
    diag_error(d, "node '%s' (%s): its %s '%s' must be a constant (it is computed at run "
               "time): freeze the inputs it depends on with --freeze NAME=FILE, or export "
               "with fixed sizes", node_label(n), n->op_type, what, v->name);
    return false;
  }
  int64_t m = value_numel(v);
  if ((v->dtype != DT_FLOAT && v->dtype != DT_DOUBLE) || m > max) {
    diag_error(d, "node '%s' (%s): its %s '%s' must be at most %d float32 values (it is %lld "
               "of %s)", node_label(n), n->op_type, what, v->name, max, (long long)m,
               dtype_name(v->dtype));
    return false;
  }
  for (int64_t i = 0; i < m; i++)
    out[i] = v->dtype == DT_FLOAT ? ((const float *)v->data)[i] : ((const double *)v->data)[i];
  *count = (int)m;
  return true;
}

static bool parse_modes(Node *n, Diag *d, ResizeParams *r, bool v11) {
  const char *mode = attr_string(n, "mode", "nearest", d);
  if (!strcmp(mode, "nearest"))
    r->mode = RESIZE_NEAREST;
  else if (!strcmp(mode, "linear") || (n->op == OP_UPSAMPLE && !strcmp(mode, "bilinear")))
    r->mode = RESIZE_LINEAR;
  else if (!strcmp(mode, "cubic") && v11)
    r->mode = RESIZE_CUBIC;
  else {
    diag_error(d, "node '%s' (%s): mode '%s' is not one Cardinal knows at opset %d (nearest, "
               "linear%s)", node_label(n), n->op_type, mode, n->opset,
               n->op == OP_UPSAMPLE ? ", bilinear" : v11 ? ", cubic" : "");
    return false;
  }
  r->coord = RESIZE_ASYMMETRIC;
  r->nearest = RESIZE_SIMPLE;
  r->cubic_a = attr_float(n, "cubic_coeff_a", -0.75f, d);
  r->exclude_outside = attr_int(n, "exclude_outside", 0, d) != 0;
  r->extrapolation = attr_float(n, "extrapolation_value", 0.0f, d);
  if (!v11)
    return true;
  const char *coord = attr_string(n, "coordinate_transformation_mode", "half_pixel", d);
  const char *nearest = attr_string(n, "nearest_mode", "round_prefer_floor", d);
  const char *aspect = attr_string(n, "keep_aspect_ratio_policy", "stretch", d);
  int c = name_index(coord, coord_names, 7), m = name_index(nearest, nearest_names, 4);
  int a = name_index(aspect, aspect_names, 3);
  if (c < 0 || m < 0 || a < 0) {
    diag_error(d, "node '%s' (Resize): %s '%s' is not one ONNX defines (%s)", node_label(n),
               c < 0 ? "coordinate_transformation_mode" : m < 0 ? "nearest_mode"
                                                         : "keep_aspect_ratio_policy",
               c < 0 ? coord : m < 0 ? nearest : aspect,
               c < 0 ? "half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, "
                       "asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize"
               : m < 0 ? "round_prefer_floor, round_prefer_ceil, floor, ceil"
                       : "stretch, not_larger, not_smaller");
    return false;
  }
  r->coord = (ResizeCoord)c;
  r->nearest = (ResizeNearest)m;
  r->aspect = (ResizeAspect)a;
  if (attr_int(n, "antialias", 0, d)) {
    diag_error(d, "node '%s' (Resize): antialias = 1 is not supported; export the model "
               "without antialiasing (torch: antialias=False)", node_label(n));
    return false;
  }
  return true;
}

bool resize_parse(Graph *g, Node *n, Diag *d) {
  ResizeParams *r = &n->p.rs;
  memset(r, 0, sizeof *r);
  const Value *x = &g->values[n->in[0]];
  int rank = x->rank;
  bool v11 = n->op == OP_RESIZE && n->opset >= 11;
  if (!parse_modes(n, d, r, v11))
    return false;
  /* axes (opset 18): the dims scales, sizes and the ROI list; all without. */
  int64_t axes[CD_MAX_RANK];
  int nax = rank;
  for (int k = 0; k < rank; k++)
    axes[k] = k;
  const Attr *ax;
  if (!attr_get(n, "axes", AT_INTS, d, &ax))
    return false;
  if (ax) {
    nax = ax->count;
    for (int i = 0; i < nax && i < CD_MAX_RANK; i++) {
      axes[i] = normalize_axis(ax->ints[i], rank);
      for (int j = 0; j < i; j++)
        if (axes[j] == axes[i])
          axes[i] = -1;
    }
    for (int i = 0; i < nax; i++)
      if (nax > rank || axes[i] < 0 || axes[i] >= rank) {
        diag_error(d, "node '%s' (Resize): axes must name distinct dims of the rank-%d input",
                   node_label(n), rank);
        return false;
      }
  }
  double scales[CD_MAX_RANK], roi[2 * CD_MAX_RANK];
  int64_t sizes[CD_MAX_RANK];
  int ns = 0, nz = 0, nr = 0;
  int scales_in = n->op == OP_UPSAMPLE || n->opset < 11 ? 1 : 2;
  if (n->op == OP_UPSAMPLE && n->opset < 9) {
    const Attr *a;
    if (!attr_get(n, "scales", AT_FLOATS, d, &a))
      return false;
    for (int i = 0; a && i < a->count && i < CD_MAX_RANK; i++)
      scales[i] = a->floats[i];
    ns = a ? a->count : -1;
  } else if (input_count(g, n, scales_in) > 0) {
    if (!const_floats(g, n, scales_in, "scales", d, scales, &ns, CD_MAX_RANK))
      return false;
  }
  if (v11 && input_count(g, n, 3) > 0 &&
      !op_const_ints(g, n, 3, d, sizes, &nz, CD_MAX_RANK))
    return false;
  if (v11 && input_count(g, n, 1) > 0 && r->coord == RESIZE_TF_CROP_AND_RESIZE &&
      !const_floats(g, n, 1, "roi", d, roi, &nr, 2 * CD_MAX_RANK))
    return false;
  if ((ns > 0) == (nz > 0) || (ns > 0 && ns != nax) || (nz > 0 && nz != nax) ||
      (nr > 0 && nr != 2 * nax)) {
    diag_error(d, "node '%s' (%s): %d scales, %d sizes and %d ROI values for %d dims: give "
               "scales or sizes (not both), one per dim, and a ROI of a start and an end per "
               "dim", node_label(n), n->op_type, ns, nz, nr, nax);
    return false;
  }
  r->by_sizes = nz > 0;
  for (int k = 0; k < rank; k++) {
    r->scale[k] = 1;
    r->size[k] = -1; /* the input's extent */
    r->roi[k] = 0;
    r->roi[rank + k] = 1;
  }
  for (int i = 0; i < nax; i++) {
    int64_t k = axes[i];
    r->resized[k] = true;
    if (r->by_sizes)
      r->size[k] = sizes[i];
    else
      r->scale[k] = scales[i];
    if (nr > 0) {
      r->roi[k] = roi[i];
      r->roi[rank + k] = roi[nax + i];
    }
    if (r->by_sizes ? sizes[i] < 0 : !(scales[i] > 0 && scales[i] < 1e18)) {
      diag_error(d, "node '%s' (%s): %s %d is %g; it must be %s", node_label(n), n->op_type,
                 r->by_sizes ? "size" : "scale", i,
                 r->by_sizes ? (double)sizes[i] : scales[i],
                 r->by_sizes ? "at least 0" : "a positive number");
      return false;
    }
  }
  return true;
}

bool resize_infer(Graph *g, Node *n, Diag *d) {
  const Value *x = &g->values[n->in[0]];
  ResizeParams *r = &n->p.rs;
  if (x->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (%s): %s data is not supported, only float32", node_label(n),
               n->op_type, dtype_name(x->dtype));
    return false;
  }
  int64_t dims[CD_MAX_RANK];
  double keep = r->aspect == RESIZE_NOT_LARGER ? INFINITY : 0; /* the one scale of the policy */
  for (int k = 0; k < x->rank; k++) {
    if (r->by_sizes && r->resized[k] && x->dims[k] > 0) {
      double s = (double)r->size[k] / (double)x->dims[k];
      keep = r->aspect == RESIZE_NOT_LARGER ? fmin(keep, s) : fmax(keep, s);
    }
  }
  for (int k = 0; k < x->rank; k++) {
    int64_t in = x->dims[k], out = in;
    if (r->resized[k] && r->by_sizes) {
      out = r->size[k];
      if (r->aspect != RESIZE_STRETCH && !ck_f2i(floor(keep * (double)in + 0.5), &out))
        out = -1;
      if (in == 0 && out > 0) {
        diag_error(d, "node '%s' (%s): dim %d is empty and cannot be resized to %lld",
                   node_label(n), n->op_type, k, (long long)out);
        return false;
      }
      r->scale[k] = r->aspect != RESIZE_STRETCH ? keep : in ? (double)out / (double)in : 1;
    } else if (r->resized[k] && !ck_f2i(floor(r->scale[k] * (double)in), &out)) {
      out = -1;
    }
    if (out < 0 || out > g->limits.tensor_elements) {
      diag_error(d, "node '%s' (%s): dim %d of the output would be %lld: too large",
                 node_label(n), n->op_type, k, (long long)out);
      return false;
    }
    dims[k] = out;
  }
  value_set_shape(&g->values[n->out[0]], DT_FLOAT, x->rank, dims);
  return true;
}

/* ------------------------------------------------------------ the tables */

static int mode_taps(ResizeMode m) { return m == RESIZE_NEAREST ? 1 : m == RESIZE_LINEAR ? 2 : 4; }

/* Keys' cubic convolution kernel of parameter A at distances f + 1, f, 1 - f, 2 - f. */
static void cubic_coeffs(double f, double A, double *c) {
  c[0] = ((A * (f + 1) - 5 * A) * (f + 1) + 8 * A) * (f + 1) - 4 * A;
  c[1] = ((A + 2) * f - (A + 3)) * f * f + 1;
  c[2] = ((A + 2) * (1 - f) - (A + 3)) * (1 - f) * (1 - f) + 1;
  c[3] = ((A * ((1 - f) + 1) - 5 * A) * ((1 - f) + 1) + 8 * A) * ((1 - f) + 1) - 4 * A;
}

static double orig_coord(const ResizeParams *r, int k, int rank, int64_t x, int64_t in,
                         int64_t out, bool *outside) {
  double s = r->scale[k], ow = s * (double)in, xr = (double)x;
  double st = r->roi[k], en = r->roi[rank + k];
  switch (r->coord) {
  case RESIZE_HALF_PIXEL: return (xr + 0.5) / s - 0.5;
  case RESIZE_HALF_PIXEL_SYMMETRIC:
    return (double)in / 2 * (1 - (double)out / ow) + (xr + 0.5) / s - 0.5;
  case RESIZE_PYTORCH_HALF_PIXEL: return ow == 1 ? -0.5 : (xr + 0.5) / s - 0.5;
  case RESIZE_ALIGN_CORNERS: return ow == 1 ? 0 : xr * (double)(in - 1) / (ow - 1);
  case RESIZE_ASYMMETRIC: return xr / s;
  case RESIZE_TF_HALF_PIXEL_FOR_NN: return (xr + 0.5) / s;
  case RESIZE_TF_CROP_AND_RESIZE: {
    double xo = ow == 1 ? (en - st) * (double)(in - 1) / 2
                        : xr * (en - st) * (double)(in - 1) / (ow - 1);
    xo += st * (double)(in - 1);
    *outside = xo < 0 || xo > (double)(in - 1);
    return xo;
  }
  }
  return 0;
}

static int64_t clamp_index(int64_t i, int64_t in) { return i < 0 ? 0 : i >= in ? in - 1 : i; }

/* Dim k's table, from input extent in to out (arrays malloc'd). */
static void axis_table(const ResizeParams *r, int k, int rank, int64_t in, int64_t out,
                       AxisTable *t) {
  int T = t->taps = mode_taps(r->mode);
  t->idx = calloc((size_t)(out * T) + 1, sizeof(int64_t));
  t->w = calloc((size_t)(out * T) + 1, sizeof(float));
  t->outside = NULL;
  t->identity = out == in;
  CD_ASSERT(t->idx && t->w);
  for (int64_t o = 0; o < out; o++) {
    CD_STEPS(1);
    bool outside = false;
    double xo = orig_coord(r, k, rank, o, in, out, &outside);
    int64_t *ix = t->idx + o * T;
    float *w = t->w + o * T;
    if (outside || !(xo > -1e15 && xo < 1e15)) { /* extrapolated; idx 0, weights 0 */
      if (!t->outside) {
        t->outside = calloc((size_t)out + 1, sizeof(bool));
        CD_ASSERT(t->outside);
      }
      t->outside[o] = true;
      t->identity = false;
      continue;
    }
    double b = floor(xo), f = xo - b;
    int64_t base = (int64_t)b;
    double c[4] = {1, 0, 0, 0};
    int64_t first = base;
    if (r->mode == RESIZE_NEAREST) {
      bool up;
      switch (r->nearest) {
      case RESIZE_ROUND_PREFER_FLOOR: up = f > 0.5; break;
      case RESIZE_ROUND_PREFER_CEIL: up = f >= 0.5; break;
      case RESIZE_FLOOR: up = false; break;
      case RESIZE_CEIL: up = true; break;
      default: up = r->scale[k] < 1; break; /* simple: truncated, or ceil downsampling */
      }
      first = f == 0 ? base : base + up;
    } else if (r->mode == RESIZE_LINEAR) {
      c[0] = 1 - f;
      c[1] = f;
    } else {
      cubic_coeffs(f, r->cubic_a, c);
      first = base - 1;
    }
    if (r->exclude_outside) {
      double sum = 0;
      for (int j = 0; j < T; j++) {
        if (first + j < 0 || first + j >= in)
          c[j] = 0;
        sum += c[j];
      }
      for (int j = 0; j < T && sum != 0; j++)
        c[j] /= sum;
    }
    int nonzero = 0;
    for (int j = 0; j < T; j++) {
      ix[j] = clamp_index(first + j, in);
      w[j] = (float)c[j];
      if (w[j] != 0) {
        nonzero++;
        t->identity &= ix[j] == o && w[j] == 1;
      }
    }
    t->identity &= nonzero == 1;
  }
}

static void axis_free(AxisTable *t) {
  free(t->idx);
  free(t->w);
  free(t->outside);
}

/* Every dim's table (identity ones too: their check is the table's). */
static void all_tables(const Graph *g, const Node *n, AxisTable *t) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  for (int k = 0; k < x->rank; k++)
    axis_table(&n->p.rs, k, x->rank, x->dims[k], y->dims[k], &t[k]);
}

void resize_tables(const Graph *g, const Node *n, AxisTable *t) { all_tables(g, n, t); }

void resize_tables_free(const Graph *g, const Node *n, AxisTable *t) {
  for (int k = 0; k < g->values[n->in[0]].rank; k++)
    axis_free(&t[k]);
}

void resize_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int rank = x->rank;
  AxisTable t[CD_MAX_RANK] = {0};
  all_tables(g, n, t);
  int64_t xs[CD_MAX_RANK], st = 1, idx[CD_MAX_RANK] = {0}, m = value_numel(y);
  for (int k = rank - 1; k >= 0; k--) {
    xs[k] = st;
    st *= x->dims[k];
  }
  int T = t[0].taps, combos = 1, q = 0, dims_q[CD_MAX_RANK];
  for (int k = 0; k < rank; k++)
    if (!t[k].identity) {
      dims_q[q++] = k;
      combos *= T;
    }
  const float *X = data[n->in[0]];
  float *Y = data[n->out[0]];
  for (int64_t e = 0; e < m; e++) {
    int64_t base = 0;
    bool outside = false;
    for (int k = 0; k < rank; k++) {
      if (t[k].identity)
        base += idx[k] * xs[k];
      outside |= t[k].outside && t[k].outside[idx[k]];
    }
    double acc = 0;
    for (int c = 0; c < combos && !outside; c++) {
      int64_t off = base;
      double w = 1;
      for (int j = 0, cc = c; j < q; j++, cc /= T) {
        int k = dims_q[j], tap = cc % T;
        off += t[k].idx[idx[k] * T + tap] * xs[k];
        w *= t[k].w[idx[k] * T + tap];
      }
      acc += w * X[off]; /* a NaN read at weight 0 is NaN, as ONNX's dot product has it */
    }
    Y[e] = outside ? n->p.rs.extrapolation : (float)acc;
    for (int k = rank - 1; k >= 0; k--) {
      if (++idx[k] < y->dims[k])
        break;
      idx[k] = 0;
    }
  }
  for (int k = 0; k < rank; k++)
    axis_free(&t[k]);
}

/* ------------------------------------------------------------ scalar kernel */

/* The tables of a kernel: static arrays of n values (offsets: the indices
 * times the dim's stride mul; flags: 1 where the output is inside the ROI). */
static void table_ints(CWriter *w, const char *name, const int64_t *v, int64_t n, int64_t mul) {
  cw(w, "static const long %s[%lld] = {", name, (long long)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++)
    cw(w, "%s%lld%s", i % 16 ? " " : "\n", (long long)(v[i] * mul), i + 1 < n ? "," : "");
  cw(w, "%s};\n", n > 0 ? "\n" : "0");
}

static void table_floats(CWriter *w, const char *name, const float *v, int64_t n) {
  cw(w, "static const float %s[%lld] = {", name, (long long)n);
  for (int64_t i = 0; i < n; i++)
    cw(w, "%s%s%s", i % 8 ? " " : "\n", cw_float(w, v[i]), i + 1 < n ? "," : "");
  cw(w, "\n};\n");
}

static void table_flags(CWriter *w, const char *name, const bool *v, int64_t n) {
  cw(w, "static const unsigned char %s[%lld] = {", name, (long long)n);
  for (int64_t i = 0; i < n; i++)
    cw(w, "%s%d%s", i % 32 ? " " : "\n", !v[i], i + 1 < n ? "," : "");
  cw(w, "\n};\n");
}

bool resize_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int rank = x->rank;
  if (value_numel(y) == 0) {
    cw(w, "(void)x0;\n(void)y0; /* empty */\n");
    return true;
  }
  int64_t xs[CD_MAX_RANK], st = 1, bytes = 0;
  for (int k = rank - 1; k >= 0; k--) {
    xs[k] = st;
    st *= x->dims[k];
    bytes = sat_add(bytes, sat_mul(y->dims[k], 24 * mode_taps(n->p.rs.mode)));
  }
  if (!cw_room(w, bytes)) /* the tables, before they are made */
    return true;
  AxisTable t[CD_MAX_RANK];
  all_tables(g, n, t);
  int T = t[0].taps;
  bool weighted = n->p.rs.mode != RESIZE_NEAREST, extrap = false;
  StrBuf off = {0}, wt = {0}, valid = {0};
  sb_printf(&off, "0");
  sb_printf(&wt, "1.0f");
  for (int k = 0; k < rank; k++) {
    if (t[k].identity) {
      if (y->dims[k] > 1)
        sb_printf(&off, " + i%d * %lld", k, (long long)xs[k]);
      continue;
    }
    const char *tap = T > 1 ? cw_fmt(w, "i%d * %d + t%d", k, T, k) : cw_fmt(w, "i%d", k);
    table_ints(w, cw_fmt(w, "o%d", k), t[k].idx, y->dims[k] * T, xs[k]);
    sb_printf(&off, " + o%d[%s]", k, tap);
    if (weighted) {
      table_floats(w, cw_fmt(w, "w%d", k), t[k].w, y->dims[k] * T);
      sb_printf(&wt, " * w%d[%s]", k, tap);
    }
    if (t[k].outside) {
      table_flags(w, cw_fmt(w, "v%d", k), t[k].outside, y->dims[k]);
      sb_printf(&valid, "%sv%d[i%d]", extrap ? " && " : "", k, k);
      extrap = true;
    }
  }
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, rank);
  cw(w, "{\n");
  if (!weighted) {
    cw(w, "y0[i++] = %s%sx0[%s]%s;\n", extrap ? valid.buf : "", extrap ? " ? " : "", off.buf,
       extrap ? cw_fmt(w, " : %s", cw_float(w, n->p.rs.extrapolation)) : "");
  } else {
    cw(w, "float acc = 0.0f;\n");
    for (int k = 0; k < rank; k++)
      if (!t[k].identity)
        cw(w, "for (int t%d = 0; t%d < %d; t%d++)\n", k, k, T, k);
    cw(w, "acc += %s * x0[%s];\n", wt.buf, off.buf);
    cw(w, "y0[i++] = %s%sacc%s;\n", extrap ? valid.buf : "", extrap ? " ? " : "",
       extrap ? cw_fmt(w, " : %s", cw_float(w, n->p.rs.extrapolation)) : "");
  }
  cw(w, "}\n");
  sb_free(&off);
  sb_free(&wt);
  sb_free(&valid);
  for (int k = 0; k < rank; k++)
    axis_free(&t[k]);
  return true;
}
