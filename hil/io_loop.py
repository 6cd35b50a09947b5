"""Serves a :class:`~hil.pty_port.PtyPort` on its own thread with the appliance's reactor.

The thread runs an :class:`appliance.reactor.Reactor`: it sleeps in ``select()`` until the
pty master is readable (or writable with output queued), a timer is due, or another
thread hands work over: nothing polls or sleeps. Everything that touches the served
state (input, timers, output) runs on that thread; other threads use :meth:`PtyServer.run`,
which hands a call over and waits for its result.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from appliance.reactor import Reactor, Timer
from hil.pty_port import PtyPort

__all__ = ["Pacer", "PtyServer"]

log = logging.getLogger("hil.io_loop")
T = TypeVar("T")


class Pacer(Protocol):
    """Cuts output into chunks with pauses (a UART/USB stack fragmenting it)."""

    def chunk(self) -> int: ...

    def gap(self) -> float: ...


class PtyServer:
    """Input goes to ``on_input(data)``; output queued with :meth:`write` goes out, each
    write reported to ``on_written(data)``. A callback that raises stops the service:
    :attr:`failure` says why."""

    def __init__(
        self,
        port: PtyPort,
        *,
        name: str,
        on_input: Callable[[bytes], None],
        on_written: Callable[[bytes], None] | None = None,
    ) -> None:
        self.port = port
        self.reactor = Reactor()
        self.pacer: Pacer | None = None
        self.failure: BaseException | None = None
        self._name = name
        self._on_input = on_input
        self._on_written = on_written or (lambda data: None)
        self._out = bytearray()
        self._paused: Timer | None = None
        self._served: int | None = None  # the master fd registered with the reactor
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def stopped(self) -> bool:
        return self._closed

    def start(self) -> None:
        """Serve the (open) port on a new thread."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._serve()
        self._thread = threading.Thread(target=self.reactor.run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the thread, release the reactor (the port is the owner's).
        Idempotent."""
        if self._thread is None or self._closed:
            return
        self._closed = True
        self.reactor.stop()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self.reactor.close()

    def run(self, call: Callable[[], T], timeout: float = 10.0) -> T:
        """``call()`` on the service thread (at once if already there or not started);
        its result or exception comes back to the caller."""
        if self._thread is None or self.reactor.in_reactor_thread() or self._closed:
            return call()
        if self.failure is not None:
            raise RuntimeError(f"{self._name} failed") from self.failure
        done = threading.Event()
        outcome: list = []

        def handed_over() -> None:
            try:
                outcome.append((True, call()))
            except BaseException as error:
                outcome.append((False, error))
            done.set()

        self.reactor.call_soon_threadsafe(handed_over)
        if not done.wait(timeout):
            raise TimeoutError(f"{self._name}: the service thread did not answer")
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    # ----------------------------------------------------------------- service thread only

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.reactor.call_later(delay, self._guarded, callback)

    def write(self, data: bytes) -> None:
        """Queue output; dropped while the port is closed."""
        if self._served is None:
            return
        self._out += data
        if self._paused is None:
            self.reactor.add_writer(self._served, self._flush)

    def discard_output(self) -> None:
        self._out.clear()

    def reopen(self) -> None:
        """The port is back (a new pty): serve it."""
        self.port.open()
        self._serve()

    def close_port(self) -> None:
        """The port goes away: unserve and close it; queued output is lost."""
        if self._served is not None:
            self.reactor.remove_reader(self._served)
            self.reactor.remove_writer(self._served)
            self._served = None
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        self._out.clear()
        self.port.close()

    def _serve(self) -> None:
        assert self.port.master is not None
        self._served = self.port.master
        self.reactor.add_reader(self._served, self._read)

    def _guarded(self, callback: Callable[..., None], *args: object) -> None:
        if self.failure is not None:
            return
        try:
            callback(*args)
        except BaseException as error:
            log.exception("%s failed", self._name)
            self.failure = error
            self.reactor.stop()

    def _read(self) -> None:
        assert self._served is not None
        try:
            data = os.read(self._served, 4096)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno == errno.EIO:
                log.error("%s: pty master read EIO (slave closed?)", self._name)
            self.failure = error
            self.reactor.stop()
            return
        if data:
            self._guarded(self._on_input, data)

    def _flush(self) -> None:
        """Write queued output: all of it, or one paced chunk and then a pause."""
        served = self._served
        assert served is not None
        size = len(self._out) if self.pacer is None else self.pacer.chunk()
        try:
            written = os.write(served, self._out[:size])
        except BlockingIOError:
            return  # the slave's input queue is full; the reactor says when to go on
        self._guarded(self._on_written, bytes(self._out[:written]))
        del self._out[:written]
        if not self._out or self.pacer is not None:
            self.reactor.remove_writer(served)
        if self._out and self.pacer is not None:
            self._paused = self.reactor.call_later(self.pacer.gap(), self._resume)

    def _resume(self) -> None:
        self._paused = None
        if self._out and self._served is not None:
            self.reactor.add_writer(self._served, self._flush)
