#!/bin/sh
# Set-up, then the whole default test suite (CUnit suites, the ONNX
# conformance runner, end-to-end ResNeXt tests, error tests) with CTest.
#
#   sh scripts/test.sh              the suite, on build/
#   sh scripts/test.sh --sanitize   the same suite on a clang build with
#                                   AddressSanitizer (leaks included) and
#                                   UndefinedBehaviorSanitizer, every report
#                                   fatal (build-sanitize/)
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --tests
if [ "${1:-}" = "--sanitize" ]; then
  echo "test: building build-sanitize/ (clang, ASan + UBSan)"
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
    > /dev/null
  sh scripts/build.sh build-sanitize
  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-sanitize -j"$(nproc)" --output-on-failure
  exit
fi
ctest --test-dir build -j"$(nproc)" --output-on-failure
