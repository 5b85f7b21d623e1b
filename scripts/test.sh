#!/usr/bin/env bash
# The whole k8ts test suite: installs what is missing, builds, then runs every
# unit and end-to-end test with node's test runner. Extra arguments are passed
# to `node --test` (e.g. --test-name-pattern=sqlite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
files=$(find dist/test -name '*.test.js' | sort)
# Tests that touch the kernel create their own network namespaces; they run
# one file at a time so that a 2-core machine is not oversubscribed.
exec node --test --test-concurrency=1 --test-reporter=spec "$@" $files
