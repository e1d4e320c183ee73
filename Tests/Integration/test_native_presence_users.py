"""Native protocol: presence with join/leave pushes, users, POST /api/send and /api/disconnect."""
import json
import time

import pytest
import requests

from helpers import TOKEN_SECRET, make_token, user_token, ws_expect_close
from test_native_protocol import Native


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(presence=["room-*"], token_secret=TOKEN_SECRET)


def connect(srv, user=None, info=None):
    c = Native(srv, connect=False)
    params = {}
    if user is not None:
        params["token"] = user_token(user)   # users come from credentials
    if info is not None:
        params["info"] = info
    c.connect_result = c.call("connect", **params)
    c.client = c.connect_result.get("result", {}).get("client")
    return c


def test_connect_with_user_and_info(srv):
    c = connect(srv, "alice", {"nick": "Alice", "color": "red"})
    try:
        res = c.connect_result["result"]
        assert res["user"] == "alice" and res["client"]
        bad = Native(srv, connect=False)
        assert bad.call("connect", token="")["error"]["name"] == "invalid_token"
        bad.close()
    finally:
        c.close()


def test_presence_join_and_leave(srv, chan):
    room = "room-" + chan()
    a = connect(srv, "alice", {"nick": "Alice"})
    b = connect(srv, "bob")
    try:
        a.call("subscribe", channel=room)
        # alice sees her own join first
        assert a.push() == {"push": "join", "channel": room, "client": a.client, "user": "alice",
                            "info": {"nick": "Alice"}}
        b.call("subscribe", channel=room)
        join = a.push()
        assert join["push"] == "join" and join["user"] == "bob" and join["client"] == b.client
        members = a.call("presence", channel=room)["result"]["members"]
        assert [m["user"] for m in members] == ["alice", "bob"]
        assert members[0]["info"] == {"nick": "Alice"}
        api = requests.get(f"{srv.url}/api/presence/{room}", timeout=5).json()
        assert [m["client"] for m in api["members"]] == [a.client, b.client]
        b.call("unsubscribe", channel=room)
        assert a.push() == {"push": "leave", "channel": room, "client": b.client, "user": "bob"}
        b.close()
        c = connect(srv, "carol")
        c.call("subscribe", channel=room)
        assert a.push()["user"] == "carol"
        c.close()  # a closed connection leaves too
        leave = a.push()
        assert leave["push"] == "leave" and leave["user"] == "carol"
        assert [m["user"] for m in a.call("presence", channel=room)["result"]["members"]] == ["alice"]
    finally:
        a.close()


def test_presence_only_where_configured(srv, chan):
    other = "lobby-" + chan()
    c = connect(srv, "dave")
    try:
        c.call("subscribe", channel=other)
        assert c.call("presence", channel=other)["error"]["name"] == "presence_disabled"
        assert requests.get(f"{srv.url}/api/presence/{other}", timeout=5).json()["members"] == []
        assert requests.get(f"{srv.url}/api/presence/nowhere-{chan()}", timeout=5).status_code == 404
    finally:
        c.close()


def test_send_to_a_user_reaches_all_their_connections(srv):
    a1 = connect(srv, "erin")
    a2 = connect(srv, "erin")
    other = connect(srv, "frank")
    try:
        r = requests.post(f"{srv.url}/api/send", json={"user": "erin", "data": {"alert": "hi"}}, timeout=5)
        assert r.status_code == 200 and r.json()["connections"] == 2
        for c in (a1, a2):
            m = c.push()
            assert m["push"] == "message" and m["channel"] == "$user:erin" and m["data"] == {"alert": "hi"}
        assert other.call("ping")["result"] == {} and other.pushes == []
        nobody = requests.post(f"{srv.url}/api/send", json={"user": "nobody", "data": "x"}, timeout=5).json()
        assert nobody["connections"] == 0
        assert requests.post(f"{srv.url}/api/send", json={"data": "x"}, timeout=5).status_code == 400
    finally:
        for c in (a1, a2, other):
            c.close()


def test_disconnect_a_user(srv):
    g1 = connect(srv, "gina")
    g2 = connect(srv, "gina")
    h = connect(srv, "hank")
    try:
        r = requests.post(f"{srv.url}/api/disconnect", json={"user": "gina"}, timeout=5).json()
        assert r == {"user": "gina", "connections": 2}
        for c in (g1, g2):
            code, _, msgs = ws_expect_close(c.ws)
            assert code == 4004
            assert any(json.loads(data) == {"push": "disconnect", "reason": "disconnected"} for _, data in msgs)
        assert h.call("ping")["result"] == {}
    finally:
        for c in (g1, g2, h):
            c.close()


def test_a_client_cannot_name_its_user_by_default(make_server):
    """Before: security.anonymous_users was on by default, and a page could connect as "alice" and
    receive alice's /api/send pushes and /api/call calls."""
    s = make_server()
    c = Native(s, connect=False)
    try:
        err = c.call("connect", user="alice")["error"]
        assert err["name"] == "permission_denied" and "security.anonymous_users" in err["message"]
        assert c.call("connect", info={"nick": "alice"})["result"]["user"] is None
        r = requests.post(f"{s.url}/api/send", json={"user": "alice", "data": "for alice"}, timeout=5).json()
        assert r["connections"] == 0
    finally:
        c.close()


def test_anonymous_users_stay_available_for_development(make_server):
    s = make_server(anonymous_users=True)
    c = Native(s, connect=False)
    try:
        assert c.call("connect", user="dev")["result"]["user"] == "dev"
    finally:
        c.close()
    assert "security.anonymous_users is on" in s.log()


def test_api_is_privileged(make_server):
    s = make_server(allow_loopback=False, api_keys=["k1"])
    assert requests.post(f"{s.url}/api/send", json={"user": "x", "data": "y"}, timeout=5).status_code == 403
    assert requests.post(f"{s.url}/api/send", json={"user": "x", "data": "y"},
                         headers={"Authorization": "Bearer k1"}, timeout=5).status_code == 200


def test_tokens_set_the_user(make_server, chan):
    s = make_server(token_secret="tok-secret", anonymous_users=False, presence=["*"])
    good = Native(s, connect=False)
    try:
        res = good.call("connect", token=make_token({"sub": "ivy", "exp": int(time.time()) + 60,
                                                     "info": {"nick": "Ivy"}}))["result"]
        assert res["user"] == "ivy"
        room = chan()
        good.call("subscribe", channel=room)
        assert good.push()["info"] == {"nick": "Ivy"}
        r = requests.post(f"{s.url}/api/send", json={"user": "ivy", "data": "for ivy"}, timeout=5).json()
        assert r["connections"] == 1 and good.push()["data"] == "for ivy"
    finally:
        good.close()
    for token, words in [
        (make_token({"sub": "ivy"}, secret="wrong"), "signature"),
        (make_token({"sub": "ivy", "exp": int(time.time()) - 10}), "expired"),
        ("garbage", "JWT"),
    ]:
        bad = Native(s, connect=False)
        try:
            err = bad.call("connect", token=token)["error"]
            assert err["code"] == 113 and err["name"] == "invalid_token" and words in err["message"]
            assert bad.call("subscribe", channel="x")["error"]["name"] == "not_connected"
        finally:
            bad.close()


def test_tokens_refused_without_a_secret(make_server):
    c = Native(make_server(), connect=False)
    try:
        err = c.call("connect", token=make_token({"sub": "x"}))["error"]
        assert err["name"] == "invalid_token" and "security.token_secret" in err["message"]
    finally:
        c.close()


def call_async(srv, body):
    """POST /api/call in a thread (it waits for the page); returns a function giving the response."""
    import threading
    box = {}

    def run():
        box["r"] = requests.post(f"{srv.url}/api/call", json=body, timeout=15)

    t = threading.Thread(target=run)
    t.start()

    def result():
        t.join(15)
        return box["r"]
    return result


def test_call_a_page_and_get_its_answer(srv):
    page = connect(srv, "judy")
    try:
        result = call_async(srv, {"client": page.client, "method": "sum", "data": [1, 2, 3]})
        call = page.push()
        assert call["push"] == "call" and call["method"] == "sum" and call["data"] == [1, 2, 3]
        assert page.call("answer", call=call["call"], result={"sum": 6})["result"] == {}
        r = result()
        assert r.status_code == 200 and r.json() == {"result": {"sum": 6}}
        # Answering again: the call is over.
        assert page.call("answer", call=call["call"], result=1)["error"]["name"] == "unknown_call"
        # The page can refuse.
        result = call_async(srv, {"user": "judy", "method": "divide", "data": 0})
        call = page.push()
        page.call("answer", call=call["call"], error="division by zero")
        r = result()
        assert r.status_code == 502 and r.json() == {"error": "division by zero", "code": "call_error"}
    finally:
        page.close()


def test_only_a_page_that_was_called_can_answer(srv):
    called, other = connect(srv, "lee"), connect(srv, "mo")
    try:
        result = call_async(srv, {"client": called.client, "method": "confirm", "timeout": 0.5})
        call = called.push()
        # Call ids are sequential: a connection that was not called cannot answer in its place.
        assert other.call("answer", call=call["call"], result="spoofed")["error"]["name"] == "unknown_call"
        assert result().status_code == 504
    finally:
        called.close()
        other.close()


def test_call_first_answer_wins_and_timeouts(srv):
    a = connect(srv, "kim")
    b = connect(srv, "kim")
    try:
        result = call_async(srv, {"user": "kim", "method": "who", "timeout": 5})
        ca, cb = a.push(), b.push()
        assert ca["call"] == cb["call"]
        assert b.call("answer", call=cb["call"], result="b")["result"] == {}
        assert a.call("answer", call=ca["call"], result="a")["error"]["code"] == 114
        assert result().json() == {"result": "b"}
        started = time.monotonic()
        r = call_async(srv, {"client": a.client, "method": "silent", "timeout": 0.5})()
        assert r.status_code == 504 and r.json()["code"] == "call_timeout"
        assert time.monotonic() - started < 5
        a.push()  # the unanswered call push
    finally:
        a.close()
        b.close()
    r = requests.post(f"{srv.url}/api/call", json={"user": "nobody-here", "method": "x"}, timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "no_such_target"
    r = requests.post(f"{srv.url}/api/call", json={"user": "kim"}, timeout=5)
    assert r.status_code == 400


def test_hidden_user_channels_are_not_listed(srv):
    c = connect(srv, "hidden-user")
    try:
        requests.post(f"{srv.url}/api/send", json={"user": "hidden-user", "data": "x"}, timeout=5)
        assert c.push()["data"] == "x"
        names = [ch["channel"] for ch in requests.get(f"{srv.url}/api/channels", timeout=5).json()["channels"]]
        assert not any(n.startswith("$") for n in names)
    finally:
        c.close()
