"""The simulated modem's behaviour: a state machine fed with the bytes the host writes.

:class:`ModemEngine` turns received bytes into echo, command lines and AT+CMGS bodies, and
answers with the framing real modems use (verbose mode, V1; see
/work/shared/reference/modem-behaviour.md): information lines and final results framed
``\\r\\n<text>\\r\\n``, the 4-byte ``\\r\\n> `` prompt of AT+CMGS, and ``+CMGS: <mr>``
after a configurable network latency. What each command means is
:class:`~hil.at_commands.ModemCommands`; this module does no I/O and owns no thread (that is
:class:`hil.simulator.SimulatedModem`).
"""

from __future__ import annotations

import collections
import enum
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hil.at_commands import AtError, ModemCommands, ModemSettings, SendPrompt
from hil.at_parser import AtSyntaxError, command_body, parse_body
from hil.profiles import ModemProfile

__all__ = ["ModemEngine", "Out", "SentPDU", "TimerHandle", "tpdu_length"]

CR, LF, BS, CTRL_Z, ESC = 0x0D, 0x0A, 0x08, 0x1A, 0x1B
PROMPT = b"\r\n> "
MAX_LINE = 2048  # longest command line kept; longer lines answer ERROR
MAX_BODY = 1024  # longest PDU body (hex characters) kept; longer bodies answer +CMS ERROR: 304


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


class TimerHandle(Protocol):
    """What ``call_later`` returns: the engine cancels a pending reply when the modem hangs."""

    def cancel(self) -> None: ...


class _Phase(enum.Enum):
    COMMAND = "command"  # collecting a command line
    BUSY = "busy"  # a reply is scheduled; received bytes wait in the inbox
    BODY = "body"  # the prompt is out; collecting the PDU up to Ctrl-Z / ESC


class _Bounded:
    """Received bytes kept up to ``limit``; past it a modem only remembers it overflowed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.overflow = False

    def add(self, byte: int) -> None:
        if len(self.data) < self.limit:
            self.data.append(byte)
        else:
            self.overflow = True

    def take(self) -> tuple[bytes, bool]:
        """The bytes kept and whether any were lost; the buffer starts over."""
        kept = bytes(self.data), self.overflow
        self.clear()
        return kept

    def clear(self) -> None:
        self.data.clear()
        self.overflow = False


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
        self._commands = ModemCommands(profile)
        self._emit = emit
        self._call_later = call_later
        self._on_sent = on_sent or (lambda sent: None)
        self._on_command = on_command or (lambda line: None)
        self._phase = _Phase.COMMAND
        self._inbox = bytearray()  # received, not yet processed (while BUSY)
        self._line = _Bounded(MAX_LINE)
        self._body = _Bounded(MAX_BODY)
        self._send_length = 0
        self._timer: TimerHandle | None = None
        self._send_failures: collections.deque[int] = collections.deque()

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
        self._body.clear()

    @property
    def busy(self) -> bool:
        return self._phase is _Phase.BUSY

    @property
    def settings(self) -> ModemSettings:
        """The modem's current settings (the command set owns and changes them)."""
        return self._commands.settings

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
                line, overflow = self._line.take()
                del inbox[: i + 1]
                self._echo(echo)
                self._handle_line(line, overflow)
                return
            if b == BS:
                if self._line.data:
                    self._line.data.pop()
            else:
                self._line.add(b)
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
                self._respond([], "OK")
                return
            echo.append(b)
            self._body.add(b)
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
            self._respond([], self._commands.error_text(self._commands.unknown()))
            return
        blocks: list[list[str]] = []
        for command in commands:
            try:
                result = self._commands.run(command)
            except AtError as error:
                self._respond(blocks, self._commands.error_text(error))
                return
            if isinstance(result, SendPrompt):  # AT+CMGS ends the line
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
            self._send_length = length
            self._pump()

        self._schedule(self.latency, prompt)

    def _submit(self) -> None:
        raw, overflow = self._body.take()
        text = raw.decode("latin-1")
        length = self._send_length
        try:
            valid = not overflow and tpdu_length(text) == length
        except ValueError:
            valid = False
        if not valid:
            final = self._commands.error_text(AtError("CMS", 304))
            self._respond([], final, kind=Out.SEND_RESULT)
            return
        if self._send_failures:
            code = self._send_failures.popleft()
            final = self._commands.error_text(AtError("CMS", code))
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
