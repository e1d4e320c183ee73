"""POST/GET/DELETE /pub/CH and the /api/* server API."""
import base64
import json
import re
import time

import pytest
import requests

from helpers import (LongPoll, SSEClient, assert_error_json, channel_info, publish, publish_many,
                     split_id, wait_for_subscribers)

ID_RE = re.compile(r"^[A-Za-z0-9_-]+:\d+$")


def api(srv, path, doc, expect=200):
    r = requests.post(f"{srv.url}{path}", json=doc, timeout=5)
    assert r.status_code == expect, f"POST {path} {doc!r} -> {r.status_code} {r.text!r}"
    return r.json()


def history(srv, ch, **params):
    r = requests.get(f"{srv.url}/api/history/{ch}", params=params, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- POST /pub

def test_publish_answers_id_channel_subscribers(server, chan):
    ch = chan()
    doc = publish(server, ch, "hello")
    assert set(doc) >= {"id", "channel", "subscribers"}
    assert doc["channel"] == ch
    assert doc["subscribers"] == 0
    assert ID_RE.match(doc["id"]), doc
    assert split_id(doc["id"])[1] == 1


def test_publish_ids_are_ordered_in_one_epoch(server, chan):
    ch = chan()
    ids = publish_many(server, ch, [f"m{i}" for i in range(5)])
    epochs = {split_id(i)[0] for i in ids}
    assert len(epochs) == 1
    assert [split_id(i)[1] for i in ids] == [1, 2, 3, 4, 5]


def test_publish_counts_subscribers(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}"), SSEClient(server, f"/sub/{ch}"):
        wait_for_subscribers(server, ch, 2)
        assert publish(server, ch, "x")["subscribers"] == 2


def test_publish_without_body_is_an_empty_message(server, chan):
    ch = chan()
    doc = publish(server, ch, b"")
    h = history(server, ch)
    assert [m["id"] for m in h["messages"]] == [doc["id"]]
    assert h["messages"][0]["data"] == ""


# ---------------------------------------------------------------- GET /pub

def test_channel_info(server, chan):
    ch = chan()
    ids = publish_many(server, ch, ["a", "b", "c"])
    with SSEClient(server, f"/sub/{ch}"):
        wait_for_subscribers(server, ch, 1)
        info = channel_info(server, ch)
    assert info == {"channel": ch, "messages": 3, "subscribers": 1, "last_id": ids[-1],
                    "first_id": ids[0], "published": 3}


def test_channel_info_unknown_is_404(server, chan):
    r = requests.get(f"{server.url}/pub/{chan()}", timeout=5)
    assert_error_json(r.status_code, r.text, 404)


def test_delete_unknown_is_404(server, chan):
    r = requests.delete(f"{server.url}/pub/{chan()}", timeout=5)
    assert_error_json(r.status_code, r.text, 404)


def test_delete_channel_without_subscribers(server, chan):
    ch = chan()
    publish(server, ch, "x")
    r = requests.delete(f"{server.url}/pub/{ch}", timeout=5)
    assert r.status_code == 200
    assert r.json() == {"channel": ch, "deleted": True, "subscribers_closed": 0}
    assert channel_info(server, ch) is None


# ---------------------------------------------------------------- /api/publish

def test_api_publish_string_is_text_plain(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        doc = api(server, "/api/publish", {"channel": ch, "data": "hi there", "event": "greeting"})
        assert doc["channel"] == ch and doc["subscribers"] == 1 and ID_RE.match(doc["id"])
        ev = sse.next_event()
    assert ev.data == "hi there" and ev.event == "greeting" and ev.id == doc["id"]
    m = history(server, ch)["messages"][0]
    assert m["content_type"].startswith("text/plain")
    assert m["event"] == "greeting" and m["data"] == "hi there"


def test_api_publish_json_object_is_application_json(server, chan):
    ch = chan()
    payload = {"a": 1, "b": [True, None, "x"], "c": {"d": 2.5}}
    lp = LongPoll(server, f"/sub/{ch}")
    wait_for_subscribers(server, ch, 1)
    doc = api(server, "/api/publish", {"channel": ch, "data": payload})
    r = lp.result()
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert json.loads(r.content) == payload
    assert r.headers["Message-Id"] == doc["id"]
    m = history(server, ch)["messages"][0]
    assert m["content_type"].startswith("application/json")
    assert json.loads(m["data"]) == payload
    assert m["event"] is None


@pytest.mark.parametrize("value", [42, [1, 2], True, 2.5])
def test_api_publish_other_json_values(server, chan, value):
    ch = chan()
    api(server, "/api/publish", {"channel": ch, "data": value})
    m = history(server, ch)["messages"][0]
    assert m["content_type"].startswith("application/json")
    assert json.loads(m["data"]) == value


def test_api_publish_b64data_is_binary(server, chan):
    ch = chan()
    raw = bytes(range(256))
    lp = LongPoll(server, f"/sub/{ch}")
    wait_for_subscribers(server, ch, 1)
    api(server, "/api/publish", {"channel": ch, "b64data": base64.b64encode(raw).decode()})
    r = lp.result()
    assert r.status_code == 200 and r.content == raw
    assert r.headers["Content-Type"].startswith("application/octet-stream")
    m = history(server, ch)["messages"][0]
    assert base64.b64decode(m["b64data"]) == raw
    assert m.get("data") is None
    assert m["content_type"].startswith("application/octet-stream")


def test_api_publish_explicit_content_type(server, chan):
    ch = chan()
    api(server, "/api/publish", {"channel": ch, "data": "<b>x</b>", "content_type": "text/html"})
    assert history(server, ch)["messages"][0]["content_type"].startswith("text/html")


@pytest.mark.parametrize("doc", [
    {"data": "no channel"},
    {"channel": "x"},
    {"channel": 5, "data": "x"},
    {"channel": "x", "b64data": "!!!not base64!!!"},
])
def test_api_publish_bad_documents_are_400(server, doc):
    r = requests.post(f"{server.url}/api/publish", json=doc, timeout=5)
    assert_error_json(r.status_code, r.text, 400)


def test_api_publish_not_json_is_400(server):
    r = requests.post(f"{server.url}/api/publish", data=b"{not json",
                      headers={"Content-Type": "application/json"}, timeout=5)
    assert_error_json(r.status_code, r.text, 400)


def test_api_publish_invalid_channel(server):
    r = requests.post(f"{server.url}/api/publish", json={"channel": "a b", "data": "x"}, timeout=5)
    assert_error_json(r.status_code, r.text, 400, "invalid_channel")


# ---------------------------------------------------------------- /api/broadcast

def test_api_broadcast(server, chan):
    a, b, c = chan("a"), chan("b"), chan("c")
    with SSEClient(server, f"/sub/{a}") as sa, SSEClient(server, f"/sub/{b}") as sb, \
            SSEClient(server, f"/sub/{b}") as sb2:
        wait_for_subscribers(server, a, 1)
        wait_for_subscribers(server, b, 2)
        doc = api(server, "/api/broadcast", {"channels": [a, b, c], "data": "to all", "event": "news"})
        res = doc["results"]
        assert [x["channel"] for x in res] == [a, b, c]
        assert [x["subscribers"] for x in res] == [1, 2, 0]
        for x in res:
            assert ID_RE.match(x["id"]) and split_id(x["id"])[1] == 1
        for sse, expect_id in ((sa, res[0]["id"]), (sb, res[1]["id"]), (sb2, res[1]["id"])):
            ev = sse.next_event()
            assert (ev.data, ev.event, ev.id) == ("to all", "news", expect_id)
    assert history(server, c)["messages"][0]["data"] == "to all"


def test_api_broadcast_invalid_channel_is_400(server, chan):
    r = requests.post(f"{server.url}/api/broadcast", json={"channels": [chan(), "bad name"], "data": "x"},
                      timeout=5)
    assert_error_json(r.status_code, r.text, 400, "invalid_channel")


# ---------------------------------------------------------------- /api/channels

def test_api_channels_lists_channels(server, chan):
    a, b = chan("a"), chan("b")
    ids = publish_many(server, a, ["1", "2", "3"])
    with SSEClient(server, f"/sub/{b}"):
        wait_for_subscribers(server, b, 1)
        r = requests.get(f"{server.url}/api/channels", timeout=5)
        assert r.status_code == 200
        by_name = {c["channel"]: c for c in r.json()["channels"]}
    assert by_name[a]["messages"] == 3 and by_name[a]["subscribers"] == 0
    assert by_name[a]["last_id"] == ids[-1]
    assert by_name[b]["subscribers"] == 1 and by_name[b]["messages"] == 0


# ---------------------------------------------------------------- /api/history

def test_api_history_all(server, chan):
    ch = chan()
    before = int(time.time() * 1000)
    ids = publish_many(server, ch, ["one", "two", "three"])
    after = int(time.time() * 1000)
    publish(server, ch, "four", event="ev", content_type="text/x-four")
    doc = history(server, ch)
    assert doc["channel"] == ch
    assert doc["gap"] is None
    msgs = doc["messages"]
    assert [m["data"] for m in msgs] == ["one", "two", "three", "four"]
    assert [m["id"] for m in msgs[:3]] == ids
    assert doc["last_id"] == msgs[-1]["id"]
    for m in msgs[:3]:
        assert before - 5 <= m["time"] <= after + 5
        assert m["event"] is None
    assert msgs[3]["event"] == "ev" and msgs[3]["content_type"].startswith("text/x-four")


def test_api_history_since_and_limit(server, chan):
    ch = chan()
    ids = publish_many(server, ch, [f"m{i}" for i in range(1, 11)])
    doc = history(server, ch, since=ids[3])
    assert [m["id"] for m in doc["messages"]] == ids[4:]
    assert doc["gap"] is None
    doc = history(server, ch, since=ids[3], limit=3)
    assert [m["data"] for m in doc["messages"]] == ["m5", "m6", "m7"]
    assert doc["last_id"] == ids[-1]
    doc = history(server, ch, since=ids[-1])
    assert doc["messages"] == [] and doc["gap"] is None
    epoch = split_id(ids[0])[0]
    doc = history(server, ch, since=f"{epoch}:0", limit=2)
    assert [m["id"] for m in doc["messages"]] == ids[:2]


def test_api_history_binary_payload_is_b64data(server, chan):
    ch = chan()
    publish(server, ch, b"\xff\x00\xfe", content_type="application/octet-stream")
    m = history(server, ch)["messages"][0]
    assert base64.b64decode(m["b64data"]) == b"\xff\x00\xfe"


def test_api_history_unknown_channel(server, chan):
    r = requests.get(f"{server.url}/api/history/{chan()}", timeout=5)
    # an unknown channel has no history: either 404 or an empty list
    if r.status_code == 404:
        assert_error_json(r.status_code, r.text, 404)
    else:
        assert r.status_code == 200 and r.json()["messages"] == []
