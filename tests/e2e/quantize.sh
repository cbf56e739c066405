#!/bin/sh
# `cardinal quantize` and `--precision int8` on the digits ResNeXt of
# tests/models/digits (trained on scikit-learn's 8x8 digits): the report
# names every quantized node with its SQNR, the lowest, and the output's
# error and arg-max agreement; progress goes to stderr, not the report;
# the written QDQ model runs in ONNX Runtime (when installed) at the float
# model's held-out accuracy within half a point; `build --precision int8`
# makes a library whose weights are under 30 % of the float build's; the
# command-line errors say what is missing; run --profile measures the int8
# kernels against the 8-bit dot-product peak.
# usage: quantize.sh CARDINAL SOURCE_DIR
set -eu
CARDINAL=$1 SRC=$2
DIG=$SRC/tests/models/digits
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$CARDINAL" quantize "$DIG/digits_resnext.onnx" -o "$T/q.onnx" --calibrate "$DIG/calib" \
  > "$T/report.txt" 2> "$T/progress.txt"
cat "$T/report.txt"
grep -q '^quantized 9 nodes and 12 activations; SQNR against float over 64 inputs' "$T/report.txt" ||
  { echo "FAIL: report header"; exit 1; }
[ "$(grep -c -E '^  /[A-Za-z0-9/._-]+ +(Conv|Gemm) +[0-9]+\.[0-9]$' "$T/report.txt")" -eq 9 ] ||
  { echo "FAIL: a row per quantized node"; exit 1; }
grep -q "^lowest: '/.*' at [0-9.]* dB$" "$T/report.txt" || { echo "FAIL: lowest"; exit 1; }
grep -q "^output 'logits': SQNR [0-9.]* dB, largest error [0-9.]*% of its magnitude, arg-max the float model's on 64 of 64$" \
  "$T/report.txt" || { echo "FAIL: output line"; exit 1; }
# SQNR of the output above 30 dB
awk "/^output 'logits'/ { exit !(\$4 + 0 > 30) }" "$T/report.txt" || { echo "FAIL: output SQNR"; exit 1; }
grep -q '^calibrating: 64/64 inputs$' "$T/progress.txt" && grep -q 'wrote .*q.onnx' "$T/progress.txt" ||
  { echo "FAIL: progress"; cat "$T/progress.txt"; exit 1; }
# --quiet: no progress
"$CARDINAL" quantize "$DIG/digits_resnext.onnx" -o "$T/q2.onnx" --calibrate "$DIG/calib" \
  --quiet --method percentile > /dev/null 2> "$T/quiet.txt"
! grep -q calibrating "$T/quiet.txt" || { echo "FAIL: --quiet"; exit 1; }
ORT=${ORT_DIR:-/opt/ort}/node_modules/onnxruntime-node
if command -v node > /dev/null && [ -d "$ORT" ]; then
  f=$(node "$SRC/scripts/check_digits_ort.js" "$DIG" | awk '{ print $4 }')
  q=$(node "$SRC/scripts/check_digits_ort.js" "$DIG" --model "$T/q.onnx" | awk '{ print $4 }')
  echo "ONNX Runtime held-out top-1: float $f, int8 (cardinal quantize) $q"
  awk -v f="$f" -v q="$q" 'BEGIN { exit !(q >= f - 0.005) }' || { echo "FAIL: int8 accuracy in ONNX Runtime"; exit 1; }
else
  echo "(ONNX Runtime not installed under ${ORT_DIR:-/opt/ort}: the QDQ model not run there)"
fi
# build --precision int8: the weights (build's report) under 30 % of float's
"$CARDINAL" build "$DIG/digits_resnext.onnx" -o "$T/f" > "$T/f.txt" 2>&1
"$CARDINAL" build "$DIG/digits_resnext.onnx" -o "$T/i" --precision int8 --calibrate "$DIG/calib" \
  --quiet > "$T/i.txt" 2>&1
wf=$(awk '$1 == "cardinal:" && $2 == "weights" { print $3 }' "$T/f.txt")
wi=$(awk '$1 == "cardinal:" && $2 == "weights" { print $3 }' "$T/i.txt")
echo "weights: float $wf bytes, int8 $wi bytes"
[ -n "$wf" ] && [ -n "$wi" ] && [ "$((wi * 10))" -lt "$((wf * 3))" ] || { echo "FAIL: int8 weights"; cat "$T/i.txt"; exit 1; }
[ -f "$T/i/libdigits_resnext.a" ] || { echo "FAIL: no library"; exit 1; }
# inspect --json: the report on stderr, the JSON whole
"$CARDINAL" inspect "$DIG/digits_resnext.onnx" --precision int8 --calibrate "$DIG/calib" --quiet \
  --json > "$T/i.json" 2> "$T/i.err"
grep -q '"QLinearConv": 8' "$T/i.json" && tail -1 "$T/i.json" | grep -q '^}$' ||
  { echo "FAIL: inspect --json"; head -5 "$T/i.json"; exit 1; }
grep -q '^lowest: ' "$T/i.err" || { echo "FAIL: report on stderr"; exit 1; }
# run --profile: the integer convs against the 8-bit dot-product peak
"$CARDINAL" run "$DIG/digits_resnext.onnx" --precision int8 --calibrate "$DIG/calib" --quiet \
  --input "$DIG/calib/calib_000.npy" --profile --runs 3 > "$T/prof.txt"
[ "$(grep -c "^ .*%\* qlinearconv_u8_.* QLinearConv '" "$T/prof.txt")" -eq 8 ] ||
  { echo "FAIL: profile int8 rows"; cat "$T/prof.txt"; exit 1; }
grep -q 'the integer convs and matmuls (\*) [0-9.]* ms: [0-9.]* GOP/s, [0-9.]*% of the [0-9.]* GOP/s 8-bit dot-product peak measured on one core' \
  "$T/prof.txt" || { echo "FAIL: profile int8 summary"; cat "$T/prof.txt"; exit 1; }
# errors
if "$CARDINAL" quantize "$DIG/digits_resnext.onnx" --calibrate "$DIG/calib" 2> "$T/err"; then
  echo "FAIL: no -o accepted"; exit 1
fi
grep -q 'needs -o OUT.onnx' "$T/err" || { echo "FAIL: -o message"; exit 1; }
if "$CARDINAL" quantize "$DIG/digits_resnext.onnx" -o "$T/x.onnx" 2> "$T/err"; then
  echo "FAIL: no --calibrate accepted"; exit 1
fi
grep -q 'needs --calibrate DIR' "$T/err" || { echo "FAIL: --calibrate message"; exit 1; }
if "$CARDINAL" build "$DIG/digits_resnext.onnx" -o "$T/b" --calibrate "$DIG/calib" 2> "$T/err"; then
  echo "FAIL: --calibrate without --precision int8 accepted"; exit 1
fi
grep -q 'go with --precision int8' "$T/err" || { echo "FAIL: precision message"; exit 1; }
[ ! -e "$T/x.onnx" ] || { echo "FAIL: a file written on error"; exit 1; }
echo "quantize: ok"
