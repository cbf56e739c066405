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
 * A scoped label is used once (label_unused), unless the call says `shared`.
 *
 * Errors.  A failed expression yields an error value that later operations
 * pass along silently, so each independent mistake is reported once, with
 * its location, and evaluation goes on to find the next.  A statement the
 * static checks (check.c) found wrong is not run; the names it, or a branch
 * that could not be decided, would have set become error values (poison).
 */
#include "lower.h"
#include "parser.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static DVal eval(Ctx *c, Frame *f, Ast *a);
static void exec_body(Ctx *c, Frame *f, Ast *body);

/* ------------------------------------------------------------ the value budget */

/* Charges `bytes` of strings or lists; false (reported once) past the budget. */
static bool charge(Ctx *c, SrcLoc at, int64_t bytes) {
  c->value_bytes = sat_add(c->value_bytes, bytes);
  if (c->value_bytes <= c->g->limits.dsl_value_bytes)
    return true;
  if (!c->too_big)
    dsl_error(c->prog, at, "the program's strings and lists take more than %lld bytes (the "
              "evaluator's budget for them; labels and names made of strings count)",
              (long long)c->g->limits.dsl_value_bytes);
  c->too_big = true;
  return false;
}

const char *dsl_strcat(Ctx *c, SrcLoc at, ...) {
  va_list ap;
  int64_t len = 0;
  va_start(ap, at);
  for (const char *s; (s = va_arg(ap, const char *));)
    len = sat_add(len, (int64_t)strlen(s));
  va_end(ap);
  if (!charge(c, at, sat_add(len, 1)))
    return NULL;
  char *out = arena_alloc(&c->g->arena, (size_t)len + 1), *p = out;
  va_start(ap, at);
  for (const char *s; (s = va_arg(ap, const char *));) {
    size_t n = strlen(s);
    memcpy(p, s, n);
    p += n;
  }
  va_end(ap);
  return out;
}

DVal *dsl_items(Ctx *c, SrcLoc at, int64_t n) {
  if (!charge(c, at, sat_mul(sat_add(n, 1), (int64_t)sizeof(DVal))))
    return NULL;
  return arena_alloc(&c->g->arena, sizeof(DVal) * (size_t)(n + 1));
}

/* ------------------------------------------------------------ variables */

/* A frame's variables: a list while short, a NameMap past 8 (a model of
 * 60,000 assignments spent seconds in the list). */
static DVal *lookup(Frame *f, const char *name) {
  if (f->map.cap) {
    Var *v = namemap_get(&f->map, name);
    return v ? &v->v : NULL;
  }
  for (Var *v = f->vars; v; v = v->next) {
    CD_STEPS(1); /* a name compared */
    if (!strcmp(v->name, name))
      return &v->v;
  }
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

/* ------------------------------------------------------------ calls */

static DVal call_block(Ctx *c, Frame *f, const DslDef *def, Args *a, const char *label);

/* The label of a call: its text, where it is written, and whether the
 * call may repeat an earlier one (`shared LABEL:`). */
typedef struct {
  const char *text;
  SrcLoc loc;
  bool shared;
} Label;

/* A label names what its call makes, once per scope: a second call with
 * the same scoped label (a layer, or a block call, or a block called twice
 * without a label, so that the labels inside repeat) is an error naming
 * the first, unless it says `shared`; and `shared` names an earlier call's
 * label, so a label it is the first use of is an error too (its call would
 * make parameters of its own, silently).  param(...) labels are prefixes
 * of parameter names and may repeat; its names are checked one by one. */
static bool label_unused(Ctx *c, Frame *f, const Label *l, const char *full, bool is_block) {
  bool added;
  DslEntry *e = dsl_map_get(c, &c->labels, full, true, &added);
  if (added) {
    *e = (DslEntry){.key = full, .loc = l->loc, .call = f->call,
                     .block = f->def && !f->def->is_model ? f->def->name : NULL,
                     .is_block = is_block};
    if (!l->shared)
      return true;
    Suggest sg; /* the labels of this scope */
    suggest_init(&sg, l->text);
    size_t n = strlen(f->scope);
    for (int i = 0; i < c->labels.cap; i++) {
      const char *k = c->labels.v[i].key;
      if (k && k != full && !strncmp(k, f->scope, n))
        suggest_add(&sg, k + n);
    }
    if (suggest_best(&sg))
      dsl_error(c->prog, l->loc, "'shared %s:' names no earlier call in this scope; did you "
                "mean 'shared %s:'?", l->text, suggest_best(&sg));
    else
      dsl_error(c->prog, l->loc, "'shared %s:' names no earlier call in this scope: 'shared' "
                "reuses the parameters an earlier '%s:' call made; remove it to make them "
                "here", l->text, l->text);
    return false;
  }
  if (l->shared || c->sharing)
    return true;
  const char *what = e->is_block ? "a block call" : "a layer";
  bool same_place = e->loc.file == l->loc.file && e->loc.line == l->loc.line &&
                    e->loc.col == l->loc.col;
  if (same_place && e->block) {
    /* One label in a block called twice in the same scope. */
    dsl_error(c->prog, l->loc, "label '%s' already names %s, made by the call of block '%s' "
              "at %s", l->text, what, e->block, dsl_loc_text(c, e->call, l->loc));
    dsl_note(c->prog, f->call, true, "block '%s' called again here, in the same scope: label "
             "each call (b1: %s(...)) to give it its own parameters", e->block, e->block);
    c->last_note = f->call; /* no "called here" note again for this call */
  } else {
    dsl_error(c->prog, l->loc, "label '%s' already names %s at %s", l->text, what,
              dsl_loc_text(c, e->loc, l->loc));
    dsl_note(c->prog, e->loc, true, "'%s' first used here", l->text);
    dsl_note(c->prog, l->loc, false, "rename one, or write 'shared %s:' to use the same "
             "parameters twice", l->text);
  }
  return false;
}

static DVal call(Ctx *c, Frame *f, Ast *call_ast, const Label *lb, DVal *chained) {
  const char *label = lb ? lb->text : NULL;
  if (call_ast->i) /* its arguments are out of order: reported by check_names */
    return ERR;
  Args a = {.at = call_ast->loc, .callee = call_ast->s};
  if (chained) {
    a.pos[0] = (Arg){NULL, *chained, call_ast->loc, false};
    a.npos = 1;
    a.chained = true;
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
  const char *full = dsl_strcat(c, call_ast->loc, f->scope, lab, NULL);
  if (!full)
    return ERR;
  const DslDef *block = namemap_get(&c->blocks, name);
  if (lb && strcmp(name, "param") != 0 && !label_unused(c, f, lb, full, block != NULL))
    return ERR;
  bool shared = lb && lb->shared;
  c->sharing += shared;
  c->reuse_only = shared && !strcmp(name, "param"); /* its label is no call's: see dsl_param */
  bool found = true;
  DVal r = block ? call_block(c, f, block, &a, label)
                 : dsl_call_builtin(c, f, &a, name, label, full, &found);
  c->sharing -= shared;
  c->reuse_only = false;
  CD_ASSERT(found); /* check_names refused the others */
  return r;
}

static DVal call_block(Ctx *c, Frame *f, const DslDef *def, Args *a, const char *label) {
  if (c->depth >= 64) {
    bool recursive = false;
    for (Frame *p = f; p && !recursive; p = p->parent)
      recursive = p->def == def;
    if (recursive)
      dsl_error(c->prog, a->at, "block '%s' calls itself more than 64 levels deep "
                "(does its recursion stop?)", def->name);
    else
      dsl_error(c->prog, a->at, "blocks nest deeper than 64 calls");
    return ERR;
  }
  Frame nf = {.def = def, .call = a->at, .parent = f};
  nf.scope = label ? dsl_strcat(c, a->at, f->scope, label, ".", NULL) : f->scope;
  if (!nf.scope)
    return ERR;
  if (a->npos > def->nparams) {
    dsl_error(c->prog, a->at, "block '%s' takes %d argument%s, got %d", def->name,
              def->nparams, def->nparams == 1 ? "" : "s", a->npos);
    return ERR;
  }
  bool ok = true;
  const char *meant[MAX_ARGS]; /* the parameter an unknown keyword is a typo of */
  for (int i = 0; i < a->nkw; i++) {
    bool known = false;
    for (int k = 0; k < def->nparams && !known; k++)
      known = !strcmp(def->params[k].name, a->kw[i].name);
    meant[i] = NULL;
    if (known)
      continue;
    Suggest sg;
    suggest_init(&sg, a->kw[i].name);
    for (int k = 0; k < def->nparams; k++)
      suggest_add(&sg, def->params[k].name);
    meant[i] = suggest_best(&sg);
    if (meant[i])
      dsl_error(c->prog, a->kw[i].loc, "block '%s' has no parameter '%s'; did you mean '%s'?",
                def->name, a->kw[i].name, meant[i]);
    else
      dsl_error(c->prog, a->kw[i].loc, "block '%s' has no parameter '%s'", def->name,
                a->kw[i].name);
    ok = false;
  }
  for (int i = 0; i < def->nparams; i++) {
    const DslParam *p = &def->params[i];
    Arg *k = kwarg(a, p->name);
    bool typo = false; /* already reported as a misspelt keyword */
    for (int j = 0; j < a->nkw && !typo; j++)
      typo = meant[j] && !strcmp(meant[j], p->name);
    if (i < a->npos && k) {
      dsl_error(c->prog, k->loc, "argument '%s' of block '%s' given twice", p->name, def->name);
      ok = false;
    } else if (i < a->npos) {
      bind(c, &nf, p->name, a->pos[i].v);
    } else if (k) {
      bind(c, &nf, p->name, k->v);
    } else if (p->dflt) {
      bind(c, &nf, p->name, eval(c, &nf, p->dflt));
    } else if (!typo) {
      dsl_error(c->prog, a->at, "block '%s' needs argument '%s'", def->name, p->name);
      ok = false;
    }
  }
  if (!ok)
    return ERR;
  c->depth++;
  int errors = c->prog->nerrors, shown = c->prog->nshown;
  exec_body(c, &nf, def->body);
  c->depth--;
  if (!nf.returned && c->prog->nerrors == errors && !def->no_return)
    dsl_error(c->prog, def->body->end, "block '%s' reached its end without a 'return' "
              "running (its returns are all in branches not taken)", def->name);
  SrcLoc at = a->at;
  bool repeat = at.file == c->last_note.file && at.line == c->last_note.line &&
                at.col == c->last_note.col; /* a recursion: one note for its levels */
  if (c->prog->nshown > shown && c->depth < 8 && !repeat) {
    /* Say where the failing block was used. */
    c->prog->shown = true;
    dsl_note(c->prog, at, false, "in block '%s' called here", def->name);
    c->last_note = at;
  }
  return nf.returned ? nf.ret : ERR;
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
    return l ? dsl_strcat(c, a->loc, l, ".", a->s, NULL) : NULL;
  }
  case A_MEMBER_INT: {
    const char *l = label_text(c, f, a->a);
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)a->i);
    return l ? dsl_strcat(c, a->loc, l, ".", num, NULL) : NULL;
  }
  case A_INDEX: {
    const char *l = label_text(c, f, a->a);
    DVal v = eval(c, f, a->b);
    if (!l || v.k == V_ERR)
      return NULL;
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)v.i);
    if (v.k == V_INT)
      return dsl_strcat(c, a->loc, l, ".", num, NULL);
    if (v.k == V_STR)
      return dsl_strcat(c, a->loc, l, ".", v.s, NULL);
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
    Label l = {label_text(c, f, a->a), a->loc, false};
    if (!l.text)
      return ERR;
    const Ast *head = a->a;
    while (head->kind == A_MEMBER || head->kind == A_MEMBER_INT || head->kind == A_INDEX)
      head = head->a;
    l.shared = head->op == SHARED;
    return call(c, f, a->b, &l, chained);
  }
  if (!(a->kind == A_NAME && a->i)) /* not reported by check_names */
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
  int t = dsl_make_node(c, at, name, NULL, 2, ins, 0, NULL);
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
  if (a->op == '+' && x.k == V_STR && y.k == V_STR) {
    const char *s = dsl_strcat(c, a->loc, x.s, y.s, NULL);
    return s ? (DVal){.k = V_STR, .s = s} : ERR;
  }
  if ((a->op == EQ || a->op == NE) && (x.k == V_STR || y.k == V_STR)) {
    bool eq = x.k == y.k && !strcmp(x.s, y.s);
    return vbool(a->op == EQ ? eq : !eq);
  }
  if ((a->op == EQ || a->op == NE) && x.k == V_BOOL && y.k == V_BOOL)
    return vbool((x.i == y.i) == (a->op == EQ));
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

/* One step of the evaluation's budget: every evaluation and every turn of
 * a loop (a loop whose body the static checks rejected runs no
 * evaluation: two nested ones of 10^5 turns each ran for hours).  False,
 * said once, past it. */
static bool step(Ctx *c, SrcLoc at) {
  if (++c->steps > c->g->limits.dsl_steps) {
    if (!c->too_long)
      dsl_error(c->prog, at, "evaluation takes more than %lld steps (loops nested too "
                "deep?)", (long long)c->g->limits.dsl_steps);
    c->too_long = true;
    return false;
  }
  return true;
}

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
  if (!step(c, a->loc))
    return ERR;
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
    if (a->op == SHARED) { /* reported by check_names */
      return ERR;
    }
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
    if (!(l.items = dsl_items(c, a->loc, a->list.n)))
      return ERR;
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
    if (!(l.items = dsl_items(c, a->loc, l.n)))
      return ERR;
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
      if (!(l.items = dsl_items(c, a->loc, v->rank)))
        return ERR;
      for (int i = 0; i < v->rank; i++)
        l.items[i] = vint(v->dims[i]);
      return l;
    }
    if (x.k == V_TENSOR && !strcmp(a->s, "rank"))
      return vint(tv(c, x)->rank);
    if (x.k == V_TENSOR && (!strcmp(a->s, "shap") || !strcmp(a->s, "size") ||
                            !strcmp(a->s, "dims") || !strcmp(a->s, "shapes")))
      dsl_error(c->prog, a->loc, "a tensor has no member '%s'; did you mean 'shape'?", a->s);
    else
      dsl_error(c->prog, a->loc, "%s has no member '%s' (tensors have .shape and .rank)",
                a_kind(x.k), a->s);
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
      dsl_error(c->prog, a->loc, "cannot index %s", a_kind(x.k));
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

/* The names a statement assigns (in its bodies too) become errors: after
 * a statement that could not run, or a condition that could not be
 * decided, their later uses stay silent instead of reporting whatever a
 * stale value leads to. */
static void poison(Ctx *c, Frame *f, const Ast *a) {
  if (!a)
    return;
  if (a->kind == A_ASSIGN || a->kind == A_FOR)
    bind(c, f, a->s, ERR);
  if (a->kind == A_ASSIGN || a->kind == A_FOR || a->kind == A_IF || a->kind == A_BODY) {
    poison(c, f, a->b);
    poison(c, f, a->c);
    for (int i = 0; i < a->list.n; i++)
      poison(c, f, a->list.v[i]);
  }
}

static void exec_body(Ctx *c, Frame *f, Ast *body) {
  for (int i = 0; i < body->list.n && !f->returned; i++) {
    Ast *s = body->list.v[i];
    if (s->i) { /* reported by the static checks: not run */
      poison(c, f, s);
      if (s->kind == A_RETURN) {
        f->ret = ERR;
        f->returned = true;
      }
      continue;
    }
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
      } else {
        poison(c, f, s);
      }
      break;
    }
    case A_FOR: {
      int64_t lo, hi;
      if (!range(c, f, s->a, s->b, &lo, &hi)) {
        poison(c, f, s);
        break;
      }
      for (int64_t k = lo; k < hi && !f->returned && step(c, s->loc); k++) {
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
        if ((l.items = dsl_items(c, s->loc, s->list.n)))
          for (int k = 0; k < s->list.n; k++)
            l.items[k] = eval(c, f, s->list.v[k]);
        f->ret = l.items ? l : ERR;
      }
      f->returned = true;
      break;
    default:
      dsl_error(c->prog, s->loc, "not a statement");
    }
  }
}

/* ------------------------------------------------------------ the model */

bool dsl_load(Graph *g, const char *path, const DslOptions *o, Diag *d) {
  DslProgram prog = {.arena = &g->arena, .d = d};
  g->source = arena_strdup(&g->arena, path);
  if (!dsl_parse_file(&prog, path))
    return false;
  /* The model file's hash, from the text read once (with the source's
   * limit): opening it again would block on a FIFO, and read /dev/zero to
   * the 4 GiB limit of other files. */
  g->hash = cd_hash_bytes(0, prog.texts[0], strlen(prog.texts[0]));
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
    if (prog.ndefs) {
      StrBuf names = {0};
      for (int i = 0; i < prog.ndefs && i < 4; i++)
        sb_printf(&names, "%s%s", i ? ", " : "", prog.defs[i].name);
      diag_error(d, "this file only defines blocks (%s%s); import it from a file with a "
                 "model: import \"%s\" then model NAME(x: f32[...]) { ... }", names.buf,
                 prog.ndefs > 4 ? ", ..." : "",
                 strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
      sb_free(&names);
    } else
      diag_error(d, "no model in the file (a 'model NAME(x: f32[...]) { ... }' is needed)");
    return false;
  }
  if (prog.nerrors)
    return false;
  SafeTensors st = {0};
  Ctx c = {.prog = &prog, .g = g, .d = d, .seed = o ? o->seed : 0,
           .weights_path = o ? o->weights : NULL, .stack0 = __builtin_frame_address(0),
           .blocks = blocks, .defs = names};
  if (o && o->weights) {
    if (!safetensors_open(&st, o->weights, d))
      return false;
    c.st = &st;
  }
  for (int i = 0; i < prog.ndefs; i++) {
    dsl_check_names(&c, &prog.defs[i]);
    dsl_check_returns(&c, &prog.defs[i]);
  }
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
  if (!prog.nerrors && !top.returned)
    dsl_error(&prog, model->body->end, "model '%s' reached its end without a 'return' "
              "running (its returns are all in branches not taken)", model->name);
  if (!prog.nerrors) {
    DVal r = top.ret;
    int nret = r.k == V_LIST ? r.n : 1;
    g->outputs = arena_alloc(&g->arena, sizeof(int) * (size_t)(nret + 1));
    for (int i = 0; i < nret; i++) {
      DVal v = r.k == V_LIST ? r.items[i] : r;
      if (v.k != V_TENSOR) {
        dsl_error(&prog, model->loc, "model '%s' must return tensors, not %s",
                  model->name, a_kind(v.k));
        break;
      }
      if (g->values[v.t].is_output || g->values[v.t].data || g->values[v.t].is_input) {
        /* An output must be a distinct computed tensor: copy it. */
        int t = dsl_make_node(&c, model->loc, "Identity", NULL, 1, &v.t, 0, NULL);
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
  if (o && o->save && prog.nerrors == 0 && d->nerrors == 0) {
    /* The parameters, in the order they were made. */
    int *vals = calloc((size_t)c.params.n + 1, sizeof(int)), nv = 0;
    CD_ASSERT(vals);
    for (int v = 0; v < g->nvalues; v++) {
      DslEntry *e = g->values[v].data ? dsl_map_get(&c, &c.params, g->values[v].name, false,
                                                     NULL) : NULL;
      if (e && e->value == v)
        vals[nv++] = v;
    }
    bool ok = safetensors_write(o->save, g, vals, nv, d);
    free(vals);
    if (!ok)
      return false;
  }
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
  DslOptions o = {.weights = params, .seed = seed};
  return dsl_load(g, path, &o, d);
}

bool dsl_save_params(const char *path, const char *params, uint64_t seed, const char *out,
                     Diag *d) {
  Graph *g = graph_new();
  DslOptions o = {params, seed, out};
  bool ok = dsl_load(g, path, &o, d);
  graph_free(g);
  return ok;
}
