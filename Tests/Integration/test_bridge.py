"""The WebSocket-to-TCP bridge against the real binary: named routes, websockify tokens, the /tcp
allow-list, data both ways through a TCP echo server, refusals before any TCP connection, close codes,
timeouts, limits and counters."""
import hashlib
import shutil
import subprocess
import os
import socket
import threading
import time

import pytest
import requests
import websocket

from conftest import free_port
from helpers import TOKEN_SECRET, make_token, ws_expect_close


class EchoServer:
    """A TCP server on 127.0.0.1: echoes (or, with `greet_and_close`, says hello and hangs up);
    counts the connections it accepted."""

    def __init__(self, greet_and_close=False):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.greet_and_close = greet_and_close
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            if self.greet_and_close:
                conn.sendall(b"hello\n")
                return
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def echo():
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def closer():
    server = EchoServer(greet_and_close=True)
    yield server
    server.close()


@pytest.fixture(scope="module")
def tokens(tmp_path_factory, echo):
    path = tmp_path_factory.mktemp("bridge") / "tokens.cfg"
    path.write_text(f"# websockify format\nalpha: 127.0.0.1:{echo.port}\n\nbad line\n")
    return path


@pytest.fixture(scope="module")
def srv(make_module_server, echo, closer, tokens):
    down = free_port()  # nothing listens there
    return make_module_server(bridge={
        "token_file": str(tokens),
        "allow": [f"127.0.0.1:{echo.port}", f"localhost:{echo.port}-{echo.port + 1}"],
        "route": [
            {"path": "/tcp-echo", "target": f"127.0.0.1:{echo.port}"},
            {"path": "/tcp-echo-text", "target": f"127.0.0.1:{echo.port}", "text": True},
            {"path": "/down", "target": f"127.0.0.1:{down}"},
            {"path": "/closer", "target": f"127.0.0.1:{closer.port}"},
        ],
    })


def connect(srv, path, subprotocols=("binary",)):
    return websocket.create_connection(f"{srv.ws_url}{path}", timeout=10,
                                       subprotocols=list(subprotocols) if subprotocols else None)


def read_exactly(ws, size):
    data = bytearray()
    while len(data) < size:
        opcode, chunk = ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_BINARY
        data += chunk
    return bytes(data)


def test_megabytes_both_ways_arrive_intact(srv):
    ws = connect(srv, "/tcp-echo")
    try:
        assert ws.getsubprotocol() == "binary"
        payload = os.urandom(4 << 20)
        received = bytearray()

        def reader():
            received.extend(read_exactly(ws, len(payload)))

        thread = threading.Thread(target=reader)
        thread.start()
        for offset in range(0, len(payload), 60_000):
            ws.send_binary(payload[offset:offset + 60_000])
        thread.join(60)
        assert hashlib.sha256(received).hexdigest() == hashlib.sha256(payload).hexdigest()
    finally:
        ws.close()


def test_many_connections_at_once(srv):
    def one(results, index):
        ws = connect(srv, "/tcp-echo")
        try:
            data = os.urandom(64 << 10)
            ws.send_binary(data)
            results[index] = read_exactly(ws, len(data)) == data
        finally:
            ws.close()

    results = [False] * 40
    threads = [threading.Thread(target=one, args=(results, i)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(results)


def test_no_subprotocol_works_and_other_subprotocols_are_refused(srv):
    ws = connect(srv, "/tcp-echo", subprotocols=None)
    try:
        ws.send_binary(b"plain")
        assert read_exactly(ws, 5) == b"plain"
    finally:
        ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(srv, "/tcp-echo", subprotocols=("base64",))
    assert refused.value.status_code == 400


def test_text_frames_refused_unless_the_route_allows_them(srv):
    ws = connect(srv, "/tcp-echo")
    ws.send("NICK alice\r\n")
    code, reason, _ = ws_expect_close(ws)
    assert code == 1003 and "text" in reason
    ws = connect(srv, "/tcp-echo-text")
    try:
        ws.send("PING :é\r\n")
        assert read_exactly(ws, len("PING :é\r\n".encode())) == "PING :é\r\n".encode()
    finally:
        ws.close()


def test_allow_list_refuses_before_connecting(srv, echo):
    ws = connect(srv, f"/tcp?host=127.0.0.1&port={echo.port}")
    try:
        ws.send_binary(b"ok")
        assert read_exactly(ws, 2) == b"ok"
    finally:
        ws.close()
    before = echo.accepted
    for query in [f"host=127.0.0.1&port={echo.port + 7}", f"host=10.0.0.1&port={echo.port}",
                  f"host=LOCALHOST&port={echo.port + 2}"]:
        r = requests.get(f"{srv.url}/tcp?{query}", headers={"Upgrade": "websocket", "Connection": "Upgrade"},
                         timeout=5)
        assert r.status_code == 403 and r.json()["code"] == "target_not_allowed", query
    assert requests.get(f"{srv.url}/tcp?host=127.0.0.1", timeout=5).status_code == 400
    time.sleep(0.2)
    assert echo.accepted == before


def test_websockify_tokens_and_a_changed_token_file(srv, tokens, echo):
    ws = connect(srv, "/websockify?token=alpha")
    try:
        ws.send_binary(b"via token")
        assert read_exactly(ws, 9) == b"via token"
    finally:
        ws.close()
    assert requests.get(f"{srv.url}/websockify?token=nope", timeout=5).status_code == 403
    assert requests.get(f"{srv.url}/websockify", timeout=5).status_code == 400
    time.sleep(0.01)
    tokens.write_text(f"beta: 127.0.0.1:{echo.port}\n")
    os.utime(tokens, (time.time() + 5, time.time() + 5))  # a new modification time, whatever the clock
    assert requests.get(f"{srv.url}/websockify?token=alpha", timeout=5).status_code == 403
    ws = connect(srv, "/websockify?token=beta")
    try:
        ws.send_binary(b"b")
        assert read_exactly(ws, 1) == b"b"
    finally:
        ws.close()


def test_target_down_and_target_closing_say_so(srv):
    ws = connect(srv, "/down")
    code, reason, _ = ws_expect_close(ws)
    assert code == 4100 and "refused" in reason
    ws = connect(srv, "/closer")
    code, reason, messages = ws_expect_close(ws)
    assert code == 1000 and "target closed" in reason
    assert b"".join(data for _, data in messages) == b"hello\n"


def test_counters_in_stats(srv):
    stats = requests.get(f"{srv.url}/stats", timeout=5).json()["bridge"]
    assert stats["/tcp-echo"]["total"] >= 40 and stats["/tcp-echo"]["bytes_to_target"] >= 4 << 20
    assert stats["/tcp-echo"]["bytes_from_target"] >= 4 << 20
    assert stats["/tcp"]["refused"] >= 3 and stats["/down"]["failed"] >= 1
    assert stats["/websockify"]["refused"] >= 2


def test_idle_timeout_and_limits(make_server, echo):
    srv = make_server(bridge={"idle_timeout": 0.5, "max_connections_per_address": 2,
                              "route": [{"path": "/tcp-echo", "target": f"127.0.0.1:{echo.port}"}]})
    first, second = connect(srv, "/tcp-echo"), connect(srv, "/tcp-echo")
    try:
        r = requests.get(f"{srv.url}/tcp-echo", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                                     "Sec-WebSocket-Version": "13",
                                                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, timeout=5)
        assert r.status_code == 503 and r.json()["code"] == "limit_reached"
        code, reason, _ = ws_expect_close(first, timeout=5)
        assert code == 4102 and "idle" in reason
    finally:
        first.close()
        second.close()
    time.sleep(0.6)
    third = connect(srv, "/tcp-echo")  # the closed ones were given back
    third.close()


def test_nothing_is_bridged_by_default(server):
    assert requests.get(f"{server.url}/websockify?token=x", timeout=5).status_code == 404
    assert requests.get(f"{server.url}/tcp?host=127.0.0.1&port=22", timeout=5).status_code == 404


class Target:
    """A TCP target for flow tests: `mode` "flood" sends as fast as it can, "deaf" never reads,
    "record" keeps what it reads until the end of the stream."""

    def __init__(self, mode):
        self.mode, self.sent, self.received, self.eof = mode, 0, bytearray(), threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        conn, _ = self.sock.accept()
        self.conns.append(conn)
        if self.mode == "flood":
            chunk = b"x" * 65536
            try:
                while self.sent < (100 << 20):
                    conn.sendall(chunk)
                    self.sent += len(chunk)
            except OSError:
                pass
        elif self.mode == "record":
            while True:
                data = conn.recv(65536)
                if not data:
                    self.eof.set()
                    return
                self.received += data
        # "deaf": accept and never read

    def close(self):
        for conn in self.conns:
            conn.close()
        self.sock.close()


def rss(srv):
    return requests.get(f"{srv.url}/stats", timeout=5).json()["memory"]["rss_bytes"]


def test_a_slow_reader_on_either_side_does_not_fill_memory(make_server):
    flood, deaf = Target("flood"), Target("deaf")
    srv = make_server(bridge={"route": [{"path": "/flood", "target": f"127.0.0.1:{flood.port}"},
                                        {"path": "/deaf", "target": f"127.0.0.1:{deaf.port}"}]})
    try:
        before = rss(srv)
        browser = connect(srv, "/flood")  # a browser that does not read
        time.sleep(2)
        assert flood.sent < 40 << 20  # the bridge stopped reading the target
        assert rss(srv) - before < 32 << 20
        got = 0
        while got < 4 << 20:  # reading again lets the target go on
            got += len(browser.recv_data()[1])
        time.sleep(0.5)
        assert flood.sent > 4 << 20
        browser.close()

        browser = connect(srv, "/deaf")  # a target that does not read
        sent = [0]

        def push():
            try:
                while sent[0] < 100 << 20:
                    browser.send_binary(b"y" * 65536)
                    sent[0] += 65536
            except Exception:
                pass

        threading.Thread(target=push, daemon=True).start()
        time.sleep(2)
        assert sent[0] < 40 << 20  # the bridge stopped reading the browser
        assert rss(srv) - before < 32 << 20
        browser.sock.close()
    finally:
        flood.close()
        deaf.close()


def test_the_browser_leaving_half_closes_the_target(make_server):
    target = Target("record")
    srv = make_server(bridge={"route": [{"path": "/rec", "target": f"127.0.0.1:{target.port}"}]})
    try:
        ws = connect(srv, "/rec")
        ws.send_binary(b"last words")
        ws.close()
        assert target.eof.wait(5)
        assert bytes(target.received) == b"last words"
    finally:
        target.close()


NGIRCD = shutil.which("ngircd") or "/usr/sbin/ngircd"


@pytest.fixture
def ircd(tmp_path):
    if not os.path.exists(NGIRCD):
        pytest.fail("ngircd is not installed (scripts/test-deps installs it)")
    port = free_port()
    conf = tmp_path / "ngircd.conf"
    conf.write_text(
        "[Global]\nName = irc.switchboard.test\nInfo = Switchboard bridge test\nListen = 127.0.0.1\n"
        f"Ports = {port}\nPidFile = {tmp_path}/ngircd.pid\n"
        "[Limits]\nPingTimeout = 120\n[Options]\nPAM = no\nIdent = no\nDNS = no\n")
    os.chmod(tmp_path, 0o755)
    conf.chmod(0o644)
    proc = subprocess.Popen([NGIRCD, "-n", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "ngircd did not start"
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(5)


class IRCClient:
    """An IRC client in a browser's shoes: lines out as text frames, bytes back in binary frames."""

    def __init__(self, srv, nick):
        self.ws = connect(srv, "/irc")
        self.buffer = b""
        self.nick = nick
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick}")
        self.wait_for(" 001 ")

    def send(self, line):
        self.ws.send(line + "\r\n")

    def wait_for(self, fragment, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            while b"\r\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\r\n", 1)
                text = line.decode("utf-8", "replace")
                if text.startswith("PING "):
                    self.send("PONG " + text[5:])
                if fragment in text:
                    return text
            assert time.monotonic() < deadline, f"{self.nick}: no line with {fragment!r}"
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            opcode, data = self.ws.recv_data()
            assert opcode == websocket.ABNF.OPCODE_BINARY
            self.buffer += data


def test_a_real_irc_session_through_the_bridge(make_server, ircd):
    srv = make_server(bridge={"route": [{"path": "/irc", "target": f"127.0.0.1:{ircd}", "text": True}]})
    alice, bob = IRCClient(srv, "alice"), IRCClient(srv, "bob")
    try:
        for client in (alice, bob):
            client.send("JOIN #switchboard")
            client.wait_for(" 366 ")  # end of the names list: joined
        alice.send("PRIVMSG #switchboard :hello bob, from a web page")
        assert bob.wait_for("PRIVMSG #switchboard").endswith(":hello bob, from a web page")
        bob.send("PRIVMSG alice :hi alice")
        assert alice.wait_for("PRIVMSG alice").startswith(":bob!")
        alice.send("QUIT :bye")
        assert "alice" in bob.wait_for("QUIT")
    finally:
        alice.ws.close()
        bob.ws.close()


UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def test_origins_credentials_and_the_proxy_header(make_server, echo):
    recorder = Target("record")
    srv = make_server(security={"api_keys": ["k3y"]}, bridge={
        "origins": ["https://app.example"],
        "route": [
            {"path": "/guarded", "target": f"127.0.0.1:{echo.port}", "auth": True, "origins": []},
            {"path": "/origin", "target": f"127.0.0.1:{echo.port}"},
            {"path": "/proxied", "target": f"127.0.0.1:{recorder.port}", "proxy_protocol": True, "origins": []},
        ]})
    try:
        r = requests.get(f"{srv.url}/origin", headers={**UPGRADE, "Origin": "https://evil.example"}, timeout=5)
        assert r.status_code == 403 and r.json()["code"] == "origin_not_allowed"
        ws = websocket.create_connection(f"{srv.ws_url}/origin", origin="https://app.example", timeout=5)
        ws.send_binary(b"o")
        assert read_exactly(ws, 1) == b"o"
        ws.close()

        r = requests.get(f"{srv.url}/guarded", headers=UPGRADE, timeout=5)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        assert requests.get(f"{srv.url}/guarded?access_token=wrong", headers=UPGRADE, timeout=5).status_code == 401
        ws = connect(srv, "/guarded?access_token=k3y")
        ws.send_binary(b"a")
        assert read_exactly(ws, 1) == b"a"
        ws.close()

        ws = connect(srv, "/proxied")
        ws.send_binary(b"payload")
        ws.close()
        assert recorder.eof.wait(5)
        data = bytes(recorder.received)
        assert data[:12] == b"\r\n\r\n\x00\r\nQUIT\n" and data[12:14] == b"\x21\x11"
        length = int.from_bytes(data[14:16], "big")
        source_ip, destination_ip = socket.inet_ntoa(data[16:20]), socket.inet_ntoa(data[20:24])
        source_port = int.from_bytes(data[24:26], "big")
        destination_port = int.from_bytes(data[26:28], "big")
        assert length == 12 and source_ip == destination_ip == "127.0.0.1" and destination_port == srv.port
        assert source_port > 0 and data[28:] == b"payload"
    finally:
        recorder.close()


def test_a_target_slow_to_accept_times_out(make_server):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # never accepts: once its queue is full, connects hang
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    srv = make_server(bridge={"connect_timeout": 0.5, "route": [{"path": "/slow", "target": f"127.0.0.1:{port}"}]})
    try:
        ws = connect(srv, "/slow")
        code, reason, _ = ws_expect_close(ws, timeout=5)
        assert code == 4101 and "connect timeout" in reason
    finally:
        for s in fillers:
            s.close()
        listener.close()


def test_a_bridged_socket_opened_with_a_token_ends_when_the_token_expires(make_server, echo):
    """Before: a bridged TCP connection opened with a signed token outlived the token."""
    srv = make_server(token_secret=TOKEN_SECRET, bridge={
        "route": [{"path": "/guarded", "target": f"127.0.0.1:{echo.port}", "auth": True}]})
    ws = connect(srv, f"/guarded?access_token={make_token({'sub': 'ann', 'exp': int(time.time()) + 2})}")
    started = time.monotonic()
    ws.send_binary(b"a")
    assert read_exactly(ws, 1) == b"a"
    code, reason, _ = ws_expect_close(ws, timeout=8)
    assert (code, reason) == (4005, "token expired") and time.monotonic() - started < 6
    expired = make_token({"sub": "ann", "exp": int(time.time()) - 1})
    assert requests.get(f"{srv.url}/guarded?access_token={expired}", headers=UPGRADE, timeout=5).status_code == 401
