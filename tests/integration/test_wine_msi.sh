#!/bin/sh
# test_wine_msi: the agent's MSI (deploy/windows/rrasfleet-agent.wxs, built by
# deploy/windows/build-msi.sh) under Wine, from installation to purge (issue 14):
#   1. `msiexec /i v1.msi /qn COLLECTOR_URL=... CA_FILE=...`: rrasfleet-agent.exe in Program
#      Files\rrasfleet; the service rrasfleet-agent registered (`"...exe" service run`,
#      automatic, LocalSystem) and RUNNING; the installer's values in HKLM\SOFTWARE\rrasfleet\Agent
#      and the Event Log source. A Group Policy value (fqdn_override, written where the ADMX
#      template writes) overrides them and `config --print` shows each with its origin. The
#      service delivers a report to the real collector over mutual TLS (client certificate from
#      LocalMachine\My, the collector's CA from CA_FILE).
#   2. A newer MSI (patch version + 1) with CA_THUMBPRINT instead of CA_FILE (the test CA put
#      into LocalMachine\Root): one product, the new version, the service RUNNING, collector_url
#      kept from the first installation, ca_file gone, ca_thumbprint set; the service delivers
#      again, now trusting the CA it exports from the Root store.
#   3. `msiexec /x`: the service, the executable, the installer's values and the Event Log source
#      gone; the spool (%ProgramData%\rrasfleet) kept.
#   4. Installed again, then `msiexec /x ... PURGE=1`: %ProgramData%\rrasfleet gone too.
# Wine's msi does not wait for a service to stop (ServiceControl Wait is ignored; Windows waits),
# so before each uninstall the test stops the service with `net stop` and waits until its
# process has exited; otherwise RemoveFiles races the exiting process for the executable.
#
# Environment as test_wine_collect.sh: RRAS_WIN_BUILD_DIR (default
# $RRAS_SOURCE_DIR/build-win/build); no Wine, wixl or Windows build: exit 77 (ctest SKIP) unless
# RRAS_REQUIRE_WINE=1. RRAS_WINEPREFIX names a booted prefix to use (its LocalMachine\My is
# emptied at the start and the end, and the product, the policy key and the test CA in Root are
# removed at the end); otherwise a prefix is booted under the temp dir.
set -eu
: "${RRAS_BIN_DIR:?set by ctest}" "${RRAS_SOURCE_DIR:?set by ctest}"
win_build=${RRAS_WIN_BUILD_DIR:-$RRAS_SOURCE_DIR/build-win/build}
build_msi="$RRAS_SOURCE_DIR/deploy/windows/build-msi.sh"
fqdn=rras-msi01.corp.contoso.com
pfx_password=wine-test-only
svc=rrasfleet-agent
policy_key='HKLM\SOFTWARE\Policies\rrasfleet\Agent'
installer_key='HKLM\SOFTWARE\rrasfleet\Agent'
svc_key='HKLM\System\CurrentControlSet\Services\rrasfleet-agent'
event_key='HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\rrasfleet'
uninstall_key='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall'


# shellcheck source=tests/integration/wine_lib.sh disable=SC1091
. "$RRAS_SOURCE_DIR/tests/integration/wine_lib.sh"
for tool in wine wineboot wineserver wixl msibuild msiinfo openssl; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
win_agent="$win_build/agent/rrasfleet-agent.exe"
seed="$win_build/tests/windows/rrasfleet-seed.exe"
[ -f "$win_agent" ] || skip "no $win_agent (scripts/build-windows.sh builds it)"
[ -f "$seed" ] || skip "no $seed (the Windows build with tests builds it)"

# fail(), col_start/col_stop and $T (removed on exit) come from here.
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"
[ -x "$COLLECTOR" ] || fail "no collector at $COLLECTOR"
start=$(ms)
col_setup

touched=
root_sha1=
cleanup() {
    if [ -n "$touched" ]; then
        # Leave a shared prefix as found: no product, no policy, no test certificates.
        for msi in "$T/v2.msi" "$T/v1.msi"; do
            if [ -f "$msi" ]; then
                wine msiexec /x "Z:$msi" /qn PURGE=1 >>"$T/wine.log" 2>&1 || true
            fi
        done
        wine reg delete "$policy_key" /f >>"$T/wine.log" 2>&1 || true
        [ -z "$root_sha1" ] || wine reg delete \
            "HKLM\\Software\\Microsoft\\SystemCertificates\\Root\\Certificates\\$root_sha1" /f \
            >>"$T/wine.log" 2>&1 || true
        wine "$seed" --clear >>"$T/wine.log" 2>&1 || echo "WARNING: rrasfleet-seed.exe --clear failed" >&2
    fi
    wine_prefix_down
    col_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

wine_prefix_up 120
drive_c="$WINEPREFIX/drive_c"
exe_path="$drive_c/Program Files/rrasfleet/rrasfleet-agent.exe"
data_dir="$drive_c/ProgramData/rrasfleet"

# wine_run NAME PROGRAM ARGS...: stdout to $T/NAME.out, stderr to $T/NAME.err; Wine's status.
wine_run() {
    _name=$1
    shift
    wine "$@" >"$T/$_name.out" 2>"$T/$_name.err"
}
# msi NAME ARGS...: msiexec ARGS /qn with a verbose log in $T/NAME.log; its time in $msi_ms.
# msiexec's exit code is a Windows one (1603, 1627...), which a Unix status shows modulo 256:
# anything but 0 fails.
msi() {
    _name=$1
    shift
    _t=$(ms)
    _rc=0
    wine msiexec "$@" /qn /l*v "Z:$T/$_name.log" >"$T/$_name.out" 2>&1 || _rc=$?
    msi_ms=$(($(ms) - _t))
    if [ "$_rc" != 0 ]; then
        tail -n 30 "$T/$_name.log" >&2 2>/dev/null || true
        cat "$T/$_name.out" >&2
        fail "msiexec $* exited $_rc (the Windows code modulo 256; log above)"
    fi
}
# svc_state: RUNNING, STOPPED, ... or "none" when the service does not exist.
svc_state() {
    if wine_run sc sc query "$svc"; then
        sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p' "$T/sc.out" | head -n 1
    else
        echo none
    fi
}
# wait_state STATE SECONDS
wait_state() {
    _i=0
    while [ "$(svc_state)" != "$1" ]; do
        _i=$((_i + 1))
        [ $_i -lt $(($2 * 5)) ] || fail "service $svc is $(svc_state) after $2 s, expected $1"
        sleep 0.2
    done
}
# The service's process in this prefix (its environment names the prefix).
agent_running() {
    for _pid in $(pgrep -f 'rrasfleet-agent.exe service run' 2>/dev/null); do
        if tr '\0' '\n' 2>/dev/null <"/proc/$_pid/environ" | grep -qx "WINEPREFIX=$WINEPREFIX"; then
            return 0
        fi
    done
    return 1
}
# stop_service: `net stop` waits for STOPPED; then the process must have exited.
stop_service() {
    wine_run netstop net stop "$svc" || fail "net stop $svc: $(cat "$T/netstop.out" "$T/netstop.err")"
    _i=0
    while agent_running; do
        _i=$((_i + 1))
        [ $_i -lt 50 ] || fail "the service's process still runs 10 s after it stopped"
        sleep 0.2
    done
}
reg_has() { wine_run reg reg query "$@"; }
# reg_value KEY NAME: the value's data as `reg query` prints it.
reg_value() {
    wine_run reg reg query "$1" /v "$2" || return 1
    tr -d '\r' <"$T/reg.out" | sed -n "s/^ *$2 *REG_[A-Z_]* *//p"
}
db_count() {
    /usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
        "$1" "$2"
}
host_reports() {
    db_count "$T/fleet.db" "select count(*) from reports r join hosts h on h.id = r.host_id where h.fqdn = '$fqdn'" 2>/dev/null || echo 0
}
# wait_reports N SECONDS: until the collector holds at least N reports from this host.
wait_reports() {
    _i=0
    while [ "$(host_reports)" -lt "$1" ]; do
        _i=$((_i + 1))
        [ $_i -lt $(($2 * 5)) ] || fail "the service delivered $(host_reports) reports in $2 s, expected $1"
        sleep 0.2
    done
}
# products: the installed products named "rrasfleet agent", one "GUID VERSION" line each.
products() {
    wine_run uninst reg query "$uninstall_key" /s || true
    tr -d '\r' <"$T/uninst.out" | awk '
        /^HKEY_/ { key = $0; sub(/.*\\/, "", key); name = ""; version = "" }
        /DisplayName/ && /rrasfleet agent/ { name = 1 }
        /DisplayVersion/ { version = $NF }
        /^$/ { if (name) print key, version; name = "" }
        END { if (name) print key, version }'
}

# ---- the packages, the PKI, the store -------------------------------------------------------
t0=$(ms)
wine_run version "$win_agent" version || fail "rrasfleet-agent.exe version: $(cat "$T/version.err")"
v1=$(tr -d '\r' <"$T/version.out" | sed -n 's/^rrasfleet-agent \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
[ -n "$v1" ] || fail "no version in: $(cat "$T/version.out")"
v2=$(echo "$v1" | awk -F. '{ print $1 "." $2 "." $3 + 1 }')
sh "$build_msi" "$win_agent" "$v1" "$T/v1.msi" >"$T/build-msi.log" 2>&1 || fail "build-msi $v1: $(cat "$T/build-msi.log")"
sh "$build_msi" "$win_agent" "$v2" "$T/v2.msi" >>"$T/build-msi.log" 2>&1 || fail "build-msi $v2: $(cat "$T/build-msi.log")"
build_ms=$(($(ms) - t0))

pki="$T/pki"
openssl req -x509 -new -config /dev/null -newkey rsa:2048 -nodes -keyout "$pki/agent.key" \
    -out "$pki/agent.crt" -subj "/CN=$fqdn" -days 2 -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -addext "subjectAltName=DNS:$fqdn" -addext extendedKeyUsage=clientAuth \
    -addext basicConstraints=critical,CA:FALSE \
    -addext keyUsage=critical,digitalSignature,keyEncipherment 2>"$T/openssl.err" ||
    fail "openssl: agent certificate: $(cat "$T/openssl.err")"
openssl pkcs12 -export -in "$pki/agent.crt" -inkey "$pki/agent.key" \
    -passout "pass:$pfx_password" -out "$pki/agent.p12" 2>"$T/openssl.err" ||
    fail "openssl pkcs12: $(cat "$T/openssl.err")"
ca_sha1=$(openssl x509 -in "$pki/ca.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
touched=1
# No product of an earlier, interrupted run.
for left in $(products | cut -d' ' -f1); do
    wine msiexec /x "$left" /qn PURGE=1 >>"$T/wine.log" 2>&1 || true
done
wine_run seed "$seed" --clear --pfx "Z:$pki/agent.p12" --pfx-password "$pfx_password" ||
    fail "rrasfleet-seed.exe --pfx: $(cat "$T/seed.err")"
# Group Policy's key, as the ADMX template's fqdn_override policy writes it (the service picks
# the client certificate by this name and reports it).
wine_run policy reg add "$policy_key" /v fqdn_override /t REG_SZ /d "$fqdn" /f ||
    fail "reg add $policy_key: $(cat "$T/policy.err")"

col_start --log-level debug
url="https://localhost:$AGENT_PORT"

# ---- 1. install ------------------------------------------------------------------------------
msi install /i "Z:$T/v1.msi" "COLLECTOR_URL=$url" "CA_FILE=Z:$pki/ca.crt"
install_ms=$msi_ms
[ -f "$exe_path" ] || fail "no $exe_path after the installation"
wait_state RUNNING 10
reg_has "$svc_key" || fail "no $svc_key"
tr -d '\r' <"$T/reg.out" >"$T/svc.reg"
grep -q 'ImagePath.*"C:\\Program Files\\rrasfleet\\rrasfleet-agent.exe" service run$' "$T/svc.reg" ||
    fail "ImagePath is not the service entry point: $(cat "$T/svc.reg")"
grep -q 'Start *REG_DWORD *0x2$' "$T/svc.reg" || fail "the service does not start automatically: $(cat "$T/svc.reg")"
grep -q 'ObjectName *REG_SZ *LocalSystem$' "$T/svc.reg" || fail "the service is not LocalSystem: $(cat "$T/svc.reg")"
[ "$(reg_value "$installer_key" collector_url)" = "$url" ] || fail "collector_url not in $installer_key"
[ "$(reg_value "$installer_key" ca_file)" = "Z:$pki/ca.crt" ] || fail "ca_file not in $installer_key"
[ "$(reg_value "$installer_key" spool_dir)" = 'C:\ProgramData\rrasfleet\spool' ] || fail "spool_dir not in $installer_key"
reg_value "$installer_key" ca_thumbprint >/dev/null && fail "ca_thumbprint set though not given"
reg_has "$event_key" || fail "no Event Log source $event_key"
wine_run print "C:\\Program Files\\rrasfleet\\rrasfleet-agent.exe" config --print ||
    fail "config --print: $(cat "$T/print.err")"
tr -d '\r' <"$T/print.out" >"$T/print.txt"
grep -q "^collector_url = \"$url\" *# installer$" "$T/print.txt" || fail "config --print: collector_url not from the installer: $(cat "$T/print.txt")"
grep -q "^fqdn_override = \"$fqdn\" *# registry$" "$T/print.txt" || fail "config --print: fqdn_override not from the policy"
grep -q '^interval_s = 300 *# default$' "$T/print.txt" || fail "config --print: interval_s not the default"
wait_reports 1 30
install_reports=$(host_reports)

# ---- 2. upgrade, CA_THUMBPRINT in place of CA_FILE ------------------------------------------
# The test CA in LocalMachine\Root, as the registry store keeps a certificate: a serialized
# element (CERT_CERT_PROP_ID = 32, encoding 1, length, DER) under its SHA-1.
der_hex=$(openssl x509 -in "$pki/ca.crt" -outform DER | od -An -v -tx1 | tr -d ' \n')
len_hex=$(printf '%08x' $((${#der_hex} / 2)) | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/')
root_sha1=$ca_sha1
wine_run root reg add "HKLM\\Software\\Microsoft\\SystemCertificates\\Root\\Certificates\\$ca_sha1" \
    /v Blob /t REG_BINARY /d "2000000001000000$len_hex$der_hex" /f ||
    fail "seeding LocalMachine\\Root: $(cat "$T/root.err")"
msi upgrade /i "Z:$T/v2.msi" "CA_THUMBPRINT=$ca_sha1"
upgrade_ms=$msi_ms
products >"$T/products"
[ "$(wc -l <"$T/products")" = 1 ] || fail "expected one installed product, found: $(cat "$T/products")"
[ "$(cut -d' ' -f2 "$T/products")" = "$v2" ] || fail "installed version $(cut -d' ' -f2 "$T/products"), expected $v2"
wait_state RUNNING 10
[ "$(reg_value "$installer_key" collector_url)" = "$url" ] || fail "the upgrade lost collector_url"
[ "$(reg_value "$installer_key" ca_thumbprint)" = "$ca_sha1" ] || fail "ca_thumbprint not in $installer_key"
reg_value "$installer_key" ca_file >/dev/null && fail "ca_file kept beside the new ca_thumbprint"
wait_reports $((install_reports + 1)) 30

# ---- 3. uninstall: the spool stays ----------------------------------------------------------
find "$data_dir/spool" -maxdepth 1 -type f >"$T/spool-before" 2>/dev/null || true
[ -s "$T/spool-before" ] || fail "no spool files under $data_dir/spool before the uninstall"
stop_service
msi uninstall /x "Z:$T/v2.msi"
uninstall_ms=$msi_ms
[ "$(svc_state)" = none ] || fail "the service is still registered after the uninstall"
reg_has "$svc_key" && fail "$svc_key is still there"
[ ! -e "$exe_path" ] || fail "$exe_path is still there"
reg_has "$installer_key" && fail "$installer_key is still there: $(cat "$T/reg.out")"
reg_has "$event_key" && fail "the Event Log source is still registered"
[ -z "$(products)" ] || fail "a product is still installed: $(products)"
[ -d "$data_dir/spool" ] || fail "the uninstall removed the spool (only PURGE=1 may)"
reg_has "$policy_key" || fail "the uninstall removed Group Policy's key"

# ---- 4. install again, uninstall with PURGE=1 -----------------------------------------------
msi reinstall /i "Z:$T/v1.msi" "COLLECTOR_URL=$url" "CA_FILE=Z:$pki/ca.crt"
reinstall_ms=$msi_ms
wait_state RUNNING 10
stop_service
msi purge /x "Z:$T/v1.msi" PURGE=1
purge_ms=$msi_ms
[ "$(svc_state)" = none ] || fail "the service is still registered after the purge"
[ ! -e "$data_dir" ] || fail "PURGE=1 left $data_dir: $(find "$data_dir" | head -n 10)"
[ ! -e "$exe_path" ] || fail "$exe_path is still there after the purge"

echo "wine msi: prefix ready in ${boot_ms} ms; two MSIs built in ${build_ms} ms;" \
    "install ${install_ms} ms, upgrade ${upgrade_ms} ms, uninstall ${uninstall_ms} ms," \
    "reinstall ${reinstall_ms} ms, purge ${purge_ms} ms; reports delivered by the service:" \
    "$install_reports after the install, $(host_reports) in all; total $(($(ms) - start)) ms"
echo "wine msi: ok ($v1 -> $v2)"
