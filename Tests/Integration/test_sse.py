"""Server-Sent Events subscribers."""
import base64

import requests

from helpers import SSEClient, publish, wait_for_subscribers


def test_sse_response_headers(server, chan):
    with SSEClient(server, f"/sub/{chan()}") as sse:
        assert sse.headers.get("Content-Type", "").startswith("text/event-stream")


def test_sse_receives_message_with_id(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        doc = publish(server, ch, "hello sse")
        ev = sse.next_event()
        assert ev.id == doc["id"]
        assert ev.data == "hello sse"
        assert ev.event is None


def test_sse_event_field(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, "hi", event="greeting")
        publish(server, ch, "plain")
        ev = sse.next_event()
        assert (ev.event, ev.data) == ("greeting", "hi")
        ev = sse.next_event()
        assert (ev.event, ev.data) == (None, "plain")


def test_sse_multiline_data(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, "line one\nline two\n\nline four")
        ev = sse.next_event()
        assert ev.data_lines == ["line one", "line two", "", "line four"]
        assert ev.data == "line one\nline two\n\nline four"


def test_sse_binary_payload_is_base64(server, chan):
    ch = chan()
    raw = b"\xff\xfe\x00bin\x80"
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, raw, content_type="application/octet-stream")
        ev = sse.next_event()
        assert "base64" in ev.comments, ev.raw
        assert ev.raw.index(": base64") < min(i for i, line in enumerate(ev.raw) if line.startswith("data"))
        assert base64.b64decode(ev.data) == raw


def test_sse_utf8_payload_not_base64(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, "grüße ✓".encode(), content_type="application/octet-stream")
        ev = sse.next_event()
        assert "base64" not in ev.comments
        assert ev.data == "grüße ✓"


def test_sse_forced_by_query_without_accept(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}?transport=sse", accept=False) as sse:
        assert sse.headers.get("Content-Type", "").startswith("text/event-stream")
        wait_for_subscribers(server, ch, 1)
        doc = publish(server, ch, "q")
        ev = sse.next_event()
        assert (ev.id, ev.data) == (doc["id"], "q")


def test_sse_order_of_many_messages(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        ids = [publish(server, ch, f"n{i}")["id"] for i in range(50)]
        evs = sse.events(50)
        assert [e.id for e in evs] == ids
        assert [e.data for e in evs] == [f"n{i}" for i in range(50)]


def test_sse_with_sseclient_py_library(server, chan):
    """A third-party EventSource client parses our stream."""
    import threading
    import sseclient
    ch = chan()
    resp = requests.get(f"{server.url}/sub/{ch}", stream=True,
                        headers={"Accept": "text/event-stream"}, timeout=5)
    got = []
    try:
        wait_for_subscribers(server, ch, 1)
        ids = [publish(server, ch, d, event="e")["id"] for d in ("a", "b\nc")]
        client = sseclient.SSEClient(resp)

        def read():
            for ev in client.events():
                got.append(ev)
                if len(got) == 2:
                    return
        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(5)
    finally:
        resp.close()
    assert [(e.id, e.event, e.data) for e in got] == [(ids[0], "e", "a"), (ids[1], "e", "b\nc")]
