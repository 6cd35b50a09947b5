"""The simulated SIM card: PIN and PUK, and the commands that read the SIM.

A SIM with a PIN asks for it at every power-up (``+CPIN: SIM PIN``); three wrong PINs
block it (``+CPIN: SIM PUK``) until the PUK and a new PIN are given. Right after the PIN
(and after power-up) the SIM is busy for a while: commands that need it answer
``+CME ERROR: 14`` (docs/modems.md §2, §7). The readiness sequence itself (URCs,
timers) is :class:`hil.device.Device`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from hil.at_commands import AtError, CommandGroup, Handler, Need, string_arg
from hil.at_parser import Command

__all__ = ["PIN_TRIES", "PUK_TRIES", "READY", "SIM_PIN", "SIM_PUK", "SimCard", "SimCommands"]

PIN_TRIES = 3
PUK_TRIES = 10
READY, SIM_PIN, SIM_PUK = "READY", "SIM PIN", "SIM PUK"


class SimCard:
    """PIN/PUK state. ``pin=None``: no PIN is asked for."""

    def __init__(self, pin: str | None, puk: str) -> None:
        for name, code in (("pin", pin), ("puk", puk)):
            if code is not None and not (code.isdigit() and 4 <= len(code) <= 8):
                raise ValueError(f"a SIM {name} is 4-8 digits")
        self.pin = pin
        self.puk = puk
        self.pin_tries = PIN_TRIES
        self.puk_tries = PUK_TRIES
        self.busy = False  # +CME ERROR: 14 until the SIM is read
        self.state = READY
        self.power_up()

    def power_up(self) -> None:
        """The SIM is powered: it asks for its PIN again (a blocked SIM stays blocked)."""
        if self.state != SIM_PUK:
            self.state = SIM_PIN if self.pin is not None else READY

    def enter(self, code: str, new_pin: str | None) -> None:
        """AT+CPIN=<code>[,<newpin>]; raises :class:`AtError` (16: incorrect password)."""
        if self.state == READY:
            raise AtError("CME", 3)
        if self.state == SIM_PIN:
            if code == self.pin:
                self.state, self.pin_tries = READY, PIN_TRIES
                return
            self.pin_tries -= 1
            if self.pin_tries == 0:
                self.state = SIM_PUK
            raise AtError("CME", 16)
        if new_pin is None or not (new_pin.isdigit() and 4 <= len(new_pin) <= 8):
            raise AtError("CME", 12)
        if self.puk_tries == 0 or code != self.puk:
            self.puk_tries = max(0, self.puk_tries - 1)
            raise AtError("CME", 16)
        self.pin, self.state = new_pin, READY
        self.pin_tries, self.puk_tries = PIN_TRIES, PUK_TRIES


class SimCommands(CommandGroup):
    """AT+CPIN, and AT+CIMI that reads the SIM."""

    need = Need.SIM
    needs: ClassVar[Mapping[str, Need]] = {"+CPIN": Need.NOTHING}

    def handlers(self) -> dict[str, Handler]:
        return {
            "+CPIN": self.forms(
                read=lambda command: [f"+CPIN: {self.device.sim.state}"],
                write=self._enter_pin,
                test=[],
            ),
            "+CIMI": self.constant(lambda: self.profile.imsi),
        }

    def _enter_pin(self, command: Command) -> None:
        if not 1 <= len(command.args) <= 2:
            raise self.unknown()
        new_pin = None if command.arg(1) is None else string_arg(command.arg(1))
        self.device.sim.enter(string_arg(command.arg(0)), new_pin)
        self.device.sim_unlocked()  # OK now; +CPIN: READY and readiness URCs follow
