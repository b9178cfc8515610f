#!/bin/sh
# test_wine_deliver: the Windows agent delivers to the real collector over mutual TLS under Wine,
# its client certificate and RSA key taken from LocalMachine\My (issue 13, "Tests under Wine").
# With a PKI made at test time (pki.sh: EC test CA, EC collector certificate for localhost,
# rogue CA; here also an RSA-2048 agent certificate whose SAN is the agent's fqdn_override):
#   0. rrasfleet-seed.exe --pfx puts the agent's certificate and key into LocalMachine\My;
#      --list must show it with its key association, and the PFX's CA certificate not at all.
#   1. `wine rrasfleet-agent.exe run --once` against the collector (client_ca = the test CA)
#      exits 0; the collector stored that report_id once, for that host (rrasfleetctl), and its
#      log names the TLS peer identity: the client certificate's SAN.
#   2. Nothing listening: the report stays spooled (exit 1, one record). The collector back on
#      that port: the next run delivers it exactly once and empties the spool.
#   3. A collector whose certificate comes from the rogue CA: curl 60, exit 1, the report stays
#      spooled and that collector stores nothing.
#   4. The spool folder's ACL (SYSTEM and Administrators only): checked where Wine can show it,
#      which Wine 8 cannot (icacls is a dummy; see tests/windows/README.md): the test says so.
#
# Environment as test_wine_collect.sh: RRAS_WIN_BUILD_DIR (default
# $RRAS_SOURCE_DIR/build-win/build); no Wine or no Windows build: exit 77 (ctest SKIP) unless
# RRAS_REQUIRE_WINE=1. RRAS_WINEPREFIX names a booted prefix to use: its LocalMachine\My and
# RasMan/SstpSvc keys are emptied (rrasfleet-seed.exe --clear) at the start and at the end, which
# also deletes the key container --pfx made. Otherwise a prefix is booted under the temp dir.
set -eu
: "${RRAS_BIN_DIR:?set by ctest}" "${RRAS_SOURCE_DIR:?set by ctest}"
: "${RRAS_FIXTURES_DIR:=$RRAS_SOURCE_DIR/tests/fixtures}"
win_build=${RRAS_WIN_BUILD_DIR:-$RRAS_SOURCE_DIR/build-win/build}
fqdn=rras-wine01.corp.contoso.com
bundle="$RRAS_FIXTURES_DIR/bundles/kb-787-wildcard-first"
pfx_password=wine-test-only


# shellcheck source=tests/integration/wine_lib.sh disable=SC1091
. "$RRAS_SOURCE_DIR/tests/integration/wine_lib.sh"
wine_require_tools
win_agent="$win_build/agent/rrasfleet-agent.exe"
seed="$win_build/tests/windows/rrasfleet-seed.exe"
[ -f "$win_agent" ] || skip "no $win_agent (scripts/build-windows.sh builds it)"
[ -f "$seed" ] || skip "no $seed (the Windows build with tests builds it)"

# fail(), col_start/col_stop/col_token and $T (removed on exit) come from here.
# shellcheck source=tests/integration/collector_lib.sh disable=SC1091
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
[ -x "$COLLECTOR" ] || fail "no collector at $COLLECTOR"
start=$(ms)
col_setup

seeded=
cleanup() {
    # Leave a shared prefix as found: --clear removes the certificate and the key container.
    if [ -n "$seeded" ] && [ -z "$own_prefix" ]; then
        wine "$seed" --clear >>"$T/wine.log" 2>&1 ||
            echo "WARNING: rrasfleet-seed.exe --clear failed: $WINEPREFIX keeps the test's" \
                "certificate" >&2
    fi
    wine_prefix_down
    col_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

wine_prefix_up 60

# The agent's RSA-2048 certificate (Wine 8 imports no EC key from a PFX) from the test CA, as
# a PFX that also holds the CA certificate; the collector's certificate from the rogue CA.
pki="$T/pki"
openssl req -x509 -new -config /dev/null -newkey rsa:2048 -nodes -keyout "$pki/agent.key" \
    -out "$pki/agent.crt" -subj "/CN=$fqdn" -days 2 -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -addext "subjectAltName=DNS:$fqdn" -addext extendedKeyUsage=clientAuth \
    -addext basicConstraints=critical,CA:FALSE \
    -addext keyUsage=critical,digitalSignature,keyEncipherment 2>"$T/openssl.err" ||
    fail "openssl: agent certificate: $(cat "$T/openssl.err")"
openssl pkcs12 -export -in "$pki/agent.crt" -inkey "$pki/agent.key" -certfile "$pki/ca.crt" \
    -passout "pass:$pfx_password" -out "$pki/agent.p12" 2>"$T/openssl.err" ||
    fail "openssl pkcs12: $(cat "$T/openssl.err")"
openssl req -x509 -new -config /dev/null -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$pki/rogue-server.key" -out "$pki/rogue-server.crt" -subj /CN=localhost -days 2 \
    -CA "$pki/rogue-ca.crt" -CAkey "$pki/rogue-ca.key" -addext subjectAltName=DNS:localhost \
    -addext extendedKeyUsage=serverAuth -addext basicConstraints=critical,CA:FALSE \
    -addext keyUsage=critical,digitalSignature 2>"$T/openssl.err" ||
    fail "openssl: rogue server certificate: $(cat "$T/openssl.err")"
agent_sha1=$(openssl x509 -in "$pki/agent.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
ca_sha1=$(openssl x509 -in "$pki/ca.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')

# wine_run NAME PROGRAM ARGS...: stdout to $T/NAME.out, stderr to $T/NAME.err; Wine's status.
wine_run() {
    _name=$1
    shift
    wine "$@" >"$T/$_name.out" 2>"$T/$_name.err"
}
# db_count DB SQL: the first column of the first row.
db_count() {
    /usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
        "$1" "$2"
}
spooled() { find "$1" -maxdepth 1 -name '*.rec' 2>/dev/null | wc -l; }

# 0. Seed: empty store, then the PFX; a second process must see exactly the agent's certificate
#    with its key association.
t0=$(ms)
seeded=1
wine_run seed "$seed" --clear --pfx "Z:$pki/agent.p12" --pfx-password "$pfx_password" ||
    fail "rrasfleet-seed.exe --clear --pfx exited $?: $(cat "$T/seed.err")"
grep -q "^imported $agent_sha1 " "$T/seed.out" || fail "seed did not import $agent_sha1: $(cat "$T/seed.out")"
wine_run list "$seed" --list || fail "rrasfleet-seed.exe --list: $(cat "$T/list.err")"
# (Windows programs end their lines with CR LF.)
[ "$(tr -d '\r' <"$T/list.out")" = "0 $agent_sha1 key" ] ||
    fail "LocalMachine\\My should hold $agent_sha1 with its key only (not the CA $ca_sha1): $(cat "$T/list.out")"
seed_ms=$(($(ms) - t0))

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# agent_conf NAME [KEY=VALUE ...]: the Windows agent's settings, in Windows paths (Z: is /).
agent_conf() {
    _name=$1
    shift
    cat >"$T/$_name.conf" <<CONF
source = bundle:Z:$bundle
fqdn_override = $fqdn
collector_url = https://localhost:$port
ca_file = Z:$pki/ca.crt
spool_dir = Z:$T/spool-$_name
drain_rate_per_s = 0
connect_timeout_ms = 3000
log_level = debug
CONF
    for kv in "$@"; do echo "$kv" >>"$T/$_name.conf"; done
}
# agent_once NAME: one `run --once` with NAME's settings; its log is appended to $T/NAME.log,
# this run's alone is in $T/NAME.last. Returns the agent's exit status.
agent_once() {
    _rc=0
    wine "$win_agent" run --once --config "Z:$T/$1.conf" >"$T/$1.last" 2>&1 || _rc=$?
    cat "$T/$1.last" >>"$T/$1.log"
    return "$_rc"
}
report_id_of() { sed -n 's/.* info collect seq=[0-9]* report_id=\([0-9a-f-]*\) .*/\1/p' "$1"; }
stored() { db_count "$T/fleet.db" "select count(*) from reports where report_id = '$1'"; }
host_reports() {
    db_count "$T/fleet.db" "select count(*) from reports r join hosts h on h.id = r.host_id where h.fqdn = '$fqdn'"
}

# 1. Mutual TLS with the certificate from the store: delivered, stored once, for this host.
t1=$(ms)
col_start --listen "127.0.0.1:$port" --log-level debug
agent_conf direct
rc=0
agent_once direct || rc=$?
[ "$rc" = 0 ] || fail "run --once against the collector exited $rc: $(cat "$T/direct.last")"
id1=$(report_id_of "$T/direct.last")
[ -n "$id1" ] || fail "no report_id in the agent's log: $(cat "$T/direct.last")"
grep -q "result=ack .*report_id=$id1" "$T/direct.last" || fail "report $id1 not acknowledged"
[ "$(stored "$id1")" = 1 ] || fail "report $id1 stored $(stored "$id1") times, expected once"
[ "$(spooled "$T/spool-direct")" = 0 ] || fail "the spool keeps a delivered report"
# The collector admits a report only for the host its client certificate names (SAN dNSName);
# its handshake log says whose certificate it was: the one seeded, the only one with that SAN.
grep -q "agent handshake ok.*, identity '$fqdn'" "$T/collector.log" ||
    fail "the collector's log names no TLS peer '$fqdn': $(grep handshake "$T/collector.log" | tail -n 3)"
viewer=$(col_token viewer wine-deliver) || fail "token create"
"$CTL" --url "https://localhost:$ADMIN_PORT" --cacert "$pki/ca.crt" --token "$viewer" \
    host "$fqdn" --json >"$T/host.json" 2>"$T/host.err" || fail "rrasfleetctl host $fqdn: $(cat "$T/host.err")"
/usr/bin/python3 - "$T/host.json" "$fqdn" "$id1" <<'PY' || fail "rrasfleetctl host: see above"
import json, sys
doc, fqdn, report_id = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
host = doc["host"]
assert host.get("fqdn") == fqdn, ("fqdn", host.get("fqdn"), fqdn)
assert host.get("last_report_id") == report_id, ("last_report_id", host.get("last_report_id"))
PY
direct_ms=$(($(ms) - t1))

# 2. Spool under Wine: nothing listening on the port -> spooled (exit 1, one record); the
#    collector back -> that report delivered exactly once, the spool empty.
t2=$(ms)
col_stop
agent_conf outage
rc=0
agent_once outage || rc=$?
[ "$rc" = 1 ] || fail "run --once with the collector down exited $rc, expected 1: $(cat "$T/outage.last")"
[ "$(spooled "$T/spool-outage")" = 1 ] || fail "expected one spooled record, found $(spooled "$T/spool-outage")"
id2=$(report_id_of "$T/outage.last")
[ -n "$id2" ] || fail "no report_id in the outage run's log"
grep -q 'result=retry curl=7 ' "$T/outage.last" || fail "expected curl 7 (no listener): $(cat "$T/outage.last")"
[ "$(stored "$id2")" = 0 ] || fail "a report got through while nothing listened"

# 4. (here, while the spool folder exists) Its ACL, as far as Wine lets anyone see it.
spool_win="Z:$T/spool-outage"
wine_run icacls icacls "$spool_win" || true
if [ -s "$T/icacls.out" ]; then
    # An icacls that prints: SYSTEM and Administrators must be there, and no one else.
    tr -d '\r' <"$T/icacls.out" | sed "s|^$spool_win||" >"$T/icacls.txt"
    if ! grep -qi 'SYSTEM' "$T/icacls.txt" || ! grep -qi 'Administrators' "$T/icacls.txt"; then
        fail "spool ACL lacks SYSTEM or Administrators: $(cat "$T/icacls.txt")"
    fi
    if grep ':(' "$T/icacls.txt" | grep -v -i -e 'SYSTEM' -e 'Administrators' >"$T/icacls.others"; then
        fail "spool ACL grants others: $(cat "$T/icacls.others")"
    fi
    acl_note="spool ACL: SYSTEM and Administrators only (icacls)"
else
    # Wine 8's icacls is a dummy (it prints nothing), and Wine keeps no security descriptor
    # for a file: GetNamedSecurityInfoW returns one made up from the Unix mode (SYSTEM, the
    # user, Everyone read) for the spool folder as for any other, so the DACL the agent set
    # cannot be read back by any means.
    acl_note="spool ACL: not observable under Wine (icacls is a dummy), not checked"
fi

before=$(host_reports)
col_start --listen "127.0.0.1:$port" --log-level debug
rc=0
agent_once outage || rc=$?
[ "$rc" = 0 ] || fail "run --once after recovery exited $rc: $(cat "$T/outage.last")"
[ "$(spooled "$T/spool-outage")" = 0 ] || fail "the spool is not empty after recovery"
[ "$(stored "$id2")" = 1 ] || fail "the spooled report $id2 stored $(stored "$id2") times, expected once"
[ "$(grep -c "result=ack .*report_id=$id2" "$T/outage.log")" = 1 ] ||
    fail "report $id2 should be acknowledged once: $(cat "$T/outage.log")"
id3=$(report_id_of "$T/outage.last")
[ "$(stored "$id3")" = 1 ] || fail "the recovery run's own report $id3 was not stored once"
[ "$(host_reports)" = $((before + 2)) ] || fail "expected 2 more reports for $fqdn, got $(($(host_reports) - before))"
spool_ms=$(($(ms) - t2))

# 3. A collector whose certificate comes from the rogue CA (client_ca still the test CA, so the
#    agent's certificate would be admitted): the agent refuses it; the report stays spooled.
t3=$(ms)
col_stop
col_start --listen "127.0.0.1:$port" --log-level debug --tls-cert "$pki/rogue-server.crt" \
    --tls-key "$pki/rogue-server.key" --db "$T/rogue.db"
agent_conf rogue
rc=0
agent_once rogue || rc=$?
[ "$rc" = 1 ] || fail "the agent trusted a collector certificate from the rogue CA (exit $rc)"
grep -q 'result=retry curl=60 ' "$T/rogue.last" ||
    fail "expected curl 60 (certificate not trusted): $(cat "$T/rogue.last")"
[ "$(spooled "$T/spool-rogue")" = 1 ] || fail "the refused report is not spooled"
[ "$(db_count "$T/rogue.db" 'select count(*) from reports')" = 0 ] || fail "the rogue collector stored a report"
id4=$(report_id_of "$T/rogue.last")
[ "$(stored "$id4")" = 0 ] || fail "the refused report is in the real collector's database"
col_stop
rogue_ms=$(($(ms) - t3))

echo "$acl_note"
echo "wine deliver: prefix ready in ${boot_ms} ms; seed ${seed_ms} ms; direct ${direct_ms} ms;" \
    "outage + recovery ${spool_ms} ms; rogue collector ${rogue_ms} ms; total $(($(ms) - start)) ms"
echo "wine deliver: ok"
