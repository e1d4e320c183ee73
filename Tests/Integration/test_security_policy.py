"""One publish/subscribe policy for every protocol (docs/security.md#the-policy).

Before it, a STOMP `SEND /topic/prices` over TCP or over `ws://HOST/stomp` reached every subscriber of
`prices` with no credential at all, whatever `security.client_publish`, `allow_loopback` or the API keys
said, and stayed in history. Now every front end asks the same policy: the back end may do anything;
a client may publish where `security.client_publish` allows and subscribe where
`security.client_subscribe` allows, plus what its credential grants (a STOMP login's write/read lists).
"""
import hashlib
import json
import time

import pytest
import requests
import socketio
import websocket

from helpers import WSClosed, channel_info, publish, ws_connect, ws_expect_close, ws_recv, ws_recv_text
from sio_raw import SocketIO
from stomp_raw import Closed, RawStomp, RawStompWS, raw_connect
from test_native_protocol import Native


@pytest.fixture(scope="module")
def srv(make_module_server):
    """The defaults: clients may publish into chat and chat.*, subscribe anywhere; no STOMP logins."""
    return make_module_server()


@pytest.fixture(scope="module")
def login_srv(make_module_server):
    return make_module_server(stomp={"user": [
        {"login": "feed", "passcode": "pw", "write": ["prices", "orders.*"], "read": ["*"]},
        {"login": "audit", "passcode_sha256": hashlib.sha256(b"s3cret").hexdigest(), "read": ["orders.*"]},
    ]}, client_subscribe=["public.*"])


def expect_error(client, message):
    """The next frame is an ERROR with this message header, then the connection closes."""
    frame = client.recv()
    assert frame.command == "ERROR", frame
    assert frame.get("message") == message, frame
    return frame


def nothing_arrives(ws, seconds=0.5):
    try:
        opcode, data = ws_recv(ws, timeout=seconds)
    except (TimeoutError, websocket.WebSocketTimeoutException):
        return True
    raise AssertionError(f"a message arrived: {data[:200]!r}")


def test_anonymous_stomp_send_to_a_channel_is_refused_over_tcp_and_websocket(srv):
    """The critical hole: STOMP was a side door past every publish rule."""
    watcher = ws_connect(srv, "/sub/prices")
    try:
        for client in (raw_connect(srv), RawStompWS(f"{srv.ws_url}/stomp")):
            with client:
                if isinstance(client, RawStompWS):
                    client.connect()
                client.send_frame("SEND", [("destination", "/topic/prices"), ("receipt", "r1")], body=b"FORGED 0.01")
                error = expect_error(client, "permission denied")
                assert error.get("receipt-id") == "r1"
                assert "security.client_publish" in error.body.decode()
                if isinstance(client, RawStomp):
                    with pytest.raises(Closed):
                        client.recv(timeout=2)
                else:
                    assert client.closed(timeout=2)
        assert nothing_arrives(watcher)
        info = channel_info(srv, "prices")
        assert info is None or info["messages"] == 0   # nothing kept in history either
    finally:
        watcher.close()


def test_anonymous_stomp_send_to_a_queue_is_refused(srv):
    with raw_connect(srv) as client:
        client.send_frame("SEND", [("destination", "/queue/jobs")], body=b"rm -rf /")
        expect_error(client, "permission denied")
    queues = requests.get(f"{srv.url}/api/queues", timeout=5).json()["queues"]
    assert all(q["name"] != "jobs" for q in queues)


def test_anonymous_stomp_clients_cannot_drain_a_queue(srv):
    """Before: any client could SUBSCRIBE /queue/orders (client_subscribe defaults to *) and take the real
    workers' messages. Queues have their own rule, security.client_queues, empty by default."""
    with raw_connect(srv) as client:
        client.send_frame("SUBSCRIBE", [("id", "1"), ("destination", "/queue/orders")])
        error = expect_error(client, "permission denied")
        assert "security.client_queues" in error.body.decode()


def test_the_stomp_chat_still_works_anonymously(srv):
    """client_publish defaults to chat and chat.*, so the STOMP chat page needs no configuration."""
    watcher = ws_connect(srv, "/sub/chat.lobby")
    try:
        with raw_connect(srv) as client:
            client.send_frame("SEND", [("destination", "/topic/chat.lobby"), ("receipt", "r")], body=b"hi all")
            client.expect_receipt("r")
        assert ws_recv_text(watcher) == "hi all"
    finally:
        watcher.close()


def test_publishing_off_for_clients_applies_to_every_protocol(make_server):
    """client_publish = [] (and no loopback privilege): nobody but the back end with a key publishes."""
    s = make_server(client_publish=[], allow_loopback=False, api_keys=["k3y"])
    ch = "chat"
    with raw_connect(s) as client:
        client.send_frame("SEND", [("destination", f"/topic/{ch}")], body=b"x")
        expect_error(client, "permission denied")
    native = Native(s)
    try:
        error = native.call("publish", channel=ch, data="x")["error"]
        assert error["name"] == "permission_denied" and "security.client_publish" in error["message"]
    finally:
        native.close()
    sock = SocketIO(s)
    try:
        ack = sock.call("publish", {"channel": ch, "data": "x"})[0]
        assert ack["ok"] is False and "security.client_publish" in ack["error"]
    finally:
        sock.close()
    sub = ws_connect(s, f"/sub/{ch}")
    try:
        sub.send("x")
        code, _, _ = ws_expect_close(sub)
        assert code == 1008
    finally:
        sub.close()
    assert requests.post(f"{s.url}/pub/{ch}", data="x", timeout=5).status_code == 403
    r = requests.post(f"{s.url}/pub/{ch}", data="from the back end", headers={"Authorization": "Bearer k3y"},
                      timeout=5)
    assert r.status_code == 200
    info = requests.get(f"{s.url}/pub/{ch}", headers={"Authorization": "Bearer k3y"}, timeout=5).json()
    assert info["messages"] == 1   # only the back end's


def test_a_stomp_login_may_send_where_its_write_list_says(login_srv):
    watcher = ws_connect(login_srv, "/sub/public.x")  # public.* is open to every subscriber
    watcher.close()
    with RawStomp.to(login_srv) as feed:
        feed.connect("1.2", login="feed", passcode="pw")
        feed.send_frame("SEND", [("destination", "/topic/prices"), ("receipt", "a")], body=b"42")
        feed.expect_receipt("a")
        feed.send_frame("SEND", [("destination", "/queue/orders.eu"), ("receipt", "b")], body=b"order")
        feed.expect_receipt("b")
        feed.send_frame("SEND", [("destination", "/topic/news")], body=b"not mine")
        error = expect_error(feed, "permission denied")
        assert "news" in error.body.decode()
    info = requests.get(f"{login_srv.url}/pub/prices", timeout=5).json()
    assert info["messages"] == 1


def test_a_stomp_login_may_subscribe_where_its_read_list_says(login_srv):
    with RawStomp.to(login_srv) as audit:
        audit.connect("1.2", login="audit", passcode="s3cret")   # checked against passcode_sha256
        audit.send_frame("SUBSCRIBE", [("id", "1"), ("destination", "/queue/orders.us"), ("receipt", "s")])
        audit.expect_receipt("s")
        audit.send_frame("SEND", [("destination", "/queue/orders.us")], body=b"x")
        expect_error(audit, "permission denied")
    with RawStomp.to(login_srv) as audit:
        audit.connect("1.2", login="audit", passcode="s3cret")
        audit.send_frame("SUBSCRIBE", [("id", "1"), ("destination", "/topic/prices")])
        error = expect_error(audit, "permission denied")
        assert "the login's read list" in error.body.decode()


def test_with_logins_configured_anonymous_and_wrong_passcodes_are_refused(login_srv):
    with RawStomp.to(login_srv) as anonymous:
        anonymous.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "x")])
        expect_error(anonymous, "access refused")
    with RawStomp.to(login_srv) as wrong:
        wrong.send_frame("CONNECT", [("accept-version", "1.2"), ("login", "audit"), ("passcode", "S3cret")])
        expect_error(wrong, "access refused")


def test_client_subscribe_restricts_every_transport(login_srv):
    s = login_srv
    # HTTP subscribers are refused before anything is upgraded or streamed.
    for headers in ({"Accept": "text/event-stream"}, {}):
        r = requests.get(f"{s.url}/sub/private.x", headers=headers, timeout=5)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
        assert "security.client_subscribe" in r.json()["error"]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        ws_connect(s, "/sub/private.x")
    assert refused.value.status_code == 403
    ok = ws_connect(s, "/sub/public.x")
    ok.close()
    native = Native(s)
    try:
        for command in ("subscribe", "history", "presence"):
            error = native.call(command, channel="private.x")["error"]
            assert error["name"] == "permission_denied", (command, error)
        assert "result" in native.call("subscribe", channel="public.y")
    finally:
        native.close()
    sock = SocketIO(s)
    try:
        ack = sock.call("subscribe", {"channel": "private.x"})[0]
        assert ack["ok"] is False and "security.client_subscribe" in ack["error"]
        assert sock.call("subscribe", {"channel": "public.x"})[0]["ok"] is True
    finally:
        sock.close()


def test_the_back_end_is_not_bound_by_client_rules(login_srv):
    """Publishing over HTTP from loopback (the back end) goes anywhere; a login's read list grants more."""
    publish(login_srv, "private.z", "for the back end's eyes")
    with RawStomp.to(login_srv) as feed:
        feed.connect("1.2", login="feed", passcode="pw")   # read = ["*"]
        feed.send_frame("SUBSCRIBE", [("id", "1"), ("destination", "/topic/private.z"), ("receipt", "s")])
        feed.expect_receipt("s")


def test_the_deprecated_users_strings_work_and_are_warned_about(make_server):
    s = make_server(stomp={"users": ["ann:pw"]})
    with RawStomp.to(s) as ann:
        ann.connect("1.2", login="ann", passcode="pw")
        ann.send_frame("SEND", [("destination", "/topic/anything"), ("receipt", "r")], body=b"x")
        ann.expect_receipt("r")
    assert "stomp.users is deprecated" in s.log()
