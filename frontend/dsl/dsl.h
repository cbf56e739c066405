/*
 * dsl.h — the Cardinal DSL: AST, parser entry and lowering to the IR.
 *
 * A .nx file holds `block` definitions (parameterised sub-networks) and one
 * `model` (typed inputs, a body, return values).  The parser (flex + bison)
 * builds the AST below; lower.c then *runs* the model body at compile time:
 * loops unroll, `if` picks a branch from parameters and tensor shapes, each
 * layer call appends IR nodes (shapes inferred as they are made), and each
 * parameter gets a hierarchical name (`layer1.0.conv2.weight`) bound from a
 * safetensors file or a seeded generator.  See GRAMMAR.md.
 */
#ifndef DSL_H
#define DSL_H

#include "../../compiler/cardinal.h"

typedef struct {
  int file;  /* index into DslProgram.files */
  int line;  /* 1-based */
  int col;   /* 1-based */
  int len;   /* characters of the token, for the caret */
} SrcLoc;

typedef enum {
  /* expressions */
  A_INT, A_FLOAT, A_STR, A_BOOL, A_NAME, A_LIST, A_COMP, A_BINOP, A_NEG, A_NOT,
  A_IFEXPR, A_CALL, A_KWARG, A_LABELED, A_MEMBER, A_MEMBER_INT, A_INDEX, A_CHAIN,
  /* statements */
  A_ASSIGN, A_IF, A_FOR, A_RETURN, A_BODY,
} AstKind;

typedef struct Ast Ast;
typedef struct {
  Ast **v;
  int n, cap;
} AstList;

struct Ast {
  AstKind kind;
  SrcLoc loc;
  int op;          /* A_BINOP: the operator token */
  int64_t i;       /* A_INT, A_BOOL, A_MEMBER_INT */
  double f;        /* A_FLOAT */
  char *s;         /* A_STR, A_NAME, A_CALL callee, A_KWARG key, A_MEMBER name, A_FOR var */
  Ast *a, *b, *c;  /* children: operands, condition/then/else, ... */
  AstList list;    /* A_LIST items, A_CALL args, A_BODY statements, A_RETURN values */
  SrcLoc end;      /* A_BODY: its closing '}' */
};

typedef struct {
  char *name;
  Ast *dflt;       /* default value, or NULL */
  int64_t dims[CD_MAX_RANK];
  int rank;        /* model inputs: declared f32[...] shape */
  SrcLoc loc;
} DslParam;

typedef struct {
  bool is_model;
  char *name;
  DslParam *params;
  int nparams;
  Ast *body;
  SrcLoc loc;
  bool no_return;  /* has no 'return' at all (reported once, by check.c) */
} DslDef;

/* A source file's identity: the device and inode of the descriptor it
 * was read from, so `lib.nx`, `./lib.nx` and a link to it are one file. */
struct DslFile {
  uint64_t dev, ino;
  int importer;       /* the file whose import read it (-1: the model) */
  bool parsing;       /* its parse has not returned: importing it again is a cycle */
};

typedef struct {
  Arena *arena;       /* owns the AST */
  char **files;       /* source paths */
  char **texts;       /* their contents, for caret diagnostics */
  struct DslFile *info; /* what identifies each, and where it was imported */
  int nfiles;
  DslDef *defs;
  int ndefs, cap_defs;
  Diag *d;
  int nerrors;        /* errors reported, repeats included */
  int nshown;         /* errors printed: a repeat of an earlier message is not */
  bool shown;         /* the last error was printed (so its notes are too) */
  bool toplevel_quiet; /* said "statements go inside a body" since the last definition */
  bool muted;         /* the lexer is reading a statement dropped after an error */
  uint64_t *seen;     /* hashes of the messages printed (open addressing) */
  int nseen, cap_seen;
} DslProgram;

/* Fails (with an error) if an AST is nested deeper than `limit`. */
bool dsl_check_depth(DslProgram *prog, Ast *root, int limit);
#define DSL_MAX_DEPTH 500 /* the name checks recurse over the AST: stay far from the stack's end */
#define DSL_MAX_STACK (2 << 20) /* bytes of C stack the evaluator may use (of 8 MiB) */
#define DSL_MAX_ERRORS 100 /* messages reported; later ones are only counted */
#define DSL_MAX_SOURCE ((size_t)16 << 20) /* bytes of one source file */

/* lexer.l -> parser.y: what the parser's syntax errors are written from. */
typedef struct {
  int kind;           /* token kind (parser.h); 0 at the end of the file */
  SrcLoc loc;
  char text[64];      /* as written (cut) */
  bool first_on_line;
  bool unmatched;     /* a ')' ']' or '}' that closes nothing */
} DslTok;

typedef struct {
  DslTok last, prev;  /* the lookahead and the token before it */
  int braces;         /* open '{' */
  int stmt_braces;    /* open '{' when the statement began */
  DslTok stmt_first;  /* its first token */
  int errors_at_def;  /* prog->nerrors when the definition began */
  SrcLoc body_end;    /* the '}' that closed the last definition's body */
  int errors_at_stmt; /* prog->nerrors then (-1 after a syntax error in it) */
  bool paren_open;    /* an '(' or '[' is open: */
  SrcLoc paren;       /*   the innermost, */
  char paren_ch;      /*   which, */
  int paren_indent;   /*   the indentation of its line */
} DslLexInfo;

void dsl_lex_info(void *scanner, DslLexInfo *out);
/* After a syntax error, how the lexer lets the parser go on: */
typedef enum {
  DSL_RECOVER_STATEMENT, /* drop the rest of the statement ('{' ... '}' included) */
  DSL_RECOVER_REPLAY,    /* the lookahead began a new line: end the statement before it */
  DSL_RECOVER_INDENTED,  /* a brace-less body follows: drop its deeper-indented lines too */
} DslRecover;
void dsl_lex_recover(void *scanner, DslRecover how);

/* Parser (parser.y): parses `path` (and what it imports) into prog. */
bool dsl_parse_file(DslProgram *prog, const char *path);
/* Reports a located error: file:line:col: message, the line, a caret.  A
 * message identical to an earlier one (same place, same words) is counted
 * but not printed again. */
void dsl_error(DslProgram *prog, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A note after the last error (not printed if that error was a repeat);
 * show_line adds the source line and a caret. */
void dsl_note(DslProgram *prog, SrcLoc loc, bool show_line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

Ast *ast_new(DslProgram *p, AstKind k, SrcLoc loc);
void ast_push(DslProgram *p, AstList *l, Ast *a);

/* suggest.c: "did you mean": add the names that would be valid where
 * `name` was written; the best is the nearest one close enough, or NULL. */
typedef struct {
  const char *name;  /* what was written */
  const char *best;  /* the nearest candidate so far, or NULL */
  int score;
} Suggest;
void suggest_init(Suggest *s, const char *name);
void suggest_add(Suggest *s, const char *cand);
const char *suggest_best(const Suggest *s);

/* lower.c: the model -> Graph.  weights: a .safetensors path or NULL
 * (then parameters come from a generator seeded with `seed`). */
typedef struct {
  const char *weights;
  uint64_t seed;
  const char *save;    /* also write the parameters here (safetensors), or NULL */
} DslOptions;
bool dsl_load(Graph *g, const char *path, const DslOptions *o, Diag *d);

/* safetensors.c: a read-only view of a safetensors file. */
typedef struct {
  char *name;
  DType dtype;         /* DT_FLOAT, or DT_UNDEFINED for types we cannot read */
  char dtype_name[16]; /* as written, for messages */
  int rank;
  int64_t dims[CD_MAX_RANK];
  const uint8_t *data; /* into the file's bytes */
  size_t bytes;
  bool used;           /* bound by the model */
} StTensor;

typedef struct {
  uint8_t *bytes;
  size_t size;
  StTensor *t;
  int n;
} SafeTensors;

bool safetensors_open(SafeTensors *st, const char *path, Diag *d);
/* Writes float32 tensors (g's values `vals`, with their names) to path. */
bool safetensors_write(const char *path, const Graph *g, const int *vals, int n, Diag *d);
const StTensor *safetensors_find(const SafeTensors *st, const char *name);
void safetensors_close(SafeTensors *st);

#endif
