#!/bin/sh
# `rrasfleet-collector keys init --dir DIR`: the profile-signing key pair. Both files with their
# modes (whatever the umask), a P-256 key OpenSSL reads, the printed key_id equal to OpenSSL's
# SHA-256 of the public DER, and a second init that refuses and changes nothing. (Signatures
# made with such a key verify with OpenSSL and the other way round: tests/unit/proto/test_sign.c.)
set -eu
col="$RRAS_BIN_DIR/collector/rrasfleet-collector"
openssl=/usr/bin/openssl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
keys="$tmp/keys"
key="$keys/profile-signing.key"
pub="$keys/profile-signing.pub"
mkdir "$keys"

# 1. init: both files, exact modes even under a strict umask, the key_id on stdout.
id=$(umask 077 && "$col" keys init --dir "$keys" 2>"$tmp/err") || fail "keys init: $(cat "$tmp/err")"
[ -f "$key" ] || fail "keys init did not write the key"
[ -f "$pub" ] || fail "keys init did not write the public key"
[ "$(stat -c %a "$key")" = 600 ] || fail "key mode $(stat -c %a "$key"), expected 600"
[ "$(stat -c %a "$pub")" = 644 ] || fail "pub mode $(stat -c %a "$pub"), expected 644"
printf '%s\n' "$id" | grep -Eqx '[0-9a-f]{16}' || fail "key_id '$id' is not 16 lower-case hex digits"
grep -q "$id" "$tmp/err" || fail "the message does not repeat the key_id"
[ "$(find "$keys" -mindepth 1 | wc -l)" = 2 ] || fail "keys init left other files: $(find "$keys")"

# 2. OpenSSL reads both; a P-256 pair whose halves match; its key_id is ours.
"$openssl" pkey -pubin -in "$pub" -noout || fail "openssl cannot read the public key"
"$openssl" pkey -pubin -in "$pub" -noout -text | grep -q 'prime256v1' || fail "not a P-256 key"
"$openssl" pkey -in "$key" -noout || fail "openssl cannot read the private key"
"$openssl" pkey -in "$key" -pubout -out "$tmp/derived.pub"
cmp -s "$tmp/derived.pub" "$pub" || fail "the public key is not the private key's"
theirs=$("$openssl" pkey -pubin -in "$pub" -outform DER | sha256sum | cut -c1-16)
[ "$theirs" = "$id" ] || fail "key_id $id, openssl computes $theirs"
# The pair signs and verifies with OpenSSL alone (the format is what a signer will read).
printf 'payload' >"$tmp/data"
"$openssl" dgst -sha256 -sign "$key" -out "$tmp/sig" "$tmp/data"
"$openssl" dgst -sha256 -verify "$pub" -signature "$tmp/sig" "$tmp/data" >/dev/null ||
    fail "openssl: the pair does not verify"

# 3. A second init refuses, names the file, and leaves both files byte-identical.
cp -p "$key" "$tmp/key.before"
cp -p "$pub" "$tmp/pub.before"
rc=0; "$col" keys init --dir "$keys" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] || fail "second init: exit $rc, expected 1"
grep -q "profile-signing.key already exists" "$tmp/err" || fail "refusal does not name the key: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "a refused init printed a key_id"
cmp -s "$key" "$tmp/key.before" || fail "second init changed the key"
cmp -s "$pub" "$tmp/pub.before" || fail "second init changed the public key"
[ "$(stat -c %a "$key")" = 600 ] || fail "second init changed the key's mode"

# Either file alone is enough to refuse, and the missing one is not created.
mv "$pub" "$tmp/pub.away"
rc=0; "$col" keys init --dir "$keys" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] || fail "init with only the key present: exit $rc"
[ ! -e "$pub" ] || fail "init with only the key present wrote the public key"
grep -q "profile-signing.key already exists" "$tmp/err" || fail "no file named: $(cat "$tmp/err")"
mv "$key" "$tmp/key.away"
mv "$tmp/pub.away" "$pub"
rc=0; "$col" keys init --dir "$keys" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] || fail "init with only the pub present: exit $rc"
[ ! -e "$key" ] || fail "init with only the pub present wrote the key"
grep -q "profile-signing.pub already exists" "$tmp/err" || fail "no file named: $(cat "$tmp/err")"
cmp -s "$pub" "$tmp/pub.before" || fail "refused init changed the public key"
# A dangling link where the key would go is refused too, never followed.
rm "$pub"
ln -s "$tmp/elsewhere" "$key"
rc=0; "$col" keys init --dir "$keys" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] || fail "init over a dangling link: exit $rc"
[ ! -e "$tmp/elsewhere" ] || fail "init followed a link"
[ ! -e "$pub" ] || fail "init over a dangling link wrote the public key"
rm "$key"

# 4. Two inits in fresh folders make two different keys.
mkdir "$tmp/other"
id2=$("$col" keys init --dir "$tmp/other" 2>/dev/null) || fail "init in a fresh folder"
[ "$id2" != "$id" ] || fail "two inits made the same key"
# A missing folder is made, private: it is where the signing key lives.
"$col" keys init --dir "$tmp/made" >/dev/null 2>&1 || fail "init did not make a missing folder"
[ "$(stat -c %a "$tmp/made")" = 700 ] || fail "made folder is not 0700: $(stat -c %a "$tmp/made")"
[ -f "$tmp/made/profile-signing.key" ] || fail "no key in the made folder"

# 5. Usage: exit 2 with a message.
for args in "keys" "keys init" "keys init --dir" "keys frob --dir $tmp" \
    "keys init --dir $tmp --dir $tmp" "keys init --dir $tmp extra"; do
    rc=0
    # shellcheck disable=SC2086 # word splitting of the arguments is the point
    "$col" $args >/dev/null 2>"$tmp/err" || rc=$?
    [ "$rc" = 2 ] || fail "'$args': exit $rc, expected 2"
    [ -s "$tmp/err" ] || fail "'$args': no message"
done
echo "test_keys: ok"
