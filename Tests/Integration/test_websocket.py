"""WebSocket subscribers: raw frames and the ws+meta.switchboard subprotocol."""
import pytest
import websocket

from helpers import (META_SUBPROTOCOL, RawWS, parse_meta, publish, wait_for_subscribers, ws_connect,
                     ws_recv, ws_recv_text)

TEXT, BINARY = websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY


def test_ws_receives_published_message(server, chan):
    ch = chan()
    ws = ws_connect(server, f"/sub/{ch}")
    try:
        wait_for_subscribers(server, ch, 1)
        doc = publish(server, ch, "hello ws")
        assert doc["subscribers"] == 1
        assert ws_recv_text(ws) == "hello ws"
    finally:
        ws.close()


def test_ws_text_vs_binary_frames(server, chan):
    ch = chan()
    ws = ws_connect(server, f"/sub/{ch}")
    try:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, "héllo ✓".encode())
        publish(server, ch, b"\xff\xfe\x00\x01", content_type="application/octet-stream")
        publish(server, ch, b"")
        # a UTF-8 payload declared binary is still UTF-8: the rule is about the bytes
        publish(server, ch, b"plain", content_type="application/octet-stream")
        assert ws_recv(ws) == (TEXT, "héllo ✓".encode())
        assert ws_recv(ws) == (BINARY, b"\xff\xfe\x00\x01")
        assert ws_recv(ws) == (TEXT, b"")
        assert ws_recv(ws) == (TEXT, b"plain")
    finally:
        ws.close()


def test_ws_large_message(server, chan):
    ch = chan()
    payload = ("x" * 1023 + "\n") * 512  # 512 KiB
    ws = ws_connect(server, f"/sub/{ch}")
    try:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, payload)
        assert ws_recv_text(ws, timeout=10) == payload
    finally:
        ws.close()


def test_ws_meta_subprotocol_frames(server, chan):
    ch = chan()
    ws = ws_connect(server, f"/sub/{ch}", subprotocol=META_SUBPROTOCOL)
    try:
        assert ws.getsubprotocol() == META_SUBPROTOCOL
        wait_for_subscribers(server, ch, 1)
        d1 = publish(server, ch, "hello", event="greeting", content_type="text/plain")
        d2 = publish(server, ch, "line1\nline2\n\nline4")
        d3 = publish(server, ch, b"\x00\xff", content_type="application/octet-stream")
        op, frame = ws_recv(ws)
        assert op == TEXT
        h, body = parse_meta(frame)
        assert h["id"] == d1["id"] and h["channel"] == ch
        assert h["content-type"].startswith("text/plain") and h["event"] == "greeting"
        assert body == b"hello"
        op, frame = ws_recv(ws)
        h, body = parse_meta(frame)
        assert h["id"] == d2["id"] and "event" not in h
        assert body == b"line1\nline2\n\nline4"
        op, frame = ws_recv(ws)
        assert op == BINARY
        h, body = parse_meta(frame)
        assert h["id"] == d3["id"] and h["content-type"].startswith("application/octet-stream")
        assert body == b"\x00\xff"
    finally:
        ws.close()


def test_ws_several_subscribers_each_get_every_message(server, chan):
    ch = chan()
    clients = [ws_connect(server, f"/sub/{ch}") for _ in range(5)]
    try:
        wait_for_subscribers(server, ch, 5)
        for i in range(10):
            publish(server, ch, f"m{i}")
        for ws in clients:
            assert [ws_recv_text(ws) for _ in range(10)] == [f"m{i}" for i in range(10)]
    finally:
        for ws in clients:
            ws.close()


def test_ws_without_position_gets_only_new_messages(server, chan):
    ch = chan()
    publish(server, ch, "old")
    ws = ws_connect(server, f"/sub/{ch}")
    try:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, "new")
        assert ws_recv_text(ws) == "new"
    finally:
        ws.close()


def test_ws_forced_transport_query_with_upgrade(server, chan):
    ch = chan()
    ws = ws_connect(server, f"/sub/{ch}?transport=websocket")
    try:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, "forced")
        assert ws_recv_text(ws) == "forced"
    finally:
        ws.close()


def test_ws_client_close_is_answered_and_unsubscribes(server, chan):
    ch = chan()
    with RawWS(server, f"/sub/{ch}") as ws:
        wait_for_subscribers(server, ch, 1)
        ws.send_close(1000)
        code, _, _ = ws.expect_close()
        assert code == 1000
    # the subscription is gone
    from helpers import wait_until, channel_info
    assert wait_until(lambda: (channel_info(server, ch) or {"subscribers": 0})["subscribers"] == 0)


def test_ws_ping_from_client_gets_pong(server, chan):
    ch = chan()
    with RawWS(server, f"/sub/{ch}") as ws:
        ws.send_frame(0x9, b"are you there")
        while True:
            fin, op, payload = ws.recv_frame()
            if op == 0xA:
                assert payload == b"are you there"
                break
            assert op == 0x9, f"unexpected frame {op}"
