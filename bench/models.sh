#!/bin/sh
# The benchmark of issue 8 (not a test): each model built for the target
# (default native) and timed by `cardinal bench` next to ONNX Runtime 1.30 in
# the same run, 1 thread, the same input; prints a table with the ratio
# Cardinal / ONNX Runtime (below 1: Cardinal is faster).  Machines are shared
# and noisy: only the ratio measured in one run means anything.
#
#   sh bench/models.sh [OUT_DIR] [MODELS] [TARGET]
#     MODELS default: torchvision:resnext50_32x4d torchvision:resnext101_32x8d
#                     torchvision:resnet50 article:resnext26_32x4d
#
# Models are exported once with torch.onnx (random seeded weights, opset 13)
# into OUT_DIR (default bench_out).  ONNX Runtime: npm install --prefix
# /opt/ort --ignore-scripts onnxruntime-node@1.30.0 (installed when missing).
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-bench_out}
MODELS=${2:-"torchvision:resnext50_32x4d torchvision:resnext101_32x8d torchvision:resnet50 article:resnext26_32x4d"}
TARGET=${3:-native}
RUNS=${RUNS:-20}
mkdir -p "$OUT"
if [ ! -d "${ORT_DIR:-/opt/ort}/node_modules/onnxruntime-node" ]; then
  npm install --prefix "${ORT_DIR:-/opt/ort}" --ignore-scripts onnxruntime-node@1.30.0 > /dev/null 2>&1
fi
rows=""
for spec in $MODELS; do
  name=${spec#*:}
  m=$OUT/$name.onnx
  [ -f "$m" ] || /usr/bin/python3 tests/models/export.py "$spec" "$m" --opset 13 > /dev/null
  build/cardinal bench "$m" --target "$TARGET" --runs "$RUNS" > "$OUT/$name.bench" 2> "$OUT/$name.log" ||
    { echo "$name: cardinal bench failed (see $OUT/$name.log)"; exit 1; }
  cat "$OUT/$name.bench"
  c=$(sed -n 's/^cardinal *\([0-9.]*\) ms.*/\1/p' "$OUT/$name.bench")
  o=$(sed -n 's/^onnxruntime *\([0-9.]*\) ms.*/\1/p' "$OUT/$name.bench")
  t=$(sed -n 's/^model .*, target \([a-z0-9]*\),.*/\1/p' "$OUT/$name.bench")
  r=$(sed -n 's/^ratio cardinal\/onnxruntime \([0-9.]*\)/\1/p' "$OUT/$name.bench")
  rows="$rows| $name | $t | $c ms | ${o:-?} ms | ${r:-?} |
"
done
echo
echo "| model | target | Cardinal (1 thread) | ONNX Runtime 1.30 (1 thread) | ratio |"
echo "|---|---|---|---|---|"
printf '%s' "$rows"
