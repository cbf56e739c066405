#!/bin/sh
# merge-paths on a real export: a ResNeXt block written as C = 8 explicit
# paths summed (form a, tests/models/block_forms.py) compiles under the
# default passes to the same graph shape as its grouped-convolution twin
# (form c): the same node count, one grouped conv per block -- and gives
# PyTorch's output.
# usage: forms.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for f in a c; do
  "$CARDINAL" inspect "$FIX/block_form_$f.onnx" --json --verify > "$T/$f.json"
done
nodes() { sed -n 's/^  "nodes": \([0-9]*\),/\1/p' "$1"; }
convs() { sed -n 's/^    "Conv": \([0-9]*\).*/\1/p' "$1"; }
echo "form a: $(nodes "$T/a.json") nodes, $(convs "$T/a.json") convs; form c: $(nodes "$T/c.json") nodes, $(convs "$T/c.json") convs"
[ "$(nodes "$T/a.json")" = "$(nodes "$T/c.json")" ] || { echo "FAIL: node counts differ"; exit 1; }
[ "$(convs "$T/a.json")" = "$(convs "$T/c.json")" ] || { echo "FAIL: conv counts differ"; exit 1; }
grep -q "merged 2 groups of parallel paths" "$T/a.json" || { echo "FAIL: merge-paths did not merge both blocks"; exit 1; }
for f in a c; do
  "$CARDINAL" run "$FIX/block_form_$f.onnx" --input "$FIX/block_form_$f.input.npy" --output "$T/$f.npy"
  "$NPYCMP" "$T/$f.npy" "$FIX/block_form_$f.expected.npy" 1e-4
done
echo "forms: ok"
