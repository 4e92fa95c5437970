#!/usr/bin/env python3
"""The independent Kinesis client of the integration tests (boto3 + aws-kinesis-agg), against moto.

  kinesis_peer.py ENDPOINT create-stream NAME SHARDS
      Creates a stream and waits until it is ACTIVE.
  kinesis_peer.py ENDPOINT enable-auth
      Creates an IAM user with a kinesis:* policy and an access key, then switches moto's SigV4 checking on.
      Prints {"access_key_id": ..., "secret_access_key": ...}.
  kinesis_peer.py ENDPOINT read NAME [ACCESS_KEY SECRET]
      Reads every shard from TRIM_HORIZON, deaggregates KPL records with aws_kinesis_agg, and prints one JSON
      object per user record: {"shard_id", "sequence_number", "sub_sequence_number", "partition_key",
      "aggregated", "data"} (data as text).
"""
import base64
import json
import sys
import time
import urllib.request

import boto3
from aws_kinesis_agg.deaggregator import deaggregate_records


def client(endpoint, service, key="testing", secret="testing"):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def create_stream(endpoint, name, shards):
    kinesis = client(endpoint, "kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=int(shards))
    for _ in range(100):
        if kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise SystemExit("stream %s did not become ACTIVE" % name)


def enable_auth(endpoint):
    iam = client(endpoint, "iam")
    iam.create_user(UserName="sluice")
    iam.put_user_policy(UserName="sluice", PolicyName="kinesis", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["kinesis:*"], "Resource": "*"}],
    }))
    key = iam.create_access_key(UserName="sluice")["AccessKey"]
    request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request).read()
    print(json.dumps({"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}))


def read(endpoint, name, key="testing", secret="testing"):
    kinesis = client(endpoint, "kinesis", key, secret)
    shards = []
    token = None
    while True:
        page = kinesis.list_shards(NextToken=token) if token else kinesis.list_shards(StreamName=name)
        shards += page["Shards"]
        token = page.get("NextToken")
        if not token:
            break
    out = sys.stdout
    for shard in shards:
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            for record in page["Records"]:
                aggregated = record["Data"][:4] == b"\xf3\x89\x9a\xc2"
                lambda_record = {
                    "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventName": "aws:kinesis:record",
                    "eventID": "%s:%s" % (shard["ShardId"], record["SequenceNumber"]), "awsRegion": "us-east-1",
                    "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": record["PartitionKey"],
                                "sequenceNumber": record["SequenceNumber"],
                                "approximateArrivalTimestamp": 1700000000.0,
                                "data": base64.b64encode(record["Data"]).decode()},
                }
                users = deaggregate_records([lambda_record])
                for index, user in enumerate(users):
                    data = base64.b64decode(user["kinesis"]["data"]).decode("utf-8")
                    out.write(json.dumps({
                        "shard_id": shard["ShardId"],
                        "sequence_number": record["SequenceNumber"],
                        "sub_sequence_number": index if aggregated else None,
                        "partition_key": user["kinesis"]["partitionKey"],
                        "aggregated": aggregated,
                        "data": data,
                    }) + "\n")
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")


if __name__ == "__main__":
    endpoint, command, *rest = sys.argv[1:]
    if command == "create-stream":
        create_stream(endpoint, *rest)
    elif command == "enable-auth":
        enable_auth(endpoint)
    elif command == "read":
        read(endpoint, *rest)
    else:
        raise SystemExit("unknown command " + command)
