"""A tiny hand-written STOMP client for wire-level tests (and for stomp_compare.py).

stomp.py hides exactly what the wire tests are about (byte boundaries, CRLF, escaping, repeated
headers, what arrives after an ERROR), so these tests speak STOMP over a plain socket:

    c = RawStomp.to(srv)                       # srv has .stomp_address (optionally .stomp_vhost/.stomp_login)
    c.connect()                                # -> CONNECTED frame (asserted)
    c.send_frame("SEND", [("destination", "/topic/x")], b"hi")
    f = c.recv()                               # next frame, heart-beat EOLs skipped and timed
    err = c.expect_error()                     # ERROR frame, then the server must close

It depends on nothing but the standard library (websocket-client only for RawStompWS), so the
comparison script can use it against any broker.
"""
from __future__ import annotations

import socket
import time
from typing import Iterable, List, Optional, Sequence, Tuple, Union

DEFAULT_TIMEOUT = 5.0

HeaderList = Union[Sequence[Tuple[str, str]], dict, None]


class ProtocolError(Exception):
    """The server sent bytes that are not a valid STOMP frame."""


class Closed(EOFError):
    """The server closed the connection."""


# --------------------------------------------------------------------------------------------
# frames
# --------------------------------------------------------------------------------------------

class Frame:
    def __init__(self, command: str, headers: List[Tuple[str, str]], body: bytes = b"", raw: bytes = b""):
        self.command = command
        self.headers = headers          # every header line, in order (repeats kept)
        self.body = body
        self.raw = raw                  # the frame's bytes as received (without the NUL)

    def get(self, name, default=None):
        """The first value of a header (a repeated header counts once: the first)."""
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def all(self, name):
        return [v for k, v in self.headers if k == name]

    def __contains__(self, name):
        return any(k == name for k, _ in self.headers)

    @property
    def header(self) -> dict:
        d = {}
        for k, v in self.headers:
            d.setdefault(k, v)
        return d

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        body = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return f"Frame({self.command!r}, {self.headers!r}, {body!r})"


_ESCAPE_12 = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", ":": "\\c"}
_ESCAPE_11 = {"\\": "\\\\", "\n": "\\n", ":": "\\c"}


def escape(value: str, version: str = "1.2") -> str:
    if version == "1.0":
        return value
    table = _ESCAPE_12 if version == "1.2" else _ESCAPE_11
    return "".join(table.get(ch, ch) for ch in value)


def unescape(value: str, version: str = "1.2") -> str:
    if version == "1.0" or "\\" not in value:
        return value
    allowed = {"\\": "\\", "n": "\n", "c": ":"}
    if version == "1.2":
        allowed["r"] = "\r"
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 >= len(value) or value[i + 1] not in allowed:
                raise ProtocolError(f"bad escape in header value {value!r}")
            out.append(allowed[value[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _header_items(headers: HeaderList) -> List[Tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, dict):
        return [(k, str(v)) for k, v in headers.items()]
    return [(k, str(v)) for k, v in headers]


def encode_frame(command: str, headers: HeaderList = None, body: Union[bytes, str] = b"",
                 version: Optional[str] = "1.2", content_length: Union[bool, str] = "auto",
                 eol: bytes = b"\n", nul: bool = True) -> bytes:
    """Encode a frame.

    version: header escaping to apply (None or "1.0": none; CONNECT/STOMP are never escaped).
    content_length: "auto" adds it when there is a body and no content-length header yet,
    True always adds it, False never does.
    eol: b"\\n" or b"\\r\\n" for every line end.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    items = _header_items(headers)
    if content_length is True or (content_length == "auto" and body
                                  and not any(k == "content-length" for k, _ in items)):
        items.append(("content-length", str(len(body))))
    do_escape = version not in (None, "1.0") and command not in ("CONNECT", "STOMP", "CONNECTED")
    lines = [command.encode()]
    for k, v in items:
        if do_escape:
            k, v = escape(k, version), escape(v, version)
        lines.append(f"{k}:{v}".encode("utf-8"))
    return eol.join(lines) + eol + eol + body + (b"\x00" if nul else b"")


class FrameReader:
    """Incremental STOMP frame parser (server -> client). Heart-beat EOLs are timed in `heartbeats`."""

    def __init__(self, version: Optional[str] = None):
        self.buf = bytearray()
        self.version = version          # None: do not unescape (before CONNECTED)
        self.heartbeats: List[float] = []   # arrival times of EOLs that came on their own
        self.trailers = 0               # EOLs that came right after a frame's NUL, in the same read
        self._chunk = 0
        self._frame_chunk = -1

    def feed(self, data: bytes):
        self._chunk += 1
        self.buf += data

    def _eol(self):
        if self._frame_chunk == self._chunk:
            self.trailers += 1          # an optional EOL after a frame, not a heart-beat
        else:
            self.heartbeats.append(time.monotonic())

    def next_frame(self) -> Optional[Frame]:
        buf = self.buf
        # EOLs between frames are heart-beats.
        pos = 0
        n = len(buf)
        while pos < n:
            if buf[pos] == 0x0A:
                self._eol()
                pos += 1
            elif buf[pos] == 0x0D:
                if pos + 1 >= n:
                    break
                if buf[pos + 1] != 0x0A:
                    raise ProtocolError(f"stray CR between frames: {bytes(buf[pos:pos + 40])!r}")
                self._eol()
                pos += 2
            else:
                break
        if pos:
            del buf[:pos]
            n = len(buf)
        if not n or (n == 1 and buf[0] == 0x0D):
            return None
        # command and headers
        lines = []
        start = 0
        while True:
            i = buf.find(b"\n", start)
            if i < 0:
                return None
            line = bytes(buf[start:i])
            if line.endswith(b"\r"):
                line = line[:-1]
            start = i + 1
            if not line:
                if not lines:
                    raise ProtocolError("empty command line")
                break
            lines.append(line)
        head_end = start
        command = lines[0].decode("utf-8")
        headers = []
        do_unescape = self.version not in (None, "1.0") and command != "CONNECTED"
        for line in lines[1:]:
            text = line.decode("utf-8")
            k, sep, v = text.partition(":")
            if not sep:
                raise ProtocolError(f"header line without ':' in {command}: {text!r}")
            if do_unescape:
                k, v = unescape(k, self.version), unescape(v, self.version)
            headers.append((k, v))
        length = None
        for k, v in headers:
            if k == "content-length":
                length = int(v)
                break
        if length is not None:
            end = head_end + length
            if len(buf) < end + 1:
                return None
            if buf[end] != 0:
                raise ProtocolError(f"{command}: no NUL after content-length {length} body")
            body = bytes(buf[head_end:end])
        else:
            end = buf.find(b"\x00", head_end)
            if end < 0:
                return None
            body = bytes(buf[head_end:end])
        raw = bytes(buf[:end])
        del buf[:end + 1]
        self._frame_chunk = self._chunk
        f = Frame(command, headers, body, raw)
        if command == "CONNECTED":
            self.version = f.get("version", "1.0")
        return f


# --------------------------------------------------------------------------------------------
# connection over TCP
# --------------------------------------------------------------------------------------------

def target_of(srv):
    """(host, port), vhost, (login, passcode) of a test server object (conftest.Server or a stand-in)."""
    return (srv.stomp_address, getattr(srv, "stomp_vhost", None), getattr(srv, "stomp_login", None))


class RawStomp:
    def __init__(self, address, timeout=DEFAULT_TIMEOUT, vhost=None, login=None, rcvbuf=None):
        self.address = tuple(address)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(self.address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.reader = FrameReader()
        self.vhost = vhost
        self.login = login            # (login, passcode) to use when connect() is not given any
        self.eof = False
        self.session = None
        self.pending: List[Frame] = []   # frames read ahead by expect_receipt

    @classmethod
    def to(cls, srv, **kw):
        address, vhost, login = target_of(srv)
        kw.setdefault("vhost", vhost)
        kw.setdefault("login", login)
        return cls(address, **kw)

    # -- plumbing -----------------------------------------------------------------------------
    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    @property
    def heartbeats(self):
        return self.reader.heartbeats

    @property
    def version(self):
        return self.reader.version

    def send(self, data: bytes, ignore_errors=False):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if not ignore_errors:
                raise

    def drip(self, data: bytes, chunk=1, pause=0.0):
        """Send data a few bytes at a time (each its own TCP segment)."""
        for i in range(0, len(data), chunk):
            self.send(data[i:i + chunk])
            if pause:
                time.sleep(pause)

    def send_frame(self, command, headers: HeaderList = None, body=b"", ignore_errors=False, **kw):
        kw.setdefault("version", self.version or "1.2")
        self.send(encode_frame(command, headers, body, **kw), ignore_errors=ignore_errors)

    def _fill(self, timeout):
        if self.eof:
            raise Closed("connection closed by the server")
        self.sock.settimeout(max(timeout, 0.001))
        try:
            d = self.sock.recv(1 << 16)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            raise Closed("connection closed by the server")
        self.reader.feed(d)

    def recv(self, timeout=DEFAULT_TIMEOUT) -> Frame:
        """The next frame (heart-beats skipped). Raises TimeoutError, or Closed at EOF."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            f = self.reader.next_frame()
            if f is not None:
                return f
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no STOMP frame within {timeout}s")
            try:
                self._fill(left)
            except (socket.timeout, TimeoutError):
                raise TimeoutError(f"no STOMP frame within {timeout}s") from None

    def recv_many(self, n, timeout=DEFAULT_TIMEOUT) -> List[Frame]:
        deadline = time.monotonic() + timeout
        return [self.recv(max(deadline - time.monotonic(), 0.001)) for _ in range(n)]

    def expect(self, command, timeout=DEFAULT_TIMEOUT) -> Frame:
        f = self.recv(timeout)
        assert f.command == command, f"expected {command}, got {f!r}"
        return f

    def expect_receipt(self, receipt_id, timeout=DEFAULT_TIMEOUT) -> Frame:
        """Wait for RECEIPT receipt-id; MESSAGE frames arriving first are kept for recv()."""
        deadline = time.monotonic() + timeout
        held = []
        try:
            while True:
                f = self.recv(max(deadline - time.monotonic(), 0.001))
                if f.command == "MESSAGE":
                    held.append(f)
                    continue
                assert f.command == "RECEIPT", f"expected RECEIPT {receipt_id}, got {f!r}"
                assert f.get("receipt-id") == receipt_id, f
                return f
        finally:
            self.pending[:0] = held

    def wait_heartbeats(self, n, timeout) -> List[float]:
        """Read (no frame may arrive) until n heart-beats were seen in total or time is up."""
        deadline = time.monotonic() + timeout
        while len(self.heartbeats) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            f = self.reader.next_frame()
            if f is not None:
                raise AssertionError(f"unexpected frame while waiting for heart-beats: {f!r}")
            try:
                self._fill(left)
            except (socket.timeout, TimeoutError):
                break
        return list(self.heartbeats)

    def closed(self, timeout=DEFAULT_TIMEOUT) -> bool:
        """True if the server closes the connection within timeout (frames in between are kept in
        self.after_close)."""
        self.after_close = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                f = self.reader.next_frame()
            except ProtocolError:
                f = None
            if f is not None:
                self.after_close.append(f)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._fill(left)
            except Closed:
                return True
            except (socket.timeout, TimeoutError):
                return False
            except OSError:
                return True

    def expect_error(self, timeout=DEFAULT_TIMEOUT, close_timeout=DEFAULT_TIMEOUT, skip=()) -> Frame:
        """The next frame must be ERROR (frames whose command is in skip are passed over), with a
        message header, and then the server must close the connection without sending more frames."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                f = self.recv(max(deadline - time.monotonic(), 0.001))
            except Closed:
                raise AssertionError("connection closed without an ERROR frame") from None
            if f.command in skip:
                continue
            break
        assert f.command == "ERROR", f"expected ERROR, got {f!r}"
        assert f.get("message"), f"ERROR without a message header: {f!r}"
        assert self.closed(close_timeout), f"connection still open after ERROR {f!r}"
        assert not self.after_close, f"frames after ERROR: {self.after_close!r}"
        return f

    def assert_no_frame(self, wait=0.3):
        try:
            f = self.recv(wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame {f!r}")

    # -- STOMP verbs --------------------------------------------------------------------------
    def connect_frame(self, accept_version: Optional[str] = "1.2", host: Optional[str] = "default",
                      login=None, passcode=None, heart_beat: Optional[str] = None, command="CONNECT",
                      extra: HeaderList = None, eol=b"\n") -> bytes:
        h = []
        if accept_version is not None:
            h.append(("accept-version", accept_version))
        if host == "default":
            host = self.vhost or "localhost"
        if host is not None:
            h.append(("host", host))
        if login is None and passcode is None and self.login:
            login, passcode = self.login
        if login is not None:
            h.append(("login", login))
        if passcode is not None:
            h.append(("passcode", passcode))
        if heart_beat is not None:
            h.append(("heart-beat", heart_beat))
        h += _header_items(extra)
        return encode_frame(command, h, b"", version=None, eol=eol)

    def connect(self, accept_version: Optional[str] = "1.2", expect="CONNECTED", timeout=DEFAULT_TIMEOUT,
                **kw) -> Frame:
        self.send(self.connect_frame(accept_version, **kw))
        if expect is None:
            return None
        if expect == "ERROR":
            return self.expect_error(timeout)
        f = self.expect(expect, timeout)
        self.session = f.get("session")
        return f

    def subscribe(self, destination, id="0", ack=None, receipt=None, headers: HeaderList = None):
        h = [("destination", destination)]
        if id is not None:
            h.append(("id", id))
        if ack is not None:
            h.append(("ack", ack))
        h += _header_items(headers)
        if receipt:
            h.append(("receipt", receipt))
        self.send_frame("SUBSCRIBE", h)
        if receipt:
            self.expect_receipt(receipt)

    def publish(self, destination, body=b"", receipt=None, headers: HeaderList = None, **kw):
        h = [("destination", destination)] + _header_items(headers)
        if receipt:
            h.append(("receipt", receipt))
        self.send_frame("SEND", h, body, **kw)
        if receipt:
            self.expect_receipt(receipt)

    def sync(self, receipt="sync"):
        """A round trip: SEND nothing, just a receipt on a harmless frame (BEGIN/ABORT pair would
        do too); every earlier frame has taken effect once it is answered."""
        tx = f"sync-{receipt}-{time.monotonic_ns()}"
        self.send_frame("BEGIN", [("transaction", tx)])
        self.send_frame("ABORT", [("transaction", tx), ("receipt", receipt)])
        return self.expect_receipt(receipt)

    def disconnect(self, receipt="bye", timeout=DEFAULT_TIMEOUT):
        self.send_frame("DISCONNECT", [("receipt", receipt)] if receipt else [])
        if receipt:
            self.expect_receipt(receipt, timeout)


def raw_connect(srv, accept_version="1.2", **kw) -> RawStomp:
    """A RawStomp connected to srv (CONNECTED asserted)."""
    c = RawStomp.to(srv)
    try:
        c.connect(accept_version, **kw)
    except BaseException:
        c.close()
        raise
    return c


# --------------------------------------------------------------------------------------------
# STOMP over WebSocket (websocket-client): every server frame must be one WebSocket message
# --------------------------------------------------------------------------------------------

class RawStompWS:
    def __init__(self, url, subprotocols: Optional[Iterable[str]] = ("v12.stomp",), timeout=DEFAULT_TIMEOUT,
                 vhost=None, login=None):
        import websocket  # websocket-client
        self._ws_mod = websocket
        kw = {}
        if subprotocols:
            kw["subprotocols"] = list(subprotocols)
        self.ws = websocket.create_connection(url, timeout=timeout, **kw)
        self.vhost = vhost
        self.login = login
        self.reader = FrameReader()
        self.messages = []               # (opcode, bytes) of every data message received

    @property
    def subprotocol(self):
        return self.ws.getsubprotocol()

    @property
    def version(self):
        return self.reader.version

    @property
    def heartbeats(self):
        return self.reader.heartbeats

    def close(self):
        try:
            self.ws.close(timeout=1)
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data: bytes, binary=False):
        op = self._ws_mod.ABNF.OPCODE_BINARY if binary else self._ws_mod.ABNF.OPCODE_TEXT
        self.ws.send(data, opcode=op)

    def send_frame(self, command, headers: HeaderList = None, body=b"", binary=False, **kw):
        kw.setdefault("version", self.version or "1.2")
        self.send(encode_frame(command, headers, body, **kw), binary=binary)

    def recv_message(self, timeout=DEFAULT_TIMEOUT):
        """The next data message as (opcode, bytes). Raises Closed on a close frame/EOF."""
        ws = self._ws_mod
        self.ws.settimeout(timeout)
        while True:
            try:
                op, frame = self.ws.recv_data_frame(control_frame=True)
            except ws.WebSocketTimeoutException:
                raise TimeoutError(f"no WebSocket message within {timeout}s") from None
            except (ws.WebSocketConnectionClosedException, ConnectionResetError, BrokenPipeError):
                raise Closed("WebSocket closed") from None
            if op in (ws.ABNF.OPCODE_PING, ws.ABNF.OPCODE_PONG):
                continue
            if op == ws.ABNF.OPCODE_CLOSE:
                raise Closed("WebSocket close frame")
            self.messages.append((op, frame.data))
            return op, frame.data

    def recv(self, timeout=DEFAULT_TIMEOUT) -> Frame:
        """Next frame; asserts that the message held exactly one frame (heart-beat messages skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            op, data = self.recv_message(max(deadline - time.monotonic(), 0.001))
            self.reader.feed(data)
            f = self.reader.next_frame()
            if f is None:
                assert not self.reader.buf, f"WebSocket message held a partial STOMP frame: {data[:200]!r}"
                continue  # a heart-beat
            rest = bytes(self.reader.buf).strip(b"\r\n")
            assert not rest, f"WebSocket message held more than one frame: {data[:300]!r}"
            self.reader.buf.clear()
            f.opcode = op
            return f

    def expect(self, command, timeout=DEFAULT_TIMEOUT) -> Frame:
        f = self.recv(timeout)
        assert f.command == command, f"expected {command}, got {f!r}"
        return f

    def connect(self, accept_version="1.2", host="default", heart_beat=None, timeout=DEFAULT_TIMEOUT) -> Frame:
        h = []
        if accept_version:
            h.append(("accept-version", accept_version))
        if host == "default":
            host = self.vhost or "localhost"
        if host:
            h.append(("host", host))
        if self.login:
            h += [("login", self.login[0]), ("passcode", self.login[1])]
        if heart_beat:
            h.append(("heart-beat", heart_beat))
        self.send(encode_frame("CONNECT", h, version=None))
        return self.expect("CONNECTED", timeout)

    def closed(self, timeout=DEFAULT_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.recv_message(left)
            except Closed:
                return True
            except TimeoutError:
                return False
