"""A real Debian redis-server on a free loopback port, for the tests of the Redis engine.

    RedisServer()        started at once, without persistence; .stop() when done
    .command(*args)      one command on a fresh connection (RESP2, for the test's own reads and faults)
    .pause() / .resume() SIGSTOP / SIGCONT: a link that stays up and goes silent
    .restart()           SHUTDOWN NOSAVE, then start again on the same port: Redis lost everything
    redis_nodes(make_server, redis, n)   n switchboard nodes sharing it
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from conftest import free_port

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisError(Exception):
    pass


def _encode(args) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
    return b"".join(out)


def _read_reply(f):
    line = f.readline()
    if not line:
        raise EOFError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RedisError(f"unexpected reply {line!r}")


class RedisServer:
    def __init__(self, port=None):
        self.dir = tempfile.mkdtemp(prefix="switchboard-redis-")
        self.port = port or free_port()
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.command("PING") == "PONG":
                    return
            except (OSError, EOFError, RedisError):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}) on port {self.port}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def command(self, *args, timeout=5.0):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(_encode(args))
            return _read_reply(s.makefile("rb"))

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def restart(self):
        """SHUTDOWN NOSAVE, then the same port again: as if Redis restarted without persistence."""
        try:
            self.command("SHUTDOWN", "NOSAVE")
        except (EOFError, OSError, RedisError):
            pass
        self.proc.wait(10)
        self.start()

    def shutdown(self):
        try:
            self.command("SHUTDOWN", "NOSAVE")
        except (EOFError, OSError, RedisError):
            pass
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_nodes(make_server, redis, n=3, **overrides):
    """n switchboard nodes sharing `redis` (each its own STOMP port)."""
    return [make_server(engine={"type": "redis", "redis": [redis.url]}, **overrides) for _ in range(n)]
