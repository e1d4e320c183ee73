"""The cases of the reference suites socketio/engine.io-protocol and socketio/socket.io-protocol, ported:
the same requests and expectations, against the conformance configuration (testing.socketio_conformance:
an Engine.IO echo at /engine.io/, and the suite's test server behaviour on /socket.io/). The suites
themselves run locally with mocha (see docs/socketio.md); these keep CI checking the same behaviour."""
import json
import threading
import time

import pytest
import requests

from sio_raw import RS, WS, handshake, poll, post, url

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(
        socketio_conformance=True,
        socketio={"namespaces": ["/", "/custom"], "ping_interval": PING_INTERVAL, "ping_timeout": PING_TIMEOUT,
                  "connect_timeout": 1},
    )


PATHS = ["/engine.io/", "/socket.io/"]


# Engine.IO: handshake ------------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_polling_handshake_opens_a_session(srv, path):
    sid, data = handshake(srv, path)
    assert set(data) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert isinstance(sid, str) and data["upgrades"] == ["websocket"]
    assert (data["pingInterval"], data["pingTimeout"], data["maxPayload"]) == (300, 200, 1000000)


@pytest.mark.parametrize("path", PATHS)
def test_bad_eio_transport_and_method_are_400_with_the_reference_codes(srv, path):
    base = f"{srv.url}{path}"
    cases = [
        ("GET", "?transport=polling", 5), ("GET", "?EIO=abc&transport=polling", 5),
        ("GET", "?EIO=4", 0), ("GET", "?EIO=4&transport=abc", 0),
        ("POST", "?EIO=4&transport=polling", 2), ("PUT", "?EIO=4&transport=polling", 2),
        ("GET", "?EIO=4&transport=polling&sid=nope", 1),
    ]
    for method, query, code in cases:
        r = requests.request(method, base + query, timeout=5)
        assert r.status_code == 400, (method, query, r.status_code)
        assert r.json()["code"] == code, (method, query, r.text)
        assert r.json()["message"]


@pytest.mark.parametrize("path", PATHS)
def test_websocket_handshake_opens_a_session_without_upgrades(srv, path):
    ws = WS(srv, path)
    try:
        assert set(ws.open) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert ws.open["upgrades"] == [] and ws.open["pingInterval"] == 300
    finally:
        ws.close()


@pytest.mark.parametrize("query", ["?transport=websocket", "?EIO=abc&transport=websocket", "?EIO=4",
                                   "?EIO=4&transport=abc"])
def test_websocket_with_bad_query_is_refused(srv, query):
    import websocket as wsc
    with pytest.raises(wsc.WebSocketBadStatusException) as failure:
        wsc.create_connection(f"{srv.ws_url}/socket.io/{query}", timeout=5)
    assert failure.value.status_code == 400


# Engine.IO: messages (the echo) --------------------------------------------------------------

@pytest.mark.parametrize("body", ["4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA=="])
def test_polling_payloads_are_echoed(srv, body):
    sid, _ = handshake(srv, "/engine.io/")
    r = post(srv, sid, body, "/engine.io/")
    assert (r.status_code, r.text) == (200, "ok")
    r = poll(srv, sid, "/engine.io/")
    assert (r.status_code, r.text) == (200, body)


def test_polling_invalid_packet_closes_the_session(srv):
    sid, _ = handshake(srv, "/engine.io/")
    assert post(srv, sid, "abc", "/engine.io/").status_code == 400
    assert poll(srv, sid, "/engine.io/").status_code == 400


def test_polling_duplicate_polls_close_the_session(srv):
    sid, _ = handshake(srv, "/engine.io/")
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", poll(srv, sid, "/engine.io/")))
    first.start()
    time.sleep(0.05)
    results["second"] = requests.get(url(srv, "/engine.io/", sid=sid, t="burst"), timeout=5)
    first.join(5)
    assert (results["first"].status_code, results["first"].text) == (200, "1")
    assert results["second"].status_code in (400, 500)
    assert poll(srv, sid, "/engine.io/").status_code == 400


def test_websocket_text_and_binary_are_echoed(srv):
    ws = WS(srv, "/engine.io/")
    try:
        ws.send("4hello")
        assert ws.recv() == "4hello"
        ws.send_binary(bytes([1, 2, 3, 4]))
        assert ws.recv() == bytes([1, 2, 3, 4])
    finally:
        ws.close()


def test_websocket_invalid_packet_closes(srv):
    ws = WS(srv, "/engine.io/")
    ws.send("abc")
    ws.expect_close()


# Engine.IO: heartbeat -------------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_polling_ping_pong(srv, path):
    sid, _ = handshake(srv, path)
    for _ in range(3):
        r = poll(srv, sid, path)
        assert (r.status_code, r.text) == (200, "2")
        assert post(srv, sid, "3", path).status_code == 200


@pytest.mark.parametrize("path", PATHS)
def test_polling_ping_timeout_closes_the_session(srv, path):
    sid, _ = handshake(srv, path)
    time.sleep(PING_INTERVAL + PING_TIMEOUT + 0.05)
    assert poll(srv, sid, path).status_code == 400


def test_websocket_ping_pong_and_timeout(srv):
    ws = WS(srv, "/engine.io/")
    try:
        for _ in range(3):
            assert ws.recv() == "2"
            ws.send("3")
    finally:
        ws.close()
    silent = WS(srv, "/engine.io/")
    assert silent.expect_close(timeout=3) == ["2"]


# Engine.IO: close -----------------------------------------------------------------------------

def test_polling_close_packet_ends_the_waiting_poll_with_a_noop(srv):
    sid, _ = handshake(srv, "/engine.io/")
    results = {}
    waiting = threading.Thread(target=lambda: results.setdefault("poll", poll(srv, sid, "/engine.io/")))
    waiting.start()
    time.sleep(0.05)
    assert post(srv, sid, "1", "/engine.io/").status_code == 200
    waiting.join(5)
    assert (results["poll"].status_code, results["poll"].text) == (200, "6")
    assert poll(srv, sid, "/engine.io/").status_code == 400


def test_websocket_close_packet_closes(srv):
    ws = WS(srv, "/engine.io/")
    ws.send("1")
    ws.expect_close()


# Engine.IO: upgrade ---------------------------------------------------------------------------

def test_upgrade_from_polling_to_websocket(srv):
    sid, _ = handshake(srv, "/engine.io/")
    ws = WS(srv, "/engine.io/", sid=sid)
    try:
        ws.send("2probe")
        assert ws.recv() == "3probe"
        r = poll(srv, sid, "/engine.io/")
        assert (r.status_code, r.text) == (200, "6")
        ws.send("5")
        ws.send("4hello")
        assert ws.recv(skip_pings=True) == "4hello"
    finally:
        ws.close()


def test_after_the_upgrade_polls_and_second_websockets_are_refused(srv):
    sid, _ = handshake(srv, "/engine.io/")
    ws = WS(srv, "/engine.io/", sid=sid)
    try:
        ws.send("2probe")
        ws.send("5")
        assert ws.recv() == "3probe"
        time.sleep(0.05)
        assert poll(srv, sid, "/engine.io/").status_code == 400
        second = WS(srv, "/engine.io/", sid=sid)
        second.expect_close()
        ws.send("4hello")
        assert ws.recv(skip_pings=True) == "4hello"
    finally:
        ws.close()


# Socket.IO ------------------------------------------------------------------------------------

def connect(srv, packet="40"):
    ws = WS(srv)
    ws.send(packet)
    return ws


@pytest.mark.parametrize("packet,prefix,auth", [
    ("40", "40", {}), ('40{"token":"123"}', "40", {"token": "123"}),
    ("40/custom,", "40/custom,", {}), ('40/custom,{"token":"abc"}', "40/custom,", {"token": "abc"}),
])
def test_connect_to_a_namespace_with_or_without_auth(srv, packet, prefix, auth):
    ws = connect(srv, packet)
    try:
        reply = ws.recv()
        assert reply.startswith(prefix)
        assert set(json.loads(reply[len(prefix):])) == {"sid"}
        nsp = prefix[2:]
        assert ws.recv() == "42" + nsp + json.dumps(["auth", auth], separators=(",", ":"))
    finally:
        ws.close()


def test_unknown_namespace_gets_the_reference_connect_error(srv):
    ws = connect(srv, "40/random")
    try:
        assert ws.recv() == '44/random,{"message":"Invalid namespace"}'
    finally:
        ws.close()


@pytest.mark.parametrize("packet", ["4abc", "42{}", '42abc["message-with-ack",1]', '42["connect"]', "8"])
def test_malformed_packets_close_the_connection(srv, packet):
    ws = connect(srv)
    ws.recv(), ws.recv()
    ws.send(packet)
    ws.expect_close()


def test_no_namespace_within_the_connect_timeout_closes(srv):
    ws = WS(srv)
    ws.expect_close(timeout=3)


def test_disconnect_from_the_main_namespace_keeps_the_connection(srv):
    ws = connect(srv)
    try:
        ws.recv(), ws.recv()
        ws.send("41")
        assert ws.recv() == "2"
    finally:
        ws.close()


def test_disconnect_from_a_custom_namespace_keeps_the_main_one(srv):
    ws = connect(srv)
    try:
        ws.recv(), ws.recv()
        ws.send("40/custom")
        assert ws.recv(skip_pings=True).startswith("40/custom,")
        assert ws.recv(skip_pings=True) == '42/custom,["auth",{}]'
        ws.send("41/custom")
        ws.send('42["message","message to main namespace"]')
        assert ws.recv(skip_pings=True) == '42["message-back","message to main namespace"]'
    finally:
        ws.close()


def test_events_acks_and_binary_attachments(srv):
    ws = connect(srv)
    try:
        ws.recv(), ws.recv()
        ws.send('42["message",1,"2",{"3":[true]}]')
        assert ws.recv(skip_pings=True) == '42["message-back",1,"2",{"3":[true]}]'
        ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert ws.recv(skip_pings=True) == '43456[1,"2",{"3":[false]}]'
        ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        ws.send_binary(bytes([1, 2, 3]))
        ws.send_binary(bytes([4, 5, 6]))
        assert ws.recv(skip_pings=True) == \
            '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        assert ws.recv(skip_pings=True) == bytes([1, 2, 3])
        assert ws.recv(skip_pings=True) == bytes([4, 5, 6])
        ws.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        ws.send_binary(bytes([1, 2, 3]))
        ws.send_binary(bytes([4, 5, 6]))
        assert ws.recv(skip_pings=True) == '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        assert ws.recv(skip_pings=True) == bytes([1, 2, 3])
        assert ws.recv(skip_pings=True) == bytes([4, 5, 6])
    finally:
        ws.close()


def test_an_attachment_nobody_announced_or_a_missing_one_closes(srv):
    ws = connect(srv)
    ws.recv(), ws.recv()
    ws.send_binary(b"\x01")
    ws.expect_close()
    ws = connect(srv)
    ws.recv(), ws.recv()
    ws.send('451-["message",{"_placeholder":true,"num":3}]')
    ws.send_binary(b"\x01")
    ws.expect_close()
