#!/bin/sh
# Source checks that need no build: banned functions (STYLE rule 8) and cppcheck.
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
if command -v cppcheck >/dev/null 2>&1; then
    cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
        --std=c11 --inline-suppr -I proto -I agent proto agent collector
fi
echo "check-source: ok"
