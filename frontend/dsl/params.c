/*
 * params.c — the parameters of a DSL model: each named SCOPE.LABEL.leaf as
 * torch names it, bound from a safetensors file or generated from a seed.
 */
#include "lower.h"

#include <math.h>
#include <string.h>

DslEntry *dsl_map_get(Ctx *c, DslMap *m, const char *key, bool add, bool *added) {
  if (added)
    *added = false;
  if (add && 2 * (m->n + 1) > m->cap) {
    int cap = m->cap ? 2 * m->cap : 256;
    DslEntry *v = arena_alloc(&c->g->arena, sizeof(DslEntry) * (size_t)cap);
    for (int i = 0; i < m->cap; i++)
      if (m->v[i].key)
        for (uint64_t k = cd_hash_bytes(0, m->v[i].key, strlen(m->v[i].key));; k++)
          if (!v[k & (uint64_t)(cap - 1)].key) {
            v[k & (uint64_t)(cap - 1)] = m->v[i];
            break;
          }
    m->v = v;
    m->cap = cap;
  }
  if (!m->cap)
    return NULL;
  for (uint64_t k = cd_hash_bytes(0, key, strlen(key));; k++) {
    DslEntry *e = &m->v[k & (uint64_t)(m->cap - 1)];
    if (e->key && !strcmp(e->key, key))
      return e;
    if (!e->key) {
      if (!add)
        return NULL;
      e->key = key;
      m->n++;
      if (added)
        *added = true;
      return e;
    }
  }
}

const char *dsl_loc_text(Ctx *c, SrcLoc loc, SrcLoc from) {
  if (loc.file != from.file && loc.file >= 0 && loc.file < c->prog->nfiles) {
    const char *f = c->prog->files[loc.file], *slash = strrchr(f, '/');
    return arena_printf(&c->g->arena, "%s:%d:%d", slash ? slash + 1 : f, loc.line, loc.col);
  }
  return arena_printf(&c->g->arena, "%d:%d", loc.line, loc.col);
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/*
 * A parameter named `name`: from the safetensors file, or generated.  The
 * generator is seeded by the seed and the name alone, and picks the
 * distribution from the name (as torch's modules name them), so a tensor
 * gets the same values whichever construct asks for it: a rank-1 weight is
 * a BatchNorm scale near 1, running_var is positive, biases and means are
 * small, other weights are uniform with a fan-in scale.
 *
 * Each name is made once: a second call making the same name is an error
 * (two layers with one label would silently share their weights), unless
 * it runs inside a `shared LABEL:` call, which reuses the first tensor
 * (of the same shape).
 */
int dsl_param(Ctx *c, SrcLoc at, const char *name, int rank, const int64_t *dims) {
  Value shape = {.dtype = DT_FLOAT, .rank = rank};
  memcpy(shape.dims, dims, sizeof(int64_t) * (size_t)rank);
  char why[160];
  if (!value_size_ok(c->g, &shape, why, sizeof why)) {
    dsl_error(c->prog, at, "parameter '%s' is too large: %s", name, why);
    return -1;
  }
  bool exists = dsl_map_get(c, &c->params, name, false, NULL) != NULL;
  if (!exists && c->reuse_only) {
    dsl_error(c->prog, at, "shared parameter '%s' was never made: 'shared LABEL: param(...)' "
              "reuses a parameter an earlier call made; remove 'shared' to make it here", name);
    return -1;
  }
  if (!exists) { /* a new one: charged before it is made */
    c->param_bytes = sat_add(c->param_bytes, (int64_t)value_bytes(&shape));
    c->g->source_bytes = c->param_bytes;
    if (c->param_bytes > c->g->limits.param_bytes) {
      dsl_error(c->prog, at, "parameter '%s' takes the model's parameters past %lld bytes",
                name, (long long)c->g->limits.param_bytes);
      return -1;
    }
  }
  bool added;
  DslEntry *e = dsl_map_get(c, &c->params, name, true, &added);
  if (!added) {
    const Value *old = &c->g->values[e->value];
    bool same = old->rank == rank;
    for (int i = 0; same && i < rank; i++)
      same = old->dims[i] == dims[i];
    if (c->sharing && same)
      return e->value;
    if (c->sharing) {
      StrBuf a = {0}, b = {0};
      for (int i = 0; i < rank; i++)
        sb_printf(&a, "%s%lld", i ? "," : "", (long long)dims[i]);
      for (int i = 0; i < old->rank; i++)
        sb_printf(&b, "%s%lld", i ? "," : "", (long long)old->dims[i]);
      dsl_error(c->prog, at, "shared parameter '%s' is [%s] here but [%s] where it was made "
                "at %s", name, a.buf ? a.buf : "", b.buf ? b.buf : "",
                dsl_loc_text(c, e->loc, at));
      sb_free(&a);
      sb_free(&b);
    } else {
      dsl_error(c->prog, at, "parameter '%s' is already made at %s", name,
                dsl_loc_text(c, e->loc, at));
      dsl_note(c->prog, at, false, "labels name parameters: give this call another label, or "
               "write 'shared LABEL:' to reuse that parameter");
    }
    return -1;
  }
  e->loc = at;
  int kind = ends_with(name, "running_var")                       ? 3
             : ends_with(name, "bias") || ends_with(name, "running_mean") ? 2
             : rank == 1                                          ? 1
                                                                  : 0;
  Graph *g = c->g;
  int v = graph_add_const(g, name, rank, dims);
  e->value = v;
  Value *x = &g->values[v];
  int64_t n = value_numel(x);
  float *data = x->data;
  c->nparams++;
  if (c->st) {
    const StTensor *t = safetensors_find(c->st, name);
    if (!t) {
      dsl_error(c->prog, at, "parameter '%s' is missing from %s", name, c->weights_path);
      return -1;
    }
    ((StTensor *)t)->used = true;
    if (t->dtype != DT_FLOAT) {
      dsl_error(c->prog, at, "parameter '%s' is %s in %s; only F32 is supported", name,
                t->dtype_name, c->weights_path);
      return -1;
    }
    bool same = t->rank == rank;
    for (int i = 0; same && i < rank; i++)
      same = t->dims[i] == dims[i];
    if (!same) {
      StrBuf a = {0}, b = {0};
      for (int i = 0; i < rank; i++)
        sb_printf(&a, "%s%lld", i ? "," : "", (long long)dims[i]);
      for (int i = 0; i < t->rank; i++)
        sb_printf(&b, "%s%lld", i ? "," : "", (long long)t->dims[i]);
      dsl_error(c->prog, at, "parameter '%s' is [%s] in the model but [%s] in %s", name,
                a.buf ? a.buf : "", b.buf ? b.buf : "", c->weights_path);
      sb_free(&a);
      sb_free(&b);
      return -1;
    }
    memcpy(data, t->data, (size_t)n * 4);
    return v;
  }
  uint64_t s = c->seed ^ cd_hash_bytes(0, name, strlen(name));
  int64_t fan_in = rank > 1 ? n / dims[0] : 1;
  float scale = sqrtf(3.0f / (float)(fan_in > 0 ? fan_in : 1));
  for (int64_t i = 0; i < n; i++) {
    float u = (float)((splitmix(&s) >> 40) / (double)(1 << 24)) * 2.0f - 1.0f; /* [-1, 1) */
    switch (kind) {
    case 0: data[i] = u * scale; break;
    case 1: data[i] = 1.0f + 0.25f * u; break;
    case 2: data[i] = 0.1f * u; break;
    default: data[i] = 1.0f + 0.5f * (u + 1.0f) / 2.0f; break;
    }
  }
  return v;
}
