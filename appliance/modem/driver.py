"""One modem's life: open the port, initialise, send, receive, watch, and start over.

Each procedure is a coroutine on the event loop that reads top to bottom: initialise
(:meth:`ModemDriver._initialise`), send a part (:meth:`ModemDriver.send`), the health
check, a USSD request, bringing a silent modem back (:meth:`ModemDriver._recover`); reading
slots and sweeps are the :class:`~.receiver.Receiver`'s. A failure anywhere (no answer, the
port vanishing, an ERROR during initialisation, a reboot) cancels the procedures under way
and leads to a fresh start; a modem that stays silent is reset through its RESET line,
then power-cycled through its PWRKEY line, as far as they are configured. So a modem that
comes back is used again without anyone's help.

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
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ..config.file import ModemConfig
from ..platform.modem_power import RESET, ModemPower
from . import dialects, errors, health, replies
from .at import CLOSED, NO_ANSWER, TIMEOUT, ATChannel, Response
from .dialects import Dialect
from .procedures import Procedures
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
class Timings:
    """How long the driver gives a modem, declared once: the service uses these defaults,
    tests and recordings shorten them."""

    restart_delay: float = 5.0           # after a failure, before the port is opened again
    command_timeout: float = 5.0         # for the answer to an ordinary command
    send_timeout: float = 120.0          # for AT+CMGS: the network may take its time
    sync_attempts: int = 10              # plain ATs (1 s each) before a modem counts as silent
    health_interval: float = 60.0        # between health checks while registered
    unregistered_interval: float = 10.0  # ... and while not: the network is noticed back sooner
    sweep_interval: float = 300.0        # between sweeps of the SIM's storage


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
    """Where what the modem receives goes; each must have committed it when it returns.
    ``on_report(pdu, has_smsc, stored)``: ``stored`` when the report was read from a slot
    that is deleted once it returns; a report the modem gave directly (+CDS) has no copy
    anywhere to lose."""

    on_sms: Callable[[str], None] = lambda pdu: None
    on_report: Callable[[str, bool, bool], None] = lambda pdu, has_smsc, stored: None


class UssdError(Exception):
    """A USSD request that got no answer from the network, with the reason."""


class _Refused(Exception):
    """The modem refused a step of the initialisation: fail with ``reason`` (and retry)."""

    def __init__(self, reason: str, *, state: str = ModemState.FAILED, retry: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.state, self.retry = reason, state, retry


_PIN_WRONG_CME = {16}        # incorrect password
_SMSC_UNKNOWN_CMS = 330
_NO_SMSC_DETAIL = "the SIM has no SMS centre number: set `smsc` for this modem"
_CMGS = re.compile(r"^\s*(\d+)")
# every family's boot banners: the dialect is not known before AT+CGMM answers
_BOOT_URCS = ("RDY", "SMS READY", "SMS DONE", "+QIND: SMS DONE", "CALL READY")
_NOISE = tuple(sorted({prefix for d in dialects.DIALECTS.values() for prefix in d.noise}))
SYNC_TIMEOUT = 1.0           # for each plain AT while the modem may still be booting
USSD_TIMEOUT = 30.0          # for the network's answer to a USSD request


class ModemDriver:
    """Initialises one AT modem, sends PDUs on it one at a time, and takes in what arrives.

    ``config`` is the modem's table of the config file (the port, the model, the PIN and
    SMS centre are read from it at every start); ``timings`` say how long it waits for what.
    Everything here runs on ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, config: ModemConfig, *,
                 handlers: ModemHandlers = ModemHandlers(),
                 open_transport: Callable[[str, int], Transport] = open_serial,
                 power: ModemPower | None = None,
                 on_state: Callable[[str], None] | None = None,
                 timings: Timings = Timings()) -> None:
        self.loop = loop
        self.config = config
        self.name = config.name
        self.handlers = handlers
        self._open_transport = open_transport
        self.power = power
        self._on_state = on_state
        self.timings = timings
        self.state = ModemState.CLOSED
        self.detail = ""
        self.model = ""
        self.dialect: Dialect = dialects.GENERIC
        self.health = health.Health()
        self.channel: ATChannel | None = None
        self.receiver: Receiver | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}   # when the next health check, sweep, restart
        # initialising, checking health, recovering: a procedure that breaks starts the modem over
        self._procedures = Procedures(loop, self.name, lambda error: self._fail(f"internal error: {error!r}"))
        self._sending = False
        self._last_failure = ""
        self._has_failed = False
        self._ussd_reply: asyncio.Future[str] | None = None
        self._recoveries = 0          # RESET / PWRKEY pulses since the modem was last ready
        self._echo_expected = True     # until ATE0 is answered (and on modems ignoring it)
        self._cnmi: tuple[int, ...] | None = None  # AT+CNMI? after initialisation
        self._registration_notices = 0  # +CREG / +CEREG notices so far: newer than a polled answer

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._halt()
        self._set_state(ModemState.INITIALISING, "opening the port")
        try:
            transport = self._open_transport(self.config.port, self.config.baudrate)
        except OSError as error:
            self._fail(f"cannot open {self.config.port}: {error}")
            return
        self.channel = ATChannel(self.loop, transport, name=self.name, on_close=self._on_closed,
                                 on_echo=self._on_echo)
        self._listen(self.channel)
        self._begin_initialising()

    def stop(self) -> None:
        self._halt()
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

    @property
    def idle(self) -> bool:
        """Nothing asked and nothing about to be asked: no command pending or queued, and no
        procedure (initialising, a health check, a read, a sweep) half-way through."""
        return ((self.channel is None or self.channel.idle)
                and not self._procedures.busy and not (self.receiver is not None and self.receiver.busy))

    def status(self) -> dict:
        return {"state": self.state, "detail": self.detail, "model": self.model,
                "dialect": self.dialect.name, "port": self.config.port, **self.health.as_dict()}

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

    def _halt(self) -> None:
        """Cancel every timer and procedure: what they were doing is moot now."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._procedures.cancel()
        if self.receiver is not None:
            self.receiver.cancel()

    def _fail(self, reason: str, *, retry: bool = True, state: str = ModemState.FAILED) -> None:
        if self.state == ModemState.STOPPED:
            return
        # a modem that stays away fails the same way every few seconds: say it once
        repeated = reason == self._last_failure
        self._last_failure = reason
        log.log(logging.DEBUG if repeated else logging.WARNING, "%s: %s", self.name, reason)
        self._has_failed = True
        self._halt()
        channel, self.channel = self.channel, None
        self._set_state(state, reason)
        if channel is not None:
            channel.on_close = None
            channel.close(reason)
        if retry:
            self._later("restart", self.timings.restart_delay, self.start)

    def _on_closed(self, reason: str) -> None:
        self.channel = None
        self._fail(f"port closed: {reason}")

    def _command(self, text: str, timeout: float | None = None, *, body: str | None = None,
                 silence_fails: bool = True) -> asyncio.Future[Response]:
        """Queue a command now; its answer comes in the future. One that gets no answer at
        all means the modem is not there any more, whatever the command was, and starts
        it over before anything else is written."""
        if self.channel is None:
            closed: asyncio.Future[Response] = self.loop.create_future()
            closed.set_result(Response(text, result=CLOSED))
            return closed
        on_silence = (lambda: self._fail(f"no answer to {text}")) if silence_fails else None
        return self.channel.command(text, timeout=timeout or self.timings.command_timeout, body=body,
                                    on_silence=on_silence)

    async def _expect_ok(self, text: str) -> None:
        """Run an initialisation command; anything but OK fails the initialisation."""
        response = await self._command(text)
        if not response.ok:
            raise _Refused(f"{text} answered {response.result or 'nothing'}")

    # -- what the modem says unasked -------------------------------------------------------

    def _listen(self, channel: ATChannel) -> None:
        for banner in _BOOT_URCS:
            channel.on_urc(banner, self._on_boot_banner)
        for prefix in _NOISE:
            channel.on_urc(prefix, lambda line, _: None)
        channel.on_urc("+CREG:", self._on_creg)
        channel.on_urc("+CEREG:", self._on_cereg)
        channel.on_urc("+CUSD:", self._on_cusd)
        self.receiver = Receiver(self.loop, self._command, name=self.name, storage=self.dialect.storage,
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
        self._halt()
        self._begin_initialising()

    def _on_creg(self, line: str, _: str | None) -> None:
        self._registration_notices += 1
        self._registration(cs=health.parse_creg(line.split(":", 1)[1], answer=False))

    def _on_cereg(self, line: str, _: str | None) -> None:
        self._registration_notices += 1
        self._registration(eps=health.parse_creg(line.split(":", 1)[1], answer=False))

    def _registration(self, *, cs: int | None = None, eps: int | None = None) -> None:
        """A new <stat> of the CS (+CREG) or LTE (+CEREG) domain, or of both at once (a
        health check's answers: the state does not flap in between)."""
        if cs is not None:
            self.health.registration = cs
        if eps is not None:
            self.health.eps_registration = eps
        if self.state == ModemState.READY and not self.health.registered:
            self._set_state(ModemState.NOT_REGISTERED, self.health.registration_text)
            self._later("health", self.timings.unregistered_interval, self._check_health)
        elif self.state == ModemState.NOT_REGISTERED and self.health.registered:
            self._set_state(ModemState.READY, self.model)
            self._later("health", self.timings.health_interval, self._check_health)

    # -- initialisation --------------------------------------------------------------------

    def _begin_initialising(self) -> None:
        # not ready from this moment on: nothing is handed to a modem that is not set up
        self._set_state(ModemState.INITIALISING, "waiting for the modem to answer AT")
        self._echo_expected = True
        self._cnmi = None
        self._procedures.start(self._initialise())

    async def _initialise(self) -> None:
        """From a modem that may still be booting, or waiting for the PDU of a send whose
        sender died, to one that is ready: each step in turn, and any refusal starts over
        (or, for the SIM's PIN, waits for a person)."""
        try:
            if not await self._sync():
                self._silent()
                return
            await self._expect_ok("ATE0")
            self._echo_expected = False
            await self._expect_ok("AT+CMEE=1")
            await self._unlock_sim()
            await self._identify()
            for command in self.dialect.setup:
                await self._expect_ok(command)
            await self._expect_ok("AT+CMGF=0")
            smsc_missing = await self._set_smsc()
            storage = self.dialect.storage
            await self._expect_ok(f'AT+CPMS="{storage}","{storage}","{storage}"')
            await self._set_indications()
        except _Refused as refused:
            self._fail(refused.reason, retry=refused.retry, state=refused.state)
            return
        self._ready(smsc_missing)

    async def _sync(self) -> bool:
        """Plain AT until the modem answers: it may still be booting or auto-bauding, or
        still waiting for the PDU of a send whose sender died (ESC ends that). False if it
        stayed silent."""
        for attempt in range(self.timings.sync_attempts):
            if attempt and self.channel is not None:
                self.channel.leave_pdu_input()
            if (await self._command("AT", SYNC_TIMEOUT, silence_fails=False)).ok:
                return True
        return False

    async def _unlock_sim(self) -> None:
        """AT+CPIN? until READY, entering the configured PIN once; a wrong PIN is never
        tried twice (three tries lock the SIM)."""
        pin_sent = False
        while True:
            response = await self._command("AT+CPIN?")
            status = (response.info("+CPIN") or "").upper()
            if response.ok and status == "READY":
                return
            if response.ok and status == "SIM PIN":
                if pin_sent:
                    raise _Refused("the SIM still asks for its PIN", state=ModemState.PIN_WRONG, retry=False)
                if not self.config.pin:
                    raise _Refused("the SIM needs a PIN: set `pin` for this modem",
                                   state=ModemState.PIN_REQUIRED, retry=False)
                await self._enter_pin(self.config.pin)
                pin_sent = True
            elif response.ok and status.startswith("SIM PUK"):
                raise _Refused("the SIM is locked by its PUK", state=ModemState.PUK_LOCKED, retry=False)
            else:
                raise _Refused(f"AT+CPIN? answered {status or response.result}")

    async def _enter_pin(self, pin: str) -> None:
        response = await self._command(f'AT+CPIN="{pin}"')
        if response.ok:
            return
        if response.cme_error in _PIN_WRONG_CME or (response.cme_error is None and response.result == "ERROR"):
            raise _Refused("the SIM refused the configured PIN", state=ModemState.PIN_WRONG, retry=False)
        raise _Refused(f"PIN entry answered {response.result}")

    async def _identify(self) -> None:
        """AT+CGMM names the model, and the model the dialect (unless the config names one)."""
        response = await self._command("AT+CGMM")
        model = replies.information(response, "+CGMM") if response.ok else None
        if model is not None:
            self.model = model
        self.dialect = dialects.for_config(self.config.model, self.model)
        if self.receiver is not None:
            self.receiver.storage = self.dialect.storage

    async def _set_smsc(self) -> bool:
        """Write the configured SMS centre, or read the SIM's; True if there is none: then
        nothing can be sent, and the modem says so instead of failing every message."""
        smsc = self.config.smsc
        if smsc:
            self.health.smsc = smsc
            await self._expect_ok(f'AT+CSCA="{smsc}",{145 if smsc.startswith("+") else 129}')
            return False
        response = await self._command("AT+CSCA?")
        value = response.info("+CSCA") if response.ok else None
        if value is not None:
            self.health.smsc = health.parse_csca(value)
            return not self.health.smsc
        self.health.smsc = ""
        if response.cms_error == _SMSC_UNKNOWN_CMS:
            return True
        # not knowing is no reason to stop sending: a send that needs one will say so
        log.warning("%s: AT+CSCA? answered %s: the SMS centre is unknown", self.name, response.result)
        return False

    async def _set_indications(self) -> None:
        response = await self._command(self.dialect.cnmi)
        if not response.ok:
            # without indications messages still arrive: the periodic sweep finds them
            log.warning("%s: %s answered %s; relying on sweeps", self.name, self.dialect.cnmi, response.result)
        await self._command("AT+CREG=1")  # registration notices are welcome, not required
        if self.dialect.cereg:
            await self._command("AT+CEREG=1")

    def _ready(self, smsc_missing: bool) -> None:
        self._last_failure = ""
        self._has_failed = False
        self._recoveries = 0
        # the first health check and sweep begin before the state says ready: the loop runs
        # what is scheduled in order, so their commands go out before any send the router
        # hands over when it hears of the new state
        self._check_health()
        self._sweep()
        if smsc_missing:
            self._set_state(ModemState.NO_SMSC, _NO_SMSC_DETAIL)
        else:
            self._set_state(ModemState.READY, self.model)

    # -- a modem that does not answer at all -----------------------------------------------

    def _silent(self) -> None:
        """No answer at all: pulse RESET, and if it stays silent power-cycle it through
        PWRKEY, taking turns while it stays silent; with neither line, keep trying now and then."""
        tries = f"no answer to AT after {self.timings.sync_attempts} tries"
        lines = self.power.lines if self.power is not None else ()
        if not lines:
            self._fail(tries)
            return
        line = lines[self._recoveries % len(lines)]
        self._recoveries += 1
        self._fail(f"{tries}: " + ("resetting" if line == RESET else "power-cycling"),
                   retry=False, state=ModemState.POWER_CYCLING)
        self._procedures.start(self._recover(line))

    async def _recover(self, line: str) -> None:
        """Pulse ``line``, give the modem its time to boot, and start again."""
        assert self.power is not None
        if line == RESET:
            await self.power.reset()
        else:
            await self.power.cycle(self.dialect.pwrkey_off_seconds, self.dialect.pwrkey_on_seconds)
        await asyncio.sleep(self.dialect.boot_seconds)
        self.start()

    # -- watching --------------------------------------------------------------------------

    def _sweep(self) -> None:
        """Collect what arrived while nobody listened (at start, and now and then)."""
        if self.receiver is not None and self.channel is not None:
            self.receiver.sweep()
        self._later("sweep", self.timings.sweep_interval, self._sweep)

    def on_ring(self) -> None:
        """The RI line fell: something arrived. Sweep at once rather than trust an indication
        that may be switched off or lost; a burst of rings makes at most one more sweep."""
        if self.receiver is not None and self.state in ModemState.INITIALISED:
            self.receiver.sweep_new()  # while initialising, the sweep when ready finds it

    def _check_health(self) -> None:
        self._procedures.start(self._health_check())

    async def _health_check(self) -> None:
        """Signal, registration, operator, storage, indications and the network's time,
        asked back to back; then the next check is due."""
        asked = ["AT+CSQ", "AT+CREG?", *(["AT+CEREG?"] if self.dialect.cereg else []),
                 "AT+COPS?", "AT+CPMS?", "AT+CNMI?", "AT+CCLK?"]
        answers = {text: self._command(text) for text in asked}  # all queued now
        notices = self._registration_notices
        csq = await answers["AT+CSQ"]
        if csq.ok:
            self.health.signal_rssi = health.parse_csq(csq.info("+CSQ") or "")
        creg = await answers["AT+CREG?"]
        # a modem that has no LTE (configured as one that has) refuses: CREG alone tells
        cereg = await answers["AT+CEREG?"] if "AT+CEREG?" in answers else None
        # a notice that came meanwhile may have followed an answer on the line, and this
        # coroutine resumes only after the notice was handled: then the notice is the news
        if self._registration_notices == notices:
            self._registration(
                cs=health.parse_registration_reply(creg.infos("+CREG")) if creg.ok else None,
                eps=health.parse_registration_reply(cereg.infos("+CEREG")) if cereg is not None and cereg.ok else None)
        cops = await answers["AT+COPS?"]
        if cops.ok:
            self.health.operator = health.parse_cops(cops.info("+COPS") or "")
        cpms = await answers["AT+CPMS?"]
        usage = health.parse_cpms(cpms.info("+CPMS") or "") if cpms.ok else None
        if usage is not None:
            self.health.storage_used, self.health.storage_total = usage
            if self.health.storage_full and self.receiver is not None:
                self.receiver.sweep()  # a full SIM refuses new SMS: empty it
        cnmi = await answers["AT+CNMI?"]
        settings = health.parse_cnmi(cnmi.info("+CNMI") or "") if cnmi.ok else None
        if settings is not None and self.state in ModemState.INITIALISED:
            if self._cnmi is None:
                self._cnmi = settings  # as the modem shows what initialisation set
            elif settings != self._cnmi:
                self._reinitialise(f"AT+CNMI? answered {cnmi.info('+CNMI')}, not as set")
                return
        cclk = await answers["AT+CCLK?"]
        if cclk.ok:
            self.health.network_time = health.parse_cclk(cclk.info("+CCLK") or "")
        interval = self.timings.health_interval if self.health.registered else self.timings.unregistered_interval
        self._later("health", interval, self._check_health)

    async def ussd(self, code: str, timeout: float = USSD_TIMEOUT) -> str:
        """Ask the network (e.g. ``*100#`` for the balance) and return its answer; raises
        :class:`UssdError` with the reason when there is none."""
        if self.state != ModemState.READY:
            raise UssdError(f"modem {self.state}")
        if self._ussd_reply is not None:
            raise UssdError("another USSD request is running")
        self._ussd_reply = reply = self.loop.create_future()
        try:
            response = await self._command(f'AT+CUSD=1,"{code}",15', timeout)
            if not response.ok:
                raise UssdError(f"AT+CUSD answered {response.result}")
            try:
                async with asyncio.timeout(timeout):
                    return await reply
            except TimeoutError:
                raise UssdError("no USSD answer") from None
        finally:
            self._ussd_reply = None

    def _on_cusd(self, line: str, _: str | None) -> None:
        status, text = decode_cusd(line.split(":", 1)[1])
        self.health.ussd_reply = text
        reply = self._ussd_reply
        if reply is None or reply.done():
            return
        if status in (0, 1, 2):
            reply.set_result(text)
        else:
            reply.set_exception(UssdError(f"USSD failed (+CUSD: {status})"))

    # -- sending ---------------------------------------------------------------------------

    def send(self, pdu: str, tpdu_length: int) -> Coroutine[Any, Any, SendResult]:
        """Send one PDU with AT+CMGS; await what this returns for the :class:`SendResult`
        (every way a send can end is one). Like a channel command, the send is queued at
        the call, not when it is awaited: the router hands a message over and its first
        part goes out in the same turn of the loop."""
        if not self.ready or self.channel is None:
            return self._sent(None, f"modem {self.state}")
        self._sending = True
        return self._sent(self._command(f"AT+CMGS={tpdu_length}", self.timings.send_timeout, body=pdu))

    async def _sent(self, answer: asyncio.Future[Response] | None, refused: str = "") -> SendResult:
        if answer is None:
            return SendResult(False, error_text=refused)
        try:
            response = await answer
        finally:
            self._sending = False
        result = self._send_result(response)
        if result.error_code == _SMSC_UNKNOWN_CMS and self.state == ModemState.READY:
            # the SIM lost its SMS centre, or the modem does not use the one it has:
            # no send can succeed here until someone sets `smsc`; receiving goes on
            self._set_state(ModemState.NO_SMSC, f"the modem refused to send without an SMS centre "
                            f"(+CMS ERROR: 330; it has {self.health.smsc or 'none'}): "
                            "set `smsc` for this modem")
        if self.state == ModemState.READY and response.result != TIMEOUT and self._on_state:
            self._on_state(self.state)  # free again: let the router hand over more
        return result

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
