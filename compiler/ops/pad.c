/*
 * pad.c — Pad in constant, reflect and edge modes, pads from the attribute
 * (opset < 11) or a constant int64 input (opset 11+, with the optional
 * constant_value input and, from opset 18, an axes input).  Negative pads
 * crop.  Output index o reads input index o - begin, mapped back inside
 * [0, in) by reflection (reflect) or clamping (edge); constant mode writes
 * the pad value there instead.
 */
#include "../cardinal.h"

#include <string.h>

bool pad_parse(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  OpParams *p = &n->p;
  int r = x->rank;
  const char *mode = attr_string(n, "mode", "constant", d);
  if (!strcmp(mode, "constant"))
    p->pad_mode = 0;
  else if (!strcmp(mode, "reflect"))
    p->pad_mode = 1;
  else if (!strcmp(mode, "edge"))
    p->pad_mode = 2;
  else {
    diag_error(d, "node '%s' (Pad): mode '%s' is not supported", node_label(n),
               mode);
    return false;
  }
  int64_t raw[2 * CD_MAX_RANK];
  int cnt = 0;
  if (n->opset < 11) {
    const Attr *a;
    if (!attr_get(n, "pads", AT_INTS, d, &a))
      return false;
    if (!a || a->count > 2 * CD_MAX_RANK) {
      diag_error(d, "node '%s' (Pad): missing pads", node_label(n));
      return false;
    }
    cnt = a->count;
    memcpy(raw, a->ints, sizeof(int64_t) * (size_t)cnt);
    p->pad_value = attr_float(n, "value", 0.0f, d);
  } else {
    if (!node_has_input(n, 1)) {
      diag_error(d, "node '%s' (Pad): missing pads input", node_label(n));
      return false;
    }
    if (!op_const_ints(g, n, 1, d, raw, &cnt, 2 * CD_MAX_RANK))
      return false;
    p->pad_value = 0.0f;
    if (node_has_input(n, 2)) {
      Value *cv = &g->values[n->in[2]];
      if (cv->dtype != x->dtype || value_numel(cv) != 1) {
        diag_error(d, "node '%s' (Pad): constant_value must be one %s",
                   node_label(n), dtype_name(x->dtype));
        return false;
      }
      p->pad_value = (float)value_scalar(g, n->in[2], 0);
    }
  }
  int64_t axes[CD_MAX_RANK];
  int naxes = r;
  for (int k = 0; k < r; k++)
    axes[k] = k;
  if (node_has_input(n, 3)) {
    if (!op_const_ints(g, n, 3, d, axes, &naxes, CD_MAX_RANK))
      return false;
  }
  if (cnt != 2 * naxes) {
    diag_error(d, "node '%s' (Pad): %d pads for %d axes", node_label(n), cnt,
               naxes);
    return false;
  }
  memset(p->pads, 0, sizeof p->pads);
  for (int i = 0; i < naxes; i++) {
    int64_t a = normalize_axis(axes[i], r);
    if (a < 0 || a >= r) {
      diag_error(d, "node '%s' (Pad): axis out of range", node_label(n));
      return false;
    }
    p->pads[a] = raw[i];
    p->pads[CD_MAX_RANK + a] = raw[naxes + i];
  }
  return true;
}

bool pad_infer(Graph *g, Node *n, Diag *d) {
  Value *x = &g->values[n->in[0]];
  const OpParams *p = &n->p;
  int r = x->rank;
  int64_t dims[CD_MAX_RANK];
  for (int k = 0; k < r; k++) {
    if (!ck_add(x->dims[k], p->pads[k], &dims[k]) ||
        !ck_add(dims[k], p->pads[CD_MAX_RANK + k], &dims[k])) {
      diag_error(d, "node '%s' (Pad): pads %lld and %lld of dim %d overflow", node_label(n),
                 (long long)p->pads[k], (long long)p->pads[CD_MAX_RANK + k], k);
      return false;
    }
    if (dims[k] < 0 || (p->pad_mode && x->dims[k] == 0 && dims[k] > 0)) {
      diag_error(d, "node '%s' (Pad): pads make dim %d invalid", node_label(n),
                 k);
      return false;
    }
    if (p->pad_mode == 1 &&
        (p->pads[k] >= x->dims[k] || p->pads[CD_MAX_RANK + k] >= x->dims[k]) &&
        (p->pads[k] > 0 || p->pads[CD_MAX_RANK + k] > 0)) {
      diag_error(d, "node '%s' (Pad): reflect pads must be smaller than the "
                 "dim (%lld)", node_label(n), (long long)x->dims[k]);
      return false;
    }
  }
  value_set_shape(&g->values[n->out[0]], x->dtype, r, dims);
  if (x->dtype != DT_FLOAT) {
    diag_error(d, "node '%s' (Pad): only float32 is supported", node_label(n));
    return false;
  }
  return true;
}

/* Maps an output coordinate to an input one; -1 means "pad value". */
int64_t pad_source(int mode, int64_t o, int64_t begin, int64_t in) {
  int64_t i = o - begin;
  if (i >= 0 && i < in)
    return i;
  if (mode == 0)
    return -1;
  if (mode == 2)
    return i < 0 ? 0 : in - 1;
  if (in == 1)
    return 0;
  while (i < 0 || i >= in)
    i = i < 0 ? -i : 2 * (in - 1) - i;
  return i;
}

void pad_eval(Graph *g, Node *n, void **data) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  const float *X = data[n->in[0]];
  float *Y = data[n->out[0]];
  float value = p->pad_value;
  if (node_has_input(n, 2))
    value = ((float *)data[n->in[2]])[0];
  int r = x->rank;
  int64_t xs[CD_MAX_RANK], idx[CD_MAX_RANK] = {0}, s = 1;
  for (int k = r - 1; k >= 0; k--) {
    xs[k] = s;
    s *= x->dims[k];
  }
  int64_t m = value_numel(y);
  for (int64_t e = 0; e < m; e++) {
    int64_t off = 0;
    bool pad = false;
    for (int k = 0; k < r; k++) {
      int64_t i = pad_source(p->pad_mode, idx[k], p->pads[k], x->dims[k]);
      if (i < 0)
        pad = true;
      off += i * xs[k];
    }
    Y[e] = pad ? value : X[off];
    for (int k = r - 1; k >= 0; k--) {
      if (++idx[k] < y->dims[k])
        break;
      idx[k] = 0;
    }
  }
}

/* ------------------------------------------------------------ scalar kernel */

bool pad_emit(CWriter *w, Graph *g, Node *n) {
  const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  const OpParams *p = &n->p;
  int r = x->rank;
  int64_t xs[CD_MAX_RANK], s = 1;
  for (int k = r - 1; k >= 0; k--) {
    xs[k] = s;
    s *= x->dims[k];
  }
  /* map<k>[o]: input offset along dim k for output coordinate o, or -1;
   * up to 22 bytes an entry, checked against the code budget first. */
  int64_t entries = 0;
  for (int k = 0; k < r; k++)
    entries = sat_add(entries, y->dims[k]);
  if (!cw_room(w, sat_mul(entries, 22)))
    return false;
  for (int k = 0; k < r; k++) {
    cw(w, "static const long map%d[%lld] = {", k, (long long)y->dims[k]);
    for (int64_t o = 0; o < y->dims[k]; o++) {
      int64_t src = pad_source(p->pad_mode, o, p->pads[k], x->dims[k]);
      cw(w, "%s%lld", o ? ", " : "", (long long)(src < 0 ? -1 : src * xs[k]));
    }
    cw(w, "};\n");
  }
  bool runtime_value = node_has_input(n, 2) && !g->values[n->in[2]].data;
  cw(w, "const float value = %s;\n", runtime_value ? "x2[0]" : cw_float(w, p->pad_value));
  if (node_has_input(n, 2) && !runtime_value)
    cw(w, "(void)x2;\n");
  cw(w, "long i = 0;\n");
  cw_loop_nest(w, 'i', y->dims, r);
  cw(w, "y0[i++] = ");
  for (int k = 0; k < r; k++)
    cw(w, "%smap%d[i%d] < 0", k ? " || " : "", k, k);
  if (r == 0)
    cw(w, "0");
  cw(w, " ? value : x0[0");
  for (int k = 0; k < r; k++)
    cw(w, " + map%d[i%d]", k, k);
  cw(w, "];\n");
  return true;
}
