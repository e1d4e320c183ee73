"""Low-level clients used by the integration tests.

The tests deliberately speak the wire protocols with small hand-written clients where the
details matter (chunk boundaries, SSE comment lines, WebSocket close codes, malformed frames),
and with the real libraries (requests, websocket-client, websockets) elsewhere.
"""
from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import re
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Optional

import requests
import websocket  # websocket-client

DEFAULT_TIMEOUT = 5.0
META_SUBPROTOCOL = "ws+meta.switchboard"

_executor = concurrent.futures.ThreadPoolExecutor(max_workers=32)


# --------------------------------------------------------------------------------------------
# signed tokens (the user of a connection comes from a credential)
# --------------------------------------------------------------------------------------------

TOKEN_SECRET = "tok-secret"   # the token_secret of the test servers that name users


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(claims, secret=TOKEN_SECRET, header=None):
    """An HS256 JWT, made with the standard library the way any JWT library makes it."""
    import hashlib
    import hmac

    head = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def user_token(user, seconds=600, **claims):
    """A token naming `user`, valid for `seconds`: how a back end lets a page connect as that user."""
    return make_token({"sub": user, "exp": int(time.time()) + seconds, **claims})


# --------------------------------------------------------------------------------------------
# small HTTP helpers (requests)
# --------------------------------------------------------------------------------------------

def publish(srv, channel, data="hello", event=None, content_type=None, headers=None, expect=200):
    """POST /pub/CHANNEL and return the JSON answer (asserting the status)."""
    h = dict(headers or {})
    if event is not None:
        h["Event-Type"] = event
    if content_type is not None:
        h["Content-Type"] = content_type
    body = data.encode() if isinstance(data, str) else data
    # one sendall for head + body (requests' two writes meet Nagle/delayed-ACK stalls on big bodies)
    h.setdefault("Content-Length", str(len(body)))
    h.setdefault("Connection", "close")
    r = raw_request(srv, "POST", f"/pub/{channel}", headers=h, body=body)
    assert r.status == expect, f"POST /pub/{channel} -> {r.status} {r.body!r}"
    return r.json()


def publish_many(srv, channel, payloads, **kw):
    return [publish(srv, channel, p, **kw)["id"] for p in payloads]


def channel_info(srv, channel):
    r = requests.get(f"{srv.url}/pub/{channel}", timeout=DEFAULT_TIMEOUT)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()


def stats(srv):
    r = requests.get(f"{srv.url}/stats", timeout=DEFAULT_TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for_subscribers(srv, channel, n, timeout=3.0):
    """Poll GET /pub/CH until it reports at least n subscribers. Returns True on success.

    Used to avoid racing a publish against a subscription that the server has not registered
    yet. Never fails by itself: the caller's assertions on delivery decide.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = channel_info(srv, channel)
        if info is not None and info.get("subscribers", 0) >= n:
            return True
        time.sleep(0.02)
    return False


def wait_until(pred, timeout=5.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            return v
        time.sleep(interval)


def split_id(msg_id):
    epoch, _, off = msg_id.rpartition(":")
    return epoch, int(off)


def assert_error_json(resp_status, body, status, code=None):
    assert resp_status == status, f"expected {status}, got {resp_status}: {body!r}"
    try:
        doc = json.loads(body)
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"error answer is not JSON: {body!r}") from e
    assert isinstance(doc, dict) and "error" in doc and "code" in doc, doc
    assert isinstance(doc["error"], str) and doc["error"], doc
    if code is not None:
        assert doc["code"] == code, doc
    return doc


# --------------------------------------------------------------------------------------------
# raw HTTP/1.1 over a socket
# --------------------------------------------------------------------------------------------

class Headers:
    def __init__(self, items):
        self.items = items  # list of (name, value)

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self.items:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.items if k.lower() == name]

    def __contains__(self, name):
        return self.get(name) is not None

    def __repr__(self):
        return f"Headers({self.items!r})"


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class RawConn:
    """A plain TCP connection with a read buffer and HTTP/1.1 response parsing."""

    def __init__(self, host, port, timeout=DEFAULT_TIMEOUT, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.timeout = timeout
        self.eof = False

    @classmethod
    def to(cls, srv, **kw):
        return cls("127.0.0.1", srv.port, **kw)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def settimeout(self, t):
        self.timeout = t
        self.sock.settimeout(t)

    def send(self, data: bytes, ignore_errors=False):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if not ignore_errors:
                raise

    def _fill(self, n=65536):
        if self.eof:
            raise EOFError("connection closed by peer")
        try:
            d = self.sock.recv(n)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            raise EOFError("connection closed by peer")
        self.buf += d

    def read_until(self, delim: bytes, limit=1 << 24) -> bytes:
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out, self.buf = self.buf[: i + len(delim)], self.buf[i + len(delim):]
                return out
            if len(self.buf) > limit:
                raise AssertionError("line too long")
            self._fill()

    def read_exact(self, n) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_some(self) -> bytes:
        if not self.buf:
            self._fill()
        out, self.buf = self.buf, b""
        return out

    def read_to_eof(self, timeout=None) -> bytes:
        if timeout is not None:
            self.settimeout(timeout)
        while True:
            try:
                self._fill()
            except EOFError:
                break
        out, self.buf = self.buf, b""
        return out

    def closed_by_peer(self, timeout=3.0) -> bool:
        """True if the peer closes the connection (EOF/reset) within timeout, discarding data."""
        self.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self._fill()
                self.buf = b""
        except EOFError:
            return True
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True
        return False

    # -- HTTP ---------------------------------------------------------------------------------

    def read_head(self) -> RawResponse:
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        items = []
        for line in lines[1:]:
            if not line:
                continue
            k, _, v = line.partition(":")
            items.append((k.strip(), v.strip()))
        return RawResponse(int(m.group(1)), m.group(2), Headers(items))

    def is_chunked(self, resp):
        return "chunked" in (resp.headers.get("Transfer-Encoding") or "").lower()

    def read_chunk(self) -> Optional[bytes]:
        """Read one HTTP chunk. Returns None for the terminating zero-size chunk."""
        size_line = self.read_until(b"\r\n").decode("latin-1").strip()
        size = int(size_line.split(";")[0], 16)
        if size == 0:
            # trailers
            while self.read_until(b"\r\n") != b"\r\n":
                pass
            return None
        data = self.read_exact(size)
        crlf = self.read_exact(2)
        assert crlf == b"\r\n", f"bad chunk terminator {crlf!r}"
        return data

    def read_body(self, resp: RawResponse, method="GET") -> bytes:
        if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
            return b""
        if self.is_chunked(resp):
            out = b""
            while True:
                c = self.read_chunk()
                if c is None:
                    return out
                out += c
        cl = resp.headers.get("Content-Length")
        if cl is not None:
            return self.read_exact(int(cl))
        return self.read_to_eof()

    def request(self, method, target, headers=None, body=b"", http_version="HTTP/1.1") -> RawResponse:
        self.send(build_request(method, target, headers, body, http_version), ignore_errors=True)
        resp = self.read_head()
        resp.body = self.read_body(resp, method)
        return resp


def build_request(method, target, headers=None, body=b"", http_version="HTTP/1.1", host="127.0.0.1"):
    h = {"Host": host}
    h.update(headers or {})
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k in h):
        h["Content-Length"] = str(len(body))
    lines = [f"{method} {target} {http_version}"] + [f"{k}: {v}" for k, v in h.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def raw_request(srv, method, target, headers=None, body=b"", timeout=DEFAULT_TIMEOUT) -> RawResponse:
    with RawConn.to(srv, timeout=timeout) as c:
        return c.request(method, target, headers, body)


# --------------------------------------------------------------------------------------------
# SSE
# --------------------------------------------------------------------------------------------

@dataclass
class SSEEvent:
    id: Optional[str] = None
    event: Optional[str] = None
    data_lines: list = field(default_factory=list)
    comments: list = field(default_factory=list)
    retry: Optional[str] = None
    raw: list = field(default_factory=list)

    @property
    def data(self) -> Optional[str]:
        return "\n".join(self.data_lines) if self.data_lines else None

    @property
    def data_bytes(self) -> bytes:
        d = self.data or ""
        if "base64" in self.comments:
            return base64.b64decode(d)
        return d.encode()

    @property
    def is_ping_only(self):
        return not self.data_lines and self.event is None and self.id is None and self.comments and all(
            c == "ping" for c in self.comments)

    def json(self):
        return json.loads(self.data)


_BLANK_LINE = re.compile(rb"\r\n\r\n|\n\n|\r\r")


class _OverConn:
    """A client built on a RawConn (self.conn): closing it closes the connection; usable with `with`."""

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class SSEClient(_OverConn):
    """Hand-written EventSource: keeps comment lines (`: ping`, `: base64`)."""

    def __init__(self, srv, path, headers=None, timeout=DEFAULT_TIMEOUT, accept=True, rcvbuf=None,
                 expect_status=200):
        self.conn = RawConn.to(srv, timeout=timeout, rcvbuf=rcvbuf)
        h = {}
        if accept:
            h["Accept"] = "text/event-stream"
        h.update(headers or {})
        self.conn.send(build_request("GET", path, h))
        self.resp = self.conn.read_head()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.chunked = self.conn.is_chunked(self.resp)
        self.text = b""
        self.ended = False
        self.pings = 0
        if expect_status is not None:
            if self.status != expect_status:
                body = b""
                try:
                    body = self.conn.read_body(self.resp)
                except Exception:  # noqa: BLE001
                    pass
                raise AssertionError(f"SSE GET {path}: status {self.status} {body!r}")


    def _more(self):
        if self.ended:
            raise EOFError("SSE stream ended")
        try:
            if self.chunked:
                c = self.conn.read_chunk()
                if c is None:
                    self.ended = True
                    raise EOFError("SSE stream ended")
                self.text += c
            else:
                self.text += self.conn.read_some()
        except EOFError:
            self.ended = True
            raise

    def next_block(self, timeout=DEFAULT_TIMEOUT) -> SSEEvent:
        self.conn.settimeout(timeout)
        start = 0
        while True:
            m = _BLANK_LINE.search(self.text, start)
            if m:
                block, self.text = self.text[: m.start()], self.text[m.end():]
                return self._parse(block.decode("utf-8"))
            start = max(0, len(self.text) - 3)
            self._more()

    def _parse(self, block: str) -> SSEEvent:
        ev = SSEEvent()
        for line in re.split(r"\r\n|\n|\r", block):
            ev.raw.append(line)
            if line.startswith(":"):
                c = line[1:]
                ev.comments.append(c[1:] if c.startswith(" ") else c)
                continue
            name, sep, value = line.partition(":")
            if sep and value.startswith(" "):
                value = value[1:]
            if name == "data":
                ev.data_lines.append(value)
            elif name == "id":
                ev.id = value
            elif name == "event":
                ev.event = value
            elif name == "retry":
                ev.retry = value
        return ev

    def next_event(self, timeout=DEFAULT_TIMEOUT, skip_pings=True) -> SSEEvent:
        """Next block that carries data or an event name (ping-only/comment-only blocks skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no SSE event in time")
            ev = self.next_block(timeout=left)
            if ev.is_ping_only:
                self.pings += 1
                if skip_pings:
                    continue
            if skip_pings and not ev.data_lines and ev.event is None and ev.id is None:
                continue
            return ev

    def events(self, n, timeout=DEFAULT_TIMEOUT):
        return [self.next_event(timeout=timeout) for _ in range(n)]

    def expect_end(self, timeout=DEFAULT_TIMEOUT):
        """Read until the server ends the stream; return the events seen on the way."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"SSE stream did not end; got {out!r}")
            try:
                ev = self.next_block(timeout=left)
            except EOFError:
                return out
            except (socket.timeout, TimeoutError):
                raise AssertionError(f"SSE stream did not end; got {out!r}")
            if not ev.is_ping_only and (ev.data_lines or ev.event or ev.id):
                out.append(ev)

    def assert_no_event(self, wait=0.5):
        try:
            ev = self.next_event(timeout=wait)
        except (socket.timeout, TimeoutError):
            return
        raise AssertionError(f"unexpected SSE event {ev!r}")


# --------------------------------------------------------------------------------------------
# chunked stream transport
# --------------------------------------------------------------------------------------------

class StreamClient(_OverConn):
    def __init__(self, srv, path, headers=None, timeout=DEFAULT_TIMEOUT, expect_status=200):
        self.conn = RawConn.to(srv, timeout=timeout)
        sep = "&" if "?" in path else "?"
        if "transport=" not in path:
            path = f"{path}{sep}transport=stream"
        self.conn.send(build_request("GET", path, headers or {}))
        self.resp = self.conn.read_head()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.ended = False
        if expect_status is not None:
            assert self.status == expect_status, (self.status, self.conn.read_body(self.resp))
            assert self.conn.is_chunked(self.resp), f"stream transport is not chunked: {self.headers!r}"


    def next_chunk(self, timeout=DEFAULT_TIMEOUT, skip=None) -> bytes:
        """Next chunk; chunks for which skip(chunk) is true are dropped (e.g. keep-alives)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no chunk in time")
            self.conn.settimeout(left)
            c = self.conn.read_chunk()
            if c is None:
                self.ended = True
                raise EOFError("stream ended")
            if skip is not None and skip(c):
                continue
            return c

    def expect_end(self, timeout=DEFAULT_TIMEOUT, skip=None):
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"stream did not end; got {out!r}")
            try:
                out.append(self.next_chunk(timeout=left, skip=skip))
            except EOFError:
                return out
            except (socket.timeout, TimeoutError):
                raise AssertionError(f"stream did not end; got {out!r}")


# --------------------------------------------------------------------------------------------
# long-poll
# --------------------------------------------------------------------------------------------

class LongPoll:
    """A long-poll GET running in a thread (so the test can publish meanwhile)."""

    def __init__(self, srv, path, headers=None, timeout=15.0):
        self.future = _executor.submit(
            requests.get, f"{srv.url}{path}", headers=headers or {}, timeout=timeout)

    def result(self, timeout=10.0) -> requests.Response:
        return self.future.result(timeout=timeout)

    def done(self):
        return self.future.done()


def longpoll(srv, path, headers=None, timeout=15.0) -> requests.Response:
    return requests.get(f"{srv.url}{path}", headers=headers or {}, timeout=timeout)


# --------------------------------------------------------------------------------------------
# WebSocket (websocket-client) helpers
# --------------------------------------------------------------------------------------------

def ws_connect(srv, path, subprotocol=None, headers=None, timeout=DEFAULT_TIMEOUT):
    kw = {}
    if subprotocol:
        kw["subprotocols"] = [subprotocol]
    if headers:
        kw["header"] = [f"{k}: {v}" for k, v in headers.items()]
    return websocket.create_connection(f"{srv.ws_url}{path}", timeout=timeout, **kw)


def ws_recv(ws, timeout=DEFAULT_TIMEOUT):
    """Next data message as (opcode, bytes), skipping pings/pongs. Raises on close."""
    ws.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("no WebSocket message in time")
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
            continue
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code, reason = parse_close(frame.data)
            raise WSClosed(code, reason)
        if opcode == websocket.ABNF.OPCODE_CONT:
            # websocket-client reassembles; shouldn't happen
            continue
        return opcode, frame.data


def ws_recv_text(ws, timeout=DEFAULT_TIMEOUT):
    opcode, data = ws_recv(ws, timeout)
    assert opcode == websocket.ABNF.OPCODE_TEXT, f"expected a text frame, got opcode {opcode}"
    return data.decode("utf-8")


class WSClosed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


def parse_close(data: bytes):
    if len(data) >= 2:
        return struct.unpack("!H", data[:2])[0], data[2:].decode("utf-8", "replace")
    return None, ""


def ws_expect_close(ws, timeout=DEFAULT_TIMEOUT):
    """Read (and collect data messages) until a close frame. Returns (code, reason, messages).
    If the TCP connection ends without a close frame, code is None."""
    msgs = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"WebSocket not closed in time; got {msgs!r}")
        try:
            msgs.append(ws_recv(ws, timeout=left))
        except WSClosed as c:
            return c.code, c.reason, msgs
        except websocket.WebSocketConnectionClosedException:
            return None, "", msgs
        except (ConnectionResetError, BrokenPipeError):
            return None, "", msgs
        except websocket.WebSocketTimeoutException:
            raise AssertionError(f"WebSocket not closed in time; got {msgs!r}")


def parse_meta(frame: bytes):
    """Split a ws+meta.switchboard frame into (headers dict, payload bytes)."""
    i = frame.find(b"\n\n")
    assert i >= 0, f"meta frame without header separator: {frame[:200]!r}"
    head, payload = frame[:i].decode("utf-8"), frame[i + 2:]
    hdrs = {}
    for line in head.split("\n"):
        k, sep, v = line.partition(":")
        assert sep, f"bad meta header line {line!r}"
        hdrs[k.strip().lower()] = v.strip()
    return hdrs, payload


# --------------------------------------------------------------------------------------------
# raw WebSocket client (for malformed frames, non-reading clients, pong suppression)
# --------------------------------------------------------------------------------------------

class RawWS(_OverConn):
    def __init__(self, srv, path, subprotocol=None, rcvbuf=None, timeout=DEFAULT_TIMEOUT, headers=None):
        self.conn = RawConn.to(srv, timeout=timeout, rcvbuf=rcvbuf)
        key = base64.b64encode(os.urandom(16)).decode()
        h = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
        }
        if subprotocol:
            h["Sec-WebSocket-Protocol"] = subprotocol
        h.update(headers or {})
        self.conn.send(build_request("GET", path, h))
        self.resp = self.conn.read_head()
        assert self.resp.status == 101, f"WebSocket handshake failed: {self.resp.status} {self.resp.headers!r}"
        self.sock = self.conn.sock


    @staticmethod
    def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length_override=None):
        b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
        n = len(payload) if length_override is None else length_override
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if mask:
            key = os.urandom(4)
            masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            return head + key + masked
        return head + payload

    def send_frame(self, opcode, payload=b"", **kw):
        self.conn.send(self.frame(opcode, payload, **kw), ignore_errors=True)

    def send_text(self, text):
        self.send_frame(0x1, text.encode() if isinstance(text, str) else text)

    def send_close(self, code=1000, reason=b""):
        self.send_frame(0x8, struct.pack("!H", code) + reason)

    def recv_frame(self, timeout=DEFAULT_TIMEOUT):
        """Returns (fin, opcode, payload)."""
        self.conn.settimeout(timeout)
        b0, b1 = self.conn.read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.conn.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.conn.read_exact(8))[0]
        key = self.conn.read_exact(4) if b1 & 0x80 else None
        payload = self.conn.read_exact(n)
        if key:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def expect_close(self, timeout=DEFAULT_TIMEOUT, answer_pings=True):
        """Read frames until a close frame; returns (code, reason, data_frames).
        code is None when the TCP connection ends without a close frame."""
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no close frame in time (got {len(frames)} frames)")
            try:
                fin, op, payload = self.recv_frame(timeout=left)
            except EOFError:
                return None, "", frames
            except (socket.timeout, TimeoutError):
                raise AssertionError(f"no close frame in time (got {len(frames)} frames)")
            if op == 0x8:
                code, reason = parse_close(payload)
                return code, reason, frames
            if op == 0x9:
                if answer_pings:
                    self.send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            frames.append((op, payload))


# --------------------------------------------------------------------------------------------
# A tiny JSON back end (for rpc and hooks)
# --------------------------------------------------------------------------------------------

from http.server import BaseHTTPRequestHandler  # noqa: E402


class JSONBackendHandler(BaseHTTPRequestHandler):
    """Base of the test back ends: `self.body()` reads the JSON request, `self.answer()` writes one."""

    def body(self):
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped waiting (a timeout test)

    def log_message(self, *args):
        pass
