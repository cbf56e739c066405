/*
 * fault.c — allocation-failure injection, in the spirit of SQLite's malloc
 * tests: a compile of a model is run once to count its allocations, then
 * once more for every N with the N-th allocation failing.  Each run must
 * end in a clean error ("out of memory"), never a crash (the sanitizer mode
 * runs this under ASan and UBSan), and leave nothing behind: every block
 * freed (the allocator's count of live blocks is back where it was), every
 * file descriptor closed, no staging folder beside the output, and the
 * previous output folder exactly as it was.
 *
 * usage: fault MODEL TARGET...   (e.g. the committed resnext_tiny_bn_op11.onnx, scalar native)
 */
#include "cardinal.h"

#include <dirent.h>
#include <unistd.h>

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (!d)
    return -1;
  while (readdir(d))
    n++;
  closedir(d);
  return n;
}

/* The names in dir, sorted into one string, and a hash of the files of
 * dir/out (what "unchanged" means). */
static uint64_t snapshot(const char *dir, char *names, size_t cap) {
  char out[4200];
  snprintf(out, sizeof out, "%s/out", dir);
  names[0] = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      strncat(names, e->d_name, cap - strlen(names) - 2);
      strcat(names, " ");
    }
  if (d)
    closedir(d);
  uint64_t h = 0;
  const char *files[] = {".cardinal", "net.h", "net.c", "net_weights.c", "cardinal_rt.h",
                         "cardinal_rt.c"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char p[4300];
    uint8_t *b;
    size_t n;
    snprintf(p, sizeof p, "%s/%s", out, files[i]);
    if (cd_read_file(p, &b, &n)) {
      h = cd_hash_bytes(h, b, n);
      free(b);
    } else {
      h = cd_hash_bytes(h, "missing", 7);
    }
  }
  return h;
}

static int run(const char *model, const char *target) {
  char dir[] = "/tmp/cardinal-fault-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  char out[sizeof dir + 8];
  snprintf(out, sizeof out, "%s/out", dir);
  CompileJob j = {.model = model, .out_dir = out, .name = "net", .target = target};
  Diag d = {.quiet = true};
  /* The old output; then a count of a compile over it, as each run below. */
  bool ok = cd_compile(&j, NULL, &d);
  uint64_t c0 = cd_alloc_count();
  ok = ok && cd_compile(&j, NULL, &d);
  uint64_t total = cd_alloc_count() - c0;
  if (!ok) {
    fprintf(stderr, "fault: %s does not compile for %s:\n%s", model, target, d.log.buf);
    return 1;
  }
  if (total < 100) { /* the loop below would fail next to nothing and pass */
    fprintf(stderr, "fault: a compile for %s counted %llu allocations: the allocator's "
            "count (cd_alloc_count) does not see them\n", target, (unsigned long long)total);
    return 1;
  }
  sb_free(&d.log);
  char names0[512], names[512];
  uint64_t h0 = snapshot(dir, names0, sizeof names0);
  int bad = 0;
  for (uint64_t n = 1; n <= total && bad < 5; n++) {
    size_t live0 = cd_live_blocks();
    int fds0 = count_fds();
    Diag e = {.quiet = true};
    cd_fail_alloc(n);
    ok = cd_compile(&j, NULL, &e);
    cd_fail_alloc(0);
    bool msg = e.log.buf && strstr(e.log.buf, "out of memory");
    sb_free(&e.log);
    uint64_t h = snapshot(dir, names, sizeof names);
    const char *why = ok ? "the compile succeeded"
                      : !msg ? "no \"out of memory\" error"
                      : cd_live_blocks() != live0 ? "blocks leaked"
                      : count_fds() != fds0 ? "a file descriptor leaked"
                      : strcmp(names, names0) ? "something left beside the output"
                      : h != h0 ? "the old output changed" : NULL;
    if (why) {
      fprintf(stderr, "fault: %s, %s: allocation %llu of %llu failing: %s (%zu -> %zu blocks; "
              "folder: %s)\n", model, target, (unsigned long long)n, (unsigned long long)total,
              why, live0, cd_live_blocks(), names);
      bad++;
    }
  }
  printf("fault injection, %s for %s: each of %llu allocations failed in turn: %s\n", model,
         target, (unsigned long long)total, bad ? "FAILED" : "a clean error every time");
  cd_rm_rf(dir);
  return bad != 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: fault MODEL TARGET...\n");
    return 2;
  }
  int bad = 0;
  for (int i = 2; i < argc; i++)
    bad |= run(argv[1], argv[i]);
  return bad;
}
