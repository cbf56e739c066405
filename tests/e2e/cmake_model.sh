#!/bin/sh
# cardinal_add_model's checks and links (cmake/CardinalModel.cmake, issue
# 17), with this build tree as the package (Cardinal_DIR=<build folder>):
#   - what `cardinal compile --name` refuses is refused when CMake
#     configures, with the reason (a name over 64 characters, cd_*, _net,
#     CARDINAL_RT, stdio, immintrin), and so are a name taken by a target, a
#     MODEL path holding ';' (CMake would split it), THREADS 0, 65 or x;
#     the system headers the CLI refuses are the ones the CMake package
#     refuses, and sample names get the same verdict from both;
#   - a model named m (libm's name: the target linked to itself) with
#     THREADS auto (threaded, and the thread pool was not linked) builds,
#     links and runs;
#   - in a project with ASM the weights are assembled (NAME_weights.S and
#     .bin), EMBED_AS c gives the C array, both link and run; EMBED_AS
#     incbin without ASM, or another form, is refused.
#   - OUTPUTS cuts the model (two outputs, in the order given, of the
#     sizes the header states), and a wrong name fails the build naming it
#     and OUTPUTS (not the CLI's --outputs).
#   - IO quantized (with OPTIONS --precision int8 --calibrate DIR) gives
#     the uint8 input API, which an app calls; IO bytes is refused.
# usage: cmake_model.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD=$1 SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
GEN=""
command -v ninja > /dev/null && GEN="-G Ninja"

mkdir "$T/proj" "$T/proj/a;b"
cp "$SRC/tests/e2e/fixtures/resnext_tiny_op9.onnx" "$T/proj/model.onnx"
cp "$T/proj/model.onnx" "$T/proj/a;b/model.onnx"
cat > "$T/proj/CMakeLists.txt" << 'EOF'
cmake_minimum_required(VERSION 3.18)
project(model_checks C)
find_package(Cardinal 0.1 REQUIRED)
set(NAME m CACHE STRING "")
set(THREADS auto CACHE STRING "")
set(MODEL ${CMAKE_CURRENT_SOURCE_DIR}/model.onnx CACHE STRING "")
add_executable(app main.c)
set(IO float CACHE STRING "")
cardinal_add_model(${NAME} TARGET app MODEL "${MODEL}" THREADS ${THREADS} EMBED_AS ${EMBED_AS}
                   IO ${IO})
EOF
cat > "$T/proj/main.c" << 'EOF'
/* Runs model m once on zeros: 0 if it ran. */
#include "m.h"
#include <stdio.h>
int main(void) {
  static float x[M_INPUT0_SIZE], y[M_OUTPUT0_SIZE];
  const float *in[1] = {x};
  float *out[1] = {y};
  void *ws = cd_aligned_alloc(M_WORKSPACE_SIZE);
  int rc = ws ? m_run(in, out, ws) : CD_ERR_NOMEM;
  printf("m: %d thread(s): %s\n", M_THREADS, cd_strerror(rc));
  return rc != CD_OK;
}
EOF

echo "== a model named m, THREADS auto: builds, links, runs"
cmake -S "$T/proj" -B "$T/b" $GEN -DCardinal_DIR="$BUILD" > "$T/log" 2>&1 || { cat "$T/log"; fail "configure"; }
cmake --build "$T/b" > "$T/log" 2>&1 || { cat "$T/log"; fail "build of m with THREADS auto"; }
"$T/b/app" || fail "app did not run"
cores=$(getconf _NPROCESSORS_ONLN)
grep -q "#define M_THREADS $cores" "$T/b/cardinal/m/m.h" || fail "THREADS auto is not $cores threads"

# refused ARGS... REGEX: configuring with ARGS fails with a message matching REGEX.
refused() {
  want=$1
  shift
  if cmake "$T/b" "$@" > "$T/log" 2>&1; then fail "$* was accepted"; fi
  tr -s ' \n' ' ' < "$T/log" | grep -q -- "$want" || { cat "$T/log"; fail "$*: no '$want'"; }
  echo "refused: $*"
}
echo "== refused when CMake configures, saying why"
long=$(printf 'a%.0s' $(seq 1 65))
refused "the name is longer than 64 characters" -DNAME=$long
refused "the name is reserved for Cardinal's runtime" -DNAME=cd_net
refused "the name is reserved for Cardinal's runtime" -DNAME=CD_Net
refused "the name is reserved for Cardinal's runtime" -DNAME=CARDINAL_RT
refused "the name is a reserved identifier in C" -DNAME=_net
refused "the name is a system header's name: stdio.h" -DNAME=stdio
refused "the name is a system header's name: immintrin.h" -DNAME=immintrin
refused "a target named app exists already" -DNAME=app
refused "a target named cardinal_runtime exists already" -DNAME=cardinal_runtime
refused "the MODEL path '.*a;b/model.onnx' contains ';'" -DNAME=net "-DMODEL=$T/proj/a;b/model.onnx"
for t in 0 65 x; do
  refused "THREADS is a count from 1 to 64, or auto, not '$t'" -DNAME=net -DMODEL="$T/proj/model.onnx" -DTHREADS=$t
done

refused "EMBED_AS incbin assembles net_weights.S: enable ASM" -DNAME=net -DMODEL="$T/proj/model.onnx" \
  -DTHREADS=1 -DEMBED_AS=incbin
refused "EMBED_AS is incbin or c, not asm" -DNAME=net -DTHREADS=1 -DEMBED_AS=asm
refused "IO is float or quantized, not 'bytes'" -DNAME=net -DTHREADS=1 -DEMBED_AS=c -DIO=bytes

echo "== EMBED_AS: a project with ASM assembles the weights (the .bin through -I), else a C array"
mkdir "$T/asm"
cp "$T/proj/model.onnx" "$T/proj/main.c" "$T/asm/"
sed 's/M_/C_/g; s/"m.h"/"c.h"/; s/m_run/c_run/; s/"m: /"c: /' "$T/proj/main.c" > "$T/asm/main_c.c"
cat > "$T/asm/CMakeLists.txt" << 'EOF'
cmake_minimum_required(VERSION 3.18)
project(model_asm C ASM)
find_package(Cardinal 0.1 REQUIRED)
add_executable(app main.c)
cardinal_add_model(m TARGET app MODEL ${CMAKE_CURRENT_SOURCE_DIR}/model.onnx)
add_executable(app_c main_c.c)
cardinal_add_model(c TARGET app_c MODEL ${CMAKE_CURRENT_SOURCE_DIR}/model.onnx EMBED_AS c)
EOF
cmake -S "$T/asm" -B "$T/ba" $GEN -DCardinal_DIR="$BUILD" > "$T/log" 2>&1 ||
  { cat "$T/log"; fail "configure (ASM)"; }
cmake --build "$T/ba" > "$T/log" 2>&1 || { cat "$T/log"; fail "build (ASM)"; }
[ -f "$T/ba/cardinal/m/m_weights.S" ] && [ -f "$T/ba/cardinal/m/m_weights.bin" ] &&
  [ ! -e "$T/ba/cardinal/m/m_weights.c" ] || fail "with ASM, m's weights are not assembled"
[ -f "$T/ba/cardinal/c/c_weights.c" ] && [ ! -e "$T/ba/cardinal/c/c_weights.S" ] ||
  fail "EMBED_AS c did not give the C array"
"$T/ba/app" || fail "app (incbin) did not run"
"$T/ba/app_c" || fail "app_c (C array) did not run"

echo "== the CLI and the CMake package refuse the same names"
sed -n '/system_headers\[\] = {/,/};/p' "$SRC/compiler/toolchain.c" | grep -o '"[a-z_0-9]*"' |
  tr -d '"' | sort > "$T/c.txt"
sed -n '/set(system_headers/,/)/p' "$SRC/cmake/CardinalModel.cmake" | sed 's/set(system_headers//; s/)//' |
  tr -s ' ' '\n' | grep . | sort > "$T/cmake.txt"
[ -s "$T/c.txt" ] || fail "no list of system headers in compiler/toolchain.c"
cmp "$T/c.txt" "$T/cmake.txt" || { diff "$T/c.txt" "$T/cmake.txt"; fail "the lists differ"; }
cat > "$T/check.cmake" << EOF
cmake_minimum_required(VERSION 3.18)
include("$SRC/cmake/CardinalModel.cmake")
cardinal_check_model_name("\${NAME}")
EOF
for n in net m main harness W cardinal cdx net_ stdio2 intrinsic Stdio avx512fintrin arm_neon \
    pthread math CD Cardinal_Rt_Threads _ __x $long "1net" "a-b"; do
  if "$BUILD/cardinal" compile "$T/proj/model.onnx" -o "$T/c" --name "$n" > /dev/null 2>&1; then
    cli=ok
  else cli=refused; fi
  if cmake -DNAME="$n" -P "$T/check.cmake" > /dev/null 2>&1; then cm=ok; else cm=refused; fi
  [ "$cli" = "$cm" ] || fail "--name $n: the CLI says $cli, cardinal_add_model $cm"
done
echo "== OUTPUTS: the model cut at a tensor; a wrong name fails the build, naming it"
mkdir "$T/cut"
cp "$T/proj/model.onnx" "$T/cut/model.onnx"
cat > "$T/cut/CMakeLists.txt" << 'EOF'
cmake_minimum_required(VERSION 3.18)
project(model_cut C)
find_package(Cardinal 0.1 REQUIRED)
set(CUT /Relu_output_0 CACHE STRING "")
add_executable(app main.c)
cardinal_add_model(cut TARGET app MODEL model.onnx ISA scalar OUTPUTS logits ${CUT})
EOF
cat > "$T/cut/main.c" << 'EOF'
/* The cut model: logits, then the first Relu's output (1x16x32x32). */
#include "cut.h"
#include <stdio.h>
_Static_assert(CUT_NUM_OUTPUTS == 2, "two outputs");
_Static_assert(CUT_OUTPUT0_SIZE == 10 && CUT_OUTPUT1_SIZE == 16 * 32 * 32, "their sizes");
int main(void) {
  static float x[CUT_INPUT0_SIZE], y0[CUT_OUTPUT0_SIZE], y1[CUT_OUTPUT1_SIZE];
  const float *in[1] = {x};
  float *out[2] = {y0, y1};
  void *ws = cd_aligned_alloc(CUT_WORKSPACE_SIZE);
  int rc = ws ? cut_run(in, out, ws) : CD_ERR_NOMEM;
  printf("cut: %s\n", cd_strerror(rc));
  return rc != CD_OK;
}
EOF
cmake -S "$T/cut" -B "$T/cb" $GEN -DCardinal_DIR="$BUILD" > "$T/log" 2>&1 || { cat "$T/log"; fail "configure the cut"; }
cmake --build "$T/cb" > "$T/log" 2>&1 || { cat "$T/log"; fail "build of the cut model"; }
"$T/cb/app" || fail "the cut model did not run"
cmake "$T/cb" -DCUT=/Relu_outptu_0 > "$T/log" 2>&1 || fail "configure with a wrong OUTPUTS name"
if cmake --build "$T/cb" > "$T/log" 2>&1; then fail "OUTPUTS /Relu_outptu_0 was accepted"; fi
grep -q "OUTPUTS /Relu_outptu_0: the model has no tensor named '/Relu_outptu_0'; did you mean '/Relu_output_0'" "$T/log" ||
  { cat "$T/log"; fail "OUTPUTS /Relu_outptu_0: not named in the error"; }

echo "== IO quantized: the int8 digits model's uint8 input at the API"
mkdir "$T/io"
cat > "$T/io/CMakeLists.txt" << EOF
cmake_minimum_required(VERSION 3.18)
project(model_io C)
find_package(Cardinal 0.1 REQUIRED)
add_executable(app main.c)
cardinal_add_model(dq TARGET app MODEL "$SRC/tests/models/digits/digits_resnext.onnx" ISA scalar
                   IO quantized OPTIONS --precision int8 --calibrate "$SRC/tests/models/digits/calib" --quiet)
EOF
cat > "$T/io/main.c" << 'EOF'
/* The digits model with --io quantized: a uint8 input, float logits. */
#include "dq.h"
#include <stdio.h>
_Static_assert(DQ_INPUT0_QUANTIZED == 1 && sizeof(DQ_INPUT0_TYPE) == 1, "a uint8 input");
int main(void) {
  static DQ_INPUT0_TYPE x[DQ_INPUT0_SIZE];
  static float y[DQ_OUTPUT0_SIZE];
  const void *in[1] = {x};
  void *out[1] = {y};
  void *ws = cd_aligned_alloc(DQ_WORKSPACE_SIZE);
  int rc = ws ? dq_run(in, out, ws) : CD_ERR_NOMEM;
  printf("dq: scale %g, zero point %d: %s\n", DQ_INPUT0_SCALE, DQ_INPUT0_ZERO_POINT, cd_strerror(rc));
  return rc != CD_OK;
}
EOF
cmake -S "$T/io" -B "$T/ib" $GEN -DCardinal_DIR="$BUILD" > "$T/log" 2>&1 || { cat "$T/log"; fail "configure IO"; }
cmake --build "$T/ib" > "$T/log" 2>&1 || { cat "$T/log"; fail "build with IO quantized"; }
"$T/ib/app" || fail "the IO quantized model did not run"
echo "cmake model: ok"
