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
 */
#include "cardinal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *cache_root(void) {
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
  if (!cd_mkdir_p(path))
    return NULL; /* no cache is slower, not wrong */
  char *s = strdup(path);
  CD_ASSERT(s);
  return s;
}

bool cache_hash_file(uint64_t *h, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  const size_t cap = (size_t)1 << 20;
  unsigned char *buf = malloc(cap);
  CD_ASSERT(buf);
  size_t n;
  while ((n = fread(buf, 1, cap, f)) > 0)
    *h = cd_hash64(*h, buf, n);
  bool ok = !ferror(f);
  fclose(f);
  free(buf);
  *h = cd_hash64(*h, path, 0); /* mark the end of a file */
  return ok;
}

char *cache_get(const char *root, uint64_t key, const char *file) {
  char *p = malloc(strlen(root) + strlen(file) + 40);
  CD_ASSERT(p);
  sprintf(p, "%s/%016llx", root, (unsigned long long)key);
  if (access(p, F_OK) != 0) {
    free(p);
    return NULL;
  }
  utimensat(AT_FDCWD, p, NULL, 0); /* recently used */
  sprintf(p + strlen(p), "/%s", file);
  if (access(p, R_OK) != 0) {
    free(p);
    return NULL;
  }
  return p;
}

/* Copies src to dst (mode too); false on any error. */
static bool copy_file(const char *src, const char *dst) {
  FILE *a = fopen(src, "rb"), *b = a ? fopen(dst, "wb") : NULL;
  bool ok = a && b;
  unsigned char buf[1 << 14];
  size_t n;
  while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0)
    ok = fwrite(buf, 1, n, b) == n;
  ok = ok && !ferror(a);
  if (a)
    fclose(a);
  if (b)
    ok = fclose(b) == 0 && ok;
  struct stat st;
  if (ok && stat(src, &st) == 0)
    chmod(dst, st.st_mode & 0777);
  return ok;
}

static int64_t tree_bytes(const char *dir) {
  DIR *d = opendir(dir);
  int64_t n = 0;
  if (!d)
    return 0;
  struct dirent *e;
  char p[4400];
  while ((e = readdir(d))) {
    struct stat st;
    snprintf(p, sizeof p, "%.4000s/%.255s", dir, e->d_name);
    if (e->d_name[0] != '.' && stat(p, &st) == 0)
      n += (int64_t)st.st_size;
  }
  closedir(d);
  return n;
}

typedef struct {
  char name[64];
  time_t used;
  int64_t bytes;
} Entry;

static int by_use(const void *a, const void *b) {
  time_t x = ((const Entry *)a)->used, y = ((const Entry *)b)->used;
  return x > y ? -1 : x < y;
}

/* Keeps the 64 most recently used entries within CARDINAL_CACHE_MAX bytes. */
static void cache_prune(const char *root) {
  const char *env = getenv("CARDINAL_CACHE_MAX");
  int64_t max = env && *env ? strtoll(env, NULL, 10) : (int64_t)1 << 30;
  DIR *d = opendir(root);
  if (!d)
    return;
  int n = 0, cap = 128;
  Entry *es = malloc(sizeof(Entry) * (size_t)cap);
  CD_ASSERT(es);
  struct dirent *e;
  char p[4096];
  while ((e = readdir(d))) {
    struct stat st;
    if (strlen(e->d_name) != 16 || strspn(e->d_name, "0123456789abcdef") != 16)
      continue;
    snprintf(p, sizeof p, "%s/%s", root, e->d_name);
    if (stat(p, &st) != 0)
      continue;
    if (n == cap) {
      es = realloc(es, sizeof(Entry) * (size_t)(cap *= 2));
      CD_ASSERT(es);
    }
    snprintf(es[n].name, sizeof es[n].name, "%s", e->d_name);
    es[n].used = st.st_mtime;
    es[n].bytes = tree_bytes(p);
    n++;
  }
  closedir(d);
  qsort(es, (size_t)n, sizeof(Entry), by_use);
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    total += es[i].bytes;
    if (i >= 64 || (total > max && i > 0)) {
      snprintf(p, sizeof p, "%s/%s", root, es[i].name);
      cd_rm_rf(p);
    }
  }
  free(es);
}

char *cache_put(const char *root, uint64_t key, const char *const *files, const char *const *as,
                int n) {
  char stage[4096], entry[4096];
  snprintf(stage, sizeof stage, "%s/tmp-%d-%016llx", root, (int)getpid(),
           (unsigned long long)key);
  snprintf(entry, sizeof entry, "%s/%016llx", root, (unsigned long long)key);
  cd_rm_rf(stage);
  bool ok = mkdir(stage, 0777) == 0;
  for (int i = 0; ok && i < n; i++) {
    char dst[4400];
    snprintf(dst, sizeof dst, "%s/%s", stage, as[i]);
    ok = copy_file(files[i], dst);
  }
  if (ok && rename(stage, entry) != 0 && errno != EEXIST && errno != ENOTEMPTY)
    ok = false;
  cd_rm_rf(stage); /* left only if another writer put the same entry first */
  if (!ok)
    return NULL;
  cache_prune(root);
  char *first = malloc(strlen(entry) + strlen(n ? as[0] : "") + 2);
  CD_ASSERT(first);
  sprintf(first, "%s/%s", entry, n ? as[0] : "");
  return first;
}
