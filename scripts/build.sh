#!/bin/sh
# Builds a configured build folder and fails when the build fails.  (The
# scripts used to pipe `cmake --build` into grep, which under `set -e`
# without pipefail -- POSIX sh has none -- hid a failed build and went on
# with the old build/cardinal.)  The whole output goes to DIR/build.log,
# its warnings and errors to the terminal; on failure DIR/cardinal is
# removed, so no later step or ctest runs a stale compiler, and the exit
# status is cmake's.
#
#   sh scripts/build.sh DIR [cmake --build options, e.g. --target T]
set -eu
dir=${1:?usage: build.sh DIR [cmake --build options]}
shift
log=$dir/build.log
status=0
cmake --build "$dir" -j"$(nproc)" "$@" > "$log" 2>&1 || status=$?
grep -E "warning|error|Error" "$log" || true
if [ "$status" -ne 0 ]; then
  rm -f "$dir/cardinal"
  echo "build: 'cmake --build $dir${*:+ $*}' failed (status $status); the whole output is in $log" >&2
  exit "$status"
fi
