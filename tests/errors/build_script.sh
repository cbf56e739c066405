#!/bin/sh
# A failed build fails the scripts (issue 17, item 18): scripts/build.sh,
# which setup.sh, test.sh and fuzz.sh build with, on a one-file CMake
# project in a scratch folder.  A good build exits 0 and keeps its
# `cardinal`; after a source is broken it exits non-zero, shows the
# compiler's error and removes the stale `cardinal`.  And no script pipes
# `cmake --build` anywhere (POSIX sh has no pipefail: the pipe's status is
# the last command's, and the failure is lost).
# usage: build_script.sh SOURCE_DIR
set -u
SRC=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
mkdir "$T/p"
printf 'cmake_minimum_required(VERSION 3.18)\nproject(mini C)\nadd_executable(cardinal main.c)\n' \
  > "$T/p/CMakeLists.txt"
printf 'int main(void) { return 0; }\n' > "$T/p/main.c"
cmake -S "$T/p" -B "$T/b" > "$T/cmake.log" 2>&1 || { cat "$T/cmake.log"; echo "FAIL: cmake"; exit 1; }
sh "$SRC/scripts/build.sh" "$T/b" > "$T/out" 2>&1 || { cat "$T/out"; fail "a good build failed"; }
[ -x "$T/b/cardinal" ] || fail "a good build left no cardinal"
sleep 1 # a later modification time than the object's, whatever the file system's resolution
printf 'int main(void) { return undeclared_name; }\n' > "$T/p/main.c"
if sh "$SRC/scripts/build.sh" "$T/b" > "$T/out" 2>&1; then
  fail "a broken build exited 0"
fi
grep -q "undeclared_name" "$T/out" || { cat "$T/out"; fail "the compiler's error was not shown"; }
grep -q "build.log" "$T/out" || fail "no word of where the whole output is"
[ ! -e "$T/b/cardinal" ] || fail "a broken build left the stale cardinal"
for s in "$SRC"/scripts/*.sh; do
  if grep -nE "cmake --build[^|]*\|([^|]|$)" "$s"; then
    fail "$(basename "$s") pipes cmake --build (a failure would be lost)"
  fi
done
[ $fails -eq 0 ] && echo "build script: a failed build fails, a stale cardinal is removed"
[ $fails -eq 0 ]
