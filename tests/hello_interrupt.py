#!/usr/bin/env python3
"""hello_interrupt.py HELLO: Ctrl-C stops c_examples/hello cleanly.

A server accepts the TCP connection and never answers the handshake; once it has accepted
(so hello's SIGINT handler is installed), SIGINT goes to hello, which must close the
connection and exit 0 on its own, not die of the signal.
"""
import signal
import socket
import subprocess
import sys


def main() -> int:
    hello = sys.argv[1]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(30)
        port = listener.getsockname()[1]
        child = subprocess.Popen([hello, f"ws://127.0.0.1:{port}/"])
        try:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)  # the handshake request: hello is inside its loop
                child.send_signal(signal.SIGINT)
                code = child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
    if code != 0:
        print(f"hello exited with {code} after SIGINT (expected 0)", file=sys.stderr)
        return 1
    print("hello stopped on SIGINT and exited 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
