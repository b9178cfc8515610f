#!/bin/sh
# Compiles the code that will run on Windows with mingw-w64 (x86_64-w64-mingw32-gcc), warnings as
# errors, the same warning set as the Linux build (decision 009). Today that is proto/, the
# library the agent is built on: the agent's own sources still use POSIX file and clock calls
# that wait for their *_win32.c counterparts, so they are not checked yet. No Windows build of
# cJSON or mbedTLS exists in Debian: the check compiles (-c) against the Linux packages' headers,
# which are the same for both targets; linking a Windows binary needs the cross-built
# dependencies (docs/decisions/009-windows-compile-check.md).
set -eu
cd "$(dirname "$0")/.."

CC=x86_64-w64-mingw32-gcc
command -v "$CC" >/dev/null || {
    echo "check-windows: $CC not found; scripts/install-deps.sh installs it" >&2
    exit 1
}
inc=$(mktemp -d)
trap 'rm -rf "$inc"' EXIT
# Only the dependencies' own header folders: the rest of /usr/include is the Linux C library.
for dir in cjson mbedtls psa; do
    [ -d "/usr/include/$dir" ] || { echo "check-windows: /usr/include/$dir missing" >&2; exit 1; }
    ln -s "/usr/include/$dir" "$inc/$dir"
done
# The Linux build's warning set, read from the one place it is kept.
warnings=$(sed -n '/^set(RRAS_WARNINGS/,/)/p' cmake/Warnings.cmake | tr -d '()' |
    sed 's/^set//; s/RRAS_WARNINGS//')
case $warnings in *-Wall*) ;; *) echo "check-windows: no warnings in cmake/Warnings.cmake" >&2; exit 1 ;; esac
failed=0
count=0
for src in proto/*.c; do
    count=$((count + 1))
    # __USE_MINGW_ANSI_STDIO: mingw's C99 printf (%zu), as the Windows build will use.
    # shellcheck disable=SC2086 # $warnings is a list of flags
    if ! "$CC" -std=c11 -D__USE_MINGW_ANSI_STDIO=1 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
        -O2 $warnings -Werror -iquote proto -I "$inc" -c -o /dev/null "$src"; then
        failed=$((failed + 1))
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "check-windows: $failed of $count files of proto/ do not compile with $CC" >&2
    exit 1
fi
echo "check-windows: proto/ ($count files) compiles with $CC"
