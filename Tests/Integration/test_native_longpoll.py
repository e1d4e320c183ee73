"""The native protocol's long-poll fallback: GET /connection/poll answers with the session's replies and
pushes, commands go by POST /connection/send; acknowledged by sequence number, so nothing is lost."""
import signal
import threading
import time

import pytest
import requests

from helpers import TOKEN_SECRET, publish, user_token, wait_until


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(presence=["*"], longpoll_timeout=2, token_secret=TOKEN_SECRET)


class PollSession:
    """A native session over long-polls; `next()` returns messages one by one, acknowledging them."""

    def __init__(self, srv):
        self.srv = srv
        self.ack = 0
        self.pending = []
        self.closed = False
        first = self.poll()
        assert first["seq"] == 1 and first["messages"][0]["push"] == "session"
        self.session = first["messages"][0]["session"]

    def poll(self, ack=None, timeout=10):
        params = {} if not hasattr(self, "session") else {"session": self.session, "ack": self.ack if ack is None else ack}
        r = requests.get(f"{self.srv.url}/connection/poll", params=params, timeout=timeout)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        self.ack = body["seq"]
        self.closed = body.get("closed", False)
        return body

    def next(self, deadline=10):
        end = time.monotonic() + deadline
        while not self.pending:
            assert time.monotonic() < end, "no message"
            self.pending.extend(self.poll()["messages"])
        return self.pending.pop(0)

    def subscribe(self, channel):
        """Connects and subscribes, and reads the replies (and the own join)."""
        self.send({"id": 1, "method": "connect"}, {"id": 2, "method": "subscribe", "params": {"channel": channel}})
        assert "client" in self.next()["result"]
        assert self.next()["result"]["channel"] == channel
        assert self.next()["push"] == "join"

    def send(self, *commands):
        body = list(commands) if len(commands) > 1 else commands[0]
        r = requests.post(f"{self.srv.url}/connection/send", params={"session": self.session}, json=body, timeout=5)
        assert r.status_code == 202, r.text
        return r


def test_commands_by_post_replies_by_poll(srv, chan):
    ch = chan()
    s = PollSession(srv)
    s.send({"id": 1, "method": "connect", "params": {"token": user_token("pat")}},
           {"id": 2, "method": "subscribe", "params": {"channel": ch}})
    assert s.next()["result"]["user"] == "pat"
    sub = s.next()
    assert sub["id"] == 2 and sub["result"]["channel"] == ch
    assert s.next()["push"] == "join"
    msg_id = publish(srv, ch, "by poll")["id"]
    m = s.next()
    assert m == {**m, "push": "message", "id": msg_id, "data": "by poll"}


def test_a_waiting_poll_answers_when_a_message_comes(srv, chan):
    ch = chan()
    s = PollSession(srv)
    s.subscribe(ch)
    answered = {}

    def wait():
        answered["body"] = s.poll()
        answered["at"] = time.monotonic()

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.3)
    assert "body" not in answered  # the poll waits
    sent = time.monotonic()
    publish(srv, ch, "wake up")
    t.join(5)
    assert answered["body"]["messages"][0]["data"] == "wake up"
    assert answered["at"] - sent < 1.5


def test_an_idle_poll_answers_empty_after_the_timeout(srv):
    s = PollSession(srv)
    start = time.monotonic()
    body = s.poll()
    assert body == {"seq": 1, "messages": []}
    assert 1.5 < time.monotonic() - start < 5


def test_a_lost_answer_is_sent_again(srv, chan):
    ch = chan()
    s = PollSession(srv)
    s.subscribe(ch)
    for n in range(3):
        publish(srv, ch, f"m{n}")
    first = s.poll()
    got = [m["data"] for m in first["messages"]]
    assert got and got == [f"m{n}" for n in range(len(got))]
    # The client never saw that answer: it polls again with the old ack and gets the same messages.
    again = s.poll(ack=first["seq"] - len(first["messages"]))
    assert [m["data"] for m in again["messages"]][:len(got)] == got
    # Acknowledged, they are gone.
    wait_until(lambda: s.poll()["seq"] >= first["seq"] + 3 - len(got))


def test_no_message_lost_under_load(srv, chan):
    ch = chan()
    s = PollSession(srv)
    s.subscribe(ch)

    def publisher():
        for n in range(300):
            publish(srv, ch, str(n))

    t = threading.Thread(target=publisher)
    t.start()
    got = [int(s.next()["data"]) for _ in range(300)]
    t.join()
    assert got == list(range(300))


def test_api_send_and_call_reach_a_polling_page(srv):
    s = PollSession(srv)
    s.send({"id": 1, "method": "connect", "params": {"token": user_token("poller")}})
    client = s.next()["result"]["client"]
    r = requests.post(f"{srv.url}/api/send", json={"user": "poller", "data": {"hi": 1}}, timeout=5)
    assert r.json()["connections"] == 1
    assert s.next()["data"] == {"hi": 1}
    result = {}
    t = threading.Thread(target=lambda: result.update(r=requests.post(
        f"{srv.url}/api/call", json={"client": client, "method": "ask", "data": 2, "timeout": 5}, timeout=10)))
    t.start()
    call = s.next()
    assert call["push"] == "call" and call["method"] == "ask"
    s.send({"id": 2, "method": "answer", "params": {"call": call["call"], "result": 4}})
    t.join(10)
    assert result["r"].json() == {"result": 4}


def test_api_disconnect_ends_the_session(srv):
    s = PollSession(srv)
    s.send({"id": 1, "method": "connect", "params": {"token": user_token("gone")}})
    s.next()
    assert requests.post(f"{srv.url}/api/disconnect", json={"user": "gone"}, timeout=5).json()["connections"] == 1
    assert s.next() == {"push": "disconnect", "reason": "disconnected"}
    assert s.closed
    r = requests.get(f"{srv.url}/connection/poll", params={"session": s.session}, timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "no_such_session"


def test_a_session_nobody_polls_ends_and_leaves(srv, chan):
    ch = chan()
    watcher = PollSession(srv)
    watcher.subscribe(ch)
    s = PollSession(srv)
    s.send({"id": 1, "method": "connect", "params": {"token": user_token("idler")}},
           {"id": 2, "method": "subscribe", "params": {"channel": ch}})
    assert watcher.next()["user"] == "idler"
    # s stops polling: after the timeout (2 s) its session ends and it leaves the channel.
    leave = watcher.next(deadline=8)
    assert leave["push"] == "leave" and leave["user"] == "idler"
    r = requests.post(f"{srv.url}/connection/send", params={"session": s.session}, json={"method": "ping"}, timeout=5)
    assert r.status_code == 404


def test_bad_polls(srv):
    r = requests.get(f"{srv.url}/connection/poll", params={"session": "nope"}, timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "no_such_session"
    s = PollSession(srv)
    r = requests.get(f"{srv.url}/connection/poll", params={"session": s.session, "ack": "x"}, timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    assert requests.post(f"{srv.url}/connection/poll", timeout=5).status_code == 405


def test_shutdown_answers_the_waiting_poll_with_a_reason(make_server):
    srv = make_server(longpoll_timeout=20, token_secret=TOKEN_SECRET)
    s = PollSession(srv)
    s.send({"id": 1, "method": "connect"})
    s.next()
    result = {}
    t = threading.Thread(target=lambda: result.update(body=s.poll()))
    t.start()
    time.sleep(0.3)
    srv.send_signal(signal.SIGTERM)
    t.join(10)
    assert result["body"]["messages"] == [{"push": "disconnect", "reason": "shutdown"}]
    assert result["body"]["closed"] is True
    assert srv.stop() == 0
