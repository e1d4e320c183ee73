"""stomp.py clients for the STOMP integration tests.

    client = stomp_client(srv)                       # a connected stomp.py Connection12 + Collector
    client = stomp_client(srv, version="1.1")        # Connection11 (1.0: Connection10)
    client = stomp_client(srv, ws=True)              # stomp.WSConnection to ws://.../stomp
    client.subscribe("/queue/q", ack="client")       # waits for the SUBSCRIBE's RECEIPT
    client.send("/queue/q", "hi", receipt=True)      # waits for the RECEIPT
    m = client.next_message()                        # stomp.py Frame (headers dict, body)
    client.ack(m)                                    # 1.2: id=ack; 1.0/1.1: message-id (+ subscription)

`stomp_client` is a fixture (import it into the test module): every client it made is disconnected
at the end of the test. Every wait has a timeout, nothing can hang.

The server object only needs `stomp_address` (and `port` for WebSocket); `stomp_vhost` and
`stomp_login` (login, passcode), when present, are used for CONNECT: that is how a stand-in
object points these tests at RabbitMQ.
"""
from __future__ import annotations

import itertools
import queue
import threading
import time
import uuid

import pytest
import stomp

DEFAULT_TIMEOUT = 5.0
_ids = itertools.count(1)


class Collector(stomp.ConnectionListener):
    """Records everything stomp.py reports; the waits are bounded."""

    def __init__(self):
        self.cond = threading.Condition()
        self.messages = queue.Queue()
        self.all_messages = []
        self.errors = []
        self.receipts = []
        self.connected = None
        self.disconnected = False
        self.heartbeats = 0
        self.heartbeat_timeout = False

    def _note(self, fn):
        with self.cond:
            fn()
            self.cond.notify_all()

    def on_connected(self, frame):
        self._note(lambda: setattr(self, "connected", frame))

    def on_message(self, frame):
        def f():
            self.all_messages.append(frame)
            self.messages.put(frame)
        self._note(f)

    def on_error(self, frame):
        self._note(lambda: self.errors.append(frame))

    def on_receipt(self, frame):
        self._note(lambda: self.receipts.append(frame.headers.get("receipt-id")))

    def on_disconnected(self):
        self._note(lambda: setattr(self, "disconnected", True))

    def on_heartbeat(self):
        def f():
            self.heartbeats += 1
        self._note(f)

    def on_heartbeat_timeout(self):
        self._note(lambda: setattr(self, "heartbeat_timeout", True))

    def wait_for(self, pred, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    return v
                self.cond.wait(min(left, 0.1))


class Client:
    def __init__(self, conn, listener, version, srv):
        self.conn = conn
        self.l = listener
        self.version = version
        self.srv = srv
        self.session = None

    # -- connection ---------------------------------------------------------------------------
    def wait_connected(self, timeout=DEFAULT_TIMEOUT):
        ok = self.l.wait_for(lambda: self.l.connected is not None or self.l.errors or self.l.disconnected,
                             timeout)
        if self.l.connected is None:
            raise AssertionError(f"no CONNECTED (errors={[(e.headers, e.body) for e in self.l.errors]}, "
                                 f"disconnected={self.l.disconnected}, waited={ok!r})")
        self.session = self.l.connected.headers.get("session")
        return self.l.connected

    @property
    def connected_frame(self):
        return self.l.connected

    def is_connected(self):
        return self.conn.is_connected() and not self.l.disconnected

    def close(self):
        """Disconnect without waiting (teardown)."""
        try:
            if self.conn.is_connected():
                self.conn.disconnect()
        except Exception:  # noqa: BLE001
            pass
        self.abort_socket()

    def abort_socket(self):
        """Drop the connection without DISCONNECT (like a crashed client)."""
        try:
            self.conn.transport.disconnect_socket()
        except Exception:  # noqa: BLE001
            pass

    def disconnect(self, receipt=None, timeout=DEFAULT_TIMEOUT):
        """DISCONNECT with a receipt; returns once the RECEIPT came and the socket closed."""
        receipt = receipt or f"bye-{next(_ids)}"
        self._disconnect_nowait(receipt)
        assert self.wait_receipt(receipt, timeout), f"no RECEIPT for DISCONNECT {receipt}"
        assert self.l.wait_for(lambda: self.l.disconnected, timeout), "not disconnected after DISCONNECT"
        return receipt

    def _disconnect_nowait(self, receipt):
        # stomp.py's disconnect(receipt=...) blocks without a timeout until the I/O thread ends;
        # send the frame through the protocol and let wait_receipt()/wait_for() bound the wait.
        proto = stomp.protocol.Protocol10 if self.version == "1.0" else stomp.protocol.Protocol11
        proto.disconnect(self.conn, receipt)

    # -- frames -------------------------------------------------------------------------------
    def _receipt(self, receipt):
        if receipt is True:
            return f"r-{next(_ids)}"
        return receipt or None

    def wait_receipt(self, receipt_id, timeout=DEFAULT_TIMEOUT):
        return self.l.wait_for(lambda: receipt_id in self.l.receipts or self.l.errors, timeout) and \
            receipt_id in self.l.receipts

    def _expect_receipt(self, rid, what, timeout=DEFAULT_TIMEOUT):
        if not self.wait_receipt(rid, timeout):
            raise AssertionError(f"no RECEIPT for {what} (errors: "
                                 f"{[(e.headers, e.body) for e in self.l.errors]})")

    def subscribe(self, destination, id=None, ack="auto", receipt=True, headers=None, **kw):
        """SUBSCRIBE and (by default) wait until the server confirmed it with a RECEIPT."""
        id = id or f"sub-{next(_ids)}"
        rid = self._receipt(receipt)
        h = dict(headers or {})
        h.update(kw)
        if rid:
            h["receipt"] = rid
        if self.version == "1.0":
            self.conn.subscribe(destination, id=id, ack=ack, headers=h)
        else:
            self.conn.subscribe(destination, id, ack=ack, headers=h)
        if rid:
            self._expect_receipt(rid, f"SUBSCRIBE {destination}")
        return id

    def unsubscribe(self, id, receipt=True):
        rid = self._receipt(receipt)
        h = {"receipt": rid} if rid else {}
        if self.version == "1.0":
            self.conn.unsubscribe(id=id, headers=h)
        else:
            self.conn.unsubscribe(id, headers=h)
        if rid:
            self._expect_receipt(rid, f"UNSUBSCRIBE {id}")

    def send(self, destination, body="", receipt=False, content_type=None, headers=None, **kw):
        rid = self._receipt(receipt)
        h = dict(headers or {})
        h.update(kw)
        if rid:
            h["receipt"] = rid
        self.conn.send(destination, body, content_type=content_type, headers=h)
        if rid:
            self._expect_receipt(rid, f"SEND {destination}")
        return rid

    def ack_id(self, msg):
        if self.version == "1.2":
            return msg.headers["ack"]
        return msg.headers["message-id"]

    def ack(self, msg, transaction=None, receipt=False):
        rid = self._receipt(receipt)
        if self.version == "1.2":
            self.conn.ack(msg.headers["ack"], transaction=transaction, receipt=rid)
        elif self.version == "1.1":
            self.conn.ack(msg.headers["message-id"], msg.headers["subscription"], transaction=transaction,
                          receipt=rid)
        else:
            self.conn.ack(msg.headers["message-id"], transaction=transaction, receipt=rid)
        if rid:
            self._expect_receipt(rid, "ACK")

    def nack(self, msg, transaction=None, receipt=False):
        rid = self._receipt(receipt)
        if self.version == "1.2":
            self.conn.nack(msg.headers["ack"], transaction=transaction, receipt=rid)
        else:
            self.conn.nack(msg.headers["message-id"], msg.headers["subscription"], transaction=transaction,
                           receipt=rid)
        if rid:
            self._expect_receipt(rid, "NACK")

    def begin(self, tx=None, receipt=False):
        tx = tx or f"tx-{next(_ids)}"
        rid = self._receipt(receipt)
        self.conn.begin(tx, headers={"receipt": rid} if rid else None)
        if rid:
            self._expect_receipt(rid, "BEGIN")
        return tx

    def commit(self, tx, receipt=True):
        rid = self._receipt(receipt)
        self.conn.commit(tx, headers={"receipt": rid} if rid else None)
        if rid:
            self._expect_receipt(rid, "COMMIT")

    def abort(self, tx, receipt=True):
        rid = self._receipt(receipt)
        self.conn.abort(tx, headers={"receipt": rid} if rid else None)
        if rid:
            self._expect_receipt(rid, "ABORT")

    def sync(self):
        """Round trip: every frame sent before has taken effect when this returns."""
        tx = self.begin()
        self.abort(tx)

    # -- what arrived -------------------------------------------------------------------------
    def next_message(self, timeout=DEFAULT_TIMEOUT):
        try:
            return self.l.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no MESSAGE within {timeout}s (errors: "
                                 f"{[(e.headers, e.body) for e in self.l.errors]})") from None

    def messages(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        out = []
        for _ in range(n):
            left = deadline - time.monotonic()
            try:
                out.append(self.l.messages.get(timeout=max(left, 0.001)))
            except queue.Empty:
                raise AssertionError(f"got {len(out)} of {n} MESSAGEs within {timeout}s: "
                                     f"{[m.body for m in out][-5:]!r} (errors: "
                                     f"{[(e.headers, e.body) for e in self.l.errors]})") from None
        return out

    def assert_no_message(self, wait=0.3):
        try:
            m = self.l.messages.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected MESSAGE {m.headers!r} {m.body!r}")

    def wait_error(self, timeout=DEFAULT_TIMEOUT):
        assert self.l.wait_for(lambda: self.l.errors, timeout), "no ERROR frame"
        return self.l.errors[0]

    def wait_disconnected(self, timeout=DEFAULT_TIMEOUT):
        return self.l.wait_for(lambda: self.l.disconnected, timeout)


def open_client(srv, version="1.2", ws=False, heartbeats=(0, 0), login=None, passcode=None,
                auto_decode=True, headers=None, wait=True, timeout=DEFAULT_TIMEOUT, ws_header=None,
                heart_beat_receive_scale=1.5):
    vhost = getattr(srv, "stomp_vhost", None)
    if login is None and passcode is None and getattr(srv, "stomp_login", None):
        login, passcode = srv.stomp_login
    common = dict(reconnect_attempts_max=1, timeout=timeout, auto_decode=auto_decode)
    if ws:
        assert version == "1.2", "stomp.py's WSConnection speaks 1.2"
        ws_addr = getattr(srv, "stomp_ws_address", None) or ("127.0.0.1", srv.port)
        conn = stomp.WSConnection([ws_addr], ws_path=getattr(srv, "stomp_ws_path", "/stomp"),
                                  heartbeats=heartbeats, vhost=vhost, header=ws_header,
                                  heart_beat_receive_scale=heart_beat_receive_scale, **common)
    elif version == "1.0":
        conn = stomp.Connection10([srv.stomp_address], **common)
    else:
        cls = stomp.Connection11 if version == "1.1" else stomp.Connection12
        conn = cls([srv.stomp_address], heartbeats=heartbeats, vhost=vhost,
                   heart_beat_receive_scale=heart_beat_receive_scale, **common)
    listener = Collector()
    conn.set_listener("collector", listener)
    client = Client(conn, listener, version, srv)
    conn.connect(login, passcode, wait=False, headers=headers)
    if wait:
        client.wait_connected(timeout)
    return client


@pytest.fixture
def stomp_client():
    """stomp_client(srv, **kw) -> a connected Client; all are disconnected at the end of the test."""
    made = []

    def make(srv, **kw):
        c = open_client(srv, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def unique(prefix="t"):
    """A destination-safe unique name."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
