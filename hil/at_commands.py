"""What the simulated modem's AT commands mean: the settings they change and what they answer.

:class:`ModemCommands` runs one parsed :class:`~hil.at_parser.Command` at a time against a
:class:`ModemSettings` and answers its information lines, or raises :class:`AtError`; it
knows nothing of bytes, echo, framing or timing (that is :mod:`hil.engine`). Per-model
differences come from a :class:`~hil.profiles.ModemProfile`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.modem.errors import CMS_TEXT
from hil.at_parser import Command, Form, unquote
from hil.profiles import ModemProfile, parse_ranges

__all__ = ["CME_TEXT", "AtError", "ModemCommands", "ModemSettings", "SendPrompt"]

# Verbose texts (AT+CMEE=2). 27.007 §9.2 and 27.005 §3.2.5 plus 24.011 network causes.
CME_TEXT: dict[int, str] = {
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    13: "SIM failure",
    14: "SIM busy",
    30: "no network service",
    50: "incorrect parameters",
    100: "unknown",
}

TEXT_MODE_STATS = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL")


class AtError(Exception):
    """A command fails. ``family`` is ``"CME"``, ``"CMS"`` or ``"PLAIN"`` (always ERROR)."""

    def __init__(self, family: str, code: int = 0) -> None:
        super().__init__(f"{family} {code}")
        self.family = family
        self.code = code


@dataclass
class ModemSettings:
    """The modem's mutable settings (what AT&F / ATZ restore)."""

    echo: bool
    cmee: int
    cmgf: int
    creg: int
    cnmi: tuple[int, ...]
    charset: str
    csms: int
    storages: list[str]  # CPMS <mem1>, <mem2>, <mem3>
    smsc: tuple[str, int]

    @classmethod
    def power_up(cls, profile: ModemProfile) -> ModemSettings:
        first = profile.storages[0][0]
        return cls(
            echo=profile.echo_default,
            cmee=profile.cmee_default,
            cmgf=0,
            creg=0,
            cnmi=profile.cnmi_default,
            charset=profile.charset_default,
            csms=0,
            storages=[first, first, first],
            smsc=profile.smsc,
        )

    def restore_profile(self, profile: ModemProfile) -> None:
        """ATZ / AT&F: back to the stored profile (SIM-held values such as CSCA stay)."""
        fresh = ModemSettings.power_up(profile)
        self.echo = fresh.echo
        self.cmee = fresh.cmee
        self.cmgf = fresh.cmgf
        self.creg = fresh.creg
        self.cnmi = fresh.cnmi
        self.charset = fresh.charset
        self.csms = fresh.csms


@dataclass(frozen=True)
class SendPrompt:
    """AT+CMGS was accepted: the line ends here and a TPDU of ``length`` octets follows."""

    length: int


Handler = Callable[[Command], "list[str] | SendPrompt | None"]


class ModemCommands:
    """The AT commands of one modem, run one at a time against its settings.

    :meth:`run` answers a command's information lines (``None`` or ``[]``: none), or a
    :class:`SendPrompt` for AT+CMGS, or raises :class:`AtError`. Not thread-safe: the
    engine that owns it serialises calls.
    """

    def __init__(self, profile: ModemProfile) -> None:
        self.profile = profile
        self.settings = ModemSettings.power_up(profile)
        self._cnmi_ranges = parse_ranges(profile.cnmi_ranges)
        self._handlers: dict[str, Handler] = {
            "E": self._cmd_echo,
            "Z": self._cmd_reset,
            "&F": self._cmd_reset,
            "I": self._cmd_ati,
            "V": self._cmd_verbose,
            "Q": self._cmd_quiet,
            "+CGMI": self._identity(lambda: profile.manufacturer),
            "+GMI": self._identity(lambda: profile.manufacturer),
            "+CGMM": self._identity(lambda: profile.model),
            "+GMM": self._identity(lambda: profile.model),
            "+CGMR": self._identity(lambda: profile.revision),
            "+GMR": self._identity(lambda: profile.revision),
            "+CGSN": self._identity(lambda: profile.imei),
            "+GSN": self._identity(lambda: profile.imei),
            "+CIMI": self._identity(lambda: profile.imsi),
            "+CMEE": self._mode("cmee", (0, 1, 2), "(0-2)"),
            "+CPIN": self._cmd_cpin,
            "+CSQ": self._cmd_csq,
            "+CREG": self._cmd_creg,
            "+COPS": self._cmd_cops,
            "+CMGF": self._mode("cmgf", (0, 1), "(0,1)"),
            "+CSCA": self._cmd_csca,
            "+CNMI": self._cmd_cnmi,
            "+CPMS": self._cmd_cpms,
            "+CSMS": self._cmd_csms,
            "+CMGL": self._cmd_cmgl,
            "+CMGD": self._cmd_cmgd,
            "+CSCS": self._cmd_cscs,
            "+CMGS": self._cmd_cmgs,
        }

    def run(self, command: Command) -> list[str] | SendPrompt | None:
        """Run one command; raises :class:`AtError` if it fails or is unknown."""
        handler = self._handlers.get(command.name)
        if handler is None:
            raise self.unknown()
        return handler(command)

    def error_text(self, error: AtError) -> str:
        """The final result code of a failed command, as the current AT+CMEE asks."""
        cmee = self.settings.cmee
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
        return "ERROR"

    def unknown(self) -> AtError:
        """The error of an unknown command or form, in this model's style."""
        if self.profile.unknown_command_error == "plain":
            return AtError("PLAIN")
        return AtError("CME", 100)

    # ----------------------------------------------------------------- argument helpers

    @staticmethod
    def _int(token: str | None, allowed: range | frozenset[int] | tuple[int, ...]) -> int:
        if token is None or not token.isdigit():
            raise AtError("CME", 50)
        value = int(token)
        if value not in allowed:
            raise AtError("CME", 50)
        return value

    @staticmethod
    def _string(token: str | None) -> str:
        if token is None or not (len(token) >= 2 and token[0] == token[-1] == '"'):
            raise AtError("CME", 50)
        return token[1:-1]

    def _identity(self, value: Callable[[], str]) -> Handler:
        def handler(command: Command) -> list[str]:
            if command.form is Form.EXEC:
                return [value()]
            if command.form is Form.TEST:
                return []
            raise self.unknown()

        return handler

    def _mode(self, field: str, allowed: tuple[int, ...], ranges: str) -> Handler:
        """AT+CMEE and AT+CMGF: a number that SET chooses, EXEC resets to 0, READ shows and
        TEST lists as ``ranges``; ``field`` names both the setting and the command."""
        name = "+" + field.upper()

        def handler(command: Command) -> list[str] | None:
            if command.form is Form.SET:
                setattr(self.settings, field, self._int(command.arg(0), allowed))
                return None
            if command.form is Form.EXEC:
                setattr(self.settings, field, 0)
                return None
            if command.form is Form.READ:
                return [f"{name}: {getattr(self.settings, field)}"]
            return [f"{name}: {ranges}"]

        return handler

    # ----------------------------------------------------------------- basic commands

    def _basic_arg(self, command: Command, allowed: tuple[int, ...]) -> int:
        return self._int(command.arg(0) or "0", allowed)

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
        if self._int(command.arg(0) or "0", (0, 1)) != 1:
            raise AtError("CME", 4)

    def _cmd_quiet(self, command: Command) -> None:
        if self._basic_arg(command, (0, 1)) != 0:
            raise AtError("CME", 4)

    # ----------------------------------------------------------------- 27.007 commands

    def _cmd_cpin(self, command: Command) -> list[str] | None:
        if command.form is Form.READ:
            return ["+CPIN: READY"]
        if command.form is Form.TEST:
            return []
        if command.form is Form.SET:  # entering a PIN when none is asked for
            raise AtError("CME", 3)
        raise self.unknown()

    def _cmd_csq(self, command: Command) -> list[str]:
        if command.form is Form.EXEC:
            rssi, ber = self.profile.csq
            return [f"+CSQ: {rssi},{ber}"]
        if command.form is Form.TEST:
            return ["+CSQ: (0-31,99),(0-7,99)"]
        raise self.unknown()

    def _cmd_creg(self, command: Command) -> list[str] | None:
        if command.form is Form.SET:
            self.settings.creg = self._int(command.arg(0), (0, 1, 2))
            return None
        if command.form is Form.READ:
            n = self.settings.creg
            if n < 2:
                return [f"+CREG: {n},1"]
            line = f'+CREG: 2,1,"{self.profile.lac}","{self.profile.cell_id}"'
            if self.profile.creg_act is not None:
                line += f",{self.profile.creg_act}"
            return [line]
        if command.form is Form.TEST:
            return ["+CREG: (0-2)"]
        raise self.unknown()

    def _cmd_cops(self, command: Command) -> list[str]:
        if command.form is Form.READ:
            line = f'+COPS: 0,0,"{self.profile.operator}"'
            if self.profile.cops_act is not None:
                line += f",{self.profile.cops_act}"
            return [line]
        raise self.unknown()

    # ----------------------------------------------------------------- 27.005 commands

    def _cmd_csca(self, command: Command) -> list[str] | None:
        if command.form is Form.READ:
            number, kind = self.settings.smsc
            return [f'+CSCA: "{number}",{kind}']
        if command.form is Form.TEST:
            return []
        if command.form is Form.SET:
            if len(command.args) > 2:
                raise AtError("CME", 50)
            number = self._string(command.arg(0))
            if command.arg(1) is None:
                kind = 145 if number.startswith("+") else 129
            else:
                kind = self._int(command.arg(1), range(128, 256))
            self.settings.smsc = (number, kind)
            return None
        raise self.unknown()

    def _cmd_cnmi(self, command: Command) -> list[str] | None:
        if command.form is Form.SET:
            if not 1 <= len(command.args) <= len(self._cnmi_ranges):
                raise AtError("CME", 50)
            values = list(self.settings.cnmi)
            for i, token in enumerate(command.args):
                if token is not None:
                    values[i] = self._int(token, self._cnmi_ranges[i])
            self.settings.cnmi = tuple(values)
            return None
        if command.form is Form.READ:
            return ["+CNMI: " + ",".join(str(v) for v in self.settings.cnmi)]
        if command.form is Form.TEST:
            return [f"+CNMI: {self.profile.cnmi_ranges}"]
        raise self.unknown()

    def _cpms_counts(self) -> str:
        # No message store yet: every storage is empty.
        return ",".join(
            f"0,{self.profile.storage_size(name)}" for name in self.settings.storages
        )

    def _cmd_cpms(self, command: Command) -> list[str]:
        if command.form is Form.SET:
            if not 1 <= len(command.args) <= 3:
                raise AtError("CME", 50)
            chosen = list(self.settings.storages)
            for i, token in enumerate(command.args):
                if token is None:
                    continue
                name = (unquote(token) or "").upper()
                if self.profile.storage_size(name) is None:
                    raise AtError("CMS", 302)
                chosen[i] = name
            self.settings.storages = chosen
            return [f"+CPMS: {self._cpms_counts()}"]
        if command.form is Form.READ:
            parts = [
                f'"{name}",0,{self.profile.storage_size(name)}' for name in self.settings.storages
            ]
            return ["+CPMS: " + ",".join(parts)]
        if command.form is Form.TEST:
            names = "(" + ",".join(f'"{name}"' for name, _ in self.profile.storages) + ")"
            return [f"+CPMS: {names},{names},{names}"]
        raise self.unknown()

    def _cmd_csms(self, command: Command) -> list[str]:
        if command.form is Form.SET:
            self.settings.csms = self._int(command.arg(0), (0, 1))
            return ["+CSMS: 1,1,1"]
        if command.form is Form.READ:
            return [f"+CSMS: {self.settings.csms},1,1,1"]
        if command.form is Form.TEST:
            return ["+CSMS: (0,1)"]
        raise self.unknown()

    def _cmd_cmgl(self, command: Command) -> list[str] | None:
        text_mode = self.settings.cmgf == 1
        if command.form is Form.TEST:
            if text_mode:
                return ["+CMGL: (" + ",".join(f'"{s}"' for s in TEXT_MODE_STATS) + ")"]
            return ["+CMGL: (0-4)"]
        if command.form is Form.SET:
            if len(command.args) > 2:
                raise AtError("CME", 50)
            if text_mode:
                if self._string(command.arg(0)).upper() not in TEXT_MODE_STATS:
                    raise AtError("CME", 50)
            else:
                self._int(command.arg(0), range(5))
            if command.arg(1) is not None:
                self._int(command.arg(1), (0, 1))
            return None  # the store is empty: just OK
        if command.form is Form.EXEC:
            return None
        raise self.unknown()

    def _cmd_cmgd(self, command: Command) -> list[str] | None:
        if command.form is Form.TEST:
            return ["+CMGD: (),(0-4)"]
        if command.form is not Form.SET:
            raise self.unknown()
        if not 1 <= len(command.args) <= 2:
            raise AtError("CME", 50)
        index = self._int(command.arg(0), range(0, 100000))
        flag = 0 if command.arg(1) is None else self._int(command.arg(1), range(5))
        if flag == 0:
            size = self.profile.storage_size(self.settings.storages[0]) or 0
            first = self.profile.first_index
            if not first <= index < first + size:
                raise AtError("CMS", 321)
        return None  # deleting an empty slot, or bulk delete of an empty store: OK

    def _cmd_cscs(self, command: Command) -> list[str] | None:
        if command.form is Form.SET:
            name = self._string(command.arg(0)).upper()
            if name not in self.profile.charsets:
                raise AtError("CME", 50)
            self.settings.charset = name
            return None
        if command.form is Form.READ:
            return [f'+CSCS: "{self.settings.charset}"']
        if command.form is Form.TEST:
            return ["+CSCS: (" + ",".join(f'"{c}"' for c in self.profile.charsets) + ")"]
        raise self.unknown()

    def _cmd_cmgs(self, command: Command) -> list[str] | SendPrompt | None:
        if command.form is Form.TEST:
            return []
        if command.form is not Form.SET:
            raise self.unknown()
        if self.settings.cmgf == 1:  # text mode is not simulated in this cut
            raise AtError("CMS", 302)
        token = command.arg(0)
        if len(command.args) != 1 or token is None or not token.isdigit():
            raise AtError("CMS", 304)
        length = int(token)
        if not 1 <= length <= self.profile.max_tpdu_length:
            raise AtError("CMS", 304)
        return SendPrompt(length)

