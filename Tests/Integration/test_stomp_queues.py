"""STOMP /queue/NAME: point-to-point delivery, round-robin, holding, ack modes (auto, client,
client-individual), NACK and disconnect redelivery, prefetch-count, bounds, /api/queues, 10,000 in order."""
import time

import pytest
import requests

from helpers import channel_info, wait_until
from stomp_helpers import stomp_client, unique  # noqa: F401  (fixture)
from stomp_raw import encode_frame, raw_connect

# The broker's functional tests run with an open policy: every client may send anywhere
# (the policy itself is tested in test_security_policy.py).
OPEN = ["*"]


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(client_publish=OPEN, client_queues=OPEN)


def qname():
    return unique("q")


def api_queues(srv):
    r = requests.get(f"{srv.url}/api/queues", timeout=5)
    assert r.status_code == 200, r.text
    doc = r.json()
    return doc["queues"] if isinstance(doc, dict) else doc


def queue_info(srv, name):
    for q in api_queues(srv):
        if q["name"] in (name, f"/queue/{name}"):
            return q
    return None


def wait_queue(srv, name, pred, timeout=3.0):
    return wait_until(lambda: (lambda q: q if q is not None and pred(q) else None)(queue_info(srv, name)), timeout)


def bodies(msgs):
    return [m.body for m in msgs]


# ------------------------------------------------------------------ delivery

def test_messages_wait_for_a_consumer(srv, stomp_client):
    q = qname()
    p = stomp_client(srv)
    for i in range(3):
        p.send(f"/queue/{q}", f"m{i}", receipt=True, headers={"x-i": str(i)})
    info = queue_info(srv, q)
    assert info is not None and info["messages"] == 3 and info["consumers"] == 0
    c = stomp_client(srv)
    sid = c.subscribe(f"/queue/{q}")
    got = c.messages(3)
    assert bodies(got) == ["m0", "m1", "m2"]
    for i, m in enumerate(got):
        assert m.headers["destination"] == f"/queue/{q}"
        assert m.headers["subscription"] == sid
        assert m.headers["x-i"] == str(i)
        assert m.headers.get("redelivered", "false") == "false"
    assert wait_queue(srv, q, lambda x: x["messages"] == 0 and x["unacked"] == 0)


def test_each_message_to_exactly_one_consumer_round_robin(srv, stomp_client):
    q = qname()
    a, b = stomp_client(srv), stomp_client(srv)
    a.subscribe(f"/queue/{q}")
    b.subscribe(f"/queue/{q}")
    p = stomp_client(srv)
    for i in range(10):
        p.send(f"/queue/{q}", f"{i}")
    p.sync()
    got_a, got_b = bodies(a.messages(5)), bodies(b.messages(5))
    a.assert_no_message(0.2)
    b.assert_no_message(0.1)
    assert sorted(got_a + got_b, key=int) == [str(i) for i in range(10)]
    evens, odds = [str(i) for i in range(0, 10, 2)], [str(i) for i in range(1, 10, 2)]
    assert {tuple(got_a), tuple(got_b)} == {tuple(evens), tuple(odds)}, (got_a, got_b)


def test_round_robin_skips_consumers_without_room(srv, stomp_client):
    q = qname()
    full = stomp_client(srv)
    full.subscribe(f"/queue/{q}", ack="client-individual", headers={"prefetch-count": "1"})
    free = stomp_client(srv)
    free.subscribe(f"/queue/{q}")
    p = stomp_client(srv)
    for i in range(6):
        p.send(f"/queue/{q}", f"{i}")
    p.sync()
    assert len(full.messages(1)) == 1
    assert len(free.messages(5)) == 5
    full.assert_no_message(0.3)


def test_queue_is_separate_from_the_channel(srv, stomp_client):
    name = qname()
    c = stomp_client(srv)
    c.subscribe(f"/topic/{name}")
    c.send(f"/queue/{name}", "to the queue", receipt=True)
    c.assert_no_message(0.3)
    info = channel_info(srv, name)
    assert info is None or info["published"] == 0


def test_queue_keeps_content_type_and_headers(srv, stomp_client):
    q = qname()
    c = stomp_client(srv, auto_decode=False)
    c.send(f"/queue/{q}", b"\x00\x01\xff", content_type="application/octet-stream", receipt=True,
           headers={"x-a": "1", "reply-to": "/queue/elsewhere"})
    c.subscribe(f"/queue/{q}")
    m = c.next_message()
    assert m.body == b"\x00\x01\xff"
    assert m.headers["content-type"] == "application/octet-stream"
    assert m.headers["x-a"] == "1" and m.headers["reply-to"] == "/queue/elsewhere"
    assert m.headers["content-length"] == "3"


# ------------------------------------------------------------------ ack:auto

def test_auto_ack_settles_on_delivery(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}")
    for i in range(3):
        c.send(f"/queue/{q}", f"{i}", receipt=True)
    got = c.messages(3)
    assert "ack" not in got[0].headers
    c.disconnect()
    other = stomp_client(srv)
    other.subscribe(f"/queue/{q}")
    other.assert_no_message(0.4)
    assert wait_queue(srv, q, lambda x: x["messages"] == 0 and x["unacked"] == 0)


# ------------------------------------------------------------------ ack:client (cumulative)

def test_client_ack_is_cumulative(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    sid = c.subscribe(f"/queue/{q}", ack="client")
    for i in range(5):
        c.send(f"/queue/{q}", f"m{i}", receipt=True)
    got = c.messages(5)
    for m in got:
        assert m.headers["ack"] == m.headers["message-id"]
        assert m.headers["subscription"] == sid
    assert wait_queue(srv, q, lambda x: x["unacked"] == 5)
    c.ack(got[2], receipt=True)                       # settles m0, m1, m2
    assert wait_queue(srv, q, lambda x: x["unacked"] == 2)
    c.abort_socket()                                  # gone without DISCONNECT
    other = stomp_client(srv)
    other.subscribe(f"/queue/{q}")
    again = other.messages(2)
    assert bodies(again) == ["m3", "m4"]
    assert all(m.headers["redelivered"] == "true" for m in again)
    other.assert_no_message(0.3)


def test_client_nack_requeues_it_and_every_earlier_one(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client")
    for i in range(3):
        c.send(f"/queue/{q}", f"m{i}", receipt=True)
    got = c.messages(3)
    c.nack(got[1], receipt=True)                      # m0 and m1 back at the head, m2 still out
    again = c.messages(2)
    assert bodies(again) == ["m0", "m1"]
    assert all(m.headers["redelivered"] == "true" for m in again)
    assert {m.headers["message-id"] for m in again}.isdisjoint({m.headers["message-id"] for m in got})
    # client mode: this ACK settles every earlier delivery of the subscription, m2 included
    c.ack(again[1], receipt=True)
    assert wait_queue(srv, q, lambda x: x["unacked"] == 0 and x["messages"] == 0)


# ------------------------------------------------------------------ ack:client-individual

def test_client_individual_ack_settles_only_that_message(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual")
    for i in range(5):
        c.send(f"/queue/{q}", f"m{i}", receipt=True)
    got = c.messages(5)
    c.ack(got[2], receipt=True)
    assert wait_queue(srv, q, lambda x: x["unacked"] == 4)
    c.disconnect()                                    # a clean DISCONNECT redelivers too
    other = stomp_client(srv)
    other.subscribe(f"/queue/{q}", ack="client-individual")
    again = other.messages(4)
    assert bodies(again) == ["m0", "m1", "m3", "m4"]
    assert all(m.headers["redelivered"] == "true" for m in again)
    other.assert_no_message(0.3)


def test_client_individual_nack_redelivers_with_new_id(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual")
    for i in range(3):
        c.send(f"/queue/{q}", f"m{i}", receipt=True)
    got = c.messages(3)
    c.nack(got[1], receipt=True)
    m = c.next_message()
    assert m.body == "m1"
    assert m.headers["redelivered"] == "true"
    assert m.headers["message-id"] != got[1].headers["message-id"]
    assert m.headers["ack"] == m.headers["message-id"]
    c.assert_no_message(0.3)                          # m0 and m2 are not NACKed
    for x in (got[0], got[2], m):
        c.ack(x, receipt=True)
    assert wait_queue(srv, q, lambda x: x["unacked"] == 0 and x["messages"] == 0)


def test_nack_redelivers_exactly_once(srv, stomp_client):
    q = qname()
    a = stomp_client(srv)
    a.subscribe(f"/queue/{q}", ack="client-individual")
    a.send(f"/queue/{q}", "only", receipt=True)
    m = a.next_message()
    b = stomp_client(srv)
    b.subscribe(f"/queue/{q}", ack="client-individual")
    a.nack(m, receipt=True)
    # the redelivery goes to one of the two consumers (round-robin decides which), once
    assert wait_until(lambda: a.l.messages.qsize() + b.l.messages.qsize() >= 1, 3)
    time.sleep(0.3)
    copies = list(a.l.messages.queue) + list(b.l.messages.queue)
    assert len(copies) == 1, [c.headers for c in copies]
    assert copies[0].body == "only" and copies[0].headers["redelivered"] == "true"


def test_unsubscribe_with_unacked_redelivers(srv, stomp_client):
    q = qname()
    a, b = stomp_client(srv), stomp_client(srv)
    sid = a.subscribe(f"/queue/{q}", ack="client-individual")
    a.send(f"/queue/{q}", "x", receipt=True)
    a.next_message()
    b.subscribe(f"/queue/{q}", ack="client-individual")
    a.unsubscribe(sid)
    m = b.next_message()
    assert m.body == "x" and m.headers["redelivered"] == "true"


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_ack_with_message_id_before_1_2(srv, stomp_client, version):
    q = qname()
    c = stomp_client(srv, version=version)
    c.subscribe(f"/queue/{q}", ack="client")
    c.send(f"/queue/{q}", "old school", receipt=True)
    m = c.next_message()
    c.ack(m, receipt=True)                             # message-id (+ subscription in 1.1)
    assert not c.l.errors
    assert wait_queue(srv, q, lambda x: x["unacked"] == 0 and x["messages"] == 0)


def test_nack_1_1(srv, stomp_client):
    q = qname()
    c = stomp_client(srv, version="1.1")
    c.subscribe(f"/queue/{q}", ack="client-individual")
    c.send(f"/queue/{q}", "again", receipt=True)
    m = c.next_message()
    c.nack(m, receipt=True)
    m2 = c.next_message()
    assert m2.body == "again" and m2.headers["redelivered"] == "true"


def test_unknown_ack_id_is_an_error(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client")
    c.conn.ack("no-such-delivery", receipt="r-bad")
    err = c.wait_error()
    assert err.headers.get("receipt-id") == "r-bad"
    assert c.wait_disconnected(3)


def test_ack_of_an_already_acked_message_is_an_error(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual")
    c.send(f"/queue/{q}", "once", receipt=True)
    m = c.next_message()
    c.ack(m, receipt=True)
    c.conn.ack(m.headers["ack"])
    c.wait_error()
    assert c.wait_disconnected(3)


# ------------------------------------------------------------------ prefetch

def test_prefetch_count_bounds_unacked(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual", headers={"prefetch-count": "2"})
    for i in range(5):
        c.send(f"/queue/{q}", f"m{i}", receipt=True)
    first = c.messages(2)
    c.assert_no_message(0.4)
    assert wait_queue(srv, q, lambda x: x["unacked"] == 2 and x["messages"] == 3)
    c.ack(first[0])
    assert c.next_message().body == "m2"
    c.assert_no_message(0.3)
    c.ack(first[1])
    assert c.next_message().body == "m3"


def test_prefetch_with_client_mode_cumulative_ack_frees_room(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client", headers={"prefetch-count": "3"})
    for i in range(6):
        c.send(f"/queue/{q}", f"m{i}", receipt=True)
    first = c.messages(3)
    c.assert_no_message(0.3)
    c.ack(first[2])                                    # settles all three
    assert bodies(c.messages(3)) == ["m3", "m4", "m5"]


def test_default_prefetch_from_config(make_server, stomp_client):
    srv = make_server(prefetch=3, client_publish=OPEN, client_queues=OPEN)
    q = qname()
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual")
    for i in range(6):
        c.send(f"/queue/{q}", f"m{i}", receipt=True)
    assert len(c.messages(3)) == 3
    c.assert_no_message(0.4)


# ------------------------------------------------------------------ bounds

def test_queue_full_is_an_error_not_a_drop(make_server, stomp_client):
    srv = make_server(max_queue_length=3, client_publish=OPEN, client_queues=OPEN)
    q = qname()
    p = stomp_client(srv)
    for i in range(3):
        p.send(f"/queue/{q}", f"m{i}", receipt=True)
    p.conn.send(f"/queue/{q}", "one too many", headers={"receipt": "r-full"})
    err = p.wait_error()
    assert err.headers.get("message") == "queue full"
    assert err.headers.get("receipt-id") == "r-full"
    assert p.wait_disconnected(3)
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}")
    assert bodies(c.messages(3)) == ["m0", "m1", "m2"]
    c.assert_no_message(0.3)


def test_queue_bytes_bound(make_server, stomp_client):
    srv = make_server(max_queue_bytes=1000, client_publish=OPEN, client_queues=OPEN)
    q = qname()
    p = stomp_client(srv)
    p.send(f"/queue/{q}", "a" * 600, receipt=True)
    p.conn.send(f"/queue/{q}", "b" * 600)
    assert p.wait_error().headers.get("message") == "queue full"
    info = queue_info(srv, q)
    assert info["messages"] == 1 and info["bytes"] == 600


def test_too_many_queues(make_server, stomp_client):
    srv = make_server(max_queues=2, client_publish=OPEN, client_queues=OPEN)
    p = stomp_client(srv)
    p.send(f"/queue/{qname()}", "1", receipt=True)
    p.send(f"/queue/{qname()}", "2", receipt=True)
    p.conn.send(f"/queue/{qname()}", "3")
    assert p.wait_error().headers.get("message") == "too many queues"
    assert len(api_queues(srv)) == 2


# ------------------------------------------------------------------ /api/queues

def test_api_queues_lists_queue_state(srv, stomp_client):
    q = qname()
    c = stomp_client(srv)
    for i in range(4):
        c.send(f"/queue/{q}", "12345", receipt=True)
    info = queue_info(srv, q)
    assert info is not None
    assert set(info) >= {"name", "messages", "unacked", "consumers", "bytes"}
    assert (info["messages"], info["unacked"], info["consumers"], info["bytes"]) == (4, 0, 0, 20)
    c.subscribe(f"/queue/{q}", ack="client-individual", headers={"prefetch-count": "3"})
    c.messages(3)
    assert wait_queue(srv, q, lambda x: (x["messages"], x["unacked"], x["consumers"]) == (1, 3, 1))


# ------------------------------------------------------------------ volume

def test_ten_thousand_messages_to_a_queue_then_disconnect_receipt(srv, stomp_client):
    q = qname()
    consumer = stomp_client(srv)
    consumer.subscribe(f"/queue/{q}")
    producer = stomp_client(srv)
    n = 10_000
    for i in range(n):
        producer.send(f"/queue/{q}", f"m{i}")
    producer.disconnect(timeout=30)
    got = consumer.messages(n, timeout=30)
    assert bodies(got) == [f"m{i}" for i in range(n)]
    assert len({m.headers["message-id"] for m in got}) == n


def test_ten_thousand_held_then_drained_with_acks(srv):
    """Raw sockets: 10,000 stored before any consumer, drained with client-individual acks."""
    q = qname()
    n = 10_000
    with raw_connect(srv) as p:
        p.send(b"".join(encode_frame("SEND", [("destination", f"/queue/{q}")], f"{i}") for i in range(n)))
        p.disconnect("sent", timeout=30)
    info = queue_info(srv, q)
    assert info["messages"] == n
    with raw_connect(srv) as c:
        c.subscribe(f"/queue/{q}", ack="client-individual", headers=[("prefetch-count", "500")])
        seen = []
        for _ in range(n):
            m = c.expect("MESSAGE", timeout=10)
            seen.append(int(m.body))
            c.send_frame("ACK", [("id", m.get("ack"))])
        assert seen == list(range(n))
        c.sync()
    assert wait_queue(srv, q, lambda x: x["messages"] == 0 and x["unacked"] == 0)
