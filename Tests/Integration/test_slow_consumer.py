"""A subscriber that does not read is disconnected once its outbound queue passes
limits.max_outbound_bytes; the other subscribers still get everything."""
import socket
import time

import pytest

from helpers import RawConn, RawWS, SSEClient, publish, stats, wait_for_subscribers, wait_until, ws_connect, \
    ws_recv_text

N, SIZE = 200, 64 * 1024  # 12.5 MiB in total, far over socket buffers + 64 KiB queue
N_SSE = 80  # SSE encoding of 64 KiB payloads is slow in debug builds; ~5 MiB is still plenty


@pytest.fixture(scope="module")
def srv(make_module_server):
    # A long ping interval: these tests are about the outbound limit, and a client that reads nothing also
    # answers no ping, which the keep-alive would (rightly) end first with a 1 s interval.
    return make_module_server(max_outbound_bytes=65536, ping_interval=30)


def test_slow_websocket_consumer_closed_4002(srv, chan):
    ch = chan()
    slow = RawWS(srv, f"/sub/{ch}", rcvbuf=4096)
    good = ws_connect(srv, f"/sub/{ch}")
    good.settimeout(10)
    try:
        assert wait_for_subscribers(srv, ch, 2)
        received = []
        for i in range(N):
            publish(srv, ch, (f"{i:08d}" + "x" * (SIZE - 8)))
            received.append(ws_recv_text(good, timeout=10)[:8])  # the good one keeps up
        assert received == [f"{i:08d}" for i in range(N)]
        # now drain the slow one: partial data, then close 4002 (or at least a closed connection)
        slow.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        code, reason, frames = slow.expect_close(timeout=15)
        assert len(frames) < N, "the slow consumer was not disconnected"
        assert code == 4002 and reason == "slow consumer", (code, reason, len(frames))
    finally:
        slow.close()
        good.close()
    # the server forgot the slow subscriber
    assert wait_until(lambda: stats(srv)["connections"]["websocket"] == 0, 3)


def test_slow_sse_consumer_gets_disconnect_event(srv, chan):
    ch = chan()
    slow = SSEClient(srv, f"/sub/{ch}", rcvbuf=4096)
    good = SSEClient(srv, f"/sub/{ch}")
    try:
        assert wait_for_subscribers(srv, ch, 2)
        for i in range(N_SSE):
            publish(srv, ch, f"{i:08d}" + "y" * (SIZE - 8))
            assert good.next_event(timeout=10).data[:8] == f"{i:08d}"
        slow.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        evs = slow.expect_end(timeout=15)
        data_events = [e for e in evs if e.event is None]
        assert len(data_events) < N_SSE
        assert evs[-1].event == "switchboard-disconnect", evs[-1].raw[:3]
        assert evs[-1].json() == {"reason": "slow-consumer"}
    finally:
        slow.close()
        good.close()


def test_server_healthy_after_slow_consumers(srv, chan):
    ch = chan()
    with SSEClient(srv, f"/sub/{ch}") as sse:
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "fine")
        assert sse.next_event().data == "fine"
