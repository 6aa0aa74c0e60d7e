#!/usr/bin/env python3
"""A small RFC 6455 echo server for the wsc tests (Python standard library only).

    echo_server.py [--host 127.0.0.1] [--port 0]
        Serve until killed; the bound port is printed on stdout as one line.
    echo_server.py [--host H] [--port P] -- PROGRAM [ARGS...]
        Serve while PROGRAM runs with ws://H:PORT appended to its arguments;
        exit with PROGRAM's exit status. This is how the C tests get a server.
    echo_server.py --tls CERT KEY [...]
        Serve wss:// with that PEM certificate chain and key (the URL handed to
        PROGRAM names --url-host, default localhost, so the name can match).

Text and binary messages are echoed whole (a fragmented message comes back as
one frame), ping gets a pong with the same payload, and a close frame is echoed
before the server closes the TCP connection. Protocol errors close with 1002,
invalid UTF-8 in a text message with 1007, oversized messages with 1009.
For handshake tests: the first subprotocol offered is accepted, an X-Echo
request header comes back in the response, and GET /ping gets a ping ("hello")
right after the handshake.
"""

import argparse
import asyncio
import base64
import hashlib
import ssl
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 64 * 1024 * 1024
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class ProtocolError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def frame(opcode, payload):
    """One unmasked final frame (servers must not mask, RFC 6455 5.1)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def valid_close_code(payload):
    """Codes a peer may send (RFC 6455 7.4): empty, 1000-1003, 1007-1014, 3000-4999."""
    if not payload:
        return True
    (code,) = struct.unpack("!H", payload[:2])
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    fin, rsv, opcode = b0 & 0x80, b0 & 0x70, b0 & 0x0F
    masked, n = b1 & 0x80, b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    # No extension is negotiated, so RSV bits must be 0; the client must mask.
    if rsv or not masked or opcode in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
        raise ProtocolError(1002)
    if opcode >= CLOSE and (not fin or n > 125):
        raise ProtocolError(1002)  # control frames: final and at most 125 bytes
    if n > MAX_MESSAGE:
        raise ProtocolError(1009)
    key = await reader.readexactly(4)
    data = await reader.readexactly(n)
    # Unmask (5.3) with one big-integer XOR instead of a slow per-byte loop.
    mask = (key * (n // 4 + 1))[:n]
    data = (int.from_bytes(data, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return bool(fin), opcode, data


async def handshake(reader, writer):
    request = await reader.readuntil(b"\r\n\r\n")
    headers = {}
    for line in request.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    key = headers.get(b"sec-websocket-key")
    if not request.startswith(b"GET ") or key is None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return False
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    extra = b""
    if b"sec-websocket-protocol" in headers:
        first = headers[b"sec-websocket-protocol"].split(b",")[0].strip()
        extra += b"Sec-WebSocket-Protocol: " + first + b"\r\n"
    if b"x-echo" in headers:
        extra += b"X-Echo: " + headers[b"x-echo"] + b"\r\n"
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n" + extra + b"\r\n"
    )
    if request.startswith(b"GET /ping "):
        writer.write(frame(PING, b"hello"))
    return True


async def serve_connection(reader, writer):
    try:
        if not await handshake(reader, writer):
            return
        msg_opcode, parts, size = None, [], 0
        while True:
            try:
                fin, opcode, data = await read_frame(reader)
                if opcode == PING:
                    writer.write(frame(PONG, data))
                elif opcode == PONG:
                    pass
                elif opcode == CLOSE:
                    if len(data) == 1 or not valid_close_code(data):
                        raise ProtocolError(1002)
                    data[2:].decode("utf-8")  # the reason must be UTF-8 too
                    writer.write(frame(CLOSE, data))  # echo the code and reason
                    break
                else:
                    # A continuation needs a message in progress; a new data
                    # frame must not start while one is in progress (5.4).
                    if (opcode == CONT) != (msg_opcode is not None):
                        raise ProtocolError(1002)
                    if opcode != CONT:
                        msg_opcode = opcode
                    parts.append(data)
                    size += len(data)
                    if size > MAX_MESSAGE:
                        raise ProtocolError(1009)
                    if fin:
                        message = b"".join(parts)
                        if msg_opcode == TEXT:
                            message.decode("utf-8")  # raises on invalid UTF-8
                        writer.write(frame(msg_opcode, message))
                        msg_opcode, parts, size = None, [], 0
                await writer.drain()
            except ProtocolError as e:
                writer.write(frame(CLOSE, struct.pack("!H", e.code)))
                break
            except UnicodeDecodeError:
                writer.write(frame(CLOSE, struct.pack("!H", 1007)))
                break
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass  # the client went away; nothing to echo
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--url-host", default="localhost")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    tls = None
    if args.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*args.tls)
    server = await asyncio.start_server(serve_connection, args.host, args.port, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    if not command:
        print(port, flush=True)
        async with server:
            await server.serve_forever()
    url = f"wss://{args.url_host}:{port}" if tls else f"ws://{args.host}:{port}"
    proc = await asyncio.create_subprocess_exec(*command, url)
    return await proc.wait()


if __name__ == "__main__":
    try:
        status = asyncio.run(main())
    except KeyboardInterrupt:
        status = 130
    # A signal-killed program has a negative status: report it as the shell does.
    sys.exit(128 - status if status < 0 else status)
