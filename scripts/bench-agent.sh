#!/bin/sh
# Agent benchmark (issue 4): collect + diagnose + encode for a synthetic capture bundle of
# 1,000 certificates and 500 connection-security rules, beside the same for the 2-certificate
# KB bundle measured in the same run. Each bundle runs in its own process so peak RSS is its own.
#   RRAS_BENCH_ITERATIONS   cycles per bundle (default 30); the median is reported
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build >/dev/null
bench=build/tests/agent_collect
n=${RRAS_BENCH_ITERATIONS:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bench" make "$work/large" 1000 500 >/dev/null
large=$("$bench" run "$work/large" "$n")
kb=$("$bench" run tests/fixtures/bundles/kb-787-wildcard-first "$n")
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
printf '%-28s %8s %8s %10s %12s %12s\n' bundle certs rules wall_ms peak_rss_MB report_bytes
for row in "kb-787-wildcard-first|$kb" "synthetic 1000/500|$large"; do
    name=${row%%|*}; r=${row#*|}
    printf '%-28s %8s %8s %10s %12s %12s\n' "$name" "$(field "$r" certs)" "$(field "$r" rules)" \
        "$(field "$r" wall_ms_median)" \
        "$(awk -v k="$(field "$r" peak_rss_kb)" 'BEGIN{printf "%.1f", k/1024}')" \
        "$(field "$r" report_bytes)"
done
echo "phases of the large bundle (ms): read $(field "$large" read_ms), diagnose $(field "$large" diagnose_ms), encode $(field "$large" encode_ms)"
awk -v lw="$(field "$large" wall_ms_median)" -v kw="$(field "$kb" wall_ms_median)" \
    -v lr="$(field "$large" peak_rss_kb)" -v kr="$(field "$kb" peak_rss_kb)" 'BEGIN {
    printf "ratios large/KB: wall %.0fx, peak RSS %.2fx\n", lw / kw, lr / kr
    printf "targets: wall < 50 ms: %s (%.1f ms); peak RSS < 10 MB: %s (%.1f MB)\n",
        lw < 50 ? "PASS" : "MISS", lw, lr < 10240 ? "PASS" : "MISS", lr / 1024 }'
