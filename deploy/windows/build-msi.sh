#!/bin/sh
# Builds the agent's MSI from deploy/windows/rrasfleet-agent.wxs with wixl (msitools):
#   deploy/windows/build-msi.sh EXE VERSION OUT.msi
# EXE is the rrasfleet-agent.exe to package, VERSION the product version (MAJOR.MINOR.PATCH,
# the project's; scripts/build-windows.sh passes it, the upgrade test a higher one).
#
# wixl 0.101 lacks two things the package needs, which are added to the built database with
# msibuild (msitools' SQL on the tables), so that the .wxs itself stays plain WiX:
#   - <Condition> inside <Component> (wixl stops at it): the conditions are taken out of the
#     source before wixl and written into the Component table's Condition column after;
#   - Secure="yes" on properties: the public properties are appended to
#     SecureCustomProperties, so that a managed (elevated) installation passes them from the
#     client to the installer service.
# wixl also finds a File Source only relative to where it runs: it runs in EXE's folder.
set -eu
[ $# -eq 3 ] || {
    echo "usage: build-msi.sh EXE VERSION OUT.msi" >&2
    exit 2
}
exe=$1
version=$2
out=$3
here=$(cd "$(dirname "$0")" && pwd)
wxs="$here/rrasfleet-agent.wxs"
secure="COLLECTOR_URL;CA_FILE;CA_THUMBPRINT;PROFILE_TRUST_KEY;PROFILE_TRUST_NEXT_KEY;REMEDIATION_MODE;PURGE"

die() {
    echo "build-msi: $*" >&2
    exit 1
}
for tool in wixl msibuild msiinfo; do
    command -v "$tool" >/dev/null || die "$tool not found; scripts/install-deps.sh installs it"
done
[ -f "$exe" ] || die "no $exe"
case $version in
[0-9]*.[0-9]*.[0-9]*) ;;
*) die "version '$version' is not MAJOR.MINOR.PATCH" ;;
esac
case $out in
/*) ;;
*) out="$(pwd)/$out" ;;
esac

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# Component conditions: "ID<TAB>CONDITION" lines, and the source without them. Each
# <Condition> must sit on one line inside a <Component Id="...">.
awk -v pairs="$T/conditions" '
    /<Component[ \t]/ {
        id = $0
        sub(/.*<Component[^>]* Id="/, "", id)
        sub(/".*/, "", id)
    }
    /<\/Component>/ { id = "" }
    /<Condition>.*<\/Condition>/ && id != "" {
        cond = $0
        sub(/.*<Condition>/, "", cond)
        sub(/<\/Condition>.*/, "", cond)
        print id "\t" cond > pairs
        next
    }
    /<Condition/ && id != "" { print "build-msi: a component condition must be one line" > "/dev/stderr"; exit 1 }
    { print }
' "$wxs" >"$T/agent.wxs"
[ -s "$T/conditions" ] || die "no component conditions found in $wxs"
if grep -q "'" "$T/conditions"; then
    die "a component condition holds a single quote (not quoted for msibuild)"
fi

rm -f "$out"
(cd "$(dirname "$exe")" && wixl -a x64 -D Version="$version" -D AgentExe="$(basename "$exe")" \
    -o "$out" "$T/agent.wxs") >"$T/wixl.log" 2>&1 || {
    cat "$T/wixl.log" >&2
    die "wixl failed"
}

tab=$(printf '\t')
while IFS="$tab" read -r id cond; do
    msibuild "$out" -q "UPDATE \`Component\` SET \`Condition\` = '$cond' WHERE \`Component\` = '$id'" ||
        die "setting the condition of component $id"
done <"$T/conditions"

old=$(msiinfo export "$out" Property | sed -n "s/^SecureCustomProperties$tab//p" | tr -d '\r')
if [ -n "$old" ]; then
    msibuild "$out" -q "UPDATE \`Property\` SET \`Value\` = '$old;$secure' WHERE \`Property\` = 'SecureCustomProperties'"
else
    msibuild "$out" -q "INSERT INTO \`Property\` (\`Property\`, \`Value\`) VALUES ('SecureCustomProperties', '$secure')"
fi || die "setting SecureCustomProperties"

# What was patched in must be there.
msiinfo export "$out" Component >"$T/component.idt"
while IFS="$tab" read -r id cond; do
    grep -q "^$id$tab.*$tab$cond$tab" "$T/component.idt" || die "component $id lacks its condition"
done <"$T/conditions"
msiinfo export "$out" Property | grep -q "^SecureCustomProperties$tab.*COLLECTOR_URL" ||
    die "SecureCustomProperties lacks the public properties"
echo "build-msi: $out (version $version, $(wc -c <"$out") bytes)"
