#!/bin/sh
# Symbolic input dims and what the CLI and the header say about a model's
# inputs and outputs (fixture: ResNeXt block form (c) exported with symbolic
# batch, height and width; PyTorch's output at 12x20):
#   - without --shape, compiling fails naming the input, the dim and the
#     --shape to give (never a silent 1x1; the unit suite checks that an
#     open batch alone is a warning and compiles as 1);
#   - with --shape the generated C matches PyTorch at 12x20, and at 16x24
#     the interpreter (and ONNX Runtime when it is installed, at both);
#   - run without --shape takes the open dims from the .npy (batch 1 and 4
#     against PyTorch) and refuses an array of another shape (NHWC for
#     NCHW), naming both;
#   - inspect (text and JSON) shows inputs and outputs with names and shapes,
#     and without --shape the model as declared, its symbolic dims by name
#     and the --shape that fixes them;
#   - the header names the compiler, model hash, target, passes, threads and
#     each tensor's name, shape and layout, as constants _Static_assert takes.
# usage: shapes.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures/block_form_c_dynamic
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

echo "== no --shape: an error naming the input and the dim"
if "$CARDINAL" compile "$FIX.onnx" -o "$T/none" 2> "$T/err"; then fail "compiled without --shape"; fi
cat "$T/err"
grep -q "graph input 'input': dim 2 ('height') is symbolic" "$T/err" || fail "dim 2 not named"
grep -q "dim 3 ('width')" "$T/err" || fail "dim 3 not named"
grep -q -- "--shape input=1,3,<height>,<width>" "$T/err" || fail "no --shape hint"
[ ! -e "$T/none" ] || fail "output folder created"

echo "== --shape input=1,3,12,20: PyTorch's output"
"$CARDINAL" run "$FIX.onnx" --shape input=1,3,12,20 --input "$FIX.input.npy" --output "$T/a.npy" \
  2> "$T/err"
! grep -q warning "$T/err" || fail "a warning with every dim given: $(cat "$T/err")"
"$NPYCMP" "$T/a.npy" "$FIX.expected.npy" 1e-4

"$CARDINAL" compile "$FIX.onnx" --shape input=1,3,12,20 -o "$T/ok"

echo "== another shape, 16x24: generated C against the interpreter"
LC_ALL=C awk 'BEGIN { for (i = 0; i < 3 * 16 * 24; i++) printf "%c%c%c%c", 0, 0, 128, (i % 7 == 0) ? 63 : 191 }' \
  > "$T/x16.f32"
"$CARDINAL" run "$FIX.onnx" --shape input=1,3,16,24 --input "$T/x16.f32" --output "$T/c16.f32"
"$CARDINAL" run "$FIX.onnx" --shape input=1,3,16,24 --input "$T/x16.f32" --output "$T/r16.f32" \
  --reference
"$NPYCMP" "$T/c16.f32" "$T/r16.f32" 1e-5

echo "== run takes the open dims from the .npy, and refuses another shape"
# npy FILE OLD NEW OUT COPIES: FILE with the shape OLD in its header made NEW
# (as long), its data repeated COPIES times: a batch of copies, or a relabel.
npy() {
  head -c 128 "$1" | LC_ALL=C sed "s/'shape': $2/'shape': $3/" > "$4"
  i=0
  while [ $i -lt "$5" ]; do tail -c +129 "$1" >> "$4"; i=$((i + 1)); done
}
npy "$FIX.input.npy" "(1, 3, 12, 20)" "(4, 3, 12, 20)" "$T/x4.npy" 4
npy "$FIX.expected.npy" "(1, 10)" "(4, 10)" "$T/e4.npy" 4
"$CARDINAL" run "$FIX.onnx" --input "$FIX.input.npy" --output "$T/b.npy" 2> "$T/err" ||
  fail "run without --shape: $(cat "$T/err")"
! grep -q warning "$T/err" || fail "a warning with every dim from the file: $(cat "$T/err")"
"$NPYCMP" "$T/b.npy" "$FIX.expected.npy" 1e-4
"$CARDINAL" run "$FIX.onnx" --input "$T/x4.npy" --output "$T/b4.npy" 2> "$T/err" ||
  fail "a batch of 4: $(cat "$T/err")"
"$NPYCMP" "$T/b4.npy" "$T/e4.npy" 1e-4
npy "$FIX.input.npy" "(1, 3, 12, 20)" "(1, 12, 20, 3)" "$T/nhwc.npy" 1
if "$CARDINAL" run "$FIX.onnx" --shape input=1,3,12,20 --input "$T/nhwc.npy" --reference 2> "$T/err"; then
  fail "an NHWC array for an NCHW input was accepted"
fi
grep -q "input 'input' is \[1,3,12,20\], the file holds \[1,12,20,3\] (as many values" "$T/err" ||
  fail "the NHWC refusal: $(cat "$T/err")"

ORT=${ORT_DIR:-/opt/ort}/node_modules/onnxruntime-node
if command -v node > /dev/null && [ -d "$ORT" ]; then
  echo "== ONNX Runtime at the same shapes"
  "$NPYCMP" --raw "$FIX.input.npy" "$T/x12.f32"
  node "$SRC/bench/ort_time.js" "$FIX.onnx" 1 "$T/x12.f32" --dump "$T/o12.f32" --runs 1 \
    --shape 1,3,12,20 > /dev/null
  "$NPYCMP" "$T/a.npy" "$T/o12.f32" 1e-4
  node "$SRC/bench/ort_time.js" "$FIX.onnx" 1 "$T/x16.f32" --dump "$T/o16.f32" --runs 1 \
    --shape 1,3,16,24 > /dev/null
  "$NPYCMP" "$T/c16.f32" "$T/o16.f32" 1e-4
else
  echo "(ONNX Runtime not installed under ${ORT_DIR:-/opt/ort}: compared with PyTorch only)"
fi

echo "== inspect without --shape: the model as declared, and the --shape to give"
"$CARDINAL" inspect "$FIX.onnx" > "$T/d.txt" 2> "$T/err" || fail "inspect without --shape: $(cat "$T/err")"
grep -q "^input  0   'input' float32\[batch,3,height,width\]$" "$T/d.txt" || fail "inspect: the open dims: $(cat "$T/d.txt")"
grep -q "^output 0   'logits'" "$T/d.txt" || fail "inspect: the output"
grep -q "^  Conv  *7$" "$T/d.txt" || fail "inspect: the nodes as declared"
grep -q -- "--shape input=1,3,<height>,<width>" "$T/d.txt" || fail "inspect: no --shape hint"
[ ! -s "$T/err" ] || fail "inspect without --shape wrote to stderr: $(cat "$T/err")"
"$CARDINAL" inspect "$FIX.onnx" --json > "$T/d.json"
grep -q '"shape": \["batch", 3, "height", "width"\], "shape_option": "--shape input=1,3,<height>,<width>"' "$T/d.json" ||
  fail "inspect --json without --shape: $(cat "$T/d.json")"

echo "== inspect: inputs and outputs"
"$CARDINAL" inspect "$FIX.onnx" --shape input=1,3,16,24 > "$T/i.txt"
grep -q "^input  0   'input' float32\[1,3,16,24\] NCHW" "$T/i.txt" || fail "inspect input: $(cat "$T/i.txt")"
grep -q "dim 2 'height' from --shape" "$T/i.txt" || fail "inspect: symbolic dims"
grep -q "^output 0   'logits' float32\[1,10\]" "$T/i.txt" || fail "inspect output"
"$CARDINAL" inspect "$FIX.onnx" --shape input=1,3,16,24 --json > "$T/i.json"
grep -q '{"name": "input", "dtype": "float32", "shape": \[1, 3, 16, 24\], "elements": 1152' "$T/i.json" ||
  fail "inspect --json inputs"
grep -q '{"name": "logits", "dtype": "float32", "shape": \[1, 10\]' "$T/i.json" || fail "inspect --json outputs"
if command -v python3 > /dev/null; then
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert j["inputs"][0]["symbolic"][1]["name"] == "height"' "$T/i.json"
else
  echo "(no python3: inspect --json was not parsed)"
fi

echo "== the header says what it is, in constants"
H=$T/ok/block_form_c_dynamic.h
for want in "Generated by cardinal" "BLOCK_FORM_C_DYNAMIC_CARDINAL_VERSION \"" \
    "BLOCK_FORM_C_DYNAMIC_PASSES \"default\"" "BLOCK_FORM_C_DYNAMIC_THREADS 1" \
    "BLOCK_FORM_C_DYNAMIC_INPUT0_NAME \"input\"" "BLOCK_FORM_C_DYNAMIC_OUTPUT0_NAME \"logits\"" \
    "BLOCK_FORM_C_DYNAMIC_INPUT0_LAYOUT \"NCHW\"" "float32\[1,3,12,20\] NCHW, 720 elements" \
    "height = 12 (--shape)"; do
  grep -q "$want" "$H" || fail "header lacks '$want'"
done
cat > "$T/asserts.c" << 'EOF'
#include "block_form_c_dynamic.h"
#define M(x) BLOCK_FORM_C_DYNAMIC_##x
_Static_assert(M(INPUT0_SIZE) == 1 * 3 * 12 * 20, "input elements");
_Static_assert(M(OUTPUT0_SIZE) == 10, "output elements");
_Static_assert(M(WORKSPACE_SIZE) > 0 && M(WORKSPACE_SIZE) % 64 == 0, "workspace");
_Static_assert(M(WEIGHTS_SIZE) >= 4 * 1000, "weights");
_Static_assert(M(THREADS) == 1 && M(NUM_INPUTS) == 1 && M(WEIGHTS_EMBEDDED), "options");
static float input[M(INPUT0_SIZE)];
static unsigned char workspace[M(WORKSPACE_SIZE)];
int main(void) { return (int)(sizeof input + sizeof workspace) == 0; }
EOF
cc -std=c11 -pedantic -Wall -Wextra -Werror -I"$T/ok" -c "$T/asserts.c" -o "$T/asserts.o"
echo "shapes: ok"
