"""Serves a :class:`~hil.pty_port.PtyPort` on an asyncio loop (:mod:`hil.loop_host`).

The pty master is non-blocking and served with ``loop.add_reader`` (input) and, while
output waits that the slave's queue cannot take yet, ``loop.add_writer``; timers are the
loop's ``call_later``. Nothing polls or sleeps. Everything that touches the served state
(input, timers, output) runs on the loop's thread; other threads use :meth:`PtyServer.run`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Callable
from typing import Protocol, TypeVar

from hil.loop_host import LoopHost
from hil.pty_port import PtyPort

__all__ = ["Pacer", "PtyServer"]

log = logging.getLogger("hil.pty_server")
T = TypeVar("T")


class Pacer(Protocol):
    """Cuts output into chunks with pauses (a UART/USB stack fragmenting it)."""

    def chunk(self) -> int: ...

    def gap(self) -> float: ...


class PtyServer:
    """Input goes to ``on_input(data)``; output queued with :meth:`write` goes out, each
    write reported to ``on_written(data)``. ``loop``: serve on that loop, else on a loop
    of its own on a thread of its own (:class:`~hil.loop_host.LoopHost`). A callback that
    raises stops the service (the port is no longer read, timers no longer fire):
    :attr:`failure` says why."""

    def __init__(
        self,
        port: PtyPort,
        *,
        name: str,
        on_input: Callable[[bytes], None],
        on_written: Callable[[bytes], None] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.port = port
        self.host = LoopHost(name, loop)
        self.pacer: Pacer | None = None
        self.failure: BaseException | None = None
        self._name = name
        self._on_input = on_input
        self._on_written = on_written or (lambda data: None)
        self._out = bytearray()
        self._paused: asyncio.TimerHandle | None = None
        self._served: int | None = None  # the master fd registered with the loop
        self._writing = False  # a writer is registered for it
        self._started = False
        self._stopped = False

    @property
    def started(self) -> bool:
        return self._started

    @property
    def stopped(self) -> bool:
        return self._stopped

    def time(self) -> float:
        """The clock the timers run on (the loop's)."""
        return self.host.time()

    def start(self) -> None:
        """Serve the (open) port: on a loop of its own, started here, or the given one."""
        if self._started:
            raise RuntimeError("already started")
        self.host.start()
        try:
            self.run(self._serve)
        except BaseException:
            self.host.stop()
            raise
        self._started = True

    def stop(self) -> None:
        """Stop serving: the port is no longer read or written, no timer fires any more;
        a loop of its own stops and its thread is joined (the port is the owner's).
        Idempotent."""
        if not self._started or self._stopped:
            return
        self.host.run(self._halt)
        self.host.stop()

    def run(self, call: Callable[[], T], timeout: float = 10.0) -> T:
        """``call()`` on the loop (at once if already there or not running, else handed
        over); its result or exception comes back to the caller."""
        if self.failure is not None and not self._stopped:
            raise RuntimeError(f"{self._name} failed") from self.failure
        return self.host.run(call, timeout)

    # ----------------------------------------------------------------- loop thread only

    def call_later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.host.loop.call_later(delay, self._guarded, callback)

    def write(self, data: bytes) -> None:
        """Queue output and write what the slave takes at once; dropped while the port is
        closed."""
        if self._served is None:
            return
        self._out += data
        if not self._writing and self._paused is None:
            self._flush()

    def discard_output(self) -> None:
        self._out.clear()

    def reopen(self) -> None:
        """The port is back (a new pty): serve it."""
        self.port.open()
        self._serve()

    def close_port(self) -> None:
        """The port goes away: unserve and close it; queued output is lost."""
        self._unserve()
        self.port.close()

    def _serve(self) -> None:
        assert self.port.master is not None
        self._served = self.port.master
        self.host.loop.add_reader(self._served, self._read)

    def _halt(self) -> None:
        self._stopped = True
        self._unserve()

    def _unserve(self) -> None:
        if self._served is not None:
            self.host.loop.remove_reader(self._served)
            self._stop_writing()
            self._served = None
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        self._out.clear()

    def _stop_writing(self) -> None:
        if self._writing and self._served is not None:
            self.host.loop.remove_writer(self._served)
        self._writing = False

    def _guarded(self, callback: Callable[..., None], *args: object) -> None:
        if self.failure is not None or self._stopped:
            return
        try:
            callback(*args)
        except Exception as error:
            log.exception("%s failed", self._name)
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        self.failure = error
        self._unserve()

    def _read(self) -> None:
        assert self._served is not None
        try:
            data = os.read(self._served, 4096)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno == errno.EIO:
                log.error("%s: pty master read EIO (slave closed?)", self._name)
            self._fail(error)
            return
        if data:
            self._guarded(self._on_input, data)

    def _flush(self) -> None:
        """Write queued output: all the slave takes, or one paced chunk and then a pause;
        what is left waits for the loop to say the slave takes more."""
        served = self._served
        if served is None:
            return
        size = len(self._out) if self.pacer is None else self.pacer.chunk()
        try:
            written = os.write(served, self._out[:size])
        except BlockingIOError:
            written = 0  # the slave's input queue is full
        if written:
            chunk = bytes(self._out[:written])
            del self._out[:written]
            self._guarded(self._on_written, chunk)
        if self._out and self.pacer is not None and written:
            self._stop_writing()
            self._paused = self.host.loop.call_later(self.pacer.gap(), self._resume)
        elif self._out and not self._writing:
            self.host.loop.add_writer(served, self._flush)
            self._writing = True
        elif not self._out:
            self._stop_writing()

    def _resume(self) -> None:
        self._paused = None
        if self._out and self._served is not None:
            self._flush()
