#!/usr/bin/env bash
# Installs whatever k8ts needs that is missing: Debian packages, npm packages,
# and the TypeScript build. Safe to run again and again (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "k8ts-setup: $*" >&2; }

# Debian packages that k8ts and its tests use (kernel networking, CNI plugins,
# busybox for the process runtime, dig, etcd for the etcd datastore).
DEB_PKGS=(iproute2 nftables iptables conntrack containernetworking-plugins busybox dnsutils etcd-server etcd-client ca-certificates curl util-linux)
missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then say "missing Debian packages: ${missing[*]} (run as root to install them)"; exit 1; fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js 20 or newer.
if ! command -v node >/dev/null 2>&1; then
  say "Node.js 20+ is required; installing Debian's nodejs and npm"
  apt-get install -y -qq nodejs npm >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then say "Node.js $(node --version) is too old: k8ts needs Node.js 20 or newer"; exit 1; fi

# npm packages: install when node_modules is missing or older than the lock file.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || ! node -e 'require("better-sqlite3")' >/dev/null 2>&1; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Build: tsc is incremental, so an up-to-date tree builds in about a second.
say "building (tsc)"
npx --no-install tsc -p tsconfig.json
