#!/bin/sh
# test_bench_report: the collector benchmark's verdict (decision 010). bench-collector.sh's
# BENCH_REPORT_ONLY re-prints the table of a results file without running anything; this test
# writes a results file with 5 known rounds and checks that a ratio's verdict is the median of the
# rounds' ratios (not the ratio of two medians), that each row is its server's median round, and
# that an error in a round that is not the median one still invalidates the run.
set -eu

: "${RRAS_SOURCE_DIR:?set by ctest}"
T=$(mktemp -d "${TMPDIR:-/tmp}/rras-test-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT

fail() {
    echo "test_bench_report: $*" >&2
    echo "--- report:" >&2
    cat "$T/out" >&2
    exit 1
}

# result LABEL MODE ROUND RPS [ERRORS]: one loadgen RESULT line (1 s per run, 0.5 s CPU).
result() {
    printf 'RESULT label=%s mode=%s count=3000 ok=3000 accepted=3000 duplicate=0 errors=%s elapsed_s=1.0 rps=%s p50_ms=1.%s p99_ms=9.0 max_ms=9.9 new_conns=0 server_cpu_s=0.5 client_cpu_s=0.5 hs_full=0 hs_resumed=3000 hs_failed=0 warmup_errors=0 body_bytes_avg=9557 event_answers=2800 round=%s\n' \
        "$1" "$2" "${5:-0}" "$4" "$3" "$3" >>"$T/results"
}

: >"$T/results"
# (c): round ratios 0.25 0.91 0.97 1.33 2.50 -> median 0.97 (PASS); the medians of the two
# columns are 300 and 300 (ratio 1.00), which must not be what is printed.
i=1
for pair in 100:400 200:220 300:310 400:300 500:200; do
    result collector keepalive "$i" "${pair%%:*}"
    result nginx keepalive "$i" "${pair##*:}"
    i=$((i + 1))
done
# (a): round ratios 0.50 0.70 0.75 0.95 1.00 -> median 0.75 (MISS), though two rounds pass.
i=1
for pair in 50:100 70:100 75:100 95:100 100:100; do
    result collector resume "$i" "${pair%%:*}"
    result nginx resume "$i" "${pair##*:}"
    printf 'NGINX_RESUMED mode=resume resumed=3000 of=3000 round=%s\n' "$i" >>"$T/results"
    i=$((i + 1))
done
echo "RESULT label=sqlite rows_per_s=20000" >>"$T/results"

BENCH_MODES="resume keepalive" BENCH_REPORT_ONLY="$T/results" \
    sh "$RRAS_SOURCE_DIR/scripts/bench-collector.sh" >"$T/out" 2>&1 || fail "exit status $?"

grep -q 'collector/nginx *(c) keep-alive *0\.97 *target >= 0\.8 *PASS *(median of 5 rounds: 0\.25 0\.91 0\.97 1\.33 2\.50)' "$T/out" ||
    fail "(c) should be the median of the rounds' ratios, 0.97, PASS"
grep -q 'collector/nginx *(a) new conn, resumed *0\.75 *target >= 0\.8 *MISS' "$T/out" ||
    fail "(a) should be 0.75, MISS"
# Rows: the median round of each server (collector (c): 300/s, round 3, p50 1.3 ms).
grep -q '^collector (c) keep-alive *300\.0 *1\.30 ' "$T/out" || fail "collector (c) row is not its median round"
grep -q '^nginx  *(c) keep-alive *300\.0 *1\.40 ' "$T/out" || fail "nginx (c) row is not its median round (300/s, round 4)"
grep -q 'ERRORS' "$T/out" && fail "no round had errors"

# One failed report in round 5 of (c), which is not the median round: the run is invalid.
sed -i "/^RESULT label=nginx mode=keepalive .*round=5$/s/ errors=0 / errors=1 /" "$T/results"
BENCH_MODES="resume keepalive" BENCH_REPORT_ONLY="$T/results" \
    sh "$RRAS_SOURCE_DIR/scripts/bench-collector.sh" >"$T/out" 2>&1 || fail "exit status $?"
grep -q 'ERRORS in this run: nginx/keepalive-round-5(1 errors)' "$T/out" ||
    fail "an error in a non-median round must invalidate the run"
echo "test_bench_report: ok"
