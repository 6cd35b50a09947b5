"""GPIO pins: the modem's PWRKEY (and later RESET, RI, the status LED).

On a Raspberry Pi the real pin uses RPi.GPIO (or rpi-lgpio, the same import on a Pi 5),
imported only when a pin is opened, so other machines never need it.
"""

from __future__ import annotations

import time
from typing import Protocol


class Pin(Protocol):
    def write(self, high: bool) -> None: ...
    def read(self) -> bool: ...
    def close(self) -> None: ...


class FakePin:
    """A pin that remembers what was written to it, with when: for tests and laptops."""

    def __init__(self, number: int = 0, *, value: bool = False) -> None:
        self.number = number
        self.value = value
        self.writes: list[tuple[float, bool]] = []

    def write(self, high: bool) -> None:
        self.value = high
        self.writes.append((time.monotonic(), high))

    def read(self) -> bool:
        return self.value

    def close(self) -> None:
        pass


class RpiPin:
    """A BCM-numbered output pin through RPi.GPIO."""

    def __init__(self, number: int, *, initial: bool = False) -> None:
        import RPi.GPIO as GPIO  # only on a Pi: the `rpi`/`rpi5` extra installs it

        self._gpio = GPIO
        self.number = number
        GPIO.setwarnings(False)
        GPIO.setmode(GPIO.BCM)
        GPIO.setup(number, GPIO.OUT, initial=GPIO.HIGH if initial else GPIO.LOW)

    def write(self, high: bool) -> None:
        self._gpio.output(self.number, self._gpio.HIGH if high else self._gpio.LOW)

    def read(self) -> bool:
        return bool(self._gpio.input(self.number))

    def close(self) -> None:
        self._gpio.cleanup(self.number)
