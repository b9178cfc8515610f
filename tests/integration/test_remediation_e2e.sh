#!/bin/sh
# Remediation end to end (issue 12, "Tests"): a real collector with a signing key, one agent on a
# COPY of an at-risk bundle with remediation_mode=apply. rrasfleetctl creates and assigns a
# profile; the agent's next run gets pending_profile with its report's acknowledgement, fetches
# and applies the profile to the simulated host and sends the result; the run after reports the
# host fixed, so `hosts --severity high` no longer lists it and the profile is `applied`.
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
col_setup
fqdn=rras01.corp.contoso.com
pki_client "$T/pki" "$fqdn" >/dev/null
"$COLLECTOR" keys init --dir "$T/keys" >/dev/null || fail "keys init"
mkdir -p "$T/bundle"
cp -R "$RRAS_FIXTURES_DIR/bundles/kb-787-wildcard-first/." "$T/bundle/"
cp "$T/bundle/reg-rasman.txt" "$T/reg-before.txt"
cp "$T/bundle/netsh-consec.txt" "$T/consec-before.txt"

col_start --profile-signing-key "$T/keys/profile-signing.key"
operator=$(col_token operator ops)
approver=$(col_token approver boss)
ctl() { "$CTL" --url "https://localhost:$ADMIN_PORT" --cacert "$T/pki/ca.crt" "$@"; }

cat >"$T/agent.conf" <<CONF
source = $T/bundle
collector_url = https://localhost:$AGENT_PORT
ca_file = $T/pki/ca.crt
client_cert = $T/pki/$fqdn.crt
client_key = $T/pki/$fqdn.key
spool_dir = $T/spool
drain_rate_per_s = 0
expected_ca = CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com
remediation_mode = apply
profile_trust_key = $T/keys/profile-signing.pub
state_dir = $T/state
CONF
agent_once() { "$AGENT" run --once --config "$T/agent.conf" 2>>"$T/agent.log"; }

# 1. The at-risk host reports; no profile yet, nothing changes.
agent_once || fail "first run: $(tail -n 5 "$T/agent.log")"
ctl --token "$operator" hosts --severity high >"$T/hosts1.txt" || fail "hosts"
grep -q "$fqdn" "$T/hosts1.txt" || fail "the at-risk host is not listed as high"

# 2. A profile for it, assigned.
ctl --token "$operator" --json profile create --for "$fqdn" --server-address 131.107.0.2 \
    >"$T/created.json" || fail "profile create: $(cat "$T/created.json")"
pid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["profile"]["profile_id"])' "$T/created.json")
ctl --token "$operator" profile assign "$pid" >/dev/null 2>&1 &&
    fail "an operator could assign (approver required)"
ctl --token "$approver" profile assign "$pid" >/dev/null || fail "profile assign"

# 3. The next run: report -> pending_profile -> fetch -> apply -> result.
agent_once || fail "remediation run: $(tail -n 8 "$T/agent.log")"
grep -q "remediate profile_id=$pid .*outcome=applied" "$T/agent.log" ||
    fail "no applied remediation in the log: $(tail -n 8 "$T/agent.log")"
grep -q "result-send seq=1 .*result=ack" "$T/agent.log" || fail "the result was not acknowledged"
cmp -s "$T/reg-before.txt" "$T/bundle/reg-rasman.txt" && fail "reg-rasman.txt did not change"
cmp -s "$T/consec-before.txt" "$T/bundle/netsh-consec.txt" && fail "netsh-consec.txt did not change"
[ -z "$(ls "$T/state/results-spool" | grep '\.rec$' || true)" ] || fail "a result is still spooled"

# 4. The run after reports the host fixed; the profile is applied and its result stored.
agent_once || fail "third run"
grep -c "profile-fetch" "$T/agent.log" | grep -qx 1 || fail "the profile was fetched more than once"
ctl --token "$operator" hosts --severity high >"$T/hosts2.txt" || fail "hosts after"
grep -q "$fqdn" "$T/hosts2.txt" && fail "the host is still listed as high: $(cat "$T/hosts2.txt")"
ctl --token "$operator" --json profile show "$pid" >"$T/shown.json" || fail "profile show"
/usr/bin/python3 - "$T/shown.json" <<'PY' || fail "profile state/result: $(cat "$T/shown.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["profile"]["state"] == "applied", d["profile"]["state"]
assert len(d["results"]) == 1 and d["results"][0]["outcome"] == "applied", d["results"]
assert d["results"][0]["findings_after"] == [] or all(
    not f.startswith(("L2TP_CERT_", "MANUAL_")) for f in d["results"][0]["findings_after"])
PY
ctl --token "$operator" profile list --host "$fqdn" --state applied | grep -q "$pid" ||
    fail "profile list --state applied does not show it"
ctl --token "$operator" host "$fqdn" >"$T/host.txt" || fail "host"
grep -q "PROFILE_RESULTS (1)" "$T/host.txt" || fail "host shows no profile results: $(cat "$T/host.txt")"
echo "ok"
