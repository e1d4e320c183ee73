#!/usr/bin/env python3
"""Server CPU per HTTP request on a kept-alive connection: the cost of the HTTP pipeline itself.

    bench/request_cpu.py BINARY [BINARY ...]    e.g. two builds that differ in one handler

Each binary is started with its defaults on free loopback ports (attacks.Server); one client pipelines
`GET /healthz` in batches of 100 on one connection, reads every answer, and the server's CPU time
(user + system, from /proc) per request is reported over ROUNDS rounds of REQUESTS requests. The
binaries take turns round by round, so a noisy moment hits both. CPU time, not wall time: the client
shares the machine.
"""
import os
import socket
import sys

from attacks import Server

REQUESTS = int(os.environ.get("REQUESTS", "50000"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))


def one_round(server):
    sock = socket.create_connection(("127.0.0.1", server.port))
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    batch = request * 100
    before = server.cpu_seconds()
    seen, tail = 0, b""
    for n in range(1, REQUESTS // 100 + 1):
        sock.sendall(batch)
        while seen < n * 100:
            data = tail + sock.recv(1 << 16)
            seen += data.count(b"HTTP/1.1 200")
            tail = data[-11:]   # a status line split between two reads (11 bytes hold no whole one)
    answered = seen
    sock.close()
    return (server.cpu_seconds() - before) / answered * 1e6


def main():
    binaries = sys.argv[1:]
    if not binaries:
        sys.exit(__doc__)
    servers = [Server(binary) for binary in binaries]
    try:
        results = {binary: [] for binary in binaries}
        for _ in range(ROUNDS):
            for binary, server in zip(binaries, servers):
                results[binary].append(one_round(server))
        print("| build | server CPU µs per request (each round) | median |")
        print("|---|---|---|")
        for binary, values in results.items():
            median = sorted(values)[len(values) // 2]
            print(f"| {binary} | " + ", ".join(f"{v:.2f}" for v in values) + f" | {median:.2f} |")
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
