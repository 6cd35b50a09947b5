"""Serving the WSGI app on a real multi-threaded server (waitress), in its own threads.

waitress was chosen over cheroot by measurement: the same durable send-message rate
(both wait on the store's commit) and 1.4× cheroot's rate where the server's own cost
shows; see bench/RESULTS.md (``make bench-wsgi``). It also buffers whole requests before
a worker thread sees them, so a slow client cannot tie up a worker.

HTTPS: waitress has no TLS of its own, so each accepted connection is wrapped with the
standard library's ``ssl`` in a small channel class (TLSChannel). The alternatives were
worse: a second server (wsgiref, cheroot) only for HTTPS would behave differently from
the HTTP one and, with wsgiref, let a slow client hold a thread; a TLS proxy in front
would hide the client's address from the login throttle. The handshake runs
non-blocking in waitress's I/O loop, so a client that stalls in it holds no worker
either and is dropped by waitress's idle-channel timeout like any other.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel

from ..config import ConfigError

log = logging.getLogger(__name__)

# waitress warns of every queued request under load; the status page will show load instead
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


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


TLS_RECORD = 16384  # the most plaintext one TLS record holds


class TLSChannel(HTTPChannel):
    """waitress's HTTP channel over a non-blocking TLS connection.

    OpenSSL may want to read when asked to write and holds decrypted bytes the socket's
    select() cannot see; each place waitress touches the socket handles that here.
    """

    def __init__(self, server, sock, addr, adj, map=None, *, context: ssl.SSLContext) -> None:
        sock.setblocking(False)
        tls = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        self._handshaking = True
        self._handshake_wants_write = False
        super().__init__(server, tls, addr, adj, map=map)

    def readable(self) -> bool:
        return True if self._handshaking else super().readable()

    def writable(self) -> bool:
        # will_close: waitress's idle timeout, which must reach a stalled handshake too
        return self._handshake_wants_write or self.will_close if self._handshaking else super().writable()

    def _handshake(self) -> None:
        try:
            self.socket.do_handshake()
        except ssl.SSLWantReadError:
            self._handshake_wants_write = False
            return
        except ssl.SSLWantWriteError:
            self._handshake_wants_write = True
            return
        except OSError as error:  # not TLS, no shared protocol, the client gave up ...
            log.debug("TLS handshake with %s failed: %s", self.addr, error)
            self.handle_close()
            return
        self._handshaking = False
        self._handshake_wants_write = False
        self.last_activity = time.time()
        self.handle_read()  # a request may have come with the handshake's last flight

    def handle_read(self) -> None:
        if self._handshaking:
            self._handshake()
            return
        # read until OpenSSL holds nothing back: select() does not see bytes it has
        # already taken off the socket (at most one record, 16 KiB, so memory stays bounded)
        while self.socket is not None:
            try:
                data = self.socket.recv(TLS_RECORD)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except OSError as error:  # reset, close_notify, a broken record
                log.debug("TLS connection from %s ended: %s", self.addr, error)
                self.handle_close()
                return
            if not data:
                self.handle_close()
                return
            self.last_activity = time.time()
            self.received(data)
            if not self.socket.pending():
                return

    def handle_write(self) -> None:
        if self._handshaking and self.will_close:
            self.handle_close()
        elif self._handshaking:
            self._handshake()
        else:
            super().handle_write()

    def send(self, data, do_close: bool = True) -> int:
        try:
            return super().send(data, do_close=do_close)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return 0  # waitress offers the same bytes again, as OpenSSL needs


class HttpServer:
    def __init__(self, app, host: str, port: int, *, threads: int = 16,
                 tls: ssl.SSLContext | None = None) -> None:
        """``tls``: speak HTTPS only, with this context (see tls_context)."""
        # binds here, so a port in use fails at start-up, loudly
        self._server = waitress.create_server(app, host=host, port=port, threads=threads,
                                              ident="sms-appliance", url_scheme="https" if tls else "http")
        if tls is not None:
            self._server.channel_class = functools.partial(TLSChannel, context=tls)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.effective_host, self._server.effective_port
        return str(host), int(port)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if not self.alive:
            self._server.close()
            return
        # close every socket (listener, connections) on the I/O thread itself: a socket
        # closed from here while that thread selects on it kills the thread with EBADF
        sockets = self._server._map
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(sockets, ignore_all=True))
        self._thread.join(5.0)
        self._server.task_dispatcher.shutdown()
