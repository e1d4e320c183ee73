"""Signed tokens (docs/security.md#tokens): HS256 with security.token_secret; RS256, ES256 and EdDSA with
the keys of security.jwks (a file, or an https:// URL fetched and refreshed); exp required; claims of the
wrong type refused; canonical base64url only; refresh before exp, close 4005 after it; channel-scoped
permissions. Tokens are made with PyJWT, the way a back end makes them.

Before: only HS256; a token without exp never expired; "exp" as a string was ignored; a signature
re-encoded non-canonically was accepted; a connection lived on after its token expired.
"""
import json
import time

import jwt
import pytest
import requests
import socketio
import websocket
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from helpers import TOKEN_SECRET, make_token, publish, ws_expect_close
from sio_raw import SocketIO
from test_native_protocol import Native
from tls_helpers import HTTPSFileServer, make_certificates

KEYS = {
    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
}
TO_JWK = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}


def public_jwk(alg, kid=None, key=None):
    jwk = json.loads(TO_JWK[alg].to_jwk((key or KEYS[alg]).public_key()))
    jwk["kid"] = kid or f"{alg.lower()}-1"
    return jwk


def jwks(*jwk_list):
    return json.dumps({"keys": list(jwk_list)}).encode()


def sign(alg, claims, kid=None, key=None):
    if alg == "HS256":
        return jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")
    return jwt.encode(claims, key or KEYS[alg], algorithm=alg, headers={"kid": kid or f"{alg.lower()}-1"})


def claims(user="ann", seconds=600, **extra):
    return {"sub": user, "exp": int(time.time()) + seconds, **extra}


@pytest.fixture(scope="module")
def srv(make_module_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_bytes(jwks(*(public_jwk(alg) for alg in KEYS)))
    return make_module_server(token_secret=TOKEN_SECRET, client_subscribe=["public.*"], api_keys=["k3y"],
                              security={"jwks": str(path)})


def connect(srv, token):
    c = Native(srv, connect=False)
    c.reply = c.call("connect", token=token)
    return c


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "EdDSA"])
def test_every_algorithm_names_the_user(srv, alg):
    c = connect(srv, sign(alg, claims("user-" + alg.lower(), info={"nick": alg})))
    try:
        result = c.reply["result"]
        assert result["user"] == "user-" + alg.lower()
        assert result["expires_at"] > time.time() * 1000
    finally:
        c.close()


@pytest.mark.parametrize("token,words", [
    (lambda: sign("RS256", {"sub": "ann"}), "exp"),                                       # no exp
    (lambda: sign("HS256", {"sub": "ann", "exp": str(int(time.time()) + 600)}), "wrong type"),  # exp a string
    (lambda: sign("HS256", {"sub": 42, "exp": int(time.time()) + 600}), "wrong type"),
    (lambda: sign("HS256", claims(channels="team.*")), "wrong type"),
    (lambda: sign("ES256", claims(seconds=-5)), "expired"),
    (lambda: sign("RS256", claims(), kid="unknown-kid"), "kid"),
    (lambda: sign("ES256", claims(), key=ec.generate_private_key(ec.SECP256R1())), "signature"),
    (lambda: jwt.encode(claims(), TOKEN_SECRET, algorithm="HS512"), "HS512"),
    (lambda: jwt.encode(claims(), None, algorithm="none"), "none"),
], ids=["no-exp", "exp-string", "sub-number", "channels-string", "expired", "unknown-kid", "other-key", "hs512", "none"])
def test_bad_tokens_are_refused_with_a_reason(srv, token, words):
    c = connect(srv, token())
    try:
        error = c.reply["error"]
        assert error["name"] == "invalid_token" and words in error["message"], error
    finally:
        c.close()


def test_exp_may_be_made_optional_with_a_warning(make_server):
    s = make_server(token_secret=TOKEN_SECRET, security={"token_require_exp": False})
    c = connect(s, make_token({"sub": "forever"}))
    try:
        assert c.reply["result"]["user"] == "forever" and "expires_at" not in c.reply["result"]
    finally:
        c.close()
    assert "token_require_exp is off" in s.log()


def test_issuer_and_audience_keep_out_tokens_made_for_other_applications(make_server, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_bytes(jwks(public_jwk("ES256")))
    s = make_server(security={"jwks": str(path), "token_issuer": "https://id.example", "token_audience": "push"})
    mine = connect(s, sign("ES256", claims(iss="https://id.example", aud=["mail", "push"])))
    theirs = connect(s, sign("ES256", claims(iss="https://id.example", aud="mail")))
    forged = connect(s, sign("ES256", claims(iss="https://other.example", aud="push")))
    try:
        assert mine.reply["result"]["user"] == "ann"
        assert theirs.reply["error"]["code"] == 113 and "security.token_audience" in theirs.reply["error"]["message"]
        assert forged.reply["error"]["code"] == 113 and "security.token_issuer" in forged.reply["error"]["message"]
    finally:
        for c in (mine, theirs, forged):
            c.close()
    # Without an audience, a shared identity provider's keys accept tokens for any application: said at start.
    loose = make_server(security={"jwks": str(path)})
    assert "without security.token_audience" in loose.log()


def test_a_signed_token_with_an_absurd_expiry_is_refused_not_fatal(srv):
    """exp = 1e16 seconds: its milliseconds do not fit in 64 bits. Before, converting them trapped and the
    whole server stopped."""
    c = connect(srv, make_token({"sub": "ann", "exp": 1e16}))
    try:
        assert c.reply["error"]["code"] == 113 and "between 1970 and 9999" in c.reply["error"]["message"]
    finally:
        c.close()
    assert requests.get(f"{srv.url}/healthz", timeout=5).status_code == 200


def test_only_the_canonical_encoding_of_a_signature_is_accepted(srv):
    token = sign("HS256", claims())
    head, body, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(signature[-1])
    # HMAC-SHA-256 is 32 bytes: 43 characters whose last carries 2 unused bits. Flipping one of them
    # leaves the decoded bytes (and a lenient decoder's verdict) unchanged.
    sibling = alphabet[index ^ 1]
    for forged in (f"{head}.{body}.{signature[:-1]}{sibling}", f"{head}.{body}.{signature}="):
        c = connect(srv, forged)
        try:
            assert c.reply["error"]["name"] == "invalid_token", forged
        finally:
            c.close()
    c = connect(srv, token)
    assert c.reply["result"]["user"] == "ann"
    c.close()


def test_a_connection_ends_when_its_token_expires(srv):
    c = connect(srv, sign("EdDSA", claims(seconds=2)))
    try:
        assert c.reply["result"]["user"] == "ann"
        code, reason, messages = ws_expect_close(c.ws, timeout=8)
        assert code == 4005 and reason == "token expired"
        assert {"push": "disconnect", "reason": "token-expired"} in [json.loads(data) for _, data in messages]
    finally:
        c.close()


def test_refresh_before_exp_keeps_the_connection(srv):
    c = connect(srv, sign("RS256", claims(seconds=2)))
    try:
        time.sleep(1)
        fresh = sign("ES256", claims(seconds=60))
        assert c.call("refresh", token=fresh)["result"]["expires_at"] > (time.time() + 50) * 1000
        end = time.time() + 2.5   # past the first token's exp; the client keeps talking (and answering pings)
        while time.time() < end:
            assert "result" in c.call("ping")
            time.sleep(0.2)
        other = c.call("refresh", token=sign("HS256", claims(user="mallory")))
        assert other["error"]["name"] == "invalid_token" and "another user" in other["error"]["message"]
    finally:
        c.close()


def test_a_token_grants_its_channels(srv):
    c = connect(srv, sign("HS256", claims(channels=["team.*", "private.ann"])))
    try:
        assert "result" in c.call("publish", channel="team.red", data="go")
        assert c.call("publish", channel="news", data="x")["error"]["name"] == "permission_denied"
        assert "result" in c.call("subscribe", channel="private.ann")   # client_subscribe is public.* only
        assert c.call("subscribe", channel="private.bob")["error"]["name"] == "permission_denied"
    finally:
        c.close()
    # The same grants on plain HTTP subscribers (browsers cannot set headers on EventSource or WebSocket).
    token = sign("ES256", claims(channels=["private.*"]))
    assert requests.get(f"{srv.url}/sub/private.x", timeout=5).status_code == 403
    r = requests.get(f"{srv.url}/sub/private.x?access_token={token}&transport=longpoll&last_event_id=x:0", timeout=10)
    assert r.status_code in (200, 204), r.text
    assert requests.get(f"{srv.url}/sub/private.x?access_token=k3y&last_event_id=x:0", timeout=10).status_code in (200, 204)
    bad = requests.get(f"{srv.url}/sub/public.x?access_token=nonsense", timeout=5)
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_token"


def test_a_refresh_that_grants_less_ends_the_subscriptions_it_no_longer_grants(srv):
    """Before: a narrower token left the subscriptions of the wider one in place."""
    c = connect(srv, sign("HS256", claims(channels=["private.*"])))
    try:
        assert "result" in c.call("subscribe", channel="private.ann")
        assert "result" in c.call("subscribe", channel="public.news")
        assert "result" in c.call("refresh", token=sign("HS256", claims()))   # no channels: client_subscribe only
        def next_push():   # presence notices (join, leave) aside
            while (push := c.push()).get("push") in ("join", "leave"):
                pass
            return push
        assert next_push() == {"push": "unsubscribe", "channel": "private.ann", "reason": "permission-revoked"}
        publish(srv, "private.ann", "secret")
        publish(srv, "public.news", "news")
        assert next_push()["data"] == "news"   # and nothing from private.ann before it
        assert c.call("subscribe", channel="private.ann")["error"]["name"] == "permission_denied"
    finally:
        c.close()


def test_a_subscription_opened_with_a_token_ends_when_the_token_expires(srv):
    """Before: an EventSource opened with ?access_token= lived on after the token expired."""
    token = sign("HS256", claims(seconds=2, channels=["private.*"]))
    started = time.monotonic()
    with requests.get(f"{srv.url}/sub/private.stream?access_token={token}", stream=True, timeout=10,
                      headers={"Accept": "text/event-stream"}) as r:
        assert r.status_code == 200
        body = b"".join(r.iter_content(chunk_size=None))   # until the server ends the response
    assert time.monotonic() - started < 6
    assert b"event: switchboard-disconnect" in body and b"token-expired" in body
    token = sign("HS256", claims(seconds=2, channels=["private.*"]))
    ws = websocket.create_connection(f"{srv.ws_url}/sub/private.ws?access_token={token}", timeout=10)
    code, reason, _ = ws_expect_close(ws, timeout=8)
    ws.close()
    assert (code, reason) == (4005, "token expired")


def test_a_recovered_socketio_socket_keeps_its_token_grants_and_expiry(make_server):
    """Before: a socket recovered without a token (only its pid) lived on past the token's expiry."""
    srv = make_server(token_secret=TOKEN_SECRET, client_subscribe=["public.*"],
                      socketio={"recovery_window": 10, "ping_interval": 0.5, "ping_timeout": 2})
    first = SocketIO(srv, auth={"token": sign("HS256", claims(seconds=3, channels=["private.*"]))})
    pid, sid = first.handshake["pid"], first.sid
    assert first.call("subscribe", {"channel": "private.x"})[0]["ok"]
    first.ws.sock.close()   # the network drops before the token expires
    back = SocketIO(srv, auth={"pid": pid})
    try:
        assert back.sid == sid
        assert back.call("subscribe", {"channel": "private.y"})[0]["ok"]   # still what the token granted
        deadline = time.monotonic() + 8
        while back.recv(timeout=deadline - time.monotonic(), skip_pings=True) != "41":
            pass   # the namespace disconnect at the token's expiry
    finally:
        back.close()
    # Dropped before the expiry and back after it: not recovered (a new, anonymous socket).
    second = SocketIO(srv, auth={"token": sign("HS256", claims(seconds=2, channels=["private.*"]))})
    pid, sid = second.handshake["pid"], second.sid
    second.ws.sock.close()
    time.sleep(3)
    late = SocketIO(srv, auth={"pid": pid})
    try:
        assert late.sid != sid
        assert late.call("subscribe", {"channel": "private.x"})[0]["ok"] is False
    finally:
        late.close()


def test_socketio_auth_token_names_the_user(srv):
    client = socketio.Client()
    client.connect(srv.url, auth={"token": sign("EdDSA", claims(user="sio-user", channels=["private.*"]))},
                   transports=["websocket"], wait_timeout=5)
    try:
        sockets = requests.get(f"{srv.url}/api/socketio/sockets", timeout=5).json()["sockets"]
        assert any(s["user"] == "sio-user" for s in sockets)
        assert client.call("subscribe", {"channel": "private.x"}, timeout=5)["ok"] is True
    finally:
        client.disconnect()
    refused = socketio.Client()
    errors = []
    refused.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(srv.url, auth={"token": "not.a.token"}, transports=["websocket"], wait_timeout=5)
    assert errors and "JWT" in errors[0]["message"]


def test_a_socketio_socket_ends_when_its_token_expires(srv):
    client = socketio.Client(reconnection=False)
    gone = []
    client.on("disconnect", lambda *args: gone.append(args))
    client.connect(srv.url, auth={"token": sign("HS256", claims(seconds=2))}, transports=["websocket"], wait_timeout=5)
    deadline = time.time() + 8
    while not gone and time.time() < deadline:
        time.sleep(0.1)
    assert gone, "the socket outlived its token"
    client.disconnect()


@pytest.fixture
def https_jwks(tmp_path):
    _, cert, key = make_certificates(tmp_path)
    server = HTTPSFileServer(cert, key, {"/jwks.json": jwks(public_jwk("ES256", kid="a"))})
    yield server, tmp_path / "ca.pem"
    server.stop()


def test_keys_from_an_https_url_are_fetched_and_refreshed(make_server, https_jwks):
    served, ca = https_jwks
    s = make_server(security={"jwks": served.url("/jwks.json"), "jwks_ca": str(ca), "jwks_refresh": 1})
    deadline = time.time() + 5
    while served.requests == 0 and time.time() < deadline:
        time.sleep(0.05)
    c = connect(s, sign("ES256", claims(), kid="a"))
    assert c.reply["result"]["user"] == "ann"
    c.close()
    # The identity provider rotates its key: the new one is used at the next refresh, the old one refused.
    new_key = ec.generate_private_key(ec.SECP256R1())
    served.files["/jwks.json"] = jwks(public_jwk("ES256", kid="b", key=new_key))
    time.sleep(2.5)
    c = connect(s, sign("ES256", claims(), kid="b", key=new_key))
    assert c.reply["result"]["user"] == "ann", c.reply
    c.close()
    c = connect(s, sign("ES256", claims(), kid="a"))
    assert c.reply["error"]["name"] == "invalid_token"
    c.close()


def test_an_untrusted_certificate_is_not_a_key_source(make_server, https_jwks):
    served, _ = https_jwks
    s = make_server(security={"jwks": served.url("/jwks.json"), "jwks_refresh": 1})   # no jwks_ca
    time.sleep(1)
    c = connect(s, sign("ES256", claims(), kid="a"))
    try:
        assert c.reply["error"]["name"] == "invalid_token"
    finally:
        c.close()
    assert "security.jwks: fetching" in s.log() and "retrying" in s.log()


def test_a_bad_jwks_file_stops_the_start(tmp_path):
    import subprocess
    from conftest import BIN
    bad = tmp_path / "jwks.json"
    bad.write_text('{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}')
    done = subprocess.run([str(BIN), "serve", "--http", "127.0.0.1:0", "--stomp", "off"],
                          env={"SWITCHBOARD_SECURITY_JWKS": str(bad)}, capture_output=True, text=True, timeout=20)
    assert done.returncode == 2
    assert "security.jwks" in done.stderr and "2048" in done.stderr
