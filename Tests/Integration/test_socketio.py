"""Socket.IO v4 clients (python-socketio, which speaks the JavaScript client's protocol: Socket.IO 5 over
Engine.IO 4) against the real server, over polling, WebSocket and polling-then-upgrade: rooms as channels,
the built-in events, cross-transport delivery, acknowledgements both ways, binary, hooks, the server API
and connection state recovery."""
import json
import queue
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
import requests
import socketio

from helpers import JSONBackendHandler, publish, wait_until
from sio_raw import WS, SocketIO, handshake

TRANSPORTS = {"polling": ["polling"], "websocket": ["websocket"], "upgrade": ["polling", "websocket"]}


class Hooks(JSONBackendHandler):
    events = []

    def do_POST(self):
        body = self.body()
        Hooks.events.append(body)
        if body["event"] == "connect":
            auth = body.get("auth") or {}
            if auth.get("token") == "bad":
                return self.answer(200, {"allow": False, "reason": "bad token", "data": {"retry": False}})
            answer = {}
            if "user" in auth:
                answer["user"] = auth["user"]
            if "rooms" in auth:
                answer["rooms"] = auth["rooms"]
            return self.answer(200, answer)
        if body["event"] == "event" and body["name"] == "add":
            return self.answer(200, {"sum": sum(body["args"][0]), "user": body["user"]})
        self.answer(200, {})


@pytest.fixture(scope="module")
def backend():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hooks"
    httpd.shutdown()


@pytest.fixture(scope="module")
def srv(make_module_server, backend):
    return make_module_server(
        client_publish=["chat*", "pub*"],
        socketio={"namespaces": ["/", "/admin"], "hook_url": backend},
    )


class Client:
    """A python-socketio client whose events land in a queue."""

    def __init__(self, srv, transport="websocket", namespaces=None, auth=None):
        self.sio = socketio.Client(reconnection=False)
        self.events = queue.Queue()
        self.sio.on("*", lambda event, *args: self.events.put((event, args)))
        self.sio.on("*", lambda event, *args: self.events.put((event, args)), namespace="/admin")
        self.sio.connect(srv.url, transports=TRANSPORTS[transport], namespaces=namespaces or ["/"], auth=auth,
                         wait_timeout=5)

    def call(self, event, data=None, namespace="/"):
        return self.sio.call(event, data, namespace=namespace, timeout=5)

    def next(self, timeout=5):
        return self.events.get(timeout=timeout)

    def next_named(self, name, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            event, args = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if event == name:
                return args

    def quiet(self, seconds=0.3):
        try:
            return self.events.get(timeout=seconds)
        except queue.Empty:
            return None

    def close(self):
        # python-engineio's polling client can drop the packets of a disconnect queued right after a POST
        # (its write loop exits first); it then waits for the next ping. A moment's pause avoids that race.
        time.sleep(0.05)
        self.sio.disconnect()


@pytest.fixture
def client(srv):
    made = []

    def make(**kw):
        c = Client(srv, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rooms_are_channels_on_every_transport(srv, client, chan, transport):
    room = chan("room")
    c = client(transport=transport)
    ack = c.call("subscribe", {"channel": room})
    assert ack["ok"] is True and ack["channel"] == room and ack["recovered"] is False
    publish(srv, room, json.dumps({"n": 1}), content_type="application/json")
    publish(srv, room, "plain text")
    first = c.next_named("message")
    assert len(first) == 1 and first[0]["channel"] == room and first[0]["data"] == {"n": 1}
    assert first[0]["id"].split(":")[-1] == "1"
    assert c.next_named("message")[0]["data"] == "plain text"
    expected = "websocket" if transport != "polling" else "polling"
    sockets = requests.get(f"{srv.url}/api/socketio/sockets?room={room}", timeout=5).json()["sockets"]
    assert wait_until(lambda: requests.get(f"{srv.url}/api/socketio/sockets?room={room}", timeout=5)
                      .json()["sockets"][0]["transport"] == expected)
    assert [s["sid"] for s in sockets] == [c.sio.get_sid()]
    assert c.call("unsubscribe", {"channel": room}) == {"ok": True, "channel": room, "was_subscribed": True}
    publish(srv, room, "after")
    assert c.quiet() is None


def test_publish_between_sockets_and_permissions(srv, client, chan):
    room = chan("chat-")
    a, b = client(), client(transport="polling")
    assert a.call("subscribe", {"channel": room})["ok"] and b.call("subscribe", {"channel": room})["ok"]
    ack = a.call("publish", {"channel": room, "data": {"text": "hi"}, "event": "said"})
    assert ack["ok"] is True and ack["id"]
    for c in (a, b):
        (message,) = c.next_named("said")
        assert message == {"channel": room, "id": ack["id"], "data": {"text": "hi"}}
    refused = a.call("publish", {"channel": chan("private-"), "data": "x"})
    assert refused["ok"] is False and "not allowed" in refused["error"]
    bad = a.call("subscribe", {"channel": "no spaces"})
    assert bad["ok"] is False and "channel name" in bad["error"]
    assert a.call("subscribe", {})["ok"] is False
    assert a.call("publish", {"channel": room})["ok"] is False


def test_cross_transport_delivery_both_ways(srv, client, chan):
    import stomp
    room = chan("pub-")
    c = client()
    c.call("subscribe", {"channel": room})
    got = queue.Queue()

    class Listener(stomp.ConnectionListener):
        def on_message(self, frame):
            got.put(frame.body)

    conn = stomp.Connection12([srv.stomp_address])
    conn.set_listener("", Listener())
    conn.connect(wait=True)
    try:
        conn.subscribe(f"/topic/{room}", id="1")
        time.sleep(0.2)
        conn.send(f"/topic/{room}", "from stomp")
        assert c.next_named("message")[0]["data"] == "from stomp"
        c.call("publish", {"channel": room, "data": "from socket.io"})
        bodies = {got.get(timeout=5), got.get(timeout=5)}
        assert bodies == {"from stomp", "from socket.io"}
    finally:
        conn.disconnect()


def test_history_resume_from_a_message_id(srv, client, chan):
    room = chan("room")
    ids = [publish(srv, room, f"m{i}")["id"] for i in range(5)]
    c = client()
    ack = c.call("subscribe", {"channel": room, "since": ids[1]})
    assert ack["ok"] and ack["recovered"] is True and "gap" not in ack
    assert [c.next_named("message")[0]["data"] for _ in range(3)] == ["m2", "m3", "m4"]
    gone = c.call("subscribe", {"channel": chan("other"), "since": "oldepoch:3"})
    assert gone["ok"] and gone["recovered"] is False and gone["gap"] == "new-epoch"
    assert c.call("subscribe", {"channel": room, "since": "garbage"})["ok"] is False


def test_binary_both_ways(srv, client, chan):
    room = chan("pub-")
    a, b = client(), client(transport="polling")
    a.call("subscribe", {"channel": room})
    b.call("subscribe", {"channel": room})
    blob = bytes(range(256)) * 4
    assert b.call("publish", {"channel": room, "data": blob})["ok"]
    for c in (a, b):
        (message,) = c.next_named("message")
        assert message["data"] == blob
    requests.post(f"{srv.url}/pub/{room}", data=b"\xff\x00\xfe", timeout=5)
    assert a.next_named("message")[0]["data"] == b"\xff\x00\xfe"


def test_namespaces(srv, client, chan):
    room = chan("room")
    c = client(namespaces=["/", "/admin"])
    assert c.call("subscribe", {"channel": room}, namespace="/admin")["ok"]
    publish(srv, room, "to admin")
    event, args = c.next()
    assert event == "message" and args[0]["data"] == "to admin"
    sockets = requests.get(f"{srv.url}/api/socketio/sockets?namespace=/admin", timeout=5).json()["sockets"]
    assert any(s["rooms"] == [room] for s in sockets)
    with pytest.raises(socketio.exceptions.ConnectionError):
        Client(srv, namespaces=["/nope"])


def test_connect_hook_refuses_sets_user_and_rooms(srv, client, chan):
    with pytest.raises(socketio.exceptions.ConnectionError):
        Client(srv, auth={"token": "bad"})
    raw = WS(srv)
    try:
        raw.send('40{"token":"bad"}')
        assert json.loads(raw.recv()[2:]) == {"message": "bad token", "data": {"retry": False}}
    finally:
        raw.close()
    room = chan("room")
    c = client(auth={"user": "alice", "rooms": [room]})
    publish(srv, room, "joined by the hook")
    assert c.next_named("message")[0]["data"] == "joined by the hook"
    mine = [s for s in requests.get(f"{srv.url}/api/socketio/sockets", timeout=5).json()["sockets"]
            if s["sid"] == c.sio.get_sid()]
    assert mine[0]["user"] == "alice" and mine[0]["rooms"] == [room]


def test_events_go_to_the_hook_whose_answer_is_the_ack(srv, client):
    c = client(auth={"user": "bob"})
    assert c.call("add", [1, 2, 3]) == {"sum": 6, "user": "bob"}
    event = [e for e in Hooks.events if e["event"] == "event" and e["name"] == "add"][-1]
    assert event["args"] == [[1, 2, 3]] and event["namespace"] == "/" and event["sid"] == c.sio.get_sid()
    sid = c.sio.get_sid()
    c.close()
    assert wait_until(lambda: any(e["event"] == "disconnect" and e["sid"] == sid for e in Hooks.events))
    told = [e for e in Hooks.events if e["event"] == "disconnect" and e["sid"] == sid][0]
    assert told["user"] == "bob" and told["reason"] in ("client namespace disconnect", "transport close")


def test_an_event_without_a_hook_is_refused_in_its_ack(make_server):
    srv = make_server()
    c = Client(srv)
    try:
        answer = c.call("anything", 1)
        assert answer["ok"] is False and "no handler" in answer["error"]
    finally:
        c.close()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_api_emit_to_a_socket_with_and_without_ack(srv, client, transport):
    c = client(transport=transport)
    c.sio.on("question", lambda *args: {"answer": sum(args)})
    sid = c.sio.get_sid()
    r = requests.post(f"{srv.url}/api/socketio/emit", json={"sid": sid, "event": "news", "args": [1, "two"]},
                      timeout=5)
    assert r.status_code == 200 and r.json() == {"sockets": 1}
    assert c.next_named("news") == (1, "two")
    r = requests.post(f"{srv.url}/api/socketio/emit",
                      json={"sid": sid, "event": "question", "args": [40, 2], "ack": True}, timeout=10)
    assert r.status_code == 200 and r.json() == {"sockets": 1, "acks": [[{"answer": 42}]]}


def test_api_emit_ack_timeout(srv):
    silent = SocketIO(srv)  # reads the event, never acknowledges it
    try:
        r = requests.post(f"{srv.url}/api/socketio/emit",
                          json={"sid": silent.sid, "event": "unanswered", "ack": True, "timeout": 0.3}, timeout=10)
        assert r.status_code == 504 and r.json()["code"] == "ack_timeout"
        assert silent.event()[0] == "unanswered"
    finally:
        silent.close()


def test_only_the_asked_socket_can_acknowledge(srv):
    asked, other = SocketIO(srv), SocketIO(srv)
    try:
        results = {}

        def emit(timeout):
            results["r"] = requests.post(f"{srv.url}/api/socketio/emit", json={
                "sid": asked.sid, "event": "confirm", "ack": True, "timeout": timeout}, timeout=10)

        caller = threading.Thread(target=emit, args=(0.5,))
        caller.start()
        message = asked.recv(skip_pings=True)
        ack_id = message[2:message.index("[")]
        other.send(f"43{ack_id}" + json.dumps(["spoofed"]))  # another client's answer is ignored
        caller.join(5)
        assert results["r"].status_code == 504
        caller = threading.Thread(target=emit, args=(5,))
        caller.start()
        message = asked.recv(skip_pings=True)
        asked.send(f"43{message[2:message.index('[')]}" + json.dumps(["yes"]))
        caller.join(5)
        assert results["r"].json() == {"sockets": 1, "acks": [["yes"]]}
    finally:
        asked.close()
        other.close()


def test_api_emit_to_a_user_and_a_room(srv, client, chan):
    one, two = client(auth={"user": "carol"}), client(auth={"user": "carol"}, transport="polling")
    r = requests.post(f"{srv.url}/api/socketio/emit", json={"user": "carol", "event": "hello", "data": "hi"},
                      timeout=5)
    assert r.json() == {"sockets": 2}
    assert one.next_named("hello") == ("hi",) and two.next_named("hello") == ("hi",)
    room = chan("room")
    one.call("subscribe", {"channel": room})
    r = requests.post(f"{srv.url}/api/socketio/emit", json={"room": room, "event": "news", "data": {"x": 1}},
                      timeout=5)
    assert r.status_code == 200 and r.json()["room"] == room and r.json()["subscribers"] == 1
    assert one.next_named("news") == ({"channel": room, "id": r.json()["id"], "data": {"x": 1}},)


def test_api_errors(srv):
    api = f"{srv.url}/api/socketio/emit"
    assert requests.post(api, json={"sid": "x"}, timeout=5).status_code == 400
    assert requests.post(api, json={"event": "connect", "sid": "x"}, timeout=5).status_code == 400
    assert requests.post(api, json={"event": "e"}, timeout=5).status_code == 400
    assert requests.post(api, json={"event": "e", "room": "bad room", "data": 1}, timeout=5).status_code == 400
    assert requests.post(api, json={"event": "e", "sid": "none", "ack": True}, timeout=5).status_code == 404
    assert requests.post(api, data="not json", timeout=5).status_code == 400
    assert requests.get(api, timeout=5).status_code == 405


def test_api_needs_loopback_or_a_key(make_server):
    srv = make_server(allow_loopback=False, api_keys=["k"])
    assert requests.get(f"{srv.url}/api/socketio/sockets", timeout=5).status_code == 403
    r = requests.get(f"{srv.url}/api/socketio/sockets", headers={"Authorization": "Bearer k"}, timeout=5)
    assert r.status_code == 200 and r.json() == {"sockets": []}


def test_payloads_over_max_payload_end_the_session(make_server):
    srv = make_server(socketio={"max_payload": 1000})
    ws = SocketIO(srv)
    ws.send("42" + json.dumps(["x", "y" * 2000]))
    ws.expect_close()
    sid, data = handshake(srv)
    assert data["maxPayload"] == 1000
    r = requests.post(f"{srv.url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="4" + "z" * 2000, timeout=5)
    assert r.status_code == 413
    assert requests.get(f"{srv.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=5).status_code == 400


def test_socketio_can_be_turned_off(make_server):
    srv = make_server(socketio={"enabled": False})
    assert requests.get(f"{srv.url}/socket.io/?EIO=4&transport=polling", timeout=5).status_code == 404
    assert requests.get(f"{srv.url}/engine.io/?EIO=4&transport=polling", timeout=5).status_code == 404


# Connection state recovery --------------------------------------------------------------------

@pytest.fixture(scope="module")
def recovering(make_module_server):
    return make_module_server(socketio={"recovery_window": 3, "ping_interval": 0.5, "ping_timeout": 2})


def test_recovery_brings_back_the_socket_its_rooms_and_what_it_missed(recovering, chan):
    srv, room = recovering, chan("room")
    c = SocketIO(srv)
    pid, sid = c.handshake["pid"], c.sid
    assert c.call("subscribe", {"channel": room})[0]["ok"]
    publish(srv, room, "before")
    name, message, offset = c.event()
    assert (name, message["data"]) == ("message", "before") and offset == f"{room} {message['id']}"
    c.ws.sock.close()  # the network drops: no close packet
    for i in range(3):
        publish(srv, room, f"missed{i}")
    back = SocketIO(srv, auth={"pid": pid, "offset": offset})
    try:
        assert back.sid == sid and back.handshake["pid"] == pid
        assert [back.event()[1]["data"] for _ in range(3)] == ["missed0", "missed1", "missed2"]
        publish(srv, room, "live")
        assert back.event()[1]["data"] == "live"
    finally:
        back.close()


def test_recovery_resends_what_was_written_but_not_received(recovering, chan):
    srv, room = recovering, chan("room")
    c = SocketIO(srv)
    pid = c.handshake["pid"]
    c.call("subscribe", {"channel": room})
    publish(srv, room, "seen")
    _, _, offset = c.event()
    publish(srv, room, "written but lost")
    time.sleep(0.1)
    c.ws.sock.close()  # the client never read it (its offset says so)
    back = SocketIO(srv, auth={"pid": pid, "offset": offset})
    try:
        assert back.event()[1]["data"] == "written but lost"
    finally:
        back.close()


def test_recovery_fails_after_the_window_or_a_voluntary_disconnect(recovering, chan):
    srv = recovering
    c = SocketIO(srv)
    pid, sid = c.handshake["pid"], c.sid
    c.send("41")  # a voluntary disconnect: nothing kept
    time.sleep(0.1)
    c.close()
    fresh = SocketIO(srv, auth={"pid": pid})
    assert fresh.sid != sid and fresh.handshake["pid"] != pid
    fresh_pid = fresh.handshake["pid"]
    fresh.ws.sock.close()
    time.sleep(3.5)
    late = SocketIO(srv, auth={"pid": fresh_pid})
    try:
        assert late.handshake["pid"] != fresh_pid
    finally:
        late.close()


def test_shutdown_ends_websocket_and_polling_sessions_and_exits_0(make_server):
    srv = make_server()
    clients = [Client(srv, transport="websocket"), Client(srv, transport="polling")]
    gone = [threading.Event(), threading.Event()]
    for client, event in zip(clients, gone):
        client.sio.on("disconnect", lambda *args, e=event: e.set())
    started = time.monotonic()
    assert srv.stop() == 0
    assert time.monotonic() - started < 5
    for event in gone:
        assert event.wait(5)


def test_a_client_cannot_make_a_polling_session_queue_without_bound(make_server, chan):
    srv = make_server(client_publish=["chat*"], max_outbound_bytes=65536)
    room = chan("chat-")
    for i in range(40):
        publish(srv, room, "x" * 2000 + str(i))
    sid, _ = handshake(srv)
    base = f"{srv.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert requests.post(base, data="40", timeout=5).text == "ok"
    # Each subscribe from an old epoch sends the whole history again.
    pairs = "\x1e".join(
        f'42["subscribe",{{"channel":"{room}","since":"old:0"}}]\x1e42["unsubscribe",{{"channel":"{room}"}}]'
        for _ in range(50))
    requests.post(base, data=pairs, timeout=10)
    assert requests.get(base, timeout=5).status_code == 400  # ended as a slow consumer


def test_a_refused_client_is_closed_at_the_connect_timeout(make_server, backend):
    srv = make_server(socketio={"hook_url": backend, "connect_timeout": 1})
    ws = WS(srv)
    ws.send('40{"token":"bad"}')
    assert ws.recv().startswith("44")
    ws.expect_close(timeout=4)


def test_recovery_twice_in_a_row(make_server, chan):
    srv = make_server(socketio={"recovery_window": 3, "ping_interval": 0.5, "ping_timeout": 2})
    room = chan("room")
    first = SocketIO(srv)
    pid, sid = first.handshake["pid"], first.sid
    first.call("subscribe", {"channel": room})
    first.ws.sock.close()
    time.sleep(1)
    second = SocketIO(srv, auth={"pid": pid})
    assert second.sid == sid
    time.sleep(1)
    second.ws.sock.close()
    time.sleep(1.5)  # past the first keeping's window, within the second's
    publish(srv, room, "while away")
    third = SocketIO(srv, auth={"pid": pid})
    try:
        assert third.sid == sid and third.event()[1]["data"] == "while away"
    finally:
        third.close()


class SlowDisconnectHooks(JSONBackendHandler):
    """Answers connect at once and disconnect after a while, counting the requests it holds."""
    lock = threading.Lock()
    held = 0
    most_held = 0

    def do_POST(self):
        body = self.body()
        if body["event"] == "disconnect":
            with SlowDisconnectHooks.lock:
                SlowDisconnectHooks.held += 1
                SlowDisconnectHooks.most_held = max(SlowDisconnectHooks.most_held, SlowDisconnectHooks.held)
            time.sleep(2)
            with SlowDisconnectHooks.lock:
                SlowDisconnectHooks.held -= 1
        self.answer(200, {})


def test_connecting_and_disconnecting_in_a_loop_cannot_flood_the_back_end(make_server):
    """Before: each CONNECT and DISCONNECT of a namespace asked the back end, without bound (a disconnect
    is told, not awaited): one client looping over them kept any number of requests at a slow back end."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SlowDisconnectHooks)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        srv = make_server(socketio={"hook_url": f"http://127.0.0.1:{httpd.server_address[1]}/hooks",
                                    "hooks": ["connect", "disconnect"], "max_concurrent_calls": 3})
        ws = WS(srv)
        refused = []
        for _ in range(10):
            ws.send("40")
            reply = ws.recv(skip_pings=True)
            if reply.startswith("44"):
                refused.append(json.loads(reply[2:])["message"])
                continue
            assert reply.startswith("40"), reply
            ws.send("41")
        assert refused and "socketio.max_concurrent_calls" in refused[0]
        time.sleep(0.5)
        assert SlowDisconnectHooks.most_held <= 3
        time.sleep(2.5)   # the back end answered: connecting works again
        ws.send("40")
        assert ws.recv(skip_pings=True).startswith("40")
        ws.close()
    finally:
        httpd.shutdown()
