"""The native JSON protocol on /connection/websocket (docs/protocol.md), with a real WebSocket client."""
import json
import signal
import time

import pytest
import requests
import stomp

from helpers import SSEClient, channel_info, publish, wait_for_subscribers, ws_connect, ws_expect_close, ws_recv_text


@pytest.fixture(scope="module")
def srv(make_module_server):
    # Presence (join/leave pushes) is tested in test_native_presence_users.py.
    return make_module_server(client_publish=["open-*"], history_size=5, max_message_size=4096, presence=[],
                              stomp={"user": [{"login": "feed", "passcode": "pw", "write": ["*"]}]})


class Native:
    """A native-protocol client: commands with ids, replies matched by id, pushes kept in order."""

    def __init__(self, srv, connect=True):
        self.ws = ws_connect(srv, "/connection/websocket")
        self.next_id = 1
        self.pushes = []
        if connect:
            self.client = self.call("connect")["result"]["client"]

    def send(self, obj):
        self.ws.send(json.dumps(obj))

    def call(self, command, /, **params):
        cid = self.next_id
        self.next_id += 1
        self.send({"id": cid, "method": command, "params": params})
        while True:
            msg = json.loads(ws_recv_text(self.ws))
            if msg.get("id") == cid:
                return msg
            self.pushes.append(msg)

    def push(self, timeout=5.0):
        if self.pushes:
            return self.pushes.pop(0)
        return json.loads(ws_recv_text(self.ws, timeout))

    def close(self):
        self.ws.close()


def test_connect_reply_and_commands_before_connect(srv):
    c = Native(srv, connect=False)
    try:
        assert c.call("ping") == {"id": 1, "result": {}}
        err = c.call("subscribe", channel="a")["error"]
        assert err["code"] == 102 and err["name"] == "not_connected"
        res = c.call("connect")["result"]
        assert len(res["client"]) >= 8 and res["version"] and res["ping_interval"] > 0
        assert c.call("connect")["error"]["name"] == "already_connected"
    finally:
        c.close()


def test_subscribe_then_messages_from_every_publisher(srv, chan):
    ch = chan()
    c = Native(srv)
    try:
        res = c.call("subscribe", channel=ch)["result"]
        assert res["channel"] == ch and res["publications"] == [] and res["recovered"] is False
        http_id = publish(srv, ch, json.dumps({"n": 1}), content_type="application/json")["id"]
        m = c.push()
        assert m == {"push": "message", "channel": ch, "id": http_id, "time": m["time"],
                     "content_type": "application/json", "data": {"n": 1}}
        publish(srv, ch, "plain text", event="note")
        m = c.push()
        assert m["data"] == "plain text" and m["event"] == "note"
        publish(srv, ch, b"\x00\xff")
        assert c.push()["b64data"] == "AP8="
        # A STOMP SEND to /topic/CH (from a login that may write there) reaches the native subscriber too.
        conn = stomp.Connection([srv.stomp_address])
        conn.connect("feed", "pw", wait=True)
        conn.send(f"/topic/{ch}", "from stomp", receipt="r")
        time.sleep(0.2)
        conn.disconnect()
        assert c.push()["data"] == "from stomp"
    finally:
        c.close()


def test_resume_with_since_recovers_exactly(srv, chan):
    ch = chan()
    first = publish(srv, ch, "one")["id"]
    publish(srv, ch, "two")
    publish(srv, ch, "three")
    c = Native(srv)
    try:
        res = c.call("subscribe", channel=ch, since=first)["result"]
        assert res["recovered"] is True and res["gap"] is None
        assert [p["data"] for p in res["publications"]] == ["two", "three"]
        publish(srv, ch, "four")
        assert c.push()["data"] == "four"
    finally:
        c.close()


def test_resume_too_old_says_so(srv, chan):
    ch = chan()
    first = publish(srv, ch, "0")["id"]
    for i in range(1, 9):  # history_size = 5
        publish(srv, ch, str(i))
    c = Native(srv)
    try:
        res = c.call("subscribe", channel=ch, since=first)["result"]
        assert res["recovered"] is False and res["gap"] == "too-old"
        assert [p["data"] for p in res["publications"]] == ["4", "5", "6", "7", "8"]
    finally:
        c.close()


def test_unsubscribe_stops_messages(srv, chan):
    ch = chan()
    c = Native(srv)
    try:
        c.call("subscribe", channel=ch)
        assert c.call("unsubscribe", channel=ch)["result"] == {"channel": ch}
        assert c.call("unsubscribe", channel=ch)["error"]["name"] == "not_subscribed"
        publish(srv, ch, "after")
        assert c.call("ping")["result"] == {}
        assert c.pushes == []
    finally:
        c.close()


def test_publish_where_allowed_reaches_sse(srv, chan):
    ch = "open-" + chan()
    c = Native(srv)
    try:
        with SSEClient(srv, f"/sub/{ch}") as sse:
            wait_for_subscribers(srv, ch, 1)
            res = c.call("publish", channel=ch, data={"text": "hi"}, event="chat")["result"]
            ev = sse.next_event()
            assert ev.id == res["id"] and json.loads(ev.data) == {"text": "hi"} and ev.event == "chat"
        err = c.call("publish", channel="closed-" + chan(), data="x")["error"]
        assert err["code"] == 108 and "security.client_publish" in err["message"]
        assert c.call("publish", channel=ch)["error"]["name"] == "bad_request"
        # A command over limits.max_message_size is refused by the WebSocket layer: close 1009.
        c.send({"id": 99, "method": "publish", "params": {"channel": ch, "data": "x" * 5000}})
        code, _, _ = ws_expect_close(c.ws)
        assert code == 1009
        c.ws.shutdown()  # the server sent its close frame already and waits for the TCP close
    finally:
        c.close()


def test_history(srv, chan):
    ch = chan()
    ids = [publish(srv, ch, str(i))["id"] for i in range(3)]
    c = Native(srv)
    try:
        res = c.call("history", channel=ch, since=ids[0], limit=1)["result"]
        assert res["last_id"] == ids[2] and [p["data"] for p in res["publications"]] == ["1"]
        assert c.call("history", channel=ch, limit=0)["error"]["name"] == "bad_request"
        assert c.call("history", channel="nothing-" + chan())["result"]["publications"] == []
    finally:
        c.close()


@pytest.mark.parametrize("raw,name", [
    ("not json", "bad_request"),
    ("[1,2]", "bad_request"),
    ('{"id":1}', "bad_request"),
    ('{"id":1,"method":"teleport"}', "unknown_method"),
    ('{"id":1,"method":"subscribe","params":{"channel":"a b"}}', "invalid_channel"),
    ('{"id":1,"method":"subscribe","params":{"channel":"a","since":"nope"}}', "invalid_position"),
])
def test_bad_commands_get_errors_and_the_connection_stays(srv, raw, name):
    c = Native(srv)
    try:
        c.ws.send(raw)
        msg = json.loads(ws_recv_text(c.ws))
        assert msg["error"]["name"] == name and msg["error"]["message"]
        assert c.call("ping")["result"] == {}
    finally:
        c.close()


def test_too_many_subscriptions(make_server, chan):
    s = make_server(max_channels_per_subscription=2)
    c = Native(s)
    try:
        c.call("subscribe", channel=chan())
        c.call("subscribe", channel=chan())
        assert c.call("subscribe", channel=chan())["error"]["code"] == 107
    finally:
        c.close()


def test_deleted_channel_ends_the_subscription(srv, chan):
    ch = chan()
    c = Native(srv)
    try:
        c.call("subscribe", channel=ch)
        assert requests.delete(f"{srv.url}/pub/{ch}", timeout=5).status_code == 200
        assert c.push() == {"push": "unsubscribe", "channel": ch, "reason": "channel-deleted"}
        assert c.call("subscribe", channel=ch)["result"]["channel"] == ch  # may subscribe again
    finally:
        c.close()


def test_stats_count_native_connections(srv):
    c = Native(srv)
    try:
        assert requests.get(f"{srv.url}/stats", timeout=5).json()["connections"]["native"] >= 1
    finally:
        c.close()


def test_shutdown_says_goodbye(make_server, chan):
    s = make_server()
    c = Native(s)
    c.call("subscribe", channel=chan())
    s.send_signal(signal.SIGTERM)
    code, _, msgs = ws_expect_close(c.ws, timeout=5)
    assert code == 1001
    assert any(json.loads(data).get("reason") == "shutdown" for _, data in msgs)
    assert s.stop() == 0


def test_rate_limit_refuses_then_disconnects(make_server):
    s = make_server(native_commands_per_second=5)
    c = Native(s)  # connect used one command
    try:
        for i in range(10):
            c.send({"id": 100 + i, "method": "ping"})
        answers = [json.loads(ws_recv_text(c.ws)) for _ in range(10)]
        limited = [a for a in answers if "error" in a]
        assert limited and all(a["error"]["code"] == 112 and a["error"]["name"] == "rate_limited" for a in limited)
        assert len(answers) - len(limited) <= 5
        # A client that keeps going is disconnected.
        for i in range(300):
            c.send({"method": "ping"})
        code, _, msgs = ws_expect_close(c.ws)
        assert code == 4008
        assert any(json.loads(data).get("reason") == "too-many-commands" for _, data in msgs)
    finally:
        c.close()
