/*
 * tensorio.c — tensors in files: NumPy .npy (v1-v3; <f4, <f8, <i8, <i4;
 * C order), ONNX TensorProto .pb (via the frontend), and raw little-endian
 * float32 for anything else.
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

static bool ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
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
  char *h = strndup((const char *)b + hstart, hlen);
  CD_ASSERT(h);
  const char *descr = strstr(h, "'descr'"), *fo = strstr(h, "'fortran_order'"),
             *sh = strstr(h, "'shape'");
  bool ok = descr && fo && sh;
  char code[8] = {0};
  if (ok) {
    const char *q = strchr(descr + 7, '\'');
    ok = q && sscanf(q + 1, "%7[^']", code) == 1;
  }
  if (ok && strstr(fo, "True")) {
    diag_error(d, "%s: Fortran-order .npy is not supported", path);
    free(h);
    return false;
  }
  int rank = 0;
  int64_t dims[CD_MAX_RANK];
  if (ok) {
    const char *p = strchr(sh, '(');
    ok = p != NULL;
    if (ok)
      p++;
    while (ok && *p && *p != ')') {
      while (*p == ' ' || *p == ',')
        p++;
      if (*p == ')')
        break;
      char *end;
      long long v = strtoll(p, &end, 10);
      if (end == p || v < 0 || rank >= CD_MAX_RANK) {
        ok = false;
        break;
      }
      dims[rank++] = v;
      p = end;
    }
  }
  free(h);
  if (!ok) {
    diag_error(d, "%s: cannot parse the .npy header", path);
    return false;
  }
  DType dt;
  size_t es;
  if (!strcmp(code, "<f4")) dt = DT_FLOAT, es = 4;
  else if (!strcmp(code, "<f8")) dt = DT_DOUBLE, es = 8;
  else if (!strcmp(code, "<i8")) dt = DT_INT64, es = 8;
  else if (!strcmp(code, "<i4")) dt = DT_INT32, es = 4;
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
