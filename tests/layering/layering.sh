#!/bin/sh
# The layering check (DESIGN: "Layers"): every call or reference between
# the compiler's object files goes to the file's own layer or a lower one.
# The layers, bottom first, one line each; a registry (the op table, the
# target list, the pass list) and the files it lists are one layer.
#
#   sh layering.sh BUILD_DIR
#
# It reads `nm` of the objects of libcardinal_core: for each undefined
# symbol one object uses, the object defining it; a definer in a higher
# layer fails the check, naming both files and the symbol.
set -eu
BUILD=$1
LAYERS='
memory     compiler/arena.c compiler/cwriter.c compiler/fs.c compiler/hash.c runtime_src.c
ir         compiler/ir.c compiler/layout.c
ops        compiler/ops.c compiler/ops/*.c compiler/act.c
targets    codegen/target.c codegen/target_*.c
kernels    codegen/kernels.c codegen/simd*.c
analysis   compiler/infer.c compiler/interp.c compiler/verify.c compiler/stats.c
passes     compiler/rewrite.c compiler/passes.c compiler/passes/*.c
schedule   compiler/schedule.c compiler/plan.c
codegen    codegen/emit.c
frontends  frontend/onnx/*.c frontend/dsl/*.c dsl/parser.c dsl/lexer.c compiler/tensorio.c
toolchain  compiler/cache.c compiler/report.c compiler/quantize.c compiler/toolchain.c
driver     compiler/compare.c compiler/bench.c compiler/main.c
'
OBJDIR=$BUILD/CMakeFiles/cardinal_core.dir
[ -d "$OBJDIR" ] || { echo "layering: no objects under $OBJDIR (build first)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# layer number of each object: "path.c.o LEVEL NAME"
find "$OBJDIR" -name '*.c.o' | sort > "$tmp/objs"
: > "$tmp/level"
while read -r obj; do
  rel=${obj#$OBJDIR/}
  rel=${rel#gen/}
  src=${rel%.o}
  level=-1
  n=0
  echo "$LAYERS" | { while read -r name pats; do
      [ -n "$name" ] || continue
      for p in $pats; do
        case "$src" in $p) echo "$obj $n $name"; exit 0 ;; esac
      done
      n=$((n + 1))
    done
    echo "$obj ? ?"
  } >> "$tmp/level"
done < "$tmp/objs"
if grep -q ' ? ?$' "$tmp/level"; then
  echo "layering: files in no layer (add them to the table in $0):"
  grep ' ? ?$' "$tmp/level" | sed "s|$OBJDIR/||; s| ? ?||"
  exit 1
fi
# defined symbols ("D symbol obj") and used ones ("U symbol obj"), then
# one pass joins each use to its definer's layer.
while read -r obj lv name; do
  nm -g --defined-only "$obj" | awk -v o="$obj" 'NF == 3 { print "D", $3, o }'
  nm -u "$obj" | awk -v o="$obj" '{ print "U", $2, o }'
done < "$tmp/level" > "$tmp/syms"
awk -v dir="$OBJDIR/" '
  FILENAME == ARGV[1] { lv[$1] = $2; lname[$1] = $3; next }
  $1 == "D" { def[$2] = $3; next }
  $1 == "U" { use[++n] = $2; user[n] = $3 }
  END {
    for (i = 1; i <= n; i++) {
      s = use[i]; if (!(s in def)) continue
      checked++; d = def[s]; u = user[i]
      if (lv[d] > lv[u]) {
        sub(dir, "", u); sub(dir, "", d)
        printf "up: %s (%s) uses %s of %s (%s)\n", u, lname[user[i]], s, d, lname[def[s]]
        bad++
      }
    }
    printf "layering: %d references between files checked, %d going up\n", checked, bad
    if (checked < 100) { print "layering: too few references seen: is this the library'"'"'s build?"; exit 1 }
    exit bad > 0
  }' "$tmp/level" "$tmp/syms"
