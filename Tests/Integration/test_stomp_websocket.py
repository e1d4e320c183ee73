"""STOMP over WebSocket at /stomp: stomp.py's WSConnection, subprotocol negotiation, one frame per
message (text or binary), client frames read as a byte stream, interop with STOMP over TCP."""
import pytest
import websocket

from helpers import stats, wait_until
from stomp_helpers import stomp_client, unique  # noqa: F401  (fixture)
from stomp_raw import RawStompWS, encode_frame

# The broker's functional tests run with an open policy: every client may send anywhere
# (the policy itself is tested in test_security_policy.py).
OPEN = ["*"]

TEXT, BINARY = websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(client_publish=OPEN, client_queues=OPEN)


def ws_url(srv):
    return f"ws://127.0.0.1:{srv.port}/stomp"


# ------------------------------------------------------------------ stomp.py WSConnection

def test_wsconnection_connect_subscribe_send_receive(srv, stomp_client, chan):
    ch = chan()
    c = stomp_client(srv, ws=True)
    assert c.connected_frame.headers["version"] == "1.2"
    sid = c.subscribe(f"/topic/{ch}")
    c.send(f"/topic/{ch}", "over websocket", receipt=True, headers={"x-ws": "1"})
    m = c.next_message()
    assert (m.body, m.headers["subscription"], m.headers["x-ws"]) == ("over websocket", sid, "1")
    c.disconnect()


def test_wsconnection_with_subprotocol_header(srv, stomp_client, chan):
    """Like stomp.js in a browser: the handshake offers v12.stomp."""
    q = f"/queue/{unique('wsq')}"
    c = stomp_client(srv, ws=True, ws_header={"Sec-WebSocket-Protocol": "v12.stomp,v11.stomp,v10.stomp"})
    c.subscribe(q, ack="client-individual")
    c.send(q, "queued over ws", receipt=True)
    m = c.next_message()
    c.ack(m, receipt=True)
    assert m.body == "queued over ws"


def test_websocket_and_tcp_clients_share_destinations(srv, stomp_client, chan):
    ch = chan()
    q = f"/queue/{unique('mix')}"
    ws_c = stomp_client(srv, ws=True)
    tcp_c = stomp_client(srv)
    ws_c.subscribe(f"/topic/{ch}")
    tcp_c.subscribe(q)
    tcp_c.send(f"/topic/{ch}", "tcp -> ws", receipt=True)
    ws_c.send(q, "ws -> tcp", receipt=True)
    assert ws_c.next_message().body == "tcp -> ws"
    assert tcp_c.next_message().body == "ws -> tcp"


def test_many_messages_over_websocket_in_order(srv, stomp_client, chan):
    ch = chan()
    sub = stomp_client(srv, ws=True)
    sub.subscribe(f"/topic/{ch}")
    pub = stomp_client(srv, ws=True)
    for i in range(1000):
        pub.send(f"/topic/{ch}", f"m{i}")
    pub.sync()
    assert [m.body for m in sub.messages(1000, timeout=20)] == [f"m{i}" for i in range(1000)]


# ------------------------------------------------------------------ subprotocols

@pytest.mark.parametrize("offered,expected", [
    (["v12.stomp"], "v12.stomp"),
    (["v11.stomp"], "v11.stomp"),
    (["v10.stomp"], "v10.stomp"),
    (None, None),
])
def test_subprotocol_negotiation(srv, offered, expected):
    with RawStompWS(ws_url(srv), subprotocols=offered) as w:
        assert w.subprotocol == expected
        assert w.connect("1.0,1.1,1.2").command == "CONNECTED"


def test_subprotocol_chosen_from_several(srv):
    offered = ["v10.stomp", "v11.stomp", "v12.stomp"]
    with RawStompWS(ws_url(srv), subprotocols=offered) as w:
        assert w.subprotocol in offered
        assert w.connect().command == "CONNECTED"


def test_websocket_disabled(make_server):
    srv = make_server(stomp={"websocket": False}, client_publish=OPEN, client_queues=OPEN)
    with pytest.raises(websocket.WebSocketException):
        websocket.create_connection(ws_url(srv), timeout=5, subprotocols=["v12.stomp"])


# ------------------------------------------------------------------ framing over WebSocket

def test_each_server_frame_is_one_message(srv, chan):
    dest = f"/topic/{chan()}"
    with RawStompWS(ws_url(srv)) as w:
        w.connect()
        w.send(encode_frame("SUBSCRIBE", [("destination", dest), ("id", "s"), ("receipt", "r1")])
               + encode_frame("SEND", [("destination", dest), ("receipt", "r2")], "one")
               + encode_frame("SEND", [("destination", dest)], "two"))
        frames = [w.recv() for _ in range(4)]         # recv asserts one frame per message
        assert sorted(f.command for f in frames) == ["MESSAGE", "MESSAGE", "RECEIPT", "RECEIPT"]
        assert [f.body for f in frames if f.command == "MESSAGE"] == [b"one", b"two"]
        assert all(f.opcode == TEXT for f in frames)


def test_client_frame_split_over_messages(srv, chan):
    dest = f"/topic/{chan()}"
    with RawStompWS(ws_url(srv)) as w:
        blob = encode_frame("CONNECT", [("accept-version", "1.2"), ("host", "x")], version=None)
        for i in range(0, len(blob), 5):
            w.send(blob[i:i + 5])
        assert w.recv().command == "CONNECTED"
        sub = encode_frame("SUBSCRIBE", [("destination", dest), ("id", "s"), ("receipt", "r1")])
        w.send(sub[:7])
        w.send(sub[7:])
        assert w.recv().command == "RECEIPT"
        send = encode_frame("SEND", [("destination", dest)], b"split\x00body", content_length=True)
        half = len(send) // 2
        w.send(send[:half], binary=True)
        w.send(send[half:], binary=True)
        m = w.expect("MESSAGE")
        assert m.body == b"split\x00body"


def test_binary_body_is_a_binary_message(srv, chan):
    dest = f"/topic/{chan()}"
    body = b"\xff\xfe\x00\x80binary"
    with RawStompWS(ws_url(srv)) as w:
        w.connect()
        w.send_frame("SUBSCRIBE", [("destination", dest), ("id", "s"), ("receipt", "r1")])
        assert w.recv().command == "RECEIPT"
        w.send_frame("SEND", [("destination", dest), ("content-type", "application/octet-stream")], body,
                     binary=True)
        m = w.expect("MESSAGE")
        assert m.body == body
        assert m.opcode == BINARY
        w.send_frame("SEND", [("destination", dest)], "héllo ✓".encode())
        m = w.expect("MESSAGE")
        assert m.opcode == TEXT and m.body.decode() == "héllo ✓"


def test_error_then_close_over_websocket(srv, chan):
    with RawStompWS(ws_url(srv)) as w:
        w.send(encode_frame("SEND", [("destination", f"/topic/{chan()}")], "too early"))
        err = w.expect("ERROR")
        assert err.get("message")
        assert w.closed(3)


def test_disconnect_receipt_over_websocket(srv):
    with RawStompWS(ws_url(srv)) as w:
        w.connect()
        w.send_frame("DISCONNECT", [("receipt", "bye")])
        r = w.expect("RECEIPT")
        assert r.get("receipt-id") == "bye"
        assert w.closed(3)


def test_stats_count_websocket_connections(srv, stomp_client):
    c = stomp_client(srv, ws=True)
    assert wait_until(lambda: stats(srv)["stomp"]["connections"]["websocket"] >= 1, 3)
    c.disconnect()
    assert wait_until(lambda: stats(srv)["stomp"]["connections"]["websocket"] == 0, 3)
