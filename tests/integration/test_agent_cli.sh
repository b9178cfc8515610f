#!/bin/sh
# The agent's offline CLI end to end: exit codes, the KB example's findings in text and JSON,
# and `collect` output for every fixture bundle validated against the report schema.
set -eu
agent="$RRAS_BIN_DIR/agent/rrasfleet-agent"
bundles="$RRAS_FIXTURES_DIR/bundles"
ca="CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com"
now=2026-11-25T00:00:00Z
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# KB 2855053 scenario: exit 1, the three findings, the wildcard predicted.
rc=0; "$agent" check --bundle "$bundles/kb-787-wildcard-first" --expected-ca "$ca" --now "$now" \
    >"$tmp/kb.txt" || rc=$?
[ "$rc" = 1 ] || fail "KB bundle: exit $rc, expected 1"
for id in L2TP_CERT_AMBIGUOUS L2TP_CERT_WILDCARD L2TP_CERT_WRONG_CA; do
    grep -q "] $id\$" "$tmp/kb.txt" || fail "KB bundle: $id missing"
done
grep -q '^Predicted L2TP certificate: \*\.contoso\.com' "$tmp/kb.txt" || fail "KB: wildcard not predicted"

rc=0; "$agent" check --json --bundle "$bundles/kb-787-wildcard-first" --expected-ca "$ca" \
    --now "$now" >"$tmp/kb.json" || rc=$?
[ "$rc" = 1 ] || fail "KB bundle --json: exit $rc"
/usr/bin/python3 - "$tmp/kb.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for key in ("host", "certs", "l2tp", "findings"):
    assert key in doc, key
pred = doc["l2tp"]["predicted"]
wild = [c for c in doc["certs"] if c["wildcard"]][0]
assert pred["sha1"] == wild["sha1"], (pred, wild["sha1"])
assert len(doc["l2tp"]["eligible"]) == 2
ids = sorted(f["id"] for f in doc["findings"])
assert ids == ["L2TP_CERT_AMBIGUOUS", "L2TP_CERT_WILDCARD", "L2TP_CERT_WRONG_CA"], ids
for f in doc["findings"]:
    assert set(f) >= {"id", "severity", "message", "certs", "rules"}, f
PY

# A healthy server: exit 0.
"$agent" check --bundle "$bundles/resolution1-single-cert" --expected-ca "$ca" --now "$now" \
    >/dev/null || fail "resolution1 bundle should exit 0"

# Bad input and usage: exit 2 with a message.
for args in "check" "check --bundle /nonexistent" "check --bundle $bundles/kb-787-wildcard-first --now yesterday" \
    "check --bundle $bundles/kb-787-wildcard-first --expected-ca CN" "check --bogus" "frobnicate" \
    "check --bundle $bundles/kb-787-wildcard-first --expiry-days -1"; do
    rc=0
    # shellcheck disable=SC2086
    "$agent" $args >/dev/null 2>"$tmp/err" || rc=$?
    [ "$rc" = 2 ] || fail "'$args': exit $rc, expected 2"
    [ -s "$tmp/err" ] || fail "'$args': no error message"
done

# collect: every bundle's report validates against the schema; no secret leaks.
valid=""
for dir in "$bundles"/*/; do
    name=$(basename "$dir")
    "$agent" collect --bundle "$dir" --now "$now" >"$tmp/$name.json" || fail "collect $name"
    valid="$valid $tmp/$name.json"
done
! grep -l 'S3cr3t-Do-Not-Leak' $valid || fail "a pre-shared key leaked into a report"
# shellcheck disable=SC2086
/usr/bin/python3 "$RRAS_SOURCE_DIR/tests/schema/validate.py" \
    "$RRAS_SOURCE_DIR/schema/json/report.schema.json" --valid $valid >/dev/null
echo "agent CLI: ok ($(echo $valid | wc -w) reports validated)"
