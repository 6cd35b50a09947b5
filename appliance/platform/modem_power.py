"""Bringing back a modem that stays silent, by its RESET and PWRKEY lines.

RESET restarts the modem's firmware without cutting its power: held for a moment, it is
the gentler cure, so it is tried first. PWRKEY is a toggle: holding it for the off time
switches a running modem off, holding it for the on time switches it on. Either line may
be missing on a board. Some HATs put an inverting transistor in front of a line (the
Waveshare SIM7600 HAT drives BCM6 high to press PWRKEY): ``pressed_high`` and
``reset_active_high`` say which.

The pulses are coroutines on the event loop: the loop goes on serving the other modems
while a line is held, and a pulse that is cancelled (the modem was stopped) releases its
line at once.
"""

from __future__ import annotations

import asyncio
import logging

from .gpio import Pin

log = logging.getLogger(__name__)

OFF_PAUSE = 3.0   # seconds between releasing "off" and pressing "on"
RESET_HOLD = 0.3  # seconds RESET is held (SIMCom and Quectel want 100-500 ms)

RESET = "RESET"
PWRKEY = "PWRKEY"


class ModemPower:
    def __init__(self, pwrkey: Pin | None = None, *, pressed_high: bool = False,
                 reset: Pin | None = None, reset_active_high: bool = False) -> None:
        self.pwrkey = pwrkey
        self.pressed_high = pressed_high
        self.reset_pin = reset
        self.reset_active_high = reset_active_high
        self.busy = False
        if pwrkey is not None:
            pwrkey.write(not pressed_high)  # released
        if reset is not None:
            reset.write(not reset_active_high)

    @property
    def lines(self) -> tuple[str, ...]:
        """The lines there are, in the order a silent modem gets them: RESET first."""
        return tuple(name for name, pin in ((RESET, self.reset_pin), (PWRKEY, self.pwrkey)) if pin is not None)

    @staticmethod
    async def _press(pin: Pin, active: bool, seconds: float) -> None:
        pin.write(active)
        try:
            await asyncio.sleep(seconds)
        finally:
            pin.write(not active)

    def _start(self, line: str, pin: Pin | None) -> Pin | None:
        """The pin to pulse, or None while another pulse runs on this modem."""
        if pin is None:
            raise ValueError(f"this modem has no {line} line")
        if self.busy:
            return None
        self.busy = True
        log.warning("pulsing the modem's %s line (GPIO %s)", line, getattr(pin, "number", "?"))
        return pin

    async def reset(self) -> None:
        """Hold RESET, release it (the modem still has to boot)."""
        pin = self._start(RESET, self.reset_pin)
        if pin is None:
            return
        try:
            await self._press(pin, self.reset_active_high, RESET_HOLD)
        finally:
            self.busy = False

    async def cycle(self, off_seconds: float, on_seconds: float) -> None:
        """Press for off, wait, press for on (the modem still has to boot)."""
        pin = self._start(PWRKEY, self.pwrkey)
        if pin is None:
            return
        try:
            await self._press(pin, self.pressed_high, off_seconds)
            await asyncio.sleep(OFF_PAUSE)
            await self._press(pin, self.pressed_high, on_seconds)
        finally:
            self.busy = False
