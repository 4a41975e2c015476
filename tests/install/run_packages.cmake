# cmake -P script behind the packages test: builds the Debian packages of a build tree with
# cpack, unpacks them with dpkg-deb -x into a scratch root (nothing is installed on this
# machine), and uses that root as a user of the packages would: the CMake package and the
# pkg-config file build a program, the tools run, systemd-analyze checks the unit.
#   SYN_BINARY_DIR       the syn build tree, built (cpack runs its preinstall target, which
#                        builds what is out of date: scripts/test builds everything first)
#   WORK_DIR             scratch directory
#   CONSUMER_SOURCE_DIR  tests/install/consumer
#   CPACK                the cpack program
#   CONFIG, GENERATOR, MAKE_PROGRAM, CXX_COMPILER, CXX_FLAGS, LINK_FLAGS  how to build the consumer
cmake_minimum_required(VERSION 3.16)
set(STEP_NAME packages)
include(${CMAKE_CURRENT_LIST_DIR}/step.cmake)

foreach(var SYN_BINARY_DIR WORK_DIR CONSUMER_SOURCE_DIR CPACK SYN_VERSION)
  if(NOT ${var})
    message(FATAL_ERROR "run_packages.cmake: ${var} is not set")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(debs "${WORK_DIR}/debs")
set(root "${WORK_DIR}/root")

# (a) the packages. gzip: the test's packages are thrown away, xz would only cost time.
set(config_args)
if(CONFIG)
  set(config_args -C "${CONFIG}")
endif()
step("cpack -G DEB" "${CPACK}" -G DEB --config "${SYN_BINARY_DIR}/CPackConfig.cmake" -B "${debs}" ${config_args}
     -D CPACK_DEBIAN_COMPRESSION_TYPE=gzip)

# (b) each package: its name, what it depends on, unpacked into the root.
function(check_package pattern expected_name)
  file(GLOB found "${debs}/${pattern}")
  list(LENGTH found n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "packages: expected one ${pattern} in ${debs}, found '${found}'")
  endif()
  step("dpkg-deb -f ${found}" dpkg-deb -f "${found}" Package Version Depends)
  message(STATUS "${step_output}")
  if(NOT step_output MATCHES "Package: ${expected_name}\n")
    message(FATAL_ERROR "packages: ${found} is not package ${expected_name}")
  endif()
  foreach(dependency ${ARGN})
    if(NOT step_output MATCHES "Depends:.*${dependency}")
      message(FATAL_ERROR "packages: ${expected_name} does not depend on ${dependency}")
    endif()
  endforeach()
  step("dpkg-deb -x ${found}" dpkg-deb -x "${found}" "${root}")
  set(package_file "${found}" PARENT_SCOPE)
endfunction()
check_package("libsyn-dev_*.deb" libsyn-dev libzmq3-dev cppzmq-dev nlohmann-json3-dev libabsl-dev)
check_package("syn-tools_*.deb" syn-tools libzmq5)
step("dpkg-deb -e syn-tools" dpkg-deb -e "${package_file}" "${WORK_DIR}/tools-control")
if(NOT EXISTS "${WORK_DIR}/tools-control/postinst")
  message(FATAL_ERROR "packages: syn-tools has no postinst (it creates the syn user)")
endif()

# (c) the files a user counts on.
file(GLOB_RECURSE config_files "${root}/usr/*/synConfig.cmake")
file(GLOB_RECURSE pc_files "${root}/usr/*/pkgconfig/syn.pc")
file(GLOB_RECURSE archives "${root}/usr/*/libsyn.a")
foreach(list config_files pc_files archives)
  if(NOT ${list})
    message(FATAL_ERROR "packages: ${list} missing from the unpacked root")
  endif()
endforeach()
foreach(file usr/include/syn/syn.hpp usr/include/syn/control.hpp usr/bin/syn-node usr/bin/synctl
             usr/lib/systemd/system/syn-node.service usr/share/syn/node.json)
  if(NOT EXISTS "${root}/${file}")
    message(FATAL_ERROR "packages: /${file} missing from the unpacked root")
  endif()
endforeach()

# (d) the tools run from the root.
step("synctl --help" "${root}/usr/bin/synctl" --help)
step("syn-node --help" "${root}/usr/bin/syn-node" --help)

# (e) a program built against the root: with the CMake package...
step("the CMake consumer" "${CMAKE_COMMAND}" -DPREFIX=${root}/usr -DWORK_DIR=${WORK_DIR}/cmake-consumer
     -DCONSUMER_SOURCE_DIR=${CONSUMER_SOURCE_DIR} -DCONFIG=${CONFIG} -DGENERATOR=${GENERATOR}
     -DMAKE_PROGRAM=${MAKE_PROGRAM} -DCXX_COMPILER=${CXX_COMPILER} -DCXX_FLAGS=${CXX_FLAGS} -DLINK_FLAGS=${LINK_FLAGS}
     -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer.cmake)
# ...and with pkg-config alone, the file's prefix found from where it lies.
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
step("pkg-config --cflags --libs syn" pkg-config --cflags --libs syn)
string(STRIP "${step_output}" pkg_flags)
string(FIND "${pkg_flags}" "-I${root}/usr/" include_at)
string(FIND "${pkg_flags}" "-L${root}/usr/" lib_at)
if(include_at LESS 0 OR lib_at LESS 0)
  message(FATAL_ERROR "packages: pkg-config does not point into the unpacked root: ${pkg_flags}")
endif()
separate_arguments(pkg_flags UNIX_COMMAND "${pkg_flags}")
separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS} ${LINK_FLAGS}")
set(compiler "${CXX_COMPILER}")
if(NOT compiler)
  set(compiler c++)
endif()
step("build with pkg-config" "${compiler}" ${cxx_flags} -DSYN_PACKAGE_VERSION="${SYN_VERSION}" "${CONSUMER_SOURCE_DIR}/main.cpp"
     -o "${WORK_DIR}/pkg-config-app" ${pkg_flags})
step("run the pkg-config program" "${WORK_DIR}/pkg-config-app")

# (f) the unit, as systemd reads it (where systemd-analyze is installed).
find_program(SYSTEMD_ANALYZE systemd-analyze)
if(SYSTEMD_ANALYZE)
  # Verified inside the root, so that ExecStart's /usr/bin/syn-node is the unpacked one; the
  # root gets a copy of this host's targets, slices and sockets, which any unit depends on.
  set(unit_dir "${root}/usr/lib/systemd/system")
  # (by the shell: some of their names hold backslashes, which CMake's file() mangles)
  step("copy the host's targets" sh -c "cp -P /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice \
       /usr/lib/systemd/system/*.socket '${unit_dir}/'")
  step("systemd-analyze verify" "${SYSTEMD_ANALYZE}" verify --man=no "--root=${root}" "${unit_dir}/syn-node.service")
  # It fails on a missing binary, but only warns about a bad directive: any word about the
  # unit is a failure here.
  if(step_output MATCHES "syn-node.service")
    message(FATAL_ERROR "packages: systemd-analyze verify has this to say about the unit:\n${step_output}")
  endif()
else()
  message(STATUS "packages: systemd-analyze not installed; the unit was not verified")
endif()
message(STATUS "packages: passed")
