/*
 * fs.c — making and removing files and folders, for every layer above
 * (the emitter writes files, the cache and the toolchain make and delete
 * folders).
 *
 * Nothing here follows a link it did not start from.  A file is created
 * with O_CREAT|O_EXCL|O_NOFOLLOW, so a link planted at its path is never
 * written through.  A tree is deleted by descriptor, never by path: each
 * folder is opened relative to its parent's descriptor with
 * O_NOFOLLOW|O_DIRECTORY, read with fdopendir and emptied with unlinkat.
 * Deleting by path (lstat, then opendir of the same name) leaves a moment
 * in which a folder can be swapped for a link (renameat2 RENAME_EXCHANGE),
 * and the link is then followed: files outside the tree were deleted that
 * way (issue 17, item 1).  Here a name that is a link when it is opened is
 * unlinked, and a folder once opened is read through its descriptor,
 * wherever it is moved.
 */
#define _GNU_SOURCE /* openat, fdopendir, O_NOFOLLOW under -std=c11 too */
#include "cardinal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

bool cd_mkdir_p(const char *path) {
  if (!path[0]) { /* p + 1 below would be past the end */
    errno = ENOENT;
    return false;
  }
  char *p = strdup(path);
  CD_ASSERT(p);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      free(p);
      return false;
    }
    *s = '/';
  }
  bool ok = mkdir(p, 0777) == 0 || errno == EEXIST;
  free(p);
  return ok;
}

FILE *cd_create_file(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return NULL;
  FILE *f = fdopen(fd, "wb");
  if (!f)
    close(fd);
  return f;
}

/* A second pass, if the first removed all it saw, catches a name moved in
 * while the folder was read; one that fails is not tried again (so a file
 * that will not go costs one try, however deep). */
void cd_empty_folder_fd(int fd) {
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  bool seen = true, failed = false;
  for (int pass = 0; pass < 2 && seen && !failed; pass++) {
    seen = false;
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        seen = true;
        failed |= !cd_rm_rf_at(dirfd(d), e->d_name);
      }
  }
  closedir(d);
}

bool cd_rm_rf_at(int dirfd, const char *name) {
  /* Retried only when name turns out to be something else than it was a
   * moment before (a folder swapped for a link, or back). */
  for (int tries = 0; tries < 8; tries++) {
    /* A file or a link goes in one step (a link itself, never its target). */
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
      return true;
    if (errno != EISDIR && errno != EPERM) /* POSIX says EPERM for a folder, Linux EISDIR */
      return false;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT)
        return true;
      if (errno == ELOOP || errno == ENOTDIR)
        continue; /* a link or a file now: unlinked on the next try */
      return false;
    }
    cd_empty_folder_fd(fd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
      return true;
    if (errno != ENOTDIR)
      return false; /* ENOTEMPTY: something in it would not go */
  }
  return false;
}

bool cd_rm_rf(const char *path) {
  char buf[4096]; /* no allocation: this runs when one has failed */
  size_t n = strlen(path);
  if (n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return false;
  }
  memcpy(buf, path, n + 1);
  while (n > 1 && buf[n - 1] == '/')
    buf[--n] = 0;
  char *slash = strrchr(buf, '/');
  const char *base = slash ? slash + 1 : buf;
  if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
    errno = EINVAL; /* "/", "." and ".." name no entry of a parent */
    return false;
  }
  const char *parent = ".";
  if (slash == buf)
    parent = "/";
  else if (slash) {
    *slash = 0;
    parent = buf;
  }
  /* The parent is the caller's path, taken as given; below it, nothing
   * is followed. */
  int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = cd_rm_rf_at(fd, base);
  int e = errno;
  close(fd);
  errno = e;
  return ok;
}
