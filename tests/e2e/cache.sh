#!/bin/sh
# The build cache of `cardinal run` and `inspect` (compiler/cache.c):
#   - a second run of the same model skips the C compiler and gives the same
#     bits; so does a touched but unchanged model file;
#   - anything the build reads changes the key: other flags, threads, another
#     model, --weights embed; --no-cache neither reads nor writes it;
#   - inspect keeps its code and stack measurement the same way;
#   - CARDINAL_CACHE_MAX bounds it (least recently used go first), and
#     CARDINAL_CACHE_DIR=off turns it off.
# usage: cache.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export CARDINAL_CACHE_DIR="$T/cache"
fail() { echo "FAIL: $*"; exit 1; }
cp "$FIX/resnext_tiny_bn_op11.onnx" "$T/m.onnx"
IN=$FIX/resnext_tiny_bn_op11.input.npy

# run_expect cached|built OUT ARGS...: runs the model, checks what it said.
run_expect() {
  want=$1 out=$2
  shift 2
  "$CARDINAL" run "$@" --input "$IN" --output "$out" 2> "$T/err"
  if grep -q "the build was cached" "$T/err"; then got=cached; else got=built; fi
  [ "$got" = "$want" ] || fail "$* -> $got, not $want: $(cat "$T/err")"
  echo "run $*: $got"
}
entries() { ls "$CARDINAL_CACHE_DIR" | grep -c '^[0-9a-f]\{16\}$' || true; }

run_expect built "$T/a.npy" "$T/m.onnx"
run_expect cached "$T/b.npy" "$T/m.onnx"
cmp "$T/a.npy" "$T/b.npy" || fail "a cached build gives other bits"
"$NPYCMP" "$T/b.npy" "$FIX/resnext_tiny_bn_op11.expected.npy" 1e-4
touch "$T/m.onnx"
run_expect cached "$T/b.npy" "$T/m.onnx"
run_expect built "$T/c.npy" "$T/m.onnx" --cflags -O1
run_expect cached "$T/c.npy" "$T/m.onnx" --cflags -O1
run_expect built "$T/c.npy" "$T/m.onnx" --threads 2
cmp "$T/a.npy" "$T/c.npy" || fail "2 threads give other bits"
run_expect built "$T/c.npy" "$T/m.onnx" --weights embed
cmp "$T/a.npy" "$T/c.npy" || fail "embedded weights give other bits"
run_expect cached "$T/c.npy" "$T/m.onnx" --weights embed
n=$(entries)
run_expect built "$T/c.npy" "$T/m.onnx" --no-cache
[ "$(entries)" = "$n" ] || fail "--no-cache wrote an entry"
cp "$FIX/resnext_tiny_op9.onnx" "$T/m.onnx" # another model, the same path
run_expect built "$T/d.npy" "$T/m.onnx"
"$NPYCMP" "$T/d.npy" "$FIX/resnext_tiny_op9.expected.npy" 1e-4

echo "== inspect keeps its measurement"
"$CARDINAL" inspect "$T/m.onnx" --json > "$T/i1.json"
n=$(entries)
"$CARDINAL" inspect "$T/m.onnx" --json > "$T/i2.json"
[ "$(entries)" = "$n" ] || fail "a second inspect made another entry"
for i in 1 2; do grep -E '"(code|runtime_code|constant|stack)_bytes"' "$T/i$i.json" > "$T/s$i"; done
grep -q '"code_bytes": [0-9]' "$T/s2" || fail "no code_bytes"
cmp "$T/s1" "$T/s2" || fail "the cached measurement differs"

echo "== bounds"
CARDINAL_CACHE_MAX=1 "$CARDINAL" run "$T/m.onnx" --input "$IN" --cflags -O2 > /dev/null 2>&1
[ "$(entries)" = 1 ] || fail "CARDINAL_CACHE_MAX=1 kept $(entries) entries"
rm -rf "$CARDINAL_CACHE_DIR"
CARDINAL_CACHE_DIR=off "$CARDINAL" run "$T/m.onnx" --input "$IN" > /dev/null 2>&1
[ ! -e "$T/cache" ] || fail "CARDINAL_CACHE_DIR=off made a cache"
echo "cache: ok"
