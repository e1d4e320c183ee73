"""The native protocol's fallback transport: replies and pushes on /connection/sse, commands by POST."""
import json
import signal

import pytest
import requests

from helpers import TOKEN_SECRET, SSEClient, publish, user_token, wait_until


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(presence=["*"], token_secret=TOKEN_SECRET)


class SSESession:
    """A native session over the fallback: the stream, and POSTs naming its session."""

    def __init__(self, srv):
        self.srv = srv
        self.stream = SSEClient(srv, "/connection/sse")
        first = self.next()
        assert first["push"] == "session"
        self.session = first["session"]

    def next(self):
        return json.loads(self.stream.next_event().data)

    def send(self, *commands):
        body = list(commands) if len(commands) > 1 else commands[0]
        return requests.post(f"{self.srv.url}/connection/send?session={self.session}",
                             data=json.dumps(body), headers={"Content-Type": "text/plain"}, timeout=5)

    def close(self):
        self.stream.close()


def test_commands_by_post_replies_on_the_stream(srv, chan):
    ch = chan()
    s = SSESession(srv)
    try:
        assert s.stream.headers.get("content-type").startswith("text/event-stream")
        r = s.send({"id": 1, "method": "connect", "params": {"token": user_token("sam")}},
                   {"id": 2, "method": "subscribe", "params": {"channel": ch}})
        assert r.status_code == 202 and r.json() == {"accepted": 2}
        assert s.next()["result"]["user"] == "sam"
        assert s.next()["result"]["channel"] == ch
        assert s.next()["push"] == "join"
        msg_id = publish(srv, ch, "over sse")["id"]
        m = s.next()
        assert m["push"] == "message" and m["id"] == msg_id and m["data"] == "over sse"
        s.send({"id": 3, "method": "history", "params": {"channel": ch}})
        assert [p["data"] for p in s.next()["result"]["publications"]] == ["over sse"]
    finally:
        s.close()


def test_a_websocket_client_and_an_sse_client_share_the_channel(srv, chan):
    from test_native_protocol import Native
    ch = chan()
    s = SSESession(srv)
    ws = Native(srv)
    try:
        s.send({"id": 1, "method": "connect"}, {"id": 2, "method": "subscribe", "params": {"channel": ch}})
        s.next(), s.next(), s.next()  # connect, subscribe, own join
        ws.call("subscribe", channel=ch)
        assert s.next()["push"] == "join"
        requests.post(f"{srv.url}/api/publish", json={"channel": ch, "data": {"n": 1}}, timeout=5)
        assert s.next()["data"] == {"n": 1}
        assert [p for p in (ws.push(), ws.push()) if p["push"] == "message"][0]["data"] == {"n": 1}
    finally:
        s.close()
        ws.close()


def test_bad_posts(srv):
    r = requests.post(f"{srv.url}/connection/send?session=nope", data='{"method":"ping"}', timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "no_such_session"
    assert requests.post(f"{srv.url}/connection/send", data="{}", timeout=5).status_code == 400
    s = SSESession(srv)
    try:
        assert s.send("not json").status_code == 400
        r = requests.post(f"{srv.url}/connection/send?session={s.session}", data="[1,2]", timeout=5)
        assert r.status_code == 400
    finally:
        s.close()


def test_closing_the_stream_ends_the_session(srv, chan):
    ch = chan()
    watcher = SSESession(srv)
    s = SSESession(srv)
    try:
        watcher.send({"id": 1, "method": "connect"}, {"id": 2, "method": "subscribe", "params": {"channel": ch}})
        watcher.next(), watcher.next(), watcher.next()
        s.send({"id": 1, "method": "connect", "params": {"token": user_token("leaver")}},
               {"id": 2, "method": "subscribe", "params": {"channel": ch}})
        assert watcher.next()["user"] == "leaver"
        session = s.session
        s.close()
        leave = watcher.next()
        assert leave["push"] == "leave" and leave["user"] == "leaver"
        assert wait_until(lambda: requests.post(f"{srv.url}/connection/send?session={session}",
                                                data='{"method":"ping"}', timeout=5).status_code == 404)
    finally:
        watcher.close()


def test_shutdown_ends_the_stream_with_a_reason(make_server):
    srv = make_server()
    s = SSESession(srv)
    s.send({"id": 1, "method": "connect"})
    s.next()
    srv.send_signal(signal.SIGTERM)
    assert s.next() == {"push": "disconnect", "reason": "shutdown"}
    s.stream.expect_end()
    assert srv.stop() == 0
