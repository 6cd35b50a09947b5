"""Byte pipes to a modem. The channel only needs a non-blocking fd to read and write."""

from __future__ import annotations

import os
from typing import Protocol

import serial


class Transport(Protocol):
    def fileno(self) -> int: ...
    def read(self) -> bytes: ...
    def write(self, data: bytes) -> int: ...
    def close(self) -> None: ...


class TransportClosed(OSError):
    """The port went away: the device was unplugged, re-enumerated, or the pty closed."""


class FdTransport:
    """Non-blocking reads and writes on a file descriptor someone else configured."""

    def __init__(self, fd: int, owner: object | None = None) -> None:
        self._fd = fd
        self._owner = owner  # keeps e.g. the pyserial object (and so the fd) alive
        os.set_blocking(fd, False)

    def fileno(self) -> int:
        return self._fd

    def read(self) -> bytes:
        """Bytes available now; b"" if none yet. Raises TransportClosed at end of file."""
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as error:
            raise TransportClosed(str(error)) from error
        if not data:
            raise TransportClosed("end of file")
        return data

    def write(self, data: bytes) -> int:
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0
        except OSError as error:
            raise TransportClosed(str(error)) from error

    def close(self) -> None:
        closer = getattr(self._owner, "close", None)
        if closer is not None:
            closer()
        else:
            os.close(self._fd)


def open_serial(port: str, baudrate: int) -> FdTransport:
    """Open a serial device (or a pty standing in for one) raw, 8N1, no flow control."""
    device = serial.Serial(port, baudrate=baudrate, timeout=0, write_timeout=0,
                           rtscts=False, dsrdtr=False, xonxoff=False, exclusive=True)
    return FdTransport(device.fileno(), owner=device)
