#!/bin/sh
# The fleet demo (README command 1): a collector and one simulated agent per example capture
# bundle (22 RRAS servers, each with its own client certificate) on loopback, over real mutual
# TLS into a real SQLite database; then the fleet's findings through rrasfleetctl.
#
# Idempotent: everything lives in a temporary folder that is removed at the end, and every
# process started here is stopped, also on Ctrl-C. Expects a build in $BUILD (default build/).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
collector="$BUILD/collector/rrasfleet-collector"
ctl="$BUILD/collector/rrasfleetctl"
agent="$BUILD/agent/rrasfleet-agent"
bundles="$top/tests/fixtures/bundles"
expected_ca="CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com"

work=$(mktemp -d /tmp/rrasfleet-demo.XXXXXX)
col_pid=
cleanup() {
    [ -n "$col_pid" ] && kill "$col_pid" 2>/dev/null && wait "$col_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
echo "== 1. A throwaway PKI (CA, collector certificate, one client certificate per server)"
. "$top/tests/integration/pki.sh"
pki_make "$work/pki" >/dev/null
hosts=""
for dir in "$bundles"/*/; do
    fqdn=$(sed -n 's/^FQDN: *//p' "$dir/host.txt" | tr -d '\r')
    [ -n "$fqdn" ] || continue
    pki_client "$work/pki" "$fqdn" >/dev/null
    hosts="$hosts $(basename "$dir"):$fqdn"
done
echo "   $(echo $hosts | wc -w) client certificates"

echo "== 2. The collector (agents on one port with mutual TLS, admin API on another)"
cat >"$work/collector.conf" <<CONF
listen = 127.0.0.1:0
admin_listen = 127.0.0.1:0
tls_cert = $work/pki/server.crt
tls_key = $work/pki/server.key
client_ca = $work/pki/ca.crt
db = $work/fleet.db
expected_ca = $expected_ca
log_level = warn
CONF
"$collector" serve --config "$work/collector.conf" >"$work/collector.out" 2>"$work/collector.log" &
col_pid=$!
i=0
until grep -q '^listening ' "$work/collector.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 "$col_pid" 2>/dev/null; then
        cat "$work/collector.log" >&2
        echo "demo: the collector did not start" >&2
        exit 1
    fi
    sleep 0.05
done
agent_port=$(sed -n 's/^listening agent=\([0-9]*\) .*/\1/p' "$work/collector.out")
admin_port=$(sed -n 's/^listening agent=[0-9]* admin=\([0-9]*\)/\1/p' "$work/collector.out")
token=$("$collector" token create --db "$work/fleet.db" --role viewer --name demo 2>/dev/null)
echo "   agents: https://localhost:$agent_port   admin: https://localhost:$admin_port"

echo "== 3. One agent per RRAS server: collect, diagnose, spool, send (all at once)"
pids=""
for pair in $hosts; do
    name=${pair%%:*}
    fqdn=${pair#*:}
    cat >"$work/$name.conf" <<CONF
source = $bundles/$name
collector_url = https://localhost:$agent_port
ca_file = $work/pki/ca.crt
client_cert = $work/pki/$fqdn.crt
client_key = $work/pki/$fqdn.key
spool_dir = $work/spool-$name
expected_ca = $expected_ca
log_level = warn
CONF
    "$agent" run --once --config "$work/$name.conf" >"$work/$name.log" 2>&1 &
    pids="$pids $!"
done
failed=0
for pid in $pids; do
    wait "$pid" || failed=$((failed + 1))
done
sent=$(echo $pids | wc -w)
echo "   $sent agents ran, $failed left reports spooled"

export RRASFLEET_URL="https://localhost:$admin_port" RRASFLEET_TOKEN="$token" \
    RRASFLEET_CACERT="$work/pki/ca.crt"
echo
echo "== 4. Fleet summary (rrasfleetctl summary)"
"$ctl" summary
echo
echo "== 5. Servers at risk: a high or critical finding (rrasfleetctl hosts --severity high)"
"$ctl" hosts --severity high
echo
echo "== 6. Servers where L2TP would present a wildcard (rrasfleetctl hosts --finding L2TP_CERT_WILDCARD)"
"$ctl" hosts --finding L2TP_CERT_WILDCARD
echo
echo "== 7. Certificates expiring within 30 days (rrasfleetctl certs --expiring 30)"
"$ctl" certs --expiring 30
echo
echo "demo finished in $(($(date +%s) - started)) s; stopping the collector and removing $work"
[ "$failed" = 0 ] || { echo "demo: $failed agents could not deliver" >&2; exit 1; }
