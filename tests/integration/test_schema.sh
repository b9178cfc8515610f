#!/bin/sh
# test_schema: real encoder output validates against schema/json/report.schema.json, and every
# counterexample in tests/schema/invalid/ does not (DESIGN §7: "tests validate real encoder
# output against it").
#
# ctest gives no order between unit.test_json (which writes test-report.json) and this test, so
# this script makes the file itself: it runs test_json with RRAS_WRITE_REPORT set, which then
# only encodes the full report and writes it there (atomically, by rename, so a concurrent
# unit.test_json writing the same bytes cannot leave a half file).
set -eu

: "${RRAS_BIN_DIR:?set by ctest}"
: "${RRAS_SOURCE_DIR:?set by ctest}"

test_json="$RRAS_BIN_DIR/tests/test_json"
report="$RRAS_BIN_DIR/test-report.json"

if [ ! -x "$test_json" ]; then
    echo "test_schema: $test_json not built (configure with RRAS_BUILD_TESTS=ON)" >&2
    exit 1
fi
if ! /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
    echo "test_schema: /usr/bin/python3 lacks jsonschema (apt-get install python3-jsonschema)" >&2
    exit 1
fi

RRAS_WRITE_REPORT="$report" "$test_json"

exec /usr/bin/python3 "$RRAS_SOURCE_DIR/tests/schema/validate.py" \
    "$RRAS_SOURCE_DIR/schema/json/report.schema.json" \
    --valid "$report" \
    --invalid "$RRAS_SOURCE_DIR"/tests/schema/invalid/*.json
