#!/bin/sh
# Makes the Wine prefix the Windows tests run in (scripts/wine-run.sh), once, and keeps a
# persistent wineserver for it so each test starts in ~0.1 s instead of ~1.5 s (build-facts §4).
#   scripts/wine-prefix.sh          create and boot the prefix if needed, start the wineserver
#   scripts/wine-prefix.sh --stop   stop the prefix's wineserver (and the Wine processes in it)
#   scripts/wine-prefix.sh --reset  stop it, delete the prefix, create a new one
# The prefix is $RRAS_WINEPREFIX, else build-win/wineprefix. Wine's output goes to
# <prefix>.log, never to a pipe: a daemonized Wine process would hold the pipe open (§12). A
# prefix is deleted only after its wineserver has been stopped (§12).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
WINEPREFIX=${RRAS_WINEPREFIX:-$top/build-win/wineprefix}
WINEDEBUG=-all
export WINEPREFIX WINEDEBUG
log="$WINEPREFIX.log"
ready="$WINEPREFIX/.rras-ready"

for tool in wine wineboot wineserver; do
    command -v "$tool" >/dev/null || {
        echo "wine-prefix: $tool not found; scripts/install-deps.sh installs Wine" >&2
        exit 1
    }
done

# Stops the wineserver of this prefix, if one runs, and waits until it has exited.
stop_server() {
    if [ -d "$WINEPREFIX" ]; then
        wineserver -k >>"$log" 2>&1 || true
        wineserver -w >>"$log" 2>&1 || true
    fi
}

mode=${1:-}
case $mode in
"") ;;
--stop)
    stop_server
    exit 0
    ;;
--reset)
    stop_server
    rm -rf "$WINEPREFIX"
    ;;
*)
    echo "usage: wine-prefix.sh [--stop|--reset]" >&2
    exit 2
    ;;
esac

version=$(wine --version 2>/dev/null || echo unknown)
if [ ! -f "$ready" ] || [ "$(cat "$ready")" != "$version" ]; then
    # Half-made (an interrupted boot) or made by another Wine: start again from nothing.
    stop_server
    rm -rf "$WINEPREFIX"
    mkdir -p "$(dirname "$WINEPREFIX")"
    echo "wine-prefix: creating $WINEPREFIX ($version; log in $log)"
    : >"$log"
    start=$(date +%s)
    # No Mono or Gecko: the tests need neither, and their installers would ask for a display.
    WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >>"$log" 2>&1 </dev/null
    # Until the boot has finished (service database unlocked): a test started earlier can fail.
    wineserver -w >>"$log" 2>&1
    echo "$version" >"$ready"
    echo "wine-prefix: booted in $(($(date +%s) - start)) s"
fi

# A persistent server. When one already runs for this prefix, wineserver exits with status 2.
rc=0
wineserver -p >>"$log" 2>&1 </dev/null || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
    echo "wine-prefix: wineserver -p failed with status $rc (see $log)" >&2
    exit 1
fi
