#!/bin/sh
# Embedded weights in the assembler's form (--embed-as incbin: NAME_weights.S
# includes NAME_weights.bin) and the C array's (--embed-as c), on the
# committed CIFAR ResNeXt, with gcc and clang:
#   - both forms put the same bytes in memory (the .bin and the C array's NUL
#     after it), at a 64-byte aligned address, and give bit-identical outputs;
#   - the symbol is the C array's: global object of SIZE + 1 bytes, its
#     section 64-byte aligned, and the linked program's stack not executable;
#   - which form each command writes: compile the C array, build and run the
#     assembler's for 1 MiB of weights or more (a compiler that cannot
#     assemble it gets the C array; so do smaller weights), and --embed-as
#     chooses; --embed-as with --weights blob is refused;
#   - the .S assembles for AArch64 (gcc, clang), Thumb and RISC-V (clang)
#     to the same symbol and section, and a Mach-O target gets the #error;
#   - an -flto build links (an object, not top-level asm in LTO bitcode).
# usage: incbin.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
STRICT="-O2 -std=c99 -pedantic -Wall -Wextra -Werror"
fail() { echo "FAIL: $*"; exit 1; }
"$NPYCMP" --raw "$FIX.input.npy" "$T/in.f32"

# Writes the NET_WEIGHTS_SIZE + 1 bytes at net_weights to argv[3] (after
# checking their alignment) and the output of one run on argv[1] to argv[2].
cat > "$T/drv.c" << 'EOF'
#include "net.h"
#include "cardinal_rt.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
extern const unsigned char net_weights[NET_WEIGHTS_SIZE + 1];
int main(int argc, char **argv) {
  static float x[NET_INPUT0_SIZE], y[NET_OUTPUT0_SIZE];
  const float *in[1] = {x};
  float *out[1] = {y};
  void *ws = cd_aligned_alloc(NET_WORKSPACE_SIZE + 1);
  FILE *f;
  if (argc != 4 || !ws)
    return 1;
  if ((uintptr_t)net_weights % 64 != 0) {
    fprintf(stderr, "net_weights at %p: not 64-byte aligned\n", (const void *)net_weights);
    return 2;
  }
  f = fopen(argv[1], "rb");
  if (!f || fread(x, sizeof x[0], NET_INPUT0_SIZE, f) != NET_INPUT0_SIZE)
    return 3;
  fclose(f);
  if (net_run(in, out, ws) != CD_OK)
    return 4;
  f = fopen(argv[2], "wb");
  if (!f || fwrite(y, sizeof y[0], NET_OUTPUT0_SIZE, f) != NET_OUTPUT0_SIZE || fclose(f))
    return 5;
  f = fopen(argv[3], "wb");
  if (!f || fwrite(net_weights, 1, NET_WEIGHTS_SIZE + 1, f) != NET_WEIGHTS_SIZE + 1 || fclose(f))
    return 6;
  return 0;
}
EOF

ccs=gcc
command -v clang > /dev/null 2>&1 && ccs="gcc clang"
for cc in $ccs; do
  for form in c incbin; do
    d=$T/$cc-$form
    echo "== $cc, --embed-as $form"
    "$CARDINAL" build "$FIX.onnx" -o "$d" --name net --embed-as $form --cc $cc --cflags "$STRICT" \
      2> /dev/null
    if [ $form = c ]; then
      [ -f "$d/net_weights.c" ] && [ ! -e "$d/net_weights.S" ] || fail "$cc: --embed-as c files"
    else
      [ -f "$d/net_weights.S" ] && [ -f "$d/net_weights.bin" ] && [ ! -e "$d/net_weights.c" ] ||
        fail "$cc: --embed-as incbin files"
    fi
    $cc $STRICT "$T/drv.c" -I"$d" "$d/libnet.a" -lm -o "$d/drv"
    "$d/drv" "$T/in.f32" "$d/out.f32" "$d/w.bin" || fail "$cc $form: driver status $?"
    mkdir "$d/o" && (cd "$d/o" && ar x "$d/libnet.a")
    # Size (readelf writes it in hex past 99999), type, binding, visibility.
    readelf -sW "$d/o/net_weights.o" | awk '$8 == "net_weights" { print $3, $4, $5, $6 }' |
      while read -r size rest; do echo "$((size)) $rest"; done > "$d/sym.txt"
    # Section alignment: the Al column of the symbol's section.
    ndx=$(readelf -sW "$d/o/net_weights.o" | awk '$8 == "net_weights" { print $7 }')
    readelf -SW "$d/o/net_weights.o" | sed 's/^ *\[ *\([0-9]*\)\]/\1/' |
      awk -v n="$ndx" '$1 == n { print $NF }' > "$d/align.txt"
    readelf -lW "$d/drv" | awk '$1 == "GNU_STACK" { print $7 }' > "$d/stack.txt"
  done
done

wb=$(sed -n 's/^#define NET_WEIGHTS_SIZE \([0-9]*\).*/\1/p' "$T/gcc-c/net.h")
[ "${wb:-0}" -gt 1000 ] || fail "NET_WEIGHTS_SIZE '$wb'"
echo "== the same bytes, the same symbol, the same outputs"
# The .bin is the weights; in memory, its bytes and the C array's NUL.
cp "$T/gcc-incbin/net_weights.bin" "$T/expect.bin"
printf '\000' >> "$T/expect.bin"
[ "$(wc -c < "$T/gcc-incbin/net_weights.bin")" = "$wb" ] || fail "net_weights.bin is not $wb bytes"
for cc in $ccs; do
  for form in c incbin; do
    d=$T/$cc-$form
    cmp "$d/w.bin" "$T/expect.bin" || fail "$cc $form: the bytes at net_weights differ"
    cmp "$d/out.f32" "$T/gcc-c/out.f32" || fail "$cc $form: outputs differ from gcc's C array"
    [ "$(cat "$d/sym.txt")" = "$((wb + 1)) OBJECT GLOBAL DEFAULT" ] ||
      fail "$cc $form: net_weights symbol '$(cat "$d/sym.txt")', not $((wb + 1)) OBJECT GLOBAL DEFAULT"
    [ "$(cat "$d/align.txt")" = 64 ] || fail "$cc $form: section alignment '$(cat "$d/align.txt")'"
    [ "$(cat "$d/stack.txt")" = RW ] || fail "$cc $form: stack '$(cat "$d/stack.txt")', not RW"
    echo "$cc $form: $((wb + 1)) bytes at a 64-byte boundary, the same bits"
  done
done
"$NPYCMP" "$T/gcc-incbin/out.f32" "$FIX.expected.npy" 1e-4

echo "== which form each command writes"
"$CARDINAL" compile "$FIX.onnx" -o "$T/compile" --name net 2> /dev/null
[ -f "$T/compile/net_weights.c" ] && [ ! -e "$T/compile/net_weights.S" ] ||
  fail "compile's default is not the C array"
"$CARDINAL" compile "$FIX.onnx" -o "$T/compile_s" --name net --embed-as incbin 2> /dev/null
cmp "$T/compile_s/net_weights.bin" "$T/gcc-incbin/net_weights.bin" || fail "compile's .bin differs"
"$CARDINAL" build "$FIX.onnx" -o "$T/build" --name net 2> /dev/null
[ -f "$T/build/net_weights.c" ] && [ ! -e "$T/build/net_weights.S" ] ||
  fail "build's default for $wb bytes (under 1 MiB) is not the C array"
# 2 MiB of weights: build's default is the assembler's form.
cat > "$T/big.nx" << 'EOF'
model big(x: f32[1, 512]) {
  return x -> fc: linear(1024)
}
EOF
head -c 2048 /dev/zero > "$T/zeros.f32"
"$CARDINAL" build "$T/big.nx" -o "$T/big" --name net 2> /dev/null
[ -f "$T/big/net_weights.S" ] && [ ! -e "$T/big/net_weights.c" ] ||
  fail "build's default for 2 MiB (cc assembles .incbin) is not the assembler's form"
cc $STRICT "$T/drv.c" -I"$T/big" "$T/big/libnet.a" -lm -o "$T/big/drv"
"$T/big/drv" "$T/zeros.f32" "$T/big/out.f32" "$T/big/w.bin"
# A compiler that cannot assemble NAME_weights.S: build falls back to the C array.
cat > "$T/cc-noasm" << 'EOF'
#!/bin/sh
for a in "$@"; do
  case $a in *.S) echo "cc-noasm: no assembler" >&2; exit 1 ;; esac
done
exec cc "$@"
EOF
chmod +x "$T/cc-noasm"
"$CARDINAL" build "$T/big.nx" -o "$T/noasm" --name net --cc "$T/cc-noasm" 2> /dev/null
[ -f "$T/noasm/net_weights.c" ] && [ ! -e "$T/noasm/net_weights.S" ] ||
  fail "build with a compiler that cannot assemble did not fall back to the C array"
cc $STRICT "$T/drv.c" -I"$T/noasm" "$T/noasm/libnet.a" -lm -o "$T/noasm/drv"
"$T/noasm/drv" "$T/zeros.f32" "$T/noasm/out.f32" "$T/noasm/w.bin"
cmp "$T/noasm/w.bin" "$T/big/w.bin" || fail "the fallback's bytes differ"
cmp "$T/noasm/out.f32" "$T/big/out.f32" || fail "the fallback's outputs differ"
# run assembles embedded weights too (its harness passes -I).
CARDINAL_CACHE_DIR=off "$CARDINAL" run "$FIX.onnx" --weights embed --embed-as incbin \
  --input "$FIX.input.npy" --output "$T/run.npy" > /dev/null 2>&1
"$NPYCMP" "$T/run.npy" "$FIX.expected.npy" 1e-4
st=0
"$CARDINAL" build "$FIX.onnx" -o "$T/bad" --weights blob --embed-as incbin 2> "$T/err" || st=$?
[ $st = 2 ] && grep -q "embed-as is the form of embedded weights" "$T/err" ||
  fail "--embed-as with --weights blob: status $st, $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "a refused build wrote $T/bad"

echo "== the .S on other ELF targets (x86-64, AArch64, Thumb firmware, RISC-V), not Mach-O"
"$CARDINAL" compile "$FIX.onnx" -o "$T/neon" --name net --target neon --weights section \
  --embed-as incbin 2> /dev/null
nb=$(sed -n 's/^#define NET_WEIGHTS_SIZE \([0-9]*\).*/\1/p' "$T/neon/net.h")
asms=""
command -v aarch64-linux-gnu-gcc > /dev/null 2>&1 && asms="aarch64-linux-gnu-gcc"
command -v clang > /dev/null 2>&1 &&
  asms="$asms clang:aarch64-linux-gnu clang:armv7m-none-eabi clang:riscv64-linux-gnu"
for a in $asms; do
  case $a in
    clang:*) set -- clang --target=${a#clang:} ;;
    *) set -- $a ;;
  esac
  "$@" -I"$T/neon" -c "$T/neon/net_weights.S" -o "$T/x.o" || fail "$a does not assemble it"
  sym=$(readelf -sW "$T/x.o" | awk '$8 == "net_weights" { print $3, $4, $5 }' |
    while read -r size rest; do echo "$((size)) $rest"; done)
  [ "$sym" = "$((nb + 1)) OBJECT GLOBAL" ] || fail "$a: net_weights is '$sym'"
  readelf -SW "$T/x.o" | grep -q "\.rodata\.cardinal_weights .* 64$" || fail "$a: section"
  echo "$a: net_weights $((nb + 1)) bytes in .rodata.cardinal_weights, aligned 64"
done
if command -v clang > /dev/null 2>&1; then
  if clang --target=x86_64-apple-darwin -I"$T/neon" -c "$T/neon/net_weights.S" -o "$T/x.o" \
      2> "$T/err"; then
    fail "a Mach-O target assembled the ELF .S"
  fi
  grep -q "net_weights.S is for ELF targets.*--embed-as c" "$T/err" || fail "Mach-O: $(cat "$T/err")"
fi

echo "== -flto"
"$CARDINAL" build "$FIX.onnx" -o "$T/lto" --name net --embed-as incbin --cflags "-O2 -flto" \
  2> /dev/null
cc -O2 -flto "$T/drv.c" -I"$T/lto" "$T/lto/libnet.a" -lm -o "$T/lto/drv"
"$T/lto/drv" "$T/in.f32" "$T/lto/out.f32" "$T/lto/w.bin"
cmp "$T/lto/w.bin" "$T/expect.bin" || fail "-flto: the bytes differ"
echo "incbin: ok"
