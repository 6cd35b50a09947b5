"""Power-cycling a modem that stays silent, by its PWRKEY line, on the reactor's timers.

PWRKEY is a toggle: holding it for the off time switches a running modem off, holding it
for the on time switches it on. Some HATs put an inverting transistor in front of it
(the Waveshare SIM7600 HAT drives BCM6 high to press it): ``pressed_high`` says which.
"""

from __future__ import annotations

import logging
from typing import Callable

from ..reactor import Reactor
from .gpio import Pin

log = logging.getLogger(__name__)

OFF_PAUSE = 3.0  # seconds between releasing "off" and pressing "on"


class ModemPower:
    def __init__(self, reactor: Reactor, pwrkey: Pin, *, pressed_high: bool = False) -> None:
        self.reactor = reactor
        self.pwrkey = pwrkey
        self.pressed_high = pressed_high
        self.busy = False
        pwrkey.write(not pressed_high)  # released

    def _press(self, seconds: float, then: Callable[[], None]) -> None:
        self.pwrkey.write(self.pressed_high)

        def release() -> None:
            self.pwrkey.write(not self.pressed_high)
            then()
        self.reactor.call_later(seconds, release)

    def cycle(self, off_seconds: float, on_seconds: float, done: Callable[[], None]) -> None:
        """Press for off, wait, press for on, then ``done`` (the modem still has to boot)."""
        if self.busy:
            return
        self.busy = True
        log.warning("power-cycling the modem through PWRKEY (GPIO %s)", getattr(self.pwrkey, "number", "?"))

        def finished() -> None:
            self.busy = False
            done()
        self._press(off_seconds, lambda: self.reactor.call_later(
            OFF_PAUSE, self._press, on_seconds, finished))
