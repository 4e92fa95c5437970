#!/usr/bin/env python3
"""Interop helper for KinesisAggregationTests: drives the reference Python
implementation (PyPI package aws-kinesis-agg) over JSON on stdin/stdout.

  kpl_interop.py deagg   stdin: [{"partitionKey": str, "data": base64}, ...]
                         stdout: [[{"partitionKey", "explicitHashKey", "data", "aggregated"}, ...], ...]
                         (one inner list per input record, via
                          aws_kinesis_agg.deaggregator.deaggregate_records on a
                          Lambda Kinesis event record)
  kpl_interop.py agg     stdin: [[{"partitionKey", "explicitHashKey"?, "data": base64}, ...], ...]
                         stdout: [{"partitionKey", "explicitHashKey", "data": base64}, ...]
                         (one aggregate per input group, via
                          aws_kinesis_agg.aggregator.RecordAggregator)

Exit code 3 (with a message on stderr) if aws-kinesis-agg is not installed.
"""
import base64
import json
import sys

try:
    from aws_kinesis_agg.aggregator import RecordAggregator
    from aws_kinesis_agg.deaggregator import deaggregate_records
except ImportError as error:  # pragma: no cover
    sys.stderr.write("aws-kinesis-agg is not importable (%s); install it with: "
                     "pip install aws-kinesis-agg\n" % error)
    sys.exit(3)


def b64(data):
    if isinstance(data, str):
        return data
    return base64.b64encode(data).decode("ascii")


def as_text(value):
    return value.decode("ascii") if isinstance(value, bytes) else value


def deagg(inputs):
    out = []
    for i, item in enumerate(inputs):
        event_record = {
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": "shardId-000000000000:%d" % i,
            "eventName": "aws:kinesis:record",
            "awsRegion": "us-east-1",
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": item["partitionKey"],
                "sequenceNumber": str(i + 1),
                "approximateArrivalTimestamp": 1700000000.0,
                "data": item["data"],
            },
        }
        records = deaggregate_records([event_record])
        out.append([{
            "partitionKey": r["kinesis"]["partitionKey"],
            "explicitHashKey": r["kinesis"].get("explicitHashKey"),
            # the deaggregator hands back base64 (as bytes for sub-records, as given otherwise)
            "data": as_text(r["kinesis"]["data"]),
            "aggregated": bool(r["kinesis"].get("aggregated", False)),
        } for r in records])
    return out


def agg(groups):
    out = []
    for group in groups:
        aggregator = RecordAggregator()
        for record in group:
            full = aggregator.add_user_record(
                record["partitionKey"],
                base64.b64decode(record["data"]),
                record.get("explicitHashKey"))
            if full is not None:
                raise SystemExit("group does not fit in one aggregated record")
        pk, ehk, data = aggregator.clear_and_get().get_contents()
        out.append({"partitionKey": pk, "explicitHashKey": ehk, "data": b64(data)})
    return out


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("deagg", "agg"):
        sys.stderr.write("usage: kpl_interop.py deagg|agg < input.json\n")
        return 2
    inputs = json.load(sys.stdin)
    result = deagg(inputs) if sys.argv[1] == "deagg" else agg(inputs)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
