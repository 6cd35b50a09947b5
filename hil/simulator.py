"""A simulated GSM modem on a pseudo-terminal, speaking AT like a SIM800/SIM7600/EC25/Huawei.

Clients (the appliance's driver, pyserial, minicom, gammu) open :attr:`SimulatedModem.path`
like a real serial port. The modem answers in verbose mode (V1) with the framing real modems
use (see /work/shared/reference/modem-behaviour.md): echo on after power-up, information
lines and final results framed ``\\r\\n<text>\\r\\n``, the 4-byte ``\\r\\n> `` prompt of AT+CMGS,
and ``+CMGS: <mr>`` after a configurable network latency.

Layout:

* :class:`ModemEngine` is the modem's behaviour: a state machine fed with received bytes.
  It does no I/O and owns no thread; output goes to an ``emit(kind, data)`` callback and
  delays to a ``call_later(delay, callback)`` scheduler. Per-model differences come from a
  :class:`~hil.profiles.ModemProfile`.
* :class:`SimulatedModem` owns the pty, a background thread that waits with ``select()`` on
  the pty master and a wake pipe (timeout = the next timer), a small timer heap, the record
  of sent PDUs, and the fault hooks.

Every output byte passes through :meth:`SimulatedModem._emit` tagged with an :class:`Out`
kind (echo, response, prompt, send result): that is where later faults (URCs injected at a
chosen position, garbage, chunked output, reboots) plug in.

Run ``python -m hil.simulator --help`` for the command line.
"""

from __future__ import annotations

import argparse
import collections
import enum
import errno
import heapq
import itertools
import json
import logging
import os
import re
import select
import signal
import sys
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from appliance.modem.errors import CMS_TEXT
from hil.at_parser import AtSyntaxError, Command, Form, command_body, parse_body, unquote
from hil.profiles import PROFILES, ModemProfile, get_profile, parse_ranges

__all__ = [
    "CME_TEXT",
    "CMS_TEXT",
    "AtError",
    "ModemEngine",
    "ModemSettings",
    "Out",
    "SentPDU",
    "SimulatedModem",
    "main",
    "tpdu_length",
]

log = logging.getLogger("hil.simulator")

CR, LF, BS, CTRL_Z, ESC = 0x0D, 0x0A, 0x08, 0x1A, 0x1B
PROMPT = b"\r\n> "
MAX_LINE = 2048  # longest command line kept; longer lines answer ERROR
MAX_BODY = 1024  # longest PDU body (hex characters) kept; longer bodies answer +CMS ERROR: 304

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


@dataclass(frozen=True)
class SentPDU:
    """One PDU the modem accepted with AT+CMGS and answered ``+CMGS: <reference>``."""

    pdu: str  # upper-case hex, including the SMSC part
    length: int  # the <length> of AT+CMGS (TPDU octets)
    reference: int  # the message reference answered (+CMGS: <mr>), 0-255
    time: float  # time.time() when the modem answered


class Out(enum.Enum):
    """What a piece of output is (the position a fault hook can target)."""

    ECHO = "echo"  # received bytes echoed back
    RESPONSE = "response"  # information lines + final result of a command line
    PROMPT = "prompt"  # the "\r\n> " of AT+CMGS
    SEND_RESULT = "send_result"  # "+CMGS: <mr>" + OK, or +CMS ERROR, after the Ctrl-Z


class AtError(Exception):
    """A command fails. ``family`` is ``"CME"``, ``"CMS"`` or ``"PLAIN"`` (always ERROR)."""

    def __init__(self, family: str, code: int = 0) -> None:
        super().__init__(f"{family} {code}")
        self.family = family
        self.code = code


def tpdu_length(pdu_hex: str) -> int:
    """The TPDU length of a hex PDU that starts with its SMSC part (what AT+CMGS expects).

    The first octet is the SMSC length L (``00`` = use AT+CSCA), so the TPDU has
    ``octets - 1 - L`` octets. Raises :class:`ValueError` for non-hex, odd length, or an
    SMSC part that leaves no TPDU.
    """
    if not pdu_hex or len(pdu_hex) % 2 or not re.fullmatch(r"[0-9A-Fa-f]+", pdu_hex):
        raise ValueError("a PDU is a non-empty even number of hex digits")
    octets = len(pdu_hex) // 2
    smsc_length = int(pdu_hex[:2], 16)
    tpdu = octets - 1 - smsc_length
    if tpdu < 1:
        raise ValueError(f"SMSC length {smsc_length} leaves no TPDU in {octets} octets")
    return tpdu


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


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class _Phase(enum.Enum):
    COMMAND = "command"  # collecting a command line
    BUSY = "busy"  # a reply is scheduled; received bytes wait in the inbox
    BODY = "body"  # the prompt is out; collecting the PDU up to Ctrl-Z / ESC


@dataclass(frozen=True)
class _Prompt:
    length: int


Handler = Callable[[Command], "list[str] | _Prompt | None"]


class ModemEngine:
    """The behaviour of one modem, fed with the bytes the host writes.

    Not thread-safe: the owner serialises calls (``SimulatedModem`` holds its lock).

    * ``emit(kind, data)`` receives every output byte, tagged with an :class:`Out` kind.
    * ``call_later(delay, callback)`` schedules a callback and returns a handle with
      ``cancel()``.
    * ``on_sent(SentPDU)`` is called when a send succeeds, before its ``+CMGS`` is emitted.
    * ``on_command(line)`` is called with every received AT command line.

    Echo is immediate; the reply to a command line comes ``latency`` seconds after its
    ``\\r``, the AT+CMGS prompt ``latency`` seconds after the command, and the send result
    ``send_latency`` seconds after the Ctrl-Z. Bytes received while a reply is pending are
    kept and processed (and echoed) after it, in order.
    """

    def __init__(
        self,
        profile: ModemProfile,
        *,
        emit: Callable[[Out, bytes], None],
        call_later: Callable[[float, Callable[[], None]], TimerHandle],
        on_sent: Callable[[SentPDU], None] | None = None,
        on_command: Callable[[str], None] | None = None,
        latency: float = 0.0,
        send_latency: float | None = None,
        first_reference: int = 0,
    ) -> None:
        if latency < 0 or (send_latency is not None and send_latency < 0):
            raise ValueError("latencies must be >= 0")
        if not 0 <= first_reference <= 255:
            raise ValueError("first_reference must be within 0-255")
        self.profile = profile
        self.latency = float(latency)
        self.send_latency = self.latency if send_latency is None else float(send_latency)
        self.next_reference = first_reference
        self.settings = ModemSettings.power_up(profile)
        self._emit = emit
        self._call_later = call_later
        self._on_sent = on_sent or (lambda sent: None)
        self._on_command = on_command or (lambda line: None)
        self._phase = _Phase.COMMAND
        self._inbox = bytearray()  # received, not yet processed (while BUSY)
        self._line = bytearray()
        self._line_overflow = False
        self._body = bytearray()
        self._body_overflow = False
        self._send_length = 0
        self._timer: TimerHandle | None = None
        self._send_failures: collections.deque[int] = collections.deque()
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
            "+CMEE": self._cmd_cmee,
            "+CPIN": self._cmd_cpin,
            "+CSQ": self._cmd_csq,
            "+CREG": self._cmd_creg,
            "+COPS": self._cmd_cops,
            "+CMGF": self._cmd_cmgf,
            "+CSCA": self._cmd_csca,
            "+CNMI": self._cmd_cnmi,
            "+CPMS": self._cmd_cpms,
            "+CSMS": self._cmd_csms,
            "+CMGL": self._cmd_cmgl,
            "+CMGD": self._cmd_cmgd,
            "+CSCS": self._cmd_cscs,
            "+CMGS": self._cmd_cmgs,
        }

    # ----------------------------------------------------------------- input and control

    def feed(self, data: bytes) -> None:
        """Bytes written by the host."""
        self._inbox += data
        self._pump()

    def fail_next_send(self, cms_code: int) -> None:
        """The next accepted PDU is answered ``+CMS ERROR: <cms_code>`` (queued per call)."""
        self._send_failures.append(int(cms_code))

    def hang(self) -> None:
        """Forget everything in progress (pending reply, partial line, PDU, queued input)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._phase = _Phase.COMMAND
        self._inbox.clear()
        self._line.clear()
        self._line_overflow = False
        self._body.clear()
        self._body_overflow = False

    @property
    def busy(self) -> bool:
        return self._phase is _Phase.BUSY

    # ----------------------------------------------------------------- byte processing

    def _pump(self) -> None:
        while self._inbox and self._phase is not _Phase.BUSY:
            if self._phase is _Phase.COMMAND:
                self._pump_command()
            else:
                self._pump_body()

    def _echo(self, data: bytes | bytearray) -> None:
        if data and self.settings.echo:
            self._emit(Out.ECHO, bytes(data))

    def _pump_command(self) -> None:
        inbox = self._inbox
        echo = bytearray()
        for i, b in enumerate(inbox):
            if b == LF:  # a lone LF (or the LF of CR LF) is ignored entirely
                continue
            echo.append(b)
            if b == CR:
                line = bytes(self._line)
                overflow = self._line_overflow
                self._line.clear()
                self._line_overflow = False
                del inbox[: i + 1]
                self._echo(echo)
                self._handle_line(line, overflow)
                return
            if b == BS:
                if self._line:
                    self._line.pop()
            elif len(self._line) < MAX_LINE:
                self._line.append(b)
            else:
                self._line_overflow = True
        inbox.clear()
        self._echo(echo)

    def _pump_body(self) -> None:
        inbox = self._inbox
        echo = bytearray()
        for i, b in enumerate(inbox):
            if b == CTRL_Z:
                echo.append(b)
                del inbox[: i + 1]
                self._echo(echo)
                self._submit()
                return
            if b == ESC:  # abort: the ESC itself is not echoed
                del inbox[: i + 1]
                self._echo(echo)
                self._body.clear()
                self._body_overflow = False
                self._respond([], "OK")
                return
            echo.append(b)
            if len(self._body) < MAX_BODY:
                self._body.append(b)
            else:
                self._body_overflow = True
        inbox.clear()
        self._echo(echo)

    # ----------------------------------------------------------------- command lines

    def _handle_line(self, raw: bytes, overflow: bool) -> None:
        text = raw.decode("latin-1")
        body = command_body(text)
        if body is None:  # empty line or noise without "AT": a modem ignores it
            return
        self._on_command(text.strip())
        if overflow:
            self._respond([], "ERROR")
            return
        try:
            commands = parse_body(body)
        except AtSyntaxError:
            self._respond([], self._error_text(self._unknown()))
            return
        blocks: list[list[str]] = []
        for command in commands:
            handler = self._handlers.get(command.name)
            try:
                if handler is None:
                    raise self._unknown()
                result = handler(command)
            except AtError as error:
                self._respond(blocks, self._error_text(error))
                return
            if isinstance(result, _Prompt):  # AT+CMGS ends the line
                self._start_send(blocks, result.length)
                return
            if result:
                blocks.append(result)
        self._respond(blocks, "OK")

    @staticmethod
    def _frame(blocks: list[list[str]], final: str | None) -> bytes:
        """Verbose framing: each response ``\\r\\n<line>[\\r\\n<line>...]\\r\\n``, then
        the final result ``\\r\\n<final>\\r\\n``."""
        parts = [b"\r\n" + "\r\n".join(lines).encode("latin-1") + b"\r\n" for lines in blocks]
        if final is not None:
            parts.append(b"\r\n" + final.encode("latin-1") + b"\r\n")
        return b"".join(parts)

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
        self._phase = _Phase.BUSY
        self._timer = self._call_later(delay, callback)

    def _respond(
        self,
        blocks: list[list[str]],
        final: str,
        *,
        delay: float | None = None,
        kind: Out = Out.RESPONSE,
    ) -> None:
        data = self._frame(blocks, final)

        def reply() -> None:
            self._timer = None
            self._emit(kind, data)
            self._phase = _Phase.COMMAND
            self._pump()

        self._schedule(self.latency if delay is None else delay, reply)

    def _error_text(self, error: AtError) -> str:
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

    def _unknown(self) -> AtError:
        if self.profile.unknown_command_error == "plain":
            return AtError("PLAIN")
        return AtError("CME", 100)

    # ----------------------------------------------------------------- sending

    def _start_send(self, blocks: list[list[str]], length: int) -> None:
        before = self._frame(blocks, None)

        def prompt() -> None:
            self._timer = None
            if before:
                self._emit(Out.RESPONSE, before)
            self._emit(Out.PROMPT, PROMPT)
            self._phase = _Phase.BODY
            self._body.clear()
            self._body_overflow = False
            self._send_length = length
            self._pump()

        self._schedule(self.latency, prompt)

    def _submit(self) -> None:
        text = self._body.decode("latin-1")
        overflow = self._body_overflow
        self._body.clear()
        self._body_overflow = False
        length = self._send_length
        try:
            valid = not overflow and tpdu_length(text) == length
        except ValueError:
            valid = False
        if not valid:
            self._respond([], self._error_text(AtError("CMS", 304)), kind=Out.SEND_RESULT)
            return
        if self._send_failures:
            code = self._send_failures.popleft()
            final = self._error_text(AtError("CMS", code))
            self._respond([], final, delay=self.send_latency, kind=Out.SEND_RESULT)
            return
        pdu = text.upper()

        def accepted() -> None:
            self._timer = None
            reference = self.next_reference
            self.next_reference = (reference + 1) % 256
            self._on_sent(SentPDU(pdu=pdu, length=length, reference=reference, time=time.time()))
            self._emit(Out.SEND_RESULT, self._frame([[f"+CMGS: {reference}"]], "OK"))
            self._phase = _Phase.COMMAND
            self._pump()

        self._schedule(self.send_latency, accepted)

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
            raise self._unknown()

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

    def _cmd_cmee(self, command: Command) -> list[str] | None:
        if command.form is Form.SET:
            self.settings.cmee = self._int(command.arg(0), (0, 1, 2))
            return None
        if command.form is Form.EXEC:
            self.settings.cmee = 0
            return None
        if command.form is Form.READ:
            return [f"+CMEE: {self.settings.cmee}"]
        return ["+CMEE: (0-2)"]

    def _cmd_cpin(self, command: Command) -> list[str] | None:
        if command.form is Form.READ:
            return ["+CPIN: READY"]
        if command.form is Form.TEST:
            return []
        if command.form is Form.SET:  # entering a PIN when none is asked for
            raise AtError("CME", 3)
        raise self._unknown()

    def _cmd_csq(self, command: Command) -> list[str]:
        if command.form is Form.EXEC:
            rssi, ber = self.profile.csq
            return [f"+CSQ: {rssi},{ber}"]
        if command.form is Form.TEST:
            return ["+CSQ: (0-31,99),(0-7,99)"]
        raise self._unknown()

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
        raise self._unknown()

    def _cmd_cops(self, command: Command) -> list[str]:
        if command.form is Form.READ:
            line = f'+COPS: 0,0,"{self.profile.operator}"'
            if self.profile.cops_act is not None:
                line += f",{self.profile.cops_act}"
            return [line]
        raise self._unknown()

    # ----------------------------------------------------------------- 27.005 commands

    def _cmd_cmgf(self, command: Command) -> list[str] | None:
        if command.form is Form.SET:
            self.settings.cmgf = self._int(command.arg(0), (0, 1))
            return None
        if command.form is Form.EXEC:
            self.settings.cmgf = 0
            return None
        if command.form is Form.READ:
            return [f"+CMGF: {self.settings.cmgf}"]
        return ["+CMGF: (0,1)"]

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
        raise self._unknown()

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
        raise self._unknown()

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
        raise self._unknown()

    def _cmd_csms(self, command: Command) -> list[str]:
        if command.form is Form.SET:
            self.settings.csms = self._int(command.arg(0), (0, 1))
            return ["+CSMS: 1,1,1"]
        if command.form is Form.READ:
            return [f"+CSMS: {self.settings.csms},1,1,1"]
        if command.form is Form.TEST:
            return ["+CSMS: (0,1)"]
        raise self._unknown()

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
        raise self._unknown()

    def _cmd_cmgd(self, command: Command) -> list[str] | None:
        if command.form is Form.TEST:
            return ["+CMGD: (),(0-4)"]
        if command.form is not Form.SET:
            raise self._unknown()
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
        raise self._unknown()

    def _cmd_cmgs(self, command: Command) -> list[str] | _Prompt | None:
        if command.form is Form.TEST:
            return []
        if command.form is not Form.SET:
            raise self._unknown()
        if self.settings.cmgf == 1:  # text mode is not simulated in this cut
            raise AtError("CMS", 302)
        token = command.arg(0)
        if len(command.args) != 1 or token is None or not token.isdigit():
            raise AtError("CMS", 304)
        length = int(token)
        if not 1 <= length <= self.profile.max_tpdu_length:
            raise AtError("CMS", 304)
        return _Prompt(length)


# --------------------------------------------------------------------------- I/O side


class _Timer:
    __slots__ = ("due", "callback", "cancelled")

    def __init__(self, due: float, callback: Callable[[], None]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _TimerHeap:
    """Callbacks due at monotonic times; the I/O loop sleeps in select() until the next."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(self._clock() + max(0.0, delay), callback)
        heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
        return timer

    def next_due(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_due(self) -> None:
        while self._heap and self._heap[0][0] <= self._clock():
            _, _, timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                timer.cancelled = True  # fired: a late cancel() is harmless
                timer.callback()


def _make_raw(fd: int) -> None:
    """cfmakeraw(): no echo, no canonical mode, no CR/LF translation, 8 bits, 115200 Bd."""
    attrs = termios.tcgetattr(fd)
    iflag, oflag, cflag, lflag, _ispeed, _ospeed, cc = attrs
    iflag &= ~(
        termios.IGNBRK
        | termios.BRKINT
        | termios.PARMRK
        | termios.ISTRIP
        | termios.INLCR
        | termios.IGNCR
        | termios.ICRNL
        | termios.IXON
        | termios.IXOFF
    )
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB)
    cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    speed = termios.B115200
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, speed, speed, cc])


class SimulatedModem:
    """A simulated modem on a pty, served by a background thread.

    >>> with SimulatedModem(model="sim800") as modem:   # doctest: +SKIP
    ...     port = serial.Serial(modem.path, 115200, timeout=1)
    ...     port.write(b"AT\\r"); port.read(9)           # b'AT\\r\\r\\nOK\\r\\n'

    ``latency`` delays every reply and the AT+CMGS prompt, ``send_latency`` (default: the
    same) the result of a send. ``record`` names a file that gets one JSON line per sent
    PDU, flushed at once. ``link`` names a symlink to the pty created on start and removed
    on stop. ``first_reference`` is the first ``+CMGS: <mr>``.
    """

    def __init__(
        self,
        *,
        model: str | ModemProfile = "sim800",
        latency: float = 0.0,
        send_latency: float | None = None,
        record: str | os.PathLike[str] | None = None,
        link: str | os.PathLike[str] | None = None,
        first_reference: int = 0,
    ) -> None:
        self.profile = get_profile(model)
        self._record_path = os.fspath(record) if record is not None else None
        self._link = os.path.abspath(os.fspath(link)) if link is not None else None
        self._cond = threading.Condition()
        self._sent: list[SentPDU] = []
        self._commands: list[str] = []
        self._timers = _TimerHeap()
        self._out = bytearray()
        self._silent = False
        self._engine = ModemEngine(
            self.profile,
            emit=self._emit,
            call_later=self._timers.call_later,
            on_sent=self._record_sent,
            on_command=self._commands.append,
            latency=latency,
            send_latency=send_latency,
            first_reference=first_reference,
        )
        self._master: int | None = None
        self._slave: int | None = None
        self._wake_r: int | None = None
        self._wake_w: int | None = None
        self._slave_name: str | None = None
        self._record_file = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._failure: BaseException | None = None

    # ----------------------------------------------------------------- public API

    @property
    def path(self) -> str:
        """The device clients open: the link if one was given, else the pty slave."""
        if self._link is not None:
            return self._link
        if self._slave_name is None:
            raise RuntimeError("the simulated modem is not started")
        return self._slave_name

    @property
    def device(self) -> str:
        """The pty slave device itself (``/dev/pts/N``)."""
        if self._slave_name is None:
            raise RuntimeError("the simulated modem is not started")
        return self._slave_name

    @property
    def sent(self) -> list[SentPDU]:
        """A snapshot of every PDU accepted so far, in order."""
        with self._cond:
            return list(self._sent)

    @property
    def commands(self) -> list[str]:
        """A snapshot of every AT command line received so far, without its terminator."""
        with self._cond:
            return list(self._commands)

    def start(self) -> SimulatedModem:
        if self._thread is not None:
            raise RuntimeError("the simulated modem was already started")
        try:
            self._master, self._slave = os.openpty()
            # Raw on both sides before any client can open the slave; our own slave fd stays
            # open until stop(), so clients closing the port never make the master read EIO.
            _make_raw(self._slave)
            _make_raw(self._master)
            os.set_blocking(self._master, False)
            self._slave_name = os.ttyname(self._slave)
            self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            if self._link is not None:
                self._create_link()
            if self._record_path is not None:
                self._record_file = open(self._record_path, "a", encoding="utf-8")
            self._thread = threading.Thread(
                target=self._run, name=f"hil-modem-{self.profile.key}", daemon=True
            )
            self._thread.start()
        except BaseException:
            self._release()
            raise
        return self

    def stop(self) -> None:
        """Stop the thread, close the pty and the record file, remove the link. Idempotent."""
        thread = self._thread
        if thread is None or self._stopping:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._wake()
        if thread is not threading.current_thread():
            thread.join()
        self._release()

    def wait_sent(self, count: int, timeout: float = 5.0) -> list[SentPDU]:
        """Wait until at least ``count`` PDUs were sent; return them all (a snapshot)."""
        with self._cond:
            done = self._cond.wait_for(
                lambda: len(self._sent) >= count or self._failure is not None or self._stopping,
                timeout,
            )
            if self._failure is not None:
                raise RuntimeError("the simulated modem's thread failed") from self._failure
            if not done or len(self._sent) < count:
                raise TimeoutError(
                    f"{len(self._sent)} PDU(s) sent, {count} expected within {timeout} s"
                )
            return list(self._sent)

    def fail_next_send(self, cms_code: int) -> None:
        """Answer the next send (after its PDU and Ctrl-Z) ``+CMS ERROR: <cms_code>``.

        Nothing is recorded and no message reference is used. Each call queues one failure.
        """
        if not isinstance(cms_code, int) or cms_code < 0:
            raise ValueError("cms_code must be a non-negative int")
        with self._cond:
            self._engine.fail_next_send(cms_code)

    def set_silent(self, silent: bool) -> None:
        """A hung modem: swallow all input and answer nothing.

        Going silent drops whatever was in progress (a scheduled reply, a half-written PDU,
        output not yet delivered), as a modem that locks up would; nothing is recorded.
        """
        with self._cond:
            self._silent = bool(silent)
            if self._silent:
                self._engine.hang()
                self._out.clear()
        self._wake()

    def __enter__(self) -> SimulatedModem:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._slave_name or "not started"
        return f"<SimulatedModem {self.profile.key} {where}>"

    # ----------------------------------------------------------------- hooks (lock held)

    def _emit(self, kind: Out, data: bytes) -> None:
        """Every byte the modem sends passes here, tagged with what it is.

        This is the fault hook point: URC injection before/after a given kind, garbage,
        chunked delivery and reboots plug in here. Called with the lock held.
        """
        if self._silent:
            return
        self._out += data

    def _record_sent(self, sent: SentPDU) -> None:
        self._sent.append(sent)
        if self._record_file is not None:
            line = {"time": sent.time, "length": sent.length,
                    "reference": sent.reference, "pdu": sent.pdu}
            self._record_file.write(json.dumps(line, separators=(",", ":")) + "\n")
            self._record_file.flush()
        self._cond.notify_all()

    # ----------------------------------------------------------------- the I/O thread

    def _wake(self) -> None:
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b"\0")
            except (BlockingIOError, OSError):
                pass  # the pipe is full (a wake-up is pending anyway) or already closed

    def _flush_locked(self) -> None:
        assert self._master is not None
        while self._out:
            try:
                written = os.write(self._master, self._out)
            except BlockingIOError:
                return  # the slave's input queue is full; select() says when to go on
            del self._out[:written]

    def _run(self) -> None:
        master, wake_r = self._master, self._wake_r
        assert master is not None and wake_r is not None
        try:
            while True:
                with self._cond:
                    if self._stopping:
                        return
                    self._timers.run_due()
                    self._flush_locked()
                    due = self._timers.next_due()
                    writing = bool(self._out)
                timeout = None if due is None else max(0.0, due - time.monotonic())
                readable, _, _ = select.select(
                    [master, wake_r], [master] if writing else [], [], timeout
                )
                if wake_r in readable:
                    try:
                        while os.read(wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                if master in readable:
                    try:
                        data = os.read(master, 4096)
                    except BlockingIOError:
                        data = b""
                    if data:
                        with self._cond:
                            if not self._silent and not self._stopping:
                                self._engine.feed(data)
        except OSError as error:
            if error.errno == errno.EIO:
                log.error("pty master read EIO (slave closed?): the modem stops")
            else:
                log.exception("the simulated modem's thread failed")
            self._fail(error)
        except BaseException as error:  # noqa: BLE001 - report, never die silently
            log.exception("the simulated modem's thread failed")
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        with self._cond:
            self._failure = error
            self._cond.notify_all()

    def _create_link(self) -> None:
        assert self._link is not None and self._slave_name is not None
        if os.path.lexists(self._link) and not os.path.islink(self._link):
            raise FileExistsError(f"{self._link} exists and is not a symlink")
        temporary = f"{self._link}.{os.getpid()}.{threading.get_ident()}.tmp"
        os.symlink(self._slave_name, temporary)
        os.replace(temporary, self._link)

    def _remove_link(self) -> None:
        if self._link is None or self._slave_name is None:
            return
        try:
            if os.readlink(self._link) == self._slave_name:
                os.unlink(self._link)
        except OSError:
            pass  # already gone or replaced by someone else: leave it

    def _release(self) -> None:
        self._remove_link()
        for name in ("_master", "_slave", "_wake_r", "_wake_w"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._record_file is not None:
            self._record_file.close()
            self._record_file = None


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hil.simulator",
        description="Serve a simulated GSM modem on a pty; print its device path, serve "
        "until SIGINT/SIGTERM.",
    )
    parser.add_argument("--model", choices=sorted(PROFILES), default="sim800")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="delay of every reply and of the AT+CMGS prompt (default 0)")
    parser.add_argument("--send-latency-ms", type=float, default=None,
                        help="delay of the +CMGS result after Ctrl-Z (default: --latency-ms)")
    parser.add_argument("--record", metavar="FILE",
                        help="append one JSON line per sent PDU to FILE")
    parser.add_argument("--link", metavar="PATH",
                        help="create a symlink PATH to the pty (removed on exit)")
    parser.add_argument("--first-reference", type=int, default=0, metavar="MR",
                        help="first +CMGS message reference (0-255, default 0)")
    args = parser.parse_args(argv)
    if args.latency_ms < 0 or (args.send_latency_ms is not None and args.send_latency_ms < 0):
        parser.error("latencies must be >= 0")
    if not 0 <= args.first_reference <= 255:
        parser.error("--first-reference must be within 0-255")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(name)s: %(levelname)s: %(message)s")

    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # Block the signals before the modem thread exists (it inherits the mask), then wait
    # for one synchronously: no handler runs in the middle of anything.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        modem = SimulatedModem(
            model=args.model,
            latency=args.latency_ms / 1000.0,
            send_latency=None if args.send_latency_ms is None else args.send_latency_ms / 1000.0,
            record=args.record,
            link=args.link,
            first_reference=args.first_reference,
        )
        modem.start()
        try:
            print(modem.path, flush=True)
            signal.sigwait(stop_signals)
        finally:
            modem.stop()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
