/*
 * cardinal_rt.h — the runtime generated models link against.
 *
 * Generated code needs the error codes and the CPU check below; the
 * helpers load a weights blob (for models built with --weights blob) and
 * allocate the 64-byte aligned buffers NAME_run expects (plain free()
 * releases them).  Portable C99 (the helpers use POSIX posix_memalign), no
 * allocation unless you call the helpers; the thread pool below exists only
 * in models built with --threads N > 1 (cardinal_rt_threads.c).  Compiled
 * with -DCARDINAL_RT_NO_LIBC (firmware), cardinal_rt.c leaves the helpers
 * out and uses no libc function at all.
 */
#ifndef CARDINAL_RT_H
#define CARDINAL_RT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CD_OK 0          /* success */
#define CD_ERR_NULL 1    /* a required pointer was NULL */
#define CD_ERR_ALIGN 2   /* workspace or weights not 64-byte aligned */
#define CD_ERR_WEIGHTS 3 /* weights missing, a blob of another model, or corrupted */
#define CD_ERR_IO 4      /* a file could not be read */
#define CD_ERR_NOMEM 5   /* allocation failed */
#define CD_ERR_CPU 6     /* the CPU lacks an instruction set the model was built for */
#define CD_ERR_THREADS 7 /* threads could not start, or a share/thread count is wrong */
#define CD_ERR_BUSY 8    /* (internal) the pool runs another call: run on this thread */
#define CD_ERR_INPUT 9   /* an integer input (passed as floats) holds a value its type does not */

/* CPU features a model's kernels may need (its target's; see NAME_CPU_FEATURES). */
#define CD_CPU_AVX2 1u   /* x86-64 AVX2 and FMA */
#define CD_CPU_AVX512 2u /* x86-64 AVX-512 F (with AVX2 and FMA) */
#define CD_CPU_AVX512VNNI 4u /* x86-64 AVX-512 VNNI, BW and VL (with AVX-512 F): int8 kernels */

/* Nonzero when the CPU running this has every feature in `need` (and the
 * OS saves its registers).  Generated code calls it before any kernel and
 * returns CD_ERR_CPU instead of executing an instruction the CPU lacks. */
int cd_cpu_has(unsigned need);
/* For tests: pretend the CPU lacks every feature not in `mask`
 * (cd_cpu_restrict(0) forces the CD_ERR_CPU path). */
void cd_cpu_restrict(unsigned mask);

/* A short English description of an error code. */
const char *cd_strerror(int code);

/* A 64-bit hash of n bytes, the same on every target (words are read
 * little-endian, byte by byte): the weight blob's NAME_WEIGHTS_HASH.  The
 * compiler computes it with this function; NAME_set_weights checks a
 * blob's bytes against it with cd_weights_ok, which is nonzero when the
 * hash of the n bytes at p is `hex` (16 lowercase hex digits).  About
 * 0.1 s for 1 GB; no libc. */
unsigned long long cd_hash64(const void *p, size_t n);
int cd_weights_ok(const void *p, size_t n, const char *hex);

#ifndef CARDINAL_RT_NO_LIBC
/* size bytes (rounded up to whole 64-byte lines), 64-byte aligned, from
 * posix_memalign: release it with free().  NULL when out of memory or for a
 * size no object can have (over PTRDIFF_MAX). */
void *cd_aligned_alloc(size_t size);
/* free(p), for programs written when the helpers needed their own. */
void cd_free(void *p);

/* Reads a whole file into a 64-byte aligned buffer from cd_aligned_alloc
 * (release it with free()).  Returns CD_OK, CD_ERR_NULL (a NULL argument),
 * CD_ERR_IO or CD_ERR_NOMEM; *data and *size are set only on CD_OK. */
int cd_load_file(const char *path, void **data, size_t *size);
#endif

/*
 * The static thread pool of models built with --threads T > 1 (in
 * cardinal_rt_threads.c, which only such models compile and link, with
 * -lpthread).  A cd_pool is zero-initialised static storage owned by the
 * generated code; NAME_init_threads, NAME_run and NAME_shutdown use it.
 */
#define CD_MAX_POOL_THREADS 64
typedef union {
  unsigned char bytes[8192];
  void *align_ptr;
  long double align_ld;
} cd_pool;
/* Starts the pool's nthreads - 1 workers (once; again returns CD_OK, or
 * CD_ERR_THREADS for another count); waits for a run in progress. */
int cd_pool_start(cd_pool *pool, int nthreads);
/* Runs part(t, job, pool) on thread t = 0 (the caller) .. nthreads-1,
 * starting the workers if need be, and returns when all are done;
 * CD_ERR_BUSY at once if another run holds the pool or a start or stop
 * waits for it (the caller then runs every share itself). */
int cd_pool_run(cd_pool *pool, int nthreads, void (*part)(int t, void *job, void *pool),
                void *job);
/* The barrier a part calls between dependent layers (pass it the pool). */
void cd_pool_barrier(void *pool);
/* The next chunk of a layer's claimed tails for thread tid of n: share u's
 * tail is units [own[u], end[u]), handed out chunk units at a time by
 * counter cl[u] (zero before the layer); tid tries its own tail first and
 * then the others' in turn (*next, 0 before the first call, keeps its
 * place).  Sets [*s0, *s1) and returns 1, or 0 when every tail is taken. */
int cd_pool_claim(long *cl, const long *own, const long *end, long chunk, int tid, int n,
                  int *next, long *s0, long *s1);
/* Waits for a run in progress, stops and joins the workers; the pool can be
 * started again.  Safe against runs, starts and stops on other threads. */
void cd_pool_stop(cd_pool *pool);

#ifdef CARDINAL_PROFILE
/* Monotonic milliseconds (POSIX clock_gettime): the clock of the per-kernel
 * profile generated code keeps when built with -DCARDINAL_PROFILE. */
double cd_now_ms(void);
#endif

#ifdef __cplusplus
}
#endif
#endif
