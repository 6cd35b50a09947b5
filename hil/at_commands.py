"""What the simulated modem's AT commands mean: the shared pieces and the general commands.

A command runs against the modem's :class:`~hil.device.Device` and answers its information
lines, or a :class:`Prompt` (AT+CMGS, AT+CMGW: a body follows), or a :class:`Later` (a
result that takes time: AT+CMSS), or raises :class:`AtError`; it knows nothing of bytes,
echo, framing or timing (that is :mod:`hil.engine`).

Commands come in groups, one module per subject: :class:`BasicCommands` here (V.250 and
identity), :mod:`hil.sim` (PIN, SIM-held data), :mod:`hil.network` (registration, signal,
clock, USSD) and :mod:`hil.sms_commands` (27.005). :class:`ModemCommands` dispatches to
them and refuses what the modem is not ready for (SIM PIN, SIM busy, SMS not ready).
Per-model differences come from a :class:`~hil.profiles.ModemProfile`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from appliance.modem.errors import CMS_TEXT
from hil.at_parser import Command, Form
from hil.profiles import ModemProfile

if TYPE_CHECKING:
    from hil.device import Device

__all__ = [
    "CME_TEXT",
    "AtError",
    "BasicCommands",
    "CommandGroup",
    "Handler",
    "Later",
    "ModemCommands",
    "ModemSettings",
    "Need",
    "Prompt",
    "int_arg",
    "string_arg",
]

# Verbose texts (AT+CMEE=2). 27.007 §9.2 and 27.005 §3.2.5 plus 24.011 network causes.
CME_TEXT: dict[int, str] = {
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    16: "incorrect password",
    30: "no network service",
    50: "incorrect parameters",
    100: "unknown",
}


class AtError(Exception):
    """A command fails. ``family`` is ``"CME"``, ``"CMS"``, ``"PLAIN"`` (always ERROR) or
    ``"NOT SUPPORT"`` (old Huawei firmware's ``COMMAND NOT SUPPORT``)."""

    def __init__(self, family: str, code: int = 0) -> None:
        super().__init__(f"{family} {code}")
        self.family = family
        self.code = code


class Need(enum.Enum):
    """What a command needs before the modem runs it (see :meth:`Device.gate`)."""

    NOTHING = "nothing"
    SIM = "sim"  # an unlocked, ready SIM (AT+CIMI, phonebook)
    SMS = "sms"  # SIM ready and the SMS service up ("SMS Ready" / "SMS DONE")


@dataclass
class ModemSettings:
    """The modem's mutable settings: what power-up sets and AT&F / ATZ restore."""

    echo: bool
    cmee: int
    cmgf: int
    creg: int
    cgreg: int
    cereg: int
    cnmi: tuple[int, ...]
    charset: str
    csms: int
    csdh: int
    cmms: int  # AT+CMMS: keep the SMS relay link open between sends (0-2)
    csmp: tuple[int, int, int, int]  # text mode <fo>,<vp>,<pid>,<dcs>
    storages: list[str]  # CPMS <mem1>, <mem2>, <mem3>
    smsc: tuple[str, int]
    cops_format: int  # AT+COPS=3,<format>: 0 long name, 1 short, 2 numeric
    cusd: int  # AT+CUSD=<n>: 1 shows +CUSD result codes
    curc: int  # Huawei AT^CURC: 1 lets the periodic ^RSSI noise through

    @classmethod
    def power_up(cls, profile: ModemProfile) -> ModemSettings:
        first = profile.storages[0][0]
        return cls(
            echo=profile.echo_default,
            cmee=profile.cmee_default,
            cmgf=0,
            creg=0,
            cgreg=0,
            cereg=0,
            cnmi=profile.cnmi_default,
            charset=profile.charset_default,
            csms=0,
            csdh=0,
            cmms=0,
            csmp=(17, 167, 0, 0),
            storages=[first, first, first],
            smsc=profile.smsc,
            cops_format=0,
            cusd=0,
            curc=1,
        )

    def restore_profile(self, profile: ModemProfile) -> None:
        """ATZ / AT&F / reboot: back to the stored profile (the SIM-held CSCA stays)."""
        smsc = self.smsc
        self.__dict__.update(ModemSettings.power_up(profile).__dict__)
        self.smsc = smsc


@dataclass(frozen=True)
class Later:
    """A result that takes time (the network answering a send).

    ``produce`` runs when ``delay`` seconds have passed: it does what the result means
    (record the send, schedule its report) and returns the information lines before OK,
    or raises :class:`AtError`. ``delay=None``: the modem never answers.
    """

    delay: float | None
    produce: Callable[[], list[list[str]]]


@dataclass(frozen=True)
class Prompt:
    """The command opens the ``> `` prompt and ends the line: the host writes a body up to
    Ctrl-Z, handed to ``complete(body, overflow)`` (``overflow``: too long, bytes were lost)."""

    complete: Callable[[str, bool], Later]


Handler = Callable[[Command], "list[str] | Prompt | Later | None"]


def int_arg(token: str | None, allowed: range | frozenset[int] | tuple[int, ...]) -> int:
    """A numeric argument within ``allowed``, else ``+CME ERROR: 50``."""
    if token is None or not token.isdigit():
        raise AtError("CME", 50)
    value = int(token)
    if value not in allowed:
        raise AtError("CME", 50)
    return value


def string_arg(token: str | None) -> str:
    """A double-quoted argument without its quotes, else ``+CME ERROR: 50``."""
    if token is None or not (len(token) >= 2 and token[0] == token[-1] == '"'):
        raise AtError("CME", 50)
    return token[1:-1]


def unknown_command(profile: ModemProfile) -> AtError:
    """The error of an unknown command or form, in the model's style."""
    if profile.unknown_command_error == "plain":
        return AtError("PLAIN")
    if profile.unknown_command_error == "not-support":
        return AtError("NOT SUPPORT")
    return AtError("CME", 100)


class CommandGroup:
    """Commands of one subject, run against a :class:`~hil.device.Device`.

    ``need`` is what every command of the group needs; ``needs`` overrides it per command.
    """

    need: Need = Need.NOTHING
    needs: ClassVar[Mapping[str, Need]] = {}

    def __init__(self, device: Device) -> None:
        self.device = device
        self.profile = device.profile
        self.settings = device.settings

    def handlers(self) -> dict[str, Handler]:
        raise NotImplementedError

    def unknown(self) -> AtError:
        return unknown_command(self.profile)

    def forms(
        self,
        *,
        execute: Handler | None = None,
        read: Handler | None = None,
        write: Handler | None = None,
        test: list[str] | Handler | None = None,
    ) -> Handler:
        """A command's handler from one answer per form: ``execute`` (AT+X), ``read``
        (AT+X?), ``write`` (AT+X=<args>), ``test`` (AT+X=?: its fixed lines, or a
        function). A form without an answer is an unknown command."""
        answers: dict[Form, list[str] | Handler | None] = {
            Form.EXEC: execute, Form.READ: read, Form.SET: write, Form.TEST: test,
        }

        def handler(command: Command) -> list[str] | Prompt | Later | None:
            answer = answers[command.form]
            if answer is None:
                raise self.unknown()
            return answer(command) if callable(answer) else list(answer)

        return handler

    def mode(self, field: str, allowed: tuple[int, ...], ranges: str, prefix: str = "+") -> Handler:
        """A setting that is one number: write chooses, execute resets to 0, read shows and
        test lists as ``ranges``; ``field`` names both the setting and the command."""
        name = prefix + field.upper()

        def choose(value: int) -> None:
            setattr(self.settings, field, value)

        return self.forms(
            write=lambda command: choose(int_arg(command.arg(0), allowed)),
            execute=lambda command: choose(0),
            read=lambda command: [f"{name}: {getattr(self.settings, field)}"],
            test=[f"{name}: {ranges}"],
        )

    def constant(self, value: Callable[[], str]) -> Handler:
        """A command that only informs (AT+CGMM): execute answers ``value()``, test nothing."""
        return self.forms(execute=lambda command: [value()], test=[])


class ModemCommands:
    """The AT commands of one modem, run one at a time.

    :meth:`run` answers a command's information lines (``None`` or ``[]``: none), or a
    :class:`Prompt` or :class:`Later`, or raises :class:`AtError`. Not thread-safe: the
    engine that owns it serialises calls.
    """

    def __init__(self, device: Device, groups: Iterable[type[CommandGroup]]) -> None:
        self.device = device
        self._handlers: dict[str, tuple[Handler, Need]] = {}
        for group_class in groups:
            group = group_class(device)
            for name, handler in group.handlers().items():
                self._handlers[name] = (handler, group.needs.get(name, group.need))

    def run(self, command: Command) -> list[str] | Prompt | Later | None:
        """Run one command; raises :class:`AtError` if it fails, is unknown or too early."""
        entry = self._handlers.get(command.name)
        if entry is None:
            raise self.unknown()
        handler, need = entry
        if command.form is not Form.TEST:  # test forms answer even before the SIM is ready
            self.device.gate(need)
        return handler(command)

    def unknown(self) -> AtError:
        return unknown_command(self.device.profile)

    def error_text(self, error: AtError) -> str:
        """The final result code of a failed command, as the current AT+CMEE asks."""
        cmee = self.device.settings.cmee
        if error.family == "CME":
            if cmee == 0:
                return "ERROR"
            if cmee == 2:
                return f"+CME ERROR: {CME_TEXT.get(error.code, error.code)}"
            return f"+CME ERROR: {error.code}"
        if error.family == "CMS":
            # +CMS ERROR is numeric with CMEE 0 and 1 (the SMS commands' own result code).
            if cmee == 2 and error.code in CMS_TEXT:
                return f"+CMS ERROR: {CMS_TEXT[error.code]}"
            return f"+CMS ERROR: {error.code}"
        if error.family == "NOT SUPPORT":
            return "COMMAND NOT SUPPORT"
        return "ERROR"


class BasicCommands(CommandGroup):
    """V.250 basic commands, identity, error reporting, character set and functionality."""

    def handlers(self) -> dict[str, Handler]:
        profile = self.profile
        handlers: dict[str, Handler] = {
            "E": self._cmd_echo,
            "Z": self._cmd_reset,
            "&F": self._cmd_reset,
            "I": self._cmd_ati,
            "V": self._cmd_verbose,
            "Q": self._cmd_quiet,
            "+CGMI": self.constant(lambda: profile.manufacturer),
            "+GMI": self.constant(lambda: profile.manufacturer),
            "+CGMM": self.constant(lambda: profile.model),
            "+GMM": self.constant(lambda: profile.model),
            "+CGMR": self.constant(lambda: profile.revision),
            "+GMR": self.constant(lambda: profile.revision),
            "+CGSN": self.constant(lambda: profile.imei),
            "+GSN": self.constant(lambda: profile.imei),
            "+CMEE": self.mode("cmee", (0, 1, 2), "(0-2)"),
            "+CSCS": self.forms(
                write=self._set_cscs,
                read=lambda command: [f'+CSCS: "{self.settings.charset}"'],
                test=["+CSCS: (" + ",".join(f'"{c}"' for c in profile.charsets) + ")"],
            ),
            "+CFUN": self.forms(
                write=self._set_cfun,
                read=lambda command: [f"+CFUN: {self.device.functionality}"],
                test=["+CFUN: (0,1,4),(0,1)"],
            ),
        }
        if profile.noise_urcs:  # Huawei: AT^CURC=0 stops the periodic ^RSSI & co.
            handlers["^CURC"] = self.mode("curc", (0, 1), "(0-1)", prefix="^")
        return handlers

    def _basic_arg(self, command: Command, allowed: tuple[int, ...]) -> int:
        return int_arg(command.arg(0) or "0", allowed)

    def _cmd_echo(self, command: Command) -> None:
        self.settings.echo = bool(self._basic_arg(command, (0, 1)))

    def _cmd_reset(self, command: Command) -> None:
        self._basic_arg(command, (0,))
        self.settings.restore_profile(self.profile)

    def _cmd_ati(self, command: Command) -> list[str]:
        self._basic_arg(command, (0,))
        return self.profile.ati_lines()

    def _cmd_verbose(self, command: Command) -> None:
        # Only verbose result codes (V1) are simulated; ATV0 is refused rather than ignored.
        if int_arg(command.arg(0) or "0", (0, 1)) != 1:
            raise AtError("CME", 4)

    def _cmd_quiet(self, command: Command) -> None:
        if self._basic_arg(command, (0, 1)) != 0:
            raise AtError("CME", 4)

    def _set_cscs(self, command: Command) -> None:
        name = string_arg(command.arg(0)).upper()
        if name not in self.profile.charsets:
            raise AtError("CME", 50)
        self.settings.charset = name

    def _set_cfun(self, command: Command) -> None:
        if not 1 <= len(command.args) <= 2:
            raise self.unknown()
        level = int_arg(command.arg(0), (0, 1, 4))
        reset = int_arg(command.arg(1) or "0", (0, 1))
        if reset:
            if level != 1:
                raise AtError("CME", 50)
            self.device.restart()  # OK first, then the modem reboots
            return
        self.device.set_functionality(level)
