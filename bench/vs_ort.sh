#!/bin/sh
# Cardinal against ONNX Runtime on one model, measured in the same run:
#   sh bench/vs_ort.sh [MODEL.onnx] [TARGET]
# Default model: torchvision resnext50_32x4d exported here (opset 13).  A
# shorthand for `cardinal bench`; bench/models.sh runs the whole table.
set -eu
cd "$(dirname "$0")/.."
T=${BENCH_DIR:-bench_out}
mkdir -p "$T"
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  MODEL=$T/resnext50_32x4d.onnx
  [ -f "$MODEL" ] || /usr/bin/python3 tests/models/export.py torchvision:resnext50_32x4d "$MODEL" --opset 13 > /dev/null
fi
if [ ! -d "${ORT_DIR:-/opt/ort}/node_modules/onnxruntime-node" ]; then
  npm install --prefix "${ORT_DIR:-/opt/ort}" --ignore-scripts onnxruntime-node@1.30.0 > /dev/null 2>&1
fi
build/cardinal bench "$MODEL" --target "${2:-native}"
