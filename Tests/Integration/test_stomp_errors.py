"""Frames the server refuses (ERROR with message + explanation, receipt-id, then close), logins, bad
destinations, subscription limits, /stats, and the shutdown notice."""
import signal
import time

import pytest
import requests

from helpers import stats, wait_until
from stomp_helpers import open_client, stomp_client, unique  # noqa: F401  (fixture)
from stomp_raw import RawStomp, RawStompWS, encode_frame, raw_connect

# The broker's functional tests run with an open policy: every client may send anywhere
# (the policy itself is tested in test_security_policy.py).
OPEN = ["*"]

MAX_SUBS = 4
MAX_CHANNEL_NAME = 100


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(stomp={"max_subscriptions": MAX_SUBS}, limits={"max_channel_name": MAX_CHANNEL_NAME}, client_publish=OPEN, client_queues=OPEN)


@pytest.fixture(scope="module")
def auth_srv(make_module_server):
    return make_module_server(stomp={"users": ["alice:secret", "bob:hunter2", "us\\cer:pa\\ss"]}, client_publish=OPEN, client_queues=OPEN)


# ------------------------------------------------------------------ users

def test_login_accepted(auth_srv, stomp_client):
    c = stomp_client(auth_srv, login="alice", passcode="secret")
    assert c.connected_frame.headers["version"] == "1.2"
    c = stomp_client(auth_srv, login="bob", passcode="hunter2", version="1.0")
    assert c.connected_frame is not None


@pytest.mark.parametrize("login,passcode", [(None, None), ("alice", None), ("alice", "wrong"),
                                            ("mallory", "secret"), ("alice", "secret ")])
def test_login_refused(auth_srv, login, passcode):
    with RawStomp.to(auth_srv) as c:
        err = c.connect("1.2", login=login, passcode=passcode, expect="ERROR")
        assert err.get("message") == "access refused"
        assert err.body


def test_login_refused_with_stomp_py(auth_srv):
    c = open_client(auth_srv, login="alice", passcode="nope", wait=False)
    try:
        err = c.wait_error()
        assert err.headers["message"] == "access refused"
        assert c.wait_disconnected(3)
        assert c.l.connected is None
    finally:
        c.close()


def test_connect_login_is_not_unescaped(auth_srv):
    """CONNECT headers are taken literally: the user is `us\\cer` with passcode `pa\\ss`."""
    with RawStomp.to(auth_srv) as c:
        assert c.connect("1.2", login="us\\cer", passcode="pa\\ss").command == "CONNECTED"
    with RawStomp.to(auth_srv) as c:
        c.connect("1.2", login="us:er", passcode="pa\\ss", expect="ERROR")


def test_no_login_needed_without_users(srv):
    with RawStomp.to(srv) as c:
        assert c.connect("1.2", login="anyone", passcode="anything").command == "CONNECTED"


def test_refused_login_over_websocket(auth_srv):
    with RawStompWS(f"ws://127.0.0.1:{auth_srv.port}/stomp") as w:
        w.send(encode_frame("CONNECT", [("accept-version", "1.2"), ("host", "x"), ("login", "alice"),
                                        ("passcode", "bad")], version=None))
        err = w.expect("ERROR")
        assert err.get("message") == "access refused"
        assert w.closed(3)


# ------------------------------------------------------------------ destinations

BAD_DESTINATIONS = ["/exchange/amq.topic/x", "/amq/queue/x", "noprefix", "/topic/", "/queue/", "/topic/bad name",
                    "/topic/a/b", "/temp-queue/", "/reply-queue/x", "/topic/" + "a" * (MAX_CHANNEL_NAME + 1), ""]


@pytest.mark.parametrize("dest", BAD_DESTINATIONS)
def test_bad_destination_on_send(srv, dest):
    with raw_connect(srv) as c:
        c.send_frame("SEND", [("destination", dest), ("receipt", "r")], b"x")
        err = c.expect_error()
        assert err.get("receipt-id") == "r"
        assert err.body


@pytest.mark.parametrize("dest", BAD_DESTINATIONS)
def test_bad_destination_on_subscribe(srv, dest):
    with raw_connect(srv) as c:
        c.send_frame("SUBSCRIBE", [("destination", dest), ("id", "s")])
        c.expect_error()


def test_longest_channel_name_is_fine(srv, stomp_client):
    name = "n" * MAX_CHANNEL_NAME
    c = stomp_client(srv)
    c.subscribe(f"/topic/{name}")
    c.send(f"/topic/{name}", "ok", receipt=True)
    assert c.next_message().body == "ok"


def test_every_valid_channel_character(srv, stomp_client):
    name = "Az09_-.:@~+!"
    c = stomp_client(srv)
    c.subscribe(f"/topic/{name}")
    c.send(f"/topic/{name}", "chars", receipt=True)
    m = c.next_message()
    assert m.headers["destination"] == f"/topic/{name}"


# ------------------------------------------------------------------ subscriptions

def test_duplicate_subscription_id(srv, chan):
    with raw_connect(srv) as c:
        c.subscribe(f"/topic/{chan()}", id="dup", receipt="r1")
        c.send_frame("SUBSCRIBE", [("destination", f"/topic/{chan()}"), ("id", "dup"), ("receipt", "r2")])
        err = c.expect_error()
        assert err.get("receipt-id") == "r2"


def test_subscription_id_reusable_after_unsubscribe(srv, chan):
    with raw_connect(srv) as c:
        c.subscribe(f"/topic/{chan()}", id="again", receipt="r1")
        c.send_frame("UNSUBSCRIBE", [("id", "again"), ("receipt", "r2")])
        c.expect_receipt("r2")
        c.subscribe(f"/topic/{chan()}", id="again", receipt="r3")


def test_max_subscriptions_per_connection(srv, chan):
    with raw_connect(srv) as c:
        for i in range(MAX_SUBS):
            c.subscribe(f"/topic/{chan()}", id=f"s{i}", receipt=f"r{i}")
        c.send_frame("SUBSCRIBE", [("destination", f"/topic/{chan()}"), ("id", "one-more")])
        err = c.expect_error()
        assert err.body


def test_subscriptions_are_per_connection(srv, chan):
    a, b = raw_connect(srv), raw_connect(srv)
    try:
        for c in (a, b):
            for i in range(MAX_SUBS):
                c.subscribe(f"/topic/{chan()}", id=f"s{i}", receipt=f"r{i}")
    finally:
        a.close()
        b.close()


def test_unknown_ack_mode(srv, chan):
    with raw_connect(srv) as c:
        c.send_frame("SUBSCRIBE", [("destination", f"/topic/{chan()}"), ("id", "s"), ("ack", "sometimes")])
        c.expect_error()


@pytest.mark.parametrize("value", ["-1", "many"])
def test_bad_prefetch_count(srv, value):
    with raw_connect(srv) as c:
        c.send_frame("SUBSCRIBE", [("destination", f"/queue/{unique('q')}"), ("id", "s"),
                                   ("ack", "client"), ("prefetch-count", value)])
        c.expect_error()


def test_ack_without_id(srv):
    with raw_connect(srv, "1.2") as c:
        c.send_frame("ACK", [])
        c.expect_error()


# ------------------------------------------------------------------ the connection after an ERROR

def test_error_closes_even_with_more_frames_queued(srv, chan):
    """Frames written after the bad one are not executed."""
    ch = chan()
    with raw_connect(srv) as c:
        c.send(b"SEND\n\nno destination\x00"
               + f"SEND\ndestination:/topic/{ch}\n\nafter the error\x00".encode())
        c.expect_error()
    time.sleep(0.2)
    info = requests.get(f"{srv.url}/pub/{ch}", timeout=5)
    assert info.status_code == 404 or info.json()["published"] == 0


def test_server_healthy_after_errors(srv):
    for blob in (b"FOO\n\n\x00", b"SEND\n\n\x00", b"\xff\n\n\x00", b"CONNECT\naccept-version:9\n\n\x00"):
        with RawStomp.to(srv) as c:
            c.send(blob)
            c.closed(3)
    with raw_connect(srv) as c:
        c.sync()
    assert requests.get(f"{srv.url}/healthz", timeout=5).status_code == 200


# ------------------------------------------------------------------ /stats and /api/queues

def test_stats_exact_counts(make_server, stomp_client, chan):
    srv = make_server(client_publish=OPEN, client_queues=OPEN)
    s0 = stats(srv)["stomp"]
    assert (s0["connections"]["tcp"], s0["connections"]["websocket"]) == (0, 0)
    assert s0["subscriptions"]["topic"] == 0 and s0["subscriptions"]["queue"] == 0
    tcp1, tcp2 = stomp_client(srv), stomp_client(srv)
    ws1 = stomp_client(srv, ws=True)
    tcp1.subscribe(f"/topic/{chan()}")
    tcp2.subscribe(f"/topic/{chan()}")
    ws1.subscribe("/queue/counted", ack="client-individual", headers={"prefetch-count": "1"})
    for i in range(3):
        tcp1.send("/queue/counted", f"{i}", receipt=True)
    ws1.next_message()
    assert wait_until(lambda: stats(srv)["stomp"]["queues"].get("unacked") == 1, 3), stats(srv)["stomp"]
    st = stats(srv)["stomp"]
    assert (st["connections"]["tcp"], st["connections"]["websocket"]) == (2, 1)
    assert (st["subscriptions"]["topic"], st["subscriptions"]["queue"]) == (2, 1)
    assert st["queues"]["messages"] == 2 and st["queues"]["unacked"] == 1
    assert st["queues"]["count"] == 1, st["queues"]    # the number of queues (docs/stomp.md names no key)
    for c in (tcp1, tcp2, ws1):
        c.disconnect()
    assert wait_until(lambda: stats(srv)["stomp"]["connections"]["tcp"] == 0
                      and stats(srv)["stomp"]["connections"]["websocket"] == 0, 3)
    st = stats(srv)["stomp"]
    assert (st["subscriptions"]["topic"], st["subscriptions"]["queue"]) == (0, 0)
    assert st["queues"]["messages"] == 3 and st["queues"]["unacked"] == 0   # redelivered to the queue


# ------------------------------------------------------------------ listener configuration

def test_listener_off(make_server):
    srv = make_server(stomp={"listen": "off"}, client_publish=OPEN, client_queues=OPEN)
    assert srv.stomp_port is None
    assert requests.get(f"{srv.url}/healthz", timeout=5).status_code == 200
    assert stats(srv)["stomp"]["connections"]["tcp"] == 0


def test_stomp_listen_flag(make_server):
    from conftest import free_port
    port = free_port()
    srv = make_server(args=["--stomp", f"127.0.0.1:{port}"], client_publish=OPEN, client_queues=OPEN)   # the flag wins over the config file
    assert srv.stomp_port != port
    with RawStomp(("127.0.0.1", port)) as c:
        assert c.connect().command == "CONNECTED"


# ------------------------------------------------------------------ shutdown

def test_sigterm_sends_error_and_closes(make_server, stomp_client, chan):
    srv = make_server(client_publish=OPEN, client_queues=OPEN)
    tcp = raw_connect(srv)
    ws = RawStompWS(f"ws://127.0.0.1:{srv.port}/stomp")
    ws.connect()
    try:
        tcp.subscribe(f"/topic/{chan()}", receipt="r1")
        srv.send_signal(signal.SIGTERM)
        err = tcp.expect_error(timeout=5)
        assert err.get("message") == "server shutting down"
        werr = ws.expect("ERROR", timeout=5)
        assert werr.get("message") == "server shutting down"
        assert ws.closed(5)
        rc = srv.proc.wait(8)
        srv.returncode = rc
        assert rc == 0, srv.log()[-2000:]
    finally:
        tcp.close()
        ws.close()
