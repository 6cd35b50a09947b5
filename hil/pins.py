"""GPIO lines without a Raspberry Pi: what the tests wire a modem's PWRKEY, RESET and RI to.

The appliance drives real lines through ``appliance.platform.gpio`` (RPi.GPIO); these
stand-ins keep the same small interfaces (``Pin``, ``InputPin``) so that the driver's
power control and ring handling run unchanged in tests, with a simulated modem on the
other end of the line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Scheduler(Protocol):
    """Whatever runs the watcher's callback on the modems' thread: the event loop."""

    def call_soon_threadsafe(self, callback: Callable[[], object], /) -> object: ...


class FakePin:
    """An output line that remembers what was written to it, with when. ``on_write(high)``
    is the device on the line, e.g. a simulated modem that a power cycle brings back."""

    def __init__(self, number: int = 0, *, value: bool = False,
                 on_write: Callable[[bool], None] | None = None) -> None:
        self.number = number
        self.value = value
        self.writes: list[tuple[float, bool]] = []
        self._on_write = on_write

    def write(self, high: bool) -> None:
        self.value = high
        self.writes.append((time.monotonic(), high))
        if self._on_write is not None:
            self._on_write(high)

    def read(self) -> bool:
        return self.value

    def close(self) -> None:
        pass


class FakeInputPin:
    """An input line that a test, or the simulated modem's RI, pulses low and high again."""

    def __init__(self, number: int = 0, *, value: bool = True) -> None:
        self.number = number
        self.value = value  # idle high, as RI is
        self.falls = 0
        self._watcher: tuple[Scheduler, Callable[[], None]] | None = None

    def watch(self, loop: Scheduler, on_fall: Callable[[], None]) -> None:
        self._watcher = (loop, on_fall)

    def pulse(self) -> None:
        """A falling then a rising edge; callable from any thread, like RPi.GPIO's callback."""
        self.value = False
        self.falls += 1
        if self._watcher is not None:
            loop, on_fall = self._watcher
            loop.call_soon_threadsafe(on_fall)
        self.value = True

    def read(self) -> bool:
        return self.value

    def close(self) -> None:
        self._watcher = None
