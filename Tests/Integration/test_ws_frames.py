"""Malformed WebSocket frames: 1002; invalid UTF-8: 1007; oversized: 1009 (echo endpoint and /sub)."""
import struct

import pytest
import requests
import websocket

from helpers import RawWS, SSEClient, publish, wait_for_subscribers, ws_connect, ws_expect_close


@pytest.fixture(scope="module")
def holder(make_revivable):
    return make_revivable(websocket_echo=True, max_message_size=4096, client_publish=["pub.*"])


@pytest.fixture
def srv(holder):
    return holder.get()


@pytest.fixture(autouse=True)
def still_serving(srv):
    """After each bad frame the server is alive and still delivers to an earlier subscriber."""
    from helpers import ws_recv_text
    watcher = ws_connect(srv, "/sub/frames-watcher")
    wait_for_subscribers(srv, "frames-watcher", 1)
    try:
        yield
        assert srv.alive(), "server died:\n" + srv.crash_summary()
        publish(srv, "frames-watcher", "alive")
        assert ws_recv_text(watcher) == "alive"
    finally:
        watcher.close()


def test_echo_endpoint_echoes(srv):
    ws = ws_connect(srv, "/echo")
    try:
        ws.send("hello echo")
        assert ws.recv() == "hello echo"
        ws.send_binary(b"\x00\xff")
        assert ws.recv() == b"\x00\xff"
    finally:
        ws.close()


def test_echo_absent_by_default(server):
    r = requests.get(f"{server.url}/echo", timeout=5)
    assert r.status_code == 404


PROTOCOL_ERRORS = {
    "unmasked": dict(opcode=0x1, payload=b"hi", mask=False),
    "rsv1": dict(opcode=0x1, payload=b"hi", rsv=4),
    "rsv2": dict(opcode=0x1, payload=b"hi", rsv=2),
    "rsv3": dict(opcode=0x2, payload=b"hi", rsv=1),
    "reserved-opcode-3": dict(opcode=0x3, payload=b""),
    "reserved-opcode-b": dict(opcode=0xB, payload=b""),
    "fragmented-ping": dict(opcode=0x9, payload=b"x", fin=False),
    "ping-over-125": dict(opcode=0x9, payload=b"p" * 126),
    "continuation-first": dict(opcode=0x0, payload=b"x"),
    "close-1-byte": dict(opcode=0x8, payload=b"\x03"),
    "close-code-1005": dict(opcode=0x8, payload=struct.pack("!H", 1005)),
    "close-code-999": dict(opcode=0x8, payload=struct.pack("!H", 999)),
}


@pytest.mark.parametrize("name", list(PROTOCOL_ERRORS))
@pytest.mark.parametrize("path", ["/echo", "/sub/{ch}"])
def test_protocol_error_1002(srv, chan, name, path):
    with RawWS(srv, path.format(ch=chan())) as ws:
        kw = dict(PROTOCOL_ERRORS[name])
        ws.send_frame(kw.pop("opcode"), kw.pop("payload"), **kw)
        code, reason, _ = ws.expect_close()
        assert code == 1002, (name, code, reason)


def test_new_message_inside_fragmented_message_1002(srv):
    with RawWS(srv, "/echo") as ws:
        ws.send_frame(0x1, b"part", fin=False)
        ws.send_frame(0x1, b"another start", fin=True)
        code, _, _ = ws.expect_close()
        assert code == 1002


@pytest.mark.parametrize("path", ["/echo", "/sub/pub.{ch}"])
def test_invalid_utf8_text_1007(srv, chan, path):
    with RawWS(srv, path.format(ch=chan())) as ws:
        ws.send_frame(0x1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")
        code, _, frames = ws.expect_close()
        assert code == 1007
        assert frames == []


def test_invalid_utf8_split_across_fragments_1007(srv):
    with RawWS(srv, "/echo") as ws:
        ws.send_frame(0x1, b"ok \xf0\x90", fin=False)
        ws.send_frame(0x0, b"\x28\x8c", fin=True)  # broken 4-byte sequence
        code, _, _ = ws.expect_close()
        assert code == 1007


def test_invalid_utf8_close_reason_1007(srv):
    with RawWS(srv, "/echo") as ws:
        ws.send_frame(0x8, struct.pack("!H", 1000) + b"\xff\xfe")
        code, _, _ = ws.expect_close()
        assert code == 1007


@pytest.mark.parametrize("path", ["/echo", "/sub/pub.{ch}", "/sub/{ch}"])
def test_oversized_frame_1009(srv, chan, path):
    with RawWS(srv, path.format(ch=chan())) as ws:
        ws.send_frame(0x2, b"o" * 5000)
        code, _, frames = ws.expect_close()
        assert code == 1009
        assert frames == []


def test_oversized_announced_length_1009_without_sending_body(srv):
    with RawWS(srv, "/echo") as ws:
        ws.conn.send(RawWS.frame(0x2, b"", length_override=1 << 40)[:14])  # header only
        code, _, _ = ws.expect_close()
        assert code == 1009


def test_oversized_fragmented_message_1009(srv):
    with RawWS(srv, "/echo") as ws:
        ws.send_frame(0x1, b"f" * 1000, fin=False)
        for _ in range(4):
            ws.send_frame(0x0, b"f" * 1000, fin=False)
        ws.send_frame(0x0, b"end", fin=True)
        code, _, _ = ws.expect_close()
        assert code == 1009


def test_message_at_limit_is_echoed(srv):
    ws = ws_connect(srv, "/echo")
    try:
        ws.send_binary(b"k" * 4096)
        assert ws.recv() == b"k" * 4096
    finally:
        ws.close()


def test_close_handshake_echoes_code(srv):
    with RawWS(srv, "/echo") as ws:
        ws.send_close(1000, b"bye")
        code, _, _ = ws.expect_close()
        assert code == 1000
        assert ws.conn.closed_by_peer(3)


def test_bad_upgrade_version_refused(srv):
    from helpers import raw_request
    r = raw_request(srv, "GET", "/echo", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert r.status in (400, 426), r
