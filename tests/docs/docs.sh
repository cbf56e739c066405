#!/bin/sh
# The documents a user reads: README.md and the guides it links to have
# each top-level section once (a README whose second half was a stale copy
# of its first once passed every other test), and every relative link
# names a file of this repository, inside it.
# usage: docs.sh SOURCE_DIR
set -eu
SRC=$1
cd "$SRC"
for f in README.md docs/*.md frontend/dsl/*.md; do
  [ -f "$f" ] || continue
  dup=$(grep '^## ' "$f" | sort | uniq -d)
  [ -z "$dup" ] || { echo "FAIL: $f has these sections twice: $dup"; exit 1; }
  dir=$(dirname "$f")
  # ](target) links that are not URLs or anchors
  for link in $(grep -o '](\([^)#]*\)[)#]' "$f" | sed 's/^](//; s/[)#]$//' | grep -v '^[a-z]*:' || true); do
    case "$link" in
      /* | *..*) echo "FAIL: $f links outside the repository: $link"; exit 1 ;;
    esac
    [ -e "$dir/$link" ] || { echo "FAIL: $f links to $link, which is not there"; exit 1; }
  done
done
n=$(grep -c '^## ' README.md)
[ "$n" -ge 10 ] || { echo "FAIL: README.md has $n sections: the check read nothing"; exit 1; }
echo "docs: $n sections in README.md, each once; every relative link is inside the repository"
