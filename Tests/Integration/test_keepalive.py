"""Keep-alive pings (ping_interval = 1 s in the test config) and dead-peer detection."""
import socket
import time

import websocket

from helpers import RawWS, SSEClient, ws_connect


def test_sse_ping_comment(server, chan):
    with SSEClient(server, f"/sub/{chan()}") as sse:
        t0 = time.monotonic()
        ev = sse.next_block(timeout=3.5)
        assert ev.comments == ["ping"] and not ev.data_lines, ev.raw
        ev = sse.next_block(timeout=3.5)
        assert ev.comments == ["ping"], ev.raw
        assert time.monotonic() - t0 < 3.5


def test_sse_pings_come_once_per_interval_not_more(server, chan):
    # One subscriber on the loop: the keep-alive timer works in 100 ms slices and must still tick each
    # connection once per interval (a regression pinged it every slice).
    with SSEClient(server, f"/sub/{chan()}") as sse:
        t0 = time.monotonic()
        pings = 0
        while time.monotonic() - t0 < 3.2:
            try:
                ev = sse.next_block(timeout=max(0.1, 3.2 - (time.monotonic() - t0)))
            except Exception:
                break
            pings += ev.comments.count("ping")
        assert 2 <= pings <= 4, pings


def test_websocket_ping_frames(server, chan):
    ws = ws_connect(server, f"/sub/{chan()}")
    try:
        ws.settimeout(3.5)
        seen = 0
        t0 = time.monotonic()
        while seen < 2:
            opcode, frame = ws.recv_data_frame(control_frame=True)  # websocket-client answers pongs
            assert opcode == websocket.ABNF.OPCODE_PING, f"unexpected opcode {opcode}"
            seen += 1
        assert time.monotonic() - t0 < 4
        assert ws.connected
    finally:
        ws.close()


def test_websocket_answering_pongs_stays_connected(server, chan):
    ws = ws_connect(server, f"/sub/{chan()}")
    try:
        ws.settimeout(1.0)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                pass
        assert ws.connected
        ws.ping(b"x")  # still usable
    finally:
        ws.close()


def test_websocket_dead_peer_is_disconnected(server, chan):
    """A client that reads but never answers pings is dropped (TCP closed) after about a ping interval."""
    with RawWS(server, f"/sub/{chan()}") as ws:
        t0 = time.monotonic()
        pings = 0
        closed = False
        while time.monotonic() - t0 < 6:
            try:
                fin, op, payload = ws.recv_frame(timeout=6)
            except EOFError:
                closed = True
                break
            except (socket.timeout, TimeoutError):
                break
            if op == 0x9:
                pings += 1
            elif op == 0x8:
                # a close frame is acceptable before the TCP close
                continue
        assert pings >= 1
        assert closed, "server kept a peer that never answered pings"
        assert time.monotonic() - t0 < 5


def test_websockets_library_keepalive(server, chan):
    """The `websockets` asyncio client (which answers pings itself) stays subscribed across pings."""
    import asyncio
    import requests
    from websockets.asyncio.client import connect

    ch = chan()

    async def run():
        async with connect(f"{server.ws_url}/sub/{ch}", ping_interval=None) as ws:
            await asyncio.sleep(2.5)  # a couple of server pings
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: requests.post(f"{server.url}/pub/{ch}", data=b"after pings", timeout=5))
            return await asyncio.wait_for(ws.recv(), 5)

    assert asyncio.run(run()) == "after pings"
