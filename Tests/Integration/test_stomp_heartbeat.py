"""Heart-beating with stomp.heartbeat = 0.2 s: negotiation, server EOLs at the negotiated interval, and a
client that promised heart-beats and went silent is disconnected with ERROR heart-beat timeout."""
import time

import pytest

from helpers import publish
from stomp_helpers import stomp_client  # noqa: F401  (fixture)
from stomp_raw import RawStomp

# The broker's functional tests run with an open policy: every client may send anywhere
# (the policy itself is tested in test_security_policy.py).
OPEN = ["*"]

HB = 0.2


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(stomp={"heartbeat": HB}, client_publish=OPEN, client_queues=OPEN)


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


def test_connected_offers_the_configured_heartbeat(srv):
    with RawStomp.to(srv) as c:
        f = c.connect("1.2", heart_beat="0,0")
        assert f.get("heart-beat") == "200,200"


def count_heartbeats(c, seconds):
    """Heart-beats received during the next `seconds` (no frame may arrive meanwhile)."""
    base = len(c.heartbeats)
    end = time.monotonic() + seconds
    c.wait_heartbeats(10**6, timeout=seconds)
    return [t for t in c.heartbeats[base:] if t <= end + 0.05]


def test_server_sends_eols_at_the_negotiated_interval(srv):
    with RawStomp.to(srv) as c:
        c.connect("1.2", heart_beat="0,100")          # server -> client: max(200, 100) = 200 ms
        beats = count_heartbeats(c, 1.6)               # about 8
        assert 5 <= len(beats) <= 11, gaps(beats)
        mean = (beats[-1] - beats[0]) / (len(beats) - 1)
        assert 0.14 <= mean <= 0.3, gaps(beats)


def test_larger_client_interval_wins(srv):
    with RawStomp.to(srv) as c:
        c.connect("1.2", heart_beat="0,600")          # max(200, 600) = 600 ms
        beats = count_heartbeats(c, 2.0)               # about 3 (10 at 200 ms)
        assert 2 <= len(beats) <= 4, gaps(beats)


@pytest.mark.parametrize("hb", [None, "0,0"])
def test_no_server_heartbeats_unless_asked(srv, hb):
    with RawStomp.to(srv) as c:
        c.connect("1.2", heart_beat=hb)
        beats = c.wait_heartbeats(1, timeout=0.7)
        assert beats == []


def test_no_eol_while_messages_flow(srv, chan):
    """An EOL is only sent when nothing else was sent for the interval."""
    ch = chan()
    with RawStomp.to(srv) as c:
        c.connect("1.2", heart_beat="0,500")          # 500 ms; a message goes out about every 60 ms
        c.subscribe(f"/topic/{ch}", receipt="r1")
        base = len(c.heartbeats)
        t0 = time.monotonic()
        stop = t0 + 1.5
        n = 0
        arrivals = []
        while time.monotonic() < stop:
            publish(srv, ch, f"m{n}")
            n += 1
            c.expect("MESSAGE", timeout=2)
            arrivals.append(time.monotonic() - t0)
            time.sleep(0.05)
        beats = [round(b - t0, 3) for b in c.heartbeats[base:]]
        assert len(beats) <= 1, f"EOLs at {beats} while MESSAGEs arrived at {[round(a, 3) for a in arrivals]}"
        assert count_heartbeats(c, 1.2), "no heart-beat once the messages stopped"


def test_silent_client_that_promised_heartbeats_is_disconnected(srv):
    with RawStomp.to(srv) as c:
        t0 = time.monotonic()
        c.connect("1.2", heart_beat="100,0")          # client -> server: max(100, 200) = 200 ms
        err = c.expect_error(timeout=3)
        elapsed = time.monotonic() - t0
        assert err.get("message") == "heart-beat timeout"
        assert 0.35 <= elapsed <= 2.0, elapsed


def test_client_sending_eols_stays_connected(srv, chan):
    with RawStomp.to(srv) as c:
        c.connect("1.2", heart_beat="100,0")
        end = time.monotonic() + 1.2
        while time.monotonic() < end:
            c.send(b"\n")
            time.sleep(0.1)
        c.publish(f"/topic/{chan()}", b"still here", receipt="alive")


def test_client_sending_frames_stays_connected(srv, chan):
    dest = f"/topic/{chan()}"
    with RawStomp.to(srv) as c:
        c.connect("1.2", heart_beat="100,0")
        end = time.monotonic() + 1.2
        i = 0
        while time.monotonic() < end:
            c.publish(dest, f"{i}".encode())
            i += 1
            time.sleep(0.1)
        c.publish(dest, b"still here", receipt="alive")


def test_client_without_heartbeats_may_stay_silent(srv, chan):
    with RawStomp.to(srv) as c:
        c.connect("1.2", heart_beat="0,0")
        assert not c.closed(1.0)
        c.publish(f"/topic/{chan()}", b"late", receipt="alive")


def test_slow_but_in_time_client_is_kept(srv):
    """EOLs every 350 ms against a 200 ms interval: within twice the interval, so kept."""
    with RawStomp.to(srv) as c:
        c.connect("1.2", heart_beat="100,0")
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            time.sleep(0.3)
            c.send(b"\n")
        c.sync()


def test_stomp_py_heartbeats_both_ways(srv, stomp_client, chan):
    c = stomp_client(srv, heartbeats=(100, 100), heart_beat_receive_scale=3.0)
    assert c.connected_frame.headers["heart-beat"] == "200,200"
    time.sleep(1.2)
    assert c.l.heartbeats >= 3, c.l.heartbeats
    assert not c.l.heartbeat_timeout and not c.l.disconnected and not c.l.errors
    c.subscribe(f"/topic/{chan()}")                  # still usable


def test_stomp_py_client_that_stops_heartbeating_is_dropped(srv, stomp_client):
    c = stomp_client(srv, heartbeats=(100, 0))
    # stop stomp.py's heart-beat thread: the client keeps its socket open but sends nothing
    c.conn.heartbeat_terminate_event.set()
    assert c.wait_disconnected(3)
    assert c.l.errors and c.l.errors[0].headers.get("message") == "heart-beat timeout"


def test_heartbeats_over_websocket(srv):
    from stomp_raw import RawStompWS
    with RawStompWS(f"ws://127.0.0.1:{srv.port}/stomp") as w:
        w.connect("1.2", heart_beat="0,100")
        t0 = time.monotonic()
        while len(w.heartbeats) < 3 and time.monotonic() - t0 < 2:
            try:
                w.recv(timeout=0.5)
            except TimeoutError:
                pass
        assert len(w.heartbeats) >= 3
        assert all(op == 1 and data in (b"\n", b"\r\n") for op, data in w.messages[1:]), w.messages[:5]
