#!/bin/sh
# The build cache of `cardinal run` and `inspect` (compiler/cache.c):
#   - a second run of the same model skips the C compiler and gives the same
#     bits; so does a touched but unchanged model file;
#   - anything the build reads changes the key: other flags, threads, another
#     model, --weights embed; --no-cache neither reads nor writes it;
#   - inspect keeps its code and stack measurement the same way;
#   - CARDINAL_CACHE_MAX bounds it (least recently used go first), and
#     CARDINAL_CACHE_DIR=off turns it off;
#   - what it runs is what it built (issue 17): a program put in an entry
#     in place of the built one, an entry replaced by a link to a folder
#     holding one, an entry others can write, are never run (built again,
#     the right output); a cache folder others can write, or another
#     user's, is not used, with a warning saying what to do.
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
entries() { ls "$CARDINAL_CACHE_DIR" | grep -c '^[0-9a-f]\{64\}$' || true; }

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

echo "== what it runs is what it built"
export CARDINAL_CACHE_DIR="$T/cache2"
cp "$FIX/resnext_tiny_bn_op11.onnx" "$T/m.onnx"
run_expect built "$T/e.npy" "$T/m.onnx"
E=$CARDINAL_CACHE_DIR/$(ls "$CARDINAL_CACHE_DIR" | grep '^[0-9a-f]\{64\}$')
[ -x "$E/run" ] || fail "no program in the entry $E"
[ "$(stat -c %a "$CARDINAL_CACHE_DIR")" = 700 ] || fail "the cache folder is not mode 700"
mkdir "$T/evil"
printf '#!/bin/sh\ntouch "%s/pwned"\n' "$T" > "$T/evil/run"
chmod 700 "$T/evil/run"
cp "$E/manifest" "$T/evil/manifest"
cp "$T/evil/run" "$E/run"
run_expect built "$T/f.npy" "$T/m.onnx"
[ ! -e "$T/pwned" ] || fail "a program put in an entry was run"
cmp "$T/e.npy" "$T/f.npy" || fail "other bits after a changed entry"
run_expect cached "$T/f.npy" "$T/m.onnx"
E=$CARDINAL_CACHE_DIR/$(ls "$CARDINAL_CACHE_DIR" | grep '^[0-9a-f]\{64\}$')
rm -rf "$E" && ln -s "$T/evil" "$E"
run_expect built "$T/f.npy" "$T/m.onnx"
[ ! -e "$T/pwned" ] || fail "a program behind a link in the cache was run"
[ ! -L "$E" ] || fail "the link in the cache is still there"
chmod g+w "$E"
run_expect built "$T/f.npy" "$T/m.onnx"
cmp "$T/e.npy" "$T/f.npy" || fail "other bits after an entry others could write"
chmod 777 "$CARDINAL_CACHE_DIR"
run_expect built "$T/f.npy" "$T/m.onnx"
grep -q "build cache $CARDINAL_CACHE_DIR can be written by others (mode 777).*chmod go-w" "$T/err" ||
  fail "no warning for a cache others can write: $(cat "$T/err")"
run_expect built "$T/f.npy" "$T/m.onnx"
chmod 700 "$CARDINAL_CACHE_DIR"
run_expect cached "$T/f.npy" "$T/m.onnx"
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
  chown nobody "$CARDINAL_CACHE_DIR"
  run_expect built "$T/f.npy" "$T/m.onnx"
  grep -q "build cache $CARDINAL_CACHE_DIR belongs to another user" "$T/err" ||
    fail "no warning for another user's cache: $(cat "$T/err")"
  chown "$(id -u)" "$CARDINAL_CACHE_DIR"
fi
[ ! -e "$T/pwned" ] || fail "a planted program was run"
export CARDINAL_CACHE_DIR="$T/cache"

echo "== bounds"
CARDINAL_CACHE_MAX=1 "$CARDINAL" run "$T/m.onnx" --input "$IN" --cflags -O2 > /dev/null 2>&1
[ "$(entries)" = 1 ] || fail "CARDINAL_CACHE_MAX=1 kept $(entries) entries"
rm -rf "$CARDINAL_CACHE_DIR"
CARDINAL_CACHE_DIR=off "$CARDINAL" run "$T/m.onnx" --input "$IN" > /dev/null 2>&1
[ ! -e "$T/cache" ] || fail "CARDINAL_CACHE_DIR=off made a cache"
echo "cache: ok"
