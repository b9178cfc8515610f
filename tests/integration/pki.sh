# pki.sh: a throwaway test PKI made at test time with the openssl CLI (sourced, not run).
#
#   . tests/integration/pki.sh
#   pki_make DIR                 # ca.crt/ca.key, server.crt/key (localhost, 127.0.0.1),
#                                # rogue-ca.crt/key + rogue.crt/key (a client of another CA),
#                                # wildcard.crt/key (SAN *.contoso.com, clientAuth)
#   pki_client DIR NAME [EKU]    # NAME.crt/NAME.key for identity NAME (SAN DNS:NAME);
#                                # EKU defaults to clientAuth; "none" leaves the extension out
#   pki_client_cn_only DIR NAME  # NAME.crt/NAME.key with subject CN=NAME and no SAN (clientAuth)
#
# All keys are EC P-256, valid for 2 days, made with `-config /dev/null` so the host's
# openssl.cnf cannot add extensions. Never use these outside tests: the keys are unencrypted.

pki__cert() {
    # DIR NAME SUBJECT ISSUER(ca basename or "") EXTENSIONS...
    _pki_dir=$1 _pki_name=$2 _pki_subj=$3 _pki_issuer=$4
    shift 4
    if [ -n "$_pki_issuer" ]; then
        set -- "$@" -CA "$_pki_dir/$_pki_issuer.crt" -CAkey "$_pki_dir/$_pki_issuer.key"
    fi
    openssl req -x509 -new -config /dev/null -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -nodes -keyout "$_pki_dir/$_pki_name.key" -out "$_pki_dir/$_pki_name.crt" \
        -subj "$_pki_subj" -days 2 "$@" 2>/dev/null ||
        { echo "pki.sh: cannot make $_pki_name" >&2; return 1; }
}

pki__ca() {
    pki__cert "$1" "$2" "/CN=$3" "" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

pki_client() {
    _pki_eku=${3:-clientAuth}
    if [ "$_pki_eku" = none ]; then
        pki__cert "$1" "$2" "/CN=$2" ca -addext "subjectAltName=DNS:$2" \
            -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature
    else
        pki__cert "$1" "$2" "/CN=$2" ca -addext "subjectAltName=DNS:$2" \
            -addext "extendedKeyUsage=$_pki_eku" \
            -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature
    fi
}

pki_client_cn_only() {
    pki__cert "$1" "$2" "/CN=$2" ca -addext extendedKeyUsage=clientAuth \
        -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature
}

pki_make() {
    mkdir -p "$1" || return 1
    pki__ca "$1" ca "rrasfleet test CA" &&
        pki__cert "$1" server /CN=localhost ca \
            -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -addext extendedKeyUsage=serverAuth \
            -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature &&
        pki__ca "$1" rogue-ca "rogue test CA" &&
        pki__cert "$1" rogue /CN=rogue.contoso.com rogue-ca \
            -addext subjectAltName=DNS:rogue.contoso.com -addext extendedKeyUsage=clientAuth \
            -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature &&
        pki__cert "$1" wildcard "/CN=*.contoso.com" ca \
            -addext "subjectAltName=DNS:*.contoso.com" -addext extendedKeyUsage=clientAuth \
            -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature
}
