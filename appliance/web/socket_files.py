"""The files the HTTP server reads a request from and writes its answer to.

cheroot (web/wsgi_server.py) reads and writes its sockets through files of its own, built
on ``_pyio``, the pure-Python twin of the io module, and its writer sends each write at
once: an answer's head and its body leave in two system calls. Measured with 8 keep-alive
clients on send-message (bench/RESULTS.md), those two things cost about a fifth of the
server's rate. These files keep cheroot's interface (``has_data``, ``bytes_read``,
``bytes_written``, ``hold``) over the C buffered reader, and let a head wait for its body.
"""

from __future__ import annotations

import io
import socket
from typing import Any

from cheroot.makefile import StreamWriter


class _Counted(socket.SocketIO):
    """The socket's bytes, counted as they arrive."""

    received = 0

    def readinto(self, buffer: Any) -> int | None:
        count = super().readinto(buffer)
        self.received += count or 0
        return count


class Reader(io.BufferedReader):
    """A socket read through C's buffered reader. cheroot also asks whether bytes are
    buffered (``has_data``: a kept-alive connection whose next request is already here is
    served at once) and how many were read: every way of taking bytes out counts them."""

    def __init__(self, sock: socket.socket, bufsize: int = io.DEFAULT_BUFFER_SIZE) -> None:
        self._source = _Counted(sock, "rb")
        super().__init__(self._source, bufsize)
        self.bytes_read = 0

    def _taken(self, data: bytes) -> bytes:
        self.bytes_read += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._taken(super().read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._taken(super().read1(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._taken(super().readline(size))

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.bytes_read += count
        return count

    def readinto1(self, buffer: Any) -> int:
        count = super().readinto1(buffer)
        self.bytes_read += count
        return count

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines, total = [], 0
        for line in self:
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def has_data(self) -> bool:
        """Bytes are buffered: the next read takes them without waiting for the socket."""
        return self._source.received > self.bytes_read


class Writer(StreamWriter):
    """cheroot's socket writer, which sends each write at once, but for what is written
    while ``hold`` is set: that goes with the next write, or at :meth:`flush`."""

    hold = False

    def __init__(self, sock: socket.socket, bufsize: int = io.DEFAULT_BUFFER_SIZE) -> None:
        super().__init__(sock, "wb", bufsize)
        self._held = b""

    def write(self, data: Any) -> int:
        if self.hold:
            self._held += data
            return len(data)
        if self._held:
            data, self._held = self._held + bytes(data), b""
        return super().write(data)

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, b""
            super().write(held)
        super().flush()


def open_file(sock: socket.socket, mode: str = "r", bufsize: int = io.DEFAULT_BUFFER_SIZE) -> Reader | Writer:
    """What cheroot's ``makefile`` returns: a reader, or (``mode`` with ``w``) a writer."""
    return Writer(sock, bufsize) if "w" in mode else Reader(sock, bufsize)
