"""The HTTP/1.1 server as the appliance configures cheroot: framing, keep-alive, refusals
that close the connection, the bounds on bodies, heads, slow and idle clients, the
client's address behind a trusted proxy, and a clean stop. A small WSGI app stands in
for the API, so what is tested is the server alone (tests/test_nginx.py: with nginx in
front, and the framing cheroot alone accepts).
"""

import http.client
import json
import socket
import threading
import time

import bottle
import pytest

from appliance.config.file import ConfigError, HttpConfig, parse
from appliance.web.wsgi_server import MAX_HEAD, HttpServer
from hil.waiting import wait_for

MAX_BODY = 64 * 1024


def app(environ, start_response):
    """Echoes what the server made of the request."""
    body = environ["wsgi.input"].read()
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("the app broke")
    seen = {key: environ[key] for key in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "SERVER_PROTOCOL",
                                          "REMOTE_ADDR", "wsgi.url_scheme")}
    seen.update({key: value for key, value in environ.items() if key.startswith(("HTTP_", "CONTENT_"))})
    seen["body"] = body.decode("latin-1")
    payload = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload[:10], payload[10:]]


@pytest.fixture
def server():
    http = HttpServer(app, "127.0.0.1", 0, threads=4, connections=4, max_body=MAX_BODY)
    http.start()
    yield http
    http.stop()


def raw(server, data: bytes, *, wait_close: bool = True, source: str = "127.0.0.1") -> bytes:
    """What the server answers to ``data`` on a fresh connection, until it closes it (a
    connection left open fails the test: recv times out)."""
    with socket.create_connection(server.address, timeout=5, source_address=(source, 0)) as sock:
        sock.sendall(data)
        if not wait_close:
            return sock.recv(65536)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def client(server):
    return http.client.HTTPConnection(*server.address, timeout=5)


def test_a_get_reaches_the_app_as_pep_3333_says_and_the_answer_is_framed_by_length(server):
    connection = client(server)
    connection.request("GET", "/http/send-message%21?to=%2B44&message=hi", headers={"X-Thing": "a", "X_Thing": "b"})
    response = connection.getresponse()
    seen = json.loads(response.read())
    assert response.status == 200 and response.getheader("Content-Length") == str(len(json.dumps(seen)))
    assert response.getheader("Date")
    assert seen["PATH_INFO"] == "/http/send-message!" and seen["QUERY_STRING"] == "to=%2B44&message=hi"
    assert seen["HTTP_X_THING"] == "a" and seen["REMOTE_ADDR"] == "127.0.0.1"  # X_Thing, dropped, cannot pass for it
    assert (seen["SERVER_PROTOCOL"], seen["wsgi.url_scheme"]) == ("HTTP/1.1", "http")


def test_a_kept_alive_connection_carries_many_requests_and_pipelined_ones_in_order(server):
    connection = client(server)
    form = "application/x-www-form-urlencoded"
    for n in range(3):
        connection.request("POST", "/form", body=f"n={n}", headers={"Content-Type": form})
        seen = json.loads(connection.getresponse().read())
        assert (seen["body"], seen["CONTENT_TYPE"], seen["CONTENT_LENGTH"]) == (f"n={n}", form, "3")
    pipelined = b"".join(f"GET /p{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(3))
    answer = raw(server, pipelined + b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    positions = [answer.index(f'"/p{n}"'.encode()) for n in range(3)]
    assert positions == sorted(positions)
    assert answer.count(b"HTTP/1.1 200 OK") == 4 and answer.rstrip().endswith(b'"body": ""}')
    assert b"Connection: close" in answer.split(b'"/last"')[0].rsplit(b"HTTP/1.1 200", 1)[1]


def test_http_1_0_closes_unless_asked_to_keep_alive(server):
    closed = raw(server, b"GET /a HTTP/1.0\r\n\r\n")  # returns only once the server closed
    assert closed.startswith(b"HTTP/1.1 200 OK") and b"Keep-Alive" not in closed
    kept = raw(server, b"GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", wait_close=False)
    assert b"Connection: Keep-Alive" in kept


def test_a_chunked_body_and_expect_100_continue_are_understood(server):
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # curl waits for this before a large body
        sock.sendall(b"hello")
        answer = b""
        while b'"body": "hello"' not in answer:
            answer += sock.recv(65536)
    answer = raw(server, b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                         b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
    seen = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    # the body with its length, as a bottle app must get it (bottle would de-chunk it again)
    assert (seen["body"], seen["CONTENT_LENGTH"]) == ("hello world", "11")
    assert "HTTP_TRANSFER_ENCODING" not in seen


def test_a_chunked_body_reaches_a_bottle_app_whole():
    """What the server hands a bottle app for a chunked body: the body, once de-chunked."""
    echo = bottle.Bottle()

    @echo.post("/c")
    def body():
        return bottle.request.body.read()

    http = HttpServer(echo, "127.0.0.1", 0, threads=1)
    http.start()
    try:
        answer = raw(http, b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                           b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\nhello world")
    finally:
        http.stop()


@pytest.mark.parametrize("request_bytes, status, why", [
    (b"GARBAGE\r\n\r\n", b"400", b"Malformed Request-Line"),
    (b"GET /a HTTP/2.0\r\n\r\n", b"505", b""),
    (b"GET a HTTP/1.1\r\n\r\n", b"400", b"Invalid path"),
    (b"GET /a HTTP/1.1\r\nNo colon here\r\n\r\n", b"400", b"Illegal header line"),
    (b"GET /a HTTP/1.1\r\nX: a\x01b\r\n\r\n", b"400", b"control character"),
    (b"GET /a HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", b"400", b"not a token"),
    (b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", b"400", b"both"),
    (b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", b"400", b"more than once"),
    (b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n 4\r\n\r\nabcd", b"400", b"more than once"),
    (b"POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"400", b"one decimal"),
    (b"POST /a HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", b"400", b"one decimal"),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"501", b""),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chun ked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", b"501", b""),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400", b"chunked body is malformed"),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", b"400", b"chunked body is malformed"),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n", b"400", b"chunked body is malformed"),
    (b"GET http://x?q=/admin HTTP/1.1\r\nHost: x\r\n\r\n", b"400", b"Absolute URI not allowed"),
    (b"POST /a HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), b"413", b"exceeds the maximum"),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (MAX_BODY + 1), b"413", b"larger than"),
    (b"POST /a HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", b"400", b"Content-Length"),
    (b"GET /a HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n", b"413", b"headers"),
], ids=["request line", "HTTP/2.0", "target", "no colon", "control character", "space before colon",
        "length and chunked", "two lengths", "a length folded", "negative length", "signed length", "gzip",
        "chun ked", "chunk size", "chunk end", "bare LF in chunks", "absolute form", "body too large",
        "chunked too large", "absurd length", "head too large"])
def test_a_malformed_or_ambiguous_request_gets_its_reason_and_the_connection_closes(server, request_bytes,
                                                                                      status, why):
    # a request after it on the same connection would be read from an unknown position: never answered
    answer = raw(server, request_bytes + b"GET /after HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 " + status) and why in answer
    assert b"/after" not in answer and answer.count(b"HTTP/1.1 ") == 1


def test_what_cheroot_alone_accepts_it_reads_as_nginx_does(server):
    """A chunk size followed by spaces, or by a bare LF: cheroot reads the size nginx
    reads (tests/test_nginx.py shows nginx passing on that body re-framed), so the two
    never disagree on where the request ends."""
    for size_line in (b"5 ", b"5\t", b"5;ext"):
        answer = raw(server, b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                             + size_line + b"\r\nhello\r\n0\r\n\r\n")
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["body"] == "hello"
    answer = raw(server, b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                         b"5\nhello\r\n0\r\n\r\n")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["body"] == "hello"


def test_an_app_that_raises_gets_a_500_and_the_server_goes_on(server, caplog):
    assert raw(server, b"GET /fail HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 500")
    assert "the app broke" in caplog.text
    connection = client(server)
    connection.request("GET", "/ok")
    assert connection.getresponse().status == 200


def test_no_content_and_head_answers_carry_no_body():
    """bottle drops the body of a 204 and of any answer to HEAD; cheroot frames what is left."""
    api = bottle.Bottle()

    @api.route("/empty")
    def empty():
        bottle.response.status = 204
        return "ignored"

    api.route("/x", callback=lambda: "a body")
    http = HttpServer(api, "127.0.0.1", 0, threads=1)
    http.start()
    try:
        answer = raw(http, b"GET /empty HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 204") and b"Content-Length" not in answer and answer.endswith(b"\r\n\r\n")
        head = raw(http, b"HEAD /x HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert b"Content-Length: 6" in head and head.endswith(b"\r\n\r\n")  # the GET's length, no body
    finally:
        http.stop()


def test_a_stalled_request_gets_408_and_an_idle_connection_is_closed():
    http = HttpServer(app, "127.0.0.1", 0, threads=2, timeout=0.3)
    http.start()
    try:
        # each clock starts before the server's can: a late look at it would shorten the time;
        # the upper bound is generous, for a busy machine: what matters is that it closes
        started = time.monotonic()
        with socket.create_connection(http.address, timeout=15) as sock:
            sock.sendall(b"GET /a HTTP/1.1\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 408")
            assert 0.3 <= time.monotonic() - started < 10
        connection = client(http)
        connection.timeout = 15
        started = time.monotonic()
        connection.request("GET", "/a")
        connection.getresponse().read()
        assert connection.sock.recv(10) == b""  # kept alive, then idle: closed
        assert 0.3 <= time.monotonic() - started < 10
    finally:
        http.stop()


def test_kept_alive_connections_beyond_the_limit_are_closed_after_their_answer():
    # one thread, no linger: each connection is back with the accepting thread, and counted,
    # before the next one is served (one a thread still waits on is not counted yet)
    server = HttpServer(app, "127.0.0.1", 0, threads=1, connections=4, linger=0)
    server.start()
    idle = [client(server) for _ in range(4)]
    for n, connection in enumerate(idle):
        connection.request("GET", f"/{n}")
        response = connection.getresponse()
        response.read()
        assert response.getheader("Connection") is None  # kept
    newcomer = client(server)
    newcomer.request("GET", "/new")
    response = newcomer.getresponse()
    assert response.status == 200 and response.getheader("Connection") == "close"  # served, not kept
    for n, connection in enumerate(idle):  # the others are still served
        connection.request("GET", f"/again{n}")
        assert connection.getresponse().status == 200
    server.stop()


def test_connections_beyond_the_threads_and_the_queue_get_503_at_once():
    entered, release = threading.Event(), threading.Event()

    def blocking(environ, start_response):
        entered.set()
        release.wait(10)
        start_response("200 OK", [("Content-Length", "0")])
        return []

    http = HttpServer(blocking, "127.0.0.1", 0, threads=1, connections=1)
    http.start()
    try:
        busy = socket.create_connection(http.address, timeout=5)
        busy.sendall(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert entered.wait(5)  # the one thread is taken
        queued = socket.create_connection(http.address, timeout=5)  # the one place in the queue
        with socket.create_connection(http.address, timeout=5) as extra:
            assert extra.recv(1024).startswith(b"HTTP/1.1 503")
        release.set()
        assert busy.recv(1024).startswith(b"HTTP/1.1 200")
        busy.close()
        queued.sendall(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert queued.recv(1024).startswith(b"HTTP/1.1 200")
        queued.close()
    finally:
        release.set()
        http.stop()


def test_a_fixed_pool_of_threads_serves_one_connection_after_another(server):
    def pool() -> int:
        return sum(t.name.startswith("CP Server") and t.is_alive() for t in threading.enumerate())

    before = pool()
    for n in range(10):
        connection = client(server)
        connection.request("GET", f"/{n}")
        assert connection.getresponse().status == 200
        connection.close()
    assert pool() == before  # no thread a connection


def test_stop_waits_for_the_request_being_answered_then_closes_everything(tmp_path):
    entered, release = threading.Event(), threading.Event()
    order = []

    def slow(environ, start_response):
        entered.set()
        release.wait(10)
        order.append("answered")
        start_response("200 OK", [("Content-Length", "4")])
        return [b"done"]

    http = HttpServer(slow, "127.0.0.1", 0, threads=2)
    http.start()
    idle = client(http)
    busy = client(http)
    try:
        idle.request("GET", "/first")
        release.set()
        idle.getresponse().read()  # and stays open, idle
        release.clear()
        entered.clear()
        busy.request("GET", "/slow")
        assert entered.wait(5)
        stopping = threading.Thread(target=lambda: (http.stop(), order.append("stopped")))
        stopping.start()
        wait_for(lambda: not http.alive, what="stop() to begin: no new connections")
        release.set()  # the request being answered ends first: the store closes after stop()
        response = busy.getresponse()
        assert (response.status, response.read()) == (200, b"done")
        stopping.join(10)
        assert order == ["answered", "answered", "stopped"]  # the first request, then the one stop() waited for
        assert idle.sock.recv(1) == b""  # the idle one was closed
        with pytest.raises(OSError):
            socket.create_connection(http.address, timeout=1)
        http.stop()  # twice is harmless
    finally:
        release.set()
        idle.close()
        busy.close()


def test_a_port_in_use_fails_at_construction(server):
    with pytest.raises(OSError):
        HttpServer(app, "127.0.0.1", server.address[1])


def test_the_client_address_comes_from_a_trusted_proxy_only():
    http = HttpServer(app, "127.0.0.1", 0, threads=2, trusted_proxies=["127.0.0.2", "10.0.0.0/8"])
    http.start()
    try:
        forwarded = b"GET /a HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\nConnection: close\r\n\r\n"

        def seen(header: bytes, source: str) -> str:
            answer = raw(http, forwarded % header, source=source)
            return json.loads(answer.split(b"\r\n\r\n", 1)[1])["REMOTE_ADDR"]

        assert seen(b"192.0.2.7", "127.0.0.2") == "192.0.2.7"  # the proxy says who
        assert seen(b"192.0.2.7", "127.0.0.3") == "127.0.0.3"  # anyone else: their own address
        assert seen(b"203.0.113.9, 192.0.2.7, 10.1.2.3", "127.0.0.2") == "192.0.2.7"  # trusted hops passed over
        assert seen(b"not an address", "127.0.0.2") == "127.0.0.2"
        answer = raw(http, b"GET /a HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 192.0.2.7\r\nConnection: close\r\n\r\n",
                     source="127.0.0.2")
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["REMOTE_ADDR"] == "127.0.0.2"
    finally:
        http.stop()


def test_the_http_settings_default_and_are_read():
    assert parse({}).http == HttpConfig()
    http = HttpConfig()
    assert (http.threads, http.connections, http.timeout, http.max_body, http.trusted_proxies) == \
        (16, 64, 10, 2 * 1024 * 1024, ())
    http = parse({"http": {"threads": 4, "connections": 8, "timeout": 30, "max_body": 1 << 20,
                           "trusted_proxies": ["127.0.0.1", "fd00::/8"]}}).http
    assert (http.threads, http.connections, http.timeout, http.max_body, http.trusted_proxies) == \
        (4, 8, 30, 1 << 20, ("127.0.0.1", "fd00::/8"))


@pytest.mark.parametrize("settings, key, words", [
    ({"threads": 0}, "threads", "between 1 and 256"),  # as in the release that had threads before
    ({"threads": 257}, "threads", "between 1 and 256"),
    ({"threads": "8"}, "threads", "integer"),
    ({"timeout": 0}, "timeout", "between 1 and 300"),
    ({"max_body": 1000}, "max_body", "between 65536"),
    ({"trusted_proxies": "127.0.0.1"}, "trusted_proxies", "list"),
    ({"trusted_proxies": ["127.0.0.1", "proxy.lan"]}, "trusted_proxies", "'proxy.lan' is not an IP address"),
    ({"trusted_proxies": [1]}, "trusted_proxies", "must be a list of strings, not [1]"),
])
def test_a_wrong_http_setting_is_an_error_naming_it(settings, key, words):
    with pytest.raises(ConfigError) as caught:
        parse({"http": settings})
    assert key in str(caught.value) and words in str(caught.value)
