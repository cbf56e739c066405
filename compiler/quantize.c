/*
 * quantize.c — the calibrating quantizer: a float model in, the QDQ format
 * out (the form ONNX Runtime's static quantizer writes, which ONNX Runtime
 * runs, and which Cardinal's fold-qdq pass turns into integer nodes).
 *
 * What it does to the graph (after fold-constants, eliminate-identity,
 * fold-bn and dce, so BatchNorm is in the conv weights):
 *   - each quantizable node (Conv, and Gemm and MatMul by a constant
 *     matrix; float; not --exclude'd) gets int8 weights, symmetric, one
 *     scale per output channel (per tensor before opset 13, which has no
 *     per-axis DequantizeLinear), behind a DequantizeLinear; a conv's bias
 *     becomes int32 at x_scale * w_scale[m] behind another;
 *   - the activations around them -- each one's input, and its output (or
 *     the output of the Relu that is its only reader) unless that is a
 *     graph output -- and around residual adds (two activations of one
 *     shape: both operands and the sum, or its Relu) get a QuantizeLinear
 *     -> DequantizeLinear pair, uint8, asymmetric, per tensor, every
 *     reader reading the pair's output;
 *   - the ranges of those activations come from running the reference
 *     interpreter on the calibration inputs (one .npy per input): their
 *     min and max, or a percentile of their values (outliers clipped).  A
 *     range always holds 0 (zero must be exact: padding), so a Relu's
 *     output gets zero point 0, which makes the Relu redundant for
 *     fold-qdq.
 * quant_report then runs the float and the quantized graph on the same
 * inputs and prints each quantized node's output SQNR (signal to
 * quantization noise, dB, accumulated up to that node), so the layer that
 * hurts shows as the one where it drops.
 */
#include "cardinal.h"
#include "quant.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ calibration inputs */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_inputs(float **x, int n) {
  for (int i = 0; i < n; i++)
    free(x[i]);
  free(x);
}

/* "[1,3,224,224]" into buf. */
static const char *dims_text(char *buf, size_t n, int rank, const int64_t *dims) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (k < n)
    snprintf(buf + k, n - k, "]");
  return buf;
}

bool quant_read_inputs(const Graph *g, const char *dir, int max, float ***out, int *nout,
                       Diag *d) {
  *out = NULL, *nout = 0;
  if (g->ninputs != 1) {
    diag_error(d, "calibration takes models of one input; this one has %d", g->ninputs);
    return false;
  }
  const Value *in = &g->values[g->inputs[0]];
  char want[128];
  dims_text(want, sizeof want, in->rank, in->dims);
  if (in->dtype != DT_FLOAT) {
    diag_error(d, "input '%s' is %s; calibration feeds float32 inputs", in->name,
               dtype_name(in->dtype));
    return false;
  }
  DIR *dp = opendir(dir);
  if (!dp) {
    diag_error(d, "cannot open the calibration folder '%s': %s", dir, strerror(errno));
    return false;
  }
  char **names = NULL;
  int total = 0, cap = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".npy") != 0 || e->d_name[0] == '.')
      continue;
    if (total == cap) {
      cap = cap ? 2 * cap : 64;
      names = realloc(names, sizeof(char *) * (size_t)cap);
      CD_ASSERT(names);
    }
    names[total] = strdup(e->d_name);
    CD_ASSERT(names[total]);
    total++;
  }
  closedir(dp);
  if (total == 0) {
    diag_error(d, "calibration folder '%s' holds no .npy files; put one input per file "
               "there (float32 %s, as '%s')", dir, want, in->name);
    free(names);
    return false;
  }
  qsort(names, (size_t)total, sizeof(char *), cmp_str);
  int n = max > 0 && total > max ? max : total; /* the first max, by name */
  float **x = calloc((size_t)n + 1, sizeof(float *));
  CD_ASSERT(x);
  int64_t numel = value_numel(in);
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    size_t len = strlen(dir) + strlen(names[i]) + 2;
    char *path = malloc(len);
    CD_ASSERT(path);
    snprintf(path, len, "%s/%s", dir, names[i]);
    HostTensor t = {0};
    ok = tensor_read(path, &t, d);
    if (ok && (t.dtype != DT_FLOAT || tensor_numel(&t) != numel)) {
      char got[128];
      diag_error(d, "calibration input '%s' is %s %s; the model's input '%s' is float32 %s",
                 path, dtype_name(t.dtype), dims_text(got, sizeof got, t.rank, t.dims),
                 in->name, want);
      ok = false;
    }
    if (ok) {
      x[i] = t.data;
      t.data = NULL;
    }
    tensor_free(&t);
    free(path);
  }
  for (int i = 0; i < total; i++)
    free(names[i]);
  free(names);
  if (!ok) {
    free_inputs(x, n);
    return false;
  }
  *out = x, *nout = n;
  return true;
}

/* ------------------------------------------------------------ what is quantized */

/* Whether node n is one the quantizer makes integer: a float Conv, or a
 * Gemm / MatMul by a constant 2-D matrix, not excluded by name. */
static bool excluded(const QuantizeOptions *o, const Node *n) {
  for (int i = 0; i < o->nexclude; i++)
    if (!strcmp(o->exclude[i], n->name))
      return true;
  return false;
}

static bool quantizable(const Graph *g, const Node *n, const QuantizeOptions *o) {
  if (n->dead || node_has_epilogue(n) || g->values[n->in[0]].dtype != DT_FLOAT || excluded(o, n))
    return false;
  const Value *w = &g->values[n->in[1]];
  switch (n->op) {
  case OP_CONV: return w->data && w->dtype == DT_FLOAT;
  case OP_GEMM:
  case OP_MATMUL: return w->data && w->dtype == DT_FLOAT && w->rank == 2;
  default: return false;
  }
}

/* The axis of n's weights that is its output channels. */
static int weight_axis(const Node *n) {
  return n->op == OP_CONV || (n->op == OP_GEMM && n->p.trans_b) ? 0 : 1;
}

/* The value a quantized node's output is quantized at: its Relu's, when a
 * Relu is its only reader; -1 when that is a graph output (kept float). */
static int output_site(const Graph *g, const int *reader, const Node *n) {
  int y = n->out[0];
  if (value_single_use(g, y) && reader[y] >= 0 && g->nodes[reader[y]].op == OP_RELU)
    y = g->nodes[reader[y]].out[0];
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == y)
      return -1;
  return y;
}

/* ------------------------------------------------------------ ranges */

#define SAMPLES_PER_RUN 8192
#define SAMPLES_MAX (1 << 19)

typedef struct {
  float lo, hi;     /* min and max seen */
  float *sample;    /* percentile: values seen, strided (malloc'd) */
  int64_t nsample;
} Range;

typedef struct {
  const QuantizeOptions *o;
  const int *site;  /* per value: index into ranges, or -1 */
  Range *ranges;
} Calib;

static void observe_range(void *ctx, const Graph *g, int v, const void *data) {
  Calib *c = ctx;
  if (c->site[v] < 0)
    return;
  Range *r = &c->ranges[c->site[v]];
  const float *x = data;
  int64_t m = value_numel(&g->values[v]);
  for (int64_t i = 0; i < m; i++) {
    r->lo = x[i] < r->lo ? x[i] : r->lo;
    r->hi = x[i] > r->hi ? x[i] : r->hi;
  }
  if (c->o->method != CALIB_PERCENTILE)
    return;
  int64_t step = m > SAMPLES_PER_RUN ? m / SAMPLES_PER_RUN : 1;
  if (!r->sample) {
    r->sample = malloc(sizeof(float) * SAMPLES_MAX);
    CD_ASSERT(r->sample);
  }
  for (int64_t i = 0; i < m && r->nsample < SAMPLES_MAX; i += step)
    r->sample[r->nsample++] = x[i];
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

/* The range to quantize r at: [min, max], or the percentile's (of values
 * sorted, p and 100 - p), widened to hold 0. */
static void range_limits(const QuantizeOptions *o, Range *r, float *lo, float *hi) {
  *lo = r->lo, *hi = r->hi;
  if (o->method == CALIB_PERCENTILE && r->nsample > 0) {
    qsort(r->sample, (size_t)r->nsample, sizeof(float), cmp_float);
    double q = o->percentile / 100.0;
    int64_t ih = (int64_t)(q * (double)(r->nsample - 1) + 0.5);
    int64_t il = (int64_t)((1.0 - q) * (double)(r->nsample - 1) + 0.5);
    *lo = r->sample[il], *hi = r->sample[ih];
  }
  *lo = *lo < 0 ? *lo : 0;
  *hi = *hi > 0 ? *hi : 0;
}

/* ------------------------------------------------------------ rewriting */

typedef struct {
  Graph *g;
  char **names;  /* the model's value names, sorted (to keep new ones unique) */
  int nnames;
  int opset;     /* of the nodes made */
} Rewriter;

/* base + suffix, or with a number after it if the model has that name (an
 * unnamed value, as the DSL makes, goes by "t" and a number). */
static const char *fresh_name(Rewriter *rw, const char *base, const char *suffix) {
  if (!base[0])
    base = arena_printf(&rw->g->arena, "t%d", rw->g->nvalues);
  const char *s = arena_printf(&rw->g->arena, "%s%s", base, suffix);
  for (int k = 2; bsearch(&s, rw->names, (size_t)rw->nnames, sizeof(char *), cmp_str); k++)
    s = arena_printf(&rw->g->arena, "%s%s_%d", base, suffix, k);
  return s;
}

/* A QuantizeLinear or DequantizeLinear node x, scale, zero -> a new value
 * named name (axis: for a per-axis one, else -1); its output. */
static int add_qdq(Rewriter *rw, OpKind op, int x, int scale, int zero, int64_t axis,
                   const char *name) {
  Graph *g = rw->g;
  int y = graph_add_value(g, name);
  int ins[3] = {x, scale, zero};
  int ni = rewrite_add_node_attr(g, op, 3, ins, y, rw->opset, axis >= 0 ? "axis" : NULL, axis);
  g->nodes[ni].name = arena_strdup(&g->arena, name);
  return y;
}

/* v's uint8 parameters for [lo, hi]: scale and zero point. */
static void act_params(float lo, float hi, float *scale, uint8_t *zero) {
  float s = (hi - lo) / 255.0f;
  if (!(s > 0) || !isfinite(s))
    s = 1.0f;
  float z = rintf(-lo / s);
  *scale = s;
  *zero = (uint8_t)(z < 0 ? 0 : z > 255 ? 255 : z);
}

/* Inserts Q -> DQ on activation v (uint8 at [lo, hi]); every reader of v
 * but the new Q reads the DQ's output.  Its scale in *scale. */
static void quantize_activation(Rewriter *rw, int v, float lo, float hi, float *scale) {
  Graph *g = rw->g;
  int nn = g->nnodes;
  uint8_t zero;
  act_params(lo, hi, scale, &zero);
  const char *base = g->values[v].name;
  int s = graph_add_typed_const(g, fresh_name(rw, base, "_scale"), DT_FLOAT, 0, NULL, scale);
  int z = graph_add_typed_const(g, fresh_name(rw, base, "_zero_point"), DT_UINT8, 0, NULL,
                                &zero);
  int q = add_qdq(rw, OP_QUANTIZE, v, s, z, -1, fresh_name(rw, base, "_quantized"));
  int dq = add_qdq(rw, OP_DEQUANTIZE, q, s, z, -1, fresh_name(rw, base, "_dequantized"));
  for (int i = 0; i < nn; i++) {
    Node *n = &g->nodes[i];
    for (int k = 0; !n->dead && k < n->nin; k++)
      if (n->in[k] == v)
        n->in[k] = dq;
  }
}

/* Node n's weights to int8 (symmetric, per output channel from opset 13)
 * behind a DequantizeLinear; a conv's bias to int32 at sx * w_scale[m]
 * (per channel only: per tensor, it stays float). */
static void quantize_weights(Rewriter *rw, int ni, float sx) {
  Graph *g = rw->g;
  Node *n = &g->nodes[ni];
  const Value *w = &g->values[n->in[1]];
  int axis = weight_axis(n);
  bool per_axis = rw->opset >= 13;
  int64_t C = w->dims[axis], outer = 1, inner = 1, m = value_numel(w);
  for (int k = 0; k < axis; k++)
    outer *= w->dims[k];
  inner = m / (outer * C);
  int64_t ns = per_axis ? C : 1;
  float *scale = calloc((size_t)ns + 1, sizeof(float));
  int8_t *q = malloc((size_t)m + 1), *zero = calloc((size_t)ns + 1, 1);
  CD_ASSERT(scale && q && zero);
  const float *W = w->data;
  for (int64_t i = 0; i < m; i++) { /* max |w| per channel */
    int64_t c = per_axis ? i / inner % C : 0;
    scale[c] = fmaxf(scale[c], fabsf(W[i]));
  }
  for (int64_t c = 0; c < ns; c++)
    scale[c] = scale[c] > 0 ? scale[c] / 127.0f : 1.0f;
  for (int64_t i = 0; i < m; i++)
    q[i] = (int8_t)cd_quantize(W[i], scale[per_axis ? i / inner % C : 0], 0, -127, 127);
  const char *base = w->name;
  int64_t wdims[CD_MAX_RANK];
  memcpy(wdims, w->dims, sizeof wdims);
  int wrank = w->rank; /* w moves as values are added */
  int wq = graph_add_typed_const(g, fresh_name(rw, base, "_quantized"), DT_INT8, wrank, wdims, q);
  int s = graph_add_typed_const(g, fresh_name(rw, base, "_scale"), DT_FLOAT, per_axis, &ns,
                                scale);
  int z = graph_add_typed_const(g, fresh_name(rw, base, "_zero_point"), DT_INT8, per_axis, &ns,
                                zero);
  int dq = add_qdq(rw, OP_DEQUANTIZE, wq, s, z, per_axis ? axis : -1,
                   fresh_name(rw, base, "_dequantized"));
  n = &g->nodes[ni];
  n->in[1] = dq;
  int b = n->op == OP_CONV && n->nin > 2 ? n->in[2] : -1;
  if (b >= 0 && g->values[b].data && g->values[b].dtype == DT_FLOAT &&
      value_numel(&g->values[b]) == C) {
    int32_t *bq = malloc(sizeof(int32_t) * (size_t)C + 1), *bz = calloc((size_t)C + 1, 4);
    float *bs = malloc(sizeof(float) * (size_t)C + 1);
    CD_ASSERT(bq && bz && bs);
    const float *B = g->values[b].data;
    bool fits = true;
    for (int64_t c = 0; c < C; c++) {
      bs[c] = sx * scale[per_axis ? c : 0];
      double r = nearbyint((double)B[c] / bs[c]);
      fits = fits && fabs(r) < 1073741824.0;
      bq[c] = fits ? (int32_t)r : 0;
    }
    if (fits && per_axis) { /* else the bias stays float (fold-qdq requantizes it) */
      base = g->values[b].name;
      int bv = graph_add_typed_const(g, fresh_name(rw, base, "_quantized"), DT_INT32, 1, &C, bq);
      int bsv = graph_add_typed_const(g, fresh_name(rw, base, "_scale"), DT_FLOAT, 1, &C, bs);
      int bzv = graph_add_typed_const(g, fresh_name(rw, base, "_zero_point"), DT_INT32, 1, &C,
                                      bz);
      int bd = add_qdq(rw, OP_DEQUANTIZE, bv, bsv, bzv, 0, fresh_name(rw, base, "_dequantized"));
      g->nodes[ni].in[2] = bd;
    }
    free(bq);
    free(bz);
    free(bs);
  }
  free(scale);
  free(q);
  free(zero);
}

/* ------------------------------------------------------------ the quantizer */

static void progress(const QuantizeOptions *o, const char *what, int i, int n) {
  if (o->quiet || n < 2)
    return;
  if (isatty(2))
    fprintf(stderr, "\r%s: %d/%d inputs%s", what, i, n, i == n ? "\n" : "");
  else if (i == n || i % (n / 10 > 0 ? n / 10 : 1) == 0)
    fprintf(stderr, "%s: %d/%d inputs\n", what, i, n);
}

void quant_summary_free(QuantSummary *s) {
  free(s->node);
  free(s->op);
  free(s->value);
  memset(s, 0, sizeof *s);
}

bool quant_insert(Graph *g, const QuantizeOptions *o, float **inputs, int ninputs,
                  QuantSummary *sum, Diag *d) {
  memset(sum, 0, sizeof *sum);
  int opset = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    if (op_table[n->op].flags & OPF_INTEGER && n->op != OP_COUNT) {
      diag_error(d, "node '%s' is %s: the model is already quantized; quantize its float "
                 "model", node_label(n), n->op_type);
      return false;
    }
    if (!n->domain[0] && n->opset > opset)
      opset = n->opset;
  }
  for (int i = 0; i < o->nexclude; i++) {
    bool found = false;
    for (int k = 0; k < g->nnodes && !found; k++)
      found = !g->nodes[k].dead && !strcmp(g->nodes[k].name, o->exclude[i]);
    if (!found) {
      diag_error(d, "--exclude %s: the model has no node of that name (after BatchNorm "
                 "folding: the report of `cardinal quantize` names the nodes it quantized)",
                 o->exclude[i]);
      return false;
    }
  }
  if (opset < 10) {
    diag_error(d, "the model is opset %d, which has no QuantizeLinear (opset 10); export it "
               "at opset 13 or later", opset);
    return false;
  }
  int nv = g->nvalues, nn = g->nnodes;
  int *reader = malloc(sizeof(int) * (size_t)nv + 1), *site = malloc(sizeof(int) * (size_t)nv + 1);
  int *qnode = malloc(sizeof(int) * (size_t)nn + 1), *sites = malloc(sizeof(int) * (size_t)nv + 1);
  CD_ASSERT(reader && site && qnode && sites);
  for (int v = 0; v < nv; v++)
    reader[v] = site[v] = -1;
  for (int i = 0; i < nn; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] >= 0)
        reader[g->nodes[i].in[k]] = i;
  int nq = 0, ns = 0;
  for (int i = 0; i < nn; i++) {
    const Node *n = &g->nodes[i];
    if (!quantizable(g, n, o))
      continue;
    qnode[nq++] = i;
    int at[2] = {n->in[0], output_site(g, reader, n)};
    for (int k = 0; k < 2; k++)
      if (at[k] >= 0 && !g->values[at[k]].data && g->values[at[k]].dtype == DT_FLOAT &&
          site[at[k]] < 0) {
        site[at[k]] = ns;
        sites[ns++] = at[k];
      }
  }
  /* residual adds: both operands and the sum (or its Relu) quantized, so
   * fold-qdq makes them QLinearAdd */
  for (int i = 0; i < nn; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_ADD || excluded(o, n) || n->in[0] < 0 || n->in[1] < 0 ||
        g->values[n->in[0]].data || g->values[n->in[1]].data ||
        g->values[n->in[0]].dtype != DT_FLOAT ||
        !value_same_shape(&g->values[n->in[0]], &g->values[n->in[1]]))
      continue;
    int at[3] = {n->in[0], n->in[1], output_site(g, reader, n)};
    for (int k = 0; k < 3; k++)
      if (at[k] >= 0 && site[at[k]] < 0) {
        site[at[k]] = ns;
        sites[ns++] = at[k];
      }
  }
  /* a max-pool whose output is quantized gets its input quantized too (at
   * the same parameters, below) */
  for (int i = 0; i < nn; i++) {
    const Node *n = &g->nodes[i];
    int x = n->nin ? n->in[0] : -1;
    if (n->dead || n->op != OP_MAXPOOL || n->nout != 1 || site[n->out[0]] < 0 || x < 0 ||
        site[x] >= 0 || g->values[x].data)
      continue;
    site[x] = ns;
    sites[ns++] = x;
  }
  if (nq == 0) {
    diag_error(d, "the model has no node to quantize (Conv, or Gemm / MatMul by a constant "
               "matrix, not excluded)");
    free(reader), free(site), free(qnode), free(sites);
    return false;
  }
  /* calibrate */
  Calib c = {.o = o, .site = site, .ranges = calloc((size_t)ns + 1, sizeof(Range))};
  CD_ASSERT(c.ranges);
  for (int k = 0; k < ns; k++)
    c.ranges[k] = (Range){.lo = INFINITY, .hi = -INFINITY};
  bool ok = true;
  for (int i = 0; i < ninputs && ok; i++) {
    float **outs = calloc((size_t)g->noutputs + 1, sizeof(float *));
    CD_ASSERT(outs);
    observe_range(&c, g, g->inputs[0], inputs[i]); /* a graph input no node computes */
    ok = interp_run_observed(g, (const float *const *)&inputs[i], outs, observe_range, &c, d);
    for (int k = 0; k < g->noutputs; k++)
      free(outs[k]);
    free(outs);
    progress(o, "calibrating", i + 1, ninputs);
  }
  float *scale = calloc((size_t)nv + 1, sizeof(float));
  CD_ASSERT(scale);
  if (ok) {
    Rewriter rw = {.g = g, .nnames = nv, .opset = opset};
    rw.names = malloc(sizeof(char *) * (size_t)nv + 1);
    CD_ASSERT(rw.names);
    for (int v = 0; v < nv; v++)
      rw.names[v] = g->values[v].name;
    qsort(rw.names, (size_t)nv, sizeof(char *), cmp_str);
    /* a max-pool's output takes its input's range (so its Q and DQ have
     * the same parameters, and fold-qdq runs the pool on bytes) */
    float *lo = malloc(sizeof(float) * (size_t)ns + 1), *hi = malloc(sizeof(float) * (size_t)ns + 1);
    CD_ASSERT(lo && hi);
    for (int k = 0; k < ns; k++)
      range_limits(o, &c.ranges[k], &lo[k], &hi[k]);
    for (int k = 0; k < ns; k++) {
      int p = g->values[sites[k]].producer;
      int src = p >= 0 && g->nodes[p].op == OP_MAXPOOL ? site[g->nodes[p].in[0]] : -1;
      if (src >= 0 && (g->values[sites[src]].producer < 0 ||
                       g->nodes[g->values[sites[src]].producer].op != OP_MAXPOOL))
        lo[k] = lo[src], hi[k] = hi[src];
    }
    for (int k = 0; k < ns; k++)
      quantize_activation(&rw, sites[k], lo[k], hi[k], &scale[sites[k]]);
    free(lo);
    free(hi);
    sum->node = malloc(sizeof(char *) * (size_t)nq);
    sum->op = malloc(sizeof(char *) * (size_t)nq);
    sum->value = malloc(sizeof(char *) * (size_t)nq);
    CD_ASSERT(sum->node && sum->op && sum->value);
    for (int k = 0; k < nq; k++) {
      Node *n = &g->nodes[qnode[k]];
      int x = g->nodes[g->values[n->in[0]].producer].in[0]; /* the DQ's Q's input */
      x = g->nodes[g->values[x].producer].in[0];
      sum->node[k] = node_label(n);
      sum->op[k] = n->op_type;
      sum->value[k] = g->values[n->out[0]].name;
      quantize_weights(&rw, qnode[k], scale[x]);
    }
    sum->n = nq;
    sum->activations = ns;
    free(rw.names);
    ir_recount_uses(g);
    graph_compact(g);
    ok = ir_verify(g, d);
  }
  for (int k = 0; k < ns; k++)
    free(c.ranges[k].sample);
  free(c.ranges);
  free(scale), free(reader), free(site), free(qnode), free(sites);
  return ok;
}

/* ------------------------------------------------------------ the report */

/* Per reported value: its float data (the reference run), the sums. */
typedef struct {
  const QuantSummary *s;
  int *slot;          /* per value of the graph being run: index into s, or -1 */
  float **ref;        /* the reference's data per slot (malloc'd) */
  double *signal, *noise;
  bool quantized;     /* the run is the quantized graph's */
} Sqnr;

static void observe_sqnr(void *ctx, const Graph *g, int v, const void *data) {
  Sqnr *q = ctx;
  int k = q->slot[v];
  if (k < 0)
    return;
  int64_t m = value_numel(&g->values[v]);
  const float *x = data;
  if (!q->quantized) {
    free(q->ref[k]);
    q->ref[k] = malloc(sizeof(float) * (size_t)m + 1);
    CD_ASSERT(q->ref[k]);
    memcpy(q->ref[k], x, sizeof(float) * (size_t)m);
    return;
  }
  if (!q->ref[k])
    return;
  for (int64_t i = 0; i < m; i++) {
    double r = q->ref[k][i], e = (double)x[i] - r;
    q->signal[k] += r * r;
    q->noise[k] += e * e;
  }
}

static double db(double signal, double noise) {
  return noise > 0 ? 10.0 * log10(signal / noise) : INFINITY;
}

static void slots_of(const Graph *g, const QuantSummary *s, int *slot) {
  for (int v = 0; v < g->nvalues; v++)
    slot[v] = -1;
  for (int k = 0; k < s->n; k++) {
    int v = graph_find_value(g, s->value[k]);
    if (v >= 0)
      slot[v] = k;
  }
}

static int64_t argmax(const float *x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    best = x[i] > x[best] ? i : best;
  return best;
}

bool quant_report(Graph *ref, Graph *qg, const QuantSummary *s, float **inputs, int ninputs,
                  const QuantizeOptions *o, FILE *f, Diag *d) {
  int nvmax = ref->nvalues > qg->nvalues ? ref->nvalues : qg->nvalues;
  Sqnr q = {.s = s, .slot = malloc(sizeof(int) * (size_t)nvmax + 1),
            .ref = calloc((size_t)s->n + 1, sizeof(float *)),
            .signal = calloc((size_t)s->n + 1, sizeof(double)),
            .noise = calloc((size_t)s->n + 1, sizeof(double))};
  CD_ASSERT(q.slot && q.ref && q.signal && q.noise);
  int no = qg->noutputs;
  double *osig = calloc((size_t)no + 1, sizeof(double)), *onoise = calloc((size_t)no + 1, 8);
  double *oerr = calloc((size_t)no + 1, sizeof(double)), *omag = calloc((size_t)no + 1, 8);
  CD_ASSERT(osig && onoise && oerr && omag);
  int agree = 0;
  bool ok = true;
  for (int i = 0; i < ninputs && ok; i++) {
    float **a = calloc((size_t)no + 1, sizeof(float *)), **b = calloc((size_t)no + 1, 8);
    CD_ASSERT(a && b);
    const float *const *in = (const float *const *)&inputs[i];
    slots_of(ref, s, q.slot);
    q.quantized = false;
    ok = interp_run_observed(ref, in, a, observe_sqnr, &q, d);
    slots_of(qg, s, q.slot);
    q.quantized = true;
    ok = ok && interp_run_observed(qg, in, b, observe_sqnr, &q, d);
    for (int k = 0; ok && k < no; k++) {
      int64_t m = value_numel(&qg->values[qg->outputs[k]]);
      for (int64_t e = 0; e < m; e++) {
        double r = a[k][e], err = (double)b[k][e] - r;
        osig[k] += r * r, onoise[k] += err * err;
        oerr[k] = fmax(oerr[k], fabs(err));
        omag[k] = fmax(omag[k], fabs(r));
      }
      if (k == 0)
        agree += argmax(a[0], m) == argmax(b[0], m);
    }
    for (int k = 0; k < no; k++)
      free(a[k]), free(b[k]);
    free(a), free(b);
    progress(o, "measuring SQNR", i + 1, ninputs);
  }
  if (ok) {
    fprintf(f, "quantized %d nodes and %d activations; SQNR against float over %d input%s "
            "(dB, the error accumulated up to each node's output):\n", s->n, s->activations,
            ninputs, ninputs == 1 ? "" : "s");
    int worst = 0;
    for (int k = 0; k < s->n; k++) {
      double v = db(q.signal[k], q.noise[k]);
      worst = v < db(q.signal[worst], q.noise[worst]) ? k : worst;
      fprintf(f, "  %-40s %-8s %6.1f\n", s->node[k], s->op[k], v);
    }
    fprintf(f, "lowest: '%s' at %.1f dB\n", s->node[worst],
            db(q.signal[worst], q.noise[worst]));
    for (int k = 0; k < no; k++)
      fprintf(f, "output '%s': SQNR %.1f dB, largest error %.2f%% of its magnitude%s\n",
              qg->values[qg->outputs[k]].name, db(osig[k], onoise[k]),
              omag[k] > 0 ? 100.0 * oerr[k] / omag[k] : 0.0,
              k == 0 ? arena_printf(&qg->arena, ", arg-max the float model's on %d of %d",
                                    agree, ninputs) : "");
  }
  for (int k = 0; k < s->n; k++)
    free(q.ref[k]);
  free(q.ref), free(q.slot), free(q.signal), free(q.noise);
  free(osig), free(onoise), free(oerr), free(omag);
  return ok;
}
