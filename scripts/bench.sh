#!/usr/bin/env bash
# scripts/bench.sh: builds the benchmark clients and the echo server, runs wsc and
# libwebsockets alternately (A B A B ...) against the same echo server, and prints a table of
# medians with min-max, client CPU per GB / per 1M messages, ratios against libwebsockets and
# the echo server's CPU. The protocol every client follows is bench/README.md.
#
#   scripts/bench.sh [--modes rtt,throughput,text,conns,ticks,bigmsg] [--rounds 3] [--quick 1]
#                    [--n 100000] [--total 1073741824] [--text-total 268435456]
#                    [--conns 10000] [--big-total 4294967296] [--ticks-n 1000000]
#                    [--deflate 0|1|both] [--tls 0|1] [--tcp 1] [--awake 0] [--lws 1]
#
# Modes: rtt, throughput, text, conns, ticks (many ~200-byte JSON ticks, bench/README.md),
# bigmsg; "wss-MODE" runs MODE over wss:// (TLS: rustls in the echo server, wsc's rustls and
# libwebsockets' OpenSSL in the clients); --tls 1 runs wss-MODE after every MODE listed.
# --deflate 1 offers permessage-deflate (no context takeover both ways) in every run; "both"
# runs every mode without, then with it. Each client run in rtt, throughput, text and ticks
# modes also gets "wire_bytes" (the bytes of frames the echo server received during the run,
# from its /stats) and "wire_per_payload" (wire_bytes / payload bytes sent: the compression
# ratio, about 1.0 plus frame headers without deflate).
#
# wsc runs with its defaults as "wsc" (the payload lent with wsc_send_*_nocopy, outgoing text
# checked), and in throughput and text modes also as "wsc-copy" (the copying wsc_send_*), in
# text mode as "wsc-trust" (outgoing text not checked: trust_outgoing_text), in throughput mode
# as "wsc-stream" (the echoes received in parts: stream_messages).
# bigmsg (not in the default modes) runs wsc alone: one message of --big-total bytes from the
# echo server, received streamed; its line has the peak RSS (ru_maxrss_kb).
# --awake 1 keeps the machine's other CPUs busy with a nice-19 busy loop during rtt runs: on
# a VM a round trip that wakes an idle vCPU costs tens of microseconds whatever the client.
# --quick 1 runs a tenth of every size (a smoke test). --tcp 1 (default) also runs the plain
# TCP echo baseline in throughput mode. --lws 0 leaves libwebsockets out (wsc's own before and
# after; its chart goes to reports/bench/bench.png). Output: reports/bench/runs-<time>.jsonl (one line per
# client run, with name, round, rc, server_cpu_s, load1 appended), reports/bench/latest.jsonl,
# reports/bench/summary.json, and the chart docs/bench.png (docs/bench.svg without matplotlib).
# Timings never fail the script; a client run that fails is shown in the table.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export CARGO_BUILD_JOBS=2 CMAKE_BUILD_PARALLEL_LEVEL=2

modes=rtt,throughput,text,conns
rounds=3
ticks_n=1000000
tls=0
quick=0
n=100000
total=1073741824
text_total=268435456
conns=10000
big_total=4294967296
deflate=0
tcp=1
awake=0
lws=1
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "bench.sh: $1 needs a value" >&2; exit 2; }
  case "$1" in
    --modes) modes=$2 ;;
    --rounds) rounds=$2 ;;
    --quick) quick=$2 ;;
    --n) n=$2 ;;
    --total) total=$2 ;;
    --text-total) text_total=$2 ;;
    --conns) conns=$2 ;;
    --big-total) big_total=$2 ;;
    --deflate) deflate=$2 ;;
    --tls) tls=$2 ;;
    --ticks-n) ticks_n=$2 ;;
    --tcp) tcp=$2 ;;
    --awake) awake=$2 ;;
    --lws) lws=$2 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
if [ "$quick" = 1 ]; then
  n=$((n / 10)) total=$((total / 10)) text_total=$((text_total / 10)) conns=$((conns / 10))
  big_total=$((big_total / 10)) ticks_n=$((ticks_n / 10))
fi
case $deflate in
  0 | 1) deflates=("$deflate") ;;
  both) deflates=(0 1) ;;
  *) echo "bench.sh: --deflate takes 0, 1 or both" >&2; exit 2 ;;
esac
if [ "$tls" = 1 ]; then
  all=()
  for m in ${modes//,/ }; do
    all+=("$m")
    [ "${m#wss-}" = "$m" ] && all+=("wss-$m")
  done
  modes=$(IFS=,; echo "${all[*]}")
fi

# --- tools -------------------------------------------------------------------------------
# cmake and the venv as for the tests; matplotlib draws the chart (an SVG without it).
bash scripts/bootstrap.sh >&2
.venv/bin/python -c 'import matplotlib' 2>/dev/null ||
  .venv/bin/pip install --quiet --disable-pip-version-check matplotlib </dev/null >&2 ||
  echo "bench.sh: matplotlib could not be installed: the chart will be an SVG" >&2

# --- build -------------------------------------------------------------------------------
# Its own build directory (the tests' build/ keeps WSC_BUILD_BENCH off), sharing build/cargo.
bdir=build-bench
cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DWSC_BUILD_BENCH=ON \
  -DWSC_BUILD_EXAMPLES=OFF -DWSC_BUILD_TESTS=OFF -DWSC_INSTALL=OFF -DWSC_BUILD_STATIC=OFF \
  -DWSC_CARGO_TARGET_DIR="$repo/build/cargo" >/dev/null
cmake --build "$bdir" -j2 >/dev/null
CARGO_TARGET_DIR="$repo/build/cargo" cargo build --release --quiet \
  --manifest-path bench/echo-server/Cargo.toml
server_bin="$repo/build/cargo/release/wsc-bench-echo-server"
clients=("wsc:$bdir/bench/bench_client")
if [ "$lws" = 0 ]; then
  :
elif [ -x "$bdir/bench/lws_client" ]; then
  clients+=("libwebsockets:$bdir/bench/lws_client")
else
  echo "bench.sh: libwebsockets not installed (apt-get install libwebsockets-dev): wsc only" >&2
fi

# --- servers -----------------------------------------------------------------------------
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME SCHEME ARGS...: sets ${NAME}_pid and ${NAME}_url
start_server() {
  local name=$1 scheme=$2; shift 2
  "$server_bin" "$@" >"$tmp/$name.port" 2>"$tmp/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    [ -s "$tmp/$name.port" ] && break
    sleep 0.05
  done
  [ -s "$tmp/$name.port" ] || { echo "echo server did not start" >&2; cat "$tmp/$name.err" >&2; exit 1; }
  printf -v "${name}_pid" %s "$pid"
  printf -v "${name}_url" '%s://127.0.0.1:%s/' "$scheme" "$(head -1 "$tmp/$name.port")"
}
# The servers accept permessage-deflate when a client offers it; clients without --deflate 1
# make no offer.
start_server ws ws --deflate 1
ca="$tmp/ca.pem"
case ",$modes," in
  *,wss-*) start_server wss wss --deflate 1 --tls 1 --ca-out "$ca" ;;
esac
[ "$tcp" = 1 ] && start_server raw ws --raw 1

# The bytes of frames an echo server has received so far (its /stats; see stats.rs).
frame_bytes() {
  python3 - "$1" "$ca" <<'EOF'
import json, ssl, sys, urllib.request
url, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca) if url.startswith("wss:") else None
url = url.replace("ws", "http", 1) + "stats"
print(json.load(urllib.request.urlopen(url, context=ctx, timeout=10))["frame_bytes_in"])
EOF
}

# utime+stime of a process in seconds (fields 14 and 15 of /proc/PID/stat, in clock ticks).
hz=$(getconf CLK_TCK)
proc_cpu() {
  awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

outdir=reports/bench
mkdir -p "$outdir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
runs="$outdir/runs-$stamp.jsonl"
: >"$runs"

# run_client NAME BIN SERVER_PID SERVER_URL ROUND ARGS...: appends one JSON line to $runs.
run_client() {
  local name=$1 bin=$2 spid=$3 surl=$4 round=$5; shift 5
  local before after rc=0 line wire0=0 wire1=0 count=1
  case " $* " in *" --mode conns "* | *" --mode bigmsg "* | *" --raw "*) count=0 ;; esac
  [ "$name" = tcp ] && count=0
  [ "$count" = 1 ] && wire0=$(frame_bytes "$surl")
  before=$(proc_cpu "$spid")
  line=$(timeout --kill-after=5 300 "$bin" "$@" 2>"$tmp/client.err") || rc=$?
  after=$(proc_cpu "$spid")
  [ "$count" = 1 ] && wire1=$(frame_bytes "$surl")
  line=$(printf '%s\n' "$line" | tail -n 1)
  python3 - "$line" "$name" "$round" "$rc" "$before" "$after" "$((wire1 - wire0))" "$*" \
    >>"$runs" <<'EOF'
import json, os, sys
line, name, rnd, rc, before, after, wire, args = sys.argv[1:]
try:
    r = json.loads(line)
except ValueError:
    r = {"client": name, "ok": False, "error": "no JSON line (exit %s)" % rc}
    a = args.split()
    # What the report groups runs by: mode, scheme, deflate.
    r["mode"] = a[a.index("--mode") + 1] if "--mode" in a else "?"
    r["url"] = a[a.index("--url") + 1] if "--url" in a else ""
    r["deflate"] = int(a[a.index("--deflate") + 1]) if "--deflate" in a else 0
r.update(name=name, round=int(rnd), rc=int(rc),
         server_cpu_s=round(float(after) - float(before), 3),
         load1=float(open("/proc/loadavg").read().split()[0]))
# The payload bytes the client sent: every echo is a message it sent (rtt: warmup included).
sent = {"rtt": r.get("size", 0) * (r.get("n", 0) + r.get("warmup", 0))}.get(
    r.get("mode"), r.get("bytes", 0))
if int(wire) > 0 and r.get("ok") and sent:
    r.update(wire_bytes=int(wire), wire_per_payload=round(int(wire) / sent, 4))
print(json.dumps(r))
EOF
  local last
  last=$(tail -n 1 "$runs")
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); k={"rtt":"msgs_per_s","throughput":"mb_per_s","text":"mb_per_s","conns":"conns_per_s","ticks":"msgs_per_s","bigmsg":"mb_per_s"}.get(r["mode"]); print("  %-14s round %s %-10s ok=%s %s=%s cpu=%.2fs server_cpu=%.2fs%s %s" % (r["client"], r["round"], r["mode"], r["ok"], k, r.get(k), r.get("user_s",0)+r.get("sys_s",0), r["server_cpu_s"], " wire/payload=%.3f" % r["wire_per_payload"] if "wire_per_payload" in r else "", r.get("error","")))' "$last" >&2
}

echo "bench: modes=$modes rounds=$rounds n=$n total=$total text_total=$text_total conns=$conns ticks_n=$ticks_n deflate=$deflate" >&2
for deflate in "${deflates[@]}"; do
for spec in ${modes//,/ }; do
  mode=${spec#wss-}
  if [ "$mode" = "$spec" ]; then
    spid=$ws_pid surl=$ws_url tls_args=()
  else
    spid=$wss_pid surl=$wss_url tls_args=(--ca "$ca")
  fi
  case $mode in
    rtt) args=(--mode rtt --n "$n") ;;
    throughput) args=(--mode throughput --total "$total") ;;
    text) args=(--mode text --total "$text_total") ;;
    conns) args=(--mode conns --conns "$conns") ;;
    ticks) args=(--mode ticks --n "$ticks_n") ;;
    bigmsg) args=(--mode bigmsg --total "$big_total") ;;
    *) echo "bench.sh: unknown mode $mode" >&2; exit 2 ;;
  esac
  echo "== $spec deflate=$deflate" >&2
  spinners=()
  if [ "$awake" = 1 ] && [ "$mode" = rtt ]; then
    for _ in $(seq $(($(nproc) - 1))); do
      nice -n 19 sh -c 'while :; do :; done' &
      spinners+=("$!")
      pids+=("$!")
    done
  fi
  for round in $(seq "$rounds"); do
    for c in "${clients[@]}"; do
      [ "$mode" = bigmsg ] && [ "${c%%:*}" != wsc ] && continue
      run_client "${c%%:*}" "${c#*:}" "$spid" "$surl" "$round" --url "$surl" "${args[@]}" \
        --deflate "$deflate" "${tls_args[@]}"
      # let TIME_WAIT sockets and the server settle between conns runs
      [ "$mode" = conns ] && sleep 2
    done
    # wsc's variants, in the modes they change: the copying sends, text sent unchecked
    # (over plain ws:// without deflate: what they change is not TLS's or zlib's work).
    variants=()
    if [ "$spec" = "$mode" ] && [ "$deflate" = 0 ]; then
      case $mode in
        throughput) variants=("wsc-copy:--nocopy 0" "wsc-stream:--stream 1") ;;
        text) variants=("wsc-copy:--nocopy 0" "wsc-trust:--check-text 0") ;;
      esac
    fi
    for v in "${variants[@]}"; do
      # shellcheck disable=SC2086 # the variant's options are words
      run_client "${v%%:*}" "$bdir/bench/bench_client" "$spid" "$surl" "$round" --url "$surl" \
        "${args[@]}" --deflate "$deflate" "${tls_args[@]}" ${v#*:}
    done
    # The plain TCP echo: the ceiling of the throughput figures, ws:// and wss:// alike.
    if [ "$tcp" = 1 ] && [ "$spec" = throughput ] && [ "$deflate" = 0 ]; then
      run_client tcp "$bdir/bench/tcp_client" "$raw_pid" "$raw_url" "$round" --url "$raw_url" \
        "${args[@]}"
    fi
  done
  for p in "${spinners[@]}"; do kill "$p" 2>/dev/null || true; done
done
done

cp "$runs" "$outdir/latest.jsonl"
echo
# The documented chart is the comparison's; a wsc-only run draws its own beside its runs.
chart=docs/bench.png
[ "$lws" = 0 ] && chart="$outdir/bench.png"
python3 bench/report.py "$runs" --summary "$outdir/summary.json" --chart "$chart" \
  --autobahn reports/autobahn
echo "runs: $runs"
