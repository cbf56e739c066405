#!/bin/sh
# The command line on hostile input (issue 11): each case ends in a clean
# error naming the problem (exit status 1, or 2 for bad usage), never a
# crash, a hang or a file written where it should not be.  The models are
# the small files of tests/errors/hostile/ (make_hostile.py writes them).
# usage: hostile.sh CARDINAL SOURCE_DIR
set -u
CARDINAL=$1 SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
H=$SRC/tests/errors/hostile
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_op9.onnx
fails=0 passes=0

# expect STATUS PATTERN -- command...: runs it, checks status and stderr
# (an empty PATTERN checks the status only).
expect() {
  want=$1 pattern=$2
  shift 2
  "$@" > "$T/stdout" 2> "$T/stderr"
  got=$?
  if [ "$got" -ne "$want" ] || { [ -n "$pattern" ] && ! grep -q -- "$pattern" "$T/stderr"; }; then
    echo "FAIL: $* -> status $got (want $want), stderr:"; cat "$T/stderr"
    fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}
check() { # check DESCRIPTION CONDITION...
  what=$1
  shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

# 3. memory errors
printf '\000\000\200\077\000\000\000\100\000\000\100\100\000\000\200\100' > "$T/four.bin"
expect 1 "input 'x' is int64; only float32 inputs are fed from files" \
  "$CARDINAL" run "$H/int64_input.onnx" --input "$T/four.bin" --reference
expect 2 "-o needs a folder name" "$CARDINAL" compile "$FIX" -o ""

# 1. the tensor-size limit is one option
expect 1 "exceed the 1000-byte tensor limit (--max-tensor-bytes)" \
  "$CARDINAL" inspect "$FIX" --max-tensor-bytes 1000
expect 0 "" "$CARDINAL" inspect "$FIX" --max-tensor-bytes 100000
expect 2 "--max-tensor-bytes takes a positive byte count" "$CARDINAL" inspect "$FIX" --max-tensor-bytes 0

echo "hostile cli: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
