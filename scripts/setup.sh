#!/bin/sh
# Installs what Cardinal needs on Debian 12 (only what is missing) and builds
# it into build/.  Run as root, or with sudo available.
#   sh scripts/setup.sh           what building, the demo and exporting models need
#   sh scripts/setup.sh --tests   and what the test suite needs besides: clang (the
#                                 generated code is compiled by both compilers; the
#                                 sanitizer build), the ONNX conformance data, the
#                                 AArch64 cross compiler and qemu-user, clang's
#                                 sanitizer and fuzzer runtimes
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake pkg-config flex bison protobuf-c-compiler libprotobuf-c-dev \
libonnx-dev libcunit1-dev python3-numpy python3-onnx python3-torch python3-torchvision"
if [ "${1:-}" = "--tests" ]; then
  PACKAGES="$PACKAGES clang libonnx-testdata gcc-aarch64-linux-gnu qemu-user libclang-rt-14-dev"
fi

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
sh scripts/build.sh build
test -x build/cardinal
echo "setup: done ($(build/cardinal --version))"
