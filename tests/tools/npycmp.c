/*
 * npycmp — compares two tensors (.npy, .pb or raw float32) the way the model
 * tests do: max |got - want| <= REL * max |want|, and the same arg-max.
 *
 *   npycmp GOT WANT [REL]       (REL defaults to 1e-4)
 *   npycmp --raw IN OUT         writes IN's float32 data to OUT, raw
 */
#include "cardinal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: npycmp GOT WANT [REL]\n");
    return 2;
  }
  HostTensor a, b;
  Diag d = {0};
  if (!strcmp(argv[1], "--raw")) {
    if (!tensor_read(argv[2], &a, &d) || a.dtype != DT_FLOAT)
      return 2;
    FILE *f = fopen(argv[3], "wb");
    size_t n = (size_t)tensor_numel(&a);
    if (!f || fwrite(a.data, 4, n, f) != n || fclose(f) != 0)
      return 2;
    tensor_free(&a);
    return 0;
  }
  double rel = argc > 3 ? atof(argv[3]) : 1e-4;
  if (!tensor_read(argv[1], &a, &d) || !tensor_read(argv[2], &b, &d))
    return 2;
  int64_t n = tensor_numel(&a);
  if (a.dtype != DT_FLOAT || b.dtype != DT_FLOAT || n != tensor_numel(&b) || n == 0) {
    fprintf(stderr, "npycmp: %s and %s differ in type or size\n", argv[1], argv[2]);
    return 1;
  }
  const float *x = a.data, *y = b.data;
  double err = 0, mag = 0;
  int64_t ax = 0, ay = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs((double)x[i] - y[i]);
    if (!(e <= err))
      err = e;
    if (fabs(y[i]) > mag)
      mag = fabs(y[i]);
    if (x[i] > x[ax])
      ax = i;
    if (y[i] > y[ay])
      ay = i;
  }
  bool ok = err <= rel * mag && ax == ay;
  printf("npycmp: %s: max error %.3g = %.3g of the magnitude %.4g (limit %.1g); "
         "arg-max %lld vs %lld\n", ok ? "ok" : "MISMATCH", err, mag ? err / mag : err,
         mag, rel, (long long)ax, (long long)ay);
  tensor_free(&a);
  tensor_free(&b);
  return ok ? 0 : 1;
}
