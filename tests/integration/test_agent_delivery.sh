#!/bin/sh
# Agent delivery against the real collector: outage then recovery (exactly once), kill -9 of
# the collector mid-stream, spool overflow counted, a corrupted spool record quarantined, a
# collector certificate from another CA refused, and 429 + Retry-After honoured.
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
col_setup
fqdn=rras01.corp.contoso.com
bundle="$RRAS_FIXTURES_DIR/bundles/kb-787-wildcard-first"
pki_client "$T/pki" "$fqdn" >/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# agent_conf NAME [KEY=VALUE ...]: an agent config talking to the collector's fixed port.
agent_conf() {
    name=$1; shift
    cat >"$T/$name.conf" <<CONF
source = $bundle
collector_url = https://localhost:$port
ca_file = $T/pki/ca.crt
client_cert = $T/pki/$fqdn.crt
client_key = $T/pki/$fqdn.key
spool_dir = $T/spool-$name
drain_rate_per_s = 0
CONF
    for kv in "$@"; do echo "$kv" >>"$T/$name.conf"; done
}
agent_once() { "$AGENT" run --once --config "$T/$1.conf" 2>>"$T/$1.log"; }
db_count() {
    /usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
        "$T/fleet.db" "$1"
}

# 1. Collector down: three reports spool (exit 1). Collector up: the next run delivers all
#    four, each exactly once.
agent_conf outage
for i in 1 2 3; do
    rc=0; agent_once outage || rc=$?
    [ "$rc" = 1 ] || fail "run $i with the collector down: exit $rc, expected 1"
done
[ "$(ls "$T/spool-outage" | grep -c '\.rec$')" = 3 ] || fail "three reports should be spooled"
col_start --listen "127.0.0.1:$port"
agent_once outage || fail "the run after recovery did not empty the spool"
[ "$(ls "$T/spool-outage" | grep -c '\.rec$' || true)" = 0 ] || fail "spool not empty"
[ "$(db_count 'select count(*) from reports')" = 4 ] || fail "expected 4 reports stored"
agent_once outage || fail "a later run failed"
[ "$(db_count 'select count(*) from reports')" = 5 ] || fail "expected 5 reports stored"

# 2. kill -9 of the collector while agents keep reporting: after a restart and a final drain,
#    every report collected is stored once.
agent_conf crash
runs=0
for i in $(seq 1 24); do
    agent_once crash || true
    runs=$((runs + 1))
    if [ "$i" = 8 ]; then
        kill -9 "$COL_PID"; wait "$COL_PID" 2>/dev/null || true; COL_PID=
    fi
    if [ "$i" = 16 ]; then
        col_start --listen "127.0.0.1:$port"
    fi
done
agent_once crash || fail "final drain after the crash failed"
runs=$((runs + 1))
stored=$(db_count 'select count(*) from reports')
distinct=$(db_count 'select count(distinct report_id) from reports')
[ "$stored" = "$distinct" ] || fail "duplicate rows: $stored rows, $distinct report ids"
[ "$stored" = $((5 + runs)) ] || fail "kill -9: $runs reports collected, $((stored - 5)) stored"
acked=$(grep -c 'result=ack' "$T/crash.log" || true)
[ "$acked" = "$runs" ] || fail "kill -9: $acked acknowledgements for $runs reports"
echo "kill -9: $runs reports collected, all stored once"

# 3. Spool full: with room for 2 records, 5 runs during an outage drop 3, and the run after
#    recovery collects one more (dropping a 4th) before it drains; the reports that get through
#    say how many were lost.
col_stop
agent_conf small "spool_max_records = 2"
for i in 1 2 3 4 5; do agent_once small || true; done
[ "$(ls "$T/spool-small" | grep -c '\.rec$')" = 2 ] || fail "spool cap not kept"
before=$(db_count 'select count(*) from reports')
col_start --listen "127.0.0.1:$port"
agent_once small || fail "drain of the small spool failed"
[ "$(db_count 'select count(*) from reports')" = $((before + 2)) ] || fail "expected 2 more reports"
dropped=$(db_count 'select sum(spool_dropped) from reports')
[ "$dropped" = 4 ] || fail "the delivered reports carry dropped=$dropped, expected 4"

# 4. A corrupted spool record is quarantined, counted, and does not block the spool.
col_stop
agent_conf corrupt
agent_once corrupt || true
rec=$(ls "$T/spool-corrupt"/*.rec | head -n 1)
/usr/bin/python3 - "$rec" <<'PY'
import sys
p = sys.argv[1]; data = bytearray(open(p, "rb").read()); data[-2] ^= 0xFF
open(p, "wb").write(bytes(data))
PY
col_start --listen "127.0.0.1:$port"
agent_once corrupt || fail "a corrupted record blocked the spool"
[ "$(ls "$T/spool-corrupt/quarantine" | wc -l)" = 1 ] || fail "the corrupted record was not quarantined"
q=$(db_count 'select sum(spool_quarantined) from reports')
[ "$q" -ge 1 ] || fail "the next report did not count the quarantined record"

# 5. A collector certificate from another CA: refused before anything is sent.
before=$(db_count 'select count(*) from reports')
agent_conf rogue "ca_file = $T/pki/rogue-ca.crt"
rc=0; agent_once rogue || rc=$?
[ "$rc" = 1 ] || fail "agent trusted a collector certificate from another CA (exit $rc)"
grep -q 'curl=60' "$T/rogue.log" || fail "expected a certificate verification failure: $(tail -n 2 "$T/rogue.log")"
[ "$(db_count 'select count(*) from reports')" = "$before" ] || fail "a report got through"
col_stop

# 6. 429 with Retry-After: 2 -> the agent waits at least 2 s before it tries again.
/usr/bin/python3 - "$T" "$port" <<'PY' &
import http.server, ssl, sys, time
t, port = sys.argv[1], int(sys.argv[2])
seen = []
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        seen.append(time.monotonic())
        if len(seen) == 1:
            self.send_response(429); self.send_header("Retry-After", "2")
            body = b'{"error":{"code":"busy","message":"retry later"}}'
        else:
            self.send_response(202)
            body = b'{"accepted":true,"duplicate":false,"next_interval_s":3600}'
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        if len(seen) == 2:
            open(f"{t}/retry-gap", "w").write("%.3f" % (seen[1] - seen[0]))
    def log_message(self, *a): pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{t}/pki/server.crt", f"{t}/pki/server.key")
ctx.load_verify_locations(f"{t}/pki/ca.crt"); ctx.verify_mode = ssl.CERT_REQUIRED
srv = http.server.HTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.timeout = 0.2
deadline = time.monotonic() + 20
while time.monotonic() < deadline and len(seen) < 2:
    srv.handle_request()
PY
fake=$!
sleep 0.5
agent_conf busy
"$AGENT" run --config "$T/busy.conf" 2>"$T/busy.log" &
agent_pid=$!
i=0
while [ ! -s "$T/retry-gap" ] && [ $i -lt 150 ]; do i=$((i + 1)); sleep 0.1; done
kill -TERM "$agent_pid" 2>/dev/null || true
wait "$agent_pid" || true
wait "$fake" || true
[ -s "$T/retry-gap" ] || fail "the agent never retried after 429: $(tail -n 3 "$T/busy.log")"
gap=$(cat "$T/retry-gap")
/usr/bin/python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 1.95 else 1)" "$gap" ||
    fail "the agent retried after ${gap}s, before Retry-After: 2"
echo "429: retried after ${gap}s (Retry-After: 2)"
echo "agent delivery: ok"
