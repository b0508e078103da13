#!/usr/bin/env bash
# Installs what Apogee needs to build and test, from Debian 12 packages only. Idempotent: it
# installs only what is missing, and does nothing (no network) when everything is there.
# Runs as root, or through sudo when there is one.
set -euo pipefail

packages=(
  build-essential   # g++ and make
  cmake
  ninja-build
  git
  pkg-config
  clang-format
  libboost-context-dev
  libfmt-dev
  libgtest-dev
  libgmock-dev
  librapidcheck-dev
  libbenchmark-dev
  libgoogle-perftools-dev   # tcmalloc for apogee-sim (sim/CMakeLists.txt)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "setup: missing packages (${missing[*]}) and not root: run as root" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
