"""Chunked HTTP stream subscribers and message_template placeholders."""
import time

import pytest

from helpers import StreamClient, publish, wait_for_subscribers

TEMPLATE = "~id~|~channel~|~event-type~|~content-type~|~time~|~text~\n"


def test_stream_default_template(server, chan):
    ch = chan()
    with StreamClient(server, f"/sub/{ch}") as st:
        wait_for_subscribers(server, ch, 1)
        publish(server, ch, "hello stream")
        publish(server, ch, "second")
        assert st.next_chunk(skip=lambda c: c == b"\n") == b"hello stream\n"
        assert st.next_chunk(skip=lambda c: c == b"\n") == b"second\n"


@pytest.fixture(scope="module")
def tsrv(make_module_server):
    return make_module_server(message_template=TEMPLATE)


def is_ping(chunk):
    return chunk.split(b"|")[2:3] == [b"ping"]


def test_stream_template_placeholders(tsrv, chan):
    ch = chan()
    with StreamClient(tsrv, f"/sub/{ch}") as st:
        wait_for_subscribers(tsrv, ch, 1)
        before = int(time.time() * 1000)
        d1 = publish(tsrv, ch, "hi there", event="greeting", content_type="text/x-custom")
        after = int(time.time() * 1000)
        d2 = publish(tsrv, ch, "no event")
        c1 = st.next_chunk(skip=is_ping).decode()
        c2 = st.next_chunk(skip=is_ping).decode()
    f = c1.split("|")
    assert f[0] == d1["id"] and f[1] == ch and f[2] == "greeting"
    assert f[3].startswith("text/x-custom")
    assert before - 5 <= int(f[4]) <= after + 5
    assert f[5] == "hi there\n"
    f = c2.split("|")
    assert f[0] == d2["id"] and f[2] == "" and f[5] == "no event\n"


def test_stream_one_chunk_per_message(tsrv, chan):
    ch = chan()
    with StreamClient(tsrv, f"/sub/{ch}") as st:
        wait_for_subscribers(tsrv, ch, 1)
        ids = [publish(tsrv, ch, f"msg{i}")["id"] for i in range(20)]
        chunks = [st.next_chunk(skip=is_ping).decode() for _ in range(20)]
    assert [c.split("|")[0] for c in chunks] == ids
    assert [c.split("|")[5] for c in chunks] == [f"msg{i}\n" for i in range(20)]


def test_stream_keepalive_uses_template_with_ping_event(tsrv, chan):
    ch = chan()
    with StreamClient(tsrv, f"/sub/{ch}") as st:
        c = st.next_chunk(timeout=3.5).decode()  # ping_interval is 1 s
    f = c.split("|")
    assert f[2] == "ping", c
    assert f[1] in ("", ch) and f[5] == "\n", c


def test_stream_ping_template(make_server, chan):
    srv = make_server(message_template="M:~text~\n", ping_template="P\n")
    ch = chan()
    with StreamClient(srv, f"/sub/{ch}") as st:
        assert st.next_chunk(timeout=3.5) == b"P\n"
        wait_for_subscribers(srv, ch, 1)
        publish(srv, ch, "x")
        assert st.next_chunk(skip=lambda c: c == b"P\n") == b"M:x\n"
