#!/bin/sh
# test_admx: the Group Policy template in deploy/windows/admx/ is what `rrasfleet-agent config
# --admx` generates from the settings table today (so it never drifts from the agent), and it
# passes tests/windows/check_admx.py: well-formed, the ADMX schema's structure, unique ids,
# every $(string.X)/$(presentation.X) resolved in the ADML, one policy per setting of
# `config --markdown` with the table's limits. Then the checker is shown to catch what it is
# for: each of a few broken copies must fail it.
set -eu
: "${RRAS_BIN_DIR:?set by ctest}" "${RRAS_SOURCE_DIR:?set by ctest}"
agent="$RRAS_BIN_DIR/agent/rrasfleet-agent"
check="$RRAS_SOURCE_DIR/tests/windows/check_admx.py"
committed="$RRAS_SOURCE_DIR/deploy/windows/admx"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ -x "$agent" ] || fail "no agent at $agent"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$agent" config --admx "$T/gen" >"$T/admx.out" 2>&1 || fail "config --admx: $(cat "$T/admx.out")"
"$agent" config --markdown >"$T/settings.md" || fail "config --markdown"
for f in rrasfleet.admx en-US/rrasfleet.adml; do
    [ -f "$T/gen/$f" ] || fail "config --admx did not write $f"
done

# 1. The committed copy is today's output, byte for byte.
if ! diff -r "$committed" "$T/gen" >"$T/drift.diff"; then
    head -n 40 "$T/drift.diff" >&2
    fail "deploy/windows/admx differs from the table: regenerate with" \
        "\`rrasfleet-agent config --admx deploy/windows/admx\` and commit"
fi

# 2. The checks.
checked() {
    /usr/bin/python3 "$check" --admx "$1" --adml "$2" --markdown "$T/settings.md"
}
checked "$T/gen/rrasfleet.admx" "$T/gen/en-US/rrasfleet.adml" || fail "check_admx.py refused the template"

# 3. Broken copies must be refused: NAME SED-ON-ADMX SED-ON-ADML.
broken() {
    name=$1
    sed "$2" "$T/gen/rrasfleet.admx" >"$T/$name.admx"
    sed "$3" "$T/gen/en-US/rrasfleet.adml" >"$T/$name.adml"
    if checked "$T/$name.admx" "$T/$name.adml" >"$T/$name.out" 2>&1; then
        cat "$T/$name.out" >&2
        fail "check_admx.py accepted a template with $name"
    fi
    printf 'refused as expected (%s): %s\n' "$name" "$(grep -m1 check_admx "$T/$name.out")"
}
# shellcheck disable=SC2016 # $(string.X) is ADMX text, not shell
broken "an unresolved string" 's/\$(string\.interval_s_Help)/$(string.nowhere)/' ''
broken "a missing presentation" '' '/<presentation id="jitter_percent">/,/<\/presentation>/d'
broken "a duplicate policy" 's/<policy name="proxy"/<policy name="source"/' ''
broken "a dropped policy" '/<policy name="state_dir"/,/<\/policy>/d' ''
broken "malformed XML" 's/<\/policies>/<\/policy>/' ''
broken "a wrong maximum" 's/maxValue="50"/maxValue="51"/' ''
broken "a wrong key" 's/key="Software\\Policies\\rrasfleet\\Agent"/key="Software\\rrasfleet"/' ''
# shellcheck disable=SC2016 # as above
broken "sections out of order" '/<supportedOn>/,/<\/supportedOn>/d;s/<\/policies>/<\/policies><supportedOn><definitions><definition name="SUPPORTED_WindowsServer2012R2_OrLater" displayName="$(string.SUPPORTED_WindowsServer2012R2_OrLater)" \/><\/definitions><\/supportedOn>/' ''
echo "admx: ok"
