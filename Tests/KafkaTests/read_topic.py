#!/usr/bin/env python3
"""Independent reader for the Kafka tests: consumes a topic with confluent-kafka (its bundled
librdkafka) and prints one JSON object per message on stdout.

Usage: read_topic.py BOOTSTRAP TOPIC EXPECTED_COUNT [TIMEOUT_SECONDS]

Each line: {"partition": int, "offset": int, "key": base64 or null, "value_len": int or null,
"value_sha256": hex or null, "value": base64 (only when <= 4096 bytes) or null,
"headers": [[name, base64 or null], ...]}.
Stops after EXPECTED_COUNT messages (-1: as many as the partitions' high watermarks say, for
topics that may hold duplicates); exits 1 when fewer arrive within the timeout (default 60 s).
Exit status 2 when confluent_kafka cannot be imported (run scripts/kafka-peers).
"""
import base64
import hashlib
import json
import sys
import time
import uuid

try:
    from confluent_kafka import Consumer, KafkaError
except ImportError as error:  # pragma: no cover - reported by the Swift test
    sys.stderr.write("read_topic.py: cannot import confluent_kafka (%s); run scripts/kafka-peers\n" % error)
    sys.exit(2)


def b64(data):
    return None if data is None else base64.b64encode(data).decode("ascii")


def main():
    bootstrap, topic, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "read-topic-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": 16 * 1024 * 1024,
    })
    if expected < 0:
        from confluent_kafka import TopicPartition
        metadata = consumer.list_topics(topic, timeout=30)
        expected = 0
        for partition in metadata.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
            expected += high - low
    consumer.subscribe([topic])
    count = 0
    deadline = time.monotonic() + timeout
    out = sys.stdout
    try:
        while count < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=0.5):
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    sys.stderr.write("consumer error: %s\n" % msg.error())
                    continue
                value = msg.value()
                out.write(json.dumps({
                    "partition": msg.partition(),
                    "offset": msg.offset(),
                    "key": b64(msg.key()),
                    "value_len": None if value is None else len(value),
                    "value_sha256": None if value is None else hashlib.sha256(value).hexdigest(),
                    "value": b64(value) if value is not None and len(value) <= 4096 else None,
                    "headers": [[name, b64(v)] for name, v in (msg.headers() or [])],
                }) + "\n")
                count += 1
    finally:
        consumer.close()
    out.flush()
    if count < expected:
        sys.stderr.write("read_topic.py: got %d of %d messages within %.0f s\n" % (count, expected, timeout))
        sys.exit(1)


if __name__ == "__main__":
    main()
