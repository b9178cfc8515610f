#!/bin/sh
# The architecture's arrows, checked on the sources (scripts/check-layout.py says which;
# docs/internals/architecture.md draws them). Run by scripts/test.sh and by ctest.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 scripts/check-layout.py "${1:-.}"
