"""Puts events into a Kinesis stream aggregated by an independent KPL implementation.

The aggregation is aws_kinesis_agg's (PyPI, awslabs/kinesis-aggregation), not tickflow's: what
a stream filled by another producer holds. Used by bench/consume-check.sh:

    python kpl_put.py STREAM create               # a 2-shard stream, waited for until ACTIVE
    python kpl_put.py STREAM put events.jsonl     # one user record per line, aggregated

The endpoint is AWS_ENDPOINT_URL (test credentials, AWS_REGION or us-east-1).
"""

import json
import os
import sys
import time

import boto3
from aws_kinesis_agg.aggregator import RecordAggregator


def client():
    return boto3.client(
        "kinesis",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def create(kinesis, stream):
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    for _ in range(300):
        status = kinesis.describe_stream_summary(StreamName=stream)
        if status["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.2)
    sys.exit(f"stream {stream} did not become ACTIVE")


def put(kinesis, stream, path):
    aggregator = RecordAggregator()
    sent = {"user_records": 0, "kinesis_records": 0}

    def send(agg_record):
        if agg_record is None:
            return
        partition_key, hash_key, data = agg_record.get_contents()
        extra = {"ExplicitHashKey": hash_key} if hash_key else {}
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey=partition_key, **extra)
        sent["kinesis_records"] += 1

    with open(path, "rb") as lines:
        for line in lines:
            line = line.rstrip(b"\n")
            if not line:
                continue
            event = json.loads(line)
            key = event.get("pair") or event.get("symbol") or event["event_uuid"]
            send(aggregator.add_user_record(key, line))
            sent["user_records"] += 1
    send(aggregator.clear_and_get())
    print(
        f"aws_kinesis_agg put {sent['user_records']} user records in "
        f"{sent['kinesis_records']} aggregated Kinesis records into {stream}"
    )


def main():
    stream, action = sys.argv[1], sys.argv[2]
    kinesis = client()
    if action == "create":
        create(kinesis, stream)
    elif action == "put":
        put(kinesis, stream, sys.argv[3])
    else:
        sys.exit(f"unknown action {action!r}: create or put")


if __name__ == "__main__":
    main()
