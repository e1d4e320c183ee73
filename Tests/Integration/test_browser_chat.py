"""The chat application in real headless Chromium (Debian's chromium + chromedriver, driven by Selenium):
two separate browser sessions against the real server, every transport, dropped connections and a
restarted server, the STOMP page, and rendering of hostile text. Screenshots go to test-artifacts/."""
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import BIN, ROOT
from helpers import TOKEN_SECRET, user_token
from tcp_proxy import TCPProxy

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("SWITCHBOARD_ARTIFACTS") or ROOT / "test-artifacts")

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    if os.environ.get("CI"):
        pytest.fail("chromium and chromedriver are required in CI (scripts/test-deps installs them)",
                    pytrace=False)
    pytest.skip("chromium / chromedriver not installed (scripts/test-deps installs them)", allow_module_level=True)


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(history_size=200, token_secret=TOKEN_SECRET)


@pytest.fixture
def browsers(request):
    """browsers(width, height) -> a new, separate Chromium session (own profile, own storage)."""
    drivers = []

    def make(width=1100, height=760):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    f"--window-size={width},{height}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_script_timeout(10)
        drivers.append(driver)
        return driver

    yield make
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for n, driver in enumerate(drivers):
        try:
            driver.save_screenshot(str(ARTIFACTS / f"{request.node.name}-{n}.png"))
            driver.quit()
        except Exception:  # noqa: BLE001 - a driver the test quit already
            pass


def wait(driver, condition, timeout=10, message=""):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d), message)


def login(driver, base, nickname, query=""):
    driver.get(base + (query or "/"))
    driver.find_element(By.ID, "nickname").send_keys(nickname)
    driver.find_element(By.ID, "login").click()
    wait(driver, lambda d: d.find_element(By.ID, "status").text.startswith("connected"),
         message=f"{nickname} did not connect")


def texts(driver, selector="#messages .message .text"):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def notices(driver):
    return texts(driver, "#messages .notice")


def online(driver):
    return sorted(e.text for e in driver.find_elements(By.CSS_SELECTOR, "#online .user"))


def say(driver, text, enter=True):
    box = driver.find_element(By.ID, "message")
    box.send_keys(text)
    if enter:
        box.send_keys("\n")
    else:
        driver.find_element(By.ID, "send").click()


def sees(driver, text, timeout=10):
    wait(driver, lambda d: text in texts(d), timeout, message=f"{text!r} did not appear")


def room():
    return "r" + uuid.uuid4().hex[:8]


def publish_to_room(server_url, room_name, nick, text):
    r = requests.post(f"{server_url}/pub/chat.{room_name}", json={"nick": nick, "text": text}, timeout=5)
    assert r.status_code == 200, r.text


def test_two_people_chat_with_history_presence_and_notices(srv, browsers):
    r = room()
    ann, bob = browsers(), browsers()
    login(ann, srv.url, "ann", f"/?room={r}")
    say(ann, "first, before bob came")
    sees(ann, "first, before bob came")
    login(bob, srv.url, "bob", f"/?room={r}")
    # Bob sees the room's history on joining, with nickname and time.
    sees(bob, "first, before bob came")
    message = bob.find_element(By.CSS_SELECTOR, "#messages .message")
    assert message.find_element(By.CSS_SELECTOR, ".nick").text == "ann"
    assert len(message.find_element(By.CSS_SELECTOR, ".time").text) == 5  # HH:MM
    wait(ann, lambda d: online(d) == ["ann", "bob"], message="ann's online list")
    wait(bob, lambda d: online(d) == ["ann", "bob"], message="bob's online list")
    wait(ann, lambda d: "bob joined" in notices(d))
    say(bob, "hello ann", enter=False)  # the button this time
    sees(ann, "hello ann")
    say(ann, "hello bob")
    sees(bob, "hello bob")
    assert texts(bob) == ["first, before bob came", "hello ann", "hello bob"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ann.save_screenshot(str(ARTIFACTS / "chat.png"))
    bob.get("about:blank")  # bob leaves
    wait(ann, lambda d: "bob left" in notices(d), message="no leave notice")
    wait(ann, lambda d: online(d) == ["ann"])


def test_an_operators_alert_reaches_every_page(srv, browsers):
    pages = [browsers(), browsers()]
    for n, page in enumerate(pages):
        login(page, srv.url, f"reader{n}", f"/?room={room()}")
    text = f"maintenance at noon {uuid.uuid4().hex[:4]}"
    done = subprocess.run([str(BIN), "publish", "alerts", text, "--server", srv.url],
                          capture_output=True, timeout=15)
    assert done.returncode == 0, done.stderr
    for page in pages:
        wait(page, lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, "#alerts .alert")),
             message="the alert did not appear")


def test_hostile_text_is_shown_as_text(srv, browsers):
    r = room()
    ann, bob = browsers(), browsers()
    login(ann, srv.url, "ann", f"/?room={r}")
    login(bob, srv.url, "<b>bob</b>", f"/?room={r}")
    evil = "<img src=x onerror=alert(1)>"
    say(ann, evil)
    sees(bob, evil)
    for page in (ann, bob):
        box = page.find_element(By.ID, "messages")
        assert box.find_elements(By.TAG_NAME, "img") == []
        assert "&lt;img src=x onerror=alert(1)&gt;" in box.get_attribute("innerHTML")
        with pytest.raises(NoAlertPresentException):
            page.switch_to.alert.text
    # Nicknames too.
    wait(ann, lambda d: "<b>bob</b>" in online(d))
    assert ann.find_element(By.ID, "online").find_elements(By.TAG_NAME, "b") == []


@pytest.mark.parametrize("transport", ["websocket", "sse", "longpoll"])
def test_every_transport_chats_and_resumes_after_the_connection_drops(srv, browsers, transport):
    proxy = TCPProxy(srv.port)
    try:
        r = room()
        page, other = browsers(), browsers()
        login(page, proxy.url, "dropper", f"/?room={r}&transport={transport}")
        assert page.find_element(By.ID, "status").text == f"connected · {transport}"
        login(other, srv.url, "steady", f"/?room={r}")
        say(other, "before the drop")
        sees(page, "before the drop")
        say(page, f"sent over {transport}")
        sees(other, f"sent over {transport}")
        # The network goes away; messages are published meanwhile; the network comes back.
        proxy.cut()
        wait(page, lambda d: d.find_element(By.ID, "status").text in ("reconnecting…", "connecting…"),
             timeout=20, message="the page did not notice the drop")
        missed = [f"missed {n}" for n in range(5)]
        for text in missed:
            publish_to_room(srv.url, r, "steady", text)
        time.sleep(0.5)
        proxy.restore()
        wait(page, lambda d: d.find_element(By.ID, "status").text == f"connected · {transport}", timeout=30,
             message="the page did not reconnect")
        say(other, "after the drop")
        sees(page, "after the drop")
        # Nothing lost, nothing twice, in order; no gap notice.
        assert texts(page) == ["before the drop", f"sent over {transport}"] + missed + ["after the drop"]
        assert not any("could not be recovered" in n for n in notices(page))
    finally:
        proxy.close()


def test_the_page_comes_back_after_the_server_restarts(make_server, browsers):
    first = make_server()
    proxy = TCPProxy(first.port)
    try:
        r = room()
        page = browsers()
        login(page, proxy.url, "survivor", f"/?room={r}")
        say(page, "before the restart")
        sees(page, "before the restart")
        assert first.stop() == 0
        wait(page, lambda d: d.find_element(By.ID, "status").text == "reconnecting…", timeout=20)
        second = make_server()
        proxy.target_port = second.port
        wait(page, lambda d: d.find_element(By.ID, "status").text.startswith("connected"), timeout=30,
             message="the page did not reconnect to the new server")
        # The new server has a new history: the page says it could not recover, and goes on live.
        wait(page, lambda d: any("could not be recovered" in n for n in notices(d)))
        publish_to_room(second.url, r, "ops", "after the restart")
        sees(page, "after the restart")
        say(page, "still talking")
        sees(page, "still talking")
    finally:
        proxy.close()


def test_the_stomp_page_and_the_main_page_see_each_other(srv, browsers):
    native, stomp = browsers(), browsers()
    login(native, srv.url, "nat")  # the default room: channel "chat", which is STOMP's /topic/chat
    login(stomp, srv.url, "sto", "/stomp-chat")
    assert stomp.find_element(By.ID, "status").text == "connected · STOMP"
    tag = uuid.uuid4().hex[:6]
    say(stomp, f"from stomp {tag}")
    sees(native, f"from stomp {tag}")
    sees(stomp, f"from stomp {tag}")
    assert native.find_elements(By.CSS_SELECTOR, "#messages .message .nick")[-1].text == "sto"
    say(native, f"from native {tag}")
    sees(stomp, f"from native {tag}")
    assert stomp.find_elements(By.CSS_SELECTOR, "#messages .message .nick")[-1].text == "nat"
    evil = "<script>alert(2)</script>"
    say(native, evil)
    sees(stomp, evil)
    assert stomp.find_element(By.ID, "messages").find_elements(By.TAG_NAME, "script") == []


def test_a_phone_sized_window(srv, browsers):
    phone = browsers(390, 844)
    # A phone's viewport (a desktop window cannot be made that narrow).
    phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    login(phone, srv.url, "phone", f"/?room={room()}")
    say(phone, "typed on a phone")
    sees(phone, "typed on a phone")
    assert phone.execute_script("return window.innerWidth") == 390
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    for element_id in ("message", "send", "messages", "online", "status"):
        element = phone.find_element(By.ID, element_id)
        assert element.is_displayed(), element_id
        rect = element.rect
        assert rect["x"] >= 0 and rect["x"] + rect["width"] <= 390, element_id


def test_the_es_module_calls_and_is_called(srv, browsers):
    page = browsers()
    page.get(srv.url + "/")
    # The ES module, imported by the page: a second client, the user "mod" by the token the back end gave
    # the page, with a handler the back end calls.
    outcome = page.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const token = arguments[0];
        import("/switchboard.mjs").then((module) => {
          const sb = new module.default({ token: token });
          sb.handle("double", (n) => n * 2);
          sb.on("connected", (info) => {
            sb.rpc("anything").then(
              () => done({ client: info.client, rpc: "answered?" }),
              (error) => done({ client: info.client, named: module.Switchboard === module.default,
                                rpc: error.reason, code: error.code }));
          });
        });
    """, user_token("mod"))
    # No native.rpc_url is configured: the promise rejects with the server's error.
    assert outcome["named"] is True and outcome["rpc"] == "rpc_failed" and outcome["code"] == 115
    r = requests.post(f"{srv.url}/api/call", json={"client": outcome["client"], "method": "double", "data": 21},
                      timeout=10)
    assert r.status_code == 200 and r.json() == {"result": 42}
    r = requests.post(f"{srv.url}/api/call", json={"user": "mod", "method": "nope", "data": 1}, timeout=10)
    assert r.status_code == 502 and "no handler" in r.json()["error"]


def run_token_scenario(page, script, tokens, seconds):
    """Runs `script` with switchboard.js on the page: `getToken` hands out `tokens` in order (a bad one when
    they run out) and is counted; after `seconds` the events the client emitted are returned."""
    page.set_script_timeout(seconds + 10)
    return page.execute_async_script("""
        const [tokens, seconds, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
        const events = [];
        let calls = 0;
        const getToken = () => {
          calls += 1;
          if (tokens.length === 0) return Promise.reject(new Error("no more tokens"));
          return Promise.resolve(tokens.shift());
        };
        const log = (sb) => {
          for (const name of ["connected", "disconnected", "refreshed", "error"]) {
            sb.on(name, (info) => events.push({ event: name, reason: info && (info.reason || info.message),
                                                code: info && info.code, reconnect: info && info.reconnect,
                                                expiresAt: info && info.expiresAt }));
          }
        };
        """ + script + """
        setTimeout(() => done({ events: events, calls: calls, state: sb.state, expiresAt: sb.expiresAt }),
                   seconds * 1000);
    """, tokens, seconds)


def test_switchboard_js_refreshes_its_token_before_it_expires(srv, browsers):
    page = browsers()
    page.get(srv.url + "/")
    short, long = user_token("tok", 3), user_token("tok", 600)
    outcome = run_token_scenario(page, """
        const sb = new Switchboard({ getToken: getToken, transports: ["websocket"] });
        log(sb);
    """, [short, long], 6)
    names = [e["event"] for e in outcome["events"]]
    # Connected with the short token, refreshed ahead of its expiry with the long one, never dropped.
    assert names == ["connected", "refreshed"], outcome
    assert outcome["calls"] == 2 and outcome["state"] == "connected"
    assert outcome["expiresAt"] > (time.time() + 500) * 1000


def test_switchboard_js_without_get_token_stops_when_its_token_expires(srv, browsers):
    page = browsers()
    page.get(srv.url + "/")
    outcome = run_token_scenario(page, """
        const sb = new Switchboard({ token: arguments[2], transports: ["websocket"] });
        log(sb);
    """.replace("arguments[2]", repr(user_token("tok", 2))), [], 5)
    assert [e["event"] for e in outcome["events"]] == ["connected", "disconnected"], outcome
    gone = outcome["events"][1]
    assert gone["reason"] == "token-expired" and gone["code"] == 4005 and gone["reconnect"] is False
    assert outcome["state"] == "disconnected" and outcome["calls"] == 0


def test_switchboard_js_comes_back_with_a_new_token_after_expiry(srv, browsers):
    page = browsers()
    page.get(srv.url + "/")
    # The refresh ahead of expiry fails (getToken has a bad moment): the server ends the connection at
    # expiry (4005) and the client reconnects with the next token getToken gives.
    outcome = run_token_scenario(page, """
        const handOut = getToken;
        let n = 0;
        const sb = new Switchboard({ transports: ["websocket"], minReconnectDelay: 100,
          getToken: () => { n += 1; return n === 2 ? Promise.reject(new Error("back end down")) : handOut(); } });
        log(sb);
    """, [user_token("tok", 2), user_token("tok", 600)], 6)
    names = [e["event"] for e in outcome["events"]]
    assert names == ["connected", "error", "disconnected", "connected"], outcome
    assert outcome["events"][2]["reason"] == "token-expired" and outcome["events"][2]["reconnect"] is True
    assert outcome["state"] == "connected" and outcome["expiresAt"] > (time.time() + 500) * 1000
