/*
 * builtins.c — what a DSL call can name besides a block: the layers
 * (conv, bn, linear: they make parameters, named as torch names them), the
 * helpers (pools, concat, sum, clip, len, min, max, param), all in one
 * table, and every op of the op table by its ONNX name or the lowercase
 * convenience of ops.def's last column.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the IR */

static const char *kw_alias(const Args *a, const char *name);

/* Keywords of a generic op call that none of the op's functions read
 * (the node's AttrLog): each is an error at the keyword, with the nearest
 * name the op does read. */
static bool unread_keywords(Ctx *c, Args *a, const AttrLog *log) {
  bool ok = true;
  for (int i = 0; i < a->nkw; i++) {
    bool read = false;
    for (int k = 0; k < log->n && !read; k++)
      read = !strcmp(log->name[k], a->kw[i].name);
    if (read)
      continue;
    Suggest sg;
    suggest_init(&sg, a->kw[i].name);
    for (int k = 0; k < log->n; k++)
      suggest_add(&sg, log->name[k]);
    for (int k = 0; k < a->nknown; k++)
      suggest_add(&sg, a->known[k]);
    const char *best = kw_alias(a, a->kw[i].name);
    if (!best)
      best = suggest_best(&sg);
    if (best)
      dsl_error(c->prog, a->kw[i].loc, "%s takes no attribute '%s'; did you mean '%s'?",
                a->callee, a->kw[i].name, best);
    else
      dsl_error(c->prog, a->kw[i].loc, "%s takes no attribute '%s'", a->callee, a->kw[i].name);
    ok = false;
  }
  return ok;
}

/* dsl_make_node; with `check`, the keywords of that call must all be
 * attributes the op reads (checked before its shape errors are reported:
 * MaxPool(x, kernel=[2, 2]) is a misspelt kernel_shape, not a missing one). */
static int make_node_checked(Ctx *c, SrcLoc at, const char *op, const char *label, int nin,
                             const int *ins, int nattrs, const AttrInit *attrs, Args *check) {
  Graph *g = c->g;
  if (g->nnodes >= g->limits.nodes) {
    dsl_error(c->prog, at, "the model makes more than %d nodes", g->limits.nodes);
    return -1;
  }
  int ni = graph_add_node(g, op_lookup(op, ""), op, nin, 1);
  int y = graph_add_value(g, label ? label : "");
  Node *n = &g->nodes[ni];
  n->opset = 13;
  n->name = arena_strdup(&g->arena, label ? label : "");
  for (int i = 0; i < nin; i++)
    n->in[i] = ins[i];
  n->out[0] = y;
  g->values[y].producer = ni;
  n->nattrs = nattrs;
  n->attrs = arena_alloc(&g->arena, sizeof(Attr) * (size_t)(nattrs + 1));
  for (int i = 0; i < nattrs; i++) {
    Attr *t = &n->attrs[i];
    t->name = arena_strdup(&g->arena, attrs[i].name);
    t->type = attrs[i].type;
    t->i = attrs[i].i;
    t->f = attrs[i].f;
    t->s = attrs[i].s ? arena_strdup(&g->arena, attrs[i].s) : NULL;
    t->count = attrs[i].count;
    if (attrs[i].ints) {
      t->ints = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)(t->count + 1));
      memcpy(t->ints, attrs[i].ints, sizeof(int64_t) * (size_t)t->count);
    }
    if (attrs[i].floats) {
      t->floats = arena_alloc(&g->arena, sizeof(float) * (size_t)(t->count + 1));
      memcpy(t->floats, attrs[i].floats, sizeof(float) * (size_t)t->count);
    }
  }
  Diag d = {.quiet = true};
  AttrLog log = {0};
  g->nodes[ni].attr_log = &log;
  bool ok = node_setup(g, &g->nodes[ni], &d);
  g->nodes[ni].attr_log = NULL;
  if (check && !unread_keywords(c, check, &log)) {
    ok = false;
  } else if (!ok) {
    char *msg = d.log.buf ? d.log.buf : "shape inference failed";
    char *e = strchr(msg, '\n');
    if (e)
      *e = 0;
    if (!strncmp(msg, "error: ", 7))
      msg += 7;
    for (int i = 0; check && log.bad && i < check->nkw; i++)
      if (!strcmp(check->kw[i].name, log.bad))
        at = check->kw[i].loc; /* a keyword of the wrong type: said at the keyword */
    dsl_error(c->prog, at, "%s", msg);
  }
  if (!ok)
    g->nodes[ni].dead = true;
  sb_free(&d.log);
  return ok ? y : -1;
}

int dsl_make_node(Ctx *c, SrcLoc at, const char *op, const char *label, int nin,
                  const int *ins, int nattrs, const AttrInit *attrs) {
  return make_node_checked(c, at, op, label, nin, ins, nattrs, attrs, NULL);
}

/* ------------------------------------------------------------ arguments */

/* A numeric keyword argument: an int (integral) or any number. */
static bool kw_number(Ctx *c, Args *a, const char *name, bool integral, double dflt,
                      double *out) {
  Arg *k = kwarg(a, name);
  *out = dflt;
  if (!k)
    return true;
  if (k->v.k == V_ERR)
    return false;
  bool ok = k->v.k == V_INT || (!integral && k->v.k == V_FLOAT);
  if (!ok) {
    dsl_error(c->prog, k->loc, "%s: argument %s must be %s, not %s", a->callee, name,
              integral ? "an int" : "a number", a_kind(k->v.k));
    return false;
  }
  *out = k->v.k == V_FLOAT ? k->v.f : (double)k->v.i;
  return true;
}

static bool kw_int(Ctx *c, Args *a, const char *name, int64_t dflt, int64_t *out) {
  double v;
  if (!kw_number(c, a, name, true, (double)dflt, &v))
    return false;
  Arg *k = kwarg(a, name);
  *out = k ? k->v.i : dflt; /* exact, whatever a double could hold */
  return true;
}

static bool kw_float(Ctx *c, Args *a, const char *name, double dflt, double *out) {
  return kw_number(c, a, name, false, dflt, out);
}

/* A true-or-false keyword argument (bias=false). */
static bool kw_bool(Ctx *c, Args *a, const char *name, bool dflt, bool *out) {
  Arg *k = kwarg(a, name);
  *out = dflt;
  if (!k)
    return true;
  if (k->v.k == V_ERR)
    return false;
  if (k->v.k != V_BOOL) {
    dsl_error(c->prog, k->loc, "%s: argument %s must be true or false, not %s", a->callee,
              name, a_kind(k->v.k));
    return false;
  }
  *out = k->v.i != 0;
  return true;
}

/* An int or a list of `n` ints (k=3 or k=[3, 1]); spatial attributes. */
static bool kw_ints(Ctx *c, Args *a, const char *name, int n, int64_t dflt, int64_t *out) {
  Arg *k = kwarg(a, name);
  for (int i = 0; i < n; i++)
    out[i] = dflt;
  if (!k)
    return true;
  if (k->v.k == V_ERR)
    return false;
  if (k->v.k == V_INT) {
    for (int i = 0; i < n; i++)
      out[i] = k->v.i;
    return true;
  }
  if (k->v.k == V_LIST && k->v.n == n) {
    for (int i = 0; i < n; i++) {
      if (k->v.items[i].k != V_INT)
        goto bad;
      out[i] = k->v.items[i].i;
    }
    return true;
  }
bad:
  dsl_error(c->prog, k->loc, "%s: argument %s must be an int or a list of %d ints",
            a->callee, name, n);
  return false;
}

static bool want_tensor(Ctx *c, Args *a, int i, int *t) {
  if (i >= a->npos) {
    dsl_error(c->prog, a->at, "%s: needs a tensor as argument %d", a->callee, i + 1);
    return false;
  }
  DVal v = a->pos[i].v;
  if (v.k == V_ERR)
    return false;
  if (v.k != V_TENSOR) {
    dsl_error(c->prog, a->pos[i].loc, "%s: argument %d must be a tensor, not %s",
              a->callee, i + 1, a_kind(v.k));
    return false;
  }
  a->pos[i].used = true;
  *t = v.t;
  return true;
}

/* Positional arguments between min and max; after '->' the piped input is
 * the first, and the message counts only the ones the user wrote. */
static bool check_arity(Ctx *c, Args *a, int min, int max) {
  if (a->npos >= min && a->npos <= max)
    return true;
  int k = a->chained, lo = min - k, hi = max - k, got = a->npos - k;
  const char *after = k ? " after '->'" : "", *besides = k ? " besides its input" : "";
  if (hi == 0)
    dsl_error(c->prog, a->at, "%s%s takes no argument%s, got %d", a->callee, after,
              besides, got);
  else if (lo == hi)
    dsl_error(c->prog, a->at, "%s%s takes %d positional argument%s%s, got %d", a->callee,
              after, lo, lo == 1 ? "" : "s", besides, got);
  else
    dsl_error(c->prog, a->at, "%s%s takes %d to %d positional arguments%s, got %d",
              a->callee, after, lo, hi, besides, got);
  return false;
}

/* Other spellings people reach for (torch's, ONNX's) of the layers'
 * keywords; offered only when the call takes the right-hand one. */
static const char *const kw_aliases[][2] = {
    {"padding", "pad"},          {"pads", "pad"},        {"kernel_size", "k"},
    {"kernel", "k"},             {"kernel_shape", "k"},  {"ksize", "k"},
    {"strides", "stride"},       {"group", "groups"},    {"dilations", "dilation"},
    {"epsilon", "eps"},          {"ceil_mode", "ceil"},  {"min_val", "min"},
    {"max_val", "max"},          {"dim", "axis"},        {"ratio", "p"},
    {"prob", "p"},
};

/* The keyword the call takes that `name` is another spelling of, or NULL. */
static const char *kw_alias(const Args *a, const char *name) {
  for (size_t j = 0; j < sizeof kw_aliases / sizeof kw_aliases[0]; j++)
    for (int q = 0; q < a->nknown; q++)
      if (!strcmp(kw_aliases[j][0], name) && !strcmp(kw_aliases[j][1], a->known[q]))
        return a->known[q];
  return NULL;
}

/* Reports keyword arguments nobody read, with the nearest one the call
 * takes (those it asked for), or the list of them. */
static bool check_kwargs(Ctx *c, Args *a) {
  bool ok = true;
  for (int i = 0; i < a->nkw; i++) {
    if (a->kw[i].used)
      continue;
    const char *name = a->kw[i].name, *best = kw_alias(a, name);
    Suggest sg;
    suggest_init(&sg, name);
    for (int q = 0; q < a->nknown; q++)
      suggest_add(&sg, a->known[q]);
    if (!best)
      best = suggest_best(&sg);
    if (best) {
      dsl_error(c->prog, a->kw[i].loc, "%s has no argument named '%s'; did you mean '%s'?",
                a->callee, name, best);
    } else {
      StrBuf list = {0};
      for (int q = 0; q < a->nknown; q++) {
        bool dup = false;
        for (int r = 0; r < q; r++)
          dup |= !strcmp(a->known[r], a->known[q]);
        if (!dup)
          sb_printf(&list, "%s%s", list.len ? ", " : "", a->known[q]);
      }
      if (list.len)
        dsl_error(c->prog, a->kw[i].loc, "%s has no argument named '%s' (it takes %s)",
                  a->callee, name, list.buf);
      else
        dsl_error(c->prog, a->kw[i].loc, "%s takes no keyword arguments, got '%s'",
                  a->callee, name);
      sb_free(&list);
    }
    ok = false;
  }
  return ok;
}

static const char *pname(Ctx *c, const char *label, const char *leaf) {
  return arena_printf(&c->g->arena, "%s.%s", label, leaf);
}

/* kernel_shape, strides and symmetric pads (into pads[2 * nsp]): the
 * first three attributes of a conv or pool layer. */
static void spatial_attrs(AttrInit *at, int nsp, const int64_t *k, const int64_t *s,
                          const int64_t *p, int64_t *pads) {
  for (int i = 0; i < nsp; i++)
    pads[i] = pads[nsp + i] = p[i];
  at[0] = (AttrInit){"kernel_shape", AT_INTS, .count = nsp, .ints = k};
  at[1] = (AttrInit){"strides", AT_INTS, .count = nsp, .ints = s};
  at[2] = (AttrInit){"pads", AT_INTS, .count = 2 * nsp, .ints = pads};
}

/* conv(x, out, k=1, stride=1, pad=0, dilation=1, groups=1, bias=true) */
static DVal lay_conv(Ctx *c, Args *a, const char *label) {
  int x;
  int64_t out, groups;
  bool bias;
  if (!check_arity(c, a, 2, 2) || !want_tensor(c, a, 0, &x) ||
      !as_int(c, a->pos[1].v, a->pos[1].loc, "conv: the output channel count", &out))
    return ERR;
  const Value *xv = &c->g->values[x];
  int nsp = xv->rank - 2;
  if (nsp < 1 || nsp > 3) {
    dsl_error(c->prog, a->pos[0].loc, "conv: input must be [N, C, spatial...], got rank %d",
              xv->rank);
    return ERR;
  }
  int64_t k[3], s[3], p[3], dl[3];
  if (!kw_ints(c, a, "k", nsp, 1, k) || !kw_ints(c, a, "stride", nsp, 1, s) ||
      !kw_ints(c, a, "pad", nsp, 0, p) || !kw_ints(c, a, "dilation", nsp, 1, dl) ||
      !kw_int(c, a, "groups", 1, &groups) || !kw_bool(c, a, "bias", true, &bias) ||
      !check_kwargs(c, a))
    return ERR;
  int64_t C = xv->dims[1];
  if (out < 1 || groups < 1 || C % groups || out % groups) {
    dsl_error(c->prog, a->at, "conv: %lld input and %lld output channels do not split "
              "into %lld groups", (long long)C, (long long)out, (long long)groups);
    return ERR;
  }
  int64_t wd[5] = {out, C / groups};
  for (int i = 0; i < nsp; i++)
    wd[2 + i] = k[i];
  int w = dsl_param(c, a->at, pname(c, label, "weight"), 2 + nsp, wd);
  int b = w >= 0 && bias ? dsl_param(c, a->at, pname(c, label, "bias"), 1, &out) : -1;
  if (w < 0 || (bias && b < 0))
    return ERR;
  int64_t pads[6];
  AttrInit at[5];
  spatial_attrs(at, nsp, k, s, p, pads);
  at[3] = (AttrInit){"dilations", AT_INTS, .count = nsp, .ints = dl};
  at[4] = (AttrInit){"group", AT_INT, .i = groups};
  int ins[3] = {x, w, b};
  int y = dsl_make_node(c, a->at, "Conv", label, bias ? 3 : 2, ins, 5, at);
  return y < 0 ? ERR : vtensor(y);
}

/* bn(x, eps=1e-5): torch's BatchNorm2d in eval mode */
static DVal lay_bn(Ctx *c, Args *a, const char *label) {
  int x;
  double eps;
  if (!check_arity(c, a, 1, 1) || !want_tensor(c, a, 0, &x) ||
      !kw_float(c, a, "eps", 1e-5, &eps) || !check_kwargs(c, a))
    return ERR;
  if (c->g->values[x].rank < 2) {
    dsl_error(c->prog, a->at, "bn: input must have a channel dim");
    return ERR;
  }
  int64_t C = c->g->values[x].dims[1];
  static const char *const leaf[4] = {"weight", "bias", "running_mean", "running_var"};
  int ins[5] = {x};
  for (int i = 0; i < 4; i++)
    if ((ins[1 + i] = dsl_param(c, a->at, pname(c, label, leaf[i]), 1, &C)) < 0)
      return ERR;
  AttrInit at[1] = {{"epsilon", AT_FLOAT, .f = (float)eps}};
  int y = dsl_make_node(c, a->at, "BatchNormalization", label, 5, ins, 1, at);
  return y < 0 ? ERR : vtensor(y);
}

/* linear(x, out, bias=true): torch's Linear, y = x W^T + b */
static DVal lay_linear(Ctx *c, Args *a, const char *label) {
  int x;
  int64_t out;
  bool bias;
  if (!check_arity(c, a, 2, 2) || !want_tensor(c, a, 0, &x) ||
      !as_int(c, a->pos[1].v, a->pos[1].loc, "linear: the output size", &out) ||
      !kw_bool(c, a, "bias", true, &bias) || !check_kwargs(c, a))
    return ERR;
  const Value *xv = &c->g->values[x];
  if (xv->rank != 2 || out < 1) {
    dsl_error(c->prog, a->at, "linear: input must be [N, features] (flatten first), got rank %d",
              xv->rank);
    return ERR;
  }
  int64_t wd[2] = {out, xv->dims[1]};
  int ins[3] = {x, dsl_param(c, a->at, pname(c, label, "weight"), 2, wd), -1};
  if (ins[1] < 0 || (bias && (ins[2] = dsl_param(c, a->at, pname(c, label, "bias"), 1, &out)) < 0))
    return ERR;
  AttrInit at[1] = {{"transB", AT_INT, .i = 1}};
  int y = dsl_make_node(c, a->at, "Gemm", label, bias ? 3 : 2, ins, 1, at);
  return y < 0 ? ERR : vtensor(y);
}

/* maxpool/avgpool(x, k, stride=k, pad=0, ceil=false[, count_include_pad=true]) */
static DVal lay_pool(Ctx *c, Args *a, const char *label, bool max) {
  int x;
  if (!check_arity(c, a, 1, 1) || !want_tensor(c, a, 0, &x))
    return ERR;
  int nsp = c->g->values[x].rank - 2;
  if (nsp < 1 || nsp > 3) {
    dsl_error(c->prog, a->at, "%s: input must be [N, C, spatial...]", a->callee);
    return ERR;
  }
  int64_t k[3], s[3], p[3];
  bool ceil_mode, cip = true;
  bool has_k = kwarg(a, "k") != NULL, has_stride = kwarg(a, "stride") != NULL;
  if (!kw_ints(c, a, "k", nsp, 1, k) || !kw_ints(c, a, "stride", nsp, 1, s) ||
      !kw_ints(c, a, "pad", nsp, 0, p) || !kw_bool(c, a, "ceil", false, &ceil_mode) ||
      (!max && !kw_bool(c, a, "count_include_pad", true, &cip)) || !check_kwargs(c, a))
    return ERR;
  if (!has_k) {
    dsl_error(c->prog, a->at, "%s: needs the window size k=", a->callee);
    return ERR;
  }
  if (!has_stride)
    memcpy(s, k, sizeof s);
  int64_t pads[6];
  AttrInit at[5];
  spatial_attrs(at, nsp, k, s, p, pads);
  at[3] = (AttrInit){"ceil_mode", AT_INT, .i = ceil_mode};
  at[4] = (AttrInit){"count_include_pad", AT_INT, .i = cip};
  int y = dsl_make_node(c, a->at, max ? "MaxPool" : "AveragePool", label, 1, &x, max ? 4 : 5, at);
  return y < 0 ? ERR : vtensor(y);
}

/* Converts a DSL value to an ONNX attribute (generic op calls). */
static bool to_attr(Ctx *c, Arg *k, AttrInit *at) {
  DVal v = k->v;
  at->name = k->name;
  switch (v.k) {
  case V_INT: case V_BOOL: at->type = AT_INT; at->i = v.i; return true;
  case V_FLOAT: at->type = AT_FLOAT; at->f = (float)v.f; return true;
  case V_STR: at->type = AT_STRING; at->s = v.s; return true;
  case V_LIST: {
    bool all_int = true;
    for (int i = 0; i < v.n; i++) {
      if (v.items[i].k != V_INT && v.items[i].k != V_FLOAT) {
        dsl_error(c->prog, k->loc, "attribute %s: a list of numbers is expected", k->name);
        return false;
      }
      all_int &= v.items[i].k == V_INT;
    }
    at->count = v.n;
    if (all_int) {
      int64_t *x = arena_alloc(&c->g->arena, sizeof(int64_t) * (size_t)(v.n + 1));
      for (int i = 0; i < v.n; i++)
        x[i] = v.items[i].i;
      at->type = AT_INTS;
      at->ints = x;
    } else {
      float *x = arena_alloc(&c->g->arena, sizeof(float) * (size_t)(v.n + 1));
      for (int i = 0; i < v.n; i++)
        x[i] = (float)(v.items[i].k == V_INT ? (double)v.items[i].i : v.items[i].f);
      at->type = AT_FLOATS;
      at->floats = x;
    }
    return true;
  }
  case V_ERR: return false;
  default:
    dsl_error(c->prog, k->loc, "attribute %s cannot be %s", k->name, a_kind(v.k));
    return false;
  }
}
/* A constant int64 tensor (shapes, axes) as an op input. */
static int const_i64(Ctx *c, const int64_t *v, int n) {
  int64_t dim = n;
  int t = graph_add_value(c->g, "");
  value_set_shape(&c->g->values[t], DT_INT64, 1, &dim);
  memcpy(value_alloc_data(c->g, t), v, sizeof(int64_t) * (size_t)n);
  return t;
}

/* Any op of the table by its ONNX name: tensors positional (a list of
 * ints becomes an int64 constant input, as Reshape's shape), attributes as
 * keywords with their ONNX names. */
static DVal onnx_op(Ctx *c, Args *a, const char *label, OpKind op) {
  const OpInfo *info = &op_table[op];
  if (a->npos < info->min_in || (info->max_in >= 0 && a->npos > info->max_in)) {
    check_arity(c, a, info->min_in, info->max_in >= 0 ? info->max_in : 64);
    for (int i = info->max_in >= 0 ? info->max_in : 64; i < a->npos; i++)
      if (a->pos[i].v.k == V_INT || a->pos[i].v.k == V_FLOAT) {
        dsl_note(c->prog, a->pos[i].loc, false, "attributes are keyword arguments: "
                 "%s(..., NAME=VALUE)", a->callee);
        break;
      }
    return ERR;
  }
  /* Variadic ops also take one list of tensors: Concat([a, b], axis=1). */
  int n = 0, cap = 0;
  for (int i = 0; i < a->npos; i++)
    cap += a->pos[i].v.k == V_LIST && info->max_in < 0 ? a->pos[i].v.n : 1;
  int *ins = arena_alloc(&c->g->arena, sizeof(int) * (size_t)(cap + 1));
  for (int i = 0; i < a->npos; i++) {
    DVal v = a->pos[i].v;
    if (v.k == V_ERR)
      return ERR;
    if (v.k == V_TENSOR) {
      ins[n++] = v.t;
    } else if (v.k == V_LIST && v.n > 0 && v.items[0].k == V_TENSOR && info->max_in < 0) {
      for (int j = 0; j < v.n; j++) {
        if (v.items[j].k != V_TENSOR) {
          dsl_error(c->prog, a->pos[i].loc, "%s: the list must hold tensors", a->callee);
          return ERR;
        }
        ins[n++] = v.items[j].t;
      }
    } else if (v.k == V_LIST) {
      int64_t *vals = arena_alloc(&c->g->arena, sizeof(int64_t) * (size_t)(v.n + 1));
      for (int j = 0; j < v.n; j++) {
        if (v.items[j].k != V_INT) {
          dsl_error(c->prog, a->pos[i].loc, "%s: argument %d must be a tensor or a list of ints",
                    a->callee, i + 1);
          return ERR;
        }
        vals[j] = v.items[j].i;
      }
      ins[n++] = const_i64(c, vals, v.n);
    } else {
      dsl_error(c->prog, a->pos[i].loc, "%s: argument %d must be a tensor, not %s",
                a->callee, i + 1, a_kind(v.k));
      return ERR;
    }
  }
  if (n < info->min_in) {
    dsl_error(c->prog, a->at, "%s needs at least %d inputs", a->callee, info->min_in);
    return ERR;
  }
  if (op == OP_DROPOUT) { /* torch's dropout(p=0.5): identity at inference */
    double pr;
    if (!kw_float(c, a, "p", 0.5, &pr))
      return ERR;
    Arg *k = kwarg(a, "p");
    if (k && !(pr >= 0 && pr < 1)) {
      dsl_error(c->prog, k->loc, "%s: p is a probability in [0, 1), not %g", a->callee, pr);
      return ERR;
    }
    if (k) { /* not an ONNX attribute: read here, not passed on */
      *k = a->kw[--a->nkw];
    }
  }
  AttrInit at[MAX_ARGS];
  memset(at, 0, sizeof at);
  for (int i = 0; i < a->nkw; i++) {
    a->kw[i].used = true;
    if (!to_attr(c, &a->kw[i], &at[i]))
      return ERR;
  }
  int y = make_node_checked(c, a->at, info->name, label, n, ins, a->nkw, at, a);
  return y < 0 ? ERR : vtensor(y);
}

/* The lowercase convenience `name` of a table op (the DSL-name column of
 * ops.def), or OP_COUNT. */
static OpKind dsl_simple_op(const char *name) {
  for (int i = 0; i < OP_COUNT; i++)
    if (op_table[i].dsl_name[0] && !strcmp(op_table[i].dsl_name, name))
      return (OpKind)i;
  return OP_COUNT;
}

/* param("name", [dims]): a named parameter tensor, SCOPE[.LABEL].name */
static DVal b_param(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  if (!check_arity(c, a, 2, 2) || !check_kwargs(c, a))
    return ERR;
  if (a->pos[0].v.k != V_STR || a->pos[1].v.k != V_LIST || a->pos[1].v.n > CD_MAX_RANK) {
    dsl_error(c->prog, a->at, "param takes a name and a list of dims");
    return ERR;
  }
  int64_t dims[CD_MAX_RANK];
  for (int i = 0; i < a->pos[1].v.n; i++) {
    if (a->pos[1].v.items[i].k != V_INT || a->pos[1].v.items[i].i < 1) {
      dsl_error(c->prog, a->pos[1].loc, "param: dims must be positive ints");
      return ERR;
    }
    dims[i] = a->pos[1].v.items[i].i;
  }
  const char *pn = label ? dsl_strcat(c, a->at, full, ".", a->pos[0].v.s, NULL)
                         : dsl_strcat(c, a->at, f->scope, a->pos[0].v.s, NULL);
  if (!pn)
    return ERR;
  int t = dsl_param(c, a->at, pn, a->pos[1].v.n, dims);
  return t < 0 ? ERR : vtensor(t);
}

/* len(list or tensor): items, or a tensor's rank */
static DVal b_len(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label, (void)full;
  if (!check_arity(c, a, 1, 1) || !check_kwargs(c, a))
    return ERR;
  if (a->pos[0].v.k == V_LIST)
    return vint(a->pos[0].v.n);
  if (a->pos[0].v.k == V_TENSOR)
    return vint(tv(c, a->pos[0].v)->rank);
  dsl_error(c->prog, a->pos[0].loc, "len needs a list or a tensor");
  return ERR;
}

/* min(a, b), max(a, b) of ints */
static DVal b_minmax(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label, (void)full;
  int64_t x, y;
  if (!check_arity(c, a, 2, 2) || !check_kwargs(c, a) ||
      !as_int(c, a->pos[0].v, a->pos[0].loc, a->callee, &x) ||
      !as_int(c, a->pos[1].v, a->pos[1].loc, a->callee, &y))
    return ERR;
  return vint(a->callee[1] == 'i' ? (x < y ? x : y) : (x > y ? x : y));
}

/* concat(tensors or lists..., axis=1), sum(tensors or lists...) */
static DVal b_concat_sum(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label;
  const char *name = a->callee;
  Arg *ax = !strcmp(name, "concat") ? kwarg(a, "axis") : NULL;
  AttrInit at[1] = {{"axis", AT_INT, .i = ax && ax->v.k == V_INT ? ax->v.i : 1}};
  if (ax && ax->v.k != V_INT) {
    dsl_error(c->prog, ax->loc, "concat: axis must be an int");
    return ERR;
  }
  if (!check_kwargs(c, a))
    return ERR;
  int n = 0, cap = 0;
  for (int i = 0; i < a->npos; i++)
    cap += a->pos[i].v.k == V_LIST ? a->pos[i].v.n : 1;
  int *ins = arena_alloc(&c->g->arena, sizeof(int) * (size_t)(cap + 1));
  for (int i = 0; i < a->npos; i++) {
    DVal v = a->pos[i].v;
    if (v.k == V_LIST) {
      for (int j = 0; j < v.n; j++) {
        if (v.items[j].k != V_TENSOR) {
          dsl_error(c->prog, a->pos[i].loc, "%s: the list must hold tensors", name);
          return ERR;
        }
        ins[n++] = v.items[j].t;
      }
    } else if (v.k == V_TENSOR) {
      ins[n++] = v.t;
    } else {
      dsl_error(c->prog, a->pos[i].loc, "%s takes tensors or lists of tensors", name);
      return ERR;
    }
  }
  if (n < 1) {
    dsl_error(c->prog, a->at, "%s of nothing", name);
    return ERR;
  }
  int y = dsl_make_node(c, a->at, name[0] == 'c' ? "Concat" : "Sum", full, n, ins,
                        name[0] == 'c' ? 1 : 0, at);
  return y < 0 ? ERR : vtensor(y);
}

/* clip(x, min=-inf, max=inf) */
static DVal b_clip(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label;
  int x;
  double lo, hi;
  if (!check_arity(c, a, 1, 1) || !want_tensor(c, a, 0, &x) ||
      !kw_float(c, a, "min", -INFINITY, &lo) || !kw_float(c, a, "max", INFINITY, &hi) ||
      !check_kwargs(c, a))
    return ERR;
  int ins[3] = {x, -1, -1};
  int64_t scalar_dims[1] = {1};
  for (int i = 0; i < 2; i++) {
    float bound = (float)(i ? hi : lo);
    int b = graph_add_const(c->g, "", 0, scalar_dims);
    *(float *)c->g->values[b].data = bound;
    ins[1 + i] = b;
  }
  int y = dsl_make_node(c, a->at, "Clip", full, 3, ins, 0, NULL);
  return y < 0 ? ERR : vtensor(y);
}

/* silu(x) = x * sigmoid(x) (torch's SiLU, "swish"): two nodes, the
 * Sigmoid fused into the conv before it when there is one. */
static DVal b_silu(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label;
  int x;
  if (!check_arity(c, a, 1, 1) || !want_tensor(c, a, 0, &x) || !check_kwargs(c, a))
    return ERR;
  int sg = dsl_make_node(c, a->at, "Sigmoid", arena_printf(&c->g->arena, "%s.sigmoid", full),
                         1, &x, 0, NULL);
  if (sg < 0)
    return ERR;
  int ins[2] = {x, sg};
  int y = dsl_make_node(c, a->at, "Mul", full, 2, ins, 0, NULL);
  return y < 0 ? ERR : vtensor(y);
}

static DVal b_conv(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label;
  return lay_conv(c, a, full);
}

static DVal b_bn(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label;
  return lay_bn(c, a, full);
}

static DVal b_linear(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label;
  return lay_linear(c, a, full);
}

static DVal b_pool(Ctx *c, Frame *f, Args *a, const char *label, const char *full) {
  (void)f, (void)label;
  return lay_pool(c, a, full, a->callee[0] == 'm');
}

/* The builtins.  Ops of the op table are not listed: their names come from
 * ops.def (ONNX name, and the lowercase convenience of its last column). */
typedef DVal (*BuiltinFn)(Ctx *c, Frame *f, Args *a, const char *label, const char *full);
static const struct {
  const char *name;
  BuiltinFn fn;
} builtins[] = {
    {"conv", b_conv},     {"bn", b_bn},         {"linear", b_linear},
    {"maxpool", b_pool},  {"avgpool", b_pool},  {"param", b_param},
    {"len", b_len},       {"min", b_minmax},    {"max", b_minmax},
    {"concat", b_concat_sum}, {"sum", b_concat_sum}, {"clip", b_clip},
    {"silu", b_silu},
};

void dsl_builtin_names(Suggest *s) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    suggest_add(s, builtins[i].name);
  for (int i = 0; i < OP_COUNT; i++)
    suggest_add(s, op_table[i].dsl_name);
  for (int i = 0; i < OP_COUNT; i++)
    if (!(op_table[i].flags & (OPF_SHAPE | OPF_INTERNAL)) && i != OP_CONSTANT)
      suggest_add(s, op_table[i].name);
}

bool dsl_builtin_known(const char *name) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (!strcmp(builtins[i].name, name))
      return true;
  if (dsl_simple_op(name) != OP_COUNT)
    return true;
  OpKind op = op_lookup(name, "");
  return op != OP_COUNT && !(op_table[op].flags & OPF_SHAPE) && op != OP_CONSTANT;
}

DVal dsl_call_builtin(Ctx *c, Frame *f, Args *a, const char *name, const char *label,
                      const char *full, bool *found) {
  *found = true;
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (!strcmp(builtins[i].name, name))
      return builtins[i].fn(c, f, a, label, full);
  OpKind op = dsl_simple_op(name);
  if (op != OP_COUNT)
    return onnx_op(c, a, full, op);
  op = op_lookup(name, "");
  if (op != OP_COUNT && !(op_table[op].flags & OPF_SHAPE) && op != OP_CONSTANT)
    return onnx_op(c, a, full, op);
  *found = false;
  return ERR;
}
