#!/bin/sh
# A/B of two builds of Cardinal on one model (not a test): for changing a
# kernel or a schedule rule on a shared, noisy machine, where two `cardinal
# bench` runs minutes apart differ by more than the change.  Builds MODEL
# with each compiler (weights as blobs, names a and b), links both into
# bench/ab.c, which runs them in turn for RUNS runs each and prints their
# medians and the ratio b / a.
#
#   sh bench/ab.sh CARDINAL_A CARDINAL_B MODEL [THREADS] [RUNS]
#     THREADS default 1, RUNS default 50; TARGET (environment) default
#     native, CC default cc.
#
# An old compiler to compare with: git worktree add /tmp/old REV, then
# cmake -S /tmp/old -B /tmp/old/build -DCMAKE_BUILD_TYPE=Release and
# make -C /tmp/old/build cardinal.
set -eu
[ $# -ge 3 ] || { echo "usage: sh bench/ab.sh CARDINAL_A CARDINAL_B MODEL [THREADS] [RUNS]" >&2; exit 2; }
A=$1 B=$2 MODEL=$3 THREADS=${4:-1} RUNS=${5:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for side in a b; do
  C=$A
  [ $side = b ] && C=$B
  "$C" build "$MODEL" -o "$T/$side" --name $side --threads "$THREADS" --weights blob \
    --target "${TARGET:-native}" > "$T/$side.log" 2>&1 ||
    { cat "$T/$side.log" >&2; echo "ab: $C could not build $MODEL" >&2; exit 1; }
done
# b's runtime first: where the two runtimes differ, b's (the newer) serves both.
${CC:-cc} -O2 -std=c99 "$HERE/ab.c" -I"$T/a" -I"$T/b" "$T/b/libb.a" "$T/a/liba.a" -lm -lpthread \
  -o "$T/ab"
echo "a: $A"
echo "b: $B"
echo "$MODEL, $THREADS thread(s), target ${TARGET:-native}"
"$T/ab" "$T/a/a.weights" "$T/b/b.weights" "$RUNS"
