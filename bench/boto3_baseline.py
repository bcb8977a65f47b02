#!/usr/bin/env python3
"""The seeds' way of producing market data, as a baseline for tickflow's benchmark.

`single` puts one record per event with put_record, as the babbel seed's StreamGenerator does;
`batch` uses put_records with 500 events per call. Each mode runs for --seconds against a fresh
2-shard stream and prints its rate and the time it would need for --events events.
"""
import argparse
import json
import os
import random
import sys
import time
import uuid

import boto3


def event(rng):
    """A stock quote shaped like tickflow's (event_uuid, event_name, created_at + payload)."""
    price = round(rng.uniform(100, 400), 2)
    return {
        "event_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_name": "stock_price:quote",
        "created_at": int(time.time() * 1000),
        "symbol": rng.choice(["AAPL", "MSFT", "AMZN", "NVDA", "JPM"]),
        "price": price,
        "bid": round(price - 0.01, 2),
        "ask": round(price + 0.01, 2),
        "volume": rng.randint(1, 50) * 100,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["single", "batch"], required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        sys.exit("set AWS_ENDPOINT_URL to the LocalStack to measure")
    kinesis = boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    stream = f"baseline-{args.mode}-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1})
    rng = random.Random(7)
    sent = calls = 0
    start = time.monotonic()
    try:
        while time.monotonic() - start < args.seconds:
            if args.mode == "single":
                e = event(rng)
                kinesis.put_record(StreamName=stream, Data=json.dumps(e), PartitionKey=e["symbol"])
                sent += 1
            else:
                batch = [event(rng) for _ in range(500)]
                out = kinesis.put_records(
                    StreamName=stream,
                    Records=[{"Data": json.dumps(e), "PartitionKey": e["symbol"]} for e in batch],
                )
                sent += 500 - out.get("FailedRecordCount", 0)
            calls += 1
        elapsed = time.monotonic() - start
    finally:
        kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
    rate = sent / elapsed
    print(json.dumps({
        "mode": args.mode,
        "events": sent,
        "calls": calls,
        "seconds": round(elapsed, 2),
        "events_per_sec": round(rate, 1),
        "projected_secs_for": args.events,
        "projected_secs": round(args.events / rate, 1),
    }))


if __name__ == "__main__":
    main()
