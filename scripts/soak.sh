#!/usr/bin/env bash
# scripts/soak.sh: the soak benchmark. Builds bench/soak.c (build-bench/, as scripts/bench.sh
# does, sharing build/cargo) and the echo server, starts the server dropping --drop percent of
# the messages with their connection, and runs soak against it; exits with soak's status
# (0: every check passed; bench/README.md, "Soak", says which).
#
#   scripts/soak.sh [--connections 10000] [--messages 1000] [--drop 1] [--seconds 900]
#                   [--pending 1000] [--reconnect-delay 10] [--seed 1] [--server-threads 1]
#
# The options are soak's (--drop goes to both), and --server-threads, the echo server's tokio
# worker threads. The output (RSS samples, slope, descriptors, accounting) goes to stdout.
# scripts/test.sh runs a short one: 200 connections x 200 messages, 1% dropped.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export CARGO_BUILD_JOBS=2 CMAKE_BUILD_PARALLEL_LEVEL=2

soak_args=()
drop=1
server_threads=1
seed=1
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "soak.sh: $1 needs a value" >&2; exit 2; }
  case "$1" in
    --drop) drop=$2 ;;
    --seed) seed=$2 ;;
    --server-threads) server_threads=$2 ;;
    --connections | --messages | --seconds | --pending | --reconnect-delay)
      soak_args+=("$1" "$2") ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done

# --- build: the same configuration as scripts/bench.sh, so the two share build-bench/ -----------
command -v cmake >/dev/null || bash scripts/bootstrap.sh >&2
bdir=build-bench
cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DWSC_BUILD_BENCH=ON \
  -DWSC_BUILD_EXAMPLES=OFF -DWSC_BUILD_TESTS=OFF -DWSC_INSTALL=OFF -DWSC_BUILD_STATIC=OFF \
  -DWSC_CARGO_TARGET_DIR="$repo/build/cargo" >/dev/null
cmake --build "$bdir" -j2 --target soak >/dev/null
CARGO_TARGET_DIR="$repo/build/cargo" cargo build --release --quiet \
  --manifest-path bench/echo-server/Cargo.toml
server_bin="$repo/build/cargo/release/wsc-bench-echo-server"

# --- the server ------------------------------------------------------------------------------
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$server_bin" --drop "$drop" --seed "$seed" --threads "$server_threads" \
  >"$tmp/port" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 100); do
  [ -s "$tmp/port" ] && break
  sleep 0.05
done
[ -s "$tmp/port" ] || { echo "echo server did not start" >&2; cat "$tmp/server.err" >&2; exit 1; }
url="ws://127.0.0.1:$(head -1 "$tmp/port")/"

# --- the run ---------------------------------------------------------------------------------
# If the server ends during the run, the client would only see refused reconnects until its
# time limit: stop it at once and say so.
"$bdir/bench/soak" --url "$url" --drop "$drop" --seed "$seed" "${soak_args[@]}" &
client_pid=$!
server_gone=0
while kill -0 "$client_pid" 2>/dev/null; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    server_gone=1
    kill "$client_pid" 2>/dev/null || true
    break
  fi
  sleep 1
done
rc=0
wait "$client_pid" || rc=$?
if [ "$server_gone" = 1 ]; then
  server_rc=0
  wait "$server_pid" || server_rc=$?
  echo "soak.sh: the echo server ended during the run (status $server_rc):" >&2
  cat "$tmp/server.err" >&2
  exit 1
fi
hz=$(getconf CLK_TCK)
awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "server: %.1f CPU s (user+system)\n", ($12 + $13) / hz }' \
  "/proc/$server_pid/stat"
exit "$rc"
