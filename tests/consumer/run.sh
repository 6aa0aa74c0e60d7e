#!/usr/bin/env bash
# tests/consumer/run.sh BUILD_DIR
# Installs the configured and built BUILD_DIR into a temporary prefix and
# builds tests/consumer against it in every supported way, running each
# program against a local echo server:
#   CMake find_package + wsc::wsc, + wsc::wsc_static, cc + pkg-config (shared),
#   cc + pkg-config --static, find_package from the build tree, add_subdirectory;
#   and, when libwsc_lws is built (WSC_LWS_COMPAT), a libwebsockets program
#   (tests/lws_compat/echo.c) through wsc::lws_compat and pkg-config wsc-lws.
# Also checks the installed layout, the soname, the exported symbols, the
# debug info split off (component debug) and --strip, DESTDIR and the version check.
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
# Every name below derives from the version in Cargo.toml. The soname carries the ABI:
# libwsc.so.0.MINOR before 1.0 (each minor may change the ABI), libwsc.so.MAJOR from 1.0 on.
cargo_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
IFS=. read -r major minor _ <<<"$cargo_version"
if [ "$major" = 0 ]; then soversion=0.$minor; else soversion=$major; fi
real=libwsc.so.$cargo_version soname=libwsc.so.$soversion
prefix="$tmp/prefix"
step "install to $prefix"
cmake_q --install "$build" --prefix "$prefix"
lib="$prefix/$libdir"
for f in "$lib/$real" "$lib/libwsc.a" "$prefix/include/wsc.h" "$prefix/include/wsc.hpp" \
         "$lib/cmake/wsc/wscConfig.cmake" "$lib/cmake/wsc/wscConfigVersion.cmake" \
         "$lib/cmake/wsc/wscTargets.cmake" "$lib/pkgconfig/wsc.pc" \
         "$prefix/share/wsc/wsc.supp" "$prefix/bin/wsc"; do
  [ -f "$f" ] || fail "not installed: $f"
done
lws_compat=$(sed -n 's/^WSC_LWS_COMPAT:[A-Z]*=//p' "$build/CMakeCache.txt")
if [ "$lws_compat" = ON ]; then
  for f in "$prefix/include/wsc-lws/libwebsockets.h" "$prefix/include/wsc-lws/lws_config.h" \
           "$lib/libwsc_lws.a" "$lib/libwsc_lws.so" "$lib/pkgconfig/wsc-lws.pc"; do
    [ -e "$f" ] || fail "not installed: $f"
  done
  [ ! -e "$prefix/include/libwebsockets.h" ] || fail "libwebsockets.h installed where a real libwebsockets' would be"
fi
[ "$(readlink "$lib/$soname")" = "$real" ] || fail "$soname is not a link to $real"
[ "$(readlink "$lib/libwsc.so")" = "$soname" ] || fail "libwsc.so is not a link to $soname"
[ "$(find "$lib" -maxdepth 1 -name 'libwsc.so*' | wc -l)" = 3 ] || fail "more than libwsc.so, $soname and $real installed"
got=$(readelf -d "$lib/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "the soname of $real is '$got', not $soname"
grep -q "^prefix=$prefix\$" "$lib/pkgconfig/wsc.pc" || fail "wsc.pc does not name the install prefix"
echo "layout, symlinks, soname $soname and wsc.pc prefix OK"

step "only wsc_* leaves libwsc.so"
nm -D --defined-only "$lib/$real" | awk '{print $3}' >"$tmp/exports"
[ -s "$tmp/exports" ] || fail "$real exports nothing"
if grep -v '^wsc_' "$tmp/exports" >"$tmp/foreign"; then
  cat "$tmp/foreign" >&2
  fail "$real exports symbols other than wsc_* (above)"
fi
echo "$(wc -l <"$tmp/exports") symbols, all wsc_*"

step "installed without debug info; the debug component; --strip"
# sections NAME FILE: the names of FILE's sections that start with NAME.
sections() { readelf -SW "$2" | awk -v n="$1" '{ for (i = 1; i <= NF; i++) if (index($i, n) == 1) print $i }'; }
[ -z "$(sections .debug_ "$lib/$real")" ] || fail "$real has debug sections: $(sections .debug_ "$lib/$real" | tr '\n' ' ')"
[ -z "$(sections .debug_ "$lib/libwsc.a")" ] || fail "libwsc.a has debug sections"
link=$(readelf -p .gnu_debuglink "$lib/$real" | sed -n 's/^ *\[ *0\] *//p')
[ "$link" = "$real.debug" ] || fail "$real's .gnu_debuglink names '$link', not $real.debug"
[ ! -e "$lib/.debug" ] || fail "the debug component was installed without being asked for"
cmake_q --install "$build" --prefix "$prefix" --component debug
debug="$lib/.debug/$real.debug"
[ -f "$debug" ] || fail "cmake --install --component debug did not install $debug"
sections .debug_line "$debug" | grep -q . || fail "$debug has no line tables"
# The CRC-32 .gnu_debuglink ends with must be the debug file's, or debuggers ignore it.
objcopy --dump-section .gnu_debuglink="$tmp/debuglink" "$lib/$real" "$tmp/scratch"
python3 - "$tmp/debuglink" "$debug" <<'PY' || fail "the checksum in $real's .gnu_debuglink does not match $debug"
import sys, zlib
link, debug = (open(p, "rb").read() for p in sys.argv[1:])
sys.exit(int.from_bytes(link[-4:], "little") != zlib.crc32(debug))
PY
cmake_q --install "$build" --prefix "$tmp/stripped" --strip
[ -z "$(sections .symtab "$tmp/stripped/$libdir/$real")" ] || fail "--strip left the symbol table in $real"
cmp -s "$tmp/exports" <(nm -D --defined-only "$tmp/stripped/$libdir/$real" | awk '{print $3}') ||
  fail "--strip changed the exported symbols"
echo "sizes: $(stat -c '%n %s' "$lib/$real" "$lib/libwsc.a" "$debug" "$tmp/stripped/$libdir/$real" |
               sed "s|$tmp/||; s|$prefix/||" | tr '\n' ',' | sed 's/,$//; s/,/, /g') bytes"

step "one version everywhere: Cargo.toml, wsc.h, wsc.pc, the CMake package, the library"
header_version=$(sed -n 's/^#define WSC_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/wsc.h")
pc_version=$(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --modversion wsc)
cmake_version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")/\1/p' "$lib/cmake/wsc/wscConfigVersion.cmake")
for v in "$header_version" "$pc_version" "$cmake_version"; do
  [ "$v" = "$cargo_version" ] || fail "versions differ: Cargo.toml $cargo_version, wsc.h $header_version, wsc.pc $pc_version, CMake $cmake_version"
done
echo "all $cargo_version (wsc_version() is checked against it by every consumer run below)"

step "DESTDIR"
DESTDIR="$tmp/dest" cmake_q --install "$build" --prefix /opt/wsc
[ -f "$tmp/dest/opt/wsc/$libdir/$real" ] || fail "DESTDIR not honoured"
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
  cmake_q -S "$src" -B "$tmp/$name" -DCONSUMER_WSC_VERSION="$major.$minor" "$@"
  cmake_q --build "$tmp/$name" -j2
  "$tmp/$name/consumer" "$url" | tee "$tmp/out"
  grep -q "^wsc $cargo_version: echo received" "$tmp/out" || fail "wsc_version() is not $cargo_version"
  "$tmp/$name/consumer_cpp" "$url"
  if [ "$lws_compat" = ON ]; then
    python3 "$repo/tests/lws_compat/server.py" -- "$tmp/$name/consumer_lws"
  fi
}

step "CMake, find_package, wsc::wsc"
consumer_cmake shared -DCMAKE_PREFIX_PATH="$prefix"
readelf -d "$tmp/shared/consumer" | grep -F "[$soname]" >/dev/null || fail "consumer does not need $soname"

step "CMake, find_package, wsc::wsc_static"
consumer_cmake static -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_STATIC=ON
no_libwsc_needed "$tmp/static/consumer"
no_libwsc_needed "$tmp/static/consumer_cpp"

# find_package(wsc X.Y) accepts this version only when the ABI is the same: the same minor
# before 1.0 (SameMinorVersion), the same major from 1.0 on (SameMajorVersion).
if [ "$major" = 0 ]; then
  refused=("0.$((minor + 1))" 1.0)
  if [ "$minor" -gt 0 ]; then refused+=("0.$((minor - 1))"); fi
else
  refused=("$((major + 1)).0" "$((major - 1)).0")
fi
for v in "${refused[@]}"; do
  step "CMake, find_package(wsc $v) is refused ($cargo_version is installed)"
  if cmake -S "$src" -B "$tmp/v$v" -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_WSC_VERSION="$v" \
       >"$tmp/refused.log" 2>&1; then
    fail "find_package(wsc $v) accepted version $cargo_version"
  fi
  grep -q "wsc_FOUND to FALSE\|not compatible\|version: $cargo_version" "$tmp/refused.log" ||
    { cat "$tmp/refused.log"; fail "find_package(wsc $v) failed for another reason than the version"; }
  echo "refused"
done

export PKG_CONFIG_PATH="$lib/pkgconfig"
cflags="-std=c11 -Wall -Wextra -Werror -pedantic"
step "cc \$(pkg-config --cflags --libs wsc) -Wl,-rpath,\$(pkg-config --variable=libdir wsc)"
# As docs/building.md says for a prefix outside the default library path: the program
# finds libwsc.so through its rpath, without LD_LIBRARY_PATH.
# shellcheck disable=SC2046,SC2086
cc $cflags "$src/consumer.c" -o "$tmp/pc-shared" $(pkg-config --cflags --libs wsc) \
  -Wl,-rpath,"$(pkg-config --variable=libdir wsc)"
env -u LD_LIBRARY_PATH "$tmp/pc-shared" "$url"
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Wextra -Werror -pedantic "$src/consumer.cpp" -o "$tmp/pc-shared-cpp" \
  $(pkg-config --cflags --libs wsc)
LD_LIBRARY_PATH="$lib" "$tmp/pc-shared-cpp" "$url"

if [ "$lws_compat" = ON ]; then
  step "cc \$(pkg-config --cflags --libs wsc-lws): a libwebsockets program, the build line changed only"
  # shellcheck disable=SC2046,SC2086
  cc $cflags "$repo/tests/lws_compat/echo.c" -o "$tmp/pc-lws" $(pkg-config --cflags --libs wsc-lws) \
    -Wl,-rpath,"$(pkg-config --variable=libdir wsc-lws)"
  env -u LD_LIBRARY_PATH python3 "$repo/tests/lws_compat/server.py" -- "$tmp/pc-lws"
fi

step "cc \$(pkg-config --static --cflags --libs wsc), prefix without libwsc.so"
cp -a "$prefix" "$tmp/static-prefix"
rm -f "$tmp/static-prefix/$libdir"/libwsc.so* "$tmp/static-prefix/$libdir"/libwsc_lws.so*
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
if [ "$lws_compat" = ON ]; then
  # shellcheck disable=SC2046,SC2086
  cc $cflags "$repo/tests/lws_compat/echo.c" -o "$tmp/pc-static-lws" \
    $(pkg-config --define-variable=prefix="$tmp/static-prefix" --static --cflags --libs wsc-lws)
  no_libwsc_needed "$tmp/pc-static-lws"
  python3 "$repo/tests/lws_compat/server.py" -- "$tmp/pc-static-lws"
fi

step "CMake, find_package from the build tree"
consumer_cmake buildtree -Dwsc_DIR="$build/lib/cmake/wsc"

step "CMake, add_subdirectory + find_package"
cargo_dir=$(sed -n 's/^WSC_CARGO_TARGET_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")
consumer_cmake subdir -DCONSUMER_WSC_SOURCE_DIR="$repo" -DWSC_CARGO_TARGET_DIR="$cargo_dir"

echo
echo "consumer: all ways of using wsc work"
