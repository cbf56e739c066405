/*
 * check.c — static checks over a definition, before anything runs, so a
 * mistake in a block is reported even if no call reaches it, and reported
 * once, in the block, however often it is called:
 *
 *   - every name it reads is a parameter or assigned somewhere in it,
 *     every call names a block, a builtin or an op, with its keyword
 *     arguments after the positional ones and each once;
 *   - it has a 'return' (a block without one gives its caller nothing).
 */
#include "lower.h"
#include "parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct NameSet {
  const char **v;           /* the names, for suggestions ... */
  int n, cap;
  NameMap map;              /* ... and by name, for lookups */
  struct NameSet *reported; /* undefined names said once already */
  int stmt_errors;          /* prog->nerrors when the statement began */
} NameSet;

static void names_add(Ctx *c, NameSet *s, const char *name) {
  if (namemap_get(&s->map, name))
    return;
  namemap_put(&s->map, &c->g->arena, name, (void *)name);
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 32;
    const char **nv = arena_alloc(&c->g->arena, sizeof(char *) * (size_t)s->cap);
    if (s->n)
      memcpy(nv, s->v, sizeof(char *) * (size_t)s->n);
    s->v = nv;
  }
  s->v[s->n++] = name;
}

static bool names_has(const NameSet *s, const char *name) {
  return namemap_get(&s->map, name) != NULL;
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

static void check_stmt(Ctx *c, Ast *a, NameSet *s);

/* An error at `at`, unless the statement has one already (then the
 * node is still marked, so evaluation stays silent about it too). */
__attribute__((format(printf, 4, 5)))
static void say(Ctx *c, NameSet *s, SrcLoc at, const char *fmt, ...) {
  if (c->prog->nerrors > s->stmt_errors) {
    c->prog->nerrors++; /* counted, not said */
    return;
  }
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dsl_error(c->prog, at, "%s", msg);
}

static void check_uses(Ctx *c, Ast *a, NameSet *s) {
  if (!a)
    return;
  if ((a->kind == A_NAME || a->kind == A_LIST) && a->op == SHARED) {
    say(c, s, a->loc, "'shared' goes before the label of a call: shared LABEL: call(...)");
    a->i = 1;
    return;
  }
  if (a->kind == A_NAME && !names_has(s, a->s) && names_has(s->reported, a->s)) {
    a->i = 1; /* each undefined name is reported once per definition */
  } else if (a->kind == A_NAME && !names_has(s, a->s)) {
    names_add(c, s->reported, a->s);
    Suggest sg;
    suggest_init(&sg, a->s);
    for (int i = 0; i < s->n; i++)
      suggest_add(&sg, s->v[i]);
    suggest_add(&sg, "true");
    suggest_add(&sg, "false");
    bool is_block = namemap_get(&c->defs, a->s) != NULL;
    if (is_block)
      say(c, s, a->loc, "undefined name '%s'; '%s' is a block: call it, as %s(...)", a->s, a->s,
          a->s);
    else if (suggest_best(&sg))
      say(c, s, a->loc, "undefined name '%s'; did you mean '%s'?", a->s, suggest_best(&sg));
    else
      say(c, s, a->loc, "undefined name '%s'", a->s);
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
  if (a->kind == A_CHAIN && a->b->kind == A_NAME && a->b->op != SHARED) {
    /* x -> relu: a name where a call belongs */
    check_uses(c, a->a, s);
    say(c, s, a->b->loc, "'->' must be followed by a call: %s(...)", a->b->s);
    a->b->i = 1;
    return;
  }
  if (a->kind == A_CALL && !a->i) { /* a block, a builtin or an op, reported once */
    const DslDef *def = namemap_get(&c->defs, a->s);
    if (def && def->is_model) {
      say(c, s, a->loc, "'%s' is the model: only blocks can be called", a->s);
      a->i = 1;
    } else if (!def && !dsl_builtin_known(a->s)) {
      if (!names_has(s->reported, a->s)) {
        names_add(c, s->reported, a->s);
        Suggest sg;
        suggest_init(&sg, a->s);
        for (int i = 0; i < c->prog->ndefs; i++)
          if (!c->prog->defs[i].is_model)
            suggest_add(&sg, c->prog->defs[i].name);
        dsl_builtin_names(&sg);
        if (suggest_best(&sg))
          say(c, s, a->loc, "undefined block or op '%s'; did you mean '%s'?", a->s,
              suggest_best(&sg));
        else
          say(c, s, a->loc, "undefined block or op '%s'", a->s);
      }
      a->i = 1;
    }
  }
  if (a->kind == A_CALL) { /* f(a, k=1, b): the order of arguments; f(x, k=1, k=2) */
    bool kw = false;
    for (int i = 0; i < a->list.n && !a->i; i++) {
      const Ast *arg = a->list.v[i];
      if (arg->kind != A_KWARG && kw) {
        say(c, s, arg->loc, "a positional argument after keyword arguments");
        a->i = 1; /* not run */
      }
      kw |= arg->kind == A_KWARG;
      for (int k = 0; k < i && arg->kind == A_KWARG && !a->i; k++)
        if (a->list.v[k]->kind == A_KWARG && !strcmp(a->list.v[k]->s, arg->s)) {
          say(c, s, arg->loc, "keyword argument '%s' is given twice (first at %s); keep one",
              arg->s, dsl_loc_text(c, a->list.v[k]->loc, arg->loc));
          a->i = 1;
        }
    }
  }
  if (a->kind == A_BODY) { /* each statement has its own error */
    for (int i = 0; i < a->list.n; i++)
      check_stmt(c, a->list.v[i], s);
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

/* A statement: its header (the expression, the condition, the range) has
 * at most one error, and a statement with one is marked (a->i) so that
 * evaluation skips it; the bodies of if and for are statements of their own. */
static void check_stmt(Ctx *c, Ast *a, NameSet *s) {
  int outer = s->stmt_errors;
  s->stmt_errors = c->prog->nerrors;
  switch (a->kind) {
  case A_ASSIGN: check_uses(c, a->a, s); break;
  case A_RETURN:
    for (int i = 0; i < a->list.n; i++)
      check_uses(c, a->list.v[i], s);
    break;
  case A_IF: check_uses(c, a->a, s); break;
  case A_FOR:
    check_uses(c, a->a, s);
    check_uses(c, a->b, s);
    break;
  default: check_uses(c, a, s); break;
  }
  a->i = c->prog->nerrors > s->stmt_errors;
  if (a->kind == A_IF) {
    check_uses(c, a->b, s);
    if (a->c && a->c->kind == A_IF)
      check_stmt(c, a->c, s);
    else
      check_uses(c, a->c, s);
  } else if (a->kind == A_FOR) {
    check_uses(c, a->c, s);
  }
  s->stmt_errors = outer;
}

/* Every name a definition reads must be a parameter or assigned somewhere
 * in it: typos in blocks are reported even if no call reaches them. */
void dsl_check_names(Ctx *c, const DslDef *def) {
  NameSet reported = {0};
  NameSet s = {.reported = &reported};
  for (int i = 0; i < def->nparams; i++)
    names_add(c, &s, def->params[i].name);
  collect_defs(c, def->body, &s);
  for (int i = 0; i < def->nparams; i++)
    if (def->params[i].dflt) {
      s.stmt_errors = c->prog->nerrors;
      check_uses(c, def->params[i].dflt, &s);
    }
  check_uses(c, def->body, &s);
}

static bool has_return(const Ast *a) {
  if (!a)
    return false;
  if (a->kind == A_RETURN)
    return true;
  if (has_return(a->a) || has_return(a->b) || has_return(a->c))
    return true;
  for (int i = 0; i < a->list.n; i++)
    if (has_return(a->list.v[i]))
      return true;
  return false;
}

/* A definition without any 'return' is reported at its closing '}'; if
 * its last statement assigns a name, the note says to return that. */
void dsl_check_returns(Ctx *c, DslDef *def) {
  if (!def->body || has_return(def->body))
    return;
  def->no_return = true;
  const char *what = def->is_model ? "model" : "block";
  dsl_error(c->prog, def->body->end, "%s '%s' ends without 'return'%s", what, def->name,
            def->is_model ? ": a model returns its output tensors" : "");
  const AstList *l = &def->body->list;
  const Ast *last = l->n ? l->v[l->n - 1] : NULL;
  if (last && last->kind == A_ASSIGN)
    dsl_note(c->prog, last->loc, true, "add 'return %s' after its last statement", last->s);
  else
    dsl_note(c->prog, def->body->end, false, "add 'return VALUE' before this '}'");
}
