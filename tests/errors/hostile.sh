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
# --max-workspace 0 and --max-weights 0 meant "no limit", silently.
expect 2 "--max-workspace takes a positive byte count (e.g. 65536, 64K, 8M), not 0" \
  "$CARDINAL" compile "$FIX" -o "$T/ws0" --max-workspace 0
expect 2 "--max-weights takes a positive byte count" "$CARDINAL" inspect "$FIX" --max-weights 0

# 6. terminal escapes: names from a file (node, input and output names, a
# DSL label, a safetensors tensor) carrying ESC ]0;...BEL (retitles the
# terminal) and ESC [2J (clears it) are printed escaped, never raw.
# The ONNX models are written here, protobuf by hand (no Python needed).
byte() { printf "\\$(printf '%03o' "$1")"; }
varint() { v=$1; while [ "$v" -ge 128 ]; do byte $(((v & 127) | 128)); v=$((v >> 7)); done; byte "$v"; }
vfield() { varint $(($1 * 8)); varint "$2"; }              # vfield FIELD N: a varint
ld() { # ld FIELD: a length-delimited field holding stdin
  f=$(mktemp "$T/pb.XXXXXX"); cat > "$f"
  varint $(($1 * 8 + 2)); varint "$(wc -c < "$f")"; cat "$f"; rm -f "$f"
}
value_info() { # value_info NAME N: a float32 [N]
  printf '%s' "$1" | ld 1
  { { vfield 1 1; vfield 1 "$2" | ld 1 | ld 2; } | ld 1; } | ld 2
}
esc_model() { # esc_model OP > FILE: x -> OP -> y, the three names carrying escapes
  vfield 1 8
  { { printf 'x\033[2J' | ld 1; printf 'y\033[31m' | ld 2; printf '\033]0;pwned\007' | ld 3
      printf '%s' "$1" | ld 4; } | ld 1
    printf 'g' | ld 2
    value_info "$(printf 'x\033[2J')" 4 | ld 11
    value_info "$(printf 'y\033[31m')" 4 | ld 12; } | ld 7
  vfield 2 13 | ld 8
}
no_controls() { # no_controls FILE...: no control character but newline
  for f in "$@"; do
    if tr -d '\n' < "$f" | LC_ALL=C grep -q '[[:cntrl:]]'; then
      echo "FAIL: a raw control character in $f:"; od -c "$f" | head -20; fails=$((fails + 1))
    else
      passes=$((passes + 1))
    fi
  done
}
esc_model Relu > "$T/esc.onnx"
esc_model Frob > "$T/esc_bad.onnx"
expect 0 "" "$CARDINAL" inspect "$T/esc.onnx" --no-size
no_controls "$T/stdout" "$T/stderr"
grep -q "input  0   'x\\\\x1b\[2J' float32\[4\]" "$T/stdout" || { echo "FAIL: inspect: the input name"; cat "$T/stdout"; fails=$((fails + 1)); }
expect 1 "first '\\\\x1b\]0;pwned\\\\x07' (opset [0-9]*): not supported" "$CARDINAL" inspect "$T/esc_bad.onnx"
no_controls "$T/stderr"
printf '\000\000\200\077\000\000\000\100\000\000\100\100\000\000\200\100' > "$T/four.bin"
expect 0 "" "$CARDINAL" run "$T/esc.onnx" --input "$T/four.bin" --profile --target scalar --runs 1
no_controls "$T/stdout" "$T/stderr"
grep -q "output 0 'y\\\\x1b\[31m' float32\[4\]" "$T/stdout" &&
  grep -q "Relu '\\\\x1b\]0;pwned\\\\x07'" "$T/stdout" ||
  { echo "FAIL: run --profile: the output and node names"; cat "$T/stdout"; fails=$((fails + 1)); }
printf 'model m(x: f32[1, 2, 4, 4]) {\n  y = x -> ["\033]0;pwned\007"]: conv(2, k=1)\n  z = x -> ["\033]0;pwned\007"]: conv(2, k=1)\n  return y + z\n}\n' > "$T/esc.nx"
expect 1 "label '\\\\x1b\]0;pwned\\\\x07' already names a layer" "$CARDINAL" inspect "$T/esc.nx"
no_controls "$T/stderr"
json='{"x\u001b[2J":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
{ byte ${#json}; printf '\000\000\000\000\000\000\000%s\000\000\000\000' "$json"; } > "$T/esc.safetensors"
printf 'model m(x: f32[1, 2]) {\n  return relu(x)\n}\n' > "$T/plain.nx"
expect 1 "tensor 'x\\\\x1b\[2J' is not a parameter" "$CARDINAL" inspect "$T/plain.nx" --weights "$T/esc.safetensors"
no_controls "$T/stderr"

# 7. a .nx model is read once, with the source's 16 MiB limit: a FIFO was
# opened a second time (for its hash) and blocked forever; /dev/zero was
# read to 4 GiB, then the buffer doubled to 8 GiB, before it failed.
mkfifo "$T/fifo.nx"
printf 'model m(x: f32[1, 2]) {\n  return relu(x)\n}\n' > "$T/fifo.nx" &
writer=$!
expect 0 "" timeout 20 "$CARDINAL" inspect "$T/fifo.nx" --no-size
kill "$writer" 2> /dev/null
grep -q "^nodes       1" "$T/stdout" || { echo "FAIL: the FIFO's model"; fails=$((fails + 1)); }
ln -s /dev/zero "$T/zero.nx"
if /usr/bin/time -f %M true > /dev/null 2>&1; then # GNU time: the peak RSS, in KiB
  expect 1 "cannot read: larger than 16 MiB" timeout 20 /usr/bin/time -o "$T/rss" -f %M \
    "$CARDINAL" inspect "$T/zero.nx"
  rss=$(tail -n 1 "$T/rss") # after "Command exited with non-zero status 1"
  check "/dev/zero as a .nx: bounded memory ($rss KiB)" [ "$rss" -lt 300000 ]
else
  expect 1 "cannot read: larger than 16 MiB" timeout 20 "$CARDINAL" inspect "$T/zero.nx"
fi

echo "hostile cli: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
