#!/usr/bin/env python3
"""Run the same small STOMP behaviour probes against any broker and print what it answered.

    python stomp_compare.py HOST PORT [--vhost /] [--login guest --passcode guest] [--only NAME,...]
                                      [--hb-wait SECONDS]

Used to compare Switchboard's broker with RabbitMQ's STOMP plugin (the reference):

    ../shared/peers/peer start rabbitmq
    .venv/bin/python Tests/Integration/stomp_compare.py 127.0.0.1 61613 --vhost / --login guest --passcode guest
    .venv/bin/python Tests/Integration/stomp_compare.py 127.0.0.1 61613      # switchboard serve

Not a test: it asserts nothing, it describes. One row per probe; `+close` means the broker closed the
connection after what is listed, `open` that it kept it. The probes use raw sockets (stomp_raw.py) where
the exact frames matter, and stomp.py where a client library's view is the point.
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stomp_raw import Closed, Frame, RawStomp, encode_frame  # noqa: E402

WAIT = 1.0  # seconds to wait for an answer that may not come
HB_WAIT = 8.0  # how long heart_beat_silent_client waits to be dropped (--hb-wait)


class Target:
    def __init__(self, host, port, vhost, login, passcode):
        self.stomp_address = (host, port)
        self.stomp_vhost = vhost
        self.stomp_login = (login, passcode) if login is not None else None


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------------------------------- describing

def short(v, n=48):
    v = v.replace("\n", "\\n").replace("\r", "\\r")
    return v if len(v) <= n else v[: n - 3] + "..."


def desc(f: Frame, keys=("message", "receipt-id", "version")):
    parts = [f"{k}={short(f.get(k))}" for k in keys if f.get(k) is not None]
    return f.command + (f"[{' '.join(parts)}]" if parts else "")


def answer(c: RawStomp, wait=WAIT, keys=("message", "receipt-id", "version")):
    """Every frame the broker sends within `wait` seconds, then whether it closed."""
    frames, closed = [], False
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            frames.append(c.recv(left))
        except TimeoutError:
            break
        except (Closed, OSError):
            closed = True
            break
    if not closed and frames and frames[-1].command == "ERROR":
        closed = c.closed(1.0)
        frames += c.after_close
    out = ", ".join(desc(f, keys) for f in frames) or "no answer"
    return f"{out} {'+close' if closed else 'open'}"


def connect(t, version="1.2", **kw):
    c = RawStomp.to(t)
    c.connect(version, **kw)
    return c


def messages(c, n, wait=2.0):
    out = []
    deadline = time.monotonic() + wait
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            f = c.recv(left)
        except (TimeoutError, Closed):
            break
        if f.command == "MESSAGE":
            out.append(f)
    return out


def drain(c, wait=0.5):
    return messages(c, 1000, wait)


# ------------------------------------------------------------------------------------------- probes

PROBES = []


def probe(fn):
    PROBES.append(fn)
    return fn


@probe
def connect_1_2(t):
    with RawStomp.to(t) as c:
        f = c.connect("1.2")
        return f"{f.command} version={f.get('version')} heart-beat={f.get('heart-beat')} " \
               f"server={f.get('server')} session={'yes' if f.get('session') else 'no'}"


@probe
def connect_no_accept_version(t):
    with RawStomp.to(t) as c:
        f = c.connect(None)
        return f"{f.command} version={f.get('version', '(none)')}"


@probe
def connect_1_0_1_1(t):
    with RawStomp.to(t) as c:
        return f"version={c.connect('1.0,1.1').get('version')}"


@probe
def connect_no_common_version(t):
    with RawStomp.to(t) as c:
        c.send(c.connect_frame("2.0,3.1"))
        return answer(c)


@probe
def connect_stomp_command(t):
    with RawStomp.to(t) as c:
        c.send(c.connect_frame("1.2", command="STOMP"))
        return answer(c, 0.5)


@probe
def connect_unknown_host(t):
    with RawStomp.to(t) as c:
        c.send(c.connect_frame("1.2", host="no.such.vhost"))
        return answer(c, 0.5)


@probe
def connect_wrong_passcode(t):
    with RawStomp.to(t) as c:
        c.send(c.connect_frame("1.2", login=(t.stomp_login or ("guest",))[0], passcode="wrong-passcode"))
        return answer(c)


@probe
def connect_header_backslash(t):
    """CONNECT headers are not escaped: `host:a\\tb`-like values must be taken literally."""
    with RawStomp.to(t) as c:
        c.send(c.connect_frame("1.2", extra=[("x-client", "a\\tb")]))
        return answer(c, 0.5)


@probe
def connect_twice(t):
    with connect(t) as c:
        c.send(c.connect_frame("1.2"))
        return answer(c)


@probe
def frame_before_connect(t):
    with RawStomp.to(t) as c:
        c.send(encode_frame("SEND", [("destination", "/topic/x")], "early"))
        return answer(c)


@probe
def unknown_command(t):
    with connect(t) as c:
        c.send_frame("FOO", [])
        return answer(c)


@probe
def stomp_py_connect_heartbeat(t):
    import stomp
    conn = stomp.Connection12([t.stomp_address], heartbeats=(1000, 1000), vhost=t.stomp_vhost,
                              reconnect_attempts_max=1, timeout=5)
    got = {}

    class L(stomp.ConnectionListener):
        def on_connected(self, frame):
            got["f"] = frame

        def on_error(self, frame):
            got["e"] = frame
    conn.set_listener("l", L())
    login = t.stomp_login or (None, None)
    conn.connect(login[0], login[1], wait=False)
    deadline = time.monotonic() + 3
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        conn.transport.disconnect_socket()
    except Exception:  # noqa: BLE001
        pass
    if "f" in got:
        h = got["f"].headers
        return f"CONNECTED version={h.get('version')} heart-beat={h.get('heart-beat')} (asked 1000,1000)"
    if "e" in got:
        return f"ERROR {got['e'].headers.get('message')}"
    return "no answer"


@probe
def send_receipt(t):
    with connect(t) as c:
        c.send_frame("SEND", [("destination", f"/topic/{uid('t')}"), ("receipt", "r-42")], b"x")
        return answer(c, 0.5)


@probe
def send_missing_destination(t):
    with connect(t) as c:
        c.send_frame("SEND", [("receipt", "r-1")], b"x")
        return answer(c)


@probe
def send_unknown_destination_kind(t):
    with connect(t) as c:
        c.send_frame("SEND", [("destination", "/foo/bar"), ("receipt", "r-1")], b"x")
        return answer(c)


@probe
def send_destination_without_prefix(t):
    with connect(t) as c:
        c.send_frame("SEND", [("destination", "plainname"), ("receipt", "r-1")], b"x")
        return answer(c)


@probe
def subscribe_missing_id_1_2(t):
    with connect(t) as c:
        c.send_frame("SUBSCRIBE", [("destination", f"/topic/{uid('t')}"), ("receipt", "r-1")])
        return answer(c)


@probe
def subscribe_no_id_1_0(t):
    dest = f"/topic/{uid('t')}"
    with connect(t, None) as c:
        c.subscribe(dest, id=None, receipt="r-1")
        c.publish(dest, b"x", receipt="r-2")
        m = messages(c, 1)
        return f"MESSAGE subscription={m[0].get('subscription', '(none)')}" if m else "no MESSAGE"


@probe
def subscribe_duplicate_id(t):
    with connect(t) as c:
        c.subscribe(f"/topic/{uid('t')}", id="dup", receipt="r-1")
        c.send_frame("SUBSCRIBE", [("destination", f"/topic/{uid('t')}"), ("id", "dup"), ("receipt", "r-2")])
        return answer(c)


@probe
def unsubscribe_unknown_id(t):
    with connect(t) as c:
        c.send_frame("UNSUBSCRIBE", [("id", "never-subscribed"), ("receipt", "r-1")])
        return answer(c)


@probe
def topic_message_headers(t):
    dest = f"/topic/{uid('t')}"
    with connect(t) as c:
        c.subscribe(dest, id="s1", receipt="r-1")
        c.publish(dest, b"hello", receipt="r-2", headers=[("x-custom", "v"), ("content-type", "text/plain")])
        m = messages(c, 1)
        if not m:
            return "no MESSAGE"
        return "headers: " + ",".join(k for k, _ in m[0].headers) + f" | message-id={short(m[0].get('message-id'), 40)}"


@probe
def topic_two_subscriptions_same_id(t):
    """Is a topic message one id for every subscriber (a channel position) or one per delivery?"""
    dest = f"/topic/{uid('t')}"
    with connect(t) as c:
        c.subscribe(dest, id="a", receipt="r-1")
        c.subscribe(dest, id="b", receipt="r-2")
        c.publish(dest, b"x", receipt="r-3")
        ms = messages(c, 2)
        ids = {m.get("message-id") for m in ms}
        return f"{len(ms)} MESSAGEs, {len(ids)} distinct message-id"


@probe
def queue_message_headers(t):
    dest = f"/queue/{uid('q')}"
    with connect(t) as c:
        c.publish(dest, b"hello", receipt="r-1", headers=[("x-custom", "v")])
        c.subscribe(dest, id="s1", ack="client-individual", receipt="r-2")
        m = messages(c, 1)
        if not m:
            return "no MESSAGE"
        return "headers: " + ",".join(k for k, _ in m[0].headers) + \
            f" | ack==message-id: {m[0].get('ack') == m[0].get('message-id')}"


@probe
def header_escaping_round_trip(t):
    dest = f"/topic/{uid('t')}"
    value = "a:b\nc\\d\re"
    with connect(t) as c:
        c.subscribe(dest, id="s", receipt="r-1")
        c.publish(dest, b"x", headers=[("x-esc", value)])
        m = messages(c, 1)
        if not m:
            return "no MESSAGE"
        raw = [line for line in m[0].raw.split(b"\n") if line.startswith(b"x-esc:")]
        return f"same value: {m[0].get('x-esc') == value} | wire: {raw[0].decode() if raw else '?'}"


@probe
def header_backslash_in_1_0(t):
    dest = f"/topic/{uid('t')}"
    with connect(t, "1.2") as sub, connect(t, None) as pub:
        sub.subscribe(dest, id="s", receipt="r-1")
        pub.publish(dest, b"x", headers=[("x-lit", "a\\zb")], version="1.0")
        got = answer(pub, 0.3)
        m = messages(sub, 1)
        return (f"1.2 subscriber sees {m[0].get('x-lit')!r}" if m else "no MESSAGE") + f" | publisher: {got}"


@probe
def repeated_header(t):
    dest = f"/topic/{uid('t')}"
    with connect(t) as c:
        c.subscribe(dest, id="s", receipt="r-1")
        c.publish(dest, b"x", headers=[("x-rep", "first"), ("x-rep", "second")])
        m = messages(c, 1)
        return f"x-rep values delivered: {m[0].all('x-rep')}" if m else "no MESSAGE"


@probe
def bad_escape(t):
    with connect(t) as c:
        c.send(f"SEND\ndestination:/topic/{uid('t')}\nx-bad:a\\tb\nreceipt:r-1\n\nx\x00".encode())
        return answer(c)


@probe
def content_length_with_nuls(t):
    dest = f"/topic/{uid('t')}"
    body = b"\x00a\x00\x00b"
    with connect(t) as c:
        c.subscribe(dest, id="s", receipt="r-1")
        c.publish(dest, body, content_length=True)
        m = messages(c, 1)
        return f"body intact: {m[0].body == body}, content-length={m[0].get('content-length')}" if m else "no MESSAGE"


@probe
def header_line_100k(t):
    with connect(t) as c:
        c.send_frame("SEND", [("destination", f"/topic/{uid('t')}"), ("x-big", "v" * 100_000),
                              ("receipt", "r-1")], b"x", ignore_errors=True)
        return answer(c, 2.0)


@probe
def headers_1000(t):
    with connect(t) as c:
        c.send_frame("SEND", [("destination", f"/topic/{uid('t')}")] + [(f"x-{i}", "v") for i in range(1000)]
                     + [("receipt", "r-1")], b"x", ignore_errors=True)
        return answer(c, 2.0)


def _queue_with(t, n, ack):
    q = f"/queue/{uid('q')}"
    c = connect(t)
    for i in range(n):
        c.publish(q, f"m{i}".encode(), receipt=f"p{i}")
    c.subscribe(q, id="s", ack=ack, receipt="r-s")
    return q, c, messages(c, n)


def _redelivered_to_new_consumer(t, q, ack="auto", n=10):
    with connect(t) as c2:
        c2.subscribe(q, id="s2", ack=ack, receipt="r-s2")
        ms = messages(c2, n, 1.5)
        return ", ".join(f"{m.body.decode()}({'r' if m.get('redelivered') == 'true' else '-'})" for m in ms) or "none"


@probe
def ack_client_cumulative(t):
    q, c, ms = _queue_with(t, 3, "client")
    c.send_frame("ACK", [("id", ms[1].get("ack")), ("receipt", "r-a")])
    a = answer(c, 0.3)
    c.close()
    return f"ACK m1 -> {a} | redelivered after close: {_redelivered_to_new_consumer(t, q)}"


@probe
def ack_client_individual(t):
    q, c, ms = _queue_with(t, 3, "client-individual")
    c.send_frame("ACK", [("id", ms[1].get("ack")), ("receipt", "r-a")])
    a = answer(c, 0.3)
    c.close()
    return f"ACK m1 -> {a} | redelivered after close: {_redelivered_to_new_consumer(t, q)}"


@probe
def ack_auto_then_close(t):
    q, c, ms = _queue_with(t, 2, "auto")
    c.close()
    return f"got {len(ms)} | redelivered after close: {_redelivered_to_new_consumer(t, q)}"


@probe
def nack_client_individual(t):
    q, c, ms = _queue_with(t, 3, "client-individual")
    c.send_frame("NACK", [("id", ms[1].get("ack"))])
    again = messages(c, 3, 1.0)
    c.close()
    if not again:
        return "no redelivery"
    m = again[0]
    return f"{len(again)} redelivered: {[x.body.decode() for x in again]} redelivered={m.get('redelivered')} " \
           f"new message-id: {m.get('message-id') != ms[1].get('message-id')}"


@probe
def nack_client_cumulative(t):
    q, c, ms = _queue_with(t, 3, "client")
    c.send_frame("NACK", [("id", ms[1].get("ack"))])
    again = messages(c, 3, 1.0)
    c.close()
    return f"redelivered: {[x.body.decode() for x in again]}"


@probe
def ack_unknown_id(t):
    q = f"/queue/{uid('q')}"
    with connect(t) as c:
        c.subscribe(q, id="s", ack="client", receipt="r-s")
        c.send_frame("ACK", [("id", "no-such-id"), ("receipt", "r-1")])
        return answer(c)


@probe
def ack_1_1_message_id(t):
    q = f"/queue/{uid('q')}"
    with connect(t, "1.1") as c:
        c.publish(q, b"x", receipt="p")
        c.subscribe(q, id="s", ack="client", receipt="r-s")
        m = messages(c, 1)
        if not m:
            return "no MESSAGE"
        c.send_frame("ACK", [("message-id", m[0].get("message-id")), ("subscription", "s"), ("receipt", "r-a")])
        return f"ack header: {m[0].get('ack', '(none)')} | ACK -> {answer(c, 0.5)}"


@probe
def prefetch_count_2(t):
    q = f"/queue/{uid('q')}"
    with connect(t) as c:
        for i in range(5):
            c.publish(q, f"m{i}".encode(), receipt=f"p{i}")
        c.subscribe(q, id="s", ack="client-individual", headers=[("prefetch-count", "2")], receipt="r-s")
        first = messages(c, 5, 0.8)
        if first:
            c.send_frame("ACK", [("id", first[0].get("ack"))])
        more = messages(c, 5, 0.8)
        return f"before ACK: {len(first)}, after one ACK: {len(more)}"


@probe
def unsubscribe_with_unacked(t):
    q, c, ms = _queue_with(t, 2, "client-individual")
    with connect(t) as c2:
        c2.subscribe(q, id="s2", receipt="r-s2")
        c.send_frame("UNSUBSCRIBE", [("id", "s"), ("receipt", "r-u")])
        answer(c, 0.3)
        got = messages(c2, 2, 1.0)
        c.close()
        return f"other consumer got {len(got)} while the first stays connected"


@probe
def topic_nack(t):
    dest = f"/topic/{uid('t')}"
    with connect(t) as c:
        c.subscribe(dest, id="s", ack="client-individual", receipt="r-s")
        c.publish(dest, b"x")
        m = messages(c, 1)
        if not m:
            return "no MESSAGE"
        c.send_frame("NACK", [("id", m[0].get("ack")), ("receipt", "r-n")])
        again = messages(c, 1, 0.8)
        return f"ack header={'yes' if m[0].get('ack') else 'no'} | redelivered after NACK: {len(again)}"


@probe
def tx_send_receipt_and_commit(t):
    dest = f"/topic/{uid('t')}"
    with connect(t) as c, connect(t) as sub:
        sub.subscribe(dest, id="s", receipt="r-s")
        c.send_frame("BEGIN", [("transaction", "tx")])
        c.send_frame("SEND", [("destination", dest), ("transaction", "tx"), ("receipt", "r-tx")], b"x")
        before = answer(c, 0.5)
        early = messages(sub, 1, 0.3)
        c.send_frame("COMMIT", [("transaction", "tx"), ("receipt", "r-c")])
        after = answer(c, 0.5)
        late = messages(sub, 1, 1.0)
        return f"SEND in tx -> {before} | delivered before COMMIT: {len(early)} | COMMIT -> {after} | " \
               f"after: {len(late)}"


@probe
def tx_abort(t):
    dest = f"/topic/{uid('t')}"
    with connect(t) as c, connect(t) as sub:
        sub.subscribe(dest, id="s", receipt="r-s")
        c.send_frame("BEGIN", [("transaction", "tx")])
        c.send_frame("SEND", [("destination", dest), ("transaction", "tx")], b"x")
        c.send_frame("ABORT", [("transaction", "tx"), ("receipt", "r-a")])
        a = answer(c, 0.5)
        return f"ABORT -> {a} | delivered: {len(messages(sub, 1, 0.5))}"


@probe
def tx_ack_then_abort(t):
    q, c, ms = _queue_with(t, 1, "client-individual")
    c.send_frame("BEGIN", [("transaction", "tx")])
    c.send_frame("ACK", [("id", ms[0].get("ack")), ("transaction", "tx")])
    c.send_frame("ABORT", [("transaction", "tx"), ("receipt", "r-a")])
    answer(c, 0.3)
    c.close()
    return f"redelivered after close: {_redelivered_to_new_consumer(t, q)}"


@probe
def tx_commit_unknown(t):
    with connect(t) as c:
        c.send_frame("COMMIT", [("transaction", "nope"), ("receipt", "r-1")])
        return answer(c)


@probe
def tx_begin_twice(t):
    with connect(t) as c:
        c.send_frame("BEGIN", [("transaction", "tx")])
        c.send_frame("BEGIN", [("transaction", "tx"), ("receipt", "r-1")])
        return answer(c)


@probe
def temp_queue_reply_to(t):
    service = f"/queue/{uid('rpc')}"
    with connect(t) as worker, connect(t) as req:
        worker.subscribe(service, id="w", receipt="r-w")
        req.publish(service, b"ping", headers=[("reply-to", "/temp-queue/answers")], receipt="r-p")
        m = messages(worker, 1)
        if not m:
            return "worker got nothing"
        reply_to = m[0].get("reply-to")
        worker.publish(reply_to, b"pong", receipt="r-r")
        a = messages(req, 1)
        return f"reply-to rewritten to {short(reply_to, 60)} | reply: " + \
            (f"subscription={a[0].get('subscription')} destination={short(a[0].get('destination'), 40)}"
             if a else "none")


@probe
def temp_queue_explicit_subscribe(t):
    with connect(t) as c:
        c.send_frame("SUBSCRIBE", [("destination", "/temp-queue/mine"), ("id", "mine"), ("receipt", "r-1")])
        return answer(c, 0.5)


@probe
def heart_beat_server_sends(t):
    with RawStomp.to(t) as c:
        f = c.connect("1.2", heart_beat="0,500")
        t0 = time.monotonic()
        beats = c.wait_heartbeats(3, 3.5)
        gaps = [round(b - a, 2) for a, b in zip([t0] + beats, beats)]
        return f"CONNECTED heart-beat={f.get('heart-beat')} (asked 0,500) | EOL after s: {gaps}"


@probe
def heart_beat_silent_client(t):
    with RawStomp.to(t) as c:
        f = c.connect("1.2", heart_beat="500,0")
        t0 = time.monotonic()
        closed = c.closed(HB_WAIT)
        took = time.monotonic() - t0
        frames = ", ".join(desc(x) for x in c.after_close) or "no frame"
        return f"CONNECTED heart-beat={f.get('heart-beat')} (promised 500,0, then silent) | " + \
            (f"{frames} +close after {took:.1f}s" if closed else f"still open after {HB_WAIT:g}s")


@probe
def disconnect_receipt(t):
    with connect(t) as c:
        c.send_frame("DISCONNECT", [("receipt", "bye")])
        return answer(c, 1.0)


@probe
def error_then_more_frames(t):
    """Are frames written after a refused one still executed?"""
    dest = f"/topic/{uid('t')}"
    with connect(t) as sub, connect(t) as c:
        sub.subscribe(dest, id="s", receipt="r-s")
        c.send(b"SEND\n\nno destination\x00" + encode_frame("SEND", [("destination", dest)], "after"))
        a = answer(c, 0.8)
        return f"{a} | frame after the error delivered: {len(messages(sub, 1, 0.5))}"


# ------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--vhost", default=None, help="host header for CONNECT (RabbitMQ: /)")
    ap.add_argument("--login", default=None)
    ap.add_argument("--passcode", default=None)
    ap.add_argument("--only", default=None, help="comma-separated probe names")
    ap.add_argument("--hb-wait", type=float, default=HB_WAIT,
                    help="seconds a silent client waits to be dropped (a 10 s heart-beat needs 25)")
    args = ap.parse_args()
    globals()["HB_WAIT"] = args.hb_wait
    t = Target(args.host, args.port, args.vhost, args.login, args.passcode)
    only = set(args.only.split(",")) if args.only else None
    width = max(len(p.__name__) for p in PROBES)
    with RawStomp.to(t) as c:
        server = c.connect("1.0,1.1,1.2").get("server", "?")
    print(f"# STOMP probes against {args.host}:{args.port} ({server})")
    for p in PROBES:
        if only and p.__name__ not in only:
            continue
        try:
            result = p(t)
        except Exception as e:  # noqa: BLE001
            result = f"EXCEPTION {type(e).__name__}: {short(str(e), 100)}"
        print(f"{p.__name__:<{width}} | {result}", flush=True)


if __name__ == "__main__":
    main()
