/*
 * parser.y — the grammar of the Cardinal DSL (GRAMMAR.md explains it with
 * examples).  A pure LALR(1) parser with locations.
 *
 * Syntax errors are written by report_syntax_error below, from what the
 * parser expected and what the lexer saw: "expected an expression, found
 * '*'", with hints for what people bring from other languages (def, elif,
 * and, range(n), '=' for '==', ':' for '{'), an unclosed '(' reported where
 * it was opened, and no more than one error per statement: the lexer then
 * drops the rest of the statement (dsl_lex_recover), so one run reports
 * every independent error and no cascade.  A few rules accept what people
 * write from habit (def NAME(...) {...}, for i in range(n)) only to say
 * what the DSL writes instead, and go on.
 */
%define api.pure full
%define api.prefix {dsl_yy}
%define parse.error custom
%define parse.lac full
%locations
%lex-param {void *scanner}
%parse-param {void *scanner} {DslProgram *prog} {int file}

%code requires {
#include "dsl.h"
}

%code {
#include <stdlib.h>
#include <string.h>

int dsl_yylex(DSL_YYSTYPE *lval, DSL_YYLTYPE *lloc, void *scanner);
bool dsl_parse_file_at(DslProgram *prog, const char *path, SrcLoc from);

static SrcLoc L(DslProgram *prog, int file, DSL_YYLTYPE l) {
  (void)prog;
  SrcLoc s = {file, l.first_line, l.first_column,
              l.last_line == l.first_line && l.last_column > l.first_column
                  ? l.last_column - l.first_column : 1};
  return s;
}

static void dsl_yyerror(DSL_YYLTYPE *loc, void *scanner, DslProgram *prog, int file,
                        const char *msg) {
  (void)scanner;
  if (!strcmp(msg, "memory exhausted"))
    msg = "expressions nest too deeply for the parser";
  dsl_error(prog, L(prog, file, *loc), "%s", msg);
}

/* `def NAME(...) {...}` and the like: which keyword was meant. */
static void bad_definition(DslProgram *prog, SrcLoc at, const char *word) {
  static const char *const as_block[] = {"def", "fn", "func", "function", "fun", "sub",
                                         "class", "module", "layer", "macro"};
  const char *best = NULL;
  for (size_t i = 0; i < sizeof as_block / sizeof as_block[0]; i++)
    if (!strcmp(word, as_block[i]))
      best = "block";
  Suggest sg;
  suggest_init(&sg, word);
  suggest_add(&sg, "block");
  suggest_add(&sg, "model");
  suggest_add(&sg, "import");
  if (!best)
    best = suggest_best(&sg);
  if (best)
    dsl_error(prog, at, "'%s' does not start a definition; did you mean '%s'?", word, best);
  else
    dsl_error(prog, at, "'%s' does not start a definition: a file holds 'block NAME(...) { ... }', "
              "'model NAME(...) { ... }' and 'import \"FILE\"'", word);
}

/* `for i in range(n)`: the DSL's range is START..END. */
static void bad_range(DslProgram *prog, SrcLoc at, const char *var, const Ast *e) {
  const char *lo = "0", *hi = "n";
  char buf[2][32];
  bool call = e->kind == A_CALL && !strcmp(e->s, "range") && e->list.n >= 1 && e->list.n <= 2;
  for (int i = 0; call && i < e->list.n; i++) {
    const Ast *x = e->list.v[i];
    const char **dst = e->list.n == 1 || i == 1 ? &hi : &lo;
    if (x->kind == A_NAME)
      *dst = x->s;
    else if (x->kind == A_INT)
      *dst = (snprintf(buf[i], sizeof buf[i], "%lld", (long long)x->i), buf[i]);
  }
  if (call)
    dsl_error(prog, at, "range(...) is Python; the DSL writes the range as %s..%s: "
              "for %s in %s..%s", lo, hi, var, lo, hi);
  else
    dsl_error(prog, at, "a range is written START..END (0..n counts 0 to n-1): for %s in 0..n",
              var);
}



static Ast *bin(DslProgram *p, int file, DSL_YYLTYPE l, int op, Ast *a, Ast *b) {
  Ast *n = ast_new(p, A_BINOP, L(p, file, l));
  n->op = op;
  n->a = a;
  n->b = b;
  return n;
}

static void add_def(DslProgram *p, DslDef d) {
  if (p->ndefs == p->cap_defs) {
    p->cap_defs = p->cap_defs ? 2 * p->cap_defs : 16;
    DslDef *nd = arena_alloc(p->arena, sizeof(DslDef) * (size_t)p->cap_defs);
    if (p->ndefs)
      memcpy(nd, p->defs, sizeof(DslDef) * (size_t)p->ndefs);
    p->defs = nd;
  }
  p->defs[p->ndefs++] = d;
}

typedef struct {
  DslParam *v;
  int n, cap;
} ParamList;

static void param_push(DslProgram *p, ParamList *l, DslParam x) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 8;
    DslParam *nv = arena_alloc(p->arena, sizeof(DslParam) * (size_t)l->cap);
    if (l->n)
      memcpy(nv, l->v, sizeof(DslParam) * (size_t)l->n);
    l->v = nv;
  }
  l->v[l->n++] = x;
}
}

%union {
  Ast *ast;
  char *str;
  int64_t i;
  double f;
  AstList list;
  DslParam param;
  struct { DslParam *v; int n, cap; } params;
  struct { int64_t dims[CD_MAX_RANK]; int rank; } shape;
}

%token <str> IDENT "name" STRING "string"
%token <i> INT "integer" BOOL "true or false"
%token <f> FLOAT "number"
%token ARROW "->" DOTDOT ".." EQ "==" NE "!=" LE "<=" GE ">=" AND "&&"
%token OR "||" NL "end of line"
%token BLOCK "block" MODEL "model" IMPORT "import" IF "if" THEN "then"
%token ELSE "else" FOR "for" IN "in" RETURN "return" SHARED "shared"

%type <ast> expr postfix primary call stmt body if_stmt list_expr arg
%type <list> stmts args args1 exprs
%type <param> param input
%type <params> params params1 inputs inputs1
%type <shape> dims

%precedence ARROW
%precedence ELSE
%left OR
%left AND
%nonassoc EQ NE '<' LE '>' GE
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY

%%

/* program = { NL | def | import } */
program
  : %empty
  | program NL
  | program def
  | program IMPORT STRING NL {
      dsl_parse_file_at(prog, $3, L(prog, file, @3));
    }
  | program error NL { yyerrok; }
  ;

/* def = "block" IDENT "(" params ")" body
 *     | "model" IDENT "(" inputs ")" body */
def
  : BLOCK IDENT '(' params ')' body {
      add_def(prog, (DslDef){.name = $2, .params = $4.v, .nparams = $4.n, .body = $6,
                            .loc = L(prog, file, @2)});
    }
  | IDENT IDENT '(' params ')' body { /* def NAME(...) { ... }: said, then read as a block */
      bad_definition(prog, L(prog, file, @1), $1);
      add_def(prog, (DslDef){.name = $2, .params = $4.v, .nparams = $4.n, .body = $6,
                            .loc = L(prog, file, @2)});
    }
  | MODEL IDENT '(' inputs ')' body {
      add_def(prog, (DslDef){.is_model = true, .name = $2, .params = $4.v, .nparams = $4.n,
                            .body = $6, .loc = L(prog, file, @2)});
    }
  ;

params
  : %empty { $$.v = NULL; $$.n = $$.cap = 0; }
  | params1
  ;
params1
  : param { $$.v = NULL; $$.n = $$.cap = 0; param_push(prog, (ParamList *)&$$, $1); }
  | params1 ',' param { $$ = $1; param_push(prog, (ParamList *)&$$, $3); }
  ;
/* param = IDENT [ "=" expr ] */
param
  : IDENT { $$ = (DslParam){$1, NULL, {0}, -1, L(prog, file, @1)}; }
  | IDENT '=' expr { $$ = (DslParam){$1, $3, {0}, -1, L(prog, file, @1)}; }
  ;

inputs
  : %empty { $$.v = NULL; $$.n = $$.cap = 0; }
  | inputs1
  ;
inputs1
  : input { $$.v = NULL; $$.n = $$.cap = 0; param_push(prog, (ParamList *)&$$, $1); }
  | inputs1 ',' input { $$ = $1; param_push(prog, (ParamList *)&$$, $3); }
  ;
/* input = IDENT ":" "f32" "[" INT { "," INT } "]" */
input
  : IDENT ':' IDENT '[' dims ']' {
      $$ = (DslParam){$1, NULL, {0}, $5.rank, L(prog, file, @1)};
      memcpy($$.dims, $5.dims, sizeof $$.dims);
      if (strcmp($3, "f32") != 0)
        dsl_error(prog, L(prog, file, @3), "unknown element type '%s' (only f32)", $3);
    }
  ;
dims
  : INT { $$.rank = 1; $$.dims[0] = $1; }
  | dims ',' INT {
      $$ = $1;
      if ($$.rank < CD_MAX_RANK)
        $$.dims[$$.rank++] = $3;
      else
        dsl_error(prog, L(prog, file, @3), "more than %d dims", CD_MAX_RANK);
    }
  ;

/* body = "{" { stmt (NL | ";") | NL | ";" } [ stmt ] "}" */
body
  : '{' stmts '}' {
      $$ = ast_new(prog, A_BODY, L(prog, file, @1));
      $$->list = $2;
      $$->end = L(prog, file, @3);
    }
  | '{' stmts stmt '}' {
      $$ = ast_new(prog, A_BODY, L(prog, file, @1));
      $$->list = $2;
      ast_push(prog, &$$->list, $3);
      $$->end = L(prog, file, @4);
    }
  | '{' stmts error '}' { /* a statement the '}' cut short, reported */
      $$ = ast_new(prog, A_BODY, L(prog, file, @1));
      $$->list = $2;
      $$->end = L(prog, file, @4);
      yyerrok;
    }
  ;
stmts
  : %empty { memset(&$$, 0, sizeof $$); }
  | stmts NL
  | stmts ';'
  | stmts stmt NL { $$ = $1; ast_push(prog, &$$, $2); }
  | stmts stmt ';' { $$ = $1; ast_push(prog, &$$, $2); }
  | stmts error NL { $$ = $1; yyerrok; }
  ;

/* stmt = IDENT "=" expr | if_stmt | "for" IDENT "in" expr ".." expr body
 *      | "return" expr { "," expr } */
stmt
  : IDENT '=' expr {
      $$ = ast_new(prog, A_ASSIGN, L(prog, file, @1));
      $$->s = $1;
      $$->a = $3;
    }
  | if_stmt
  | FOR IDENT IN expr DOTDOT expr body {
      $$ = ast_new(prog, A_FOR, L(prog, file, @1));
      $$->s = $2;
      $$->a = $4;
      $$->b = $6;
      $$->c = $7;
    }
  | FOR IDENT IN expr body { /* for i in range(n) */
      bad_range(prog, L(prog, file, @4), $2, $4);
      $$ = ast_new(prog, A_FOR, L(prog, file, @1));
      $$->s = $2;
      $$->a = $4;
      $$->b = $4;
      $$->c = $5;
    }
  | RETURN exprs {
      $$ = ast_new(prog, A_RETURN, L(prog, file, @1));
      $$->list = $2;
    }
  ;
/* if_stmt = "if" expr body [ "else" ( body | if_stmt ) ] */
if_stmt
  : IF expr body { $$ = ast_new(prog, A_IF, L(prog, file, @1)); $$->a = $2; $$->b = $3; }
  | IF expr body ELSE body {
      $$ = ast_new(prog, A_IF, L(prog, file, @1));
      $$->a = $2;
      $$->b = $3;
      $$->c = $5;
    }
  | IF expr body ELSE if_stmt {
      $$ = ast_new(prog, A_IF, L(prog, file, @1));
      $$->a = $2;
      $$->b = $3;
      $$->c = $5;
    }
  ;

exprs
  : expr { memset(&$$, 0, sizeof $$); ast_push(prog, &$$, $1); }
  | exprs ',' expr { $$ = $1; ast_push(prog, &$$, $3); }
  ;

/* expr = expr "->" postfix | expr binop expr | "-" expr | "!" expr
 *      | "if" expr "then" expr "else" expr | postfix */
expr
  : expr ARROW postfix {
      $$ = ast_new(prog, A_CHAIN, L(prog, file, @2));
      $$->a = $1;
      $$->b = $3;
    }
  | expr OR expr { $$ = bin(prog, file, @2, OR, $1, $3); }
  | expr AND expr { $$ = bin(prog, file, @2, AND, $1, $3); }
  | expr EQ expr { $$ = bin(prog, file, @2, EQ, $1, $3); }
  | expr NE expr { $$ = bin(prog, file, @2, NE, $1, $3); }
  | expr '<' expr { $$ = bin(prog, file, @2, '<', $1, $3); }
  | expr LE expr { $$ = bin(prog, file, @2, LE, $1, $3); }
  | expr '>' expr { $$ = bin(prog, file, @2, '>', $1, $3); }
  | expr GE expr { $$ = bin(prog, file, @2, GE, $1, $3); }
  | expr '+' expr { $$ = bin(prog, file, @2, '+', $1, $3); }
  | expr '-' expr { $$ = bin(prog, file, @2, '-', $1, $3); }
  | expr '*' expr { $$ = bin(prog, file, @2, '*', $1, $3); }
  | expr '/' expr { $$ = bin(prog, file, @2, '/', $1, $3); }
  | expr '%' expr { $$ = bin(prog, file, @2, '%', $1, $3); }
  | '-' expr %prec UNARY { $$ = ast_new(prog, A_NEG, L(prog, file, @1)); $$->a = $2; }
  | '!' expr %prec UNARY { $$ = ast_new(prog, A_NOT, L(prog, file, @1)); $$->a = $2; }
  | IF expr THEN expr ELSE expr %prec ELSE {
      $$ = ast_new(prog, A_IFEXPR, L(prog, file, @1));
      $$->a = $2;
      $$->b = $4;
      $$->c = $6;
    }
  | postfix
  ;

/* postfix = primary { "." IDENT | "." INT | "[" expr "]" } | postfix ":" call */
postfix
  : primary
  | postfix '.' IDENT {
      $$ = ast_new(prog, A_MEMBER, L(prog, file, @3));
      $$->a = $1;
      $$->s = $3;
    }
  | postfix '.' INT {
      $$ = ast_new(prog, A_MEMBER_INT, L(prog, file, @3));
      $$->a = $1;
      $$->i = $3;
    }
  | postfix '[' expr ']' {
      $$ = ast_new(prog, A_INDEX, L(prog, file, @2));
      $$->a = $1;
      $$->b = $3;
    }
  | postfix ':' call {
      $$ = ast_new(prog, A_LABELED, L(prog, file, @1));
      $$->a = $1;
      $$->b = $3;
    }
  ;

/* primary = INT | FLOAT | STRING | BOOL | IDENT | call | "(" expr ")" | list
 *         | "shared" IDENT | "shared" list          (label heads only) */
primary
  : INT { $$ = ast_new(prog, A_INT, L(prog, file, @1)); $$->i = $1; }
  | FLOAT { $$ = ast_new(prog, A_FLOAT, L(prog, file, @1)); $$->f = $1; }
  | STRING { $$ = ast_new(prog, A_STR, L(prog, file, @1)); $$->s = $1; }
  | BOOL { $$ = ast_new(prog, A_BOOL, L(prog, file, @1)); $$->i = $1; }
  | IDENT { $$ = ast_new(prog, A_NAME, L(prog, file, @1)); $$->s = $1; }
  | SHARED IDENT { /* the head of a label: shared conv1: conv(...) */
      $$ = ast_new(prog, A_NAME, L(prog, file, @$));
      $$->s = $2;
      $$->op = SHARED;
    }
  | SHARED list_expr { $$ = $2; $$->op = SHARED; $$->loc = L(prog, file, @$); }
  | call
  | '(' expr ')' { $$ = $2; }
  | list_expr
  ;

/* list = "[" [ expr { "," expr } ] "]" | "[" expr "for" IDENT "in" expr ".." expr "]" */
list_expr
  : '[' ']' { $$ = ast_new(prog, A_LIST, L(prog, file, @1)); }
  | '[' exprs ']' { $$ = ast_new(prog, A_LIST, L(prog, file, @1)); $$->list = $2; }
  | '[' expr FOR IDENT IN expr ']' { /* [f(i) for i in range(n)] */
      bad_range(prog, L(prog, file, @6), $4, $6);
      $$ = ast_new(prog, A_LIST, L(prog, file, @1));
    }
  | '[' expr FOR IDENT IN expr DOTDOT expr ']' {
      $$ = ast_new(prog, A_COMP, L(prog, file, @1));
      $$->s = $4;
      $$->a = $2;
      $$->b = $6;
      $$->c = $8;
    }
  ;

/* call = IDENT "(" [ arg { "," arg } ] ")",  arg = expr | IDENT "=" expr */
call
  : IDENT '(' args ')' {
      $$ = ast_new(prog, A_CALL, L(prog, file, @1));
      $$->s = $1;
      $$->list = $3;
    }
  ;
args
  : %empty { memset(&$$, 0, sizeof $$); }
  | args1
  ;
args1
  : arg { memset(&$$, 0, sizeof $$); ast_push(prog, &$$, $1); }
  | args1 ',' arg { $$ = $1; ast_push(prog, &$$, $3); }
  ;
arg
  : expr
  | IDENT '=' expr {
      $$ = ast_new(prog, A_KWARG, L(prog, file, @1));
      $$->s = $1;
      $$->a = $3;
    }
  ;

%%

/* A token as a message names it. */
static const char *describe(const DslTok *t, char *buf, size_t n) {
  switch (t->kind) {
  case 0: return "the end of the file";
  case NL: return "the end of the line";
  case ARROW: return "'->'";
  case STRING: snprintf(buf, n, "the string \"%s\"", t->text); return buf;
  default: snprintf(buf, n, "'%s'", t->text); return buf;
  }
}

/* An expected token kind as a message names it. */
static const char *expected_name(yysymbol_kind_t k, char *buf, size_t n) {
  static const char *const words[][2] = {
      {"end of line", "the end of the line"}, {"end of file", "the end of the file"},
      {"name", "a name"}, {"integer", "an integer"}, {"number", "a number"},
      {"string", "a string"}, {"true or false", "true or false"},
  };
  const char *s = yysymbol_name(k);
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (!strcmp(s, words[i][0]))
      return words[i][1];
  if (s[0] == '\'')
    return s; /* '{' */
  snprintf(buf, n, "'%s'", s); /* keywords and operators: 'block', '->' */
  return buf;
}

/* A note at the '}' that closed the last definition, if there was one. */
static void body_ended(DslProgram *prog, const DslLexInfo *in) {
  if (in->body_end.line > 0 && prog->ndefs > 0)
    dsl_note(prog, in->body_end, false, "the body of '%s' ended here",
             prog->defs[prog->ndefs - 1].name);
}

/* Whether `name` (as yysymbol_name spells it: "'('", "block") is expected. */
static bool expects(const yysymbol_kind_t *exp, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(yysymbol_name(exp[i]), name))
      return true;
  return false;
}

/* The character just after a token, from the source. */
static char char_after(DslProgram *prog, SrcLoc at) {
  const char *t = prog->texts[at.file];
  for (int l = 1; l < at.line && *t; t++)
    if (*t == '\n')
      l++;
  for (int c = 1; c < at.col + at.len && *t && *t != '\n'; c++)
    t++;
  return *t;
}

/* What people write from other languages, and the DSL's spelling. */
static const char *dsl_spelling(const char *word) {
  static const char *const map[][2] = {
      {"and", "&&"}, {"or", "||"}, {"not", "!"}, {"elif", "else if"}, {"elsif", "else if"},
      {"elseif", "else if"}, {"is", "=="}, {"def", "block"}, {"fn", "block"},
      {"function", "block"}, {"while", "for i in 0..n"}, {"let", "NAME = ..."},
      {"var", "NAME = ..."}, {"then", "{"},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(word, map[i][0]))
      return map[i][1];
  return NULL;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, DslProgram *prog,
                                 int file) {
  DslLexInfo in;
  dsl_lex_info(scanner, &in);
  const DslTok *t = &in.last, *p = &in.prev;
  DslRecover how = DSL_RECOVER_STATEMENT;
  if (prog->nerrors > in.errors_at_stmt) { /* one error per statement */
    dsl_lex_recover(scanner, DSL_RECOVER_STATEMENT);
    return 0;
  }
  yysymbol_kind_t exp[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
  if (n < 0)
    n = 0;
  SrcLoc at = L(prog, file, *yypcontext_location(ctx));
  char foundbuf[96], wbuf[96], b1[8][48];
  const char *found = describe(t, foundbuf, sizeof foundbuf);
  const char *close = in.paren_ch == '[' ? "]" : ")";
  bool closer = expects(exp, n, in.paren_ch == '[' ? "']'" : "')'") || t->kind == RETURN ||
                t->kind == FOR;
  /* The open '{' before the lookahead (a '}' has been counted already). */
  int braces = in.braces + (t->kind == '}');
  if (in.paren_open && t->first_on_line && in.paren.line < t->loc.line && closer &&
      t->loc.col - 1 <= in.paren_indent) {
    /* An unclosed bracket swallowed the newline: say so where it was opened. */
    dsl_error(prog, in.paren, "this '%c' is not closed", in.paren_ch);
    dsl_note(prog, t->loc, false, "expected '%s' or ',' before the next line", close);
    how = DSL_RECOVER_REPLAY;
  } else if (t->unmatched && t->kind == DSL_YYUNDEF && in.paren_open) {
    dsl_error(prog, at, "unexpected '}' inside '%c' ... '%c'", in.paren_ch,
              in.paren_ch == '(' ? ')' : ']');
    dsl_note(prog, in.paren, true, "'%c' opened here", in.paren_ch);
  } else if (t->unmatched) {
    if (braces == 0 && (prog->toplevel_quiet || prog->nerrors > in.errors_at_def))
      ; /* the end of a body reported already as statements outside one */
    else {
      dsl_error(prog, at, "this '%s' closes nothing: no '%s' is open", t->text,
                t->kind == DSL_YYUNDEF ? "{" : t->kind == ')' ? "(" : "[");
      if (t->kind == DSL_YYUNDEF)
        body_ended(prog, &in);
    }
  } else if (braces == 0 && (expects(exp, n, "block") || in.stmt_first.kind == IDENT)) {
    /* At the top of a file: a definition with a wrong keyword (def, modle),
     * or a statement outside any body. */
    const DslTok *w = in.stmt_first.kind == IDENT ? &in.stmt_first : t;
    Suggest sg;
    suggest_init(&sg, w->text);
    suggest_add(&sg, "block");
    suggest_add(&sg, "model");
    suggest_add(&sg, "import");
    const char *alias = w->kind == IDENT ? dsl_spelling(w->text) : NULL;
    if (w->kind == IDENT && ((alias && !strcmp(alias, "block")) || suggest_best(&sg)))
      bad_definition(prog, w->loc, w->text);
    else if (!prog->toplevel_quiet && prog->nerrors == in.errors_at_def) {
      /* a body without its header: said once, and not after another error
       * in the definition (which may have closed the body early) */
      dsl_error(prog, w->loc, "expected 'block', 'model' or 'import', found %s; statements "
                "go inside the body of a block or a model", describe(w, wbuf, sizeof wbuf));
      body_ended(prog, &in);
    }
    prog->toplevel_quiet = true;
  } else if (p->kind == IDENT && dsl_spelling(p->text) && strcmp(p->text, "def") != 0 &&
             p->loc.line == t->loc.line) {
    dsl_error(prog, p->loc, "'%s' is not a keyword of the DSL; did you mean '%s'?", p->text,
              dsl_spelling(p->text));
  } else if (t->kind == IDENT && dsl_spelling(t->text)) {
    dsl_error(prog, at, "'%s' is not a keyword of the DSL; did you mean '%s'?", t->text,
              dsl_spelling(t->text));
  } else if ((t->kind == '+' || t->kind == '-' || t->kind == '*' || t->kind == '/') &&
             char_after(prog, t->loc) == '=') {
    dsl_error(prog, at, "'%c=' is not in the DSL: write NAME = NAME %c ...", t->kind, t->kind);
  } else if ((t->kind == BLOCK || t->kind == MODEL || t->kind == IMPORT || t->kind == IF ||
              t->kind == FOR || t->kind == IN || t->kind == RETURN || t->kind == THEN ||
              t->kind == ELSE || t->kind == SHARED) && expects(exp, n, "name")) {
    dsl_error(prog, at, "expected %s, found '%s', a keyword of the DSL: it cannot be a name",
              expects(exp, n, "integer") ? "an expression" : "a name", t->text);
  } else if (in.stmt_first.kind == FOR && in.stmt_first.loc.line == t->loc.line &&
             (t->kind == ':' || p->kind == ':' || t->kind == '{' || t->first_on_line)) {
    /* Python's `for i in range(n):` (a range call, then a colon) */
    dsl_error(prog, at, "expected '..' and a body in braces, found %s; a loop is written "
              "`for i in 0..n { ... }` (n excluded), not Python's `for i in range(n):`", found);
  } else if (t->kind == IF && expects(exp, n, "'+'")) {
    /* Python's conditional expression `a if c else b` */
    dsl_error(prog, at, "unexpected 'if' after an expression; the DSL's conditional is "
              "`if c then a else b`, not Python's `a if c else b`");
  } else if (t->kind == '=' && expects(exp, n, "==")) {
    dsl_error(prog, at, "unexpected '=' in an expression; did you mean '=='?");
  } else if (t->kind == ':' && expects(exp, n, "'{'")) {
    dsl_error(prog, at, "expected '{', found ':'; a body is written in braces, not after a colon");
  } else if (n == 1 && expects(exp, n, "':'") && (t->kind == ')' || t->kind == ',')) {
    dsl_error(prog, at, "expected ':', found %s; a model's inputs are typed: x: f32[1, 3, 32, 32]",
              found);
  } else {
    /* "expected A, B or C, found X", with the tokens that start an
     * expression said as "an expression" and those that continue one as
     * "an operator". */
    static const char *const starts[] = {"name", "integer", "number", "string",
                                         "true or false", "'('", "'['", "'-'", "'!'", "if",
                                         "shared"};
    static const char *const ops[] = {"'<'", "'>'", "'+'", "'-'", "'*'", "'/'", "'%'", "==",
                                      "!=", "<=", ">=", "&&", "||", "->", "'.'", "'['", "':'",
                                      "..", "'('", "'='"}; /* after a name: a call, a keyword */
    bool expr = expects(exp, n, "integer") && expects(exp, n, "'('");
    bool op = expects(exp, n, "'+'") && expects(exp, n, "'*'");
    const char *names[YYNTOKENS + 2];
    int total = 0;
    for (int i = 0; i < n; i++) {
      const char *sym = yysymbol_name(exp[i]);
      bool grouped = false;
      for (size_t k = 0; expr && k < sizeof starts / sizeof starts[0]; k++)
        grouped |= !strcmp(sym, starts[k]);
      for (size_t k = 0; op && k < sizeof ops / sizeof ops[0]; k++)
        grouped |= !strcmp(sym, ops[k]);
      if (!grouped) {
        names[total] = expected_name(exp[i], b1[total % 8], sizeof b1[0]);
        total++;
      }
    }
    if (expr)
      names[total++] = "an expression";
    if (op)
      names[total++] = "an operator";
    StrBuf list = {0};
    for (int i = 0; i < total && total <= 4; i++)
      sb_printf(&list, "%s%s", i == 0 ? "" : i == total - 1 ? " or " : ", ", names[i]);
    int shown = total;
    if (shown && total <= 4)
      dsl_error(prog, at, "expected %s, found %s", list.buf, found);
    else
      dsl_error(prog, at, "unexpected %s", found);
    sb_free(&list);
  }
  if (t->kind == ':' && expects(exp, n, "'{'"))
    how = DSL_RECOVER_INDENTED; /* a Python-style body: its indented lines go with it */
  if (t->kind == '}')
    prog->toplevel_quiet = true; /* it may close the wrong body: what follows is no news */
  dsl_lex_recover(scanner, how);
  return 0;
}
