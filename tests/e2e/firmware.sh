#!/bin/sh
# Memory report, budgets and the firmware options, on the committed CIFAR
# ResNeXt:
#   - `cardinal build` prints weights, workspace, code and stack, and
#     `inspect --json` reports the same code and stack bytes;
#   - --max-workspace / --max-weights one byte too small fail, stating the
#     size needed (the header's), and leave nothing; the exact size passes;
#   - --weights blob and section, each with and without --static-workspace,
#     give the bits of --weights embed (and PyTorch's output); a blob whose
#     header names other weights, or whose body is corrupted, is refused;
#   - section puts the weights in .rodata.cardinal_weights and the static
#     workspace in .bss.cardinal_workspace (no file bytes), a linker script
#     maps them to sections of their own, and -DNET_WEIGHTS_SECTION renames
#     (in the assembler's form and the C array's);
#   - the model's objects use only the libc/libm functions the docs list (a
#     scalar one nothing of the runtime), and the runtime built with
#     -DCARDINAL_RT_NO_LIBC no libc function at all.
# usage: firmware.sh CARDINAL NPYCMP SOURCE_DIR
set -eu
CARDINAL=$1 NPYCMP=$2 SRC=$3
FIX=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
STRICT="-O2 -std=c99 -pedantic -Wall -Wextra -Werror"
fail() { echo "FAIL: $*"; exit 1; }
"$NPYCMP" --raw "$FIX.input.npy" "$T/in.f32"

echo "== the memory report: build prints it, inspect --json agrees"
"$CARDINAL" build "$FIX.onnx" -o "$T/embed" --name net --cflags "$STRICT" 2> "$T/build.txt"
cat "$T/build.txt"
ws=$(sed -n 's/^#define NET_WORKSPACE_SIZE \([0-9]*\).*/\1/p' "$T/embed/net.h")
wb=$(sed -n 's/^#define NET_WEIGHTS_SIZE \([0-9]*\).*/\1/p' "$T/embed/net.h")
grep -q "^cardinal: weights $wb bytes (embedded, read-only data), workspace $ws bytes" "$T/build.txt" ||
  fail "build: weights and workspace"
code=$(sed -n 's/^cardinal: code \([0-9]*\) bytes.*/\1/p' "$T/build.txt")
stack=$(sed -n 's/^cardinal: stack \([0-9]*\) bytes for net_run.*/\1/p' "$T/build.txt")
[ "${code:-0}" -gt 1000 ] && [ "${stack:-0}" -gt 0 ] || fail "build: code '$code', stack '$stack'"
grep -q "^cardinal: link with: cc app.c -I$T/embed $T/embed/libnet.a -lm$" "$T/build.txt" ||
  fail "the link line"
"$CARDINAL" inspect "$FIX.onnx" --name net --json --cflags "$STRICT" > "$T/i.json"
grep -q "\"code_bytes\": $code," "$T/i.json" || fail "inspect code_bytes != $code: $(grep code "$T/i.json")"
grep -q "\"stack_bytes\": $stack," "$T/i.json" || fail "inspect stack_bytes != $stack"
grep -q "\"workspace_bytes\": $ws," "$T/i.json" || fail "inspect workspace_bytes"
"$CARDINAL" inspect "$FIX.onnx" --name net --cflags "$STRICT" | grep -q "^stack       $stack bytes for net_run" ||
  fail "inspect text: stack"

echo "== budgets"
if "$CARDINAL" build "$FIX.onnx" -o "$T/small" --max-workspace $((ws - 1)) 2> "$T/err"; then
  fail "--max-workspace $((ws - 1)) built"
fi
cat "$T/err"
grep -q "error: the workspace needs $ws bytes" "$T/err" || fail "the needed workspace not stated"
[ ! -e "$T/small" ] || fail "--max-workspace too small left a folder"
if "$CARDINAL" compile "$FIX.onnx" -o "$T/small" --max-weights 64K 2> "$T/err"; then
  fail "--max-weights 64K compiled"
fi
grep -q "error: the weights need $wb bytes" "$T/err" || fail "the needed weights not stated"
"$CARDINAL" compile "$FIX.onnx" -o "$T/exact" --max-workspace "$ws" --max-weights "$wb" 2> /dev/null

echo "== blob, section, static workspace: the bits of embed"
cat > "$T/drv.c" << 'EOF'
/* Runs net once: a NULL workspace with --static-workspace, the weights
 * blob from argv[3] with --weights blob. */
#include "net.h"
#include <stdio.h>
int main(int argc, char **argv) {
  static float x[NET_INPUT0_SIZE], y[NET_OUTPUT0_SIZE];
  const float *in[1];
  float *out[1];
  void *ws = NULL;
  FILE *f = argc > 2 ? fopen(argv[1], "rb") : NULL;
  int rc;
  in[0] = x;
  out[0] = y;
  if (!f || fread(x, sizeof x[0], NET_INPUT0_SIZE, f) != NET_INPUT0_SIZE)
    return 3;
  fclose(f);
#if !NET_WEIGHTS_EMBEDDED
  {
    void *b;
    size_t n;
    if (argc < 4 || cd_load_file(argv[3], &b, &n) != CD_OK || net_set_weights(b, n) != CD_OK)
      return 4;
  }
#endif
#if !NET_STATIC_WORKSPACE
  if (!(ws = cd_aligned_alloc(NET_WORKSPACE_SIZE)))
    return 5;
#endif
  if ((rc = net_run(in, out, ws)) != CD_OK) {
    fprintf(stderr, "net_run: %s\n", cd_strerror(rc));
    return 6;
  }
  f = fopen(argv[2], "wb");
  if (!f || fwrite(y, sizeof y[0], NET_OUTPUT0_SIZE, f) != NET_OUTPUT0_SIZE)
    return 7;
  return fclose(f) != 0;
}
EOF
for w in embed blob section; do
  for sw in "" --static-workspace; do
    d=$T/w_$w$sw
    "$CARDINAL" build "$FIX.onnx" -o "$d" --name net --weights $w $sw --cflags "$STRICT" 2> /dev/null
    cc $STRICT "$T/drv.c" -I"$d" "$d/libnet.a" -lm -o "$d/drv"
    "$d/drv" "$T/in.f32" "$d/out.f32" "$d/net.weights"
    cmp "$d/out.f32" "$T/w_embed/out.f32" || fail "--weights $w $sw differs from embed"
    echo "--weights $w $sw: the same bits"
  done
done
"$NPYCMP" "$T/w_embed/out.f32" "$FIX.expected.npy" 1e-4
# A blob of another build (its header's weights hash differs) is refused.
d=$T/w_blob
cp "$d/net.weights" "$T/other.weights"
printf 'ffffffffffffffff' | dd of="$T/other.weights" bs=1 seek=32 conv=notrunc 2> /dev/null
st=0
"$d/drv" "$T/in.f32" "$T/x.f32" "$T/other.weights" 2> /dev/null || st=$?
[ "$st" = 4 ] || fail "a blob with another weights hash was taken (status $st)"
# A blob whose body is corrupted (its header intact) is refused: only the
# header's hashes were compared.
cp "$d/net.weights" "$T/corrupt.weights"
printf '\377' | dd of="$T/corrupt.weights" bs=1 seek=$((64 + wb / 2)) conv=notrunc 2> /dev/null
cmp -s "$d/net.weights" "$T/corrupt.weights" && fail "the blob was not changed"
st=0
"$d/drv" "$T/in.f32" "$T/x.f32" "$T/corrupt.weights" 2> /dev/null || st=$?
[ "$st" = 4 ] || fail "a blob with a corrupted body was taken (status $st)"

echo "== sections"
d=$T/w_section--static-workspace
mkdir "$T/objs" && (cd "$T/objs" && ar x "$d/libnet.a")
readelf -SW "$T/objs/net_weights.o" | grep -q "\.rodata\.cardinal_weights *PROGBITS" || fail "weights section"
readelf -SW "$T/objs/net.o" | grep -q "\.bss\.cardinal_workspace *NOBITS" || fail "workspace section"
cat > "$T/map.ld" << 'EOF'
SECTIONS {
  .cardinal_weights : { KEEP(*(.rodata.cardinal_weights)) }
} INSERT AFTER .rodata;
SECTIONS {
  .cardinal_workspace (NOLOAD) : { *(.bss.cardinal_workspace) }
} INSERT AFTER .bss;
EOF
cc $STRICT "$T/drv.c" -I"$d" "$d/libnet.a" -lm -Wl,-T,"$T/map.ld" -o "$T/mapped"
readelf -SW "$T/mapped" > "$T/sections.txt"
grep -q "\.cardinal_weights *PROGBITS" "$T/sections.txt" || fail "no .cardinal_weights output section"
wsize=$(printf '%x' "$ws")
grep -q "\.cardinal_workspace *NOBITS *[0-9a-f]* [0-9a-f]* 0*$wsize " "$T/sections.txt" ||
  fail "no .cardinal_workspace of $ws bytes: $(grep cardinal "$T/sections.txt")"
"$T/mapped" "$T/in.f32" "$T/mapped.f32"
cmp "$T/mapped.f32" "$T/w_embed/out.f32" || fail "mapped sections give other bits"
cc $STRICT -DNET_WEIGHTS_SECTION='".rodata.mine"' -c "$d/net_weights.c" -o "$T/renamed.o"
readelf -SW "$T/renamed.o" | grep -q "\.rodata\.mine" || fail "-DNET_WEIGHTS_SECTION"
# The assembler's form (net_weights.S, which includes net_weights.bin
# through -I) renames the same way.
"$CARDINAL" compile "$FIX.onnx" -o "$T/section_s" --name net --weights section --embed-as incbin \
  2> /dev/null
cc $STRICT -DNET_WEIGHTS_SECTION='".rodata.mine"' -I"$T/section_s" -c "$T/section_s/net_weights.S" \
  -o "$T/renamed_s.o"
readelf -SW "$T/renamed_s.o" | grep -q "\.rodata\.mine" || fail "-DNET_WEIGHTS_SECTION (.S)"

echo "== libc functions"
# The README's list (generated code): string.h's memcpy, memset, memcmp and
# libm's float functions; cd_cpu_has from the runtime on x86 targets.
allowed="memcpy memset memmove memcmp expf expm1f log1pf logf sqrtf tanhf erff powf fmaxf fminf
cd_cpu_has net_weights _GLOBAL_OFFSET_TABLE_"
for target in scalar native; do
  "$CARDINAL" build "$FIX.onnx" -o "$T/libc_$target" --name net --target $target --weights section \
    --static-workspace 2> /dev/null
  mkdir "$T/o_$target" && (cd "$T/o_$target" && ar x "$T/libc_$target/libnet.a")
  # nm to a file (its failure stops the test), and the list must hold the
  # weights net.o reads: a loop over an empty list would pass.
  nm -u "$T/o_$target/net.o" "$T/o_$target/net_weights.o" > "$T/nm_$target"
  syms=$(awk 'NF == 2 { print $2 }' "$T/nm_$target")
  case " $(echo $syms) " in
    *" net_weights "*) ;;
    *) fail "$target: nm -u lists no net_weights for net.o: $(cat "$T/nm_$target")" ;;
  esac
  for sym in $syms; do
    case " $(echo $allowed) " in
      *" $sym "*) ;;
      *) fail "$target: net.o uses $sym, not in the README's list" ;;
    esac
  done
done
# A scalar model with one thread calls nothing of the runtime's.
nm -u "$T/o_scalar/net.o" > "$T/nm_net"
! grep -q " cd_" "$T/nm_net" || fail "scalar net.o needs the runtime"
cc $STRICT -ffreestanding -DCARDINAL_RT_NO_LIBC -c "$T/libc_scalar/cardinal_rt.c" -o "$T/rt.o"
nm -u "$T/rt.o" > "$T/nm_rt"
# __cpu_model and __cpu_features2 (the extended bits: VNNI) are the compiler
# runtime's (libgcc, compiler-rt), not libc.
grep -v -E "__cpu_model|__cpu_features2|__cpu_indicator_init|_GLOBAL_OFFSET_TABLE_" "$T/nm_rt" &&
  fail "the runtime with -DCARDINAL_RT_NO_LIBC uses the above"
echo "firmware: ok"
