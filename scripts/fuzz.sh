#!/bin/sh
# Fuzzing (README, "Fuzzing"): builds the libFuzzer targets of tests/fuzz/
# with clang, ASan and UBSan (fatal: -fno-sanitize-recover=undefined) into
# build-fuzz/, runs each for SECONDS from the committed corpus plus freshly
# made seeds (tests/fuzz/make_seeds.py), then merges what it found back into
# tests/fuzz/corpus/TARGET, minimised.  Prints executions and executions per
# second per target; a crash, timeout (10 s) or memory blow-up (2 GB) leaves
# its input in build-fuzz/artifacts/ and makes the exit status 1.
#
#   sh scripts/fuzz.sh SECONDS [TARGET...]   targets: onnx dsl safetensors tensor (default all)
#   sh scripts/fuzz.sh --afl SECONDS         AFL++ on `cardinal inspect FILE.nx` (the CLI, the DSL)
set -eu
cd "$(dirname "$0")/.."
B=build-fuzz
if [ "${1:-}" = "--afl" ]; then
  secs=${2:?usage: fuzz.sh --afl SECONDS}
  # The CLI built by afl-clang-fast, with ASan and fatal UBSan.
  AFL_QUIET=1 CC=afl-clang-fast cmake -S . -B $B/afl -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBUILD_TESTING=OFF \
    -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
    > /dev/null
  nice cmake --build $B/afl -j"$(nproc)" --target cardinal > $B/afl-build.log 2>&1
  rm -rf $B/afl-in $B/afl-out
  mkdir -p $B/afl-in
  for f in tests/fuzz/corpus/dsl/*; do
    [ "$(wc -c < "$f")" -le 4096 ] && cp "$f" $B/afl-in/
  done
  AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
    ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0 \
    nice afl-fuzz -i $B/afl-in -o $B/afl-out -m none -t 10000 -V "$secs" \
      -x tests/fuzz/dict/dsl.dict -e nx -- $B/afl/cardinal inspect @@ > $B/afl.log 2>&1 || true
  s=$B/afl-out/default/fuzzer_stats
  execs=$(sed -n 's/^execs_done *: //p' $s)
  rate=$(sed -n 's/^execs_per_sec *: //p' $s)
  crashes=$(ls $B/afl-out/default/crashes 2>/dev/null | grep -c id || true)
  hangs=$(ls $B/afl-out/default/hangs 2>/dev/null | grep -c id || true)
  echo "afl++ cardinal inspect (.nx): $execs executions in ${secs} s, $rate/s, $crashes crashes, $hangs hangs"
  [ "$crashes" -eq 0 ] && [ "$hangs" -eq 0 ]
  exit
fi
secs=${1:?usage: fuzz.sh SECONDS [TARGET...] | --afl SECONDS}
shift
targets=${*:-onnx dsl safetensors tensor}
FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CC=clang cmake -S . -B $B -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCARDINAL_FUZZ=ON \
  -DCMAKE_C_FLAGS="$FLAGS" > /dev/null
for t in $targets; do
  nice sh scripts/build.sh $B --target fuzz_$t
done
# Seeds: every op and every hostile class (needs python3 with onnx, numpy).
PY=python3
$PY -c "import onnx" 2>/dev/null || PY=/usr/bin/python3
rm -rf $B/seeds
$PY tests/fuzz/make_seeds.py $B/seeds > /dev/null 2>&1 || echo "fuzz: no seeds (python3-onnx?); the corpus only"
mkdir -p $B/artifacts
status=0
for t in $targets; do
  w=$B/work/$t
  mkdir -p $w tests/fuzz/corpus/$t
  [ -d $B/seeds/$t ] && cp $B/seeds/$t/* $w/ 2>/dev/null || true
  cp tests/fuzz/corpus/$t/* $w/ 2>/dev/null || true
  log=$B/$t.log
  ASAN_OPTIONS=detect_leaks=1 nice $B/fuzz_$t -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -dict=tests/fuzz/dict/$t.dict -print_final_stats=1 \
    -artifact_prefix=$B/artifacts/$t- $w > $log 2>&1 || { status=1; echo "fuzz_$t: FOUND A BUG (see $log, $B/artifacts/)"; }
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' $log)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' $log)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' $log)
  # The corpus: the smallest set of inputs with the coverage of all of them.
  rm -rf $B/merged
  mkdir -p $B/merged
  nice $B/fuzz_$t -merge=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix=$B/artifacts/$t-merge- \
    $B/merged $w > $B/$t-merge.log 2>&1 || true
  if [ "$(ls $B/merged | wc -l)" -gt 0 ]; then
    rm -f tests/fuzz/corpus/$t/*
    cp $B/merged/* tests/fuzz/corpus/$t/
  fi
  echo "fuzz_$t: ${execs:-?} executions in $secs s, ${rate:-?}/s, peak RSS ${rss:-?} MB," \
       "corpus $(ls tests/fuzz/corpus/$t | wc -l) inputs"
done
exit $status
