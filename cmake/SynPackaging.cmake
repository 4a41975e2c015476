# Debian packages with CPack (`cpack -G DEB` in a build tree; scripts/package):
#   libsyn-dev  the headers, the static library, the CMake package and the pkg-config file
#   syn-tools   syn-node, synctl, the systemd unit of syn-node and an example configuration
# Every dependency named is a Debian 12 package, as at build time.

# The pkg-config file finds its prefix from where it lies, so that it is right wherever the
# files are put (a package, `cmake --install --prefix`, a tree unpacked with dpkg-deb -x).
file(RELATIVE_PATH _syn_pc_to_prefix "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" _syn_pc_to_prefix "${_syn_pc_to_prefix}")
set(SYN_PC_PREFIX "\${pcfiledir}/${_syn_pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/syn.pc.in ${PROJECT_BINARY_DIR}/syn.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/syn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT library)

if(SYN_BUILD_TOOLS)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/syn-node.service DESTINATION lib/systemd/system COMPONENT tools)
  # The example configuration; the package's postinst copies it to /etc/syn/node.json when
  # there is none (an install step never writes outside its prefix).
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/node.json DESTINATION ${CMAKE_INSTALL_DATADIR}/syn COMPONENT tools)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/security.md
          DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT tools)
endif()

set(CPACK_PACKAGE_NAME syn)
set(CPACK_PACKAGE_VENDOR "syn-cpp")
set(CPACK_PACKAGE_CONTACT "syn-cpp developers <syn-cpp@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL library)
if(SYN_BUILD_TOOLS)
  list(APPEND CPACK_COMPONENTS_ALL tools)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_LIBRARY_PACKAGE_NAME libsyn-dev)
set(CPACK_DEBIAN_LIBRARY_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_LIBRARY_PACKAGE_DEPENDS
    "libzmq3-dev (>= 4.3), cppzmq-dev, nlohmann-json3-dev (>= 3.10), libexpected-dev, libabsl-dev")
set(CPACK_COMPONENT_LIBRARY_DESCRIPTION
    "syn-cpp: global process registry, process groups and multicast for C++ clusters (development files)")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME syn-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
# The libraries the binaries link, found by dpkg-shlibdeps when it is there.
find_program(SYN_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(SYN_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libzmq5 (>= 4.3), libc6, libstdc++6")
endif()
set(CPACK_DEBIAN_TOOLS_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/postinst)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
    "syn-cpp: syn-node (a cluster node as a service, with a systemd unit) and synctl (look at and operate a node)")

include(CPack)
