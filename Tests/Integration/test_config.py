"""Configuration precedence: defaults < file < environment < flags."""
import socket

import requests

from conftest import BIN
from helpers import channel_info, publish_many


def test_env_overrides_file(make_server, chan):
    srv = make_server(history_size=50, env={"SWITCHBOARD_CHANNELS_HISTORY_SIZE": "2"})
    ch = chan()
    publish_many(srv, ch, ["a", "b", "c"])
    assert channel_info(srv, ch)["messages"] == 2


def test_env_limits(make_server, chan):
    srv = make_server(env={"SWITCHBOARD_LIMITS_MAX_MESSAGE_SIZE": "10"})
    r = requests.post(f"{srv.url}/pub/{chan()}", data=b"x" * 11, timeout=5)
    assert r.status_code == 413
    r = requests.post(f"{srv.url}/pub/{chan()}", data=b"x" * 10, timeout=5)
    assert r.status_code == 200


def test_flag_overrides_env_and_file(make_server):
    # the fixture writes http=127.0.0.1:PORT in the file and passes --http with the same port;
    # SWITCHBOARD_HTTP points elsewhere and must lose against the flag
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        other = s.getsockname()[1]
    srv = make_server(env={"SWITCHBOARD_HTTP": f"127.0.0.1:{other}"})
    assert requests.get(f"{srv.url}/healthz", timeout=5).status_code == 200
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", other)) != 0


def test_file_overrides_defaults(make_server, chan):
    srv = make_server(max_channel_name=10)
    r = requests.post(f"{srv.url}/pub/{'n' * 11}", data=b"x", timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "invalid_channel"
    assert requests.post(f"{srv.url}/pub/{'n' * 10}", data=b"x", timeout=5).status_code == 200


def test_max_channels_per_subscription_setting(make_server, chan):
    srv = make_server(max_channels_per_subscription=2)
    r = requests.get(f"{srv.url}/sub/{chan()},{chan()},{chan()}", timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "too_many_channels"


def test_serve_help_lists_options():
    import subprocess
    p = subprocess.run([str(BIN), "serve", "--help"], capture_output=True, timeout=10)
    out = (p.stdout + p.stderr).decode()
    assert "--http" in out and "--config" in out


def test_the_readme_lists_every_option_of_the_sample_configuration():
    """README.md's option table is generated from switchboard.toml (which a Swift test keeps equal to
    `switchboard sample-config`): a new option cannot go undocumented."""
    import subprocess
    import sys
    from conftest import ROOT
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "config-table"), "--check"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
