#!/usr/bin/env bash
# scripts/test.sh: every check, in order, from a fresh clone. Stops at the
# first failing step and exits non-zero; the last line counts the steps:
# "N passed, 0 failed". Each step runs under a time limit in its own process
# group, which is killed (servers included) on timeout or interruption.
# Build directories: build/ (Release), build-asan/ (ASan+UBSan), build-tsan/ (TSan) and
# build-bench/ (the soak benchmark); all share the cargo target directory build/cargo.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export CARGO_BUILD_JOBS=2 CMAKE_BUILD_PARALLEL_LEVEL=2 CTEST_PARALLEL_LEVEL=2
export CTEST_OUTPUT_ON_FAILURE=1
build=build
asan_build=build-asan
tsan_build=build-tsan

# --- the steps (each also runnable alone: bash scripts/test.sh --step NAME) ---
step_bootstrap() { bash scripts/bootstrap.sh; }
step_fmt() {
  cargo fmt --check
  cargo fmt --check --manifest-path testkit/Cargo.toml
}
step_clippy() {
  cargo clippy --all-targets -- -D warnings
  cargo clippy --all-targets --features fault-injection -- -D warnings
  # The tests' shared kit is its own crate: the main crate's runs build it, not lint or test it.
  cargo clippy --all-targets --manifest-path testkit/Cargo.toml -- -D warnings
}
step_cargo_test() {
  cargo test
  cargo test --manifest-path testkit/Cargo.toml
  # The panic paths, with the test-only fault injection points compiled in.
  cargo test --features fault-injection --test engine_panic --test panic_boundary --test panic_in_loop
}

step_cmake_build() {
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWSC_BUILD_SHARED=ON \
    -DWSC_BUILD_STATIC=ON -DWSC_BUILD_EXAMPLES=ON -DWSC_BUILD_TESTS=ON -DWSC_SANITIZE=OFF
  cmake --build "$build" -j2
}

# The C tests must exist: a run without them would pass vacuously.
require_c_tests() {
  compgen -G 'tests/c/*.c' >/dev/null || { echo "no C tests in tests/c/" >&2; return 1; }
}

step_ctest() {
  require_c_tests
  ctest --test-dir "$build" --no-tests=error --timeout 120
}

step_consumer() { bash tests/consumer/run.sh "$build"; }

# The header against the committed ABI reference (and the library's exports against the
# header); first the check's own proof that it catches a removed function and a changed struct.
step_abi() {
  bash tests/abi/check.sh --self-test
  bash tests/abi/check.sh "$build/lib/libwsc.so"
}

step_sanitizers() {
  require_c_tests
  cmake -S . -B "$asan_build" -DCMAKE_BUILD_TYPE=Release -DWSC_SANITIZE=ON \
    -DWSC_BUILD_EXAMPLES=ON -DWSC_BUILD_TESTS=ON \
    -DWSC_CARGO_TARGET_DIR="$repo/$build/cargo"
  cmake --build "$asan_build" -j2
  # Prove the programs are instrumented before trusting a clean run.
  # (grep >/dev/null, not grep -q: an early exit would SIGPIPE nm under pipefail.)
  local programs
  programs=$(find "$asan_build/tests/c" "$asan_build/c_examples" -type f -perm -u+x 2>/dev/null)
  [ -n "$programs" ] || { echo "no C programs in $asan_build" >&2; return 1; }
  for p in $programs; do
    nm "$p" | grep __asan_init >/dev/null || { echo "$p is not built with ASan" >&2; return 1; }
  done
  echo "ASan runtime referenced by: $(echo "$programs" | xargs -n1 basename | tr '\n' ' ')"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$asan_build" --no-tests=error --timeout 180
}

# The multi-threaded C and C++ tests (tests/c/*thread*) under ThreadSanitizer, the
# library instrumented too (its Rust code and every crate it uses); no suppressions.
step_threads_tsan() {
  compgen -G 'tests/c/*thread*.c' >/dev/null || { echo "no tests/c/*thread*.c" >&2; return 1; }
  cmake -S . -B "$tsan_build" -DCMAKE_BUILD_TYPE=Release -DWSC_SANITIZE_THREAD=ON \
    -DWSC_BUILD_EXAMPLES=OFF -DWSC_BUILD_BENCH=OFF -DWSC_BUILD_TESTS=ON \
    -DWSC_CARGO_TARGET_DIR="$repo/$build/cargo"
  cmake --build "$tsan_build" -j2
  for p in "$tsan_build"/tests/c/*thread*; do
    nm "$p" | grep __tsan_init >/dev/null || { echo "$p is not built with TSan" >&2; return 1; }
  done
  nm "$tsan_build/lib/libwsc.a" 2>/dev/null | grep __tsan_func_entry >/dev/null \
    || { echo "libwsc.a is not built with TSan" >&2; return 1; }
  # force_seq_cst_atomics: Arc's last drop synchronizes through an acquire fence inside std,
  # which TSan cannot see (docs/fuzzing.md).
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 force_seq_cst_atomics=1" \
    ctest --test-dir "$tsan_build" -R thread --no-tests=error --timeout 300
}

# hello over ws://, then wss_client over wss:// (certificate made here with openssl), both
# under valgrind; valgrind/wsc.supp (installed with the library) covers ring's assembly.
step_valgrind() {
  local hello="$build/c_examples/hello" wss="$build/c_examples/wss_client"
  [ -x "$hello" ] || { echo "$hello does not exist (c_examples/hello.c)" >&2; return 1; }
  [ -x "$wss" ] || { echo "$wss does not exist (c_examples/wss_client.c)" >&2; return 1; }
  local vg=(valgrind --error-exitcode=1 --leak-check=full
            --errors-for-leak-kinds=definite,indirect,possible
            --suppressions="$repo/valgrind/wsc.supp")
  python3 tests/echo_server.py -- "${vg[@]}" "$hello"
  local tmp
  tmp=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
  # The server appends its URL ($3 here): reorder to wss_client URL CA MESSAGE.
  python3 tests/echo_server.py --tls "$tmp/cert.pem" "$tmp/key.pem" -- \
    sh -c 'exec valgrind --error-exitcode=1 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect,possible --suppressions="$2" \
      "$0" "$3" "$1" "valgrind over TLS"' "$wss" "$tmp/cert.pem" "$repo/valgrind/wsc.supp" \
    | tee "$tmp/out"
  grep -qx "valgrind over TLS" "$tmp/out" || { echo "no echo over wss://" >&2; return 1; }
  rm -rf "$tmp"
}

# The soak benchmark, short: 200 connections x 200 messages through an echo server that drops
# 1% of them with their connection (reconnect on). Its exit status checks the accounting (one
# last on_close per connection, the on_close count, every echo, lent payloads released) and
# that the descriptors come back to their start count; timing and the RSS slope are only printed.
# It builds build-bench/ (sharing build/cargo) and the echo server as scripts/bench.sh does.
step_soak() {
  bash scripts/soak.sh --connections 200 --messages 200 --drop 1 --seconds 120
}

step_autobahn() { BUILD_DIR="$build" bash scripts/autobahn.sh --check; }
# The cases received in parts and echoed part by part (echo_client --stream), strict on the
# same expected results: all without compression, and a compressed group of each kind (messages
# up to 256 KiB echoed as compressed fragments). The rest of 12.* and 13.* pass too (about 7
# minutes more): scripts/autobahn.sh --check --stream '12.*' '13.*'.
step_autobahn_stream() {
  BUILD_DIR="$build" bash scripts/autobahn.sh --check --stream \
    '1.*' '2.*' '3.*' '4.*' '5.*' '6.*' '7.*' '9.*' '10.*' '12.2.*' '13.1.*'
}

# The libwebsockets layer's Autobahn client (tests/lws_compat/autobahn_client.c: each chunk
# echoed as a fragment, reading stopped with lws_rx_flow_control until it is written), strict
# on the same expected results and the same cases as the streamed run.
step_autobahn_lws() {
  cmake --build "$build" -j2 --target lws_autobahn_client
  AUTOBAHN_CLIENT="$build/tests/lws_compat/lws_autobahn_client" \
    AUTOBAHN_REPORTS=reports/autobahn-lws BUILD_DIR="$build" bash scripts/autobahn.sh --check \
    '1.*' '2.*' '3.*' '4.*' '5.*' '6.*' '7.*' '9.*' '10.*' '12.2.*' '13.1.*'
}

# Coverage-guided fuzzing (docs/fuzzing.md): the fuzz crate's checks and the replay of every
# committed input, then each target for 45 s; any finding fails.
step_fuzz() {
  (cd fuzz && cargo fmt --check && cargo clippy --all-targets -- -D warnings && cargo test)
  bash scripts/fuzz.sh --time 45
}

# name:time limit in seconds
steps=(bootstrap:600 fmt:120 clippy:1200 cargo_test:1200 cmake_build:1200 ctest:600
       consumer:900 abi:300 sanitizers:1200 threads_tsan:900 valgrind:300 soak:600 autobahn:1800
       autobahn_stream:600 autobahn_lws:600 fuzz:1500)

if [ "${1:-}" = --step ]; then
  "step_$2"
  exit
fi

current=
cleanup() {
  # The step's `timeout` leads its own process group: end all of it.
  [ -n "$current" ] && kill -TERM -- "-$current" 2>/dev/null
  true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
start=$SECONDS
for entry in "${steps[@]}"; do
  name=${entry%%:*} limit=${entry##*:}
  printf '\n======== %s (limit %ss) ========\n' "$name" "$limit"
  t0=$SECONDS
  timeout --kill-after=10 "$limit" bash scripts/test.sh --step "$name" </dev/null &
  current=$!
  rc=0
  wait "$current" || rc=$?
  current=
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 124 ] && echo "step $name timed out after ${limit}s" >&2
    echo "======== $name FAILED (exit $rc) after $((SECONDS - t0))s" >&2
    echo "$passed passed, 1 failed"
    exit 1
  fi
  echo "======== $name ok ($((SECONDS - t0))s)"
  passed=$((passed + 1))
done
echo "all steps done in $((SECONDS - start))s"
echo "$passed passed, 0 failed"
