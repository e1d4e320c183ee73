#!/usr/bin/env python3
"""A first, rough fan-out measurement: N WebSocket subscribers on one channel, messages published with
`POST /pub/CH` at a fixed rate, each payload carrying its send time. Reports deliveries/s, publish-to-
deliver latency percentiles, and lost or duplicated messages.

Rough because the load generator is Python (asyncio, several processes): it measures Switchboard plus
the client's own cost. Issue 3 replaces it with a native load generator.

    python3 bench/fanout_rough.py --url ws://127.0.0.1:8000/sub/bench --pub http://127.0.0.1:8000/pub/bench \
        --subscribers 1000 --processes 2 --rate 200 --seconds 10
"""
import argparse
import asyncio
import json
import multiprocessing as mp
import struct
import time
import urllib.request

import websockets


async def subscriber_group(url, count, ready, go, results, expected_seconds):
    latencies = []
    seen = [set() for _ in range(count)]
    duplicates = 0

    async def one(index):
        nonlocal duplicates
        async with websockets.connect(url, max_queue=None, ping_interval=None, compression=None) as ws:
            ready.put(1)
            try:
                while True:
                    data = await asyncio.wait_for(ws.recv(), timeout=expected_seconds + 5)
                    now = time.time()
                    seq, sent = struct.unpack("!Qd", data[1:17])
                    if seq in seen[index]:
                        duplicates += 1
                    seen[index].add(seq)
                    latencies.append(now - sent)
                    if seq == 0xFFFFFFFF:
                        return
            except asyncio.TimeoutError:
                return

    await asyncio.gather(*(one(i) for i in range(count)))
    results.put({"latencies": latencies, "received": [len(s) for s in seen], "duplicates": duplicates})


def run_group(url, count, ready, go, results, seconds):
    asyncio.run(subscriber_group(url, count, ready, go, results, seconds))


def publish(pub_url, seq, size):
    # A leading 0xFF keeps the payload non-UTF-8, so it always arrives as a binary frame.
    body = b"\xff" + struct.pack("!Qd", seq, time.time()) + b"x" * max(0, size - 17)
    request = urllib.request.Request(pub_url, data=body, method="POST", headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--pub", required=True)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100, help="publishes per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()

    ready, results, go = mp.Queue(), mp.Queue(), mp.Event()
    per = [args.subscribers // args.processes + (1 if i < args.subscribers % args.processes else 0) for i in range(args.processes)]
    procs = [mp.Process(target=run_group, args=(args.url, n, ready, go, results, args.seconds)) for n in per]
    for p in procs:
        p.start()
    for _ in range(args.subscribers):
        ready.get(timeout=60)
    time.sleep(0.5)
    count = int(args.rate * args.seconds)
    start = time.time()
    subscribers_seen = 0
    for seq in range(count):
        target = start + seq / args.rate
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
        subscribers_seen = publish(args.pub, seq, args.size)["subscribers"]
    publish(args.pub, 0xFFFFFFFF, args.size)
    elapsed = time.time() - start
    latencies, received, duplicates = [], [], 0
    for _ in procs:
        r = results.get(timeout=args.seconds + 60)
        latencies += r["latencies"]
        received += r["received"]
        duplicates += r["duplicates"]
    for p in procs:
        p.join()
    latencies.sort()
    expected = (count + 1) * args.subscribers
    delivered = sum(received)

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else float("nan")

    report = {
        "subscribers": args.subscribers, "subscribers_seen_by_server": subscribers_seen, "publishes": count + 1,
        "publish_rate": round(count / elapsed, 1), "deliveries_per_second": round(delivered / elapsed, 1),
        "lost": expected - delivered, "duplicates": duplicates,
        "latency_ms": {"p50": round(pct(50), 2), "p90": round(pct(90), 2), "p99": round(pct(99), 2), "p99.9": round(pct(99.9), 2), "max": round(latencies[-1] * 1000, 2) if latencies else None},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
