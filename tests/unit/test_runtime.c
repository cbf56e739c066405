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

#include <pthread.h>
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

/* Three shares of a 30-unit layer, [0, 10) [10, 20) [20, 30), each with
 * its last 4 units claimable in chunks of 3: a thread claims its own
 * tail's chunks first, then the next thread's and the one after, each
 * chunk once and cut at its tail's end; once every tail is taken, nothing. */
static void test_pool_claim_order(void) {
  long cl[3] = {0, 0, 0};
  const long own[3] = {6, 16, 26}, end[3] = {10, 20, 30};
  long s0 = -1, s1 = -1;
  int next1 = 0;
  /* thread 1 takes one chunk of its own tail: [16, 19) */
  CU_ASSERT_EQUAL(cd_pool_claim(cl, own, end, 3, 1, 3, &next1, &s0, &s1), 1);
  CU_ASSERT(s0 == 16 && s1 == 19);
  /* then thread 0, which is faster, takes everything else, in this order */
  const long want[][2] = {{6, 9}, {9, 10}, {19, 20}, {26, 29}, {29, 30}};
  int next0 = 0;
  for (int k = 0; k < 5; k++) {
    CU_ASSERT_EQUAL(cd_pool_claim(cl, own, end, 3, 0, 3, &next0, &s0, &s1), 1);
    CU_ASSERT(s0 == want[k][0] && s1 == want[k][1]);
  }
  CU_ASSERT_EQUAL(cd_pool_claim(cl, own, end, 3, 0, 3, &next0, &s0, &s1), 0);
  CU_ASSERT_EQUAL(cd_pool_claim(cl, own, end, 3, 1, 3, &next1, &s0, &s1), 0);
  int next2 = 0;
  CU_ASSERT_EQUAL(cd_pool_claim(cl, own, end, 3, 2, 3, &next2, &s0, &s1), 0);
  CU_ASSERT_EQUAL(next2, 3);
}

/* Four threads race for the tails of four shares of 4000 units (each
 * share's last 600 claimable, 7 at a time), as a layer's kernels do,
 * 200 times over: every unit is run exactly once, by its owner or by one
 * claimer. */
#define CLAIM_T 4
#define CLAIM_UNITS 4000
typedef struct {
  int tid;
  long *cl;
  const long *own, *end;
  int *hits;
} ClaimArg;

static void *claim_thread(void *arg) {
  ClaimArg *a = arg;
  long s0 = a->tid * (CLAIM_UNITS / CLAIM_T), s1 = a->own[a->tid];
  int next = 0;
  do
    for (long u = s0; u < s1; u++)
      __atomic_fetch_add(&a->hits[u], 1, __ATOMIC_RELAXED);
  while (cd_pool_claim(a->cl, a->own, a->end, 7, a->tid, CLAIM_T, &next, &s0, &s1));
  return NULL;
}

static void test_pool_claim_threads(void) {
  long own[CLAIM_T], end[CLAIM_T];
  for (int t = 0; t < CLAIM_T; t++) {
    end[t] = (t + 1) * (CLAIM_UNITS / CLAIM_T);
    own[t] = end[t] - 600;
  }
  int *hits = malloc(sizeof(int) * CLAIM_UNITS);
  CU_ASSERT_FATAL(hits != NULL);
  int bad = 0;
  for (int round = 0; round < 200; round++) {
    long cl[CLAIM_T] = {0};
    memset(hits, 0, sizeof(int) * CLAIM_UNITS);
    pthread_t th[CLAIM_T];
    ClaimArg args[CLAIM_T];
    for (int t = 0; t < CLAIM_T; t++) {
      args[t] = (ClaimArg){t, cl, own, end, hits};
      CU_ASSERT_FATAL(pthread_create(&th[t], NULL, claim_thread, &args[t]) == 0);
    }
    for (int t = 0; t < CLAIM_T; t++)
      pthread_join(th[t], NULL);
    for (int u = 0; u < CLAIM_UNITS; u++)
      bad += hits[u] != 1;
  }
  CU_ASSERT_EQUAL(bad, 0);
  free(hits);
}

void add_runtime_suite(void) {
  CU_pSuite s = CU_add_suite("runtime", NULL, NULL);
  ADD(s, test_rt_aligned_alloc);
  ADD(s, test_rt_aligned_alloc_huge);
  ADD(s, test_rt_load_file);
  ADD(s, test_pool_claim_order);
  ADD(s, test_pool_claim_threads);
}
