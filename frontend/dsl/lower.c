/*
 * lower.c — runs a DSL model at compile time and records the IR it builds.
 *
 * The evaluator is a small tree-walking interpreter over values that are
 * ints, floats, bools, strings, lists or tensors (IR value indices).  Loops
 * unroll, `if` picks a branch, a block call runs the block's body in a new
 * frame.  Every tensor operation appends an IR node and infers its shape at
 * once, so `x.shape[1]` is known on the next line.
 *
 * Naming.  `label: call(...)` names what the call makes.  A layer call
 * (conv, bn, linear, param) names its parameters SCOPE.LABEL.weight and so
 * on; a block call extends the scope with LABEL for everything inside it.
 * Labels are paths: `layer1.0`, `downsample.0`, `layer1[i]` (= layer1.<i>).
 * So torchvision's state_dict names come out of code written like
 * torchvision's classes, and a state_dict saved as safetensors binds as is.
 *
 * Errors.  A failed expression yields an error value that later operations
 * pass along silently, so each independent mistake is reported once, with
 * its location, and evaluation goes on to find the next.
 */
#include "dsl.h"
#include "parser.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { V_ERR, V_NONE, V_INT, V_FLOAT, V_BOOL, V_STR, V_LIST, V_TENSOR } VKind;

typedef struct DVal DVal;
struct DVal {
  VKind k;
  int64_t i;      /* V_INT, V_BOOL */
  double f;       /* V_FLOAT */
  const char *s;  /* V_STR */
  DVal *items;    /* V_LIST */
  int n;
  int t;          /* V_TENSOR: value index */
};

typedef struct Var {
  const char *name;
  DVal v;
  struct Var *next;
} Var;

typedef struct Frame {
  Var *vars;
  int nvars;
  NameMap map;           /* name -> Var, once there are more than a few */
  const char *scope;     /* parameter name prefix, "" or "layer1.0." */
  const DslDef *def;     /* the block or model running */
  SrcLoc call;           /* where it was called from */
  struct Frame *parent;
  bool returned;
  DVal ret;
} Frame;

typedef struct {
  DslProgram *prog;
  Graph *g;
  Diag *d;
  SafeTensors *st;       /* NULL: seeded parameters */
  uint64_t seed;
  const char *weights_path;
  int depth;             /* block calls in progress */
  int edepth;            /* evaluations in progress */
  bool too_deep;         /* reported that edepth hit its limit */
  const char *stack0;    /* the C stack where evaluation started */
  int64_t steps;         /* evaluations so far (against Limits.dsl_steps) */
  bool too_long;         /* reported that steps hit the limit */
  int64_t param_bytes;   /* parameters declared so far (against Limits.param_bytes) */
  NameMap blocks;        /* block name -> its DslDef */
  int autoname;          /* counter for unlabeled layers */
  int nparams;
} Ctx;

static const DVal ERR = {.k = V_ERR};
static const DVal NONE = {.k = V_NONE};

static const char *kind_name(VKind k) {
  static const char *n[] = {"error", "nothing", "int", "float", "bool", "string", "list", "tensor"};
  return n[k];
}

static DVal eval(Ctx *c, Frame *f, Ast *a);
static void exec_body(Ctx *c, Frame *f, Ast *body);

/* ------------------------------------------------------------ variables */

/* A frame's variables: a list while short, a NameMap past 8 (a model of
 * 60,000 assignments spent seconds in the list). */
static DVal *lookup(Frame *f, const char *name) {
  if (f->map.cap) {
    Var *v = namemap_get(&f->map, name);
    return v ? &v->v : NULL;
  }
  for (Var *v = f->vars; v; v = v->next)
    if (!strcmp(v->name, name))
      return &v->v;
  return NULL;
}

static void bind(Ctx *c, Frame *f, const char *name, DVal v) {
  DVal *old = lookup(f, name);
  if (old) {
    *old = v;
    return;
  }
  Var *n = arena_alloc(&c->g->arena, sizeof(Var));
  n->name = name;
  n->v = v;
  n->next = f->vars;
  f->vars = n;
  if (++f->nvars == 8)
    for (Var *x = f->vars; x; x = x->next)
      namemap_put(&f->map, &c->g->arena, x->name, x);
  else if (f->nvars > 8)
    namemap_put(&f->map, &c->g->arena, name, n);
}

/* ------------------------------------------------------------ helpers */

static DVal vint(int64_t i) { return (DVal){.k = V_INT, .i = i}; }
static DVal vfloat(double x) { return (DVal){.k = V_FLOAT, .f = x}; }
static DVal vbool(bool b) { return (DVal){.k = V_BOOL, .i = b}; }
static DVal vtensor(int t) { return (DVal){.k = V_TENSOR, .t = t}; }

static bool as_int(Ctx *c, DVal v, SrcLoc at, const char *what, int64_t *out) {
  if (v.k == V_ERR)
    return false;
  if (v.k == V_INT || v.k == V_BOOL) {
    *out = v.i;
    return true;
  }
  dsl_error(c->prog, at, "%s must be an int, not a %s", what, kind_name(v.k));
  return false;
}

static bool as_number(Ctx *c, DVal v, SrcLoc at, const char *what, double *out) {
  if (v.k == V_ERR)
    return false;
  if (v.k == V_INT || v.k == V_BOOL) {
    *out = (double)v.i;
    return true;
  }
  if (v.k == V_FLOAT) {
    *out = v.f;
    return true;
  }
  dsl_error(c->prog, at, "%s must be a number, not a %s", what, kind_name(v.k));
  return false;
}

static bool truthy(Ctx *c, DVal v, SrcLoc at, bool *out) {
  if (v.k == V_ERR)
    return false;
  if (v.k == V_BOOL || v.k == V_INT) {
    *out = v.i != 0;
    return true;
  }
  dsl_error(c->prog, at, "a condition must be a bool, not a %s", kind_name(v.k));
  return false;
}

static const Value *tv(Ctx *c, DVal v) { return &c->g->values[v.t]; }

/* ------------------------------------------------------------ the IR */

typedef struct {
  const char *name;
  AttrType type;
  int64_t i;
  float f;
  const char *s;
  int count;
  const int64_t *ints;
  const float *floats;
} AttrInit;

/* Appends op(ins) with attributes, infers its shape; on failure reports
 * infer's message at `at`.  Returns the output value or -1. */
static int make_node(Ctx *c, SrcLoc at, const char *op, const char *label, int nin,
                     const int *ins, int nattrs, const AttrInit *attrs) {
  Graph *g = c->g;
  if (g->nnodes >= g->limits.nodes) {
    dsl_error(c->prog, at, "the model makes more than %d nodes", g->limits.nodes);
    return -1;
  }
  int ni = graph_add_node(g, op, nin, 1);
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
  bool ok = node_setup(g, &g->nodes[ni], &d);
  if (!ok) {
    char *msg = d.log.buf ? d.log.buf : "shape inference failed";
    char *e = strchr(msg, '\n');
    if (e)
      *e = 0;
    if (!strncmp(msg, "error: ", 7))
      msg += 7;
    dsl_error(c->prog, at, "%s", msg);
    g->nodes[ni].dead = true;
  }
  sb_free(&d.log);
  return ok ? y : -1;
}

/* ------------------------------------------------------------ parameters */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/*
 * A parameter named `name`: from the safetensors file, or generated.  The
 * generator is seeded by the seed and the name alone, and picks the
 * distribution from the name (as torch's modules name them), so a tensor
 * gets the same values whichever construct asks for it: a rank-1 weight is
 * a BatchNorm scale near 1, running_var is positive, biases and means are
 * small, other weights are uniform with a fan-in scale.
 */
static int param(Ctx *c, SrcLoc at, const char *name, int rank, const int64_t *dims) {
  int kind = ends_with(name, "running_var")                       ? 3
             : ends_with(name, "bias") || ends_with(name, "running_mean") ? 2
             : rank == 1                                          ? 1
                                                                  : 0;
  Graph *g = c->g;
  Value shape = {.dtype = DT_FLOAT, .rank = rank};
  memcpy(shape.dims, dims, sizeof(int64_t) * (size_t)rank);
  char why[160];
  if (!value_size_ok(g, &shape, why, sizeof why)) {
    dsl_error(c->prog, at, "parameter '%s' is too large: %s", name, why);
    return -1;
  }
  c->param_bytes = sat_add(c->param_bytes, (int64_t)value_bytes(&shape));
  if (c->param_bytes > g->limits.param_bytes) {
    dsl_error(c->prog, at, "parameter '%s' takes the model's parameters past %lld bytes",
              name, (long long)g->limits.param_bytes);
    return -1;
  }
  int v = graph_add_const(g, name, rank, dims);
  Value *x = &g->values[v];
  int64_t n = value_numel(x);
  float *data = x->data;
  c->nparams++;
  if (c->st) {
    const StTensor *t = safetensors_find(c->st, name);
    if (!t) {
      dsl_error(c->prog, at, "parameter '%s' is missing from %s", name, c->weights_path);
      return -1;
    }
    ((StTensor *)t)->used = true;
    if (t->dtype != DT_FLOAT) {
      dsl_error(c->prog, at, "parameter '%s' is %s in %s; only F32 is supported", name,
                t->dtype_name, c->weights_path);
      return -1;
    }
    bool same = t->rank == rank;
    for (int i = 0; same && i < rank; i++)
      same = t->dims[i] == dims[i];
    if (!same) {
      StrBuf a = {0}, b = {0};
      for (int i = 0; i < rank; i++)
        sb_printf(&a, "%s%lld", i ? "," : "", (long long)dims[i]);
      for (int i = 0; i < t->rank; i++)
        sb_printf(&b, "%s%lld", i ? "," : "", (long long)t->dims[i]);
      dsl_error(c->prog, at, "parameter '%s' is [%s] in the model but [%s] in %s", name,
                a.buf ? a.buf : "", b.buf ? b.buf : "", c->weights_path);
      sb_free(&a);
      sb_free(&b);
      return -1;
    }
    memcpy(data, t->data, (size_t)n * 4);
    return v;
  }
  uint64_t s = c->seed ^ cd_hash_bytes(0, name, strlen(name));
  int64_t fan_in = rank > 1 ? n / dims[0] : 1;
  float scale = sqrtf(3.0f / (float)(fan_in > 0 ? fan_in : 1));
  for (int64_t i = 0; i < n; i++) {
    float u = (float)((splitmix(&s) >> 40) / (double)(1 << 24)) * 2.0f - 1.0f; /* [-1, 1) */
    switch (kind) {
    case 0: data[i] = u * scale; break;
    case 1: data[i] = 1.0f + 0.25f * u; break;
    case 2: data[i] = 0.1f * u; break;
    default: data[i] = 1.0f + 0.5f * (u + 1.0f) / 2.0f; break;
    }
  }
  return v;
}

/* ------------------------------------------------------------ calls */

typedef struct {
  const char *name;
  DVal v;
  SrcLoc loc;
  bool used;
} Arg;

/* Arguments of one call: kept small, since calls nest on the C stack (a
 * list argument carries any number of tensors). */
#define MAX_ARGS 16

typedef struct {
  Arg pos[MAX_ARGS];
  int npos;
  Arg kw[MAX_ARGS];
  int nkw;
  SrcLoc at;            /* the call */
  const char *callee;
} Args;

static Arg *kwarg(Args *a, const char *name) {
  for (int i = 0; i < a->nkw; i++)
    if (!strcmp(a->kw[i].name, name)) {
      a->kw[i].used = true;
      return &a->kw[i];
    }
  return NULL;
}

/* A numeric keyword argument: an int (integral) or any number. */
static bool kw_number(Ctx *c, Args *a, const char *name, bool integral, double dflt,
                      double *out) {
  Arg *k = kwarg(a, name);
  *out = dflt;
  if (!k)
    return true;
  if (k->v.k == V_ERR)
    return false;
  bool ok = k->v.k == V_INT || k->v.k == V_BOOL || (!integral && k->v.k == V_FLOAT);
  if (!ok) {
    dsl_error(c->prog, k->loc, "%s: argument %s must be %s, not a %s", a->callee, name,
              integral ? "an int" : "a number", kind_name(k->v.k));
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
    dsl_error(c->prog, a->pos[i].loc, "%s: argument %d must be a tensor, not a %s",
              a->callee, i + 1, kind_name(v.k));
    return false;
  }
  a->pos[i].used = true;
  *t = v.t;
  return true;
}

static bool check_arity(Ctx *c, Args *a, int min, int max) {
  if (a->npos < min || a->npos > max) {
    if (min == max)
      dsl_error(c->prog, a->at, "%s takes %d positional argument%s, got %d", a->callee, min,
                min == 1 ? "" : "s", a->npos);
    else
      dsl_error(c->prog, a->at, "%s takes %d to %d positional arguments, got %d",
                a->callee, min, max, a->npos);
    return false;
  }
  return true;
}

/* Reports keyword arguments nobody read. */
static bool check_kwargs(Ctx *c, Args *a) {
  bool ok = true;
  for (int i = 0; i < a->nkw; i++)
    if (!a->kw[i].used) {
      dsl_error(c->prog, a->kw[i].loc, "%s has no argument named '%s'", a->callee,
                a->kw[i].name);
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
  int64_t out, groups, bias;
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
      !kw_int(c, a, "groups", 1, &groups) || !kw_int(c, a, "bias", 1, &bias) ||
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
  int w = param(c, a->at, pname(c, label, "weight"), 2 + nsp, wd);
  int b = bias ? param(c, a->at, pname(c, label, "bias"), 1, &out) : -1;
  if (w < 0 || (bias && b < 0))
    return ERR;
  int64_t pads[6];
  AttrInit at[5];
  spatial_attrs(at, nsp, k, s, p, pads);
  at[3] = (AttrInit){"dilations", AT_INTS, .count = nsp, .ints = dl};
  at[4] = (AttrInit){"group", AT_INT, .i = groups};
  int ins[3] = {x, w, b};
  int y = make_node(c, a->at, "Conv", label, bias ? 3 : 2, ins, 5, at);
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
  int ins[5] = {x, param(c, a->at, pname(c, label, "weight"), 1, &C),
                param(c, a->at, pname(c, label, "bias"), 1, &C),
                param(c, a->at, pname(c, label, "running_mean"), 1, &C),
                param(c, a->at, pname(c, label, "running_var"), 1, &C)};
  for (int i = 1; i < 5; i++)
    if (ins[i] < 0)
      return ERR;
  AttrInit at[1] = {{"epsilon", AT_FLOAT, .f = (float)eps}};
  int y = make_node(c, a->at, "BatchNormalization", label, 5, ins, 1, at);
  return y < 0 ? ERR : vtensor(y);
}

/* linear(x, out, bias=true): torch's Linear, y = x W^T + b */
static DVal lay_linear(Ctx *c, Args *a, const char *label) {
  int x;
  int64_t out, bias;
  if (!check_arity(c, a, 2, 2) || !want_tensor(c, a, 0, &x) ||
      !as_int(c, a->pos[1].v, a->pos[1].loc, "linear: the output size", &out) ||
      !kw_int(c, a, "bias", 1, &bias) || !check_kwargs(c, a))
    return ERR;
  const Value *xv = &c->g->values[x];
  if (xv->rank != 2 || out < 1) {
    dsl_error(c->prog, a->at, "linear: input must be [N, features] (flatten first), got rank %d",
              xv->rank);
    return ERR;
  }
  int64_t wd[2] = {out, xv->dims[1]};
  int ins[3] = {x, param(c, a->at, pname(c, label, "weight"), 2, wd),
                bias ? param(c, a->at, pname(c, label, "bias"), 1, &out) : -1};
  if (ins[1] < 0 || (bias && ins[2] < 0))
    return ERR;
  AttrInit at[1] = {{"transB", AT_INT, .i = 1}};
  int y = make_node(c, a->at, "Gemm", label, bias ? 3 : 2, ins, 1, at);
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
  int64_t k[3], s[3], p[3], ceil_mode, cip = 1;
  if (!kwarg(a, "k")) {
    dsl_error(c->prog, a->at, "%s: needs the window size k=", a->callee);
    return ERR;
  }
  if (!kw_ints(c, a, "k", nsp, 1, k))
    return ERR;
  Arg *sa = kwarg(a, "stride");
  if (sa) {
    if (!kw_ints(c, a, "stride", nsp, 1, s))
      return ERR;
  } else
    memcpy(s, k, sizeof s);
  if (!kw_ints(c, a, "pad", nsp, 0, p) || !kw_int(c, a, "ceil", 0, &ceil_mode) ||
      (!max && !kw_int(c, a, "count_include_pad", 1, &cip)) || !check_kwargs(c, a))
    return ERR;
  int64_t pads[6];
  AttrInit at[5];
  spatial_attrs(at, nsp, k, s, p, pads);
  at[3] = (AttrInit){"ceil_mode", AT_INT, .i = ceil_mode};
  at[4] = (AttrInit){"count_include_pad", AT_INT, .i = cip};
  int y = make_node(c, a->at, max ? "MaxPool" : "AveragePool", label, 1, &x, max ? 4 : 5, at);
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
    dsl_error(c->prog, k->loc, "attribute %s cannot be a %s", k->name, kind_name(v.k));
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
    return check_arity(c, a, info->min_in, info->max_in >= 0 ? info->max_in : 64), ERR;
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
      dsl_error(c->prog, a->pos[i].loc, "%s: argument %d must be a tensor, not a %s",
                a->callee, i + 1, kind_name(v.k));
      return ERR;
    }
  }
  if (n < info->min_in) {
    dsl_error(c->prog, a->at, "%s needs at least %d inputs", a->callee, info->min_in);
    return ERR;
  }
  AttrInit at[MAX_ARGS];
  memset(at, 0, sizeof at);
  for (int i = 0; i < a->nkw; i++) {
    a->kw[i].used = true;
    if (!to_attr(c, &a->kw[i], &at[i]))
      return ERR;
  }
  int y = make_node(c, a->at, info->name, label, n, ins, a->nkw, at);
  return y < 0 ? ERR : vtensor(y);
}

static DVal call_block(Ctx *c, Frame *f, const DslDef *def, Args *a, const char *label);

/* The lowercase convenience `name` of a table op (the DSL-name column of
 * ops.def), or OP_COUNT. */
static OpKind dsl_simple_op(const char *name) {
  for (int i = 0; i < OP_COUNT; i++)
    if (op_table[i].dsl_name[0] && !strcmp(op_table[i].dsl_name, name))
      return (OpKind)i;
  return OP_COUNT;
}

static DVal call(Ctx *c, Frame *f, Ast *call_ast, const char *label, DVal *chained) {
  Args a = {.at = call_ast->loc, .callee = call_ast->s};
  if (chained) {
    a.pos[0] = (Arg){NULL, *chained, call_ast->loc, false};
    a.npos = 1;
  }
  bool bad = chained && chained->k == V_ERR;
  for (int i = 0; i < call_ast->list.n; i++) {
    Ast *arg = call_ast->list.v[i];
    if (arg->kind == A_KWARG) {
      if (a.nkw == MAX_ARGS) {
        dsl_error(c->prog, arg->loc, "too many keyword arguments");
        return ERR;
      }
      a.kw[a.nkw++] = (Arg){arg->s, eval(c, f, arg->a), arg->loc, false};
      bad |= a.kw[a.nkw - 1].v.k == V_ERR;
    } else {
      if (a.nkw) {
        dsl_error(c->prog, arg->loc, "a positional argument after keyword arguments");
        return ERR;
      }
      if (a.npos == MAX_ARGS) {
        dsl_error(c->prog, arg->loc, "too many arguments");
        return ERR;
      }
      a.pos[a.npos++] = (Arg){NULL, eval(c, f, arg), arg->loc, false};
      bad |= a.pos[a.npos - 1].v.k == V_ERR;
    }
  }
  if (bad)
    return ERR;
  const char *name = call_ast->s;
  /* Labels default to the layer kind and a counter. */
  const char *lab = label ? label : arena_printf(&c->g->arena, "%s_%d", name, c->autoname++);
  const char *full = arena_printf(&c->g->arena, "%s%s", f->scope, lab);
  const DslDef *blk = namemap_get(&c->blocks, name);
  if (blk)
    return call_block(c, f, blk, &a, label);
  if (!strcmp(name, "conv"))
    return lay_conv(c, &a, full);
  if (!strcmp(name, "bn"))
    return lay_bn(c, &a, full);
  if (!strcmp(name, "linear"))
    return lay_linear(c, &a, full);
  if (!strcmp(name, "maxpool") || !strcmp(name, "avgpool"))
    return lay_pool(c, &a, full, name[0] == 'm');
  if (!strcmp(name, "param")) {
    /* param("name", [dims]): a named parameter tensor */
    if (!check_arity(c, &a, 2, 2) || !check_kwargs(c, &a))
      return ERR;
    if (a.pos[0].v.k != V_STR || a.pos[1].v.k != V_LIST || a.pos[1].v.n > CD_MAX_RANK) {
      dsl_error(c->prog, a.at, "param takes a name and a list of dims");
      return ERR;
    }
    int64_t dims[CD_MAX_RANK];
    for (int i = 0; i < a.pos[1].v.n; i++) {
      if (a.pos[1].v.items[i].k != V_INT || a.pos[1].v.items[i].i < 1) {
        dsl_error(c->prog, a.pos[1].loc, "param: dims must be positive ints");
        return ERR;
      }
      dims[i] = a.pos[1].v.items[i].i;
    }
    const char *pn = label ? arena_printf(&c->g->arena, "%s.%s", full, a.pos[0].v.s)
                           : arena_printf(&c->g->arena, "%s%s", f->scope, a.pos[0].v.s);
    int t = param(c, a.at, pn, a.pos[1].v.n, dims);
    return t < 0 ? ERR : vtensor(t);
  }
  if (!strcmp(name, "len")) {
    if (!check_arity(c, &a, 1, 1) || !check_kwargs(c, &a))
      return ERR;
    if (a.pos[0].v.k == V_LIST)
      return vint(a.pos[0].v.n);
    if (a.pos[0].v.k == V_TENSOR)
      return vint(tv(c, a.pos[0].v)->rank);
    dsl_error(c->prog, a.pos[0].loc, "len needs a list or a tensor");
    return ERR;
  }
  if (!strcmp(name, "min") || !strcmp(name, "max")) {
    int64_t x, y;
    if (!check_arity(c, &a, 2, 2) || !check_kwargs(c, &a) ||
        !as_int(c, a.pos[0].v, a.pos[0].loc, name, &x) ||
        !as_int(c, a.pos[1].v, a.pos[1].loc, name, &y))
      return ERR;
    return vint(name[1] == 'i' ? (x < y ? x : y) : (x > y ? x : y));
  }
  if (!strcmp(name, "concat") || !strcmp(name, "sum")) {
    Arg *ax = !strcmp(name, "concat") ? kwarg(&a, "axis") : NULL;
    AttrInit at[1] = {{"axis", AT_INT, .i = ax && ax->v.k == V_INT ? ax->v.i : 1}};
    if (ax && ax->v.k != V_INT) {
      dsl_error(c->prog, ax->loc, "concat: axis must be an int");
      return ERR;
    }
    if (!check_kwargs(c, &a))
      return ERR;
    int n = 0, cap = 0;
    for (int i = 0; i < a.npos; i++)
      cap += a.pos[i].v.k == V_LIST ? a.pos[i].v.n : 1;
    int *ins = arena_alloc(&c->g->arena, sizeof(int) * (size_t)(cap + 1));
    for (int i = 0; i < a.npos; i++) {
      DVal v = a.pos[i].v;
      if (v.k == V_LIST) {
        for (int j = 0; j < v.n; j++) {
          if (v.items[j].k != V_TENSOR) {
            dsl_error(c->prog, a.pos[i].loc, "%s: the list must hold tensors", name);
            return ERR;
          }
          ins[n++] = v.items[j].t;
        }
      } else if (v.k == V_TENSOR) {
        ins[n++] = v.t;
      } else {
        dsl_error(c->prog, a.pos[i].loc, "%s takes tensors or lists of tensors", name);
        return ERR;
      }
    }
    if (n < 1) {
      dsl_error(c->prog, a.at, "%s of nothing", name);
      return ERR;
    }
    int y = make_node(c, a.at, name[0] == 'c' ? "Concat" : "Sum", full, n, ins,
                      name[0] == 'c' ? 1 : 0, at);
    return y < 0 ? ERR : vtensor(y);
  }
  if (!strcmp(name, "clip")) {
    int x;
    double lo, hi;
    if (!check_arity(c, &a, 1, 1) || !want_tensor(c, &a, 0, &x) ||
        !kw_float(c, &a, "min", -INFINITY, &lo) || !kw_float(c, &a, "max", INFINITY, &hi) ||
        !check_kwargs(c, &a))
      return ERR;
    int ins[3] = {x, -1, -1};
    int64_t scalar_dims[1] = {1};
    for (int i = 0; i < 2; i++) {
      float bound = (float)(i ? hi : lo);
      int b = graph_add_const(c->g, "", 0, scalar_dims);
      *(float *)c->g->values[b].data = bound;
      ins[1 + i] = b;
    }
    int y = make_node(c, a.at, "Clip", full, 3, ins, 0, NULL);
    return y < 0 ? ERR : vtensor(y);
  }
  OpKind op = dsl_simple_op(name);
  if (op != OP_COUNT) {
    a.callee = op_table[op].name;
    return onnx_op(c, &a, full, op);
  }
  op = op_lookup(name, "");
  if (op != OP_COUNT && !(op_table[op].flags & OPF_SHAPE) && op != OP_CONSTANT)
    return onnx_op(c, &a, full, op);
  dsl_error(c->prog, call_ast->loc, "undefined block or op '%s'", name);
  return ERR;
}

static DVal call_block(Ctx *c, Frame *f, const DslDef *def, Args *a, const char *label) {
  if (c->depth >= 64) {
    dsl_error(c->prog, a->at, "blocks nest deeper than 64 calls (recursion?)");
    return ERR;
  }
  Frame nf = {.def = def, .call = a->at, .parent = f};
  nf.scope = label ? arena_printf(&c->g->arena, "%s%s.", f->scope, label) : f->scope;
  if (a->npos > def->nparams) {
    dsl_error(c->prog, a->at, "block '%s' takes %d argument%s, got %d", def->name,
              def->nparams, def->nparams == 1 ? "" : "s", a->npos);
    return ERR;
  }
  bool ok = true;
  for (int i = 0; i < def->nparams; i++) {
    const DslParam *p = &def->params[i];
    Arg *k = kwarg(a, p->name);
    if (i < a->npos && k) {
      dsl_error(c->prog, k->loc, "argument '%s' of block '%s' given twice", p->name, def->name);
      ok = false;
    } else if (i < a->npos) {
      bind(c, &nf, p->name, a->pos[i].v);
    } else if (k) {
      bind(c, &nf, p->name, k->v);
    } else if (p->dflt) {
      bind(c, &nf, p->name, eval(c, &nf, p->dflt));
    } else {
      dsl_error(c->prog, a->at, "block '%s' needs argument '%s'", def->name, p->name);
      ok = false;
    }
  }
  for (int i = 0; i < a->nkw; i++)
    if (!a->kw[i].used) {
      dsl_error(c->prog, a->kw[i].loc, "block '%s' has no parameter '%s'", def->name,
                a->kw[i].name);
      ok = false;
    }
  if (!ok)
    return ERR;
  c->depth++;
  int errors = c->prog->nerrors;
  exec_body(c, &nf, def->body);
  c->depth--;
  if (c->prog->nerrors > errors && c->depth < 8) {
    /* Say where the failing block was used, once per level. */
    const char *file = c->prog->files[a->at.file];
    StrBuf sb = {0};
    sb_printf(&sb, "%s:%d:%d: note: in block '%s' called here\n", file, a->at.line, a->at.col,
              def->name);
    if (!c->d->quiet)
      fputs(sb.buf, stderr);
    sb_putn(&c->d->log, sb.buf, sb.len);
    sb_free(&sb);
  }
  return nf.returned ? nf.ret : NONE;
}

/* ------------------------------------------------------------ expressions */

/* The label text of `label: call`: a.b.0 or layer1[i]. */
static const char *label_text(Ctx *c, Frame *f, Ast *a) {
  switch (a->kind) {
  case A_NAME: return a->s;
  case A_INT: return arena_printf(&c->g->arena, "%lld", (long long)a->i);
  case A_LIST: /* [i]: a label computed from a value, e.g. in a loop */
    if (a->list.n == 1) {
      DVal v = eval(c, f, a->list.v[0]);
      if (v.k == V_INT)
        return arena_printf(&c->g->arena, "%lld", (long long)v.i);
      if (v.k == V_STR)
        return v.s;
      if (v.k != V_ERR)
        dsl_error(c->prog, a->loc, "a label index must be an int or a string");
      return NULL;
    }
    break;
  case A_MEMBER: {
    const char *l = label_text(c, f, a->a);
    return l ? arena_printf(&c->g->arena, "%s.%s", l, a->s) : NULL;
  }
  case A_MEMBER_INT: {
    const char *l = label_text(c, f, a->a);
    return l ? arena_printf(&c->g->arena, "%s.%lld", l, (long long)a->i) : NULL;
  }
  case A_INDEX: {
    const char *l = label_text(c, f, a->a);
    DVal v = eval(c, f, a->b);
    if (!l || v.k == V_ERR)
      return NULL;
    if (v.k == V_INT)
      return arena_printf(&c->g->arena, "%s.%lld", l, (long long)v.i);
    if (v.k == V_STR)
      return arena_printf(&c->g->arena, "%s.%s", l, v.s);
    dsl_error(c->prog, a->b->loc, "a label index must be an int or a string");
    return NULL;
  }
  default:
    break;
  }
  dsl_error(c->prog, a->loc, "a label is a name path like layer1.0.conv1, layer1[i] or [i]");
  return NULL;
}

static DVal eval_labeled(Ctx *c, Frame *f, Ast *a, DVal *chained) {
  if (a->kind == A_CALL)
    return call(c, f, a, NULL, chained);
  if (a->kind == A_LABELED) {
    const char *l = label_text(c, f, a->a);
    if (!l)
      return ERR;
    return call(c, f, a->b, l, chained);
  }
  dsl_error(c->prog, a->loc, "'->' must be followed by a call, like -> relu()");
  return ERR;
}

static DVal tensor_binop(Ctx *c, SrcLoc at, int op, DVal x, DVal y) {
  const char *name = op == '+' ? "Add" : op == '-' ? "Sub" : op == '*' ? "Mul" : op == '/' ? "Div" : NULL;
  if (!name) {
    dsl_error(c->prog, at, "this operator does not apply to tensors");
    return ERR;
  }
  int ins[2];
  DVal v[2] = {x, y};
  for (int i = 0; i < 2; i++) {
    if (v[i].k == V_TENSOR) {
      ins[i] = v[i].t;
    } else {
      double num;
      if (!as_number(c, v[i], at, "a tensor operand", &num))
        return ERR;
      int64_t scalar_dims[1] = {1};
      ins[i] = graph_add_const(c->g, "", 0, scalar_dims);
      *(float *)c->g->values[ins[i]].data = (float)num;
    }
  }
  int t = make_node(c, at, name, NULL, 2, ins, 0, NULL);
  return t < 0 ? ERR : vtensor(t);
}

/* A comparison operator applied to cmp = sign(p - q). */
static DVal compare_op(int op, int cmp) {
  switch (op) {
  case EQ: return vbool(cmp == 0);
  case NE: return vbool(cmp != 0);
  case '<': return vbool(cmp < 0);
  case LE: return vbool(cmp <= 0);
  case '>': return vbool(cmp > 0);
  default: return vbool(cmp >= 0); /* GE */
  }
}

static DVal binop(Ctx *c, Frame *f, Ast *a) {
  DVal x = eval(c, f, a->a);
  if (a->op == AND || a->op == OR) { /* short-circuit */
    bool bx, by;
    if (!truthy(c, x, a->a->loc, &bx))
      return ERR;
    if (a->op == AND ? !bx : bx)
      return vbool(bx);
    DVal y = eval(c, f, a->b);
    if (!truthy(c, y, a->b->loc, &by))
      return ERR;
    return vbool(by);
  }
  DVal y = eval(c, f, a->b);
  if (x.k == V_ERR || y.k == V_ERR)
    return ERR;
  if (x.k == V_TENSOR || y.k == V_TENSOR)
    return tensor_binop(c, a->loc, a->op, x, y);
  if (a->op == '+' && x.k == V_STR && y.k == V_STR)
    return (DVal){.k = V_STR, .s = arena_printf(&c->g->arena, "%s%s", x.s, y.s)};
  if ((a->op == EQ || a->op == NE) && (x.k == V_STR || y.k == V_STR)) {
    bool eq = x.k == y.k && !strcmp(x.s, y.s);
    return vbool(a->op == EQ ? eq : !eq);
  }
  if (x.k == V_INT && y.k == V_INT) {
    int64_t p = x.i, q = y.i, r = 0;
    bool over = false;
    switch (a->op) {
    case '+': over = __builtin_add_overflow(p, q, &r); break;
    case '-': over = __builtin_sub_overflow(p, q, &r); break;
    case '*': over = __builtin_mul_overflow(p, q, &r); break;
    case '/': case '%':
      if (q == 0) {
        dsl_error(c->prog, a->loc, "division by zero");
        return ERR;
      }
      over = p == INT64_MIN && q == -1;
      r = over ? 0 : a->op == '/' ? p / q : p % q;
      break;
    default: return compare_op(a->op, (p > q) - (p < q));
    }
    if (over) {
      dsl_error(c->prog, a->loc, "integer overflow");
      return ERR;
    }
    return vint(r);
  }
  double p, q;
  if (!as_number(c, x, a->a->loc, "an operand", &p) || !as_number(c, y, a->b->loc, "an operand", &q))
    return ERR;
  switch (a->op) {
  case '+': return vfloat(p + q);
  case '-': return vfloat(p - q);
  case '*': return vfloat(p * q);
  case '/': return vfloat(p / q);
  case EQ: case NE: case '<': case LE: case '>': case GE:
    if (p != p || q != q) /* NaN: unordered, only != holds */
      return vbool(a->op == NE);
    return compare_op(a->op, (p > q) - (p < q));
  default:
    dsl_error(c->prog, a->loc, "'%%' needs ints");
    return ERR;
  }
}

static bool range(Ctx *c, Frame *f, Ast *lo, Ast *hi, int64_t *a, int64_t *b) {
  if (!as_int(c, eval(c, f, lo), lo->loc, "a range start", a) ||
      !as_int(c, eval(c, f, hi), hi->loc, "a range end", b))
    return false;
  int64_t steps;
  if (!ck_sub(*b, *a, &steps) || steps > 100000) {
    dsl_error(c->prog, hi->loc, "a range of more than 100000 steps");
    return false;
  }
  return true;
}

static DVal eval_node(Ctx *c, Frame *f, Ast *a);

/* Every evaluation passes here: nested calls and expressions share one
 * budget, so no program can run the evaluator off the end of the stack. */
static DVal eval(Ctx *c, Frame *f, Ast *a) {
  /* Depth counts levels; the frames of a level differ in size (a call's
   * arguments, a sanitizer's redzones), so the stack itself is measured
   * too: both limits stay far from the end of the C stack. */
  const char *sp = __builtin_frame_address(0);
  if (c->edepth >= 1500 || c->stack0 - sp > DSL_MAX_STACK) {
    if (!c->too_deep)
      dsl_error(c->prog, a->loc, "evaluation nests deeper than %s",
                c->edepth >= 1500 ? "1500 levels" : "the evaluator's stack allows");
    c->too_deep = true;
    return ERR;
  }
  if (++c->steps > c->g->limits.dsl_steps) {
    if (!c->too_long)
      dsl_error(c->prog, a->loc, "evaluation takes more than %lld steps (loops nested too "
                "deep?)", (long long)c->g->limits.dsl_steps);
    c->too_long = true;
    return ERR;
  }
  c->edepth++;
  DVal v = eval_node(c, f, a);
  c->edepth--;
  return v;
}

static DVal eval_node(Ctx *c, Frame *f, Ast *a) {
  switch (a->kind) {
  case A_INT: return vint(a->i);
  case A_FLOAT: return vfloat(a->f);
  case A_BOOL: return vbool(a->i != 0);
  case A_STR: return (DVal){.k = V_STR, .s = a->s};
  case A_NAME: {
    DVal *v = lookup(f, a->s); /* a block sees only its own frame */
    if (v)
      return *v;
    if (!a->i) /* not already reported by check_names */
      dsl_error(c->prog, a->loc, "undefined name '%s'", a->s);
    bind(c, f, a->s, ERR); /* report once */
    return ERR;
  }
  case A_LIST: {
    DVal l = {.k = V_LIST, .n = a->list.n};
    l.items = arena_alloc(&c->g->arena, sizeof(DVal) * (size_t)(a->list.n + 1));
    for (int i = 0; i < a->list.n; i++) {
      l.items[i] = eval(c, f, a->list.v[i]);
      if (l.items[i].k == V_ERR)
        return ERR;
    }
    return l;
  }
  case A_COMP: {
    int64_t lo, hi;
    if (!range(c, f, a->b, a->c, &lo, &hi))
      return ERR;
    DVal l = {.k = V_LIST, .n = hi > lo ? (int)(hi - lo) : 0};
    l.items = arena_alloc(&c->g->arena, sizeof(DVal) * (size_t)(l.n + 1));
    DVal *saved = lookup(f, a->s);
    DVal keep = saved ? *saved : NONE;
    for (int64_t i = lo; i < hi; i++) {
      bind(c, f, a->s, vint(i));
      l.items[i - lo] = eval(c, f, a->a);
      if (l.items[i - lo].k == V_ERR)
        return ERR;
    }
    if (saved)
      bind(c, f, a->s, keep);
    return l;
  }
  case A_BINOP: return binop(c, f, a);
  case A_NEG: {
    DVal x = eval(c, f, a->a);
    if (x.k == V_INT && x.i == INT64_MIN) {
      dsl_error(c->prog, a->loc, "integer overflow");
      return ERR;
    }
    if (x.k == V_INT)
      return vint(-x.i);
    if (x.k == V_FLOAT)
      return vfloat(-x.f);
    if (x.k == V_TENSOR)
      return tensor_binop(c, a->loc, '-', vint(0), x);
    if (x.k != V_ERR)
      dsl_error(c->prog, a->loc, "cannot negate a %s", kind_name(x.k));
    return ERR;
  }
  case A_NOT: {
    bool b;
    return truthy(c, eval(c, f, a->a), a->a->loc, &b) ? vbool(!b) : ERR;
  }
  case A_IFEXPR: {
    bool b;
    if (!truthy(c, eval(c, f, a->a), a->a->loc, &b))
      return ERR;
    return eval(c, f, b ? a->b : a->c);
  }
  case A_CALL: return call(c, f, a, NULL, NULL);
  case A_LABELED: return eval_labeled(c, f, a, NULL);
  case A_CHAIN: {
    DVal x = eval(c, f, a->a);
    return eval_labeled(c, f, a->b, &x);
  }
  case A_MEMBER: {
    DVal x = eval(c, f, a->a);
    if (x.k == V_ERR)
      return ERR;
    if (x.k == V_TENSOR && !strcmp(a->s, "shape")) {
      const Value *v = tv(c, x);
      DVal l = {.k = V_LIST, .n = v->rank};
      l.items = arena_alloc(&c->g->arena, sizeof(DVal) * (size_t)(v->rank + 1));
      for (int i = 0; i < v->rank; i++)
        l.items[i] = vint(v->dims[i]);
      return l;
    }
    if (x.k == V_TENSOR && !strcmp(a->s, "rank"))
      return vint(tv(c, x)->rank);
    dsl_error(c->prog, a->loc, "a %s has no member '%s' (tensors have .shape and .rank)",
              kind_name(x.k), a->s);
    return ERR;
  }
  case A_MEMBER_INT:
    dsl_error(c->prog, a->loc, "'.%lld' is only valid in a label", (long long)a->i);
    return ERR;
  case A_INDEX: {
    DVal x = eval(c, f, a->a);
    int64_t i;
    if (x.k == V_ERR || !as_int(c, eval(c, f, a->b), a->b->loc, "an index", &i))
      return ERR;
    if (x.k != V_LIST) {
      dsl_error(c->prog, a->loc, "cannot index a %s", kind_name(x.k));
      return ERR;
    }
    if (i < 0)
      i += x.n;
    if (i < 0 || i >= x.n) {
      dsl_error(c->prog, a->b->loc, "index out of range (the list has %d items)", x.n);
      return ERR;
    }
    return x.items[i];
  }
  default:
    dsl_error(c->prog, a->loc, "a statement where a value is expected");
    return ERR;
  }
}

/* ------------------------------------------------------------ statements */

static void exec_body(Ctx *c, Frame *f, Ast *body) {
  for (int i = 0; i < body->list.n && !f->returned; i++) {
    Ast *s = body->list.v[i];
    switch (s->kind) {
    case A_ASSIGN: bind(c, f, s->s, eval(c, f, s->a)); break;
    case A_IF: {
      bool b;
      if (truthy(c, eval(c, f, s->a), s->a->loc, &b)) {
        if (b)
          exec_body(c, f, s->b);
        else if (s->c && s->c->kind == A_BODY)
          exec_body(c, f, s->c);
        else if (s->c) {
          Ast wrap = {.kind = A_BODY};
          wrap.list.v = &s->c;
          wrap.list.n = 1;
          exec_body(c, f, &wrap);
        }
      }
      break;
    }
    case A_FOR: {
      int64_t lo, hi;
      if (!range(c, f, s->a, s->b, &lo, &hi))
        break;
      for (int64_t k = lo; k < hi && !f->returned; k++) {
        bind(c, f, s->s, vint(k));
        int errors = c->prog->nerrors;
        exec_body(c, f, s->c);
        if (c->prog->nerrors > errors)
          break; /* the same mistake would repeat on every iteration */
      }
      break;
    }
    case A_RETURN:
      if (s->list.n == 1) {
        f->ret = eval(c, f, s->list.v[0]);
      } else {
        DVal l = {.k = V_LIST, .n = s->list.n};
        l.items = arena_alloc(&c->g->arena, sizeof(DVal) * (size_t)(s->list.n + 1));
        for (int k = 0; k < s->list.n; k++)
          l.items[k] = eval(c, f, s->list.v[k]);
        f->ret = l;
      }
      f->returned = true;
      break;
    default:
      dsl_error(c->prog, s->loc, "not a statement");
    }
  }
}

/* ------------------------------------------------------------ names */

typedef NameMap NameSet; /* name -> itself */

static void names_add(Ctx *c, NameSet *s, const char *name) {
  namemap_put(s, &c->g->arena, name, (void *)name);
}

static bool names_has(const NameSet *s, const char *name) {
  return namemap_get(s, name) != NULL;
}

static void collect_defs(Ctx *c, Ast *a, NameSet *s) {
  if (!a)
    return;
  if (a->kind == A_ASSIGN || a->kind == A_FOR || a->kind == A_COMP)
    names_add(c, s, a->s);
  collect_defs(c, a->a, s);
  collect_defs(c, a->b, s);
  collect_defs(c, a->c, s);
  for (int i = 0; i < a->list.n; i++)
    collect_defs(c, a->list.v[i], s);
}

static void check_uses(Ctx *c, Ast *a, const NameSet *s) {
  if (!a)
    return;
  if (a->kind == A_NAME && !names_has(s, a->s)) {
    dsl_error(c->prog, a->loc, "undefined name '%s'", a->s);
    a->i = 1;
  }
  if (a->kind == A_LABELED) { /* a label is a path, not a use; its [index] is */
    for (Ast *l = a->a; l; l = l->a) {
      if (l->kind == A_INDEX)
        check_uses(c, l->b, s);
      if (l->kind == A_LIST)
        for (int i = 0; i < l->list.n; i++)
          check_uses(c, l->list.v[i], s);
    }
    check_uses(c, a->b, s);
    return;
  }
  if (a->kind == A_KWARG) { /* the key is not a use */
    check_uses(c, a->a, s);
    return;
  }
  check_uses(c, a->a, s);
  check_uses(c, a->b, s);
  check_uses(c, a->c, s);
  for (int i = 0; i < a->list.n; i++)
    check_uses(c, a->list.v[i], s);
}

/* Every name a definition reads must be a parameter or assigned somewhere
 * in it: typos in blocks are reported even if no call reaches them. */
static void check_names(Ctx *c, const DslDef *def) {
  NameSet s = {0};
  for (int i = 0; i < def->nparams; i++)
    names_add(c, &s, def->params[i].name);
  collect_defs(c, def->body, &s);
  for (int i = 0; i < def->nparams; i++)
    if (def->params[i].dflt)
      check_uses(c, def->params[i].dflt, &s);
  check_uses(c, def->body, &s);
}

/* ------------------------------------------------------------ the model */

bool dsl_load(Graph *g, const char *path, const DslOptions *o, Diag *d) {
  DslProgram prog = {.arena = &g->arena, .d = d};
  g->source = arena_strdup(&g->arena, path);
  uint8_t *bytes;
  size_t n;
  if (cd_read_file(path, &bytes, &n)) {
    g->hash = cd_hash_bytes(0, bytes, n);
    free(bytes);
  }
  if (!dsl_parse_file(&prog, path))
    return false;
  const DslDef *model = NULL;
  NameMap names = {0}, blocks = {0};
  for (int i = 0; i < prog.ndefs; i++) {
    DslDef *def = &prog.defs[i];
    dsl_check_depth(&prog, def->body, DSL_MAX_DEPTH);
    for (int k = 0; k < def->nparams; k++)
      dsl_check_depth(&prog, def->params[k].dflt, DSL_MAX_DEPTH);
    if (namemap_get(&names, def->name))
      dsl_error(&prog, def->loc, "'%s' is defined twice", def->name);
    else
      namemap_put(&names, &g->arena, def->name, def);
    if (!def->is_model && namemap_get(&blocks, def->name) == NULL)
      namemap_put(&blocks, &g->arena, def->name, def);
    if (def->is_model) {
      if (model)
        dsl_error(&prog, def->loc, "a second model '%s' (one model per program)", def->name);
      else
        model = def;
    }
  }
  if (!model && !prog.nerrors) {
    diag_error(d, "no model in the program (a 'model NAME(x: f32[...]) { ... }' is needed)");
    return false;
  }
  if (prog.nerrors)
    return false;
  SafeTensors st = {0};
  Ctx c = {.prog = &prog, .g = g, .d = d, .seed = o ? o->seed : 0,
           .weights_path = o ? o->weights : NULL, .stack0 = __builtin_frame_address(0),
           .blocks = blocks};
  if (o && o->weights) {
    if (!safetensors_open(&st, o->weights, d))
      return false;
    c.st = &st;
  }
  for (int i = 0; i < prog.ndefs; i++)
    check_names(&c, &prog.defs[i]);
  g->inputs = arena_alloc(&g->arena, sizeof(int) * (size_t)(model->nparams + 1));
  Frame top = {.scope = "", .def = model};
  for (int i = 0; i < model->nparams; i++) {
    const DslParam *p = &model->params[i];
    int v = graph_add_value(g, p->name);
    int64_t dims[CD_MAX_RANK];
    for (int k = 0; k < p->rank; k++) {
      dims[k] = p->dims[k];
      if (dims[k] < 1)
        dsl_error(&prog, p->loc, "input '%s': dims must be positive", p->name);
    }
    value_set_shape(&g->values[v], DT_FLOAT, p->rank, dims);
    char why[160];
    if (!prog.nerrors && !value_size_ok(g, &g->values[v], why, sizeof why))
      dsl_error(&prog, p->loc, "input '%s' is too large: %s", p->name, why);
    g->values[v].is_input = true;
    g->inputs[g->ninputs++] = v;
    bind(&c, &top, p->name, vtensor(v));
  }
  exec_body(&c, &top, model->body);
  if (!prog.nerrors) {
    DVal r = top.ret;
    int nret = r.k == V_LIST ? r.n : 1;
    g->outputs = arena_alloc(&g->arena, sizeof(int) * (size_t)(nret + 1));
    for (int i = 0; i < nret; i++) {
      DVal v = r.k == V_LIST ? r.items[i] : r;
      if (v.k != V_TENSOR) {
        dsl_error(&prog, model->loc, "model '%s' must return tensors (returns a %s)",
                  model->name, kind_name(v.k));
        break;
      }
      if (g->values[v.t].is_output || g->values[v.t].data || g->values[v.t].is_input) {
        /* An output must be a distinct computed tensor: copy it. */
        int t = make_node(&c, model->loc, "Identity", NULL, 1, &v.t, 0, NULL);
        v.t = t;
      }
      if (v.t < 0)
        break;
      g->values[v.t].is_output = true;
      g->values[v.t].name = arena_printf(&g->arena, nret == 1 ? "output" : "output%d", i);
      g->outputs[g->noutputs++] = v.t;
    }
  }
  if (c.st && !prog.nerrors) {
    for (int i = 0; i < st.n; i++) {
      size_t L = strlen(st.t[i].name);
      if (st.t[i].used || (L > 20 && !strcmp(st.t[i].name + L - 20, ".num_batches_tracked")))
        continue;
      diag_error(d, "%s: tensor '%s' is not a parameter of model '%s'", o->weights,
                 st.t[i].name, model->name);
      prog.nerrors++;
    }
  }
  if (c.st)
    safetensors_close(&st);
  /* Dead nodes from failed calls, and nothing unreachable, go. */
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i].dead)
      for (int j = 0; j < g->nodes[i].nout; j++)
        if (g->nodes[i].out[j] >= 0)
          g->values[g->nodes[i].out[j]].dead = true;
  graph_compact(g);
  return prog.nerrors == 0 && d->nerrors == 0;
}

bool dsl_load_model(Graph *g, const char *path, const char *params, uint64_t seed, Diag *d) {
  DslOptions o = {params, seed};
  return dsl_load(g, path, &o, d);
}
