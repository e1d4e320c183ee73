"""switchboard.js and the chat pages, served from the binary (scripts/embed-web puts web/ into it)."""
import subprocess

import pytest
import requests

from conftest import ROOT

ASSETS = {
    "/": ("text/html", "web/chat.html"),
    "/stomp-chat": ("text/html", "web/stomp-chat.html"),
    "/chat.css": ("text/css", "web/chat.css"),
    "/switchboard.js": ("text/javascript", "web/switchboard.js"),
    "/switchboard.d.ts": ("application/typescript", "web/switchboard.d.ts"),
}


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server()


def test_the_embedded_copy_is_up_to_date():
    done = subprocess.run([str(ROOT / "scripts" / "embed-web"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", sorted(ASSETS))
def test_each_asset_is_served_as_written(srv, path):
    content_type, source = ASSETS[path]
    r = requests.get(srv.url + path, timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(content_type)
    assert r.headers["cache-control"] == "no-cache"
    assert r.text == (ROOT / source).read_text(encoding="utf-8")


def test_the_module_is_the_script_with_exports(srv):
    script = requests.get(srv.url + "/switchboard.js", timeout=5).text
    module = requests.get(srv.url + "/switchboard.mjs", timeout=5).text
    assert module.startswith(script)
    assert module[len(script):].strip().splitlines() == ["export { Switchboard };", "export default Switchboard;"]


def test_etag_revalidation(srv):
    first = requests.get(srv.url + "/switchboard.js", timeout=5)
    etag = first.headers["etag"]
    again = requests.get(srv.url + "/switchboard.js", headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    other = requests.get(srv.url + "/switchboard.js", headers={"If-None-Match": '"other"'}, timeout=5)
    assert other.status_code == 200
    assert first.headers["access-control-allow-origin"] == "*"


def test_only_get_and_head(srv):
    assert requests.head(srv.url + "/switchboard.js", timeout=5).status_code == 200
    r = requests.post(srv.url + "/switchboard.js", data="x", timeout=5)
    assert r.status_code == 405


def test_the_chat_can_be_turned_off(make_server):
    srv = make_server(chat=False)
    assert requests.get(srv.url + "/", timeout=5).status_code == 404
    assert requests.get(srv.url + "/stomp-chat", timeout=5).status_code == 404
    assert requests.get(srv.url + "/switchboard.js", timeout=5).status_code == 200


def test_clients_may_publish_into_the_chat_rooms_by_default(srv):
    from test_native_protocol import Native
    n = Native(srv)
    try:
        n.call("connect")
        assert n.call("publish", channel="chat.lobby", data={"text": "hi"})["result"]["channel"] == "chat.lobby"
        assert n.call("publish", channel="news", data="no")["error"]["name"] == "permission_denied"
    finally:
        n.close()
