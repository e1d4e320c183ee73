"""No ambient loopback privilege, and the Origin policy (docs/security.md).

Each test is an attack that worked before this policy, tried the way a browser would do it: a page on
http://evil.example in a browser on the server's machine sends "simple" requests (a text/plain or form
POST needs no CORS preflight), a rebound DNS name reaches 127.0.0.1 with its own Host, a foreign page
opens the two-way WebSockets.
"""
import json

import pytest
import requests
import socketio
import websocket

from helpers import assert_error_json, publish, raw_request, wait_for_subscribers, ws_connect, ws_recv_text

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server()


@pytest.fixture(scope="module")
def app_srv(make_module_server):
    """A server that trusts one other origin (a front end on another host)."""
    return make_module_server(security={"origins": ["https://app.example"], "subscribe_origins": ["https://app.example"]})


def host(srv):
    return f"127.0.0.1:{srv.port}"


CSRF_REQUESTS = [
    ("POST", "/pub/prices", "text/plain", b"FORGED"),
    ("POST", "/api/publish", "text/plain", json.dumps({"channel": "prices", "data": "FORGED"}).encode()),
    ("POST", "/api/send", "text/plain", json.dumps({"user": "alice", "data": "your password please"}).encode()),
    ("POST", "/api/disconnect", "application/x-www-form-urlencoded", json.dumps({"user": "alice"}).encode()),
    ("POST", "/api/call", "text/plain", json.dumps({"user": "alice", "method": "confirm"}).encode()),
    ("DELETE", "/pub/prices", None, b""),
]


@pytest.mark.parametrize("method,path,content_type,body", CSRF_REQUESTS, ids=[f"{m} {p}" for m, p, _, _ in CSRF_REQUESTS])
def test_a_foreign_page_cannot_use_the_loopback_privilege(srv, method, path, content_type, body):
    """Before: 200 for every one of these from a page on evil.example (CSRF through the loopback privilege)."""
    headers = {"Origin": EVIL, "Host": host(srv), "Sec-Fetch-Site": "cross-site"}
    if content_type:
        headers["Content-Type"] = content_type
    r = raw_request(srv, method, path, headers=headers, body=body)
    doc = assert_error_json(r.status, r.body, 403, "origin_not_allowed")
    assert "evil.example" in doc["error"]
    assert r.headers.get("Access-Control-Allow-Origin") is None
    info = requests.get(f"{srv.url}/pub/prices", timeout=5)
    assert info.status_code == 404 or info.json()["messages"] == 0


def test_the_curl_convenience_stays(srv):
    """Without a browser's signs (no Origin, no Sec-Fetch-Site), loopback still publishes."""
    assert publish(srv, "curl-convenience", "hi")["id"]
    same = raw_request(srv, "POST", "/pub/curl-convenience",
                       headers={"Origin": f"http://{host(srv)}", "Host": host(srv)}, body=b"same origin")
    assert same.status == 200


def test_a_cross_site_fetch_without_origin_is_refused(srv):
    """An <img src> or no-cors GET sends no Origin, but Sec-Fetch-Site says where it comes from."""
    r = raw_request(srv, "GET", "/stats", headers={"Sec-Fetch-Site": "cross-site"})
    assert_error_json(r.status, r.body, 403, "origin_not_allowed")
    assert raw_request(srv, "GET", "/stats", headers={"Sec-Fetch-Site": "same-origin"}).status == 200
    assert raw_request(srv, "GET", "/stats", headers={"Sec-Fetch-Site": "none"}).status == 200


@pytest.mark.parametrize("method,path", [("POST", "/pub/prices"), ("GET", "/stats"), ("GET", "/sub/prices"),
                                         ("GET", "/"), ("GET", "/healthz")])
def test_dns_rebinding_is_refused(srv, method, path):
    """Before: Host: rebind.evil.example got 200 on POST /pub and GET /stats."""
    r = raw_request(srv, method, path, headers={"Host": "rebind.evil.example", "Content-Type": "text/plain"},
                    body=b"x" if method == "POST" else b"")
    assert_error_json(r.status, r.body, 421, "host_not_allowed")


def test_loopback_names_with_any_port_are_answered(srv):
    for name in ("localhost", f"localhost:{srv.port}", "127.0.0.1:1", "[::1]:8000"):
        assert raw_request(srv, "GET", "/healthz", headers={"Host": name}).status == 200, name


def test_an_operator_may_list_host_names(make_server):
    s = make_server(security={"hosts": ["switchboard.test", "127.0.0.1"]})
    assert raw_request(s, "GET", "/healthz", headers={"Host": "switchboard.test:443"}).status == 200
    assert raw_request(s, "GET", "/healthz", headers={"Host": "localhost"}).status == 421


TWO_WAY = ["/stomp", "/connection/websocket", "/socket.io/?EIO=4&transport=websocket"]


@pytest.mark.parametrize("path", TWO_WAY)
def test_a_foreign_origin_gets_no_two_way_websocket(srv, path):
    """Before: 101 for a foreign Origin on /stomp, /connection/websocket and /socket.io/."""
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{srv.ws_url}{path}", origin=EVIL, timeout=5)
    assert refused.value.status_code == 403
    body = json.loads(refused.value.resp_body)
    if "socket.io" in path:
        assert body == {"code": 4, "message": "Forbidden"}   # the reference server's refusal
    else:
        assert body["code"] == "origin_not_allowed"
    # The same origin, and clients that send no Origin, are answered.
    ok = websocket.create_connection(f"{srv.ws_url}{path}", origin=f"http://{host(srv)}", timeout=5)
    ok.close()
    ok = websocket.create_connection(f"{srv.ws_url}{path}", suppress_origin=True, timeout=5)
    ok.close()


@pytest.mark.parametrize("method,path", [("GET", "/connection/sse"), ("GET", "/connection/poll"),
                                         ("POST", "/connection/send?session=x"),
                                         ("GET", "/socket.io/?EIO=4&transport=polling")])
def test_a_foreign_origin_gets_no_native_fallback_nor_polling(srv, method, path):
    r = raw_request(srv, method, path, headers={"Origin": EVIL, "Host": host(srv), "Content-Type": "text/plain"},
                    body=b"{}" if method == "POST" else b"")
    assert r.status == 403, r.body
    assert r.headers.get("Access-Control-Allow-Origin") is None


def test_subscribing_stays_open_to_any_origin_by_default(srv):
    """Read-only subscribing is documented as open: a page anywhere may show a public channel."""
    ws = websocket.create_connection(f"{srv.ws_url}/sub/public-news", origin=EVIL, timeout=5)
    try:
        # The 101 can arrive before the subscription is registered: wait for it, or the publish races it.
        wait_for_subscribers(srv, "public-news", 1)
        publish(srv, "public-news", "extra")
        assert ws_recv_text(ws) == "extra"
    finally:
        ws.close()
    r = raw_request(srv, "GET", "/sub/public-news?transport=longpoll&last_event_id=x:0",
                    headers={"Origin": EVIL, "Host": host(srv)})
    assert r.status in (200, 204)


def test_security_origins_lets_another_front_end_in(app_srv):
    s = app_srv
    app = "https://app.example"
    ws = websocket.create_connection(f"{s.ws_url}/connection/websocket", origin=app, timeout=5)
    ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(f"{s.ws_url}/connection/websocket", origin="https://app.example.evil", timeout=5)
    # security.subscribe_origins restricts read-only subscribing too.
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{s.ws_url}/sub/x", origin=EVIL, timeout=5)
    assert refused.value.status_code == 403
    websocket.create_connection(f"{s.ws_url}/sub/x", origin=app, timeout=5).close()


def test_cors_names_the_allowed_origin_and_refuses_others(app_srv):
    s = app_srv
    app = "https://app.example"
    # A preflight for the API: the allowed origin gets the methods and headers, others nothing.
    pre = raw_request(s, "OPTIONS", "/api/publish", headers={
        "Origin": app, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert pre.status == 204
    assert pre.headers.get("Access-Control-Allow-Origin") == app
    assert "POST" in pre.headers.get("Access-Control-Allow-Methods")
    assert "Authorization" in pre.headers.get("Access-Control-Allow-Headers")
    bad = raw_request(s, "OPTIONS", "/api/publish", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert bad.status == 403 and bad.headers.get("Access-Control-Allow-Origin") is None
    # The request itself: from loopback, the allowed page may publish, and may read the answer.
    r = raw_request(s, "POST", "/api/publish", headers={"Origin": app, "Content-Type": "application/json"},
                    body=json.dumps({"channel": "dash", "data": 1}).encode())
    assert r.status == 200, r.body
    assert r.headers.get("Access-Control-Allow-Origin") == app
    assert "Origin" in r.headers.get("Vary")


def test_python_socketio_and_stomp_py_clients_still_connect(srv):
    """Stock clients send no Origin, or their own same-origin one."""
    client = socketio.Client()
    client.connect(srv.url, transports=["polling", "websocket"], wait_timeout=5)
    try:
        assert client.call("subscribe", {"channel": "x"}, timeout=5)["ok"] is True
    finally:
        client.disconnect()
