#!/usr/bin/env bash
# tests/consumer/run.sh BUILD_DIR
# Installs the configured and built BUILD_DIR into a temporary prefix and
# builds tests/consumer against it in every supported way, running each
# program against a local echo server:
#   CMake find_package + wsc::wsc, + wsc::wsc_static, cc + pkg-config (shared),
#   cc + pkg-config --static, find_package from the build tree, add_subdirectory.
# Also checks the installed layout, the soname, DESTDIR and the version check.
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
src="$repo/tests/consumer"
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n--- consumer: %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
cmake_q() { cmake "$@" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; return 1; }; }
no_libwsc_needed() {
  if readelf -d "$1" | grep 'NEEDED.*libwsc' >/dev/null; then fail "$1 needs libwsc.so"; fi
}

libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
prefix="$tmp/prefix"
step "install to $prefix"
cmake_q --install "$build" --prefix "$prefix"
lib="$prefix/$libdir"
for f in "$lib/libwsc.so.0.1.0" "$lib/libwsc.a" "$prefix/include/wsc.h" "$prefix/include/wsc.hpp" \
         "$lib/cmake/wsc/wscConfig.cmake" "$lib/cmake/wsc/wscConfigVersion.cmake" \
         "$lib/cmake/wsc/wscTargets.cmake" "$lib/pkgconfig/wsc.pc"; do
  [ -f "$f" ] || fail "not installed: $f"
done
[ "$(readlink "$lib/libwsc.so.0")" = libwsc.so.0.1.0 ] || fail "libwsc.so.0 is not a link to libwsc.so.0.1.0"
[ "$(readlink "$lib/libwsc.so")" = libwsc.so.0 ] || fail "libwsc.so is not a link to libwsc.so.0"
readelf -d "$lib/libwsc.so.0.1.0" | grep 'SONAME.*\[libwsc\.so\.0\]' >/dev/null || fail "soname is not libwsc.so.0"
grep -q "^prefix=$prefix\$" "$lib/pkgconfig/wsc.pc" || fail "wsc.pc does not name the install prefix"
echo "layout, symlinks, soname libwsc.so.0 and wsc.pc prefix OK"

step "one version everywhere: Cargo.toml, wsc.h, wsc.pc, the CMake package, the library"
cargo_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
header_version=$(sed -n 's/^#define WSC_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/wsc.h")
pc_version=$(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --modversion wsc)
cmake_version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")/\1/p' "$lib/cmake/wsc/wscConfigVersion.cmake")
for v in "$header_version" "$pc_version" "$cmake_version"; do
  [ "$v" = "$cargo_version" ] || fail "versions differ: Cargo.toml $cargo_version, wsc.h $header_version, wsc.pc $pc_version, CMake $cmake_version"
done
echo "all $cargo_version (wsc_version() is checked against it by every consumer run below)"

step "DESTDIR"
DESTDIR="$tmp/dest" cmake_q --install "$build" --prefix /opt/wsc
[ -f "$tmp/dest/opt/wsc/$libdir/libwsc.so.0.1.0" ] || fail "DESTDIR not honoured"
grep -q '^prefix=/opt/wsc$' "$tmp/dest/opt/wsc/$libdir/pkgconfig/wsc.pc" || fail "wsc.pc under DESTDIR has the wrong prefix"
echo "DESTDIR OK"

python3 "$repo/tests/echo_server.py" --port 0 >"$tmp/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "echo server did not start"
url="ws://127.0.0.1:$(cat "$tmp/port")"

# consumer_cmake NAME CMAKE-ARGS...: configure, build and run the consumer.
consumer_cmake() {
  local name=$1; shift
  cmake_q -S "$src" -B "$tmp/$name" "$@"
  cmake_q --build "$tmp/$name" -j2
  "$tmp/$name/consumer" "$url" | tee "$tmp/out"
  grep -q "^wsc $cargo_version: echo received" "$tmp/out" || fail "wsc_version() is not $cargo_version"
  "$tmp/$name/consumer_cpp" "$url"
}

step "CMake, find_package, wsc::wsc"
consumer_cmake shared -DCMAKE_PREFIX_PATH="$prefix"
readelf -d "$tmp/shared/consumer" | grep 'NEEDED.*\[libwsc\.so\.0\]' >/dev/null || fail "consumer does not need libwsc.so.0"

step "CMake, find_package, wsc::wsc_static"
consumer_cmake static -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_STATIC=ON
no_libwsc_needed "$tmp/static/consumer"
no_libwsc_needed "$tmp/static/consumer_cpp"

step "CMake, find_package refuses wsc 1.0 (0.1 is installed)"
if cmake -S "$src" -B "$tmp/v1" -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_WSC_VERSION=1.0 >/dev/null 2>&1; then
  fail "find_package(wsc 1.0) accepted version 0.1"
fi
echo "refused"

export PKG_CONFIG_PATH="$lib/pkgconfig"
cflags="-std=c11 -Wall -Wextra -Werror -pedantic"
step "cc \$(pkg-config --cflags --libs wsc)"
# shellcheck disable=SC2046,SC2086
cc $cflags "$src/consumer.c" -o "$tmp/pc-shared" $(pkg-config --cflags --libs wsc)
LD_LIBRARY_PATH="$lib" "$tmp/pc-shared" "$url"
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Wextra -Werror -pedantic "$src/consumer.cpp" -o "$tmp/pc-shared-cpp" \
  $(pkg-config --cflags --libs wsc)
LD_LIBRARY_PATH="$lib" "$tmp/pc-shared-cpp" "$url"

step "cc \$(pkg-config --static --cflags --libs wsc), prefix without libwsc.so"
cp -a "$prefix" "$tmp/static-prefix"
rm "$tmp/static-prefix/$libdir"/libwsc.so*
# shellcheck disable=SC2046,SC2086
cc $cflags "$src/consumer.c" -o "$tmp/pc-static" \
  $(pkg-config --define-variable=prefix="$tmp/static-prefix" --static --cflags --libs wsc)
no_libwsc_needed "$tmp/pc-static"
"$tmp/pc-static" "$url"
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Wextra -Werror -pedantic "$src/consumer.cpp" -o "$tmp/pc-static-cpp" \
  $(pkg-config --define-variable=prefix="$tmp/static-prefix" --static --cflags --libs wsc)
no_libwsc_needed "$tmp/pc-static-cpp"
"$tmp/pc-static-cpp" "$url"

step "CMake, find_package from the build tree"
consumer_cmake buildtree -Dwsc_DIR="$build/lib/cmake/wsc"

step "CMake, add_subdirectory + find_package"
cargo_dir=$(sed -n 's/^WSC_CARGO_TARGET_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")
consumer_cmake subdir -DCONSUMER_WSC_SOURCE_DIR="$repo" -DWSC_CARGO_TARGET_DIR="$cargo_dir"

echo
echo "consumer: all ways of using wsc work"
