/*
 * test_runtime.c — the runtime's helpers (runtime/cardinal_rt.c) as an
 * embedder calls them: aligned buffers released with plain free(), sizes
 * whose arithmetic would wrap refused, files read whole.
 *
 * cardinal.h (through testutil.h) renames free to the compiler's cd_xfree;
 * `(free)(p)` is the C library's, the one an embedder calls.
 */
#include "testutil.h"

#include "cardinal_rt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 64-byte aligned, writable to the last byte, released by free() and by
 * cd_free alike; sizes either side of a 64-byte line. */
static void test_rt_aligned_alloc(void) {
  const size_t sizes[] = {0, 1, 63, 64, 65, 4095, 4096, 1000003};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    for (int how = 0; how < 2; how++) {
      unsigned char *p = cd_aligned_alloc(sizes[i]);
      CU_ASSERT_FATAL(p != NULL);
      CU_ASSERT((uintptr_t)p % 64 == 0);
      memset(p, 0xa5, sizes[i]);
      if (how == 0)
        (free)(p);
      else
        cd_free(p);
    }
  cd_free(NULL);
}

/* A size whose rounding up (or a hand-made header) would wrap, or over
 * PTRDIFF_MAX, is NULL, never a short block (SIZE_MAX - 8 was a 63-byte
 * malloc). */
static void test_rt_aligned_alloc_huge(void) {
  const size_t huge[] = {SIZE_MAX,
                         SIZE_MAX - 8,
                         SIZE_MAX - 63,
                         SIZE_MAX - 64,
                         SIZE_MAX / 2 + 1,
                         (size_t)PTRDIFF_MAX + 1,
                         (size_t)PTRDIFF_MAX,
                         (size_t)PTRDIFF_MAX - 62};
  for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
    void *p = cd_aligned_alloc(huge[i]);
    CU_ASSERT_PTR_NULL(p);
    (free)(p);
  }
}

/* cd_load_file: the bytes, 64-byte aligned, released by free(); an empty
 * file; a missing one; NULL arguments. */
static void test_rt_load_file(void) {
  const char *path = tu_path("rt_blob.bin"), *empty = tu_path("rt_empty.bin");
  unsigned char want[1000];
  for (int i = 0; i < 1000; i++)
    want[i] = (unsigned char)(i * 7 + 3);
  FILE *f = fopen(path, "wb");
  CU_ASSERT_FATAL(f && fwrite(want, 1, sizeof want, f) == sizeof want);
  fclose(f);
  f = fopen(empty, "wb");
  CU_ASSERT_FATAL(f != NULL);
  fclose(f);
  void *data = NULL;
  size_t size = 0;
  CU_ASSERT_EQUAL_FATAL(cd_load_file(path, &data, &size), CD_OK);
  CU_ASSERT_EQUAL(size, sizeof want);
  CU_ASSERT((uintptr_t)data % 64 == 0);
  CU_ASSERT(memcmp(data, want, sizeof want) == 0);
  (free)(data);
  data = NULL;
  CU_ASSERT_EQUAL_FATAL(cd_load_file(empty, &data, &size), CD_OK);
  CU_ASSERT_EQUAL(size, 0);
  CU_ASSERT(data != NULL);
  (free)(data);
  data = NULL;
  CU_ASSERT_EQUAL(cd_load_file(tu_path("rt_missing.bin"), &data, &size), CD_ERR_IO);
  CU_ASSERT_PTR_NULL(data);
  CU_ASSERT_EQUAL(cd_load_file(NULL, &data, &size), CD_ERR_NULL);
  CU_ASSERT_EQUAL(cd_load_file(path, NULL, &size), CD_ERR_NULL);
  CU_ASSERT_EQUAL(cd_load_file(path, &data, NULL), CD_ERR_NULL);
  CU_ASSERT_PTR_NULL(data);
}

void add_runtime_suite(void) {
  CU_pSuite s = CU_add_suite("runtime", NULL, NULL);
  ADD(s, test_rt_aligned_alloc);
  ADD(s, test_rt_aligned_alloc_huge);
  ADD(s, test_rt_load_file);
}
