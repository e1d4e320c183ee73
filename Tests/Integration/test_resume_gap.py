"""Resuming from a position on every transport, and the gap signals (too-old, new-epoch)."""
import json
import time

import pytest
import requests
import websocket

from helpers import (META_SUBPROTOCOL, LongPoll, SSEClient, StreamClient, longpoll, parse_meta, publish,
                     publish_many, split_id, wait_for_subscribers, ws_connect, ws_expect_close, ws_recv,
                     ws_recv_text)

HISTORY = 5


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(history_size=HISTORY)


def fill(srv, ch, n, prefix="m"):
    return publish_many(srv, ch, [f"{prefix}{i}" for i in range(1, n + 1)])


# ------------------------------------------------------------------ resume after a gap (in history)

def test_resume_sse(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 5)
    with SSEClient(srv, f"/sub/{ch}", headers={"Last-Event-ID": ids[1]}) as sse:
        assert "Switchboard-Gap" not in sse.headers
        evs = sse.events(3)
        assert [(e.id, e.data) for e in evs] == list(zip(ids[2:], ["m3", "m4", "m5"]))
        wait_for_subscribers(srv, ch, 1)
        d = publish(srv, ch, "live")
        ev = sse.next_event()
        assert (ev.id, ev.data) == (d["id"], "live")
        sse.assert_no_event(0.3)


def test_resume_sse_query_wins_over_header(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 4)
    with SSEClient(srv, f"/sub/{ch}?last_event_id={ids[2]}", headers={"Last-Event-ID": ids[0]}) as sse:
        ev = sse.next_event()
        assert (ev.id, ev.data) == (ids[3], "m4")
        sse.assert_no_event(0.3)


def test_resume_sse_from_epoch_zero(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 3)
    epoch = split_id(ids[0])[0]
    with SSEClient(srv, f"/sub/{ch}", headers={"Last-Event-ID": f"{epoch}:0"}) as sse:
        assert "Switchboard-Gap" not in sse.headers
        assert [e.data for e in sse.events(3)] == ["m1", "m2", "m3"]


def test_resume_sse_at_last_id_gets_only_live(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 3)
    with SSEClient(srv, f"/sub/{ch}", headers={"Last-Event-ID": ids[-1]}) as sse:
        sse.assert_no_event(0.3)
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "live")
        assert sse.next_event().data == "live"


def test_resume_websocket_raw(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 5)
    ws = ws_connect(srv, f"/sub/{ch}", headers={"Last-Event-ID": ids[1]})
    try:
        assert [ws_recv_text(ws) for _ in range(3)] == ["m3", "m4", "m5"]
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "live")
        assert ws_recv_text(ws) == "live"
    finally:
        ws.close()


def test_resume_websocket_raw_query(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 5)
    ws = ws_connect(srv, f"/sub/{ch}?last_event_id={ids[3]}")
    try:
        assert ws_recv_text(ws) == "m5"
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "live")
        assert ws_recv_text(ws) == "live"
    finally:
        ws.close()


def test_resume_websocket_meta(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 5)
    ws = ws_connect(srv, f"/sub/{ch}", subprotocol=META_SUBPROTOCOL, headers={"Last-Event-ID": ids[1]})
    try:
        got = [parse_meta(ws_recv(ws)[1]) for _ in range(3)]
        assert [(h["id"], b) for h, b in got] == list(zip(ids[2:], [b"m3", b"m4", b"m5"]))
        wait_for_subscribers(srv, ch, 1)
        d = publish(srv, ch, "live")
        h, b = parse_meta(ws_recv(ws)[1])
        assert (h["id"], b) == (d["id"], b"live")
    finally:
        ws.close()


def test_resume_stream(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 5)
    with StreamClient(srv, f"/sub/{ch}?last_event_id={ids[1]}") as st:
        assert "Switchboard-Gap" not in st.headers
        skip = lambda c: c == b"\n"  # noqa: E731  (keep-alives with the default template)
        assert [st.next_chunk(skip=skip) for _ in range(3)] == [b"m3\n", b"m4\n", b"m5\n"]
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "live")
        assert st.next_chunk(skip=skip) == b"live\n"


def test_resume_longpoll(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 5)
    cursor, got = ids[1], []
    for _ in range(3):
        r = longpoll(srv, f"/sub/{ch}", headers={"Last-Event-ID": cursor})
        assert r.status_code == 200 and "Switchboard-Gap" not in r.headers
        got.append((r.headers["Message-Id"], r.text))
        cursor = r.headers["Message-Id"]
    assert got == list(zip(ids[2:], ["m3", "m4", "m5"]))
    lp = LongPoll(srv, f"/sub/{ch}?last_event_id={cursor}")
    wait_for_subscribers(srv, ch, 1)
    d = publish(srv, ch, "live")
    r = lp.result()
    assert (r.status_code, r.text, r.headers["Message-Id"]) == (200, "live", d["id"])


# ------------------------------------------------------------------ too-old

def too_old_setup(srv, ch):
    """Publish 8 messages with history_size 5: history keeps m4..m8; resuming at m1 misses m2, m3."""
    ids = fill(srv, ch, 8)
    return ids, ids[0], ids[3:]


def test_history_keeps_only_history_size(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 8)
    r = requests.get(f"{srv.url}/pub/{ch}", timeout=5).json()
    assert r["messages"] == HISTORY and r["published"] == 8
    assert r["first_id"] == ids[3] and r["last_id"] == ids[7]


def test_too_old_boundary_is_not_a_gap(srv, chan):
    ch = chan()
    ids = fill(srv, ch, 8)
    with SSEClient(srv, f"/sub/{ch}", headers={"Last-Event-ID": ids[2]}) as sse:
        assert "Switchboard-Gap" not in sse.headers
        evs = sse.events(5)
        assert [e.data for e in evs] == ["m4", "m5", "m6", "m7", "m8"]


def test_too_old_sse(srv, chan):
    ch = chan()
    ids, requested, kept = too_old_setup(srv, ch)
    with SSEClient(srv, f"/sub/{ch}", headers={"Last-Event-ID": requested}) as sse:
        assert sse.headers.get("Switchboard-Gap") == "too-old"
        gap = sse.next_event()
        assert gap.event == "switchboard-gap"
        assert gap.json() == {"channel": ch, "reason": "too-old", "requested": requested, "first": kept[0]}
        evs = sse.events(5)
        assert [(e.id, e.data) for e in evs] == list(zip(kept, ["m4", "m5", "m6", "m7", "m8"]))
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "live")
        assert sse.next_event().data == "live"


def test_too_old_longpoll(srv, chan):
    ch = chan()
    ids, requested, kept = too_old_setup(srv, ch)
    r = longpoll(srv, f"/sub/{ch}", headers={"Last-Event-ID": requested})
    assert r.status_code == 200
    assert r.headers.get("Switchboard-Gap") == "too-old"
    assert (r.text, r.headers["Message-Id"]) == ("m4", kept[0])
    r = longpoll(srv, f"/sub/{ch}", headers={"Last-Event-ID": r.headers["Message-Id"]})
    assert r.status_code == 200 and "Switchboard-Gap" not in r.headers and r.text == "m5"


def test_too_old_stream(srv, chan):
    ch = chan()
    ids, requested, kept = too_old_setup(srv, ch)
    with StreamClient(srv, f"/sub/{ch}?last_event_id={requested}") as st:
        assert st.headers.get("Switchboard-Gap") == "too-old"
        skip = lambda c: c == b"\n"  # noqa: E731
        assert [st.next_chunk(skip=skip) for _ in range(5)] == [b"m4\n", b"m5\n", b"m6\n", b"m7\n", b"m8\n"]
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "live")
        assert st.next_chunk(skip=skip) == b"live\n"


def test_too_old_websocket_raw_closes_4003(srv, chan):
    ch = chan()
    ids, requested, kept = too_old_setup(srv, ch)
    ws = ws_connect(srv, f"/sub/{ch}", headers={"Last-Event-ID": requested})
    try:
        code, reason, msgs = ws_expect_close(ws)
        assert code == 4003 and reason == "position too old"
        assert msgs == []
    finally:
        ws.close()


def test_too_old_websocket_meta_gap_frame(srv, chan):
    ch = chan()
    ids, requested, kept = too_old_setup(srv, ch)
    ws = ws_connect(srv, f"/sub/{ch}", subprotocol=META_SUBPROTOCOL, headers={"Last-Event-ID": requested})
    try:
        h, body = parse_meta(ws_recv(ws)[1])
        assert h.get("event") == "switchboard-gap", (h, body)
        assert json.loads(body) == {"channel": ch, "reason": "too-old", "requested": requested,
                                    "first": kept[0]}
        got = [parse_meta(ws_recv(ws)[1]) for _ in range(5)]
        assert [(x["id"], b) for x, b in got] == list(zip(kept, [b"m4", b"m5", b"m6", b"m7", b"m8"]))
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "live")
        assert parse_meta(ws_recv(ws)[1])[1] == b"live"
    finally:
        ws.close()


def test_too_old_api_history(srv, chan):
    ch = chan()
    ids, requested, kept = too_old_setup(srv, ch)
    doc = requests.get(f"{srv.url}/api/history/{ch}", params={"since": requested}, timeout=5).json()
    assert doc["gap"] == "too-old"
    assert [m["id"] for m in doc["messages"]] == kept


# ------------------------------------------------------------------ new-epoch

def new_epoch_setup(srv, ch, recreate=3):
    old = fill(srv, ch, 2, prefix="old")
    r = requests.delete(f"{srv.url}/pub/{ch}", timeout=5)
    assert r.status_code == 200
    new = fill(srv, ch, recreate, prefix="new") if recreate else []
    if new:
        assert split_id(new[0])[0] != split_id(old[0])[0], "a re-created channel must get a new epoch"
        assert split_id(new[0])[1] == 1
    return old, new


def test_new_epoch_sse(srv, chan):
    ch = chan()
    old, new = new_epoch_setup(srv, ch)
    with SSEClient(srv, f"/sub/{ch}", headers={"Last-Event-ID": old[0]}) as sse:
        assert sse.headers.get("Switchboard-Gap") == "new-epoch"
        gap = sse.next_event()
        assert gap.event == "switchboard-gap"
        assert gap.json() == {"channel": ch, "reason": "new-epoch", "requested": old[0], "first": new[0]}
        assert [(e.id, e.data) for e in sse.events(3)] == list(zip(new, ["new1", "new2", "new3"]))
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "live")
        assert sse.next_event().data == "live"


def test_new_epoch_sse_empty_channel_first_is_null(srv, chan):
    ch = chan()
    old, _ = new_epoch_setup(srv, ch, recreate=0)
    with SSEClient(srv, f"/sub/{ch}", headers={"Last-Event-ID": old[1]}) as sse:
        assert sse.headers.get("Switchboard-Gap") == "new-epoch"
        gap = sse.next_event()
        assert gap.event == "switchboard-gap"
        assert gap.json() == {"channel": ch, "reason": "new-epoch", "requested": old[1], "first": None}
        wait_for_subscribers(srv, ch, 1)
        d = publish(srv, ch, "first of new epoch")
        ev = sse.next_event()
        assert (ev.id, ev.data) == (d["id"], "first of new epoch")


def test_new_epoch_longpoll(srv, chan):
    ch = chan()
    old, new = new_epoch_setup(srv, ch)
    r = longpoll(srv, f"/sub/{ch}", headers={"Last-Event-ID": old[1]})
    assert r.status_code == 200
    assert r.headers.get("Switchboard-Gap") == "new-epoch"
    assert (r.text, r.headers["Message-Id"]) == ("new1", new[0])


def test_new_epoch_longpoll_empty_channel_immediate_204(srv, chan):
    ch = chan()
    old, _ = new_epoch_setup(srv, ch, recreate=0)
    t0 = time.monotonic()
    r = longpoll(srv, f"/sub/{ch}", headers={"Last-Event-ID": old[1]})
    assert r.status_code == 204
    assert time.monotonic() - t0 < 1.0, "the gap must be signalled at once, not after the timeout"
    assert r.headers.get("Switchboard-Gap") == "new-epoch"
    epoch, off = split_id(r.headers["Message-Id"])
    assert epoch != split_id(old[0])[0] and off == 0


def test_new_epoch_stream(srv, chan):
    ch = chan()
    old, new = new_epoch_setup(srv, ch)
    with StreamClient(srv, f"/sub/{ch}?last_event_id={old[0]}") as st:
        assert st.headers.get("Switchboard-Gap") == "new-epoch"
        skip = lambda c: c == b"\n"  # noqa: E731
        assert [st.next_chunk(skip=skip) for _ in range(3)] == [b"new1\n", b"new2\n", b"new3\n"]


def test_new_epoch_websocket_raw_closes_4003(srv, chan):
    ch = chan()
    old, new = new_epoch_setup(srv, ch)
    ws = ws_connect(srv, f"/sub/{ch}", headers={"Last-Event-ID": old[0]})
    try:
        code, reason, msgs = ws_expect_close(ws)
        assert code == 4003 and reason == "position too old" and msgs == []
    finally:
        ws.close()


def test_new_epoch_websocket_meta(srv, chan):
    ch = chan()
    old, new = new_epoch_setup(srv, ch)
    ws = ws_connect(srv, f"/sub/{ch}", subprotocol=META_SUBPROTOCOL, headers={"Last-Event-ID": old[0]})
    try:
        h, body = parse_meta(ws_recv(ws)[1])
        assert h.get("event") == "switchboard-gap"
        assert json.loads(body)["reason"] == "new-epoch"
        got = [parse_meta(ws_recv(ws)[1]) for _ in range(3)]
        assert [(x["id"], b) for x, b in got] == list(zip(new, [b"new1", b"new2", b"new3"]))
    finally:
        ws.close()


def test_new_epoch_api_history(srv, chan):
    ch = chan()
    old, new = new_epoch_setup(srv, ch)
    doc = requests.get(f"{srv.url}/api/history/{ch}", params={"since": old[0]}, timeout=5).json()
    assert doc["gap"] == "new-epoch"
    assert [m["id"] for m in doc["messages"]] == new


# ------------------------------------------------------------------ gap on one channel of several

def test_too_old_multichannel_sse_one_gap_event(srv, chan):
    a, b = chan("a"), chan("b")
    ida = fill(srv, a, 8, prefix="a")
    idb = fill(srv, b, 2, prefix="b")
    pos = f"{ida[0]},{idb[0]}"
    with SSEClient(srv, f"/sub/{a},{b}", headers={"Last-Event-ID": pos}) as sse:
        assert sse.headers.get("Switchboard-Gap") == "too-old"
        first = sse.next_event()
        assert first.event == "switchboard-gap"
        assert first.json() == {"channel": a, "reason": "too-old", "requested": ida[0], "first": ida[3]}
        evs = sse.events(6)
        assert all(e.event != "switchboard-gap" for e in evs)
        datas = [e.data for e in evs]
        assert [d for d in datas if d.startswith("a")] == ["a4", "a5", "a6", "a7", "a8"]
        assert [d for d in datas if d.startswith("b")] == ["b2"]
