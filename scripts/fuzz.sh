#!/usr/bin/env bash
# scripts/fuzz.sh [--time SECONDS_PER_TARGET] [TARGET...]
#
# Builds the fuzz targets in fuzz/ (libFuzzer through cargo-fuzz, coverage instrumentation on
# stable Rust, no sanitizer) and runs each for a bounded time, seeded with the committed corpus
# (fuzz/corpus/TARGET) and every input an earlier run found (fuzz/regressions/TARGET), which are
# thus replayed first. Fails on any finding: a panic (a broken invariant), a crash, an input
# running over 20 s (timeout) or memory over 2 GiB. Inputs the runs add go to
# fuzz/.work/corpus/TARGET, findings to fuzz/.work/artifacts/TARGET; neither is committed.
#
# Targets: handshake receiver deflate proxy_connect socks_negotiation client (all when none is named).
# Default time: 45 s per target. Installs cargo-fuzz into fuzz/.tools when missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo/fuzz"

seconds=45
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds=${2:?--time needs a number of seconds}; shift 2 ;;
    --time=*) seconds=${1#--time=}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(handshake receiver deflate proxy_connect socks_negotiation client)

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

# libFuzzer itself is C++, compiled by libfuzzer-sys.
if ! command -v c++ >/dev/null; then
  echo "fuzz.sh: installing g++ with apt-get"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q </dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends g++ </dev/null
fi

cargo_fuzz_version=0.13.2
if [ "$(.tools/bin/cargo-fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  echo "fuzz.sh: installing cargo-fuzz $cargo_fuzz_version into fuzz/.tools"
  cargo install --quiet --locked "cargo-fuzz@$cargo_fuzz_version" --root .tools
fi
fuzz=(.tools/bin/cargo-fuzz)

# No sanitizer: stable Rust cannot build one in (-Zsanitizer). Coverage instrumentation
# (-Cpasses=sancov-module and -Cllvm-args=-sanitizer-coverage-*) is stable; the default profile
# is optimized with debug assertions and overflow checks on.
mkdir -p .work
echo "fuzz.sh: building the fuzz targets"
if ! "${fuzz[@]}" build --sanitizer none >.work/build.log 2>&1; then
  cat .work/build.log >&2
  echo "fuzz.sh: build failed" >&2
  exit 1
fi

failed=()
for target in "${targets[@]}"; do
  mkdir -p ".work/corpus/$target" ".work/artifacts/$target" "regressions/$target"
  log=".work/$target.log"
  touch ".work/$target.start"
  echo "fuzz.sh: $target for ${seconds}s"
  status=0
  "${fuzz[@]}" run --sanitizer none "$target" \
    ".work/corpus/$target" "corpus/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=".work/artifacts/$target/" >"$log" 2>&1 || status=$?
  # The figures: coverage, corpus and speed at the end.
  grep -E '^#[0-9]+\s+DONE' "$log" | tail -n1 | sed "s/^/  /" || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb):' "$log" |
    sed 's/^stat::/  /' | tr '\n' ' ' || true
  echo
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    echo "fuzz.sh: $target FAILED (exit $status); its log ends:" >&2
    grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)' "$log" | tail -n 40 >&2
    find ".work/artifacts/$target" -type f -newer ".work/$target.start" | while read -r artifact; do
      echo "fuzz.sh: reproduce: (cd fuzz && .tools/bin/cargo-fuzz run --sanitizer none $target $artifact)" >&2
      echo "fuzz.sh: keep it: cp fuzz/$artifact fuzz/regressions/$target/NAME, replayed by" \
           "cargo test --manifest-path fuzz/Cargo.toml" >&2
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, no finding"
