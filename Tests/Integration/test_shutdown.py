"""Graceful shutdown on SIGTERM/SIGINT: every transport gets its goodbye, exit code 0."""
import json
import signal
import time

import pytest
import requests

from helpers import (META_SUBPROTOCOL, LongPoll, SSEClient, StreamClient, assert_error_json, publish,
                     wait_for_subscribers, ws_connect, ws_expect_close)


def test_sigterm_goodbyes_and_exit_0(make_server, chan):
    srv = make_server()
    ch = chan()
    ws = ws_connect(srv, f"/sub/{ch}")
    meta = ws_connect(srv, f"/sub/{ch}", subprotocol=META_SUBPROTOCOL)
    sse = SSEClient(srv, f"/sub/{ch}")
    st = StreamClient(srv, f"/sub/{ch}")
    lp = LongPoll(srv, f"/sub/{ch}")
    try:
        assert wait_for_subscribers(srv, ch, 5)
        publish(srv, ch, "last message")
        lp_first = lp.result()
        assert lp_first.status_code == 200
        lp = LongPoll(srv, f"/sub/{ch}", headers={"Last-Event-ID": lp_first.headers["Message-Id"]})
        assert wait_for_subscribers(srv, ch, 5)
        t0 = time.monotonic()
        srv.send_signal(signal.SIGTERM)

        code, reason, msgs = ws_expect_close(ws)
        assert (code, reason) == (1001, "server shutting down")
        assert msgs[:1] == [(1, b"last message")]
        code, reason, _ = ws_expect_close(meta)
        assert (code, reason) == (1001, "server shutting down")

        evs = sse.expect_end()
        assert evs[0].data == "last message"
        assert evs[-1].event == "switchboard-disconnect"
        assert json.loads(evs[-1].data) == {"reason": "shutdown"}

        chunks = st.expect_end(skip=lambda c: c == b"\n")
        assert chunks == [b"last message\n"]

        r = lp.result()
        assert_error_json(r.status_code, r.text, 503)

        rc = srv.proc.wait(8)
        srv.returncode = rc
        assert rc == 0, srv.log()[-2000:]
        assert time.monotonic() - t0 < 8
    finally:
        ws.close()
        meta.close()
        sse.close()
        st.close()


def test_sigint_exits_0(make_server):
    srv = make_server()
    rc = srv.stop(signal.SIGINT)
    assert rc == 0


def test_idle_sigterm_is_quick(make_server):
    srv = make_server()
    t0 = time.monotonic()
    assert srv.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 3


def test_port_is_free_after_shutdown(make_server):
    import socket
    srv = make_server()
    port = srv.port
    assert srv.stop() == 0
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
