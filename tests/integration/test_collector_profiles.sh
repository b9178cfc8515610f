#!/bin/sh
# Remediation online (docs/remediation.md "Online"): a profile built by the collector from a
# host's latest report, the states and roles, the envelope served only to its host (and opening
# with the public key), pending_profile in the 202, results stored once per result_id, the audit
# rows; the what-if refusal (422) and a collector without a signing key (503).
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
col_setup
A=rras01.corp.contoso.com
B=rras02.corp.contoso.com
C=rras03.corp.contoso.com
for h in $A $B $C; do
    pki_client "$T/pki" "$h" >/dev/null
done
"$COLLECTOR" keys init --dir "$T/keys" >/dev/null || fail "keys init"

# admin METHOD PATH TOKEN [JSON]: prints the status; body in $T/last-body.
admin() {
    if [ $# -ge 4 ]; then
        curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" -X "$1" \
            -H "Authorization: Bearer $3" -H 'Content-Type: application/json' --data "$4" \
            "https://localhost:$ADMIN_PORT$2"
    else
        curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" -X "$1" \
            -H "Authorization: Bearer $3" "https://localhost:$ADMIN_PORT$2"
    fi
}
# agent METHOD PATH CERTNAME [FILE]
agent() {
    if [ $# -ge 4 ]; then
        curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" -X "$1" \
            --cert "$T/pki/$3.crt" --key "$T/pki/$3.key" -H 'Content-Type: application/json' \
            --data-binary "@$4" "https://localhost:$AGENT_PORT$2"
    else
        curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" -X "$1" \
            --cert "$T/pki/$3.crt" --key "$T/pki/$3.key" "https://localhost:$AGENT_PORT$2"
    fi
}
# jq_py EXPR: evaluates EXPR on the JSON of $T/last-body (as `d`).
body() {
    /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$T/last-body" "$1"
}
# result_for PROFILE_ID SERIAL HOST RESULT_ID OUT
result_for() {
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
pid, serial, host, rid, out = sys.argv[1:6]
json.dump({"schema": "rrasfleet.result/1", "result_id": rid, "profile_id": pid,
           "serial": int(serial), "host": host, "outcome": "applied", "reason": "",
           "finished_at": "2026-01-01T00:00:00Z",
           "steps": [{"action": "registry_dword_set", "before": "0", "after": "1",
                      "status": "ok"}],
           "findings_before": ["L2TP_CERT_WILDCARD"], "findings_after": []}, open(out, "w"))
PY
}

# 1. Without profile_signing_key every profile endpoint answers 503.
col_start
operator=$(col_token operator ops)
approver=$(col_token approver boss)
viewer=$(col_token viewer dash)
make_report kb-787-wildcard-first $A "$T/a.json"
[ "$(post_report "$T/a.json" $A)" = 202 ] || fail "report not accepted: $(cat "$T/last-body")"
[ "$(admin POST /v1/profiles "$operator" "{\"host\":\"$A\"}")" = 503 ] ||
    fail "no signing key: not 503: $(cat "$T/last-body")"
[ "$(body 'd["error"]["code"]')" = remediation_disabled ] || fail "503 code"
col_stop

# 2. With the key: create (201), a second one (409), roles.
col_start --profile-signing-key "$T/keys/profile-signing.key"
[ "$(admin POST /v1/profiles "$viewer" "{\"host\":\"$A\"}")" = 403 ] || fail "viewer created"
[ "$(admin POST /v1/profiles "$operator" '{"host":"nowhere.example.org"}')" = 404 ] ||
    fail "unknown host not 404"
[ "$(admin POST /v1/profiles "$operator" "{\"host\":\"$A\",\"mode\":\"sideways\"}")" = 400 ] ||
    fail "bad mode not 400"
[ "$(body 'd["error"]["field"]')" = mode ] || fail "400 does not name mode"
[ "$(admin POST /v1/profiles "$operator" "{\"host\":\"$A\",\"expires_in_s\":5}")" = 400 ] ||
    fail "short expiry not 400"
st=$(admin POST /v1/profiles "$operator" "{\"host\":\"$A\",\"server_address\":\"10.0.0.5\"}")
[ "$st" = 201 ] || fail "create: $st $(cat "$T/last-body")"
P=$(body 'd["profile"]["profile_id"]')
[ "$(body 'd["profile"]["serial"]')" = 1 ] || fail "first serial is not 1"
[ "$(body 'd["profile"]["state"]')" = created ] || fail "new profile not created"
[ "$(body 'd["profile"]["created_by"]')" = token:ops ] || fail "created_by"
[ "$(body '"L2TP_CERT_WILDCARD" in d["findings_before"]')" = True ] || fail "findings_before"
[ "$(body 'len(d["findings_after"])')" = 0 ] || fail "findings_after not empty"
[ "$(admin POST /v1/profiles "$operator" "{\"host\":\"$A\"}")" = 409 ] || fail "second not 409"
[ "$(body 'd["error"]["code"]')" = profile_active ] || fail "409 code"

# Not offered before it is assigned.
[ "$(post_report "$T/a.json" $A)" = 200 ] || fail "duplicate report"
[ "$(body 'd.get("pending_profile")')" = None ] || fail "created profile already pending"
[ "$(agent GET "/v1/profiles/$P" $A)" = 404 ] || fail "created profile served"

# 3. Assign: approver only; then pending_profile in the next 202.
[ "$(admin POST "/v1/profiles/$P/assign" "$operator")" = 403 ] || fail "operator assigned"
[ "$(admin POST "/v1/profiles/$P/assign" "$approver")" = 200 ] || fail "assign"
[ "$(body 'd["profile"]["state"]')" = assigned ] || fail "not assigned"
[ "$(admin POST "/v1/profiles/$P/assign" "$approver")" = 409 ] || fail "assign twice not 409"
make_report kb-787-wildcard-first $A "$T/a2.json"
[ "$(post_report "$T/a2.json" $A)" = 202 ] || fail "second report"
[ "$(body 'd["pending_profile"]')" = "$P" ] || fail "no pending_profile: $(cat "$T/last-body")"
make_report resolution1-single-cert $B "$T/b.json"
[ "$(post_report "$T/b.json" $B)" = 202 ] || fail "report of B"
[ "$(body 'd.get("pending_profile")')" = None ] || fail "B told of A's profile"

# 4. The envelope: to its host only, exactly as signed, and it opens with the public key.
[ "$(agent GET "/v1/profiles/$P" $B)" = 404 ] || fail "another host got the envelope"
[ "$(agent GET /v1/profiles/00000000-0000-4000-8000-000000000000 $A)" = 404 ] || fail "unknown"
[ "$(agent GET "/v1/profiles/$P" $A)" = 200 ] || fail "host did not get its envelope"
cp "$T/last-body" "$T/envelope.json"
[ "$(body 'd["alg"]')" = ES256 ] || fail "not an envelope"
[ "$(admin GET "/v1/profiles/$P?envelope=1" "$viewer")" = 200 ] || fail "show"
/usr/bin/python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["envelope"]; b=open(sys.argv[2]).read(); sys.exit(a != b)' \
    "$T/last-body" "$T/envelope.json" || fail "show's envelope differs from the served one"
cp -r "$RRAS_FIXTURES_DIR/bundles/kb-787-wildcard-first" "$T/bundle"
chmod -R u+w "$T/bundle"
# The fixture's host is rras01 (host.txt), the profile's target.
rc=0
"$AGENT" apply --bundle "$T/bundle" --profile "$T/envelope.json" \
    --trust "$T/keys/profile-signing.pub" --mode dry-run --state-dir "$T/state" --json \
    >"$T/apply.json" 2>"$T/apply.err" || rc=$?
[ "$rc" = 0 ] || fail "the envelope does not open: rc=$rc $(cat "$T/apply.json" "$T/apply.err")"
/usr/bin/python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["outcome"] != "planned")' \
    "$T/apply.json" || fail "dry run not planned: $(cat "$T/apply.json")"

# 5. Results: 202, duplicate 200, another host's result_id 409, wrong host 403, foreign 404.
RID=5d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b
result_for "$P" 1 $A $RID "$T/res.json"
[ "$(agent POST /v1/results $B "$T/res.json")" = 403 ] || fail "result for another host not 403"
st=$(agent POST /v1/results $A "$T/res.json"); [ "$st" = 202 ] || fail "result: $st $(cat "$T/last-body") $(cat "$T/res.json")"
[ "$(body 'd["duplicate"]')" = False ] || fail "first result duplicate"
[ "$(agent POST /v1/results $A "$T/res.json")" = 200 ] || fail "resend not 200"
[ "$(body 'd["duplicate"]')" = True ] || fail "resend not duplicate"
result_for "$P" 1 $B $RID "$T/res-b.json"
[ "$(agent POST /v1/results $B "$T/res-b.json")" = 409 ] || fail "B reusing A's result_id not 409"
result_for "$P" 1 $B 6d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b "$T/res-b2.json"
[ "$(agent POST /v1/results $B "$T/res-b2.json")" = 404 ] || fail "B's result for A's profile"
echo '{"schema":"rrasfleet.result/1"}' >"$T/bad.json"
[ "$(agent POST /v1/results $A "$T/bad.json")" = 400 ] || fail "bad result not 400"

# 6. State, detail, list, audit.
[ "$(admin GET "/v1/profiles/$P" "$viewer")" = 200 ] || fail "show after result"
[ "$(body 'd["profile"]["state"]')" = applied ] || fail "state after result not applied"
[ "$(body 'd["results"][0]["result_id"]')" = $RID ] || fail "result not in show"
[ "$(body 'd["results"][0]["steps"][0]["status"]')" = ok ] || fail "steps not in show"
[ "$(body '"envelope" in d')" = False ] || fail "envelope shown unasked"
make_report kb-787-wildcard-first $A "$T/a3.json"
[ "$(post_report "$T/a3.json" $A)" = 202 ] || fail "third report"
[ "$(body 'd.get("pending_profile")')" = None ] || fail "still pending after the result"
[ "$(admin GET "/v1/hosts/$A" "$viewer")" = 200 ] || fail "host detail"
[ "$(body 'd["profiles"][0]["profile_id"]')" = "$P" ] || fail "host detail lacks the profile"
[ "$(body 'd["profiles"][0]["results"][0]["outcome"]')" = applied ] || fail "detail result"
[ "$(body '"findings" in d and "history" in d')" = True ] || fail "host detail lost members"
[ "$(admin GET "/v1/profiles?host=$A&state=applied" "$viewer")" = 200 ] || fail "list"
[ "$(body 'd["total"]')" = 1 ] || fail "list total: $(cat "$T/last-body")"
[ "$(admin GET "/v1/profiles?state=nonsense" "$viewer")" = 400 ] || fail "bad state not 400"
[ "$(admin GET "/v1/profiles?format=csv" "$viewer")" = 200 ] || fail "csv"
head -n 1 "$T/last-body" | grep -q '^profile_id,host,serial,mode,state,reason,created_at,created_by,assigned_at,expires,outcome,result_at' ||
    fail "csv header: $(head -n 1 "$T/last-body")"
[ "$(col_db "SELECT count(*) FROM audit WHERE target = '$P' AND action = 'profile.create' AND actor = 'token:ops'")" = 1 ] ||
    fail "no create audit row"
[ "$(col_db "SELECT count(*) FROM audit WHERE target = '$P' AND action = 'profile.assign' AND actor = 'token:boss'")" = 1 ] ||
    fail "no assign audit row"
[ "$(col_db "SELECT count(*) FROM audit WHERE target = '$P' AND action = 'profile.result' AND actor = 'agent:$A'")" = 1 ] ||
    fail "no result audit row"

# 7. Cancel, and the serial is never given again.
[ "$(admin POST "/v1/profiles/$P/cancel" "$operator")" = 409 ] || fail "cancel after result"
st=$(admin POST /v1/profiles "$operator" "{\"host\":\"$A\",\"mode\":\"dry_run\"}")
[ "$st" = 201 ] || fail "second profile: $st $(cat "$T/last-body")"
P2=$(body 'd["profile"]["profile_id"]')
[ "$(body 'd["profile"]["serial"]')" = 2 ] || fail "second serial not 2"
[ "$(admin POST "/v1/profiles/$P2/cancel" "$viewer")" = 403 ] || fail "viewer cancelled"
[ "$(admin POST "/v1/profiles/$P2/cancel" "$operator")" = 200 ] || fail "cancel"
[ "$(body 'd["profile"]["state"]')" = cancelled ] || fail "not cancelled"
[ "$(admin POST /v1/profiles "$operator" "{\"host\":\"$A\"}")" = 201 ] || fail "third profile"
[ "$(body 'd["profile"]["serial"]')" = 3 ] || fail "a cancelled serial was reused"

# 8. The what-if refuses: 422 with the findings that would remain.
make_report manual-rule-cert-no-key $C "$T/c.json"
[ "$(post_report "$T/c.json" $C)" = 202 ] || fail "report of C"
st=$(admin POST /v1/profiles "$operator" "{\"host\":\"$C\"}")
[ "$st" = 422 ] || fail "refused what-if not 422: $st $(cat "$T/last-body")"
[ "$(body 'd["error"]["code"]')" = whatif_refused ] || fail "422 code"
[ "$(body 'len(d["findings_after"]) > 0')" = True ] || fail "422 without findings_after"
[ "$(col_db "SELECT count(*) FROM profiles WHERE host = '$C'")" = 0 ] || fail "refused one stored"
col_stop

# 9. A bad key file stops the start, naming the setting.
echo "not a key" >"$T/bad.key"
rc=0
"$COLLECTOR" serve --config "$T/collector.conf" --profile-signing-key "$T/bad.key" \
    >/dev/null 2>"$T/bad-start.err" || rc=$?
[ "$rc" != 0 ] || fail "started with a bad signing key"
grep -q profile_signing_key "$T/bad-start.err" || fail "start error does not name the setting"
echo "ok"
