#!/bin/sh
# The output folder (issue 11, class 8): it is replaced in one step, never
# written through a link, never mixed; a killed compile leaves the old
# folder or the new one.
#   - links planted at the output folder and at every file it will hold
#     are replaced, never followed: their targets stay untouched;
#   - a folder Cardinal did not write (no .cardinal, and not only the files
#     a compile of that name writes, each recognised by its contents) is
#     not replaced, nor a file: not a user's main.c and main.h under
#     --name main, nor a user's libnet.a; the runtime's names are reserved
#     (--name cardinal_rt);
#   - an old output with a folder where a file goes is replaced whole;
#   - compiles killed (SIGTERM, SIGKILL) at random points leave exactly the
#     old or the new output, complete; SIGTERM leaves nothing else, SIGKILL
#     a staging folder the next compile removes.
# usage: output.sh CARDINAL SOURCE_DIR
set -u
CARDINAL=$1 SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
A=$SRC/tests/e2e/fixtures/resnext_tiny_op9.onnx
B=$SRC/tests/e2e/fixtures/resnext_tiny_bn_op11.onnx
fails=0 passes=0
check() { # check DESCRIPTION CONDITION...
  what=$1
  shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
compile() { "$CARDINAL" compile "$@" 2> "$T/stderr" > /dev/null; }

# References: the outputs of A and of B.
compile "$A" -o "$T/refA" --name net && compile "$B" -o "$T/refB" --name net
check "reference compiles" test -f "$T/refA/net.c" -a -f "$T/refB/net.c"
FILES=".cardinal cardinal_rt.c cardinal_rt.h net.c net.h net_weights.c"
same() { # same DIR REF: DIR holds exactly REF's files, byte for byte
  [ "$(cd "$1" && ls -A | sort | tr '\n' ' ')" = "$(cd "$2" && ls -A | sort | tr '\n' ' ')" ] || return 1
  for f in $FILES; do cmp -s "$1/$f" "$2/$f" || return 1; done
}

# Links planted at the output folder and at each file of an old output.
mkdir -p "$T/victim"
echo secret > "$T/victim/file"
ln -s "$T/victim" "$T/linked"
compile "$A" -o "$T/linked" --name net
check "a link at the output folder is replaced, not followed" \
  test ! -L "$T/linked" -a -d "$T/linked" -a "$(cat "$T/victim/file")" = secret
check "nothing written into the link's target" test "$(ls "$T/victim")" = file
compile "$A" -o "$T/planted" --name net
for f in $FILES; do
  [ $f = .cardinal ] || { rm -f "$T/planted/$f"; ln -s "$T/victim/file" "$T/planted/$f"; }
done
compile "$B" -o "$T/planted" --name net
check "links at every output file are not followed" test "$(cat "$T/victim/file")" = secret
check "the output replaces them" same "$T/planted" "$T/refB"
rm "$T/planted/.cardinal" && ln -s "$T/victim/file" "$T/planted/.cardinal"
if compile "$B" -o "$T/planted" --name net; then r=0; else r=1; fi
check "a link as the marker: not a folder Cardinal wrote, refused" \
  test $r = 1 -a "$(cat "$T/victim/file")" = secret -a -L "$T/planted/.cardinal"

# What is refused.
mkdir -p "$T/mine" && echo keep > "$T/mine/notes.txt"
if compile "$A" -o "$T/mine" --name net; then r=0; else r=1; fi
check "a folder Cardinal did not write is not replaced" \
  test $r = 1 -a "$(ls "$T/mine")" = notes.txt
grep -q "is not a folder Cardinal wrote" "$T/stderr" || { echo "FAIL: message"; fails=$((fails + 1)); }
echo x > "$T/afile"
if compile "$A" -o "$T/afile" --name net; then r=0; else r=1; fi
check "a file is not replaced" test $r = 1 -a "$(cat "$T/afile")" = x
"$CARDINAL" compile "$A" -o "$T/rt" --name cardinal_rt 2> "$T/stderr"
check "--name cardinal_rt is refused" test $? = 2 -a ! -e "$T/rt"
grep -q "reserved for Cardinal's runtime" "$T/stderr" || { echo "FAIL: message"; fails=$((fails + 1)); }

# Names that pass as identifiers and would break the build: the runtime's
# header guard in another case, reserved identifiers, system headers' names
# (NAME.h would shadow them under -I), too long.  Each is refused saying
# why, and a name made from a file name says to pass --name; where the
# name only names temporary files (run), such a file name gets "model".
long=$(printf 'a%.0s' $(seq 1 65))
for n in CARDINAL_RT _ _net __x stddef stdio Stdio immintrin avx512fintrin arm_neon $long cd_x; do
  "$CARDINAL" compile "$A" -o "$T/nm" --name $n 2> "$T/stderr"
  check "--name $n is refused: $(cat "$T/stderr")" test $? = 2 -a ! -e "$T/nm"
  grep -q -- "--name $n: the name is .*; choose another --name" "$T/stderr" ||
    { echo "FAIL: --name $n message: $(cat "$T/stderr")"; fails=$((fails + 1)); }
done
mkdir -p "$T/files"
for f in _ stdio immintrin; do
  cp "$A" "$T/files/$f.onnx"
  "$CARDINAL" compile "$T/files/$f.onnx" -o "$T/nm" 2> "$T/stderr"
  check "the name made from $f.onnx is refused" test $? = 2 -a ! -e "$T/nm"
  grep -q "the name '$f', made from the file name of .*: pass --name NAME" "$T/stderr" ||
    { echo "FAIL: $f.onnx message: $(cat "$T/stderr")"; fails=$((fails + 1)); }
done
compile "$T/files/_.onnx" -o "$T/nm" --name net
check "... and compiles with --name" test -f "$T/nm/net.h"
IN=$SRC/tests/e2e/fixtures/resnext_tiny_op9.input.npy
cp "$A" "$T/files/harness.onnx"
for f in harness _; do
  "$CARDINAL" run "$T/files/$f.onnx" --input "$IN" > /dev/null 2> "$T/stderr"
  check "run $f.onnx (no --name to give) works: $(cat "$T/stderr")" test $? = 0
done

# An output of a version before the marker: replaced if it holds only the
# files a compile of that name writes.
compile "$A" -o "$T/old" --name net && rm "$T/old/.cardinal"
compile "$B" -o "$T/old" --name net
check "an output without the marker, only Cardinal's files, is replaced" same "$T/old" "$T/refB"
compile "$A" -o "$T/old2" --name net && rm "$T/old2/.cardinal" && echo keep > "$T/old2/notes.txt"
if compile "$B" -o "$T/old2" --name net; then r=0; else r=1; fi
check "... not with a file of its own" test $r = 1 -a "$(cat "$T/old2/notes.txt")" = keep
rm "$T/old2/notes.txt"
if compile "$B" -o "$T/old2" --name other; then r=0; else r=1; fi
check "... nor with another model name's files" test $r = 1 -a -f "$T/old2/net.c"

# The names alone prove nothing: a user's sources named as the output of
# --name main, a user's archive named as a build's, are not replaced.
mkdir -p "$T/src"
printf '#include "main.h"\nint main(void) { return 0; }\n' > "$T/src/main.c"
printf '#define ANSWER 42\n' > "$T/src/main.h"
if compile "$A" -o "$T/src" --name main; then r=0; else r=1; fi
check "a user's main.c and main.h under --name main are not replaced" \
  test $r = 1 -a "$(ls -A "$T/src" | tr '\n' ' ')" = "main.c main.h " -a \
  "$(cat "$T/src/main.h")" = "#define ANSWER 42"
grep -q "is not a folder Cardinal wrote" "$T/stderr" || { echo "FAIL: message"; fails=$((fails + 1)); }
# (--embed-as c: builds before the marker wrote the C array, never a
# NAME_weights.bin, whose raw bytes prove nothing.)
"$CARDINAL" build "$A" -o "$T/oldlib" --name net --target scalar --threads 2 --embed-as c \
  > /dev/null 2>&1
ar t "$T/oldlib/libnet.a" > "$T/members"
check "the old build's archive has a long member name" grep -q cardinal_rt_threads.o "$T/members"
rm "$T/oldlib/.cardinal"
"$CARDINAL" build "$B" -o "$T/oldlib" --name net --target scalar 2> "$T/stderr" > /dev/null
check "an old build (libnet.a with a long member name, no marker) is replaced" \
  test $? = 0 -a -f "$T/oldlib/.cardinal" -a -f "$T/oldlib/libnet.a"
compile "$A" -o "$T/userlib" --name net && rm "$T/userlib/.cardinal"
echo mine > "$T/user.txt" && (cd "$T" && ar rc userlib/libnet.a user.txt)
if compile "$B" -o "$T/userlib" --name net; then r=0; else r=1; fi
check "an archive of other members named libnet.a is not replaced" \
  test $r = 1 -a -f "$T/userlib/libnet.a"
for f in net.h cardinal_rt.c net.weights; do
  compile "$A" -o "$T/forged" --name net --weights blob && rm "$T/forged/.cardinal"
  echo "not cardinal's" > "$T/forged/$f"
  if compile "$B" -o "$T/forged" --name net; then r=0; else r=1; fi
  check "an old output whose $f is not Cardinal's is not replaced" \
    test $r = 1 -a "$(cat "$T/forged/$f")" = "not cardinal's"
  rm -rf "$T/forged"
done

# An old output with a folder where net.c goes: replaced whole.
compile "$A" -o "$T/dirc" --name net && rm "$T/dirc/net.c" && mkdir "$T/dirc/net.c"
compile "$B" -o "$T/dirc" --name net
check "a folder in the old output does not stop the new one" same "$T/dirc" "$T/refB"

# Killed at random points: the old output or the new one, complete.
for sig in TERM KILL; do
  i=0
  while [ $i -lt 12 ]; do
    rm -rf "$T/k" && mkdir "$T/k"
    cp -r "$T/refA" "$T/k/out"
    "$CARDINAL" compile "$B" -o "$T/k/out" --name net 2> /dev/null &
    pid=$!
    sleep "0.0$(( (i * 7) % 10 ))$(( i % 10 ))"
    kill -$sig $pid 2> /dev/null
    wait $pid 2> /dev/null
    if same "$T/k/out" "$T/refA" || same "$T/k/out" "$T/refB"; then
      passes=$((passes + 1))
    else
      echo "FAIL: SIG$sig after $i: the output is neither the old nor the new one"; ls -A "$T/k/out"
      fails=$((fails + 1))
    fi
    left=$(ls -A "$T/k" | grep -v '^out$')
    if [ $sig = TERM ] && [ -n "$left" ]; then
      echo "FAIL: SIGTERM left $left"; fails=$((fails + 1))
    fi
    compile "$B" -o "$T/k/out" --name net
    check "SIG$sig: the next compile leaves only the output" test "$(ls -A "$T/k")" = out
    i=$((i + 1))
  done
done

echo "output folder: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
