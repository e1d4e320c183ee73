"""Every row of the "Bad input" table; after each, the server still serves other clients."""
import socket

import pytest
import requests

from helpers import (RawConn, RawWS, SSEClient, assert_error_json, build_request, publish, raw_request,
                     wait_for_subscribers)


@pytest.fixture(scope="module")
def holder(make_revivable):
    return make_revivable()


@pytest.fixture
def srv(holder):
    return holder.get()


@pytest.fixture(autouse=True)
def still_serving(srv):
    """After each bad input the server is alive, healthy and still delivers to a subscriber that
    was connected before the bad input."""
    watcher = SSEClient(srv, "/sub/bad-input-watcher")
    wait_for_subscribers(srv, "bad-input-watcher", 1)
    try:
        yield
        assert srv.alive(), "server died:\n" + srv.crash_summary()
        r = requests.get(f"{srv.url}/healthz", timeout=5)
        assert r.status_code == 200
        d = publish(srv, "bad-input-watcher", "still alive")
        ev = watcher.next_event()
        assert (ev.id, ev.data) == (d["id"], "still alive")
    finally:
        watcher.close()


# ------------------------------------------------------------------ invalid channel names

BAD_NAMES = ["a$b", "a*b", "a'b", "a(b", "a=b", "a%20b", "caf%C3%A9", "a|b", "a%00b", "x" * 256]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: n if len(n) < 20 else f"len{len(n)}")
@pytest.mark.parametrize("how", ["publish", "info", "delete", "sse", "longpoll", "stream", "history"])
def test_invalid_channel_400(srv, name, how):
    if how == "publish":
        r = raw_request(srv, "POST", f"/pub/{name}", body=b"x")
    elif how == "info":
        r = raw_request(srv, "GET", f"/pub/{name}")
    elif how == "delete":
        r = raw_request(srv, "DELETE", f"/pub/{name}")
    elif how == "sse":
        r = raw_request(srv, "GET", f"/sub/{name}", headers={"Accept": "text/event-stream"})
    elif how == "longpoll":
        r = raw_request(srv, "GET", f"/sub/{name}")
    elif how == "stream":
        r = raw_request(srv, "GET", f"/sub/{name}?transport=stream")
    else:
        r = raw_request(srv, "GET", f"/api/history/{name}")
    assert_error_json(r.status, r.body, 400, "invalid_channel")


def test_invalid_channel_in_multichannel_list(srv, chan):
    r = raw_request(srv, "GET", f"/sub/{chan()},a$b")
    assert_error_json(r.status, r.body, 400, "invalid_channel")


def test_invalid_channel_websocket_upgrade_refused(srv):
    with RawConn.to(srv) as c:
        r = c.request("GET", "/sub/a$b", headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert_error_json(r.status, r.body, 400, "invalid_channel")


def test_all_allowed_characters_and_max_length(srv):
    name = "AZaz09_-.:@~+!"
    assert publish(srv, name, "ok")["channel"] == name
    long_name = "L" * 255
    assert publish(srv, long_name, "ok")["channel"] == long_name


def test_invalid_channel_api_publish(srv):
    r = requests.post(f"{srv.url}/api/publish", json={"channel": "x" * 256, "data": "x"}, timeout=5)
    assert_error_json(r.status_code, r.text, 400, "invalid_channel")


# ------------------------------------------------------------------ too many channels

@pytest.mark.parametrize("transport", ["", "?transport=sse", "?transport=stream"])
def test_too_many_channels_400(srv, chan, transport):
    names = ",".join(chan(f"c{i}") for i in range(65))
    r = raw_request(srv, "GET", f"/sub/{names}{transport}")
    assert_error_json(r.status, r.body, 400, "too_many_channels")


def test_too_many_channels_websocket(srv, chan):
    names = ",".join(chan(f"c{i}") for i in range(65))
    with RawConn.to(srv) as c:
        r = c.request("GET", f"/sub/{names}", headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert_error_json(r.status, r.body, 400, "too_many_channels")


# ------------------------------------------------------------------ payload too large

def test_payload_too_large_413(srv, chan):
    body = b"z" * (1024 * 1024 + 1)
    r = raw_request(srv, "POST", f"/pub/{chan()}", body=body, timeout=10)
    assert_error_json(r.status, r.body, 413, "payload_too_large")


def test_payload_at_limit_accepted(srv, chan):
    ch = chan()
    body = b"z" * (1024 * 1024)
    d = publish(srv, ch, body)
    assert d["channel"] == ch


def test_payload_too_large_chunked_413(srv, chan):
    piece = b"q" * 65536
    chunks = b"".join(b"%x\r\n" % len(piece) + piece + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
    with RawConn.to(srv, timeout=10) as c:
        r = c.request("POST", f"/pub/{chan()}", headers={"Transfer-Encoding": "chunked"}, body=chunks)
    assert_error_json(r.status, r.body, 413, "payload_too_large")


def test_api_publish_too_large_413(srv, chan):
    r = requests.post(f"{srv.url}/api/publish", json={"channel": chan(), "data": "w" * (1024 * 1024 + 10)},
                      timeout=10)
    assert_error_json(r.status_code, r.text, 413, "payload_too_large")


# ------------------------------------------------------------------ 404 / 405

@pytest.mark.parametrize("path", ["/nope", "/chat", "/api/nope", "/pub", "/subx/a", "/api/history", "/healthz/x"])
def test_unknown_path_404(srv, path):
    r = raw_request(srv, "GET", path)
    assert_error_json(r.status, r.body, 404, "not_found")


@pytest.mark.parametrize("method,path,allowed", [
    ("PUT", "/pub/ch", {"GET", "POST", "DELETE"}),
    ("PATCH", "/pub/ch", {"GET", "POST", "DELETE"}),
    ("POST", "/sub/ch", {"GET"}),
    ("DELETE", "/sub/ch", {"GET"}),
    ("GET", "/api/publish", {"POST"}),
    ("GET", "/api/broadcast", {"POST"}),
    ("POST", "/api/channels", {"GET"}),
    ("DELETE", "/api/history/ch", {"GET"}),
    ("POST", "/stats", {"GET"}),
    ("POST", "/healthz", {"GET"}),
])
def test_wrong_method_405_with_allow(srv, method, path, allowed):
    r = raw_request(srv, method, path, body=b"x" if method in ("POST", "PUT", "PATCH") else b"")
    assert_error_json(r.status, r.body, 405, "method_not_allowed")
    allow = {m.strip().upper() for m in (r.headers.get("Allow") or "").split(",") if m.strip()}
    assert allowed <= allow, f"Allow: {r.headers.get('Allow')!r}"
    assert method not in allow


# ------------------------------------------------------------------ 414 / 431

def test_request_target_too_long_414(srv):
    r = raw_request(srv, "GET", "/sub/ch?x=" + "a" * 10000)
    assert r.status == 414, (r.status, r.body)


def test_request_target_just_under_limit_ok(srv):
    r = raw_request(srv, "GET", "/healthz?x=" + "a" * 7000)
    assert r.status == 200


def test_header_section_too_large_431_one_header(srv):
    r = raw_request(srv, "GET", "/healthz", headers={"X-Big": "b" * 20000})
    assert r.status == 431, (r.status, r.body)


def test_header_section_too_large_431_many_headers(srv):
    r = raw_request(srv, "GET", "/healthz", headers={f"X-H{i}": "v" * 100 for i in range(200)})
    assert r.status == 431, (r.status, r.body)


# ------------------------------------------------------------------ malformed HTTP

MALFORMED = {
    "garbage": b"GARBAGE\r\n\r\n",
    "no-version": b"GET /healthz\r\nHost: x\r\n\r\n",
    "header-without-colon": b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "bad-content-length": b"POST /pub/ch HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "two-content-lengths": b"POST /pub/ch HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "bad-chunk-size": b"POST /pub/ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "space-in-header-name": b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    "binary-junk": b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_http_400_and_close(srv, name):
    with RawConn.to(srv) as c:
        c.send(MALFORMED[name], ignore_errors=True)
        resp = c.read_head()
        assert resp.status == 400, (name, resp)
        body = c.read_body(resp)
        if body:
            assert_error_json(resp.status, body, 400)
        assert c.closed_by_peer(3), "connection not closed after malformed request"


def test_malformed_then_valid_on_other_connection(srv):
    with RawConn.to(srv) as bad:
        bad.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64)  # a TLS ClientHello
        assert bad.closed_by_peer(3)
    assert raw_request(srv, "GET", "/healthz").status == 200


def test_half_request_does_not_block_others(srv):
    with RawConn.to(srv) as slow:
        slow.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
        for _ in range(5):
            assert raw_request(srv, "GET", "/healthz").status == 200
