#!/usr/bin/env bash
# tests/wss_example.sh WSS_CLIENT: runs c_examples/wss_client against a local wss:// echo
# server whose certificate (for localhost, made here with openssl) is given as the CA file,
# the way a user points it at a CA bundle. Also checks that without that CA file the
# certificate is rejected.
set -euo pipefail
client=${1:?usage: $0 WSS_CLIENT}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -addext basicConstraints=critical,CA:FALSE -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
server=(python3 "$here/echo_server.py" --tls "$tmp/cert.pem" "$tmp/key.pem" --)
# The server appends the URL as the last argument: reorder to wss_client URL CA MESSAGE.
out=$("${server[@]}" sh -c 'exec "$0" "$2" "$1" "echo over TLS"' "$client" "$tmp/cert.pem" 2>"$tmp/err" \
      || { cat "$tmp/err" >&2; exit 1; })
[ "$out" = "echo over TLS" ] || { echo "unexpected output: $out" >&2; cat "$tmp/err" >&2; exit 1; }
echo "wss_client with the CA file: echoed"
if "${server[@]}" sh -c 'exec "$0" "$1"' "$client" 2>"$tmp/err2" >/dev/null; then
  echo "wss_client accepted an untrusted certificate" >&2; exit 1
fi
grep -q "certificate" "$tmp/err2" || { cat "$tmp/err2" >&2; exit 1; }
echo "wss_client without the CA file: rejected: $(head -n1 "$tmp/err2")"
