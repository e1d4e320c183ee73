"""/stats reflects what happened."""
import time

import requests

from helpers import (LongPoll, SSEClient, StreamClient, publish, stats, wait_for_subscribers, wait_until,
                     ws_connect, ws_recv_text)


def test_stats_shape(server):
    s = stats(server)
    assert s["uptime_seconds"] >= 0
    assert set(s["connections"]) >= {"websocket", "sse", "stream", "longpoll", "http"}
    for k in ("channels", "subscribers"):
        assert isinstance(s[k], int)
    assert set(s["messages"]) >= {"published", "delivered"}
    assert s["memory"]["rss_bytes"] > 1_000_000


def test_stats_counts_match_activity(make_server, chan):
    srv = make_server()
    s0 = stats(srv)
    assert s0["connections"]["websocket"] == 0 and s0["connections"]["sse"] == 0
    assert s0["messages"]["published"] == 0 and s0["messages"]["delivered"] == 0
    ch, other = chan("a"), chan("b")
    ws = ws_connect(srv, f"/sub/{ch}")
    ws2 = ws_connect(srv, f"/sub/{other}")
    sse = SSEClient(srv, f"/sub/{ch}")
    st = StreamClient(srv, f"/sub/{ch}")
    lp = LongPoll(srv, f"/sub/{other}")
    try:
        assert wait_for_subscribers(srv, ch, 3)
        assert wait_for_subscribers(srv, other, 2)
        s = stats(srv)
        assert s["connections"]["websocket"] == 2
        assert s["connections"]["sse"] == 1
        assert s["connections"]["stream"] == 1
        assert s["connections"]["longpoll"] == 1
        assert s["subscribers"] == 5
        assert s["channels"] == 2
        for i in range(3):
            publish(srv, ch, f"m{i}")
        assert [ws_recv_text(ws) for _ in range(3)] == ["m0", "m1", "m2"]
        assert [e.data for e in sse.events(3)] == ["m0", "m1", "m2"]
        publish(srv, other, "o")  # ws2 + the long-poll
        assert ws_recv_text(ws2) == "o"
        assert lp.result().status_code == 200
        s = wait_until(lambda: (lambda x: x if x["messages"]["delivered"] >= 11 else None)(stats(srv)), 3)
        assert s is not None
        s = stats(srv)
        assert s["messages"]["published"] == 4
        assert s["messages"]["delivered"] == 3 * 3 + 2
        assert s["connections"]["longpoll"] == 0
    finally:
        ws.close()
        ws2.close()
        sse.close()
        st.close()
    s = wait_until(lambda: (lambda x: x if x["connections"]["websocket"] == 0 and x["connections"]["sse"] == 0
                            and x["connections"]["stream"] == 0 else None)(stats(srv)), 3)
    assert s, stats(srv)
    assert s["subscribers"] == 0


def test_stats_uptime_grows(server):
    a = stats(server)["uptime_seconds"]
    time.sleep(0.3)
    b = stats(server)["uptime_seconds"]
    assert b > a


def test_stats_api_publish_counts(make_server, chan):
    srv = make_server()
    ch = chan()
    requests.post(f"{srv.url}/api/publish", json={"channel": ch, "data": "x"}, timeout=5)
    requests.post(f"{srv.url}/api/broadcast", json={"channels": [chan(), chan()], "data": "x"}, timeout=5)
    assert stats(srv)["messages"]["published"] == 3
