#!/bin/sh
# The long model sweep (not part of the default test suite): exports real
# models with torch.onnx, checks each with `cardinal inspect --verify` (the
# verifier re-infers every node after every pass), builds it with `cardinal
# build`, runs the result through the embedding example and compares it with
# ONNX Runtime on the same input (1e-4 of the output's magnitude, same
# arg-max); with REFERENCE=1 the reference interpreter (`cardinal run
# --reference`) is compared with ONNX Runtime too.  Prints one row per model
# and a closing "N passed, N failed" line.
#
#   [REFERENCE=1] [TARGETS="native avx2 scalar neon"] [MODES="eval keep-bn"]
#     sh tests/models/sweep.sh [OUT_DIR] [MODELS] [OPSETS]
#     MODELS default: "torchvision:resnext50_32x4d torchvision:resnext101_32x8d
#                      torchvision:resnet50 torchvision:shufflenet_v2_x1_0
#                      torchvision:mnasnet0_5 torchvision:convnext_tiny
#                      article:resnext26_2x64d article:resnext50_32x4d"
#     OPSETS default: "9 11 13 17"; each torchvision model is exported both in
#     eval mode (exporter folds Conv->BN) and with training=PRESERVE (BN kept).
#     A model written SPEC@N,M is exported at opsets N and M only.  MODES
#     picks the export modes (default both; one alone to resume a long
#     qemu sweep).
#
# Needs ONNX Runtime for node: npm install --prefix /opt/ort --ignore-scripts
# onnxruntime-node@1.30.0 (the script installs it when missing).
set -u
cd "$(dirname "$0")/../.."
OUT=${1:-sweep_out}
MODELS=${2:-"torchvision:resnext50_32x4d torchvision:resnext101_32x8d torchvision:resnet50 torchvision:shufflenet_v2_x1_0 torchvision:mnasnet0_5 torchvision:convnext_tiny article:resnext26_2x64d article:resnext50_32x4d"}
OPSETS=${3:-"9 11 13 17"}
REFERENCE=${REFERENCE:-0}
ORT_JS=${ORT_JS:-bench/ort_time.js}
# TARGETS: the code generation targets each model is built for (default
# native); neon is cross-compiled and run under qemu-user.
TARGETS=${TARGETS:-native}
MODES=${MODES:-"eval keep-bn"}
mkdir -p "$OUT"
if [ ! -d /opt/ort/node_modules/onnxruntime-node ]; then
  npm install --prefix /opt/ort --ignore-scripts onnxruntime-node@1.30.0 >/dev/null 2>&1
fi
pass=0 fail=0
printf '%-44s %8s %9s %9s  %s\n' model build_s run_ms ort_ms result
for spec in $MODELS; do
  opsets=$OPSETS
  case $spec in *@*) opsets=$(echo "${spec#*@}" | tr ',' ' '); spec=${spec%@*} ;; esac
  for opset in $opsets; do
    for mode in $MODES; do
      case $spec in article:*) [ $mode = eval ] && continue ;; esac
      tag=$(echo "$spec" | sed 's/torchvision:/tv_/; s/article:/article_/; s/segmentation:/seg_/; s/people:/people_/')_op${opset}_$mode
      d=$OUT/$tag
      mkdir -p "$d"
      flag=""
      [ $mode = keep-bn ] && flag=--keep-bn
      if ! /usr/bin/python3 tests/models/export.py "$spec" "$d/model.onnx" --opset "$opset" $flag > "$d/export.log" 2>&1; then
        printf '%-44s export failed (see %s)\n' "$tag" "$d/export.log"; fail=$((fail + 1)); continue
      fi
      build/tests/npycmp --raw "$d/model.input.npy" "$d/model.input.f32"
      if ! build/cardinal inspect "$d/model.onnx" --verify > "$d/verify.log" 2>&1; then
        printf '%-44s verify failed: %s\n' "$tag" "$(grep -m1 error "$d/verify.log")"; fail=$((fail + 1)); continue
      fi
      ort=$(node "$ORT_JS" "$d/model.onnx" 1 "$d/model.input.f32" --dump "$d/ort.f32" 2>&1)
      for target in $TARGETS; do
      CC=cc RUN=""
      [ "$target" = neon ] && CC=aarch64-linux-gnu-gcc RUN=qemu-aarch64
      t0=$(date +%s.%N)
      if ! build/cardinal build "$d/model.onnx" -o "$d/net" --name net --target "$target" --cc $CC > "$d/build.log" 2>&1; then
        printf '%-44s build failed: %s\n' "$tag/$target" "$(tail -1 "$d/build.log")"; fail=$((fail + 1)); continue
      fi
      t1=$(date +%s.%N)
      $CC -O2 examples/embed/app.c -I"$d/net" "$d/net/libnet.a" -lm -o "$d/app" ${RUN:+-static}
      run=$($RUN "$d/app" "$d/model.input.f32" "$d/out.f32" | sed 's/.*, \([0-9.]*\) ms per run.*/\1/')
      r="ok"
      cmp=$(build/tests/npycmp "$d/out.f32" "$d/ort.f32" 1e-4) || r="MISMATCH"
      if [ "$REFERENCE" = 1 ]; then
        build/cardinal run "$d/model.onnx" --input "$d/model.input.npy" --output "$d/ref.npy" \
          --reference > "$d/ref.log" 2>&1
        rcmp=$(build/tests/npycmp "$d/ref.npy" "$d/ort.f32" 1e-4) || r="MISMATCH"
        cmp="$cmp; reference: $(echo "$rcmp" | sed 's/npycmp: [a-zA-Z]*: //')"
      fi
      if [ "$r" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
      printf '%-44s %8.1f %9s %9s  %s: %s\n' "$tag/$target" "$(awk "BEGIN { print $t1 - $t0 }")" "$run" "$ort" "$r" \
        "$(echo "$cmp" | sed 's/npycmp: [a-zA-Z]*: //')"
      done
      rm -rf "$d/net" "$d/app"
    done
  done
done
echo "sweep: $pass passed, $fail failed"
[ $fail -eq 0 ]
