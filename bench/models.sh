#!/bin/sh
# The benchmark (not a test): each model built for the target (default
# native) and timed by `cardinal bench` next to ONNX Runtime 1.30 in the same
# run, the same input, with 1 and with 2 threads (ONNX Runtime with as many
# intra-op threads); prints a table with the ratios Cardinal / ONNX Runtime
# (below 1: Cardinal is faster).  Machines are shared and noisy: only
# ratios measured in one run mean anything, and `cardinal bench` takes
# turns with ONNX Runtime, ROUNDS rounds of RUNS runs each (the ratio is the
# median of the rounds' ratios).
#
#   sh bench/models.sh [OUT_DIR] [MODELS] [TARGET]
#     MODELS default: torchvision:resnext50_32x4d torchvision:resnext101_32x8d
#                     torchvision:resnet50 article:resnext26_32x4d
#     THREADS (environment) default: "1 2"; OPSET (environment) default 13;
#     RUNS default 20, ROUNDS default 3
#
# The last row is the geometric mean of each ratio column.  After the table,
# the kernels each model would run one element at a time (a `_scalar_`
# kernel in `cardinal inspect --schedule`) on avx512 and on avx2, or "none".
#
# Models are exported once with torch.onnx (random seeded weights, $OPSET)
# into OUT_DIR (default bench_out).  ONNX Runtime: npm install --prefix
# /opt/ort --ignore-scripts onnxruntime-node@1.30.0 (installed when missing).
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-bench_out}
MODELS=${2:-"torchvision:resnext50_32x4d torchvision:resnext101_32x8d torchvision:resnet50 article:resnext26_32x4d"}
TARGET=${3:-native}
RUNS=${RUNS:-20}
ROUNDS=${ROUNDS:-3}
OPSET=${OPSET:-13}
THREADS=${THREADS:-"1 2"}
mkdir -p "$OUT"
if [ ! -d "${ORT_DIR:-/opt/ort}/node_modules/onnxruntime-node" ]; then
  npm install --prefix "${ORT_DIR:-/opt/ort}" --ignore-scripts onnxruntime-node@1.30.0 > /dev/null 2>&1
fi
head="| model | target |"
rule="|---|---|"
for t in $THREADS; do
  head="$head Cardinal ($t thr) | ONNX Runtime ($t thr) | ratio |"
  rule="$rule---|---|---|"
done
rows=""
scalar="" # models with a kernel that runs one element at a time, per target
ratios="" # "t ratio" pairs, for the geometric means
for spec in $MODELS; do
  name=${spec#*:}
  m=$OUT/$name.onnx
  [ -f "$m" ] || /usr/bin/python3 tests/models/export.py "$spec" "$m" --opset "$OPSET" > /dev/null
  row="| $name |"
  first=1
  for st in avx512 avx2; do
    k=$(build/cardinal inspect "$m" --schedule --no-size --target "$st" 2>/dev/null | awk '/^ *[0-9]+ / {
      for (i = 2; i <= NF; i++) if ($i ~ /^[a-z0-9_]+_scalar_/) print $i }')
    [ -z "$k" ] || scalar="$scalar$name ($st): $(echo $k)
"
  done
  for t in $THREADS; do
    b=$OUT/$name.t$t.bench
    build/cardinal bench "$m" --target "$TARGET" --runs "$RUNS" --rounds "$ROUNDS" --threads "$t" > "$b" 2> "$OUT/$name.log" ||
      { echo "$name: cardinal bench failed (see $OUT/$name.log)"; exit 1; }
    cat "$b"
    c=$(sed -n 's/^cardinal *\([0-9.]*\) ms.*/\1/p' "$b")
    o=$(sed -n 's/^onnxruntime *\([0-9.]*\) ms.*/\1/p' "$b")
    r=$(sed -n 's/^ratio cardinal\/onnxruntime \([0-9.]*\)/\1/p' "$b")
    if [ $first = 1 ]; then
      row="$row $(sed -n 's/^model .*, target \([a-z0-9]*\),.*/\1/p' "$b") |"
      first=0
    fi
    row="$row $c ms | ${o:-?} ms | ${r:-?} |"
    [ -n "$r" ] && ratios="$ratios $t $r"
  done
  rows="$rows$row
"
done
echo
echo "$head"
echo "$rule"
printf '%s' "$rows"
gm="| geometric mean | |"
for t in $THREADS; do
  gm="$gm | | $(echo "$ratios" | awk -v t="$t" '{ for (i = 1; i < NF; i += 2) if ($i == t) { s += log($(i + 1)); n++ } }
    END { if (n) printf "%.2f", exp(s / n); else printf "?" }') |"
done
echo "$gm"
echo
printf 'scalar kernels on avx512 and avx2: %s\n' "${scalar:-none}"
