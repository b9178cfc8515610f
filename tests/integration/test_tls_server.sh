#!/bin/sh
# test_tls_server: the real rrasfleet-collector's TLS front end seen from outside, with the
# openssl and curl command-line clients: the test PKI itself (fast, right extensions), client
# certificate refusals, TLS 1.2 only with ECDHE + AEAD and X25519, session resumption by ticket
# and by session ID (counted in /metrics), a silent client closed at the handshake timeout while
# others are served, a clean exit on SIGTERM, and tickets that still resume after a restart.
set -eu
. "$RRAS_SOURCE_DIR/tests/integration/collector_lib.sh"

ms() { echo $(($(date +%s%N) / 1000000)); }

# 1. The PKI: made in well under a second, with the extensions the server relies on.
t0=$(ms)
col_setup
pki_client "$T/pki" host1.contoso.com >/dev/null
pki_client "$T/pki" srvonly serverAuth >/dev/null
took=$(($(ms) - t0))
[ "$took" -lt 1000 ] || fail "making the PKI took $took ms"
openssl verify -CAfile "$T/pki/ca.crt" "$T/pki/server.crt" "$T/pki/host1.contoso.com.crt" \
    "$T/pki/wildcard.crt" >/dev/null || fail "test certificates do not chain to the CA"
if openssl verify -CAfile "$T/pki/ca.crt" "$T/pki/rogue.crt" >/dev/null 2>&1; then
    fail "the rogue client chains to the test CA"
fi
openssl x509 -in "$T/pki/server.crt" -noout -ext subjectAltName,extendedKeyUsage |
    tr -d ' \n' | grep -q 'DNS:localhost,IPAddress:127.0.0.1.*TLSWebServerAuthentication' ||
    fail "server certificate lacks its SAN or EKU"
openssl x509 -in "$T/pki/wildcard.crt" -noout -ext subjectAltName | grep -q 'DNS:\*\.contoso\.com' ||
    fail "wildcard certificate lacks its SAN"

col_start --handshake-timeout-ms 500
token=$(col_token viewer tls-test)

s_client() { # PORT [options...]: one TLS handshake, output on stdout
    port=$1
    shift
    openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$T/pki/ca.crt" \
        "$@" </dev/null 2>&1
}

# s_client prints "Protocol : TLSv1.2" even for a refused handshake; this line means it worked.
handshook() { grep -Eq '^(New|Reused), TLSv1\.[0-9], Cipher is [A-Z0-9_-]+$'; }

agent_curl() { # CERTNAME: exit status of a GET on the agent listener
    rc=0
    curl -s -o /dev/null --max-time 5 --cacert "$T/pki/ca.crt" --cert "$T/pki/$1.crt" \
        --key "$T/pki/$1.key" "https://localhost:$AGENT_PORT/v1/profiles/1" || rc=$?
    echo "$rc"
}

# 2. Client certificates on the agent listener.
[ "$(agent_curl host1.contoso.com)" = 0 ] || fail "a valid client certificate was refused"
[ "$(agent_curl rogue)" != 0 ] || fail "a certificate from another CA was accepted"
[ "$(agent_curl srvonly)" != 0 ] || fail "a certificate without clientAuth EKU was accepted"
rc=0
curl -s -o /dev/null --max-time 5 --cacert "$T/pki/ca.crt" \
    "https://localhost:$AGENT_PORT/v1/profiles/1" || rc=$?
[ "$rc" != 0 ] || fail "a client without a certificate was served on the agent listener"

# 3. Protocol and cipher policy (admin listener: no client certificate needed).
out=$(s_client "$ADMIN_PORT" -tls1_2)
echo "$out" | handshook || fail "no TLS 1.2 handshake: $out"
echo "$out" | grep -Eq 'Cipher *: ECDHE-ECDSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)' ||
    fail "not an ECDHE AEAD suite: $(echo "$out" | grep 'Cipher')"
echo "$out" | grep -q 'Server Temp Key: X25519' || fail "ECDHE group is not X25519"
s_client "$ADMIN_PORT" -tls1_2 -curves prime256v1 | grep -q 'Server Temp Key: ECDH, prime256v1, 256 bits' ||
    fail "P-256 is not accepted"
if s_client "$ADMIN_PORT" -tls1_2 -curves secp384r1 | handshook; then
    fail "a secp384r1-only client got in"
fi
if s_client "$ADMIN_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' | handshook; then
    fail "TLS 1.1 accepted"
fi
if s_client "$ADMIN_PORT" -tls1_3 | handshook; then
    fail "TLS 1.3 negotiated (mbedTLS 2.28 has none)"
fi
if s_client "$ADMIN_PORT" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA' | handshook; then
    fail "a CBC suite was negotiated"
fi

# 4. Resumption: by ticket (OpenSSL's default) and by session ID (tickets off on the client).
s_client "$AGENT_PORT" -tls1_2 -cert "$T/pki/host1.contoso.com.crt" \
    -key "$T/pki/host1.contoso.com.key" -sess_out "$T/ticket.sess" >/dev/null
s_client "$AGENT_PORT" -tls1_2 -cert "$T/pki/host1.contoso.com.crt" \
    -key "$T/pki/host1.contoso.com.key" -sess_in "$T/ticket.sess" | grep -q '^Reused, TLSv1.2' ||
    fail "no resumption by session ticket"
s_client "$AGENT_PORT" -tls1_2 -no_ticket -cert "$T/pki/host1.contoso.com.crt" \
    -key "$T/pki/host1.contoso.com.key" -sess_out "$T/id.sess" >/dev/null
s_client "$AGENT_PORT" -tls1_2 -no_ticket -cert "$T/pki/host1.contoso.com.crt" \
    -key "$T/pki/host1.contoso.com.key" -sess_in "$T/id.sess" | grep -q '^Reused, TLSv1.2' ||
    fail "no resumption by session ID"
# An admin-listener session must not open the agent listener.
s_client "$ADMIN_PORT" -tls1_2 -sess_out "$T/admin.sess" >/dev/null
if s_client "$AGENT_PORT" -tls1_2 -sess_in "$T/admin.sess" | grep -q '^Reused'; then
    fail "an admin session was resumed on the agent listener"
fi

code=$(admin_get "$token" /metrics)
[ "$code" = 200 ] || fail "GET /metrics answered $code"
resumed=$(sed -n 's/^rrasfleet_tls_handshakes_total{result="resumed"} //p' "$T/last-body")
[ "${resumed:-0}" -ge 2 ] || fail "resumed handshakes not counted: ${resumed:-none}"

# 5. A client that connects and sends nothing is closed at the handshake timeout (500 ms),
#    and others are served meanwhile.
/usr/bin/python3 - "$ADMIN_PORT" >"$T/silent.ms" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.monotonic()
s.settimeout(5)
try:
    s.recv(1)  # b"" (EOF) or a reset when the server gives up on the handshake
except socket.timeout:
    pass
except OSError:
    pass
print(int((time.monotonic() - t) * 1000))
PY
silent=$!
sleep 0.1
[ "$(admin_get "$token" /healthz)" = 200 ] || fail "not served while a silent client waits"
wait "$silent" || fail "silent client probe failed"
took=$(cat "$T/silent.ms")
[ "$took" -ge 400 ] && [ "$took" -lt 2000 ] || fail "silent client closed after $took ms"

# 6. SIGTERM: a clean exit.
col_stop

# 7. A restart. The agent
#    listener's ticket keys were kept next to the database (mode 600), so a ticket from before
#    the restart still resumes; a session ID (the in-memory cache) does not.
[ "$(stat -c %a "$T/fleet.db-tickets")" = 600 ] || fail "ticket key file missing or not mode 600"
col_start
s_client "$AGENT_PORT" -tls1_2 -cert "$T/pki/host1.contoso.com.crt" \
    -key "$T/pki/host1.contoso.com.key" -sess_in "$T/ticket.sess" | grep -q '^Reused, TLSv1.2' ||
    fail "a ticket from before the restart did not resume"
out=$(s_client "$AGENT_PORT" -tls1_2 -no_ticket -cert "$T/pki/host1.contoso.com.crt" \
    -key "$T/pki/host1.contoso.com.key" -sess_in "$T/id.sess")
echo "$out" | grep -q '^New, TLSv1.2' ||
    fail "a cached session ID survived the restart, or no handshake: $(echo "$out" | grep -E '^(New|Reused)|error' | head -3)"

col_stop
echo "test_tls_server: ok"
