"""HTTPS without a proxy (a config with ``[http] tls_cert`` and ``tls_key``): TLS on every
accepted connection, a self-signed certificate made by openssl, and clear start-up errors
for every problem with the certificate and key files. (On the appliance nginx terminates
TLS: tests/test_nginx.py.)"""

import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from certificates import make_certificate

from appliance.accounts import users
from appliance.accounts.authenticator import Authenticator
from appliance.app.service import Service
from appliance.config.file import Config, ConfigError, ConnectorConfig, HttpConfig, StorageConfig
from appliance.connectors import receive as receive_connectors
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import OutboundMessage
from appliance.store.queue import Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext
from appliance.web.tls import tls_context
from appliance.web.wsgi_server import HttpServer

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(tmp_path, certificate):
    database = store_db.open_database(tmp_path)
    users.set_user("alice", PASSWORD)
    context = HttpApiContext(queue=Queue(database), authenticator=Authenticator(), connector="HTTP API",
                             gateway_names=lambda: (), on_accepted=lambda: None, inbox=Inbox(database),
                             server_status=dict)
    http = HttpServer(create_app(context), "127.0.0.1", 0, threads=4, tls=tls_context(*map(str, certificate)))
    http.start()
    yield http
    http.stop()
    database.close()


def connect(server, certificate):
    client = ssl.create_default_context(cafile=str(certificate[0]))  # verifies the certificate
    return http.client.HTTPSConnection(*server.address, context=client, timeout=10)


def test_health_over_https(server, certificate):
    connection = connect(server, certificate)
    connection.request("GET", "/health")
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b"OK\r\n")
    assert connection.sock.version() in ("TLSv1.2", "TLSv1.3")
    connection.close()


def test_send_message_over_https_on_one_kept_alive_connection(server, certificate):
    connection = connect(server, certificate)
    long_text = "x" * 20_000  # a body of several TLS records
    ids = []
    for text in ("Hello", long_text):
        body = urlencode({"username": "alice", "password": PASSWORD, "to": "+447700900123", "message": text})
        connection.request("POST", "/http/send-message", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        line = response.read().decode().strip()
        assert response.status == 200 and line.startswith("OK: "), line
        ids.append(line[4:])
    assert [OutboundMessage.get_by_id(i).text for i in ids] == ["Hello", long_text]
    connection.close()


def test_plain_http_gets_no_answer_and_a_stalled_handshake_holds_nobody_up(server, certificate):
    # the handshake is made by the thread serving the connection, not the one accepting:
    # a client that connects and says nothing holds up only that one thread
    with socket.create_connection(server.address, timeout=10):  # connects, says nothing
        with socket.create_connection(server.address, timeout=10) as plain:
            plain.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = plain.recv(1024)
            except ConnectionResetError:
                answer = b""
            assert b"HTTP/1.1" not in answer
        connection = connect(server, certificate)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        connection.close()


def test_a_stalled_handshake_is_dropped_after_the_timeout(certificate):
    server = storeless_server(certificate, threads=2, timeout=0.5)
    try:
        with socket.create_connection(server.address, timeout=10) as stalled:
            stalled.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and then nothing
            later = connect(server, certificate)
            later.request("GET", "/health")
            assert later.getresponse().status == 200  # the stalled one holds up nobody
            later.close()
            started = time.monotonic()
            assert stalled.recv(1024) == b""  # closed by the server (recv would time out otherwise)
            assert time.monotonic() - started < 5
    finally:
        server.stop()


def storeless_server(certificate, **options):
    """An HTTPS server answering /health, started (``options``: HttpServer's)."""
    app = create_app(HttpApiContext(queue=None, authenticator=Authenticator(), connector="HTTP API",
                                    gateway_names=lambda: (), on_accepted=lambda: None, inbox=None,
                                    server_status=dict))
    http = HttpServer(app, "127.0.0.1", 0, tls=tls_context(*map(str, certificate)), **options)
    http.start()
    return http


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_stop_closes_open_connections_and_ends_the_server_thread_cleanly(tmp_path, certificate):
    http = storeless_server(certificate, threads=2)
    connection = connect(http, certificate)
    connection.request("GET", "/health")
    assert connection.getresponse().read() == b"OK\r\n"  # and the connection stays open
    http.stop()
    assert not http.alive
    assert connection.sock.recv(1) == b""


def test_only_tls_1_2_and_later(certificate):
    assert tls_context(*map(str, certificate)).minimum_version == ssl.TLSVersion.TLSv1_2


def test_every_problem_with_the_files_is_a_config_error_naming_the_setting(tmp_path, certificate):
    cert, key = map(str, certificate)
    _, other_key = make_certificate(tmp_path, "other")
    encrypted = tmp_path / "encrypted.key"
    subprocess.run(["openssl", "pkey", "-in", key, "-aes256", "-passout", "pass:secret", "-out", str(encrypted)],
                   check=True, capture_output=True)
    cases = [
        (str(tmp_path / "missing.crt"), key, "http.tls_cert", "cannot read"),
        (cert, str(tmp_path / "missing.key"), "http.tls_key", "cannot read"),
        (cert, str(tmp_path), "http.tls_key", "cannot read"),
        (key, key, "http.tls_cert", "no PEM certificate"),
        (cert, cert, "http.tls_key", "no PEM private key"),
        (cert, str(other_key), "http.tls_key", "not the private key of the certificate"),
        (cert, str(encrypted), "http.tls_key", "encrypted with a passphrase"),
    ]
    for cert_path, key_path, setting, words in cases:
        with pytest.raises(ConfigError) as caught:
            tls_context(cert_path, key_path)
        assert caught.value.key == setting and words in str(caught.value), (cert_path, key_path, str(caught.value))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_key_is_a_config_error(tmp_path, certificate):
    key = tmp_path / "locked.key"
    key.write_bytes(certificate[1].read_bytes())
    key.chmod(0)
    with pytest.raises(ConfigError, match=r"http\.tls_key: cannot read .*Permission denied"):
        tls_context(str(certificate[0]), str(key))


def test_the_service_serves_https_with_a_guest_and_a_receive_connector_feeding_a_webhook(tmp_path, certificate):
    """End to end: the config's TLS files, guest and webhook connector, wired by the service."""
    events, posted = [], threading.Event()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            events.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            posted.set()

        def log_message(self, *args):
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    database = store_db.open_database(tmp_path)
    kiosk = users.set_user("kiosk", PASSWORD)
    _, token = receive_connectors.set_connector("provider", {"HTTP API": "http", "Hook": "webhook"},
                                                routing="webhook", target="Hook")
    database.close()
    config = Config(http=HttpConfig(listen="127.0.0.1:0", guest="kiosk", tls_cert=str(certificate[0]),
                                    tls_key=str(certificate[1])),
                    storage=StorageConfig(str(tmp_path)),
                    connectors=(ConnectorConfig("Hook", "webhook", url=f"http://127.0.0.1:{hook.server_port}/"),))
    service = Service(config, simulate=1)
    service.start()
    loop = threading.Thread(target=service.loop.run_forever)
    loop.start()
    try:
        assert service.url.startswith("https://127.0.0.1:")
        connection = connect(service.http, certificate)
        connection.request("GET", "/http/send-message?" + urlencode({"to": "+447700900123", "message": "Hi"}))
        line = connection.getresponse().read().decode().strip()
        assert line.startswith("OK: ") and OutboundMessage.get_by_id(line[4:]).user_id == kiosk.id
        connection.request("POST", "/receive/provider", body=urlencode({"from": "+447700900123", "message": "<b>"}),
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        stored = json.loads(response.read())
        assert response.status == 201
        assert posted.wait(10)
        assert (events[0]["id"], events[0]["text"], events[0]["receive_connector"]) == (stored["id"], "<b>", "provider")
        connection.close()
    finally:
        service.loop.call_soon_threadsafe(service.loop.stop)
        loop.join(10)
        service.stop()
        hook.shutdown()
        hook.server_close()


def test_stalled_handshakes_hold_every_thread_only_until_the_timeout(tmp_path, certificate):
    """With every thread held by a client that stays silent in its handshake, a newcomer
    waits for the timeout, no longer (on the appliance nginx holds such clients instead)."""
    http = storeless_server(certificate, threads=2, timeout=1)
    try:
        stalled = [socket.create_connection(http.address, timeout=10) for _ in range(2)]  # say nothing
        started = time.monotonic()
        connection = connect(http, certificate)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        assert time.monotonic() - started < 1 + 5
        for sock in stalled:
            assert sock.recv(1) == b""  # dropped after the timeout
            sock.close()
        connection.close()
    finally:
        http.stop()
