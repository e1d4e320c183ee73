"""Request/reply over STOMP: reply-to:/temp-queue/NAME is rewritten to the connection's private queue
/queue/temp.SESSION.NAME; the worker answers there; the requester gets it on subscription /temp-queue/NAME."""
import time

import pytest
import requests

from stomp_helpers import stomp_client, unique  # noqa: F401  (fixture)

# The broker's functional tests run with an open policy: every client may send anywhere
# (the policy itself is tested in test_security_policy.py).
OPEN = ["*"]


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(client_publish=OPEN, client_queues=OPEN)


def queue_names(srv):
    doc = requests.get(f"{srv.url}/api/queues", timeout=5).json()
    return [q["name"] for q in (doc["queues"] if isinstance(doc, dict) else doc)]


def test_request_reply(srv, stomp_client):
    service = f"/queue/{unique('rpc')}"
    worker = stomp_client(srv)
    worker.subscribe(service)
    requester = stomp_client(srv)
    requester.send(service, "2+2?", receipt=True, headers={"reply-to": "/temp-queue/answers",
                                                          "correlation-id": "c-1"})
    req = worker.next_message()
    reply_to = req.headers["reply-to"]
    assert reply_to == f"/queue/temp.{requester.session}.answers", reply_to
    assert req.headers["correlation-id"] == "c-1"
    worker.send(reply_to, "4", receipt=True, headers={"correlation-id": req.headers["correlation-id"]})
    ans = requester.next_message()
    assert ans.body == "4"
    assert ans.headers["subscription"] == "/temp-queue/answers"
    assert ans.headers["correlation-id"] == "c-1"


def test_many_requests_one_temp_queue(srv, stomp_client):
    service = f"/queue/{unique('rpc')}"
    worker = stomp_client(srv)
    worker.subscribe(service)
    requester = stomp_client(srv)
    for i in range(5):
        requester.send(service, f"q{i}", headers={"reply-to": "/temp-queue/r", "correlation-id": str(i)})
    reqs = worker.messages(5)
    assert len({r.headers["reply-to"] for r in reqs}) == 1     # one private queue, created once
    for r in reqs:
        worker.send(r.headers["reply-to"], "a" + r.body[1:], headers={"correlation-id": r.headers["correlation-id"]})
    answers = requester.messages(5)
    assert [a.body for a in answers] == [f"a{i}" for i in range(5)]


def test_explicit_subscription_to_temp_queue(srv, stomp_client):
    service = f"/queue/{unique('rpc')}"
    worker = stomp_client(srv)
    worker.subscribe(service)
    requester = stomp_client(srv)
    requester.subscribe("/temp-queue/mine", id="my-replies")
    requester.send(service, "ping", headers={"reply-to": "/temp-queue/mine"}, receipt=True)
    req = worker.next_message()
    worker.send(req.headers["reply-to"], "pong", receipt=True)
    ans = requester.next_message()
    assert (ans.body, ans.headers["subscription"]) == ("pong", "my-replies")
    requester.assert_no_message(0.3)                # delivered once, not also on an implicit subscription


def test_temp_queues_are_private_per_connection(srv, stomp_client):
    service = f"/queue/{unique('rpc')}"
    worker = stomp_client(srv)
    worker.subscribe(service)
    r1, r2 = stomp_client(srv), stomp_client(srv)
    r1.send(service, "from r1", headers={"reply-to": "/temp-queue/same"}, receipt=True)
    r2.send(service, "from r2", headers={"reply-to": "/temp-queue/same"}, receipt=True)
    reqs = {m.body: m.headers["reply-to"] for m in worker.messages(2)}
    assert reqs["from r1"] != reqs["from r2"]
    worker.send(reqs["from r2"], "for r2", receipt=True)
    worker.send(reqs["from r1"], "for r1", receipt=True)
    assert r1.next_message().body == "for r1"
    assert r2.next_message().body == "for r2"
    r1.assert_no_message(0.2)
    r2.assert_no_message(0.1)


def test_temp_queue_ends_with_its_connection(srv, stomp_client):
    service = f"/queue/{unique('rpc')}"
    worker = stomp_client(srv)
    worker.subscribe(service)
    requester = stomp_client(srv)
    requester.send(service, "x", headers={"reply-to": "/temp-queue/gone"}, receipt=True)
    reply_to = worker.next_message().headers["reply-to"]
    real = reply_to[len("/queue/"):]
    assert any(n in (real, reply_to) for n in queue_names(srv)), queue_names(srv)
    requester.disconnect()
    deadline = time.monotonic() + 3
    while any(n in (real, reply_to) for n in queue_names(srv)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(n in (real, reply_to) for n in queue_names(srv))
