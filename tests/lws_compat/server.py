#!/usr/bin/env python3
"""The loopback server of the libwebsockets-compatibility tests (standard library only).

    server.py -- PROGRAM [ARGS...]
        Serves while PROGRAM runs with ws://127.0.0.1:PORT appended to its arguments and
        exits with PROGRAM's exit status.

An echo server with what the tests need beyond tests/echo_server.py:
  - permessage-deflate (RFC 7692) when offered, answered "permessage-deflate" (both
    sides keep their context, 15-bit windows);
  - after each message, the text message "stats" is answered with JSON about the message
    before it: {"frames": N, "bytes": LEN, "compressed": true|false, "text": true|false};
  - the first subprotocol offered is accepted; an X-Echo request header comes back;
  - CONNECT is answered as an HTTP proxy would, the tunnel leading to this server, and the
    101 then names the CONNECT target in X-Tunnel;
  - GET /close: after the first message the server closes with 4000 "bye";
  - GET /refuse: the handshake is answered 403;
  - GET /feed: the server sends "msg 0", "msg 1", "msg 2" and a 20000-byte binary message
    (byte k is k % 251), waits for a ping, then closes with 4000 "bye";
  - a small stand-in for the Autobahn fuzzing server's client protocol: GET /getCaseCount
    answers "3" and closes; GET /runCase?case=N sends case N's message in fragments and
    expects it echoed (1: text with a code point split between fragments, 2: 70000 bytes
    of binary in 3 fragments, 3: a ping then a short text); GET /updateReports closes.
    A wrong echo is recorded, and makes server.py exit 1 even if PROGRAM succeeded.
"""

import asyncio
import base64
import hashlib
import json
import os
import struct
import sys
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
FAILURES = []
BIG = bytes(k % 251 for k in range(70000))
CASES = {
    1: (TEXT, ["h\u00e9llo w".encode()[:2], "h\u00e9llo w".encode()[2:], b"orld"]),
    2: (BINARY, [BIG[:1000], BIG[1000:40000], BIG[40000:]]),
    3: (TEXT, [b"after a ping"]),
}


def frame(opcode, payload, rsv1=False, fin=True):
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
    data = bytearray(await reader.readexactly(n))
    for i in range(n):
        data[i] ^= mask[i % 4]
    return bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, bytes(data)


async def serve(reader, writer):
    try:
        request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        tunnel = None
        if request.startswith("CONNECT "):
            # as an HTTP proxy: the tunnel leads back to this server
            tunnel = request.split(" ")[1]
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = request.split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers.setdefault(k.strip().lower(), v.strip())
        if path == "/refuse":
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        accept = base64.b64encode(
            hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest()).decode()
        response = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n" % accept)
        deflate = "permessage-deflate" in headers.get("sec-websocket-extensions", "")
        if deflate:
            response += "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        if "sec-websocket-protocol" in headers:
            response += "Sec-WebSocket-Protocol: %s\r\n" % (
                headers["sec-websocket-protocol"].split(",")[0].strip())
        if "x-echo" in headers:
            response += "X-Echo: %s\r\n" % headers["x-echo"]
        if tunnel:
            response += "X-Tunnel: %s\r\n" % tunnel
        writer.write((response + "\r\n").encode("latin-1"))
        await writer.drain()
        if path != "/" and not path.startswith("/close"):
            await scripted(path, reader, writer, zlib.decompressobj(-15) if deflate else None)
            return
        inflater = zlib.decompressobj(-15)
        deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        stats = {"frames": 0, "bytes": 0, "compressed": False, "text": False}
        parts, opcode, frames, compressed = [], None, 0, False
        while True:
            fin, rsv1, op, data = await read_frame(reader)
            if op == PING:
                writer.write(frame(PONG, data))
                continue
            if op == PONG:
                continue
            if op == CLOSE:
                writer.write(frame(CLOSE, data[:2]))
                await writer.drain()
                return
            if op != CONT:
                opcode, parts, frames, compressed = op, [], 0, rsv1
            parts.append(data)
            frames += 1
            if not fin:
                continue
            message = b"".join(parts)
            if compressed:
                message = inflater.decompress(message + b"\x00\x00\xff\xff")
            if opcode == TEXT and message == b"stats":
                reply = json.dumps(stats).encode()
            else:
                stats = {"frames": frames, "bytes": len(message), "compressed": compressed,
                         "text": opcode == TEXT}
                reply = message
            if deflate:
                body = deflater.compress(reply) + deflater.flush(zlib.Z_SYNC_FLUSH)
                writer.write(frame(opcode if reply is message else TEXT, body[:-4], True))
            else:
                writer.write(frame(opcode if reply is message else TEXT, reply))
            await writer.drain()
            if path == "/close":
                writer.write(frame(CLOSE, struct.pack("!H", 4000) + b"bye"))
                await writer.drain()
                while (await read_frame(reader))[2] != CLOSE:
                    pass
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def close_and_wait(reader, writer, code, reason=b""):
    writer.write(frame(CLOSE, struct.pack("!H", code) + reason))
    await writer.drain()
    while (await read_frame(reader))[2] != CLOSE:
        pass


async def read_message(reader, writer, inflater):
    parts, opcode, compressed = [], None, False
    while True:
        fin, rsv1, op, data = await read_frame(reader)
        if op == PING:
            writer.write(frame(PONG, data))
            continue
        if op in (PONG,):
            continue
        if op == CLOSE:
            return None, None
        if op != CONT:
            opcode, compressed = op, rsv1
        parts.append(data)
        if fin:
            message = b"".join(parts)
            if compressed:
                message = inflater.decompress(message + b"\x00\x00\xff\xff")
            return opcode, message


async def scripted(path, reader, writer, inflater):
    if path == "/feed":
        for n in range(3):
            writer.write(frame(TEXT, b"msg %d" % n))
        writer.write(frame(BINARY, BIG[:20000]))
        await writer.drain()
        # the client pings once it has everything
        while (await read_frame(reader))[2] != PING:
            pass
        await close_and_wait(reader, writer, 4000, b"bye")
    elif path == "/getCaseCount":
        writer.write(frame(TEXT, str(len(CASES)).encode()))
        await close_and_wait(reader, writer, 1000)
    elif path.startswith("/runCase?case="):
        case = int(path.split("=")[1].split("&")[0])
        opcode, fragments = CASES[case]
        if case == 3:
            writer.write(frame(PING, b"are you there"))
        for k, payload in enumerate(fragments):
            writer.write(frame(opcode if k == 0 else CONT, payload,
                               fin=k == len(fragments) - 1))
        await writer.drain()
        got_opcode, message = await read_message(reader, writer, inflater)
        if (got_opcode, message) != (opcode, b"".join(fragments)):
            FAILURES.append("case %d: echo %r" % (case, (got_opcode, (message or b"")[:40])))
        await close_and_wait(reader, writer, 1000)
    elif path.startswith("/updateReports"):
        await close_and_wait(reader, writer, 1000)
    else:
        writer.write(frame(CLOSE, struct.pack("!H", 1008)))


async def main():
    command = sys.argv[2:] if sys.argv[1:2] == ["--"] else sys.argv[1:]
    if not command:
        sys.exit(__doc__)
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proc = await asyncio.create_subprocess_exec(*command, "ws://127.0.0.1:%d" % port)
    status = await proc.wait()
    server.close()
    if status == 0 and FAILURES:
        print("server.py: " + "; ".join(FAILURES), file=sys.stderr)
        sys.exit(1)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
