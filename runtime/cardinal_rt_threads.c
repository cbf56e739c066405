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
 * each other.  The tail of a share may be claimed by whichever thread gets
 * to it first (cd_pool_claim; schedule.c says why): a relaxed fetch-add on
 * the share's counter hands each chunk to one thread, and the barrier after
 * the layer orders its writes before every later read.  The barrier is a
 * counter with a generation: the last thread
 * to arrive resets it and bumps the generation; the others spin on the
 * generation for a while (layers are microseconds to milliseconds long, so
 * most waits end spinning) and then sleep on a condition variable.  No lock
 * is taken per tile and nothing is allocated per run.
 *
 * A pool runs one job at a time, and has one owner at a time: a run, a
 * start or a stop.  The owner flag, the state and the condition variables
 * are all under the pool's one mutex:
 *
 *   - a run takes the pool if nobody owns it and no start or stop waits
 *     for it, starts the workers if they are not running, runs the job and
 *     lets go; otherwise it returns CD_ERR_BUSY at once, and the generated
 *     NAME_run runs the whole model on its caller's thread instead (the
 *     same shares in the same order, so the same bits);
 *   - a start or a stop waits for the owner to let go (a run in progress
 *     finishes first; runs arriving meanwhile step aside), then starts or
 *     stops and joins the workers, the mutex released while it joins;
 *   - the mutex and the condition variables are initialised on the pool's
 *     first use and never destroyed, so a thread that reaches the pool
 *     while another stops it always finds them valid; a stopped pool is
 *     its workers joined, nothing more, and can start again.
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* pthreads under -std=c99 */
#endif
#include "cardinal_rt.h"

#include <pthread.h>

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
  int t;        /* the worker's thread number, 1 .. n-1 */
  unsigned gen; /* the job generation when it started (its jobs come after) */
} Start;

struct Pool {
  pthread_mutex_t lock;      /* guards everything below but the barrier's counters */
  pthread_cond_t wake;       /* workers: a new job, or stop */
  pthread_cond_t done;       /* the run's caller: every worker finished */
  pthread_cond_t idle;       /* starts and stops: the owner let go */
  pthread_cond_t cross;      /* the barrier's sleepers */
  int ready;                 /* the above are initialised (atomic; never destroyed) */
  int owned;                 /* a run, a start or a stop owns the pool */
  int waiting;               /* starts and stops waiting to own it: runs step aside */
  int started, stop;         /* workers running; workers told to return */
  int n;                     /* threads, the caller's included (the owner sets it) */
  unsigned gen;              /* job generation (workers wait for a new one) */
  unsigned remaining;        /* workers still in the current job */
  void (*part)(int, void *, void *);
  void *job;
  unsigned arrived;          /* barrier: threads arrived at the current crossing */
  unsigned crossing;         /* barrier: generation of crossings */
  pthread_t tid[CD_MAX_POOL_THREADS];
  Start starts[CD_MAX_POOL_THREADS]; /* what each worker is started with */
};

typedef char cd_pool_fits[sizeof(Pool) <= sizeof(cd_pool) ? 1 : -1];

/* Serialises the first use of every pool (initialising its mutex). */
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;

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

int cd_pool_claim(long *cl, const long *own, const long *end, long chunk, int tid, int n,
                  int *next, long *s0, long *s1) {
  for (; *next < n; ++*next) {
    int u = (tid + *next) % n; /* its own tail first, then the next thread's */
    long a = own[u] + __atomic_fetch_add(&cl[u], 1, __ATOMIC_RELAXED) * chunk;
    if (a < end[u]) {
      *s0 = a;
      *s1 = end[u] - a > chunk ? a + chunk : end[u];
      return 1;
    }
  }
  return 0;
}

static void *worker(void *arg) {
  Pool *p = ((Start *)arg)->p;
  int t = ((Start *)arg)->t;
  unsigned seen = ((Start *)arg)->gen;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (p->gen == seen && !p->stop)
      pthread_cond_wait(&p->wake, &p->lock);
    if (p->gen == seen) /* stop (the owner stops only between jobs) */
      break;
    seen = p->gen;
    void (*part)(int, void *, void *) = p->part;
    void *job = p->job;
    pthread_mutex_unlock(&p->lock);
    part(t, job, p);
    pthread_mutex_lock(&p->lock);
    if (--p->remaining == 0)
      pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* The pool, its mutex and conditions initialised on first use; NULL if
 * they cannot be. */
static Pool *pool_ready(cd_pool *pool) {
  Pool *p = (Pool *)pool;
  pthread_cond_t *c[4] = {&p->wake, &p->done, &p->idle, &p->cross};
  if (__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE))
    return p;
  pthread_mutex_lock(&ready_lock);
  if (!__atomic_load_n(&p->ready, __ATOMIC_RELAXED) && pthread_mutex_init(&p->lock, NULL) == 0) {
    int i = 0;
    while (i < 4 && pthread_cond_init(c[i], NULL) == 0)
      i++;
    if (i == 4) {
      __atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
    } else {
      while (i--)
        pthread_cond_destroy(c[i]);
      pthread_mutex_destroy(&p->lock);
    }
  }
  pthread_mutex_unlock(&ready_lock);
  return __atomic_load_n(&p->ready, __ATOMIC_ACQUIRE) ? p : NULL;
}

/* Waits until nobody owns the pool, then owns it (p->lock held). */
static void pool_own(Pool *p) {
  p->waiting++;
  while (p->owned)
    pthread_cond_wait(&p->idle, &p->lock);
  p->waiting--;
  p->owned = 1;
}

/* Lets go of the pool (p->lock held). */
static void pool_release(Pool *p) {
  p->owned = 0;
  pthread_cond_broadcast(&p->idle);
}

/* Tells the workers to return and joins them (p->lock held, released
 * meanwhile; the pool owned, so no job runs). */
static void pool_join(Pool *p) {
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int t = 1; t < p->n; t++)
    pthread_join(p->tid[t], NULL);
  pthread_mutex_lock(&p->lock);
  p->stop = 0;
  p->started = 0;
  p->n = 1;
}

/* Starts nthreads - 1 workers (p->lock held, the pool owned); if one cannot
 * start, joins the others and returns CD_ERR_THREADS. */
static int pool_spawn(Pool *p, int nthreads) {
  p->n = 1;
  for (int t = 1; t < nthreads; t++) {
    Start *s = &p->starts[t];
    s->p = p;
    s->t = t;
    s->gen = p->gen;
    if (pthread_create(&p->tid[t], NULL, worker, s) != 0) {
      pool_join(p);
      return CD_ERR_THREADS;
    }
    p->n++;
  }
  p->started = 1;
  return CD_OK;
}

/* The owner's check that the pool runs nthreads threads, started if need be. */
static int pool_check(Pool *p, int nthreads) {
  if (!p->started)
    return pool_spawn(p, nthreads);
  return p->n == nthreads ? CD_OK : CD_ERR_THREADS;
}

int cd_pool_start(cd_pool *pool, int nthreads) {
  Pool *p;
  int rc;
  if (nthreads < 1 || nthreads > CD_MAX_POOL_THREADS || !(p = pool_ready(pool)))
    return CD_ERR_THREADS;
  pthread_mutex_lock(&p->lock);
  pool_own(p);
  rc = pool_check(p, nthreads);
  pool_release(p);
  pthread_mutex_unlock(&p->lock);
  return rc;
}

int cd_pool_run(cd_pool *pool, int nthreads, void (*part)(int tid, void *job, void *barrier),
                void *job) {
  Pool *p;
  int rc;
  if (nthreads < 1 || nthreads > CD_MAX_POOL_THREADS || !(p = pool_ready(pool)))
    return CD_ERR_THREADS;
  pthread_mutex_lock(&p->lock);
  if (p->owned || p->waiting) {
    pthread_mutex_unlock(&p->lock);
    return CD_ERR_BUSY;
  }
  p->owned = 1;
  rc = pool_check(p, nthreads);
  if (rc != CD_OK) {
    pool_release(p);
    pthread_mutex_unlock(&p->lock);
    return rc;
  }
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
  pool_release(p);
  pthread_mutex_unlock(&p->lock);
  return CD_OK;
}

void cd_pool_stop(cd_pool *pool) {
  Pool *p = (Pool *)pool;
  if (!__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE)) /* never used: nothing to stop */
    return;
  pthread_mutex_lock(&p->lock);
  pool_own(p);
  if (p->started)
    pool_join(p);
  pool_release(p);
  pthread_mutex_unlock(&p->lock);
}
