# collector_lib.sh: start and stop a real rrasfleet-collector for integration tests (sourced).
#
#   . tests/integration/collector_lib.sh
#   col_setup                 # $T (temp dir, removed on exit), PKI in $T/pki, config $T/collector.conf
#   col_start [extra flags]   # starts it on ephemeral ports; sets $COL_PID $AGENT_PORT $ADMIN_PORT
#   col_stop                  # SIGTERM and wait
#   col_token ROLE NAME       # prints a new bearer token (made with `token create --db`)
#   post_report FILE CERTNAME # POSTs FILE to /v1/reports with CERTNAME's client cert;
#                             # prints the HTTP status, body in $T/last-body
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/pki.sh"

COLLECTOR="$RRAS_BIN_DIR/collector/rrasfleet-collector"
CTL="$RRAS_BIN_DIR/collector/rrasfleetctl"
AGENT="$RRAS_BIN_DIR/agent/rrasfleet-agent"

fail() {
    echo "FAIL: $*" >&2
    [ -f "$T/collector.log" ] && tail -n 20 "$T/collector.log" >&2
    exit 1
}

col_cleanup() {
    [ -n "${COL_PID:-}" ] && kill -9 "$COL_PID" 2>/dev/null || true
    rm -rf "$T"
}

col_setup() {
    T=$(mktemp -d)
    trap col_cleanup EXIT
    pki_make "$T/pki" >/dev/null
    cat >"$T/collector.conf" <<CONF
listen = 127.0.0.1:0
admin_listen = 127.0.0.1:0
tls_cert = $T/pki/server.crt
tls_key = $T/pki/server.key
client_ca = $T/pki/ca.crt
db = $T/fleet.db
expected_ca = CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com
log_level = info
CONF
}

col_start() {
    "$COLLECTOR" serve --config "$T/collector.conf" "$@" >"$T/collector.out" 2>>"$T/collector.log" &
    COL_PID=$!
    i=0
    while ! grep -q '^listening ' "$T/collector.out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "collector did not start"
        kill -0 "$COL_PID" 2>/dev/null || fail "collector exited at start"
        sleep 0.05
    done
    AGENT_PORT=$(sed -n 's/^listening agent=\([0-9]*\) admin=.*/\1/p' "$T/collector.out")
    ADMIN_PORT=$(sed -n 's/^listening agent=[0-9]* admin=\([0-9]*\)/\1/p' "$T/collector.out")
    : >"$T/collector.out"
}

col_stop() {
    kill -TERM "$COL_PID"
    wait "$COL_PID" || fail "collector exited with status $? after SIGTERM"
    COL_PID=
}

col_token() {
    "$COLLECTOR" token create --db "$T/fleet.db" --role "$1" --name "$2" 2>/dev/null
}

post_report() {
    curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
        --cert "$T/pki/$2.crt" --key "$T/pki/$2.key" -H 'Content-Type: application/json' \
        --data-binary "@$1" "https://localhost:$AGENT_PORT/v1/reports"
}

admin_get() {
    curl -s -o "$T/last-body" -w '%{http_code}' --cacert "$T/pki/ca.crt" \
        -H "Authorization: Bearer $1" "https://localhost:$ADMIN_PORT$2"
}

# col_db SQL: the first column of the first row, read from the collector's database.
col_db() {
    /usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
        "$T/fleet.db" "$1"
}

# make_report BUNDLE FQDN OUT: an agent report for BUNDLE, rewritten to describe host FQDN.
make_report() {
    "$AGENT" collect --bundle "$RRAS_FIXTURES_DIR/bundles/$1" >"$T/raw.json"
    /usr/bin/python3 - "$T/raw.json" "$2" "$3" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["host"]["fqdn"] = sys.argv[2]
doc["host"]["hostname"] = sys.argv[2].split(".")[0].upper()
json.dump(doc, open(sys.argv[3], "w"))
PY
}
