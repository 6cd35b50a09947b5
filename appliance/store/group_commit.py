"""Group commit: concurrent requests share one transaction and so one fsync.

Every HTTP request must see its messages on disk before it answers OK. Alone, a request
commits at once. Under load, requests that arrive while a commit is being written wait
for the next one and go in together: throughput grows with concurrency instead of
queueing for the disk one fsync at a time.

Under steady load the same number of clients keep coming back, each as soon as it has
its answer. The next writer waits, up to ``gather`` seconds, until as many callers are
queued as were inside ``submit`` at once at the busiest moment of the last ``recent``
seconds, so that they share its commit instead of the next one. A caller alone, or one
client after another on any threads, never waits. Under load the wait costs no
throughput: it is time the other callers spend getting to the commit, under the GIL, and
each commit saved is CPU saved. It adds latency only when load falls, and at most
``gather``.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Ticket(Generic[T, R]):
    __slots__ = ("done", "error", "items", "result", "wake")

    def __init__(self, items: Sequence[T]) -> None:
        self.items = items
        self.result: list[R] | None = None
        self.error: BaseException | None = None
        self.done = False
        # released once: when the items are written, or when it is this caller's turn to
        # write. One lock each, so a commit wakes its own callers and the next writer only,
        # not every thread still waiting.
        self.wake = threading.Lock()
        self.wake.acquire()


class GroupCommitter(Generic[T, R]):
    """Runs ``write(batch)`` — which must write all items in ONE transaction — for many
    callers at once; each caller gets back the results for its own items."""

    def __init__(self, write: Callable[[list[T]], list[R]], *, max_batch: int = 5000,
                 gather: float = 0.002, recent: float = 0.05) -> None:
        self._write = write
        self.max_batch = max_batch
        self.gather = gather
        self.recent = recent
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._pending: collections.deque[_Ticket[T, R]] = collections.deque()
        self._writing = False  # while True, the first pending caller will write next
        self._gathering = False
        self._inside = 0       # callers in submit() now
        self._peak = 0         # the most at once lately ...
        self._peak_at = 0.0    # ... as of then
        self.commits = 0      # transactions written: commits per item is what fsync costs
        self.items = 0

    def submit(self, items: Sequence[T]) -> list[R]:
        """Block until ``items`` are committed; raise what the write raised for them."""
        ticket: _Ticket[T, R] = _Ticket(items)
        now = time.monotonic()
        with self._lock:
            self._inside += 1
            if self._inside >= self._peak or now - self._peak_at > self.recent:
                self._peak, self._peak_at = self._inside, now
            self._pending.append(ticket)
            if self._gathering:
                self._arrived.notify()
            writes = not self._writing
            self._writing = True
        try:
            return self._wait_or_write(ticket, writes)
        finally:
            with self._lock:
                self._inside -= 1

    def _wait_or_write(self, ticket: _Ticket[T, R], writes: bool) -> list[R]:
        if not writes:
            ticket.wake.acquire()
            if ticket.done:
                return self._outcome(ticket)
        # this caller writes for everyone queued so far, itself first among them
        with self._lock:
            self._gather()
            batch = self._take()
        try:
            self._commit(batch)
        finally:
            with self._lock:
                successor = self._pending[0] if self._pending else None
                self._writing = successor is not None
            for waiter in batch:
                if not waiter.done:  # the write was interrupted (KeyboardInterrupt, SystemExit)
                    waiter.error, waiter.done = RuntimeError("the commit was interrupted"), True
                if waiter is not ticket:
                    waiter.wake.release()
            if successor is not None:
                successor.wake.release()
        return self._outcome(ticket)

    def _gather(self) -> None:
        """Under the lock: wait for as many callers as were inside at once lately."""
        now = time.monotonic()
        expected = self._peak if now - self._peak_at <= self.recent else 1
        if len(self._pending) >= expected:
            return
        deadline = now + self.gather
        self._gathering = True
        while len(self._pending) < expected and (remaining := deadline - time.monotonic()) > 0:
            self._arrived.wait(remaining)
        self._gathering = False

    def _take(self) -> list[_Ticket[T, R]]:
        batch: list[_Ticket[T, R]] = []
        size = 0
        while self._pending and (not batch or size + len(self._pending[0].items) <= self.max_batch):
            size += len(self._pending[0].items)
            batch.append(self._pending.popleft())
        return batch

    def _commit(self, batch: list[_Ticket[T, R]]) -> None:
        items = [item for ticket in batch for item in ticket.items]
        try:
            results = self._write(items)
        except Exception as error:
            if len(batch) > 1:
                # one bad request must not fail the others: write them one by one
                for ticket in batch:
                    self._commit([ticket])
                return
            batch[0].error = error
        else:
            start = 0
            for ticket in batch:
                ticket.result = results[start:start + len(ticket.items)]
                start += len(ticket.items)
            with self._lock:
                self.commits += 1
                self.items += len(items)
        for ticket in batch:
            ticket.done = True

    @staticmethod
    def _outcome(ticket: _Ticket[T, R]) -> list[R]:
        if ticket.error is not None:
            raise ticket.error
        assert ticket.result is not None
        return ticket.result
