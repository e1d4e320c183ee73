"""Subscriptions to several channels (/sub/a,b) and their compound positions."""
import requests

from helpers import (META_SUBPROTOCOL, LongPoll, SSEClient, StreamClient, longpoll, parse_meta, publish,
                     publish_many, split_id, wait_for_subscribers, ws_connect, ws_recv, ws_recv_text)


def parts(pos):
    return pos.split(",")


def test_multichannel_sse_ids_are_compound(server, chan):
    a, b = chan("a"), chan("b")
    with SSEClient(server, f"/sub/{a},{b}") as sse:
        wait_for_subscribers(server, a, 1)
        wait_for_subscribers(server, b, 1)
        da = publish(server, a, "to a")
        db = publish(server, b, "to b")
        e1, e2 = sse.events(2)
    assert (e1.data, e2.data) == ("to a", "to b")
    p1, p2 = parts(e1.id), parts(e2.id)
    assert len(p1) == 2 and len(p2) == 2, (e1.id, e2.id)
    assert p1[0] == da["id"] and split_id(p1[1])[1] == 0
    assert p2 == [da["id"], db["id"]]


def test_multichannel_sse_resume_compound(server, chan):
    a, b = chan("a"), chan("b")
    ida = publish_many(server, a, ["a1", "a2", "a3"])
    idb = publish_many(server, b, ["b1", "b2"])
    with SSEClient(server, f"/sub/{a},{b}", headers={"Last-Event-ID": f"{ida[0]},{idb[0]}"}) as sse:
        evs = sse.events(3)
        datas = [e.data for e in evs]
        assert sorted(datas) == ["a2", "a3", "b2"]
        assert datas.index("a2") < datas.index("a3")
        assert parts(evs[-1].id) == [ida[2], idb[1]]
        wait_for_subscribers(server, b, 1)
        db = publish(server, b, "b3")
        ev = sse.next_event()
        assert ev.data == "b3" and parts(ev.id) == [ida[2], db["id"]]


def test_multichannel_longpoll_compound_message_id(server, chan):
    a, b = chan("a"), chan("b")
    # give `a` a message, so it keeps existing (and keeps its epoch) between the two polls
    a0 = publish(server, a, "a0")["id"]
    lp = LongPoll(server, f"/sub/{a},{b}")
    wait_for_subscribers(server, a, 1)
    wait_for_subscribers(server, b, 1)
    db = publish(server, b, "to b")
    r = lp.result()
    assert r.status_code == 200 and r.text == "to b"
    assert r.headers["Switchboard-Channel"] == b
    pa, pb = parts(r.headers["Message-Id"])
    assert pb == db["id"] and pa == a0
    # pass the compound position back
    lp = LongPoll(server, f"/sub/{a},{b}", headers={"Last-Event-ID": r.headers["Message-Id"]})
    wait_for_subscribers(server, a, 1)
    da = publish(server, a, "to a")
    r = lp.result()
    assert r.status_code == 200 and r.text == "to a" and r.headers["Switchboard-Channel"] == a
    assert parts(r.headers["Message-Id"]) == [da["id"], db["id"]]


def test_multichannel_longpoll_timeout_compound(server, chan):
    a, b = chan("a"), chan("b")
    ida = publish_many(server, a, ["a1"])
    idb = publish_many(server, b, ["b1", "b2"])
    pos = f"{ida[-1]},{idb[-1]}"
    r = longpoll(server, f"/sub/{a},{b}", headers={"Last-Event-ID": pos})
    assert r.status_code == 204 and r.headers["Message-Id"] == pos


def test_multichannel_websocket_raw_and_meta(server, chan):
    a, b, c = chan("a"), chan("b"), chan("c")
    raw = ws_connect(server, f"/sub/{a},{b},{c}")
    meta = ws_connect(server, f"/sub/{a},{b},{c}", subprotocol=META_SUBPROTOCOL)
    try:
        for ch in (a, b, c):
            wait_for_subscribers(server, ch, 2)
        docs = [publish(server, ch, f"to {ch}") for ch in (c, a, b)]
        assert [ws_recv_text(raw) for _ in range(3)] == [f"to {ch}" for ch in (c, a, b)]
        for d, ch in zip(docs, (c, a, b)):
            h, body = parse_meta(ws_recv(meta)[1])
            assert h["channel"] == ch and body == f"to {ch}".encode()
            assert d["id"] in parts(h["id"]), (h, d)
    finally:
        raw.close()
        meta.close()


def test_multichannel_stream_channel_placeholder(make_server, chan):
    srv = make_server(message_template="~channel~=~text~\n")
    a, b = chan("a"), chan("b")
    with StreamClient(srv, f"/sub/{a},{b}") as st:
        wait_for_subscribers(srv, a, 1)
        wait_for_subscribers(srv, b, 1)
        publish(srv, b, "x")
        publish(srv, a, "y")
        skip = lambda c: c.endswith(b"=\n")  # noqa: E731 keep-alives
        assert st.next_chunk(skip=skip) == f"{b}=x\n".encode()
        assert st.next_chunk(skip=skip) == f"{a}=y\n".encode()


def test_max_channels_per_subscription_is_allowed(server, chan):
    names = [chan(f"c{i}") for i in range(64)]
    with SSEClient(server, "/sub/" + ",".join(names)) as sse:
        wait_for_subscribers(server, names[-1], 1)
        publish(server, names[63], "last")
        ev = sse.next_event()
        assert ev.data == "last"
        assert len(parts(ev.id)) == 64
