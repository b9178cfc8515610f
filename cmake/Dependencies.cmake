# Finds every dependency and fails with the Debian package to install when one is missing.
macro(rras_require found_var package)
  if(NOT ${found_var})
    message(FATAL_ERROR "rrasfleet: missing dependency: install the Debian package '${package}' "
                        "(scripts/install-deps.sh installs everything)")
  endif()
endmacro()

find_package(cJSON CONFIG QUIET)
rras_require(cJSON_FOUND libcjson-dev)

find_package(MbedTLS 2.28 QUIET)
rras_require(MbedTLS_FOUND libmbedtls-dev)

if(RRAS_BUILD_AGENT OR RRAS_BUILD_COLLECTOR)
  find_package(CURL QUIET)
  rras_require(CURL_FOUND libcurl4-openssl-dev)
endif()

if(RRAS_BUILD_COLLECTOR)
  find_package(SQLite3 QUIET)
  rras_require(SQLite3_FOUND libsqlite3-dev)
endif()

if(RRAS_BUILD_TESTS)
  find_package(cmocka CONFIG QUIET)
  rras_require(cmocka_FOUND libcmocka-dev)
  # cmocka 1.1.5 exports variables only; wrap them in a target.
  if(NOT TARGET rras_cmocka)
    add_library(rras_cmocka INTERFACE)
    target_include_directories(rras_cmocka INTERFACE ${CMOCKA_INCLUDE_DIR})
    target_link_libraries(rras_cmocka INTERFACE ${CMOCKA_LIBRARIES})
  endif()
endif()
