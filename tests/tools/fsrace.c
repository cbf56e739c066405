/*
 * fsrace.c — races against a command that replaces or deletes a folder
 * (tests/errors/races.sh).
 *
 *   fsrace swap DIR PAIRS VICTIM -- COMMAND...
 *     makes PAIRS pairs in DIR: a folder dK holding two files and a link
 *     lK to the folder VICTIM; starts COMMAND, and until it exits
 *     exchanges each dK with its lK with renameat2(RENAME_EXCHANGE),
 *     through DIR's descriptor (so wherever DIR is moved to).  A deleter
 *     that checks a name, then opens it by name, follows the link into
 *     VICTIM.  Exits with COMMAND's status.
 *
 *   fsrace plant OUT DELAY_US -- COMMAND...
 *     starts COMMAND, waits DELAY_US microseconds, then makes the folder
 *     OUT (someone else's) and the file OUT/mine in it.  Prints "planted"
 *     if the folder was made, else "late"; exits 1 if it was made and
 *     OUT/mine is gone once COMMAND has exited, else 0.  COMMAND's exit
 *     status is printed too ("status N").
 */
#define _GNU_SOURCE /* renameat2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t start(char **argv) {
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[0], argv);
    perror(argv[0]);
    _exit(127);
  }
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  return pid;
}

static int status_of(int st) {
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int usage(void) {
  fprintf(stderr, "usage: fsrace swap DIR PAIRS VICTIM -- COMMAND...\n"
                  "       fsrace plant OUT DELAY_US -- COMMAND...\n");
  return 2;
}

int main(int argc, char **argv) {
  int dash = 1;
  while (dash < argc && strcmp(argv[dash], "--"))
    dash++;
  if (argc < 4 || dash + 1 >= argc)
    return usage();
  const char *mode = argv[1], *path = argv[2];
  long n = strtol(argv[3], NULL, 10);
  char **cmd = argv + dash + 1;
  int st;
  if (!strcmp(mode, "swap") && dash == 5) {
    int dfd = open(path, O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || n < 1 || n > 4096) {
      perror(path);
      return 2;
    }
    for (long k = 0; k < n; k++) {
      char d[64], l[32];
      snprintf(d, sizeof d, "d%ld", k);
      snprintf(l, sizeof l, "l%ld", k);
      if (mkdirat(dfd, d, 0755) != 0 || symlinkat(argv[4], dfd, l) != 0) {
        perror(d);
        return 2;
      }
      for (int f = 0; f < 2; f++) {
        snprintf(d, sizeof d, "d%ld/f%d", k, f);
        int fd = openat(dfd, d, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
          perror(d);
          return 2;
        }
        close(fd);
      }
    }
    pid_t pid = start(cmd);
    for (;;) {
      for (long k = 0; k < n; k++) {
        char d[32], l[32];
        snprintf(d, sizeof d, "d%ld", k);
        snprintf(l, sizeof l, "l%ld", k);
        renameat2(dfd, d, dfd, l, RENAME_EXCHANGE); /* fails once either is gone */
      }
      pid_t r = waitpid(pid, &st, WNOHANG);
      if (r == pid)
        break;
      if (r < 0 && errno != EINTR) {
        perror("waitpid");
        return 2;
      }
    }
    return status_of(st);
  }
  if (!strcmp(mode, "plant") && dash == 4) {
    pid_t pid = start(cmd);
    struct timespec ts = {n / 1000000, (n % 1000000) * 1000};
    nanosleep(&ts, NULL);
    int planted = mkdir(path, 0755) == 0;
    char mine[4200];
    snprintf(mine, sizeof mine, "%s/mine", path);
    if (planted) {
      int fd = open(mine, O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd < 0 || write(fd, "mine\n", 5) != 5) {
        perror(mine);
        return 2;
      }
      close(fd);
    }
    while (waitpid(pid, &st, 0) < 0)
      if (errno != EINTR) {
        perror("waitpid");
        return 2;
      }
    printf("%s status %d\n", planted ? "planted" : "late", status_of(st));
    struct stat sb;
    if (planted && stat(mine, &sb) != 0) {
      printf("lost %s\n", mine);
      return 1;
    }
    return 0;
  }
  return usage();
}
