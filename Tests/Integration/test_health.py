"""/healthz and basic HTTP behaviour."""
import requests

from helpers import RawConn


def test_healthz_ok(server):
    r = requests.get(f"{server.url}/healthz", timeout=5)
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["Content-Type"].startswith("application/json")


def test_healthz_keep_alive_connection_serves_several_requests(server):
    with RawConn.to(server) as c:
        for _ in range(3):
            r = c.request("GET", "/healthz")
            assert r.status == 200
            assert r.json() == {"status": "ok"}


def test_healthz_open_to_everyone_even_without_loopback(make_server):
    srv = make_server(allow_loopback=False, api_keys=["k"])
    r = requests.get(f"{srv.url}/healthz", timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
