"""STOMP wire rules over raw TCP: framing, EOLs, CRLF, content-length, escaping, version negotiation,
limits enforced while reading, and ERROR-then-close for frames the server cannot accept."""
import os
import re

import pytest
import requests

from stomp_raw import RawStomp, encode_frame, raw_connect

# The broker's functional tests run with an open policy: every client may send anywhere
# (the policy itself is tested in test_security_policy.py).
OPEN = ["*"]

MAX_HEADER_LENGTH = 1024
MAX_HEADERS = 16
MAX_BODY = 8192


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(stomp={"max_header_length": MAX_HEADER_LENGTH, "max_headers": MAX_HEADERS},
                              limits={"max_message_size": MAX_BODY}, client_publish=OPEN, client_queues=OPEN)


def topic(chan):
    return f"/topic/{chan()}"


def healthy(srv):
    return requests.get(f"{srv.url}/healthz", timeout=5).status_code == 200


# ------------------------------------------------------------------ CONNECT / CONNECTED

def test_connected_headers(srv):
    with RawStomp.to(srv) as c:
        f = c.connect("1.2")
        assert f.get("version") == "1.2"
        assert re.fullmatch(r"Switchboard/\S+", f.get("server", "")), f
        assert f.get("session"), f
        assert re.fullmatch(r"\d+,\d+", f.get("heart-beat", "")), f


def test_stomp_command_is_connect(srv):
    with RawStomp.to(srv) as c:
        f = c.connect("1.2", command="STOMP")
        assert f.command == "CONNECTED" and f.get("version") == "1.2"


def test_sessions_differ(srv):
    with RawStomp.to(srv) as a, RawStomp.to(srv) as b:
        assert a.connect().get("session") != b.connect().get("session")


@pytest.mark.parametrize("offered,chosen", [
    ("1.2", "1.2"), ("1.1", "1.1"), ("1.0", "1.0"), ("1.0,1.1", "1.1"), ("1.1,1.2", "1.2"),
    ("1.2,1.0", "1.2"), ("1.0,1.1,1.2", "1.2"), ("1.1,2.0", "1.1"),
])
def test_version_negotiation(srv, offered, chosen):
    with RawStomp.to(srv) as c:
        f = c.connect(offered)
        assert f.get("version", "1.0") == chosen, f


def test_no_accept_version_is_1_0(srv, chan):
    """Without accept-version the session is STOMP 1.0: header values are not escaped at all."""
    dest = topic(chan)
    with RawStomp.to(srv) as c:
        f = c.connect(None)
        assert f.get("version") in (None, "1.0"), f
        c.subscribe(dest, id="s1", receipt="r1")
        # in 1.0 a backslash is just a backslash
        c.publish(dest, b"one-oh", headers=[("x-raw", "a\\cb\\z")], receipt="r2", version="1.0")
        m = c.expect("MESSAGE")
        assert m.get("x-raw") == "a\\cb\\z", m.raw
        assert m.body == b"one-oh"


def test_no_common_version(srv):
    with RawStomp.to(srv) as c:
        err = c.connect("2.0,3.1", expect="ERROR")
        assert set(err.get("version", "").split(",")) == {"1.0", "1.1", "1.2"}, err


def test_any_host_accepted(srv):
    for host in ("some.unknown.vhost", "/", None):
        with RawStomp.to(srv) as c:
            assert c.connect("1.2", host=host).command == "CONNECTED"


# ------------------------------------------------------------------ framing

def test_drip_fed_bytes(srv, chan):
    dest = topic(chan)
    with RawStomp.to(srv) as c:
        c.drip(c.connect_frame("1.2"))
        c.expect("CONNECTED")
        c.drip(encode_frame("SUBSCRIBE", [("destination", dest), ("id", "s"), ("receipt", "r1")]))
        c.expect_receipt("r1")
        c.drip(encode_frame("SEND", [("destination", dest), ("x-drip", "yes")], b"drip\x00fed"), chunk=3)
        m = c.expect("MESSAGE")
        assert m.body == b"drip\x00fed" and m.get("x-drip") == "yes"


def test_several_frames_in_one_write(srv, chan):
    dest = topic(chan)
    with RawStomp.to(srv) as c:
        blob = c.connect_frame("1.2") + encode_frame("SUBSCRIBE", [("destination", dest), ("id", "s"),
                                                                    ("receipt", "r1")])
        blob += b"".join(encode_frame("SEND", [("destination", dest)], f"m{i}") for i in range(5))
        blob += encode_frame("SEND", [("destination", dest), ("receipt", "r2")], "last")
        c.send(blob)
        c.expect("CONNECTED")
        c.expect_receipt("r1")
        c.expect_receipt("r2")
        got = [c.expect("MESSAGE").body for _ in range(6)]
        assert got == [b"m0", b"m1", b"m2", b"m3", b"m4", b"last"]


def test_crlf_line_endings(srv, chan):
    dest = topic(chan)
    with RawStomp.to(srv) as c:
        c.send(c.connect_frame("1.2", eol=b"\r\n"))
        c.expect("CONNECTED")
        c.send(encode_frame("SUBSCRIBE", [("destination", dest), ("id", "s"), ("receipt", "r1")], eol=b"\r\n"))
        c.expect_receipt("r1")
        c.send(encode_frame("SEND", [("destination", dest), ("x-a", "b")], b"crlf", eol=b"\r\n"))
        m = c.expect("MESSAGE")
        assert m.get("destination") == dest
        assert m.get("x-a") == "b", m.raw           # no trailing CR kept in values
        assert m.body == b"crlf"


def test_eols_between_frames(srv, chan):
    dest = topic(chan)
    with RawStomp.to(srv) as c:
        c.connect("1.2")
        c.send(b"\n\r\n\n" + encode_frame("SUBSCRIBE", [("destination", dest), ("id", "s"), ("receipt", "r1")])
               + b"\n\n\r\n")
        c.expect_receipt("r1")
        c.send(b"\n" + encode_frame("SEND", [("destination", dest)], "a") + b"\r\n\r\n"
               + encode_frame("SEND", [("destination", dest), ("receipt", "r2")], "b") + b"\n")
        c.expect_receipt("r2")
        assert [c.expect("MESSAGE").body for _ in range(2)] == [b"a", b"b"]


def test_content_length_body_with_nuls(srv, chan):
    dest = topic(chan)
    body = b"\x00a\x00\x00b\x00"
    with raw_connect(srv) as c:
        c.subscribe(dest, receipt="r1")
        c.publish(dest, body, content_length=True)
        m = c.expect("MESSAGE")
        assert m.body == body
        assert m.get("content-length") == str(len(body))


def test_body_without_content_length_ends_at_first_nul(srv, chan):
    dest = topic(chan)
    with raw_connect(srv) as c:
        c.subscribe(dest, receipt="r1")
        c.send(encode_frame("SEND", [("destination", dest)], b"hello", content_length=False)
               + encode_frame("SEND", [("destination", dest), ("receipt", "r2")], b"world", content_length=False))
        c.expect_receipt("r2")
        assert [c.expect("MESSAGE").body for _ in range(2)] == [b"hello", b"world"]


def test_binary_body_all_bytes(srv, chan):
    dest = topic(chan)
    body = bytes(range(256)) * 4
    with raw_connect(srv) as c:
        c.subscribe(dest, receipt="r1")
        c.publish(dest, body, headers=[("content-type", "application/octet-stream")])
        m = c.expect("MESSAGE")
        assert m.body == body
        assert m.get("content-type") == "application/octet-stream"


def test_empty_body(srv, chan):
    dest = topic(chan)
    with raw_connect(srv) as c:
        c.subscribe(dest, receipt="r1")
        c.publish(dest, b"", content_length=False)
        m = c.expect("MESSAGE")
        assert m.body == b"" and m.get("content-length", "0") == "0"


def test_body_at_the_limit_is_accepted(srv, chan):
    dest = topic(chan)
    body = os.urandom(MAX_BODY)
    with raw_connect(srv) as c:
        c.subscribe(dest, receipt="r1")
        c.publish(dest, body, receipt="r2")
        assert c.expect("MESSAGE").body == body


# ------------------------------------------------------------------ headers

def test_header_escaping_1_2(srv, chan):
    dest = topic(chan)
    value = "a:b\nc\\d\re"
    with raw_connect(srv, "1.2") as c:
        c.subscribe(dest, receipt="r1")
        c.publish(dest, b"x", headers=[("x-esc", value)])
        m = c.expect("MESSAGE")
        assert m.get("x-esc") == value
        # on the wire the server escaped every special character (1.2 also escapes CR)
        assert b"x-esc:a\\cb\\nc\\\\d\\re\n" in m.raw + b"\n", m.raw


def test_header_escaping_1_1(srv, chan):
    dest = topic(chan)
    value = "a:b\nc\\d"
    with raw_connect(srv, "1.1") as c:
        assert c.version == "1.1"
        c.subscribe(dest, receipt="r1")
        c.publish(dest, b"x", headers=[("x-esc", value)])
        m = c.expect("MESSAGE")
        assert m.get("x-esc") == value
        assert b"x-esc:a\\cb\\nc\\\\d\n" in m.raw + b"\n", m.raw


def test_header_escaping_across_versions(srv, chan):
    """A 1.0 publisher's literal backslashes reach a 1.2 subscriber as literal backslashes."""
    dest = topic(chan)
    with raw_connect(srv, "1.2") as sub, raw_connect(srv, None) as pub:
        sub.subscribe(dest, receipt="r1")
        pub.publish(dest, b"x", headers=[("x-lit", "back\\slash:colon")], version="1.0", receipt="r2")
        m = sub.expect("MESSAGE")
        assert m.get("x-lit") == "back\\slash:colon"
        assert b"x-lit:back\\\\slash\\ccolon" in m.raw, m.raw


def test_connect_headers_are_not_unescaped(srv):
    """CONNECT is never escaped: a backslash sequence that would be a bad escape elsewhere is fine."""
    with RawStomp.to(srv) as c:
        f = c.connect("1.2", host="odd\\host\\t", extra=[("x-client", "a\\qb")])
        assert f.command == "CONNECTED"


def test_utf8_header_values(srv, chan):
    dest = topic(chan)
    with raw_connect(srv) as c:
        c.subscribe(dest, receipt="r1")
        c.publish(dest, "grüße ✓".encode(), headers=[("x-name", "grüße ✓"), ("content-type", "text/plain;charset=utf-8")])
        m = c.expect("MESSAGE")
        assert m.get("x-name") == "grüße ✓"
        assert m.body.decode() == "grüße ✓"
        assert m.get("content-type") == "text/plain;charset=utf-8"


def test_header_values_are_not_trimmed(srv, chan):
    dest = topic(chan)
    with raw_connect(srv) as c:
        c.subscribe(dest, receipt="r1")
        c.publish(dest, b"x", headers=[("x-pad", "  spaced  "), ("x-empty", ""), ("x-colons", "a:b:c")])
        m = c.expect("MESSAGE")
        assert m.get("x-pad") == "  spaced  "
        assert m.get("x-empty") == ""
        assert m.get("x-colons") == "a:b:c"


def test_repeated_header_first_wins(srv, chan):
    a, b = topic(chan), topic(chan)
    with raw_connect(srv) as c:
        c.subscribe(a, id="sa", receipt="r1")
        c.subscribe(b, id="sb", receipt="r2")
        c.publish(a, b"rep", headers=[("destination", b), ("x-rep", "first"), ("x-rep", "second")], receipt="r3")
        m = c.expect("MESSAGE")
        assert (m.get("destination"), m.get("subscription")) == (a, "sa")
        assert m.get("x-rep") == "first", m.headers
        c.assert_no_frame(0.3)


def test_headers_below_the_limit_pass_through(srv, chan):
    dest = topic(chan)
    custom = [(f"x-h{i}", f"v{i}") for i in range(MAX_HEADERS - 4)]
    with raw_connect(srv) as c:
        c.subscribe(dest, receipt="r1")
        c.publish(dest, b"many", headers=custom)
        m = c.expect("MESSAGE")
        for k, v in custom:
            assert m.get(k) == v


# ------------------------------------------------------------------ ERROR, then close

def test_frame_before_connect(srv, chan):
    for cmd, headers in [("SEND", [("destination", topic(chan))]),
                         ("SUBSCRIBE", [("destination", topic(chan)), ("id", "1")]),
                         ("BEGIN", [("transaction", "t")]),
                         ("DISCONNECT", [("receipt", "r")])]:
        with RawStomp.to(srv) as c:
            c.send_frame(cmd, headers, b"")
            err = c.expect_error()
            assert err.body, f"ERROR for {cmd} before CONNECT has no explanation"


def test_connected_is_not_a_client_frame(srv):
    with RawStomp.to(srv) as c:
        c.send(encode_frame("CONNECTED", [("version", "1.2")], version=None))
        c.expect_error()


@pytest.mark.parametrize("command", ["FOO", "send", "MESSAGE", "RECEIPT", "ERROR", "CONNECTED"])
def test_unknown_or_server_command_after_connect(srv, command, chan):
    with raw_connect(srv) as c:
        c.send_frame(command, [("destination", topic(chan))], b"x")
        err = c.expect_error()
        assert err.body


def test_error_carries_receipt_id(srv):
    with raw_connect(srv) as c:
        c.send_frame("SEND", [("receipt", "want-me")], b"no destination")
        err = c.expect_error()
        assert err.get("receipt-id") == "want-me"
        assert "destination" in (err.get("message", "") + err.text).lower()


def test_missing_destination(srv):
    with raw_connect(srv) as c:
        c.send_frame("SUBSCRIBE", [("id", "s")])
        c.expect_error()


def test_subscribe_without_id_in_1_2(srv, chan):
    with raw_connect(srv, "1.2") as c:
        c.send_frame("SUBSCRIBE", [("destination", topic(chan))])
        c.expect_error()


def test_subscribe_without_id_in_1_0_uses_the_destination(srv, chan):
    dest = topic(chan)
    with raw_connect(srv, None) as c:
        c.subscribe(dest, id=None, receipt="r1")
        c.publish(dest, b"x", version="1.0")
        m = c.expect("MESSAGE")
        assert m.get("subscription") == dest
        c.send_frame("UNSUBSCRIBE", [("destination", dest), ("receipt", "r2")], version="1.0")
        c.expect_receipt("r2")
        c.publish(dest, b"y", version="1.0", receipt="r3")
        c.assert_no_frame(0.3)


def test_oversize_header_line(srv, chan):
    with raw_connect(srv) as c:
        c.send_frame("SEND", [("destination", topic(chan)), ("x-big", "v" * (MAX_HEADER_LENGTH + 10))], b"x",
                     ignore_errors=True)
        err = c.expect_error()
        assert err.body


def test_oversize_header_line_detected_while_reading(srv, chan):
    """The server does not wait for the end of an over-long line: ERROR comes while it is unfinished."""
    with raw_connect(srv) as c:
        c.send(f"SEND\ndestination:{topic(chan)}\nx-endless:".encode() + b"v" * (MAX_HEADER_LENGTH * 4),
               ignore_errors=True)
        c.expect_error(timeout=3)


def test_oversize_command_line_detected_while_reading(srv):
    with raw_connect(srv) as c:
        c.send(b"S" * (MAX_HEADER_LENGTH * 64), ignore_errors=True)
        c.expect_error(timeout=3)


def test_too_many_headers(srv, chan):
    with raw_connect(srv) as c:
        c.send_frame("SEND", [("destination", topic(chan))] + [(f"x-{i}", "v") for i in range(MAX_HEADERS + 4)],
                     b"x", ignore_errors=True)
        c.expect_error()


def test_body_over_limit_with_content_length(srv, chan):
    """content-length over the limit: ERROR without the server reading the whole body."""
    with raw_connect(srv) as c:
        head = f"SEND\ndestination:{topic(chan)}\ncontent-length:{MAX_BODY * 8}\n\n".encode()
        c.send(head + b"b" * (MAX_BODY + 100), ignore_errors=True)
        c.expect_error(timeout=3)


def test_body_over_limit_without_content_length(srv, chan):
    with raw_connect(srv) as c:
        c.send(f"SEND\ndestination:{topic(chan)}\n\n".encode() + b"b" * (MAX_BODY + 100), ignore_errors=True)
        c.expect_error(timeout=3)


def test_missing_nul_after_content_length_body(srv, chan):
    with raw_connect(srv) as c:
        c.send(f"SEND\ndestination:{topic(chan)}\ncontent-length:3\n\nabcdef\x00".encode(), ignore_errors=True)
        c.expect_error()


@pytest.mark.parametrize("value", ["abc", "-1", "1e3", ""])
def test_bad_content_length(srv, chan, value):
    with raw_connect(srv) as c:
        c.send(f"SEND\ndestination:{topic(chan)}\ncontent-length:{value}\n\nabc\x00".encode(), ignore_errors=True)
        c.expect_error()


@pytest.mark.parametrize("version,raw_value", [("1.2", "a\\tb"), ("1.2", "trailing\\"), ("1.1", "a\\rb"),
                                               ("1.2", "\\x41")])
def test_bad_escape(srv, chan, version, raw_value):
    with raw_connect(srv, version) as c:
        c.send(f"SEND\ndestination:{topic(chan)}\nx-bad:{raw_value}\n\nbody\x00".encode(), ignore_errors=True)
        c.expect_error()


def test_header_line_without_colon(srv, chan):
    with raw_connect(srv) as c:
        c.send(f"SEND\ndestination:{topic(chan)}\nno-colon-here\n\nbody\x00".encode(), ignore_errors=True)
        c.expect_error()


@pytest.mark.parametrize("blob", [
    b"\x00\x00\x00\x00",
    b"\xff\xfe\xfd\n\n\x00",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\n\n\x00",
], ids=["nuls", "binary-command", "http-request", "tls-hello"])
def test_garbage_gets_error_and_close(srv, blob):
    with RawStomp.to(srv) as c:
        c.send(blob, ignore_errors=True)
        assert c.closed(5), "server kept a connection that sent garbage"
        assert [f.command for f in c.after_close] == ["ERROR"], c.after_close
    assert healthy(srv)


def test_server_survives_half_frames_and_resets(srv, chan):
    for i in range(20):
        c = RawStomp.to(srv)
        c.send(c.connect_frame("1.2") + f"SEND\ndestination:{topic(chan)}\ncontent-length:100\n\nabc".encode())
        c.close()
    with raw_connect(srv) as c:
        c.sync()
    assert healthy(srv)


# ------------------------------------------------------------------ receipts and DISCONNECT

def test_receipts_come_in_order(srv, chan):
    dest = topic(chan)
    with raw_connect(srv) as c:
        c.send(b"".join(encode_frame("SEND", [("destination", dest), ("receipt", f"r{i}")], f"{i}")
                        for i in range(50)))
        got = [c.expect("RECEIPT").get("receipt-id") for _ in range(50)]
        assert got == [f"r{i}" for i in range(50)]


def test_disconnect_receipt_then_close(srv):
    with raw_connect(srv) as c:
        c.send_frame("DISCONNECT", [("receipt", "bye-now")])
        c.expect_receipt("bye-now")
        assert c.closed(3)
        assert c.after_close == []


def test_disconnect_without_receipt_closes(srv):
    with raw_connect(srv) as c:
        c.send_frame("DISCONNECT", [])
        assert c.closed(3)
        assert c.after_close == []


def test_disconnect_receipt_after_everything_before_it(srv, chan):
    """SENDs written together with the DISCONNECT have all taken effect when its RECEIPT comes."""
    ch = chan()
    with raw_connect(srv) as c:
        c.send(b"".join(encode_frame("SEND", [("destination", f"/topic/{ch}")], f"{i}") for i in range(200))
               + encode_frame("DISCONNECT", [("receipt", "done")]))
        c.expect_receipt("done")
    info = requests.get(f"{srv.url}/pub/{ch}", timeout=5).json()
    assert info["published"] == 200
