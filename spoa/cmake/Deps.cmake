# Third-party libraries, all from Debian packages (see README: the test command installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)

# libev ships no pkg-config file on Debian.
find_path(LIBEV_INCLUDE_DIR ev.h REQUIRED)
find_library(LIBEV_LIBRARY ev REQUIRED)
add_library(sticky_libev INTERFACE)
target_include_directories(sticky_libev SYSTEM INTERFACE ${LIBEV_INCLUDE_DIR})
target_link_libraries(sticky_libev INTERFACE ${LIBEV_LIBRARY})

pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(MSGPACK REQUIRED IMPORTED_TARGET msgpack)
pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)
find_package(yaml-cpp REQUIRED)
if(STICKY_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
