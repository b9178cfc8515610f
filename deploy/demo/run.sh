#!/bin/sh
# The fleet demo (README command 1): a collector and one simulated agent per example capture
# bundle (22 RRAS servers, each with its own client certificate) on loopback, over real mutual
# TLS into a real SQLite database; then the fleet's findings through rrasfleetctl; then one
# at-risk server remediated with a signed profile (dry-run first, then apply) on a copy of its
# capture bundle, and the fleet summary again.
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

# The "expiring" server's certificate is re-issued now, ending in 20 days, so that step 7 shows
# an expiring certificate whatever today's date is (the fixture's own one ends 2026-12-10).
# Same key, subject, SAN and EKU, same CA (the fixture PKI's); the bundle's thumbprints follow.
exp_name=expiring-l2tp-cert
exp_dir=$work/bundle-$exp_name
fixture_pki=$top/tests/fixtures/pki
cp -R "$bundles/$exp_name" "$exp_dir"
openssl x509 -x509toreq -in "$fixture_pki/certs/expiring.crt" -signkey "$fixture_pki/keys/expiring.key" \
    -copy_extensions copyall -out "$work/expiring.csr" 2>/dev/null
openssl x509 -req -in "$work/expiring.csr" -CA "$fixture_pki/certs/corp-ca.crt" \
    -CAkey "$fixture_pki/keys/corp-ca.key" -days 20 -set_serial "0x$(date +%s)" \
    -copy_extensions copyall -outform DER -out "$work/expiring.cer" 2>/dev/null
fingerprint() { # ALGORITHM DER-FILE: upper-case hex, no colons
    openssl x509 -inform DER -in "$2" -noout -fingerprint "-$1" | cut -d= -f2 | tr -d :
}
old_cer=$(ls "$exp_dir/LocalMachine-My/"000-*.cer)
old_sha1=$(fingerprint sha1 "$old_cer")
old_sha256=$(fingerprint sha256 "$old_cer")
new_sha1=$(fingerprint sha1 "$work/expiring.cer")
new_sha256=$(fingerprint sha256 "$work/expiring.cer")
rm "$old_cer"
cp "$work/expiring.cer" "$exp_dir/LocalMachine-My/000-$new_sha1.cer"
for f in LocalMachine-My/private-keys.txt netsh-http-sslcert.txt reg-sstpsvc.txt; do
    sed -i -e "s/$old_sha1/$new_sha1/Ig" -e "s/$old_sha256/$new_sha256/Ig" "$exp_dir/$f"
done

# The server remediated in step 8 runs on a copy of its bundle: the simulated host rewrites it.
rem_name=kb-787-wildcard-first
rem_fqdn=$(sed -n 's/^FQDN: *//p' "$bundles/$rem_name/host.txt" | tr -d '\r')
mkdir -p "$work/bundle-$rem_name"
cp -R "$bundles/$rem_name/." "$work/bundle-$rem_name/"
"$collector" keys init --dir "$work/keys" >/dev/null

echo "== 2. The collector (agents on one port with mutual TLS, admin API on another)"
cat >"$work/collector.conf" <<CONF
listen = 127.0.0.1:0
admin_listen = 127.0.0.1:0
tls_cert = $work/pki/server.crt
tls_key = $work/pki/server.key
client_ca = $work/pki/ca.crt
db = $work/fleet.db
expected_ca = $expected_ca
profile_signing_key = $work/keys/profile-signing.key
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
operator=$("$collector" token create --db "$work/fleet.db" --role operator --name ops 2>/dev/null)
approver=$("$collector" token create --db "$work/fleet.db" --role approver --name boss 2>/dev/null)
echo "   agents: https://localhost:$agent_port   admin: https://localhost:$admin_port"

echo "== 3. One agent per RRAS server: collect, diagnose, spool, send (all at once)"
pids=""
for pair in $hosts; do
    name=${pair%%:*}
    fqdn=${pair#*:}
    source=$bundles/$name
    [ "$name" = "$rem_name" ] || [ "$name" = "$exp_name" ] && source=$work/bundle-$name
    cat >"$work/$name.conf" <<CONF
source = $source
collector_url = https://localhost:$agent_port
ca_file = $work/pki/ca.crt
client_cert = $work/pki/$fqdn.crt
client_key = $work/pki/$fqdn.key
spool_dir = $work/spool-$name
expected_ca = $expected_ca
log_level = warn
CONF
    if [ "$name" = "$rem_name" ]; then
        printf 'remediation_mode = apply\nprofile_trust_key = %s\nstate_dir = %s\nlog_level = info\n' \
            "$work/keys/profile-signing.pub" "$work/state-$name" >>"$work/$name.conf"
    fi
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
echo
echo "== 8. Remediation of $rem_fqdn with a signed profile (the agent has remediation_mode = apply)"
# profile ID from `profile create --json`
profile_id() { sed -n 's/.*"profile_id":"\([0-9a-f-]*\)".*/\1/p' | head -n 1; }
rem_run() { "$agent" run --once --config "$work/$rem_name.conf" >>"$work/$rem_name.log" 2>&1; }
echo "-- 8a. A dry-run profile: rrasfleetctl profile create --for $rem_fqdn --mode dry-run; profile assign"
pid=$("$ctl" --token "$operator" --json profile create --for "$rem_fqdn" --mode dry-run | profile_id)
"$ctl" --token "$approver" profile assign "$pid" >/dev/null
rem_run
echo "-- the agent's planned result (rrasfleetctl profile show ID)"
"$ctl" profile show "$pid"
echo
echo "-- 8b. An apply profile, assigned; the agent runs twice (apply and send the result, then report)"
pid=$("$ctl" --token "$operator" --json profile create --for "$rem_fqdn" --mode apply | profile_id)
"$ctl" --token "$approver" profile assign "$pid" >/dev/null
rem_run
rem_run
grep 'remediate profile_id' "$work/$rem_name.log" | sed 's/^/   /'
"$ctl" profile list --host "$rem_fqdn"
echo
echo "== 9. Fleet summary after the remediation (rrasfleetctl summary; hosts --severity high)"
"$ctl" summary
echo
"$ctl" hosts --severity high
echo
echo "demo finished in $(($(date +%s) - started)) s; stopping the collector and removing $work"
[ "$failed" = 0 ] || { echo "demo: $failed agents could not deliver" >&2; exit 1; }
