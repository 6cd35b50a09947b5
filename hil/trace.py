"""CBOR traces of a serial session: every byte each side wrote, with its time.

A trace file is a CBOR sequence (RFC 8742), written as the session goes so that a crash
loses at most the last event:

* first a map, the header: ``format`` (``"hil-modem-trace"``), ``version`` (1), ``model``
  (the profile key), ``date`` (ISO 8601, UTC, when recording started), ``clock_start``
  (the clock's reading at time 0) and any extra metadata the recorder was given;
* then one array per write: ``[time, source, data]`` where ``time`` is seconds since
  recording started (monotonic clock), ``source`` is ``"host"`` (bytes the client wrote)
  or ``"modem"`` (bytes the modem wrote, one item per write, so output chunking is kept)
  and ``data`` is a byte string.

The clock is by default :func:`time.monotonic`, on Linux ``CLOCK_MONOTONIC``: one clock
for every process of the machine, so ``clock_start + time`` places an event on the clock
of another process (a benchmark timing how long a submission took to reach the modem).

:mod:`hil.replay` plays the modem's side of a trace back to a client.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2

__all__ = ["FORMAT", "HOST", "MODEM", "Trace", "TraceEvent", "TraceWriter", "read_trace"]

FORMAT = "hil-modem-trace"
VERSION = 1
HOST, MODEM = "host", "modem"


@dataclass(frozen=True)
class TraceEvent:
    time: float  # seconds since the recording started
    source: str  # HOST or MODEM
    data: bytes


@dataclass(frozen=True)
class Trace:
    meta: dict[str, Any]
    events: list[TraceEvent]

    def bytes_from(self, source: str) -> bytes:
        """Everything ``source`` wrote, joined."""
        return b"".join(event.data for event in self.events if event.source == source)


class TraceWriter:
    """Appends events to a new trace file; every event is flushed at once."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        model: str,
        meta: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._file = open(path, "wb")  # noqa: SIM115 - open for the session, closed by close()
        self._start = clock()
        header = {
            "format": FORMAT,
            "version": VERSION,
            "model": model,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "clock_start": self._start,
            **(meta or {}),
        }
        cbor2.dump(header, self._file)
        self._file.flush()

    def record(self, source: str, data: bytes) -> None:
        if source not in (HOST, MODEM):
            raise ValueError(f"source is {HOST!r} or {MODEM!r}")
        cbor2.dump([round(self._clock() - self._start, 6), source, bytes(data)], self._file)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """Read a whole trace; :class:`ValueError` if it is not one."""
    events: list[TraceEvent] = []
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        header = cbor2.load(file)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"{os.fspath(path)} is not a {FORMAT} file")
        if header.get("version") != VERSION:
            raise ValueError(f"{os.fspath(path)}: unsupported version {header.get('version')}")
        while file.tell() < size:
            item = cbor2.load(file)
            if (
                not isinstance(item, list)
                or len(item) != 3
                or item[1] not in (HOST, MODEM)
                or not isinstance(item[2], bytes)
            ):
                raise ValueError(f"{os.fspath(path)}: bad event {item!r}")
            events.append(TraceEvent(float(item[0]), item[1], item[2]))
    return Trace(header, events)
