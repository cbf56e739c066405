#!/bin/sh
# The committed CIFAR ResNeXt on every x86 target this CPU runs (each
# against PyTorch's output, built warning-free under -std=c99 -pedantic
# -Werror with gcc and clang), what `native` picks, and the CPU check: code
# built for an instruction set the CPU is made to lack (CARDINAL_CPU_MASK,
# a fake feature mask) returns CD_ERR_CPU with a message instead of
# crashing.  (neon runs under qemu in cross.sh.)
# usage: targets.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
STRICT="-O2 -std=c99 -pedantic -Wall -Wextra -Werror"
targets=scalar
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && targets="$targets avx2"
grep -qw avx512f /proc/cpuinfo && targets="$targets avx512"
echo "this CPU runs: $targets"
for t in $targets; do
  for cc in gcc clang; do
    "$CARDINAL" run "$FIX.onnx" --input "$FIX.input.npy" --target $t --cc $cc \
      --cflags "$STRICT" --output "$T/out.npy" --verify > /dev/null
    "$NPYCMP" "$T/out.npy" "$FIX.expected.npy" 1e-4
  done
  echo "target $t: ok (gcc, clang)"
done
# native is the best of them.
best=${targets##* }
"$CARDINAL" compile "$FIX.onnx" -o "$T/native" --name net
grep -q "#define NET_TARGET \"$best\"" "$T/native/net.h" || { echo "FAIL: native is not $best"; exit 1; }
# Built for avx2, run as if the CPU had nothing: an error, not SIGILL.
if echo "$targets" | grep -q avx2; then
  if CARDINAL_CPU_MASK=0 "$CARDINAL" run "$FIX.onnx" --input "$FIX.input.npy" --target avx2 \
      > /dev/null 2> "$T/err"; then
    echo "FAIL: ran without the CPU features it needs"; exit 1
  fi
  grep -q "this CPU lacks the instruction set the model was built for" "$T/err" ||
    { echo "FAIL: CPU check message"; cat "$T/err"; exit 1; }
  grep -q "exit status 2" "$T/err" || { echo "FAIL: not a clean error exit"; cat "$T/err"; exit 1; }
  echo "cpu check: ok"
fi
echo "targets: ok"
