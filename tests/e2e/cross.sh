#!/bin/sh
# The scalar target is portable C: the committed CIFAR ResNeXt built for
# AArch64 with the cross compiler (warning-free under -std=c99 -pedantic
# -Werror), linked into the embedding example, run under qemu-user, gives
# PyTorch's output.
# usage: cross.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
STRICT="-O2 -std=c99 -pedantic -Wall -Wextra -Werror"
"$CARDINAL" build "$FIX.onnx" -o "$T/out" --name net --cc aarch64-linux-gnu-gcc --cflags "$STRICT"
aarch64-linux-gnu-gcc $STRICT -static "$SRC/examples/embed/app.c" -I"$T/out" "$T/out/libnet.a" -lm -o "$T/app"
"$NPYCMP" --raw "$FIX.input.npy" "$T/in.f32"
qemu-aarch64 "$T/app" "$T/in.f32" "$T/out.f32"
"$NPYCMP" "$T/out.f32" "$FIX.expected.npy" 1e-4
echo "cross (aarch64 under qemu): ok"
