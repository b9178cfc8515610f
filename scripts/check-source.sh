#!/bin/sh
# Source checks that need no build: banned functions (STYLE rule 8), no cryptography of our own
# (STYLE rule 16: no AES/SHA/CLMUL intrinsics, no interposed mbedTLS functions), and cppcheck.
set -eu
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|system|popen)[[:space:]]*\('
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find proto agent collector tests -name '*.[ch]')
# shellcheck disable=SC2086
if hits=$(grep -nHE "$banned" $files | grep -v 'banned-ok'); then
    echo "banned functions (STYLE rule 8):" >&2
    echo "$hits" >&2
    exit 1
fi
# A file of ours never implements a primitive: no crypto intrinsics or their headers, and no
# definition of an mbedTLS function (symbol interposition), whatever the file.
crypto='(_mm_(aes|sha|clmul)[a-z0-9_]*|<wmmintrin\.h>|<immintrin\.h>|<shaintrin\.h>|^[a-z].*[[:space:]\*]mbedtls_[a-z0-9_]+\([^;]*$)'
# shellcheck disable=SC2086
if hits=$(grep -nHE "$crypto" $files); then
    echo "cryptography of our own (STYLE rule 16; use mbedTLS through proto/digest.h & co.):" >&2
    echo "$hits" >&2
    exit 1
fi
if command -v cppcheck >/dev/null 2>&1; then
    cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
        --std=c11 --inline-suppr -I proto -I agent proto agent collector
fi
echo "check-source: ok"
