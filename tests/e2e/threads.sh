#!/bin/sh
# Static threads (--threads T): the outputs of the committed fixtures for
# T = 2, 3, 4, 7 are bit-identical to T = 1 (a split never changes the order
# of a reduction), on the native target and on scalar; so are those of a
# model whose threads claim the tails of each other's shares, on 2 threads
# and under ThreadSanitizer; a ThreadSanitizer
# build of the generated code finds no race; two models on three caller
# threads for 1000 runs each (one model's pool often busy), the embedder's
# own threads through NAME_run_part, and three callers running while a
# fourth thread stops and starts the pool 2000 times give the T = 1 bits,
# without deadlock; the same stress built with ThreadSanitizer finds no
# race; a build with --threads 1 links without pthreads.
# usage: threads.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for f in resnext_tiny_bn_op11 block_form_c; do
  for target in native scalar; do
    "$CARDINAL" run "$FIX/$f.onnx" --input "$FIX/$f.input.npy" --target $target \
      --output "$T/$f.$target.1.npy" > /dev/null 2>&1
    "$NPYCMP" "$T/$f.$target.1.npy" "$FIX/$f.expected.npy" 1e-4 > /dev/null
    for n in 2 3 4 7; do
      "$CARDINAL" run "$FIX/$f.onnx" --input "$FIX/$f.input.npy" --target $target \
        --threads $n --runs 3 --output "$T/$f.$target.$n.npy" > /dev/null 2>&1
      cmp -s "$T/$f.$target.1.npy" "$T/$f.$target.$n.npy" ||
        { echo "FAIL: $f on $target, $n threads: not the bits of 1 thread"; exit 1; }
    done
    echo "$f on $target: threads 2, 3, 4, 7 give the bits of 1 thread"
  done
done
# Claimed tails: the fixtures' layers are too small to claim (schedule.c),
# so a CIFAR ResNeXt-26 32x4d written in the DSL (seeded weights), 28 of
# whose layers on 2 threads let threads claim the tails of each other's
# shares: the bits of 1 thread on 2 threads, and under ThreadSanitizer
# (conformance_1 covers 3 threads, where some cases claim too).
NX=$SRC/examples/resnext/cifar/resnext26_32x4d.nx
IN=$FIX/resnext_tiny_bn_op11.input.npy
"$CARDINAL" inspect "$NX" --seed 3 --json --threads 2 > "$T/claims.json"
claims=$(grep -c '"claim_chunk": [1-9]' "$T/claims.json" || true)
[ "$claims" -ge 10 ] || { echo "FAIL: $claims layers of $NX claim tails on 2 threads"; exit 1; }
"$CARDINAL" run "$NX" --seed 3 --input "$IN" --output "$T/claim.1.npy" > /dev/null 2>&1
"$CARDINAL" run "$NX" --seed 3 --input "$IN" --threads 2 --runs 10 \
  --output "$T/claim.2.npy" > /dev/null 2>&1
cmp -s "$T/claim.1.npy" "$T/claim.2.npy" ||
  { echo "FAIL: claimed tails on 2 threads: not the bits of 1 thread"; exit 1; }
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$CARDINAL" run "$NX" --seed 3 --input "$IN" \
  --threads 2 --runs 5 --cc clang --cflags "-O1 -g -fsanitize=thread" \
  --output "$T/claim.tsan.npy" > /dev/null 2>&1
"$NPYCMP" "$T/claim.tsan.npy" "$T/claim.1.npy" 1e-4 > /dev/null
echo "claimed tails ($claims layers): 2 threads give the bits of 1 thread; tsan: no race"
# ThreadSanitizer (clang): the run harness drives the pool for 20 runs.
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$CARDINAL" run "$FIX/resnext_tiny_bn_op11.onnx" \
  --input "$FIX/resnext_tiny_bn_op11.input.npy" --threads 2 --runs 20 --cc clang \
  --cflags "-O1 -g -fsanitize=thread" --output "$T/tsan.npy" > /dev/null 2>&1
"$NPYCMP" "$T/tsan.npy" "$FIX/resnext_tiny_bn_op11.expected.npy" 1e-4 > /dev/null
echo "tsan: no race"
# The stress test: models a (the tiny ResNeXt) and b (the block), two threads each.
for m in a b; do
  f=resnext_tiny_bn_op11
  [ $m = b ] && f=block_form_c
  "$CARDINAL" build "$FIX/$f.onnx" -o "$T/$m" --name $m --threads 2 > /dev/null 2>&1
  "$NPYCMP" --raw "$FIX/$f.input.npy" "$T/$m.in.f32"
  "$NPYCMP" --raw "$T/$f.native.1.npy" "$T/$m.ref.f32"
done
cc -O2 -std=c99 -Wall -Wextra -Werror "$SRC/tests/e2e/threads_stress.c" -I"$T/a" -I"$T/b" \
  "$T/a/liba.a" "$T/b/libb.a" -lm -lpthread -o "$T/stress"
timeout 300 "$T/stress" "$T/a.in.f32" "$T/a.ref.f32" "$T/b.in.f32" "$T/b.ref.f32" 1000 2000
# The stress under ThreadSanitizer (clang): fewer runs, every report fatal.
for m in a b; do
  f=resnext_tiny_bn_op11
  [ $m = b ] && f=block_form_c
  "$CARDINAL" build "$FIX/$f.onnx" -o "$T/tsan_$m" --name $m --threads 2 --cc clang \
    --cflags "-O1 -g -fsanitize=thread" > /dev/null 2>&1
done
clang -O1 -g -fsanitize=thread -std=c99 -Wall -Wextra -Werror "$SRC/tests/e2e/threads_stress.c" \
  -I"$T/tsan_a" -I"$T/tsan_b" "$T/tsan_a/liba.a" "$T/tsan_b/libb.a" -lm -lpthread \
  -o "$T/stress_tsan"
TSAN_OPTIONS="halt_on_error=1 exitcode=66" timeout 300 "$T/stress_tsan" "$T/a.in.f32" \
  "$T/a.ref.f32" "$T/b.in.f32" "$T/b.ref.f32" 50 1000
echo "stress under tsan: no race"
# One thread: no pthreads anywhere.
"$CARDINAL" build "$FIX/resnext_tiny_bn_op11.onnx" -o "$T/one" --name net > /dev/null 2>&1
[ ! -f "$T/one/cardinal_rt_threads.c" ] || { echo "FAIL: a 1-thread build has the pool"; exit 1; }
nm "$T/one/libnet.a" > "$T/one.nm" # (a failing nm piped into grep would pass)
grep -q pthread "$T/one.nm" && { echo "FAIL: a 1-thread build uses pthreads"; exit 1; }
cc -O2 "$SRC/examples/embed/app.c" -I"$T/one" "$T/one/libnet.a" -lm -o "$T/app"
echo "threads: ok"
