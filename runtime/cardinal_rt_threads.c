/*
 * cardinal_rt_threads.c — the static thread pool of models built with
 * --threads T > 1 (see cardinal_rt.h).  Only such models compile and link
 * this file (with -lpthread); a single-threaded model has no pthread
 * dependency at all.
 *
 * A pool is T-1 workers started once; the caller of NAME_run is thread 0.
 * A run publishes one job (a generation number bumps, the workers wake on a
 * condition variable), every thread runs its precomputed share of every
 * layer, and the threads meet at a barrier between layers that depend on
 * each other.  The barrier is a counter with a generation: the last thread
 * to arrive resets it and bumps the generation; the others spin on the
 * generation for a while (layers are microseconds to milliseconds long, so
 * most waits end spinning) and then sleep on a condition variable.  No lock
 * is taken per tile and nothing is allocated per run.
 *
 * A pool runs one job at a time: cd_pool_run returns CD_ERR_BUSY when
 * another thread's run holds it, and the generated NAME_run then runs the
 * whole model on its caller's thread instead (the same shares in the same
 * order, so the same bits).  cd_pool_stop waits for a run in progress.
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* pthreads under -std=c99 */
#endif
#include "cardinal_rt.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CD_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CD_PAUSE() __asm__ __volatile__("yield")
#else
#define CD_PAUSE() ((void)0)
#endif

#define CD_SPINS 4000 /* spins before sleeping: ~100 us with PAUSE, about a small layer */

typedef struct Pool Pool;

typedef struct {
  Pool *p;
  int t;
} Start;

struct Pool {
  pthread_mutex_t lock;      /* guards the sleeping parts of both below */
  pthread_cond_t wake;       /* workers: a new job, or stop */
  pthread_cond_t done;       /* thread 0: every worker finished */
  pthread_cond_t cross;      /* the barrier's sleepers */
  pthread_mutex_t run;       /* held by the one run in progress */
  pthread_t tid[CD_MAX_POOL_THREADS];
  int n;                     /* threads, the caller's included */
  int started, stop;
  unsigned gen;              /* job generation (workers wait for a new one) */
  unsigned remaining;        /* workers still in the current job */
  void (*part)(int, void *, void *);
  void *job;
  unsigned arrived;          /* barrier: threads arrived at the current crossing */
  unsigned crossing;         /* barrier: generation of crossings */
  Start starts[CD_MAX_POOL_THREADS]; /* what each worker is started with */
};

typedef char cd_pool_fits[sizeof(Pool) <= sizeof(cd_pool) ? 1 : -1];

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

void cd_pool_barrier(void *pool) {
  Pool *p = (Pool *)pool;
  unsigned c = __atomic_load_n(&p->crossing, __ATOMIC_ACQUIRE);
  if (__atomic_add_fetch(&p->arrived, 1, __ATOMIC_ACQ_REL) == (unsigned)p->n) {
    __atomic_store_n(&p->arrived, 0, __ATOMIC_RELAXED);
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->crossing, c + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->cross);
    pthread_mutex_unlock(&p->lock);
    return;
  }
  for (int i = 0; i < CD_SPINS; i++) {
    if (__atomic_load_n(&p->crossing, __ATOMIC_ACQUIRE) != c)
      return;
    CD_PAUSE();
  }
  pthread_mutex_lock(&p->lock);
  while (__atomic_load_n(&p->crossing, __ATOMIC_ACQUIRE) == c)
    pthread_cond_wait(&p->cross, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

static void *worker(void *arg) {
  Pool *p = ((Start *)arg)->p;
  int t = ((Start *)arg)->t;
  unsigned seen = 0;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    while (p->gen == seen && !p->stop)
      pthread_cond_wait(&p->wake, &p->lock);
    if (p->gen == seen) { /* stop, with no job of ours pending */
      pthread_mutex_unlock(&p->lock);
      return NULL;
    }
    seen = p->gen;
    pthread_mutex_unlock(&p->lock);
    p->part(t, p->job, p);
    pthread_mutex_lock(&p->lock);
    if (--p->remaining == 0)
      pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->lock);
  }
}

int cd_pool_start(cd_pool *pool, int nthreads) {
  Pool *p = (Pool *)pool;
  int rc = CD_OK;
  if (nthreads < 1 || nthreads > CD_MAX_POOL_THREADS)
    return CD_ERR_THREADS;
  pthread_mutex_lock(&start_lock);
  if (!p->started) {
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->run, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    pthread_cond_init(&p->cross, NULL);
    p->n = 1;
    for (int t = 1; t < nthreads; t++) {
      Start *s = &p->starts[t];
      s->p = p;
      s->t = t;
      if (pthread_create(&p->tid[t], NULL, worker, s) != 0) {
        rc = CD_ERR_THREADS;
        break;
      }
      p->n++;
    }
    p->started = 1;
  } else if (p->n != nthreads) {
    rc = CD_ERR_THREADS;
  }
  pthread_mutex_unlock(&start_lock);
  return rc != CD_OK ? rc : p->n == nthreads ? CD_OK : CD_ERR_THREADS;
}

int cd_pool_run(cd_pool *pool, int nthreads, void (*part)(int tid, void *job, void *barrier),
                void *job) {
  Pool *p = (Pool *)pool;
  int rc = cd_pool_start(pool, nthreads);
  if (rc != CD_OK)
    return rc;
  if (pthread_mutex_trylock(&p->run) != 0)
    return CD_ERR_BUSY;
  pthread_mutex_lock(&p->lock);
  p->part = part;
  p->job = job;
  p->remaining = (unsigned)(p->n - 1);
  p->gen++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  part(0, job, p);
  pthread_mutex_lock(&p->lock);
  while (p->remaining)
    pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
  pthread_mutex_unlock(&p->run);
  return CD_OK;
}

void cd_pool_stop(cd_pool *pool) {
  Pool *p = (Pool *)pool;
  pthread_mutex_lock(&start_lock);
  if (p->started) {
    pthread_mutex_lock(&p->run); /* a run in progress finishes first */
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int t = 1; t < p->n; t++)
      pthread_join(p->tid[t], NULL);
    pthread_mutex_unlock(&p->run);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->cross);
    memset(p, 0, sizeof *p);
  }
  pthread_mutex_unlock(&start_lock);
}
