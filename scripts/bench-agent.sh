#!/bin/sh
# Agent benchmark (issues 4 and 13, docs/benchmarks.md). Every figure is measured in this run,
# and compared with a baseline of this run:
#   Linux: collect + diagnose + encode for a synthetic capture bundle of 1,000 certificates and
#     500 connection-security rules, for the same bundle without its rules file, and for the
#     2-certificate KB bundle (tests/bench/agent_collect.c, each in its own process so its peak
#     RSS is its own).
#   Windows under Wine: the Windows build's agent_collect.exe reads the live host (crypt32's
#     LocalMachine\My, the registry, netsh) of a Wine prefix seeded by rrasfleet-seed.exe with the
#     same synthetic bundle, then with the KB bundle; the same program's bundle path on the
#     rules-free copy; and whole `wine rrasfleet-agent.exe collect` processes, start-up included.
#     netsh is a stub under Wine (it prints nothing): the rules part is not exercised there, so
#     the Linux figure to compare with is the rules-free copy's. The store is cleared at the end.
# Without Wine or the mingw-w64 compiler the Windows part is skipped (said why, exit status 0).
# A step that fails on a machine that has them (a build, a seed, a run) ends with status 1,
# after the Linux figures; a Linux build that fails, with status 2 before any figure.
#   RRAS_BENCH_ITERATIONS       cycles per Linux bundle (default 30); the median is reported
#   RRAS_BENCH_WINE_ITERATIONS  cycles per store or bundle under Wine (default 5)
#   RRAS_BENCH_RUNS             whole processes timed per case (default 5); the median is reported
#   RRAS_BENCH_WINDOWS=0        skip the Windows part
#   RRAS_BENCH_BUILD_DIR        the Linux build tree (default build)
#   RRAS_BENCH_WIN_BUILD_DIR    the Windows build tree with the benchmark programs (default
#                               build-win/bench; build-win/build is configured without them)
#   RRAS_WIN_DEPS_PREFIX        the Windows dependencies (default build-win/deps/prefix, made or
#                               checked by scripts/build-windows.sh --deps-only)
#   RRAS_BENCH_WINEPREFIX       the Wine prefix to seed (default build-win/bench-wineprefix, booted
#                               once, ~10-15 s). Its LocalMachine\My and RasMan/SstpSvc keys are
#                               overwritten and cleared: never a prefix tests use at the same time
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
n=${RRAS_BENCH_ITERATIONS:-30}
wn=${RRAS_BENCH_WINE_ITERATIONS:-5}
runs=${RRAS_BENCH_RUNS:-5}
build=${RRAS_BENCH_BUILD_DIR:-build}
win_build=${RRAS_BENCH_WIN_BUILD_DIR:-$top/build-win/bench}
win_deps=${RRAS_WIN_DEPS_PREFIX:-$top/build-win/deps/prefix}
own_prefix=$top/build-win/bench-wineprefix
prefix=${RRAS_BENCH_WINEPREFIX:-$own_prefix}
now=2026-11-25T00:00:00Z
kb_dir=$top/tests/fixtures/bundles/kb-787-wildcard-first

work=$(mktemp -d)
seeded=0
cleanup() {
    if [ "$seeded" = 1 ]; then
        wine "$win_build/tests/windows/rrasfleet-seed.exe" --clear >"$work/clear.out" 2>&1 ||
            echo "bench-agent: could not clear LocalMachine\\My of $prefix" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ms() { date +%s%3N; }
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# The median of the numbers on stdin, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

# ---- builds (before any timing) ----
./scripts/install-deps.sh >/dev/null
if ! { cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRRAS_BUILD_BENCH=ON &&
    cmake --build "$build" --target agent_collect rrasfleet-agent; } >"$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log" >&2
    echo "bench-agent: the Linux build in $build failed (the end of its output is above)" >&2
    exit 2
fi
bench=$build/tests/agent_collect
agent=$build/agent/rrasfleet-agent

win_skip=""
win_fail=""
if [ "${RRAS_BENCH_WINDOWS:-1}" = 0 ]; then
    win_skip="RRAS_BENCH_WINDOWS=0"
fi
for tool in wine wineboot wineserver x86_64-w64-mingw32-gcc; do
    if [ -z "$win_skip" ] && ! command -v "$tool" >/dev/null 2>&1; then
        win_skip="$tool is not installed (scripts/install-deps.sh installs it, as root)"
    fi
done
win_log=$win_build.log
if [ -z "$win_skip" ]; then
    mkdir -p "$(dirname "$win_build")"
    if [ -z "${RRAS_WIN_DEPS_PREFIX:-}" ] && ! ./scripts/build-windows.sh --deps-only >"$win_log" 2>&1; then
        win_fail="the Windows dependencies did not build (scripts/build-windows.sh --deps-only; $win_log)"
    elif ! cmake -S . -B "$win_build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$top/cmake/mingw-w64-x86_64.cmake" \
        -DRRAS_WIN_DEPS_PREFIX="$win_deps" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DRRAS_BUILD_COLLECTOR=OFF -DRRAS_BUILD_FUZZ=OFF -DRRAS_BUILD_BENCH=ON \
        -DRRAS_WERROR=ON >>"$win_log" 2>&1 ||
        ! cmake --build "$win_build" --target agent_collect rrasfleet-agent rrasfleet-seed \
            >>"$win_log" 2>&1; then
        win_fail="the Windows build failed ($win_log)"
    fi
fi
win_bench=$win_build/tests/agent_collect.exe
win_agent=$win_build/agent/rrasfleet-agent.exe
seed=$win_build/tests/windows/rrasfleet-seed.exe

# ---- Linux ----
"$bench" make "$work/large" 1000 500 >/dev/null
# The same bundle without netsh-consec.txt: what Wine's live source can see (netsh is a stub).
cp -R "$work/large" "$work/certs"
rm "$work/certs/netsh-consec.txt"
large=$("$bench" run "$work/large" "$n")
certs=$("$bench" run "$work/certs" "$n")
kb=$("$bench" run "$kb_dir" "$n")
idle=$("$bench" idle)
# Whole processes: `rrasfleet-agent collect --bundle`, start-up included.
time_linux() {
    : >"$work/times"
    for _ in $(seq "$runs"); do
        t0=$(ms)
        "$agent" collect --bundle "$1" --now "$now" >"$work/linux.json"
        echo $(($(ms) - t0)) >>"$work/times"
    done
    median <"$work/times"
}
lp_certs=$(time_linux "$work/certs")
lp_kb=$(time_linux "$kb_dir")

# ---- Windows under Wine ----
# wine_run OUT PROGRAM ARGS...: Wine's output goes to files, never to a pipe (build-facts §12).
wine_run() {
    _out=$1
    shift
    wine "$@" >"$_out" 2>"$_out.err"
}
# Whole `wine rrasfleet-agent.exe ARGS` processes, start-up included: the median in ms.
time_wine() {
    : >"$work/times"
    for _ in $(seq "$runs"); do
        t0=$(ms)
        wine_run "$work/wine.out" "$win_agent" "$@" || {
            echo "bench-agent: wine rrasfleet-agent.exe $*: $(cat "$work/wine.out.err")" >&2
            return 1
        }
        echo $(($(ms) - t0)) >>"$work/times"
    done
    median <"$work/times"
}
# seed_and_time BUNDLE: seeds the prefix with BUNDLE, then the live bench and the whole agent.
seed_and_time() {
    seeded=1
    wine_run "$work/seed.out" "$seed" --clear --bundle "Z:$1" || {
        win_fail="rrasfleet-seed.exe --bundle $1: $(tail -n 3 "$work/seed.out.err")"
        return 1
    }
    wine_run "$work/live.out" "$win_bench" live "$wn" || {
        win_fail="agent_collect.exe live: $(tail -n 3 "$work/live.out.err")"
        return 1
    }
    live=$(cat "$work/live.out")
    wp=$(time_wine collect --now "$now") || {
        win_fail="wine rrasfleet-agent.exe collect failed"
        return 1
    }
}
wine_version=""
if [ -z "$win_skip" ] && [ -z "$win_fail" ]; then
    WINEPREFIX=$prefix
    WINEDEBUG=-all
    WINEDLLOVERRIDES="mscoree,mshtml="
    export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES
    wine_version=$(wine --version 2>/dev/null || echo unknown)
    # Our own prefix is remade when its boot was cut short; a given one is only booted if empty.
    if [ "$prefix" = "$own_prefix" ] && [ -d "$prefix" ] && [ ! -f "$prefix/.rras-bench-ready" ]; then
        wineserver -k >/dev/null 2>&1 || true
        wineserver -w >/dev/null 2>&1 || true
        rm -rf "$prefix"
    fi
    if [ ! -f "$prefix/system.reg" ]; then
        echo "bench-agent: booting the Wine prefix $prefix (once, ~10-15 s)" >&2
        mkdir -p "$prefix"
        if wineboot -i >"$work/boot.log" 2>&1 </dev/null && wineserver -w >>"$work/boot.log" 2>&1; then
            [ "$prefix" != "$own_prefix" ] || echo "$wine_version" >"$prefix/.rras-bench-ready"
        else
            win_fail="wineboot -i $prefix: $(tail -n 3 "$work/boot.log")"
        fi
    fi
fi
if [ -z "$win_skip" ] && [ -z "$win_fail" ]; then
    # One server for all the runs, so each Wine start costs ~70 ms instead of ~1.5 s; it exits a
    # minute after the last one. Fails (harmlessly) when the prefix already has a server.
    wineserver -p60 >/dev/null 2>&1 </dev/null || true
    if seed_and_time "$kb_dir"; then
        w_kb=$live
        wp_kb=$wp
        if seed_and_time "$work/large"; then
            w_large=$live
            wp_large=$wp
            wp_version=$(time_wine version) || win_fail="wine rrasfleet-agent.exe version failed"
        fi
    fi
    if [ -z "$win_fail" ]; then
        wine_run "$work/wrun.out" "$win_bench" run "Z:$work/certs" "$wn" ||
            win_fail="agent_collect.exe run: $(tail -n 3 "$work/wrun.out.err")"
        w_certs=$(cat "$work/wrun.out")
        wine_run "$work/widle.out" "$win_bench" idle || win_fail="agent_collect.exe idle failed"
        w_idle=$(cat "$work/widle.out")
    fi
    if [ -z "$win_fail" ] && [ "$(field "$w_large" certs)" != 1000 ]; then
        win_fail="the live store held $(field "$w_large" certs) certificates, not 1000"
    fi
fi

# ---- figures ----
echo "Linux: $(uname -srm), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %6s %6s %9s %9s %12s %12s\n' bundle certs rules wall_ms first_ms peak_rss_MB \
    report_bytes
for row in "kb-787-wildcard-first|$kb" "synthetic 1000/500|$large" "synthetic 1000/0 (no rules)|$certs"; do
    name=${row%%|*}
    r=${row#*|}
    printf '%-30s %6s %6s %9s %9s %12s %12s\n' "$name" "$(field "$r" certs)" "$(field "$r" rules)" \
        "$(field "$r" wall_ms_median)" "$(field "$r" wall_ms_first)" \
        "$(mb "$(field "$r" peak_rss_kb)")" "$(field "$r" report_bytes)"
done
echo "phases of the large bundle (ms): read $(field "$large" read_ms), diagnose $(field "$large" diagnose_ms), encode $(field "$large" encode_ms)"
awk -v lw="$(field "$large" wall_ms_median)" -v kw="$(field "$kb" wall_ms_median)" \
    -v lr="$(field "$large" peak_rss_kb)" -v kr="$(field "$kb" peak_rss_kb)" 'BEGIN {
    printf "ratios large/KB: wall %.0fx, peak RSS %.2fx\n", lw / kw, lr / kr
    printf "targets: wall < 50 ms: %s (%.1f ms); peak RSS < 10 MB: %s (%.1f MB)\n",
        lw < 50 ? "PASS" : "MISS", lw, lr < 10240 ? "PASS" : "MISS", lr / 1024 }'
echo "whole process, rrasfleet-agent collect --bundle (median of $runs): KB $lp_kb ms, 1000/0 $lp_certs ms"
echo "peak RSS of an idle agent_collect process (the floor): $(mb "$(field "$idle" peak_rss_kb)") MB"

echo
if [ -n "$win_skip" ]; then
    echo "Windows agent under Wine: skipped: $win_skip"
    exit 0
fi
if [ -n "$win_fail" ]; then
    echo "Windows agent under Wine: FAILED: $win_fail" >&2
    exit 1
fi
echo "Windows agent under Wine ($wine_version, prefix $prefix), $wn cycles each, median:"
echo "netsh is a stub under Wine (exits 0, prints nothing): the rules part is not exercised"
printf '%-30s %6s %6s %9s %9s %12s %12s\n' source certs rules wall_ms first_ms peak_ws_MB \
    report_bytes
for row in "live store: KB bundle|$w_kb" "live store: synthetic 1000|$w_large" "bundle: synthetic 1000/0|$w_certs"; do
    name=${row%%|*}
    r=${row#*|}
    printf '%-30s %6s %6s %9s %9s %12s %12s\n' "$name" "$(field "$r" certs)" "$(field "$r" rules)" \
        "$(field "$r" wall_ms_median)" "$(field "$r" wall_ms_first)" \
        "$(mb "$(field "$r" peak_ws_kb)")" "$(field "$r" report_bytes)"
done
live_phases() {
    echo "phases of the live $1 store (ms, mean per cycle): capture $(field "$2" capture_ms)" \
        "(of which netsh $(field "$2" netsh_ms)), parse (agent_capture_snapshot)" \
        "$(field "$2" snapshot_ms), diagnose $(field "$2" diagnose_ms), encode $(field "$2" encode_ms)"
}
live_phases KB "$w_kb"
live_phases 1000 "$w_large"
echo "phases of the bundle 1000/0 (ms, mean per cycle): under Wine read $(field "$w_certs" read_ms)," \
    "diagnose $(field "$w_certs" diagnose_ms), encode $(field "$w_certs" encode_ms); on Linux read" \
    "$(field "$certs" read_ms), diagnose $(field "$certs" diagnose_ms), encode $(field "$certs" encode_ms)"
W=$w_large
echo "crypt32 on the 1000 store (ms per pass, mean of $(field "$W" probe_passes) passes after the cycles):" \
    "open+close $(field "$W" store_open_ms), enumerate $(field "$W" store_enum_ms)," \
    "key property $(field "$W" store_keyprop_ms), EKU $(field "$W" store_eku_ms)," \
    "private key open $(field "$W" store_keyopen_ms), chain $(field "$W" store_chain_ms)"
echo "whole process, wine rrasfleet-agent.exe (median of $runs): version $wp_version ms;" \
    "collect: KB store $wp_kb ms, 1000 store $wp_large ms"
echo "peak working set of an idle agent_collect.exe (the floor): $(mb "$(field "$w_idle" peak_ws_kb)") MB"
no_netsh=$(awk -v w="$(field "$W" wall_ms_median)" -v s="$(field "$W" netsh_ms)" 'BEGIN { print w - s }')
lc=$(field "$certs" wall_ms_median)
echo "ratios (this run):"
printf '  %-52s wall %7sx  peak %5sx\n' \
    "Wine live 1000 / Linux bundle 1000/0" "$(ratio "$(field "$W" wall_ms_median)" "$lc")" \
    "$(ratio "$(field "$W" peak_ws_kb)" "$(field "$certs" peak_rss_kb)")" \
    "Wine bundle 1000/0 / Linux bundle 1000/0 (same code)" \
    "$(ratio "$(field "$w_certs" wall_ms_median)" "$lc")" \
    "$(ratio "$(field "$w_certs" peak_ws_kb)" "$(field "$certs" peak_rss_kb)")" \
    "Wine live 1000 / Wine live KB" \
    "$(ratio "$(field "$W" wall_ms_median)" "$(field "$w_kb" wall_ms_median)")" \
    "$(ratio "$(field "$W" peak_ws_kb)" "$(field "$w_kb" peak_ws_kb)")" \
    "Linux bundle 1000/0 / Linux bundle KB" \
    "$(ratio "$lc" "$(field "$kb" wall_ms_median)")" \
    "$(ratio "$(field "$certs" peak_rss_kb)" "$(field "$kb" peak_rss_kb)")"
printf '  %-52s wall %7sx\n' \
    "Wine live 1000 without netsh / Linux bundle 1000/0" "$(ratio "$no_netsh" "$lc")" \
    "whole process: Wine collect 1000 / Linux collect 1000/0" "$(ratio "$wp_large" "$lp_certs")" \
    "whole process: Wine collect 1000 / Wine collect KB" "$(ratio "$wp_large" "$wp_kb")" \
    "whole process: Wine collect KB / wine version" "$(ratio "$wp_kb" "$wp_version")"
