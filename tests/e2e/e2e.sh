#!/bin/sh
# End-to-end test on a real ResNeXt exported by torch.onnx (the seed
# article's CIFAR model, tiny widths; fixtures made by make_fixtures.sh):
#   - generated C (`cardinal run`) and the interpreter (`--reference`) match
#     PyTorch's output to 1e-4 of its magnitude, same arg-max;
#   - for gcc and clang: `cardinal build` compiles warning-free under
#     -std=c99 -pedantic -Wall -Wextra -Werror, the embedding example links
#     against libnet.a, runs, and matches too -- with embedded weights and
#     with --weights blob;
#   - two compilations are byte-identical;
#   - with --passes none the output is just as right.
# usage: e2e.sh CARDINAL NPYCMP SOURCE_DIR FIXTURE_BASENAME
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3 NAME=$4
FIX=$SRC/tests/e2e/fixtures/$NAME
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
STRICT="-O2 -std=c99 -pedantic -Wall -Wextra -Werror"

echo "== $NAME: generated C via cardinal run"
"$CARDINAL" run "$FIX.onnx" --input "$FIX.input.npy" --output "$T/c.npy" --cflags "$STRICT"
"$NPYCMP" "$T/c.npy" "$FIX.expected.npy" 1e-4
echo "== $NAME: generated C without any pass (--passes none)"
"$CARDINAL" run "$FIX.onnx" --input "$FIX.input.npy" --output "$T/none.npy" --passes none --cflags "$STRICT"
"$NPYCMP" "$T/none.npy" "$FIX.expected.npy" 1e-4
echo "== $NAME: reference interpreter"
"$CARDINAL" run "$FIX.onnx" --input "$FIX.input.npy" --output "$T/ref.npy" --reference
"$NPYCMP" "$T/ref.npy" "$FIX.expected.npy" 1e-4

"$NPYCMP" --raw "$FIX.input.npy" "$T/in.f32"
for CC in gcc clang; do
  for W in embed blob; do
    echo "== $NAME: $CC, weights $W: build, link the embedding example, run"
    rm -rf "$T/out"
    "$CARDINAL" build "$FIX.onnx" -o "$T/out" --name net --weights $W --cc $CC --cflags "$STRICT"
    $CC $STRICT "$SRC/examples/embed/app.c" -I"$T/out" "$T/out/libnet.a" -lm -o "$T/app"
    (cd "$T/out" && "$T/app" "$T/in.f32" "$T/app.f32")
    "$NPYCMP" "$T/app.f32" "$FIX.expected.npy" 1e-4
  done
done

echo "== $NAME: byte-identical output"
"$CARDINAL" compile "$FIX.onnx" -o "$T/a" --name net
"$CARDINAL" compile "$FIX.onnx" -o "$T/b" --name net
diff -r "$T/a" "$T/b"
echo "e2e $NAME: ok"
