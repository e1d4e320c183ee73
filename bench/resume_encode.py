#!/usr/bin/env python3
"""The cost of large native-protocol answers: a channel holds MESSAGES text messages of SIZE bytes (chat-like
text with quotes and line breaks, so JSON escaping is exercised); one native client subscribes from the
start and unsubscribes ROUNDS times, each answer carrying every message as a JSON string. Prints the
server's CPU time per answer (from /proc/PID/stat) and the client's wall time per round trip.

    bench/resume_encode.py --url http://127.0.0.1:8000 --pid PID [--messages 400 --size 4096 --rounds 50]

The server needs `channels.history_size` >= MESSAGES, clients allowed to subscribe (the default), and
loopback publishing (the default). Uses websocket-client (the test venv has it)."""
import argparse
import json
import os
import time

import requests
import websocket


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def payload(size, n):
    line = f'message {n}: "quoted", a\\backslash and a tab\there; ' + "lorem ipsum dolor sit amet " * 4 + "\n"
    return (line * (size // len(line) + 1))[:size]


def reply_to(ws, command_id):
    """The raw reply to command `command_id` (pushes such as presence joins are skipped)."""
    while True:
        text = ws.recv()
        message = json.loads(text)
        if "push" not in message and message.get("id") == command_id:
            return text, message


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--channel", default="resume-encode")
    args = parser.parse_args()

    session = requests.Session()
    session.trust_env = False
    for n in range(args.messages):
        r = session.post(f"{args.url}/pub/{args.channel}", data=payload(args.size, n).encode(),
                         headers={"Content-Type": "text/plain"}, timeout=10)
        r.raise_for_status()
    first = session.get(f"{args.url}/pub/{args.channel}", timeout=10).json()["first_id"]
    since = first.split(":")[0] + ":0"

    ws = websocket.create_connection(args.url.replace("http", "ws", 1) + "/connection/websocket", timeout=30,
                                     suppress_origin=True)
    ws.send(json.dumps({"id": 1, "method": "connect", "params": {}}))
    reply_to(ws, 1)
    walls = []
    answer_bytes = 0
    cpu_before = cpu_seconds(args.pid)
    for n in range(args.rounds):
        start = time.perf_counter()
        ws.send(json.dumps({"id": 2, "method": "subscribe", "params": {"channel": args.channel, "since": since}}))
        answer, reply = reply_to(ws, 2)
        walls.append(time.perf_counter() - start)
        assert len(reply["result"]["publications"]) == args.messages, reply["result"].get("gap")
        answer_bytes = len(answer)
        ws.send(json.dumps({"id": 3, "method": "unsubscribe", "params": {"channel": args.channel}}))
        reply_to(ws, 3)
    cpu = cpu_seconds(args.pid) - cpu_before
    ws.close()
    walls.sort()
    print(json.dumps({
        "answer_bytes": answer_bytes,
        "rounds": args.rounds,
        "server_cpu_ms_per_answer": round(cpu * 1000 / args.rounds, 2),
        "wall_ms_p50": round(walls[len(walls) // 2] * 1000, 2),
        "wall_ms_min": round(walls[0] * 1000, 2),
    }))


if __name__ == "__main__":
    main()
