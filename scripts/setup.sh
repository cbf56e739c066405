#!/bin/sh
# Installs what Cardinal needs on Debian 12 (only what is missing) and builds
# it into build/.  Run as root, or with sudo available.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake pkg-config clang flex bison protobuf-c-compiler libprotobuf-c-dev \
libonnx-dev libonnx-testdata libcunit1-dev python3-numpy python3-onnx python3-torch \
python3-torchvision gcc-aarch64-linux-gnu qemu-user libclang-rt-14-dev"

missing=""
for p in $PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

echo "setup: building into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# The build's status is its own (piped into grep it was grep's: a failed
# build left the previous binaries to test); warnings are shown.
cmake --build build -j"$(nproc)" > build/build.log 2>&1 ||
  { cat build/build.log; echo "setup: the build failed"; exit 1; }
grep -E "warning" build/build.log || true
test -x build/cardinal
echo "setup: done ($(build/cardinal --version))"
