#!/usr/bin/env bash
# scripts/bootstrap.sh: installs what scripts/test.sh needs and a fresh
# machine may lack. Idempotent and non-interactive (fine as root under CI).
#   .venv/         Python venv with cmake and kosoku==0.1.0 (Autobahn runner), from PyPI
#   pkg-config, valgrind, gcc/g++, openssl, abigail-tools (abidw, abidiff for the
#   ABI check), binutils (objcopy)   from apt, only when missing
# The Rust toolchain (cargo, rustfmt, clippy) must already be installed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# --- system packages ---------------------------------------------------------
missing=()
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v cc >/dev/null || missing+=(gcc)
command -v c++ >/dev/null || missing+=(g++)
command -v python3 >/dev/null || missing+=(python3)
command -v openssl >/dev/null || missing+=(openssl)  # certificates for the wss example test
command -v abidiff >/dev/null || missing+=(abigail-tools)  # the ABI check (tests/abi/check.sh)
command -v objcopy >/dev/null || missing+=(binutils)  # strip and split the installed libraries
# libwebsockets: the benchmark's and the Autobahn comparison's second library (bench/)
pkg-config --exists libwebsockets 2>/dev/null || missing+=(libwebsockets-dev)
# Debian's python3 creates venvs only with python3-venv (it provides ensurepip).
if [ ! -x .venv/bin/python ] && command -v python3 >/dev/null &&
   ! python3 -c 'import ensurepip' 2>/dev/null; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]} with apt-get"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q </dev/null
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

# --- Rust toolchain ------------------------------------------------------------
for tool in "cargo --version" "cargo fmt --version" "cargo clippy --version"; do
  if ! $tool >/dev/null 2>&1; then
    echo "bootstrap: '$tool' failed: install Rust with rustfmt and clippy" >&2
    exit 1
  fi
done

# --- Python venv ---------------------------------------------------------------
[ -x .venv/bin/python ] || python3 -m venv .venv
want=()
[ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("kosoku"))' 2>/dev/null)" = 0.1.0 ] ||
  want+=(kosoku==0.1.0)
[ -x .venv/bin/cmake ] || want+=("cmake>=3.21")
if [ ${#want[@]} -gt 0 ]; then
  echo "bootstrap: installing ${want[*]} into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "${want[@]}" </dev/null
fi

echo "bootstrap: ok ($(.venv/bin/cmake --version | head -n1), kosoku 0.1.0," \
     "$(cargo --version), $(pkg-config --version 2>/dev/null | sed 's/^/pkg-config /')," \
     "$(valgrind --version), $(abidiff --version))"
