#!/usr/bin/python3
"""Validates JSON documents against a JSON Schema (draft 2020-12).

usage: validate.py SCHEMA [--valid FILE...] [--invalid FILE...]

Every --valid file must validate and every --invalid file must fail (or not be JSON at all).
Prints one line per file; exits 0 only when every file behaved as expected, 1 otherwise,
2 on a usage error or a broken schema. Uses the Debian python3-jsonschema package; "date-time"
is checked with a local RFC 3339 checker when the package has none (it needs extra modules).
"""

import argparse
import datetime
import json
import re
import sys

import jsonschema

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def _is_rfc3339(value):
    if not isinstance(value, str):
        return True  # formats only constrain strings
    m = _RFC3339.match(value)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        datetime.date(year if year > 0 else 2000, month, day)  # year 0000 is valid RFC 3339
    except ValueError:
        return False
    if hour > 23 or minute > 59 or second > 60:
        return False
    offset = m.group(8)
    if offset not in ("Z", "z") and (int(offset[1:3]) > 23 or int(offset[4:6]) > 59):
        return False
    return True


def _format_checker():
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    if "date-time" not in checker.checkers:
        checker = jsonschema.FormatChecker()
        checker.checks("date-time")(_is_rfc3339)
    return checker


def _load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def main(argv):
    parser = argparse.ArgumentParser(description="Validate documents against a JSON Schema.")
    parser.add_argument("schema")
    parser.add_argument("--valid", nargs="*", default=[], metavar="FILE")
    parser.add_argument("--invalid", nargs="*", default=[], metavar="FILE")
    args = parser.parse_args(argv)
    if not args.valid and not args.invalid:
        parser.error("give at least one --valid or --invalid file")

    try:
        schema = _load(args.schema)
        jsonschema.Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print(f"BROKEN SCHEMA {args.schema}: {e}")
        return 2
    validator = jsonschema.Draft202012Validator(schema, format_checker=_format_checker())

    failures = 0
    for path, expect_valid in [(p, True) for p in args.valid] + [(p, False) for p in args.invalid]:
        try:
            document = _load(path)
        except (OSError, ValueError) as e:
            # Unreadable or not JSON: acceptable only for a document meant to be invalid.
            ok = not expect_valid
            print(f"{'ok  ' if ok else 'FAIL'} {path}: not JSON: {e}")
            failures += 0 if ok else 1
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(document))
        if expect_valid and error is None:
            print(f"ok   {path}: valid")
        elif expect_valid:
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"FAIL {path}: expected valid, but /{where}: {error.message}")
            failures += 1
        elif error is None:
            print(f"FAIL {path}: expected invalid, but it validates")
            failures += 1
        else:
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"ok   {path}: invalid as expected (/{where}: {error.message[:120]})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
