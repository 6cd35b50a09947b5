"""The simulated modem as a device: its state beyond one command, and its power cycle.

:class:`Device` ties together the settings, the SIM (:mod:`hil.sim`), the network
(:mod:`hil.network`), the message store (:mod:`hil.storage`) and the SMS service
(:mod:`hil.messaging`), and gives commands two ways to reach beyond their reply: ``urc``
(an unsolicited result code, framed and timed by the engine) and ``call_later``.

Power-up (docs/modems.md §4, §7, §9.4-5): the profile's boot URCs (``RDY`` ...), then
the SIM is read: ``+CPIN: SIM PIN`` and a wait for AT+CPIN, or ``+CPIN: READY`` and a
"SIM busy" period (``+CME ERROR: 14``), then the ready URCs (``Call Ready``, ``SMS Ready``
/ ``SMS DONE`` ...) after which SMS commands work. AT+CFUN=1 after CFUN=0 reads the SIM
again the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hil.at_commands import AtError, ModemSettings, Need
from hil.messaging import Messaging, SentPDU
from hil.network import Network
from hil.profiles import ModemProfile
from hil.sim import READY, SIM_PIN, SimCard
from hil.storage import MessageStore

__all__ = ["Device", "ModemOptions", "TimerHandle"]


class TimerHandle(Protocol):
    """What ``call_later`` returns."""

    def cancel(self) -> None: ...


@dataclass
class ModemOptions:
    """Timing and SIM options of one simulated modem (all times in seconds).

    ``latency`` delays every reply and the AT+CMGS prompt, ``send_latency`` (default: the
    same) the result of a send; ``first_reference`` is the first ``+CMGS: <mr>``; ``pin``
    makes the SIM ask for a PIN (``puk`` unblocks it); ``sim_busy`` is how long the SIM
    answers ``+CME ERROR: 14`` after the PIN, power-up and AT+CFUN=1; ``report_delay`` is
    how long the network takes to send a status report (``status_reports=False``: it
    ignores TP-SRR and sends none, as some prepaid networks do); ``cnma_timeout`` how long a
    ``+CMT``/``+CDS`` waits for AT+CNMA (with AT+CSMS=1); ``ussd_delay`` how long the
    network takes to answer a USSD request.
    """

    latency: float = 0.0
    send_latency: float | None = None
    first_reference: int = 0
    pin: str | None = None
    puk: str = "12345678"
    sim_busy: float = 0.0
    report_delay: float = 6.0
    status_reports: bool = True
    cnma_timeout: float = 15.0
    ussd_delay: float = 0.2

    def __post_init__(self) -> None:
        if self.send_latency is None:
            self.send_latency = self.latency
        delays = (self.latency, self.send_latency, self.sim_busy, self.report_delay,
                  self.cnma_timeout, self.ussd_delay)
        if any(not math.isfinite(d) or d < 0 for d in delays):
            raise ValueError("latencies and delays must be finite and >= 0")
        if not 0 <= self.first_reference <= 255:
            raise ValueError("first_reference must be within 0-255")


class Device:
    """Everything one modem is besides its byte stream. Not thread-safe (the engine's
    owner serialises calls)."""

    def __init__(
        self,
        profile: ModemProfile,
        options: ModemOptions,
        *,
        urc: Callable[[list[str]], None],
        call_later: Callable[[float, Callable[[], None]], TimerHandle],
        on_sent: Callable[[SentPDU], None],
        request_reboot: Callable[[], None],
        reset: Callable[[], None],
    ) -> None:
        self.profile = profile
        self.options = options
        self.urc = urc
        self.call_later = call_later
        self.restart = request_reboot  # AT+CFUN=1,1: reboot once the OK is out
        self.reset = reset  # a spontaneous reboot, now, whatever is in progress
        self.settings = ModemSettings.power_up(profile)
        self.store = MessageStore(profile.storages, profile.first_index)
        self.sim = SimCard(options.pin, options.puk)
        self.network = Network(profile)
        self.messaging = Messaging(self, on_sent)
        self.functionality = 1
        self.sms_ready = self.sim.state == READY  # started as if powered up long ago
        self._ready_timer: TimerHandle | None = None
        self._ussd_timer: TimerHandle | None = None
        self._noise_timer: TimerHandle | None = None
        self.pdu_junk = ""  # written after each PDU AT+CMGR / AT+CMGL show (a fault)

    # ----------------------------------------------------------------- readiness

    def gate(self, need: Need) -> None:
        """Raise the error a command that needs ``need`` gets from a modem not ready."""
        if need is Need.NOTHING:
            return
        state = self.sim.state
        if state != READY:
            cme, cms = (11, 311) if state == SIM_PIN else (12, 316)
            raise AtError("CMS", cms) if need is Need.SMS else AtError("CME", cme)
        if need is Need.SMS and not self.sms_ready:
            raise AtError("PLAIN")  # before "SMS Ready": plain ERROR (§9.5)
        if self.sim.busy:
            raise AtError("CME", 14)

    def power_off(self) -> None:
        """The modem loses power (or resets): settings back to defaults, nothing ready."""
        self._cancel(self._ready_timer, self._ussd_timer)
        self.settings.restore_profile(self.profile)
        self.sms_ready = False
        self.sim.busy = False
        self.network.radio_on = False
        self.messaging.power_off()

    def boot(self, sim_busy: float) -> None:
        """Power-up is done: boot URCs, then the SIM is read (busy for ``sim_busy`` s)."""
        self.functionality = 1
        self.network.radio_on = True
        for line in self.profile.boot_urcs:
            self.urc([line])
        self._read_sim(sim_busy)

    def sim_unlocked(self) -> None:
        """AT+CPIN took the right code: the SIM is read as at power-up."""
        self._sim_ready(self.options.sim_busy)

    def _read_sim(self, busy: float) -> None:
        self.sim.power_up()
        if self.sim.state == READY:
            self._sim_ready(busy)
        elif self.profile.cpin_urc:
            self.urc([f"+CPIN: {self.sim.state}"])

    def _sim_ready(self, busy: float) -> None:
        if self.profile.cpin_urc:
            self.urc(["+CPIN: READY"])
        self.sim.busy = True
        self.sms_ready = False
        self._cancel(self._ready_timer)
        self._ready_timer = self.call_later(busy, self._ready)

    def _ready(self) -> None:
        self._ready_timer = None
        self.sim.busy = False
        for line in self.profile.ready_urcs:
            self.urc([line])
        self.sms_ready = True
        self.messaging.retry()

    def set_functionality(self, level: int) -> None:
        """AT+CFUN=<level>: 0 radio and SIM off, 1 full, 4 radio off (flight mode)."""
        previous, stats = self.functionality, self._registrations()
        self.functionality = level
        self.network.radio_on = level == 1
        if level == 0:
            self.sms_ready = False
        elif level == 1 and previous == 0:
            self._read_sim(self.options.sim_busy)
        self._registration_changed(stats)

    # ----------------------------------------------------------------- network events

    def set_registration(self, status: int) -> None:
        """The network grants (1 home, 5 roaming) or drops (0, 2 searching, 3 denied)
        registration; ``+CREG:`` URCs follow as AT+CREG=1/2 asked."""
        stats = self._registrations()
        self.network.status = status
        self._registration_changed(stats)

    def set_cs_attached(self, attached: bool) -> None:
        """``False``: an LTE model is attached on LTE only; +CREG shows not registered."""
        stats = self._registrations()
        self.network.cs_attached = attached
        self._registration_changed(stats)

    def _registrations(self) -> dict[str, int]:
        """The <stat> each registration command shows now."""
        names = ("+CREG", "+CGREG", "+CEREG") if self.profile.eps else ("+CREG", "+CGREG")
        return {name: self.network.stat_of(name) for name in names}

    def _registration_changed(self, previous: dict[str, int]) -> None:
        network, settings = self.network, self.settings
        changed = False
        for name, stat in self._registrations().items():
            if stat == previous[name]:
                continue
            changed = True
            n = getattr(settings, name[1:].lower())
            if n:
                self.urc([f"{name}: {network.registration(name, n)}"])
        if changed and network.registered:
            self.messaging.retry()

    def start_ussd(self) -> None:
        """A USSD request went out: the network's answer comes ``ussd_delay`` s later."""
        self._cancel(self._ussd_timer)
        status, text, dcs = self.network.ussd_reply

        def answer() -> None:
            self._ussd_timer = None
            if self.settings.cusd == 1:
                self.urc([f'+CUSD: {status},"{text}",{dcs}'])

        self._ussd_timer = self.call_later(self.options.ussd_delay, answer)

    def cancel_ussd(self) -> None:
        self._cancel(self._ussd_timer)
        self._ussd_timer = None

    def set_noise(self, interval: float | None) -> None:
        """Emit the profile's periodic vendor URCs every ``interval`` s (``None``: stop);
        AT^CURC=0 silences them until the next reboot."""
        if interval is not None and (not self.profile.noise_urcs or interval <= 0):
            raise ValueError(f"{self.profile.key} has no periodic URCs, or interval <= 0")
        self._cancel(self._noise_timer)
        self._noise_timer = None
        if interval is None:
            return

        def tick() -> None:
            if self.settings.curc:
                rssi = self.profile.csq[0] if self.network.radio_on else 99
                for line in self.profile.noise_urcs:
                    self.urc([line.format(rssi=rssi)])
            self._noise_timer = self.call_later(interval, tick)

        self._noise_timer = self.call_later(interval, tick)

    @staticmethod
    def _cancel(*timers: TimerHandle | None) -> None:
        for timer in timers:
            if timer is not None:
                timer.cancel()
