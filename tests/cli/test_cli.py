#!/usr/bin/env python3
"""Tests of the command-line client wsc (cli/wsc.c), one case per run:

    test_cli.py [--wrap 'PROGRAM ARGS'] WSC CASE

runs the program WSC (under PROGRAM ARGS, e.g. valgrind, with --wrap) against a
WebSocket server of its own on 127.0.0.1 and exits 0 when CASE passed. Every wait
is bounded; nothing leaves the loopback interface.

The server (standard library only) answers by path:
    /                 echo every message (a ping gets its pong)
    /header/NAME      first sends the value of the request header NAME, then echoes
    /close/CODE       closes at once with CODE and the reason "bye"
    /noclose          echoes, but never answers the client's Close
    /flaky            the first connection is closed at once with 1001, later ones echo
    /redirect         answers 302 with Location: / (the echo)
    /unauthorized     answers 401 with WWW-Authenticate and a body (counted)
It accepts the first subprotocol offered, answers CONNECT (as an HTTP proxy would,
then serving the tunnelled connection itself) and a SOCKS5 greeting (likewise, with
user name and password when offered), and records the close code of each Close
frame, the target of each CONNECT and SOCKS5 request, the SOCKS5 credentials and
the number of pings received.
The wss case serves wss:// with a certificate made by openssl ($WSC_OPENSSL); the
sockets case also serves on a Unix domain socket (ws+unix://).
"""

import base64
import hashlib
import os
import re
import shlex
import signal
import socket
import socketserver
import ssl
import tempfile
import struct
import subprocess
import sys
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
WAIT = 30  # seconds any single step may take before the case fails


class Failure(Exception):
    pass


# --- the server ----------------------------------------------------------------------------


def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def read_exactly(f, n):
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data


def read_frame(f):
    b0, b1 = read_exactly(f, 2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", read_exactly(f, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", read_exactly(f, 8))
    if not b1 & 0x80 or b0 & 0x70:
        raise EOFError  # unmasked or with RSV bits: not what wsc sends here
    key = read_exactly(f, 4)
    data = read_exactly(f, n)
    mask = (key * (n // 4 + 1))[:n]
    data = (int.from_bytes(data, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return bool(b0 & 0x80), b0 & 0x0F, data


class Handler(socketserver.StreamRequestHandler):
    def setup(self):
        self.request.settimeout(WAIT)
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                pass  # a client that rejects the certificate: the next read fails
        super().setup()

    def handle(self):
        try:
            self.serve()
            if isinstance(self.request, ssl.SSLSocket):
                self.wfile.flush()
                self.request.unwrap()  # close_notify, then TCP
        except (EOFError, OSError, IndexError, KeyError):
            pass

    def read_request(self):
        request_line = self.rfile.readline()
        headers = {}
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return request_line.split(), headers

    def socks(self):
        """RFC 1928 (and RFC 1929 when 0x02 is offered), then the tunnel is served here."""
        _, n = read_exactly(self.rfile, 2)
        if 2 in read_exactly(self.rfile, n):
            self.wfile.write(b"\x05\x02")
            read_exactly(self.rfile, 1)
            user = read_exactly(self.rfile, read_exactly(self.rfile, 1)[0]).decode()
            password = read_exactly(self.rfile, read_exactly(self.rfile, 1)[0]).decode()
            self.server.note("socks_credentials", (user, password))
            self.wfile.write(b"\x01\x00")
        else:
            self.wfile.write(b"\x05\x00")
        _, _, _, atyp = read_exactly(self.rfile, 4)
        if atyp == 3:
            host = read_exactly(self.rfile, read_exactly(self.rfile, 1)[0]).decode()
        elif atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, read_exactly(self.rfile, 4))
        else:
            host = "[%s]" % socket.inet_ntop(socket.AF_INET6, read_exactly(self.rfile, 16))
        port = struct.unpack("!H", read_exactly(self.rfile, 2))[0]
        self.server.note("socks", "%s:%d" % (host, port))
        self.wfile.write(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack("!H", port))

    def serve(self):
        if self.rfile.peek(1)[:1] == b"\x05":
            self.socks()
        self.server.note("peers", self.client_address[0] if self.client_address else "unix")
        request, headers = self.read_request()
        if request[0] == b"CONNECT":
            self.server.note("connects", request[1].decode())
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            request, headers = self.read_request()  # the tunnelled handshake
        path = request[1].decode()
        if path == "/redirect":
            self.wfile.write(b"HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n")
            return
        if path == "/unauthorized":
            self.server.note("unauthorized", path)
            body = b"missing X-Token header\x1b[31m\n"
            self.wfile.write(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        closing = path.startswith("/close/")
        if path == "/flaky":
            closing = self.server.note("flaky", path) == 1
        key = headers["sec-websocket-key"].encode()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        response = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n")
        if "sec-websocket-protocol" in headers:
            chosen = headers["sec-websocket-protocol"].split(",")[0].strip()
            response += b"Sec-WebSocket-Protocol: " + chosen.encode() + b"\r\n"
        self.wfile.write(response + b"\r\n")

        if path.startswith("/header/"):
            value = headers.get(path[len("/header/"):].lower(), "(absent)")
            self.wfile.write(frame(TEXT, value.encode()))
        if closing:
            code = 1001 if path == "/flaky" else int(path[len("/close/"):])
            self.wfile.write(frame(CLOSE, struct.pack("!H", code) + b"bye"))
        message, opcode = [], None
        while True:
            fin, op, data = read_frame(self.rfile)
            if op == PING:
                self.server.note("pings", data)
                self.wfile.write(frame(PONG, data))
            elif op == CLOSE:
                self.server.record(struct.unpack("!H", data[:2])[0] if data else None)
                if path == "/noclose":
                    continue  # never answers: the client has to give up
                if not closing:
                    self.wfile.write(frame(CLOSE, data[:2]))
                return
            elif closing:
                pass  # data after our Close is not answered
            elif op in (TEXT, BINARY, CONT):
                if op != CONT:
                    opcode = op
                message.append(data)
                if fin:
                    self.wfile.write(frame(opcode, b"".join(message)))
                    message = []


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.close_codes = []
        self.seen = {"connects": [], "flaky": [], "pings": [], "unauthorized": [], "peers": [],
                     "socks": [], "socks_credentials": []}
        self.cond = threading.Condition()
        self.tls = tls
        if tls:
            self.url = "wss://localhost:%d" % self.server_address[1]
        else:
            self.url = "ws://127.0.0.1:%d" % self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def note(self, what, value):
        """Records an event; returns how many of its kind there were."""
        with self.cond:
            self.seen[what].append(value)
            return len(self.seen[what])

    def record(self, code):
        with self.cond:
            self.close_codes.append(code)
            self.cond.notify_all()

    def codes(self, n):
        """The close codes received, once there are n (or WAIT seconds have passed)."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.close_codes) >= n, WAIT)
            return list(self.close_codes)


class UnixServer(socketserver.ThreadingUnixStreamServer):
    """The same server on a Unix domain socket at `path`."""
    daemon_threads = True
    tls = None

    def __init__(self, path):
        super().__init__(path, Handler)
        self.close_codes = []
        self.seen = {"connects": [], "flaky": [], "pings": [], "unauthorized": [], "peers": []}
        self.cond = threading.Condition()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    note, record, codes = Server.note, Server.record, Server.codes


# --- running wsc -------------------------------------------------------------------------


class Wsc:
    """wsc running with stdout and stderr collected as they come."""

    def __init__(self, args, stdin=subprocess.DEVNULL, input=None, env=None, stdout=None):
        # The environment's proxy settings would take wsc elsewhere: only `env` counts.
        environ = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        environ.pop("WSC_LOG", None)  # the library's log on stderr: only where a case asks
        environ.update(env or {})
        self.proc = subprocess.Popen(WRAP + [WSC] + args, stdin=stdin,
                                     stdout=stdout or subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=environ)
        self.out, self.err = b"", ""
        self.cond = threading.Condition()
        readers = [threading.Thread(target=self._read, args=(self.proc.stderr, True))]
        if stdout is None:
            readers.append(threading.Thread(target=self._read, args=(self.proc.stdout, False)))
        if input is not None:
            readers.append(threading.Thread(target=self._write, args=(input,)))
        for t in readers:
            t.daemon = True
            t.start()
        self.threads = readers

    def _write(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def _read(self, pipe, is_err):
        while True:
            chunk = pipe.read1(65536)
            if not chunk:
                return
            with self.cond:
                if is_err:
                    self.err += chunk.decode(errors="replace")
                else:
                    self.out += chunk
                self.cond.notify_all()

    def wait_stderr(self, text):
        """Waits until stderr contains `text`."""
        with self.cond:
            if not self.cond.wait_for(lambda: text in self.err or self.proc.poll() is not None,
                                      WAIT):
                raise Failure("no %r on stderr within %ss" % (text, WAIT))
            if text not in self.err:
                raise Failure("wsc exited without printing %r" % text)

    def finish(self, timeout=WAIT):
        """Waits for the exit; returns (status, stdout bytes, stderr text)."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("wsc did not exit within %ss" % timeout)
        for t in self.threads:
            t.join(WAIT)
        with self.cond:
            self.result = (status, self.out, self.err)
        return self.result


def run(args, input=None, env=None):
    """Runs wsc to the end; stdin is `input` (bytes) or at its end at once."""
    w = Wsc(args, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            input=input, env=env)
    return w.finish()


def expect(condition, what, result=None):
    if not condition:
        if result is not None:
            status, out, err = result
            sys.stderr.write("status %s\nstdout: %r\nstderr:\n%s\n" % (status, out[:2000], err))
        raise Failure(what)


def expect_status(result, status):
    expect(result[0] == status, "exit status %s, expected %s" % (result[0], status), result)


def open_stdin():
    """A pipe wsc reads as stdin and that stays open (no end of input) until closed."""
    r, w = os.pipe()
    return r, w


# --- the cases -------------------------------------------------------------------------------


def case_echo(server):
    # Lines in, the same lines out (an empty line is an empty message); then a clean close.
    lines = b"one\ntwo\n\nthree \xc3\xa9\n"
    res = run([server.url + "/"], input=lines)
    expect_status(res, 0)
    expect(res[1] == lines, "stdout differs from stdin", res)
    expect(server.codes(1) == [1000], "the server saw close codes %s" % server.close_codes, res)


def case_valgrind(server):
    # For a run under --wrap valgrind: a clean exit, an interrupted one, a failed connection.
    case_echo(server)
    server.close_codes.clear()
    case_sigint(server)
    case_refused(server)


def case_no_newline(server):
    # A last line without a newline is sent too.
    res = run(["-vv", server.url], input=b"a\nbc")
    expect_status(res, 0)
    expect(res[1] == b"a\nbc\n", "unexpected stdout", res)
    # -vv: the connection's events and each message on stderr, nothing of it on stdout.
    for line in ["* connecting to " + server.url, "* open: " + server.url, "> text 1 bytes",
                 "> text 2 bytes", "* closing with 1000", "< text 1 bytes", "< text 2 bytes",
                 "* closed: 1000, by wsc, clean"]:
        expect(line + "\n" in res[2], "no %r on stderr" % line, res)


def case_usage(server):
    url = server.url
    bad = [
        ([], "no URL"),
        (["-n", "-1", url], "-n"),
        (["-n", "abc", url], "-n"),
        (["-n"], "-n"),
        (["--ping-interval", "12x", url], "--ping-interval"),
        (["--connect-timeout=-5", url], "--connect-timeout"),
        (["--max-message", "99999999999999999999999", url], "--max-message"),
        (["-H", "NoColon", url], "-H"),
        (["--header", ": value", url], "--header"),
        (["--deflate-level", "0", url], "--deflate-level"),
        (["--deflate-offer", "server_max_window_bits=16", url], "--deflate-offer"),
        (["--bogus", url], "--bogus"),
        ([url, url], "one URL"),
        (["--origin"], "--origin"),
    ]
    for args, named in bad:
        res = run(args)
        expect_status(res, 2)
        expect(named in res[2], "stderr does not name %r for %s" % (named, args), res)
        expect("usage: wsc" in res[2], "no usage line for %s" % args, res)
        expect(res[1] == b"", "stdout is not empty for %s" % args, res)
    expect(server.codes(0) == [], "bad usage reached the server")
    res = run(["--help"])
    expect_status(res, 0)
    expect(b"usage: wsc [options] URL" in res[1] and b"--subprotocol" in res[1],
           "--help does not list the options", res)


def case_invalid_url(server):
    res = run(["http://127.0.0.1/"])
    expect_status(res, 2)
    expect("WSC_ERR_INVALID_URL" in res[2] and "usage: wsc" in res[2],
           "no WSC_ERR_INVALID_URL and usage line", res)


def case_version(server):
    res = run(["--version"])
    expect_status(res, 0)
    expect(re.fullmatch(rb"wsc \d+\.\d+\.\d+\S* \(libwsc \d+\.\d+\.\d+\S*\)\n", res[1]),
           "unexpected --version output", res)


def case_refused(server):
    # A bound socket that does not listen refuses connections.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        res = run(["ws://127.0.0.1:%d/" % s.getsockname()[1]])
    expect_status(res, 1)
    expect("WSC_ERR_CONNECT_REFUSED" in res[2] and "connection refused" in res[2],
           "the error is not on stderr", res)
    expect(res[1] == b"", "stdout is not empty", res)
    # A refused handshake: its status and body on stderr, its header fields with -v.
    res = run([server.url + "/unauthorized"])
    expect_status(res, 1)
    expect("server answered 401 Unauthorized, not 101 Switching Protocols: missing X-Token "
           "header [31m" in res[2], "no status line and body in the error", res)
    expect("wsc: the server refused the handshake with status 401\n" in res[2], "no status", res)
    expect("wsc: response body (first 28 bytes):\nmissing X-Token header.[31m\n" in res[2],
           "no body (with its escape character replaced)", res)
    expect("WWW-Authenticate" not in res[2], "header fields without -v", res)
    res = run(["-v", server.url + "/unauthorized"])
    expect_status(res, 1)
    expect("* < WWW-Authenticate: Bearer\n* < Content-Length: 28\n" in res[2],
           "-v does not list the header fields", res)
    # With --reconnect a 401 is not retried, unless --retry-4xx.
    before = len(server.seen["unauthorized"])
    res = run(["--reconnect", "--reconnect-min-delay", "1", server.url + "/unauthorized"])
    expect_status(res, 1)
    expect(len(server.seen["unauthorized"]) == before + 1, "a 401 was retried", res)
    res = run(["--reconnect", "--reconnect-min-delay", "1", "--reconnect-max-attempts", "2",
               "--retry-4xx", server.url + "/unauthorized"])
    expect_status(res, 1)
    expect(len(server.seen["unauthorized"]) == before + 4,
           "--retry-4xx with 2 retries: %d attempts" % (len(server.seen["unauthorized"]) - before - 1),
           res)


def case_count_send(server):
    # --send with stdin at its end still waits for -n messages.
    res = run(["--send", "hello", "--send", "two\nlines", "-n", "2", server.url])
    expect_status(res, 0)
    expect(res[1] == b"hello\ntwo\nlines\n", "unexpected stdout", res)
    # -n 1: the second echo is not printed; wsc closes after the first.
    res = run(["--send", "first", "--send", "second", "-n", "1", server.url])
    expect_status(res, 0)
    expect(res[1] == b"first\n", "unexpected stdout with -n 1", res)
    # -n with stdin lines: the end of stdin does not close, the second message does.
    res = run(["-n", "2", server.url], input=b"x\ny\n")
    expect_status(res, 0)
    expect(res[1] == b"x\ny\n", "unexpected stdout with -n 2 and stdin", res)
    expect(server.codes(3) == [1000, 1000, 1000],
           "the server saw close codes %s" % server.close_codes)


def case_binary_hex(server):
    res = run(["--binary", server.url], input=b"AB\n\x00\xff\n")
    expect_status(res, 0)
    expect(res[1] == b"4142\n00ff\n", "binary messages are not printed as hex", res)


def case_binary_raw(server):
    data = bytes(range(256)).replace(b"\n", b"")
    res = run(["--binary", "--raw", server.url], input=data + b"\n" + b"CD\n")
    expect_status(res, 0)
    expect(res[1] == data + b"CD", "binary messages are not printed raw", res)


def case_stream(server):
    # --stream: messages printed part by part come out as whole lines all the same; -n counts
    # whole messages. A 3 MB message goes through parts of at most the read buffer.
    big = b"s" * 3_000_000
    res = run(["--stream", "-vv", "-n", "2", server.url], input=b"first \xc3\xa9\n" + big + b"\n")
    expect_status(res, 0)
    expect(res[1] == b"first \xc3\xa9\n" + big + b"\n", "streamed stdout differs", res)
    parts = res[2].count("< text part ")
    expect(parts > 2, "a 3 MB message came in %d parts" % parts, res)


def case_header(server):
    res = run(["-H", "X-Test: hello world", "-H", "X-Other:x", "-n", "1",
               server.url + "/header/X-Test"])
    expect_status(res, 0)
    expect(res[1] == b"hello world\n", "the header did not reach the server", res)
    res = run(["--origin", "http://example.com", "-n", "1", server.url + "/header/Origin"])
    expect_status(res, 0)
    expect(res[1] == b"http://example.com\n", "the origin did not reach the server", res)


def case_log(server):
    # -v: the library's debug log, request and response headers included, credentials
    # redacted; each line names the connection ([#N host]). -vv adds the frames.
    url = server.url + "/header/Authorization"
    res = run(["-v", "-H", "Authorization: Bearer s3cret", "-n", "1", url])
    expect_status(res, 0)
    expect(res[1] == b"Bearer s3cret\n", "the header did not reach the server", res)
    for pattern in [r"\* \[#\d+ 127\.0\.0\.1\] > GET /header/Authorization HTTP/1\.1\n",
                    r"\* \[#\d+ 127\.0\.0\.1\] > Authorization: \[redacted\]\n",
                    r"\* \[#\d+ 127\.0\.0\.1\] < HTTP/1\.1 101 Switching Protocols\n",
                    r"\* \[#\d+ 127\.0\.0\.1\] < Upgrade: websocket\n"]:
        expect(re.search(pattern, res[2]), "no %r on stderr" % pattern, res)
    # (Lines of wsc's log start with "*"; a --wrap program may echo the command line.)
    expect(not any("s3cret" in line for line in res[2].splitlines() if line.startswith("*")),
           "the credential is in the log", res)
    expect("frame" not in res[2], "-v shows frames", res)
    res = run(["-vv", "-n", "1", "--send", "hi", server.url])
    expect_status(res, 0)
    expect(re.search(r"\] send frame Text fin=1 rsv1=\d len=\d+ masked\n", res[2]),
           "-vv does not show the frames sent", res)
    expect(re.search(r"\] recv frame Text fin=1 rsv1=\d len=\d+ unmasked\n", res[2]),
           "-vv does not show the frames received", res)
    # Without -v the library says nothing, unless WSC_LOG asks for it.
    res = run(["-n", "1", "--send", "hi", server.url])
    expect("[#" not in res[2], "the library logs without -v", res)
    res = run(["-n", "1", "--send", "hi", server.url], env={"WSC_LOG": "info"})
    expect(re.search(r"Z wsc INFO  \[#\d+ 127\.0\.0\.1\] open ", res[2]),
           "WSC_LOG=info does not log to stderr", res)


def case_subprotocol(server):
    res = run(["-v", "--subprotocol", "chat", "--subprotocol", "superchat", "-n", "1",
               server.url + "/header/Sec-WebSocket-Protocol"])
    expect_status(res, 0)
    expect(res[1] == b"chat, superchat\n", "the offer did not reach the server", res)
    expect("* subprotocol: chat\n" in res[2], "-v does not show the chosen subprotocol", res)


def server_close(server, code):
    r, w = open_stdin()  # stdin stays open: the server closes first
    try:
        p = Wsc(["-v", server.url + "/close/%d" % code], stdin=r)
        os.close(r)
        return p.finish()
    finally:
        os.close(w)


def case_server_close(server):
    res = server_close(server, 1000)
    expect_status(res, 0)
    expect("* closed: 1000 bye, by the server, clean" in res[2], "close not shown by -v", res)
    expect(server.codes(1) == [1000], "wsc did not answer the Close with 1000")


def case_server_close_error(server):
    res = server_close(server, 1011)
    expect_status(res, 1)
    expect("1011 bye" in res[2], "the close code is not on stderr", res)


def case_sigint(server):
    # The first interrupt closes with 1000 and waits for the server's Close: exit 0.
    r, w = open_stdin()
    try:
        p = Wsc(["-v", server.url], stdin=r)
        os.close(r)
        p.wait_stderr("* open")
        p.proc.send_signal(signal.SIGINT)
        res = p.finish()
    finally:
        os.close(w)
    expect_status(res, 0)
    expect("* closed: 1000, by wsc, clean" in res[2], "no clean close after SIGINT", res)
    expect(server.codes(1) == [1000], "the server saw close codes %s" % server.close_codes)
    # A server that never answers: the second interrupt quits at once with 130.
    r, w = open_stdin()
    try:
        p = Wsc(["-v", "--close-timeout", "600000", server.url + "/noclose"], stdin=r)
        os.close(r)
        p.wait_stderr("* open")
        p.proc.send_signal(signal.SIGINT)
        p.wait_stderr("* closing with 1000")
        p.proc.send_signal(signal.SIGINT)
        res = p.finish()
    finally:
        os.close(w)
    expect_status(res, 130)
    expect(server.codes(2) == [1000, 1000], "the server saw close codes %s" % server.close_codes)


def case_large_stdin(server):
    # A send buffer of one byte makes the second line wait for on_writable: nothing is lost.
    lines = b"".join(b"%06d " % i + b"x" * 1000 + b"\n" for i in range(3000))
    res = run(["-vv", "--send-buffer", "1", server.url], input=lines)
    expect_status(res, 0)
    expect(res[1] == lines, "stdout differs from stdin (%d of %d bytes)"
           % (len(res[1]), len(lines)))
    expect("* send buffer full" in res[2], "the send buffer was never full", res)


def case_reconnect(server):
    # The first connection is closed with 1001: wsc reconnects, sends again, gets its echo.
    res = run(["-v", "--reconnect", "--reconnect-min-delay", "1", "--send", "again", "-n", "1",
               server.url + "/flaky"])
    expect_status(res, 0)
    expect(res[1] == b"again\n", "unexpected stdout", res)
    expect("* closed: 1001 bye, by the server, clean" in res[2] and "* reconnecting in" in res[2],
           "-v does not show the reconnect", res)
    expect(len(server.seen["flaky"]) == 2, "%d connections" % len(server.seen["flaky"]), res)
    # Without --reconnect, the same close ends wsc with status 1.
    res = run(["--send", "x", "-n", "1", server.url + "/close/1001"])
    expect_status(res, 1)
    expect("1001 bye" in res[2], "the close code is not on stderr", res)


def case_ping(server):
    # Keepalive pings reach the server; -vv shows the pongs.
    r, w = open_stdin()
    try:
        p = Wsc(["-vv", "--ping-interval", "10", "--ping-timeout", "60000", server.url], stdin=r)
        os.close(r)
        p.wait_stderr("< pong 0 bytes")
    finally:
        os.close(w)  # the end of stdin closes
    res = p.finish()
    expect_status(res, 0)
    expect(len(server.seen["pings"]) >= 1, "no ping reached the server", res)


def case_redirect(server):
    res = run(["--max-redirects", "1", "--send", "moved", "-n", "1", server.url + "/redirect"])
    expect_status(res, 0)
    expect(res[1] == b"moved\n", "the redirect was not followed", res)
    res = run(["--send", "moved", "-n", "1", server.url + "/redirect"])
    expect_status(res, 1)
    expect("WSC_ERR_HANDSHAKE_STATUS" in res[2] and "302" in res[2], "no status error", res)


def case_max_message(server):
    res = run(["--max-message", "10", "--send", "more than ten bytes", "-n", "1", server.url])
    expect_status(res, 1)
    expect("WSC_ERR_MESSAGE_TOO_BIG" in res[2], "no WSC_ERR_MESSAGE_TOO_BIG on stderr", res)
    expect(res[1] == b"", "the message was printed", res)
    expect(server.codes(1) == [1009], "the server saw close codes %s" % server.close_codes)
    res = run(["--max-message", "18", "--send", "exactly 18 bytes..", "-n", "1", server.url])
    expect_status(res, 0)


def case_utf8(server):
    # A line that is not UTF-8 is not sent (said on stderr); the others are.
    res = run([server.url], input=b"ok\n\xff\xfe\nafter\n")
    expect_status(res, 0)
    expect(res[1] == b"ok\nafter\n", "unexpected stdout", res)
    expect("line not sent" in res[2] and "WSC_ERR_INVALID_ARGUMENT" in res[2],
           "the skipped line is not reported", res)
    # --trust-text sends it: the echo is invalid text, which wsc refuses (1007).
    res = run(["--trust-text", server.url], input=b"\xff\xfe\n")
    expect_status(res, 1)
    expect("WSC_ERR_INVALID_UTF8" in res[2], "no WSC_ERR_INVALID_UTF8 on stderr", res)


def case_deflate_offer(server):
    url = server.url + "/header/Sec-WebSocket-Extensions"
    res = run(["-n", "1", url])
    expect_status(res, 0)
    expect(res[1].startswith(b"permessage-deflate"), "no default offer", res)
    res = run(["-n", "1", "--no-deflate", url])
    expect(res[1] == b"(absent)\n", "--no-deflate still offers", res)
    res = run(["-n", "1", "--deflate-offer",
               "client_no_context_takeover; server_max_window_bits=10",
               "--deflate-offer", "client_max_window_bits=9", url])
    expect_status(res, 0)
    offers = [o.strip() for o in res[1].decode().strip().split(",")]
    expect(len(offers) == 2 and "client_no_context_takeover" in offers[0]
           and "server_max_window_bits=10" in offers[0] and "client_max_window_bits=9" in offers[1],
           "the offers did not reach the server", res)


def case_proxy(server):
    # Through --proxy: CONNECT to the URL's host, which this server then serves itself.
    res = run(["--proxy", "http://127.0.0.1:%d" % server.server_address[1], "-n", "1",
               "--send", "tunnelled", "ws://proxied.invalid:8080/"])
    expect_status(res, 0)
    expect(res[1] == b"tunnelled\n", "unexpected stdout", res)
    expect(server.seen["connects"] == ["proxied.invalid:8080"],
           "CONNECT targets %s" % server.seen["connects"], res)
    # http_proxy from the environment is used, and --no-proxy ignores it.
    env = {"http_proxy": "http://127.0.0.1:%d" % server.server_address[1]}
    res = run(["-n", "1", "--send", "a", "ws://proxied.invalid:8081/"], env=env)
    expect_status(res, 0)
    expect(server.seen["connects"][1:] == ["proxied.invalid:8081"], "http_proxy not used", res)
    res = run(["-n", "1", "--send", "b", "--no-proxy", server.url], env=env)
    expect_status(res, 0)
    expect(len(server.seen["connects"]) == 2, "--no-proxy went through the proxy", res)


def case_socks(server):
    # socks5h://: the proxy is sent the name, and the credentials.
    proxy = "127.0.0.1:%d" % server.server_address[1]
    res = run(["--proxy", "socks5h://us%40er:pw@" + proxy, "-n", "1", "--send", "via socks",
               "ws://proxied.invalid:8080/"])
    expect_status(res, 0)
    expect(res[1] == b"via socks\n", "unexpected stdout", res)
    expect(server.seen["socks"] == ["proxied.invalid:8080"],
           "SOCKS5 requests %s" % server.seen["socks"], res)
    expect(server.seen["socks_credentials"] == [("us@er", "pw")],
           "SOCKS5 credentials %s" % server.seen["socks_credentials"], res)
    # socks5://: wsc resolves the name and sends the address.
    res = run(["--proxy", "socks5://" + proxy, "-n", "1", "--send", "a", "ws://127.0.0.1:8081/"])
    expect_status(res, 0)
    expect(server.seen["socks"][1:] == ["127.0.0.1:8081"], "SOCKS5 requests", res)
    # all_proxy stands in for an unset http_proxy; no_proxy exempts a host from it.
    env = {"all_proxy": "socks5h://" + proxy, "no_proxy": "exempt.invalid"}
    res = run(["-n", "1", "--send", "b", "ws://proxied.invalid:8082/"], env=env)
    expect_status(res, 0)
    expect(server.seen["socks"][2:] == ["proxied.invalid:8082"], "all_proxy not used", res)
    res = run(["-n", "1", "--send", "c", "ws://exempt.invalid:8083/"], env=env)
    expect_status(res, 1)
    expect("WSC_ERR_RESOLVE" in res[2], "no_proxy did not exempt the host", res)
    expect(len(server.seen["socks"]) == 3, "no_proxy went through the proxy", res)
    # A scheme wsc does not speak fails at once.
    res = run(["--proxy", "socks4://" + proxy, server.url])
    expect_status(res, 2)
    expect("WSC_ERR_INVALID_ARGUMENT" in res[2] and "socks4:// is not supported" in res[2],
           "no clear error for socks4://", res)


def case_stdout_closed(server):
    # When the reader of stdout goes away, wsc closes with 1001 and exits 0.
    r, w = open_stdin()
    out_r, out_w = os.pipe()
    try:
        p = Wsc([server.url], stdin=r, stdout=out_w)
        os.close(r)
        os.close(out_w)
        os.write(w, b"first\n")
        with os.fdopen(out_r, "rb") as out:
            out_r = None
            expect(out.readline() == b"first\n", "no first echo")
        os.write(w, b"second\n")  # its echo cannot be written: EPIPE
        res = p.finish()
    finally:
        os.close(w)
        if out_r is not None:
            os.close(out_r)
    expect_status(res, 0)
    expect(server.codes(1) == [1001], "the server saw close codes %s" % server.close_codes, res)


def case_wss(server):
    # --ca trusts the server's certificate; without it the certificate is rejected;
    # --insecure accepts it anyway. The same server, wss://, for localhost.
    res = run(["--ca", CERT, "--send", "secure", "-n", "1", server.url])
    expect_status(res, 0)
    expect(res[1] == b"secure\n", "no echo over TLS", res)
    res = run(["--send", "secure", "-n", "1", server.url])
    expect_status(res, 1)
    expect("WSC_ERR_TLS_CERTIFICATE" in res[2], "no certificate error", res)
    res = run(["--insecure", "--send", "anyway", "-n", "1", server.url])
    expect_status(res, 0)
    expect(res[1] == b"anyway\n", "no echo with --insecure", res)


def expect_tls_failure(args, server, needle):
    """wsc with `args` fails the TLS handshake, with `needle` on stderr."""
    res = run(args + ["--send", "x", "-n", "1", server.url])
    expect_status(res, 1)
    expect(needle in res[2], "stderr does not say %r for %s" % (needle, args), res)


def expect_echo(args, server, env=None):
    res = run(args + ["--send", "tls", "-n", "1", server.url], env=env)
    expect_status(res, 0)
    expect(res[1] == b"tls\n", "no echo with %s" % args, res)


def case_wss_relaxed(server):
    # Each relaxation lets its own case through and nothing more. The server's certificate
    # is self-signed for localhost.
    expect_echo(["--allow-self-signed"], server)
    expect_tls_failure(["--allow-self-signed", "--server-name", "other.test"], server,
                       "NotValidForName")
    expect_echo(["--ca", CERT, "--no-verify-hostname", "--server-name", "other.test"], server)
    expect_tls_failure(["--no-verify-hostname"], server, "UnknownIssuer")
    expect_tls_failure(["--allow-expired"], server, "UnknownIssuer")
    expect_tls_failure(["--ca", CERT, "--server-name", "other.test"], server, "NotValidForName")
    expect_echo(["--ca-add", CERT], server)
    expect_echo(["--ca", CERT, "--server-name", "localhost"], server)
    for args, named in [(["--server-name", "bad name"], "tls_server_name"),
                        (["--ca", CERT, "--ca-add", CERT], "one CA file only"),
                        (["--server-name="], "tls_server_name")]:
        res = run(args + [server.url])
        expect_status(res, 2)
        expect(named in res[2], "stderr does not name %r for %s" % (named, args), res)
    # --keylog writes the secrets to $SSLKEYLOGFILE; without it nothing is written.
    keylog = os.path.join(os.path.dirname(CERT), "keys.log")
    expect_echo(["--ca", CERT], server, env={"SSLKEYLOGFILE": keylog})
    expect(not os.path.exists(keylog), "secrets written without --keylog")
    expect_echo(["--ca", CERT, "--keylog"], server, env={"SSLKEYLOGFILE": keylog})
    with open(keylog) as f:
        expect("CLIENT_TRAFFIC_SECRET_0 " in f.read(), "no traffic secret in the key log")


def make_client_identity(tmp, name):
    """An ECDSA P-256 key (SEC1 PEM) and a self-signed certificate for it, by openssl."""
    openssl = os.environ.get("WSC_OPENSSL") or "openssl"
    cert, key = os.path.join(tmp, name + ".crt"), os.path.join(tmp, name + ".key")
    subprocess.run([openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                   check=True, capture_output=True, timeout=WAIT)
    subprocess.run([openssl, "req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=wsc client " + name,
                    "-addext", "basicConstraints=critical,CA:FALSE"],
                   check=True, capture_output=True, timeout=WAIT)
    return cert, key


def case_wss_client_cert(server):
    # The server requires a client certificate it trusts: --cert and --key present one.
    tmp = os.path.dirname(CERT)
    cert, key = make_client_identity(tmp, "trusted")
    stranger, stranger_key = make_client_identity(tmp, "stranger")
    server.tls.verify_mode = ssl.CERT_REQUIRED
    server.tls.load_verify_locations(cert)
    expect_echo(["--ca", CERT, "--cert", cert, "--key", key], server)
    expect_tls_failure(["--ca", CERT], server, "the server requires a client certificate")
    expect_tls_failure(["--ca", CERT, "--cert", stranger, "--key", stranger_key], server,
                       "the server rejected the client certificate")
    missing = os.path.join(tmp, "missing.pem")
    for args, needle in [(["--cert", cert], "without its private key"),
                         (["--cert", missing, "--key", key], "cannot read the file"),
                         (["--cert", cert, "--key", stranger_key], "is not the key of"),
                         (["--cert", key, "--key", key], "no certificate found")]:
        res = run(["--ca", CERT] + args + [server.url])
        expect_status(res, 2)
        expect(needle in res[2], "stderr does not say %r for %s" % (needle, args), res)


def case_options(server):
    # Every option with a valid value is accepted and passed on: the connection works.
    args = ["--connect-timeout", "5000", "--handshake-timeout", "5000", "--close-timeout=5000",
            "--ping-interval", "60000", "--ping-timeout", "5000", "--max-message", "1000",
            "--max-frame", "500", "--max-fragments", "4", "--max-handshake-size", "8192",
            "--max-handshake-headers", "32", "--send-buffer", "65536", "--max-redirects", "2",
            "--reconnect", "--reconnect-min-delay", "10", "--reconnect-max-delay", "100",
            "--reconnect-max-attempts", "2", "--deflate-level", "9", "--deflate-offer",
            "permessage-deflate; client_max_window_bits", "--origin", "http://localhost",
            "--trust-text", "--no-proxy", "--connect-to", "127.0.0.1", "--local-address",
            "127.0.0.1", "--interface", "lo", "--ca", __file__, "-k", "-H", "X-A: 1",
            "--subprotocol", "p", "--binary", "--raw", "-vv", "-n", "1"]
    res = run(args + [server.url], input=b"all options\n")
    expect_status(res, 0)
    expect(res[1] == b"all options", "unexpected stdout", res)
    # The options --help lists are the ones docs/cli.md describes.
    help_text = run(["--help"])[1].decode()
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "cli.md")
    with open(doc) as f:
        documented = set(re.findall(r"^\| `(-[^` ]+)", f.read(), re.M))
    documented |= {"--help", "--version", "--verbose", "--insecure", "--header"}
    listed = set(re.findall(r"^  (?:-\w, )?(--?[\w-]+)", help_text, re.M))
    expect(listed == documented - {"-vv", "-v", "-h", "-V", "-k", "-H"} | {"-n"},
           "--help and docs/cli.md differ: %s" % (listed ^ documented))


def case_sockets(server):
    port = server.server_address[1]
    # --connect-to: the connection goes to this server, the Host header names the URL's.
    res = run(["-n", "1", "--connect-to", "127.0.0.1:%d" % port,
               "ws://server.invalid/header/Host"])
    expect_status(res, 0)
    expect(res[1] == b"server.invalid\n", "Host is not the URL's", res)
    # --local-address: where the connection comes from.
    res = run(["-n", "1", "--send", "a", "--local-address", "127.0.0.2", server.url])
    expect_status(res, 0)
    expect(server.seen["peers"][-1] == "127.0.0.2", "peers %s" % server.seen["peers"], res)
    res = run(["--local-address", "192.0.2.1", server.url])
    expect_status(res, 1)
    expect("cannot bind to local_address 192.0.2.1" in res[2], "no bind error", res)
    # --interface: lo works; an interface that does not exist is a usage error.
    res = run(["-n", "1", "--send", "b", "--interface", "lo", server.url])
    expect_status(res, 0)
    for bad, named in [(["--interface", "nosuchif0"], "no such network interface"),
                       (["--local-address", "nowhere"], "not an IP address"),
                       (["--connect-to", "[::1"], "unclosed")]:
        res = run(bad + [server.url])
        expect_status(res, 2)
        expect("WSC_ERR_INVALID_ARGUMENT" in res[2] and named in res[2],
               "no clear error for %s" % bad, res)
    # ws+unix://: a server on a Unix domain socket, the request target after the colon.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "app.sock")
        unix = UnixServer(path)
        try:
            res = run(["-n", "1", "ws+unix://%s:/header/Host" % path])
            expect_status(res, 0)
            expect(res[1] == b"localhost\n", "Host is not localhost", res)
            res = run(["ws+unix://%s/%s.sock" % (tmp, "x" * 120)])
            expect_status(res, 2)
            expect("WSC_ERR_INVALID_ARGUMENT" in res[2] and "longer than" in res[2],
                   "a long socket path is not refused", res)
        finally:
            unix.shutdown()
            unix.server_close()


def make_tls(tmp):
    """A context serving a fresh self-signed certificate for localhost (made by openssl)."""
    global CERT
    CERT, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    openssl = os.environ.get("WSC_OPENSSL") or "openssl"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    # A subject of its own: a system store may hold another "CN=localhost".
                    "-subj", "/CN=wsc test server %d" % os.getpid(),
                    "-addext", "subjectAltName=DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:FALSE",
                    "-keyout", key, "-out", CERT], check=True, capture_output=True, timeout=WAIT)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(CERT, key)
    return tls


def main():
    global WSC, WRAP
    args = sys.argv[1:]
    WRAP = []
    if args[:1] == ["--wrap"]:
        WRAP = shlex.split(args[1])
        args = args[2:]
    if len(args) != 2:
        sys.exit(__doc__)
    WSC, case = args
    test = globals().get("case_" + case)
    if test is None:
        sys.exit("no case %r" % case)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(make_tls(tmp) if case.startswith("wss") else None)
        try:
            test(server)
        except Failure as e:
            print("FAIL %s: %s" % (case, e), file=sys.stderr)
            return 1
        finally:
            server.shutdown()
            server.server_close()
    print("ok %s" % case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
