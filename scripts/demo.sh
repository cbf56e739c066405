#!/bin/sh
# Set-up, then Cardinal's main job: compile a ResNeXt to C, build it into a
# static library, link the embedding example against it, run it, and show
# the result and the time next to PyTorch's answer.
#
# The model is torchvision's ResNeXt-50 32x4d (random weights, seeded),
# exported by torch.onnx (tests/models/export.py).  Set DEMO_MODEL=tiny to
# use the small committed CIFAR ResNeXt of the seed article instead.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
OUT=${DEMO_OUT:-demo_out}
mkdir -p "$OUT"
if [ "${DEMO_MODEL:-resnext50}" = tiny ]; then
  cp tests/e2e/fixtures/resnext_tiny_bn_op11.onnx "$OUT/model.onnx"
  cp tests/e2e/fixtures/resnext_tiny_bn_op11.input.npy "$OUT/model.input.npy"
  cp tests/e2e/fixtures/resnext_tiny_bn_op11.expected.npy "$OUT/model.expected.npy"
else
  echo "== exporting torchvision resnext50_32x4d with torch.onnx (opset 13)"
  /usr/bin/python3 tests/models/export.py torchvision:resnext50_32x4d "$OUT/model.onnx" --opset 13
fi
echo "== cardinal inspect"
build/cardinal inspect "$OUT/model.onnx"
echo "== cardinal build (SIMD kernels for this machine: --target native; weights embedded)"
rm -rf "$OUT/net"
build/cardinal build "$OUT/model.onnx" -o "$OUT/net" --name net
echo "== linking examples/embed/app.c against $OUT/net/libnet.a"
cc -O2 examples/embed/app.c -I"$OUT/net" "$OUT/net/libnet.a" -lm -o "$OUT/app"
build/tests/npycmp --raw "$OUT/model.input.npy" "$OUT/input.f32"
echo "== running"
"$OUT/app" "$OUT/input.f32" "$OUT/output.f32"
echo "== compared with PyTorch"
build/tests/npycmp "$OUT/output.f32" "$OUT/model.expected.npy" 1e-4
