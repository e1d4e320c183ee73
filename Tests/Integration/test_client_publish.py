"""WebSocket subscribers publishing by sending frames, where security.client_publish allows it."""
import pytest
import requests
import websocket

from helpers import (RawWS, SSEClient, channel_info, publish, wait_for_subscribers, ws_connect,
                     ws_expect_close, ws_recv_text)


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(client_publish=["chat.*", "exact"], websocket_echo=True,
                              max_message_size=4096)


def test_client_publish_allowed(srv, chan):
    ch = "chat." + chan()
    ws = ws_connect(srv, f"/sub/{ch}")
    try:
        with SSEClient(srv, f"/sub/{ch}") as sse:
            wait_for_subscribers(srv, ch, 2)
            ws.send("from a client")
            ev = sse.next_event()
            assert ev.data == "from a client"
            assert ev.id == channel_info(srv, ch)["last_id"]
            ws.send_binary(b"\x00\x01\xff")
            ev = sse.next_event()
            assert ev.data_bytes == b"\x00\x01\xff"
    finally:
        ws.close()
    assert channel_info(srv, ch)["published"] == 2


def test_client_publish_exact_pattern(srv, chan):
    ws = ws_connect(srv, "/sub/exact")
    try:
        with SSEClient(srv, "/sub/exact") as sse:
            wait_for_subscribers(srv, "exact", 2)
            ws.send("exact match")
            assert sse.next_event().data == "exact match"
    finally:
        ws.close()


def test_a_foreign_page_may_subscribe_but_not_publish(srv, chan):
    """/sub takes security.subscribe_origins (any by default), but a frame sent to publish is a write, which
    needs the main Origin policy. Before: a page on another site published through a /sub WebSocket."""
    ch = "chat." + chan()
    with SSEClient(srv, f"/sub/{ch}") as sse:
        ws = websocket.create_connection(f"{srv.ws_url}/sub/{ch}", origin="http://evil.example", timeout=5)
        try:
            wait_for_subscribers(srv, ch, 2)
            publish(srv, ch, "for everyone")
            assert ws_recv_text(ws) == "for everyone"   # subscribing works
            sse.next_event()
            ws.send("FORGED")
            code, _, _ = ws_expect_close(ws)
            assert code == 1008
        finally:
            ws.close()
        sse.assert_no_event(0.3)
    assert channel_info(srv, ch)["published"] == 1


@pytest.mark.parametrize("name", ["other", "chat", "chatx.y", "exactly"])
def test_client_publish_denied_1008(srv, chan, name):
    ch = f"{name}" if name in ("chat", "exact", "exactly") else f"{name}.{chan()}"
    with SSEClient(srv, f"/sub/{ch}") as sse:
        ws = ws_connect(srv, f"/sub/{ch}")
        try:
            wait_for_subscribers(srv, ch, 2)
            ws.send("not allowed")
            code, _, _ = ws_expect_close(ws)
            assert code == 1008
        finally:
            ws.close()
        sse.assert_no_event(0.3)
    # and the denied message was not published
    info = channel_info(srv, ch)
    assert info is None or info["published"] == 0, info


def test_client_publish_denied_on_multichannel(srv, chan):
    a, b = "chat." + chan("a"), "chat." + chan("b")
    ws = ws_connect(srv, f"/sub/{a},{b}")
    try:
        wait_for_subscribers(srv, a, 1)
        ws.send("to which channel?")
        code, _, _ = ws_expect_close(ws)
        assert code == 1008
    finally:
        ws.close()


def test_client_publish_denied_by_default(server, chan):
    # The default patterns ("chat", "chat.*") are the chat application's rooms; elsewhere it is denied.
    ch = "news." + chan()
    ws = ws_connect(server, f"/sub/{ch}")
    try:
        ws.send("x")
        code, _, _ = ws_expect_close(ws)
        assert code == 1008
    finally:
        ws.close()


def test_client_publish_invalid_utf8_1007(srv, chan):
    ch = "chat." + chan()
    with SSEClient(srv, f"/sub/{ch}") as sse, RawWS(srv, f"/sub/{ch}") as ws:
        wait_for_subscribers(srv, ch, 2)
        ws.send_frame(0x1, b"bad \xff\xfe utf8")
        code, _, _ = ws.expect_close()
        assert code == 1007
        sse.assert_no_event(0.3)


def test_client_publish_oversized_1009(srv, chan):
    ch = "chat." + chan()
    with RawWS(srv, f"/sub/{ch}") as ws:
        ws.send_frame(0x2, b"x" * 5000)
        code, _, _ = ws.expect_close()
        assert code == 1009


def test_client_publish_fragmented_message(srv, chan):
    ch = "chat." + chan()
    with SSEClient(srv, f"/sub/{ch}") as sse, RawWS(srv, f"/sub/{ch}") as ws:
        wait_for_subscribers(srv, ch, 2)
        ws.send_frame(0x1, b"frag", fin=False)
        ws.send_frame(0x9, b"ping in between")
        ws.send_frame(0x0, b"men", fin=False)
        ws.send_frame(0x0, b"ted", fin=True)
        assert sse.next_event().data == "fragmented"
