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

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "cardinal: out of memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

void *arena_alloc(Arena *a, size_t n) {
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
  memset(p, 0, n);
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
  while (m->keys[h] && strcmp(m->keys[h], key) != 0)
    h = (h + 1) & (m->cap - 1);
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
  char *p = realloc(sb->buf, cap);
  if (!p) {
    fprintf(stderr, "cardinal: out of memory\n");
    exit(1);
  }
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

static void diag_vreport(Diag *d, const char *kind, const char *fmt,
                         va_list ap) {
  StrBuf line = {0};
  if (d->file)
    sb_printf(&line, "%s: ", d->file);
  sb_printf(&line, "%s: ", kind);
  sb_vprintf(&line, fmt, ap);
  sb_printf(&line, "\n");
  if (!d->quiet)
    fputs(line.buf, stderr);
  sb_putn(&d->log, line.buf, line.len);
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
  size_t want = (size_t)st.st_size, len = 0;
  uint8_t *buf = malloc(want + 1);
  if (!buf) {
    errno = ENOMEM;
    return false;
  }
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

/* Any file, streams included, up to max bytes: a regular file is read in
 * one go (its size known), anything else in doubling chunks. */
bool cd_read_file_max(const char *path, size_t max, uint8_t **data, size_t *size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    bool ok = cd_read_fd(fd, max, data, size);
    int e = errno;
    close(fd);
    errno = e;
    return ok;
  }
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    errno = EISDIR;
    return false;
  }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  bool ok = buf != NULL;
  while (ok) {
    if (len == cap) {
      if (cap > max) {
        errno = EFBIG;
        ok = false;
        break;
      }
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        errno = ENOMEM;
        ok = false;
        break;
      }
      buf = nb;
      cap *= 2;
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
  int e = errno;
  close(fd);
  if (ok && len > max) {
    e = EFBIG;
    ok = false;
  }
  if (!ok) {
    free(buf);
    errno = e;
    return false;
  }
  *data = buf;
  *size = len;
  return true;
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
  free(rroot);
  free(rpath);
  errno = e;
  return fd;
}

