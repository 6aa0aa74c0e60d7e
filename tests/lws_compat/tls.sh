#!/usr/bin/env bash
# tests/lws_compat/tls.sh LWS_TLS: runs the tls test program against a local wss:// echo
# server (tests/echo_server.py --tls) whose certificate, for localhost, is made here.
set -euo pipefail
program=${1:?usage: $0 LWS_TLS}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -addext basicConstraints=critical,CA:FALSE \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
python3 "$here/../echo_server.py" --tls "$tmp/cert.pem" "$tmp/key.pem" -- "$program" "$tmp/cert.pem"
