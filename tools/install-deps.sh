#!/usr/bin/env bash
# Installs what slipway needs to build, test and run the demo on Debian 12, and nothing that is
# already there. Quiet when everything is present. Used by ./test.sh and ./demo.sh.
#   tools/install-deps.sh            system packages + node modules of tests/
#   tools/install-deps.sh --no-npm   system packages only
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_npm=1
for arg in "$@"; do
  case "$arg" in
    --no-npm) want_npm=0 ;;
    *) echo "install-deps: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev
  libsimdjson-dev libyaml-cpp-dev catch2 libcpp-httplib-dev libvalijson-dev nlohmann-json3-dev
  libre2-dev libgoogle-perftools-dev libssl-dev zlib1g-dev libbrotli-dev prometheus-cpp-dev json-schema-test-suite
  libbenchmark-dev prometheus prometheus-alertmanager redis-server libhiredis-dev chromium
  clang-14 libclang-rt-14-dev
)
# nodejs + npm from Debian only when no node at all: a preinstalled nodesource nodejs ships its own
# npm and conflicts with Debian's npm package.
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: node is installed but npm is not; install npm for that node" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too; check the status line.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if ((EUID == 0)); then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root, no sudo: install them and rerun" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ((want_npm)); then
  cd "$repo_root/tests"
  # Reinstall only when node_modules is missing or older than the manifest / lock file.
  stamp=node_modules/.package-lock.json
  if [[ ! -f $stamp || package.json -nt $stamp || ( -f package-lock.json && package-lock.json -nt $stamp ) ]]; then
    echo "install-deps: installing node modules in tests/"
    if [[ -f package-lock.json ]]; then
      npm ci --no-audit --no-fund --loglevel=error
    else
      npm install --no-audit --no-fund --loglevel=error
    fi
  fi
fi
