#!/bin/sh
# test_wine_remediate: a signed profile applied to the live Windows host under Wine, with the
# registry and the service control manager for real and netsh replayed (decision 015): Wine's
# netsh.exe is a stub that prints nothing, so tests/windows/rrasfleet-apply-replay.exe runs the
# shipped `apply` code with a replay runner whose rules live in a listing file.
#
#   (a) applied: ProhibitIpSec=1 is in the registry and the next live collection
#       (`rrasfleet-agent.exe collect`) reports prohibit_ipsec 1; the rule is added, the rule
#       pinned to the wrong CA removed, RemoteAccess (a dummy service) restarted once.
#   (b) netsh fails the rule add: rolled back, ProhibitIpSec absent again (and, once more, its
#       previous 0 restored), the rules as they were, no restart.
#   (c) RemoteAccess not installed: the restart fails with that reason; the registry and the
#       rules are rolled back, the removed rule re-created with every field it had.
#   (d) the host's main mode is not the profile's: the rule is the profile's in every field the
#       rule owns, so the apply succeeds; the main mode stays the host's (decision 018).
#   (e) the shipped rrasfleet-agent.exe with Wine's real netsh (exit 0, nothing printed): the
#       rule's state is "unavailable", never "absent"; the apply fails before any change.
#
# The service: Wine has no RRAS, so the test registers tests/windows/rrasfleet-test-service.exe
# as "RemoteAccess" (`sc create`), a do-nothing service that logs its starts and stops; the
# agent's restart then goes through OpenServiceW / ControlService / StartServiceW for real.
#
# Environment as test_wine_collect.sh: RRAS_WIN_BUILD_DIR (default build-win/build),
# RRAS_WINEPREFIX (a prefix to use: its LocalMachine\My, RasMan keys and RemoteAccess service
# are overwritten; default a new one under the temp dir), exit 77 (ctest SKIP) without Wine,
# the Windows build or the Linux collector, unless RRAS_REQUIRE_WINE=1.
set -eu
: "${RRAS_BIN_DIR:?set by ctest}" "${RRAS_SOURCE_DIR:?set by ctest}"
: "${RRAS_FIXTURES_DIR:=$RRAS_SOURCE_DIR/tests/fixtures}"
col="$RRAS_BIN_DIR/collector/rrasfleet-collector"
win_build=${RRAS_WIN_BUILD_DIR:-$RRAS_SOURCE_DIR/build-win/build}
ca="DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
rasman='HKLM\System\CurrentControlSet\Services\RasMan\Parameters'

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# shellcheck source=tests/integration/wine_lib.sh disable=SC1091
. "$RRAS_SOURCE_DIR/tests/integration/wine_lib.sh"
for tool in wine wineboot wineserver python3 openssl; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
win_agent="$win_build/agent/rrasfleet-agent.exe"
seed="$win_build/tests/windows/rrasfleet-seed.exe"
replay="$win_build/tests/windows/rrasfleet-apply-replay.exe"
service="$win_build/tests/windows/rrasfleet-test-service.exe"
for f in "$win_agent" "$seed" "$replay" "$service"; do
    [ -f "$f" ] || skip "no $f (scripts/build-windows.sh builds it with the tests)"
done
[ -x "$col" ] || skip "no Linux collector at $col (it signs the profiles)"

T=$(mktemp -d)
cleanup() {
    if [ -z "$own_prefix" ]; then
        # A shared prefix keeps no dummy RemoteAccess behind (deleted once it has stopped).
        wine sc stop RemoteAccess >>"$T/wine.log" 2>&1 || true
        wine sc delete RemoteAccess >>"$T/wine.log" 2>&1 || true
    fi
    wine_prefix_down
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start=$(ms)
wine_prefix_up 60

# wine_run OUT ERR PROGRAM ARGS...
wine_run() {
    _out=$1 _err=$2
    shift 2
    wine "$@" >"$_out" 2>"$_err"
}
z() { echo "Z:$1"; }

# ---- the host: certificates and registry of kb-787-wildcard-first, the rule of
# manual-rule-wrong-ca (pinned to a public CA), named as Wine's host names itself ----
wine_run "$T/c0.json" "$T/c0.err" "$win_agent" collect || fail "collect: $(cat "$T/c0.err")"
fqdn=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host"]["fqdn"].lower())' \
    "$T/c0.json")
[ -n "$fqdn" ] || fail "the live host has no FQDN"
mkdir "$T/host"
cp -r "$RRAS_FIXTURES_DIR/bundles/kb-787-wildcard-first/." "$T/host/"
cp "$RRAS_FIXTURES_DIR/bundles/manual-rule-wrong-ca/netsh-consec.txt" "$T/host/"
sed "s/^FQDN: .*/FQDN: $fqdn/" "$RRAS_FIXTURES_DIR/bundles/kb-787-wildcard-first/host.txt" \
    >"$T/host/host.txt"

mkdir "$T/keys"
"$col" keys init --dir "$T/keys" >/dev/null 2>&1 || fail "keys init"
"$col" profile build --bundle "$T/host" --expected-ca "$ca" --server-address 131.107.0.2 \
    --key "$T/keys/profile-signing.key" --serial 1 --mode apply --expires-in 72h \
    -o "$T/p1.json" >"$T/build.out" 2>&1 || fail "profile build: $(cat "$T/build.out")"

# resign IN OUT SERIAL ORDER: the same profile with another serial and its actions in ORDER
# (indexes), signed again with the test key (ES256 over the exact payload bytes).
resign() {
    python3 - "$1" "$2" "$T/keys/profile-signing.key" "$3" "$4" <<'EOF' || fail "resign $2"
import base64, json, subprocess, sys
src, dst, key, serial, order = sys.argv[1:6]
env = json.load(open(src))
p = json.loads(base64.b64decode(env["payload"]))
p["serial"] = int(serial)
p["actions"] = [p["actions"][int(i)] for i in order.split(",")]
payload = json.dumps(p, separators=(",", ":")).encode()
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=payload, check=True,
                     capture_output=True).stdout
env["payload"] = base64.b64encode(payload).decode()
env["sig"] = base64.b64encode(sig).decode()
json.dump(env, open(dst, "w"))
EOF
}
# p1: as built (rule, removal, ProhibitIpSec, restart). p2/p3: the registry first, so that a
# failure at netsh has a registry change to undo. p4: as built again. p5: as built.
actions=$(python3 -c 'import base64,json,sys; print(len(json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))["actions"]))' "$T/p1.json")
[ "$actions" = 4 ] || fail "the profile has $actions actions, expected 4: $(cat "$T/build.out")"
grep -q 'action 3: registry_dword_set .*ProhibitIpSec = 1' "$T/build.out" ||
    fail "unexpected profile: $(cat "$T/build.out")"
resign "$T/p1.json" "$T/p2.json" 2 2,0,1,3
resign "$T/p1.json" "$T/p3.json" 3 2,0,1,3
resign "$T/p1.json" "$T/p4.json" 4 0,1,2,3
resign "$T/p1.json" "$T/p5.json" 5 0,1,2,3
resign "$T/p1.json" "$T/p6.json" 6 0,1,2,3

# The host's main mode is global: every rule prints it. The host here already has the profile's
# (the rule's own main mode cannot be set by `consec add rule`; case (d) shows the other host).
mm=$(python3 -c 'import base64,json,sys; p=json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"])); print(",".join(p["actions"][0]["rule"]["main_mode_sec_methods"]))' "$T/p1.json")
sed "s/^\(MainModeSecMethods: *\).*/\1$mm/" "$T/host/netsh-consec.txt" | tr -d '\r' >"$T/rules.orig"

# rule_set FILE: the rule blocks of a listing, order-free, one line per block.
rule_set() {
    python3 - "$1" <<'EOF'
import sys
blocks, cur = [], []
for line in open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines():
    line = line.rstrip()
    if line.startswith("Rule Name:"):
        if cur:
            blocks.append(cur)
        cur = [line]
    elif line in ("", "Ok.") or line.startswith("No rules match"):
        if cur:
            blocks.append(cur)
        cur = []
    elif cur:
        cur.append(line)
if cur:
    blocks.append(cur)
for b in sorted(blocks):
    print(" | ".join(b))
EOF
}
rule_set "$T/rules.orig" >"$T/rules.orig.set"

fresh_host() { # the seeded store and registry, the original rules, a fresh state folder
    wine_run "$T/seed.out" "$T/seed.err" "$seed" --clear --bundle "$(z "$T/host")" ||
        fail "rrasfleet-seed.exe: $(cat "$T/seed.err")"
    cp "$T/rules.orig" "$T/rules.txt"
}
# apply_replay EXPECTED-EXIT NAME PROFILE [replay options...]: runs the apply, keeps its
# --json result in $T/NAME.json.
apply_replay() {
    want=$1 name=$2 profile=$3
    shift 3
    set +e
    wine "$replay" --replay "$(z "$T/rules.txt")" --replay-log "$(z "$T/$name.netsh")" "$@" -- \
        --profile "$(z "$profile")" --trust "$(z "$T/keys/profile-signing.pub")" --mode apply \
        --state-dir "$(z "$T/state")" --expected-ca "$ca" --json >"$T/$name.json" 2>"$T/$name.err"
    got=$?
    set -e
    [ "$got" = "$want" ] ||
        fail "$name: exit $got, expected $want: $(cat "$T/$name.json" "$T/$name.err")"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/$1.json" "$2"; }
prohibit() { # the value the live collection reports
    wine_run "$T/collect.json" "$T/collect.err" "$win_agent" collect ||
        fail "collect: $(cat "$T/collect.err")"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot"]["ipsec"]["prohibit_ipsec"])' \
        "$T/collect.json"
}
reg_prohibit() { # "absent" or the reg.exe data
    if wine_run "$T/reg.out" "$T/reg.err" reg query "$rasman" /v ProhibitIpSec; then
        awk '/ProhibitIpSec/ {print $3}' "$T/reg.out" | tr -d '\r'
    else
        echo absent
    fi
}
restarts() { grep -c '^start' "$T/svc.log" 2>/dev/null || true; }
same_rules() { # the rules are the original ones, every field of every rule
    rule_set "$T/rules.txt" >"$T/rules.now.set"
    diff "$T/rules.orig.set" "$T/rules.now.set" >"$T/rules.diff" ||
        fail "$1: the rules are not as they were: $(cat "$T/rules.diff")"
}

# service_gone: no RemoteAccess (one a previous run left is stopped, then deleted; a running
# service is only marked for deletion, so each state is awaited, within 10 s).
service_gone() {
    i=0
    while wine sc query RemoteAccess >"$T/sc.q" 2>&1; do
        if grep -q 'STOPPED' "$T/sc.q"; then
            wine sc delete RemoteAccess >>"$T/wine.log" 2>&1 || true
        elif ! grep -q 'PENDING' "$T/sc.q"; then
            wine sc stop RemoteAccess >>"$T/wine.log" 2>&1 || true
        fi
        i=$((i + 1))
        [ "$i" -lt 100 ] || fail "RemoteAccess cannot be removed: $(cat "$T/sc.q")"
        sleep 0.1
    done
}

# The dummy RemoteAccess, running.
service_gone
wine_run "$T/sc.out" "$T/sc.err" sc create RemoteAccess binPath= "$(z "$service") $(z "$T/svc.log") 300" ||
    fail "sc create: $(cat "$T/sc.out" "$T/sc.err")"
# sc start returns while the service is START_PENDING; the agent's restart waits for RUNNING
# before it stops it, so nothing here has to wait.
wine_run "$T/sc.out" "$T/sc.err" sc start RemoteAccess || fail "sc start: $(cat "$T/sc.out" "$T/sc.err")"
setup_ms=$(($(ms) - start - boot_ms))

# ---- (a) applied ----
t0=$(ms)
fresh_host
[ "$(reg_prohibit)" = absent ] || fail "(a) ProhibitIpSec present before the apply"
[ "$(prohibit)" = None ] || fail "(a) collect before: prohibit_ipsec $(prohibit)"
apply_replay 0 a "$T/p1.json"
[ "$(field a outcome)" = applied ] || fail "(a) outcome $(field a outcome): $(field a reason)"
[ "$(reg_prohibit)" = 0x1 ] || fail "(a) reg query: ProhibitIpSec $(reg_prohibit)"
[ "$(prohibit)" = 1 ] || fail "(a) the next collection reports prohibit_ipsec $(prohibit)"
[ "$(restarts)" = 2 ] || fail "(a) RemoteAccess started $(restarts) times, expected 2: $(cat "$T/svc.log")"
grep -q '^stop' "$T/svc.log" || fail "(a) RemoteAccess was never stopped"
grep -q '^Rule Name: *rrasfleet L2TP/IPsec (computer certificate)$' "$T/rules.txt" ||
    fail "(a) the rule was not added: $(cat "$T/rules.txt")"
if grep -q '^Rule Name: *L2TP Manual Rule$' "$T/rules.txt"; then fail "(a) the wrong-CA rule is still there"; fi
grep -q "^advfirewall consec add rule name=rrasfleet L2TP/IPsec (computer certificate) .* auth1ca=$ca certmapping:no excludecaname:no catype:root " \
    "$T/a.netsh" || fail "(a) no add rule with auth1ca: $(cat "$T/a.netsh")"
a_ms=$(($(ms) - t0))

# ---- (b) netsh fails the rule add: the registry change is undone ----
t0=$(ms)
fresh_host
n0=$(restarts)
apply_replay 4 b "$T/p2.json" --replay-fail add:1
[ "$(field b outcome)" = rolled_back ] || fail "(b) outcome $(field b outcome)"
field b reason | grep -q 'step 2 (ipsec_rule_ensure) failed: netsh advfirewall consec add rule exited 1' ||
    fail "(b) reason: $(field b reason)"
field b reason | grep -q 'the earlier steps were undone' || fail "(b) reason: $(field b reason)"
[ "$(reg_prohibit)" = absent ] || fail "(b) ProhibitIpSec is $(reg_prohibit) after the rollback"
[ "$(prohibit)" = None ] || fail "(b) collect after the rollback: prohibit_ipsec $(prohibit)"
[ "$(restarts)" = "$n0" ] || fail "(b) RemoteAccess was restarted"
same_rules "(b)"
# Once more with a previous value: 0 comes back, not "absent".
fresh_host
wine_run "$T/reg.out" "$T/reg.err" reg add "$rasman" /v ProhibitIpSec /t REG_DWORD /d 0 /f ||
    fail "reg add: $(cat "$T/reg.err")"
apply_replay 4 b0 "$T/p3.json" --replay-fail add:1
[ "$(reg_prohibit)" = 0x0 ] || fail "(b) ProhibitIpSec is $(reg_prohibit), expected its previous 0x0"
same_rules "(b, previous 0)"
b_ms=$(($(ms) - t0))

# ---- (d) the host's main mode is not the profile's: not compared (decision 018) ----
# (before (c), which removes the dummy RemoteAccess)
t0=$(ms)
fresh_host
tr -d '\r' <"$T/host/netsh-consec.txt" >"$T/rules.txt"
cp "$T/rules.txt" "$T/rules.orig"
rule_set "$T/rules.orig" >"$T/rules.orig.set"
apply_replay 0 d "$T/p4.json"
[ "$(field d outcome)" = applied ] || fail "(d) outcome $(field d outcome): $(field d reason)"
[ "$(reg_prohibit)" = 0x1 ] || fail "(d) ProhibitIpSec is $(reg_prohibit)"
grep -q 'rrasfleet L2TP/IPsec (computer certificate)' "$T/rules.txt" ||
    fail "(d) the profile's rule is not in place"
d_ms=$(($(ms) - t0))

# ---- (c) RemoteAccess is not installed: the restart fails, everything is rolled back ----
t0=$(ms)
fresh_host
service_gone
apply_replay 4 c "$T/p5.json"
[ "$(field c outcome)" = rolled_back ] || fail "(c) outcome $(field c outcome)"
field c reason | grep -q 'step 4 (service_restart) failed: the service RemoteAccess is not installed on this host' ||
    fail "(c) reason: $(field c reason)"
[ "$(reg_prohibit)" = absent ] || fail "(c) ProhibitIpSec is $(reg_prohibit) after the rollback"
# The removed rule came back through `consec add rule` with every field it had.
same_rules "(c)"
grep -q '^advfirewall consec add rule name=L2TP Manual Rule ' "$T/c.netsh" ||
    fail "(c) the removed rule was not re-created: $(cat "$T/c.netsh")"
c_ms=$(($(ms) - t0))

# ---- (e) the shipped agent with Wine's own netsh (a stub): unavailable, never "no rule" ----
t0=$(ms)
fresh_host
set +e
wine "$win_agent" apply --profile "$(z "$T/p6.json")" --trust "$(z "$T/keys/profile-signing.pub")" \
    --mode apply --state-dir "$(z "$T/state")" --expected-ca "$ca" --json >"$T/e.json" 2>"$T/e.err"
got=$?
set -e
[ "$got" = 4 ] || fail "(e) exit $got, expected 4: $(cat "$T/e.json" "$T/e.err")"
field e reason | grep -q 'step 1 (ipsec_rule_ensure) failed: netsh show rule printed nothing (exit 0): netsh is unavailable here (source unavailable)' ||
    fail "(e) reason: $(field e reason)"
[ "$(reg_prohibit)" = absent ] || fail "(e) ProhibitIpSec is $(reg_prohibit)"
e_ms=$(($(ms) - t0))

echo "wine remediate: prefix ${boot_ms} ms, host and service set up ${setup_ms} ms;" \
    "(a) ${a_ms} ms, (b) ${b_ms} ms, (c) ${c_ms} ms, (d) ${d_ms} ms, (e) ${e_ms} ms;" \
    "total $(($(ms) - start)) ms"
echo "wine remediate: ok"
