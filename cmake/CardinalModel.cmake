# cardinal_add_model: compile a model to C at build time and link it in.
#
#   find_package(Cardinal REQUIRED)          # or add_subdirectory(cardinal)
#   add_executable(app main.c)
#   cardinal_add_model(net TARGET app MODEL model.onnx
#     [PASSES default ...]        # passes, as a list or "a,b" (default: default)
#     [ISA native|avx512|avx2|neon|scalar]   # default native; cross builds:
#                                 # neon for aarch64/arm64, else scalar
#     [THREADS n]                 # split every layer over n threads (n > 1: pthreads)
#     [WEIGHTS embed|blob|section]          # default embed
#     [STATIC_WORKSPACE]          # net_workspace, used when net_run gets NULL
#     [SHAPES input=1,3,224,224 ...]        # fix symbolic input dims
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
# stack.  NAME must be a C identifier: it is the prefix of the generated API.
#
# Which cardinal and which runtime sources: the global properties
# CARDINAL_EXECUTABLE, CARDINAL_RUNTIME_DIR (cardinal_rt.c) and
# CARDINAL_RUNTIME_INCLUDE_DIR (cardinal_rt.h), set by CardinalConfig.cmake
# (an installed or build-tree package) or by Cardinal's own CMakeLists.txt
# (add_subdirectory).

function(cardinal_add_model name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "STATIC_WORKSPACE"
    "MODEL;ISA;THREADS;WEIGHTS;PARAMS;SEED;MAX_WORKSPACE;MAX_WEIGHTS;OUTPUT_DIR"
    "TARGET;PASSES;SHAPES;FREEZE;OPTIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "cardinal_add_model(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "cardinal_add_model(${name}): the name must be a C identifier "
                        "(it prefixes the generated API)")
  endif()
  if(NOT arg_MODEL)
    message(FATAL_ERROR "cardinal_add_model(${name}): MODEL file.onnx (or .nx) is required")
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

  set(dir "${arg_OUTPUT_DIR}")
  if(NOT dir)
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/cardinal/${name}")
  endif()
  set(args compile "${model}" -o "${dir}" --name ${name} --target ${isa} --weights ${weights})
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
  foreach(s IN LISTS arg_SHAPES)
    list(APPEND args --shape "${s}")
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
  else()
    list(APPEND outputs "${dir}/${name}_weights.c")
    list(APPEND sources "${dir}/${name}_weights.c")
  endif()
  get_filename_component(model_name "${model}" NAME)
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${exe} ${args}
    DEPENDS ${deps} ${exe} "${dir}.options"
    COMMENT "cardinal: compiling ${model_name} to C (${name}, ${isa}, weights ${weights})"
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
    target_link_libraries(${name} PUBLIC m) # expf, sqrtf, ... for the activations
  endif()
  if(arg_THREADS AND arg_THREADS GREATER 1)
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
