#!/bin/sh
# Runs a Windows program under Wine: ctest's CMAKE_CROSSCOMPILING_EMULATOR for the Windows build
# (cmake/mingw-w64-x86_64.cmake), and the way to run one by hand:
#   scripts/wine-run.sh build-win/build/tests/test_json.exe
# The prefix is $RRAS_WINEPREFIX, else build-win/wineprefix; scripts/wine-prefix.sh makes it.
# The program's output goes to a file and is printed when it exits: a Wine process that daemonizes
# (services.exe, winedevice.exe) inherits our stdout, and through a pipe that would keep the
# reader, ctest, waiting until the wineserver exits (build-facts §12).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
WINEPREFIX=${RRAS_WINEPREFIX:-$top/build-win/wineprefix}
WINEDEBUG=-all
export WINEPREFIX WINEDEBUG

if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "wine-run: no Wine prefix at $WINEPREFIX: run scripts/wine-prefix.sh first" >&2
    exit 1
fi
if [ "$#" -eq 0 ]; then
    echo "usage: wine-run.sh program.exe [argument...]" >&2
    exit 2
fi

out=$(mktemp "${TMPDIR:-/tmp}/wine-run.XXXXXX")
trap 'rm -f "$out"' EXIT
rc=0
wine "$@" >"$out" 2>&1 || rc=$?
cat "$out"
exit "$rc"
