"""Raw Engine.IO v4 / Socket.IO v5 clients for protocol tests: polling by HTTP, WebSocket by websocket-client."""
import json
import threading
import time

import requests
import websocket

RS = "\x1e"


def url(srv, path="/socket.io/", **query):
    q = {"EIO": "4", "transport": "polling"}
    q.update({k: v for k, v in query.items() if v is not None})
    q = {k: v for k, v in q.items() if v is not False}
    return f"{srv.url}{path}?" + "&".join(f"{k}={v}" for k, v in q.items())


def handshake(srv, path="/socket.io/"):
    """Opens a polling session; returns (sid, open packet data)."""
    r = requests.get(url(srv, path), timeout=5)
    assert r.status_code == 200, r.text
    assert r.text.startswith("0"), r.text
    data = json.loads(r.text[1:])
    return data["sid"], data


def poll(srv, sid, path="/socket.io/", timeout=10):
    return requests.get(url(srv, path, sid=sid), timeout=timeout)


def post(srv, sid, body, path="/socket.io/"):
    return requests.post(url(srv, path, sid=sid), data=body.encode() if isinstance(body, str) else body, timeout=5)


class WS:
    """A raw Engine.IO WebSocket: text messages as str, binary ones as bytes; pings answered on request."""

    def __init__(self, srv, path="/socket.io/", sid=None, handshake=True, timeout=5):
        q = f"?EIO=4&transport=websocket" + (f"&sid={sid}" if sid else "")
        self.ws = websocket.create_connection(f"{srv.ws_url}{path}{q}", timeout=timeout)
        self.open = None
        if handshake and sid is None:
            first = self.recv()
            assert first.startswith("0"), first
            self.open = json.loads(first[1:])

    def send(self, text):
        self.ws.send(text)

    def send_binary(self, data: bytes):
        self.ws.send_binary(data)

    def recv(self, timeout=5, skip_pings=False):
        """The next message (str or bytes); raises EOFError when the connection closes."""
        deadline = time.monotonic() + timeout
        while True:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                opcode, data = self.ws.recv_data(control_frame=True)
            except websocket.WebSocketConnectionClosedException:
                raise EOFError("closed")
            except websocket.WebSocketTimeoutException:
                raise TimeoutError("no message in time")
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise EOFError("closed")
            if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
                continue
            message = data.decode() if opcode == websocket.ABNF.OPCODE_TEXT else bytes(data)
            if skip_pings and message == "2":
                self.send("3")
                continue
            return message

    def expect_close(self, timeout=5):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                seen.append(self.recv(timeout=deadline - time.monotonic()))
            except EOFError:
                return seen
            except TimeoutError:
                break
        raise AssertionError(f"not closed in time; got {seen!r}")

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


class SocketIO(WS):
    """A raw Socket.IO client on a WebSocket, connected to a namespace."""

    def __init__(self, srv, namespace="/", auth=None, **kw):
        super().__init__(srv, **kw)
        prefix = "" if namespace == "/" else namespace + ","
        self.prefix = prefix
        self.send("40" + prefix + (json.dumps(auth) if auth is not None else ""))
        reply = self.recv(skip_pings=True)
        assert reply.startswith("40" + prefix), reply
        self.handshake = json.loads(reply[2 + len(prefix):])
        self.sid = self.handshake["sid"]
        self.next_ack = 1

    def emit(self, *args, ack=False):
        ack_id = ""
        if ack:
            ack_id = str(self.next_ack)
            self.next_ack += 1
        self.send("42" + self.prefix + ack_id + json.dumps(list(args)))
        return int(ack_id) if ack else None

    def call(self, *args, timeout=5):
        """Emits with an ack and returns the ack's arguments (events that come first are kept)."""
        ack_id = self.emit(*args, ack=True)
        self.pending = getattr(self, "pending", [])
        deadline = time.monotonic() + timeout
        head = "43" + self.prefix + str(ack_id)
        while True:
            message = self.recv(timeout=max(0.01, deadline - time.monotonic()), skip_pings=True)
            if isinstance(message, str) and message.startswith(head) and message[len(head)] == "[":
                return json.loads(message[len(head):])
            self.pending.append(message)

    def event(self, timeout=5):
        """The next event as [name, *args] (binary attachments are not put back here)."""
        self.pending = getattr(self, "pending", [])
        while True:
            message = self.pending.pop(0) if self.pending else self.recv(timeout=timeout, skip_pings=True)
            head = "42" + self.prefix
            if isinstance(message, str) and message.startswith(head):
                return json.loads(message[len(head):].lstrip("0123456789"))  # without an ack id
