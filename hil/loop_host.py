"""The asyncio loop a simulated device runs on, and how any thread gets a call onto it.

A simulated device (its engine, its timers, its pty's output queue) is touched on one
loop's thread only. That loop is either one it is given (the appliance's own, under
``--simulate``, or a test's) or one of its own, run on a thread of its own
(:class:`~hil.loop_thread.LoopThread`) for callers that have no loop (tests that talk to
the pty with pyserial, ``python -m hil.simulator`` with its fault commands on stdin).

:meth:`LoopHost.run` is how the device's API reaches it: on the loop's thread (a callback
or coroutine of that loop), or while the loop is not running, the call runs at once;
from any other thread it is handed over and waited for
(:func:`~appliance.control.server_control.on_loop`), so either way it returns once its
effect is done. A thread that hands a call over blocks until the loop runs it: the loop's
own thread must never wait for such a thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from appliance.control.server_control import on_loop
from hil.loop_thread import LoopThread

__all__ = ["LoopHost"]

T = TypeVar("T")


class LoopHost:
    """``loop``: run on that loop; ``None``: :meth:`start` runs a loop of its own on a
    daemon thread called ``name`` until :meth:`stop`."""

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.name = name
        self._given = loop
        self._own: LoopThread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop; one of its own is made on first use (timers may be set before
        :meth:`start` runs it)."""
        return self._given if self._given is not None else self._own_thread().loop

    def _own_thread(self) -> LoopThread:
        if self._own is None:
            self._own = LoopThread(self.name)
        return self._own

    def _existing(self) -> asyncio.AbstractEventLoop | None:
        return self._given if self._given is not None else self._own.loop if self._own is not None else None

    def time(self) -> float:
        """The loop's clock. A loop of our own is asyncio's default, whose clock is
        :func:`time.monotonic` (the clock other processes share), also before it exists."""
        loop = self._existing()
        return loop.time() if loop is not None else time.monotonic()

    def start(self) -> None:
        """Own loop: return once its thread runs it. Given loop: nothing."""
        if self._given is None:
            self._own_thread().start()

    def stop(self) -> None:
        """Own loop: stop it, join its thread and close it (what is scheduled on it is
        dropped). Given loop: nothing; it is its owner's. Idempotent."""
        if self._own is not None:
            self._own.stop()

    def on_loop(self) -> bool:
        """Whether the caller runs on the loop (in one of its callbacks or coroutines)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # no loop runs in this thread
            return False
        return running is self._existing()

    def run(self, call: Callable[[], T], timeout: float = 10.0) -> T:
        """``call()`` on the loop: at once on the loop's thread or while the loop is not
        running (not started, stopped, or a given loop that has not started yet), else
        handed over; its result or exception comes back to the caller."""
        loop = self._existing()
        if loop is None or not loop.is_running():
            return call()
        return on_loop(loop, call, timeout=timeout)
