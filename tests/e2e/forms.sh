#!/bin/sh
# merge-paths on real exports: a ResNeXt block written as C = 8 explicit
# paths summed (form a, tests/models/block_forms.py), in each way the sum is
# written -- a (the shortcut the last term of a left chain), a_naive (the
# loop `out = out + p(x)`, then BN, the shortcut add, ReLU), a_tree
# (zeros_like, reversed paths and the shortcut summed as a balanced tree,
# then BN, ReLU) -- compiles under the default passes to the same graph as
# its grouped-convolution twin (form c): the same ops on the same shapes in
# the same order, one grouped conv per block, the last conv of each block
# carrying the shortcut and the ReLU -- and gives PyTorch's output.
# usage: forms.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FORMS="a a_naive a_tree"
# The compiled graph without value numbers, and without the per-channel
# scale on the shortcut that a BatchNorm after the shortcut add leaves
# (a_tree; form c adds its shortcut after its last BatchNorm), in any layout.
graph() {
  "$CARDINAL" inspect "$1" --dump --verify | sed -n '/^graph /,/^  output /p' |
    sed -e '1d' -e 's/%[0-9]*//g' -e 's/ \* :float32\[[0-9]*\]\(@[a-z0-9]*\)\{0,1\}=const//'
}
graph "$FIX/block_form_c.onnx" > "$T/c.graph"
grep -q "Conv(.*float32\[32,4,3,3\]" "$T/c.graph" || { echo "FAIL: form c has no grouped conv"; exit 1; }
for f in $FORMS; do
  "$CARDINAL" inspect "$FIX/block_form_$f.onnx" --json --verify --no-size > "$T/$f.json"
  grep -q "merged 2 groups of parallel paths" "$T/$f.json" ||
    { echo "FAIL: form $f: merge-paths did not merge both blocks"; exit 1; }
  graph "$FIX/block_form_$f.onnx" > "$T/$f.graph"
  if ! cmp -s "$T/$f.graph" "$T/c.graph"; then
    echo "FAIL: form $f compiles to another graph than form c:"
    diff "$T/$f.graph" "$T/c.graph" || true
    exit 1
  fi
  echo "form $f: $(grep -c " = " "$T/$f.graph") nodes, the graph of form c"
done
for f in $FORMS c; do
  "$CARDINAL" run "$FIX/block_form_$f.onnx" --input "$FIX/block_form_$f.input.npy" --output "$T/$f.npy"
  "$NPYCMP" "$T/$f.npy" "$FIX/block_form_$f.expected.npy" 1e-4
done
echo "forms: ok"
