#!/bin/sh
# The project of tests/e2e/package built inside this tree, as a project
# that includes Cardinal with add_subdirectory builds it: both models give
# PyTorch's output.
# usage: subdirectory.sh APP NPYCMP SOURCE_DIR
set -eu
APP=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$NPYCMP" --raw "$FIX.input.npy" "$T/in.f32"
"$APP" "$T/in.f32" "$T/y1.f32" "$T/y2.f32"
"$NPYCMP" "$T/y1.f32" "$FIX.expected.npy" 1e-4
"$NPYCMP" "$T/y2.f32" "$FIX.expected.npy" 1e-4
