"""The `switchboard` command line: publish, subscribe, check-config."""
import json
import os
import re
import subprocess
import time

import pytest
import requests

from conftest import BIN, SECTIONS
from helpers import SSEClient, channel_info, publish, publish_many, wait_for_subscribers


def run(*args, input=None, timeout=15):
    return subprocess.run([str(BIN), *args], input=input, capture_output=True, timeout=timeout)


# ------------------------------------------------------------------ publish

def test_cli_publish_argument(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        p = run("publish", ch, "from the cli", "--server", server.url)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert doc["channel"] == ch and doc["subscribers"] == 1
        ev = sse.next_event()
        assert (ev.id, ev.data) == (doc["id"], "from the cli")


def test_cli_publish_stdin_event_content_type(server, chan):
    ch = chan()
    with SSEClient(server, f"/sub/{ch}") as sse:
        wait_for_subscribers(server, ch, 1)
        p = run("publish", ch, "-", "--server", server.url, "--event", "greeting",
                "--content-type", "text/x-cli", input=b"line1\nline2")
        assert p.returncode == 0, p.stderr
        ev = sse.next_event()
        assert ev.event == "greeting" and ev.data == "line1\nline2"
    m = requests.get(f"{server.url}/api/history/{ch}", timeout=5).json()["messages"][0]
    assert m["content_type"].startswith("text/x-cli")


def test_cli_publish_missing_message_reads_stdin(server, chan):
    ch = chan()
    p = run("publish", ch, "--server", server.url, input=b"from stdin")
    assert p.returncode == 0, p.stderr
    assert requests.get(f"{server.url}/api/history/{ch}", timeout=5).json()["messages"][0]["data"] == "from stdin"


def test_cli_publish_http_error_nonzero(server):
    p = run("publish", "bad$name", "x", "--server", server.url)
    assert p.returncode != 0
    assert b"invalid_channel" in p.stdout + p.stderr or b"400" in p.stdout + p.stderr


def test_cli_publish_api_key(make_server, chan):
    srv = make_server(allow_loopback=False, api_keys=["sekrit"])
    ch = chan()
    p = run("publish", ch, "x", "--server", srv.url)
    assert p.returncode != 0
    p = run("publish", ch, "x", "--server", srv.url, "--api-key", "sekrit")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["channel"] == ch


def test_cli_publish_unreachable_server_nonzero():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = run("publish", "ch", "x", "--server", f"http://127.0.0.1:{port}")
    assert p.returncode != 0


# ------------------------------------------------------------------ subscribe

def start_sub(*args):
    return subprocess.Popen([str(BIN), "subscribe", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_cli_subscribe_count(server, chan):
    ch = chan()
    p = start_sub(ch, "--server", server.url, "--count", "2")
    try:
        assert wait_for_subscribers(server, ch, 1, timeout=10)
        publish(server, ch, "one")
        publish(server, ch, "two")
        out, err = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert out.decode().splitlines() == ["one", "two"]


def test_cli_subscribe_json_multichannel(server, chan):
    a, b = chan("a"), chan("b")
    p = start_sub(a, b, "--server", server.url, "--json", "--count", "2")
    try:
        assert wait_for_subscribers(server, a, 1, timeout=10)
        assert wait_for_subscribers(server, b, 1, timeout=10)
        da = publish(server, a, "to a", event="ev")
        db = publish(server, b, "to b")
        out, err = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 0, err
    objs = [json.loads(line) for line in out.decode().splitlines()]
    assert [(o["channel"], o["data"], o["event"]) for o in objs] == [(a, "to a", "ev"), (b, "to b", None)]
    assert da["id"] in objs[0]["id"] and db["id"] in objs[1]["id"]


def test_cli_subscribe_since(server, chan):
    ch = chan()
    ids = publish_many(server, ch, ["m1", "m2", "m3"])
    p = start_sub(ch, "--server", server.url, "--since", ids[0], "--count", "3")
    try:
        assert wait_for_subscribers(server, ch, 1, timeout=10)
        publish(server, ch, "live")
        out, err = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert out.decode().splitlines() == ["m2", "m3", "live"]


# ------------------------------------------------------------------ check-config

VALID = """\
# a complete, valid configuration
[server]
http = "127.0.0.1:8123"
threads = 2
shutdown_timeout = 5
log_level = "debug"

[channels]
history_size = 50
history_ttl = 600
ping_interval = 0.5
longpoll_timeout = 12.5
message_template = "~id~ ~text~\\n"
ping_template = ""

[limits]
max_channel_name = 100
max_channels_per_subscription = 8
max_message_size = 65536
max_outbound_bytes = 1048576
max_request_line = 4096
max_header_size = 8192

[security]
allow_loopback = false
api_keys = ["a", "b"]
client_publish = ["chat.*", "lobby"]

[testing]
websocket_echo = true
"""


def test_check_config_valid(tmp_path):
    f = tmp_path / "good.toml"
    f.write_text(VALID)
    p = run("check-config", str(f))
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().strip() == f"{f}: OK"


def test_check_config_empty_file_is_valid(tmp_path):
    f = tmp_path / "empty.toml"
    f.write_text("")
    p = run("check-config", str(f))
    assert p.returncode == 0 and p.stdout.decode().strip() == f"{f}: OK"


def test_check_config_repo_samples_are_valid():
    from conftest import ROOT
    samples = [p for p in list(ROOT.glob("*.toml")) + list(ROOT.glob("docs/**/*.toml"))
               + list(ROOT.glob("config/**/*.toml")) + list(ROOT.glob("Resources/**/*.toml"))
               if p.name not in ("Package.toml",)]
    if not samples:
        pytest.skip("no sample configuration file in the repository yet")
    for s in samples:
        p = run("check-config", str(s))
        assert p.returncode == 0, (s, p.stderr)


BROKEN = """\
[server]
http = "127.0.0.1:8000"
threads = "four"
log_level = "info"

[channels]
history_size = -5
no_such_key = 1
ping_interval = 1

[limits]
max_message_size = 1024
"""
BROKEN_LINES = {3, 7, 8}


def error_lines(stderr: bytes, f):
    lines = [l for l in stderr.decode().splitlines() if l.strip()]
    pat = re.compile(rf"^{re.escape(str(f))}:(\d+): error: (.+)$")
    found = []
    for l in lines:
        m = pat.match(l)
        assert m, f"badly formatted error line {l!r}"
        found.append(int(m.group(1)))
    return found


def test_check_config_reports_every_error_with_its_line(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text(BROKEN)
    p = run("check-config", str(f))
    assert p.returncode == 1
    assert sorted(set(error_lines(p.stderr, f))) == sorted(BROKEN_LINES), p.stderr.decode()


def test_check_config_unknown_section(tmp_path):
    f = tmp_path / "section.toml"
    f.write_text("[server]\nthreads = 1\n\n[nope]\nx = 1\n")
    p = run("check-config", str(f))
    assert p.returncode == 1
    assert set(error_lines(p.stderr, f)) <= {4, 5} and error_lines(p.stderr, f), p.stderr.decode()


def test_check_config_syntax_error_line(tmp_path):
    f = tmp_path / "syntax.toml"
    f.write_text("[server]\nthreads = 2\n\n[channels]\nhistory_size = = 3\n")
    p = run("check-config", str(f))
    assert p.returncode == 1
    assert error_lines(p.stderr, f)[0] == 5, p.stderr.decode()


@pytest.mark.parametrize("line", [
    'allow_loopback = "yes"',
    'api_keys = "k"',
    'client_publish = [1, 2]',
])
def test_check_config_wrong_types_in_security(tmp_path, line):
    f = tmp_path / "types.toml"
    f.write_text(f"# comment\n[security]\n{line}\n")
    p = run("check-config", str(f))
    assert p.returncode == 1
    assert error_lines(p.stderr, f) == [3], p.stderr.decode()


@pytest.mark.parametrize("line", [
    "threads = -1", "shutdown_timeout = -3", 'log_level = "loud"', 'http = "not an address"',
])
def test_check_config_out_of_range_server(tmp_path, line):
    f = tmp_path / "range.toml"
    f.write_text(f"[server]\n\n{line}\n")
    p = run("check-config", str(f))
    assert p.returncode == 1
    assert error_lines(p.stderr, f) == [3], p.stderr.decode()


def test_check_config_missing_file(tmp_path):
    p = run("check-config", str(tmp_path / "does-not-exist.toml"))
    assert p.returncode != 0
    assert p.stderr.strip()


def test_serve_refuses_invalid_config(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text(BROKEN)
    p = run("serve", "--config", str(f), timeout=15)
    assert p.returncode != 0
    assert b"error" in p.stderr.lower()
