"""STOMP /topic/NAME = Switchboard channel NAME (stomp.py clients): MESSAGE headers, fan-out, pass-through
headers, ids = channel positions, topic acks, resume with last-event-id and the gap MESSAGE, 10,000 in order."""
import json
import re
import socket
import time

import pytest
import requests

from helpers import channel_info, publish, publish_many, split_id, wait_for_subscribers
from stomp_helpers import stomp_client  # noqa: F401  (fixture)
from stomp_raw import RawStomp

# The broker's functional tests run with an open policy: every client may send anywhere
# (the policy itself is tested in test_security_policy.py).
OPEN = ["*"]

HISTORY = 3
ID_RE = re.compile(r"^\S+:\d+$")


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(history_size=HISTORY, client_publish=OPEN, client_queues=OPEN)


def test_message_headers(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    sid = c.subscribe(f"/topic/{ch}")
    c.send(f"/topic/{ch}", "hello topic", content_type="text/plain", receipt=True)
    m = c.next_message()
    h = m.headers
    assert h["destination"] == f"/topic/{ch}"
    assert h["subscription"] == sid
    assert ID_RE.match(h["message-id"]), h
    assert h["content-type"] == "text/plain"
    assert h["content-length"] == str(len("hello topic"))
    assert m.body == "hello topic"
    assert "receipt" not in h                 # STOMP headers are not passed through


def test_message_id_is_the_channel_position(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}")
    for i in range(3):
        c.send(f"/topic/{ch}", f"m{i}", receipt=True)
    ids = [m.headers["message-id"] for m in c.messages(3)]
    epochs = {split_id(i)[0] for i in ids}
    offsets = [split_id(i)[1] for i in ids]
    assert len(epochs) == 1
    assert offsets == [offsets[0], offsets[0] + 1, offsets[0] + 2]
    info = channel_info(srv, ch)
    assert info["last_id"] == ids[-1] and info["published"] == 3


def test_send_without_subscribers_is_kept_in_history(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    c.send(f"/topic/{ch}", "nobody listens", receipt=True)
    info = channel_info(srv, ch)
    assert info is not None and info["published"] == 1 and info["messages"] == 1
    doc = requests.get(f"{srv.url}/api/history/{ch}", timeout=5).json()
    assert [m["data"] for m in doc["messages"]] == ["nobody listens"]


def test_fan_out_to_every_subscription(srv, stomp_client, chan):
    ch = chan()
    a, b = stomp_client(srv), stomp_client(srv)
    a1 = a.subscribe(f"/topic/{ch}", id="a1")
    a2 = a.subscribe(f"/topic/{ch}", id="a2")      # two subscriptions on one connection
    b1 = b.subscribe(f"/topic/{ch}", id="b1")
    b.send(f"/topic/{ch}", "to all", receipt=True)
    got_a = a.messages(2)
    assert sorted(m.headers["subscription"] for m in got_a) == sorted([a1, a2])
    assert {m.body for m in got_a} == {"to all"}
    mb = b.next_message()
    assert (mb.headers["subscription"], mb.body) == (b1, "to all")
    assert len({m.headers["message-id"] for m in got_a + [mb]}) == 1   # one message, one position
    a.assert_no_message(0.2)


def test_custom_headers_pass_through(srv, stomp_client, chan):
    ch = chan()
    sub, pub = stomp_client(srv), stomp_client(srv)
    sub.subscribe(f"/topic/{ch}")
    pub.send(f"/topic/{ch}", "with headers", receipt=True, headers={
        "x-trace": "abc-123", "priority": "9", "correlation-id": "c:1", "x-multi-line": "a\nb",
        "x-back": "c:\\d"})
    h = sub.next_message().headers
    assert h["x-trace"] == "abc-123"
    assert h["priority"] == "9"
    assert h["correlation-id"] == "c:1"
    assert h["x-multi-line"] == "a\nb"
    assert h["x-back"] == "c:\\d"
    assert "receipt" not in h and "transaction" not in h


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_every_version_subscribes_and_sends(srv, stomp_client, chan, version):
    ch = chan()
    c = stomp_client(srv, version=version)
    assert c.connected_frame.headers.get("version", "1.0") == version
    sid = c.subscribe(f"/topic/{ch}")
    c.send(f"/topic/{ch}", f"v{version}", receipt=True, headers={"x-v": "a:b"})
    m = c.next_message()
    assert m.body == f"v{version}" and m.headers["subscription"] == sid
    assert m.headers["x-v"] == "a:b"


def test_unsubscribe_stops_delivery(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    sid = c.subscribe(f"/topic/{ch}")
    c.send(f"/topic/{ch}", "before", receipt=True)
    assert c.next_message().body == "before"
    c.unsubscribe(sid)
    publish(srv, ch, "after")
    c.send(f"/topic/{ch}", "after too", receipt=True)
    c.assert_no_message(0.4)
    assert channel_info(srv, ch)["subscribers"] == 0


def test_topic_subscription_counts_as_channel_subscriber(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}")
    assert wait_for_subscribers(srv, ch, 1)
    assert publish(srv, ch, "counted")["subscribers"] == 1
    assert c.next_message().body == "counted"
    c.disconnect()
    deadline = time.monotonic() + 3
    while channel_info(srv, ch)["subscribers"] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert channel_info(srv, ch)["subscribers"] == 0


def test_binary_and_large_bodies(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv, auto_decode=False)
    c.subscribe(f"/topic/{ch}")
    blob = bytes(range(256)) * 16
    big = b"x" * (512 * 1024)
    c.send(f"/topic/{ch}", blob, content_type="application/octet-stream", receipt=True)
    c.send(f"/topic/{ch}", big, receipt=True)
    m1, m2 = c.messages(2, timeout=10)
    assert m1.body == blob and m1.headers["content-type"] == "application/octet-stream"
    assert m2.body == big and m2.headers["content-length"] == str(len(big))


# ------------------------------------------------------------------ ack modes on topics

@pytest.mark.parametrize("mode", ["client", "client-individual"])
def test_topic_ack_modes_are_accepted_without_redelivery(srv, stomp_client, chan, mode):
    ch = chan()
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}", ack=mode)
    c.send(f"/topic/{ch}", "one", receipt=True)
    c.send(f"/topic/{ch}", "two", receipt=True)
    m1, m2 = c.messages(2)
    assert m1.headers["ack"] == m1.headers["message-id"]
    c.nack(m1, receipt=True)                   # accepted, no effect
    c.ack(m2, receipt=True)
    c.assert_no_message(0.4)                   # a topic does not redeliver
    assert not c.l.errors


def test_topic_ack_1_1_uses_message_id(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv, version="1.1")
    c.subscribe(f"/topic/{ch}", ack="client")
    c.send(f"/topic/{ch}", "x", receipt=True)
    m = c.next_message()
    c.ack(m, receipt=True)
    assert not c.l.errors


# ------------------------------------------------------------------ resume

def test_resume_with_last_event_id(srv, stomp_client, chan):
    ch = chan()
    ids = publish_many(srv, ch, ["m1", "m2", "m3"])
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}", headers={"last-event-id": ids[0]})
    got = c.messages(2)
    assert [(m.headers["message-id"], m.body) for m in got] == [(ids[1], "m2"), (ids[2], "m3")]
    assert all("switchboard-event" not in m.headers for m in got)
    live = publish(srv, ch, "live")["id"]
    m = c.next_message()
    assert (m.headers["message-id"], m.body) == (live, "live")
    c.assert_no_message(0.3)


def test_resume_from_the_latest_id_gets_only_live(srv, stomp_client, chan):
    ch = chan()
    ids = publish_many(srv, ch, ["a", "b"])
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}", headers={"last-event-id": ids[-1]})
    c.assert_no_message(0.3)
    c.send(f"/topic/{ch}", "c", receipt=True)
    assert c.next_message().body == "c"


def test_resume_while_publishing_loses_nothing(srv, stomp_client, chan):
    """Messages published while the resume is replayed are neither lost nor repeated."""
    ch = chan()
    first = publish(srv, ch, "p0")["id"]
    publisher = stomp_client(srv)
    c = stomp_client(srv)
    for i in range(1, 50):
        publisher.send(f"/topic/{ch}", f"p{i}")
        if i == 10:
            c.subscribe(f"/topic/{ch}", headers={"last-event-id": first}, receipt=False)
    publisher.sync()
    got = [m.body for m in c.messages(49)]
    assert got == [f"p{i}" for i in range(1, 50)]
    c.assert_no_message(0.3)


def test_gap_message_when_too_old(srv, stomp_client, chan):
    ch = chan()
    ids = publish_many(srv, ch, [f"m{i}" for i in range(1, 7)])   # history keeps m4..m6
    c = stomp_client(srv)
    sid = c.subscribe(f"/topic/{ch}", headers={"last-event-id": ids[0]})
    gap = c.next_message()
    assert gap.headers.get("switchboard-event") == "gap", gap.headers
    assert gap.headers["content-type"].startswith("application/json")
    assert gap.headers["subscription"] == sid
    assert gap.headers["destination"] == f"/topic/{ch}"
    assert json.loads(gap.body) == {"channel": ch, "reason": "too-old", "requested": ids[0], "first": ids[3]}
    got = c.messages(3)
    assert [(m.headers["message-id"], m.body) for m in got] == list(zip(ids[3:], ["m4", "m5", "m6"]))
    live = publish(srv, ch, "live")["id"]
    assert c.next_message().headers["message-id"] == live


def test_history_boundary_is_not_a_gap(srv, stomp_client, chan):
    ch = chan()
    ids = publish_many(srv, ch, [f"m{i}" for i in range(1, 7)])
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}", headers={"last-event-id": ids[2]})
    got = c.messages(3)
    assert [m.body for m in got] == ["m4", "m5", "m6"]
    assert all("switchboard-event" not in m.headers for m in got)


def test_gap_message_new_epoch(srv, stomp_client, chan):
    ch = chan()
    old = publish_many(srv, ch, ["o1", "o2"])
    assert requests.delete(f"{srv.url}/pub/{ch}", timeout=5).status_code == 200
    new = publish_many(srv, ch, ["n1", "n2"])
    assert split_id(new[0])[0] != split_id(old[0])[0]
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}", headers={"last-event-id": old[1]})
    gap = c.next_message()
    assert gap.headers.get("switchboard-event") == "gap"
    doc = json.loads(gap.body)
    assert (doc["reason"], doc["requested"], doc["first"]) == ("new-epoch", old[1], new[0])
    assert [m.body for m in c.messages(2)] == ["n1", "n2"]


# ------------------------------------------------------------------ volume

def test_ten_thousand_messages_then_disconnect_receipt(srv, stomp_client, chan):
    ch = chan()
    consumer = stomp_client(srv)
    consumer.subscribe(f"/topic/{ch}")
    producer = stomp_client(srv)
    n = 10_000
    for i in range(n):
        producer.send(f"/topic/{ch}", f"m{i}")
    producer.disconnect(timeout=30)
    got = consumer.messages(n, timeout=30)
    assert [m.body for m in got] == [f"m{i}" for i in range(n)]
    offsets = [split_id(m.headers["message-id"])[1] for m in got]
    assert offsets == list(range(offsets[0], offsets[0] + n))
    assert channel_info(srv, ch)["published"] == n


# ------------------------------------------------------------------ slow consumer

def test_slow_topic_consumer_gets_error(make_server, chan):
    srv = make_server(max_outbound_bytes=65536, client_publish=OPEN, client_queues=OPEN)
    ch = chan()
    n, size = 200, 64 * 1024                      # 12.5 MiB, far over socket buffers + 64 KiB
    slow = RawStomp.to(srv, rcvbuf=4096)
    good = RawStomp.to(srv)
    try:
        for c in (slow, good):
            c.connect()
            c.subscribe(f"/topic/{ch}", receipt="r1")
        for i in range(n):
            publish(srv, ch, f"{i:08d}" + "z" * (size - 8))
            assert good.expect("MESSAGE", timeout=10).body[:8] == f"{i:08d}".encode()   # keeps up
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        frames = []
        while True:
            try:
                f = slow.recv(timeout=15)
            except EOFError:
                break
            frames.append(f)
            if f.command == "ERROR":
                break
        assert frames and frames[-1].command == "ERROR", f"no ERROR after {len(frames)} frames"
        assert frames[-1].get("message") == "slow consumer"
        assert len(frames) - 1 < n, "the slow consumer was not disconnected"
        assert all(f.command == "MESSAGE" for f in frames[:-1])
        assert slow.closed(5)
    finally:
        slow.close()
        good.close()
