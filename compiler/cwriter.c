/*
 * cwriter.c — the C writer: every stage that writes C (the ops' scalar
 * kernels, the SIMD micro-kernels, the emitter's functions around them)
 * writes through one of these, and none of them counts spaces.
 *
 * Indentation follows the code: each complete line is stripped of its
 * leading blanks and indented by two spaces per brace open, plus one level
 * per braceless control header above it (`for (...)` with its statement on
 * the next line), plus two for the continuation of an expression whose
 * parentheses are still open.  Braces and parentheses inside string and
 * character literals and comments do not count.  Preprocessor lines (and
 * their backslash continuations) go out as written, at column 0.
 *
 * Named parameters: cw_var(w, "OW", "%lld", ow) defines ${OW}, and every
 * line written after it has ${OW} replaced, so a template reads
 * "for (long ow = 0; ow < ${OW}; ow++)" instead of a thirtieth positional
 * %lld.  Names from a model never reach a line as ${...}: the emitter
 * writes them only through put_comment_text and put_c_string, which
 * escape '$'.
 *
 * Generated code is work a model asks for: past the budget (the graph's
 * Limits.code_bytes) the writer writes nothing more and sets `over`; the
 * string helpers then return "" so a runaway kernel builds nothing either.
 */
#include "cardinal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

void cw_init(CWriter *w, StrBuf *out, Arena *arena, int64_t budget) {
  memset(w, 0, sizeof *w);
  w->out = out;
  w->arena = arena;
  w->budget = budget;
}

void cw_free(CWriter *w) { sb_free(&w->line); }

static bool starts_word(const char *s, const char *word) {
  size_t n = strlen(word);
  return !strncmp(s, word, n) && !isalnum((unsigned char)s[n]) && s[n] != '_';
}

static bool ends_with_else(const char *s, size_t n) {
  return n >= 4 && !strncmp(s + n - 4, "else", 4) &&
         (n == 4 || !(isalnum((unsigned char)s[n - 5]) || s[n - 5] == '_'));
}

/* One line's code (outside literals and comments, an open block comment
 * carried over lines): each '{' opens a block at the line's level, each
 * '}' closes the innermost; parentheses are counted; *last is the last
 * character of code and *code where it ends. */
static void scan(CWriter *w, const char *s, int level, char *last, size_t *code) {
  *last = 0;
  *code = 0;
  for (const char *p = s; *p; p++) {
    if (w->in_comment) {
      if (p[0] == '*' && p[1] == '/')
        w->in_comment = false, p++;
      continue;
    }
    if (p[0] == '/' && p[1] == '*') {
      w->in_comment = true;
      p++;
      continue;
    }
    if (p[0] == '/' && p[1] == '/')
      return;
    if (*p == '"' || *p == '\'') {
      char q = *p;
      for (p++; *p && *p != q; p++)
        if (*p == '\\' && p[1])
          p++;
      if (!*p)
        return;
    } else if (*p == '{') {
      CD_ASSERT(w->depth < CW_MAX_DEPTH);
      w->stack[w->depth++] = level;
    } else if (*p == '}') {
      CD_ASSERT(w->depth > 0);
      w->depth--;
    } else if (*p == '(') {
      w->paren++;
    } else if (*p == ')') {
      w->paren--;
    }
    if (!isspace((unsigned char)*p)) {
      *last = *p;
      *code = (size_t)(p - s) + 1;
    }
  }
}

static char last_char(const char *s) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  return n ? s[n - 1] : 0;
}

/* Writes one complete line (without its '\n'). */
static void put_line(CWriter *w, const char *raw) {
  if (w->pp_cont) { /* a preprocessor directive continued: as written */
    sb_printf(w->out, "%s\n", raw);
    w->pp_cont = last_char(raw) == '\\';
    return;
  }
  const char *s = raw;
  while (*s == ' ' || *s == '\t')
    s++;
  if (!*s) {
    sb_putn(w->out, "\n", 1);
    return;
  }
  if (*s == '#') {
    sb_printf(w->out, "%s\n", s);
    w->pp_cont = last_char(s) == '\\';
    return;
  }
  bool in_comment = w->in_comment;
  bool comment = in_comment || (s[0] == '/' && (s[1] == '*' || s[1] == '/'));
  bool continued = !comment && (w->paren > 0 || w->cont);
  int base = w->depth ? w->stack[w->depth - 1] + 1 : 0;
  int level = continued ? w->stmt_level + 2 : *s == '}' ? base - 1 : base + w->pending;
  for (int i = 0; i < level; i++)
    sb_putn(w->out, "  ", 2);
  if (in_comment && *s == '*')
    sb_putn(w->out, " ", 1);
  sb_printf(w->out, "%s\n", s);
  char end;
  size_t code;
  scan(w, s, level, &end, &code);
  if (comment)
    return; /* a comment leaves the code's state as it was */
  if (!continued) {
    w->stmt_level = level;
    w->header = starts_word(s, "for") || starts_word(s, "if") || starts_word(s, "while") ||
                starts_word(s, "else") || (*s == '}' && strstr(s, "else"));
  }
  if (w->paren < 0)
    w->paren = 0;
  /* An expression broken after an operator goes on below, indented. */
  w->cont = w->paren == 0 && (end == '&' || end == '|' || end == '+' || end == '-' ||
                              end == '*' || end == '/' || end == '?' || end == '=');
  if (w->paren > 0 || w->cont)
    return;
  if (w->header && (end == ')' || ends_with_else(s, code)))
    w->pending++; /* a braceless header: its statement is one level in */
  else
    w->pending = 0;
  w->header = false;
}

/* Replaces the ${name}s of s that are defined; the result in w->line's
 * place, returned. */
static const char *substitute(CWriter *w, const char *s, StrBuf *tmp) {
  if (!w->nvars || !strstr(s, "${"))
    return s;
  for (const char *p = s; *p;) {
    const char *v = strstr(p, "${");
    if (!v) {
      sb_printf(tmp, "%s", p);
      break;
    }
    sb_putn(tmp, p, (size_t)(v - p));
    const char *end = strchr(v, '}');
    const char *val = NULL;
    if (end)
      for (int i = 0; i < w->nvars; i++)
        if (strlen(w->vars[i].name) == (size_t)(end - v - 2) &&
            !strncmp(w->vars[i].name, v + 2, (size_t)(end - v - 2)))
          val = w->vars[i].val;
    CD_ASSERT(val || !"a template names a ${var} no cw_var defined");
    sb_printf(tmp, "%s", val);
    p = end + 1;
  }
  return tmp->buf ? tmp->buf : "";
}

void cw_vwrite(CWriter *w, const char *fmt, va_list ap) {
  CD_STEPS(1); /* a call, written or not: work past the budget shows */
  if (w->over)
    return;
  size_t from = w->line.len; /* the partial line before holds no '\n' */
  sb_vprintf(&w->line, fmt, ap);
  char *start = w->line.buf, *nl;
  if (!start)
    return;
  for (char *scan = start + from;; scan = start) {
    nl = strchr(scan, '\n');
    /* the bytes strchr looked at: each once, from the new text on */
    CD_STEPS(1 + (nl ? (size_t)(nl - scan) : w->line.len - (size_t)(scan - w->line.buf)));
    if (!nl)
      break;
    *nl = 0;
    StrBuf tmp = {0};
    put_line(w, substitute(w, start, &tmp));
    sb_free(&tmp);
    start = nl + 1;
    if ((int64_t)w->out->len > w->budget) {
      w->over = true;
      return;
    }
  }
  if (start && start != w->line.buf) { /* keep the partial line */
    size_t rest = strlen(start);
    memmove(w->line.buf, start, rest + 1);
    w->line.len = rest;
  }
  w->over = (int64_t)w->out->len > w->budget;
}

void cw(CWriter *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cw_vwrite(w, fmt, ap);
  va_end(ap);
}

void cw_flush(CWriter *w) {
  if (w->line.len)
    cw(w, "\n");
}

bool cw_room(CWriter *w, int64_t bytes) {
  if (sat_add((int64_t)w->out->len, bytes) > w->budget)
    w->over = true;
  return !w->over;
}

void cw_var(CWriter *w, const char *name, const char *fmt, ...) {
  if (w->over)
    return;
  va_list ap;
  va_start(ap, fmt);
  StrBuf sb = {0};
  sb_vprintf(&sb, fmt, ap);
  va_end(ap);
  const char *val = arena_strdup(w->arena, sb.buf ? sb.buf : "");
  sb_free(&sb);
  for (int i = 0; i < w->nvars; i++)
    if (!strcmp(w->vars[i].name, name)) {
      w->vars[i].val = val;
      return;
    }
  CD_ASSERT(w->nvars < CW_MAX_VARS);
  w->vars[w->nvars++] = (CwVar){arena_strdup(w->arena, name), val};
}

void cw_vars_clear(CWriter *w) { w->nvars = 0; }

const char *cw_fmt(CWriter *w, const char *fmt, ...) {
  if (w->over)
    return "";
  va_list ap;
  va_start(ap, fmt);
  StrBuf sb = {0};
  sb_vprintf(&sb, fmt, ap);
  va_end(ap);
  const char *s = arena_strdup(w->arena, sb.buf ? sb.buf : "");
  sb_free(&sb);
  return s;
}

const char *cw_int(CWriter *w, int64_t v) { return cw_fmt(w, "%lld", (long long)v); }

const char *cw_float(CWriter *w, double f) {
  float x = (float)f;
  if (isnan(x))
    return "NAN";
  if (isinf(x))
    return x > 0 ? "HUGE_VALF" : "(-HUGE_VALF)";
  char buf[64];
  snprintf(buf, sizeof buf, "%.9g", (double)x);
  if (!strpbrk(buf, ".en"))
    strcat(buf, ".0");
  strcat(buf, "f");
  return cw_fmt(w, x < 0 ? "(%s)" : "%s", buf);
}

void cw_loop_nest(CWriter *w, char v, const int64_t *dims, int r) {
  for (int k = 0; k < r; k++)
    cw(w, "for (long %c%d = 0; %c%d < %lld; %c%d++)\n", v, k, v, k, (long long)dims[k], v, k);
}

const char *cw_op(CWriter *w, const char *tmpl, const char *a, const char *b, const char *c) {
  if (w->over)
    return "";
  const char *args[3] = {a, b, c};
  StrBuf sb = {0};
  for (const char *p = tmpl; *p; p++) {
    if (p[0] == '$' && p[1] >= '0' && p[1] <= '2') {
      const char *s = args[p[1] - '0'];
      CD_ASSERT(s);
      sb_printf(&sb, "%s", s);
      p++;
    } else {
      sb_putn(&sb, p, 1);
    }
  }
  const char *r = arena_strdup(w->arena, sb.buf ? sb.buf : "");
  sb_free(&sb);
  return r;
}
