#!/usr/bin/env python3
"""Hostile clients for Sluice (Python 3 standard library only: asyncio and raw sockets).

Every sub-command talks to 127.0.0.1:PORT for a bounded time (and a bounded number of requests), records every HTTP
status it parses (plus "closed", "timeout", "reset", "connect-error" for the other outcomes) and writes one JSON
summary to --out:

  good       a well-behaved client: valid events with unique ids at a steady rate on keep-alive connections;
             records each response's status and latency and the acknowledged ids (writes --ready once connected)
  mutate     valid requests to every endpoint and method, mutated byte-wise and header-wise
  framing    broken HTTP framing: conflicting lengths, bad chunking, smuggling shapes, pipelined garbage
  bombs      compression bombs and corrupt or unsupported encodings
  slowloris  waves of several hundred connections trickling headers or bodies one byte per second
  flood      connections opened and closed as fast as allowed, and waves held open beyond max_connections

Usage: hostile.py SUBCOMMAND --port P --duration SECONDS --out FILE [options]
"""

import argparse
import asyncio
import collections
import json
import os
import random
import socket
import struct
import sys
import time
import zlib

HOST = "127.0.0.1"


class Closed(Exception):
    """The server closed the connection before a complete response."""


class Stats:
    def __init__(self, attack):
        self.attack = attack
        self.sent = 0
        self.statuses = collections.Counter()
        self.samples_5xx = []  # (request prefix, response prefix) of every 500 (at most 20 kept)
        self.notes = collections.Counter()

    def record(self, outcome, request=b"", response=b""):
        self.statuses[str(outcome)] += 1
        if str(outcome) == "500" and len(self.samples_5xx) < 20:
            self.samples_5xx.append({"request": request[:400].decode("latin-1"), "response": response[:400].decode("latin-1")})

    def to_json(self, **extra):
        out = {"attack": self.attack, "sent": self.sent, "statuses": dict(self.statuses), "samples_500": self.samples_5xx,
               "notes": dict(self.notes)}
        out.update(extra)
        return out


async def read_response(reader, timeout):
    """Reads one response: (status, headers dict lower-cased, body, raw head). Raises Closed or asyncio.TimeoutError."""
    async def inner():
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            raise Closed(error.partial)
        except asyncio.LimitOverrunError:
            raise Closed(b"head too long")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            raise Closed(head)
        headers = {}
        for line in lines[1:]:
            if b":" in line:
                name, value = line.split(b":", 1)
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        body = b""
        if 100 <= status < 200 or status in (204, 304):
            return status, headers, body, head
        try:
            if "chunked" in headers.get("transfer-encoding", "").lower():
                while True:
                    size_line = await reader.readuntil(b"\r\n")
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")
                        break
                    body += await reader.readexactly(size + 2)
            elif "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:
                body = await reader.read(1 << 20)
        except asyncio.IncompleteReadError as error:
            body = error.partial
        except ValueError:
            pass
        return status, headers, body, head

    return await asyncio.wait_for(inner(), timeout)


async def open_connection(stats=None, linger0=False):
    reader, writer = await asyncio.open_connection(HOST, ARGS.port, limit=1 << 20)
    sock = writer.get_extra_info("socket")
    if linger0 and sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return reader, writer


def close(writer):
    try:
        writer.close()
    except Exception:
        pass


async def one_shot(stats, request, timeout=4.0, responses=3, half_close=False):
    """Sends `request` on a fresh connection; records up to `responses` outcomes."""
    try:
        reader, writer = await asyncio.wait_for(open_connection(), 5)
    except (OSError, asyncio.TimeoutError):
        stats.record("connect-error")
        return
    stats.sent += 1
    try:
        writer.write(request)
        await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
        for _ in range(responses):
            status, headers, body, head = await read_response(reader, timeout)
            stats.record(status, request, head + body)
            if status == 503:
                break
    except Closed:
        stats.record("closed")
    except asyncio.TimeoutError:
        stats.record("timeout")
    except (ConnectionError, OSError):
        stats.record("reset")
    finally:
        close(writer)


def now_ms():
    return int(time.time() * 1000)


def event_body(event_id, pad=64):
    return json.dumps({"team": "web", "app": "clicks", "event_id": event_id,
                       "payload": {"id": event_id, "pad": "g" * pad}}, separators=(",", ":")).encode()


def request_bytes(method, target, headers=(), body=b"", length=True):
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    for name, value in headers:
        head += (name if isinstance(name, bytes) else name.encode()) + b": " + (value if isinstance(value, bytes) else value.encode()) + b"\r\n"
    if length:
        head += f"Content-Length: {len(body)}\r\n".encode()
    return head + b"\r\n" + body


# ---------------------------------------------------------------------------------------------------------------
# good: the well-behaved client


async def good():
    stats = Stats("good")
    acked = []
    latencies = []  # ms, from the scheduled send time to the full response
    ok_within_1s = 0
    connections = ARGS.connections
    interval = connections / ARGS.rate
    stop_at = time.monotonic() + ARGS.duration
    counter = [0]
    ready_count = [0]
    all_ready = asyncio.Event()

    async def connect():
        return await asyncio.wait_for(open_connection(), 5)

    async def worker(index):
        nonlocal ok_within_1s
        reader = writer = None
        try:
            reader, writer = await connect()
        except (OSError, asyncio.TimeoutError):
            stats.notes["initial-connect-error"] += 1
        ready_count[0] += 1
        if ready_count[0] == connections:
            all_ready.set()
        await all_ready.wait()
        scheduled = time.monotonic()
        while scheduled < stop_at:
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            counter[0] += 1
            event_id = f"good-{index}-{counter[0]}"
            request = request_bytes("POST", "/v1/events", [("Content-Type", "application/json"),
                                                           ("X-Client-Sent-At", str(now_ms())),
                                                           ("X-Request-Id", event_id)], event_body(event_id))
            stats.sent += 1
            outcome = None
            try:
                if writer is None:
                    stats.notes["reconnects"] += 1
                    reader, writer = await connect()
                writer.write(request)
                await writer.drain()
                status, headers, body, head = await read_response(reader, 5)
                outcome = status
                if status == 202:
                    acked.append(event_id)
                if headers.get("connection", "").lower() == "close":
                    close(writer)
                    writer = None
            except Closed:
                outcome = "closed"
            except asyncio.TimeoutError:
                outcome = "timeout"
            except (ConnectionError, OSError):
                outcome = "reset"
            if not isinstance(outcome, int) and writer is not None:
                close(writer)
                writer = None
            stats.record(outcome, request)
            latency = (time.monotonic() - scheduled) * 1000
            latencies.append(latency)
            if isinstance(outcome, int) and 200 <= outcome < 300 and latency <= 1000:
                ok_within_1s += 1
            scheduled += interval
            if scheduled < time.monotonic() - 1:  # more than 1 s behind: do not burst to catch up
                stats.notes["schedule-slips"] += 1
                scheduled = time.monotonic()
        if writer is not None:
            close(writer)

    async def announce():
        await all_ready.wait()
        if ARGS.ready:
            with open(ARGS.ready, "w") as handle:
                handle.write("ready\n")

    await asyncio.gather(announce(), *(worker(i) for i in range(connections)))
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 2) if latencies else None

    return stats.to_json(acked=acked, ok_within_1s=ok_within_1s, p50_ms=pct(0.50), p99_ms=pct(0.99),
                         max_ms=round(latencies[-1], 2) if latencies else None)


# ---------------------------------------------------------------------------------------------------------------
# mutate: valid requests, mutated

HUGE_NUMBERS = ["-100000000000000000", "9223372036854775807", "-9223372036854775808", "9" * 40, "1e308", "-0",
                "0x7fffffff", "NaN", "18446744073709551616", " 12 ", "+5"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO", "get"]
PATHS = ["/v1/events", "/v1/events/confirmed", "/v1/events/batch", "/health", "/ready", "/metrics", "/", "/v2/events",
         "/v1/events/", "/v1//events", "/v1/events?x=1", "/v1/%2e%2e/health", "*", "/v1/events#frag", "/%00", "/\u00e9"]


def base_requests(rng):
    eid = f"m-{rng.randrange(1 << 40)}"
    single = event_body(eid, rng.randrange(0, 300))
    batch_json = b"[" + b",".join(event_body(f"{eid}-{i}", 10) for i in range(rng.randrange(1, 6))) + b"]"
    batch_nd = b"\n".join(event_body(f"{eid}-n{i}", 10) for i in range(rng.randrange(1, 6))) + b"\n"
    sent_at = ("X-Client-Sent-At", str(now_ms()))
    requests = [
        request_bytes("POST", "/v1/events", [("Content-Type", "application/json"), sent_at], single),
        request_bytes("POST", "/v1/events/confirmed", [("Content-Type", "application/json")], single),
        request_bytes("POST", "/v1/events/batch", [("Content-Type", "application/json")], batch_json),
        request_bytes("POST", "/v1/events/batch", [("Content-Type", "application/x-ndjson")], batch_nd),
        request_bytes("GET", "/health", length=False),
        request_bytes("GET", "/ready", length=False),
        request_bytes("GET", "/metrics", length=False),
    ]
    method = rng.choice(METHODS)
    path = rng.choice(PATHS)
    body = single if rng.random() < 0.5 else b""
    requests.append(request_bytes(method, path, [("Content-Type", "application/json")] if body else [], body))
    return requests


def random_bytes(rng, n, printable=False):
    if printable:
        return bytes(rng.randrange(0x21, 0x7f) for _ in range(n))
    alphabet = [0, 1, 9, 10, 13, 0x7f, 0x80, 0xff, 0xc3, 0xa9, 0x20, 0x3a] + list(range(0x20, 0x7f))
    return bytes(rng.choice(alphabet) if rng.random() < 0.7 else rng.randrange(256) for _ in range(n))


def add_header(request, name, value):
    cut = request.find(b"\r\n") + 2
    return request[:cut] + name + b": " + value + b"\r\n" + request[cut:]


def mutate_once(rng, request):
    choice = rng.randrange(14)
    if not request:
        return request
    if choice == 0:  # flip bits
        data = bytearray(request)
        for _ in range(rng.randrange(1, 6)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        return bytes(data)
    if choice == 1:  # insert bytes
        i = rng.randrange(len(request) + 1)
        return request[:i] + random_bytes(rng, rng.randrange(1, 40)) + request[i:]
    if choice == 2:  # delete a range
        i = rng.randrange(len(request))
        return request[:i] + request[i + rng.randrange(1, 30):]
    if choice == 3:  # duplicate a header line
        lines = request.split(b"\r\n")
        end = lines.index(b"") if b"" in lines else len(lines)
        if end > 1:
            i = rng.randrange(1, end)
            lines.insert(i, lines[i])
        return b"\r\n".join(lines)
    if choice == 4:  # random header name and value, non-ASCII and control bytes included
        return add_header(request, random_bytes(rng, rng.randrange(1, 30)), random_bytes(rng, rng.randrange(0, 200)))
    if choice == 5:  # plausible name, hostile value
        return add_header(request, rng.choice([b"X-Custom", b"Content-Type", b"Accept", b"Connection", b"Host"]),
                          random_bytes(rng, rng.randrange(0, 300)))
    if choice == 6:
        return add_header(request, b"X-Client-Sent-At", rng.choice(HUGE_NUMBERS).encode())
    if choice == 7:
        return add_header(request, b"X-Request-Id", random_bytes(rng, 10240, printable=rng.random() < 0.5))
    if choice == 8:  # a different Content-Length
        value = rng.choice(["0", "-1", "99999999999999999999", "1.5", "", "0x10", str(rng.randrange(0, 5000)), " 5", "5 5"])
        lines = [line for line in request.split(b"\r\n") if not line.lower().startswith(b"content-length")]
        return add_header(b"\r\n".join(lines), b"Content-Length", value.encode())
    if choice == 9:
        return add_header(request, b"Content-Encoding", rng.choice([b"gzip", b"deflate", b"br", b"compress", b"identity",
                                                                     b"gzip, gzip", b"\xff\xfe", b""]))
    if choice == 10:  # the version
        return request.replace(b"HTTP/1.1", rng.choice([b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1.1 x", b"HTTP/", b"http/1.1"]), 1)
    if choice == 11:  # truncate
        return request[:rng.randrange(len(request))]
    if choice == 12:  # line endings
        return request.replace(b"\r\n", rng.choice([b"\n", b"\r", b"\r\r\n", b"\n\r"]))
    return add_header(request, b"Transfer-Encoding", rng.choice([b"chunked", b"identity", b"chunked, identity", b"xchunked", b"gzip"]))


async def mutate():
    stats = Stats("mutate")
    rng = random.Random(ARGS.seed)
    stop_at = time.monotonic() + ARGS.duration
    budget = [ARGS.max_requests]

    async def worker(wid):
        local = random.Random(rng.randrange(1 << 60))
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            request = local.choice(base_requests(local))
            for _ in range(local.randrange(1, 4)):
                request = mutate_once(local, request)
            if local.random() < 0.05:
                request = random_bytes(local, local.randrange(1, 2000))
            await one_shot(stats, request, timeout=4.0, responses=2, half_close=local.random() < 0.3)

    await asyncio.gather(*(worker(i) for i in range(ARGS.concurrency)))
    return stats.to_json()


# ---------------------------------------------------------------------------------------------------------------
# framing: broken HTTP framing


def framing_cases():
    body = event_body("framing")
    chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    head = b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    pipelined = b"".join(request_bytes("GET", "/health", length=False) for _ in range(100))
    return {
        "two-content-lengths": head + f"Content-Length: {len(body)}\r\nContent-Length: {len(body) + 3}\r\n\r\n".encode() + body + b"abc",
        "negative-content-length": head + b"Content-Length: -5\r\n\r\n" + body,
        "huge-content-length": head + b"Content-Length: 99999999999999999999999999\r\n\r\n" + body,
        "content-length-and-chunked": head + f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + chunk,
        "absurd-chunk-size": head + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n" + body,
        "negative-chunk-size": head + b"Transfer-Encoding: chunked\r\n\r\n-10\r\n" + body,
        "chunk-size-garbage": head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body,
        "chunk-longer-than-declared": head + b"Transfer-Encoding: chunked\r\n\r\n5\r\n" + body + b"\r\n0\r\n\r\n",
        "chunk-extension-huge": head + b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x};".encode() + b"e" * 20000 + b"\r\n" + body + b"\r\n0\r\n\r\n",
        "missing-last-chunk-then-close": head + b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n",
        "te-chunked-identity": head + b"Transfer-Encoding: chunked, identity\r\n\r\n" + chunk,
        "te-xchunked": head + b"Transfer-Encoding: xchunked\r\n\r\n" + chunk,
        "te-twice": head + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk,
        "body-longer-than-declared": head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body + b"GARBAGE \x00\x01 nonsense\r\n\r\n",
        "body-shorter-then-close": head + b"Content-Length: 5000\r\n\r\n" + body,
        "obs-fold": head + b"X-Folded: a\r\n  b\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode() + body,
        "space-before-colon": head + f"Content-Length : {len(body)}\r\n\r\n".encode() + body,
        "header-without-colon": head + b"NoColonHere\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode() + body,
        "nul-in-header": head + b"X-Nul: a\x00b\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode() + body,
        "bare-lf": head.replace(b"\r\n", b"\n") + f"Content-Length: {len(body)}\n\n".encode() + body,
        "http09": b"GET /health\r\n\r\n",
        "long-method": b"X" * 5000 + b" /health HTTP/1.1\r\nHost: a\r\n\r\n",
        "no-host-http11": b"GET /health HTTP/1.1\r\n\r\n",
        "absolute-form": b"GET http://127.0.0.1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "pipelined-100": pipelined,
        "pipelined-post-garbage": request_bytes("POST", "/v1/events", [("Content-Type", "application/json")], body) * 5 + b"\xff" * 100,
        "expect-100-huge": head + b"Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n",
        "expect-garbage": head + f"Content-Length: {len(body)}\r\nExpect: 999-whatever\r\n\r\n".encode() + body,
        "upgrade-h2c": b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00" * 64,
        "tls-hello": bytes.fromhex("16030100a5010000a10303") + os.urandom(150),
        "connection-close-pipelined": request_bytes("GET", "/health", [("Connection", "close")], length=False) * 3,
    }


async def framing():
    stats = Stats("framing")
    per_case = collections.Counter()
    cases = list(framing_cases().items())
    stop_at = time.monotonic() + ARGS.duration
    budget = [ARGS.max_requests]

    async def worker(wid):
        rng = random.Random(ARGS.seed + wid)
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            name, request = rng.choice(cases)
            per_case[name] += 1
            responses = 100 if name == "pipelined-100" else 6
            await one_shot(stats, request, timeout=4.0, responses=responses, half_close=rng.random() < 0.3)

    await asyncio.gather(*(worker(i) for i in range(ARGS.concurrency)))
    return stats.to_json(per_case=dict(per_case))


# ---------------------------------------------------------------------------------------------------------------
# bombs: compression bombs


def bomb(expanded_mib, wbits):
    """A valid gzip (wbits 31), zlib (15) or raw deflate (-15) stream inflating to expanded_mib MiB of zeros, built
    without holding them: one 1 MiB block after a full flush (no back references across it) repeated, then the
    trailer (CRC-32 and length, or Adler-32) computed for the whole."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(1 << 20)
    expanded_mib = max(2, expanded_mib)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    body = first + block * (expanded_mib - 1)
    if wbits > 16:
        crc = 0
        for _ in range(expanded_mib):
            crc = zlib.crc32(zeros, crc)
        return body + tail[:-8] + struct.pack("<II", crc, (expanded_mib << 20) & 0xFFFFFFFF)
    if wbits > 0:
        adler = 1
        for _ in range(expanded_mib):
            adler = zlib.adler32(zeros, adler)
        return body + tail[:-4] + struct.pack(">I", adler)
    return body + tail


def bomb_of_size(max_bytes, wbits):
    """The largest bomb under max_bytes."""
    probe = bomb(4, wbits)
    block = (len(bomb(5, wbits)) - len(probe))
    mib = max(2, 4 + (max_bytes - len(probe)) // max(1, block))
    data = bomb(mib, wbits)
    while len(data) > max_bytes and mib > 2:
        mib -= 1
        data = bomb(mib, wbits)
    return data, mib


async def bombs():
    stats = Stats("bombs")
    per_case = collections.Counter()
    limit = ARGS.max_body_kb * 1024
    gz, gz_mib = bomb_of_size(limit - 64, 31)
    zl, _ = bomb_of_size(limit - 64, 15)
    raw, _ = bomb_of_size(limit - 64, -15)
    big = bomb(2048, 31)  # ~2 MB on the wire, 2 GiB inflated: over the wire limit too
    nested = zlib.compress(gz, 9)
    nested_gzip = gzip_wrap(gz)
    corrupt = bytearray(gz)
    for i in range(20, len(corrupt) - 10, 97):
        corrupt[i] ^= 0xA5
    ndjson_bomb, _ = bomb_of_size(limit - 64, 31)

    def post(path, encoding, body, content_type="application/json", chunked=False):
        headers = [("Content-Type", content_type), ("Content-Encoding", encoding)]
        if chunked:
            framed = b"".join(f"{len(body[i:i + 65536]):x}\r\n".encode() + body[i:i + 65536] + b"\r\n"
                              for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
            return request_bytes("POST", path, headers + [("Transfer-Encoding", "chunked")], framed, length=False)
        return request_bytes("POST", path, headers, body)

    cases = {
        "gzip-under-wire-limit": post("/v1/events", "gzip", gz),
        "zlib-deflate": post("/v1/events", "deflate", zl),
        "raw-deflate": post("/v1/events/confirmed", "deflate", raw),
        "gzip-chunked-2GiB": post("/v1/events", "gzip", big, chunked=True),
        "gzip-content-length-2GiB": post("/v1/events", "gzip", big),
        "gzip-batch-ndjson": post("/v1/events/batch", "gzip", ndjson_bomb, "application/x-ndjson"),
        "gzip-batch-json": post("/v1/events/batch", "gzip", gz),
        "double-encoded": post("/v1/events", "gzip, deflate", nested),
        "gzip-of-gzip": post("/v1/events", "gzip", nested_gzip),
        "corrupt-gzip": post("/v1/events", "gzip", bytes(corrupt)),
        "br": post("/v1/events", "br", gz),
        "compress": post("/v1/events", "compress", gz),
    }
    stop_at = time.monotonic() + ARGS.duration
    budget = [ARGS.max_requests]
    names = list(cases)

    async def worker(wid):
        rng = random.Random(ARGS.seed + wid)
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            name = rng.choice(names)
            per_case[name] += 1
            await one_shot(stats, cases[name], timeout=10.0, responses=1)

    await asyncio.gather(*(worker(i) for i in range(ARGS.concurrency)))
    return stats.to_json(per_case=dict(per_case), gzip_bomb_bytes=len(gz), gzip_bomb_inflated_mib=gz_mib)


def gzip_wrap(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


# ---------------------------------------------------------------------------------------------------------------
# slowloris: waves of connections trickling one byte per second


async def slowloris():
    stats = Stats("slowloris")
    stop_at = time.monotonic() + ARGS.duration
    waves = 0

    async def one(index, hold_until):
        try:
            reader, writer = await asyncio.wait_for(open_connection(), 5)
        except (OSError, asyncio.TimeoutError):
            stats.record("connect-error")
            return
        stats.sent += 1
        body = event_body(f"slow-{index}")
        if index % 2 == 0:
            prefix = b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            drip = b"s" * 1000
        else:
            prefix = b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + \
                     f"Content-Length: {len(body)}\r\n\r\n".encode()
            drip = body
        try:
            writer.write(prefix)
            await writer.drain()
            for byte in drip:
                if time.monotonic() > hold_until:
                    stats.record("held-to-the-end")
                    return
                try:
                    status, headers, rbody, head = await read_response(reader, 1.0)  # one byte per second
                    stats.record(status, prefix, head + rbody)
                    return
                except asyncio.TimeoutError:
                    pass
                writer.write(bytes([byte]))
                await writer.drain()
        except Closed:
            stats.record("closed")
        except (ConnectionError, OSError):
            stats.record("reset")
        finally:
            close(writer)

    while time.monotonic() + 3 < stop_at:
        waves += 1
        hold_until = min(stop_at, time.monotonic() + ARGS.hold)
        await asyncio.gather(*(one(waves * 100000 + i, hold_until) for i in range(ARGS.connections)))
        await asyncio.sleep(min(ARGS.pause, max(0, stop_at - time.monotonic())))
    return stats.to_json(waves=waves)


# ---------------------------------------------------------------------------------------------------------------
# flood: open/close as fast as allowed, and waves held open beyond max_connections


async def flood():
    stats = Stats("flood")
    stop_at = time.monotonic() + ARGS.duration
    budget = [ARGS.max_requests]
    held_stats = Stats("flood-hold")

    async def churn(wid):
        rng = random.Random(ARGS.seed + wid)
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            try:
                reader, writer = await asyncio.wait_for(open_connection(linger0=rng.random() < 0.7), 5)
            except (OSError, asyncio.TimeoutError):
                stats.record("connect-error")
                await asyncio.sleep(0.01)
                continue
            stats.sent += 1
            mode = rng.randrange(3)
            try:
                if mode == 0:
                    stats.record("opened-closed")
                elif mode == 1:
                    writer.write(request_bytes("GET", "/health", length=False))
                    await writer.drain()
                    stats.record("sent-closed")
                else:
                    writer.write(request_bytes("GET", "/health", length=False))
                    await writer.drain()
                    status, headers, body, head = await read_response(reader, 4)
                    stats.record(status, b"GET /health", head + body)
            except Closed:
                stats.record("closed")
            except asyncio.TimeoutError:
                stats.record("timeout")
            except (ConnectionError, OSError):
                stats.record("reset")
            finally:
                close(writer)
            await asyncio.sleep(ARGS.churn_pause)

    async def hold_one(index, until):
        try:
            reader, writer = await asyncio.wait_for(open_connection(), 5)
        except (OSError, asyncio.TimeoutError):
            held_stats.record("connect-error")
            return
        held_stats.sent += 1
        try:
            writer.write(request_bytes("GET", "/health", length=False))
            await writer.drain()
            status, headers, body, head = await read_response(reader, 4)
            held_stats.record(status, b"GET /health", head + body)
            # Then sit on the connection; the server may close it (idle timeout).
            remaining = until - time.monotonic()
            if remaining > 0:
                try:
                    data = await asyncio.wait_for(reader.read(1), remaining)
                    held_stats.notes["closed-by-server-while-held" if not data else "bytes-while-idle"] += 1
                except asyncio.TimeoutError:
                    held_stats.notes["held-to-the-end"] += 1
        except Closed:
            held_stats.record("closed")
        except asyncio.TimeoutError:
            held_stats.record("timeout")
        except (ConnectionError, OSError):
            held_stats.record("reset")
        finally:
            close(writer)

    async def hold_waves():
        waves = 0
        while time.monotonic() + 2 < stop_at:
            waves += 1
            until = min(stop_at, time.monotonic() + ARGS.hold)
            await asyncio.gather(*(hold_one(i, until) for i in range(ARGS.connections)))
            await asyncio.sleep(min(ARGS.pause, max(0, stop_at - time.monotonic())))
        return waves

    results = await asyncio.gather(hold_waves(), *(churn(i) for i in range(ARGS.concurrency)))
    return stats.to_json(hold=held_stats.to_json(), hold_waves=results[0])


# ---------------------------------------------------------------------------------------------------------------


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["good", "mutate", "framing", "bombs", "slowloris", "flood"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ready", help="good: a file written once every connection is open")
    parser.add_argument("--rate", type=float, default=200, help="good: events per second in all")
    parser.add_argument("--connections", type=int, default=4, help="good: keep-alive connections; slowloris/flood: per wave")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel attackers in one process")
    parser.add_argument("--max-requests", type=int, default=20000, help="upper bound on requests sent")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-body-kb", type=int, default=64)
    parser.add_argument("--hold", type=float, default=5, help="slowloris/flood: how long a wave holds its connections")
    parser.add_argument("--pause", type=float, default=3, help="slowloris/flood: pause between waves")
    parser.add_argument("--churn-pause", type=float, default=0.005, help="flood: pause between churned connections")
    ARGS = parser.parse_args()
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    except (ImportError, ValueError, OSError):
        pass
    started = time.monotonic()
    result = asyncio.run(globals()[ARGS.command]())
    result["seconds"] = round(time.monotonic() - started, 2)
    with open(ARGS.out + ".tmp", "w") as handle:
        json.dump(result, handle)
    os.replace(ARGS.out + ".tmp", ARGS.out)


ARGS = None

if __name__ == "__main__":
    main()
