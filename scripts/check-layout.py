#!/usr/bin/env python3
"""check-layout: the architecture's arrows (docs/internals/architecture.md), checked on the sources.

The CMake libraries already refuse most forbidden includes (a folder's headers are visible only
to the libraries that link it); this checks what include paths cannot:
  - every header name is unique, so a plain #include "x.h" names one file;
  - proto includes nothing of ours; agent and collector never include each other;
  - inside the collector and the agent, a folder includes only the folders its arrows allow
    (api reads the store through store.h only, net knows nothing of api, store or ingest);
  - *_int.h headers are included only from their own folder;
  - only store/sqlite includes sqlite3.h, only net/tls includes mbedTLS's SSL headers, only
    *_win32.c files include windows.h;
  - no include cycle between modules (a .c/.h pair) or between folders.
Tests (tests/) may include anything: they are white-box.

Usage: check-layout.py [ROOT]   (exit 0 clean, 1 with one line per violation)
"""
import os
import re
import sys

# Folder (relative to the root) -> folders whose headers it may include (besides its own).
# Leaves first. "proto" may be included by everything in agent/ and collector/.
COLLECTOR_ARROWS = {
    "collector/base": set(),
    "collector/net/tls": {"collector/base"},
    "collector/net": {"collector/net/tls", "collector/base"},
    "collector/store": set(),
    "collector/store/sqlite": {"collector/store", "collector/base"},
    "collector/ingest": {"collector/store", "collector/base"},
    "collector/jobs": {"collector/store", "collector/base"},
    "collector/api": {"collector/net", "collector/net/tls", "collector/ingest",
                      "collector/store", "collector/base"},
    "collector/app": {"collector/api", "collector/jobs", "collector/store/sqlite",
                      "collector/store", "collector/net", "collector/net/tls",
                      "collector/ingest", "collector/base"},
    "collector": {"collector/app", "collector/base"},  # main.c: dispatch only
    "collector/ctl": set(),
}
AGENT_ARROWS = {
    # the only folder that calls the operating system's files, clock and processes
    "agent/os": set(),
    "agent/config": {"agent/os"},
    "agent/source": {"agent/config", "agent/os"},
    "agent/remediate": {"agent/source", "agent/config", "agent/os"},
    # the run loop applies fetched profiles (docs/decisions/013-results-spool.md)
    "agent/deliver": {"agent/remediate", "agent/source", "agent/config", "agent/os"},
    "agent/cli": {"agent/remediate", "agent/deliver", "agent/source", "agent/config", "agent/os"},
}
ARROWS = {**COLLECTOR_ARROWS, **AGENT_ARROWS}
# Headers of store/sqlite that other folders may include (the rest is the implementation's).
PUBLIC_SQLITE_HEADERS = {"checkpoint.h"}
GENERATED = {"schema_sql.h": "collector/store/sqlite"}
SQLITE_ONLY = "collector/store/sqlite"
SSL_ONLY = "collector/net/tls"
SSL_HEADER = re.compile(r"^mbedtls/(ssl[a-z_]*|net_sockets)\.h$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_DIRS = ("proto", "agent", "collector")


def sources(root):
    for top in SOURCE_DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def includes(root, path):
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield lineno, m.group(1), m.group(2)


def top_of(path):
    return path.split("/", 1)[0]


def module_of(path):
    """A module is a .c/.h pair; its internal header x_int.h belongs to module x."""
    base = os.path.splitext(path)[0]
    return base[: -len("_int")] if base.endswith("_int") else base


def find_cycle(graph):
    """One cycle of the directed graph {node: set(nodes)} as a list, or None."""
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def check(root):
    errors = []
    files = list(sources(root))
    headers = {}
    for path in files:
        if path.endswith(".h"):
            name = os.path.basename(path)
            if name in headers:
                errors.append(f"{path}: header name also used by {headers[name]}")
            headers[name] = path
    module_graph = {}
    folder_graph = {}
    for path in files:
        folder = os.path.dirname(path)
        top = top_of(path)
        for lineno, kind, name in includes(root, path):
            where = f"{path}:{lineno}"
            if kind == "<":
                if name == "sqlite3.h" and folder != SQLITE_ONLY:
                    errors.append(f"{where}: only {SQLITE_ONLY} includes sqlite3.h")
                if SSL_HEADER.match(name) and folder != SSL_ONLY:
                    errors.append(f"{where}: only {SSL_ONLY} includes mbedTLS SSL headers ({name})")
                if name.lower() == "windows.h" and not path.endswith("_win32.c"):
                    errors.append(f"{where}: windows.h outside a *_win32.c file")
                continue
            if name in GENERATED:
                if folder != GENERATED[name]:
                    errors.append(f"{where}: {name} is generated for {GENERATED[name]} only")
                continue
            target = headers.get(os.path.basename(name))
            if target is None:
                continue  # a system header written with quotes, or a test-only file
            tfolder = os.path.dirname(target)
            ttop = top_of(target)
            if ttop != "proto" and top == "proto":
                errors.append(f"{where}: proto includes {target} (proto depends on nothing of ours)")
            if {top, ttop} == {"agent", "collector"}:
                errors.append(f"{where}: {top} includes {target} (agent and collector meet only in proto)")
            if target.endswith("_int.h") and tfolder != folder:
                errors.append(f"{where}: {target} is internal to {tfolder}")
            if top == ttop and top in ("collector", "agent") and tfolder != folder:
                allowed = ARROWS.get(folder)
                if allowed is None:
                    errors.append(f"{where}: folder {folder} has no arrows in check-layout.py")
                elif tfolder not in allowed:
                    errors.append(f"{where}: {folder} may not include {target} ({folder} -> {tfolder} is not an arrow)")
                elif tfolder == SQLITE_ONLY and os.path.basename(target) not in PUBLIC_SQLITE_HEADERS:
                    errors.append(f"{where}: {target} belongs to the SQLite implementation; use store.h")
            if module_of(target) != module_of(path):
                module_graph.setdefault(module_of(path), set()).add(module_of(target))
            if tfolder != folder:
                folder_graph.setdefault(folder, set()).add(tfolder)
    cycle = find_cycle(module_graph)
    if cycle:
        errors.append("include cycle between modules: " + " -> ".join(cycle))
    cycle = find_cycle(folder_graph)
    if cycle:
        errors.append("include cycle between folders: " + " -> ".join(cycle))
    return errors


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    errors = check(os.path.abspath(root))
    for e in errors:
        print(f"check-layout: {e}", file=sys.stderr)
    if errors:
        return 1
    print("check-layout: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
