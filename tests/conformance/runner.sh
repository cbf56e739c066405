#!/bin/sh
# The conformance runner fails what it must fail (issue 17): it is only
# worth its "0 failed" if a broken case cannot pass as "out of scope".
# Built from cases of the ONNX test data (copied, some damaged):
#   - a garbage model.onnx, a truncated one, test data that does not read, a
#     case folder without a model or without data: each fails the run;
#   - an op Cardinal does not support, a sequence input, another domain's
#     ops only: each is a skip, listed with its reason, and the run passes;
#   - --min-run N fails a run of fewer than N cases in scope;
#   - a target this machine cannot run exits 77 (ctest's skip), saying so.
# usage: runner.sh CONFORMANCE NODE_DATA_DIR
set -u
CONFORMANCE=$1 NODE=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 passes=0

# expect STATUS PATTERN DIR [OPTIONS...]: runs the runner (interpreter only,
# unless OPTIONS say otherwise) on DIR, checks the status and that stdout
# has PATTERN.
expect() {
  want=$1 pattern=$2 dir=$3
  shift 3
  "$CONFORMANCE" --no-codegen "$@" "$dir" > "$T/out" 2>&1
  got=$?
  if [ "$got" -ne "$want" ] || ! grep -q -- "$pattern" "$T/out"; then
    echo "FAIL: conformance $* $dir -> status $got (want $want, and '$pattern'):"
    cat "$T/out"
    fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}
# case NAME SOURCE: a copy of the test data's case SOURCE as folder NAME of
# a data folder of its own; prints the folder.
case_of() {
  mkdir -p "$T/$1"
  cp -r "$NODE/$2" "$T/$1/$1"
  echo "$T/$1"
}

ok=$(case_of test_relu test_relu)
expect 0 "1 passed, 0 failed" "$ok"

# Broken cases fail, alone and beside a passing one.
d=$(case_of garbage test_relu)
awk 'BEGIN { srand(17); for (i = 0; i < 2000; i++) printf "%c", int(rand() * 256) }' \
  > "$d/garbage/model.onnx"
expect 1 "FAIL garbage: does not load: .*not a valid ONNX model" "$d"
cp -r "$ok/test_relu" "$d/"
expect 1 "1 passed, 1 failed" "$d"
d=$(case_of truncated test_relu)
head -c 20 "$NODE/test_relu/model.onnx" > "$d/truncated/model.onnx"
expect 1 "FAIL truncated: does not load" "$d"
d=$(case_of bad_output test_relu)
printf 'junk' > "$d/bad_output/test_data_set_0/output_0.pb"
expect 1 "FAIL bad_output: test data:" "$d"
d=$(case_of no_data test_relu)
rm -r "$d/no_data/test_data_set_0"
expect 1 "FAIL no_data: no test_data_set_\* folder" "$d"
mkdir -p "$T/no_model/no_model"
expect 1 "FAIL no_model: not a case: no model.onnx" "$T/no_model"
mkdir -p "$T/empty"
expect 2 "is empty or missing" "$T/empty"

# Out of scope: skipped, with the reason, and the run passes.
d=$(case_of scope test_acos)
cp -r "$NODE/test_identity_sequence" "$NODE/test_adagrad" "$NODE/test_relu" "$d/"
expect 0 "SKIP scope (op Acos)" "$d"
expect 0 "SKIP test_identity_sequence (a sequence, map or optional input)" "$d"
expect 0 "SKIP test_adagrad (another domain's ops only)" "$d"
expect 0 "1 cases in scope .*, 3 skipped" "$d"

# --min-run: the cases in scope (passed or failed) must reach it.
expect 0 "1 passed" "$d" --min-run 1
expect 1 "1 cases ran, --min-run asks for at least 2" "$d" --min-run 2
expect 1 "0 cases ran, --min-run asks for at least 1" "$d" --min-run 1 --shard 1/4

# A target whose code this machine cannot run: a skip (77), not a pass.
case $(uname -m) in
  x86_64) other=neon ;;
  *) other=avx2 ;;
esac
"$CONFORMANCE" --target "$other" "$ok" > "$T/out" 2>&1
got=$?
if [ "$got" -eq 77 ] && grep -q "SKIPPED: this machine cannot run target $other" "$T/out"; then
  passes=$((passes + 1))
else
  echo "FAIL: --target $other on $(uname -m) -> status $got, not the skip status 77:"
  cat "$T/out"
  fails=$((fails + 1))
fi

echo "conformance runner: $passes passed, $fails failed"
[ "$fails" -eq 0 ] && [ "$passes" -eq 16 ]
