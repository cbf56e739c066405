/*
 * arena.c — memory, strings and diagnostics shared by every stage.
 *
 * One Arena per compilation: allocation is a pointer bump inside 1 MiB
 * chunks (large requests get a chunk of their own), and the whole
 * compilation is freed with one arena_free.  User errors go through Diag,
 * which counts them so a stage can report every problem it finds before the
 * driver gives up; internal invariants go through CD_ASSERT and abort.
 */
#include "cardinal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ArenaChunk {
  ArenaChunk *next; /* older chunk */
  size_t used;      /* bytes handed out */
  size_t size;      /* bytes in data[] */
  _Alignas(16) unsigned char data[];
};

#define CHUNK_SIZE (1u << 20)

void cd_internal_error(const char *file, int line, const char *what) {
  fprintf(stderr, "cardinal: internal error at %s:%d: %s\n", file, line, what);
  abort();
}

/* ------------------------------------------------------------ tracked blocks */

/* Each block is preceded by this header (32 bytes: the caller's memory
 * stays 16-byte aligned).  The links are XOR-masked: LeakSanitizer scans
 * memory for pointers, and an unmasked list would keep every block
 * reachable. */
typedef struct Block {
  uintptr_t prev_x, next_x;
  uint64_t seq; /* allocation number; 0 once kept (cd_keep) */
  uint64_t pad;
} Block;

#define LINK_MASK ((uintptr_t)0x5a5a5a5a5a5a5a5aull)
#define LINK(p) ((uintptr_t)(p) ^ LINK_MASK)
#define UNLINK(x) ((Block *)((x) ^ LINK_MASK))

static uintptr_t head_x = LINK_MASK; /* the newest block, masked (NULL) */
static uint64_t count;               /* allocations so far */
static uint64_t bytes;               /* bytes they asked for */
static uint64_t fail_at;             /* the allocation that fails, 0: none */
static size_t nlive;                 /* blocks on the list */
static CdTry *current;               /* the innermost cd_try */

static void link_block(Block *b) {
  Block *h = UNLINK(head_x);
  b->prev_x = LINK(NULL);
  b->next_x = LINK(h);
  if (h)
    h->prev_x = LINK(b);
  head_x = LINK(b);
  nlive++;
}

static void unlink_block(Block *b) {
  Block *p = UNLINK(b->prev_x), *n = UNLINK(b->next_x);
  if (p)
    p->next_x = LINK(n);
  else
    head_x = LINK(n);
  if (n)
    n->prev_x = LINK(p);
  nlive--;
}

/* An allocation failed: unwind to the innermost try, having freed every
 * block allocated inside it; with none, give up. */
static _Noreturn void out_of_memory(size_t n) {
  CdTry *t = current;
  if (!t) {
    fprintf(stderr, "cardinal: out of memory (%zu bytes)\n", n);
    exit(1);
  }
  current = t->outer;
  for (Block *b = UNLINK(head_x), *next; b; b = next) {
    next = UNLINK(b->next_x);
    if (b->seq > t->mark) {
      unlink_block(b);
      (free)(b);
    }
  }
  longjmp(t->env, 1);
}

_Noreturn void cd_oom(void) { out_of_memory(0); }

/* One more allocation: false when the fault injector says this one fails. */
static bool alloc_allowed(void) {
  return ++count != fail_at;
}

void *cd_xmalloc(size_t n) {
  bytes += n;
  Block *b = alloc_allowed() && n <= SIZE_MAX - sizeof(Block) ? (malloc)(sizeof(Block) + n)
                                                              : NULL;
  if (!b)
    out_of_memory(n);
  b->seq = count;
  link_block(b);
  return b + 1;
}

void *cd_xcalloc(size_t n, size_t m) {
  if (m && n > SIZE_MAX / m)
    out_of_memory(SIZE_MAX);
  void *p = cd_xmalloc(n * m);
  memset(p, 0, n * m);
  return p;
}

void *cd_xrealloc(void *p, size_t n) {
  if (!p)
    return cd_xmalloc(n);
  Block *old = (Block *)p - 1;
  bytes += n;
  if (!alloc_allowed() || n > SIZE_MAX - sizeof(Block))
    out_of_memory(n); /* p stays valid, and freed by the unwinding if it is the try's */
  unlink_block(old);
  Block *b = (realloc)(old, sizeof(Block) + n);
  if (!b) {
    link_block(old);
    out_of_memory(n);
  }
  link_block(b); /* keeps its number: a caller's block stays the caller's */
  return b + 1;
}

static char *copy_str(const char *s, size_t len) {
  char *p = cd_xmalloc(len + 1);
  memcpy(p, s, len);
  p[len] = 0;
  return p;
}

char *cd_xstrndup(const char *s, size_t n) { return copy_str(s, strnlen(s, n)); }

char *cd_xstrdup(const char *s) { return copy_str(s, strlen(s)); }

void cd_xfree(void *p) {
  if (!p)
    return;
  Block *b = (Block *)p - 1;
  unlink_block(b);
  (free)(b);
}

void cd_keep(void *p) {
  if (p)
    ((Block *)p - 1)->seq = 0;
}

void cd_try_begin(CdTry *t) {
  t->outer = current;
  t->mark = count;
  current = t;
}

void cd_try_end(CdTry *t) {
  CD_ASSERT(current == t);
  current = t->outer;
}

void cd_fail_alloc(uint64_t n) {
  fail_at = n ? count + n : 0;
}

uint64_t cd_alloc_count(void) { return count; }

uint64_t cd_alloc_bytes(void) { return bytes; }

uint64_t cd_steps_taken;

uint64_t cd_step_count(void) { return cd_steps_taken; }

size_t cd_live_blocks(void) { return nlive; }

/* ------------------------------------------------------------ the arena */

static void *xmalloc(size_t n) {
  return malloc(n ? n : 1);
}

void *arena_alloc(Arena *a, size_t n) {
  void *p = arena_alloc_raw(a, n);
  memset(p, 0, n);
  return p;
}

void *arena_alloc_raw(Arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  ArenaChunk *c = a->head;
  if (!c || c->size - c->used < n) {
    size_t size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
    c = xmalloc(sizeof(ArenaChunk) + size);
    c->used = 0;
    c->size = size;
    if (size == n && a->head) {
      /* A big private chunk goes behind the current one so the current
       * chunk's free space stays usable. */
      c->next = a->head->next;
      a->head->next = c;
    } else {
      c->next = a->head;
      a->head = c;
    }
  }
  void *p = c->data + c->used;
  c->used += n;
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  if (n) /* s may be NULL when empty (protobuf-c's empty bytes) */
    memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_strdup(Arena *a, const char *s) {
  return arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  StrBuf sb = {0};
  sb_vprintf(&sb, fmt, ap);
  va_end(ap);
  char *p = arena_strndup(a, sb.buf, sb.len);
  sb_free(&sb);
  return p;
}

static size_t namemap_slot(const NameMap *m, const char *key) {
  size_t h = (size_t)cd_hash_bytes(0, key, strlen(key)) & (m->cap - 1);
  CD_STEPS(1);
  while (m->keys[h] && strcmp(m->keys[h], key) != 0) {
    h = (h + 1) & (m->cap - 1);
    CD_STEPS(1); /* a probe */
  }
  return h;
}

void *namemap_get(const NameMap *m, const char *key) {
  return m->cap ? m->vals[namemap_slot(m, key)] : NULL;
}

void namemap_put(NameMap *m, Arena *a, const char *key, void *val) {
  if (2 * (m->n + 1) > m->cap) { /* at most half full: grow, rehash */
    NameMap old = *m;
    m->cap = old.cap ? 2 * old.cap : 16;
    m->keys = arena_alloc(a, sizeof(char *) * m->cap);
    m->vals = arena_alloc(a, sizeof(void *) * m->cap);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
      if (old.keys[i])
        namemap_put(m, a, old.keys[i], old.vals[i]);
  }
  size_t h = namemap_slot(m, key);
  if (!m->keys[h]) {
    m->keys[h] = key;
    m->n++;
  }
  m->vals[h] = val;
}

void arena_free(Arena *a) {
  ArenaChunk *c = a->head;
  while (c) {
    ArenaChunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
}

static void sb_reserve(StrBuf *sb, size_t extra) {
  if (sb->len + extra + 1 <= sb->cap)
    return;
  size_t cap = sb->cap ? sb->cap : 256;
  while (cap < sb->len + extra + 1)
    cap *= 2;
  char *p = realloc(sb->buf, cap); /* unwinds on failure (cd_try) */
  sb->buf = p;
  sb->cap = cap;
}

void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  CD_ASSERT(n >= 0);
  sb_reserve(sb, (size_t)n);
  vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
  sb->len += (size_t)n;
}

void sb_printf(StrBuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(sb, fmt, ap);
  va_end(ap);
}

void sb_putn(StrBuf *sb, const char *s, size_t n) {
  sb_reserve(sb, n);
  if (n)
    memcpy(sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = 0;
}

void sb_free(StrBuf *sb) {
  free(sb->buf);
  sb->buf = NULL;
  sb->len = sb->cap = 0;
}

/* Appends s[0..n) with the control characters a terminal acts on written
 * as \xNN: C0 but newline and tab, DEL, and the C1 controls UTF-8 spells
 * C2 80..C2 9F (CSI is C2 9B).  ESC ]0;TITLE BEL in a node name would
 * retitle the terminal, ESC [2J clear it.  Other bytes (UTF-8 letters
 * among them) pass. */
void sb_put_printable(StrBuf *sb, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t run = 0; /* bytes before p[i] not yet copied */
  for (size_t i = 0; i < n; i++) {
    bool c1 = p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f;
    if ((p[i] >= 32 && p[i] != 127 && !c1) || p[i] == '\n' || p[i] == '\t') {
      run++;
      continue;
    }
    sb_putn(sb, (const char *)p + i - run, run);
    run = 0;
    if (c1)
      sb_printf(sb, "\\xc2\\x%02x", p[++i]);
    else
      sb_printf(sb, "\\x%02x", p[i]);
  }
  sb_putn(sb, (const char *)p + n - run, run);
}

void cd_vprint(FILE *f, const char *fmt, va_list ap) {
  StrBuf raw = {0}, out = {0};
  sb_vprintf(&raw, fmt, ap);
  sb_put_printable(&out, raw.buf, raw.len);
  fputs(out.buf, f);
  sb_free(&raw);
  sb_free(&out);
}

void cd_print(FILE *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cd_vprint(f, fmt, ap);
  va_end(ap);
}

/* Every message passes sb_put_printable: the names it quotes come from
 * files (node, value and tensor names), and are shown, never obeyed. */
static void diag_vreport(Diag *d, const char *kind, const char *fmt,
                         va_list ap) {
  StrBuf raw = {0}, line = {0};
  if (d->file)
    sb_printf(&raw, "%s: ", d->file);
  sb_printf(&raw, "%s: ", kind);
  sb_vprintf(&raw, fmt, ap);
  sb_printf(&raw, "\n");
  sb_put_printable(&line, raw.buf, raw.len);
  sb_free(&raw);
  if (!d->quiet)
    fputs(line.buf, stderr);
  sb_putn(&d->log, line.buf, line.len);
  cd_keep(d->log.buf); /* the caller's: it outlives an unwinding cd_try */
  sb_free(&line);
}

void diag_error(Diag *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(d, "error", fmt, ap);
  va_end(ap);
  d->nerrors++;
}

void diag_warn(Diag *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(d, "warning", fmt, ap);
  va_end(ap);
  d->nwarnings++;
}

uint64_t cd_hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  if (!h)
    h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

bool cd_read_fd(int fd, size_t max, uint8_t **data, size_t *size) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return false;
  if (!S_ISREG(st.st_mode)) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return false;
  }
  if ((uint64_t)st.st_size > max) {
    errno = EFBIG;
    return false;
  }
  size_t want = (size_t)st.st_size;
  CdTry t; /* a failed allocation closes fd on its way out */
  cd_try_begin(&t);
  if (setjmp(t.env)) {
    close(fd);
    cd_oom();
  }
  uint8_t *buf = malloc(want + 1);
  cd_try_end(&t);
  size_t len = 0;
  while (len < want) { /* a file that shrinks meanwhile ends early */
    ssize_t got = read(fd, buf + len, want - len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      free(buf);
      return false;
    }
    if (got == 0)
      break;
    len += (size_t)got;
  }
  *data = buf;
  *size = len;
  return true;
}

/* A pipe or the like, in doubling chunks, up to max bytes (EFBIG): the
 * buffer never grows past max + 1 bytes, the one byte more telling a
 * stream of exactly max bytes from a longer one, so /dev/zero costs the
 * limit, not twice it. */
static bool read_stream(int fd, size_t max, uint8_t **data, size_t *size) {
  CD_ASSERT(max < SIZE_MAX);
  size_t cap = max < (1 << 16) ? max + 1 : 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  bool ok = true;
  while (ok) {
    if (len == cap) {
      if (len > max) {
        errno = EFBIG;
        ok = false;
        break;
      }
      cap = cap > max / 2 ? max + 1 : cap * 2;
      buf = realloc(buf, cap);
    }
    ssize_t got = read(fd, buf + len, cap - len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      ok = got == 0;
      break;
    }
    len += (size_t)got;
  }
  if (!ok) {
    int e = errno;
    free(buf);
    errno = e;
    return false;
  }
  *data = buf;
  *size = len;
  return true;
}

/* Any open file, streams included, up to max bytes: a regular file is read
 * in one go (its size known), anything else in doubling chunks. */
bool cd_read_open(int fd, size_t max, uint8_t **data, size_t *size) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    return cd_read_fd(fd, max, data, size);
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return false;
  }
  CdTry t; /* a failed allocation closes fd on its way out */
  cd_try_begin(&t);
  if (setjmp(t.env)) {
    close(fd);
    cd_oom();
  }
  bool ok = read_stream(fd, max, data, size);
  cd_try_end(&t);
  return ok;
}

bool cd_read_file_max(const char *path, size_t max, uint8_t **data, size_t *size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = cd_read_open(fd, max, data, size);
  int e = errno;
  close(fd);
  errno = e;
  return ok;
}

bool cd_read_file(const char *path, uint8_t **data, size_t *size) {
  return cd_read_file_max(path, ((size_t)1 << 32) + (1 << 16), data, size);
}

bool cd_path_is_relative_inside(const char *rel) {
  if (!rel[0] || rel[0] == '/' || rel[0] == '\\' || strchr(rel, ':'))
    return false;
  for (const char *p = rel; *p;) {
    const char *e = p;
    while (*e && *e != '/' && *e != '\\')
      e++;
    if (e - p == 2 && p[0] == '.' && p[1] == '.')
      return false;
    p = *e ? e + 1 : e;
  }
  return true;
}

int cd_open_inside(const char *root, const char *path, int64_t *size, const char **why) {
  *why = NULL;
  char *rroot = realpath(root, NULL), *rpath = rroot ? realpath(path, NULL) : NULL;
  int fd = -1, e = errno;
  if (rpath) {
    size_t n = strlen(rroot);
    bool inside = !strncmp(rpath, rroot, n) && (rpath[n] == '/' || (n == 1 && rroot[0] == '/'));
    if (!inside) {
      *why = "a link leading out of the model's folder";
      e = EACCES;
    } else {
      /* rpath has no links left; O_NOFOLLOW refuses one swapped in since,
       * O_NONBLOCK keeps a FIFO swapped in from blocking the open. */
      fd = open(rpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      e = errno;
      struct stat st;
      if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        *why = "not a regular file";
        close(fd);
        fd = -1;
        e = EINVAL;
      } else if (fd >= 0) {
        *size = (int64_t)st.st_size;
      }
    }
  }
  (free)(rroot); /* realpath's, from the C library */
  (free)(rpath);
  errno = e;
  return fd;
}

static int heap_key(const IntHeap *h, int i) {
  CD_STEPS(1); /* half a comparison */
  return h->key ? h->key[h->v[i]] : h->v[i];
}

void intheap_push(IntHeap *h, int x) {
  int i = h->n++;
  h->v[i] = x;
  while (i > 0 && heap_key(h, (i - 1) / 2) > heap_key(h, i)) {
    int q = (i - 1) / 2, t = h->v[q];
    h->v[q] = h->v[i];
    h->v[i] = t;
    i = q;
  }
}

int intheap_pop(IntHeap *h) {
  int top = h->v[0];
  h->v[0] = h->v[--h->n];
  for (int i = 0;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && heap_key(h, l) < heap_key(h, m))
      m = l;
    if (r < h->n && heap_key(h, r) < heap_key(h, m))
      m = r;
    if (m == i)
      break;
    int t = h->v[m];
    h->v[m] = h->v[i];
    h->v[i] = t;
    i = m;
  }
  return top;
}

int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  return ck_add(a, b, &r) ? r : b > 0 ? INT64_MAX : INT64_MIN;
}

int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  return ck_sub(a, b, &r) ? r : b < 0 ? INT64_MAX : INT64_MIN;
}

int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  return ck_mul(a, b, &r) ? r : (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
}

/* Every double in [-2^63, 2^63) truncates to an int64_t; both bounds are
 * exact doubles, and NaN fails both comparisons. */
bool ck_f2i(double x, int64_t *r) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
    return false;
  *r = (int64_t)x;
  return true;
}

int64_t cd_f2i_sat(double x) {
  int64_t r;
  if (ck_f2i(x, &r))
    return r;
  return x != x ? 0 : x > 0 ? INT64_MAX : INT64_MIN;
}
