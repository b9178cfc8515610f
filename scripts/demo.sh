#!/bin/sh
# The README's main command: installs the dependencies, builds, and runs the offline diagnosis
# on every example capture bundle in tests/fixtures/bundles, showing the KB 2855053 case in full.
# (The fleet demo with a collector and simulated agents replaces this when those land.)
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build >/dev/null

agent=build/agent/rrasfleet-agent
ca="DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
bundles=tests/fixtures/bundles
# The fixtures were made for this date; pinning it keeps the expiry findings as documented.
now=2026-11-25T00:00:00Z

echo "== KB 2855053 scenario: $bundles/kb-787-wildcard-first (expected CA: $ca)"
"$agent" check --bundle "$bundles/kb-787-wildcard-first" --expected-ca "$ca" --now "$now" || true

echo
echo "== Every example bundle (exit 1 = a high or critical finding)"
printf '%-28s %-5s %s\n' "bundle" "exit" "findings"
for dir in "$bundles"/*/; do
    name=$(basename "$dir")
    out=$("$agent" check --bundle "$dir" --expected-ca "$ca" --now "$now") && rc=0 || rc=$?
    ids=$(printf '%s\n' "$out" | sed -n 's/^  \[\([a-z]*\)\] \([A-Z0-9_]*\)$/\2(\1)/p' | sort -u | tr '\n' ' ')
    printf '%-28s %-5s %s\n' "$name" "$rc" "${ids:-none}"
done
