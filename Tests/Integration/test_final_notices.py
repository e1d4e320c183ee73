"""DELETE /pub/CH: every transport gets its final notice; subscribers_closed counts them."""
import json

import requests

from helpers import (META_SUBPROTOCOL, LongPoll, SSEClient, StreamClient, assert_error_json, channel_info,
                     publish, wait_for_subscribers, ws_connect, ws_expect_close)

TEMPLATE = "~event-type~|~text~\n"


def test_delete_final_notices_every_transport(make_module_server, chan):
    srv = make_module_server(message_template=TEMPLATE)
    ch = chan()
    publish(srv, ch, "before")
    ws = ws_connect(srv, f"/sub/{ch}")
    meta = ws_connect(srv, f"/sub/{ch}", subprotocol=META_SUBPROTOCOL)
    sse = SSEClient(srv, f"/sub/{ch}")
    st = StreamClient(srv, f"/sub/{ch}")
    lp = LongPoll(srv, f"/sub/{ch}")
    try:
        assert wait_for_subscribers(srv, ch, 5)
        r = requests.delete(f"{srv.url}/pub/{ch}", timeout=5)
        assert r.status_code == 200
        assert r.json() == {"channel": ch, "deleted": True, "subscribers_closed": 5}

        code, reason, _ = ws_expect_close(ws)
        assert (code, reason) == (4001, "channel deleted")
        code, reason, _ = ws_expect_close(meta)
        assert (code, reason) == (4001, "channel deleted")

        evs = sse.expect_end()
        assert len(evs) == 1, evs
        assert evs[0].event == "switchboard-channel-deleted"
        assert json.loads(evs[0].data) == {"channel": ch}

        chunks = st.expect_end(skip=lambda c: c.startswith(b"ping|"))
        assert len(chunks) == 1 and chunks[0].startswith(b"switchboard-channel-deleted|"), chunks

        resp = lp.result()
        assert_error_json(resp.status_code, resp.text, 410)
    finally:
        ws.close()
        meta.close()
        sse.close()
        st.close()
    assert channel_info(srv, ch) is None


def test_delete_counts_only_that_channels_subscribers(server, chan):
    a, b = chan("a"), chan("b")
    with SSEClient(server, f"/sub/{a}") as sa, SSEClient(server, f"/sub/{a}") as sa2, \
            SSEClient(server, f"/sub/{b}") as sb:
        wait_for_subscribers(server, a, 2)
        wait_for_subscribers(server, b, 1)
        r = requests.delete(f"{server.url}/pub/{a}", timeout=5)
        assert r.json()["subscribers_closed"] == 2
        sa.expect_end()
        sa2.expect_end()
        publish(server, b, "still here")
        assert sb.next_event().data == "still here"


def test_delete_one_channel_of_multichannel_subscription(server, chan):
    a, b = chan("a"), chan("b")
    with SSEClient(server, f"/sub/{a},{b}") as sse:
        wait_for_subscribers(server, a, 1)
        r = requests.delete(f"{server.url}/pub/{a}", timeout=5)
        assert r.status_code == 200 and r.json()["subscribers_closed"] == 1
        evs = sse.expect_end()
        assert evs[-1].event == "switchboard-channel-deleted"
        assert json.loads(evs[-1].data) == {"channel": a}
