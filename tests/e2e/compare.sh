#!/bin/sh
# `cardinal compare` and `--dot` on the committed CIFAR ResNeXt: the table has
# one row per configuration, the outputs agree across configurations, the
# CSV and JSON are complete, the SVG is a whole document, the DOT file a
# whole graph; a bad configuration is refused before any work; run --profile
# reports every kernel.
# usage: compare.sh CARDINAL SOURCE_DIR
set -eu
CARDINAL=$1 SRC=$2
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11.onnx
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$CARDINAL" compare "$FIX" --configs none fold-bn fold-bn,fuse-activation default --runs 3 \
  --csv "$T/c.csv" --svg "$T/c.svg" > "$T/table.txt"
cat "$T/table.txt"
[ "$(grep -c -E '^(none|fold-bn|fold-bn,fuse-activation|default) ' "$T/table.txt")" -eq 4 ] || { echo "FAIL: table rows"; exit 1; }
[ "$(wc -l < "$T/c.csv")" -eq 5 ] || { echo "FAIL: CSV rows"; exit 1; }
# Every configuration computes the same function (within float rounding):
# the difference is a number, at most 1e-5 ("nan" + 0 > 1e-5 is false, so
# the test is written to fail on anything but a small number).
awk -F, 'NR > 1 && !($(NF - 4) ~ /^[0-9.eE+-]+$/ && $(NF - 4) + 0 <= 1e-5) { bad = 1 } END { exit bad }' "$T/c.csv" ||
  { echo "FAIL: outputs differ"; cat "$T/c.csv"; exit 1; }
# The default passes leave fewer nodes than none.
awk -F, 'NR == 2 { n0 = $3 } NR == 5 { exit !($3 < n0) }' "$T/c.csv" || { echo "FAIL: default did not shrink the graph"; exit 1; }
tail -1 "$T/c.svg" | grep -q '</svg>' || { echo "FAIL: SVG incomplete"; exit 1; }
[ "$(grep -c '<rect' "$T/c.svg")" -eq 9 ] || { echo "FAIL: SVG bars"; exit 1; }
grep -q "runs per configuration; sizes in MiB" "$T/c.svg" || { echo "FAIL: SVG subtitle"; exit 1; }
grep -q "weights MiB" "$T/table.txt" || { echo "FAIL: table units"; exit 1; }
"$CARDINAL" compare "$FIX" --configs none default --runs 1 --json > "$T/c.json"
grep -q '"configuration": "default"' "$T/c.json" || { echo "FAIL: JSON"; exit 1; }
if "$CARDINAL" compare "$FIX" --configs none fold-everything 2> "$T/err"; then
  echo "FAIL: a bad configuration was accepted"; exit 1
fi
grep -q "unknown pass 'fold-everything'" "$T/err" || { echo "FAIL: bad-config message"; exit 1; }
"$CARDINAL" inspect "$FIX" --dot "$T/g.dot" > /dev/null
# inspect --schedule: each row names its ONNX node and output shape, and a
# legend says what the columns mean.
"$CARDINAL" inspect "$FIX" --schedule > "$T/sched.txt"
grep -q "'/conv0/Conv' f32 1x16x32x32" "$T/sched.txt" || { echo "FAIL: schedule rows"; exit 1; }
grep -q '^kc: input-channel blocks' "$T/sched.txt" || { echo "FAIL: schedule legend"; exit 1; }
head -1 "$T/g.dot" | grep -q '^digraph cardinal {' && tail -1 "$T/g.dot" | grep -q '^}$' ||
  { echo "FAIL: DOT file"; exit 1; }
grep -q 'Conv + residual + Relu\|Conv + scaled residual + Relu' "$T/g.dot" || { echo "FAIL: DOT epilogues"; exit 1; }
# run --profile: one row per kernel (20 nodes, the Reshape an alias: 19).
"$CARDINAL" run "$FIX" --input "$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11.input.npy" \
  --profile --runs 3 > "$T/prof.txt"
cat "$T/prof.txt"
grep -q 'ms/run  share  GFLOP/s  %peak  kernel' "$T/prof.txt" || { echo "FAIL: profile header"; exit 1; }
grep -q 'of the [0-9.]* GFLOP/s FMA peak measured on one core' "$T/prof.txt" ||
  { echo "FAIL: profile peak"; exit 1; }
grep -q "conv3x3_f32_[a-z0-9]*_[0-9]*x[0-9]*_n0 Conv" "$T/prof.txt" || { echo "FAIL: profile rows"; exit 1; }
# One row per kernel: every node but the alias (the Reshape), Reorders included.
rows=$(grep -c '_n[0-9]* ' "$T/prof.txt")
grep -q "in $rows kernels" "$T/prof.txt" && [ "$rows" -ge 19 ] ||
  { echo "FAIL: profile kernel count ($rows rows)"; exit 1; }
# On threads: each kernel's slowest share beside thread 0's, and each
# thread's time at barriers (no share is slower than the slowest).
"$CARDINAL" run "$FIX" --input "$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11.input.npy" \
  --profile --runs 3 --threads 2 > "$T/prof2.txt"
cat "$T/prof2.txt"
grep -q 'ms/run  share  GFLOP/s  %peak  slowest  kernel' "$T/prof2.txt" || { echo "FAIL: threaded profile header"; exit 1; }
grep -q '^on 2 threads: the slowest thread.s shares add up to [0-9.]* ms a run (thread 0.s to [0-9.]*); time waited at barriers: thread 0 [0-9.]* ms, thread 1 [0-9.]* ms$' "$T/prof2.txt" ||
  { echo "FAIL: threaded profile footer"; exit 1; }
awk '/_n[0-9]+ / { if ($5 + 0 < $1 + 0) bad = 1; n++ } END { exit bad || n < 19 }' "$T/prof2.txt" ||
  { echo "FAIL: a slowest share under thread 0's"; exit 1; }
# Precision: the digits ResNeXt (tests/models/digits) in fp32 and int8,
# calibrated on its 64 calibration images, its accuracy against fp32 over 8
# of them (each evaluation input is a run of the row's generated code; the
# tests run without the build cache, so each builds): the int8 row has
# under 30 % of the weight bytes, the arg-max of all 8, above 30 dB.
DIG=$SRC/tests/models/digits
mkdir "$T/eval"
for i in 000 009 018 027 036 045 054 063; do cp "$DIG/calib/calib_$i.npy" "$T/eval/"; done
"$CARDINAL" compare "$DIG/digits_resnext.onnx" --configs default --precision fp32,int8 \
  --calibrate "$DIG/calib" --eval "$T/eval" --quiet --runs 2 --csv "$T/p.csv" --svg "$T/p.svg" \
  > "$T/p.txt"
cat "$T/p.txt"
grep -q 'rel. error   top-1  SQNR dB' "$T/p.txt" || { echo "FAIL: accuracy columns"; exit 1; }
awk -F, 'NR == 2 { w = $5; ok = $2 == "fp32" } NR == 3 { ok = ok && $2 == "int8" && $5 < 0.3 * w &&
         $12 == 8 && $14 == 8 && $15 > 30 } END { exit !ok }' "$T/p.csv" ||
  { echo "FAIL: int8 row"; cat "$T/p.csv"; exit 1; }
grep -q 'top-1 8/8, SQNR' "$T/p.svg" || { echo "FAIL: SVG accuracy"; exit 1; }
if "$CARDINAL" compare "$DIG/digits_resnext.onnx" --precision fp32,int8 2> "$T/err"; then
  echo "FAIL: int8 without calibration accepted"; exit 1
fi
grep -q -- "--precision int8 needs --calibrate DIR" "$T/err" || { echo "FAIL: calibration message"; cat "$T/err"; exit 1; }
# bench: --rounds R rounds of Cardinal's runs (then ONNX Runtime's, when it
# is installed); the median printed is the median of the rounds' medians,
# the ratio the median of the rounds' ratios.
"$CARDINAL" bench "$FIX" --runs 2 --rounds 3 --no-peer > "$T/b.txt" 2> /dev/null
cat "$T/b.txt"
[ "$(grep -c '^round [123]: cardinal [0-9.]* ms$' "$T/b.txt")" -eq 3 ] || { echo "FAIL: bench rounds"; exit 1; }
awk '/^round/ { v[n++] = $4 } /^cardinal / { m = $2 }
     END { for (i = 0; i < n; i++) for (k = i + 1; k < n; k++) if (v[k] < v[i]) { t = v[i]; v[i] = v[k]; v[k] = t }
           exit !(n == 3 && m == v[1]) }' "$T/b.txt" || { echo "FAIL: bench median of rounds"; exit 1; }
grep -q '^onnxruntime   not measured: --no-peer' "$T/b.txt" || { echo "FAIL: bench --no-peer"; exit 1; }
# The weights in a blob by default (heap memory, as ONNX Runtime holds
# them); embedded in the program when asked.
"$CARDINAL" bench "$FIX" --runs 1 --rounds 1 --no-peer --weights embed > "$T/b.txt" 2> /dev/null
grep -q '^round 1: cardinal [0-9.]* ms$' "$T/b.txt" || { echo "FAIL: bench --weights embed"; exit 1; }
"$CARDINAL" bench --help | grep -q 'blob (default: in heap memory' || { echo "FAIL: bench --help on --weights"; exit 1; }
if "$CARDINAL" bench "$FIX" --rounds 0 2> "$T/err"; then
  echo "FAIL: --rounds 0 accepted"; exit 1
fi
grep -q -- "--rounds takes a count from 1 to 100, not 0" "$T/err" || { echo "FAIL: --rounds message"; cat "$T/err"; exit 1; }
if command -v node > /dev/null && [ -d "${ORT_DIR:-/opt/ort}/node_modules/onnxruntime-node" ]; then
  "$CARDINAL" bench "$FIX" --runs 2 --rounds 2 > "$T/b.txt" 2> /dev/null
  cat "$T/b.txt"
  [ "$(grep -c '^round [12]: cardinal [0-9.]* ms, onnxruntime [0-9.]* ms, ratio [0-9.]*$' "$T/b.txt")" -eq 2 ] ||
    { echo "FAIL: bench rounds with ONNX Runtime"; exit 1; }
  # Two rounds: the lower of the two ratios (the lower middle).
  awk '/^round/ { r = $NF + 0; lo = (n++ == 0 || r < lo) ? r : lo } /^ratio/ { q = $NF + 0 }
       END { exit !(n == 2 && q == lo) }' "$T/b.txt" || { echo "FAIL: bench ratio of rounds"; exit 1; }
else
  echo "(ONNX Runtime not installed: bench timed without its peer)"
fi
echo "compare: ok"
