/*
 * safetensors.c — reads the safetensors format without a new dependency:
 *
 *   u64 little-endian N | N bytes of JSON | raw tensor bytes
 *
 * The JSON maps each tensor name to {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]} (offsets into the raw bytes), plus an
 * optional "__metadata__" object.  Everything is checked: the header
 * length, the JSON, offsets inside the file and matching dtype x shape.
 * Tensors are views into the file's bytes.
 *
 * It also writes them (float32, for `cardinal dump-weights`): the header
 * padded with spaces to a multiple of 8 bytes, as the reference writer
 * does, with {"__metadata__": {"format": "pt"}}.
 */
#include "dsl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *p, *end;
  bool bad;
} Json;

static void ws(Json *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
    j->p++;
}

static bool eat(Json *j, char ch) {
  ws(j);
  if (j->p < j->end && *j->p == ch) {
    j->p++;
    return true;
  }
  j->bad = true;
  return false;
}

/* A JSON string into out (malloc'd); \uXXXX kept only for ASCII. */
static char *jstring(Json *j) {
  ws(j);
  if (j->p >= j->end || *j->p != '"') {
    j->bad = true;
    return NULL;
  }
  j->p++;
  StrBuf sb = {0};
  sb_putn(&sb, "", 0);
  while (j->p < j->end && *j->p != '"') {
    char ch = *j->p++;
    if (ch == '\\') {
      if (j->p >= j->end) break;
      char e = *j->p++;
      if (e == 'u') {
        if (j->end - j->p < 4) { j->bad = true; break; }
        unsigned v = (unsigned)strtoul((char[5]){j->p[0], j->p[1], j->p[2], j->p[3], 0}, NULL, 16);
        j->p += 4;
        ch = v < 128 ? (char)v : '?';
      } else {
        ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
      }
    }
    sb_putn(&sb, &ch, 1);
  }
  if (j->p >= j->end) {
    j->bad = true;
    sb_free(&sb);
    return NULL;
  }
  j->p++;
  return sb.buf;
}

/* An integer; strtoll runs on a NUL-terminated copy, since the header is
 * not terminated (the tensor bytes, or the end of the buffer, follow). */
static bool jint(Json *j, int64_t *out) {
  ws(j);
  char buf[32];
  size_t n = 0;
  while (j->p + n < j->end && n < sizeof buf - 1 &&
         (j->p[n] == '-' || j->p[n] == '+' || (j->p[n] >= '0' && j->p[n] <= '9')))
    n++;
  memcpy(buf, j->p, n);
  buf[n] = 0;
  char *e;
  errno = 0;
  long long v = strtoll(buf, &e, 10);
  if (e == buf || errno || (size_t)(e - buf) != n) {
    j->bad = true;
    return false;
  }
  j->p += n;
  *out = v;
  return true;
}

/* Skips any JSON value (for keys we do not need). */
static void skip(Json *j, int depth) {
  ws(j);
  if (j->p >= j->end || depth > 32) {
    j->bad = true;
    return;
  }
  char ch = *j->p;
  if (ch == '"') {
    free(jstring(j));
  } else if (ch == '{' || ch == '[') {
    char close = ch == '{' ? '}' : ']';
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == close) {
      j->p++;
      return;
    }
    for (;;) {
      if (ch == '{') {
        free(jstring(j));
        if (!eat(j, ':')) return;
      }
      skip(j, depth + 1);
      if (j->bad) return;
      ws(j);
      if (j->p < j->end && *j->p == ',') { j->p++; continue; }
      eat(j, close);
      return;
    }
  } else {
    while (j->p < j->end && !strchr(",}] \n\t\r", *j->p))
      j->p++;
  }
}

static bool jints(Json *j, int64_t *v, int *n, int max) {
  *n = 0;
  if (!eat(j, '['))
    return false;
  ws(j);
  if (j->p < j->end && *j->p == ']') {
    j->p++;
    return true;
  }
  for (;;) {
    int64_t x;
    if (*n >= max || !jint(j, &x)) {
      j->bad = true;
      return false;
    }
    v[(*n)++] = x;
    ws(j);
    if (j->p < j->end && *j->p == ',') { j->p++; continue; }
    return eat(j, ']');
  }
}

static size_t st_dtype_size(const char *t) {
  if (!strcmp(t, "F32") || !strcmp(t, "I32") || !strcmp(t, "U32")) return 4;
  if (!strcmp(t, "F64") || !strcmp(t, "I64") || !strcmp(t, "U64")) return 8;
  if (!strcmp(t, "F16") || !strcmp(t, "BF16") || !strcmp(t, "I16") || !strcmp(t, "U16")) return 2;
  if (!strcmp(t, "I8") || !strcmp(t, "U8") || !strcmp(t, "BOOL")) return 1;
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

bool safetensors_open(SafeTensors *st, const char *path, Diag *d) {
  char *pending = NULL; /* the name of the tensor being read, until st->t holds it */
  memset(st, 0, sizeof *st);
  if (!cd_read_file(path, &st->bytes, &st->size)) {
    diag_error(d, "%s: cannot read: %s", path, strerror(errno));
    return false;
  }
  uint64_t hlen = 0;
  if (st->size < 8) {
    diag_error(d, "%s: truncated safetensors file (%zu bytes)", path, st->size);
    goto fail;
  }
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | st->bytes[i];
  if (hlen > st->size - 8 || hlen > (100u << 20)) {
    diag_error(d, "%s: header length %llu exceeds the file (%zu bytes): truncated?", path,
               (unsigned long long)hlen, st->size);
    goto fail;
  }
  const uint8_t *data = st->bytes + 8 + hlen;
  size_t data_size = st->size - 8 - hlen;
  Json j = {(const char *)st->bytes + 8, (const char *)st->bytes + 8 + hlen, false};
  int cap = 0;
  if (!eat(&j, '{'))
    goto bad_json;
  ws(&j);
  if (j.p < j.end && *j.p == '}')
    return true;
  for (;;) {
    char *name = jstring(&j);
    if (!name || !eat(&j, ':')) {
      free(name);
      goto bad_json;
    }
    if (!strcmp(name, "__metadata__")) {
      free(name);
      skip(&j, 0);
    } else {
      StTensor t = {.name = name};
      pending = name;
      int64_t offs[2];
      int noffs = -1;
      bool have_dtype = false;
      t.rank = -1;
      if (!eat(&j, '{'))
        goto bad_json;
      for (;;) {
        char *key = jstring(&j);
        if (!key || !eat(&j, ':')) {
          free(key);
          goto bad_json;
        }
        if (!strcmp(key, "dtype")) {
          char *dt = jstring(&j);
          if (dt) {
            snprintf(t.dtype_name, sizeof t.dtype_name, "%s", dt);
            have_dtype = true;
          }
          free(dt);
        } else if (!strcmp(key, "shape")) {
          jints(&j, t.dims, &t.rank, CD_MAX_RANK);
        } else if (!strcmp(key, "data_offsets")) {
          jints(&j, offs, &noffs, 2);
        } else {
          skip(&j, 0);
        }
        free(key);
        if (j.bad)
          goto bad_json;
        ws(&j);
        if (j.p < j.end && *j.p == ',') { j.p++; continue; }
        if (!eat(&j, '}'))
          goto bad_json;
        break;
      }
      size_t es = have_dtype ? st_dtype_size(t.dtype_name) : 0;
      if (!have_dtype || t.rank < 0 || noffs != 2) {
        diag_error(d, "%s: tensor '%s' lacks dtype, shape or data_offsets", path, name);
        goto fail;
      }
      if (!es) {
        diag_error(d, "%s: tensor '%s' has unknown dtype '%s'", path, name, t.dtype_name);
        goto fail;
      }
      int64_t numel = 1;
      for (int k = 0; k < t.rank; k++) {
        if (t.dims[k] < 0 || (t.dims[k] && numel > ((int64_t)1 << 40) / t.dims[k])) {
          numel = -1;
          break;
        }
        numel *= t.dims[k];
      }
      if (numel < 0 || offs[0] < 0 || offs[1] < offs[0] || (uint64_t)offs[1] > data_size ||
          (uint64_t)(offs[1] - offs[0]) != (uint64_t)numel * es) {
        diag_error(d, "%s: tensor '%s' has bad data_offsets [%lld, %lld] for %s x %lld "
                   "elements in %zu data bytes", path, name, (long long)offs[0],
                   (long long)offs[1], t.dtype_name, (long long)numel, data_size);
        goto fail;
      }
      t.dtype = !strcmp(t.dtype_name, "F32") ? DT_FLOAT : DT_UNDEFINED;
      t.data = data + offs[0];
      t.bytes = (size_t)(offs[1] - offs[0]);
      if (st->n == cap) {
        cap = cap ? 2 * cap : 64;
        st->t = realloc(st->t, sizeof(StTensor) * (size_t)cap);
      }
      st->t[st->n++] = t;
      pending = NULL;
    }
    ws(&j);
    if (j.p < j.end && *j.p == ',') {
      j.p++;
      continue;
    }
    if (!eat(&j, '}'))
      goto bad_json;
    break;
  }
  if (st->n)
    qsort(st->t, (size_t)st->n, sizeof(StTensor), cmp_names);
  for (int i = 1; i < st->n; i++)
    if (!strcmp(st->t[i - 1].name, st->t[i].name)) {
      diag_error(d, "%s: tensor '%s' appears twice in the header", path, st->t[i].name);
      goto fail;
    }
  return true;
bad_json:
  diag_error(d, "%s: the safetensors header is not valid JSON (at byte %ld)", path,
             (long)(j.p - (const char *)st->bytes));
fail:
  free(pending);
  safetensors_close(st);
  return false;
}

/* Tensors are sorted by name once opened: a model binding each of its
 * parameters looks them up in log time. */
const StTensor *safetensors_find(const SafeTensors *st, const char *name) {
  StTensor key = {.name = (char *)name};
  return st->n ? bsearch(&key, st->t, (size_t)st->n, sizeof(StTensor), cmp_names) : NULL;
}

void safetensors_close(SafeTensors *st) {
  for (int i = 0; i < st->n; i++)
    free(st->t[i].name);
  free(st->t);
  free(st->bytes);
  memset(st, 0, sizeof *st);
}

static void json_name(StrBuf *sb, const char *s) {
  sb_putn(sb, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      sb_printf(sb, "\\%c", *p);
    else if (*p < 32)
      sb_printf(sb, "\\u%04x", *p);
    else
      sb_putn(sb, (const char *)p, 1);
  }
  sb_putn(sb, "\"", 1);
}

bool safetensors_write(const char *path, const Graph *g, const int *vals, int n, Diag *d) {
  StrBuf h = {0};
  sb_printf(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
  uint64_t off = 0;
  for (int i = 0; i < n; i++) {
    const Value *v = &g->values[vals[i]];
    uint64_t bytes = (uint64_t)value_numel(v) * 4;
    sb_printf(&h, ",");
    json_name(&h, v->name);
    sb_printf(&h, ":{\"dtype\":\"F32\",\"shape\":[");
    for (int k = 0; k < v->rank; k++)
      sb_printf(&h, "%s%lld", k ? "," : "", (long long)v->dims[k]);
    sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
              (unsigned long long)(off + bytes));
    off += bytes;
  }
  sb_printf(&h, "}");
  while (h.len % 8)
    sb_putn(&h, " ", 1);
  FILE *f = fopen(path, "wb");
  bool ok = f != NULL;
  unsigned char len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
  ok = ok && fwrite(len, 1, 8, f) == 8 && fwrite(h.buf, 1, h.len, f) == h.len;
  for (int i = 0; ok && i < n; i++) {
    const Value *v = &g->values[vals[i]];
    size_t k = (size_t)value_numel(v);
    ok = fwrite(v->data, 4, k, f) == k; /* little-endian hosts, as the reader */
  }
  if (f)
    ok = (fclose(f) == 0) && ok;
  if (!ok)
    diag_error(d, "%s: cannot write: %s", path, strerror(errno));
  sb_free(&h);
  return ok;
}
