#!/bin/sh
# Command-line error handling: bad input gives a one-line error naming the
# file and the problem, exit status 1, and no output folder; bad usage gives
# exit status 2.
# usage: cli.sh CARDINAL SOURCE_DIR
set -u
CARDINAL=$1 SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_op9.onnx
fails=0 passes=0

# expect STATUS PATTERN -- command...: runs it, checks status and stderr.
expect() {
  want=$1 pattern=$2
  shift 2
  "$@" > "$T/stdout" 2> "$T/stderr"
  got=$?
  if [ "$got" -ne "$want" ] || ! grep -q -- "$pattern" "$T/stderr"; then
    echo "FAIL: $* -> status $got (want $want), stderr:"; cat "$T/stderr"
    fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}
no_dir() {
  if [ -e "$1" ]; then echo "FAIL: $1 was created"; fails=$((fails + 1)); else passes=$((passes + 1)); fi
}

head -c 100000 "$FIX" > "$T/truncated.onnx"
expect 1 "truncated.onnx: error: not a valid ONNX model" "$CARDINAL" compile "$T/truncated.onnx" -o "$T/out1"
no_dir "$T/out1"
[ "$(wc -l < "$T/stderr")" -eq 1 ] || { echo "FAIL: more than one line for a truncated model"; fails=$((fails + 1)); }

awk 'BEGIN { srand(7); for (i = 0; i < 4096; i++) printf "%c", int(rand() * 256) }' > "$T/random.onnx"
expect 1 "random.onnx: error:" "$CARDINAL" build "$T/random.onnx" -o "$T/out2"
no_dir "$T/out2"

printf 'not a model' > "$T/model.txt"
expect 1 "unknown model format" "$CARDINAL" compile "$T/model.txt" -o "$T/out3"
expect 1 "cannot read" "$CARDINAL" inspect "$T/nonexistent.onnx"

expect 1 "Acos  *1 node   first 'acos_1' (opset 13): not supported" "$CARDINAL" compile "$SRC/tests/errors/unsupported.onnx" -o "$T/out4"
grep -q "Celu  *1 node   first 'celu_1' (opset 13): not supported" "$T/stderr" || { echo "FAIL: second unsupported op not reported"; fails=$((fails + 1)); }
no_dir "$T/out4"

# --outputs: the graph cut at a tensor; a name that is not one is refused, with
# the nearest name, before anything is written.
"$CARDINAL" inspect "$FIX" --outputs /Relu_output_0 --no-size > "$T/stdout" 2> "$T/stderr" ||
  { echo "FAIL: inspect --outputs /Relu_output_0"; cat "$T/stderr"; fails=$((fails + 1)); }
grep -q "^output 0   '/Relu_output_0' float32\[1,16,32,32\]" "$T/stdout" && ! grep -q "^output 1" "$T/stdout" ||
  { echo "FAIL: inspect --outputs: not the one output named"; cat "$T/stdout"; fails=$((fails + 1)); }
grep -q "^  Conv  *1$" "$T/stdout" || { echo "FAIL: inspect --outputs: the cut did not drop the rest"; fails=$((fails + 1)); }
"$CARDINAL" run "$FIX" --reference --outputs /Relu_output_0,logits --input "$SRC/tests/e2e/fixtures/resnext_tiny_op9.input.npy" > "$T/stdout" 2> "$T/stderr" ||
  { echo "FAIL: run --outputs"; cat "$T/stderr"; fails=$((fails + 1)); }
grep -q "^output 1 'logits'" "$T/stdout" || { echo "FAIL: run --outputs: logits not the second output"; fails=$((fails + 1)); }
expect 1 "no tensor named '/Relu_outptu_0'; did you mean '/Relu_output_0'?" "$CARDINAL" compile "$FIX" -o "$T/out6" --outputs /Relu_outptu_0
no_dir "$T/out6"
expect 1 "'input' is a graph input" "$CARDINAL" build "$FIX" -o "$T/out6" --outputs input
expect 1 "'layer1.0.bn0.weight' is a constant" "$CARDINAL" bench "$FIX" --outputs layer1.0.bn0.weight --no-peer
expect 2 "does not take --outputs" "$CARDINAL" dump-weights "$FIX" -o "$T/w.safetensors" --outputs logits
expect 2 "unknown option" "$CARDINAL" compile "$FIX" -o "$T/out5" --frobnicate
expect 2 "is not a C identifier" "$CARDINAL" compile "$FIX" -o "$T/out5" --name "1; rm -rf /"
expect 2 "-o DIR is required" "$CARDINAL" compile "$FIX"
expect 2 "--weights takes embed, blob, section or FILE.safetensors" "$CARDINAL" compile "$FIX" -o "$T/out5" --weights zip
expect 2 "unknown --target" "$CARDINAL" compile "$FIX" -o "$T/out5" --target vax
expect 2 "unknown command" "$CARDINAL" frobnicate
expect 1 "unknown pass 'nope'" "$CARDINAL" inspect "$FIX" --passes default,nope
# --passes is a set in order: a pass named again after -NAME runs once, at
# its first place, however long the list (300 re-enables overflowed fixed
# arrays: SIGSEGV; a re-enabled pass ran twice).
L=fold-bn i=0
while [ $i -lt 300 ]; do L="$L,-fold-bn,fold-bn" i=$((i + 1)); done
"$CARDINAL" inspect "$FIX" --passes "$L" --json --no-size > "$T/stdout" 2> "$T/stderr"
got=$? runs=$(grep -o '"name": *"fold-bn"' "$T/stdout" | wc -l)
if [ $got -ne 0 ] || [ "$runs" -ne 1 ]; then
  echo "FAIL: --passes fold-bn,-fold-bn,fold-bn x300: status $got, fold-bn ran $runs times"
  cat "$T/stderr"
  fails=$((fails + 1))
else
  passes=$((passes + 1))
fi
"$CARDINAL" inspect "$FIX" --passes "$L,-fold-bn" --json --no-size > "$T/stdout" 2> "$T/stderr"
got=$? runs=$(grep -o '"name": *"fold-bn"' "$T/stdout" | wc -l)
[ $got -eq 0 ] && [ "$runs" -eq 0 ] && passes=$((passes + 1)) ||
  { echo "FAIL: ... ,-fold-bn: status $got, fold-bn ran"; fails=$((fails + 1)); }
expect 1 "no input named 'nope'" "$CARDINAL" compile "$FIX" -o "$T/out5" --freeze nope=x.npy
no_dir "$T/out5"
expect 2 "resnext_tiny_op9.onnx: error: the model has 1 inputs, 0 --input given (one per input, in order: 'input')" "$CARDINAL" run "$FIX"
printf 'abc' > "$T/odd.bin"
expect 1 "resnext_tiny_op9.onnx: error: $T/odd.bin: raw float32 file of 3 bytes" "$CARDINAL" run "$FIX" --input "$T/odd.bin"
[ "$(wc -l < "$T/stderr")" -eq 1 ] || { echo "FAIL: more than one line for a bad input file"; fails=$((fails + 1)); }
printf 'abcdefgh' > "$T/short.bin"
expect 1 "error: $T/short.bin: input 'input' needs [0-9]* float32 values, the file holds 2 float32" "$CARDINAL" run "$FIX" --input "$T/short.bin" --reference
expect 1 "error: $T/no/such/dir/y.npy: cannot write output" "$CARDINAL" run "$FIX" --input "$SRC/tests/e2e/fixtures/resnext_tiny_op9.input.npy" --reference --output "$T/no/such/dir/y.npy"

# Options: the nearest one for a typo, each command's own only, checked values.
expect 2 "cardinal inspect: unknown option --jsn; did you mean --json?" "$CARDINAL" inspect "$FIX" --jsn
expect 2 "cardinal inspect: inspect does not take --output (-o): it prints to the terminal; compile and build write files" "$CARDINAL" inspect "$FIX" -o "$T/o"
no_dir "$T/o"
expect 2 "cardinal compile: compile does not take --reference" "$CARDINAL" compile "$FIX" -o "$T/o" --reference
expect 2 "cardinal inspect: --seed takes a non-negative integer, not -1" "$CARDINAL" inspect "$FIX" --seed -1
expect 2 "cardinal inspect: --seed takes a non-negative integer, not 99999999999999999999999" "$CARDINAL" inspect "$FIX" --seed 99999999999999999999999
expect 2 "cardinal: unknown command 'inspct'; did you mean 'inspect'?" "$CARDINAL" inspct "$FIX"
expect 2 "cardinal dump-weights: takes a .nx model (an ONNX file holds its weights), not $FIX" "$CARDINAL" dump-weights "$FIX" -o "$T/w.safetensors"
# compare finds a .nx model after the configurations, as it does an .onnx one.
printf 'model m(x: f32[1, 4, 8, 8]) {\n  return x -> conv(4, k=3, pad=1) -> bn() -> relu()\n}\n' > "$T/m.nx"
expect 0 "" "$CARDINAL" compare --configs none default "$T/m.nx" --runs 1 --target scalar
grep -q "default" "$T/stdout" || { echo "FAIL: compare of a .nx model printed no table"; cat "$T/stdout"; fails=$((fails + 1)); }
# Every command's --help is whole: it ends with its last line (a fixed
# buffer once cut build's at 4 KiB).
for c in compile build run inspect compare bench quantize; do
  "$CARDINAL" $c --help > "$T/help" 2>&1
  tail -c 1 "$T/help" | od -c | grep -q '\\n' && [ "$(wc -c < "$T/help")" -gt 200 ] ||
    { echo "FAIL: $c --help cut or empty"; fails=$((fails + 1)); }
done
"$CARDINAL" build --help | tail -1 | grep -q 'tile-grouped-conv winograd dce' ||
  { echo "FAIL: build --help does not end with the pass list"; fails=$((fails + 1)); }

echo "cli errors: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
