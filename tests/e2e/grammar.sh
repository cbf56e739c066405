#!/bin/sh
# The examples of frontend/dsl/GRAMMAR.md compile: every fenced block
# marked `nx` is a whole program, written to a file and inspected.
# usage: grammar.sh CARDINAL SOURCE_DIR
set -eu
CARDINAL=$1 SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
awk -v dir="$T" '
  /^```nx[ \t]*$/ { n++; file = sprintf("%s/example%d.nx", dir, n); on = 1; next }
  /^```/ { on = 0 }
  on { print > file }
' "$SRC/frontend/dsl/GRAMMAR.md"
n=0
for f in "$T"/example*.nx; do
  [ -e "$f" ] || break
  if ! "$CARDINAL" inspect "$f" > "$T/out" 2> "$T/err"; then
    echo "FAIL: this example of GRAMMAR.md does not compile:"; cat "$f"; cat "$T/err"; exit 1
  fi
  n=$((n + 1))
done
echo "$n examples of GRAMMAR.md compile"
[ "$n" -ge 4 ]
