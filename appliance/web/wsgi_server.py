"""Serving the bottle app over HTTP/1.1 (and HTTPS) with cheroot, a maintained WSGI server.

Why cheroot (bench/RESULTS.md, ``make bench-wsgi``): it speaks TLS itself, so a config
with ``[http] tls_cert`` and ``tls_key`` keeps serving HTTPS without a proxy, and its
throughput with the group commit behind it is well above the goal; waitress has no TLS.
On the appliance nginx stands in front (image/nginx/): it terminates TLS, refuses
ambiguous framing, and holds slow clients, which would otherwise each hold one of the
``threads`` here for ``timeout`` seconds (docs/http-api.md says how connections are treated).

How it runs: one thread accepts connections and watches the kept-alive ones; a pool of
``threads`` reads each request, runs the app and writes the answer. What is ours here is
configuration and six small adaptations, each said where it is: the framing checks
RFC 9112 asks for on top of cheroot's header parser, TLS handshakes in the pool instead of
the accepting thread, a kept-alive connection's next request read by the thread that
answered the last one, a chunked body read whole before bottle sees it, the client's
address taken from a trusted proxy, and socket files in C with an answer's head sent with
its body (web/socket_files.py).
"""

from __future__ import annotations

import email.utils
import functools
import io
import logging
import os
import re
import select
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from cheroot import errors, server, wsgi
from cheroot.ssl import Adapter

from ..config.file import HttpConfig
from .forwarded import Network, client_address, networks
from .socket_files import open_file

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024   # request line and header fields together (else 413)
# [http] threads, connections, timeout, max_body: declared once, in the config. A body is
# held in memory whole, so the pool holds at most threads x max_body; max_body is above
# the JSON API's own limit (1 MiB), which then answers in its format.
_DEFAULT = HttpConfig()
SHUTDOWN_WAIT = 5.0    # stop(): requests being answered get this long before their sockets are shut
LINGER = 0.002         # a thread waits this long for a kept-alive connection's next request (_Connection)
_TLS_ENVIRON = {"wsgi.url_scheme": "https", "HTTPS": "on"}
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # controls other than tab


class _FramingFields(dict):
    """The header fields of one request, refusing a second Content-Length (or a
    continuation line folded onto one): two lengths are two ways to read the body."""

    def __setitem__(self, name: bytes, value: bytes) -> None:
        if name == b"Content-Length" and name in self:
            raise ValueError("Content-Length is given more than once")
        if _VALUE_BAD.search(value):
            raise ValueError(f"the header {name.decode('latin-1')} holds a control character")
        super().__setitem__(name, value)


class _StrictHeaders(server.HeaderReader):
    """cheroot's header parser, refusing with 400 (and closing) what a proxy in front
    could read differently: the framing checks RFC 9112 asks of a server that cheroot
    leaves out. Fields with an underscore in the name are dropped: X_Forwarded_For would
    otherwise reach the app as HTTP_X_FORWARDED_FOR (cheroot's DropUnderscoreHeaderReader
    would do that, but in cheroot 11.1 it tests a bytes name for a str and fails)."""

    def __call__(self, rfile: Any, hdict: dict | None = None) -> dict:
        fields = super().__call__(rfile, _FramingFields())
        length = fields.get(b"Content-Length")
        if length is not None:
            if not length.isdigit():
                raise ValueError("Content-Length is not one decimal number")
            if b"Transfer-Encoding" in fields:
                raise ValueError("both Content-Length and Transfer-Encoding are given")
        if hdict is None:
            return dict(fields)
        hdict.update(fields)
        return hdict

    def _transform_key(self, key_name: bytes) -> bytes:
        if not _TOKEN.fullmatch(key_name):  # RFC 9112: no whitespace before the colon
            raise ValueError("a header field's name is not a token")
        return key_name.title()  # as cheroot's own, which strips whitespace first

    def _allow_header(self, key_name: bytes) -> bool:
        return b"_" not in key_name


@functools.lru_cache(maxsize=1)
def _http_date(second: int) -> bytes:
    return email.utils.formatdate(second, usegmt=True).encode("ascii")


class _Request(server.HTTPRequest):
    header_reader = _StrictHeaders()

    def send_headers(self) -> None:
        """The head waits for the body's first bytes, so that both leave in one write
        (web/socket_files.py); its Date is made once a second, not for every answer."""
        self.outheaders.append((b"Date", _http_date(int(time.time()))))
        writer = self.conn.wfile
        writer.hold = True
        try:
            super().send_headers()
        finally:
            writer.hold = False

    def respond(self) -> None:
        try:
            super().respond()
        finally:
            self.conn.wfile.flush()  # a head that had no body after it


class _Connection(server.HTTPConnection):
    """A connection whose TLS handshake, if any, is made by the pool thread serving it:
    cheroot's own adapter shakes hands in the thread that accepts, where one client that
    connects and stays silent would keep everyone else out for ``timeout`` seconds."""

    RequestHandlerClass = _Request

    def __init__(self, http: server.HTTPServer, sock: Any, makefile: Callable = open_file) -> None:
        super().__init__(http, sock, open_file)  # plain or TLS, the same files (web/socket_files.py)
        self._handshake_due = isinstance(sock, ssl.SSLSocket)

    def communicate(self) -> bool:
        if self._handshake_due:
            self._handshake_due = False
            try:
                self.socket.do_handshake()  # within the socket's timeout
            except OSError as error:  # not TLS, no protocol in common, silence, a reset ...
                log.debug("TLS handshake with %s failed: %s", self.remote_addr, error)
                return False
        while super().communicate():
            if not self._next_request_soon():
                return True  # to the accepting thread, which watches it until it speaks again
        return False

    def _next_request_soon(self) -> bool:
        """Whether this thread should read the connection's next request itself: it is
        already here, or comes within ``linger`` while no other connection waits for a
        thread. Handing every kept-alive connection back to the accepting thread between
        two requests costs two thread switches a request, and spreads a busy client's
        requests so that fewer share a commit (bench/RESULTS.md: with 8 clients, fsyncs
        per message 0.26 -> 0.18)."""
        server = self.server
        if self.rfile.has_data():
            return True
        if not server.linger or not server.ready or server.requests.qsize:
            return False
        if isinstance(self.socket, ssl.SSLSocket) and self.socket.pending():
            return True
        waiting = select.poll()  # not select(), which fails for descriptors above 1023
        waiting.register(self.socket, select.POLLIN)
        return bool(waiting.poll(server.linger * 1000))


class _LazyTls(Adapter):
    """Wraps an accepted socket without shaking hands (see _Connection)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(None, None)
        self.context = context

    def bind(self, sock: Any) -> Any:
        return sock

    def wrap(self, sock: Any) -> tuple[ssl.SSLSocket, dict[str, str]]:
        try:
            return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), \
                dict(_TLS_ENVIRON)
        except OSError as error:  # the client left before it was accepted
            raise errors.FatalSSLAlert(*error.args) from error

    def get_environ(self) -> dict[str, str]:
        return dict(_TLS_ENVIRON)

    def makefile(self, sock: Any, mode: str = "r", bufsize: int = io.DEFAULT_BUFFER_SIZE) -> Any:
        return open_file(sock, mode, bufsize)


class _Gateway(wsgi.Gateway_10):
    """The WSGI environ as the app expects it.

    A chunked body is read whole here, within ``max_body``, and given to the app with its
    length: cheroot de-chunks it but leaves Transfer-Encoding in the environ, and bottle,
    seeing that field, would de-chunk it again and fail. A body that is not valid chunked
    coding gets 400 and the connection closes, since what follows cannot be trusted to
    start a request.
    """

    def get_environ(self) -> Any:  # a dict; cheroot's stub says None
        environ = super().get_environ()
        trusted = self.req.server.trusted_proxies
        if trusted:
            environ["REMOTE_ADDR"] = client_address(environ["REMOTE_ADDR"], environ.get("HTTP_X_FORWARDED_FOR"),
                                                    trusted)
        return environ

    def respond(self) -> None:
        request = self.req
        if request.chunked_read:
            try:
                body = request.rfile.read()
            except errors.MaxSizeExceeded:
                self._refuse("413 Request Entity Too Large", "the body is larger than "
                             f"{request.server.max_request_body_size} bytes")
                return
            except ValueError as error:  # a chunk's size or its end is not as RFC 9112 says
                self._refuse("400 Bad Request", f"the chunked body is malformed: {error}")
                return
            except OSError as error:
                if error.args != ("Request Entity Too Large",):  # what cheroot raises for one huge chunk
                    raise
                self._refuse("413 Request Entity Too Large", "the body is larger than "
                             f"{request.server.max_request_body_size} bytes")
                return
            self.env.pop("HTTP_TRANSFER_ENCODING", None)
            self.env["CONTENT_LENGTH"] = str(len(body))
            self.env["wsgi.input"] = io.BytesIO(body)
        super().respond()

    def _refuse(self, status: str, reason: str) -> None:
        request = self.req
        request.close_connection = True
        request.simple_response(status, reason + "\r\n")
        request.ready = False  # answered: cheroot sends nothing more


class _Server(wsgi.Server):
    """cheroot's WSGI server, logging through ``logging`` rather than onto stderr."""

    ConnectionClass = _Connection
    trusted_proxies: tuple[Network, ...] = ()
    linger = LINGER

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        log.log(level, "%s", msg, exc_info=traceback)


class HttpServer:
    """The app served on ``host:port``; binds at once, so a port in use fails at start-up.

    ``threads``: requests answered at once, each thread with its own SQLite connection;
    ``connections``: kept-alive connections held open between requests (more: the answer
    closes the connection), and connections waiting for a thread (more: 503 at once);
    ``timeout``: seconds a connection may stay silent, in a request or between two;
    ``max_body``: bytes (more: 413); ``tls``: speak HTTPS only, with this context;
    ``trusted_proxies``: addresses or networks whose X-Forwarded-For names the client;
    ``linger``: see _Connection.
    """

    def __init__(self, app: Callable, host: str, port: int, *, threads: int = _DEFAULT.threads,
                 connections: int = _DEFAULT.connections, timeout: float = _DEFAULT.timeout,
                 max_body: int = _DEFAULT.max_body, tls: ssl.SSLContext | None = None,
                 trusted_proxies: Iterable[str] = _DEFAULT.trusted_proxies, linger: float = LINGER) -> None:
        if os.environ.get("LISTEN_PID", str(os.getpid())) != str(os.getpid()):
            # cheroot would take fd 3 for its socket, as if systemd had passed one to us
            del os.environ["LISTEN_PID"]
        self._server = _Server((host, port), app, numthreads=threads, max=threads, request_queue_size=128,
                               accepted_queue_size=connections, accepted_queue_timeout=0, server_name="sms-appliance")
        self._server.timeout = timeout
        self._server.shutdown_timeout = SHUTDOWN_WAIT
        self._server.gateway = _Gateway
        self._server.keep_alive_conn_limit = connections
        self._server.max_request_header_size = MAX_HEAD
        self._server.max_request_body_size = max_body
        self._server.trusted_proxies = networks(trusted_proxies)
        self._server.linger = linger
        if tls is not None:
            self._server.ssl_adapter = _LazyTls(tls)
        self._server.prepare()  # binds, listens, starts the pool
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve, name="http", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.bind_addr[:2]
        return str(host), int(port)

    @property
    def alive(self) -> bool:
        """Accepting and answering: the watchdog's test."""
        return self._thread is not None and self._thread.is_alive() and self._server.ready

    def stop(self) -> None:
        """Stop accepting, close the idle connections, and wait for the requests being
        answered (the store closes next); a thread still reading a slow client's request
        after SHUTDOWN_WAIT has its socket shut. Once is enough."""
        self._server.stop()
        if self._thread is not None:
            self._thread.join(SHUTDOWN_WAIT)
