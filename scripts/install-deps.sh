#!/usr/bin/env bash
# Installs the Debian 12 packages feedmerge needs, and only those that are missing, so a warm
# machine pays nothing. Usage: scripts/install-deps.sh [--test]   (--test adds test/CI tools)
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config ccache
  libcurl4-openssl-dev libpugixml-dev libsqlitecpp-dev libsqlite3-dev libspdlog-dev libfmt-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  doctest-dev libtomlplusplus-dev libcli11-dev libsystemd-dev libicu-dev
  libxxhash-dev libgumbo-dev zlib1g-dev libpqxx-dev libpq-dev
)
# libxml2-utils: xmllint checks what we publish; newsboat reads it; systemd: systemd-analyze
# checks the unit; groff-base: the man pages render without warnings; postgresql: the private
# server the PostgreSQL store's tests start (scripts/pg-test-server.sh).
test_pkgs=(python3-feedparser clang libclang-rt-14-dev brotli libxml2-utils newsboat systemd groff-base
  postgresql)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: these packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
