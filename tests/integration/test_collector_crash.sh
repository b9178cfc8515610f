#!/bin/sh
# Durability: kill -9 the collector in the middle of a stream of reports; after a restart every
# report that was answered 202 is in the database, and none is stored twice. The stream runs on
# kept-alive connections, so most of its reports are answered by the event thread (decision 008).
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
col_setup
pki_client "$T/pki" rras01.corp.contoso.com >/dev/null
col_start
make_report kb-787-wildcard-first rras01.corp.contoso.com "$T/template.json"
viewer=$(col_token viewer crash-test)

# Four threads post fresh reports as fast as they can and log each report_id answered 202.
/usr/bin/python3 - "$T" "$AGENT_PORT" <<'PY' &
import http.client, json, ssl, sys, threading, uuid
t, port = sys.argv[1], int(sys.argv[2])
template = json.load(open(f"{t}/template.json"))
ctx = ssl.create_default_context(cafile=f"{t}/pki/ca.crt")
ctx.load_cert_chain(f"{t}/pki/rras01.corp.contoso.com.crt", f"{t}/pki/rras01.corp.contoso.com.key")
lock = threading.Lock()
acked = open(f"{t}/acked.txt", "w")
def run(n):
    conn = None
    for seq in range(100000):
        doc = dict(template); doc["report_id"] = str(uuid.uuid4()); doc["seq"] = n * 1000000 + seq
        body = json.dumps(doc)
        try:
            if conn is None:
                conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=5)
            conn.request("POST", "/v1/reports", body, {"Content-Type": "application/json"})
            r = conn.getresponse(); r.read()
            if r.status == 202:
                with lock:
                    acked.write(doc["report_id"] + "\n"); acked.flush()
        except Exception:
            return
threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
for th in threads: th.start()
for th in threads: th.join()
PY
streamer=$!
# Let a few hundred reports through, then pull the plug.
i=0
while [ "$(wc -l <"$T/acked.txt" 2>/dev/null || echo 0)" -lt 300 ]; do
    i=$((i + 1)); [ $i -lt 400 ] || fail "the stream did not get going"
    sleep 0.05
done
[ "$(admin_get "$viewer" /metrics)" = 200 ] || fail "metrics"
served=$(sed -n 's/^rrasfleet_http_requests_total{thread="event"} //p' "$T/last-body")
[ "${served:-0}" -gt 0 ] || fail "no report of the stream was answered by the event thread"
kill -9 "$COL_PID"; wait "$COL_PID" 2>/dev/null || true; COL_PID=
wait "$streamer" || true
acked=$(wc -l <"$T/acked.txt")

col_start
col_stop
/usr/bin/python3 - "$T/fleet.db" "$T/acked.txt" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
acked = [l.strip() for l in open(sys.argv[2]) if l.strip()]
stored = {r[0] for r in db.execute("select report_id from reports")}
rows = db.execute("select count(*) from reports").fetchone()[0]
missing = [a for a in acked if a not in stored]
assert not missing, f"{len(missing)} acknowledged reports lost, e.g. {missing[:3]}"
assert rows == len(stored), "a report is stored twice"
print(f"kill -9: {len(acked)} acknowledged, {len(stored)} stored, 0 lost")
PY
