"""A STOMP topic is the Switchboard channel: STOMP SEND reaches SSE / WebSocket / long-poll / stream
subscribers, POST /pub reaches STOMP subscribers, ids are shared, history is shared."""
import requests
import websocket

import pytest

from helpers import (LongPoll, SSEClient, StreamClient, channel_info, publish, split_id, wait_for_subscribers,
                     ws_connect, ws_recv)
from stomp_helpers import stomp_client  # noqa: F401  (fixture)

# The broker's functional tests run with an open policy: every client may send anywhere
# (the policy itself is tested in test_security_policy.py).
OPEN = ["*"]

TEXT, BINARY = websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(client_publish=OPEN, client_queues=OPEN)


def test_stomp_send_reaches_sse_with_the_same_id(srv, stomp_client, chan):
    ch = chan()
    watcher = stomp_client(srv)
    watcher.subscribe(f"/topic/{ch}")
    with SSEClient(srv, f"/sub/{ch}?transport=sse") as sse:
        assert wait_for_subscribers(srv, ch, 2)
        pub = stomp_client(srv)
        pub.send(f"/topic/{ch}", "from stomp", receipt=True, headers={"x-hidden": "stomp only"})
        ev = sse.next_event()
        m = watcher.next_message()
        assert ev.data == "from stomp"
        assert ev.id == m.headers["message-id"]
        assert all("stomp only" not in line for line in ev.raw)


def test_stomp_send_reaches_websocket(srv, stomp_client, chan):
    ch = chan()
    ws = ws_connect(srv, f"/sub/{ch}")
    try:
        assert wait_for_subscribers(srv, ch, 1)
        pub = stomp_client(srv, auto_decode=False)
        pub.send(f"/topic/{ch}", "text ✓".encode(), receipt=True)
        pub.send(f"/topic/{ch}", b"\xff\x00\xfe", content_type="application/octet-stream", receipt=True)
        assert ws_recv(ws) == (TEXT, "text ✓".encode())
        assert ws_recv(ws) == (BINARY, b"\xff\x00\xfe")
    finally:
        ws.close()


def test_stomp_send_reaches_longpoll_and_stream(srv, stomp_client, chan):
    ch = chan()
    lp = LongPoll(srv, f"/sub/{ch}")
    with StreamClient(srv, f"/sub/{ch}") as st:
        assert wait_for_subscribers(srv, ch, 2)
        pub = stomp_client(srv)
        pub.send(f"/topic/{ch}", "everyone", receipt=True)
        r = lp.result()
        assert r.status_code == 200 and r.text == "everyone"
        assert st.next_chunk(skip=lambda c: c == b"\n") == b"everyone\n"


def test_post_reaches_stomp_subscriber_with_the_post_id(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    sid = c.subscribe(f"/topic/{ch}")
    doc = publish(srv, ch, '{"hello":"stomp"}', content_type="application/json")
    assert doc["subscribers"] == 1
    m = c.next_message()
    assert m.headers["message-id"] == doc["id"]
    assert m.headers["destination"] == f"/topic/{ch}"
    assert m.headers["subscription"] == sid
    assert m.headers["content-type"] == "application/json"
    assert m.body == '{"hello":"stomp"}'


def test_post_reaches_stomp_over_websocket(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv, ws=True)
    c.subscribe(f"/topic/{ch}")
    doc = publish(srv, ch, "to the browser")
    m = c.next_message()
    assert (m.headers["message-id"], m.body) == (doc["id"], "to the browser")


def test_api_publish_reaches_stomp(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}")
    r = requests.post(f"{srv.url}/api/publish", json={"channel": ch, "data": {"k": 1}}, timeout=5)
    assert r.status_code == 200, r.text
    m = c.next_message()
    assert m.headers["message-id"] == r.json()["id"]
    assert m.headers["content-type"] == "application/json"
    assert m.body.replace(" ", "") == '{"k":1}'


def test_interleaved_publishers_share_one_sequence(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}")
    pub = stomp_client(srv)
    for i in range(10):
        if i % 2:
            publish(srv, ch, f"http{i}")
        else:
            pub.send(f"/topic/{ch}", f"stomp{i}", receipt=True)
    got = c.messages(10)
    assert [m.body for m in got] == [f"{'http' if i % 2 else 'stomp'}{i}" for i in range(10)]
    offsets = [split_id(m.headers["message-id"])[1] for m in got]
    assert offsets == list(range(offsets[0], offsets[0] + 10))


def test_stomp_messages_are_in_history_for_other_transports(srv, stomp_client, chan):
    ch = chan()
    pub = stomp_client(srv)
    for i in range(3):
        pub.send(f"/topic/{ch}", f"h{i}", receipt=True, content_type="text/plain")
    doc = requests.get(f"{srv.url}/api/history/{ch}", timeout=5).json()
    assert [m["data"] for m in doc["messages"]] == ["h0", "h1", "h2"]
    assert all(m["content_type"] == "text/plain" for m in doc["messages"])
    ids = [m["id"] for m in doc["messages"]]
    with SSEClient(srv, f"/sub/{ch}", headers={"Last-Event-ID": ids[0]}) as sse:
        evs = sse.events(2)
        assert [(e.id, e.data) for e in evs] == list(zip(ids[1:], ["h1", "h2"]))


def test_stomp_resumes_from_an_sse_id(srv, stomp_client, chan):
    ch = chan()
    with SSEClient(srv, f"/sub/{ch}") as sse:
        assert wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "a")
        seen = sse.next_event().id
    publish(srv, ch, "b")
    publish(srv, ch, "c")
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}", headers={"last-event-id": seen})
    assert [m.body for m in c.messages(2)] == ["b", "c"]


def test_channel_info_counts_stomp_subscribers(srv, stomp_client, chan):
    ch = chan()
    a, b = stomp_client(srv), stomp_client(srv, ws=True)
    a.subscribe(f"/topic/{ch}")
    b.subscribe(f"/topic/{ch}")
    assert wait_for_subscribers(srv, ch, 2)
    assert channel_info(srv, ch)["subscribers"] == 2
    listed = {c["channel"]: c for c in requests.get(f"{srv.url}/api/channels", timeout=5).json()["channels"]}
    assert listed[ch]["subscribers"] == 2


def test_stats_has_stomp(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv)
    c.subscribe(f"/topic/{ch}")
    c.subscribe(f"/queue/{ch}")
    c.send(f"/queue/{ch}-waiting", "w", receipt=True)
    s = requests.get(f"{srv.url}/stats", timeout=5).json()
    st = s["stomp"]
    assert set(st["connections"]) >= {"tcp", "websocket"}
    assert st["connections"]["tcp"] >= 1
    assert set(st["subscriptions"]) >= {"topic", "queue"}
    assert st["subscriptions"]["topic"] >= 1 and st["subscriptions"]["queue"] >= 1
    assert isinstance(st["queues"], dict) and len(st["queues"]) >= 3
    assert all(isinstance(v, int) for v in st["queues"].values()), st["queues"]
    assert st["queues"].get("messages", 1) >= 1
