"""nginx in front of the real service, as on the appliance: the repository's site config
(image/nginx/sms-appliance.conf) on free loopback ports with its files in a temporary
directory, the service (``sms-appliance run``) behind it on a simulated modem.

What the proxy is there for: TLS ends at nginx; slow clients, each of which would hold
one of the app's threads for its whole ``[http] timeout``, are held by nginx and lock
out nobody; the login throttle still sees each client's own address; framing the app
alone would accept (a chunk size with spaces, a bare LF) reaches it re-framed. Needs
Debian's nginx (``make test`` installs it); the tests fail, not skip, without it.

Clients come from several loopback addresses (127.0.0.2, 127.0.0.3 ...), so that nginx
and the app see them as different machines.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from certificates import make_certificate

from hil.test_service import PASSWORD, ROOT, Appliance, Simulator, free_port, wait_for

SITE = ROOT / "image" / "nginx" / "sms-appliance.conf"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
APP_THREADS = 4
HEADER_TIMEOUT = 5  # nginx's client_header_timeout here, so that a test waits 5 s, not the file's 10


@pytest.fixture(autouse=True, scope="module")
def _nginx_installed() -> None:
    if NGINX is None:
        pytest.fail("nginx is not installed: apt-get install -y nginx (these tests check the proxy the "
                    "appliance runs in front of the service and must not be skipped)")


class Nginx:
    """nginx with the repository's site, changed only where a test must: its ports, the
    app's port, the certificate, and the head and body timeouts."""

    def __init__(self, directory: Path, app_port: int, cert: Path, key: Path) -> None:
        self.directory = directory
        self.http_port, self.https_port = free_port(), free_port()
        site = SITE.read_text()
        for old, new in [("listen 9710;", f"listen 127.0.0.1:{self.http_port};"), ("listen [::]:9710;\n", ""),
                         ("listen 9711 ssl;", f"listen 127.0.0.1:{self.https_port} ssl;"),
                         ("listen [::]:9711 ssl;\n", ""),
                         ("server 127.0.0.1:9701;", f"server 127.0.0.1:{app_port};"),
                         ("/etc/sms-appliance/tls/cert.pem", str(cert)), ("/etc/sms-appliance/tls/key.pem", str(key)),
                         ("client_header_timeout 10s;", f"client_header_timeout {HEADER_TIMEOUT}s;"),
                         ("client_body_timeout 10s;", f"client_body_timeout {HEADER_TIMEOUT}s;")]:
            assert old in site, f"{SITE} has no {old!r} any more: this test must follow it"
            site = site.replace(old, new)
        (directory / "site.conf").write_text(site)
        user = "user root;" if os.geteuid() == 0 else ""  # root's nginx would run its worker as nobody
        temp = "\n".join(f"    {kind}_temp_path {directory / kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.config = directory / "nginx.conf"
        self.config.write_text(f"""{user}
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} info;
events {{ worker_connections 2048; }}
http {{
    access_log {directory / "access.log"};
{temp}
    include {directory / "site.conf"};
}}
""")
        command = [NGINX, "-p", str(directory), "-c", str(self.config), "-e", str(directory / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        wait_for(lambda: self._listening(self.http_port) and self._listening(self.https_port), what="nginx")

    def _listening(self, port: int) -> bool:
        assert self.process.poll() is None, self.process.stderr.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.process.stderr.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("nginx-rig")


@pytest.fixture(scope="module")
def simulator(workdir: Path) -> Iterator[Simulator]:
    modem = Simulator(workdir / "tty", workdir / "sent.jsonl")
    yield modem
    modem.stop()


@pytest.fixture(scope="module")
def appliance(workdir: Path, simulator: Simulator) -> Iterator[Appliance]:
    """The service on a simulated modem, trusting the proxy on 127.0.0.1 only; users
    alice and bob. One for the module: each test uses client addresses of its own."""
    service = Appliance(workdir, simulator.path,
                        http_settings=f'threads = {APP_THREADS}\ntrusted_proxies = ["127.0.0.1"]\n')
    for user in ("alice", "bob"):
        assert service.cli("user", "set", user, "--password", PASSWORD).returncode == 0
    service.start()
    yield service
    service.stop()
    service.close()


@pytest.fixture(scope="module")
def nginx(workdir: Path, appliance: Appliance, certificate: tuple[Path, Path]) -> Iterator[Nginx]:
    directory = workdir / "nginx"
    directory.mkdir()
    proxy = Nginx(directory, appliance.port, *certificate)
    yield proxy
    proxy.stop()


def send(port: int, *, source: str = "127.0.0.1", user: str = "alice", password: str = PASSWORD,
         headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None, timeout: float = 10) -> str:
    """send-message by POST from ``source``; the reply line."""
    if tls is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    else:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0),
                                                 context=tls)
    body = urllib.parse.urlencode({"username": user, "password": password, "to": "+447700900123", "message": "Hi"})
    try:
        connection.request("POST", "/http/send-message", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
        return connection.getresponse().read().decode().strip()
    finally:
        connection.close()


def raw(port: int, data: bytes, source: str = "127.0.0.1") -> bytes:
    """What comes back for ``data`` on a fresh connection, until it is closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_tls_ends_at_nginx_and_the_message_reaches_the_modem(appliance, simulator, nginx, certificate):
    verified = ssl.create_default_context(cafile=str(certificate[0]))
    line = send(nginx.https_port, tls=verified)
    assert line.startswith("OK: "), line
    wait_for(simulator.sent, what="the PDU at the simulated modem")
    assert send(nginx.http_port).startswith("OK: ")  # and plain HTTP on the other port
    # the app itself speaks plain HTTP on loopback; only nginx speaks TLS
    health = b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    assert raw(appliance.port, health).endswith(b"OK\r\n")


def slow_clients(port: int, count: int) -> list[socket.socket]:
    """``count`` connections from 127.0.0.2 ... 127.0.0.11, each one byte of a request, then silence."""
    clients = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(f"127.0.0.{2 + n % 10}", 0))
        sock.sendall(b"P")
        clients.append(sock)
    return clients


def closed(sock: socket.socket) -> bool:
    """Whether the peer closed ``sock``, waiting for that up to the socket's timeout."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def still_open(sock: socket.socket) -> bool:
    """Whether ``sock`` is open with nothing to read: the peer holds it and says nothing."""
    timeout = sock.gettimeout()
    sock.settimeout(0)  # Python would otherwise wait up to the timeout for something to read
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)
    return False


def test_slow_clients_lock_out_the_app_alone_but_not_the_app_behind_nginx(appliance, nginx):
    # the app alone: each slow client holds one of its threads for its whole timeout (10 s)
    held = slow_clients(appliance.port, APP_THREADS)
    with pytest.raises(TimeoutError):
        send(appliance.port, timeout=2)  # queued behind them: nobody reads it
    for sock in held:
        sock.close()  # the threads are free again at once
    assert send(appliance.port).startswith("OK: ")

    # behind nginx: 200 of them, and every legitimate request is answered while they wait
    held = slow_clients(nginx.http_port, 200)
    for _ in range(20):
        line = send(nginx.http_port, timeout=10)
        assert line.startswith("OK: "), line
    assert all(still_open(sock) for sock in held)
    # nginx gives each of them its client_header_timeout, no more
    for sock in held:
        sock.settimeout(HEADER_TIMEOUT + 10)
        assert closed(sock)
        sock.close()


def test_a_client_trickling_its_head_is_closed_after_the_header_timeout(nginx):
    started = time.monotonic()  # before nginx's clock starts: a late look would shorten the time
    with socket.create_connection(("127.0.0.1", nginx.http_port), timeout=10, source_address=("127.0.0.2", 0)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        sock.settimeout(0.2)
        while True:  # a byte every 0.2 s does not keep it going
            try:
                if sock.recv(1024) == b"":
                    break
            except TimeoutError:
                sock.sendall(b"X")
            except (ConnectionResetError, BrokenPipeError):
                break
        assert HEADER_TIMEOUT - 0.5 <= time.monotonic() - started < HEADER_TIMEOUT + 8


def lockout(port: int, guesser: str, other: str, user: str, forged: bool) -> tuple[str, str]:
    """Five wrong passwords from ``guesser`` (each with a forged X-Forwarded-For if
    ``forged``), then the right one from ``other`` and from ``guesser``. The address lock
    lasts 1 s: on a machine too busy to ask twice within it, the round is tried again (the
    guesser's success, if it came, cleared its failures)."""
    for _ in range(3):
        for n in range(5):
            headers = {"X-Forwarded-For": f"203.0.113.{n}"} if forged else {}
            assert send(port, source=guesser, user=user, password=f"guess {n}", headers=headers).startswith("ERROR:304")
        started = time.monotonic()
        from_other = send(port, source=other, user=user)
        from_guesser = send(port, source=guesser, user=user, headers={"X-Forwarded-For": "203.0.113.99"})
        if time.monotonic() - started < 0.8:
            break
    return from_other, from_guesser


def test_the_login_throttle_sees_each_clients_own_address_behind_nginx(appliance, nginx):
    # through nginx: if the app saw the proxy's address, the other client would be locked out too
    from_other, from_guesser = lockout(nginx.http_port, "127.0.0.2", "127.0.0.3", "alice", forged=True)
    assert from_other.startswith("OK: "), from_other
    assert from_guesser.startswith("ERROR:304"), from_guesser  # a forged X-Forwarded-For counts for nothing
    # straight to the app from an address that is not a trusted proxy: the header is ignored
    from_other, from_guesser = lockout(appliance.port, "127.0.0.4", "127.0.0.5", "bob", forged=True)
    assert from_other.startswith("OK: "), from_other
    assert from_guesser.startswith("ERROR:304"), from_guesser


@pytest.mark.parametrize("chunks", [b"5 \r\nhello\r\n0\r\n\r\n", b"5\nhello\r\n0\r\n\r\n"],
                         ids=["spaces after the chunk size", "a bare LF after the chunk size"])
def test_framing_the_app_alone_would_accept_reaches_it_re_framed(appliance, nginx, chunks):
    """cheroot reads these chunk sizes as nginx does; nginx sends the app the body it read,
    with a Content-Length, so the two can never disagree on where a request ends."""
    body = b"username=alice&password=" + PASSWORD.encode() + b"&to=%2B447700900123&message="
    head = (b"POST /http/send-message HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    size = b"%x\r\n" % len(body)
    answer = raw(nginx.http_port, head + size + body + b"\r\n" + chunks)
    assert b"OK: " in answer, answer
    message_id = answer.rsplit(b"OK: ", 1)[1].split(b"\r\n")[0].decode()
    with sqlite3.connect(appliance.workdir / "data" / "appliance.sqlite3") as store:
        (text,) = store.execute("SELECT text FROM outbound_message WHERE id = ?", (message_id,)).fetchone()
    assert text == "hello"  # the body nginx read, as the app read it


@pytest.mark.parametrize("request_bytes", [
    b"POST /http/send-message HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /http/send-message HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"POST /http/send-message HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1\r\n 2.3.4\r\n\r\n",
    b"POST /http/send-message HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /http/send-message HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chun ked\r\n\r\n0\r\n\r\n",
], ids=["Content-Length and Transfer-Encoding", "two lengths", "space before the colon", "a folded line",
        "chunked in HTTP/1.0", "chun ked"])
def test_nginx_refuses_ambiguous_framing_and_closes(nginx, request_bytes):
    answer = raw(nginx.http_port, request_bytes + b"GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 501")), answer[:100]
    assert answer.count(b"HTTP/1.1 ") == 1  # what followed was never read as a request


def test_an_absolute_form_target_is_its_path_not_its_query(nginx):
    # http://x?q=/health has the path /, whatever its query says: the dashboard, which
    # sends a browser without a session to the login page
    answer = raw(nginx.http_port, b"GET http://x?q=/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 303") and b"/login" in answer, answer[:200]
    assert raw(nginx.http_port, b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
               ).startswith(b"HTTP/1.1 200")


def test_a_refused_body_that_still_comes_does_not_cost_the_client_the_answer(nginx):
    with socket.create_connection(("127.0.0.1", nginx.http_port), timeout=10) as sock:
        sock.sendall(b"POST /http/send-message HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % (3 << 20))
        sock.sendall(b"x" * 1_000_000)  # the client sends on before reading: a reset would lose the answer
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
