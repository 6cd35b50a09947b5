"""Serving the WSGI app on a real multi-threaded server (waitress), in its own threads.

waitress was chosen over cheroot by measurement: the same durable send-message rate
(both wait on the store's commit) and 1.4× cheroot's rate where the server's own cost
shows; see bench/RESULTS.md (``make bench-wsgi``). It also buffers whole requests before
a worker thread sees them, so a slow client cannot tie up a worker.
"""

from __future__ import annotations

import logging
import threading

import waitress

# waitress warns of every queued request under load; the status page will show load instead
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


class HttpServer:
    def __init__(self, app, host: str, port: int, *, threads: int = 16) -> None:
        # binds here, so a port in use fails at start-up, loudly
        self._server = waitress.create_server(app, host=host, port=port, threads=threads,
                                              ident="sms-appliance")
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
        self._server.close()
        if self._thread is not None:
            self._thread.join(5.0)
