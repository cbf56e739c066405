/*
 * threads_stress.c — two models built with --threads 2 (names a and b),
 * driven from three caller threads at once for RUNS runs each: one thread
 * runs a, one runs b, and a third runs a too, so a's pool is often busy and
 * that caller runs every share itself.  Every output must equal, bit for
 * bit, the one a single-threaded build wrote (REF_A, REF_B: raw float32),
 * and nothing may deadlock (the test has a timeout).  Then a drives its own
 * threads through a_run_part with a barrier of its own, the embedder's path.
 * Last, three threads run a without pause while this one stops and starts
 * a's pool CYCLES times (a_shutdown, then a_init_threads every other cycle;
 * the other cycles leave it to the next run to start the pool): each
 * shutdown waits for the run in progress, a run that finds the pool
 * stopping runs on its own thread, and every output keeps the bits.
 *
 *   cc threads_stress.c -Ia -Ib a/liba.a b/libb.a -lm -lpthread
 *   ./a.out IN_A.f32 REF_A.f32 IN_B.f32 REF_B.f32 RUNS [CYCLES]
 */
#define _POSIX_C_SOURCE 200809L
#include "a.h"
#include "b.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int (*run)(const float *const[], float *const[], void *);
  size_t nin, nout, ws;
  const float *in, *ref;
  int runs, bad, failed; /* runs < 0: until `cycling` drops to 0 */
  int done;              /* runs done (atomic: main waits for the first) */
} Job;

static int cycling; /* main is stopping and starting a's pool */

static float *load(const char *path, size_t n) {
  float *x = malloc(n * sizeof *x);
  FILE *f = fopen(path, "rb");
  if (!x || !f || fread(x, sizeof *x, n, f) != n) {
    fprintf(stderr, "threads_stress: %s must hold %zu float32 values\n", path, n);
    exit(2);
  }
  fclose(f);
  return x;
}

static void *worker(void *arg) {
  Job *j = arg;
  void *ws = cd_aligned_alloc(j->ws + 1);
  float *y = malloc(j->nout * sizeof *y);
  const float *in[1] = {j->in};
  float *out[1] = {y};
  if (!ws || !y) {
    fprintf(stderr, "threads_stress: out of memory\n");
    exit(2);
  }
  for (int r = 0; j->runs < 0 ? __atomic_load_n(&cycling, __ATOMIC_ACQUIRE) : r < j->runs;
       r++) {
    memset(y, 0xff, j->nout * sizeof *y);
    if (j->run(in, out, ws) != CD_OK)
      j->failed++;
    else if (memcmp(y, j->ref, j->nout * sizeof *y) != 0)
      j->bad++;
    __atomic_store_n(&j->done, r + 1, __ATOMIC_RELEASE);
  }
  cd_free(ws);
  free(y);
  return NULL;
}

/* The embedder's own barrier for a_run_part: a counter and a condition. */
typedef struct {
  pthread_mutex_t m;
  pthread_cond_t c;
  int count, gen, n;
} Barrier;

static void barrier(void *ctx) {
  Barrier *b = ctx;
  pthread_mutex_lock(&b->m);
  int gen = b->gen;
  if (++b->count == b->n) {
    b->count = 0;
    b->gen++;
    pthread_cond_broadcast(&b->c);
  } else {
    while (gen == b->gen)
      pthread_cond_wait(&b->c, &b->m);
  }
  pthread_mutex_unlock(&b->m);
}

typedef struct {
  int t;
  const float *in;
  float *out;
  void *ws;
  Barrier *b;
  int rc;
} Part;

static void *part(void *arg) {
  Part *p = arg;
  const float *in[1] = {p->in};
  float *out[1] = {p->out};
  p->rc = a_run_part(p->t, A_THREADS, in, out, p->ws, barrier, p->b);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: threads_stress IN_A REF_A IN_B REF_B RUNS [CYCLES]\n");
    return 2;
  }
  int runs = atoi(argv[5]), cycles = argc == 7 ? atoi(argv[6]) : 2000;
  Job ja = {a_run, a_input_size[0], a_output_size[0], A_WORKSPACE_SIZE,
            load(argv[1], a_input_size[0]), load(argv[2], a_output_size[0]), runs, 0, 0, 0};
  Job jb = {b_run, b_input_size[0], b_output_size[0], B_WORKSPACE_SIZE,
            load(argv[3], b_input_size[0]), load(argv[4], b_output_size[0]), runs, 0, 0, 0};
  Job ja2 = ja;
  pthread_t t[3];
  pthread_create(&t[0], NULL, worker, &ja);
  pthread_create(&t[1], NULL, worker, &jb);
  pthread_create(&t[2], NULL, worker, &ja2);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  printf("a: %d runs, %d failed, %d different; a again: %d failed, %d different; "
         "b: %d failed, %d different\n",
         runs, ja.failed, ja.bad, ja2.failed, ja2.bad, jb.failed, jb.bad);
  int bad = ja.failed + ja.bad + ja2.failed + ja2.bad + jb.failed + jb.bad;
  /* The embedder drives a's shares on threads of its own. */
  Barrier bar = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, A_THREADS};
  float *y = malloc(a_output_size[0] * sizeof *y);
  void *ws = cd_aligned_alloc(A_WORKSPACE_SIZE + 1);
  Part parts[A_THREADS];
  pthread_t pt[A_THREADS];
  memset(y, 0xff, a_output_size[0] * sizeof *y);
  for (int i = 0; i < A_THREADS; i++) {
    parts[i] = (Part){i, ja.in, y, ws, &bar, -1};
    pthread_create(&pt[i], NULL, part, &parts[i]);
  }
  for (int i = 0; i < A_THREADS; i++) {
    pthread_join(pt[i], NULL);
    bad += parts[i].rc != CD_OK;
  }
  int same = memcmp(y, ja.ref, a_output_size[0] * sizeof *y) == 0;
  printf("a_run_part on the embedder's threads: %s\n", same ? "same" : "DIFFERENT");
  bad += !same;
  /* Three callers run a while this thread stops and starts its pool. */
  Job jl[3];
  pthread_t looper[3];
  int initfail = 0, total = 0;
  __atomic_store_n(&cycling, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < 3; i++) {
    jl[i] = ja;
    jl[i].runs = -1;
    jl[i].done = 0;
    pthread_create(&looper[i], NULL, worker, &jl[i]);
  }
  for (int i = 0; i < 3; i++) /* each caller has run once: they overlap the cycles */
    while (!__atomic_load_n(&jl[i].done, __ATOMIC_ACQUIRE)) {
      struct timespec us = {0, 100000};
      nanosleep(&us, NULL);
    }
  for (int c = 0; c < cycles; c++) {
    a_shutdown();
    if (c % 2 == 0 && a_init_threads() != CD_OK)
      initfail++;
    if (c % 64 == 63) { /* let a few runs use the pool */
      struct timespec us = {0, 200000};
      nanosleep(&us, NULL);
    }
  }
  __atomic_store_n(&cycling, 0, __ATOMIC_RELEASE);
  for (int i = 0; i < 3; i++) {
    pthread_join(looper[i], NULL);
    total += jl[i].done;
    bad += jl[i].failed + jl[i].bad;
  }
  printf("a on 3 threads while its pool stopped and started %d times: %d runs, %d failed, "
         "%d different; %d starts failed\n", cycles, total, jl[0].failed + jl[1].failed +
         jl[2].failed, jl[0].bad + jl[1].bad + jl[2].bad, initfail);
  bad += initfail;
  a_shutdown();
  b_shutdown();
  cd_free(ws);
  free(y);
  return bad ? 1 : 0;
}
