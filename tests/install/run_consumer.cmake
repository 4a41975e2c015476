# cmake -P script behind the install_consumer test (see CMakeLists.txt beside it).
#   SYN_BINARY_DIR       the syn build tree to install
#   PREFIX               instead: an installed tree to build against (nothing is installed)
#   WORK_DIR             scratch directory: <WORK_DIR>/prefix and <WORK_DIR>/build
#   CONSUMER_SOURCE_DIR  tests/install/consumer
#   CONFIG, GENERATOR, MAKE_PROGRAM, CXX_COMPILER, CXX_FLAGS, LINK_FLAGS  how to build it
cmake_minimum_required(VERSION 3.16)

foreach(var WORK_DIR CONSUMER_SOURCE_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()

if(PREFIX)
  set(prefix "${PREFIX}")
elseif(SYN_BINARY_DIR)
  set(prefix "${WORK_DIR}/prefix")
else()
  message(FATAL_ERROR "run_consumer.cmake: set SYN_BINARY_DIR or PREFIX")
endif()
set(build "${WORK_DIR}/build")

# Start from nothing, so that no file of an earlier run can hide a missing one.
if(NOT PREFIX)
  file(REMOVE_RECURSE "${prefix}")
endif()
file(REMOVE_RECURSE "${build}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(STEP_NAME install_consumer)
include(${CMAKE_CURRENT_LIST_DIR}/step.cmake)

# (a) install the build tree into the prefix.
set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
if(NOT PREFIX)
  step("cmake --install ${SYN_BINARY_DIR} --prefix ${prefix}"
  "${CMAKE_COMMAND}" --install "${SYN_BINARY_DIR}" --prefix "${prefix}" ${config_args})
endif()

file(GLOB_RECURSE config_files "${prefix}/*/synConfig.cmake")
if(NOT config_files)
  message(FATAL_ERROR "install_consumer: no synConfig.cmake under ${prefix}")
endif()

# (b) configure and build the consumer against the prefix only: no package registry, no
# source tree, and CMAKE_PREFIX_PATH naming nothing else.
set(configure_args
  -S "${CONSUMER_SOURCE_DIR}" -B "${build}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
if(GENERATOR)
  list(APPEND configure_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CONFIG)
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
list(APPEND configure_args "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS}")
step("configure the consumer" "${CMAKE_COMMAND}" ${configure_args})

# The package found must be the one just installed, not one elsewhere on the system.
file(STRINGS "${build}/CMakeCache.txt" syn_dir_line REGEX "^syn_DIR:")
string(REGEX REPLACE "^syn_DIR:[A-Z]+=" "" syn_dir "${syn_dir_line}")
file(REAL_PATH "${prefix}" real_prefix)
if(EXISTS "${syn_dir}")
  file(REAL_PATH "${syn_dir}" syn_dir)
endif()
string(FIND "${syn_dir}" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "install_consumer: found syn in '${syn_dir}', not under ${prefix}")
endif()

step("build the consumer" "${CMAKE_COMMAND}" --build "${build}" ${config_args})

# (c) run it.
set(app)
foreach(candidate "${build}/app" "${build}/${CONFIG}/app")
  if(NOT app AND EXISTS "${candidate}" AND NOT IS_DIRECTORY "${candidate}")
    set(app "${candidate}")
  endif()
endforeach()
if(NOT app)
  message(FATAL_ERROR "install_consumer: the consumer binary is missing from ${build}")
endif()
step("run ${app}" "${app}")
message("${step_output}")
message(STATUS "install_consumer: passed")
