"""Waiting, in a test, for what another thread or process brings about.

A test that crosses threads or processes (the event loop on its thread, a simulated modem,
a service in a process of its own, an HTTP endpoint) cannot know when the other side is
done: it looks at the condition itself until it holds. A fixed sleep, or stopping at the
first change, makes the test depend on the machine's speed; on a busy machine (the whole
suite on two cores, a Raspberry Pi) it fails. The deadline is therefore generous, and
costs nothing when things go well: the wait ends as soon as the condition holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEADLINE = 30.0
"""Seconds a wait gives the condition by default: far more than it takes on a loaded machine."""

EVERY = 0.01
"""Seconds between two looks at the condition: short, so that the happy path stays fast."""


class _Looks:
    """The looks of one wait. The last comes after the deadline, so a test whose thread was
    not scheduled for all that time still sees a condition that holds."""

    def __init__(self, timeout: float, what: str) -> None:
        self.timeout = timeout
        self.what = what
        self.deadline = time.monotonic() + timeout

    def holds(self, predicate: Callable[..., object]) -> bool:
        """Whether ``predicate()`` is true; False while there is time for another look.
        (``...``: a test binds a loop's variable as a lambda's default argument.)"""
        expired = time.monotonic() >= self.deadline
        if predicate():
            return True
        if expired:
            raise AssertionError(f"timed out after {self.timeout:g} s waiting for {self.what}")
        return False


def wait_for(predicate: Callable[..., object], timeout: float = DEADLINE, what: str = "condition") -> None:
    """Wait until ``predicate()`` is true; fail with ``what`` once ``timeout`` seconds have
    passed."""
    looks = _Looks(timeout, what)
    while not looks.holds(predicate):
        time.sleep(EVERY)


async def run_until(predicate: Callable[..., object], timeout: float = DEADLINE, what: str = "condition") -> None:
    """:func:`wait_for` in a coroutine on the loop that does the work: the loop runs on
    between the looks. The deadline is in real time (what the loop waits for takes real
    time: an HTTP request, another thread)."""
    looks = _Looks(timeout, what)
    while not looks.holds(predicate):
        await asyncio.sleep(EVERY)
