/*
 * check.c — static checks over a definition, before anything runs, so a
 * mistake in a block is reported even if no call reaches it, and reported
 * once, in the block, however often it is called:
 *
 *   - every name it reads is a parameter or assigned somewhere in it;
 *   - it has a 'return' (a block without one gives its caller nothing).
 */
#include "lower.h"
#include "parser.h"

#include <string.h>

typedef struct {
  const char **v;
  int n, cap;
} NameSet;

static void names_add(Ctx *c, NameSet *s, const char *name) {
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
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->v[i], name))
      return true;
  return false;
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
  if ((a->kind == A_NAME || a->kind == A_LIST) && a->op == SHARED) {
    dsl_error(c->prog, a->loc, "'shared' goes before the label of a call: shared LABEL: call(...)");
    a->i = 1;
    return;
  }
  if (a->kind == A_NAME && !names_has(s, a->s)) {
    Suggest sg;
    suggest_init(&sg, a->s);
    for (int i = 0; i < s->n; i++)
      suggest_add(&sg, s->v[i]);
    suggest_add(&sg, "true");
    suggest_add(&sg, "false");
    bool is_block = false;
    for (int i = 0; i < c->prog->ndefs; i++)
      is_block |= !strcmp(c->prog->defs[i].name, a->s);
    if (is_block)
      dsl_error(c->prog, a->loc, "undefined name '%s'; '%s' is a block: call it, as %s(...)",
                a->s, a->s, a->s);
    else if (suggest_best(&sg))
      dsl_error(c->prog, a->loc, "undefined name '%s'; did you mean '%s'?", a->s,
                suggest_best(&sg));
    else
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
void dsl_check_names(Ctx *c, const DslDef *def) {
  NameSet s = {0};
  for (int i = 0; i < def->nparams; i++)
    names_add(c, &s, def->params[i].name);
  collect_defs(c, def->body, &s);
  for (int i = 0; i < def->nparams; i++)
    if (def->params[i].dflt)
      check_uses(c, def->params[i].dflt, &s);
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
