#!/bin/sh
# Cross-builds rrasfleet-agent.exe (x86_64, static, importing only system DLLs) and the Windows
# unit tests with mingw-w64, after the Windows builds of the dependencies (docs/windows-build.md,
# decision 014):
#   1. cJSON, mbedTLS, cmocka and libcurl (Schannel) from Debian's source packages, fetched with
#      `apt-get source` through a private sources list (no system apt file is touched), built
#      static with cmake/mingw-w64-x86_64.cmake and installed in build-win/deps/prefix. Each is
#      rebuilt only when its package version or its recipe changes (a stamp per dependency).
#   2. The project in build-win/build (agent, proto, unit tests), warnings as errors.
#   3. A check that rrasfleet-agent.exe imports system DLLs only.
#   4. The MSI, build-win/rrasfleet-agent.msi (deploy/windows/build-msi.sh: wixl + msibuild), at
#      the project's version (CMakeLists.txt project(VERSION)); docs/deploy-gpo.md.
# The tests run with scripts/wine-prefix.sh, then ctest --test-dir build-win/build.
#   --deps-only               stop after step 1
#   RRAS_WIN_DEPS_UPDATE=1    refresh the source package lists now (else when a week old)
#   RRAS_WIN_CURL_CHECKS=regen  configure curl without the cmake/curl-mingw-checks.cmake preload
#                             and write a new one from the results
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
out="$top/build-win"
deps="$out/deps"
prefix="$deps/prefix"
toolchain="$top/cmake/mingw-w64-x86_64.cmake"
checks="$top/cmake/curl-mingw-checks.cmake"
logs="$deps/logs"
CC=x86_64-w64-mingw32-gcc

deps_only=0
case ${1:-} in
"") ;;
--deps-only) deps_only=1 ;;
*)
    echo "usage: build-windows.sh [--deps-only]" >&2
    exit 2
    ;;
esac

say() { echo "build-windows: $*"; }
die() {
    echo "build-windows: $*" >&2
    exit 1
}
now() { date +%s; }
# The tail of a failed step's log, then stop.
fail_log() {
    tail -n 40 "$2" >&2
    die "$1 failed; the whole log is $2"
}

for tool in "$CC" apt-get dpkg-source cmake ninja sha256sum; do
    command -v "$tool" >/dev/null || die "$tool not found; scripts/install-deps.sh installs it"
done
mkdir -p "$deps/src" "$deps/stamps" "$prefix" "$logs"
gcc_version=$("$CC" -dumpversion)

# ---- source packages, through apt-get with private lists (build-facts §5) ----
apt="$deps/apt"
mkdir -p "$apt/lists/partial" "$apt/parts"
sed 's/^Types:.*$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$apt/deb-src.sources"
{
    echo "Dir::Etc::sourcelist \"$apt/deb-src.sources\";"
    echo "Dir::Etc::sourceparts \"$apt/parts\";"
    echo "Dir::State::lists \"$apt/lists\";"
    echo "Dir::Cache::pkgcache \"\";"
    echo "Dir::Cache::srcpkgcache \"\";"
    # Downloads go to our own folders, which apt's _apt user may not be able to enter.
    [ "$(id -u)" -ne 0 ] || echo "APT::Sandbox::User \"root\";"
} >"$apt/apt.conf"
# apt-get with the private configuration (read after the system's, so it wins).
apt_get() { APT_CONFIG="$apt/apt.conf" apt-get "$@"; }
# Refreshed weekly (security updates of the sources), not on every run: a cached run needs no
# network. The stamp is ours: apt gives the lists the server's dates.
fresh=$(find "$apt" -maxdepth 1 -name updated -mtime -7)
if [ -z "$fresh" ] || [ "${RRAS_WIN_DEPS_UPDATE:-0}" = 1 ]; then
    say "refreshing the source package lists"
    if apt_get update >"$logs/apt-update.log" 2>&1; then
        touch "$apt/updated"
    elif [ -f "$apt/updated" ]; then
        say "warning: apt-get update failed (see $logs/apt-update.log); using the old lists"
    else
        fail_log "apt-get update" "$logs/apt-update.log"
    fi
fi

# The version `apt-get source` would fetch for package $pkg.
src_version() {
    apt_get source --print-uris "$pkg" 2>/dev/null |
        sed -n "s/^'[^']*' ${pkg}_\(.*\)\.dsc .*/\1/p" | head -n 1
}

# Downloads and unpacks (with Debian's patches) package $pkg at $ver into $srcdir, once.
fetch() {
    srcdir="$deps/src/${pkg}_$ver"
    [ -f "$srcdir/.rras-unpacked" ] && return 0
    # Older versions of the package go.
    rm -rf "$deps/src/${pkg}_"* "$deps/src/$pkg-dl"
    mkdir -p "$deps/src/$pkg-dl"
    (cd "$deps/src/$pkg-dl" && apt_get source --download-only "$pkg=$ver") \
        >"$logs/$pkg-fetch.log" 2>&1 || fail_log "apt-get source $pkg=$ver" "$logs/$pkg-fetch.log"
    dpkg-source --no-check -x "$deps/src/$pkg-dl/${pkg}_$ver.dsc" "$srcdir" \
        >>"$logs/$pkg-fetch.log" 2>&1 || fail_log "dpkg-source -x $pkg" "$logs/$pkg-fetch.log"
    rm -rf "$deps/src/$pkg-dl"
    touch "$srcdir/.rras-unpacked"
}

# configure + build + install of $pkg from $srcdir into $prefix with the arguments given.
cmake_build() {
    build="$deps/build/$pkg"
    rm -rf "$build"
    cmake -S "$srcdir" -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
        -DCMAKE_CROSSCOMPILING_EMULATOR= -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$prefix" -DRRAS_WIN_DEPS_PREFIX="$prefix" \
        -DBUILD_SHARED_LIBS=OFF "$@" >"$logs/$pkg.log" 2>&1 &&
        cmake --build "$build" >>"$logs/$pkg.log" 2>&1 &&
        cmake --install "$build" >>"$logs/$pkg.log" 2>&1
}

# Each recipe: the CMake arguments of one dependency. The stamp hashes them with the package
# version, the toolchain file and the compiler, so changing any of them rebuilds that dependency.
# Bump recipe_rev when changing how fetch/cmake_build/build_dep work.
recipe_rev=1
# Pitfall 2: cJSON's own flags add -fstack-protector-strong, which a mingw link cannot resolve.
# Hidden symbols: a static library of ours must not dllexport cJSON from our executables.
recipe_cjson="-DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
-DENABLE_PUBLIC_SYMBOLS=OFF -DENABLE_HIDDEN_SYMBOLS=ON -DENABLE_LOCALES=OFF"
# Upstream's default configuration (Debian's rules only add legacy algorithms and pthreads).
recipe_mbedtls="-DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON \
-DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DMBEDTLS_FATAL_WARNINGS=OFF"
recipe_cmocka="-DWITH_STATIC_LIB=ON -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF"
# build-facts §5's "clean" set: Schannel, HTTP only, no host CA path, no optional libraries.
recipe_curl="-DCURL_USE_SCHANNEL=ON -DCURL_USE_OPENSSL=OFF -DHTTP_ONLY=ON -DCURL_DISABLE_LDAP=ON \
-DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBPSL=OFF -DUSE_LIBIDN2=OFF -DCURL_ZLIB=OFF \
-DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none -DENABLE_UNICODE=ON -DCMAKE_UNITY_BUILD=ON \
-DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DENABLE_MANUAL=OFF"

# The try-compile results of curl's configure (~300 mingw try-compiles, about 70 s) are preloaded
# from cmake/curl-mingw-checks.cmake when it was made for this curl and this compiler. It is only
# a -C preload: a check it lacks still runs, and a configure or build that fails with it is
# redone without it.
checks_key() { echo "curl=${ver%%-*} gcc=$gcc_version"; }
checks_match() {
    [ "${RRAS_WIN_CURL_CHECKS:-}" != regen ] && [ -f "$checks" ] &&
        grep -q "^set(RRAS_CURL_CHECKS_KEY \"$(checks_key)\"" "$checks"
}
write_checks() {
    {
        echo "# curl's configure results for mingw-w64 x86_64, preloaded with -C by"
        echo "# scripts/build-windows.sh. Generated; regenerate with"
        echo "# RRAS_WIN_CURL_CHECKS=regen scripts/build-windows.sh --deps-only"
        echo "set(RRAS_CURL_CHECKS_KEY \"$(checks_key)\" CACHE INTERNAL \"\")"
        grep -E '^(HAVE_|SIZEOF_|OPT|USE_WINCRYPT|CMAKE_HAVE_)[A-Za-z0-9_]*:INTERNAL=' \
            "$build/CMakeCache.txt" | LC_ALL=C sort |
            sed 's/^\([^:]*\):INTERNAL=\(.*\)$/set(\1 "\2" CACHE INTERNAL "")/'
    } >"$checks.tmp"
    mv "$checks.tmp" "$checks"
    say "wrote $checks (commit it)"
}
build_curl() {
    if checks_match; then
        cmake_build -C "$checks" "$@" && return 0
        say "warning: curl failed with the preloaded checks; configuring without them" \
            "(stale cmake/curl-mingw-checks.cmake? regenerate: RRAS_WIN_CURL_CHECKS=regen)"
        cp "$logs/curl.log" "$logs/curl-preloaded.log"
    elif [ "${RRAS_WIN_CURL_CHECKS:-}" != regen ]; then
        say "note: cmake/curl-mingw-checks.cmake is not for $(checks_key): full configure" \
            "(regenerate: RRAS_WIN_CURL_CHECKS=regen)"
    fi
    cmake_build "$@" || return 1
    if [ "${RRAS_WIN_CURL_CHECKS:-}" = regen ]; then
        write_checks
    fi
}

build_dep() {
    pkg=$1
    recipe=$2
    ver=$(src_version)
    [ -n "$ver" ] || die "no source package $pkg in $apt/lists (RRAS_WIN_DEPS_UPDATE=1 refreshes)"
    hash=$({
        echo "$recipe_rev $pkg $ver $recipe $gcc_version"
        cat "$toolchain"
    } | sha256sum | cut -c1-16)
    stamp="$deps/stamps/$pkg"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver $hash" ] &&
        [ "$pkg:${RRAS_WIN_CURL_CHECKS:-}" != curl:regen ]; then
        say "$pkg $ver: cached"
        return 0
    fi
    start=$(now)
    rm -f "$stamp"
    fetch
    # shellcheck disable=SC2086 # a recipe is a list of arguments
    if [ "$pkg" = curl ]; then
        build_curl $recipe || fail_log "building $pkg" "$logs/$pkg.log"
    else
        cmake_build $recipe || fail_log "building $pkg" "$logs/$pkg.log"
    fi
    echo "$ver $hash" >"$stamp"
    say "$pkg $ver: built in $(($(now) - start)) s"
}

deps_start=$(now)
build_dep cjson "$recipe_cjson"
build_dep mbedtls "$recipe_mbedtls"
build_dep cmocka "$recipe_cmocka"
build_dep curl "$recipe_curl"
say "dependencies ready in $(($(now) - deps_start)) s ($prefix)"
[ "$deps_only" -eq 0 ] || exit 0

# ---- the project ----
build="$out/build"
start=$(now)
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DRRAS_WIN_DEPS_PREFIX="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRRAS_BUILD_COLLECTOR=OFF -DRRAS_BUILD_FUZZ=OFF -DRRAS_BUILD_BENCH=OFF \
    -DRRAS_WERROR=ON >"$logs/project-configure.log" 2>&1 ||
    fail_log "configuring the Windows build" "$logs/project-configure.log"
cmake --build "$build"
say "project built in $(($(now) - start)) s ($build)"

# ---- rrasfleet-agent.exe imports system DLLs only (no libwinpthread, libgcc, cmocka...) ----
exe="$build/agent/rrasfleet-agent.exe"
[ -f "$exe" ] || die "$exe was not built"
system_dlls=" advapi32.dll bcrypt.dll crypt32.dll dnsapi.dll iphlpapi.dll kernel32.dll \
msvcrt.dll ncrypt.dll netapi32.dll normaliz.dll ntdll.dll ole32.dll oleaut32.dll rpcrt4.dll \
secur32.dll shell32.dll shlwapi.dll ucrtbase.dll user32.dll userenv.dll version.dll \
wininet.dll winhttp.dll wintrust.dll wldap32.dll ws2_32.dll wtsapi32.dll "
imports=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^[[:space:]]*DLL Name: //p' |
    tr '[:upper:]' '[:lower:]' | LC_ALL=C sort -u | tr '\n' ' ')
bad=""
for dll in $imports; do
    case $dll in api-ms-win-*) continue ;; esac
    case $system_dlls in
    *" $dll "*) ;;
    *) bad="$bad $dll" ;;
    esac
done
[ -z "$bad" ] || die "rrasfleet-agent.exe imports non-system DLLs:$bad (link it -static)"
say "rrasfleet-agent.exe imports only system DLLs: $imports"

# ---- the MSI, at the version CMake read from project(VERSION) ----
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || die "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"
msi="$out/rrasfleet-agent.msi"
sh "$top/deploy/windows/build-msi.sh" "$exe" "$version" "$msi" >"$logs/msi.log" 2>&1 ||
    fail_log "building the MSI" "$logs/msi.log"
say "$(tail -n 1 "$logs/msi.log" | sed 's/^build-msi: //')"
