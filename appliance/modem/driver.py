"""One modem's life: open the port, initialise, send PDUs, and start over when it fails.

Every step is a callback on the reactor; the driver never waits. A failure anywhere
(no answer, the port vanishing, an ERROR during initialisation) closes the channel and
schedules a fresh start, so a modem that comes back is used again without anyone's help.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable

from ..reactor import Reactor, Timer
from . import errors
from .at import CLOSED, TIMEOUT, ATChannel, Response
from .transport import Transport, open_serial

log = logging.getLogger(__name__)


class ModemState:
    CLOSED = "closed"
    INITIALISING = "initialising"
    READY = "ready"
    PIN_REQUIRED = "sim-pin-required"   # the SIM wants a PIN and none is configured
    PIN_WRONG = "sim-pin-wrong"         # the configured PIN was refused: never retried
    PUK_LOCKED = "sim-puk-locked"
    FAILED = "failed"                   # will start over after a delay
    STOPPED = "stopped"

    # states a person must act on; the driver does not retry by itself
    NEEDS_ATTENTION = frozenset({PIN_REQUIRED, PIN_WRONG, PUK_LOCKED})


@dataclass(frozen=True)
class SendResult:
    ok: bool
    reference: int | None = None
    error_code: int | None = None
    error_text: str = ""
    permanent: bool = False
    # the PDU may have reached the network (no answer, port lost): it will be sent again
    unknown_fate: bool = False


_PIN_WRONG_CME = {16}        # incorrect password
_CMGS = re.compile(r"^\s*(\d+)")


class ModemDriver:
    """Initialises one AT modem and sends single PDUs on it, one at a time."""

    def __init__(self, reactor: Reactor, *, name: str, port: str, baudrate: int = 115200,
                 pin: str | None = None, smsc: str | None = None,
                 open_transport: Callable[[str, int], Transport] = open_serial,
                 on_state: Callable[[str], None] | None = None,
                 restart_delay: float = 5.0, command_timeout: float = 5.0,
                 send_timeout: float = 120.0, sync_attempts: int = 10) -> None:
        self.reactor = reactor
        self.name = name
        self.port = port
        self.baudrate = baudrate
        self.pin = pin
        self.smsc = smsc
        self._open_transport = open_transport
        self._on_state = on_state
        self.restart_delay = restart_delay
        self.command_timeout = command_timeout
        self.send_timeout = send_timeout
        self.sync_attempts = sync_attempts
        self.state = ModemState.CLOSED
        self.detail = ""
        self.model = ""
        self.channel: ATChannel | None = None
        self._restart_timer: Timer | None = None
        self._sending = False
        self._last_failure = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._cancel_restart()
        self._set_state(ModemState.INITIALISING, "opening the port")
        try:
            transport = self._open_transport(self.port, self.baudrate)
        except OSError as error:
            self._fail(f"cannot open {self.port}: {error}")
            return
        self.channel = ATChannel(self.reactor, transport, name=self.name, on_close=self._on_closed)
        self._sync(1)

    def stop(self) -> None:
        self._cancel_restart()
        self._set_state(ModemState.STOPPED, "")
        if self.channel is not None:
            channel, self.channel = self.channel, None
            channel.close("stopped")

    @property
    def ready(self) -> bool:
        return self.state == ModemState.READY and not self._sending

    def _set_state(self, state: str, detail: str) -> None:
        changed = state != self.state
        self.state, self.detail = state, detail
        if changed:
            log.info("%s: %s%s", self.name, state, f" ({detail})" if detail else "")
            if self._on_state:
                self._on_state(state)

    def _fail(self, reason: str, *, retry: bool = True, state: str = ModemState.FAILED) -> None:
        if self.state == ModemState.STOPPED:
            return
        # a modem that stays away fails the same way every few seconds: say it once
        repeated = reason == self._last_failure
        self._last_failure = reason
        log.log(logging.DEBUG if repeated else logging.WARNING, "%s: %s", self.name, reason)
        channel, self.channel = self.channel, None
        self._set_state(state, reason)
        if channel is not None:
            channel.on_close = None
            channel.close(reason)
        if retry:
            self._cancel_restart()
            self._restart_timer = self.reactor.call_later(self.restart_delay, self.start)

    def _cancel_restart(self) -> None:
        if self._restart_timer is not None:
            self._restart_timer.cancel()
            self._restart_timer = None

    def _on_closed(self, reason: str) -> None:
        self.channel = None
        self._fail(f"port closed: {reason}")

    def _command(self, text: str, then: Callable[[Response], None], timeout: float | None = None) -> None:
        assert self.channel is not None
        self.channel.command(text, then, timeout=timeout or self.command_timeout)

    def _expect_ok(self, text: str, then: Callable[[], None]) -> None:
        """Run an initialisation command; anything but OK fails the initialisation."""
        def check(response: Response) -> None:
            if response.result == CLOSED:
                return  # _on_closed already started over
            if response.ok:
                then()
            else:
                self._fail(f"{text} answered {response.result or 'nothing'}")
        self._command(text, check)

    # -- initialisation --------------------------------------------------------------------

    def _sync(self, attempt: int) -> None:
        """Plain AT until the modem answers: it may still be booting or auto-bauding."""
        self._set_state(ModemState.INITIALISING, "waiting for the modem to answer AT")

        def answered(response: Response) -> None:
            if response.ok:
                self._expect_ok("ATE0", lambda: self._expect_ok("AT+CMEE=1", self._check_sim))
            elif response.result == CLOSED:
                return
            elif attempt < self.sync_attempts:
                self._sync(attempt + 1)
            else:
                self._fail(f"no answer to AT after {attempt} tries")
        self._command("AT", answered, timeout=1.0)

    def _check_sim(self, pin_sent: bool = False) -> None:
        def answered(response: Response) -> None:
            if response.result == CLOSED:
                return
            status = (response.info("+CPIN") or "").upper()
            if response.ok and status == "READY":
                self._command("AT+CGMM", self._on_model)
            elif response.ok and status == "SIM PIN":
                if pin_sent:
                    self._fail("the SIM still asks for its PIN", state=ModemState.PIN_WRONG, retry=False)
                elif not self.pin:
                    self._fail("the SIM needs a PIN: set `pin` for this modem",
                               state=ModemState.PIN_REQUIRED, retry=False)
                else:
                    self._command(f'AT+CPIN="{self.pin}"', self._on_pin)
            elif response.ok and status.startswith("SIM PUK"):
                self._fail("the SIM is locked by its PUK", state=ModemState.PUK_LOCKED, retry=False)
            else:
                self._fail(f"AT+CPIN? answered {status or response.result}")
        self._command("AT+CPIN?", answered)

    def _on_pin(self, response: Response) -> None:
        if response.result == CLOSED:
            return
        if response.ok:
            self._check_sim(pin_sent=True)
        elif response.cme_error in _PIN_WRONG_CME or response.cme_error is None and response.result == "ERROR":
            # a wrong PIN is never tried twice: three tries lock the SIM
            self._fail("the SIM refused the configured PIN", state=ModemState.PIN_WRONG, retry=False)
        else:
            self._fail(f"PIN entry answered {response.result}")

    def _on_model(self, response: Response) -> None:
        if response.result == CLOSED:
            return
        if response.ok and response.lines:
            self.model = response.lines[0].strip()
        self._expect_ok("AT+CMGF=0", self._set_smsc)

    def _set_smsc(self) -> None:
        if self.smsc:
            number = self.smsc
            kind = 145 if number.startswith("+") else 129
            self._expect_ok(f'AT+CSCA="{number}",{kind}', self._ready)
        else:
            self._ready()

    def _ready(self) -> None:
        self._last_failure = ""
        self._set_state(ModemState.READY, self.model)

    # -- sending ---------------------------------------------------------------------------

    def send(self, pdu: str, tpdu_length: int, callback: Callable[[SendResult], None]) -> None:
        """Send one PDU with AT+CMGS; ``callback`` always gets exactly one result."""
        if self.state != ModemState.READY or self.channel is None or self._sending:
            self.reactor.call_soon(callback, SendResult(False, error_text=f"modem {self.state}"))
            return
        self._sending = True

        def answered(response: Response) -> None:
            self._sending = False
            callback(self._send_result(response))
            if response.result == TIMEOUT:
                # a modem that does not answer a send is in no state to be trusted
                self._fail("no answer to AT+CMGS")
            elif self.state == ModemState.READY and self._on_state:
                self._on_state(self.state)  # free again: let the router hand over more
        self.channel.command(f"AT+CMGS={tpdu_length}", answered, timeout=self.send_timeout, body=pdu)

    @staticmethod
    def _send_result(response: Response) -> SendResult:
        if response.ok:
            match = _CMGS.match(response.info("+CMGS") or "")
            return SendResult(True, reference=int(match.group(1)) if match else None)
        if response.result in (TIMEOUT, CLOSED):
            return SendResult(False, error_text=f"no answer from the modem ({response.result.lower()})",
                              unknown_fate=True)
        code = response.cms_error
        if code is None:
            return SendResult(False, error_text=response.result)
        return SendResult(False, error_code=code, error_text=errors.describe(code),
                          permanent=errors.is_permanent(code))
