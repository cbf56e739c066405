/*
 * passes.c — the pass manager: one visible list of passes, the parser of
 * --passes, and the loop that runs them with the verifier in between.
 *
 * A pass is `bool pass_NAME(Graph *g, PassStats *st)`: it rewrites g in
 * place, counts what it changed in st, and returns false only on an internal
 * failure.  Passes mark nodes dead; the manager compacts after each one.
 */
#include "cardinal.h"

#include <string.h>
#include <time.h>

const PassInfo pass_list[] = {
    {"fold-qdq", pass_fold_qdq, true},
    {"fold-constants", pass_fold_constants, true},
    {"eliminate-identity", pass_eliminate_identity, true},
    {"fold-pad", pass_fold_pad, true},
    {"lower-einsum", pass_lower_einsum, true},
    {"gemm-from-matmul", pass_gemm_from_matmul, true},
    {"fuse-gelu", pass_fuse_gelu, true},
    {"fuse-swish", pass_fuse_swish, true},
    {"convtranspose-to-conv", pass_convtranspose_to_conv, true},
    {"fold-bn", pass_fold_bn, true},
    {"merge-paths", pass_merge_paths, true},
    {"fuse-residual", pass_fuse_residual, true},
    {"bn-to-conv", pass_bn_to_conv, true},
    {"fuse-activation", pass_fuse_activation, true},
    {"layout", pass_layout, true},
    {"tile-grouped-conv", pass_tile_grouped_conv, true},
    {"winograd", pass_winograd, true},
    {"dce", pass_dce, true},
};
const int pass_count = (int)(sizeof pass_list / sizeof pass_list[0]);
_Static_assert(sizeof pass_list / sizeof pass_list[0] <= CD_MAX_PASSES,
               "pass_list outgrew CD_MAX_PASSES (the callers' order[] arrays)");

static int pass_find(const char *name, size_t len) {
  for (int i = 0; i < pass_count; i++)
    if (strlen(pass_list[i].name) == len && !strncmp(pass_list[i].name, name, len))
      return i;
  return -1;
}

/* The passes a --passes list names, as passes_parse reads it. */
typedef struct {
  bool on[CD_MAX_PASSES];    /* pass i runs */
  bool named[CD_MAX_PASSES]; /* pass i has its place in seq */
  int seq[CD_MAX_PASSES];    /* the passes named, in the order first named */
  int nseq;
} PassSet;

static void passes_add(PassSet *s, int k) {
  s->on[k] = true;
  if (!s->named[k]) {
    s->named[k] = true;
    s->seq[s->nseq++] = k;
  }
}

/*
 * list = item ("," item)*, item = "default" | "none" | NAME | "-" NAME
 *
 * A set in order: each pass runs at most once, at the place it was first
 * named ("default" names the default passes in the list's order); "-NAME"
 * drops it, and naming it again brings it back at that first place.  So
 * `fold-bn,-fold-bn` repeated any number of times is `fold-bn`, and
 * `default,-dce,dce` is `default`.  order[] gets at most pass_count entries.
 */
bool passes_parse(const char *list, int *order, int *n, Diag *d) {
  PassSet set = {{0}, {0}, {0}, 0};
  const char *p = list ? list : "default";
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    bool minus = len > 0 && p[0] == '-';
    const char *nm = minus ? p + 1 : p;
    size_t nl = minus ? len - 1 : len;
    if (nl == 7 && !strncmp(nm, "default", 7) && !minus) {
      for (int i = 0; i < pass_count; i++)
        if (pass_list[i].in_default)
          passes_add(&set, i);
    } else if (nl == 4 && !strncmp(nm, "none", 4) && !minus) {
      /* nothing */
    } else {
      int k = pass_find(nm, nl);
      if (k < 0) {
        StrBuf known = {0};
        for (int i = 0; i < pass_count; i++)
          sb_printf(&known, "%s%s", i ? ", " : "", pass_list[i].name);
        diag_error(d, "unknown pass '%.*s' (known: default, none, %s)", (int)nl,
                   nm, known.buf);
        sb_free(&known);
        return false;
      }
      if (minus)
        set.on[k] = false;
      else
        passes_add(&set, k);
    }
    p = e ? e + 1 : p + len;
  }
  *n = 0;
  for (int i = 0; i < set.nseq; i++)
    if (set.on[set.seq[i]])
      order[(*n)++] = set.seq[i];
  return true;
}

static int live_nodes(const Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i].dead;
  return k;
}

bool passes_run(Graph *g, const int *order, int n, PassStats *stats,
                bool verify, const char *dump_after, FILE *dump, Diag *d) {
  for (int i = 0; i < n; i++) {
    const PassInfo *pi = &pass_list[order[i]];
    PassStats *st = &stats[i];
    memset(st, 0, sizeof *st);
    snprintf(st->name, sizeof st->name, "%s", pi->name);
    ir_recount_uses(g);
    st->nodes_before = live_nodes(g);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool ok = pi->fn(g, st);
    graph_compact(g);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
             (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    st->nodes_after = live_nodes(g);
    if (!ok) {
      if (st->error[0])
        diag_error(d, "%s", st->error);
      else
        diag_error(d, "internal error in pass %s", pi->name);
      return false;
    }
    if (verify && !ir_verify(g, d)) {
      diag_error(d, "the graph is invalid after pass %s", pi->name);
      return false;
    }
    if (dump_after && dump && !strcmp(dump_after, pi->name)) {
      fprintf(dump, "# after %s\n", pi->name);
      ir_dump(g, dump);
    }
  }
  return true;
}
