"""BEGIN / COMMIT / ABORT: SEND, ACK and NACK inside a transaction take effect at COMMIT, in order;
ABORT (or a disconnect) discards them.

Frames inside a transaction carry no receipt here (when their RECEIPT is due is not pinned down: RabbitMQ
holds it); `sync()` (a BEGIN/ABORT round trip with a receipt) orders the test instead."""
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


def queue_info(srv, name):
    doc = requests.get(f"{srv.url}/api/queues", timeout=5).json()
    for q in (doc["queues"] if isinstance(doc, dict) else doc):
        if q["name"] in (name, f"/queue/{name}"):
            return q
    return None


def test_commit_delivers_in_order(srv, stomp_client, chan):
    ch = chan()
    sub, pub = stomp_client(srv), stomp_client(srv)
    sub.subscribe(f"/topic/{ch}")
    tx = pub.begin(receipt=True)
    pub.send(f"/topic/{ch}", "t1", transaction=tx)
    pub.send(f"/topic/{ch}", "t2", transaction=tx)
    pub.sync()
    sub.assert_no_message(0.3)
    assert channel_info(srv, ch) is None or channel_info(srv, ch)["published"] == 0
    pub.commit(tx)
    got = sub.messages(2)
    assert [m.body for m in got] == ["t1", "t2"]
    assert all("transaction" not in m.headers for m in got)


def test_abort_discards(srv, stomp_client, chan):
    ch = chan()
    sub, pub = stomp_client(srv), stomp_client(srv)
    sub.subscribe(f"/topic/{ch}")
    tx = pub.begin()
    pub.send(f"/topic/{ch}", "never", transaction=tx)
    pub.abort(tx)
    pub.send(f"/topic/{ch}", "after abort", receipt=True)
    assert sub.next_message().body == "after abort"
    sub.assert_no_message(0.3)


def test_non_transactional_send_is_not_held(srv, stomp_client, chan):
    ch = chan()
    sub, pub = stomp_client(srv), stomp_client(srv)
    sub.subscribe(f"/topic/{ch}")
    tx = pub.begin()
    pub.send(f"/topic/{ch}", "in tx", transaction=tx)
    pub.send(f"/topic/{ch}", "outside", receipt=True)
    assert sub.next_message().body == "outside"
    pub.commit(tx)
    assert sub.next_message().body == "in tx"


def test_queue_send_stored_only_at_commit(srv, stomp_client):
    q = unique("q")
    pub = stomp_client(srv)
    tx = pub.begin()
    for i in range(3):
        pub.send(f"/queue/{q}", f"m{i}", transaction=tx)
    pub.sync()
    info = queue_info(srv, q)
    assert info is None or info["messages"] == 0
    pub.commit(tx)
    assert queue_info(srv, q)["messages"] == 3
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}")
    assert [m.body for m in c.messages(3)] == ["m0", "m1", "m2"]


def test_ack_in_transaction_takes_effect_at_commit(srv, stomp_client):
    q = unique("q")
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual")
    c.send(f"/queue/{q}", "to ack", receipt=True)
    m = c.next_message()
    tx = c.begin()
    c.ack(m, transaction=tx)
    c.sync()
    assert queue_info(srv, q)["unacked"] == 1           # not yet
    c.commit(tx)
    assert wait_until(lambda: queue_info(srv, q)["unacked"] == 0, 3)
    c.disconnect()
    other = stomp_client(srv)
    other.subscribe(f"/queue/{q}")
    other.assert_no_message(0.4)                        # settled: nothing to redeliver


def test_ack_in_aborted_transaction_is_discarded(srv, stomp_client):
    q = unique("q")
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual")
    c.send(f"/queue/{q}", "keep me", receipt=True)
    m = c.next_message()
    tx = c.begin()
    c.ack(m, transaction=tx)
    c.abort(tx)
    assert queue_info(srv, q)["unacked"] == 1
    c.disconnect()
    other = stomp_client(srv)
    other.subscribe(f"/queue/{q}")
    again = other.next_message()
    assert again.body == "keep me" and again.headers["redelivered"] == "true"


def test_nack_in_transaction_takes_effect_at_commit(srv, stomp_client):
    q = unique("q")
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual")
    c.send(f"/queue/{q}", "nack me", receipt=True)
    m = c.next_message()
    tx = c.begin()
    c.nack(m, transaction=tx)
    c.sync()
    c.assert_no_message(0.3)
    c.commit(tx)
    again = c.next_message()
    assert again.body == "nack me" and again.headers["redelivered"] == "true"


def test_commit_applies_frames_in_order(srv, stomp_client):
    """SEND then ACK in one transaction: at COMMIT the send is stored and the ack settles."""
    q = unique("q")
    c = stomp_client(srv)
    c.subscribe(f"/queue/{q}", ack="client-individual", headers={"prefetch-count": "1"})
    c.send(f"/queue/{q}", "first", receipt=True)
    m = c.next_message()
    tx = c.begin()
    c.send(f"/queue/{q}", "second", transaction=tx)
    c.ack(m, transaction=tx)
    c.assert_no_message(0.3)
    c.commit(tx)
    assert c.next_message().body == "second"


def test_disconnect_aborts_open_transactions(srv, stomp_client, chan):
    ch = chan()
    sub, pub = stomp_client(srv), stomp_client(srv)
    sub.subscribe(f"/topic/{ch}")
    tx = pub.begin()
    pub.send(f"/topic/{ch}", "lost", transaction=tx)
    pub.sync()
    pub.disconnect()
    sub.assert_no_message(0.5)
    info = channel_info(srv, ch)
    assert info is None or info["published"] == 0


def test_transaction_ids_are_per_connection(srv, stomp_client, chan):
    ch = chan()
    sub, a, b = stomp_client(srv), stomp_client(srv), stomp_client(srv)
    sub.subscribe(f"/topic/{ch}")
    a.begin("shared-name")
    b.begin("shared-name")
    a.send(f"/topic/{ch}", "from a", transaction="shared-name")
    b.send(f"/topic/{ch}", "from b", transaction="shared-name")
    b.abort("shared-name")
    a.commit("shared-name")
    assert sub.next_message().body == "from a"
    sub.assert_no_message(0.3)


@pytest.mark.parametrize("frame", ["SEND", "COMMIT", "ABORT", "ACK"])
def test_unknown_transaction_is_an_error(srv, frame, chan):
    headers = {"SEND": [("destination", f"/topic/{chan()}")], "ACK": [("id", "nothing")]}.get(frame, [])
    with raw_connect(srv) as c:
        c.send_frame(frame, headers + [("transaction", "no-such-tx"), ("receipt", "r")], b"")
        err = c.expect_error()
        assert err.get("receipt-id") == "r"


def test_begin_without_transaction_header(srv):
    with raw_connect(srv) as c:
        c.send_frame("BEGIN", [])
        c.expect_error()


def test_committed_transaction_is_closed(srv, chan):
    with raw_connect(srv) as c:
        c.send_frame("BEGIN", [("transaction", "t")])
        c.send_frame("COMMIT", [("transaction", "t"), ("receipt", "r1")])
        c.expect_receipt("r1")
        c.send_frame("SEND", [("destination", f"/topic/{chan()}"), ("transaction", "t")], b"late")
        c.expect_error()


def test_at_most_16_open_transactions(srv):
    with raw_connect(srv) as c:
        c.send(b"".join(encode_frame("BEGIN", [("transaction", f"t{i}")]) for i in range(15))
               + encode_frame("BEGIN", [("transaction", "t15"), ("receipt", "sixteen")]))
        c.expect_receipt("sixteen")
        c.send_frame("BEGIN", [("transaction", "t16")])
        err = c.expect_error()
        assert err.body


def test_at_most_10000_frames_per_transaction(srv, chan):
    dest = f"/topic/{chan()}"
    with raw_connect(srv) as c:
        c.send_frame("BEGIN", [("transaction", "big")])
        c.send(b"".join(encode_frame("SEND", [("destination", dest), ("transaction", "big")], "x")
                        for _ in range(10_000)))
        c.send_frame("COMMIT", [("transaction", "big"), ("receipt", "ok")])
        c.expect_receipt("ok", timeout=30)
        assert channel_info(srv, dest[len("/topic/"):])["published"] == 10_000
        c.send_frame("BEGIN", [("transaction", "too-big")])
        c.send(b"".join(encode_frame("SEND", [("destination", dest), ("transaction", "too-big")], "x")
                        for _ in range(10_001)), ignore_errors=True)
        c.expect_error(timeout=30)
    assert channel_info(srv, dest[len("/topic/"):])["published"] == 10_000
