#!/bin/sh
# The collector's guards around its database (decision 016), on a real process: the database and
# its -wal/-shm are 0600 and a readable one is refused; a second collector on the same database
# exits naming the first one's PID; collected_at far ahead of the collector's clock is a 400 that
# names the field; another host's report_id is a 409, never an acknowledgement; a full database
# (db_max_mb, SQLite's max_page_count) answers 503 with Retry-After, counts it and /healthz says
# so; a database with a corrupted page is refused after its integrity check.
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
col_setup
for h in rras01.corp.contoso.com rras02.corp.contoso.com; do
    pki_client "$T/pki" "$h" >/dev/null
done
umask 022 # the usual umask, under which files are made 0644 unless the code says otherwise

# wait_log PATTERN: until the collector's log has a line matching PATTERN (it is written once).
wait_log() {
    i=0
    while ! grep -q "$1" "$T/collector.log" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 200 ] || fail "no log line matching: $1"
        sleep 0.05
    done
}

agent_get() {
    curl -s -o "$T/last-body" -D "$T/headers" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
        --cert "$T/pki/$1.crt" --key "$T/pki/$1.key" "https://localhost:$AGENT_PORT$2"
}

# edit IN OUT PYTHON: rewrites the report IN into OUT with `doc` changed by PYTHON.
edit() {
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, sys, uuid
doc = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(doc, open(sys.argv[2], "w"))
PY
}

col_start
wait_log 'integrity check passed'

# 9. The database and its -wal/-shm are the owner's only.
for f in fleet.db fleet.db-wal fleet.db-shm; do
    [ "$(stat -c %a "$T/$f")" = 600 ] || fail "$f is mode $(stat -c %a "$T/$f"), not 600"
done
[ "$(stat -c %a "$T/fleet.db.lock")" = 600 ] || fail "the lock file is not 600"

# 5. /healthz: the store's real state.
[ "$(agent_get rras01.corp.contoso.com /healthz)" = 200 ] || fail "healthz not 200: $(cat "$T/last-body")"
/usr/bin/python3 - "$T/last-body" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["status"] == "ok", doc
assert doc["store"]["check"] == "ok" and doc["store"]["writable"] is True, doc
assert doc["store"]["last_commit_age_s"] is None and doc["writer"]["queue_depth"] == 0, doc
PY

# 10. A second collector on the same database exits at once, naming the first one's PID.
rc=0
"$COLLECTOR" serve --config "$T/collector.conf" >"$T/second.out" 2>"$T/second.err" || rc=$?
[ "$rc" != 0 ] || fail "a second collector served the same database"
grep -q "pid $COL_PID" "$T/second.err" || fail "the second collector does not name pid $COL_PID: $(cat "$T/second.err")"
grep -q '^listening' "$T/second.out" && fail "the second collector listened"

# 2. collected_at far in the future: 400 naming the field; an hour ahead is within the skew.
make_report kb-787-wildcard-first rras01.corp.contoso.com "$T/r1.json"
edit "$T/r1.json" "$T/future.json" 'doc["host"]["collected_at"] = "9999-12-31T00:00:00Z"; doc["report_id"] = str(uuid.uuid4())'
[ "$(post_report "$T/future.json" rras01.corp.contoso.com)" = 400 ] || fail "a report from year 9999 not 400: $(cat "$T/last-body")"
grep -q '"field":"host.collected_at"' "$T/last-body" || fail "400 does not name host.collected_at: $(cat "$T/last-body")"
edit "$T/r1.json" "$T/hour.json" 'import time; doc["host"]["collected_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)); doc["report_id"] = str(uuid.uuid4()); doc["seq"] = 1'
[ "$(post_report "$T/hour.json" rras01.corp.contoso.com)" = 202 ] || fail "an hour of skew refused: $(cat "$T/last-body")"

# 3. Another host's report_id: 409, nothing stored for it; the owner's resend stays a duplicate.
edit "$T/r1.json" "$T/r1b.json" 'doc["seq"] = 2'
[ "$(post_report "$T/r1b.json" rras01.corp.contoso.com)" = 202 ] || fail "report not accepted"
make_report resolution1-single-cert rras02.corp.contoso.com "$T/r2.json"
/usr/bin/python3 - "$T/r1b.json" "$T/r2.json" <<'PY'
import json, sys
src = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
doc["report_id"] = src["report_id"]
json.dump(doc, open(sys.argv[2], "w"))
PY
[ "$(post_report "$T/r2.json" rras02.corp.contoso.com)" = 409 ] || fail "another host's report_id not 409: $(cat "$T/last-body")"
grep -q '"field":"report_id"' "$T/last-body" || fail "409 does not name report_id"
grep -q '"duplicate"' "$T/last-body" && fail "409 carries an acknowledgement"
[ "$(col_db "select count(*) from hosts where fqdn = 'rras02.corp.contoso.com'")" = 0 ] || fail "host 2 stored"
[ "$(post_report "$T/r1b.json" rras01.corp.contoso.com)" = 200 ] || fail "owner's resend not 200"
grep -q '"duplicate":true' "$T/last-body" || fail "owner's resend not a duplicate"
col_stop

# 4. A full database: 503 with Retry-After, counted, and /healthz says so.
col_start --db-max-mb 1
wait_log 'integrity check passed'
code=202
n=0
while [ "$code" = 202 ] && [ $n -lt 20 ]; do
    n=$((n + 1))
    edit "$T/r1.json" "$T/pad.json" "doc['report_id'] = str(uuid.uuid4()); doc['seq'] = 10 + $n; doc['padding'] = 'x' * 300000"
    code=$(curl -s -o "$T/last-body" -D "$T/headers" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
        --cert "$T/pki/rras01.corp.contoso.com.crt" --key "$T/pki/rras01.corp.contoso.com.key" \
        -H 'Content-Type: application/json' --data-binary "@$T/pad.json" \
        "https://localhost:$AGENT_PORT/v1/reports")
done
[ "$code" = 503 ] || fail "a full database answered $code: $(cat "$T/last-body")"
grep -qi '^Retry-After: [1-9]' "$T/headers" || fail "503 without Retry-After"
grep -q '"code":"storage_unavailable"' "$T/last-body" || fail "503 body: $(cat "$T/last-body")"
[ "$(agent_get rras01.corp.contoso.com /healthz)" = 503 ] || fail "healthz not 503 when full"
grep -q '"fault":"full"' "$T/last-body" || fail "healthz does not say full: $(cat "$T/last-body")"
grep -q '"writable":false' "$T/last-body" || fail "healthz says writable"
viewer=$(col_token viewer dash)
[ "$(admin_get "$viewer" /metrics)" = 200 ] || fail "metrics"
grep -q '^rrasfleet_store_write_errors_total{reason="full"} [1-9]' "$T/last-body" || fail "full not counted: $(grep store_write "$T/last-body")"
col_stop

# 9. A database readable by others is refused unless allowed.
chmod 644 "$T/fleet.db"
rc=0
"$COLLECTOR" serve --config "$T/collector.conf" >"$T/third.out" 2>"$T/third.err" || rc=$?
[ "$rc" != 0 ] || fail "a world-readable database was served"
grep -q 'allow_readable_db' "$T/third.err" || fail "the refusal does not name allow_readable_db: $(cat "$T/third.err")"
col_start --allow-readable-db true
col_stop
chmod 600 "$T/fleet.db"

# 5. A corrupted page: the collector refuses the database after its integrity check, exit 1.
/usr/bin/python3 - "$T/fleet.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
root = db.execute("select rootpage from sqlite_master where name = 'certs'").fetchone()[0]
size = db.execute("pragma page_size").fetchone()[0]
db.close()
with open(sys.argv[1], "r+b") as f:
    f.seek((root - 1) * size)
    f.write(b"\xa5" * 64)
PY
rc=0
"$COLLECTOR" serve --config "$T/collector.conf" >"$T/corrupt.out" 2>"$T/corrupt.err" || rc=$?
[ "$rc" = 1 ] || fail "a corrupt database: exit $rc, expected 1: $(tail -n 3 "$T/corrupt.err")"
grep -q 'failed its integrity check' "$T/corrupt.err" || fail "no clear message: $(cat "$T/corrupt.err")"
echo "collector store guards: ok"
