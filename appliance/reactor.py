"""The event loop the simulated modem (hil/io_loop.py) runs on; the appliance runs on
asyncio's, and no module of it imports this one. It goes once the simulator moves too.

One thread owns the reactor. It sleeps in ``selector.select()`` until a file descriptor is
ready, the earliest timer is due, or another thread calls :meth:`Reactor.wake` — so a message
committed by an HTTP thread reaches the modem within milliseconds, and nothing ever polls.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Callback = Callable[..., Any]


class Timer:
    """A scheduled call; cancelling it is O(1) (the heap entry is skipped when popped)."""

    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callback, args: tuple) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Reactor:
    """Selectors over file descriptors, a timer heap, and a thread-safe wake-up pipe."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Timer]] = []
        self._sequence = itertools.count()
        self._ready: deque[tuple[Callback, tuple]] = deque()
        self._threadsafe: deque[tuple[Callback, tuple]] = deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._wake_pending = False
        self._selector.register(self._wake_r, selectors.EVENT_READ, (self._drain_wake, None))
        self._running = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.iterations = 0
        self.last_iteration = time.monotonic()

    # -- time and scheduling ---------------------------------------------------------------

    @staticmethod
    def time() -> float:
        return time.monotonic()

    def call_soon(self, callback: Callback, *args: Any) -> None:
        """Run on the next loop iteration, after everything already ready (FIFO)."""
        self._ready.append((callback, args))

    def call_at(self, when: float, callback: Callback, *args: Any) -> Timer:
        timer = Timer(when, callback, args)
        heapq.heappush(self._timers, (when, next(self._sequence), timer))
        return timer

    def call_later(self, delay: float, callback: Callback, *args: Any) -> Timer:
        return self.call_at(self.time() + max(0.0, delay), callback, *args)

    def call_soon_threadsafe(self, callback: Callback, *args: Any) -> None:
        """The only way another thread may hand work to the reactor."""
        self._threadsafe.append((callback, args))
        self.wake()

    def wake(self) -> None:
        """Interrupt select() from any thread; coalesces while a wake-up is pending."""
        if self._wake_pending:
            return
        self._wake_pending = True
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full, so a wake-up is pending anyway
        except OSError:
            if not self._stopping:
                raise

    def _drain_wake(self) -> None:
        # empty the pipe first, then re-arm: the other order can leave the flag set with
        # an empty pipe, and every later wake() would be skipped
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        self._wake_pending = False

    # -- file descriptors ------------------------------------------------------------------

    def add_reader(self, fd: int, callback: Callback) -> None:
        self._update(fd, selectors.EVENT_READ, callback)

    def add_writer(self, fd: int, callback: Callback) -> None:
        self._update(fd, selectors.EVENT_WRITE, callback)

    def remove_reader(self, fd: int) -> None:
        self._update(fd, selectors.EVENT_READ, None)

    def remove_writer(self, fd: int) -> None:
        self._update(fd, selectors.EVENT_WRITE, None)

    def _update(self, fd: int, event: int, callback: Callback | None) -> None:
        try:
            key = self._selector.get_key(fd)
            reader, writer = key.data
        except KeyError:
            key, reader, writer = None, None, None
        if event == selectors.EVENT_READ:
            reader = callback
        else:
            writer = callback
        mask = (selectors.EVENT_READ if reader else 0) | (selectors.EVENT_WRITE if writer else 0)
        if key is not None and mask:
            self._selector.modify(fd, mask, (reader, writer))
        elif key is not None:
            self._selector.unregister(fd)
        elif mask:
            self._selector.register(fd, mask, (reader, writer))

    # -- running ---------------------------------------------------------------------------

    def run(self) -> None:
        """Run until :meth:`stop` (which may come first); callbacks that raise are logged."""
        self._running = True
        self._thread = threading.current_thread()
        try:
            while not self._stopping:
                self._run_once()
        finally:
            self._running = False
            self._stopping = False  # so the same reactor can run again

    def stop(self) -> None:
        """Ask the loop to return after the current iteration; safe from any thread."""
        self._stopping = True
        self.wake()

    def close(self) -> None:
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    @property
    def running(self) -> bool:
        return self._running

    def in_reactor_thread(self) -> bool:
        return self._thread is threading.current_thread()

    def _timeout(self) -> float | None:
        if self._ready or self._threadsafe:
            return 0.0
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - self.time())

    def _run_once(self) -> None:
        events = self._selector.select(self._timeout())
        for key, mask in events:
            reader, writer = key.data
            if mask & selectors.EVENT_READ and reader is not None:
                self._invoke(reader, ())
            if mask & selectors.EVENT_WRITE and writer is not None:
                # the reader may have removed the writer: look it up again
                current = self._selector.get_map().get(key.fd)
                if current is not None and current.data[1] is not None:
                    self._invoke(current.data[1], ())
        while self._threadsafe:
            self._ready.append(self._threadsafe.popleft())
        now = self.time()
        while self._timers and self._timers[0][0] <= now:
            _, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                self._ready.append((timer.callback, timer.args))
        for _ in range(len(self._ready)):
            callback, args = self._ready.popleft()
            self._invoke(callback, args)
        self.iterations += 1
        self.last_iteration = self.time()

    @staticmethod
    def _invoke(callback: Callback, args: tuple) -> None:
        try:
            callback(*args)
        except Exception:  # a faulty handler must not take the modems down with it
            log.exception("reactor callback %r failed", callback)
