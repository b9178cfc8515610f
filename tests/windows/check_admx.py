#!/usr/bin/env python3
"""Checks the agent's Group Policy template (rrasfleet.admx + en-US/rrasfleet.adml).

Group Policy editors refuse a template whose structure is wrong, and Linux has no such editor,
so the structure the ADMX schema prescribes is checked here with the standard library alone
(xml.etree): well-formed XML; the root elements and their revision/schemaVersion; the order
of the top-level sections; policyNamespaces (one target, any using); resources
minRequiredRevision; supportedOn definitions; categories; every policy's attributes
(name, class, displayName, explainText, key, presentation), its child order, its references
(parentCategory, supportedOn) and its elements (text, decimal, enum, boolean, with a valueName);
unique ids; every $(string.X) and $(presentation.X) resolved in the ADML, every presentation
control bound to an element of its policy and every element shown by a control. Then the
settings: every key of `rrasfleet-agent config --markdown` is one policy writing the value of
that name under the agent's policy key, with the table's limits, and there is no other policy.

usage: check_admx.py --admx FILE --adml FILE --markdown FILE
Prints one line per problem; exit 0 when there is none, 1 otherwise, 2 for bad usage.
"""

import argparse
import re
import sys
import xml.etree.ElementTree as ET

NS = "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"
POLICY_KEY = "Software\\Policies\\rrasfleet\\Agent"
VERSION = re.compile(r"^[0-9]+\.[0-9]+$")
REF = re.compile(r"\$\((string|presentation)\.([^)]*)\)")
ITEM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

# The schema's sequences: (child name, min, max), in order; None is unbounded.
ADMX_TOP = [("policyNamespaces", 1, 1), ("supersededAdm", 0, None), ("annotation", 0, None),
            ("resources", 1, 1), ("supportedOn", 0, 1), ("categories", 0, 1),
            ("policies", 0, 1)]
ADML_TOP = [("displayName", 1, 1), ("description", 1, 1), ("annotation", 0, None),
            ("resources", 1, 1)]
POLICY_CHILDREN = [("annotation", 0, None), ("parentCategory", 0, 1), ("seeAlso", 0, None),
                   ("keywords", 0, 1), ("supportedOn", 1, 1), ("enabledValue", 0, 1),
                   ("disabledValue", 0, 1), ("enabledList", 0, 1), ("disabledList", 0, 1),
                   ("elements", 0, 1)]
CATEGORY_CHILDREN = [("annotation", 0, None), ("parentCategory", 0, 1), ("seeAlso", 0, None),
                     ("keywords", 0, 1)]
ELEMENT_KINDS = {"boolean", "decimal", "text", "enum", "list", "longDecimal", "multiText"}
# Which presentation controls may show which element kinds.
CONTROLS = {"textBox": {"text"}, "decimalTextBox": {"decimal", "text"},
            "longDecimalTextBox": {"longDecimal", "text"}, "checkBox": {"boolean"},
            "comboBox": {"text"}, "dropdownList": {"enum"}, "listBox": {"list"},
            "multiTextBox": {"multiText"}}


class Checker:
    def __init__(self):
        self.problems = []

    def fail(self, where, what):
        self.problems.append(f"{where}: {what}")

    def local(self, elem):
        """The element's name without the namespace; a foreign namespace is a problem."""
        if not elem.tag.startswith("{" + NS + "}"):
            self.fail(elem.tag, f"element outside the namespace {NS}")
            return elem.tag
        return elem.tag[len(NS) + 2:]

    def sequence(self, where, parent, spec):
        """Children of parent in the schema's order and counts."""
        names = [self.local(c) for c in parent]
        allowed = {n for n, _, _ in spec}
        for n in names:
            if n not in allowed:
                self.fail(where, f"unexpected element <{n}>")
        pos = 0
        for name, lo, hi in spec:
            count = 0
            while pos < len(names) and names[pos] == name:
                pos += 1
                count += 1
            if count < lo:
                self.fail(where, f"<{name}> missing")
            if hi is not None and count > hi:
                self.fail(where, f"<{name}> {count} times, at most {hi}")
        if pos < len(names) and names[pos] in allowed:
            self.fail(where, f"<{names[pos]}> out of the schema's order")

    def attrs(self, where, elem, required):
        for a in required:
            if not elem.get(a):
                self.fail(where, f"attribute {a} missing or empty")

    def unique(self, what, values):
        seen = set()
        for v in values:
            if v in seen:
                self.fail(what, f"duplicate id '{v}'")
            seen.add(v)
        return seen


def parse(checker, path):
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        checker.fail(path, f"not well-formed XML: {e}")
        return None


def q(name):
    return "{" + NS + "}" + name


def markdown_settings(path):
    """Key -> (type, limits) from the `config --markdown` table."""
    settings = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 6 or not cells[0].startswith("`"):
                continue
            settings[cells[0].strip("`")] = (cells[2], cells[4])
    return settings


def check_admx(c, admx, adml, settings):
    where = "admx"
    if c.local(admx) != "policyDefinitions":
        c.fail(where, "root element is not <policyDefinitions>")
        return
    for a in ("revision", "schemaVersion"):
        if not VERSION.match(admx.get(a, "")):
            c.fail(where, f"{a} '{admx.get(a)}' is not MAJOR.MINOR")
    c.sequence(where, admx, ADMX_TOP)

    ns = admx.find(q("policyNamespaces"))
    prefixes = set()
    if ns is not None:
        c.sequence("policyNamespaces", ns, [("target", 1, 1), ("using", 0, None)])
        for e in ns:
            c.attrs(f"policyNamespaces/{c.local(e)}", e, ("prefix", "namespace"))
        prefixes = c.unique("policyNamespaces prefixes", [e.get("prefix") for e in ns])
    target = ns.find(q("target")) if ns is not None else None
    target_prefix = target.get("prefix") if target is not None else None

    res = admx.find(q("resources"))
    if res is not None and not VERSION.match(res.get("minRequiredRevision", "")):
        c.fail("resources", "minRequiredRevision missing or not MAJOR.MINOR")

    # Names defined here; a reference may carry this file's own prefix or a using prefix.
    def resolves(ref, names):
        if ":" in ref:
            prefix, name = ref.split(":", 1)
            if prefix == target_prefix:
                return name in names
            return prefix in prefixes  # defined in another template, which is not checked
        return ref in names

    definitions = []
    so = admx.find(q("supportedOn"))
    if so is not None:
        c.sequence("supportedOn", so, [("products", 0, 1), ("definitions", 0, 1)])
        for d in so.iter(q("definition")):
            c.attrs("supportedOn/definition", d, ("name", "displayName"))
            definitions.append(d.get("name"))
    definitions = c.unique("supportedOn definitions", definitions)
    if not definitions:
        c.fail("supportedOn", "no definition")

    categories = []
    cats = admx.find(q("categories"))
    if cats is not None:
        for cat in cats:
            if c.local(cat) != "category":
                c.fail("categories", f"unexpected <{c.local(cat)}>")
                continue
            c.attrs("category", cat, ("name", "displayName"))
            c.sequence(f"category {cat.get('name')}", cat, CATEGORY_CHILDREN)
            categories.append(cat.get("name"))
    categories = c.unique("categories", categories)
    if not categories:
        c.fail("categories", "no category")
    for cat in admx.iter(q("category")):
        parent = cat.find(q("parentCategory"))
        if parent is not None and not resolves(parent.get("ref", ""), categories):
            c.fail(f"category {cat.get('name')}", f"parentCategory '{parent.get('ref')}' unknown")

    for e in admx.iter():
        name = e.get("name")
        if name is not None and c.local(e) in ("policy", "category", "definition") and \
                not ITEM_NAME.match(name):
            c.fail(c.local(e), f"name '{name}' is not an item name")

    policies = admx.findall(q("policies") + "/" + q("policy"))
    c.unique("policies", [p.get("name") for p in policies])
    strings, presentations = adml_tables(c, adml)

    for e in admx.iter():
        for a, v in e.attrib.items():
            for kind, ident in REF.findall(v):
                table = strings if kind == "string" else presentations
                if ident not in table:
                    c.fail(f"<{c.local(e)} {a}>", f"$({kind}.{ident}) is not in the ADML")
            if v.startswith("$(") and not REF.fullmatch(v):
                c.fail(f"<{c.local(e)} {a}>", f"malformed reference '{v}'")

    seen_keys = set()
    for p in policies:
        name = p.get("name", "?")
        where = f"policy {name}"
        c.attrs(where, p, ("name", "class", "displayName", "explainText", "key"))
        if p.get("class") != "Machine":
            c.fail(where, f"class '{p.get('class')}', expected Machine")
        if p.get("key") != POLICY_KEY:
            c.fail(where, f"key '{p.get('key')}', expected {POLICY_KEY}")
        c.sequence(where, p, POLICY_CHILDREN)
        parent = p.find(q("parentCategory"))
        if parent is None or not resolves(parent.get("ref", ""), categories):
            c.fail(where, "parentCategory missing or unknown")
        sup = p.find(q("supportedOn"))
        if sup is not None and not resolves(sup.get("ref", ""), definitions):
            c.fail(where, f"supportedOn '{sup.get('ref')}' unknown")
        elements = p.find(q("elements"))
        elems = list(elements) if elements is not None else []
        if not elems and not p.get("valueName"):
            c.fail(where, "neither a valueName nor elements: the policy writes nothing")
        ids = c.unique(f"{where} elements", [e.get("id") for e in elems])
        kinds = {}
        for e in elems:
            kind = c.local(e)
            ew = f"{where} <{kind} id={e.get('id')}>"
            if kind not in ELEMENT_KINDS:
                c.fail(ew, "not a policy element")
                continue
            kinds[e.get("id")] = kind
            c.attrs(ew, e, ("id",) if kind == "list" else ("id", "valueName"))
            if kind in ("decimal", "longDecimal"):
                lo, hi = int(e.get("minValue", "0")), int(e.get("maxValue", "9999"))
                if lo > hi or hi > (2**32 - 1 if kind == "decimal" else 2**64 - 1):
                    c.fail(ew, f"minValue {lo} / maxValue {hi} out of order or range")
            if kind == "enum":
                items = e.findall(q("item"))
                if not items:
                    c.fail(ew, "no item")
                values = []
                for it in items:
                    c.attrs(f"{ew} item", it, ("displayName",))
                    value = it.find(q("value"))
                    if value is None or len(value) != 1:
                        c.fail(f"{ew} item", "needs one <value> with one child")
                        continue
                    v = value[0]
                    values.append(v.text if c.local(v) == "string" else v.get("value"))
                    if c.local(v) == "string" and len(v.text or "") > 255:
                        c.fail(f"{ew} item", "string value longer than 255")
                c.unique(f"{ew} values", values)
        check_presentation(c, where, p, presentations, ids, kinds)

        # The setting behind the policy.
        if name not in settings:
            c.fail(where, "no such setting in the table (config --markdown)")
            continue
        seen_keys.add(name)
        written = [e.get("valueName") for e in elems] + [p.get("valueName")]
        if name not in written:
            c.fail(where, f"writes no value named '{name}'")
        typ, limits = settings[name]
        if len(elems) != 1:
            c.fail(where, f"{len(elems)} elements, expected one for one setting")
            continue
        e = elems[0]
        kind = c.local(e)
        if typ == "unsigned":
            m = re.match(r"^([0-9]+)\.\.([0-9]+)$", limits)
            if kind != "decimal" or m is None or (e.get("minValue"), e.get("maxValue")) != \
                    (m.group(1), m.group(2)):
                c.fail(where, f"expected <decimal> with minValue..maxValue = {limits}")
        elif typ == "string":
            m = re.match(r"^at most ([0-9]+) bytes$", limits)
            if kind == "text":
                if m is None or e.get("maxLength") != m.group(1):
                    c.fail(where, f"text maxLength {e.get('maxLength')}, the table says {limits}")
            elif kind != "enum":
                c.fail(where, f"<{kind}> for a string setting")
        elif typ == "boolean" and kind != "boolean":
            c.fail(where, f"<{kind}> for a boolean setting")
    for key in sorted(set(settings) - seen_keys):
        c.fail("policies", f"setting '{key}' has no policy")


def adml_tables(c, adml):
    """The string and presentation tables of the ADML, by id."""
    strings, presentations = {}, {}
    if adml is None:
        return strings, presentations
    res = adml.find(q("resources"))
    if res is None:
        return strings, presentations
    st = res.find(q("stringTable"))
    if st is not None:
        ids = [s.get("id") for s in st]
        c.unique("adml stringTable", ids)
        for s in st:
            if c.local(s) != "string" or not s.get("id"):
                c.fail("adml stringTable", "an entry that is not <string id=...>")
            strings[s.get("id")] = s.text or ""
    pt = res.find(q("presentationTable"))
    if pt is not None:
        c.unique("adml presentationTable", [p.get("id") for p in pt])
        for p in pt:
            if c.local(p) != "presentation" or not p.get("id"):
                c.fail("adml presentationTable", "an entry that is not <presentation id=...>")
            presentations[p.get("id")] = p
    return strings, presentations


def check_presentation(c, where, policy, presentations, ids, kinds):
    ref = policy.get("presentation")
    if ref is None:
        if ids:
            c.fail(where, "elements without a presentation: an editor could not set them")
        return
    m = REF.fullmatch(ref)
    pres = presentations.get(m.group(2)) if m and m.group(1) == "presentation" else None
    if pres is None:
        return  # already reported as unresolved
    shown = set()
    for ctl in pres:
        kind = c.local(ctl)
        if kind == "text":
            continue
        if kind not in CONTROLS:
            c.fail(f"{where} presentation", f"unknown control <{kind}>")
            continue
        rid = ctl.get("refId")
        if rid not in ids:
            c.fail(f"{where} presentation", f"<{kind} refId={rid}> names no element")
            continue
        if kinds.get(rid) not in CONTROLS[kind]:
            c.fail(f"{where} presentation", f"<{kind}> cannot show a <{kinds.get(rid)}>")
        if kind == "textBox" and ctl.find(q("label")) is None:
            c.fail(f"{where} presentation", "textBox without its <label>")
        if kind == "dropdownList" and ctl.get("defaultItem") is not None:
            items = policy.findall(".//" + q("enum") + f"[@id='{rid}']/" + q("item"))
            if int(ctl.get("defaultItem")) >= len(items):
                c.fail(f"{where} presentation", "defaultItem beyond the enum's items")
        shown.add(rid)
    for missing in sorted(ids - shown):
        c.fail(where, f"element '{missing}' has no control in the presentation")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--admx", required=True)
    ap.add_argument("--adml", required=True)
    ap.add_argument("--markdown", required=True, help="output of rrasfleet-agent config --markdown")
    args = ap.parse_args()
    c = Checker()
    admx = parse(c, args.admx)
    adml = parse(c, args.adml)
    if adml is not None:
        if c.local(adml) != "policyDefinitionResources":
            c.fail("adml", "root element is not <policyDefinitionResources>")
        for a in ("revision", "schemaVersion"):
            if not VERSION.match(adml.get(a, "")):
                c.fail("adml", f"{a} '{adml.get(a)}' is not MAJOR.MINOR")
        c.sequence("adml", adml, ADML_TOP)
        res = adml.find(q("resources"))
        if res is not None:
            c.sequence("adml resources", res, [("stringTable", 0, 1), ("presentationTable", 0, 1)])
    settings = markdown_settings(args.markdown)
    if not settings:
        c.fail(args.markdown, "no settings found in the Markdown table")
    if admx is not None:
        check_admx(c, admx, adml, settings)
        res = admx.find(q("resources"))
        if adml is not None and res is not None:
            need = res.get("minRequiredRevision", "0.0").split(".")
            have = adml.get("revision", "0.0").split(".")
            if all(x.isdigit() for x in need + have) and \
                    tuple(map(int, have)) < tuple(map(int, need)):
                c.fail("adml", "revision below the ADMX's minRequiredRevision")
    for p in c.problems:
        print(f"check_admx: {p}")
    if c.problems:
        return 1
    print(f"check_admx: ok ({len(settings)} settings, "
          f"{len(admx.findall(q('policies') + '/' + q('policy')))} policies)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
