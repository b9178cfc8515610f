# shellcheck shell=sh
# wine_lib.sh: what the Wine integration tests share (sourced, after $T exists).
#   skip TEXT            exit 77 (ctest SKIP), or fail when RRAS_REQUIRE_WINE=1 (the test command)
#   ms                   milliseconds since the epoch
#   wine_require_tools   skips unless wine, wineboot and wineserver are installed
#   wine_prefix_up KEEP  WINEPREFIX = $RRAS_WINEPREFIX (booted if new; its server kept KEEP s
#                        after the last client) or a fresh prefix under $T with a persistent
#                        server (own_prefix=1); sets boot_ms
#   wine_prefix_down     stops the server of a prefix the test made: a prefix is never deleted
#                        under a live server (build-facts §12). Call it from the EXIT trap.
# Wine's output goes to files, never to a pipe: a daemonized Wine process would inherit the pipe
# and keep its reader waiting (build-facts §12).

skip() {
    if [ "${RRAS_REQUIRE_WINE:-0}" = 1 ]; then
        echo "FAIL: $* (RRAS_REQUIRE_WINE=1)" >&2
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}
ms() { date +%s%3N; }

wine_require_tools() {
    for tool in wine wineboot wineserver; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
    done
}

# shellcheck disable=SC2034 # own_prefix and boot_ms are read by the tests that source this
own_prefix=
boot_ms=0
wine_prefix_up() {
    _keep=$1
    WINEDEBUG=-all
    WINEDLLOVERRIDES="mscoree,mshtml="
    export WINEDEBUG WINEDLLOVERRIDES
    _start=$(ms)
    if [ -n "${RRAS_WINEPREFIX:-}" ]; then
        WINEPREFIX=$RRAS_WINEPREFIX
        export WINEPREFIX
        if [ ! -f "$WINEPREFIX/system.reg" ]; then
            wineboot -i >>"$T/wine.log" 2>&1 </dev/null || fail "wineboot -i $WINEPREFIX"
            # msiexec right after a boot can fail with 1627: the boot must have finished.
            wineserver -w >>"$T/wine.log" 2>&1
        fi
        # Fails at once (harmlessly) if the prefix already has a server.
        wineserver "-p$_keep" >>"$T/wine.log" 2>&1 </dev/null || true
    else
        WINEPREFIX="$T/wineprefix"
        export WINEPREFIX
        own_prefix=1
        wineboot -i >>"$T/wine.log" 2>&1 </dev/null || fail "wineboot -i: $(tail -n 5 "$T/wine.log")"
        # Until the boot has finished; then one persistent server for all the runs (~70 ms
        # each). Services also need it, or Wine ends them with the last program.
        wineserver -w >>"$T/wine.log" 2>&1
        wineserver -p >>"$T/wine.log" 2>&1 </dev/null ||
            fail "wineserver -p: $(tail -n 5 "$T/wine.log")"
    fi
    # shellcheck disable=SC2034
    boot_ms=$(($(ms) - _start))
}

wine_prefix_down() {
    if [ -n "$own_prefix" ]; then
        wineserver -k >>"$T/wine.log" 2>&1 || true
        wineserver -w >>"$T/wine.log" 2>&1 || true
    fi
}
