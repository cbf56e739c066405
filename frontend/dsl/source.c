/*
 * source.c — DSL source files: loading (and `import`), AST allocation, and
 * located diagnostics in the style of a C compiler:
 *
 *   model.nx:12:18: error: undefined name 'widht'
 *      12 |   y = x -> conv(widht, k=1)
 *         |                 ^~~~~
 */
#include "dsl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool dsl_parse_text(DslProgram *prog, int file); /* lexer.l */

Ast *ast_new(DslProgram *p, AstKind k, SrcLoc loc) {
  Ast *a = arena_alloc(p->arena, sizeof(Ast));
  a->kind = k;
  a->loc = loc;
  return a;
}

void ast_push(DslProgram *p, AstList *l, Ast *a) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 4;
    Ast **nv = arena_alloc(p->arena, sizeof(Ast *) * (size_t)l->cap);
    if (l->n)
      memcpy(nv, l->v, sizeof(Ast *) * (size_t)l->n);
    l->v = nv;
  }
  l->v[l->n++] = a;
}

/* The source line of `loc` with a caret under it. */
static void excerpt(DslProgram *prog, SrcLoc loc, StrBuf *sb) {
  if (loc.file < 0 || loc.file >= prog->nfiles || loc.line <= 0)
    return;
  const char *t0 = prog->texts[loc.file], *t = t0;
  for (int l = 1; l < loc.line && *t; t++)
    if (*t == '\n')
      l++;
  const char *e = strchr(t, '\n');
  int n = e ? (int)(e - t) : (int)strlen(t);
  CD_STEPS(t - t0 + n); /* bytes scanned for the line */
  /* A window of the line around the column: a generated line can be
   * megabytes long. */
  int from = loc.col > 100 ? loc.col - 60 : 1, to = from + 140 < n + 1 ? from + 140 : n + 1;
  sb_printf(sb, "%5d | %s", loc.line, from > 1 ? "..." : "");
  for (int i = from - 1; i < to - 1 && i < n; i++) /* a tab or a control byte in a string:
                                                     one column, as the caret counts */
    sb_putn(sb, t[i] == '\t' ? " " : (unsigned char)t[i] < 32 || t[i] == 127 ? "?" : &t[i], 1);
  sb_printf(sb, "%s\n      | %*s^", to - 1 < n ? "..." : "",
            loc.col - from + (from > 1 ? 3 : 0), "");
  for (int i = 1; i < loc.len && i < 200; i++)
    sb_printf(sb, "~");
  sb_printf(sb, "\n");
}

/* Printed as Diag's messages are: the names and strings a message quotes
 * come from the file, with their control characters escaped (arena.c). */
static void print(DslProgram *prog, StrBuf *sb) {
  Diag *d = prog->d;
  StrBuf safe = {0};
  sb_put_printable(&safe, sb->buf, sb->len);
  if (!d->quiet)
    fputs(safe.buf, stderr);
  sb_putn(&d->log, safe.buf, safe.len);
  sb_free(&safe);
}

/* Remembers a message; false if it was reported before (a block called
 * four times with one mistake in it reports it once). */
static bool first_time(DslProgram *prog, const char *msg) {
  uint64_t h = cd_hash_bytes(0, msg, strlen(msg)) | 1;
  if (2 * (prog->nseen + 1) > prog->cap_seen) {
    int cap = prog->cap_seen ? 2 * prog->cap_seen : 64;
    uint64_t *t = arena_alloc(prog->arena, sizeof(uint64_t) * (size_t)cap);
    for (int i = 0; i < prog->cap_seen; i++)
      if (prog->seen[i])
        for (int k = (int)(prog->seen[i] & (uint64_t)(cap - 1));; k = (k + 1) & (cap - 1))
          if (!t[k]) {
            t[k] = prog->seen[i];
            break;
          }
    prog->seen = t;
    prog->cap_seen = cap;
  }
  for (int k = (int)(h & (uint64_t)(prog->cap_seen - 1));; k = (k + 1) & (prog->cap_seen - 1)) {
    if (prog->seen[k] == h)
      return false;
    if (!prog->seen[k]) {
      prog->seen[k] = h;
      prog->nseen++;
      return true;
    }
  }
}

/* "file:line:col: KIND: message\n" into sb. */
static void headline(DslProgram *prog, SrcLoc loc, const char *kind, const char *fmt,
                     va_list ap, StrBuf *sb) {
  const char *file = loc.file >= 0 && loc.file < prog->nfiles ? prog->files[loc.file] : "?";
  sb_printf(sb, "%s:%d:%d: %s: ", file, loc.line, loc.col, kind);
  sb_vprintf(sb, fmt, ap);
  sb_printf(sb, "\n");
}

void dsl_error(DslProgram *prog, SrcLoc loc, const char *fmt, ...) {
  if (prog->muted) { /* part of a statement already reported */
    prog->d->nerrors++;
    prog->nerrors++;
    prog->shown = false;
    return;
  }
  Diag *d = prog->d;
  if (prog->nerrors >= DSL_MAX_ERRORS) {
    /* Each message finds its line from the file's start: a megabyte of
     * garbage (an error a byte) must not cost a million scans. */
    if (prog->nerrors == DSL_MAX_ERRORS)
      diag_error(d, "too many errors (%d); stopping", DSL_MAX_ERRORS);
    else
      d->nerrors++;
    prog->nerrors++;
    prog->shown = false;
    return;
  }
  StrBuf sb = {0};
  va_list ap;
  va_start(ap, fmt);
  headline(prog, loc, "error", fmt, ap, &sb);
  va_end(ap);
  d->nerrors++;
  prog->nerrors++;
  prog->shown = first_time(prog, sb.buf);
  if (prog->shown) {
    excerpt(prog, loc, &sb);
    print(prog, &sb);
    prog->nshown++;
  }
  sb_free(&sb);
}

void dsl_note(DslProgram *prog, SrcLoc loc, bool show_line, const char *fmt, ...) {
  if (!prog->shown)
    return; /* the error it explains was a repeat */
  StrBuf sb = {0};
  va_list ap;
  va_start(ap, fmt);
  headline(prog, loc, "note", fmt, ap, &sb);
  va_end(ap);
  if (show_line)
    excerpt(prog, loc, &sb);
  print(prog, &sb);
  sb_free(&sb);
}

static int add_file(DslProgram *prog, const char *path, char *text, struct DslFile info) {
  char **f = arena_alloc(prog->arena, sizeof(char *) * (size_t)(prog->nfiles + 1));
  char **t = arena_alloc(prog->arena, sizeof(char *) * (size_t)(prog->nfiles + 1));
  struct DslFile *in = arena_alloc(prog->arena, sizeof *in * (size_t)(prog->nfiles + 1));
  if (prog->nfiles) {
    memcpy(f, prog->files, sizeof(char *) * (size_t)prog->nfiles);
    memcpy(t, prog->texts, sizeof(char *) * (size_t)prog->nfiles);
    memcpy(in, prog->info, sizeof *in * (size_t)prog->nfiles);
  }
  f[prog->nfiles] = arena_strdup(prog->arena, path);
  t[prog->nfiles] = text;
  in[prog->nfiles] = info;
  prog->files = f;
  prog->texts = t;
  prog->info = in;
  return prog->nfiles++;
}

/* File i as a message names it: its path inside the model's folder. */
static const char *file_name(DslProgram *prog, int i) {
  const char *model = prog->files[0], *slash = strrchr(model, '/');
  size_t n = slash ? (size_t)(slash - model) + 1 : 0;
  return strncmp(prog->files[i], model, n) ? prog->files[i] : prog->files[i] + n;
}

/* File `from` imports file `again`, whose parse is in progress: the chain
 * of imports from `again` to `from`, and back, is the error. */
static void import_cycle(DslProgram *prog, SrcLoc from, int again) {
  if (from.file == again) {
    dsl_error(prog, from, "'%s' imports itself; remove this import",
              file_name(prog, again));
    return;
  }
  int chain[64], n = 0; /* from, its importer, ..., again */
  for (int f = from.file; f >= 0 && n < 64; f = prog->info[f].importer) {
    chain[n++] = f;
    if (f == again)
      break;
  }
  StrBuf sb = {0};
  sb_printf(&sb, "import cycle: '%s'", file_name(prog, again));
  for (int k = n - 2; k >= 0; k--)
    sb_printf(&sb, "%s '%s'", k == n - 2 ? " imports" : ", which imports",
              file_name(prog, chain[k]));
  sb_printf(&sb, ", which imports '%s' again; remove one of these imports (the blocks of "
            "every file read are visible in all of them)", file_name(prog, again));
  dsl_error(prog, from, "%s", sb.buf);
  sb_free(&sb);
}

/* Parses `path`; an import names it relative to the importing file, and
 * may only name a regular file inside the model's folder (the folder of
 * the file compiled): no absolute path, no "..", no link leading out, no
 * FIFO or device (import "/dev/zero" read without end).  A file is read
 * once, whichever path names it: files are told apart by the device and
 * inode of the descriptor opened, so importing one again is nothing, and
 * importing one whose parse is in progress is a cycle (an error). */
bool dsl_parse_file_at(DslProgram *prog, const char *path, SrcLoc from) {
  char *full;
  if (from.file >= 0 && !cd_path_is_relative_inside(path)) {
    dsl_error(prog, from, "cannot import '%s': an import names a file inside the model's "
              "folder, by a relative path without '..'", path);
    return false;
  }
  if (from.file >= 0) {
    const char *base = prog->files[from.file];
    const char *slash = strrchr(base, '/');
    full = slash ? arena_printf(prog->arena, "%.*s/%s", (int)(slash - base), base, path)
                 : arena_strdup(prog->arena, path);
  } else {
    full = arena_strdup(prog->arena, path);
  }
  const char *why = NULL;
  int fd;
  if (from.file >= 0) {
    const char *model = prog->files[0], *slash = strrchr(model, '/');
    const char *root = slash ? arena_strndup(prog->arena, model, (size_t)(slash - model)) : ".";
    int64_t size;
    fd = cd_open_inside(root, full, &size, &why);
  } else {
    fd = open(full, O_RDONLY | O_CLOEXEC);
  }
  struct stat st;
  uint8_t *bytes;
  size_t n;
  bool read = fd >= 0 && fstat(fd, &st) == 0;
  struct DslFile info = {read ? (uint64_t)st.st_dev : 0, read ? (uint64_t)st.st_ino : 0,
                         from.file, true};
  for (int i = 0; read && i < prog->nfiles; i++)
    if (prog->info[i].dev == info.dev && prog->info[i].ino == info.ino) {
      close(fd);
      if (!prog->info[i].parsing)
        return true; /* read already */
      import_cycle(prog, from, i);
      return false;
    }
  if (read && prog->nfiles >= 64) {
    close(fd);
    dsl_error(prog, from, "too many imports: a program reads at most 64 files");
    return false;
  }
  read = read && (from.file >= 0 ? cd_read_fd : cd_read_open)(fd, DSL_MAX_SOURCE, &bytes, &n);
  int e = errno;
  if (fd >= 0)
    close(fd);
  errno = e;
  if (!read) {
    const char *reason = why ? why : errno == EFBIG ? "larger than 16 MiB" : strerror(errno);
    if (from.file >= 0)
      dsl_error(prog, from, "cannot import '%s': %s", full, reason);
    else
      diag_error(prog->d, "cannot read: %s", reason), prog->nerrors++;
    return false;
  }
  char *text = arena_alloc(prog->arena, n + 1);
  memcpy(text, bytes, n);
  free(bytes);
  int file = add_file(prog, full, text, info);
  if (memchr(text, 0, n)) {
    SrcLoc l = {file, 1, 1, 1};
    dsl_error(prog, l, "not a text file (contains NUL bytes)");
    prog->info[file].parsing = false;
    return false;
  }
  bool ok = dsl_parse_text(prog, file);
  prog->info[file].parsing = false;
  return ok;
}

/* The deepest path below `root`, found without recursion (the walkers that
 * come later recurse, and a generated `1 + 1 + ... + 1` of a million terms
 * would overflow their stack).  Reports the first node past `limit`. */
bool dsl_check_depth(DslProgram *prog, Ast *root, int limit) {
  if (!root)
    return true;
  int cap = 256, n = 0;
  struct { Ast *a; int d; } *st = malloc(sizeof *st * (size_t)cap);
  st[n].a = root;
  st[n++].d = 1;
  bool ok = true;
  while (n && ok) {
    Ast *a = st[--n].a;
    int d = st[n].d;
    if (d > limit) {
      dsl_error(prog, a->loc, "expressions nest deeper than %d levels", limit);
      ok = false;
      break;
    }
    Ast *kids[3] = {a->a, a->b, a->c};
    int need = n + 3 + a->list.n;
    if (need > cap) {
      while (cap < need)
        cap *= 2;
      st = realloc(st, sizeof *st * (size_t)cap);
    }
    for (int i = 0; i < 3; i++)
      if (kids[i]) {
        st[n].a = kids[i];
        st[n++].d = d + 1;
      }
    for (int i = 0; i < a->list.n; i++) {
      st[n].a = a->list.v[i];
      st[n++].d = d + 1;
    }
  }
  free(st);
  return ok;
}

bool dsl_parse_file(DslProgram *prog, const char *path) {
  SrcLoc none = {-1, 0, 0, 0};
  dsl_parse_file_at(prog, path, none);
  return prog->nerrors == 0;
}
