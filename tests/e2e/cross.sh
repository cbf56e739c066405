#!/bin/sh
# The committed CIFAR ResNeXt built for AArch64 with the cross compiler
# (warning-free under -std=c99 -pedantic -Werror), linked into the embedding
# example and run under qemu-user, gives PyTorch's output: the portable
# scalar target, and the neon target's intrinsics kernels.  Then the digits
# ResNeXt quantized to int8 (tests/models/digits): built for neon without
# and with the dot-product extension (+dotprod: SDOT; without: widening
# multiplies) and run under qemu, it gives the bits of the same model built
# for this machine, its int8 convs on neon's vector kernels, on 1 and 2
# threads.  (qemu says
# nothing of speed: it is checked for correctness only.)
# usage: cross.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
STRICT="-O2 -std=c99 -pedantic -Wall -Wextra -Werror"
"$NPYCMP" --raw "$FIX.input.npy" "$T/in.f32"
for target in scalar neon; do
  "$CARDINAL" build "$FIX.onnx" -o "$T/$target" --name net --target $target \
    --cc aarch64-linux-gnu-gcc --cflags "$STRICT"
  aarch64-linux-gnu-gcc $STRICT -static "$SRC/examples/embed/app.c" -I"$T/$target" \
    "$T/$target/libnet.a" -lm -o "$T/app_$target"
  qemu-aarch64 "$T/app_$target" "$T/in.f32" "$T/out_$target.f32"
  "$NPYCMP" "$T/out_$target.f32" "$FIX.expected.npy" 1e-4
  echo "cross (aarch64 under qemu, target $target): ok"
done
DIG=$SRC/tests/models/digits
"$CARDINAL" quantize "$DIG/digits_resnext.onnx" -o "$T/q.onnx" --calibrate "$DIG/calib" --quiet \
  > /dev/null
"$NPYCMP" --raw "$DIG/calib/calib_000.npy" "$T/digit.f32"
"$CARDINAL" build "$T/q.onnx" -o "$T/qhost" --name net --cflags "$STRICT"
cc $STRICT "$SRC/examples/embed/app.c" -I"$T/qhost" "$T/qhost/libnet.a" -lpthread -lm -o "$T/app_qhost"
"$T/app_qhost" "$T/digit.f32" "$T/out_qhost.f32"
for dot in "" "-march=armv8.2-a+dotprod"; do
for threads in 1 2; do
  "$CARDINAL" build "$T/q.onnx" -o "$T/qneon" --name net --target neon --threads $threads \
    --cc aarch64-linux-gnu-gcc --cflags "$STRICT $dot"
  "$CARDINAL" inspect "$T/q.onnx" --target neon --no-size --json > "$T/qneon.json"
  [ "$(grep -c '"family": "qconv' "$T/qneon.json")" -ge 8 ] ||
    { echo "FAIL: the int8 convs not on neon's vector kernels"; grep '"family"' "$T/qneon.json"; exit 1; }
  aarch64-linux-gnu-gcc $STRICT $dot -static "$SRC/examples/embed/app.c" -I"$T/qneon" \
    "$T/qneon/libnet.a" -lm -o "$T/app_qneon"
  qemu-aarch64 "$T/app_qneon" "$T/digit.f32" "$T/out_qneon.f32"
  cmp "$T/out_qneon.f32" "$T/out_qhost.f32" ||
    { echo "FAIL: int8 digits on neon ${dot:-without +dotprod}, $threads threads, differ from this machine's"; exit 1; }
  echo "cross (aarch64 under qemu, int8 digits on neon ${dot:-without +dotprod}, $threads threads): the bits of the host build"
done
done
