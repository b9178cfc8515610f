#!/bin/sh
# test_schema: real encoder output validates against its schema in schema/json/, and every
# counterexample in tests/schema/invalid/ does not (DESIGN §7: "tests validate real encoder
# output against it"). The report: tests/schema/invalid/*.json; every other wire message
# (reply, error, profile, envelope, result): tests/schema/invalid/<message>/*.json.
#
# ctest gives no order between the unit tests (which encode the documents) and this test, so
# this script makes the files itself: it runs test_json with RRAS_WRITE_REPORT set, which then
# only encodes the full report and writes it there, and each test_wire_<name> with
# RRAS_WRITE_WIRE set to a folder, which then only writes its encoded messages there (all
# atomically, by rename, so a concurrent unit test writing the same bytes cannot leave a half
# file).
set -eu

: "${RRAS_BIN_DIR:?set by ctest}"
: "${RRAS_SOURCE_DIR:?set by ctest}"

test_json="$RRAS_BIN_DIR/tests/test_json"
report="$RRAS_BIN_DIR/test-report.json"
wire_dir="$RRAS_BIN_DIR/test-wire"
validate="$RRAS_SOURCE_DIR/tests/schema/validate.py"

for bin in "$test_json" "$RRAS_BIN_DIR"/tests/test_wire_reply "$RRAS_BIN_DIR"/tests/test_wire_profile \
    "$RRAS_BIN_DIR"/tests/test_wire_envelope "$RRAS_BIN_DIR"/tests/test_wire_result; do
    if [ ! -x "$bin" ]; then
        echo "test_schema: $bin not built (configure with RRAS_BUILD_TESTS=ON)" >&2
        exit 1
    fi
done
if ! /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
    echo "test_schema: /usr/bin/python3 lacks jsonschema (apt-get install python3-jsonschema)" >&2
    exit 1
fi

RRAS_WRITE_REPORT="$report" "$test_json"

mkdir -p "$wire_dir"
rm -f "$wire_dir"/*.json
for name in reply profile envelope result; do
    RRAS_WRITE_WIRE="$wire_dir" "$RRAS_BIN_DIR/tests/test_wire_$name" >/dev/null
done

failed=0
/usr/bin/python3 "$validate" "$RRAS_SOURCE_DIR/schema/json/report.schema.json" \
    --valid "$report" \
    --invalid "$RRAS_SOURCE_DIR"/tests/schema/invalid/*.json || failed=1
# test_wire_reply writes reply*.json and error*.json; each other test_wire_<name>, <name>*.json.
for message in reply error profile envelope result; do
    /usr/bin/python3 "$validate" "$RRAS_SOURCE_DIR/schema/json/$message.schema.json" \
        --valid "$wire_dir/$message"*.json \
        --invalid "$RRAS_SOURCE_DIR/tests/schema/invalid/$message"/*.json || failed=1
done
exit "$failed"
