#!/bin/sh
# int8 against fp32 and against ONNX Runtime, measured in the same run:
#   sh bench/int8.sh MODEL.onnx CALIB_DIR [THREADS...]
# `cardinal quantize` writes MODEL's int8 QDQ model (calibrated on the .npy
# inputs of CALIB_DIR) once; then, for each thread count (default 1 2) and
# each C compiler (gcc, clang), `cardinal bench` times Cardinal's fp32 and
# int8 builds, each next to ONNX Runtime running the same file (so ONNX
# Runtime's int8 figure is its run of the same QDQ model).  Prints a table:
# ms, and int8 as a ratio to ONNX Runtime's fp32 and to its int8.
# Needs ONNX Runtime for node (see bench/ort_time.js); nothing is downloaded
# if it is installed.
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: sh bench/int8.sh MODEL.onnx CALIB_DIR [THREADS...]" >&2; exit 2; }
MODEL=$1 CALIB=$2
shift 2
THREADS=${*:-1 2}
T=${BENCH_DIR:-bench_out}
mkdir -p "$T"
if [ ! -d "${ORT_DIR:-/opt/ort}/node_modules/onnxruntime-node" ]; then
  npm install --prefix "${ORT_DIR:-/opt/ort}" --ignore-scripts onnxruntime-node@1.30.0 > /dev/null 2>&1
fi
Q=$T/$(basename "$MODEL" .onnx)_int8.onnx
echo "quantizing $MODEL on $CALIB -> $Q" >&2
build/cardinal quantize "$MODEL" -o "$Q" --calibrate "$CALIB" --quiet > "$T/int8_report.txt"
tail -1 "$T/int8_report.txt"
# "cardinal  X ms" and "onnxruntime  Y ms" of one `cardinal bench` run
ms() { awk -v w="$1" '$1 == w { print $2 }' "$2"; }
printf '%-7s %-5s %10s %10s %10s %10s %14s %14s\n' threads cc "ort fp32" "ort int8" \
  "card fp32" "card int8" "int8/ort fp32" "int8/ort int8"
for t in $THREADS; do
  for cc in gcc clang; do
    build/cardinal bench "$MODEL" --threads "$t" --cc "$cc" > "$T/b_fp32.txt" 2>/dev/null
    build/cardinal bench "$Q" --threads "$t" --cc "$cc" > "$T/b_int8.txt" 2>/dev/null
    of=$(ms onnxruntime "$T/b_fp32.txt") oi=$(ms onnxruntime "$T/b_int8.txt")
    cf=$(ms cardinal "$T/b_fp32.txt") ci=$(ms cardinal "$T/b_int8.txt")
    awk -v t="$t" -v cc="$cc" -v of="$of" -v oi="$oi" -v cf="$cf" -v ci="$ci" 'BEGIN {
      printf "%-7s %-5s %10.2f %10.2f %10.2f %10.2f %14.2f %14.2f\n", t, cc, of, oi, cf, ci,
             ci / of, ci / oi }'
  done
done
