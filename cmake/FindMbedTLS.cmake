# Finds mbedTLS 2.28 (Debian's libmbedtls-dev ships neither pkg-config nor a CMake package).
# Defines MbedTLS::mbedtls, MbedTLS::mbedx509, MbedTLS::mbedcrypto and MbedTLS_VERSION.
# Honours CMAKE_FIND_ROOT_PATH, so the same module finds a mingw-w64 cross-built copy.
find_path(MbedTLS_INCLUDE_DIR mbedtls/ssl.h)
find_library(MbedTLS_LIBRARY mbedtls)
find_library(MbedX509_LIBRARY mbedx509)
find_library(MbedCrypto_LIBRARY mbedcrypto)

if(MbedTLS_INCLUDE_DIR AND EXISTS "${MbedTLS_INCLUDE_DIR}/mbedtls/version.h")
  file(STRINGS "${MbedTLS_INCLUDE_DIR}/mbedtls/version.h" _ver
       REGEX "^#define MBEDTLS_VERSION_STRING +\"[0-9.]+\"")
  string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" MbedTLS_VERSION "${_ver}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(MbedTLS
  REQUIRED_VARS MbedTLS_INCLUDE_DIR MbedTLS_LIBRARY MbedX509_LIBRARY MbedCrypto_LIBRARY
  VERSION_VAR MbedTLS_VERSION
  REASON_FAILURE_MESSAGE "install the Debian package libmbedtls-dev (scripts/install-deps.sh)")

if(MbedTLS_FOUND AND NOT TARGET MbedTLS::mbedcrypto)
  add_library(MbedTLS::mbedcrypto UNKNOWN IMPORTED)
  set_target_properties(MbedTLS::mbedcrypto PROPERTIES
    IMPORTED_LOCATION "${MbedCrypto_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${MbedTLS_INCLUDE_DIR}")
  add_library(MbedTLS::mbedx509 UNKNOWN IMPORTED)
  set_target_properties(MbedTLS::mbedx509 PROPERTIES
    IMPORTED_LOCATION "${MbedX509_LIBRARY}" INTERFACE_LINK_LIBRARIES MbedTLS::mbedcrypto)
  add_library(MbedTLS::mbedtls UNKNOWN IMPORTED)
  set_target_properties(MbedTLS::mbedtls PROPERTIES
    IMPORTED_LOCATION "${MbedTLS_LIBRARY}" INTERFACE_LINK_LIBRARIES MbedTLS::mbedx509)
  if(WIN32)
    # The static libraries' system dependencies: entropy through CryptGenRandom, net_sockets.
    set_property(TARGET MbedTLS::mbedcrypto APPEND PROPERTY INTERFACE_LINK_LIBRARIES advapi32)
    set_property(TARGET MbedTLS::mbedtls APPEND PROPERTY INTERFACE_LINK_LIBRARIES ws2_32)
  endif()
endif()
