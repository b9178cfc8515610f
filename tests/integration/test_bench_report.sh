#!/bin/sh
# test_bench_report: the collector benchmark's verdicts (decisions 010 and 011).
# bench-collector.sh's BENCH_REPORT_ONLY re-prints the table of a results file without running
# anything; this test writes results files with known figures and checks the numbers printed:
# capacity = reports/s / 3,333 (target >= 1.0x for (a) and (c)); the ratio to the composed limit
# 1 / (1/nginx + 1/raw SQLite), target >= 0.8 for (a) and (c), whose verdict is the median of the
# rounds' ratios (not the ratio of medians); collector/nginx and collector/raw SQLite as references;
# each row is its server's median round; an error in a round that is not the median one still
# invalidates the run; and a run without a raw SQLite figure gives no composed verdict.
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

# result LABEL MODE ROUND RPS [ERRORS [CLIENT_CPU_S]]: one loadgen RESULT line (1 s per run,
# 0.5 s of server CPU, 0.5 s of client CPU unless given).
result() {
    printf 'RESULT label=%s mode=%s count=3000 ok=3000 accepted=3000 duplicate=0 errors=%s elapsed_s=1.0 rps=%s p50_ms=1.%s p99_ms=9.0 max_ms=9.9 new_conns=0 server_cpu_s=0.5 client_cpu_s=%s hs_full=0 hs_resumed=3000 hs_failed=0 warmup_errors=0 body_bytes_avg=9557 event_answers=2800 round=%s\n' \
        "$1" "$2" "${5:-0}" "$4" "$3" "${6:-0.5}" "$3" >>"$T/results"
}

# report MODES RESULTS: the report of a results file.
report() {
    BENCH_MODES="$1" BENCH_REPORT_ONLY="$2" \
        sh "$RRAS_SOURCE_DIR/scripts/bench-collector.sh" >"$T/out" 2>&1 || fail "exit status $?"
    grep -Eiq 'nan|inf' "$T/out" && fail "a division by zero"
    grep -q 'collector reports/s' "$T/out" && fail "the old 333/s lines are still printed"
    grep -q 'collector/nginx .*target >=' "$T/out" && fail "collector/nginx still has a target"
    return 0
}

# ---- 5 rounds, raw SQLite 8,000 rows/s ----
# The composed limit with nginx at 8,000/s is 1 / (1/8000 + 1/8000) = 4,000/s; at 2,000/s, 1,600/s;
# at 24,000/s, 6,000/s; at 56,000/s, 7,000/s.
: >"$T/results"
# (c): collector:nginx per round; ratios to the composed limit 1.00 0.50 0.96 0.95 0.60 -> median
# 0.95 (PASS). The ratio of the medians (collector 4,200, nginx 24,000: limit 6,000) would be 0.70.
# collector/nginx per round 0.50 0.40 0.24 0.12 0.075 -> 0.24.
i=1
for pair in 4000:8000 800:2000 5760:24000 6650:56000 4200:56000; do
    result collector keepalive "$i" "${pair%%:*}"
    result nginx keepalive "$i" "${pair##*:}"
    i=$((i + 1))
done
# (a): nginx 8,000/s in every round, client-bound; ratios 0.50 0.70 0.76 0.95 1.00 -> median 0.76
# (MISS), though two rounds pass; collector/nginx 0.38.
i=1
for c in 2000 2800 3040 3800 4000; do
    result collector resume "$i" "$c"
    result nginx resume "$i" 8000 0 0.95
    printf 'NGINX_RESUMED mode=resume resumed=3000 of=3000 round=%s\n' "$i" >>"$T/results"
    i=$((i + 1))
done
# (b): one round, collector 400, nginx 1,600: limit 1,333.3/s, ratio 0.30, no target.
result collector noresume 1 400
result nginx noresume 1 1600
echo "RESULT label=sqlite mode=batch64 rows=3000 commits=47 elapsed_s=0.375 rows_per_s=8000.0" >>"$T/results"

report "resume noresume keepalive" "$T/results"
grep -q 'capacity (fleet need 3,333/s: 1,000,000 agents every 5 min)' "$T/out" || fail "no capacity legend"
grep -q 'collector/composed limit (c) keep-alive *0\.95 *target >= 0\.8 *PASS *(median of 5 rounds: 1\.00 0\.50 0\.96 0\.95 0\.60)$' "$T/out" ||
    fail "(c) should be the median of the rounds' ratios to the composed limit, 0.95, PASS"
grep -q 'collector/composed limit (a) new conn, resumed *0\.76 *target >= 0\.8 *MISS *(median of 5 rounds: 0\.50 0\.70 0\.76 0\.95 1\.00)  (nginx was client-bound' "$T/out" ||
    fail "(a) should be 0.76, MISS, nginx client-bound"
grep -q 'collector/composed limit (b) new conn, full handshake *0\.30 *(no target)$' "$T/out" ||
    fail "(b) should be 0.30, no target"
# Capacity: the row's reports/s / 3,333; CPU at 3,333/s = 0.5 s CPU per 1 s at that rate.
grep -q 'capacity  *(c) keep-alive *1\.26x *target >= 1\.0x *PASS *(at 3,333/s: 40% of one core)' "$T/out" ||
    fail "(c) capacity should be 4200/3333 = 1.26x, PASS, 40% of a core"
grep -q 'capacity  *(a) new conn, resumed *0\.91x *target >= 1\.0x *MISS *(at 3,333/s: 55% of one core)' "$T/out" ||
    fail "(a) capacity should be 3040/3333 = 0.91x, MISS, 55% of a core"
grep -q 'capacity  *(b) new conn, full handshake *0\.12x *(worst case, no target) *(at 3,333/s: 417% of one core)' "$T/out" ||
    fail "(b) capacity should be 400/3333 = 0.12x, no target, 417% of a core"
# The references, no target.
grep -q 'collector/nginx  *(c) keep-alive *0\.24 *(reference, no target)' "$T/out" || fail "collector/nginx (c) should be 0.24"
grep -q 'collector/nginx  *(a) new conn, resumed *0\.38 *(reference, no target)' "$T/out" || fail "collector/nginx (a) should be 0.38"
grep -q 'collector/raw SQLite  *(c) keep-alive *0\.525 *(reference, no target)' "$T/out" || fail "collector/raw SQLite (c) should be 4200/8000"
# Rows: the median round of each server (collector (c): 4,200/s, round 5; nginx (c): 24,000/s, round 3).
grep -q '^collector (c) keep-alive *4200\.0 *1\.50 ' "$T/out" || fail "collector (c) row is not its median round"
grep -q '^nginx  *(c) keep-alive *24000\.0\* *1\.30 \|^nginx  *(c) keep-alive *24000\.0  *1\.30 ' "$T/out" ||
    fail "nginx (c) row is not its median round (24,000/s, round 3)"
grep -q 'ERRORS' "$T/out" && fail "no round had errors"

# One failed report in round 5 of (c), which is not the median round: the run is invalid.
sed -i "/^RESULT label=nginx mode=keepalive .*round=5$/s/ errors=0 / errors=1 /" "$T/results"
report "resume noresume keepalive" "$T/results"
grep -q 'ERRORS in this run: nginx/keepalive-round-5(1 errors)' "$T/out" ||
    fail "an error in a non-median round must invalidate the run"

# ---- one round: collector 4,000, nginx 8,000, raw SQLite 8,000 -> limit 4,000, ratio 1.00 ----
: >"$T/results"
result collector keepalive 1 4000
result nginx keepalive 1 8000
echo "RESULT label=sqlite mode=batch64 rows=3000 commits=47 elapsed_s=0.375 rows_per_s=8000.0" >>"$T/results"
report keepalive "$T/results"
grep -q 'collector/composed limit (c) keep-alive *1\.00 *target >= 0\.8 *PASS$' "$T/out" ||
    fail "4000 against 1/(1/8000 + 1/8000) = 4000 should be 1.00, PASS (one round: no rounds list)"
grep -q 'capacity  *(c) keep-alive *1\.20x *target >= 1\.0x *PASS' "$T/out" || fail "4000/3333 should be 1.20x, PASS"
grep -q 'collector/nginx  *(c) keep-alive *0\.50 ' "$T/out" || fail "collector/nginx should be 0.50"
grep -Eq '^  (capacity|collector/[a-z ]*[a-zA-Z]) +\(a\)' "$T/out" && fail "(a) did not run: no ratio or verdict for it"

# On the targets: collector 3,200 -> 0.80, PASS; collector 3,333 -> capacity 1.00x, PASS.
sed -i "/^RESULT label=collector /s/ rps=4000 / rps=3200 /" "$T/results"
report keepalive "$T/results"
grep -q 'collector/composed limit (c) keep-alive *0\.80 *target >= 0\.8 *PASS$' "$T/out" || fail "3200 against 4000 should be 0.80, PASS"
grep -q 'capacity  *(c) keep-alive *0\.96x *target >= 1\.0x *MISS' "$T/out" || fail "3200/3333 should be 0.96x, MISS"
sed -i "/^RESULT label=collector /s/ rps=3200 / rps=3333 /" "$T/results"
report keepalive "$T/results"
grep -q 'capacity  *(c) keep-alive *1\.00x *target >= 1\.0x *PASS' "$T/out" || fail "3333/3333 should be 1.00x, PASS"

# Just under the target: collector 3,160 -> 0.79, MISS; capacity 0.95x, MISS.
sed -i "/^RESULT label=collector /s/ rps=3333 / rps=3160 /" "$T/results"
report keepalive "$T/results"
grep -q 'collector/composed limit (c) keep-alive *0\.79 *target >= 0\.8 *MISS$' "$T/out" || fail "3160 against 4000 should be 0.79, MISS"
grep -q 'capacity  *(c) keep-alive *0\.95x *target >= 1\.0x *MISS' "$T/out" || fail "3160/3333 should be 0.95x, MISS"

# No raw SQLite figure (the baseline failed or did not run): no composed verdict, no division by
# zero, the capacity verdict and collector/nginx still printed.
sed -i '/^RESULT label=sqlite /d' "$T/results"
report keepalive "$T/results"
grep -q '^sqlite  *raw INSERT baseline *(no result' "$T/out" || fail "the sqlite row should say it has no result"
grep -q 'collector/composed limit (c) keep-alive .*no raw SQLite figure in this run.*no verdict' "$T/out" ||
    fail "without raw SQLite the composed verdict should say so"
grep -Eq 'composed limit .*(PASS|MISS)' "$T/out" && fail "no composed verdict without raw SQLite"
grep -q 'collector/raw SQLite  *(c)' "$T/out" && fail "no collector/raw SQLite ratio without raw SQLite"
grep -q 'capacity  *(c) keep-alive *0\.95x *target >= 1\.0x *MISS' "$T/out" || fail "capacity does not need raw SQLite"
grep -q 'collector/nginx  *(c) keep-alive *0\.40 ' "$T/out" || fail "collector/nginx does not need raw SQLite"
echo "test_bench_report: ok"
