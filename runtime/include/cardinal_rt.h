/*
 * cardinal_rt.h — the runtime generated models link against.
 *
 * Generated code needs only the error codes below; the helpers load a
 * weights blob (for models built with --weights blob) and allocate the
 * 64-byte aligned buffers NAME_run expects.  Portable C99: no threads, no
 * allocation unless you call the helpers.
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
#define CD_ERR_WEIGHTS 3 /* weights missing, or a blob of another model */
#define CD_ERR_IO 4      /* a file could not be read */
#define CD_ERR_NOMEM 5   /* allocation failed */

/* A short English description of an error code. */
const char *cd_strerror(int code);

/* size bytes, 64-byte aligned, or NULL; release with cd_free. */
void *cd_aligned_alloc(size_t size);
void cd_free(void *p);

/* Reads a whole file into a 64-byte aligned buffer (release with cd_free).
 * Returns CD_OK or CD_ERR_IO / CD_ERR_NOMEM. */
int cd_load_file(const char *path, void **data, size_t *size);

#ifdef CARDINAL_PROFILE
/* Monotonic milliseconds (POSIX clock_gettime): the clock of the per-kernel
 * profile generated code keeps when built with -DCARDINAL_PROFILE. */
double cd_now_ms(void);
#endif

#ifdef __cplusplus
}
#endif
#endif
