"""Access control: loopback allowed by default; api keys when allow_loopback=false."""
import pytest
import requests

from helpers import LongPoll, SSEClient, assert_error_json, wait_for_subscribers


@pytest.fixture(scope="module")
def locked(make_module_server):
    return make_module_server(allow_loopback=False, api_keys=["k"])


PROTECTED = [
    ("POST", "/pub/{ch}", {"data": b"x"}),
    ("GET", "/pub/{ch}", {}),
    ("DELETE", "/pub/{ch}", {}),
    ("POST", "/api/publish", {"json": {"channel": "{ch}", "data": "x"}}),
    ("POST", "/api/broadcast", {"json": {"channels": ["{ch}"], "data": "x"}}),
    ("GET", "/api/channels", {}),
    ("GET", "/api/history/{ch}", {}),
    ("GET", "/stats", {}),
]


def _call(srv, method, path, kw, ch, headers=None):
    kw = dict(kw)
    if "json" in kw:
        import json
        kw["json"] = json.loads(json.dumps(kw["json"]).replace("{ch}", ch))
    return requests.request(method, srv.url + path.format(ch=ch), headers=headers or {}, timeout=5, **kw)


@pytest.mark.parametrize("method,path,kw", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_forbidden_without_key(locked, chan, method, path, kw):
    r = _call(locked, method, path, kw, chan())
    assert_error_json(r.status_code, r.text, 403, "forbidden")


@pytest.mark.parametrize("method,path,kw", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_forbidden_with_wrong_key(locked, chan, method, path, kw):
    r = _call(locked, method, path, kw, chan(), headers={"Authorization": "Bearer wrong"})
    assert_error_json(r.status_code, r.text, 403, "forbidden")


def test_allowed_with_bearer_key(locked, chan):
    ch = chan()
    auth = {"Authorization": "Bearer k"}
    r = requests.post(f"{locked.url}/pub/{ch}", data=b"x", headers=auth, timeout=5)
    assert r.status_code == 200 and r.json()["channel"] == ch
    r = requests.get(f"{locked.url}/pub/{ch}", headers=auth, timeout=5)
    assert r.status_code == 200 and r.json()["messages"] == 1
    r = requests.post(f"{locked.url}/api/publish", json={"channel": ch, "data": "y"}, headers=auth, timeout=5)
    assert r.status_code == 200
    r = requests.get(f"{locked.url}/api/history/{ch}", headers=auth, timeout=5)
    assert r.status_code == 200 and [m["data"] for m in r.json()["messages"]] == ["x", "y"]
    r = requests.get(f"{locked.url}/stats", headers=auth, timeout=5)
    assert r.status_code == 200 and "connections" in r.json()
    r = requests.get(f"{locked.url}/api/channels", headers=auth, timeout=5)
    assert r.status_code == 200
    r = requests.delete(f"{locked.url}/pub/{ch}", headers=auth, timeout=5)
    assert r.status_code == 200 and r.json()["deleted"] is True


def test_subscribing_is_open(locked, chan):
    ch = chan()
    with SSEClient(locked, f"/sub/{ch}") as sse:
        r = requests.post(f"{locked.url}/pub/{ch}", data=b"open", headers={"Authorization": "Bearer k"},
                          timeout=5)
        assert r.status_code == 200
        assert sse.next_event().data == "open"
    lp = LongPoll(locked, f"/sub/{ch}")
    import time
    time.sleep(0.3)
    requests.post(f"{locked.url}/pub/{ch}", data=b"lp", headers={"Authorization": "Bearer k"}, timeout=5)
    assert lp.result().status_code == 200


def test_loopback_allowed_by_default(server, chan):
    r = requests.post(f"{server.url}/pub/{chan()}", data=b"x", timeout=5)
    assert r.status_code == 200


def test_api_keys_from_environment(make_server, chan):
    srv = make_server(allow_loopback=False,
                      env={"SWITCHBOARD_SECURITY_API_KEYS": "k1,k2"})
    for key in ("k1", "k2"):
        r = requests.post(f"{srv.url}/pub/{chan()}", data=b"x", headers={"Authorization": f"Bearer {key}"},
                          timeout=5)
        assert r.status_code == 200, (key, r.text)
    r = requests.post(f"{srv.url}/pub/{chan()}", data=b"x", timeout=5)
    assert r.status_code == 403
