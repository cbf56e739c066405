#!/bin/sh
# The DSL end to end:
#   - the seed article's CIFAR ResNeXt written in the DSL (cifar.nx), with
#     the PyTorch state_dict of the same network as safetensors, gives
#     PyTorch's output (generated C and interpreter), to 1e-4, same arg-max;
#   - every example compiles, and torchvision's models and the paper's
#     ResNeXt-29 report their parameter and multiply-accumulate counts;
#   - a DSL error exits 1 with file:line:col, the line and a caret.
# usage: dsl.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "== tiny article ResNeXt, PyTorch weights by name"
for ref in "" --reference; do
  "$CARDINAL" run "$SRC/examples/resnext/cifar/resnext_tiny.nx" --weights "$FIX/resnext_tiny.safetensors" \
    --input "$FIX/resnext_tiny_bn_op11.input.npy" --output "$T/y.npy" $ref
  "$NPYCMP" "$T/y.npy" "$FIX/resnext_tiny_bn_op11.expected.npy" 1e-4
done
echo "== dump-weights: the seeded parameters, written out, bind back to the same model"
"$CARDINAL" dump-weights "$SRC/examples/resnext/cifar/resnext_tiny.nx" --seed 5 -o "$T/seeded.safetensors"
"$CARDINAL" run "$SRC/examples/resnext/cifar/resnext_tiny.nx" --seed 5 --input "$FIX/resnext_tiny_bn_op11.input.npy" \
  --output "$T/seeded.npy" --reference
"$CARDINAL" run "$SRC/examples/resnext/cifar/resnext_tiny.nx" --weights "$T/seeded.safetensors" \
  --input "$FIX/resnext_tiny_bn_op11.input.npy" --output "$T/bound.npy" --reference
"$NPYCMP" "$T/bound.npy" "$T/seeded.npy" 0
echo "== every example compiles"
n=0
for f in "$SRC"/examples/resnext/*.nx "$SRC"/examples/resnext/*/*.nx; do
  grep -q '^model ' "$f" || continue  # libraries of blocks
  "$CARDINAL" inspect "$f" --json --no-size > "$T/i.json"
  n=$((n + 1))
done
echo "$n example models compile"
[ "$n" -ge 14 ]
check() { # MODEL PARAMS MACS
  "$CARDINAL" inspect "$SRC/examples/resnext/$1.nx" --json --no-size > "$T/i.json"
  p=$(sed -n 's/.*"source_parameters": \([0-9]*\).*/\1/p' "$T/i.json")
  m=$(sed -n 's/^  "macs": \([0-9]*\).*/\1/p' "$T/i.json")
  echo "$1: $p parameters, $m MACs"
  [ "$p" = "$2" ] && [ "$m" = "$3" ] || { echo "FAIL: expected $2 parameters, $3 MACs"; exit 1; }
}
check resnext50_32x4d 25028904 4230479872    # torchvision: 25.03 M, 4.23 GMACs
check resnet50 25557032 4089184256           # torchvision: 25.56 M, 4.09 GMACs
check resnext101_32x8d 88791336 16414015488  # torchvision: 88.79 M, 16.41 GMACs
check cifar/resnext29_8x64d 34426698 5387266048    # the paper's table 7: 34.4 M; 5.4 GMACs
check cifar/resnext29_16x64d 68155210 10688866304  # the paper's table 7: 68.1 M; 10.7 GMACs
echo "== errors"
printf 'model m(x: f32[1, 2]) {\n  y = x -> rleu()\n  return y\n}\n' > "$T/bad.nx"
if "$CARDINAL" compile "$T/bad.nx" -o "$T/out" 2> "$T/err"; then echo "FAIL: accepted"; exit 1; fi
cat "$T/err"
grep -q "bad.nx:2:12: error: undefined block or op 'rleu'" "$T/err"
grep -q '\^~~~' "$T/err"
[ ! -e "$T/out" ]
echo "dsl: ok"
