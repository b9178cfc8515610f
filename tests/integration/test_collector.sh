#!/bin/sh
# The collector end to end over real mutual TLS and SQLite: identity binding, validation,
# limits, duplicates, tokens and roles, the query API and rrasfleetctl.
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
col_setup
for h in rras01.corp.contoso.com rras02.corp.contoso.com rras03.corp.contoso.com; do
    pki_client "$T/pki" "$h" >/dev/null
done
col_start
viewer=$(col_token viewer dash)
approver=$(col_token approver admin)

# 1. No client certificate: the handshake is refused, nothing reaches HTTP.
rc=0; curl -s -o /dev/null --cacert "$T/pki/ca.crt" -H 'Content-Type: application/json' \
    --data '{}' "https://localhost:$AGENT_PORT/v1/reports" || rc=$?
[ "$rc" != 0 ] || fail "a client without a certificate was served"
# A certificate from another CA is refused too.
rc=0; curl -s -o /dev/null --cacert "$T/pki/ca.crt" --cert "$T/pki/rogue.crt" \
    --key "$T/pki/rogue.key" --data '{}' "https://localhost:$AGENT_PORT/v1/reports" || rc=$?
[ "$rc" != 0 ] || fail "a client certificate from another CA was served"

# 2. A good report is accepted with 202; the same report_id again is 200 duplicate.
make_report kb-787-wildcard-first rras01.corp.contoso.com "$T/r1.json"
[ "$(post_report "$T/r1.json" rras01.corp.contoso.com)" = 202 ] || fail "report not accepted: $(cat "$T/last-body")"
grep -q '"duplicate":false' "$T/last-body" || fail "first report marked duplicate"
[ "$(post_report "$T/r1.json" rras01.corp.contoso.com)" = 200 ] || fail "duplicate not 200"
grep -q '"duplicate":true' "$T/last-body" || fail "duplicate not flagged"

# 3. Host A's certificate posting host B: 403 and nothing stored for B.
make_report resolution1-single-cert rras02.corp.contoso.com "$T/r2.json"
[ "$(post_report "$T/r2.json" rras03.corp.contoso.com)" = 403 ] || fail "cross-host report not 403"
grep -q '"field":"host.fqdn"' "$T/last-body" || fail "403 does not name host.fqdn"
[ "$(admin_get "$viewer" /v1/hosts/rras02.corp.contoso.com)" = 404 ] || fail "cross-host data stored"
# A wildcard certificate is never an identity.
[ "$(post_report "$T/r1.json" wildcard)" = 403 ] || fail "wildcard certificate accepted"

# 4. Malformed input: 400 naming the field; wrong type; bad JSON; unsupported media type.
/usr/bin/python3 - "$T/r2.json" "$T/bad-sha1.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1])); doc["snapshot"]["certs"][0]["sha1"] = "XYZ"
json.dump(doc, open(sys.argv[2], "w"))
PY
[ "$(post_report "$T/bad-sha1.json" rras02.corp.contoso.com)" = 400 ] || fail "bad sha1 not 400"
grep -q '"field":"snapshot.certs\[0\].sha1"' "$T/last-body" || fail "400 does not name the field: $(cat "$T/last-body")"
printf '{"schema": "rrasfleet.report/1", ' >"$T/broken.json"
[ "$(post_report "$T/broken.json" rras02.corp.contoso.com)" = 400 ] || fail "broken JSON not 400"
grep -q '"error":{' "$T/last-body" || fail "no JSON error body"
code=$(curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/rras02.corp.contoso.com.crt" --key "$T/pki/rras02.corp.contoso.com.key" \
    -H 'Content-Type: text/plain' --data-binary "@$T/r2.json" "https://localhost:$AGENT_PORT/v1/reports")
[ "$code" = 415 ] || fail "text/plain not 415 (got $code)"

# 5. Oversize body: 413 before the body is read.
head -c 5000000 /dev/zero | tr '\0' ' ' >"$T/big.json"
[ "$(post_report "$T/big.json" rras02.corp.contoso.com)" = 413 ] || fail "oversize not 413"
# Chunked upload: 411.
code=$(curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/rras02.corp.contoso.com.crt" --key "$T/pki/rras02.corp.contoso.com.key" \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "@$T/r2.json" \
    "https://localhost:$AGENT_PORT/v1/reports")
[ "$code" = 411 ] || fail "chunked upload not 411 (got $code)"

# The good report of host 2 goes in.
[ "$(post_report "$T/r2.json" rras02.corp.contoso.com)" = 202 ] || fail "host 2 report refused"

# 6. Tokens and roles: none 401, bad 401, viewer may read but not make tokens (403).
[ "$(admin_get "" /v1/hosts)" = 401 ] || fail "no token not 401"
[ "$(admin_get rft_000000000000_0000000000000000000000000000000000000000 /v1/hosts)" = 401 ] || fail "bad token not 401"
code=$(curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    -H "Authorization: Bearer $viewer" -H 'Content-Type: application/json' \
    --data '{"role":"viewer","name":"x"}' "https://localhost:$ADMIN_PORT/v1/tokens")
[ "$code" = 403 ] || fail "viewer made a token (got $code)"
[ "$(admin_get "$viewer" /v1/fleet/summary)" = 200 ] || fail "summary not 200"
# Agent endpoints do not exist on the admin listener, nor admin ones on the agent listener.
[ "$(admin_get "$viewer" /v1/reports)" = 404 ] || fail "agent endpoint on the admin listener"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/rras01.corp.contoso.com.crt" --key "$T/pki/rras01.corp.contoso.com.key" \
    "https://localhost:$AGENT_PORT/v1/hosts")
[ "$code" = 404 ] || fail "admin endpoint on the agent listener (got $code)"
# Wrong method: 405 with Allow.
code=$(curl -s -o /dev/null -D "$T/headers" -w '%{http_code}' -X DELETE --cacert "$T/pki/ca.crt" \
    -H "Authorization: Bearer $viewer" "https://localhost:$ADMIN_PORT/v1/hosts")
[ "$code" = 405 ] || fail "DELETE /v1/hosts not 405 (got $code)"
grep -qi '^Allow: GET' "$T/headers" || fail "405 without Allow"

# 7. Queries: the KB host is at risk with its three findings; filters compose; CSV export.
[ "$(admin_get "$viewer" '/v1/hosts?finding=L2TP_CERT_WILDCARD')" = 200 ] || fail "hosts query"
/usr/bin/python3 - "$T/last-body" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["total"] == 1, doc
assert doc["items"][0]["fqdn"] == "rras01.corp.contoso.com", doc
PY
[ "$(admin_get "$viewer" '/v1/hosts?severity=high&name=rras02*')" = 200 ] || fail "composed query"
grep -q '"total":0' "$T/last-body" || fail "rras02 should have no high finding: $(cat "$T/last-body")"
[ "$(admin_get "$viewer" '/v1/hosts?sort=fqdn;DROP%20TABLE%20hosts')" = 400 ] || fail "bad sort not 400"
[ "$(admin_get "$viewer" '/v1/certs?format=csv')" = 200 ] || fail "certs csv"
head -n 1 "$T/last-body" | grep -q '^fqdn,sha1,' || fail "CSV header: $(head -n 1 "$T/last-body")"
[ "$(admin_get "$viewer" /v1/hosts/rras01.corp.contoso.com)" = 200 ] || fail "host detail"
grep -q 'L2TP_CERT_WRONG_CA' "$T/last-body" || fail "host detail lacks the findings"

# rrasfleetctl over the API, with the URL and token from the environment.
export RRASFLEET_URL="https://localhost:$ADMIN_PORT" RRASFLEET_TOKEN="$viewer" RRASFLEET_CACERT="$T/pki/ca.crt"
"$CTL" summary >"$T/ctl.txt" || fail "rrasfleetctl summary"
"$CTL" hosts --severity high >"$T/ctl.txt" || fail "rrasfleetctl hosts"
grep -q 'rras01.corp.contoso.com' "$T/ctl.txt" || fail "ctl hosts lacks rras01"
"$CTL" hosts --csv >"$T/ctl.csv" || fail "rrasfleetctl hosts --csv"
head -n 1 "$T/ctl.csv" | grep -q '^fqdn,' || fail "ctl CSV header"
"$CTL" host rras01.corp.contoso.com --json >/dev/null || fail "rrasfleetctl host"
rc=0; "$CTL" host nosuch.example.com >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "ctl host for an unknown host: exit $rc"
rc=0; RRASFLEET_TOKEN="$approver" "$CTL" token create --role viewer --name ci >/dev/null || rc=$?
[ "$rc" = 0 ] || fail "approver could not create a token with rrasfleetctl"
rc=0; "$CTL" token create --role viewer --name ci2 >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "viewer token create: exit $rc, expected 1"

# 8. Metrics and health.
[ "$(admin_get "$viewer" /metrics)" = 200 ] || fail "metrics"
grep -q '^rrasfleet_reports_accepted_total' "$T/last-body" || fail "metrics lacks reports_accepted: $(head -c 600 "$T/last-body")"

col_stop
# After a clean stop the data is all there: 2 hosts, 2 reports (the duplicate added none).
/usr/bin/python3 - "$T/fleet.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
reports = db.execute("select count(*) from reports").fetchone()[0]
hosts = db.execute("select count(*) from hosts").fetchone()[0]
assert reports == 2 and hosts == 2, (reports, hosts)
PY
echo "collector integration: ok"
