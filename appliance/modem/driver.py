"""One modem's life: open the port, initialise, send, receive, watch, and start over.

Every step is a callback on the event loop; the driver never waits. A failure anywhere
(no answer, the port vanishing, an ERROR during initialisation, a reboot) leads to a fresh
start; a modem that stays silent is reset through its RESET line, then power-cycled
through its PWRKEY line, as far as they are configured. So a modem that comes back is
used again without anyone's help.

A reboot shows in one of three ways: boot banners (RDY, SMS Ready ...); echo coming back
after ATE0; or, at the periodic health check, AT+CNMI? no longer answering what it did
after initialisation. Modems that boot quietly (Huawei sticks print no banners) are
caught by the last two.

The in-flight rule: a part whose AT+CMGS got no final answer (timeout, port lost, modem
rebooted) may or may not have reached the network. It is reported as ``unknown_fate`` and
sent again — a rare duplicate beats a lost alert. Every other part is sent exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..platform.modem_power import RESET, ModemPower
from . import dialects, errors, health
from .at import CANCELLED, CLOSED, NO_ANSWER, TIMEOUT, ATChannel, Response
from .dialects import Dialect
from .receiver import Receiver
from .transport import Transport, open_serial
from .ussd import decode_cusd

log = logging.getLogger(__name__)


class ModemState:
    CLOSED = "closed"
    INITIALISING = "initialising"
    READY = "ready"
    NOT_REGISTERED = "not-registered"   # initialised, but no network: sending waits
    NO_SMSC = "no-smsc"                 # receives, but cannot send: the SIM has no SMS centre
    PIN_REQUIRED = "sim-pin-required"   # the SIM wants a PIN and none is configured
    PIN_WRONG = "sim-pin-wrong"         # the configured PIN was refused: never retried
    PUK_LOCKED = "sim-puk-locked"
    FAILED = "failed"                   # will start over after a delay
    POWER_CYCLING = "power-cycling"
    STOPPED = "stopped"

    # states a person must act on; the driver does not retry by itself
    NEEDS_ATTENTION = frozenset({PIN_REQUIRED, PIN_WRONG, PUK_LOCKED, NO_SMSC})
    # initialised: what the modem says now is news (a reboot, registration)
    INITIALISED = frozenset({READY, NOT_REGISTERED, NO_SMSC})


@dataclass(frozen=True)
class SendResult:
    ok: bool
    reference: int | None = None
    error_code: int | None = None
    error_text: str = ""
    permanent: bool = False
    refused: bool = False      # this modem's SIM may not send it; another gateway may
    # the PDU may have reached the network (no answer, port lost): it will be sent again
    unknown_fate: bool = False


@dataclass(frozen=True)
class ModemHandlers:
    """Where what the modem receives goes; each must have committed it when it returns."""

    on_sms: Callable[[str], None] = lambda pdu: None
    on_report: Callable[[str, bool], None] = lambda pdu, has_smsc: None


_PIN_WRONG_CME = {16}        # incorrect password
_SMSC_UNKNOWN_CMS = 330
_NO_SMSC_DETAIL = "the SIM has no SMS centre number: set `smsc` for this modem"
_CMGS = re.compile(r"^\s*(\d+)")
# every family's boot banners: the dialect is not known before AT+CGMM answers
_BOOT_URCS = ("RDY", "SMS READY", "SMS DONE", "+QIND: SMS DONE", "CALL READY")
_NOISE = tuple(sorted({prefix for d in dialects.DIALECTS.values() for prefix in d.noise}))


class ModemDriver:
    """Initialises one AT modem, sends PDUs on it one at a time, and takes in what arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, name: str, port: str, baudrate: int = 115200,
                 model: str = "auto", pin: str | None = None, smsc: str | None = None,
                 handlers: ModemHandlers = ModemHandlers(),
                 open_transport: Callable[[str, int], Transport] = open_serial,
                 power: ModemPower | None = None,
                 on_state: Callable[[str], None] | None = None,
                 restart_delay: float = 5.0, command_timeout: float = 5.0,
                 send_timeout: float = 120.0, sync_attempts: int = 10,
                 health_interval: float = 60.0, unregistered_interval: float = 10.0,
                 sweep_interval: float = 300.0) -> None:
        self.loop = loop
        self.name = name
        self.port = port
        self.baudrate = baudrate
        self.model_setting = model
        self.pin = pin
        self.smsc = smsc
        self.handlers = handlers
        self._open_transport = open_transport
        self.power = power
        self._on_state = on_state
        self.restart_delay = restart_delay
        self.command_timeout = command_timeout
        self.send_timeout = send_timeout
        self.sync_attempts = sync_attempts
        self.health_interval = health_interval
        self.unregistered_interval = unregistered_interval
        self.sweep_interval = sweep_interval
        self.state = ModemState.CLOSED
        self.detail = ""
        self.model = ""
        self.dialect: Dialect = dialects.GENERIC
        self.health = health.Health()
        self.channel: ATChannel | None = None
        self.receiver: Receiver | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sending = False
        self._last_failure = ""
        self._has_failed = False
        self._ussd_waiting: Callable[[str | None, str], None] | None = None
        self._recoveries = 0          # RESET / PWRKEY pulses since the modem was last ready
        self._echo_expected = True     # until ATE0 is answered (and on modems ignoring it)
        self._cnmi: tuple[int, ...] | None = None  # AT+CNMI? after initialisation
        self._smsc_missing = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._cancel("restart")
        self._set_state(ModemState.INITIALISING, "opening the port")
        try:
            transport = self._open_transport(self.port, self.baudrate)
        except OSError as error:
            self._fail(f"cannot open {self.port}: {error}")
            return
        self.channel = ATChannel(self.loop, transport, name=self.name, on_close=self._on_closed,
                                 on_echo=self._on_echo)
        self._listen(self.channel)
        self._sync(1)

    def stop(self) -> None:
        for name in list(self._timers):
            self._cancel(name)
        self._set_state(ModemState.STOPPED, "")
        if self.channel is not None:
            channel, self.channel = self.channel, None
            channel.close("stopped")

    @property
    def in_service(self) -> bool:
        """Ready, or starting for the first time; a modem that failed is out until ready again."""
        return self.state == ModemState.READY or (self.state == ModemState.INITIALISING and not self._has_failed)

    @property
    def ready(self) -> bool:
        """True when a PDU handed over now would go out at once."""
        return self.state == ModemState.READY and not self._sending

    def status(self) -> dict:
        return {"state": self.state, "detail": self.detail, "model": self.model,
                "dialect": self.dialect.name, "port": self.port, **self.health.as_dict()}

    def _set_state(self, state: str, detail: str) -> None:
        changed = state != self.state
        self.state, self.detail = state, detail
        if changed:
            log.info("%s: %s%s", self.name, state, f" ({detail})" if detail else "")
            if self._on_state:
                self._on_state(state)

    def _later(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel(name)
        self._timers[name] = self.loop.call_later(delay, callback)

    def _cancel(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _fail(self, reason: str, *, retry: bool = True, state: str = ModemState.FAILED) -> None:
        if self.state == ModemState.STOPPED:
            return
        # a modem that stays away fails the same way every few seconds: say it once
        repeated = reason == self._last_failure
        self._last_failure = reason
        log.log(logging.DEBUG if repeated else logging.WARNING, "%s: %s", self.name, reason)
        self._has_failed = True
        for name in ("health", "sweep"):
            self._cancel(name)
        channel, self.channel = self.channel, None
        self._set_state(state, reason)
        if channel is not None:
            channel.on_close = None
            channel.close(reason)
        if retry:
            self._later("restart", self.restart_delay, self.start)

    def _on_closed(self, reason: str) -> None:
        self.channel = None
        self._fail(f"port closed: {reason}")

    def _command(self, text: str, then: Callable[[Response], None], timeout: float | None = None,
                 *, body: str | None = None, silence_fails: bool = True) -> None:
        """Queue a command; one that gets no answer at all means the modem is not there any
        more, whatever the command was, and starts it over."""
        if self.channel is None:
            self.loop.call_soon(then, Response(text, result=CLOSED))
            return

        def answered(response: Response) -> None:
            then(response)
            if response.result == TIMEOUT and silence_fails:
                self._fail(f"no answer to {text}")
        self.channel.command(text, answered, timeout=timeout or self.command_timeout, body=body)

    def _optional(self, text: str, then: Callable[[], None]) -> None:
        """Run an initialisation command the modem may refuse: any answer goes on."""
        def answered(response: Response) -> None:
            if response.result not in (CLOSED, CANCELLED):
                then()
        self._command(text, answered)

    def _expect_ok(self, text: str, then: Callable[[], None]) -> None:
        """Run an initialisation command; anything but OK fails the initialisation."""
        def check(response: Response) -> None:
            if response.result in (CLOSED, CANCELLED):
                return  # whoever closed or cancelled it has already started over
            if response.ok:
                then()
            else:
                self._fail(f"{text} answered {response.result or 'nothing'}")
        self._command(text, check)

    # -- what the modem says unasked -------------------------------------------------------

    def _listen(self, channel: ATChannel) -> None:
        for banner in _BOOT_URCS:
            channel.on_urc(banner, self._on_boot_banner)
        for prefix in _NOISE:
            channel.on_urc(prefix, lambda line, _: None)
        channel.on_urc("+CREG:", self._on_creg)
        channel.on_urc("+CEREG:", self._on_cereg)
        channel.on_urc("+CUSD:", self._on_cusd)
        self.receiver = Receiver(self._command, name=self.name, storage=self.dialect.storage,
                                 on_sms=self.handlers.on_sms, on_report=self.handlers.on_report)
        channel.on_urc("+CMTI:", self.receiver.on_indication)
        channel.on_urc("+CDSI:", self.receiver.on_indication)
        channel.on_urc("+CMT:", self.receiver.on_direct, lines=2)
        channel.on_urc("+CDS:", self.receiver.on_direct, lines=2)

    def _on_boot_banner(self, line: str, _: str | None) -> None:
        if self.state not in ModemState.INITIALISED:
            return  # banners during initialisation are expected: boot takes a while
        self._reinitialise(line)

    def _on_echo(self, command: str) -> None:
        """Echo is back after ATE0: only a reset turns it on again."""
        if self._echo_expected:
            return
        if self.state in ModemState.INITIALISED:
            # the modem answers the echoed command: that one finishes, the rest is cancelled
            self._reinitialise(f"it echoed {command}", answering=True)
        elif self.state == ModemState.INITIALISING:
            log.warning("%s: the modem echoes %s although it took ATE0", self.name, command)
            self._echo_expected = True  # echo tells nothing on this one: no reboot loop

    def _reinitialise(self, sign: str, *, answering: bool = False) -> None:
        """The modem rebooted under us: its settings are lost, and so is what it had not
        answered — a send in flight gets an unknown fate and is resent."""
        log.warning("%s: the modem rebooted (%s): initialising it again", self.name, sign)
        assert self.channel is not None
        if answering:
            self.channel.cancel_queued()
        else:
            self.channel.cancel_all()
        for name in ("health", "sweep"):  # after the cancelled checks re-armed theirs
            self._cancel(name)
        self._sync(1)

    def _on_creg(self, line: str, _: str | None) -> None:
        self._registration(cs=health.parse_creg(line.split(":", 1)[1], answer=False))

    def _on_cereg(self, line: str, _: str | None) -> None:
        self._registration(eps=health.parse_creg(line.split(":", 1)[1], answer=False))

    def _registration(self, *, cs: int | None = None, eps: int | None = None, settle: bool = True) -> None:
        """A new <stat> of the CS (+CREG) or LTE (+CEREG) domain; ``settle=False`` when the
        other domain's answer comes next, so the state does not flap in between."""
        if cs is not None:
            self.health.registration = cs
        if eps is not None:
            self.health.eps_registration = eps
        if not settle:
            return
        if self.state == ModemState.READY and not self.health.registered:
            stat = self.health.registration_stat
            self._set_state(ModemState.NOT_REGISTERED, health.REGISTRATION_TEXT.get(stat, "unknown"))
            self._later("health", self.unregistered_interval, self._check_health)
        elif self.state == ModemState.NOT_REGISTERED and self.health.registered:
            self._set_state(ModemState.READY, self.model)
            self._later("health", self.health_interval, self._check_health)

    # -- initialisation --------------------------------------------------------------------

    def _sync(self, attempt: int) -> None:
        """Plain AT until the modem answers: it may still be booting or auto-bauding, or
        still waiting for the PDU of a send whose sender died (ESC ends that)."""
        self._set_state(ModemState.INITIALISING, "waiting for the modem to answer AT")
        self._echo_expected = True
        self._cnmi = None
        if attempt > 1 and self.channel is not None:
            self.channel.leave_pdu_input()

        def answered(response: Response) -> None:
            if response.ok:
                self._expect_ok("ATE0", self._echo_off)
            elif response.result in (CLOSED, CANCELLED):
                return
            elif attempt < self.sync_attempts:
                self._sync(attempt + 1)
            else:
                self._silent()
        self._command("AT", answered, timeout=1.0, silence_fails=False)

    def _echo_off(self) -> None:
        self._echo_expected = False
        self._expect_ok("AT+CMEE=1", self._check_sim)

    def _silent(self) -> None:
        """No answer at all: pulse RESET, and if it stays silent power-cycle it through
        PWRKEY, taking turns while it stays silent; with neither line, keep trying now and then."""
        lines = self.power.lines if self.power is not None else ()
        if not lines:
            self._fail(f"no answer to AT after {self.sync_attempts} tries")
            return
        line = lines[self._recoveries % len(lines)]
        self._recoveries += 1
        self._fail(f"no answer to AT after {self.sync_attempts} tries: "
                   + ("resetting" if line == RESET else "power-cycling"),
                   retry=False, state=ModemState.POWER_CYCLING)

        def pulsed() -> None:
            if self.state == ModemState.POWER_CYCLING:  # not stopped meanwhile
                self._later("restart", self.dialect.boot_seconds, self.start)
        if line == RESET:
            self.power.reset(pulsed)
        else:
            self.power.cycle(self.dialect.pwrkey_off_seconds, self.dialect.pwrkey_on_seconds, pulsed)

    def _check_sim(self, pin_sent: bool = False) -> None:
        def answered(response: Response) -> None:
            if response.result in (CLOSED, CANCELLED):
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
        if response.result in (CLOSED, CANCELLED):
            return
        if response.ok:
            self._check_sim(pin_sent=True)
        elif response.cme_error in _PIN_WRONG_CME or (response.cme_error is None and response.result == "ERROR"):
            # a wrong PIN is never tried twice: three tries lock the SIM
            self._fail("the SIM refused the configured PIN", state=ModemState.PIN_WRONG, retry=False)
        else:
            self._fail(f"PIN entry answered {response.result}")

    def _on_model(self, response: Response) -> None:
        if response.result in (CLOSED, CANCELLED):
            return
        if response.ok and response.lines:
            self.model = response.lines[0].strip()
        self.dialect = dialects.for_config(self.model_setting, self.model)
        if self.receiver is not None:
            self.receiver.storage = self.dialect.storage
        self._run_setup(list(self.dialect.setup))

    def _run_setup(self, commands: list[str]) -> None:
        if commands:
            self._expect_ok(commands[0], lambda: self._run_setup(commands[1:]))
        else:
            self._expect_ok("AT+CMGF=0", self._set_smsc)

    def _set_smsc(self) -> None:
        """Write the configured SMS centre, or read the SIM's: without one nothing can be
        sent, and the modem says so instead of failing every message."""
        self._smsc_missing = False
        if self.smsc:
            kind = 145 if self.smsc.startswith("+") else 129
            self.health.smsc = self.smsc
            self._expect_ok(f'AT+CSCA="{self.smsc}",{kind}', self._set_storage)
        else:
            self._command("AT+CSCA?", self._on_csca)

    def _on_csca(self, response: Response) -> None:
        if response.result in (CLOSED, CANCELLED):
            return
        value = response.info("+CSCA") if response.ok else None
        if value is not None:
            self.health.smsc = health.parse_csca(value)
            self._smsc_missing = not self.health.smsc
        elif response.cms_error == _SMSC_UNKNOWN_CMS:
            self.health.smsc = ""
            self._smsc_missing = True
        else:
            # not knowing is no reason to stop sending: a send that needs one will say so
            log.warning("%s: AT+CSCA? answered %s: the SMS centre is unknown", self.name, response.result)
            self.health.smsc = ""
        self._set_storage()

    def _set_storage(self) -> None:
        storage = self.dialect.storage
        self._expect_ok(f'AT+CPMS="{storage}","{storage}","{storage}"', self._set_indications)

    def _set_indications(self) -> None:
        def answered(response: Response) -> None:
            if response.result in (CLOSED, CANCELLED):
                return
            if not response.ok:
                # without indications messages still arrive: the periodic sweep finds them
                log.warning("%s: %s answered %s; relying on sweeps", self.name, self.dialect.cnmi,
                            response.result)
            self._optional("AT+CREG=1", self._enable_eps_urcs)
        self._command(self.dialect.cnmi, answered)

    def _enable_eps_urcs(self) -> None:
        if self.dialect.cereg:
            self._optional("AT+CEREG=1", self._ready)
        else:
            self._ready()

    def _ready(self) -> None:
        self._last_failure = ""
        self._has_failed = False
        self._recoveries = 0
        if self._smsc_missing:
            self._set_state(ModemState.NO_SMSC, _NO_SMSC_DETAIL)
        else:
            self._set_state(ModemState.READY, self.model)
        self._check_health()
        self._sweep()

    # -- watching --------------------------------------------------------------------------

    def _sweep(self) -> None:
        """Collect what arrived while nobody listened (at start, and now and then)."""
        if self.receiver is not None and self.channel is not None:
            self.receiver.sweep()
        self._later("sweep", self.sweep_interval, self._sweep)

    def on_ring(self) -> None:
        """The RI line fell: something arrived. Sweep at once rather than trust an indication
        that may be switched off or lost; a burst of rings makes at most one more sweep."""
        if self.receiver is not None and self.state in ModemState.INITIALISED:
            self.receiver.sweep_new()  # while initialising, the sweep when ready finds it

    def _check_health(self) -> None:
        def on_csq(response: Response) -> None:
            if response.ok:
                self.health.signal_rssi = health.parse_csq(response.info("+CSQ") or "")

        def on_creg(response: Response) -> None:
            stat = health.parse_registration_reply(response.infos("+CREG")) if response.ok else None
            self._registration(cs=stat, settle=not self.dialect.cereg)

        def on_cereg(response: Response) -> None:
            # a modem that has no LTE (configured as one that has) refuses: CREG alone tells
            stat = health.parse_registration_reply(response.infos("+CEREG")) if response.ok else None
            self._registration(eps=stat)

        def on_cops(response: Response) -> None:
            if response.ok:
                self.health.operator = health.parse_cops(response.info("+COPS") or "")

        def on_cpms(response: Response) -> None:
            usage = health.parse_cpms(response.info("+CPMS") or "") if response.ok else None
            if usage is not None:
                self.health.storage_used, self.health.storage_total = usage
                if self.health.storage_full and self.receiver is not None:
                    self.receiver.sweep()  # a full SIM refuses new SMS: empty it

        def on_cnmi(response: Response) -> None:
            cnmi = health.parse_cnmi(response.info("+CNMI") or "") if response.ok else None
            if cnmi is None or self.state not in ModemState.INITIALISED:
                return
            if self._cnmi is None:
                self._cnmi = cnmi  # as the modem shows what initialisation set
            elif cnmi != self._cnmi:
                self._reinitialise(f"AT+CNMI? answered {response.info('+CNMI')}, not as set")

        def on_cclk(response: Response) -> None:
            if response.ok:
                self.health.network_time = health.parse_cclk(response.info("+CCLK") or "")
            interval = self.health_interval if self.health.registered else self.unregistered_interval
            if self.channel is not None:
                self._later("health", interval, self._check_health)

        checks = [("AT+CSQ", on_csq), ("AT+CREG?", on_creg)]
        if self.dialect.cereg:
            checks.append(("AT+CEREG?", on_cereg))
        checks += [("AT+COPS?", on_cops), ("AT+CPMS?", on_cpms), ("AT+CNMI?", on_cnmi), ("AT+CCLK?", on_cclk)]
        for text, handler in checks:
            self._command(text, handler)

    def ussd(self, code: str, callback: Callable[[str | None, str], None], timeout: float = 30.0) -> None:
        """Ask the network (e.g. ``*100#`` for the balance); ``callback(text, error)``."""
        if self.state != ModemState.READY or self._ussd_waiting is not None:
            self.loop.call_soon(callback, None, f"modem {self.state}" if self.state != ModemState.READY
                                   else "another USSD request is running")
            return
        self._ussd_waiting = callback

        def sent(response: Response) -> None:
            if response.ok:
                self._later("ussd", timeout, lambda: self._ussd_done(None, "no USSD answer"))
            else:
                self._ussd_done(None, f"AT+CUSD answered {response.result}")
        self._command(f'AT+CUSD=1,"{code}",15', sent, timeout=timeout)

    def _on_cusd(self, line: str, _: str | None) -> None:
        status, text = decode_cusd(line.split(":", 1)[1])
        self.health.ussd_reply = text
        if status in (0, 1, 2):
            self._ussd_done(text, "")
        else:
            self._ussd_done(None, f"USSD failed (+CUSD: {status})")

    def _ussd_done(self, text: str | None, error: str) -> None:
        self._cancel("ussd")
        callback, self._ussd_waiting = self._ussd_waiting, None
        if callback is not None:
            callback(text, error)

    # -- sending ---------------------------------------------------------------------------

    def send(self, pdu: str, tpdu_length: int, callback: Callable[[SendResult], None]) -> None:
        """Send one PDU with AT+CMGS; ``callback`` always gets exactly one result."""
        if not self.ready or self.channel is None:
            self.loop.call_soon(callback, SendResult(False, error_text=f"modem {self.state}"))
            return
        self._sending = True

        def answered(response: Response) -> None:
            self._sending = False
            result = self._send_result(response)
            if result.error_code == _SMSC_UNKNOWN_CMS and self.state == ModemState.READY:
                # the SIM lost its SMS centre, or the modem does not use the one it has:
                # no send can succeed here until someone sets `smsc`; receiving goes on
                self._set_state(ModemState.NO_SMSC, f"the modem refused to send without an SMS centre "
                                f"(+CMS ERROR: 330; it has {self.health.smsc or 'none'}): "
                                "set `smsc` for this modem")
            callback(result)
            if self.state == ModemState.READY and response.result != TIMEOUT and self._on_state:
                self._on_state(self.state)  # free again: let the router hand over more
        self._command(f"AT+CMGS={tpdu_length}", answered, timeout=self.send_timeout, body=pdu)

    @staticmethod
    def _send_result(response: Response) -> SendResult:
        if response.ok:
            match = _CMGS.match(response.info("+CMGS") or "")
            return SendResult(True, reference=int(match.group(1)) if match else None)
        if response.result in NO_ANSWER:
            return SendResult(False, error_text=f"no answer from the modem ({response.result.lower()})",
                              unknown_fate=True)
        code = response.cms_error
        if code is None:
            return SendResult(False, error_text=response.result)
        return SendResult(False, error_code=code, error_text=errors.cms_error_text(code),
                          permanent=errors.is_permanent(code), refused=errors.is_refused(code))
