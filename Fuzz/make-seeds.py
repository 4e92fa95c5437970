#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/Corpus/<target>/ (valid and nearly valid inputs; a few KB per target).

Run again after changing it; the files it writes are committed. Generated working corpora go in .tools/fuzz.
"""
import hashlib
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# --- envelope -------------------------------------------------------------------------------------------------------
ENVELOPES = {
    "minimal": '{"payload":1}',
    "full": '{"team":"rpp","app":"promo-clicks","partition_key":"user-42","event_id":"order-1",'
    '"large_message":false,"payload":{"event":"signup","plan":"pro"}}',
    "nulls": '{"team":null,"app":null,"partition_key":null,"event_id":null,"large_message":null,"payload":null}',
    "escapes": '{"te\\u0061m":"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00","app":"x","payload":"\\u0000"}',
    "values": '{"payload":[0,-0,1.5,-2.25e-10,3E+7,true,false,null,"",{},[],{"a":{"a":1,"a":2}}]}',
    "whitespace": ' \t\r\n{ "payload" : { "k" : [ 1 , 2 ] } , "large_message" : true } \n',
    "utf8": '{"partition_key":"\u00e9\u4e2d\U0001f600","payload":"\u00e9\u4e2d\U0001f600"}',
    "deep": '{"payload":' + "[" * 127 + "]" * 127 + "}",
    "too-deep": '{"payload":' + "[" * 128 + "]" * 128 + "}",
    "trailing-comma": '{"payload":1,}',
    "duplicate": '{"payload":1,"payload":2}',
    "unknown-field": '{"payload":1,"tema":"x"}',
    "missing-payload": '{"team":"a","app":"b"}',
    "wrong-type": '{"team":1,"payload":1}',
    "not-object": '[{"payload":1}]',
    "trailing-data": '{"payload":1} {}',
    "leading-zero": '{"payload":01}',
    "bad-number": '{"payload":[1.,-,.5,1e,1e+]}',
    "lone-surrogate": '{"payload":"\\ud800","event_id":"\\udc00x"}',
    "bad-escape": '{"payload":"\\x41\\u12"}',
    "unterminated": '{"payload":"abc',
    "empty": "",
}
for name, text in ENVELOPES.items():
    write("envelope", name, text)
write("envelope", "invalid-utf8", b'{"payload":"\xff\xc3\x28\xed\xa0\x80\xf4\x90\x80\x80"}')
write("envelope", "bom", b'\xef\xbb\xbf{"payload":1}')
write("envelope", "control-char", b'{"payload":"a\x01b"}')

# --- batch (JSON arrays and NDJSON) ---------------------------------------------------------------------------------
write("batch", "array", '[{"payload":1},{"team":"rpp","app":"promo-clicks","payload":{"a":[1,2]}}]')
write("batch", "array-empty", "[]")
write("batch", "array-mixed", '[ 1, "x", null, {"payload":2}, [ {"payload":3} ] ]')
write("batch", "array-trailing-comma", '[{"payload":1},]')
write("batch", "array-deep", "[" + '{"payload":' + "[" * 127 + "]" * 127 + "}]")
write("batch", "not-array", '{"payload":1}')
write("batch", "ndjson", '{"payload":1}\n{"payload":\n')
write("batch", "ndjson-crlf", '{"payload":1}\r\n\r\n  \t\n{"team":"a","app":"b","payload":[]}\r\n')
write("batch", "ndjson-cr-only", '{"payload":1}\r\r\n\r{"payload":2}\r')
write("batch", "ndjson-blank", "\n\n \t \n\n")
write("batch", "ndjson-no-final-newline", '{"payload":"a\\nb"}\n{"payload":true}')
write("batch", "ndjson-invalid-utf8", b'{"payload":"\xff"}\n{"payload":"\xe2\x82"}\n')

# --- config (YAML; a NUL separates an environment block) ------------------------------------------------------------
SEED_ROUTING = """streams:
  - team: rpp
    app: promo-clicks
    kinesis_stream: rpp-promo-clicks-dev
    kafka_topic: rpp-promo-clicks-dev
routing:
  large_message_threshold_kb: 100
"""
write("config", "seed-routing", SEED_ROUTING)
write("config", "all-sections", SEED_ROUTING + """server:      {host: 0.0.0.0, port: 8080, max_body_kb: 10240, confirmed_timeout_ms: 30000, max_batch_events: 500, max_json_depth: 128}
durability:  {mode: disk, dir: ./data/wal, fsync: interval, fsync_interval_ms: 10, max_disk_mb: 1024, segment_size_mb: 64}
archive:
  enabled: true
  url: file://./data/archive
  format: ndjson_gzip
  buffer: {size_mb: 5, interval_s: 60}
  partition_template: "team={team}/app={app}/dt={yyyy}-{MM}-{dd}/hour={HH}/"
  error_prefix: errors/
  compression_level: 1
default_stream: {team: rpp, app: promo-clicks}
kinesis:
  region: us-east-1
  endpoint_url: http://localhost:4566
  record_max_buffered_time_ms: 100
  record_ttl_ms: 30000
  max_outstanding_records: 100000
  rate_limit: 150
kafka:
  bootstrap_servers: b-1.example:9098
  security: {protocol: sasl_ssl, sasl_mechanism: AWS_MSK_IAM}
  message_max_bytes: 8388608
  properties: {compression.type: zstd}
""")
write("config", "env-default", """server:
  host: ${HOST:-127.0.0.1}
  port: ${PORT}
kinesis:
  region: ${REGION:-${AWS_REGION:-us-east-1}}
  endpoint_url: "http://$${literal}:${MISSING}"
default_stream: "${TEAM}/${EMPTY:-app}"
""")
write("config", "env-block", "HOST=127.0.0.1\nPORT=9090\nBAD=\xff\n\0server: {host: ${HOST}, port: ${PORT}}\ndefault_stream: ${BAD}/x\n")
write("config", "env-malformed", "server: {host: ${, port: ${1X}, max_body_kb: ${A:-${B:-${C:-${D:-1}}}}}\nstreams: [${}]\n")
write("config", "errors", """streams:
  - team: rpp
    app:
    tema: x
  - {team: rpp, app: promo-clicks}
server: {port: 99999, max_body_kb: -1, host: [1]}
auth: {}
durability: {fsync: sometimes}
""")
write("config", "tab", "server:\n\tport: 8080\n")
write("config", "two-documents", "server: {port: 1}\n---\nserver: {port: 2}\n")
write("config", "aliases", "x: &a {team: rpp, app: a}\ny: &b [*a, *a, *a]\nstreams: [*a, {<<: *a, app: b}]\nz: [*b, *b]\n")
write("config", "scalars", "server: {port: 0x1F90, max_body_kb: 1e3, confirmed_timeout_ms: .inf, host: ~}\nrouting: !!str 5\n")
write("config", "empty", "")

# --- headers (byte 0: DecimalInteger options; bytes 1-8: clock; then `\n`-separated field values) -------------------
CLOCK = struct.pack("<q", 1_764_633_600_000)
HEADERS = {
    "sent-at": "1764633599000",
    "sent-at-blank": " \t1764633599000 ",
    "negative": "-42",
    "overflow": "99999999999999999999",
    "request-id": "019a5c3e-7b2d-7c4e-9f00-aa55aa55aa55",
    "content-type": "application/json; charset=UTF-8",
    "content-type-quoted": 'Application/X-NDJSON ; foo=bar; charset="utf-8"',
    "content-type-bad": "json;charset=latin1\n/\ntext/\n;charset=utf-8",
    "content-encoding": "gzip\nidentity\n",
    "content-encoding-stacked": "gzip, x-gzip\ndeflate",
    "content-encoding-unsupported": "br\nzstd, gzip",
    "content-length": "42\n42, 42",
    "content-length-conflict": "42\n43",
    "content-length-bad": "+1\n1 2\n\n0x10",
}
for index, (name, text) in enumerate(HEADERS.items()):
    write("headers", name, bytes([(index * 7 + 18) & 0x3F]) + CLOCK + text.encode())
write("headers", "non-utf8", b"\x32" + CLOCK + b"\xff\xfe12\x00\x7f")


# --- write-ahead log (records framed as in Sources/WriteAheadLog/RecordCodec.swift) ---------------------------------
def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def record(sequence, event_id, body, received_at=1_764_633_600_000, routes=1):
    event_id = event_id.encode() if isinstance(event_id, str) else event_id
    body = body.encode() if isinstance(body, str) else body
    total = 40 + len(event_id) + len(body)
    rest = struct.pack("<QqII", sequence, received_at, routes, len(event_id)) + event_id + struct.pack("<I", len(body)) + body
    return b"SLW\x01" + struct.pack("<II", total, crc32c(rest)) + rest


ENVELOPE = '{"v":1,"event_id":"e","team":"rpp","app":"a","partition_key":"k","received_at":"2026-11-22T03:12:34.857Z","payload":1}'
one = record(0, "019a5c3e-7b2d-7c4e-9f00-aa55aa55aa55", ENVELOPE)
write("wal-record", "record", one)
write("wal-record", "record-empty", record(5, "", ""))
write("wal-record", "record-invalid-utf8-id", record(1, b"\xff\xfe", "x"))
write("wal-record", "bad-crc", one[:8] + b"\0\0\0\0" + one[12:])
write("wal-record", "bad-magic", b"SLW\x02" + one[4:])
write("wal-record", "short-length", one[:4] + struct.pack("<I", 39) + one[8:])
write("wal-record", "id-too-long", record(0, "abc", "")[:32] + struct.pack("<I", 4) + b"abc" + struct.pack("<I", 0))
write("wal-record", "torn", one[:len(one) // 2])
write("wal-record", "prefix", one[:11])

segment = b"".join(record(s, "id-%d" % s, '{"payload":%d}' % s) for s in range(3))
write("wal-recovery", "segment", segment)
write("wal-recovery", "segment-torn-tail", segment + record(3, "id-3", "tail")[:30])
write("wal-recovery", "segment-gap", record(0, "a", "x") + record(2, "b", "y"))
write("wal-recovery", "segment-garbage-tail", segment + b"\0" * 64)
write("wal-recovery", "segment-high-base", record(2**64 - 2, "a", "x") + record(2**64 - 1, "b", "y"))
write("wal-recovery", "segment-base-42", b"".join(record(42 + s, "k", "v") for s in range(2)))
write("wal-recovery", "empty", b"")


# --- KPL aggregates (byte 0 even: protobuf body, wrapped with magic + MD5 here; odd: raw record data) ---------------
def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    return key + (varint(len(payload)) + payload if wire == 2 else payload)


def user(pk_index, data, ehk_index=None, tag=False):
    msg = field(1, 0, varint(pk_index))
    if ehk_index is not None:
        msg += field(2, 0, varint(ehk_index))
    msg += field(3, 2, data)
    if tag:
        msg += field(4, 2, field(1, 2, b"key") + field(2, 2, b"value"))
    return field(3, 2, msg)


body = field(1, 2, b"user-1") + field(1, 2, b"user-2") + field(2, 2, b"340282366920938463463374607431768211455")
body += user(0, b'{"payload":1}') + user(1, b"two", ehk_index=0) + user(0, b"", tag=True)
write("kpl", "aggregate", b"\0" + body)
write("kpl", "aggregate-unknown-fields", b"\0" + field(9, 0, varint(7)) + field(10, 5, b"abcd") + field(11, 1, b"12345678") + body)
write("kpl", "aggregate-bad-index", b"\0" + field(1, 2, b"k") + user(3, b"x"))
write("kpl", "aggregate-missing-data", b"\0" + field(1, 2, b"k") + field(3, 2, field(1, 0, varint(0))))
write("kpl", "aggregate-bad-utf8", b"\0" + field(1, 2, b"\xff") + user(0, b"x"))
write("kpl", "aggregate-long-varint", b"\0" + field(1, 2, b"k") + b"\x1a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")
write("kpl", "aggregate-empty", b"\0")
real = b"\xf3\x89\x9a\xc2" + body + hashlib.md5(body).digest()
write("kpl", "record-aggregated", b"\x01" + real)
write("kpl", "record-bad-md5", b"\x01" + real[:-1] + bytes([real[-1] ^ 1]))
write("kpl", "record-plain", b'\x01{"payload":1}')
write("kpl", "decimal", b"\x010000340282366920938463463374607431768211455")
write("kpl", "decimal-overflow", b"\x01340282366920938463463374607431768211456")
