#!/bin/sh
# examples/embed built the three ways its README gives, from a fresh folder
# against a freshly installed prefix, on the committed CIFAR ResNeXt (CIFAR-10
# labels): CMake with cardinal_add_model, the Makefile with pkg-config, and
# `cardinal build` + cc.  Each classifies a PPM image and prints the same
# five classes with names; given the model's input as .npy, the first class
# is the interpreter's arg-max.  (CMake and cardinal build embed the
# weights in the assembler's form, the Makefile's compile the C array.)
# usage: embed.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD=$1 SRC=$2
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$BUILD" --prefix "$T/prefix" > /dev/null
CARDINAL=$T/prefix/bin/cardinal
mkdir "$T/src"
cp "$SRC"/examples/embed/classify.c "$SRC"/examples/embed/CMakeLists.txt "$SRC"/examples/embed/Makefile \
  "$SRC"/examples/embed/cifar10_classes.txt "$T/src/"
cp "$FIX.onnx" "$T/model.onnx"
LABELS=$T/src/cifar10_classes.txt
# A 40x30 PPM (P6): a diagonal gradient in red, stripes in green.
{
  printf 'P6\n# made by embed.sh\n40 30\n255\n'
  LC_ALL=C awk 'BEGIN { for (y = 0; y < 30; y++) for (x = 0; x < 40; x++)
    printf "%c%c%c", (x + y) * 3, (x % 8 < 4) ? 220 : 30, 255 - y * 8 }'
} > "$T/image.ppm"

echo "== 1. CMake with cardinal_add_model"
cmake -S "$T/src" -B "$T/cmake" -DMODEL="$T/model.onnx" -DCMAKE_PREFIX_PATH="$T/prefix" \
  -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$T/cmake" > "$T/cmake.log" 2>&1 || { cat "$T/cmake.log"; fail "CMake build"; }
"$T/cmake/classify" "$T/image.ppm" "$LABELS" | tee "$T/out1"
# The example enables ASM: the weights were assembled, not compiled.
[ -f "$T/cmake/cardinal/net/net_weights.S" ] && [ ! -e "$T/cmake/cardinal/net/net_weights.c" ] ||
  fail "CMake with ASM: the weights are not net_weights.S"

echo "== 2. the Makefile with pkg-config"
cp -r "$T/src" "$T/make"
PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" make -C "$T/make" MODEL="$T/model.onnx" > "$T/make.log" 2>&1 ||
  { cat "$T/make.log"; fail "make"; }
"$T/make/classify" "$T/image.ppm" "$LABELS" | tee "$T/out2"
PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" make -C "$T/make" MODEL="$T/model.onnx" | grep -q "up to date" ||
  fail "make rebuilt with nothing changed"

echo "== 3. cardinal build and cc"
(cd "$T" && "$CARDINAL" build model.onnx -o net --name net 2> build.log && cat build.log &&
  cc -O2 src/classify.c -Inet net/libnet.a -lm -o classify)
"$T/classify" "$T/image.ppm" "$LABELS" | tee "$T/out3"

for i in 1 2 3; do
  [ "$(wc -l < "$T/out$i")" -eq 5 ] || fail "way $i printed $(wc -l < "$T/out$i") lines, not 5"
  grep -q "^1\. class *[0-9] .*%  [a-z]" "$T/out$i" || fail "way $i: no labelled first class"
  awk '{ print $3, $5 }' "$T/out$i" > "$T/classes$i"
done
cmp "$T/classes1" "$T/classes2" || fail "CMake and make disagree"
cmp "$T/classes1" "$T/classes3" || fail "CMake and cardinal build + cc disagree"

echo "== the model's input as .npy"
want=$("$CARDINAL" run "$T/model.onnx" --input "$FIX.input.npy" --reference | sed -n 's/^  arg-max \([0-9]*\) .*/\1/p')
got=$("$T/cmake/classify" "$FIX.input.npy" | sed -n 's/^1\. class *\([0-9]*\) .*/\1/p')
[ -n "$want" ] && [ "$got" = "$want" ] || fail "top class $got, the interpreter's arg-max $want"
echo "embed: ok (top class $got)"
