"""The AT channel: framing, one command at a time, unsolicited codes, timeouts.

A non-blocking state machine fed by bytes from the event loop's reader on the port. It
never blocks and never sleeps: a command is written, its reply lines are collected until a
final result code, and the future :meth:`ATChannel.command` returned ends with its
:class:`Response`, so a procedure reads ``response = await channel.command("AT+CSQ")``.
Lines that belong to no command — or that carry a registered unsolicited prefix the
pending command does not own — go to the URC handlers, wherever in the stream they arrive.

A command's time limit runs from the moment it is written, not from when it was queued:
the modem owes an answer only to what it was sent, and a command waiting behind six others
(a health check queues them together) must not time out for their sake. That is why the
channel keeps the limit itself, on the loop's timers, rather than its callers with
``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .replies import is_unsolicited
from .transport import Transport, TransportClosed

log = logging.getLogger(__name__)

CTRL_Z = b"\x1a"
ESC = b"\x1b"

FINAL_OK = ("OK",)
FINAL_ERRORS = ("ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT")
FINAL_ERROR_PREFIXES = ("+CME ERROR:", "+CMS ERROR:")
TIMEOUT = "TIMEOUT"
CLOSED = "CLOSED"
CANCELLED = "CANCELLED"
# results that say the command's effect is unknown: it may or may not have been carried out
NO_ANSWER = (TIMEOUT, CLOSED, CANCELLED)

# how long a modem has to answer an ESC (its own OK, for an aborted PDU input) before the
# next command goes out
ESCAPE_SETTLE = 0.3

_ERROR_CODE = re.compile(r"^\+(CME|CMS) ERROR:\s*(.*?)\s*$", re.IGNORECASE)


@dataclass
class Response:
    """The outcome of one command: its information lines and its final result code."""

    command: str
    lines: list[str] = field(default_factory=list)
    result: str = ""

    @property
    def ok(self) -> bool:
        return self.result == "OK"

    def _error(self, kind: str) -> str | None:
        match = _ERROR_CODE.match(self.result)
        if match and match.group(1).upper() == kind:
            return match.group(2)
        return None

    @property
    def cms_error(self) -> int | None:
        """The +CMS ERROR number (27.005), or None (also for verbose, non-numeric errors)."""
        value = self._error("CMS")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def cme_error(self) -> int | None:
        value = self._error("CME")
        return int(value) if value is not None and value.isdigit() else None

    def info(self, prefix: str) -> str | None:
        """The value of the first ``<prefix>: value`` information line, if any."""
        return next(iter(self.infos(prefix)), None)

    def infos(self, prefix: str) -> list[str]:
        """The values of every ``<prefix>: value`` line, in the order they came."""
        wanted = prefix.upper() + ":"
        return [line[len(wanted):].strip() for line in self.lines if line.upper().startswith(wanted)]


UrcHandler = Callable[[str, "str | None"], None]


@dataclass
class _Command:
    text: str
    answer: asyncio.Future[Response]  # ends with the Response; cancelled: nobody waits any more
    timeout: float
    body: str | None = None          # a PDU to write after the "> " prompt
    on_silence: Callable[[], None] | None = None
    response: Response | None = None
    timer: asyncio.TimerHandle | None = None
    awaiting_prompt: bool = False


@dataclass
class _Urc:
    prefix: str
    handler: UrcHandler
    lines: int = 1                    # 2 for +CMT / +CDS: the next line is a PDU


class ATChannel:
    """One modem's command queue and line parser on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: Transport, *, name: str = "modem",
                 on_close: Callable[[str], None] | None = None,
                 on_unsolicited: UrcHandler | None = None,
                 on_echo: Callable[[str], None] | None = None) -> None:
        self.loop = loop
        self.transport = transport
        self.name = name
        self.on_close = on_close
        self.on_unsolicited = on_unsolicited
        # told of every command line the modem echoes back (once echo is off: it rebooted)
        self.on_echo = on_echo
        self._queue: deque[_Command] = deque()
        self._current: _Command | None = None
        self._buffer = b""
        self._out = b""
        self._urcs: list[_Urc] = []
        self._urc_prefixes: tuple[str, ...] = ()  # one C call rules out most lines: every line is checked
        self._urc_waiting_for_pdu: tuple[_Urc, str] | None = None
        self._closed = False
        self._held: asyncio.TimerHandle | None = None  # after an ESC, the next command waits for this
        self._fd = transport.fileno()
        loop.add_reader(self._fd, self._on_readable)

    # -- public ----------------------------------------------------------------------------

    def on_urc(self, prefix: str, handler: UrcHandler, *, lines: int = 1) -> None:
        """Route lines starting with ``prefix`` to ``handler(line, second_line_or_None)``."""
        self._urcs.append(_Urc(prefix.upper(), handler, lines))
        self._urc_prefixes = tuple(urc.prefix for urc in self._urcs)

    def command(self, text: str, *, timeout: float = 5.0, body: str | None = None,
                on_silence: Callable[[], None] | None = None) -> asyncio.Future[Response]:
        """Queue ``text`` (without the trailing CR) now; with ``body``, write it after the prompt.

        The future always ends with a Response, never an exception: TIMEOUT when the modem
        did not answer in ``timeout`` seconds from the write, CLOSED or CANCELLED when the
        channel gave the command up. Commands go out in the order they were queued, so a
        procedure that queues several at once gets them written back to back. Cancelling
        the future (its caller was cancelled) drops a command not written yet.

        ``on_silence`` is called when the command times out, before the next command is
        written: the owner may decide the modem is gone and close the channel."""
        answer: asyncio.Future[Response] = self.loop.create_future()
        if self._closed:
            answer.set_result(Response(text, result=CLOSED))
            return answer
        self._queue.append(_Command(text, answer, timeout, body, on_silence))
        if self._current is None:
            self._start_next()
        return answer

    @property
    def idle(self) -> bool:
        """No command pending or queued: what the modem says now is unsolicited."""
        return self._current is None and not self._queue

    def close(self, reason: str = "closed") -> None:
        if self._closed:
            return
        self._closed = True
        if self._held is not None:
            self._held.cancel()
        self.loop.remove_reader(self._fd)
        self.loop.remove_writer(self._fd)
        try:
            self.transport.close()
        except OSError:
            pass
        self._abandon(CLOSED)
        if self.on_close:
            self.on_close(reason)

    def leave_pdu_input(self, settle: float = ESCAPE_SETTLE) -> None:
        """Write ESC: a modem left waiting for a PDU body (its last client died after the
        prompt) goes back to command mode instead of eating our next commands. Such a modem
        answers the abort with a final result of its own, so the next command waits
        ``settle`` s: that result comes while nothing is pending, not as the command's
        answer (which would put every later reply one command late)."""
        self._write(ESC)
        if self._held is not None:
            self._held.cancel()
        self._held = self.loop.call_later(settle, self._settled)

    def _settled(self) -> None:
        self._held = None
        self._start_next()

    def cancel_all(self, result: str = CANCELLED) -> None:
        """End the pending and queued commands now (the modem rebooted under them)."""
        self._buffer = b""
        self._urc_waiting_for_pdu = None
        self._abandon(result)

    def cancel_queued(self, result: str = CANCELLED) -> None:
        """End the commands not written yet; the one in progress goes on, since the modem
        is answering it (it rebooted before that command came, not under it)."""
        queued = list(self._queue)
        self._queue.clear()
        for cmd in queued:
            self._deliver(cmd, Response(cmd.text, result=result))

    def _abandon(self, result: str) -> None:
        pending = ([self._current] if self._current else []) + list(self._queue)
        self._current = None
        self._queue.clear()
        for cmd in pending:
            if cmd.timer:
                cmd.timer.cancel()
            self._deliver(cmd, Response(cmd.text, result=result))

    # -- writing ---------------------------------------------------------------------------

    def _start_next(self) -> None:
        while self._queue and self._queue[0].answer.cancelled():
            self._queue.popleft()  # its caller gave up before it was written: never write it
        if self._current is not None or not self._queue or self._closed or self._held is not None:
            return
        cmd = self._queue.popleft()
        cmd.response = Response(cmd.text)
        cmd.awaiting_prompt = cmd.body is not None
        cmd.timer = self.loop.call_later(cmd.timeout, self._on_timeout, cmd)
        self._current = cmd
        log.debug("%s > %s", self.name, cmd.text)
        self._write(cmd.text.encode("ascii") + b"\r")

    def _write(self, data: bytes) -> None:
        self._out += data
        self._flush()

    def _flush(self) -> None:
        try:
            while self._out:
                written = self.transport.write(self._out)
                if written <= 0:
                    break
                self._out = self._out[written:]
        except TransportClosed as error:
            self.close(f"write failed: {error}")
            return
        if self._out:
            self.loop.add_writer(self._fd, self._flush)
        else:
            self.loop.remove_writer(self._fd)

    def _on_timeout(self, cmd: _Command) -> None:
        if self._current is not cmd:
            return
        log.warning("%s: no answer to %s within %.1f s", self.name, cmd.text, cmd.timeout)
        if cmd.awaiting_prompt or cmd.body is not None:
            self.leave_pdu_input()  # whatever state the modem is in
        self._end(TIMEOUT)
        if cmd.on_silence is not None:
            cmd.on_silence()
        self._start_next()

    def _finish(self, result: str) -> None:
        self._end(result)
        self._start_next()

    def _end(self, result: str) -> None:
        """The current command is over: its answer goes to whoever waits for it."""
        cmd = self._current
        assert cmd is not None and cmd.response is not None
        if cmd.timer:
            cmd.timer.cancel()
        cmd.response.result = result
        self._current = None
        self._deliver(cmd, cmd.response)

    @staticmethod
    def _deliver(cmd: _Command, response: Response) -> None:
        if not cmd.answer.done():  # a cancelled one: its caller is gone, the reply with it
            cmd.answer.set_result(response)

    # -- reading ---------------------------------------------------------------------------

    def _on_readable(self) -> None:
        try:
            data = self.transport.read()
        except TransportClosed as error:
            self.close(f"read failed: {error}")
            return
        if data:
            self.feed(data)

    def feed(self, data: bytes) -> None:
        """Consume bytes from the modem; public so tests can feed arbitrary fragments."""
        self._buffer += data
        while not self._closed:
            if self._take_prompt():
                continue
            line, found = self._take_line()
            if not found:
                break
            if line:
                self._on_line(line)

    def _take_prompt(self) -> bool:
        cmd = self._current
        if cmd is None or cmd.body is None or not cmd.awaiting_prompt:  # only a command with a body awaits one
            return False
        stripped = self._buffer.lstrip(b"\r\n")
        if not stripped.startswith(b"> "):
            return False
        self._buffer = stripped[2:]
        cmd.awaiting_prompt = False
        self._write(cmd.body.encode("ascii") + CTRL_Z)
        return True

    def _take_line(self) -> tuple[str, bool]:
        for index, byte in enumerate(self._buffer):
            if byte in (13, 10):
                raw = self._buffer[:index]
                self._buffer = self._buffer[index + 1:]
                return raw.decode("latin-1").strip(), True
        return "", False

    def _on_line(self, line: str) -> None:
        if self._urc_waiting_for_pdu is not None and not is_unsolicited(line):
            waiting, first = self._urc_waiting_for_pdu
            self._urc_waiting_for_pdu = None
            self._dispatch_urc(waiting, first, line)
            return
        # a code between a +CMT header and its PDU (RING, +CLIP ...) is taken as it comes,
        # and the PDU is still awaited: a PDU is hex, never of an unsolicited shape
        cmd = self._current
        upper = line.upper()
        if cmd is not None and self._is_echo(cmd, line):
            if self.on_echo is not None and upper == cmd.text.upper():
                self._notify_echo(self.on_echo, cmd.text)
            return
        urc = self._urc_for(upper, cmd)
        if urc is not None:
            if urc.lines == 2:
                if self._urc_waiting_for_pdu is not None:  # the one before never got its PDU
                    self._dispatch_urc(*self._urc_waiting_for_pdu, None)
                self._urc_waiting_for_pdu = (urc, line)
            else:
                self._dispatch_urc(urc, line, None)
            return
        if cmd is None:
            log.info("%s: unsolicited %r", self.name, line)
            if self.on_unsolicited:
                self.on_unsolicited(line, None)
            return
        if upper in FINAL_OK:
            self._finish("OK")
        elif upper in FINAL_ERRORS or upper.startswith(FINAL_ERROR_PREFIXES):
            self._finish(line)
        else:
            assert cmd.response is not None
            cmd.response.lines.append(line)

    @staticmethod
    def _is_echo(cmd: _Command, line: str) -> bool:
        if line.upper() == cmd.text.upper():
            return True
        if cmd.body is not None:
            echoed = line.rstrip("\x1a")
            if echoed.startswith("> "):
                echoed = echoed[2:]
            return echoed.upper() == cmd.body.upper()
        return False

    def _notify_echo(self, handler: Callable[[str], None], text: str) -> None:
        try:
            handler(text)
        except Exception:
            log.exception("%s: echo handler for %r failed", self.name, text)

    def _urc_for(self, upper: str, cmd: _Command | None) -> _Urc | None:
        if not upper.startswith(self._urc_prefixes):
            return None
        for urc in self._urcs:
            if upper.startswith(urc.prefix):
                # "+CREG: 1,5" answers AT+CREG? when that is the pending command
                name = urc.prefix.split(":", 1)[0].strip()
                if cmd is not None and name.startswith("+") and self._asks_for(cmd, name):
                    return None
                return urc
        return None

    @staticmethod
    def _asks_for(cmd: _Command, name: str) -> bool:
        """Whether ``cmd`` is answered with ``<name>:`` lines: its read (``AT+CREG?``),
        test (``AT+CREG=?``) or plain form. A setting (``AT+CREG=1``, ``AT+CUSD=1,...``)
        is answered OK alone, so a ``+CREG`` or ``+CUSD`` inside its reply is news for
        its handler, not part of the reply."""
        asked = cmd.text.upper()
        return asked in (f"AT{name}?", f"AT{name}=?", f"AT{name}")

    def _dispatch_urc(self, urc: _Urc, line: str, second: str | None) -> None:
        try:
            urc.handler(line, second)
        except Exception:
            log.exception("%s: URC handler for %r failed", self.name, line)
