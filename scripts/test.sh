#!/bin/sh
# Set-up, then the whole default test suite (CUnit suites, the ONNX
# conformance runner, end-to-end ResNeXt tests, error tests) with CTest.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure
