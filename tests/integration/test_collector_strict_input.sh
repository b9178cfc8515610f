#!/bin/sh
# Issue 17, defects 6 and 7 end to end: every query parameter of every admin route is decoded,
# known and within its cap or the request is a 400 naming it; report and API bodies must be
# RFC 8259 JSON with one value per member name, no \u0000 and valid UTF-8 (400 naming the
# member, nothing stored).
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
col_setup
pki_client "$T/pki" rras01.corp.contoso.com >/dev/null
col_start
viewer=$(col_token viewer dash)
approver=$(col_token approver admin)

# expect_field FIELD WHAT: the last answer was a JSON error naming FIELD ("" for none).
expect_field() {
    grep -q '"error":{' "$T/last-body" || fail "$2: no JSON error body: $(cat "$T/last-body")"
    if [ -n "$1" ]; then
        grep -qF "\"field\":\"$1\"" "$T/last-body" || fail "$2: does not name $1: $(cat "$T/last-body")"
    else
        grep -q '"field"' "$T/last-body" && fail "$2: names a field: $(cat "$T/last-body")"
    fi
    return 0
}

make_report kb-787-wildcard-first rras01.corp.contoso.com "$T/good.json"
[ "$(post_report "$T/good.json" rras01.corp.contoso.com)" = 202 ] || fail "good report: $(cat "$T/last-body")"

# 1. Query parameters: undecodable, invalid UTF-8 once decoded, too long, unknown, repeated.
long=$(/usr/bin/python3 -c 'print("a" * 1500)')
for route in /v1/fleet/summary /v1/hosts /v1/certs /v1/hosts/rras01.corp.contoso.com \
    /v1/profiles /v1/profiles/0f8fad5b-d9cb-469f-a165-70867728950e /v1/tokens /metrics /healthz; do
    tok=$approver
    for q in 'severity=%ZZ severity' 'name=%C3%28 name' 'issuer=%E2%82 issuer' \
        "finding=$long finding" 'bogus=1 bogus' 'limit=%4 limit' 'severity=high&severity=low severity' \
        '%ZZ=1 %ZZ' 'host=a%00b host'; do
        param=${q%% *}; field=${q##* }
        code=$(admin_get "$tok" "$route?$param")
        [ "$code" = 400 ] || fail "$route?$param: $code, not 400: $(cat "$T/last-body")"
        expect_field "$field" "$route?$param"
    done
done
# The whole fleet is never the answer to a filter that could not be read.
[ "$(admin_get "$viewer" '/v1/hosts?severity=%ZZ')" = 400 ] || fail "severity=%ZZ not 400"
grep -q '"items"' "$T/last-body" && fail "severity=%ZZ listed hosts"
# A known parameter with a value it does not take is refused too, not read as the default.
for route in /v1/hosts /v1/certs; do
    [ "$(admin_get "$viewer" "$route?format=xml")" = 400 ] || fail "$route?format=xml not 400"
    expect_field format "$route?format=xml"
done
# Known and well-formed parameters still work, on every list.
[ "$(admin_get "$viewer" '/v1/hosts?severity=high&name=rras01%2A&limit=5&offset=0&order=desc&sort=fqdn&format=json')" = 200 ] \
    || fail "good hosts query: $(cat "$T/last-body")"
grep -q '"total":1' "$T/last-body" || fail "good hosts query total: $(cat "$T/last-body")"
[ "$(admin_get "$viewer" '/v1/certs?issuer=corp-DC1-CA&expiring_within_days=30&last_seen_before=2099-01-01T00:00:00Z')" = 200 ] \
    || fail "good certs query: $(cat "$T/last-body")"
[ "$(admin_get "$viewer" '/v1/hosts?name=Z%C3%BCrich')" = 200 ] || fail "UTF-8 name: $(cat "$T/last-body")"

# 2. Report bodies: the 14 RFC 8259 violations, a repeated member, \u0000, invalid UTF-8.
/usr/bin/python3 - "$T/good.json" "$T" <<'PY'
import json, sys
good = json.load(open(sys.argv[1]))
good["report_id"] = "0f8fad5b-d9cb-469f-a165-70867728950e"
text = json.dumps(good, separators=(",", ":"))
key = '"hostname":'
assert text.count(key) == 1
host_at = text.index(key)
end = text.index(",", host_at)  # hostname's value ends at the next comma (no comma in it)
cases = [
    ("01", "host.hostname"), ("-01", "host.hostname"), ("2.", "host.hostname"),
    ("-2.", "host.hostname"), (".5", "host.hostname"), ("-.5", "host.hostname"),
    ('"two\nlines"', "host.hostname"), ('"a\tb"', "host.hostname"), ('"a\x01b"', "host.hostname"),
    ('"\\u00G1"', "host.hostname"), ('"\\uD800"', "host.hostname"), ('"\\uDC00x"', "host.hostname"),
    ('\f"X"', "host.hostname"),
    ('"a\\u0000b"', "host.hostname"), ('"\udcff"', "host.hostname"),
    ('"X","fqdn":"rras02.corp.contoso.com"', "host.fqdn"),
]
n = 0
for value, field in cases:
    body = text[:host_at] + key + value + text[end:]
    open("%s/bad%02d.json" % (sys.argv[2], n), "wb").write(body.encode("utf-8", "surrogateescape"))
    open("%s/bad%02d.field" % (sys.argv[2], n), "w").write(field)
    n += 1
open("%s/bad%02d.json" % (sys.argv[2], n), "wb").write(b"\x0c" + text.encode())
open("%s/bad%02d.field" % (sys.argv[2], n), "w").write("")
PY
for f in "$T"/bad*.json; do
    code=$(post_report "$f" rras01.corp.contoso.com)
    [ "$code" = 400 ] || fail "$(basename "$f") acknowledged with $code: $(cat "$T/last-body")"
    expect_field "$(cat "${f%.json}.field")" "$(basename "$f")"
done
[ "$(col_db 'SELECT count(*) FROM reports')" = 1 ] || fail "a refused report was stored"

# 3. API request bodies (tokens, profiles) are held to the same rules.
admin_post() {
    curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
        -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        --data-binary "$3" "https://localhost:$ADMIN_PORT$2"
}
[ "$(admin_post "$approver" /v1/tokens '{"role":"viewer","name":"a","name":"b"}')" = 400 ] \
    || fail "token body with a repeated name: $(cat "$T/last-body")"
expect_field name "repeated token name"
[ "$(admin_post "$approver" /v1/tokens '{"role":"viewer","name":"a\u0000b"}')" = 400 ] \
    || fail "token name with \\u0000: $(cat "$T/last-body")"
expect_field name "token name with NUL"
[ "$(admin_post "$approver" /v1/tokens '{"role":"viewer","name":"x","n":01}')" = 400 ] \
    || fail "token body with 01: $(cat "$T/last-body")"
expect_field n "token body number"
[ "$(admin_post "$approver" /v1/tokens '{"role":"viewer","name":"ok"}')" = 201 ] \
    || fail "good token body: $(cat "$T/last-body")"
echo ok
