/*
 * lower.h — internal to the DSL's compile-time evaluator, shared by the
 * files that make it up, one job each:
 *
 *   lower.c     values, expressions, statements, block calls, the model
 *   builtins.c  what a call can name besides a block: the layers and
 *               helpers (a table), and every op of ops.def by its ONNX or
 *               lowercase name
 *   params.c    parameters: names, binding from safetensors, the seeded
 *               generator, sharing, writing them out
 *   check.c     static checks over a definition (undefined names, a
 *               missing return) before anything runs
 *   suggest.c   "did you mean": the nearest known spelling of a name
 */
#ifndef DSL_LOWER_H
#define DSL_LOWER_H

#include "dsl.h"

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

/* A string-keyed table (open addressing): the labels used so far and the
 * parameters made so far, so that a second use is an error, not silent
 * sharing. */
typedef struct {
  const char *key;
  int value;        /* parameters: the value index */
  SrcLoc loc;       /* where it was made */
  SrcLoc call;      /* the call of the block it was made in (line 0: the model's body) */
  const char *block; /* that block's name */
  bool is_block;    /* labels: a labelled block call */
} DslEntry;

typedef struct {
  DslEntry *v;
  int n, cap;
} DslMap;

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
  int64_t value_bytes;   /* strings and lists built so far (against Limits.dsl_value_bytes) */
  bool too_big;          /* reported that value_bytes hit the limit */
  NameMap blocks;        /* block name -> its DslDef */
  NameMap defs;          /* every definition (blocks, the model) by name */
  int autoname;          /* counter for unlabeled layers */
  int nparams;
  SrcLoc last_note;      /* the last "called here" note (a recursion gives one) */
  DslMap labels;        /* scoped labels used: "layer1.0.conv1" */
  DslMap params;        /* parameters made: "layer1.0.conv1.weight" */
  int sharing;           /* > 0 inside a 'shared LABEL:' call */
  bool reuse_only;       /* in 'shared LABEL: param(...)': the parameter must exist */
} Ctx;

static const DVal ERR = {.k = V_ERR};
static const DVal NONE = {.k = V_NONE};

static inline const char *kind_name(VKind k) {
  static const char *n[] = {"error", "nothing", "int", "float", "bool", "string", "list", "tensor"};
  return n[k];
}

/* A value's kind for a message, with its article: "an int", "a tensor".
 * Errors are never described (they were reported where they happened). */
static inline const char *a_kind(VKind k) {
  static const char *n[] = {"an error", "no value", "an int", "a float", "a bool",
                            "a string", "a list", "a tensor"};
  return n[k];
}

static inline DVal vint(int64_t i) { return (DVal){.k = V_INT, .i = i}; }
static inline DVal vfloat(double x) { return (DVal){.k = V_FLOAT, .f = x}; }
static inline DVal vbool(bool b) { return (DVal){.k = V_BOOL, .i = b}; }
static inline DVal vtensor(int t) { return (DVal){.k = V_TENSOR, .t = t}; }
static inline const Value *tv(Ctx *c, DVal v) { return &c->g->values[v.t]; }

static inline bool as_int(Ctx *c, DVal v, SrcLoc at, const char *what, int64_t *out) {
  if (v.k == V_ERR)
    return false;
  if (v.k == V_INT) {
    *out = v.i;
    return true;
  }
  dsl_error(c->prog, at, "%s must be an int, not %s", what, a_kind(v.k));
  return false;
}

static inline bool as_number(Ctx *c, DVal v, SrcLoc at, const char *what, double *out) {
  if (v.k == V_ERR)
    return false;
  if (v.k == V_INT) {
    *out = (double)v.i;
    return true;
  }
  if (v.k == V_FLOAT) {
    *out = v.f;
    return true;
  }
  dsl_error(c->prog, at, "%s must be a number, not %s", what, a_kind(v.k));
  return false;
}

static inline bool truthy(Ctx *c, DVal v, SrcLoc at, bool *out) {
  if (v.k == V_ERR)
    return false;
  if (v.k == V_BOOL || v.k == V_INT) {
    *out = v.i != 0;
    return true;
  }
  dsl_error(c->prog, at, "a condition must be a bool, not %s", a_kind(v.k));
  return false;
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
  const char *callee;   /* as written */
  bool chained;         /* pos[0] is the input piped in by '->' */
  const char *known[MAX_ARGS]; /* the keywords the callee asked for */
  int nknown;
} Args;

/* The keyword argument `name` (marked used), or NULL; remembers that the
 * callee takes `name`, for the "did you mean" of an unknown one. */
static inline Arg *kwarg(Args *a, const char *name) {
  bool known = false;
  for (int i = 0; i < a->nknown && !known; i++)
    known = !strcmp(a->known[i], name);
  if (!known && a->nknown < MAX_ARGS)
    a->known[a->nknown++] = name;
  for (int i = 0; i < a->nkw; i++)
    if (!strcmp(a->kw[i].name, name)) {
      a->kw[i].used = true;
      return &a->kw[i];
    }
  return NULL;
}

/* lower.c: what the evaluator builds is charged to Limits.dsl_value_bytes
 * before it is allocated (s = s + s in a loop doubled to gigabytes):
 * dsl_strcat joins its NULL-terminated strings, dsl_items makes the items
 * of an n-item list.  Past the budget both report it at `at` (once) and
 * return NULL. */
const char *dsl_strcat(Ctx *c, SrcLoc at, ...) __attribute__((sentinel));
DVal *dsl_items(Ctx *c, SrcLoc at, int64_t n);

/* builtins.c: calls a layer, helper or table op `name` (label: the user's
 * label or NULL; full: the scoped name of what it makes).  *found is false
 * (and nothing is reported) if no builtin or op has that name. */
DVal dsl_call_builtin(Ctx *c, Frame *f, Args *a, const char *name, const char *label,
                      const char *full, bool *found);

/* builtins.c: offers every builtin and op name to a "did you mean". */
void dsl_builtin_names(Suggest *s);
/* builtins.c: whether a call can name `name` (besides blocks). */
bool dsl_builtin_known(const char *name);

/* An attribute of a node the evaluator makes. */
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
int dsl_make_node(Ctx *c, SrcLoc at, const char *op, const char *label, int nin,
                  const int *ins, int nattrs, const AttrInit *attrs);

/* params.c: the parameter `name`, bound from the safetensors file or
 * generated; -1 after an error. */
int dsl_param(Ctx *c, SrcLoc at, const char *name, int rank, const int64_t *dims);

/* params.c: the entry for `key`, or NULL; with `add`, a new zeroed entry
 * when there is none (*added says which). */
DslEntry *dsl_map_get(Ctx *c, DslMap *m, const char *key, bool add, bool *added);
/* "4:48", or "lib.nx:4:48" in another file than `from`'s. */
const char *dsl_loc_text(Ctx *c, SrcLoc loc, SrcLoc from);

/* check.c: every name a definition reads is a parameter or assigned in it. */
void dsl_check_names(Ctx *c, const DslDef *def);
/* check.c: a definition has a 'return' (else an error; def->no_return). */
void dsl_check_returns(Ctx *c, DslDef *def);

#endif
