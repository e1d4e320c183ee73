"""Fixtures: start the real `switchboard serve` binary on a free port with a temporary config.

    server              module-scoped server with the default test configuration
    make_server(**kw)   function-scoped factory (servers stopped at the end of the test)
    make_module_server  module-scoped factory, for a module sharing a specially configured server
    chan()              unique channel names per test

Overrides are given either per section, `make_server(channels={"history_size": 3})`, or flat,
`make_server(history_size=3)` (the section is looked up). `env={...}` adds environment variables
and `args=[...]` extra command-line arguments.
"""
from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # readiness checks of TLS servers

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SWITCHBOARD_BIN") or ROOT / ".build" / "debug" / "switchboard")

SECTIONS = {
    "server": ["http", "chat", "threads", "shutdown_timeout", "log_level", "node_id", "advertise"],
    "engine": ["type", "redis", "prefix"],
    "channels": ["history_size", "history_ttl", "ping_interval", "longpoll_timeout",
                 "message_template", "ping_template", "presence"],
    "limits": ["max_channel_name", "max_channels_per_subscription", "max_message_size",
               "max_outbound_bytes", "max_request_line", "max_header_size",
               "native_commands_per_second", "max_memory", "max_channels", "max_connections",
               "connections_per_address", "header_timeout", "idle_timeout"],
    "security": ["allow_loopback", "api_keys", "client_publish", "client_subscribe", "client_queues", "anonymous_users", "token_secret",
                 "hosts", "origins", "subscribe_origins", "trusted_proxies", "jwks", "jwks_refresh", "jwks_ca",
                 "token_require_exp", "token_issuer", "token_audience", "forwarded_header"],
    "testing": ["websocket_echo", "socketio_conformance"],
    "native": ["rpc_url", "backend_timeout", "connect_timeout", "hook_url", "hooks", "max_concurrent_calls"],
    "stomp": ["listen", "websocket", "heartbeat", "users", "user", "prefetch", "max_subscriptions", "max_headers",
              "max_header_length", "max_queue_length", "max_queue_bytes", "max_queues", "connect_timeout",
              "max_transaction_bytes", "max_transaction_frames", "tls"],
    "bridge": ["route", "token_file", "allow", "origins", "connect_timeout", "idle_timeout", "max_connections_per_route",
               "max_connections_per_address"],
    "tls": ["cert", "key"],
    "socketio": ["enabled", "namespaces", "ping_interval", "ping_timeout", "max_payload", "connect_timeout",
                 "max_attachments", "recovery_window", "hook_url", "hooks", "max_concurrent_calls"],
}
# Socket.IO's and the bridge's keys share names with other sections': only accepted per section,
# make_server(socketio={...}), make_server(bridge={..., "route": [{"path", "target", "text"}]}).
KEY_SECTION = {k: s for s, keys in SECTIONS.items() if s not in ("socketio", "bridge", "tls", "engine") for k in keys}
# Keys whose flat name is ambiguous or too vague are only accepted per section: make_server(stomp={...}).
for _key in ("listen", "websocket", "users", "user", "heartbeat", "connect_timeout", "max_concurrent_calls", "tls"):
    KEY_SECTION.pop(_key, None)

# Fast timings for the tests.
BASE_CONFIG = {
    "server": {"threads": 2, "shutdown_timeout": 3, "log_level": "info"},
    "channels": {"ping_interval": 1, "longpoll_timeout": 2},
}

STOP_TIMEOUT = 8.0  # seconds a SIGTERM'd server may take to exit


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def to_toml(cfg: dict) -> str:
    out = []
    for section, kv in cfg.items():
        out.append(f"[{section}]")
        tables = {k: v for k, v in kv.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
        for k, v in kv.items():
            if k not in tables:
                out.append(f"{k} = {toml_value(v)}")
        out.append("")
        for k, items in tables.items():  # arrays of tables: [[section.k]]
            for item in items:
                out.append(f"[[{section}.{k}]]")
                out.extend(f"{ik} = {toml_value(iv)}" for ik, iv in item.items())
                out.append("")
    return "\n".join(out)


def merge_config(overrides: dict) -> dict:
    cfg = {s: dict(v) for s, v in BASE_CONFIG.items()}
    for key, value in overrides.items():
        if key in SECTIONS and isinstance(value, dict):
            cfg.setdefault(key, {}).update(value)
        elif key in KEY_SECTION:
            cfg.setdefault(KEY_SECTION[key], {})[key] = value
        else:
            raise KeyError(f"unknown config override {key!r}")
    return cfg


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, config: dict, env=None, args=None, tmpdir=None, prefix=None):
        self.config = config
        self.tmpdir = Path(tmpdir or tempfile.mkdtemp(prefix="switchboard-it-"))
        self.extra_env = env or {}
        self.extra_args = list(args or [])
        self.prefix = list(prefix or [])   # e.g. ["prlimit", "--nofile=64:64", "--"]: runs the binary through it
        self.proc = None
        self.returncode = None
        self.port = None
        self.stomp_port = None

    # public surface ---------------------------------------------------------------------
    @property
    def tls(self):
        """Whether the server serves https and wss (a [tls] certificate is configured)."""
        return bool(self.config.get("tls", {}).get("cert"))

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    @property
    def stomp_address(self):
        """(host, port) of the STOMP TCP listener."""
        return ("127.0.0.1", self.stomp_port)

    @property
    def pid(self):
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def crash_summary(self) -> str:
        """The interesting lines of the log (fatal errors) and its tail."""
        log = self.log()
        fatal = [l for l in log.splitlines() if re.search(r"Fatal error|Crash|panic|Precondition|Assertion", l)]
        return ("\n".join(fatal[:10]) + "\n...\n" + log[-1500:]) if fatal else log[-3000:]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # lifecycle --------------------------------------------------------------------------
    def start(self, attempts=3):
        if not BIN.exists():
            pytest.fail(f"switchboard binary not found at {BIN} (build it, or set SWITCHBOARD_BIN)")
        last = ""
        for attempt in range(attempts):
            self.port = free_port()
            cfg = {s: dict(v) for s, v in self.config.items()}
            cfg.setdefault("server", {})["http"] = f"127.0.0.1:{self.port}"
            # Every server gets its own STOMP port (unless the test turned the listener off).
            stomp_listen = cfg.setdefault("stomp", {}).get("listen")
            if stomp_listen == "off":
                self.stomp_port = None
            else:
                self.stomp_port = free_port()
                cfg["stomp"]["listen"] = f"127.0.0.1:{self.stomp_port}"
            self.config_path = self.tmpdir / f"switchboard-{self.port}.toml"
            self.config_path.write_text(to_toml(cfg))
            self.log_path = self.tmpdir / f"switchboard-{self.port}.log"
            env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
            env.update(self.extra_env)
            cmd = self.prefix + [str(BIN), "serve", "--config", str(self.config_path),
                   "--http", f"127.0.0.1:{self.port}"] + self.extra_args
            with open(self.log_path, "wb") as logf:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=subprocess.STDOUT, env=env)
            if self._wait_healthy():
                return self
            last = self.log()
            self._kill()
            if "in use" not in last.lower():
                break
        pytest.fail(f"switchboard did not become healthy on port {self.port}\n"
                    f"config:\n{to_toml(self.config)}\nlog:\n{last[-4000:]}")

    def _wait_healthy(self, timeout=20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = requests.get(f"{self.url}/healthz", timeout=1, verify=False)  # readiness only
                if r.status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def send_signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Send sig and wait for the exit; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            return self.returncode
        self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self.returncode = None
        return self.returncode


class ServerPool:
    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.servers = []

    def __call__(self, env=None, args=None, prefix=None, **overrides):
        cfg = merge_config(overrides)
        srv = Server(cfg, env=env, args=args, prefix=prefix, tmpdir=self.tmp_path_factory.mktemp("srv"))
        self.servers.append(srv)
        return srv.start()

    def stop_all(self):
        problems = []
        for srv in self.servers:
            if srv.proc is None:
                continue
            if srv.returncode is not None:
                continue  # the test stopped it itself
            if srv.proc.poll() is not None:
                problems.append(f"server on port {srv.port} died during the tests "
                                f"(exit {srv.proc.returncode})\n{srv.crash_summary()}")
                continue
            rc = srv.stop()
            if rc is None:
                problems.append(f"server on port {srv.port} did not exit within {STOP_TIMEOUT}s "
                                f"of SIGTERM\n{srv.log()[-3000:]}")
        self.servers.clear()
        if problems:
            pytest.fail("\n".join(problems))


@pytest.fixture
def make_server(tmp_path_factory):
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def make_module_server(tmp_path_factory):
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def server(make_module_server):
    return make_module_server()


_counter = itertools.count(1)


@pytest.fixture
def chan(request):
    """chan() -> a channel name unique to this test (valid characters only)."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)[:60]
    tag = uuid.uuid4().hex[:6]

    def make(prefix=""):
        return f"{prefix}{base}-{tag}-{next(_counter)}"

    return make


class Revivable:
    """A module-wide server that is replaced by a fresh one when a test crashed it, so one crash
    fails one test instead of every test after it. The crash is recorded in `deaths`."""

    def __init__(self, pool, **overrides):
        self.pool, self.overrides, self.current, self.deaths = pool, overrides, None, []

    def get(self):
        if self.current is None or not self.current.alive():
            if self.current is not None:
                self.current.returncode = self.current.proc.returncode  # accounted for
            self.current = self.pool(**self.overrides)
        return self.current


@pytest.fixture(scope="module")
def make_revivable(make_module_server):
    return lambda **overrides: Revivable(make_module_server, **overrides)
