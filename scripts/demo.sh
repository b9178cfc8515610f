#!/bin/sh
# The README's main command: installs the dependencies, builds, and runs the fleet demo
# (deploy/demo/run.sh): a collector and 22 simulated RRAS agents on loopback over real mutual
# TLS into a real SQLite database, then the fleet's findings through rrasfleetctl.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
echo "== building (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build >/dev/null
BUILD="$(pwd)/build" ./deploy/demo/run.sh
