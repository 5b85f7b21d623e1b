#!/usr/bin/env bash
# Starts a single-node k8ts cluster with the embedded SQLite store, after
# installing whatever is missing. Extra arguments go to `k8ts server`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec bin/k8ts server "$@"
