#!/bin/sh
# --io quantized on the digits ResNeXt of tests/models/digits, quantized by
# `cardinal quantize`, with its outputs cut to the float logits and one
# quantized activation (--outputs: an output DequantizeLinear writes):
#   - the header of the --io quantized build gives the quantized input and
#     output with their dtype, scale and zero point, NAME_run takes void
#     pointers, and --io float gives the default build's code;
#   - io_quantized.c, linked with the default build (fm) and the quantized
#     one (qm), feeds qm bytes quantized from qm.h's constants and finds
#     the same outputs bit for bit (the quantized one through its scale and
#     zero point), on scalar, avx2 and avx512 (those this CPU runs), one
#     and two threads, the generated code built with gcc and clang under
#     -std=c99 -pedantic -Werror, and on neon under qemu (with and without
#     +dotprod) when installed; qm's bytes are the same on every target;
#   - `cardinal run --io quantized` on float .npy inputs (quantized by run)
#     and on uint8 ones prints and writes the outputs of the default build
#     and of the interpreter, bit for bit (dequantized);
#   - `build --precision int8 --io quantized` makes a uint8-input library,
#     and `inspect --io quantized` shows the input's scale and zero point;
#   - the misuses say what is wrong: --io quantized on a float model,
#     --io with an unknown mode, on a command without it.
# usage: io_quantized.sh CARDINAL SOURCE_DIR
set -eu
CARDINAL=$1 SRC=$2
DIG=$SRC/tests/models/digits
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$CARDINAL" quantize "$DIG/digits_resnext.onnx" -o "$T/q.onnx" --calibrate "$DIG/calib" --quiet \
  > /dev/null 2>&1
OUTS="--outputs logits,/block2/Relu_2_output_0_dequantized"
STRICT="-O2 -std=c99 -pedantic -Wall -Wextra -Werror"
targets=scalar
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && targets="$targets avx2"
grep -qw avx512f /proc/cpuinfo && targets="$targets avx512"
echo "this CPU runs: $targets"
CALIB=$(ls "$DIG"/calib/*.npy | head -8)
for t in $targets; do
  for n in 1 2; do
    D=$T/$t$n
    "$CARDINAL" compile "$T/q.onnx" -o "$D/f" --name fm --target $t --threads $n $OUTS > /dev/null 2>&1
    "$CARDINAL" compile "$T/q.onnx" -o "$D/q" --name qm --target $t --threads $n $OUTS \
      --io quantized > /dev/null 2>&1
    H=$D/q/qm.h
    grep -q '^#define QM_INPUT0_DTYPE "uint8"$' "$H" &&
      grep -q '^#define QM_INPUT0_SCALE 0\.0039215[0-9]*f$' "$H" &&
      grep -q '^#define QM_INPUT0_ZERO_POINT 0$' "$H" &&
      grep -q '^#define QM_OUTPUT1_DTYPE "uint8"$' "$H" &&
      grep -q '^#define QM_OUTPUT1_ZERO_POINT 0$' "$H" &&
      grep -q '^#define QM_OUTPUT0_DTYPE "float32"$' "$H" &&
      ! grep -q 'QM_OUTPUT0_SCALE' "$H" &&
      grep -q '^int qm_run(const void \*const inputs\[\], void \*const outputs\[\], void \*workspace);$' "$H" &&
      grep -q "passed quantized (--io quantized): uint8_t q" "$H" ||
      { echo "FAIL: the --io quantized header ($t, $n threads)"; grep -n "QM_INPUT0\|QM_OUTPUT\|qm_run" "$H"; exit 1; }
    [ $n = 1 ] || grep -q '^int qm_run_part(int t, int nthreads, const void \*const inputs\[\],$' "$H" ||
      { echo "FAIL: qm_run_part"; exit 1; }
    grep -q '^int fm_run(const float \*const inputs\[\], float \*const outputs\[\], void \*workspace);$' \
      "$D/f/fm.h" || { echo "FAIL: the default API changed"; exit 1; }
    # The default build without the option is the build with --io float.
    "$CARDINAL" compile "$T/q.onnx" -o "$D/f2" --name fm --target $t --threads $n $OUTS \
      --io float > /dev/null 2>&1
    diff -r "$D/f" "$D/f2" > /dev/null || { echo "FAIL: --io float is not the default"; exit 1; }
    for cc in gcc clang; do
      objs=
      for src in "$D/f/fm.c" "$D/f/fm_weights.c" "$D/q/qm.c" "$D/q/qm_weights.c" \
                 "$D/f/cardinal_rt.c" $( [ $n = 1 ] || echo "$D/f/cardinal_rt_threads.c"); do
        o=$D/$(basename "$src" .c).$cc.o
        $cc $STRICT -I"$D/f" -c "$src" -o "$o"
        objs="$objs $o"
      done
      $cc -O2 -std=c11 -Wall -Wextra -Werror -I"$D/f" -I"$D/q" "$SRC/tests/e2e/io_quantized.c" \
        $objs -lm -lpthread -o "$D/h.$cc"
      # shellcheck disable=SC2086
      "$D/h.$cc" "$D/out.$cc" $CALIB > "$D/log.$cc"
      cmp "$D/out.$cc" "$T/scalar1/out.gcc" ||
        { echo "FAIL: quantized outputs differ from scalar gcc ($t, $n threads, $cc)"; exit 1; }
    done
    echo "target $t, $n thread(s): $(cat "$D/log.gcc") (gcc, clang)"
  done
done
# neon (AArch64, with and without +dotprod) under qemu, when the cross
# compiler and qemu-user are installed: the same checks, the same bytes.
if command -v aarch64-linux-gnu-gcc > /dev/null && command -v qemu-aarch64 > /dev/null; then
  for dot in "" "-march=armv8.2-a+dotprod"; do
    D=$T/neon${dot:+dot}
    "$CARDINAL" compile "$T/q.onnx" -o "$D/f" --name fm --target neon $OUTS > /dev/null 2>&1
    "$CARDINAL" compile "$T/q.onnx" -o "$D/q" --name qm --target neon $OUTS --io quantized \
      > /dev/null 2>&1
    aarch64-linux-gnu-gcc -O2 -std=c11 -Wall -Wextra -Werror $dot -static -I"$D/f" -I"$D/q" \
      "$SRC/tests/e2e/io_quantized.c" "$D/f/fm.c" "$D/f/fm_weights.c" "$D/q/qm.c" \
      "$D/q/qm_weights.c" "$D/f/cardinal_rt.c" -lm -o "$D/h"
    # shellcheck disable=SC2086
    qemu-aarch64 "$D/h" "$D/out" $CALIB > "$D/log"
    cmp "$D/out" "$T/scalar1/out.gcc" || { echo "FAIL: neon ${dot:-without +dotprod}: other bytes"; exit 1; }
    echo "target neon ${dot:-without +dotprod} (qemu): $(cat "$D/log")"
  done
else
  echo "(no aarch64-linux-gnu-gcc and qemu-aarch64: neon not checked)"
fi
# qm reads its input as the caller's uint8 bytes; fm quantizes inside.
grep -q "quantizelinear_[a-z0-9_]*(inputs\[0\]" "$T/scalar1/f/fm.c" &&
  grep -q "(const uint8_t \*)inputs\[0\]" "$T/scalar1/q/qm.c" &&
  ! grep -q "quantizelinear_[a-z0-9_]*(.*inputs\[0\]" "$T/scalar1/q/qm.c" ||
  { echo "FAIL: where the input is quantized"; exit 1; }
# cardinal run: float .npy inputs quantized by run, outputs dequantized.
IN=$(echo "$CALIB" | head -1)
# shellcheck disable=SC2086
"$CARDINAL" run "$T/q.onnx" $OUTS --input "$IN" --output "$T/f0.npy" --output "$T/f1.npy" \
  --no-cache > /dev/null 2>&1
# shellcheck disable=SC2086
"$CARDINAL" run "$T/q.onnx" $OUTS --io quantized --input "$IN" --output "$T/q0.npy" \
  --output "$T/q1.npy" --no-cache > /dev/null 2>&1
# shellcheck disable=SC2086
"$CARDINAL" run "$T/q.onnx" $OUTS --io quantized --reference --input "$IN" \
  --output "$T/r0.npy" --output "$T/r1.npy" > /dev/null 2>&1
for k in 0 1; do
  cmp "$T/f$k.npy" "$T/q$k.npy" && cmp "$T/f$k.npy" "$T/r$k.npy" ||
    { echo "FAIL: run --io quantized output $k"; exit 1; }
done
# A uint8 .npy (64 bytes i * 37 mod 256) is taken as the quantized input itself.
h="{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 8, 8), }"
{ printf '\223NUMPY\001\000v\000%s' "$h"; printf "%$((128 - 10 - ${#h} - 1))s\n" ""
  i=0; while [ $i -lt 64 ]; do printf "\\$(printf %03o $((i * 37 % 256)))"; i=$((i + 1)); done
} > "$T/u8.npy"
# shellcheck disable=SC2086
"$CARDINAL" run "$T/q.onnx" $OUTS --io quantized --input "$T/u8.npy" --output "$T/u0.npy" \
  --output "$T/u1.npy" --no-cache > /dev/null 2>&1
# shellcheck disable=SC2086
"$CARDINAL" run "$T/q.onnx" $OUTS --io quantized --reference --input "$T/u8.npy" \
  --output "$T/v0.npy" --output "$T/v1.npy" > /dev/null 2>&1
cmp "$T/u0.npy" "$T/v0.npy" && cmp "$T/u1.npy" "$T/v1.npy" && ! cmp -s "$T/u1.npy" "$T/q1.npy" ||
  { echo "FAIL: run --io quantized on a uint8 .npy"; exit 1; }
# shellcheck disable=SC2086
"$CARDINAL" run "$T/q.onnx" $OUTS --io quantized --input "$IN" > "$T/print.txt" 2>&1
grep -q "^  (uint8 at the API, --io quantized: the values above are dequantized, scale [0-9.e-]*, zero point 0)$" \
  "$T/print.txt" || { echo "FAIL: run's note on the quantized output"; cat "$T/print.txt"; exit 1; }
echo "run --io quantized: the default build's and the interpreter's outputs"
# build --precision int8 --io quantized: the library's input is uint8.
"$CARDINAL" build "$DIG/digits_resnext.onnx" -o "$T/b" --name digits --precision int8 \
  --calibrate "$DIG/calib" --quiet --io quantized > /dev/null 2>&1
[ -f "$T/b/libdigits.a" ] && grep -q '^#define DIGITS_INPUT0_DTYPE "uint8"$' "$T/b/digits.h" &&
  grep -q '^#define DIGITS_OUTPUT0_DTYPE "float32"$' "$T/b/digits.h" ||
  { echo "FAIL: build --precision int8 --io quantized"; exit 1; }
# inspect --io quantized shows the quantized input with its scale and zero point.
"$CARDINAL" inspect "$T/q.onnx" --io quantized --no-size > "$T/inspect.txt" 2>&1
grep -q "^input  0   'input_quantized' uint8\[1,1,8,8\] NCHW quantized (--io quantized): scale 0\.0039215[0-9]*, zero point 0$" \
  "$T/inspect.txt" || { echo "FAIL: inspect --io quantized"; head -20 "$T/inspect.txt"; exit 1; }
# Misuse.
if "$CARDINAL" compile "$DIG/digits_resnext.onnx" -o "$T/e" --io quantized > /dev/null 2> "$T/err"; then
  echo "FAIL: --io quantized on a float model"; exit 1
fi
grep -q "no input of the model goes straight into a QuantizeLinear and no output comes straight out of a DequantizeLinear" "$T/err" &&
  grep -q -- "--precision int8 --calibrate DIR" "$T/err" ||
  { echo "FAIL: the float-model message"; cat "$T/err"; exit 1; }
rc=0
"$CARDINAL" compile "$T/q.onnx" -o "$T/e" --io bytes > /dev/null 2> "$T/err" || rc=$?
[ $rc = 2 ] && grep -q "^cardinal compile: --io takes float or quantized, not bytes$" "$T/err" ||
  { echo "FAIL: --io bytes"; cat "$T/err"; exit 1; }
rc=0
"$CARDINAL" quantize "$T/q.onnx" -o "$T/e.onnx" --calibrate "$DIG/calib" --io quantized \
  > /dev/null 2> "$T/err" || rc=$?
[ $rc = 2 ] && grep -q "quantize does not take --io" "$T/err" || { echo "FAIL: quantize --io"; exit 1; }
for c in compile build run inspect; do
  "$CARDINAL" $c --help | grep -q -- "--io MODE" || { echo "FAIL: $c --help"; exit 1; }
done
echo "errors and help: ok"
