"""Native protocol back-end hooks (native.hook_url): connect, subscribe, publish asked; disconnect told."""
import json
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from conftest import free_port
from helpers import JSONBackendHandler, wait_until
from test_native_protocol import Native


class Hooks(JSONBackendHandler):
    events = []

    def do_POST(self):
        body = self.body()
        Hooks.events.append(body)
        event = body["event"]
        answer = {}
        # The back end names the user (clients may not name themselves: security.anonymous_users is off);
        # here from what the page sent as info, as a back end would from its own session.
        name = (body.get("info") or {}).get("name")
        if event == "connect" and name == "banned":
            answer = {"allow": False, "reason": "you are banned"}
        elif event == "connect" and name == "rename-me":
            answer = {"user": "renamed", "info": {"by": "hook"}}
        elif event == "connect" and name:
            answer = {"user": name}
        elif event == "subscribe" and body["channel"].startswith("secret"):
            answer = {"allow": False}
        elif event == "subscribe" and body["channel"].startswith("slow"):
            time.sleep(0.3)
        elif event == "publish" and body["data"] == "rewrite":
            answer = {"data": {"rewritten": True, "by": body["user"]}}
        elif event == "publish" and body["data"] == "blocked":
            answer = {"allow": False, "reason": "no shouting"}
        self.answer(200, answer)


@pytest.fixture(scope="module")
def srv(make_module_server):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield make_module_server(native={"hook_url": f"http://127.0.0.1:{httpd.server_address[1]}/hooks"},
                             client_publish=["*"], presence=[])
    httpd.shutdown()


def connect(srv, name):
    c = Native(srv, connect=False)
    c.reply = c.call("connect", info={"name": name})
    return c


def test_connect_hook_can_refuse_or_set_the_user(srv):
    banned = connect(srv, "banned")
    try:
        err = banned.reply["error"]
        assert err["name"] == "permission_denied" and err["message"] == "you are banned"
        assert banned.call("subscribe", channel="x")["error"]["name"] == "not_connected"
    finally:
        banned.close()
    renamed = connect(srv, "rename-me")
    try:
        assert renamed.reply["result"]["user"] == "renamed"
        asked = [e for e in Hooks.events if e["event"] == "connect" and e["client"] == renamed.reply["result"]["client"]]
        assert asked and asked[0]["user"] is None and asked[0]["info"] == {"name": "rename-me"}
    finally:
        renamed.close()


def test_subscribe_and_publish_hooks(srv, chan):
    c = connect(srv, "olga")
    try:
        assert c.call("subscribe", channel="secret-" + chan())["error"]["name"] == "permission_denied"
        ch = "open-" + chan()
        assert c.call("subscribe", channel=ch)["result"]["channel"] == ch
        c.call("publish", channel=ch, data="rewrite")
        assert c.push()["data"] == {"rewritten": True, "by": "olga"}
        err = c.call("publish", channel=ch, data="blocked")["error"]
        assert err == {"code": 108, "name": "permission_denied", "message": "no shouting"}
        c.call("publish", channel=ch, data="fine")
        assert c.push()["data"] == "fine"
    finally:
        c.close()


def test_commands_wait_for_the_hook_in_order(srv, chan):
    c = connect(srv, "pat")
    try:
        ch = "slow-" + chan()
        # Sent together: the subscribe's hook takes 300 ms; the ping after it must not overtake it.
        c.send({"id": 50, "method": "subscribe", "params": {"channel": ch}})
        c.send({"id": 51, "method": "ping"})
        first = json.loads(c.ws.recv())
        second = json.loads(c.ws.recv())
        assert (first["id"], second["id"]) == (50, 51)
    finally:
        c.close()


def test_commands_waiting_behind_a_hook_are_bounded(srv, chan):
    """While a hook is asked, later commands wait; before, without any bound (100 commands a second of up
    to 1 MiB each for as long as the back end took). At most 64 wait; more are refused with 120."""
    c = connect(srv, "quinn")
    try:
        c.send({"id": 1, "method": "subscribe", "params": {"channel": "slow-" + chan()}})
        for n in range(2, 80):
            c.send({"id": n, "method": "ping"})
        replies = {}
        while len(replies) < 79:
            message = json.loads(c.ws.recv())
            if "id" in message and "push" not in message:
                replies[message["id"]] = message
        refused = [n for n, r in replies.items() if r.get("error", {}).get("code") == 120]
        assert len(refused) == 79 - 1 - 64 and all(n > 65 for n in refused)
        assert "result" in replies[1] and all("result" in replies[n] for n in range(2, 66))
    finally:
        c.close()


def test_disconnect_is_told(srv):
    c = connect(srv, "quinn")
    client = c.reply["result"]["client"]
    c.close()
    assert wait_until(lambda: any(e["event"] == "disconnect" and e["client"] == client for e in Hooks.events))


def test_hook_down_is_reported(make_server):
    s = make_server(native={"hook_url": f"http://127.0.0.1:{free_port()}/hooks", "backend_timeout": 1})
    c = connect(s, "rita")
    try:
        err = c.reply["error"]
        assert err["code"] == 117 and err["name"] == "hook_failed" and "connect hook" in err["message"]
    finally:
        c.close()
