"""The HTTP/1.1 server: framing, keep-alive, refusals that close the connection, the
bounds on slow and idle clients, and a clean stop. A small WSGI app stands in for the
API, so what is tested is the server alone."""

import http.client
import json
import select
import socket
import time

import pytest

from appliance.web.http_wire import MAX_BODY, MAX_HEAD
from appliance.web.server import HttpServer


def app(environ, start_response):
    """Echoes what the server made of the request."""
    body = environ["wsgi.input"].read()
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("the app broke")
    if path == "/empty":
        start_response("204 No Content", [("Content-Length", "0")])
        return []
    seen = {key: environ[key] for key in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "SERVER_PROTOCOL",
                                          "REMOTE_ADDR", "wsgi.url_scheme") }
    seen.update({key: value for key, value in environ.items() if key.startswith(("HTTP_", "CONTENT_"))})
    seen["body"] = body.decode("latin-1")
    payload = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload[:10], payload[10:]]


@pytest.fixture
def server():
    http = HttpServer(app, "127.0.0.1", 0, connections=4)
    http.start()
    yield http
    http.stop()


def raw(server, data: bytes, *, wait_close: bool = True) -> bytes:
    """What the server answers to ``data`` on a fresh connection, until it closes it."""
    with socket.create_connection(server.address, timeout=5) as sock:
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
    for n in range(3):
        connection.request("POST", "/form", body=f"n={n}", headers={"Content-Type": "application/x-www-form-urlencoded"})
        seen = json.loads(connection.getresponse().read())
        assert (seen["body"], seen["CONTENT_TYPE"], seen["CONTENT_LENGTH"]) == (f"n={n}", "application/x-www-form-urlencoded", "3")
    pipelined = b"".join(f"GET /p{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(3))
    answer = raw(server, pipelined + b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert [answer.index(f'"/p{n}"'.encode()) for n in range(3)] == sorted(answer.index(f'"/p{n}"'.encode()) for n in range(3))
    assert answer.count(b"HTTP/1.1 200 OK") == 4 and answer.rstrip().endswith(b'"body": ""}')
    assert b"Connection: close" in answer.split(b'"/last"')[0].rsplit(b"HTTP/1.1 200", 1)[1]


def test_http_1_0_closes_unless_asked_to_keep_alive(server):
    closed = raw(server, b"GET /a HTTP/1.0\r\n\r\n")
    assert closed.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in closed
    kept = raw(server, b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", wait_close=False)
    assert b"Connection: keep-alive" in kept


def test_a_chunked_body_and_expect_100_continue_are_understood(server):
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # curl waits for this before a large body
        sock.sendall(b"hello")
        assert b'"body": "hello"' in sock.recv(65536)
    answer = raw(server, b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                         b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
    assert b'"body": "hello world"' in answer and b'"CONTENT_LENGTH": "11"' in answer


@pytest.mark.parametrize("request_bytes, status, why", [
    (b"GARBAGE\r\n\r\n", b"400", b"request line"),
    (b"GET /a HTTP/2.0\r\n\r\n", b"505", b"HTTP/2.0"),
    (b"GET a HTTP/1.1\r\n\r\n", b"400", b"target"),
    (b"GET /a HTTP/1.1\r\nNo colon here\r\n\r\n", b"400", b"NAME: VALUE"),
    (b"GET /a HTTP/1.1\r\nX: a\x01b\r\n\r\n", b"400", b"control character"),
    (b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", b"400", b"both"),
    (b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", b"400", b"one decimal"),
    (b"POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"400", b"one decimal"),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"501", b"chunked"),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400", b"hexadecimal"),
    (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", b"400", b"CRLF"),
    (b"POST /a HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), b"413", b"at most"),
    (b"POST /a HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", b"413", b"at most"),
    (b"GET /a HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n", b"431", b"longer than"),
])
def test_a_malformed_or_ambiguous_request_gets_its_reason_and_the_connection_closes(server, request_bytes,
                                                                                      status, why):
    # a request after it on the same connection would be read from an unknown position: never answered
    answer = raw(server, request_bytes + b"GET /after HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 " + status) and why in answer
    assert b"Connection: close" in answer and b"/after" not in answer


def test_an_app_that_raises_gets_a_500_and_the_server_goes_on(server, caplog):
    assert raw(server, b"GET /fail HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 500")
    assert "the app broke" in caplog.text
    connection = client(server)
    connection.request("GET", "/ok")
    assert connection.getresponse().status == 200


def test_no_content_and_head_answers_carry_no_body(server):
    answer = raw(server, b"GET /empty HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 204") and b"Content-Length" not in answer and answer.endswith(b"\r\n\r\n")
    head = raw(server, b"HEAD /x HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert b"Content-Length: " in head and head.endswith(b"\r\n\r\n")  # the app's length, no body


def test_a_slow_request_gets_408_and_an_idle_connection_is_closed():
    http = HttpServer(app, "127.0.0.1", 0, request_timeout=0.3, idle_timeout=0.3)
    http.start()
    try:
        with socket.create_connection(http.address, timeout=5) as sock:
            sock.sendall(b"GET /a HTTP/1.1\r\n")
            started = time.monotonic()
            while not select.select([sock], [], [], 0.1)[0]:  # a byte now and then does not keep it going
                sock.sendall(b"X")
            assert sock.recv(65536).startswith(b"HTTP/1.1 408")
            assert 0.3 <= time.monotonic() - started < 3
        with socket.create_connection(http.address, timeout=5) as sock:
            started = time.monotonic()
            assert sock.recv(10) == b""  # said nothing: closed
            assert time.monotonic() - started < 3
    finally:
        http.stop()


def test_when_every_place_is_taken_the_longest_idle_connection_makes_room(server):
    idle = [client(server) for _ in range(4)]
    for n, connection in enumerate(idle):
        connection.request("GET", f"/{n}")
        connection.getresponse().read()
        time.sleep(0.02)
    newcomer = client(server)
    newcomer.request("GET", "/new")
    assert newcomer.getresponse().status == 200
    assert idle[0].sock.recv(1) == b""  # the oldest idle one was closed
    idle[3].request("GET", "/again")  # the others are still served
    assert idle[3].getresponse().status == 200


def test_a_thread_is_kept_for_the_next_connection(server):
    for _ in range(5):
        connection = client(server)
        connection.request("GET", "/x")
        connection.getresponse().read()
        connection.close()
        time.sleep(0.05)
    assert len(server.workers) == 1


def test_stop_closes_open_connections_and_ends_every_thread(server):
    connection = client(server)
    connection.request("GET", "/x")
    connection.getresponse().read()
    workers = set(server.workers)
    server.stop()
    assert not server.alive
    assert connection.sock.recv(1) == b""
    assert workers and not any(worker.is_alive() for worker in workers) and not server.workers
    server.stop()  # twice is harmless


def test_a_port_in_use_fails_at_construction(server):
    with pytest.raises(OSError):
        HttpServer(app, "127.0.0.1", server.address[1])


def test_a_refused_body_that_still_comes_does_not_cost_the_client_the_answer(server):
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"POST /big HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1))
        sock.sendall(b"x" * 1_000_000)  # the client sends on before reading: without the drain, a reset
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
