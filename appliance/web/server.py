"""Serving the WSGI app over HTTP/1.1: each connection has a thread of its own, which
reads a request, runs the app and writes the answer.

Why not a general server (waitress before): its I/O thread read each request and handed
it to a worker thread, which handed the answer back; on two cores under the GIL those
hand-overs, and its loop asking every connection whether it was readable, cost more than
the send-message handler itself (bench/RESULTS.md, ``make bench-http``). Here nothing
changes threads between the request's bytes and the commit.

What bounds it:
- at most ``connections`` at once; when all are taken, the connection idle longest is
  closed for a newcomer, and if none is idle the newcomer waits in the listen backlog;
- a request's head and body must arrive within ``request_timeout`` of its first byte, so
  a slow client holds its own thread only, and not for long; a kept-alive connection
  idle for ``idle_timeout`` is closed;
- heads over 64 KiB and bodies over 2 MiB are refused (http_wire).
Threads are kept for the next connection, and with them their SQLite connections.

HTTPS: the accepted socket is wrapped with the standard library's ``ssl`` in its own
thread, the handshake within ``request_timeout``; a TLS proxy in front would hide the
client's address from the login throttle.
"""

from __future__ import annotations

import errno
import io
import logging
import queue
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from email.utils import formatdate

from ..config.file import ConfigError
from .http_wire import MAX_HEAD, Head, HttpError, base_environ, parse_head, read_chunked, response_head

log = logging.getLogger(__name__)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for TLS 1.2 and later; every problem with the files is a
    ConfigError naming the setting, found at start-up rather than at the first client."""
    for path, setting, marker in ((cert, "http.tls_cert", b"-----BEGIN CERTIFICATE-----"),
                                  (key, "http.tls_key", b"PRIVATE KEY-----")):
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError as error:
            raise ConfigError(setting, f"cannot read {path}: {error.strerror or error}") from None
        if marker not in content:
            kind = "certificate" if setting == "http.tls_cert" else "private key"
            raise ConfigError(setting, f"{path} holds no PEM {kind} ({marker.decode()!r} not found)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION

    def no_passphrase() -> bytes:
        raise ConfigError("http.tls_key", f"{key} is encrypted with a passphrase; the service starts "
                                          "unattended, so store the key unencrypted and readable only by it")
    try:
        context.load_cert_chain(cert, key, password=no_passphrase)
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error):
            raise ConfigError("http.tls_key", f"{key} is not the private key of the certificate in {cert}") from None
        raise ConfigError("http.tls_cert", f"{cert} with the key {key} cannot be used: {error}") from None
    return context


RECV = 65536
KEEP_THREAD = 60.0   # a thread with no connection for this long ends (and its SQLite connection)


class _Closed(Exception):
    """The client closed the connection, or stayed silent past a timeout."""


class _Connection:
    """One client's socket and the bytes read from it that no request has used yet."""

    __slots__ = ("buffer", "client", "idle_since", "sock")

    def __init__(self, sock: socket.socket, client: tuple) -> None:
        self.sock = sock
        self.client = client
        self.buffer = bytearray()
        self.idle_since: float | None = None  # waiting for a request's first byte since

    def fill(self) -> None:
        try:
            data = self.sock.recv(RECV)
        except (TimeoutError, OSError, ssl.SSLError):
            raise _Closed from None
        if not data:
            raise _Closed
        self.buffer += data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class _Date:
    """The Date field, formatted once a second rather than once a request."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._text = formatdate(now, usegmt=True)  # English names whatever the locale
            self._second = now
        return self._text


class HttpServer:
    def __init__(self, app: Callable, host: str, port: int, *, connections: int = 64,
                 tls: ssl.SSLContext | None = None, request_timeout: float = 30.0,
                 idle_timeout: float = 30.0) -> None:
        """``connections``: served at once, each by a thread of its own; ``tls``: speak
        HTTPS only, with this context (see tls_context)."""
        self._app = app
        self._tls = tls
        self._scheme = "https" if tls else "http"
        self._limit = connections
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        # binds here, so a port in use fails at start-up, loudly
        family, _, _, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
        self._listener = socket.create_server(address, family=family, backlog=128)
        self._server_name = host or socket.gethostname()
        self._port = self._listener.getsockname()[1]
        self._wake_read, self._wake_write = socket.socketpair()
        self._lock = threading.Condition()
        self._open: set[_Connection] = set()
        self._parked = 0                     # threads waiting for a connection
        self.workers: set[threading.Thread] = set()  # every thread that serves connections
        self._crowded = False                # a newcomer waits for a place
        self._handoff: queue.SimpleQueue = queue.SimpleQueue()
        self._running = True
        self._thread: threading.Thread | None = None
        self._date = _Date()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._accept_loop, name="http", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop accepting, close every connection, and let every thread end. Once is enough."""
        with self._lock:
            if self._listener.fileno() < 0:
                return
            self._running = False
            self._lock.notify_all()
            for connection in self._open:
                self._shut(connection)
        self._wake_write.send(b"x")
        deadline = time.monotonic() + 5.0
        if self._thread is not None:
            self._thread.join(5.0)
        for worker in list(self.workers):  # a request being answered ends first: the store closes next
            worker.join(max(0.0, deadline - time.monotonic()))
        self._listener.close()
        self._wake_read.close()
        self._wake_write.close()

    # -- accepting ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        poller = select.poll()
        poller.register(self._listener, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        while self._running:
            if all(fd != self._listener.fileno() for fd, _ in poller.poll()):
                continue  # woken to stop
            try:
                sock, client = self._listener.accept()
            except OSError as error:  # the client gave up between poll and accept, or ...
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("cannot accept a connection: %s", error)  # ... the process is out of something
                    time.sleep(0.1)
                continue
            if not self._admit(_Connection(sock, client)):
                sock.close()
        for _ in range(self._parked):
            self._handoff.put(None)

    def _admit(self, connection: _Connection) -> bool:
        """Count the connection in, closing the longest idle one if every place is taken,
        and hand it to a waiting thread or a new one. False: stopping."""
        with self._lock:
            while self._running and len(self._open) >= self._limit:
                idle = [c for c in self._open if c.idle_since is not None]
                if idle:
                    self._shut(min(idle, key=lambda c: c.idle_since))
                self._crowded = True
                self._lock.wait()  # a connection ends, or another one turns idle
            self._crowded = False
            if not self._running:
                return False
            self._open.add(connection)
            if self._parked:
                self._parked -= 1
                self._handoff.put(connection)
                return True
        worker = threading.Thread(target=self._worker, args=(connection,), name="http-connection", daemon=True)
        with self._lock:
            self.workers.add(worker)
        worker.start()
        return True

    @staticmethod
    def _shut(connection: _Connection) -> None:
        try:
            # the plain socket's shutdown, even under TLS: its thread's recv or handshake
            # returns at once, and OpenSSL's state is left to that thread
            socket.socket.shutdown(connection.sock, socket.SHUT_RDWR)
        except OSError:
            pass

    def _worker(self, connection: _Connection | None) -> None:
        try:
            self._serve_connections(connection)
        finally:
            with self._lock:
                self.workers.discard(threading.current_thread())

    def _serve_connections(self, connection: _Connection | None) -> None:
        while connection is not None:
            try:
                self._serve(connection)
            except Exception:
                log.exception("serving %s failed", connection.client)
            finally:
                connection.close()
            with self._lock:
                self._open.discard(connection)
                self._lock.notify_all()
                if not self._running:
                    return
                self._parked += 1
            try:
                connection = self._handoff.get(timeout=KEEP_THREAD)
            except queue.Empty:
                with self._lock:
                    if self._handoff.empty():  # nobody counted on this thread meanwhile
                        self._parked -= 1
                        return
                connection = self._handoff.get()

    # -- one connection ----------------------------------------------------------------------

    def _serve(self, connection: _Connection) -> None:
        sock = connection.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.request_timeout)
        if self._tls is not None:
            connection.idle_since = time.monotonic()  # a stalled handshake may make room too
            try:
                sock = connection.sock = self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                sock.do_handshake()
            except (OSError, ssl.SSLError) as error:  # not TLS, no shared protocol, silence ...
                log.debug("TLS handshake with %s failed: %s", connection.client, error)
                return
            finally:
                connection.idle_since = None
        base = base_environ(self._server_name, self._port, connection.client, self._scheme)
        while self._running:
            try:
                if not self._wait_for_request(connection):
                    return
                head = self._read_head(connection, base)
                body = self._read_body(connection, head)
            except HttpError as error:
                if self._send(connection, error.response()):
                    self._drain(connection)
                return
            except _Closed:
                return
            if not self._respond(connection, head, body):
                return

    def _wait_for_request(self, connection: _Connection) -> bool:
        """Block until a request's first byte; False when the client closed or stayed idle."""
        buffer = connection.buffer
        while True:
            while buffer[:2] == b"\r\n":  # empty lines before a request are ignored (RFC 9112)
                del buffer[:2]
            if buffer:
                return True
            with self._lock:
                if not self._running:  # stop() has shut every connection it saw
                    return False
                connection.idle_since = time.monotonic()
                if self._crowded:
                    self._lock.notify_all()
            if self.idle_timeout != self.request_timeout:
                connection.sock.settimeout(self.idle_timeout)
            try:
                connection.fill()
            except _Closed:
                return False
            finally:
                connection.idle_since = None
                if self.idle_timeout != self.request_timeout:
                    connection.sock.settimeout(self.request_timeout)

    def _read_head(self, connection: _Connection, base: dict) -> Head:
        buffer = connection.buffer
        deadline = time.monotonic() + self.request_timeout
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > MAX_HEAD:
                raise HttpError(431, f"the request head is longer than {MAX_HEAD} bytes")
            if time.monotonic() > deadline:
                raise HttpError(408, f"the request head did not arrive within {self.request_timeout:g} s")
            connection.fill()
        if end > MAX_HEAD:
            raise HttpError(431, f"the request head is longer than {MAX_HEAD} bytes")
        raw = bytes(buffer[:end])
        del buffer[:end + 4]
        return parse_head(raw, base)

    def _read_body(self, connection: _Connection, head: Head) -> bytes:
        buffer = connection.buffer
        if (head.length or head.chunked) and head.expects_continue and not buffer:
            self._send(connection, b"HTTP/1.1 100 Continue\r\n\r\n")
        deadline = time.monotonic() + self.request_timeout

        def more() -> None:
            if time.monotonic() > deadline:
                raise HttpError(408, f"the request body did not arrive within {self.request_timeout:g} s")
            connection.fill()

        def read_exactly(count: int) -> bytes:
            while len(buffer) < count:
                more()
            data = bytes(buffer[:count])
            del buffer[:count]
            return data

        def read_line() -> bytes:
            while (end := buffer.find(b"\r\n")) < 0:
                if len(buffer) > MAX_HEAD:
                    raise HttpError(400, "a chunk's size line or a trailer field is too long")
                more()
            line = bytes(buffer[:end])
            del buffer[:end + 2]
            return line

        if head.chunked:
            body = read_chunked(read_line, read_exactly)
            head.environ["CONTENT_LENGTH"] = str(len(body))
            return body
        return read_exactly(head.length) if head.length else b""

    def _respond(self, connection: _Connection, head: Head, body: bytes) -> bool:
        """Run the app on one request and send its answer; whether the connection goes on."""
        environ = head.environ
        environ["wsgi.input"] = io.BytesIO(body)
        started: list = []
        written: list[bytes] = []

        def start_response(status: str, headers: list, exc_info=None):
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append

        try:
            result = self._app(environ, start_response)
            try:
                written.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            if not started:
                raise RuntimeError("the app returned without calling start_response")
        except Exception:
            log.exception("%s %s failed", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            self._send(connection, HttpError(500, "the request failed; the log says why").response())
            return False
        status, headers = started
        keep_alive = head.keep_alive and self._running
        payload = b"".join(written)
        length: int | None = len(payload)
        if status[:1] == "1" or status[:3] in ("204", "304"):  # no body, and no length either
            headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
            length, payload = None, b""
        elif environ["REQUEST_METHOD"] == "HEAD":
            length, payload = None, b""  # the app's own Content-Length, if any, stays
        if not keep_alive:
            connection_field: str | None = "close"
        else:  # HTTP/1.0 keeps a connection only when told so
            connection_field = "keep-alive" if environ["SERVER_PROTOCOL"] == "HTTP/1.0" else None
        framing = response_head(status, [*headers, ("Date", self._date())], length=length,
                                connection=connection_field)
        return self._send(connection, framing + payload) and keep_alive

    def _drain(self, connection: _Connection) -> None:
        """Read what the client still sends (a refused body, say) before closing: closing
        with unread bytes makes the kernel reset the connection, and the client may lose
        the answer that says why."""
        try:
            connection.sock.shutdown(socket.SHUT_WR)
            connection.sock.settimeout(1.0)
            deadline = time.monotonic() + 2.0
            for _ in range(64):  # at most 4 MiB
                if time.monotonic() > deadline or not connection.sock.recv(RECV):
                    return
        except (OSError, ssl.SSLError):
            pass

    @staticmethod
    def _send(connection: _Connection, data: bytes) -> bool:
        try:
            connection.sock.sendall(data)
            return True
        except (OSError, ssl.SSLError):
            return False
