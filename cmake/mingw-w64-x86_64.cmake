# Toolchain for the Windows (x86_64, mingw-w64) build: the project and its cross-built
# dependencies (scripts/build-windows.sh, docs/windows-build.md).
#   RRAS_WIN_DEPS_PREFIX  where the dependencies are installed (default build-win/deps/prefix);
#                         also read from the environment, so try-compile projects see it too.
# Only the mingw-w64 sysroot and that prefix are searched: the Linux packages' headers and
# libraries must never leak into a Windows binary (build-facts §5, pitfall 1).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)

if(NOT RRAS_WIN_DEPS_PREFIX)
  if(DEFINED ENV{RRAS_WIN_DEPS_PREFIX})
    set(RRAS_WIN_DEPS_PREFIX "$ENV{RRAS_WIN_DEPS_PREFIX}")
  else()
    get_filename_component(RRAS_WIN_DEPS_PREFIX "${CMAKE_CURRENT_LIST_DIR}/../build-win/deps/prefix"
                           ABSOLUTE)
  endif()
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES RRAS_WIN_DEPS_PREFIX)

set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32 "${RRAS_WIN_DEPS_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs the test executables under Wine (scripts/wine-run.sh picks the prefix). A caller
# may override it, e.g. with an empty value when building a dependency.
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  get_filename_component(_rras_wine_run "${CMAKE_CURRENT_LIST_DIR}/../scripts/wine-run.sh" ABSOLUTE)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${_rras_wine_run}")
endif()
