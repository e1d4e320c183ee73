#!/usr/bin/env python3
"""What one anonymous client can do to a Switchboard started with its embedded defaults: each attack of
issue 13, run against the binary given, with the numbers that say whether it worked.

    bench/attacks.py BINARY [BINARY ...]      e.g. an older build next to .build/debug/switchboard

Every binary is started by the script on free loopback ports with no configuration but the ports, the
same way for each, so the table compares defaults. Needs requests (the test venv has it) and prlimit.

| attack | measured |
|---|---|
| history-flood | a native client that never reads, asking for 6.4 MiB of history again and again for 10 s (with `limits.native_commands_per_second = 0`, the one setting changed): the server's RSS growth, the slowest /healthz meanwhile |
| stomp-transaction | one STOMP transaction offered 64 x 512 KiB: RSS growth, and how the server answered |
| slowloris | 300 connections sending a request head one byte every 2 s: how many the server still holds after 15 s |
| one-address-flood | 1,500 idle connections from one address: how many the server accepted and kept |
| descriptor-exhaustion | the server limited to 64 descriptors, 100 connections opened: its CPU seconds in the next 5 s |
| cross-origin-publish | POST /pub from loopback with `Origin: https://evil.example` (a page the operator's browser visits) |
| dns-rebinding | GET /stats from loopback with `Host: evil.example` |
| impersonation | a native client connects naming the user "alice": does it receive what the back end sends alice? |
| stomp-anonymous-send | an anonymous STOMP client SENDs to /topic/prices: does a subscriber get it? |
| pipelined-unread | one connection pipelines `GET /switchboard.js` for 10 s and reads none of the answers: RSS growth, the slowest /healthz meanwhile |
"""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

import requests

MiB = 1 << 20
HTTP = requests.Session()
HTTP.trust_env = False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, nofile=None, limits=""):
        self.port, self.stomp_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="attacks-")
        config = os.path.join(self.dir, "switchboard.toml")
        with open(config, "w") as f:
            f.write(f'[server]\nhttp = "127.0.0.1:{self.port}"\n[stomp]\nlisten = "127.0.0.1:{self.stomp_port}"\n')
            if limits:
                f.write(f"[limits]\n{limits}\n")
        command = [binary, "--config", config]
        if nofile:
            command = ["prlimit", f"--nofile={nofile}:{nofile}", "--"] + command
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if HTTP.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{binary} did not start (see {self.log.name})")

    @property
    def pid(self):
        return self.process.pid

    def rss(self):
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * 4096

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def healthz_ms(self):
        start = time.monotonic()
        HTTP.get(f"{self.url}/healthz", timeout=30)
        return (time.monotonic() - start) * 1000

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Sockets(list):
    """The attack's sockets, closed when it ends."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for sock in self:
            sock.close()


# ---- minimal clients ----

def websocket(server, path, rcvbuf=None):
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0], head
    return sock


def ws_frame(text):
    payload = text.encode()
    n = len(payload)
    head = struct.pack("!BB", 0x81, 0x80 | n) if n < 126 else struct.pack("!BBH", 0x81, 0x80 | 126, n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_messages(sock, seconds):
    """The text messages that arrive within `seconds` (small, unfragmented frames)."""
    sock.settimeout(0.2)
    data, messages = b"", []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            pass
        while len(data) >= 2:
            n, offset = data[1] & 0x7F, 2
            if n == 126:
                if len(data) < 4:
                    break
                n, offset = struct.unpack("!H", data[2:4])[0], 4
            elif n == 127:
                if len(data) < 10:
                    break
                n, offset = struct.unpack("!Q", data[2:10])[0], 10
            if len(data) < offset + n:
                break
            if data[0] & 0x0F == 1:
                messages.append(json.loads(data[offset:offset + n]))
            data = data[offset + n:]
    return messages


def stomp(server):
    sock = socket.create_connection(("127.0.0.1", server.stomp_port), timeout=10)
    sock.sendall(b"CONNECT\naccept-version:1.2\nhost:localhost\n\n\x00")
    return sock


def stomp_frame(command, headers, body=b""):
    lines = "".join(f"{k}:{v}\n" for k, v in headers)
    return f"{command}\n{lines}\n".encode() + body + b"\x00"


def stomp_read(sock, seconds):
    sock.settimeout(seconds)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


# ---- the attacks ----

def history_flood(binary):
    # The per-connection command rate limit off (as a site with chatty clients might set it, or as many
    # connections get around it): what bounds the answers is then the output budget alone.
    with Server(binary, limits="native_commands_per_second = 0") as s:
        channel = "history-flood"
        for i in range(100):
            HTTP.post(f"{s.url}/pub/{channel}", data=b"x" * (64 * 1024), timeout=10)
        first = HTTP.get(f"{s.url}/pub/{channel}", timeout=10).json()["first_id"]
        since = first.rsplit(":", 1)[0] + ":0"
        before = s.rss()
        sock = websocket(s, "/connection/websocket", rcvbuf=4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        sock.settimeout(0.2)
        commands = [json.dumps({"id": 1, "method": "connect"})]
        for n in range(2, 2000):
            method = ("subscribe", "unsubscribe", "history")[n % 3]
            params = {"channel": channel} if method == "unsubscribe" else {"channel": channel, "since": since}
            commands.append(json.dumps({"id": n, "method": method, "params": params}))
        sent, peak, slowest = 0, before, 0.0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if sent < len(commands):
                try:
                    sock.sendall(ws_frame(commands[sent]))
                    sent += 1
                except (socket.timeout, BlockingIOError):
                    pass
                except OSError:
                    break
            if sent % 50 == 0 or sent >= len(commands):
                peak = max(peak, s.rss())
                slowest = max(slowest, s.healthz_ms())
                time.sleep(0.05)
        peak = max(peak, s.rss())
        sock.close()
        return f"RSS +{(peak - before) / MiB:.0f} MiB, slowest /healthz {slowest:.0f} ms ({sent} commands sent)"


def stomp_transaction(binary):
    with Server(binary) as s:
        before = s.rss()
        sock = stomp(s)
        sock.sendall(stomp_frame("BEGIN", [("transaction", "t")]))
        body = b"z" * (512 * 1024)
        sent = 0
        try:
            for _ in range(64):
                sock.sendall(stomp_frame("SEND", [("destination", "/topic/chat.tx"), ("transaction", "t"),
                                                  ("content-length", len(body))], body))
                sent += 1
        except OSError:
            pass
        answer = stomp_read(sock, 3)
        growth = s.rss() - before
        sock.close()
        error = [line for line in answer.split(b"\n") if line.startswith(b"message:")]
        outcome = f"ERROR {error[0].decode()[8:]}" if error else "no ERROR"
        return f"RSS +{growth / MiB:.0f} MiB, {sent} x 512 KiB accepted, {outcome}"


def slowloris(binary):
    with Server(binary) as s, Sockets() as socks:
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            socks.append(sock)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for sock in socks:
                try:
                    sock.sendall(b"X")
                except OSError:
                    pass
            time.sleep(2)
        held = 0
        for sock in socks:
            sock.settimeout(0.05)
            try:
                sock.recv(4096)     # an answer (408) or the end of the stream: the server let go
                closed = True
            except socket.timeout:
                closed = False
            except OSError:
                closed = True
            held += 0 if closed else 1
        return f"{held} of 300 still held after 15 s"


def one_address_flood(binary):
    with Server(binary) as s, Sockets() as socks:
        for _ in range(1500):
            try:
                socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
            except OSError:
                break
        time.sleep(1)
        refused = 0
        for sock in socks:
            sock.settimeout(0.01)
            try:
                refused += 1 if sock.recv(4096).startswith(b"HTTP/1.1 503") else 0
            except (socket.timeout, OSError):
                pass
        return f"{len(socks) - refused} of 1,500 kept, {refused} refused with 503"


def descriptor_exhaustion(binary):
    with Server(binary, nofile=64) as s, Sockets() as socks:
        for _ in range(100):
            try:
                socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=2))
            except OSError:
                pass
        time.sleep(0.5)
        before = s.cpu_seconds()
        time.sleep(5)
        return f"{s.cpu_seconds() - before:.2f} CPU-s in 5 s"


def cross_origin_publish(binary):
    with Server(binary) as s:
        r = HTTP.post(f"{s.url}/pub/chat", data=b"from a foreign page", timeout=5,
                      headers={"Origin": "https://evil.example", "Content-Type": "text/plain"})
        return f"{r.status_code} {'published' if r.status_code == 200 else r.json().get('code')}"


def dns_rebinding(binary):
    with Server(binary) as s:
        r = HTTP.get(f"{s.url}/stats", headers={"Host": "evil.example"}, timeout=5)
        return f"{r.status_code} {'the stats' if r.status_code == 200 else r.json().get('code')}"


def impersonation(binary):
    with Server(binary) as s:
        sock = websocket(s, "/connection/websocket")
        sock.sendall(ws_frame(json.dumps({"id": 1, "method": "connect", "params": {"user": "alice"}})))
        reply = ws_messages(sock, 1)
        HTTP.post(f"{s.url}/api/send", json={"user": "alice", "data": "alice's secret"}, timeout=5)
        got = ws_messages(sock, 1)
        sock.close()
        if any(m.get("data") == "alice's secret" for m in got):
            return "received alice's message"
        error = next((m["error"] for m in reply if "error" in m), None)
        return f"refused: {error['code']} {error['name']}" if error else "not received"


def stomp_anonymous_send(binary):
    with Server(binary) as s:
        listener = websocket(s, "/sub/prices")
        time.sleep(0.3)
        sock = stomp(s)
        sock.sendall(stomp_frame("SEND", [("destination", "/topic/prices")], b"forged price"))
        answer = stomp_read(sock, 1)
        listener.settimeout(1)
        try:
            delivered = b"forged price" in listener.recv(4096)
        except socket.timeout:
            delivered = False
        sock.close()
        listener.close()
        if delivered:
            return "delivered to subscribers"
        error = [line for line in answer.split(b"\n") if line.startswith(b"message:")]
        return f"refused: ERROR {error[0].decode()[8:]}" if error else "not delivered"


def pipelined_unread(binary):
    with Server(binary) as s:
        before = s.rss()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", s.port))
        sock.settimeout(0.2)
        request = f"GET /switchboard.js HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n\r\n".encode() * 100
        sent, peak, slowest = 0, before, 0.0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                sock.sendall(request)
                sent += 100
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                break
            peak = max(peak, s.rss())
            slowest = max(slowest, s.healthz_ms())
        peak = max(peak, s.rss())
        sock.close()
        return f"RSS +{(peak - before) / MiB:.0f} MiB, slowest /healthz {slowest:.0f} ms ({sent} requests sent)"


ATTACKS = [history_flood, stomp_transaction, slowloris, one_address_flood, descriptor_exhaustion,
           cross_origin_publish, dns_rebinding, impersonation, stomp_anonymous_send, pipelined_unread]


def main():
    binaries = sys.argv[1:]
    if not binaries:
        sys.exit(__doc__)
    only = os.environ.get("ATTACKS", "").split(",") if os.environ.get("ATTACKS") else None
    rows = []
    for attack in ATTACKS:
        name = attack.__name__.replace("_", "-")
        if only and name not in only:
            continue
        results = []
        for binary in binaries:
            try:
                results.append(attack(binary))
            except Exception as error:  # noqa: BLE001 - a failed probe is a result too
                results.append(f"probe failed: {error}")
            print(f"{name} [{binary}]: {results[-1]}", file=sys.stderr)
        rows.append((name, results))
    print("| attack | " + " | ".join(binaries) + " |")
    print("|---|" + "---|" * len(binaries))
    for name, results in rows:
        print(f"| {name} | " + " | ".join(results) + " |")


if __name__ == "__main__":
    main()
