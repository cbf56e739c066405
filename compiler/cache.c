/*
 * cache.c — the build cache of `cardinal run` and `inspect`.
 *
 * Compiling the generated C is the slow part of running a model (a ResNeXt-
 * 50's kernels take seconds; its embedded weights took tens), and the same
 * model is run again and again.  So `run` keys what it built by everything
 * the build reads -- the bytes of every generated file (the model, the
 * options and this compiler's version all show in them), the harness, the
 * C compiler and its flags -- and keeps the program under that key; the
 * next run with the same key skips the C compiler.  `inspect` keeps its
 * code and stack measurement the same way.  A key that matches means the
 * build would read the same bytes, so reuse is exact, never stale.
 *
 * Where: $CARDINAL_CACHE_DIR, else $XDG_CACHE_HOME/cardinal, else
 * ~/.cache/cardinal; CARDINAL_CACHE_DIR=off turns it off.  An entry is a
 * folder named by its key, made in a staging folder and renamed into place
 * whole, so a reader never sees half an entry and two writers of one key
 * both succeed.  Entries are small (the programs read their weights from a
 * blob next to the inputs, not from the cache); past 64 entries or 1 GiB
 * (CARDINAL_CACHE_MAX, bytes) the least recently used go.
 *
 * What the cache trusts.  `run` executes the program it finds, and prints
 * its output as the model's, so an entry is used only if nobody but this
 * user could have put it there, and only for the build it was made by:
 *   - the cache folder must be this user's and writable by no one else
 *     (else a warning says so, and it is not used); it is made mode 0700,
 *     its entries 0700, their files 0600 or 0700;
 *   - no link is followed inside it: the entry, its files and the
 *     manifest are opened O_NOFOLLOW relative to the folder's descriptor,
 *     and each must be this user's and writable by no one else;
 *   - the key is a SHA-256 of what the build reads (its first 64 hex
 *     digits name the entry), so another model's files cannot share an
 *     entry the way they could a 64-bit hash's;
 *   - each file's SHA-256 and size, recorded in the entry's manifest when
 *     it is put, are checked as the file is copied out of the cache into
 *     the run's private folder, and the copy is what runs: an entry whose
 *     files changed since is deleted, and the build is done again.
 */
#define _GNU_SOURCE /* O_CLOEXEC, futimens under -std=c11 */
#include "cardinal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST "manifest"
#define MANIFEST_MAX 4096 /* bytes: a key and a few files */

/* st is this user's file, and no one else may write it. */
static bool owned(const struct stat *st) {
  return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

char *cache_root(Diag *d) {
  const char *env = getenv("CARDINAL_CACHE_DIR");
  char path[4096];
  if (env && (!*env || !strcmp(env, "off")))
    return NULL;
  if (env)
    snprintf(path, sizeof path, "%s", env);
  else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
    snprintf(path, sizeof path, "%s/cardinal", getenv("XDG_CACHE_HOME"));
  else if (getenv("HOME") && *getenv("HOME"))
    snprintf(path, sizeof path, "%s/.cache/cardinal", getenv("HOME"));
  else
    return NULL;
  if (mkdir(path, 0700) != 0 && errno == ENOENT) { /* its parents first */
    char *slash = strrchr(path, '/');
    if (slash && slash != path) {
      *slash = 0;
      bool made = cd_mkdir_p(path);
      *slash = '/';
      if (made)
        mkdir(path, 0700);
    }
  }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0)
      close(fd);
    return NULL; /* no cache is slower, not wrong */
  }
  close(fd);
  if (st.st_uid != geteuid()) {
    diag_warn(d, "the build cache %s belongs to another user (uid %u), who could put a "
              "program there that `run` would execute: not using it; set CARDINAL_CACHE_DIR "
              "to a folder of your own (or off)", path, (unsigned)st.st_uid);
    return NULL;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    diag_warn(d, "the build cache %s can be written by others (mode %03o), who could put a "
              "program there that `run` would execute: not using it; chmod go-w %s (or set "
              "CARDINAL_CACHE_DIR to another folder, or off)", path,
              (unsigned)(st.st_mode & 0777), path);
    return NULL;
  }
  char *s = strdup(path);
  CD_ASSERT(s);
  return s;
}

/* The cache folder, open, if it is still this user's alone; else -1. */
static int open_root(const char *root) {
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !owned(&st))) {
    close(fd);
    fd = -1;
  }
  return fd;
}

void cache_key_init(CacheKey *k, const char *what) {
  sha256_init(&k->sha);
  sha256_update(&k->sha, what, strlen(what) + 1);
}

/* Each piece is preceded by its length, so no two lists of pieces hash
 * alike. */
void cache_key_add(CacheKey *k, const void *p, size_t n) {
  uint64_t len = n;
  sha256_update(&k->sha, &len, sizeof len);
  sha256_update(&k->sha, p, n);
}

/* Reads fd to its end, hashing; with out >= 0, writes what it reads there
 * too.  false on an error of either. */
static bool hash_fd(int fd, int out, unsigned char digest[32], int64_t *size) {
  const size_t cap = (size_t)1 << 20;
  unsigned char *buf = malloc(cap);
  CD_ASSERT(buf);
  Sha256 s;
  sha256_init(&s);
  *size = 0;
  bool ok = true;
  for (;;) {
    ssize_t n = read(fd, buf, cap);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    sha256_update(&s, buf, (size_t)n);
    *size += n;
    for (ssize_t w = 0, m; ok && w < n; w += m) {
      m = out >= 0 ? write(out, buf + w, (size_t)(n - w)) : n - w;
      ok = m > 0;
    }
    if (!ok)
      break;
  }
  free(buf);
  sha256_final(&s, digest);
  return ok;
}

bool cache_key_file(CacheKey *k, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  unsigned char digest[32];
  int64_t size;
  bool ok = hash_fd(fd, -1, digest, &size);
  close(fd);
  cache_key_add(k, digest, sizeof digest);
  return ok;
}

static void key_hex(const CacheKey *k, char hex[65]) {
  Sha256 s = k->sha;
  unsigned char d[32];
  sha256_final(&s, d);
  sha256_hex(d, hex);
}

/* Opens entry `name` of the folder open as dirfd for reading, if it is a
 * regular file (not a link), this user's, writable by no one else; else -1. */
static int open_owned_file(int dirfd, const char *name, struct stat *st) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || !owned(st))) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* In the manifest text m: the recorded SHA-256 (hex) and size of `file`;
 * false if the manifest is not for key hex or does not list the file. */
static bool manifest_find(const char *m, const char *hex, const char *file, char sha[65],
                          int64_t *size) {
  char want[80];
  snprintf(want, sizeof want, "key %s\n", hex);
  if (strncmp(m, want, strlen(want)))
    return false;
  for (const char *line = m + strlen(want); *line;) {
    const char *end = strchr(line, '\n');
    if (!end)
      return false;
    long long sz;
    int name_at = 0;
    if (sscanf(line, "%64[0-9a-f] %lld %n", sha, &sz, &name_at) == 2 && name_at > 0 &&
        strlen(sha) == 64 && (size_t)(end - line - name_at) == strlen(file) &&
        !strncmp(line + name_at, file, strlen(file))) {
      *size = sz;
      return true;
    }
    line = end + 1;
  }
  return false;
}

/* cache_get on the cache folder open as rfd: *bad when the entry is there
 * and fails a check (not for an error of ours, such as dst). */
static bool get_checked(int rfd, const char *hex, const char *file, const char *dst,
                        bool *bad) {
  int efd = openat(rfd, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (efd < 0) {
    *bad = errno != ENOENT; /* a link, or a file, where the entry goes */
    return false;
  }
  struct stat st;
  char man[MANIFEST_MAX + 1], sha[65];
  int64_t size = 0;
  int mfd = -1, ffd = -1;
  ssize_t mn = 0;
  *bad = fstat(efd, &st) != 0 || !owned(&st) ||
         (mfd = open_owned_file(efd, MANIFEST, &st)) < 0 ||
         (mn = pread(mfd, man, MANIFEST_MAX, 0)) <= 0 || mn >= MANIFEST_MAX;
  if (mfd >= 0)
    close(mfd);
  if (!*bad) {
    man[mn] = 0;
    *bad = !manifest_find(man, hex, file, sha, &size) ||
           (ffd = open_owned_file(efd, file, &st)) < 0 || st.st_size != size;
  }
  bool ok = false;
  if (!*bad) {
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   st.st_mode & S_IXUSR ? 0700 : 0600);
    unsigned char digest[32];
    char got[65];
    int64_t n;
    if (out >= 0 && hash_fd(ffd, out, digest, &n)) {
      sha256_hex(digest, got);
      *bad = n != size || strcmp(got, sha) != 0;
      ok = !*bad;
    }
    if (out >= 0) {
      ok = close(out) == 0 && ok;
      if (!ok)
        unlink(dst);
    }
  }
  if (ffd >= 0)
    close(ffd);
  if (ok)
    futimens(efd, NULL); /* recently used */
  close(efd);
  return ok;
}

bool cache_get(const char *root, const CacheKey *k, const char *file, const char *dst) {
  char hex[65];
  key_hex(k, hex);
  int rfd = open_root(root);
  if (rfd < 0)
    return false;
  bool bad = false, ok = get_checked(rfd, hex, file, dst, &bad);
  if (bad) /* not what was put: gone, and built again */
    cd_rm_rf_at(rfd, hex);
  close(rfd);
  return ok;
}

/* Copies src into the folder open as dirfd as `as` (mode 0700 if src is
 * executable, else 0600), hashing it; false on any error. */
static bool copy_in(const char *src, int dirfd, const char *as, unsigned char digest[32],
                    int64_t *size) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (in < 0 || fstat(in, &st) != 0) {
    if (in >= 0)
      close(in);
    return false;
  }
  int out = openat(dirfd, as, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   st.st_mode & S_IXUSR ? 0700 : 0600);
  bool ok = out >= 0 && hash_fd(in, out, digest, size);
  close(in);
  if (out >= 0)
    ok = close(out) == 0 && ok;
  return ok;
}

static int64_t tree_bytes(int rfd, const char *name) {
  int fd = openat(rfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  int64_t n = 0;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    struct stat st;
    if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      n += (int64_t)st.st_size;
  }
  closedir(d);
  return n;
}

typedef struct {
  char name[72];
  time_t used;
  int64_t bytes;
} Entry;

static int by_use(const void *a, const void *b) {
  time_t x = ((const Entry *)a)->used, y = ((const Entry *)b)->used;
  return x > y ? -1 : x < y;
}

/* Keeps the 64 most recently used entries within CARDINAL_CACHE_MAX bytes;
 * removes what is not an entry where one would be, and the staging
 * folders of runs killed over an hour ago. */
static void cache_prune(int rfd) {
  const char *env = getenv("CARDINAL_CACHE_MAX");
  int64_t max = env && *env ? strtoll(env, NULL, 10) : (int64_t)1 << 30;
  int fd = dup(rfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return;
  }
  int n = 0, cap = 128;
  Entry *es = malloc(sizeof(Entry) * (size_t)cap);
  CD_ASSERT(es);
  struct dirent *e;
  time_t now = time(NULL);
  while ((e = readdir(d))) {
    struct stat st;
    bool entry = strlen(e->d_name) == 64 && strspn(e->d_name, "0123456789abcdef") == 64;
    if ((!entry && strncmp(e->d_name, "tmp-", 4)) ||
        fstatat(rfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (!entry) {
      if (st.st_mtime < now - 3600)
        cd_rm_rf_at(rfd, e->d_name);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      cd_rm_rf_at(rfd, e->d_name);
      continue;
    }
    if (n == cap) {
      es = realloc(es, sizeof(Entry) * (size_t)(cap *= 2));
      CD_ASSERT(es);
    }
    snprintf(es[n].name, sizeof es[n].name, "%s", e->d_name);
    es[n].used = st.st_mtime;
    es[n].bytes = tree_bytes(rfd, e->d_name);
    n++;
  }
  closedir(d);
  qsort(es, (size_t)n, sizeof(Entry), by_use);
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    total += es[i].bytes;
    if (i >= 64 || (total > max && i > 0))
      cd_rm_rf_at(rfd, es[i].name);
  }
  free(es);
}

bool cache_put(const char *root, const CacheKey *k, const char *const *files,
               const char *const *as, int n) {
  char hex[65], stage[96];
  key_hex(k, hex);
  int rfd = open_root(root);
  if (rfd < 0)
    return false;
  snprintf(stage, sizeof stage, "tmp-%d-%.16s", (int)getpid(), hex);
  cd_rm_rf_at(rfd, stage);
  int sfd = -1;
  bool ok = mkdirat(rfd, stage, 0700) == 0 &&
            (sfd = openat(rfd, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0;
  StrBuf man = {0};
  sb_printf(&man, "key %s\n", hex);
  for (int i = 0; ok && i < n; i++) {
    unsigned char digest[32];
    char sha[65];
    int64_t size;
    ok = !strchr(as[i], '\n') && copy_in(files[i], sfd, as[i], digest, &size);
    if (ok) {
      sha256_hex(digest, sha);
      sb_printf(&man, "%s %lld %s\n", sha, (long long)size, as[i]);
    }
  }
  if (ok) {
    int mfd = openat(sfd, MANIFEST, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    ok = mfd >= 0 && man.len < MANIFEST_MAX && write(mfd, man.buf, man.len) == (ssize_t)man.len;
    if (mfd >= 0)
      ok = close(mfd) == 0 && ok;
  }
  sb_free(&man);
  if (sfd >= 0)
    close(sfd);
  /* Another writer of the same key may have been first: its entry stands. */
  if (ok && renameat(rfd, stage, rfd, hex) != 0 && errno != EEXIST && errno != ENOTEMPTY)
    ok = false;
  cd_rm_rf_at(rfd, stage); /* left only if the rename did not take it */
  if (ok)
    cache_prune(rfd);
  close(rfd);
  return ok;
}
