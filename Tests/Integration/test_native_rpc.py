"""Native protocol rpc: the page calls the application's back end (native.rpc_url) through the server."""
import json
import socket
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from conftest import free_port
from helpers import TOKEN_SECRET, JSONBackendHandler, user_token
from test_native_protocol import Native


class Backend(JSONBackendHandler):
    """A tiny back end: echo, add, fail, slow, broken."""
    calls = []

    def do_POST(self):
        body = self.body()
        Backend.calls.append(body)
        method = body["method"]
        if method == "add":
            self.answer(200, {"result": sum(body["data"])})
        elif method == "whoami":
            self.answer(200, {"result": {"user": body["user"], "client": body["client"]}})
        elif method == "refuse":
            self.answer(200, {"error": "not allowed today"})
        elif method == "slow":
            time.sleep(2)
            self.answer(200, {"result": "late"})
        else:
            self.answer(500, {"oops": True})


@pytest.fixture(scope="module")
def backend():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/rpc"
    httpd.shutdown()


@pytest.fixture(scope="module")
def srv(make_module_server, backend):
    return make_module_server(native={"rpc_url": backend, "backend_timeout": 0.5}, token_secret=TOKEN_SECRET)


def test_rpc_result_and_what_the_back_end_sees(srv):
    c = Native(srv, connect=False)
    try:
        client = c.call("connect", token=user_token("lena"))["result"]["client"]
        assert c.call("rpc", method="add", data=[1, 2, 3])["result"] == {"result": 6}
        assert c.call("rpc", method="whoami")["result"] == {"result": {"user": "lena", "client": client}}
        assert Backend.calls[-1]["data"] is None
    finally:
        c.close()


def test_rpc_errors(srv):
    c = Native(srv)
    try:
        err = c.call("rpc", method="refuse")["error"]
        assert err == {"code": 116, "name": "rpc_error", "message": "not allowed today"}
        err = c.call("rpc", method="explode")["error"]
        assert err["code"] == 115 and "500" in err["message"]
        started = time.monotonic()
        err = c.call("rpc", method="slow")["error"]
        assert err["code"] == 115 and "did not answer" in err["message"]
        assert time.monotonic() - started < 1.8
        assert c.call("rpc")["error"]["name"] == "bad_request"
        # The connection is still fine.
        assert c.call("rpc", method="add", data=[2, 2])["result"] == {"result": 4}
    finally:
        c.close()


def test_rpc_without_a_back_end(make_server):
    s = make_server()
    c = Native(s)
    try:
        err = c.call("rpc", method="add", data=[1])["error"]
        assert err["code"] == 115 and "native.rpc_url" in err["message"]
    finally:
        c.close()


def test_rpc_back_end_down(make_server):
    port = free_port()  # nothing listens there
    s = make_server(native={"rpc_url": f"http://127.0.0.1:{port}/rpc"})
    c = Native(s)
    try:
        err = c.call("rpc", method="add", data=[1])["error"]
        assert err["code"] == 115 and "could not be reached" in err["message"]
    finally:
        c.close()
