"""The asyncio loop a simulated device runs on, and how any thread gets a call onto it.

A simulated device (its engine, its timers, its pty's output queue) is touched on one
loop's thread only. That loop is either one it is given (the appliance's own, under
``--simulate``, or a test's) or one of its own, run on a thread of its own for callers
that have no loop (tests that talk to the pty with pyserial, ``python -m hil.simulator``
with its fault commands on stdin).

:meth:`LoopHost.run` is how the device's API reaches it: on the loop's thread (a callback
or coroutine of that loop), or while the loop is not running, the call runs at once;
from any other thread it is handed over with ``call_soon_threadsafe`` and waited for, so
either way it returns once its effect is done. A thread that hands a call over blocks
until the loop runs it: the loop's own thread must never wait for such a thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["LoopHost"]

T = TypeVar("T")


class LoopHost:
    """``loop``: run on that loop; ``None``: :meth:`start` makes a loop and runs it on a
    daemon thread called ``name`` until :meth:`stop`."""

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.name = name
        self._given = loop
        self._loop = loop
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop; one of its own is made on first use (timers may be set before
        :meth:`start` runs it)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    @property
    def owns_loop(self) -> bool:
        """Whether the loop is this host's own (on its own thread), not a given one."""
        return self._given is None

    def time(self) -> float:
        """The loop's clock. A loop of our own is asyncio's default, whose clock is
        :func:`time.monotonic` (the clock other processes share), also before it exists."""
        return self._loop.time() if self._loop is not None else time.monotonic()

    def start(self) -> None:
        """Own loop: create it and return once its thread runs it. Given loop: nothing."""
        if not self.owns_loop:
            return
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: already started")
        loop = self.loop
        running = threading.Event()
        loop.call_soon(running.set)  # the first thing the loop does once it runs
        self._thread = threading.Thread(target=self._serve, args=(loop,), name=self.name, daemon=True)
        self._thread.start()
        running.wait()

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        """Own loop: stop it, join its thread and close it (what is scheduled on it is
        dropped). Given loop: nothing; it is its owner's. Idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not threading.current_thread():  # on it: it stops when the call returns
            thread.join()

    def on_loop(self) -> bool:
        """Whether the caller runs on the loop (in one of its callbacks or coroutines)."""
        try:
            return self._loop is not None and asyncio.get_running_loop() is self._loop
        except RuntimeError:  # no loop runs in this thread
            return False

    def run(self, call: Callable[[], T], timeout: float = 10.0) -> T:
        """``call()`` on the loop: at once on the loop's thread or while the loop is not
        running (not started, stopped, or a given loop that has not started yet), else
        handed over; its result or exception comes back to the caller."""
        loop = self._loop
        if loop is None or not loop.is_running() or self.on_loop():
            return call()
        outcome: concurrent.futures.Future[T] = concurrent.futures.Future()

        def handed_over() -> None:
            if not outcome.set_running_or_notify_cancel():
                return  # the caller gave up waiting: do not do it late
            try:
                outcome.set_result(call())
            except BaseException as error:  # the caller's to handle, on its own thread
                outcome.set_exception(error)

        loop.call_soon_threadsafe(handed_over)
        try:
            return outcome.result(timeout)
        except TimeoutError:
            if outcome.cancel():
                raise TimeoutError(f"{self.name}: its loop did not get to the call in {timeout} s; "
                                   "nothing was done") from None
        return outcome.result()  # it began as the time ran out (or raised TimeoutError itself)
