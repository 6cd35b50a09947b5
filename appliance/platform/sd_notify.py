"""systemd's notify protocol over $NOTIFY_SOCKET: READY, STATUS, WATCHDOG, STOPPING.

A plain datagram socket; no dependency. Outside systemd (no NOTIFY_SOCKET) every call is
a no-op, so the same code runs on a laptop. It never blocks: the event loop sends
these, and a listener that stopped reading (a full socket) must not stop the modems; a
message that cannot go at once is dropped, and the next one says the same again.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        address = environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self._address = address or None
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        owned = not pid or pid == str(os.getpid())
        self.watchdog_interval = int(usec) / 1e6 if usec.isdigit() and owned else None

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *fields: str) -> bool:
        if self._socket is None or self._address is None:
            return False
        try:
            self._socket.sendto("\n".join(fields).encode(), socket.MSG_DONTWAIT, self._address)
            return True
        except BlockingIOError:
            log.debug("sd_notify: the listener's socket is full; %s dropped", fields)
            return False
        except OSError as error:
            log.warning("sd_notify failed: %s", error)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
