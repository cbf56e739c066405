# cardinal_add_model: compile a model to C at build time and link it in.
#
#   find_package(Cardinal REQUIRED)          # or add_subdirectory(cardinal)
#   add_executable(app main.c)
#   cardinal_add_model(net TARGET app MODEL model.onnx
#     [PASSES default ...]        # passes, as a list or "a,b" (default: default)
#     [ISA native|avx512|avx2|neon|scalar]   # default native; cross builds:
#                                 # neon for aarch64/arm64, else scalar
#     [THREADS n|auto]            # split every layer over n threads (n > 1 or auto:
#                                 # the thread pool and pthreads are linked)
#     [WEIGHTS embed|blob|section]          # default embed
#     [EMBED_AS incbin|c]         # embedded weights assembled from NAME_weights.bin
#                                 # (needs ASM: project(app C ASM)) or a C array;
#                                 # default incbin where the project has ASM, with
#                                 # gcc or clang, for ELF; else c
#     [STATIC_WORKSPACE]          # net_workspace, used when net_run gets NULL
#     [IO float|quantized]        # default float; quantized (a QDQ model, or OPTIONS
#                                 # --precision int8 --calibrate DIR): the tensors
#                                 # at its Q/DQ edges pass as uint8/int8, net_run
#                                 # takes void pointers, net.h gives each one's
#                                 # NET_INPUTk_SCALE and _ZERO_POINT (--io)
#     [SHAPES input=1,3,224,224 ...]        # fix symbolic input dims
#     [OUTPUTS tensor ...]        # make these tensors the outputs, in this order,
#                                 # and drop what only the rest needs (--outputs)
#     [FREEZE input=file.npy ...] # make inputs constants
#     [PARAMS file.safetensors] [SEED n]    # the parameters of a .nx model
#     [MAX_WORKSPACE bytes] [MAX_WEIGHTS bytes]   # fail the build past these
#     [OPTIONS --flag ...])       # anything else `cardinal compile` takes
#
# It adds a static library target NAME (the generated NAME.c and the
# weights; its include folder has NAME.h), links it into each TARGET, and
# runs `cardinal compile` whenever the model (for a .nx model, any .nx file
# of its folder: its imports), the cardinal executable or the options
# change -- and only then.  The runtime (cardinal_rt.c) is
# compiled once per project, by the project's C compiler: in a cross build
# the host's cardinal writes the C and the target's compiler builds it.
# With WEIGHTS blob, NAME_WEIGHTS_FILE (in the caller's scope, and the
# target's CARDINAL_WEIGHTS_FILE property) is the blob to ship and hand to
# NAME_set_weights at run time.
#
# The model library is compiled with -O3 (gcc, clang) whatever the build
# type: generated kernels at -O0 are ten times slower and need far more
# stack.  NAME is the prefix of the generated API and the library target's
# name; it is checked when CMake configures, by the rules `cardinal
# compile --name` applies (a C identifier of at most 64 characters, not
# the runtime's cardinal_rt/cd_* in any case, not starting with '_', not a
# system header's name), and must not be a target that exists already.
# The model's path (and PARAMS, OUTPUT_DIR, the build folder) must not
# hold ';', which CMake takes for a list separator.
#
# Which cardinal and which runtime sources: the global properties
# CARDINAL_EXECUTABLE, CARDINAL_RUNTIME_DIR (cardinal_rt.c) and
# CARDINAL_RUNTIME_INCLUDE_DIR (cardinal_rt.h), set by CardinalConfig.cmake
# (an installed or build-tree package) or by Cardinal's own CMakeLists.txt
# (add_subdirectory).

# cardinal_check_model_name(NAME): a FATAL_ERROR saying why, if NAME may not
# name a model (the rules of `cardinal compile --name`).
function(cardinal_check_model_name name)
  # The system headers NAME.h would shadow under -I: the list of
  # compiler/toolchain.c (system_headers); tests/e2e/cmake_model.sh checks
  # the two agree.
  set(system_headers
    assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp signal
    stdalign stdarg stdatomic stdbit stdbool stdckdint stddef stdint stdio stdlib stdnoreturn
    string tgmath threads time uchar wchar wctype
    aio alloca cpio dirent dlfcn endian err error execinfo fcntl features fmtmsg fnmatch ftw
    getopt glob grp iconv langinfo libgen link malloc memory monetary mqueue ndbm netdb
    nl_types poll pthread pwd regex sched search semaphore spawn strings syslog tar termios
    trace ulimit unistd utime utmp utmpx wordexp
    cpuid mm_malloc mm3dnow omp openacc unwind varargs stdfix cet)
  set(why "")
  string(LENGTH "${name}" len)
  string(TOLOWER "${name}" lower)
  list(FIND system_headers "${lower}" header)
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    set(why "is not a C identifier (letters, digits and '_', not starting with a digit)")
  elseif(len GREATER 64)
    set(why "is longer than 64 characters")
  elseif(lower MATCHES "^cd(_|$)" OR lower MATCHES "^cardinal_rt(_threads)?$")
    set(why "is reserved for Cardinal's runtime (cardinal_rt, cardinal_rt_threads, cd_*, in "
            "any case): its files, macros and symbols would collide")
  elseif(name MATCHES "^_")
    set(why "is a reserved identifier in C: the header's macros, the name upper-cased then "
            "_H, _NUM_INPUTS, ..., would begin with '_' and a capital letter or a second '_'")
  elseif(lower MATCHES "intrin$" OR lower MATCHES "^arm_" OR header GREATER -1)
    set(why "is a system header's name: ${name}.h beside the generated code would shadow "
            "<${name}.h> for every file compiled with -I on that folder")
  endif()
  if(why)
    string(CONCAT why ${why})
    message(FATAL_ERROR "cardinal_add_model(${name}): the name ${why}; choose another name "
                        "(it prefixes the generated API)")
  endif()
endfunction()

function(cardinal_add_model name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "STATIC_WORKSPACE"
    "MODEL;ISA;THREADS;WEIGHTS;EMBED_AS;IO;PARAMS;SEED;MAX_WORKSPACE;MAX_WEIGHTS;OUTPUT_DIR"
    "TARGET;PASSES;SHAPES;OUTPUTS;FREEZE;OPTIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "cardinal_add_model(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS} "
                        "(a path holding ';' passed unquoted is split into several)")
  endif()
  cardinal_check_model_name("${name}")
  if(TARGET ${name} OR name MATCHES "^cardinal_runtime(_threads)?$")
    message(FATAL_ERROR "cardinal_add_model(${name}): a target named ${name} exists already "
                        "(or is the runtime's, cardinal_runtime*): the model's library target "
                        "takes its name; choose another name")
  endif()
  if(NOT arg_MODEL)
    message(FATAL_ERROR "cardinal_add_model(${name}): MODEL file.onnx (or .nx) is required")
  endif()
  # A ';' in a path splits it into a list wherever CMake passes it on (the
  # command, its dependencies): refused here rather than failing later.
  foreach(what MODEL PARAMS OUTPUT_DIR)
    if(arg_${what} MATCHES ";")
      message(FATAL_ERROR "cardinal_add_model(${name}): the ${what} path '${arg_${what}}' "
                          "contains ';', which CMake takes for a list separator (the path "
                          "would be split in two): rename the file or folder, or link to it "
                          "from a path without ';'")
    endif()
  endforeach()
  if(CMAKE_CURRENT_BINARY_DIR MATCHES ";" AND NOT arg_OUTPUT_DIR)
    message(FATAL_ERROR "cardinal_add_model(${name}): the build folder "
                        "'${CMAKE_CURRENT_BINARY_DIR}' contains ';', which CMake takes for a "
                        "list separator: give OUTPUT_DIR a folder without ';', or build "
                        "elsewhere")
  endif()
  # THREADS n or auto (this machine's cores, when the model is compiled):
  # either way the model may be threaded, so the thread pool is linked.
  if(DEFINED arg_THREADS AND NOT arg_THREADS MATCHES "^([1-9][0-9]?|auto)$" OR
     arg_THREADS MATCHES "^[0-9]+$" AND arg_THREADS GREATER 64)
    message(FATAL_ERROR "cardinal_add_model(${name}): THREADS is a count from 1 to 64, or "
                        "auto, not '${arg_THREADS}'")
  endif()
  set(threaded FALSE)
  if(arg_THREADS STREQUAL "auto" OR (arg_THREADS MATCHES "^[0-9]+$" AND arg_THREADS GREATER 1))
    set(threaded TRUE)
  endif()
  get_property(exe GLOBAL PROPERTY CARDINAL_EXECUTABLE)
  get_property(rtdir GLOBAL PROPERTY CARDINAL_RUNTIME_DIR)
  get_property(rtinc GLOBAL PROPERTY CARDINAL_RUNTIME_INCLUDE_DIR)
  if(NOT exe OR NOT rtdir OR NOT rtinc)
    message(FATAL_ERROR "cardinal_add_model: find_package(Cardinal) or add_subdirectory() "
                        "Cardinal first")
  endif()
  get_filename_component(model "${arg_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  set(deps "${model}")
  if(model MATCHES "\\.nx$")
    # A DSL model's imports live in its folder: a change to any .nx there
    # regenerates it.
    get_filename_component(model_dir "${model}" DIRECTORY)
    file(GLOB_RECURSE imports CONFIGURE_DEPENDS "${model_dir}/*.nx")
    list(APPEND deps ${imports})
  endif()

  # The instruction set: native describes the machine that builds, so a
  # cross build picks from the target's processor.
  set(isa "${arg_ISA}")
  if(NOT isa)
    if(CMAKE_CROSSCOMPILING)
      if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
        set(isa neon)
      else()
        set(isa scalar)
      endif()
    else()
      set(isa native)
    endif()
  elseif(isa STREQUAL "native" AND CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "cardinal_add_model(${name}): ISA native is the build machine's, not "
                        "the target's: give ISA neon, scalar, avx2 or avx512")
  endif()
  set(weights "${arg_WEIGHTS}")
  if(NOT weights)
    set(weights embed)
  elseif(NOT weights MATCHES "^(embed|blob|section)$")
    message(FATAL_ERROR "cardinal_add_model(${name}): WEIGHTS is embed, blob or section, "
                        "not ${weights}")
  endif()

  # The form of embedded weights (README, --embed-as): the assembler's, which
  # builds a 500 MB model in seconds, needs the project's ASM language (its
  # compiler is the C compiler, which preprocesses NAME_weights.S and hands
  # it -I for the .bin) and an ELF target.
  get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  set(can_incbin FALSE)
  if("ASM" IN_LIST languages AND CMAKE_ASM_COMPILER_ID MATCHES "GNU|Clang" AND
     NOT (APPLE OR WIN32 OR CYGWIN))
    set(can_incbin TRUE)
  endif()
  set(embed_as "${arg_EMBED_AS}")
  if(weights STREQUAL "blob")
    if(embed_as)
      message(FATAL_ERROR "cardinal_add_model(${name}): EMBED_AS is the form of embedded "
                          "weights (WEIGHTS embed or section), not of WEIGHTS blob")
    endif()
  elseif(NOT embed_as)
    if(can_incbin)
      set(embed_as incbin)
    else()
      set(embed_as c)
    endif()
  elseif(embed_as STREQUAL "incbin")
    if(NOT "ASM" IN_LIST languages)
      message(FATAL_ERROR "cardinal_add_model(${name}): EMBED_AS incbin assembles "
                          "${name}_weights.S: enable ASM (project(... LANGUAGES C ASM) or "
                          "enable_language(ASM)), or give EMBED_AS c")
    endif()
  elseif(NOT embed_as STREQUAL "c")
    message(FATAL_ERROR "cardinal_add_model(${name}): EMBED_AS is incbin or c, not ${embed_as}")
  endif()

  if(DEFINED arg_IO AND NOT arg_IO MATCHES "^(float|quantized)$")
    message(FATAL_ERROR "cardinal_add_model(${name}): IO is float or quantized, not "
                        "'${arg_IO}'")
  endif()

  set(dir "${arg_OUTPUT_DIR}")
  if(NOT dir)
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/cardinal/${name}")
  endif()
  set(args compile "${model}" -o "${dir}" --name ${name} --target ${isa} --weights ${weights})
  if(embed_as)
    list(APPEND args --embed-as ${embed_as})
  endif()
  if(arg_PASSES)
    string(REPLACE ";" "," passes "${arg_PASSES}")
    list(APPEND args --passes "${passes}")
  endif()
  if(arg_THREADS)
    list(APPEND args --threads ${arg_THREADS})
  endif()
  if(arg_STATIC_WORKSPACE)
    list(APPEND args --static-workspace)
  endif()
  if(arg_IO STREQUAL "quantized") # float is the default: no option, the same command line
    list(APPEND args --io quantized)
  endif()
  foreach(s IN LISTS arg_SHAPES)
    list(APPEND args --shape "${s}")
  endforeach()
  foreach(o IN LISTS arg_OUTPUTS)
    list(APPEND args --outputs "${o}")
  endforeach()
  foreach(f IN LISTS arg_FREEZE)
    string(REGEX REPLACE "^([^=]*)=(.*)$" "\\1" in "${f}")
    string(REGEX REPLACE "^([^=]*)=(.*)$" "\\2" file "${f}")
    get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND args --freeze "${in}=${file}")
    list(APPEND deps "${file}")
  endforeach()
  if(arg_PARAMS)
    get_filename_component(params "${arg_PARAMS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND args --weights "${params}")
    list(APPEND deps "${params}")
  endif()
  if(DEFINED arg_SEED)
    list(APPEND args --seed ${arg_SEED})
  endif()
  if(arg_MAX_WORKSPACE)
    list(APPEND args --max-workspace ${arg_MAX_WORKSPACE})
  endif()
  if(arg_MAX_WEIGHTS)
    list(APPEND args --max-weights ${arg_MAX_WEIGHTS})
  endif()
  list(APPEND args ${arg_OPTIONS})

  # The options, in a file rewritten only when they change: the custom
  # command depends on it, so new options regenerate the code (a changed
  # COMMAND alone does not rerun it under every generator).
  string(REPLACE ";" "\n" options_text "${args}\n")
  set(old_options "")
  if(EXISTS "${dir}.options")
    file(READ "${dir}.options" old_options)
  endif()
  if(NOT old_options STREQUAL options_text)
    file(WRITE "${dir}.options" "${options_text}")
  endif()

  set(outputs "${dir}/${name}.h" "${dir}/${name}.c")
  set(sources "${dir}/${name}.c")
  if(weights STREQUAL "blob")
    list(APPEND outputs "${dir}/${name}.weights")
  elseif(embed_as STREQUAL "incbin")
    list(APPEND outputs "${dir}/${name}_weights.S" "${dir}/${name}_weights.bin")
    list(APPEND sources "${dir}/${name}_weights.S")
    # The assembler reads the .bin (.incbin): no dependency scanner sees it.
    set_source_files_properties("${dir}/${name}_weights.S" PROPERTIES
      OBJECT_DEPENDS "${dir}/${name}_weights.bin")
  else()
    list(APPEND outputs "${dir}/${name}_weights.c")
    list(APPEND sources "${dir}/${name}_weights.c")
  endif()
  get_filename_component(model_name "${model}" NAME)
  set(embed_as_note "")
  if(embed_as)
    set(embed_as_note " as ${embed_as}")
  endif()
  # A target's name (add_subdirectory) is its file only as a COMMAND's
  # first word: here cmake -E env is, so the path is spelled out.
  set(exe_path "${exe}")
  if(TARGET ${exe})
    set(exe_path "$<TARGET_FILE:${exe}>")
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    # CARDINAL_CMAKE=1: messages name this function's arguments (SHAPES,
    # OUTPUTS), not the command line's options
    COMMAND ${CMAKE_COMMAND} -E env CARDINAL_CMAKE=1 ${exe_path} ${args}
    DEPENDS ${deps} ${exe} "${dir}.options"
    COMMENT "cardinal: compiling ${model_name} to C (${name}, ${isa}, weights ${weights}${embed_as_note})"
    VERBATIM)

  # The runtime, once per project, with the project's compiler; its thread
  # pool only for models with threads (it needs pthreads).
  if(NOT TARGET cardinal_runtime)
    add_library(cardinal_runtime STATIC "${rtdir}/cardinal_rt.c")
    target_include_directories(cardinal_runtime PUBLIC "${rtinc}")
    if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
      target_compile_options(cardinal_runtime PRIVATE -O2)
    endif()
  endif()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC "${dir}")
  target_link_libraries(${name} PUBLIC cardinal_runtime)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${name} PRIVATE -O3)
  endif()
  if(NOT WIN32)
    # expf, sqrtf, ... for the activations: -lm, not "m", which names the
    # model's own target when the model is called m.
    target_link_libraries(${name} PUBLIC -lm)
  endif()
  if(threaded)
    if(NOT TARGET cardinal_runtime_threads)
      find_package(Threads REQUIRED)
      add_library(cardinal_runtime_threads STATIC "${rtdir}/cardinal_rt_threads.c")
      target_include_directories(cardinal_runtime_threads PUBLIC "${rtinc}")
      target_link_libraries(cardinal_runtime_threads PUBLIC Threads::Threads)
    endif()
    target_link_libraries(${name} PUBLIC cardinal_runtime_threads)
  endif()
  if(weights STREQUAL "blob")
    set_target_properties(${name} PROPERTIES CARDINAL_WEIGHTS_FILE "${dir}/${name}.weights")
    set(${name}_WEIGHTS_FILE "${dir}/${name}.weights" PARENT_SCOPE)
  endif()
  foreach(t IN LISTS arg_TARGET)
    target_link_libraries(${t} PRIVATE ${name})
  endforeach()
endfunction()
