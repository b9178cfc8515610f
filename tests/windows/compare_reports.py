#!/usr/bin/env python3
"""compare_reports: does the agent's live Windows source see what its bundle source sees?

Used by tests/integration/test_wine_collect.sh for one fixture bundle seeded into a Wine prefix
by rrasfleet-seed.exe. Inputs:
  --linux FILE    `rrasfleet-agent collect --bundle DIR` on Linux (the reference)
  --windows FILE  `wine rrasfleet-agent.exe collect` on the seeded prefix (live source)
  --seed FILE     rrasfleet-seed.exe's output; its `--list` lines give the store's enumeration
                  order and key associations, read by a second program
  --reg FILE      (repeatable) `wine reg query` output of the keys the seed wrote
  --seed-only     check only the seeding (store and registry), not the Windows report

Checks, each failure one line:
  seed    the store holds exactly the bundle's certificates, key association where the bundle
          lists a key; the registry holds exactly the bundle's RasMan/SstpSvc values
  certs   the same SET of certificates (Wine enumerates in reverse thumbprint order, not the
          bundle's order) with equal facts; store_index is 0..n-1 in report order, and that
          order is the store's enumeration order
  policy  ProhibitIpSec and the other registry-derived fields are equal
  netsh   netsh is a stub under Wine: the Windows report says "source unavailable" for the
          rules and the http.sys bindings, never an empty rule list
  findings  the findings that depend neither on store order nor on netsh are equal
Exit 0 when all hold, 1 otherwise.
"""
import argparse
import json
import re
import sys

# Report members of a certificate that are facts of the certificate (all but store_index).
CERT_FACTS = ("parsed", "sha1", "sha256", "serial", "subject", "issuer", "san_dns", "wildcard",
              "eku", "key_usage", "not_before", "not_after", "is_ca", "self_signed",
              "has_private_key", "der")
# The brief's minimum: a Windows report lacking one of these fails even if Linux lacks it too.
CERT_REQUIRED = ("sha1", "sha256", "eku", "has_private_key", "not_before", "not_after",
                 "wildcard", "issuer", "subject")
IPSEC_FIELDS = ("prohibit_ipsec", "allow_l2tp_weak_crypto", "negotiate_dh2048_aes256")
BINDING_FIELDS = ("sstp_cert_sha1", "sstp_cert_sha256")
# Findings whose presence and certificates do not depend on store order or netsh output.
ORDER_FREE_FINDINGS = ("CERT_EXPIRED", "CERT_EXPIRING", "L2TP_NO_CERT", "L2TP_CERT_AMBIGUOUS")
UNAVAILABLE = "source unavailable"
LIST_LINE = re.compile(r"^(\d+) ([0-9A-F]{40}|\?) (key|nokey)\s*$")
REG_VALUE = re.compile(r"^    (.+?)    (REG_[A-Z_]+)(?:    (.*))?$")


class Checker:
    def __init__(self, name):
        self.name = name
        self.failures = []

    def fail(self, area, message):
        self.failures.append(f"{self.name}: {area}: {message}")


def read_enumeration(path):
    """[(sha1, has_key)] in enumeration order, from the --list lines of rrasfleet-seed.exe."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LIST_LINE.match(line.rstrip("\r\n"))
            if m:
                if int(m.group(1)) != len(rows):
                    raise ValueError(f"{path}: list index {m.group(1)} out of sequence")
                rows.append((m.group(2), m.group(3) == "key"))
    return rows


def norm_key(key):
    key = key.strip().rstrip("\\")
    if key.upper().startswith("HKLM\\"):
        key = "HKEY_LOCAL_MACHINE\\" + key[5:]
    return key.lower()


def read_reg_query(paths):
    """{(key, name): (type, data)} from `reg query` outputs (a missing key prints nothing)."""
    values = {}
    for path in paths:
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-16") if raw.startswith(b"\xff\xfe") else raw.decode("cp1252")
        key = None
        for line in text.splitlines():
            if line.upper().startswith(("HKEY_", "HKLM\\")):
                key = norm_key(line)
                continue
            m = REG_VALUE.match(line)
            if m and key is not None:
                values[(key, m.group(1).lower())] = (m.group(2), (m.group(3) or "").strip())
    return values


def reg_data_equal(type_, a, b):
    if type_ in ("REG_DWORD", "REG_QWORD"):
        try:
            return int(a, 16) == int(b, 16)
        except ValueError:
            return False
    if type_ == "REG_BINARY":
        return a.upper() == b.upper()
    return a == b


def check_seed(c, linux, enum, reg):
    snap = linux["snapshot"]
    want = {cert["sha1"]: cert["has_private_key"] for cert in snap["certs"]}
    got = dict(enum)
    if len(got) != len(enum):
        c.fail("seed", "a thumbprint is listed twice in the store")
    if set(got) != set(want):
        c.fail("seed", f"store holds {sorted(got)}, the bundle {sorted(want)}")
    for sha1 in set(got) & set(want):
        if got[sha1] != want[sha1]:
            c.fail("seed", f"{sha1}: key association {got[sha1]}, bundle has_private_key "
                           f"{want[sha1]}")
    if reg is None:
        return
    want_reg = {(norm_key(v["key"]), v["name"].lower()): (v["type"], v.get("data") or "")
                for v in snap.get("registry", [])}
    for k, (type_, data) in sorted(want_reg.items()):
        if k not in reg:
            c.fail("seed", f"registry {k[0]}\\{k[1]} missing")
        elif reg[k][0] != type_ or not reg_data_equal(type_, reg[k][1], data):
            c.fail("seed", f"registry {k[0]}\\{k[1]} is {reg[k]}, bundle {(type_, data)}")
    for k in sorted(set(reg) - set(want_reg)):
        c.fail("seed", f"registry {k[0]}\\{k[1]} = {reg[k]} is not in the bundle")


def check_certs(c, linux, win, enum):
    lsnap, wsnap = linux["snapshot"], win["snapshot"]
    if wsnap.get("certs_available") is not True:
        c.fail("certs", f"certs_available is {wsnap.get('certs_available')!r}")
    lcerts = {cert["sha1"]: cert for cert in lsnap["certs"]}
    wlist = wsnap.get("certs", [])
    wcerts = {cert.get("sha1"): cert for cert in wlist}
    if len(wcerts) != len(wlist):
        c.fail("certs", "a certificate is reported twice")
    if set(lcerts) != set(wcerts):
        c.fail("certs", f"Windows reports {sorted(wcerts)}, the bundle {sorted(lcerts)}")
    for sha1 in sorted(set(lcerts) & set(wcerts)):
        lc, wc = lcerts[sha1], wcerts[sha1]
        for field in CERT_FACTS:
            if field not in lc and field not in CERT_REQUIRED:
                continue
            if field not in wc:
                c.fail("certs", f"{sha1}: no '{field}' in the Windows report")
            elif lc.get(field) != wc[field]:
                c.fail("certs", f"{sha1}: {field} {wc[field]!r} on Windows, "
                                f"{lc.get(field)!r} from the bundle")
    indexes = [cert.get("store_index") for cert in wlist]
    if indexes != list(range(len(wlist))):
        c.fail("certs", f"store_index values {indexes}, expected 0..{len(wlist) - 1} in order")
    order = [cert.get("sha1") for cert in wlist]
    enum_order = [sha1 for sha1, _ in enum]
    if order != enum_order:
        c.fail("certs", f"report order {order} is not the store's enumeration order "
                        f"{enum_order}")


def check_policy(c, linux, win):
    for section, fields in (("ipsec", IPSEC_FIELDS), ("bindings", BINDING_FIELDS)):
        lsec, wsec = linux["snapshot"][section], win["snapshot"].get(section, {})
        for field in fields:
            if field not in wsec:
                c.fail("policy", f"no {section}.{field} in the Windows report")
            elif lsec.get(field) != wsec[field]:
                c.fail("policy", f"{section}.{field} {wsec[field]!r} on Windows, "
                                 f"{lsec.get(field)!r} from the bundle")


def has_unavailable_error(errors, pattern):
    return any(re.search(pattern, e.get("source", ""), re.I) and e.get("code") == UNAVAILABLE
               for e in errors)


def check_netsh(c, win):
    snap = win["snapshot"]
    errors = snap.get("errors", [])
    ipsec, bindings = snap.get("ipsec", {}), snap.get("bindings", {})
    if ipsec.get("rules_available") is not False or ipsec.get("rules"):
        c.fail("netsh", f"rules_available {ipsec.get('rules_available')!r} with "
                        f"{len(ipsec.get('rules', []))} rule(s): netsh is a stub, the rules "
                        "must be unavailable")
    if not has_unavailable_error(errors, r"consec"):
        c.fail("netsh", f"no '{UNAVAILABLE}' error for the connection-security rules in "
                        f"{errors}")
    if bindings.get("ssl_available") is not False or bindings.get("ssl"):
        c.fail("netsh", f"ssl_available {bindings.get('ssl_available')!r}: netsh is a stub, "
                        "the http.sys bindings must be unavailable")
    if not has_unavailable_error(errors, r"sslcert|http"):
        c.fail("netsh", f"no '{UNAVAILABLE}' error for the http.sys bindings in {errors}")


def order_free_findings(doc):
    out = set()
    for f in doc.get("findings", []):
        if f["id"] in ORDER_FREE_FINDINGS or (f["id"] == "WEAK_IPSEC_CRYPTO" and not f["rules"]):
            out.add((f["id"], frozenset(f["certs"])))
    return out


def check_findings(c, linux, win):
    lf, wf = order_free_findings(linux), order_free_findings(win)
    for fid, certs in sorted(lf - wf):
        c.fail("findings", f"{fid} {sorted(certs)} from the bundle, not on Windows")
    for fid, certs in sorted(wf - lf):
        c.fail("findings", f"{fid} {sorted(certs)} on Windows, not from the bundle")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", default="bundle")
    ap.add_argument("--linux", required=True)
    ap.add_argument("--windows")
    ap.add_argument("--seed", required=True)
    ap.add_argument("--reg", action="append")
    ap.add_argument("--seed-only", action="store_true")
    args = ap.parse_args()

    c = Checker(args.name)
    with open(args.linux, encoding="utf-8") as f:
        linux = json.load(f)
    enum = read_enumeration(args.seed)
    check_seed(c, linux, enum, read_reg_query(args.reg) if args.reg else None)
    if not args.seed_only:
        try:
            with open(args.windows, encoding="utf-8") as f:
                win = json.load(f)
        except (OSError, ValueError) as e:
            c.fail("report", f"the Windows report does not read as JSON: {e}")
            win = None
        if win is not None:
            check_certs(c, linux, win, enum)
            check_policy(c, linux, win)
            check_netsh(c, win)
            check_findings(c, linux, win)
    for line in c.failures:
        print(f"FAIL: {line}", file=sys.stderr)
    if c.failures:
        return 1
    n = len(linux["snapshot"]["certs"])
    reversed_thumbprints = [s for s, _ in enum] == sorted((s for s, _ in enum), reverse=True)
    print(f"{args.name}: ok ({n} cert(s); store order "
          f"{'reverse thumbprint' if reversed_thumbprints else 'other'}"
          f"{', seed only' if args.seed_only else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
