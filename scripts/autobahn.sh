#!/usr/bin/env bash
# scripts/autobahn.sh [--check | --write-expected] [--stream] [CASE-GLOB ...]
#
# Runs the Autobahn client test cases (default: the whole suite, 1.* to 13.*,
# compression included) with the kosoku
# fuzzing server against c_examples/echo_client and prints a summary; the
# reports are in reports/autobahn/ (index.html).
#   --check           exit non-zero if any case's behavior or behaviorClose
#                     differs from autobahn/expected-results.json
#   --write-expected  record this run's results in that file (only the cases
#                     matching the globs are replaced)
#   --stream          the client receives messages in parts and echoes each part
#                     as a fragment (echo_client --stream); reports in
#                     reports/autobahn-stream/, checked against the same file
#   --compare-lws     runs the cases twice, with echo_client (agent wsc) and with
#                     bench/libwebsockets_autobahn_client (the same echo client on
#                     libwebsockets, agent libwebsockets), both built Release in
#                     build-compare/, and prints their durations side by side;
#                     reports in reports/autobahn-compare/{wsc,libwebsockets}/
# Environment: BUILD_DIR (default build), AUTOBAHN_TIMEOUT (seconds the client
# may take, default 900), AUTOBAHN_CLIENT (another testee taking URL AGENT),
# AUTOBAHN_REPORTS (where the reports go).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mode=report
stream=()
globs=()
for arg in "$@"; do
  case $arg in
    --check) mode=check ;;
    --write-expected) mode=write ;;
    --stream) stream=(--stream) ;;
    --compare-lws) mode=compare ;;
    -h | --help) sed -n '2,22s/^# \{0,1\}//p' scripts/autobahn.sh; exit 0 ;;
    -*) echo "unknown option: $arg" >&2; exit 2 ;;
    *) globs+=("$arg") ;;
  esac
done
# Every section (the suite has no section 8 or 11, and kosoku refuses a glob
# that matches nothing); 12.* and 13.* are permessage-deflate.
[ ${#globs[@]} -gt 0 ] || globs=('1.*' '2.*' '3.*' '4.*' '5.*' '6.*' '7.*' '9.*' '10.*' '12.*' '13.*')

export PATH="$repo/.venv/bin:$PATH"
# On a fresh machine, install the runner and cmake first (idempotent, quick when done).
if ! command -v kosoku >/dev/null || ! command -v cmake >/dev/null; then
  bash scripts/bootstrap.sh
fi
command -v kosoku >/dev/null || { echo "kosoku not found after scripts/bootstrap.sh" >&2; exit 1; }
build=${BUILD_DIR:-build}
client_timeout=${AUTOBAHN_TIMEOUT:-900}
reports=${AUTOBAHN_REPORTS:-reports/autobahn${stream:+-stream}}
expected=autobahn/expected-results.json
agent=wsc

client=${AUTOBAHN_CLIENT:-}
if [ "$mode" = compare ]; then
  [ ${#stream[@]} -eq 0 ] || { echo "--compare-lws and --stream do not go together" >&2; exit 2; }
  pkg-config --exists libwebsockets ||
    { echo "--compare-lws needs libwebsockets (apt-get install libwebsockets-dev)" >&2; exit 1; }
  build=build-compare
  echo "== building echo_client and libwebsockets_autobahn_client (Release) in $build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWSC_BUILD_BENCH=ON -DWSC_BUILD_EXAMPLES=ON \
    -DWSC_BUILD_TESTS=OFF -DWSC_INSTALL=OFF -DWSC_CARGO_TARGET_DIR="$repo/build/cargo" >/dev/null
  cmake --build "$build" -j2 --target echo_client libwebsockets_autobahn_client
  client="$build/c_examples/echo_client"
elif [ -z "$client" ]; then
  [ -f c_examples/echo_client.c ] || { echo "c_examples/echo_client.c does not exist" >&2; exit 1; }
  echo "== building echo_client in $build"
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" >/dev/null
  cmake --build "$build" -j2 --target echo_client
  client="$build/c_examples/echo_client"
fi

kosoku_pid=
cleanup() { [ -n "$kosoku_pid" ] && kill "$kosoku_pid" 2>/dev/null; true; }
trap cleanup EXIT
include=()
for g in "${globs[@]}"; do include+=(-i "$g"); done

# run_suite CLIENT AGENT REPORTS: one fuzzing server run of the cases against CLIENT; sets
# client_rc (0: the client completed the run) and elapsed (seconds, the whole run).
run_suite() {
  local client=$1 agent=$2 reports=$3
  rm -rf "$reports"
  mkdir -p "$reports"
  log="$reports/kosoku.log"
  start=$(date +%s.%N)
  kosoku -m fuzzingserver -o "$reports" "${include[@]}" 127.0.0.1:0 >"$log" 2>&1 &
  kosoku_pid=$!

  # kosoku prints "fuzzingserver listening on ws://127.0.0.1:PORT" once bound.
  url=
  for _ in $(seq 100); do
    url=$(grep -o 'ws://[0-9.]*:[0-9]*' "$log" | head -n1 || true)
    [ -n "$url" ] && break
    kill -0 "$kosoku_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$log"; echo "kosoku did not start" >&2; exit 1; }
  echo "== running cases ${globs[*]} against $url"

  client_rc=0
  timeout "$client_timeout" "$client" "${stream[@]}" "$url" "$agent" || client_rc=$?
  if [ "$client_rc" -ne 0 ]; then
    echo "echo_client failed (exit $client_rc; 124 = timed out after ${client_timeout}s)" >&2
    # Ask for the reports of the cases run so far, to see where it stopped.
    timeout 30 python3 scripts/autobahn_summary.py --update-reports "$url" --agent "$agent" || true
  fi

  # After /updateReports, kosoku writes the reports and exits by itself
  # (status 1 when some case is not OK: the summary below judges that).
  for _ in $(seq 600); do
    kill -0 "$kosoku_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$kosoku_pid" 2>/dev/null; then
    cat "$log"
    echo "kosoku did not finish within 60 s after the client" >&2
    exit 1
  fi
  wait "$kosoku_pid" || true
  kosoku_pid=
  elapsed=$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$start" "$(date +%s.%N)")

  [ -f "$reports/index.json" ] || { cat "$log"; echo "kosoku wrote no reports" >&2; exit 1; }
}

if [ "$mode" = compare ]; then
  reports=reports/autobahn-compare
  run_suite "$client" wsc "$reports/wsc"
  wsc_rc=$client_rc wsc_elapsed=$elapsed
  run_suite "$build/bench/libwebsockets_autobahn_client" libwebsockets "$reports/libwebsockets"
  echo "== durations side by side"
  python3 scripts/autobahn_summary.py "$reports/wsc" --agent wsc --cases "${globs[@]}" \
    --compare "$reports/libwebsockets" --compare-agent libwebsockets \
    --elapsed "$wsc_elapsed" --compare-elapsed "$elapsed"
  [ "$wsc_rc" -eq 0 ] && [ "$client_rc" -eq 0 ] ||
    { echo "a client did not complete the run (wsc: exit $wsc_rc, libwebsockets: exit $client_rc)" >&2; exit 1; }
  exit 0
fi
run_suite "$client" "$agent" "$reports"
echo "== summary"
summary=(python3 scripts/autobahn_summary.py "$reports" --agent "$agent"
         --elapsed "$elapsed" --cases "${globs[@]}")
if [ "$client_rc" -ne 0 ]; then
  "${summary[@]}"
  echo "echo_client did not complete the run" >&2
  exit 1
fi
case $mode in
  check) "${summary[@]}" --check "$expected" ;;
  write) "${summary[@]}" --write-expected "$expected" ;;
  report) "${summary[@]}" ;;
esac
