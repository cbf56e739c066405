#!/bin/sh
# Cardinal as other projects get it: `cmake --install` into a fresh prefix,
# then the project in tests/e2e/package (outside this tree, in a fresh
# folder) with find_package(Cardinal) and cardinal_add_model:
#   - builds, runs, and both models give PyTorch's output;
#   - building again with nothing touched runs nothing; touching the model
#     regenerates and relinks; changing an option (WEIGHTS blob, THREADS 2)
#     regenerates, with the same output;
#   - a cross build to AArch64 (the host's cardinal generates, the cross
#     compiler compiles, neon kernels) runs under qemu-user, same output;
#   - the build tree is a package too (Cardinal_DIR=<build folder>);
#   - cardinal.pc and the man page are installed and work.
# usage: package.sh BUILD_DIR NPYCMP SOURCE_DIR
set -eu
BUILD=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
GEN=""
command -v ninja > /dev/null && GEN="-G Ninja"

echo "== cmake --install into a fresh prefix"
cmake --install "$BUILD" --prefix "$T/prefix" > /dev/null
for f in bin/cardinal lib/libcardinal_rt.a include/cardinal_rt.h lib/cmake/Cardinal/CardinalConfig.cmake \
    lib/pkgconfig/cardinal.pc share/man/man1/cardinal.1 share/cardinal/runtime/cardinal_rt.c; do
  [ -e "$T/prefix/$f" ] || fail "not installed: $f"
done
"$T/prefix/bin/cardinal" --version

mkdir "$T/proj"
cp "$SRC/tests/e2e/package/CMakeLists.txt" "$SRC/tests/e2e/package/main.c" "$T/proj/"
cp "$FIX.onnx" "$T/proj/model.onnx"
"$NPYCMP" --raw "$FIX.input.npy" "$T/in.f32"

# check DIR [RUNNER]: runs DIR/app on the input, both outputs against PyTorch.
check() {
  ${2:-} "$1/app" "$T/in.f32" "$T/y1.f32" "$T/y2.f32"
  "$NPYCMP" "$T/y1.f32" "$FIX.expected.npy" 1e-4
  "$NPYCMP" "$T/y2.f32" "$FIX.expected.npy" 1e-4
}
# build DIR LOG: builds, keeps the log.
build() { cmake --build "$1" > "$2" 2>&1 || { cat "$2"; fail "build of $1"; }; }
stamp() { stat -c %Y.%y "$1"; }

echo "== native: configure, build, run"
cmake -S "$T/proj" -B "$T/native" $GEN -DCMAKE_PREFIX_PATH="$T/prefix" -DCMAKE_BUILD_TYPE=Release > /dev/null
build "$T/native" "$T/log1"
grep -q "cardinal: compiling model.onnx to C (net, native, weights embed)" "$T/log1" || fail "net not compiled"
grep -q "cardinal: compiling model.onnx to C (second, native, weights section)" "$T/log1" ||
  fail "second not compiled"
check "$T/native"

echo "== again, nothing touched: nothing runs"
sleep 1
app=$(stamp "$T/native/app") h=$(stamp "$T/native/cardinal/net/net.c")
build "$T/native" "$T/log2"
! grep -q "cardinal: compiling" "$T/log2" || fail "regenerated with nothing touched"
[ "$(stamp "$T/native/app")" = "$app" ] || fail "relinked with nothing touched"
[ "$(stamp "$T/native/cardinal/net/net.c")" = "$h" ] || fail "net.c rewritten with nothing touched"

echo "== the model touched: regenerated, relinked"
touch "$T/proj/model.onnx"
build "$T/native" "$T/log3"
grep -q "cardinal: compiling model.onnx to C (net" "$T/log3" || fail "not regenerated after touching the model"
[ "$(stamp "$T/native/app")" != "$app" ] || fail "not relinked after touching the model"
check "$T/native"

echo "== an option changed (WEIGHTS blob, THREADS 2): regenerated"
cmake "$T/native" -DNET_WEIGHTS=blob -DNET_THREADS=2 > /dev/null
build "$T/native" "$T/log4"
grep -q "cardinal: compiling model.onnx to C (net, native, weights blob)" "$T/log4" ||
  fail "not regenerated after an option changed"
! grep -q "cardinal: compiling model.onnx to C (second" "$T/log4" || fail "second regenerated too"
[ -f "$T/native/cardinal/net/net.weights" ] || fail "no weights blob"
grep -q "#define NET_THREADS 2" "$T/native/cardinal/net/net.h" || fail "not 2 threads"
check "$T/native"
"$T/native/app" "$T/in.f32" "$T/y1.f32" "$T/y2.f32" | grep -q "2 thread(s), weights blob" ||
  fail "app does not say blob, 2 threads"

echo "== cross to AArch64: the host's cardinal generates, the cross compiler builds, qemu runs"
if command -v aarch64-linux-gnu-gcc > /dev/null && command -v qemu-aarch64 > /dev/null; then
  cat > "$T/aarch64.cmake" << 'EOF'
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_EXE_LINKER_FLAGS_INIT -static)
EOF
  cmake -S "$T/proj" -B "$T/cross" $GEN -DCMAKE_TOOLCHAIN_FILE="$T/aarch64.cmake" \
    -DCardinal_DIR="$T/prefix/lib/cmake/Cardinal" -DCMAKE_BUILD_TYPE=Release > /dev/null
  build "$T/cross" "$T/log5"
  grep -q "cardinal: compiling model.onnx to C (net, neon, weights embed)" "$T/log5" ||
    fail "the cross build did not pick neon"
  readelf -h "$T/cross/app" | grep -q "Machine: *AArch64" || fail "not an AArch64 program"
  check "$T/cross" qemu-aarch64
  qemu-aarch64 "$T/cross/app" "$T/in.f32" "$T/y1.f32" "$T/y2.f32" | grep -q "^net: neon" ||
    fail "the cross program is not neon"
else
  echo "(no aarch64-linux-gnu-gcc or qemu-aarch64: cross build skipped)"
fi

echo "== the build tree as a package"
cmake -S "$T/proj" -B "$T/tree" $GEN -DCardinal_DIR="$BUILD" > /dev/null
build "$T/tree" "$T/log6"
check "$T/tree"

echo "== cardinal.pc and the man page"
export PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig"
cflags=$(pkg-config --cflags cardinal) libs=$(pkg-config --libs cardinal)
compiler=$(pkg-config --variable=cardinal cardinal)
"$compiler" --version > /dev/null || fail "pkg-config's cardinal does not run: $compiler"
"$compiler" compile "$T/proj/model.onnx" -o "$T/pc" --name net 2> /dev/null
# shellcheck disable=SC2086 # the flags are words
cc -O2 "$SRC/examples/embed/app.c" "$T/pc/net.c" "$T/pc/net_weights.c" -I"$T/pc" $cflags $libs -o "$T/pc/app"
"$T/pc/app" "$T/in.f32" "$T/y1.f32" > /dev/null
"$NPYCMP" "$T/y1.f32" "$FIX.expected.npy" 1e-4
pkg-config --libs --static cardinal | grep -q -- -lpthread || fail "no -lpthread for --static"
if command -v groff > /dev/null; then
  groff -man -Tascii -P-cbou -ww "$T/prefix/share/man/man1/cardinal.1" 2> "$T/man.err" > "$T/man.txt"
  [ ! -s "$T/man.err" ] || fail "the man page has warnings: $(cat "$T/man.err")"
  grep -q "cardinal_add_model" "$T/man.txt" || fail "the man page lacks cardinal_add_model"
fi
echo "package: ok"
