#!/bin/sh
# The committed CIFAR ResNeXt built for AArch64 with the cross compiler
# (warning-free under -std=c99 -pedantic -Werror), linked into the embedding
# example and run under qemu-user, gives PyTorch's output: the portable
# scalar target, and the neon target's intrinsics kernels.
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
