#!/bin/sh
# test_wine_collect: the agent's live Windows source sees what its bundle source sees. For each
# of ten fixture bundles, rrasfleet-seed.exe empties LocalMachine\My and the RasMan/SstpSvc
# keys of one Wine prefix and seeds the bundle into them; then `wine rrasfleet-agent.exe
# collect` (live host) and the Linux `rrasfleet-agent collect --bundle` (same --now and
# --expected-ca) must report the same set of certificates with the same facts, the same
# registry-derived policy and the same order-free findings; the Windows report must keep the
# store's enumeration order in store_index and say "source unavailable" for netsh, a stub under
# Wine. tests/windows/compare_reports.py holds the checks, tests/windows/README.md the seeding.
#
# Environment: RRAS_WIN_BUILD_DIR (default $RRAS_SOURCE_DIR/build-win/build) holds the Windows
# build; without its .exe files or without Wine the test exits 77 (ctest SKIP) unless
# RRAS_REQUIRE_WINE=1. RRAS_WINEPREFIX names a prefix to use (its LocalMachine\My and RasMan/
# SstpSvc keys are overwritten); otherwise one is booted under the temp dir (~11 s).
# RRAS_WINE_SEED_ONLY=1 checks the seeding alone (for a Windows build without the live source).
set -eu
: "${RRAS_BIN_DIR:?set by ctest}" "${RRAS_SOURCE_DIR:?set by ctest}"
: "${RRAS_FIXTURES_DIR:=$RRAS_SOURCE_DIR/tests/fixtures}"
agent="$RRAS_BIN_DIR/agent/rrasfleet-agent"
compare="$RRAS_SOURCE_DIR/tests/windows/compare_reports.py"
win_build=${RRAS_WIN_BUILD_DIR:-$RRAS_SOURCE_DIR/build-win/build}
ca="CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com"
now=2026-11-25T00:00:00Z
bundles="kb-787-wildcard-first cert-zoo iphttps-split manual-rule-cert-no-key no-eligible-cert
resolution2-manual-rule weak-crypto-registry expiring-l2tp-cert prohibit-ipsec-zero
sstp-not-installed"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# shellcheck source=tests/integration/wine_lib.sh disable=SC1091
. "$RRAS_SOURCE_DIR/tests/integration/wine_lib.sh"
wine_require_tools
win_agent="$win_build/agent/rrasfleet-agent.exe"
seed="$win_build/tests/windows/rrasfleet-seed.exe"
[ -f "$win_agent" ] || skip "no $win_agent (scripts/build-windows.sh builds it)"
[ -f "$seed" ] || skip "no $seed (the Windows build with tests builds it)"
[ -x "$agent" ] || fail "no Linux agent at $agent"

T=$(mktemp -d)
cleanup() {
    wine_prefix_down
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start=$(ms)
wine_prefix_up 60

# wine_run OUT ERR PROGRAM ARGS...: runs PROGRAM under Wine, stdout and stderr into files.
wine_run() {
    _out=$1 _err=$2
    shift 2
    wine "$@" >"$_out" 2>"$_err"
}

seed_total=0
collect_total=0
count=0
failed=0
for name in $bundles; do
    dir="$RRAS_FIXTURES_DIR/bundles/$name"
    [ -d "$dir" ] || fail "no fixture bundle $name"
    out="$T/$name"
    count=$((count + 1))

    # Fresh state, the bundle, and the store's enumeration as a second program sees it.
    t0=$(ms)
    wine_run "$out.seed" "$out.seed.err" "$seed" --clear --bundle "Z:$dir" ||
        fail "$name: rrasfleet-seed.exe exited $?: $(cat "$out.seed.err")"
    t1=$(ms)
    wine_run "$out.list" "$out.list.err" "$seed" --list ||
        fail "$name: rrasfleet-seed.exe --list: $(cat "$out.list.err")"
    seed_total=$((seed_total + t1 - t0))
    for key in RasMan SstpSvc; do
        # A bundle without the key's values leaves no key: reg then fails, which is expected.
        wine_run "$out.reg-$key" "$out.reg-$key.err" reg query \
            "HKLM\\System\\CurrentControlSet\\Services\\$key\\Parameters" || true
    done

    "$agent" collect --bundle "$dir" --now "$now" --expected-ca "$ca" >"$out.linux.json" \
        2>"$out.linux.err" || fail "$name: Linux collect: $(cat "$out.linux.err")"
    t2=$(ms)
    if [ "${RRAS_WINE_SEED_ONLY:-0}" = 1 ]; then
        set -- --seed-only
    else
        set --
        wine_run "$out.win.json" "$out.win.err" "$win_agent" collect --now "$now" \
            --expected-ca "$ca" || {
            echo "FAIL: $name: wine rrasfleet-agent.exe collect exited $?:" >&2
            cat "$out.win.err" >&2
            failed=$((failed + 1))
            continue
        }
    fi
    collect_total=$((collect_total + $(ms) - t2))
    /usr/bin/python3 "$compare" --name "$name" --linux "$out.linux.json" \
        --windows "$out.win.json" --seed "$out.list" \
        --reg "$out.reg-RasMan" --reg "$out.reg-SstpSvc" "$@" || failed=$((failed + 1))
done

echo "wine collect: prefix ready in ${boot_ms} ms; seeding ${seed_total} ms for $count bundles" \
    "($((seed_total / count)) ms each); Windows collect ${collect_total} ms;" \
    "total $(($(ms) - start)) ms"
[ "$failed" = 0 ] || fail "$failed of $count bundles differ (details above)"
echo "wine collect: ok ($count bundles)"
