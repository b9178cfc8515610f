#!/bin/sh
# Installs every Debian 12 package the build, the tests and the demo need.
# Idempotent: apt-get skips what is already installed. Run as root.
# The Windows build (scripts/build-windows.sh): gcc-mingw-w64-x86-64 cross-compiles, dpkg-dev's
# dpkg-source unpacks the dependencies' Debian source packages, wine/wine64 run the Windows tests,
# wixl/msitools build and inspect the MSI.
set -eu

PACKAGES="build-essential cmake ninja-build pkg-config \
libcjson-dev libmbedtls-dev libcurl4-openssl-dev libsqlite3-dev libcmocka-dev \
clang-14 libclang-rt-14-dev python3 python3-jsonschema openssl cppcheck git \
gcc-mingw-w64-x86-64 wine wine64 wixl msitools dpkg-dev"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing; run this script as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing
