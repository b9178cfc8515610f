#!/bin/sh
# `rrasfleet-agent apply`: a signed profile (made by `rrasfleet-collector profile build`) on a
# copy of a capture bundle, driven through the real binaries. Exit codes (0 applied or planned,
# 3 refused, 4 rolled back, 2 usage), the --json document, the bundle files byte-identical after
# a dry run, a refusal and a rollback, changed after an apply so that `check` no longer reports
# the L2TP findings, no replay, the next key accepted, and a crash mid-apply
# (RRASFLEET_SIM_CRASH_AFTER_STEP) undone from the journal by the next start.
set -eu
agent="$RRAS_BIN_DIR/agent/rrasfleet-agent"
col="$RRAS_BIN_DIR/collector/rrasfleet-collector"
fixtures="$RRAS_FIXTURES_DIR/bundles"
ca="DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset RRASFLEET_SIM_FAIL_STEP RRASFLEET_SIM_CRASH_AFTER_STEP || true

mkdir "$tmp/a" "$tmp/b"
"$col" keys init --dir "$tmp/a" >/dev/null 2>&1 || fail "keys init a"
"$col" keys init --dir "$tmp/b" >/dev/null 2>&1 || fail "keys init b"

fresh() { rm -rf "$tmp/host"; cp -r "$fixtures/kb-787-wildcard-first" "$tmp/host"; }
same() { diff -r "$fixtures/kb-787-wildcard-first" "$tmp/host" >/dev/null || fail "$1: the bundle changed"; }
build() { # build SERIAL KEYDIR OUT
    "$col" profile build --bundle "$fixtures/kb-787-wildcard-first" --expected-ca "$ca" \
        --server-address 131.107.0.2 --key "$2/profile-signing.key" --serial "$1" --mode apply \
        --expires-in 72h -o "$3" >/dev/null 2>&1 || fail "profile build serial $1"
}
run() { # run EXPECTED-EXIT ARGS...: runs apply --json, keeps stdout in $tmp/out
    want=$1
    shift
    set +e
    "$agent" apply --bundle "$tmp/host" --expected-ca "$ca" --json "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    set -e
    [ "$got" = "$want" ] || fail "apply $*: exit $got, expected $want: $(cat "$tmp/out" "$tmp/err")"
}
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$tmp/out" "$1"; }
json_ok() {
    python3 - "$tmp/out" <<'EOF' || fail "--json document: $(cat "$tmp/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"profile_id", "serial", "outcome", "reason", "steps", "findings_before",
                  "findings_after"}, sorted(d)
assert d["outcome"] in ("applied", "planned", "refused", "rolled_back")
for s in d["steps"]:
    assert set(s) == {"action", "before", "after", "status"}, s
assert all(isinstance(i, str) for i in d["findings_before"] + d["findings_after"])
EOF
}
pub_a="$tmp/a/profile-signing.pub"
pub_b="$tmp/b/profile-signing.pub"
build 1 "$tmp/a" "$tmp/p1.json"
build 2 "$tmp/a" "$tmp/p2.json"
build 3 "$tmp/a" "$tmp/p3.json"
build 4 "$tmp/a" "$tmp/p4.json"
build 5 "$tmp/b" "$tmp/p5-next.json"

# 1. Usage errors: exit 2, nothing changed.
fresh
run 2 --profile "$tmp/p1.json"
run 2 --profile "$tmp/p1.json" --trust "$pub_a" --mode apply
run 2 --profile "$tmp/p1.json" --trust "$pub_a" --mode off
run 2 --profile "$tmp/missing.json" --trust "$pub_a"
same "usage"

# 2. Dry run (the default): planned, the what-if clears the L2TP findings, nothing changes.
run 0 --profile "$tmp/p1.json" --trust "$pub_a"
json_ok
[ "$(field outcome)" = planned ] || fail "dry run: outcome $(field outcome)"
grep -q L2TP_CERT_WILDCARD "$tmp/out" || fail "dry run: no findings before"
[ "$(field findings_after)" = "[]" ] || fail "dry run: what-if leaves $(field findings_after)"
same "dry run"

# 3. Refused: signed by a key this host does not trust.
run 3 --profile "$tmp/p1.json" --trust "$pub_b" --mode apply --state-dir "$tmp/state"
json_ok
[ "$(field outcome)" = refused ] || fail "untrusted key: outcome $(field outcome)"
field reason | grep -q "unknown signing key" || fail "untrusted key: reason $(field reason)"
same "untrusted key"

# 4. Rolled back: the second change fails; the first is undone.
RRASFLEET_SIM_FAIL_STEP=2 run 4 --profile "$tmp/p1.json" --trust "$pub_a" --mode apply \
    --state-dir "$tmp/state"
json_ok
[ "$(field outcome)" = rolled_back ] || fail "injected failure: outcome $(field outcome)"
grep -q '"status":"undone"' "$tmp/out" || fail "injected failure: no undone step"
grep -q '"status":"failed"' "$tmp/out" || fail "injected failure: no failed step"
same "rollback"

# 5. Applied: the bundle changes and `check` no longer reports the L2TP findings.
run 0 --profile "$tmp/p2.json" --trust "$pub_a" --mode apply --state-dir "$tmp/state"
json_ok
[ "$(field outcome)" = applied ] || fail "apply: outcome $(field outcome): $(field reason)"
grep -q "ProhibitIpSec    REG_DWORD    0x1" "$tmp/host/reg-rasman.txt" || fail "apply: no ProhibitIpSec"
grep -q "^Rule Name: *rrasfleet L2TP" "$tmp/host/netsh-consec.txt" || fail "apply: no rule"
"$agent" check --bundle "$tmp/host" --expected-ca "$ca" --json >"$tmp/check" ||
    fail "check after apply: exit $?"
if grep -q 'L2TP_CERT_\|MANUAL_' "$tmp/check"; then fail "check after apply still reports L2TP findings"; fi

# 6. No replay: serial 2 again, and the lower serial 1, are refused and change nothing more.
cp -r "$tmp/host" "$tmp/applied"
run 3 --profile "$tmp/p2.json" --trust "$pub_a" --mode apply --state-dir "$tmp/state"
field reason | grep -q "not greater than the last one" || fail "replay: reason $(field reason)"
run 3 --profile "$tmp/p1.json" --trust "$pub_a" --mode apply --state-dir "$tmp/state"
diff -r "$tmp/applied" "$tmp/host" >/dev/null || fail "replay changed the bundle"

# 7. A crash after the second change; the next start undoes it from the journal.
fresh
rm -rf "$tmp/state2"
set +e
RRASFLEET_SIM_CRASH_AFTER_STEP=2 "$agent" apply --bundle "$tmp/host" --profile "$tmp/p3.json" \
    --trust "$pub_a" --mode apply --state-dir "$tmp/state2" >/dev/null 2>&1
got=$?
set -e
[ "$got" = 75 ] || fail "crash hook: exit $got, expected 75"
[ -f "$tmp/state2/apply-journal.json" ] || fail "crash: no journal left"
if diff -r "$fixtures/kb-787-wildcard-first" "$tmp/host" >/dev/null; then fail "crash: nothing was changed"; fi
run 0 --profile "$tmp/p4.json" --trust "$pub_a" --state-dir "$tmp/state2"
grep -q "recovered an interrupted apply" "$tmp/err" || fail "recovery not reported: $(cat "$tmp/err")"
[ ! -f "$tmp/state2/apply-journal.json" ] || fail "recovery left the journal"
same "crash recovery"

# 8. The next key: accepted when configured as --trust-next, refused when it is not.
run 0 --profile "$tmp/p5-next.json" --trust "$pub_a" --trust-next "$pub_b"
[ "$(field outcome)" = planned ] || fail "next key: outcome $(field outcome)"
run 3 --profile "$tmp/p5-next.json" --trust "$pub_a"
same "next key"
echo "test_agent_apply: ok"
