# Finds every dependency and fails with the Debian package to install when one is missing.
# The Windows build (cmake/mingw-w64-x86_64.cmake) finds the same libraries, built static for
# mingw-w64 by scripts/build-windows.sh in build-win/deps/prefix (docs/windows-build.md).
if(WIN32)
  macro(rras_require found_var package)
    if(NOT ${found_var})
      message(FATAL_ERROR "rrasfleet: missing Windows dependency ${package} in "
                          "'${RRAS_WIN_DEPS_PREFIX}': scripts/build-windows.sh builds it")
    endif()
  endmacro()
else()
  macro(rras_require found_var package)
    if(NOT ${found_var})
      message(FATAL_ERROR "rrasfleet: missing dependency: install the Debian package '${package}' "
                          "(scripts/install-deps.sh installs everything)")
    endif()
  endmacro()
endif()

find_package(cJSON CONFIG QUIET)
rras_require(cJSON_FOUND libcjson-dev)
if(WIN32 AND TARGET cjson)
  # Built with hidden symbols: declarations without dllexport, as for any static library.
  set_property(TARGET cjson APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS CJSON_HIDE_SYMBOLS)
endif()

find_package(MbedTLS 2.28 QUIET)
rras_require(MbedTLS_FOUND libmbedtls-dev)

if(RRAS_BUILD_AGENT OR RRAS_BUILD_COLLECTOR)
  if(WIN32)
    # curl's own package: CURL::libcurl, static, with CURL_STATICLIB and its system libraries.
    find_package(CURL CONFIG QUIET)
  else()
    find_package(CURL QUIET)
  endif()
  rras_require(CURL_FOUND libcurl4-openssl-dev)
endif()

if(RRAS_BUILD_COLLECTOR)
  find_package(SQLite3 QUIET)
  rras_require(SQLite3_FOUND libsqlite3-dev)
endif()

if(RRAS_BUILD_TESTS)
  if(WIN32)
    # cmocka 1.1.5's package names its DLL; the tests link the static library instead.
    find_path(CMOCKA_INCLUDE_DIR cmocka.h)
    find_library(CMOCKA_STATIC_LIBRARY cmocka-static)
    if(CMOCKA_INCLUDE_DIR AND CMOCKA_STATIC_LIBRARY)
      set(cmocka_FOUND TRUE)
      set(CMOCKA_LIBRARIES ${CMOCKA_STATIC_LIBRARY})
    endif()
  else()
    find_package(cmocka CONFIG QUIET)
  endif()
  rras_require(cmocka_FOUND libcmocka-dev)
  # cmocka 1.1.5 exports variables only; wrap them in a target.
  if(NOT TARGET rras_cmocka)
    add_library(rras_cmocka INTERFACE)
    target_include_directories(rras_cmocka INTERFACE ${CMOCKA_INCLUDE_DIR})
    target_link_libraries(rras_cmocka INTERFACE ${CMOCKA_LIBRARIES})
  endif()
endif()
