/*
 * report.c — how much memory a built model takes: the numbers `cardinal
 * build` prints and `inspect` reports, for people who must know before they
 * flash.
 *
 *   weights    the constants (the plan's weight blob), in flash or a file;
 *   workspace  the one buffer every intermediate lives in (the plan);
 *   code       the executable bytes of the library's objects (the model's
 *              kernels and the runtime), read from their ELF section headers,
 *              so it is right for a cross compiler's objects too; constants
 *              other than the weights (share tables, names) are counted apart;
 *   stack      what NAME_run needs on the caller's thread, from the frames
 *              the compiler reports with -fstack-usage (gcc, clang): NAME_run's
 *              own, plus (with threads) the deepest way to a kernel -- the
 *              pool's run and a thread's part, or the serial fallback -- plus
 *              the largest frame among the other functions of NAME.c (the
 *              kernels, which call nothing of their own).  Calls into libc
 *              and libm (memcpy, expf, ...) are not counted.
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t get_uint(const unsigned char *p, int n, bool big) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v |= (uint64_t)p[big ? n - 1 - i : i] << (8 * i);
  return v;
}

/* Adds the sizes of an ELF object's allocated sections to r: executable
 * ones to code, other read-only ones to rodata.  False if path is not ELF. */
bool elf_add_sizes(const char *path, SizeReport *r) {
  FILE *f = fopen(path, "rb");
  unsigned char eh[64];
  if (!f)
    return false;
  bool ok = fread(eh, 1, sizeof eh, f) == sizeof eh && !memcmp(eh, "\177ELF", 4) &&
            (eh[4] == 1 || eh[4] == 2) && (eh[5] == 1 || eh[5] == 2);
  if (!ok) {
    fclose(f);
    return false;
  }
  bool is64 = eh[4] == 2, big = eh[5] == 2;
  uint64_t shoff = is64 ? get_uint(eh + 0x28, 8, big) : get_uint(eh + 0x20, 4, big);
  int shentsize = (int)get_uint(eh + (is64 ? 0x3A : 0x2E), 2, big);
  int shnum = (int)get_uint(eh + (is64 ? 0x3C : 0x30), 2, big);
  if (shentsize < (is64 ? 64 : 40) || shentsize > 256 || shoff > (uint64_t)1 << 40) {
    fclose(f);
    return false;
  }
  unsigned char sh[256];
  for (int i = 0; i < shnum && ok; i++) {
    ok = fseek(f, (long)(shoff + (uint64_t)i * (uint64_t)shentsize), SEEK_SET) == 0 &&
         fread(sh, 1, (size_t)shentsize, f) == (size_t)shentsize;
    if (!ok)
      break;
    uint64_t flags = is64 ? get_uint(sh + 8, 8, big) : get_uint(sh + 8, 4, big);
    uint64_t size = is64 ? get_uint(sh + 32, 8, big) : get_uint(sh + 20, 4, big);
    enum { SHF_WRITE_ = 1, SHF_ALLOC_ = 2, SHF_EXECINSTR_ = 4 };
    if (!(flags & SHF_ALLOC_))
      continue;
    if (flags & SHF_EXECINSTR_)
      r->code_bytes += (int64_t)size;
    else if (!(flags & SHF_WRITE_))
      r->rodata_bytes += (int64_t)size;
  }
  fclose(f);
  return ok;
}

typedef struct {
  char name[128];
  int64_t bytes;
  bool dynamic; /* the frame grows at run time (VLA, alloca), beyond "bytes" */
} Frame;

/* Reads a -fstack-usage file: "file:line[:col]:function<TAB>bytes<TAB>kind"
 * lines (gcc and clang); *n frames, malloc'd. */
static Frame *read_su(const char *path, int *n) {
  FILE *f = fopen(path, "r");
  *n = 0;
  if (!f)
    return NULL;
  int cap = 64;
  Frame *fr = malloc(sizeof(Frame) * (size_t)cap);
  CD_ASSERT(fr);
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char *tab = strchr(line, '\t');
    if (!tab)
      continue;
    *tab = 0;
    char *colon = strrchr(line, ':');
    const char *fn = colon ? colon + 1 : line;
    char *kind;
    long long bytes = strtoll(tab + 1, &kind, 10);
    if (*n == cap) {
      fr = realloc(fr, sizeof(Frame) * (size_t)(cap *= 2));
      CD_ASSERT(fr);
    }
    snprintf(fr[*n].name, sizeof fr[*n].name, "%.127s", fn);
    fr[*n].bytes = bytes;
    fr[*n].dynamic = strstr(kind, "dynamic") && !strstr(kind, "bounded");
    (*n)++;
  }
  fclose(f);
  return fr;
}

static int64_t frame_of(const Frame *fr, int n, const char *name, bool *found) {
  for (int i = 0; i < n; i++)
    if (!strcmp(fr[i].name, name)) {
      if (found)
        *found = true;
      return fr[i].bytes;
    }
  return 0; /* inlined into its caller, whose frame holds it */
}

bool stack_from_su(const char *model_su, const char *threads_su, const char *name,
                   SizeReport *r) {
  int n, nt = 0;
  Frame *fr = read_su(model_su, &n);
  if (!fr)
    return false;
  Frame *ft = threads_su ? read_su(threads_su, &nt) : NULL;
  char run[160], part[160], init[160], shut[160], setw[160], peak[160];
  snprintf(run, sizeof run, "%s_run", name);
  snprintf(part, sizeof part, "%s_run_part", name);
  snprintf(init, sizeof init, "%s_init_threads", name);
  snprintf(shut, sizeof shut, "%s_shutdown", name);
  snprintf(setw, sizeof setw, "%s_set_weights", name);
  snprintf(peak, sizeof peak, "%s_profile_peak", name);
  bool found = false;
  int64_t own = frame_of(fr, n, run, &found);
  if (!found) {
    free(fr);
    free(ft);
    return false;
  }
  /* Between NAME_run and a kernel: nothing, or (threads) the pool's run and
   * a thread's part, or the serial fallback. */
  int64_t via = 0;
  if (threads_su) {
    int64_t pool = frame_of(ft, nt, "cd_pool_run", NULL) + frame_of(fr, n, "cd_part", NULL);
    int64_t serial = frame_of(fr, n, "cd_serial", NULL);
    via = pool > serial ? pool : serial;
  }
  int64_t leaf = 0;
  bool dynamic = false;
  for (int i = 0; i < n; i++) {
    const char *f = fr[i].name;
    dynamic |= fr[i].dynamic;
    if (!strcmp(f, run) || !strcmp(f, part) || !strcmp(f, init) || !strcmp(f, shut) ||
        !strcmp(f, setw) || !strcmp(f, peak) || !strcmp(f, "cd_part") ||
        !strcmp(f, "cd_serial") || !strcmp(f, "cd_fma_loop"))
      continue;
    if (fr[i].bytes > leaf)
      leaf = fr[i].bytes;
  }
  r->stack_bytes = own + via + leaf;
  r->stack_run = own;
  r->stack_kernel = leaf;
  r->stack_dynamic = dynamic;
  free(fr);
  free(ft);
  return true;
}

void report_print(FILE *f, const char *prefix, const SizeReport *r) {
  fprintf(f, "%sweights %lld bytes (%s), workspace %lld bytes (%s)\n", prefix,
          (long long)r->weight_bytes, r->weights_where, (long long)r->workspace_bytes,
          r->workspace_where);
  if (r->code_bytes >= 0)
    fprintf(f, "%scode %lld bytes (+ %lld bytes of other constants), of which the runtime %lld\n",
            prefix, (long long)r->code_bytes, (long long)r->rodata_bytes,
            (long long)r->runtime_code_bytes);
  else
    fprintf(f, "%scode: unknown (the objects are not ELF)\n", prefix);
  if (r->stack_bytes >= 0)
    fprintf(f, "%sstack %s%lld bytes for %s_run (its frame %lld + the deepest kernel's %lld%s; "
               "calls into libc/libm aside)\n",
            prefix, r->stack_dynamic ? "at least " : "", (long long)r->stack_bytes, r->name,
            (long long)r->stack_run, (long long)r->stack_kernel,
            r->stack_bytes > r->stack_run + r->stack_kernel ? " + the thread pool's" : "");
  else
    fprintf(f, "%sstack: unknown (the C compiler has no -fstack-usage)\n", prefix);
}
