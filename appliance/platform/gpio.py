"""GPIO pins: the modem's PWRKEY and RESET (outputs) and RI (an input), later the status LED.

On a Raspberry Pi the real pin uses RPi.GPIO (or rpi-lgpio, the same import on a Pi 5),
imported only when a pin is opened, so other machines never need it. The tests' stand-ins
for both kinds of line are in ``hil/pins.py``.

An input pin reports falling edges to a callback on the event loop: RPi.GPIO calls back on
a thread of its own, and the loop's thread is the only one that may touch a modem, so the
edge is handed over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

BOUNCE_MS = 50  # edges this close after one are contact bounce, not news (RI pulses last ~120 ms)


class Pin(Protocol):
    def write(self, high: bool) -> None: ...
    def read(self) -> bool: ...
    def close(self) -> None: ...


class RpiPin:
    """A BCM-numbered output pin through RPi.GPIO."""

    def __init__(self, number: int, *, initial: bool = False) -> None:
        from RPi import GPIO  # only on a Pi: the `rpi`/`rpi5` extra installs it

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


class InputPin(Protocol):
    def watch(self, loop: asyncio.AbstractEventLoop, on_fall: Callable[[], None]) -> None: ...
    def read(self) -> bool: ...
    def close(self) -> None: ...


class RpiInputPin:
    """A BCM-numbered input pin through RPi.GPIO, pulled up (RI idles high)."""

    def __init__(self, number: int) -> None:
        from RPi import GPIO  # only on a Pi: the `rpi`/`rpi5` extra installs it

        self._gpio = GPIO
        self.number = number
        GPIO.setwarnings(False)
        GPIO.setmode(GPIO.BCM)
        GPIO.setup(number, GPIO.IN, pull_up_down=GPIO.PUD_UP)

    def watch(self, loop: asyncio.AbstractEventLoop, on_fall: Callable[[], None]) -> None:
        self._gpio.add_event_detect(self.number, self._gpio.FALLING,
                                    callback=lambda channel: loop.call_soon_threadsafe(on_fall),
                                    bouncetime=BOUNCE_MS)

    def read(self) -> bool:
        return bool(self._gpio.input(self.number))

    def close(self) -> None:
        self._gpio.remove_event_detect(self.number)
        self._gpio.cleanup(self.number)
