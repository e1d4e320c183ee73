"""Bounded memory per client and per server (docs/security.md#memory).

What one anonymous client could make the server hold before: a native connection that never reads
but keeps asking for history (subscribe with an old `since`, `history`) grew the server from 27 MB to
1,017 MB in 21 s; a STOMP transaction buffered 400 MiB; Socket.IO kept half-received binary attachments
with only a count limit; `rpc` went to the back end without any bound; and nothing capped the retained
bytes or the number of channels server-wide.
"""
import json
import socket
import struct
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
import requests

from helpers import JSONBackendHandler, RawWS, publish, stats, wait_until, ws_connect
from sio_raw import WS, SocketIO
from stomp_raw import RawStomp, raw_connect
from test_native_protocol import Native

MiB = 1 << 20


def rss(srv):
    with open(f"/proc/{srv.pid}/statm") as f:
        return int(f.read().split()[1]) * 4096


def healthz_seconds(srv):
    start = time.monotonic()
    assert requests.get(f"{srv.url}/healthz", timeout=10).status_code == 200
    return time.monotonic() - start


def test_a_client_that_never_reads_cannot_make_its_answers_pile_up(make_server):
    """Each subscribe-from-the-start answers with the channel's history (here 100 x 64 KiB = 6.4 MiB);
    the client sends them as fast as it can and reads nothing. Answers are counted against the output
    budget: the server stops reading the client once it is over it, and a single answer carries at most
    half of it."""
    s = make_server(native_commands_per_second=0, history_size=100, ping_interval=60)
    ch = "history-flood"
    for i in range(100):
        publish(s, ch, f"{i:04d}" + "x" * (64 * 1024 - 4))
    position = requests.get(f"{s.url}/pub/{ch}", timeout=5).json()["first_id"].rsplit(":", 1)[0] + ":0"
    before = rss(s)
    attacker = RawWS(s, "/connection/websocket", rcvbuf=4096)
    attacker.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    attacker.sock.settimeout(0.2)
    commands = [json.dumps({"id": 1, "method": "connect"})]
    for n in range(2, 2000):
        method = ("subscribe", "unsubscribe", "history")[n % 3]
        params = {"channel": ch} if method == "unsubscribe" else {"channel": ch, "since": position}
        if method == "history":
            params["limit"] = 1000
        commands.append(json.dumps({"id": n, "method": method, "params": params}))
    sent = 0
    deadline = time.monotonic() + 10
    peak = before
    slowest_health = 0.0
    while time.monotonic() < deadline:
        if sent < len(commands):
            try:
                attacker.sock.sendall(attacker.frame(0x1, commands[sent].encode()))
                sent += 1
            except (socket.timeout, BlockingIOError):
                pass   # the server stopped reading us: that is the point
            except (BrokenPipeError, ConnectionResetError):
                break
        if sent % 50 == 0 or sent >= len(commands):
            peak = max(peak, rss(s))
            slowest_health = max(slowest_health, healthz_seconds(s))
            time.sleep(0.05)
    peak = max(peak, rss(s))
    growth = peak - before
    print(f"\nnon-reading native client: {sent} commands sent in 10 s, RSS {before / MiB:.0f} MiB -> "
          f"peak {peak / MiB:.0f} MiB (+{growth / MiB:.0f} MiB), slowest /healthz {slowest_health * 1000:.0f} ms")
    assert growth < 96 * MiB, f"RSS grew by {growth / MiB:.0f} MiB"
    assert slowest_health < 2
    # Nothing was dropped: once the client reads, its commands are answered, in order.
    attacker.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MiB)
    attacker.sock.settimeout(30)
    ids = []
    while len(ids) < 8:
        fin, opcode, payload = attacker.recv_frame(timeout=30)
        if opcode == 0x1 and "id" in json.loads(payload):   # replies, not join/leave pushes
            ids.append(json.loads(payload)["id"])
    assert ids == list(range(1, 9)), ids
    attacker.close()


def test_one_answer_carries_at_most_half_the_output_budget(make_server):
    s = make_server(history_size=100, max_outbound_bytes=1 * MiB)
    ch = "big-history"
    ids = [publish(s, ch, "y" * (64 * 1024))["id"] for _ in range(40)]  # 2.5 MiB of history
    start = ids[0].rsplit(":", 1)[0] + ":0"
    c = Native(s)
    try:
        sub = c.call("subscribe", channel=ch, since=start)["result"]
        assert sub["gap"] == "too-large" and sub["recovered"] is False
        got = [p["id"] for p in sub["publications"]]
        assert got == ids[-len(got):] and 0 < len(got) <= 8      # the newest that fit in 512 KiB
        page = c.call("history", channel=ch, since=start, limit=1000)["result"]
        assert page["truncated"] is True and [p["id"] for p in page["publications"]] == ids[:len(page["publications"])]
        # Paging from the last id moves on until everything was read.
        seen = list(page["publications"])
        while page.get("truncated"):
            page = c.call("history", channel=ch, since=seen[-1]["id"], limit=1000)["result"]
            seen += page["publications"]
        assert [p["id"] for p in seen] == ids
    finally:
        c.close()


def test_a_stomp_transaction_is_bounded(make_server):
    """Before: BEGIN, then SEND after SEND in the transaction, held 400 MiB from one connection."""
    s = make_server(client_publish=["*"], max_message_size=MiB)
    before = rss(s)
    with raw_connect(s) as client:
        client.send_frame("BEGIN", [("transaction", "t")])
        body = b"z" * (512 * 1024)
        sent = 0
        try:
            for _ in range(64):      # 32 MiB offered
                client.send_frame("SEND", [("destination", "/topic/tx"), ("transaction", "t")], body=body)
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        error = client.expect("ERROR", timeout=10)
        assert error.get("message") == "transaction too large"
        assert "stomp.max_transaction_bytes" in error.text
    growth = rss(s) - before
    print(f"\nSTOMP transaction: {sent} x 512 KiB offered, RSS +{growth / MiB:.0f} MiB")
    assert growth < 40 * MiB
    assert stats(s)["memory"]["retained_transactions"] == 0
    assert requests.get(f"{s.url}/pub/tx", timeout=5).status_code == 404  # nothing was published


def test_transactions_count_against_the_memory_budget(make_server):
    s = make_server(client_publish=["*"], max_memory=2 * MiB, stomp={"max_transaction_bytes": 8 * MiB})
    with raw_connect(s) as client:
        client.send_frame("BEGIN", [("transaction", "t")])
        for _ in range(8):
            client.send_frame("SEND", [("destination", "/topic/tx"), ("transaction", "t")], body=b"q" * (512 * 1024),
                              ignore_errors=True)
        error = client.expect("ERROR", timeout=10)
        assert error.get("message") == "memory full" and "limits.max_memory" in error.text
    assert wait_until(lambda: stats(s)["memory"]["retained_transactions"] == 0, 3)


def test_over_the_memory_budget_every_protocol_is_refused_clearly(make_server):
    s = make_server(max_memory=2 * MiB, history_size=1000, client_publish=["*"], client_queues=["*"])
    payload = "m" * (64 * 1024)
    refused = None
    for i in range(200):
        r = requests.post(f"{s.url}/pub/full", data=payload, timeout=5)
        if r.status_code != 200:
            refused = r
            break
    assert refused is not None and refused.status_code == 507, "the budget never filled"
    assert refused.json()["code"] == "memory_full" and "limits.max_memory" in refused.json()["error"]
    memory = stats(s)["memory"]
    assert memory["retained_bytes"] <= memory["retained_limit"] == 2 * MiB and memory["refused"] >= 1
    with raw_connect(s) as client:
        client.send_frame("SEND", [("destination", "/topic/other")], body=payload.encode())
        assert client.expect("ERROR").get("message") == "memory full"
    with raw_connect(s) as client:
        client.send_frame("SEND", [("destination", "/queue/jobs")], body=payload.encode())
        assert client.expect("ERROR").get("message") == "memory full"
    native = Native(s)
    try:
        error = native.call("publish", channel="other", data=payload)["error"]
        assert error == {"code": 118, "name": "memory_full", "message": error["message"]}
    finally:
        native.close()
    sock = SocketIO(s)
    try:
        ack = sock.call("publish", {"channel": "other", "data": payload})[0]
        assert ack["ok"] is False and "limits.max_memory" in ack["error"]
    finally:
        sock.close()
    # Deleting the channel gives its bytes back: publishing works again.
    assert requests.delete(f"{s.url}/pub/full", timeout=5).status_code == 200
    assert requests.post(f"{s.url}/pub/full", data=payload, timeout=5).status_code == 200


def test_the_number_of_channels_is_capped(make_server):
    s = make_server(max_channels=5)
    for i in range(5):
        publish(s, f"ch{i}", "x")
    r = requests.post(f"{s.url}/pub/one-too-many", data="x", timeout=5)
    assert r.status_code == 507 and r.json()["code"] == "too_many_channels"
    assert requests.get(f"{s.url}/sub/one-too-many?transport=sse", timeout=5, stream=True).status_code == 507
    native = Native(s)
    try:
        assert native.call("subscribe", channel="one-too-many")["error"]["name"] == "too_many_channels"
        assert "result" in native.call("subscribe", channel="ch1")     # existing channels are fine
    finally:
        native.close()
    publish(s, "ch0", "still fine")


def test_socketio_attachments_are_bounded_in_bytes_and_time(make_server):
    s = make_server(socketio={"max_payload": 1000, "max_attachments": 10, "connect_timeout": 1})
    # Five attachments of 300 bytes: each is under maxPayload, together they are not.
    big = SocketIO(s)
    try:
        placeholders = [{"_placeholder": True, "num": n} for n in range(5)]
        big.send('455-["upload",' + json.dumps(placeholders) + "]")
        for _ in range(5):
            big.send_binary(b"b" * 300)
        big.expect_close()
    finally:
        big.close()
    # Two announced, one sent: the packet is not held beyond the deadline.
    slow = SocketIO(s)
    try:
        slow.send('452-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        slow.send_binary(b"one")
        started = time.monotonic()
        slow.expect_close(timeout=5)
        assert time.monotonic() - started < 4
    finally:
        slow.close()


class SlowBackend(JSONBackendHandler):
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def do_POST(self):
        self.body()
        with SlowBackend.lock:
            SlowBackend.in_flight += 1
            SlowBackend.peak = max(SlowBackend.peak, SlowBackend.in_flight)
        time.sleep(1.0)
        with SlowBackend.lock:
            SlowBackend.in_flight -= 1
        self.answer(200, {"result": "late"})


def test_rpc_calls_in_flight_are_capped_per_connection(make_server):
    """Before: 991 concurrent back-end requests from 10 connections."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SlowBackend)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        s = make_server(native={"rpc_url": f"http://127.0.0.1:{httpd.server_address[1]}/rpc",
                                "max_concurrent_calls": 3, "backend_timeout": 5}, native_commands_per_second=0)
        c = Native(s)
        try:
            for n in range(100, 120):
                c.send({"id": n, "method": "rpc", "params": {"method": "slow"}})
            answers = {}
            while len(answers) < 20:
                message = json.loads(c.ws.recv())
                answers[message["id"]] = message
            refused = [m for m in answers.values() if m.get("error", {}).get("name") == "too_many_calls"]
            answered = [m for m in answers.values() if m.get("result") == {"result": "late"}]
            assert len(answered) == 3 and len(refused) == 17
            assert "native.max_concurrent_calls" in refused[0]["error"]["message"]
            assert SlowBackend.peak <= 3
        finally:
            c.close()
    finally:
        httpd.shutdown()


def test_pipelined_requests_whose_answers_are_not_read_are_not_read_either(make_server):
    """Plain HTTP had no output backpressure: a client pipelining GET /healthz and never reading made the
    server queue every answer (the pipelining handler waits only while an answer is unfinished, and these
    are answered at once): a release build grew by 738 MiB in 8 s asking for /healthz. Now the connection is
    not read while it cannot take more output. Each request here asks for switchboard.js (tens of KiB)."""
    s = make_server()
    before = rss(s)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", s.port))
    sock.settimeout(0.2)
    request = f"GET /switchboard.js HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n\r\n".encode() * 100
    sent = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        try:
            sent += sock.send(request)
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            break
    growth = rss(s) - before
    print(f"\npipelining client that never reads: {sent // 60} requests sent in 8 s, RSS +{growth / MiB:.0f} MiB")
    assert growth < 48 * MiB, f"RSS grew by {growth / MiB:.0f} MiB"
    assert healthz_seconds(s) < 2
    sock.close()


def test_clients_cannot_take_the_budget_the_back_end_needs(make_server):
    """Before: one budget for all, so clients publishing until it was full left the application's own
    publishes refused with 507. Clients may fill nine tenths; the back end still publishes after them."""
    s = make_server(max_memory=2 * MiB, history_size=1000, client_publish=["*"],
                    native_commands_per_second=10000)
    payload = "c" * (64 * 1024)
    native = Native(s)
    try:
        for i in range(100):
            reply = native.call("publish", channel=f"crowd-{i % 3}", data=payload)
            if "error" in reply:
                assert reply["error"]["name"] == "memory_full"
                break
        else:
            raise AssertionError("the clients' share never filled")
    finally:
        native.close()
    memory = stats(s)["memory"]
    assert memory["retained_client_limit"] == 2 * MiB - (2 * MiB) // 10
    assert memory["retained_bytes"] <= memory["retained_client_limit"]
    r = requests.post(f"{s.url}/pub/announcements", data=payload, timeout=5)
    assert r.status_code == 200, r.text


def test_a_commit_near_the_limit_publishes_all_its_messages(make_server):
    """Before: a COMMIT's messages took their place in history while the transaction still held its own
    reservation, so a commit that fit was refused halfway (memory full after some of its messages)."""
    s = make_server(max_memory=2 * MiB, history_size=100, client_publish=["*"])
    with raw_connect(s) as client:
        client.send_frame("BEGIN", [("transaction", "t")])
        for _ in range(3):
            client.send_frame("SEND", [("destination", "/topic/committed"), ("transaction", "t")],
                              body=b"t" * (400 * 1024))
        client.send_frame("COMMIT", [("transaction", "t"), ("receipt", "done")])
        client.expect_receipt("done", timeout=10)
    assert requests.get(f"{s.url}/pub/committed", timeout=5).json()["messages"] == 3
    assert stats(s)["memory"]["retained_transactions"] == 0


def test_a_broadcast_refused_on_one_channel_says_which_got_the_message(make_server):
    """Before: a refusal on one channel answered 507 alone, hiding that the channels before it had the
    message (a retry published it twice there)."""
    s = make_server(max_channels=2)
    r = requests.post(f"{s.url}/api/broadcast", json={"channels": ["a", "b", "c"], "data": "hi"}, timeout=5)
    assert r.status_code == 507
    body = r.json()
    assert body["code"] == "too_many_channels"
    assert [("id" in result, result["channel"]) for result in body["results"]] == [(True, "a"), (True, "b"), (False, "c")]
    assert body["results"][2]["code"] == "too_many_channels"
