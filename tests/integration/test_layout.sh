#!/bin/sh
# test_layout: scripts/check-layout.py passes on the tree, and refuses each kind of violation
# when it is planted in a copy of the sources (so the check itself can fail).
set -eu
: "${RRAS_SOURCE_DIR:?set by ctest}"
check="$RRAS_SOURCE_DIR/scripts/check-layout.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

/usr/bin/python3 "$check" "$RRAS_SOURCE_DIR" >/dev/null || {
    /usr/bin/python3 "$check" "$RRAS_SOURCE_DIR"
    echo "test_layout: the tree breaks the layout" >&2
    exit 1
}

# plant FILE LINE EXPECTED: a fresh copy, LINE appended to FILE, the check must fail saying EXPECTED.
n=0
plant() {
    n=$((n + 1))
    copy="$T/$n"
    mkdir -p "$copy"
    (cd "$RRAS_SOURCE_DIR" && tar -cf - proto agent collector) | (cd "$copy" && tar -xf -)
    mkdir -p "$(dirname "$copy/$1")"
    printf '%s\n' "$2" >>"$copy/$1"
    if out=$(/usr/bin/python3 "$check" "$copy" 2>&1); then
        echo "test_layout: '$2' in $1 was not refused" >&2
        exit 1
    fi
    echo "$out" | grep -qF "$3" || {
        echo "test_layout: '$2' in $1: expected '$3', got: $out" >&2
        exit 1
    }
}

plant proto/x509.c '#include "writer.h"' 'proto depends on nothing of ours'
plant agent/deliver/run.c '#include "store.h"' 'agent and collector meet only in proto'
plant collector/net/http.c '#include "router.h"' 'is not an arrow'
plant collector/api/query.c '#include "store_int.h"' 'is internal to collector/store/sqlite'
plant collector/api/query.c '#include <sqlite3.h>' 'only collector/store/sqlite includes sqlite3.h'
plant collector/api/query.c '#include <mbedtls/ssl.h>' 'only collector/net/tls includes mbedTLS SSL headers'
plant agent/deliver/run.c '#include <windows.h>' 'windows.h outside a *_win32.c file'
plant proto/rc.h '#include "buf.h"' 'include cycle between modules'
plant collector/base/clock.h '#include "server.h"' 'is not an arrow'
plant agent/config/agent_config.c '#include "run.h"' 'is not an arrow'

plant collector/jobs/log.h '/* duplicate */' 'header name also used by'
echo "test_layout: ok ($n planted violations refused)"
