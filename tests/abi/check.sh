#!/usr/bin/env bash
# tests/abi/check.sh: the ABI check of libwsc.
#
#   tests/abi/check.sh [LIBRARY]   compare include/wsc.h with the reference tests/abi/libwsc.abi;
#                                  with LIBRARY (a libwsc.so), also check that it exports exactly
#                                  the functions the header declares
#   tests/abi/check.sh --update    rewrite tests/abi/libwsc.abi from include/wsc.h (at a release)
#   tests/abi/check.sh --self-test show on small headers that a removed function and a changed
#                                  struct fail the check, and that added functions pass
#
# The ABI is what the header gives C: the functions and every type they reach. stub.py turns
# a header into C definitions of its functions; compiled with -g, libabigail's abidw reads
# their signatures and type layouts from C's DWARF, and abidiff compares two such dumps.
# (abidw on the Rust library itself would also see inside the opaque handles and name types
# by their Rust module paths, so an internal refactoring would look like an ABI change.)
# A removed function, a changed signature, a moved or resized struct member, a renumbered
# enumerator fail; added functions and added enumerators pass. Needs abidw and abidiff
# (Debian: abigail-tools), python3 and cc.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
reference="$here/libwsc.abi"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in abidw abidiff python3 cc; do
  command -v "$tool" >/dev/null || fail "$tool not found (scripts/bootstrap.sh installs abigail-tools)"
done

# dump HEADER OUT.abi: the ABI HEADER describes, as abidw writes it. The dump names no
# path, line or machine-specific directory, so it only changes when the ABI does.
dump() {
  local dir
  dir=$(mktemp -d "$tmp/dump.XXXX")
  python3 "$here/stub.py" "$1" >"$dir/wsc_abi.c"
  (cd "$dir" && cc -std=c11 -g -shared -fPIC -Wall -Wextra -Werror -pedantic \
     -Wno-unused-parameter wsc_abi.c -o libwsc_abi.so)
  abidw --no-corpus-path --no-comp-dir-path --no-show-locs "$dir/libwsc_abi.so" >"$2"
}

# compare OLD.abi NEW.abi: abidiff's report; non-zero unless nothing but additions changed.
compare() {
  local rc=0
  abidiff --no-added-syms "$1" "$2" || rc=$?
  # Bits of abidiff's status: 1 error, 2 usage, 4 an ABI change, 8 an incompatible one.
  [ "$rc" -eq 0 ]
}

case "${1:-}" in
--update)
  dump "$repo/include/wsc.h" "$reference"
  echo "wrote $reference ($(grep -c '<elf-symbol ' "$reference") functions)"
  ;;

--self-test)
  st="$here/selftest"
  dump "$st/base.h" "$tmp/base.abi"
  for variant in added removed changed; do
    dump "$st/$variant.h" "$tmp/$variant.abi"
  done
  echo "--- added functions must pass"
  compare "$tmp/base.abi" "$tmp/added.abi" || fail "a function added was reported as a break"
  for variant in removed changed; do
    echo "--- $variant must fail"
    out=$(compare "$tmp/base.abi" "$tmp/$variant.abi") && fail "$variant.h passed the ABI check"
    echo "$out"
    case $variant in
      removed) grep -q "1 Removed function" <<<"$out" && grep -q "t_count" <<<"$out" ;;
      changed) grep -q "'uint32_t flags' offset changed from 64 to 96" <<<"$out" ;;
    esac || fail "abidiff did not say what changed in $variant.h"
  done
  echo "ABI check self-test: removed function and changed struct fail, added function passes"
  ;;

--* | -*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;

*)
  [ -f "$reference" ] || fail "no reference $reference (tests/abi/check.sh --update writes it)"
  dump "$repo/include/wsc.h" "$tmp/current.abi"
  if ! compare "$reference" "$tmp/current.abi"; then
    echo >&2
    fail "include/wsc.h breaks the ABI of tests/abi/libwsc.abi (above). If this release" \
         "changes the ABI on purpose (a new minor version before 1.0, a new major after)," \
         "refresh the reference: tests/abi/check.sh --update (docs/building.md)."
  fi
  echo "include/wsc.h keeps the ABI of tests/abi/libwsc.abi"
  if [ -n "${1:-}" ]; then
    lib=$1
    [ -f "$lib" ] || fail "$lib does not exist"
    python3 "$here/stub.py" --names "$repo/include/wsc.h" | sort >"$tmp/declared"
    nm -D --defined-only "$lib" | awk '{print $3}' | sort >"$tmp/exported"
    if ! diff "$tmp/declared" "$tmp/exported" >"$tmp/diff"; then
      sed -n 's/^< /  declared, not exported: /p; s/^> /  exported, not declared: /p' "$tmp/diff" >&2
      fail "$lib and include/wsc.h disagree"
    fi
    echo "$(basename "$lib") exports exactly the $(wc -l <"$tmp/declared") functions of wsc.h"
  fi
  ;;
esac
