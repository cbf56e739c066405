/*
 * parser.y — the grammar of the Cardinal DSL (GRAMMAR.md explains it with
 * examples).  A pure LALR(1) parser with locations; on a syntax error it
 * reports file:line:col with the source line and a caret, skips to the end
 * of the statement and goes on, so one run reports every independent error.
 */
%define api.pure full
%define api.prefix {dsl_yy}
%define parse.error verbose
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
%token ELSE "else" FOR "for" IN "in" RETURN "return"

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
      add_def(prog, (DslDef){false, $2, $4.v, $4.n, $6, L(prog, file, @2)});
    }
  | MODEL IDENT '(' inputs ')' body {
      add_def(prog, (DslDef){true, $2, $4.v, $4.n, $6, L(prog, file, @2)});
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
  : '{' stmts '}' { $$ = ast_new(prog, A_BODY, L(prog, file, @1)); $$->list = $2; }
  | '{' stmts stmt '}' {
      $$ = ast_new(prog, A_BODY, L(prog, file, @1));
      $$->list = $2;
      ast_push(prog, &$$->list, $3);
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

/* primary = INT | FLOAT | STRING | BOOL | IDENT | call | "(" expr ")" | list */
primary
  : INT { $$ = ast_new(prog, A_INT, L(prog, file, @1)); $$->i = $1; }
  | FLOAT { $$ = ast_new(prog, A_FLOAT, L(prog, file, @1)); $$->f = $1; }
  | STRING { $$ = ast_new(prog, A_STR, L(prog, file, @1)); $$->s = $1; }
  | BOOL { $$ = ast_new(prog, A_BOOL, L(prog, file, @1)); $$->i = $1; }
  | IDENT { $$ = ast_new(prog, A_NAME, L(prog, file, @1)); $$->s = $1; }
  | call
  | '(' expr ')' { $$ = $2; }
  | list_expr
  ;

/* list = "[" [ expr { "," expr } ] "]" | "[" expr "for" IDENT "in" expr ".." expr "]" */
list_expr
  : '[' ']' { $$ = ast_new(prog, A_LIST, L(prog, file, @1)); }
  | '[' exprs ']' { $$ = ast_new(prog, A_LIST, L(prog, file, @1)); $$->list = $2; }
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
