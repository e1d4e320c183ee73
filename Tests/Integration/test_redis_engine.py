"""The Redis engine (engine.type = "redis"): several switchboard nodes share channels through a real
Debian redis-server each test starts on a free loopback port.

Cross-node delivery on every /sub transport, one order and one id per message everywhere, history and
channel information from any node, deletion, and every Redis failure made explicit: publishes refused
with 503 while Redis is away (healthz "degraded"), subscribers kept, a new epoch told live after Redis
lost its data, a killed pub/sub link repaired without the clients noticing.
"""
from __future__ import annotations

import json
import time

import pytest
import requests

from helpers import SSEClient, LongPoll, parse_meta, publish, wait_until, ws_connect, ws_recv
from redis_helpers import RedisServer, redis_nodes


@pytest.fixture
def redis():
    server = RedisServer()
    yield server
    server.stop()


def subscribed_pair(make_server, redis, ch):
    """Nodes A and B on `redis`, and an SSE subscriber of `ch` on B that has received "before" from A."""
    a, b = redis_nodes(make_server, redis, n=2)
    sse = SSEClient(b, f"/sub/{ch}")
    time.sleep(0.2)
    first = publish(a, ch, "before")["id"]
    assert sse.next_event(timeout=10).data == "before"
    return a, b, sse, first


def sse_data(client, n, timeout=10):
    return [(e.id, e.data) for e in client.events(n, timeout=timeout)]


def test_a_publish_on_one_node_reaches_every_transport_on_the_others(make_server, redis, chan):
    a, b, c = redis_nodes(make_server, redis)
    ch = chan()
    sse = SSEClient(b, f"/sub/{ch}")
    ws = ws_connect(c, f"/sub/{ch}", subprotocol="ws+meta.switchboard")
    poll = LongPoll(c, f"/sub/{ch}")
    time.sleep(0.3)  # the long poll subscribes
    ids = [publish(a, ch, f"m{i}")["id"] for i in range(3)]
    assert len({i.split(":")[0] for i in ids}) == 1, ids
    assert [i.split(":")[1] for i in ids] == ["1", "2", "3"]
    assert sse_data(sse, 3) == [(ids[i], f"m{i}") for i in range(3)]
    got = []
    for _ in range(3):
        _, frame = ws_recv(ws, timeout=10)
        headers, payload = parse_meta(frame)
        got.append((headers["id"], payload.decode()))
    assert got == [(ids[i], f"m{i}") for i in range(3)]
    r = poll.result()
    assert r.status_code == 200 and r.text == "m0" and r.headers["Message-Id"] == ids[0]
    ws.close()


def test_a_thousand_messages_arrive_in_order_on_every_other_node(make_server, redis, chan):
    a, b, c = redis_nodes(make_server, redis)
    ch = chan()
    subscribers = [SSEClient(b, f"/sub/{ch}"), SSEClient(c, f"/sub/{ch}")]
    time.sleep(0.2)
    session = requests.Session()
    ids = []
    for i in range(1000):
        r = session.post(f"{a.url}/pub/{ch}", data=f"n{i}")
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    for sse in subscribers:
        got = sse_data(sse, 1000, timeout=30)
        assert [d for _, d in got] == [f"n{i}" for i in range(1000)]
        assert [i for i, _ in got] == ids


def test_history_info_and_resume_are_the_same_from_every_node(make_server, redis, chan):
    a, b, c = redis_nodes(make_server, redis, history_size=5)
    ch = chan()
    ids = [publish(a, ch, f"h{i}")["id"] for i in range(8)]
    for node in (a, b, c):
        page = requests.get(f"{node.url}/api/history/{ch}").json()
        assert [m["id"] for m in page["messages"]] == ids[3:], node.port
        assert page["last_id"] == ids[-1]
        info = requests.get(f"{node.url}/pub/{ch}").json()
        assert info["messages"] == 5 and info["last_id"] == ids[-1] and info["first_id"] == ids[3]
    page = requests.get(f"{c.url}/api/history/{ch}", params={"since": ids[5]}).json()
    assert [m["data"] for m in page["messages"]] == ["h6", "h7"] and page["gap"] is None
    # Resume on another node than the one published to: exactly what was missed, nothing twice.
    sse = SSEClient(b, f"/sub/{ch}", headers={"Last-Event-ID": ids[4]})
    assert sse_data(sse, 3) == [(ids[5], "h5"), (ids[6], "h6"), (ids[7], "h7")]
    publish(c, ch, "live")
    assert sse.next_event(timeout=10).data == "live"
    assert requests.get(f"{b.url}/pub/nothing-here").status_code == 404


def test_delete_on_one_node_ends_the_subscribers_of_the_others(make_server, redis, chan):
    ch = chan()
    a, b, sse, _ = subscribed_pair(make_server, redis, ch)
    r = requests.delete(f"{a.url}/pub/{ch}")
    assert r.status_code == 200 and r.json()["deleted"] is True
    sse.expect_end(timeout=10)
    assert requests.delete(f"{a.url}/pub/{ch}").status_code == 404


def test_redis_away_refuses_publishes_keeps_subscribers_and_tells_them_of_the_new_epoch(make_server, redis, chan):
    ch = chan()
    a, b, sse, first = subscribed_pair(make_server, redis, ch)
    redis.shutdown()
    refused = 0
    for i in range(20):
        r = requests.post(f"{a.url}/pub/{ch}", data=f"lost{i}")
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "engine_unavailable"
        refused += 1
    assert refused == 20
    # B publishes nothing: it notices when Redis' exit closes its links.
    wait_until(lambda: requests.get(f"{b.url}/healthz").json()["status"] == "degraded", timeout=10)
    health = requests.get(f"{b.url}/healthz").json()
    assert health["engine"]["up"] is False and str(redis.port) in health["engine"]["reason"], health

    redis.start()  # on the same port, without the data: the channel's epoch is gone
    returned = time.monotonic()
    wait_until(lambda: requests.get(f"{a.url}/healthz").json()["status"] == "ok", timeout=10)
    wait_until(lambda: requests.get(f"{b.url}/healthz").json()["status"] == "ok", timeout=10)
    after = publish(a, ch, "after")["id"]
    assert after.split(":")[0] != first.split(":")[0] and after.endswith(":1")
    events = sse.events(2, timeout=10)
    assert events[0].event == "switchboard-gap", events
    assert json.loads(events[0].data)["reason"] == "new-epoch"
    assert (events[1].id, events[1].data) == (after, "after")
    assert time.monotonic() - returned < 10
    # None of the refused publishes was stored.
    page = requests.get(f"{b.url}/api/history/{ch}").json()
    assert [m["data"] for m in page["messages"]] == ["after"]


def test_a_killed_pubsub_link_is_repaired_without_the_clients_noticing(make_server, redis, chan):
    ch = chan()
    a, b, sse, first = subscribed_pair(make_server, redis, ch)
    ids = [first]
    killed = redis.command("CLIENT", "KILL", "TYPE", "pubsub")
    assert killed == 1  # B's pub/sub link (A subscribes to nothing: its link is not a pub/sub one yet)
    # Published while B's link is being re-established: B reads them from the stream when it is back.
    for i in range(5):
        r = requests.post(f"{a.url}/pub/{ch}", data=f"during{i}")
        if r.status_code == 200:
            ids.append(r.json()["id"])
        else:
            assert r.status_code == 503  # A's own link was down for that instant: refused, not lost
    wait_until(lambda: requests.get(f"{a.url}/healthz").json()["status"] == "ok", timeout=10)
    ids.append(publish(a, ch, "last")["id"])
    got = [e.id for e in sse.events(len(ids) - 1, timeout=10)]
    assert got == ids[1:], "every message once, in order, and no gap signal"
    sse.assert_no_event(wait=0.5)


def test_a_silent_redis_is_noticed_and_the_node_recovers(make_server, redis, chan):
    (a,) = redis_nodes(make_server, redis, n=1)
    ch = chan()
    redis.pause()
    try:
        wait_until(lambda: requests.get(f"{a.url}/healthz", timeout=5).json()["status"] == "degraded", timeout=15)
        assert requests.post(f"{a.url}/pub/{ch}", data="x", timeout=10).status_code == 503
    finally:
        redis.resume()
    wait_until(lambda: requests.get(f"{a.url}/healthz").json()["status"] == "ok", timeout=15)
    assert publish(a, ch, "back")["id"].endswith(":1")


def test_the_engine_options_are_checked(tmp_path):
    from conftest import BIN
    import subprocess

    def check(text):
        path = tmp_path / "c.toml"
        path.write_text(text)
        return subprocess.run([str(BIN), "check-config", str(path)], capture_output=True, text=True)

    ok = check('[engine]\ntype = "redis"\nredis = ["redis://app:secret@127.0.0.1:6390/2"]\nprefix = "sb-test"\n')
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for text, words in [
        ('[engine]\ntype = "mongo"\n', "memory"),
        ('[engine]\ntype = "redis"\nredis = ["http://x"]\n', "redis://"),
        ('[engine]\ntype = "redis"\nredis = []\n', "engine.redis"),
        ('[engine]\ntype = "redis"\nredis = ["redis://a:1", "redis://b:2"]\n', "not supported yet"),
        ('[engine]\nprefix = "a{b}"\n', "braces"),
        ('[server]\nnode_id = "no spaces"\n', "letters"),
    ]:
        bad = check(text)
        assert bad.returncode != 0, text
        assert words in bad.stdout + bad.stderr, (text, bad.stdout, bad.stderr)


def test_the_native_protocol_across_nodes(make_server, redis, chan):
    from helpers import user_token
    from test_native_protocol import Native

    ch = chan("open-")
    overrides = dict(client_publish=["open-*"], token_secret="tok-secret", presence=[])
    a, b = redis_nodes(make_server, redis, n=2, **overrides)
    before = publish(a, ch, "stored")["id"]
    # A subscriber on B resumes from before the stored message, then gets what a client publishes on A.
    sub = Native(b)
    epoch = before.split(":")[0]
    reply = sub.call("subscribe", channel=ch, since=f"{epoch}:0")
    assert [p["data"] for p in reply["result"]["publications"]] == ["stored"], reply
    pub = Native(a)
    answer = pub.call("publish", channel=ch, data="from A")
    assert answer["result"]["id"] == f"{epoch}:2", answer
    push = sub.push(timeout=10)
    assert (push["push"], push.get("id"), push.get("data")) == ("message", f"{epoch}:2", "from A"), push
    # History from the other node.
    page = pub.call("history", channel=ch)["result"]
    assert [p["data"] for p in page["publications"]] == ["stored", "from A"]
    # A message to a user, posted to A, reaches the user's connection on B.
    ws_user = Native(b, connect=False)
    ws_user.client = ws_user.call("connect", token=user_token("ann"))["result"]["client"]
    r = requests.post(f"{a.url}/api/send", json={"user": "ann", "data": "hi ann"})
    assert r.status_code == 200, r.text
    push = ws_user.push(timeout=10)
    assert (push["push"], push["data"]) == ("message", "hi ann"), push
    for client in (sub, pub, ws_user):
        client.close()
