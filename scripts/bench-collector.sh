#!/bin/sh
# The collector benchmark, in one command (see docs/benchmarks.md):
#   ./scripts/bench-collector.sh
# Installs what it needs (Debian packages, nginx included), builds, makes a throwaway PKI with
# one client certificate per simulated host, starts the collector and an nginx with the same
# certificates and mutual TLS that answers 202 to every report, runs the load generator in three
# connection modes against each, runs the raw SQLite baseline, prints one table with ratios and
# the collector's CPU, and stops every process it started. Only 127.0.0.1 is ever contacted.
#
# Verdicts (decision 011), per mode: (1) capacity, the collector's reports/s against the fleet's
# need, 3,333/s (1,000,000 agents every 5 min), target >= 1.0x; (2) the ratio to the composed
# limit 1 / (1/nginx + 1/raw SQLite) (TLS + HTTP with no work, then a durable insert), target
# >= 0.8. Both for (a) and (c); (b), the worst case, has none. nginx and raw SQLite stay printed
# as the two references (collector/nginx and collector/raw SQLite, no target).
#
# Environment (defaults): BENCH_COUNT=3000 reports per mode, BENCH_HOSTS=200 client
# certificates, BENCH_CONCURRENCY=32 transfers in flight, BENCH_BUNDLE=kb-fix-verbatim (the
# report template, ~9.5 KB), BENCH_MODES="resume noresume keepalive" (a subset runs only those,
# e.g. BENCH_MODES=resume BENCH_COUNT=30000 for a longer sustained run), RRAS_BENCH_BUILD_DIR=build,
# BENCH_KEEP=1 keeps the temp dir; BENCH_REPORT_ONLY=FILE re-prints the table of a kept results file;
# BENCH_NEW_SNAPSHOTS=0 skips the extra keep-alive run where every report has a new snapshot;
# BENCH_ROUNDS=5 collector-then-nginx pairs for (a) and (c): a ratio is the median of the rounds'
# ratios, each round's nginx composed with the run's one raw SQLite figure (decision 010).
# Exit status: 0 when every report got its 2xx (targets met or not), 1 when a run had errors,
# 2 when the set-up failed.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

COUNT=${BENCH_COUNT:-3000}
HOSTS=${BENCH_HOSTS:-200}
CONC=${BENCH_CONCURRENCY:-32}
ROUNDS=${BENCH_ROUNDS:-5}
case $ROUNDS in '' | *[!0-9]* | 0) echo "bench-collector: BENCH_ROUNDS must be a whole number >= 1" >&2; exit 2 ;; esac
BUNDLE=${BENCH_BUNDLE:-kb-fix-verbatim}
MODES=${BENCH_MODES:-resume noresume keepalive}
BUILD=${RRAS_BENCH_BUILD_DIR:-build}
TARGET_RATIO=0.8    # collector / composed limit, (a) and (c)
TARGET_CAPACITY=1.0 # collector reports/s / FLEET_RPS, (a) and (c)
FLEET_RPS=3333      # 1,000,000 agents, one report every 5 minutes each (1,000,000 / 300 s)

say() { printf '== %s\n' "$*" >&2; }
die() {
    printf 'bench-collector: %s\n' "$*" >&2
    exit 2
}

# print_report RESULTS [COLLECTOR_ROWS]: the table, ratios and targets from the RESULT lines.
print_report() {
    awk -v target_ratio="$TARGET_RATIO" -v target_cap="$TARGET_CAPACITY" -v fleet_rps="$FLEET_RPS" -v col_rows="${2:-?}" \
        -v count="$COUNT" -v hosts="$HOSTS" -v conc="$CONC" -v bundle="$BUNDLE" -v run_modes=" $MODES " -v rounds="$ROUNDS" '
function get(line, key,    n, i, parts) {
    n = split(line, parts, " ")
    for (i = 1; i <= n; i++) {
        if (index(parts[i], key "=") == 1) { return substr(parts[i], length(key) + 2) }
    }
    return ""
}
function round_of(line,    r) { r = get(line, "round"); return r == "" ? 1 : r + 0 }
# The round whose reports/s is the median of the rounds of k (the lower middle of an even count).
function median_round(k,    r, n, i, t, order) {
    n = 0
    for (r = 1; r <= nr[k]; r++) {
        if (!((k, r) in line) || get(line[k, r], "errors") == "all") { continue }
        order[++n] = r
        for (i = n; i > 1 && get(line[k, order[i]], "rps") + 0 < get(line[k, order[i - 1]], "rps") + 0; i--) {
            t = order[i]; order[i] = order[i - 1]; order[i - 1] = t
        }
    }
    if (n == 0) { return (k, 1) in line ? 1 : 0 }
    return order[int((n + 1) / 2)]
}
# The median over the rounds of mode m of the collector reports/s of a round against the nginx
# reports/s of the same round ("nginx": c / n) or against the composed limit 1 / (1/n + 1/sqlite)
# ("composed": c * (1/n + 1/sqlite)); rlist gets the value of each round, nrlist how many; -1 when
# no round has both.
function round_median(m, kind,    kc, kn, r, n, i, t, x, v) {
    kc = "collector/" m; kn = "nginx/" m; n = 0; rlist = ""
    for (r = 1; r <= nr[kc] && r <= nr[kn]; r++) {
        if (!((kc, r) in line) || !((kn, r) in line)) { continue }
        if (get(line[kc, r], "errors") == "all" || get(line[kn, r], "errors") == "all" || get(line[kn, r], "rps") + 0 <= 0) { continue }
        x = get(line[kc, r], "rps") + 0
        x = (kind == "composed") ? x * (1 / (get(line[kn, r], "rps") + 0) + 1 / sqlite) : x / (get(line[kn, r], "rps") + 0)
        v[++n] = x; rlist = rlist sprintf(" %.2f", x)
        for (i = n; i > 1 && v[i] < v[i - 1]; i--) { t = v[i]; v[i] = v[i - 1]; v[i - 1] = t }
    }
    nrlist = n
    if (n == 0) { return -1 }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
# n with a comma every three digits (whole numbers).
function thousands(n,    s, out) {
    s = sprintf("%d", n); out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out
}
/^RESULT label=sqlite/ { sqlite = get($0, "rows_per_s") + 0; next }
/^RESULT / { k = get($0, "label") "/" get($0, "mode"); r = round_of($0); line[k, r] = $0; if (r > nr[k]) { nr[k] = r }; next }
/^NGINX_RESUMED / { ngx_res[get($0, "mode"), round_of($0)] = get($0, "resumed") "/" get($0, "of"); next }
END {
    col_frac = -1 # set only when (a) ran against the collector
    names["resume"] = "(a) new conn, resumed"
    names["noresume"] = "(b) new conn, full handshake"
    names["keepalive"] = "(c) keep-alive"
    printf "Collector benchmark: %d reports per mode, %d in flight, %d hosts (one client certificate each), template %s\n", count, conc, hosts, bundle
    if (rounds > 1) { printf "(a) and (c) ran %d rounds of collector then nginx: each row shows its median round\n", rounds }
    print ""
    printf "%-9s %-28s %9s %7s %7s %6s %6s %9s | %6s %6s %7s | %6s\n", "", "", "", "", "", "", "new", "TLS", "server", "server", "server", "client"
    printf "%-9s %-28s %9s %7s %7s %6s %6s %9s | %6s %6s %7s | %6s\n", "target", "mode", "reports/s", "p50 ms", "p99 ms", "errors", "conns", "resumed", "CPU s", "%core", "ms/rep", "%core"
    split("collector nginx", targets, " ")
    split("resume noresume keepalive", modes, " ")
    for (t = 1; t <= 2; t++) {
        for (m = 1; m <= 3; m++) {
            k = targets[t] "/" modes[m]
            pick[k] = median_round(k)
            l = (pick[k] > 0) ? line[k, pick[k]] : ""
            for (r = 1; r <= nr[k]; r++) {
                if (r == pick[k] || !((k, r) in line)) { continue }
                if (get(line[k, r], "errors") == "all") { errs = errs " " k "-round-" r "(failed)" }
                else if (get(line[k, r], "errors") + 0 > 0) { errs = errs " " k "-round-" r "(" get(line[k, r], "errors") " errors)" }
            }
            if (l == "" && index(run_modes, " " modes[m] " ") == 0) { printf "%-9s %-28s  (not run)\n", targets[t], names[modes[m]]; continue }
            if (l == "") { printf "%-9s %-28s  (no result)\n", targets[t], names[modes[m]]; errs = errs " " k "(no result)"; continue }
            err = get(l, "errors")
            if (err == "all") { printf "%-9s %-28s  FAILED\n", targets[t], names[modes[m]]; errs = errs " " k "(failed)"; continue }
            rps[k] = get(l, "rps") + 0
            el = get(l, "elapsed_s") + 0
            cpu = get(l, "server_cpu_s") + 0
            ccpu = get(l, "client_cpu_s") + 0
            okn = get(l, "ok") + 0
            resumed = "-"
            if (modes[m] != "keepalive") {
                if (targets[t] == "collector") {
                    full = get(l, "hs_full") + 0; res = get(l, "hs_resumed") + 0
                    if (full + res > 0) { resumed = sprintf("%d/%d", res, full + res) }
                    if (modes[m] == "resume") { col_frac = (full + res > 0) ? res / (full + res) : -1 }
                } else if ((modes[m], pick[k]) in ngx_res) {
                    resumed = ngx_res[modes[m], pick[k]]
                }
            }
            srv_cpu[k] = cpu; srv_el[k] = el
            cbound = (el > 0 && ccpu / el >= 0.9) ? "*" : " "
            if (cbound == "*") { any_cbound = 1; cb[k] = 1 }
            printf "%-9s %-28s %8.1f%s %7.2f %7.2f %6d %6d %9s | %6.2f %6.0f %7.2f | %6.0f\n", targets[t], names[modes[m]], rps[k], cbound, get(l, "p50_ms"), get(l, "p99_ms"), err, get(l, "new_conns"), resumed, cpu, (el > 0 ? 100 * cpu / el : 0), (okn > 0 ? 1000 * cpu / okn : 0), (el > 0 ? 100 * ccpu / el : 0)
            if (err + 0 > 0) { errs = errs " " k "(" err " errors)" }
            if (get(l, "warmup_errors") + 0 > 0) { errs = errs " " k "-warm-up(" get(l, "warmup_errors") " errors)" }
        }
    }
    l = line["collector-new/keepalive", 1]
    if (l != "" && get(l, "errors") != "all") {
        el = get(l, "elapsed_s") + 0; cpu = get(l, "server_cpu_s") + 0; okn = get(l, "ok") + 0
        rps["collector-new"] = get(l, "rps") + 0
        printf "%-9s %-28s %8.1f  %7.2f %7.2f %6d %6d %9s | %6.2f %6.0f %7.2f | %6.0f\n", "collector", "(c) keep-alive, all new snaps", rps["collector-new"], get(l, "p50_ms"), get(l, "p99_ms"), get(l, "errors"), get(l, "new_conns"), "-", cpu, (el > 0 ? 100 * cpu / el : 0), (okn > 0 ? 1000 * cpu / okn : 0), (el > 0 ? 100 * get(l, "client_cpu_s") / el : 0)
        if (get(l, "errors") + 0 > 0) { errs = errs " collector-new(" get(l, "errors") " errors)" }
    } else if (l != "") {
        printf "%-9s %-28s  FAILED\n", "collector", "(c) keep-alive, all new snaps"; errs = errs " collector-new(failed)"
    }
    if (sqlite > 0) { printf "%-9s %-28s %9.1f rows/s: same bodies, plain table, batches of 64, WAL, synchronous=FULL\n", "sqlite", "raw INSERT baseline", sqlite }
    else { printf "%-9s %-28s  (no result: the baseline did not run or failed)\n", "sqlite", "raw INSERT baseline" }
    print ""
    print "server CPU: utime+stime of the server process(es) from /proc during the timed reports; the"
    print "load generator (client %core) runs on the same 2 cores. TLS resumed: resumed/all handshakes."
    if (line["collector-new/keepalive", 1] != "") { print "all new snaps: every report brings a snapshot the collector has not seen (full decode, diagnosis, rewrite)." }
    if (any_cbound) { print "* the load generator used >= 90% of a core: the server may be faster than shown." }
    printf "Reports in the collector database after the run: %s (warm-up reports included)\n", col_rows
    l = (pick["collector/keepalive"] > 0) ? line["collector/keepalive", pick["collector/keepalive"]] : ""
    if (l != "" && get(l, "event_answers") != "" && get(l, "event_answers") + 0 >= 0) {
        printf "Answered by the event thread in (c) keep-alive (decision 008): %d of %d reports\n", get(l, "event_answers") + 0, get(l, "ok") + 0
    }
    print ""
    print "Ratios and targets"
    printf "  capacity (fleet need %s/s: 1,000,000 agents every 5 min) = reports/s / %s\n", thousands(fleet_rps), thousands(fleet_rps)
    print "  composed limit = 1 / (1/nginx + 1/raw SQLite): TLS + HTTP with no work, then a durable insert;"
    print "    per round, the nginx of that round with the one raw SQLite figure of the run (decision 011)"
    # (1) Capacity: the reports/s of the row (the median round) against the need of the fleet.
    for (m = 1; m <= 3; m++) {
        k = "collector/" modes[m]; c = rps[k]
        if (!(k in srv_el)) { continue }
        if (modes[m] == "noresume") {
            printf "  %-24s %-28s %7.2fx  (worst case, no target)", "capacity", names[modes[m]], c / fleet_rps
        } else {
            printf "  %-24s %-28s %7.2fx  target >= %.1fx   %s", "capacity", names[modes[m]], c / fleet_rps, target_cap, ((c / fleet_rps >= target_cap - 1e-9) ? "PASS" : "MISS")
        }
        if (c > 0 && srv_el[k] > 0) { printf "  (at %s/s: %.0f%% of one core)", thousands(fleet_rps), 100 * fleet_rps * srv_cpu[k] / (c * srv_el[k]) }
        printf "\n"
    }
    # (2) The composed limit. One ratio per round (each round runs the collector and then nginx
    # back to back); the verdict is their median, so a VM stall in one run does not decide it.
    # (The 1e-9 in both verdicts: a figure exactly on its target is not a MISS by rounding.)
    for (m = 1; m <= 3; m++) {
        kc = "collector/" modes[m]; kn = "nginx/" modes[m]
        if (!(kc in srv_el) || rps[kn] <= 0) { continue }
        if (sqlite <= 0) {
            printf "  %-24s %-28s       -   no raw SQLite figure in this run (baseline not run or failed): no verdict\n", "collector/composed limit", names[modes[m]]
            continue
        }
        med = round_median(modes[m], "composed")
        if (med < 0) { continue }
        rounds_note = (nrlist > 1) ? sprintf("  (median of %d rounds:%s)", nrlist, rlist) : ""
        if (modes[m] == "noresume") {
            printf "  %-24s %-28s %7.2f   (no target)%s\n", "collector/composed limit", names[modes[m]], med, rounds_note
        } else {
            printf "  %-24s %-28s %7.2f   target >= %.1f    %s%s%s\n", "collector/composed limit", names[modes[m]], med, target_ratio, ((med >= target_ratio - 1e-9) ? "PASS" : "MISS"), rounds_note, (cb[kn] ? "  (nginx was client-bound: the true ratio may be lower)" : "")
        }
    }
    # The two references, for information.
    for (m = 1; m <= 3; m++) {
        kc = "collector/" modes[m]; kn = "nginx/" modes[m]
        if (!(kc in srv_el) || rps[kn] <= 0) { continue }
        med = round_median(modes[m], "nginx")
        if (med < 0) { continue }
        printf "  %-24s %-28s %7.2f   (reference, no target)%s\n", "collector/nginx", names[modes[m]], med, ((nrlist > 1) ? sprintf("  (median of %d rounds)", nrlist) : "")
    }
    for (m = 1; m <= 3; m++) {
        c = rps["collector/" modes[m]]
        if (sqlite > 0 && ("collector/" modes[m]) in srv_el) { printf "  %-24s %-28s %7.3f   (reference, no target)\n", "collector/raw SQLite", names[modes[m]], c / sqlite }
    }
    if (col_frac >= 0 && col_frac < 0.9) {
        printf "  WARNING: only %.0f%% of the collector handshakes in (a) were resumed\n", 100 * col_frac
    }
    if (errs != "") { printf "\nERRORS in this run:%s; the figures above are not valid\n", errs }
}' "$1"
}

if [ -n "${BENCH_REPORT_ONLY:-}" ]; then
    # Re-prints the table from a kept results file (BENCH_KEEP=1 keeps the temp dir).
    print_report "$BENCH_REPORT_ONLY"
    exit 0
fi

# ---- dependencies and build ----------------------------------------------------------------
./scripts/install-deps.sh >/dev/null
pkg_missing() { ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=""
for p in nginx libssl-dev; do
    if pkg_missing "$p"; then missing="$missing $p"; fi
done
if [ -n "$missing" ]; then
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages:$missing; run as root to install them"
    say "installing$missing (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    # The nginx package would start its system service on port 80; a policy-rc.d that says
    # "no" (the Debian mechanism) prevents that. Made only if none exists, removed after.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    rc=0
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing >/dev/null; } ||
        rc=$?
    [ $made_policy -eq 0 ] || rm -f /usr/sbin/policy-rc.d
    [ $rc -eq 0 ] || die "apt-get install$missing failed"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx did not install"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

say "building ($BUILD, RelWithDebInfo)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRRAS_BUILD_TESTS=ON \
    -DRRAS_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" --target rrasfleet-collector rrasfleet-agent loadgen sqlite_baseline \
    >/dev/null || die "build failed (run: cmake --build $BUILD)"
COLLECTOR=$BUILD/collector/rrasfleet-collector
AGENT=$BUILD/agent/rrasfleet-agent
LOADGEN=$BUILD/tests/loadgen
BASELINE=$BUILD/tests/sqlite_baseline

# ---- temp dir, cleanup -----------------------------------------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/rras-bench.XXXXXX")
COL_PID=
NGX_PID=
stop_pid() {
    # PID: SIGTERM, up to 10 s, then SIGKILL.
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    stop_pid "$COL_PID"
    stop_pid "$NGX_PID"
    COL_PID=
    NGX_PID=
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench-collector: kept $T" >&2
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# ---- PKI: CA, server, one client certificate per simulated host (EC P-256) -----------------
say "making the PKI and $HOSTS client certificates"
# shellcheck source=tests/integration/pki.sh
. "$ROOT/tests/integration/pki.sh"
pki_make "$T/pki" >/dev/null || die "cannot make the PKI"
mkdir -p "$T/clients"
cp "$T/pki/ca.crt" "$T/pki/ca.key" "$T/clients/"
host_name() { printf 'rras-b%04d.bench.contoso.com' "$1"; }
make_clients() {
    # FIRST STEP: every STEP-th host from FIRST (two loops run side by side).
    i=$1
    while [ "$i" -lt "$HOSTS" ]; do
        pki_client "$T/clients" "$(host_name "$i")" >/dev/null || return 1
        i=$((i + $2))
    done
}
make_clients 0 2 &
mk1=$!
make_clients 1 2 || die "cannot make client certificates"
wait "$mk1" || die "cannot make client certificates"

# ---- the report template ---------------------------------------------------------------------
"$AGENT" collect --bundle "tests/fixtures/bundles/$BUNDLE" >"$T/template.json" ||
    die "agent collect failed for bundle $BUNDLE"

# ---- collector -------------------------------------------------------------------------------
cat >"$T/collector.conf" <<CONF
listen = 127.0.0.1:0
admin_listen = 127.0.0.1:0
tls_cert = $T/pki/server.crt
tls_key = $T/pki/server.key
client_ca = $T/pki/ca.crt
db = $T/fleet.db
expected_ca = CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com
log_level = warn
CONF
say "starting the collector"
"$COLLECTOR" serve --config "$T/collector.conf" >"$T/collector.out" 2>"$T/collector.log" &
COL_PID=$!
i=0
while ! grep -q '^listening ' "$T/collector.out" 2>/dev/null; do
    i=$((i + 1))
    kill -0 "$COL_PID" 2>/dev/null || { cat "$T/collector.log" >&2; die "collector exited at start"; }
    [ $i -lt 200 ] || die "collector did not start"
    sleep 0.05
done
AGENT_PORT=$(sed -n 's/^listening agent=\([0-9]*\) admin=.*/\1/p' "$T/collector.out")
ADMIN_PORT=$(sed -n 's/^listening agent=[0-9]* admin=\([0-9]*\).*/\1/p' "$T/collector.out")
TOKEN=$("$COLLECTOR" token create --db "$T/fleet.db" --role viewer --name bench 2>/dev/null) ||
    die "cannot create a metrics token"

# ---- nginx: same certificates, mutual TLS, answers 202 ----------------------------------------
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
start_nginx() {
    NGX_PORT=$(free_port)
    mkdir -p "$T/nginx/tmp"
    user_line=
    [ "$(id -u)" -ne 0 ] || user_line="user $(id -un) $(id -gn);"
    cat >"$T/nginx/nginx.conf" <<NGX
daemon off;
master_process on;
worker_processes 2;
$user_line
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
    log_format bench '\$ssl_session_reused \$status';
    access_log $T/nginx/access.log bench;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT ssl;
        server_name localhost;
        ssl_certificate $T/pki/server.crt;
        ssl_certificate_key $T/pki/server.key;
        ssl_client_certificate $T/pki/ca.crt;
        ssl_verify_client on;
        ssl_protocols TLSv1.2;
        ssl_ecdh_curve X25519:prime256v1;
        ssl_session_tickets on;
        ssl_session_cache shared:bench:10m;
        client_max_body_size 4m;
        location /v1/reports {
            default_type application/json;
            return 202 '{"accepted":true}';
        }
    }
}
NGX
    "$NGINX" -e "$T/nginx/error.log" -p "$T/nginx/" -c "$T/nginx/nginx.conf" &
    NGX_PID=$!
    i=0
    while [ ! -s "$T/nginx/nginx.pid" ]; do
        i=$((i + 1))
        if ! kill -0 "$NGX_PID" 2>/dev/null; then
            wait "$NGX_PID" 2>/dev/null || true
            NGX_PID=
            return 1
        fi
        [ $i -lt 100 ] || return 1
        sleep 0.05
    done
    sleep 0.2 # workers
}
say "starting nginx ($("$NGINX" -v 2>&1 | sed 's/.*: //'))"
tries=0
until start_nginx; do
    tries=$((tries + 1))
    [ $tries -lt 3 ] || { cat "$T/nginx/error.log" >&2 2>/dev/null; die "nginx did not start"; }
done
children_of() {
    for f in /proc/[0-9]*/stat; do
        awk -v p="$1" '{ s = $0; sub(/^.*\) /, "", s); split(s, a, " "); if (a[2] == p) { print FILENAME } }' "$f" 2>/dev/null
    done | sed 's|/proc/\([0-9]*\)/stat|\1|'
}
NGX_CPU_PIDS="--cpu-pid $NGX_PID"
for p in $(children_of "$NGX_PID"); do NGX_CPU_PIDS="$NGX_CPU_PIDS --cpu-pid $p"; done

# ---- runs ------------------------------------------------------------------------------------
ERRORS=0
run_load() {
    # LABEL MODE URL EXTRA...: one loadgen run; its RESULT line goes to $T/results.
    label=$1 mode=$2 url=$3
    shift 3
    say "$label: $mode, round $ROUND ($COUNT reports, $CONC in flight, $HOSTS hosts)"
    rc=0
    "$LOADGEN" --url "$url" --cacert "$T/pki/ca.crt" --certdir "$T/clients" \
        --template "$T/template.json" --mode "$mode" --hosts "$HOSTS" --count "$COUNT" \
        --concurrency "$CONC" --label "$label" "$@" >"$T/run.out" 2>"$T/run.err" || rc=$?
    cat "$T/run.err" >&2
    if grep -q '^RESULT ' "$T/run.out"; then
        grep '^RESULT ' "$T/run.out" | sed "s/\$/ round=$ROUND/" >>"$T/results"
    else
        ERRORS=1
        echo "RESULT label=$label mode=$mode errors=all round=$ROUND" >>"$T/results"
    fi
    [ $rc -eq 0 ] || ERRORS=1
}
: >"$T/results"
for mode in $MODES; do
    case $mode in resume | noresume | keepalive) ;; *) die "unknown mode in BENCH_MODES: $mode" ;; esac
done
# Each mode against the collector and then at once against nginx, so that both numbers of a
# ratio come from the same second: the speed of this VM was seen to drift by up to 30% between
# two runs a minute apart. The modes with a ratio target run ROUNDS such pairs; the verdict is
# the median of the rounds' ratios (decision 010).
for mode in $MODES; do
    rounds=$ROUNDS
    [ "$mode" != noresume ] || rounds=1 # no ratio target, and 10 s per run
    ROUND=1
    while [ "$ROUND" -le "$rounds" ]; do
        run_load collector "$mode" "https://localhost:$AGENT_PORT/v1/reports" --cpu-pid "$COL_PID" \
            --metrics-url "https://localhost:$ADMIN_PORT/metrics" --metrics-token "$TOKEN"
        # shellcheck disable=SC2086
        run_load nginx "$mode" "https://localhost:$NGX_PORT/v1/reports" $NGX_CPU_PIDS
        # The timed reports are the last COUNT lines; "r" marks a resumed TLS session.
        tail -n "$COUNT" "$T/nginx/access.log" | awk -v m="$mode" -v r="$ROUND" \
            '$1 == "r" { n++ } END { printf "NGINX_RESUMED mode=%s resumed=%d of=%d round=%d\n", m, n, NR, r }' \
            >>"$T/results"
        ROUND=$((ROUND + 1))
    done
done
ROUND=1
# The worst case of decision 005: no report repeats a snapshot (collector only; nginx reads none).
case " $MODES " in *" keepalive "*)
    [ "${BENCH_NEW_SNAPSHOTS:-1}" = 0 ] || run_load collector-new keepalive \
        "https://localhost:$AGENT_PORT/v1/reports" --cpu-pid "$COL_PID" --snapshots new ;;
esac
say "raw SQLite baseline (WAL, synchronous=FULL, batches of 64)"
"$BASELINE" --template "$T/template.json" --db "$T/baseline.db" --hosts "$HOSTS" \
    --count "$COUNT" --batch 64 >>"$T/results" || { ERRORS=1; echo "sqlite baseline failed" >&2; }
kill -0 "$COL_PID" 2>/dev/null || { ERRORS=1; echo "the collector died during the run" >&2; }
COL_ROWS=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from reports").fetchone()[0])' "$T/fleet.db" 2>/dev/null || echo "?")

# ---- the table -------------------------------------------------------------------------------
echo
print_report "$T/results" "$COL_ROWS"

if [ "$ERRORS" -ne 0 ]; then
    echo "bench-collector: some reports failed (see above)" >&2
    exit 1
fi
