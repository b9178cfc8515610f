#!/bin/sh
# Decision 005 end to end: a snapshot whose bytes the collector has seen is stored once and not
# decoded again; when the host's latest state moved on meanwhile the collector does the full
# work; the envelope and the shared snapshot give back every body byte for byte; a bad envelope
# around a known snapshot gets the same 400 as without the shortcut; the same on one kept-alive
# connection, served by the event thread.
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
col_setup
pki_client "$T/pki" rras01.corp.contoso.com >/dev/null
col_start
viewer=$(col_token viewer dash)
H=rras01.corp.contoso.com

# variant SRC DST SEQ [MEMBER=JSON]: SRC with a fresh report_id, the given seq (and a
# collected_at that grows with it), json.dump's
# default ", " and ": " separators (so the bytes are not the agent's compact ones).
variant() {
    /usr/bin/python3 - "$@" <<'PY'
import json, sys, uuid
doc = json.load(open(sys.argv[1]))
doc["report_id"] = str(uuid.uuid4())
doc["seq"] = int(sys.argv[3])
doc["host"]["collected_at"] = "2026-11-25T00:00:%02dZ" % int(sys.argv[3])  # each the newest
for extra in sys.argv[4:]:
    key, value = extra.split("=", 1)
    doc[key] = json.loads(value)
json.dump(doc, open(sys.argv[2], "w"))
PY
}

paths() {
    admin_get "$viewer" /metrics >/dev/null
    decoded=$(sed -n 's/^rrasfleet_report_snapshots_total{path="decoded"} //p' "$T/last-body")
    known=$(sed -n 's/^rrasfleet_report_snapshots_total{path="known"} //p' "$T/last-body")
    echo "$decoded/$known"
}

cert_count() {
    admin_get "$viewer" "/v1/hosts/$H" >/dev/null
    /usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["snapshot"]["certs"]))' "$T/last-body"
}

make_report kb-787-wildcard-first "$H" "$T/kb.json"
make_report resolution1-single-cert "$H" "$T/single.json"
variant "$T/kb.json" "$T/r1.json" 1
variant "$T/kb.json" "$T/r2.json" 2
variant "$T/single.json" "$T/r3.json" 3
variant "$T/kb.json" "$T/r4.json" 4
variant "$T/kb.json" "$T/r5.json" 5

# 1. The first report is decoded; the second, with the same snapshot, is known.
[ "$(post_report "$T/r1.json" "$H")" = 202 ] || fail "r1: $(cat "$T/last-body")"
[ "$(paths)" = 1/0 ] || fail "after r1 expected 1 decoded/0 known, got $(paths)"
[ "$(post_report "$T/r2.json" "$H")" = 202 ] || fail "r2: $(cat "$T/last-body")"
grep -q '"findings":3' "$T/last-body" || fail "a known snapshot answered another finding count: $(cat "$T/last-body")"
[ "$(paths)" = 1/1 ] || fail "after r2 expected 1/1, got $(paths)"
[ "$(col_db 'select count(*) from snapshots')" = 1 ] || fail "the same snapshot was stored twice"
[ "$(col_db 'select last_seq from hosts')" = 2 ] || fail "the known report did not become the latest"
# Each curl is a new connection: after the first, an idle pooled thread takes it.
admin_get "$viewer" /metrics >/dev/null
pooled=$(sed -n 's/^rrasfleet_connection_threads_total{thread="pooled"} //p' "$T/last-body")
[ "${pooled:-0}" -ge 1 ] || fail "no connection went to a pooled thread: $(grep connection_threads "$T/last-body")"

# 2. Another snapshot, then the first again: the cache knows it, but the host's latest state is
#    the other one now, so the writer asks for the full work and the latest state follows.
[ "$(post_report "$T/r3.json" "$H")" = 202 ] || fail "r3: $(cat "$T/last-body")"
[ "$(cert_count)" = 1 ] || fail "the latest snapshot is not r3's"
[ "$(post_report "$T/r4.json" "$H")" = 202 ] || fail "r4: $(cat "$T/last-body")"
[ "$(paths)" = 3/1 ] || fail "after r4 expected 3 decoded/1 known, got $(paths)"
[ "$(cert_count)" = 2 ] || fail "the latest snapshot is not r4's"
[ "$(col_db 'select count(*) from certs')" = 2 ] || fail "certs of the latest state not rewritten"
[ "$(post_report "$T/r5.json" "$H")" = 202 ] || fail "r5: $(cat "$T/last-body")"
[ "$(paths)" = 3/2 ] || fail "after r5 expected 3/2, got $(paths)"

# 3. Every stored report gives back the posted body byte for byte.
/usr/bin/python3 - "$T" <<'PY' || fail "a stored report does not rebuild its body"
import sqlite3, sys, json
t = sys.argv[1]
db = sqlite3.connect(t + "/fleet.db")
for n in range(1, 6):
    posted = open("%s/r%d.json" % (t, n), "rb").read()
    rid = json.loads(posted)["report_id"]
    env, off, snap = db.execute(
        "select r.envelope, r.snapshot_offset, s.body from reports r "
        "join snapshots s on s.hash = r.snapshot_hash where r.report_id = ?", (rid,)).fetchone()
    rebuilt = bytes(env[:off]) + bytes(snap) + bytes(env[off:])
    assert rebuilt == posted, "r%d differs" % n
PY

# 4. A bad envelope around a known snapshot: the same 400, naming the field.
variant "$T/kb.json" "$T/bad.json" 6 'seq="six"'
[ "$(post_report "$T/bad.json" "$H")" = 400 ] || fail "bad envelope not refused: $(cat "$T/last-body")"
grep -q '"field":"seq"' "$T/last-body" || fail "400 does not name seq: $(cat "$T/last-body")"
variant "$T/kb.json" "$T/other.json" 7 'host={"fqdn":"rras02.corp.contoso.com","hostname":"RRAS02"}'
[ "$(post_report "$T/other.json" "$H")" = 403 ] || fail "a known snapshot for another host was taken: $(cat "$T/last-body")"
[ "$(col_db 'select count(*) from reports')" = 5 ] || fail "a refused report was stored"

# 5. Just over the document limit (4 MiB) with a larger max_body_bytes, around a known snapshot:
#    the same 400 as the full decode gives, not a failure to store.
col_stop
col_start --max-body-bytes 8388608
[ "$(post_report "$T/r1.json" "$H")" = 200 ] || fail "r1 again after a restart: $(cat "$T/last-body")"
variant "$T/kb.json" "$T/big.json" 8 'pad="PAD"'
# 4 KiB over the limit: without its snapshot the envelope alone would be under it.
/usr/bin/python3 -c 'import sys; p = sys.argv[1]; t = open(p).read(); n = 4194304 + 4096 - len(t) + 3; open(p, "w").write(t.replace("\"PAD\"", "\"" + "x" * n + "\""))' "$T/big.json"
[ "$(post_report "$T/big.json" "$H")" = 400 ] || fail "oversize document not 400: $(head -c 300 "$T/last-body")"
grep -q 'at most' "$T/last-body" || fail "400 does not say the limit: $(head -c 300 "$T/last-body")"
[ "$(col_db 'select count(*) from reports')" = 5 ] || fail "an oversize report was stored"

# 6. The same shortcut on one kept-alive connection, whose third and later reports the event
#    thread serves (decision 008): a snapshot it does not know (k22) is decoded there in full; a
#    known snapshot whose host has moved on (k23, k24) goes back to the writer after the full
#    decode, from the event thread.
variant "$T/kb.json" "$T/k20.json" 20
variant "$T/kb.json" "$T/k21.json" 21
variant "$T/single.json" "$T/k22.json" 22
variant "$T/kb.json" "$T/k23.json" 23
variant "$T/single.json" "$T/k24.json" 24
admin_get "$viewer" /metrics >/dev/null
event_before=$(sed -n 's/^rrasfleet_http_requests_total{thread="event"} //p' "$T/last-body")
before=$(paths)
set --
for n in 20 21 22 23 24; do
    [ $# -eq 0 ] || set -- "$@" --next
    set -- "$@" --cacert "$T/pki/ca.crt" --cert "$T/pki/$H.crt" --key "$T/pki/$H.key" \
        -H 'Content-Type: application/json' --data-binary "@$T/k$n.json" -o /dev/null \
        -w '%{http_code} %{num_connects}\n' "https://localhost:$AGENT_PORT/v1/reports"
done
statuses=$(curl -s "$@" | tr '\n' ' ')
[ "$statuses" = "202 1 202 0 202 0 202 0 202 0 " ] || fail "kept-alive reports (status, new connections): $statuses"
admin_get "$viewer" /metrics >/dev/null
event_after=$(sed -n 's/^rrasfleet_http_requests_total{thread="event"} //p' "$T/last-body")
[ $((event_after - event_before)) -eq 3 ] || fail "the event thread answered $((event_after - event_before)) of the 3 reports after the second"
# r1's repeat after the restart put kb's snapshot in the cache: k20 and k21 are known, k22 is
# decoded, k23 and k24 are known to the cache but not the host's latest state: decoded in full.
after=$(paths)
[ "$(( ${after%/*} - ${before%/*} ))/$(( ${after#*/} - ${before#*/} ))" = 3/2 ] || fail "decoded/known went from $before to $after, expected +3/+2"
[ "$(col_db 'select last_seq from hosts')" = 24 ] || fail "the latest state is not k24's"
[ "$(cert_count)" = 1 ] || fail "the latest snapshot is not k24's"

col_stop
echo "known snapshots: ok"
