#!/bin/sh
# The README's test command (and what .ci/run runs): installs the dependencies, checks that the
# architecture's arrows hold (scripts/check-layout.sh), cross-builds the Windows agent and its
# unit tests with mingw-w64 and runs those under Wine (scripts/build-windows.sh, decision 014),
# builds with warnings as errors, runs every test with ctest (the Wine integration tests use the
# Windows build), runs the same suite built with -fsanitize=address,undefined, then fuzzes each
# libFuzzer target briefly.
#   RRAS_FUZZ_SECONDS  seconds per fuzz target (default 15)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

./scripts/install-deps.sh
./scripts/check-source.sh
./scripts/check-layout.sh

echo "== Windows: cross-build with mingw-w64, unit tests under Wine"
windows_start=$(date +%s)
./scripts/build-windows.sh
# One booted prefix for the Windows unit tests and the Linux build's Wine integration tests.
RRAS_WINEPREFIX=${RRAS_WINEPREFIX:-$top/build-win/wineprefix}
# Here a Wine test that cannot run is a failure, never a skip.
RRAS_REQUIRE_WINE=1
export RRAS_WINEPREFIX RRAS_REQUIRE_WINE
./scripts/wine-prefix.sh
# The persistent wineserver stops with this script, however it ends.
trap './scripts/wine-prefix.sh --stop' EXIT
ctest --test-dir build-win/build --output-on-failure -j2
echo "== Windows part took $(($(date +%s) - windows_start)) s (targets: 300 s with the dependencies cached, 600 s cold)"

echo "== build and test (gcc, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRRAS_WERROR=ON >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j2

echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRRAS_WERROR=ON -DRRAS_SANITIZE=ON >/dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2

echo "== fuzz each target for ${RRAS_FUZZ_SECONDS:-15} s (clang-14 + libFuzzer)"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRRAS_BUILD_FUZZ=ON -DRRAS_BUILD_TESTS=OFF -DRRAS_SANITIZE=ON >/dev/null
cmake --build build-fuzz
for target in build-fuzz/tests/fuzz_*; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    work="build-fuzz/work/$name"
    rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
    cp "$top/tests/fuzz/corpus/$name/"* "$work/corpus/" 2>/dev/null || true
    "$target" -max_total_time="${RRAS_FUZZ_SECONDS:-15}" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 || {
        tail -n 40 "$work/log"
        echo "fuzz: $name failed; the crashing input is in $work/artifacts/" >&2
        exit 1
    }
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    echo "fuzz: $name ok, $execs executions"
done
echo "== all tests passed"
