#!/bin/sh
# frontend/dsl/TUTORIAL.md, run as a reader would: its `sh` blocks in order,
# in one shell, from a folder laid out like the repository's root (build/,
# scripts/, examples/); each block must succeed (one marked
# <!-- fails --> must fail), and each `text` block after a block lists lines
# its output must hold: a whole line, or the start of one before "...",
# in any order; a line "..." stands for the lines not shown.  The files
# the tutorial writes must equal the ones shipped in examples/.
# usage: tutorial.sh CARDINAL SOURCE_DIR
set -eu
CARDINAL=$1 SRC=$2
if ! /usr/bin/python3 -c 'import numpy, torch, torchvision' 2> /dev/null; then
  echo "SKIP: the tutorial needs python3 with numpy, torch and torchvision (scripts/setup.sh)"
  exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ROOT=$T/root O=$T/out
mkdir -p "$ROOT" "$O" "$T/tmp"
ln -s "$(cd "$(dirname "$CARDINAL")" && pwd)" "$ROOT/build"
ln -s "$SRC/scripts" "$ROOT/scripts"
ln -s "$SRC/examples" "$ROOT/examples"

# The driver: each block in the same shell (its cd and exports carry on),
# its output in $O/N.out; the expected lines in $O/N.want.
awk -v O="$O" '
  /^<!-- fails -->/ { fails = 1; next }
  /^```sh[ \t]*$/ {
    n++; insh = 1
    printf "echo %d > \"%s/current\"\n", n, O
    if (fails) printf "set +e\n{\n"; else printf "set -e\n{\n"
    next
  }
  /^```text[ \t]*$/ { intext = 1; want = sprintf("%s/%d.want", O, n); printf "" > want; next }
  /^```/ {
    if (insh) {
      printf "} > \"%s/%d.out\" 2>&1\n", O, n
      if (fails) printf "rc=$?; set -e; [ $rc -ne 0 ] || { echo \"block %d should fail\" >> \"%s/%d.out\"; exit 1; }\n", n, O, n
      printf "set +e\n"
    }
    insh = 0; intext = 0; fails = 0
    next
  }
  insh { print }
  intext { print >> want }
' "$SRC/frontend/dsl/TUTORIAL.md" > "$T/driver.sh"

cd "$ROOT"
if ! PATH="$ROOT/build:/usr/bin:$PATH" TMPDIR="$T/tmp" sh "$T/driver.sh"; then
  n=$(cat "$O/current")
  echo "FAIL: block $n of TUTORIAL.md:"
  cat "$O/$n.out"
  exit 1
fi

fails=0
for want in "$O"/*.want; do
  n=$(basename "$want" .want)
  while IFS= read -r line; do
    line=$(printf '%s' "$line" | sed 's/[ \t]*$//')
    [ -n "$line" ] && [ "$line" != "..." ] || continue
    case "$line" in
      *...) prefix=${line%...}
            awk -v p="$prefix" 'index($0, p) == 1 { found = 1 } END { exit !found }' "$O/$n.out" ;;
      *)    awk -v l="$line" '{ sub(/[ \t]+$/, "") } $0 == l { found = 1 } END { exit !found }' "$O/$n.out" ;;
    esac || { echo "FAIL: block $n does not print: $line"; cat "$O/$n.out"; fails=$((fails + 1)); }
  done < "$want"
done

# The files written step by step are the shipped examples.
W=$(ls -d "$T"/tmp/tmp.* | head -1)
for f in resnext29.nx resnext29_8x64d.nx; do
  cmp "$W/$f" "$SRC/examples/resnext/cifar/$f" ||
    { echo "FAIL: the tutorial's $f differs from examples/resnext/cifar/$f"; fails=$((fails + 1)); }
done
[ "$fails" -eq 0 ]
echo "tutorial: $(ls "$O"/*.out | wc -l) blocks ran, $(ls "$O"/*.want | wc -l) outputs as shown"
