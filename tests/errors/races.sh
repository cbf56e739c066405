#!/bin/sh
# Races against the output folder (issue 17), each run many times with
# tests/tools/fsrace.c:
#   - deleting the old output follows no link swapped in mid-delete: while
#     a compile replaces an output holding folder/link pairs, fsrace swaps
#     each pair (renameat2 RENAME_EXCHANGE); the folder the links point to
#     keeps all its files, and nothing is left beside the output.  The
#     output sits 400 folders deep: a delete by path walks that path at
#     every step, which widens the window a swap needs (before the fix,
#     about 2 runs in 3 lost files);
#   - a folder someone makes at -o while a compile or a build runs is
#     theirs: fsrace plants one, with a file, at times spread over the
#     compile (75 compiles) and the build (4 builds); the file is there
#     after each, and nothing is left beside the output (before the fix,
#     about half the compiles deleted it).
# usage: races.sh CARDINAL FSRACE SOURCE_DIR delete|plant  (one race a test)
set -u
CARDINAL=$1 FSRACE=$2 SRC=$3 RACE=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
A=$SRC/tests/e2e/fixtures/resnext_tiny_op9.onnx
B=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11.onnx
fails=0 passes=0
check() { # check DESCRIPTION CONDITION...
  what=$1
  shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

# Links swapped in while the old output is deleted.
race_delete() {
  D=$T/$(printf 'a/%.0s' $(seq 1 400))
  mkdir -p "$D"
  i=0
  while [ $i -lt 20 ]; do
    rm -rf "$D/out" "$T/victim" && mkdir "$T/victim"
    for f in $(seq 1 20); do : > "$T/victim/v$f"; done
    "$CARDINAL" compile "$A" -o "$D/out" --name net 2> /dev/null
    "$FSRACE" swap "$D/out" 16 "$T/victim" -- "$CARDINAL" compile "$B" -o "$D/out" --name net \
      > /dev/null 2> "$T/stderr"
    r=$?
    n=$(ls "$T/victim" | wc -l)
    check "run $i: the compile succeeds ($(cat "$T/stderr"))" test $r = 0
    check "run $i: the folder the links point to keeps its 20 files, not $n" test "$n" = 20
    check "run $i: nothing left beside the output: $(ls -A "$D" | tr '\n' ' ')" \
      test "$(ls -A "$D")" = out
    i=$((i + 1))
  done
}

# A folder made at -o during a compile or a build.
plant() { # plant DELAY_US COMMAND ARGS...: one run, checked
  us=$1
  shift
  rm -rf "$T/p/o"
  r=$("$FSRACE" plant "$T/p/o" "$us" -- "$CARDINAL" "$@" -o "$T/p/o" --name net \
    2> "$T/stderr")
  rc=$?
  check "$1 planted after $us us: the planted file is kept ($r)" test $rc = 0
  check "$1 planted after $us us: nothing left beside the output: $(ls -A "$T/p" | tr '\n' ' ')" \
    test "$(ls -A "$T/p" | grep -v '^o$')" = ""
  case "$r" in
  planted*) planted=$((planted + 1)) ;;
  esac
  if grep -q "appeared while compiling" "$T/stderr"; then atswap=$((atswap + 1)); fi
}
race_plant() {
  mkdir "$T/p"
  planted=0 atswap=0 us=0
  while [ $us -lt 30000 ]; do
    plant $us compile "$A"
    us=$((us + 400))
  done
  for ms in 300 600 900 1200; do
    plant ${ms}000 build "$A" --target scalar
  done
  echo "planted $planted times; $atswap found at the exchange and put back"
}

case "$RACE" in
delete | plant) race_$RACE ;;
*) echo "usage: races.sh CARDINAL FSRACE SOURCE_DIR delete|plant" >&2 && exit 2 ;;
esac

echo "races: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
