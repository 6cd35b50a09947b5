"""The simulated modem's byte behaviour: a state machine fed with the bytes the host writes.

:class:`ModemEngine` turns received bytes into echo, command lines and prompt bodies
(AT+CMGS, AT+CMGW), and answers with the framing real modems use (verbose mode, V1; see
docs/modems.md §1): information lines and final results framed
``\\r\\n<text>\\r\\n``, the 4-byte ``\\r\\n> `` prompt, results that take time (a send)
after their delay, and unsolicited result codes between replies. What each command means
is :mod:`hil.at_commands` and its sibling groups, run against a :class:`~hil.device.Device`;
this module does no I/O and owns no thread (that is :class:`hil.simulator.SimulatedModem`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from hil.at_commands import (
    AtError,
    BasicCommands,
    Later,
    ModemCommands,
    ModemSettings,
    Prompt,
)
from hil.at_parser import AtSyntaxError, command_body, parse_body
from hil.device import Device, ModemOptions, TimerHandle
from hil.messaging import SentPDU
from hil.network import NetworkCommands
from hil.profiles import ModemProfile
from hil.sim import SimCommands
from hil.sms_commands import SmsCommands

__all__ = ["ModemEngine", "Out", "frame"]

CR, LF, BS, CTRL_Z, ESC = 0x0D, 0x0A, 0x08, 0x1A, 0x1B
PROMPT = b"\r\n> "
RING_URCS = ("+CMTI:", "+CMT:", "RING")  # what real modems pulse RI for
MAX_LINE = 2048  # longest command line kept; longer lines answer ERROR
MAX_BODY = 1024  # longest prompt body kept; longer bodies are refused
COMMAND_GROUPS = (BasicCommands, SimCommands, NetworkCommands, SmsCommands)


class Out(enum.Enum):
    """What a piece of output is (the position a fault hook can target)."""

    ECHO = "echo"  # received bytes echoed back
    RESPONSE = "response"  # information lines + final result of a command line
    PROMPT = "prompt"  # the "\r\n> " of AT+CMGS / AT+CMGW
    SEND_RESULT = "send_result"  # a result that took time: "+CMGS: <mr>" + OK, or an error
    URC = "urc"  # an unsolicited result code


def frame(blocks: list[list[str]], final: str | None) -> bytes:
    """Verbose framing: each response ``\\r\\n<line>[\\r\\n<line>...]\\r\\n``, then the final
    result ``\\r\\n<final>\\r\\n``. Characters outside Latin-1 become ``?``."""
    parts = [
        b"\r\n" + "\r\n".join(lines).encode("latin-1", "replace") + b"\r\n" for lines in blocks
    ]
    if final is not None:
        parts.append(b"\r\n" + final.encode("latin-1") + b"\r\n")
    return b"".join(parts)


class _Phase(enum.Enum):
    COMMAND = "command"  # collecting a command line
    BUSY = "busy"  # a reply is scheduled; received bytes wait in the inbox
    BODY = "body"  # the prompt is out; collecting the body up to Ctrl-Z / ESC
    OFF = "off"  # rebooting: input is lost, nothing is answered


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
    """The byte behaviour of one modem, fed with the bytes the host writes.

    Not thread-safe: the owner calls it on one thread (``SimulatedModem``: its loop's).

    * ``emit(kind, data)`` receives every output byte, tagged with an :class:`Out` kind.
    * ``call_later(delay, callback)`` schedules a callback and returns a handle with
      ``cancel()``.
    * ``on_sent(SentPDU)`` is called when a send succeeds, before its ``+CMGS`` is emitted.
    * ``on_command(line)`` is called with every received AT command line.
    * ``on_ring()`` is the RI line's falling edge: called with every ``+CMTI``/``+CMT``/``RING``.

    Echo is immediate; the reply to a command line comes ``options.latency`` seconds after
    its ``\\r``, the prompt as long after the command, and a send result
    ``options.send_latency`` seconds after the Ctrl-Z. Bytes received while a reply is
    pending are kept and processed (and echoed) after it, in order. URCs raised while a
    reply is pending or the prompt is open wait until the reply is out.
    """

    def __init__(
        self,
        profile: ModemProfile,
        *,
        emit: Callable[[Out, bytes], None],
        call_later: Callable[[float, Callable[[], None]], TimerHandle],
        on_sent: Callable[[SentPDU], None] | None = None,
        on_command: Callable[[str], None] | None = None,
        on_ring: Callable[[], None] | None = None,
        options: ModemOptions | None = None,
    ) -> None:
        self.profile = profile
        self.options = options or ModemOptions()
        self.device = Device(
            profile,
            self.options,
            urc=self.urc,
            call_later=call_later,
            on_sent=on_sent or (lambda sent: None),
            request_reboot=self._reboot_after_reply,
            reset=self.reboot,
        )
        self._commands = ModemCommands(self.device, COMMAND_GROUPS)
        self._emit = emit
        self._call_later = call_later
        self._on_command = on_command or (lambda line: None)
        self._on_ring = on_ring or (lambda: None)
        self._phase = _Phase.COMMAND
        self._inbox = bytearray()  # received, not yet processed (while BUSY)
        self._line = _Bounded(MAX_LINE)
        self._body = _Bounded(MAX_BODY)
        self._prompt: Prompt | None = None
        self._timer: TimerHandle | None = None
        self._held_urcs: list[bytes] = []  # raised while a reply was pending
        self._reboot_requested = False
        self._boot_timer: TimerHandle | None = None

    # ----------------------------------------------------------------- input and control

    def feed(self, data: bytes) -> None:
        """Bytes written by the host."""
        if self._phase is _Phase.OFF:
            return
        self._inbox += data
        self._pump()

    def urc(self, lines: list[str]) -> None:
        """An unsolicited result code: out now, or after the reply in progress. A new SMS
        pulses the RI line as it is raised (docs/modems.md §8)."""
        if self._phase is _Phase.OFF:
            return
        if lines[0].startswith(RING_URCS):
            self._on_ring()
        data = frame([lines], None)
        if self._phase in (_Phase.BUSY, _Phase.BODY):
            self._held_urcs.append(data)
        else:
            self._emit(Out.URC, data)

    def hang(self) -> None:
        """Forget everything in progress (pending reply, partial line, body, queued input)."""
        self._cancel_timer()
        if self._phase is not _Phase.OFF:
            self._phase = _Phase.COMMAND
        self._inbox.clear()
        self._line.clear()
        self._body.clear()
        self._held_urcs.clear()
        self._reboot_requested = False

    def reboot(self, boot_delay: float = 0.0, sim_busy: float | None = None) -> None:
        """A spontaneous reset: everything in progress is lost, no byte is answered for
        ``boot_delay`` s, then the power-up URCs and ``sim_busy`` s of SIM busy
        (default: the options' ``sim_busy``); settings are back at their defaults."""
        self.hang()
        if self._boot_timer is not None:
            self._boot_timer.cancel()
        self.device.power_off()
        self._phase = _Phase.OFF
        busy = self.options.sim_busy if sim_busy is None else sim_busy

        def booted() -> None:
            self._boot_timer = None
            self._phase = _Phase.COMMAND
            self.device.boot(busy)

        self._boot_timer = self._call_later(boot_delay, booted)

    @property
    def settings(self) -> ModemSettings:
        """The modem's current settings (the commands own and change them)."""
        return self.device.settings

    # ----------------------------------------------------------------- byte processing

    def _pump(self) -> None:
        while self._inbox and self._phase in (_Phase.COMMAND, _Phase.BODY):
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
            plain = self.profile.syntax_error_plain
            error = AtError("PLAIN") if plain else self._commands.unknown()
            self._respond([], self._commands.error_text(error))
            return
        self._phase = _Phase.BUSY  # URCs the commands raise come after their reply
        blocks: list[list[str]] = []
        for command in commands:
            try:
                result = self._commands.run(command)
            except AtError as error:
                self._respond(blocks, self._commands.error_text(error))
                return
            if isinstance(result, Prompt):  # AT+CMGS ends the line
                self._open_prompt(blocks, result)
                return
            if isinstance(result, Later):  # AT+CMSS: the result takes time
                self._defer(frame(blocks, None), result)
                return
            if result:
                blocks.append(result)
        self._respond(blocks, "OK")

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
        self._phase = _Phase.BUSY
        self._timer = self._call_later(delay, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _settle(self) -> None:
        """A reply is out: held URCs follow it, then the next command (or a reboot)."""
        self._phase = _Phase.COMMAND
        held, self._held_urcs = self._held_urcs, []
        for data in held:
            self._emit(Out.URC, data)
        if self._reboot_requested:
            self._reboot_requested = False
            self.reboot()
            return
        self._pump()

    def _reboot_after_reply(self) -> None:
        self._reboot_requested = True

    def _respond(
        self,
        blocks: list[list[str]],
        final: str,
        *,
        kind: Out = Out.RESPONSE,
    ) -> None:
        data = frame(blocks, final)

        def reply() -> None:
            self._timer = None
            self._emit(kind, data)
            self._settle()

        self._schedule(self.options.latency, reply)

    def _defer(self, before: bytes, later: Later) -> None:
        """A result that takes ``later.delay`` (never, if ``None``)."""
        if later.delay is None:
            self._phase = _Phase.BUSY  # until hang() or reboot()
            return

        def done() -> None:
            self._timer = None
            try:
                data = before + frame(later.produce(), "OK")
            except AtError as error:
                data = before + frame([], self._commands.error_text(error))
            self._emit(Out.SEND_RESULT, data)
            self._settle()

        self._schedule(later.delay, done)

    # ----------------------------------------------------------------- the prompt

    def _open_prompt(self, blocks: list[list[str]], prompt: Prompt) -> None:
        before = frame(blocks, None)

        def opened() -> None:
            self._timer = None
            if before:
                self._emit(Out.RESPONSE, before)
            self._emit(Out.PROMPT, PROMPT)
            self._phase = _Phase.BODY
            self._body.clear()
            self._prompt = prompt
            self._pump()

        self._schedule(self.options.latency, opened)

    def _submit(self) -> None:
        raw, overflow = self._body.take()
        assert self._prompt is not None
        prompt, self._prompt = self._prompt, None
        try:
            later = prompt.complete(raw.decode("latin-1"), overflow)
        except AtError as error:
            self._respond([], self._commands.error_text(error), kind=Out.SEND_RESULT)
            return
        self._defer(b"", later)
