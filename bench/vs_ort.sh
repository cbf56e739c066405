#!/bin/sh
# Cardinal against ONNX Runtime on one model, measured in the same run
# (the machine is shared and noisy: only the ratio means anything).
#   sh bench/vs_ort.sh [MODEL.onnx] [CFLAGS]
# Default model: torchvision resnext50_32x4d exported here (opset 13).
# Prints both latencies (1 thread) and the ratio Cardinal / ORT.
set -eu
cd "$(dirname "$0")/.."
T=${BENCH_DIR:-bench_out}
mkdir -p "$T"
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  MODEL=$T/resnext50_32x4d.onnx
  [ -f "$MODEL" ] || /usr/bin/python3 tests/models/export.py torchvision:resnext50_32x4d "$MODEL" --opset 13 > /dev/null
fi
if [ ! -d /opt/ort/node_modules/onnxruntime-node ]; then
  npm install --prefix /opt/ort --ignore-scripts onnxruntime-node@1.30.0 > /dev/null 2>&1
fi
rm -rf "$T/net"
build/cardinal build "$MODEL" -o "$T/net" --name net ${2:+--cflags "$2"} 2> /dev/null
cc -O2 examples/embed/app.c -I"$T/net" "$T/net/libnet.a" -lm -o "$T/app"
# Both use x[i] = sin(0.37 i) as the input.
c=$("$T/app" | sed 's/.*, \([0-9.]*\) ms per run.*/\1/')
o=$(node ../shared/peers/ort_time.js "$MODEL" 1)
echo "model $MODEL"
echo "cardinal (scalar, 1 thread, best of 5): $c ms"
echo "onnx runtime 1.30 (1 thread, median of 15): $o ms"
awk "BEGIN { printf \"ratio cardinal/ort: %.2f\n\", $c / $o }"
