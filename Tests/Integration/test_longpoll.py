"""Long-polling subscribers."""
import time

import requests

from helpers import LongPoll, channel_info, longpoll, publish, publish_many, split_id, wait_for_subscribers


def test_longpoll_receives_message_with_headers(server, chan):
    ch = chan()
    lp = LongPoll(server, f"/sub/{ch}")
    assert wait_for_subscribers(server, ch, 1), "a pending long-poll should count as a subscriber"
    doc = publish(server, ch, "hello lp", event="greeting", content_type="text/x-lp")
    assert doc["subscribers"] == 1
    r = lp.result()
    assert r.status_code == 200
    assert r.content == b"hello lp"
    assert r.headers["Content-Type"].startswith("text/x-lp")
    assert r.headers["Message-Id"] == doc["id"]
    assert r.headers["Switchboard-Channel"] == ch
    assert r.headers["Event-Type"] == "greeting"


def test_longpoll_no_event_type_header_without_event(server, chan):
    ch = chan()
    lp = LongPoll(server, f"/sub/{ch}")
    wait_for_subscribers(server, ch, 1)
    publish(server, ch, "x")
    r = lp.result()
    assert r.status_code == 200 and "Event-Type" not in r.headers


def test_longpoll_binary_payload_exact(server, chan):
    ch = chan()
    raw = bytes(range(255, -1, -1))
    lp = LongPoll(server, f"/sub/{ch}")
    wait_for_subscribers(server, ch, 1)
    publish(server, ch, raw, content_type="application/octet-stream")
    r = lp.result()
    assert r.status_code == 200 and r.content == raw
    assert r.headers["Content-Type"].startswith("application/octet-stream")


def test_longpoll_timeout_is_204_with_current_message_id(server, chan):
    ch = chan()
    ids = publish_many(server, ch, ["a", "b"])
    t0 = time.monotonic()
    r = longpoll(server, f"/sub/{ch}", headers={"Last-Event-ID": ids[-1]})
    elapsed = time.monotonic() - t0
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["Message-Id"] == ids[-1]
    assert 1.5 <= elapsed <= 5, elapsed  # longpoll_timeout = 2 s


def test_longpoll_timeout_without_position(server, chan):
    ch = chan()
    ids = publish_many(server, ch, ["a"])
    r = longpoll(server, f"/sub/{ch}")
    assert r.status_code == 204
    assert r.headers["Message-Id"] == ids[-1]


def test_longpoll_cursor_loop_gets_every_message_once(server, chan):
    ch = chan()
    ids = publish_many(server, ch, ["m1", "m2", "m3"])
    epoch = split_id(ids[0])[0]
    cursor = f"{epoch}:0"
    got = []
    for _ in range(3):
        r = longpoll(server, f"/sub/{ch}", headers={"Last-Event-ID": cursor})
        assert r.status_code == 200
        got.append(r.text)
        cursor = r.headers["Message-Id"]
    assert got == ["m1", "m2", "m3"] and cursor == ids[-1]
    # next one waits for a live message
    lp = LongPoll(server, f"/sub/{ch}?last_event_id={cursor}")
    wait_for_subscribers(server, ch, 1)
    d = publish(server, ch, "m4")
    r = lp.result()
    assert (r.status_code, r.text, r.headers["Message-Id"]) == (200, "m4", d["id"])


def test_longpoll_query_position_wins_over_header(server, chan):
    ch = chan()
    ids = publish_many(server, ch, ["m1", "m2", "m3", "m4"])
    r = longpoll(server, f"/sub/{ch}?last_event_id={ids[2]}", headers={"Last-Event-ID": ids[0]})
    assert r.status_code == 200 and r.text == "m4" and r.headers["Message-Id"] == ids[3]


def test_longpoll_forced_over_accept_header(server, chan):
    ch = chan()
    ids = publish_many(server, ch, ["a", "b"])
    r = longpoll(server, f"/sub/{ch}?transport=longpoll&last_event_id={ids[0]}",
                 headers={"Accept": "text/event-stream"})
    assert r.status_code == 200 and r.text == "b"
    assert not r.headers.get("Content-Type", "").startswith("text/event-stream")


def test_longpoll_ends_and_unsubscribes(server, chan):
    ch = chan()
    lp = LongPoll(server, f"/sub/{ch}")
    wait_for_subscribers(server, ch, 1)
    publish(server, ch, "x")
    assert lp.result().status_code == 200
    time.sleep(0.2)
    info = channel_info(server, ch)
    assert info is not None and info["subscribers"] == 0
