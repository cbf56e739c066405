#!/bin/sh
# DSL models with PyTorch weights (not part of the default suite): for
# torchvision's resnext50_32x4d, resnext101_32x8d and resnet50, saves the
# state_dict as safetensors and exports the same model to ONNX, builds
# examples/resnext/NAME.nx with --weights W.safetensors, runs it through the
# embedding example, and compares with ONNX Runtime on the ONNX export (1e-4
# of the output's magnitude, same arg-max).
#   sh tests/models/dsl_sweep.sh [OUT_DIR] [MODELS]
set -u
cd "$(dirname "$0")/../.."
OUT=${1:-dsl_sweep_out}
MODELS=${2:-"resnext50_32x4d resnext101_32x8d resnet50"}
ORT_JS=${ORT_JS:-../shared/peers/ort_time.js}
mkdir -p "$OUT"
if [ ! -d /opt/ort/node_modules/onnxruntime-node ]; then
  npm install --prefix /opt/ort --ignore-scripts onnxruntime-node@1.30.0 >/dev/null 2>&1
fi
pass=0 fail=0
for m in $MODELS; do
  d=$OUT/$m
  mkdir -p "$d"
  /usr/bin/python3 tests/models/export.py "torchvision:$m" "$d/model.onnx" --opset 13 \
    --safetensors "$d/weights.safetensors" > "$d/export.log" 2>&1 || { echo "$m: export failed"; fail=$((fail + 1)); continue; }
  build/cardinal inspect "examples/resnext/$m.nx" --weights "$d/weights.safetensors" --json > "$d/inspect.json"
  t0=$(date +%s.%N)
  if ! build/cardinal build "examples/resnext/$m.nx" --weights "$d/weights.safetensors" -o "$d/net" --name net > "$d/build.log" 2>&1; then
    echo "$m: build failed: $(tail -1 "$d/build.log")"; fail=$((fail + 1)); continue
  fi
  t1=$(date +%s.%N)
  cc -O2 examples/embed/app.c -I"$d/net" "$d/net/libnet.a" -lm -o "$d/app"
  build/tests/npycmp --raw "$d/model.input.npy" "$d/in.f32"
  "$d/app" "$d/in.f32" "$d/out.f32" > /dev/null
  node "$ORT_JS" "$d/model.onnx" 1 "$d/in.f32" --dump "$d/ort.f32" > /dev/null
  if r=$(build/tests/npycmp "$d/out.f32" "$d/ort.f32" 1e-4); then pass=$((pass + 1)); else fail=$((fail + 1)); fi
  printf '%-20s build %5.1f s  params %s  macs %s  %s\n' "$m" "$(awk "BEGIN { print $t1 - $t0 }")" \
    "$(sed -n 's/.*"source_parameters": \([0-9]*\).*/\1/p' "$d/inspect.json")" \
    "$(sed -n 's/.*"macs": \([0-9]*\).*/\1/p' "$d/inspect.json")" "$r"
  rm -rf "$d/net" "$d/app"
done
echo "dsl sweep: $pass passed, $fail failed"
[ $fail -eq 0 ]
