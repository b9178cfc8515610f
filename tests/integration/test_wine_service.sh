#!/bin/sh
# test_wine_service: `rrasfleet-agent.exe service install|start|stop|uninstall` against Wine's
# service control manager, the service delivering to the real collector over mutual TLS
# (issue 14, "Service and Event Log"; docs/windows-events.md). With a PKI made at test time
# (pki.sh, plus an RSA-2048 agent certificate seeded into LocalMachine\My with
# rrasfleet-seed.exe --pfx, as test_wine_deliver.sh does):
#   1. Settings `run` would refuse: `service install` warns and installs, `service start` sees
#      the service stop again with service-specific exit code 2, and the service wrote the
#      configuration error to the Event Log (event 102).
#   2. `service install` again with good settings updates the service: ImagePath is
#      `"<exe>" service run --config "<absolute settings path>"`, LocalSystem, automatic start,
#      the description; the Event Log source key names the exe (EventMessageFile,
#      TypesSupported 7).
#   3. `service start`: RUNNING (also for `wine sc query`); the collector stores a report from
#      the service's host; events 100 (started) and 200 (findings changed, with the ids) logged.
#   4. `service stop`: STOPPED within the SCM's wait (the command's own limit is 60 s; this
#      test wants it under 20 s), exit code 0, event 101 (stopped) logged.
#   5. `service uninstall`: the service key and the Event Log source key are gone
#      (`wine reg query` fails); a second uninstall says "not installed" and succeeds.
#
# The Event Log: Wine 8 has none to read back; its ReportEventW writes each event's text to
# the `eventlog` debug channel of the service's process (trace: information, warn: warning,
# err: error). That process inherits services.exe's stderr, and services.exe the stderr of
# the first Wine program of a wineserver, so the test boots a prefix of its own, keeps its
# wineserver (-p: services die with the last Wine program otherwise, build-facts §12) and runs
# its first program with WINEDEBUG=+eventlog, stderr to $T/services.log. RRAS_WINEPREFIX is
# therefore not used (a shared prefix's services.exe already runs, and no service of this
# test may outlive it there). Environment as test_wine_collect.sh: RRAS_WIN_BUILD_DIR (default
# $RRAS_SOURCE_DIR/build-win/build); no Wine or no Windows build: exit 77 (ctest SKIP) unless
# RRAS_REQUIRE_WINE=1.
set -eu
: "${RRAS_BIN_DIR:?set by ctest}" "${RRAS_SOURCE_DIR:?set by ctest}"
: "${RRAS_FIXTURES_DIR:=$RRAS_SOURCE_DIR/tests/fixtures}"
win_build=${RRAS_WIN_BUILD_DIR:-$RRAS_SOURCE_DIR/build-win/build}
fqdn=rras-svc01.corp.contoso.com
bundle="$RRAS_FIXTURES_DIR/bundles/kb-787-wildcard-first"
pfx_password=wine-test-only
svc=rrasfleet-agent
svc_key='HKLM\System\CurrentControlSet\Services\rrasfleet-agent'
event_key='HKLM\System\CurrentControlSet\Services\EventLog\Application\rrasfleet'
stop_limit_ms=20000

skip() {
    if [ "${RRAS_REQUIRE_WINE:-0}" = 1 ]; then
        echo "FAIL: $* (RRAS_REQUIRE_WINE=1)" >&2
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}
ms() { date +%s%3N; }

for tool in wine wineboot wineserver openssl; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
win_agent="$win_build/agent/rrasfleet-agent.exe"
seed="$win_build/tests/windows/rrasfleet-seed.exe"
[ -f "$win_agent" ] || skip "no $win_agent (scripts/build-windows.sh builds it)"
[ -f "$seed" ] || skip "no $seed (the Windows build with tests builds it)"

# fail(), col_start/col_stop and $T (removed on exit) come from here.
# shellcheck source=tests/integration/collector_lib.sh disable=SC1091
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
[ -x "$COLLECTOR" ] || fail "no collector at $COLLECTOR"
start=$(ms)
col_setup

booted=
cleanup() {
    # The prefix is the test's own: its wineserver (and the service, if still there) goes
    # first, then the folder (a prefix is never deleted under a live server, §12).
    if [ -n "$booted" ]; then
        wineserver -k >>"$T/wine.log" 2>&1 || true
        wineserver -w >>"$T/wine.log" 2>&1 || true
    fi
    col_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml="
WINEPREFIX="$T/wineprefix"
export WINEDEBUG WINEDLLOVERRIDES WINEPREFIX
# Wine's output goes to files, never to a pipe: a daemonized Wine process (services.exe here)
# would inherit the pipe and keep its reader waiting (build-facts §12).
booted=1
wineboot -i >>"$T/wine.log" 2>&1 </dev/null || fail "wineboot -i: $(tail -n 5 "$T/wine.log")"
wineserver -w >>"$T/wine.log" 2>&1
wineserver -p >>"$T/wine.log" 2>&1 </dev/null || fail "wineserver -p: $(tail -n 5 "$T/wine.log")"
# The first program starts services.exe: its stderr and WINEDEBUG are the services'.
WINEDEBUG=-all,+eventlog wine sc query "$svc" >"$T/first.out" 2>"$T/services.log" </dev/null || true
boot_ms=$(($(ms) - start))

# wine_run NAME PROGRAM ARGS...: stdout to $T/NAME.out, stderr to $T/NAME.err; Wine's status.
wine_run() {
    _name=$1
    shift
    wine "$@" >"$T/$_name.out" 2>"$T/$_name.err" </dev/null
}
# text NAME: NAME's stdout without the CRs of Windows line ends.
text() { tr -d '\r' <"$T/$1.out"; }
db_count() {
    /usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
        "$T/fleet.db" "$1"
}
# event LEVEL TEXT: whether the services logged an event of that level containing TEXT.
event() { grep -F "$1:eventlog:ReportEventW" "$T/services.log" | grep -q -F -- "$2"; }
state_of() {
    wine_run sc-query sc query "$svc" || true
    text sc-query | sed -n 's/^ *STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p'
}

# ---- the agent's certificate in LocalMachine\My, the collector, the settings ----
pki="$T/pki"
openssl req -x509 -new -config /dev/null -newkey rsa:2048 -nodes -keyout "$pki/agent.key" \
    -out "$pki/agent.crt" -subj "/CN=$fqdn" -days 2 -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -addext "subjectAltName=DNS:$fqdn" -addext extendedKeyUsage=clientAuth \
    -addext basicConstraints=critical,CA:FALSE \
    -addext keyUsage=critical,digitalSignature,keyEncipherment 2>"$T/openssl.err" ||
    fail "openssl: agent certificate: $(cat "$T/openssl.err")"
openssl pkcs12 -export -in "$pki/agent.crt" -inkey "$pki/agent.key" \
    -passout "pass:$pfx_password" -out "$pki/agent.p12" 2>"$T/openssl.err" ||
    fail "openssl pkcs12: $(cat "$T/openssl.err")"
agent_sha1=$(openssl x509 -in "$pki/agent.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
wine_run seed "$seed" --clear --pfx "Z:$pki/agent.p12" --pfx-password "$pfx_password" ||
    fail "rrasfleet-seed.exe --pfx exited $?: $(cat "$T/seed.err")"
grep -q "^imported $agent_sha1 " "$T/seed.out" || fail "seed did not import $agent_sha1: $(cat "$T/seed.out")"

col_start
# Windows paths (Z: is /); the Linux paths of $T are Z: paths to Wine.
cat >"$T/agent.conf" <<CONF
source = bundle:Z:$bundle
fqdn_override = $fqdn
collector_url = https://localhost:$AGENT_PORT
ca_file = Z:$pki/ca.crt
client_cert_thumbprint = $agent_sha1
spool_dir = Z:$T/spool
interval_s = 10
connect_timeout_ms = 3000
CONF
# What `run` refuses: no collector_url.
grep -v '^collector_url' "$T/agent.conf" >"$T/bad.conf"
agent_conf_win="Z:$(printf '%s' "$T/agent.conf" | tr / "\\\\")"

# ---- 1. settings the service cannot run with ----
t1=$(ms)
wine_run install-bad "$win_agent" service install --config "Z:$T/bad.conf" ||
    fail "service install (bad settings) exited $?: $(cat "$T/install-bad.err")"
grep -q "warning: .*bad.conf: 'collector_url' must be set" "$T/install-bad.err" ||
    fail "install should warn about the settings: $(cat "$T/install-bad.err")"
rc=0
wine_run start-bad "$win_agent" service start || rc=$?
[ "$rc" = 1 ] || fail "service start with bad settings exited $rc, expected 1: $(cat "$T/start-bad.err")"
grep -q "stopped again (exit code 1066, service-specific 2)" "$T/start-bad.err" ||
    fail "expected ERROR_SERVICE_SPECIFIC_ERROR 2: $(cat "$T/start-bad.err")"
[ "$(state_of)" = STOPPED ] || fail "the service should be STOPPED: $(text sc-query)"
event err "bad.conf: 'collector_url' must be set" ||
    fail "no configuration error event (102): $(grep eventlog "$T/services.log" | tail -n 5)"
bad_ms=$(($(ms) - t1))

# ---- 2. install with good settings: an update ----
wine_run install "$win_agent" service install --config "Z:$T/agent.conf" ||
    fail "service install exited $?: $(cat "$T/install.err")"
text install | grep -q "^service $svc (rrasfleet agent) updated: " ||
    fail "the second install should update: $(text install)"
wine_run reg-svc reg query "$svc_key" || fail "no service key: $(cat "$T/reg-svc.err")"
text reg-svc >"$T/reg-svc.txt"
exe_win=$(sed -n 's/^ *ImagePath *REG_[A-Z_]* *"\([^"]*\)".*/\1/p' "$T/reg-svc.txt")
case $exe_win in
*'\rrasfleet-agent.exe') ;;
*) fail "ImagePath does not name the agent: $(cat "$T/reg-svc.txt")" ;;
esac
want="\"$exe_win\" service run --config \"$agent_conf_win\""
grep -q -F "$want" "$T/reg-svc.txt" || fail "ImagePath should be '$want': $(cat "$T/reg-svc.txt")"
for want in 'ObjectName    REG_SZ    LocalSystem' 'Start    REG_DWORD    0x2' \
    'Type    REG_DWORD    0x10' 'DisplayName    REG_SZ    rrasfleet agent' \
    'Description    REG_SZ    Collects the certificate facts'; do
    grep -q -F "$want" "$T/reg-svc.txt" || fail "service key lacks '$want': $(cat "$T/reg-svc.txt")"
done
wine_run reg-event reg query "$event_key" || fail "no event source key: $(cat "$T/reg-event.err")"
text reg-event | grep -q -F "EventMessageFile    REG_EXPAND_SZ    $exe_win" ||
    fail "EventMessageFile should be $exe_win: $(text reg-event)"
text reg-event | grep -q -F "TypesSupported    REG_DWORD    0x7" ||
    fail "TypesSupported should be 7: $(text reg-event)"

# ---- 3. start: RUNNING, and a report reaches the collector ----
t3=$(ms)
wine_run start "$win_agent" service start || fail "service start exited $?: $(cat "$T/start.err")"
start_ms=$(($(ms) - t3))
text start | grep -q "^service $svc running" || fail "service start: $(text start)"
[ "$(state_of)" = RUNNING ] || fail "wine sc query should say RUNNING: $(text sc-query)"
i=0
while [ "$(db_count "select count(*) from reports r join hosts h on h.id = r.host_id where h.fqdn = '$fqdn'")" = 0 ]; do
    i=$((i + 1))
    [ $i -lt 150 ] || fail "no report from the service in 30 s; services log: $(tail -n 5 "$T/services.log")"
    sleep 0.2
done
report_ms=$(($(ms) - t3))
event trace "collector=https://localhost:$AGENT_PORT" || fail "no started event (100)"
event warn "L2TP_CERT_AMBIGUOUS, L2TP_CERT_WILDCARD; new: L2TP_CERT_AMBIGUOUS, L2TP_CERT_WILDCARD" ||
    fail "no findings-changed event (200): $(grep eventlog "$T/services.log" | tail -n 5)"

# ---- 4. stop: STOPPED within the limit ----
t4=$(ms)
wine_run stop "$win_agent" service stop || fail "service stop exited $?: $(cat "$T/stop.err")"
stop_ms=$(($(ms) - t4))
text stop | grep -q "^service $svc stopped in [0-9]* ms" || fail "service stop: $(text stop)"
[ "$stop_ms" -lt "$stop_limit_ms" ] || fail "service stop took $stop_ms ms (limit $stop_limit_ms)"
[ "$(state_of)" = STOPPED ] || fail "wine sc query should say STOPPED: $(text sc-query)"
grep -q 'WIN32_EXIT_CODE *: *0 ' "$T/sc-query.out" || fail "a clean stop exits 0: $(text sc-query)"
event trace "collected=" || fail "no stopped event (101): $(grep eventlog "$T/services.log" | tail -n 5)"

# ---- 5. uninstall: both keys gone; again: nothing to do ----
wine_run uninstall "$win_agent" service uninstall || fail "service uninstall exited $?: $(cat "$T/uninstall.err")"
text uninstall | grep -q "^service $svc removed" || fail "uninstall: $(text uninstall)"
text uninstall | grep -q "^event log source rrasfleet removed" || fail "uninstall: $(text uninstall)"
if wine_run reg-svc-gone reg query "$svc_key"; then
    fail "the service key is still there: $(text reg-svc-gone)"
fi
if wine_run reg-event-gone reg query "$event_key"; then
    fail "the event source key is still there: $(text reg-event-gone)"
fi
wine_run uninstall-again "$win_agent" service uninstall ||
    fail "a second uninstall exited $?: $(cat "$T/uninstall-again.err")"
text uninstall-again | grep -q "is not installed" || fail "second uninstall: $(text uninstall-again)"
col_stop

echo "wine service: prefix ready in ${boot_ms} ms; bad settings ${bad_ms} ms; start ${start_ms} ms;" \
    "first report stored ${report_ms} ms after start; stop ${stop_ms} ms; total $(($(ms) - start)) ms"
echo "wine service: ok"
