"""Serving the WSGI app on a real multi-threaded server (cheroot), in its own threads.

cheroot was chosen over waitress by measurement: see bench/RESULTS.md (``make bench-wsgi``).
"""

from __future__ import annotations

import threading

from cheroot import wsgi


class HttpServer:
    def __init__(self, app, host: str, port: int, *, threads: int = 16) -> None:
        self._server = wsgi.Server((host, port), app, numthreads=threads, server_name="sms-appliance")
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind (so a busy port fails here, loudly) and serve in a background thread."""
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, name="http", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return self._server.bind_addr[:2]

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(5.0)
