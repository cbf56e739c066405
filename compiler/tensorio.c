/*
 * tensorio.c — tensors in files: NumPy .npy (v1-v3; <f4, <f8, <i8, <i4;
 * C order), ONNX TensorProto .pb (via the frontend), and raw little-endian
 * float32 for anything else; and integer tensors as the float values the
 * generated API passes them as.
 */
#include "cardinal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tensor_free(HostTensor *t) {
  free(t->data);
  free(t->name);
  memset(t, 0, sizeof *t);
}

int64_t tensor_numel(const HostTensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    n *= t->dims[i];
  return n;
}

bool tensor_as_float(HostTensor *t) {
  int64_t lo, hi;
  if (t->dtype == DT_FLOAT)
    return true;
  if (!dtype_out_as_float(t->dtype, &lo, &hi))
    return false;
  int64_t n = tensor_numel(t);
  float *f = malloc(sizeof(float) * (size_t)n + 1);
  CD_ASSERT(f);
  for (int64_t i = 0; i < n; i++)
    f[i] = t->dtype == DT_UINT8  ? (float)((const uint8_t *)t->data)[i]
           : t->dtype == DT_INT8 ? (float)((const int8_t *)t->data)[i]
           : t->dtype == DT_INT64 ? (float)((const int64_t *)t->data)[i]
                                 : (float)((const int32_t *)t->data)[i];
  free(t->data);
  t->data = f;
  t->dtype = DT_FLOAT;
  return true;
}

static bool ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

/*
 * The header of a .npy is a Python dict literal,
 *
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *
 * read as one: its three keys once each, in any order, in single or
 * double quotes, each with a value of its kind (a string; True or False; a
 * tuple of ints), and nothing else -- not words found anywhere in it
 * ('True' after 'fortran_order' read as Fortran order, whatever it
 * belonged to).
 */
typedef struct {
  char descr[16];
  bool fortran;
  int rank;
  int64_t dims[CD_MAX_RANK];
} NpyHeader;

typedef struct {
  const char *p, *end;
} Lit;

static void lit_space(Lit *l) {
  while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
    l->p++;
}

static bool lit_char(Lit *l, char c) {
  lit_space(l);
  if (l->p < l->end && *l->p == c) {
    l->p++;
    return true;
  }
  return false;
}

/* A quoted string without escapes, into buf[n]. */
static bool lit_string(Lit *l, char *buf, size_t n) {
  lit_space(l);
  if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
    return false;
  char q = *l->p++;
  size_t k = 0;
  for (; l->p < l->end && *l->p != q; l->p++) {
    if (*l->p == '\\' || k + 1 >= n)
      return false;
    buf[k++] = *l->p;
  }
  buf[k] = 0;
  if (l->p >= l->end)
    return false;
  l->p++;
  return true;
}

/* The word w, whole (True, not Truex). */
static bool lit_word(Lit *l, const char *w) {
  lit_space(l);
  size_t n = strlen(w);
  if ((size_t)(l->end - l->p) < n || memcmp(l->p, w, n) != 0)
    return false;
  char c = l->p + n < l->end ? l->p[n] : ' ';
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
    return false;
  l->p += n;
  return true;
}

/* A tuple of non-negative ints (an L suffix allowed: Python 2's longs):
 * (), (3,), (2, 3), (2, 3,). */
static const char *lit_shape(Lit *l, NpyHeader *h) {
  if (!lit_char(l, '('))
    return "'shape' must be a tuple of ints";
  for (bool comma = true;;) {
    if (lit_char(l, ')'))
      return h->rank == 1 && !comma ? "'shape' must be a tuple of ints: (n,), not (n)" : NULL;
    lit_space(l);
    if (!comma || l->p >= l->end || *l->p < '0' || *l->p > '9')
      return "'shape' must be a tuple of ints";
    int64_t v = 0;
    for (; l->p < l->end && *l->p >= '0' && *l->p <= '9'; l->p++)
      if (!ck_mul(v, 10, &v) || !ck_add(v, *l->p - '0', &v))
        return "a dim does not fit 64 bits";
    if (l->p < l->end && *l->p == 'L')
      l->p++;
    if (h->rank == CD_MAX_RANK)
      return "more than 8 dims";
    h->dims[h->rank++] = v;
    comma = lit_char(l, ',');
  }
}

/* Parses the header's n bytes into h; false, and why[96] says why not. */
static bool npy_header(const char *text, size_t n, NpyHeader *h, char *why) {
  static const char *const keys[3] = {"descr", "fortran_order", "shape"};
  const char *bad = NULL;
  memset(h, 0, sizeof *h);
  Lit l = {text, text + n};
  bool seen[3] = {false, false, false};
  if (!lit_char(&l, '{'))
    bad = "not a dict";
  while (!bad && !lit_char(&l, '}')) {
    char key[32];
    if (!lit_string(&l, key, sizeof key) || !lit_char(&l, ':')) {
      bad = "expected 'key': value";
      break;
    }
    int k = 0;
    while (k < 3 && strcmp(key, keys[k]) != 0)
      k++;
    if (k == 3 || seen[k]) {
      snprintf(why, 96, k == 3 ? "unknown key '%.32s' (a .npy header has descr, "
               "fortran_order and shape)" : "key '%.32s' given twice", key);
      return false;
    }
    seen[k] = true;
    if (k == 0 && !lit_string(&l, h->descr, sizeof h->descr))
      bad = "'descr' must be a string (a simple dtype such as '<f4')";
    else if (k == 1 && !(h->fortran = lit_word(&l, "True")) && !lit_word(&l, "False"))
      bad = "'fortran_order' must be True or False";
    else if (k == 2)
      bad = lit_shape(&l, h);
    if (!bad && !lit_char(&l, ',')) {
      lit_space(&l);
      if (l.p >= l.end || *l.p != '}')
        bad = "expected ',' or '}' after a value";
    }
  }
  lit_space(&l);
  if (!bad && l.p != l.end)
    bad = "bytes after the dict";
  for (int k = 0; k < 3 && !bad; k++)
    if (!seen[k]) {
      snprintf(why, 96, "no '%s'", keys[k]);
      return false;
    }
  if (bad)
    snprintf(why, 96, "%s", bad);
  return !bad;
}

static bool npy_read(const char *path, const uint8_t *b, size_t n,
                     HostTensor *t, Diag *d) {
  if (n < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
    diag_error(d, "%s: not a .npy file", path);
    return false;
  }
  size_t hlen, hstart;
  if (b[6] == 1) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    hstart = 10;
  } else {
    if (n < 12) {
      diag_error(d, "%s: truncated .npy header", path);
      return false;
    }
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    hstart = 12;
  }
  if (hstart + hlen > n || hlen > 65536) {
    diag_error(d, "%s: truncated .npy header", path);
    return false;
  }
  NpyHeader hd;
  char why[96];
  if (!npy_header((const char *)b + hstart, hlen, &hd, why)) {
    diag_error(d, "%s: cannot parse the .npy header: %s", path, why);
    return false;
  }
  if (hd.fortran) {
    diag_error(d, "%s: Fortran-order .npy is not supported (save np.ascontiguousarray(a))",
               path);
    return false;
  }
  const char *code = hd.descr;
  int rank = hd.rank;
  int64_t *dims = hd.dims;
  DType dt;
  size_t es;
  if (!strcmp(code, "<f4")) dt = DT_FLOAT, es = 4;
  else if (!strcmp(code, "<f8")) dt = DT_DOUBLE, es = 8;
  else if (!strcmp(code, "<i8")) dt = DT_INT64, es = 8;
  else if (!strcmp(code, "<i4")) dt = DT_INT32, es = 4;
  else if (!strcmp(code, "|u1") || !strcmp(code, "<u1")) dt = DT_UINT8, es = 1; /* run --io quantized */
  else if (!strcmp(code, "|i1") || !strcmp(code, "<i1")) dt = DT_INT8, es = 1;
  else {
    diag_error(d, "%s: .npy dtype '%s' is not supported", path, code);
    return false;
  }
  int64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] && numel > ((int64_t)1 << 40) / dims[i]) {
      diag_error(d, "%s: shape too large", path);
      return false;
    }
    numel *= dims[i];
  }
  size_t need = (size_t)numel * es;
  if (n - hstart - hlen < need) {
    diag_error(d, "%s: holds %zu data bytes, shape needs %zu", path,
               n - hstart - hlen, need);
    return false;
  }
  t->dtype = dt == DT_DOUBLE ? DT_FLOAT : dt;
  t->rank = rank;
  memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  t->data = malloc(need + 1);
  CD_ASSERT(t->data);
  const uint8_t *src = b + hstart + hlen;
  if (dt == DT_DOUBLE) {
    for (int64_t i = 0; i < numel; i++) {
      double v;
      memcpy(&v, src + 8 * i, 8);
      ((float *)t->data)[i] = (float)v;
    }
  } else {
    memcpy(t->data, src, need);
  }
  return true;
}

bool tensor_read(const char *path, HostTensor *t, Diag *d) {
  memset(t, 0, sizeof *t);
  if (ends_with(path, ".pb"))
    return onnx_load_tensor(path, t, d);
  uint8_t *b;
  size_t n;
  if (!cd_read_file(path, &b, &n)) {
    diag_error(d, "%s: cannot read: %s", path, strerror(errno));
    return false;
  }
  bool ok;
  if (ends_with(path, ".npy")) {
    ok = npy_read(path, b, n, t, d);
    free(b);
  } else {
    if (n % 4) {
      diag_error(d, "%s: raw float32 file of %zu bytes (not a multiple of 4)",
                 path, n);
      free(b);
      return false;
    }
    t->dtype = DT_FLOAT;
    t->rank = 1;
    t->dims[0] = (int64_t)(n / 4);
    t->data = b;
    ok = true;
  }
  return ok;
}

bool tensor_write_npy(const char *path, const float *data, int rank,
                      const int64_t *dims) {
  char hdr[256];
  int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
  int64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    len += snprintf(hdr + len, sizeof hdr - (size_t)len, "%lld%s", (long long)dims[i],
                    rank == 1 ? "," : (i + 1 < rank ? ", " : ""));
    numel *= dims[i];
  }
  len += snprintf(hdr + len, sizeof hdr - (size_t)len, "), }");
  int total = 10 + len + 1;
  int padn = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f)
    return false;
  unsigned short hl = (unsigned short)(len + padn + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(hl & 0xff, f);
  fputc(hl >> 8, f);
  fwrite(hdr, 1, (size_t)len, f);
  for (int i = 0; i < padn; i++)
    fputc(' ', f);
  fputc('\n', f);
  fwrite(data, 4, (size_t)numel, f);
  return fclose(f) == 0;
}
