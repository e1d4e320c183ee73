"""Behind a reverse proxy on the same host (a real Debian nginx on loopback).

Before security.trusted_proxies, every client of a proxy on the server's machine arrived from 127.0.0.1
and had the loopback privilege: anyone on the Internet could publish and use /api through the proxy.
Now forwarding headers from a peer that is not a trusted proxy take the privilege away, and a request
through a trusted one never has it: its forwarded client (from security.forwarded_header only) is the one
counted.
"""
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port
from helpers import assert_error_json, raw_request

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# nginx connects to Switchboard from this address, so the proxy is told apart from direct clients
# (which come from 127.0.0.1) on one machine.
PROXY_ADDRESS = "127.0.0.2"


class Nginx:
    def __init__(self, upstream_port, tmp: Path):
        self.port = free_port()
        self.tmp = tmp
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / d).mkdir(parents=True, exist_ok=True)
        forwarded = f"""
            proxy_http_version 1.1;
            proxy_bind {PROXY_ADDRESS};
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
        """
        conf = f"""
        daemon off;
        worker_processes 1;
        pid {tmp}/nginx.pid;
        error_log {tmp}/error.log;
        events {{ worker_connections 64; }}
        http {{
            access_log off;
            client_body_temp_path {tmp}/body;
            proxy_temp_path {tmp}/proxy;
            fastcgi_temp_path {tmp}/fastcgi;
            uwsgi_temp_path {tmp}/uwsgi;
            scgi_temp_path {tmp}/scgi;
            server {{
                listen 127.0.0.1:{self.port};
                # The usual configuration: the client's address appended to X-Forwarded-For.
                location / {{
                    proxy_pass http://127.0.0.1:{upstream_port};
                    {forwarded}
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                }}
                # A stand-in for a client somewhere on the Internet (this test cannot have one).
                location /remote/ {{
                    proxy_pass http://127.0.0.1:{upstream_port}/;
                    {forwarded}
                    proxy_set_header X-Forwarded-For 203.0.113.9;
                }}
            }}
        }}
        """
        (tmp / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not start: {(tmp / 'error.log').read_text() if (tmp / 'error.log').exists() else ''}")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def proxied(make_server, tmp_path):
    """proxied(**config) -> (switchboard, nginx in front of it); both stopped at the end."""
    started = []

    def make(**config):
        s = make_server(api_keys=["k3y"], **config)
        n = Nginx(s.port, tmp_path / f"nginx-{len(started)}")
        started.append(n)
        return s, n

    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (scripts/test-deps installs nginx-light)")
    yield make
    for n in started:
        n.stop()


def test_an_untrusted_proxy_on_the_same_host_gives_no_privilege(proxied):
    """Before: 200 through nginx — every client of the proxy was "loopback"."""
    s, nginx = proxied()
    r = requests.post(f"{nginx.url}/pub/prices", data="through the proxy", timeout=5)
    doc = assert_error_json(r.status_code, r.content, 403, "forbidden")
    assert "trusted_proxies" in doc["error"]
    # The API key still works through the proxy; direct loopback clients keep the privilege.
    r = requests.post(f"{nginx.url}/pub/prices", data="with a key", headers={"Authorization": "Bearer k3y"}, timeout=5)
    assert r.status_code == 200
    assert requests.post(f"{s.url}/pub/prices", data="direct", timeout=5).status_code == 200


def test_forwarding_headers_from_a_direct_client_are_not_believed(proxied):
    s, _ = proxied(security={"trusted_proxies": [PROXY_ADDRESS]})
    r = raw_request(s, "POST", "/pub/prices", headers={"X-Forwarded-For": "127.0.0.1", "Content-Type": "text/plain"},
                    body=b"spoofed")
    assert_error_json(r.status, r.body, 403, "forbidden")


def test_a_request_through_a_trusted_proxy_never_has_the_loopback_privilege(proxied):
    """The proxy names the client, but a header it did not set could be the client's own (nginx passes
    `Forwarded` on as written while it appends to X-Forwarded-For), and a client on the proxy's machine
    is not the back end: through a proxy, publishing and the API need a key."""
    s, nginx = proxied(security={"trusted_proxies": [PROXY_ADDRESS]})
    r = requests.post(f"{nginx.url}/pub/prices", data="local operator", timeout=5)
    doc = assert_error_json(r.status_code, r.content, 403, "forbidden")
    assert "through a proxy" in doc["error"]
    for spoof in ({"X-Forwarded-For": "127.0.0.1"}, {"Forwarded": "for=127.0.0.1"}, {"X-Real-IP": "127.0.0.1"}):
        r = requests.post(f"{nginx.url}/remote/pub/prices", data="spoof", headers=spoof, timeout=5)
        assert r.status_code == 403, spoof
    r = requests.post(f"{nginx.url}/remote/pub/prices", data="keyed", headers={"Authorization": "Bearer k3y"},
                      timeout=5)
    assert r.status_code == 200
    # The back end on this machine, straight to Switchboard (not from the proxy's address), keeps it.
    assert requests.post(f"{s.url}/pub/prices", data="direct", timeout=5).status_code == 200


def test_a_rebound_name_gets_no_privilege_on_a_public_listener(make_server):
    """Listening on 0.0.0.0 with no security.hosts (here: hosts = ["*"], the same answer-any-Host rule, as
    tests bind loopback only), any Host is answered; but a page whose name was pointed at 127.0.0.1 (DNS
    rebinding, same-origin as far as the browser knows) must not be the back end."""
    s = make_server(security={"hosts": ["*"]})
    url = s.url
    r = requests.post(f"{url}/pub/prices", data="x", headers={"Host": f"rebind.evil.example:{s.port}",
                                                             "Origin": f"http://rebind.evil.example:{s.port}"},
                      timeout=5)
    doc = assert_error_json(r.status_code, r.content, 403, "forbidden")
    assert "Host" in doc["error"]
    assert requests.get(f"{url}/healthz", headers={"Host": f"rebind.evil.example:{s.port}"}, timeout=5).status_code == 200
    assert requests.post(f"{url}/pub/prices", data="x", timeout=5).status_code == 200   # Host: 127.0.0.1:PORT
