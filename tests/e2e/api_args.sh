#!/bin/sh
# The generated entry points refuse a wrong call cleanly (docs/embedding.md):
# api_args.c calls NAME_run (and NAME_run_part) of a two-input, two-output
# model with a NULL array, a NULL element of inputs[] or outputs[] in each
# position, a NULL and a misaligned workspace, and expects CD_ERR_NULL or
# CD_ERR_ALIGN with the outputs untouched; built with 1 and 2 threads,
# compiled with -Werror, and once more under AddressSanitizer (clang).
# usage: api_args.sh CARDINAL SOURCE_DIR
set -eu
CARDINAL=$1 SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/two.nx" <<'NX'
model two(a: f32[1, 4, 8, 8], b: f32[1, 4, 8, 8]) {
  y = a -> conv1: conv(4, k=3, pad=1) -> relu()
  return y + b, relu(b)
}
NX
for n in 1 2; do
  "$CARDINAL" build "$T/two.nx" -o "$T/t$n" --name net --threads $n > /dev/null 2>&1
  cc -O2 -std=c99 -Wall -Wextra -Werror "$SRC/tests/e2e/api_args.c" -I"$T/t$n" \
    "$T/t$n/libnet.a" -lm -lpthread -o "$T/args$n"
  "$T/args$n"
done
# The same calls under AddressSanitizer: a NULL read anywhere fails.
"$CARDINAL" build "$T/two.nx" -o "$T/asan" --name net --threads 2 --cc clang \
  --cflags "-O1 -g -fsanitize=address,undefined" > /dev/null 2>&1
clang -O1 -g -fsanitize=address,undefined -std=c99 "$SRC/tests/e2e/api_args.c" -I"$T/asan" \
  "$T/asan/libnet.a" -lm -lpthread -o "$T/args_asan"
ASAN_OPTIONS=halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1 "$T/args_asan"
echo "api_args: ok"
