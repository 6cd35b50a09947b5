"""The appliance's ModemDriver on an event loop of its own thread, watched from the caller's.

A :class:`DriverSession` runs one :class:`~appliance.modem.driver.ModemDriver` on a port
(a simulator, a replay, a real modem) with handlers that keep what it handed over, and
lets a script wait for what the driver did (:meth:`DriverSession.until`) and ask it to
send. Everything the script looks at is read on the loop, between two of the driver's
steps, so a wait never sees the driver half-way through one.

The driver's timers are long by default (:data:`QUIET`): in a recorded session only the
modem's bytes and the script move the driver, so a replay of it takes the same course.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from appliance import pdu
from appliance.config.file import ModemConfig
from appliance.modem.driver import ModemDriver, ModemHandlers, SendResult, Timings
from appliance.modem.transport import Transport, open_serial
from hil.loop_thread import LoopThread
from hil.waiting import DEADLINE, wait_for

__all__ = ["QUIET", "DriverSession", "Tap"]

T = TypeVar("T")

# no health check, sweep or USSD timeout of the driver's own fires during a session
QUIET: dict[str, float] = {"health_interval": 3600.0, "unregistered_interval": 3600.0,
                           "sweep_interval": 3600.0}


class Tap:
    """A transport that keeps a copy of every byte the driver read and wrote."""

    def __init__(self, inner: Transport, read: bytearray, written: bytearray) -> None:
        self._inner = inner
        self._read = read
        self._written = written

    def fileno(self) -> int:
        return self._inner.fileno()

    def read(self) -> bytes:
        data = self._inner.read()
        self._read += data
        return data

    def write(self, data: bytes) -> int:
        count = self._inner.write(data)
        self._written += data[:max(count, 0)]
        return count

    def close(self) -> None:
        self._inner.close()


class DriverSession:
    """One driver on ``port``, with the SIM's ``pin`` if it wants one; ``timings`` are
    :class:`~appliance.modem.driver.Timings` fields, over :data:`QUIET`. ``watch`` is
    checked while waiting: an error it returns (a replay that stopped matching) is raised
    at once instead of waiting for the timeout."""

    def __init__(self, port: str, *, watch: Callable[[], BaseException | None] = lambda: None,
                 pin: str | None = None, **timings: Any) -> None:
        self._loop_thread = LoopThread("hil-driver")
        self._watch = watch  # an error it returns ends every wait at once
        self.sms: list[str] = []  # PDUs handed to on_sms, in order
        self.reports: list[str] = []  # PDUs handed to on_report, in order
        self.states: list[str] = []  # every state the driver went through
        self.read = bytearray()  # every byte the driver read, on any port it opened
        self.written = bytearray()  # every byte the driver wrote
        self.driver = ModemDriver(
            self._loop_thread.loop, ModemConfig("GSM1", port, pin=pin),
            handlers=ModemHandlers(on_sms=self.sms.append,
                                   on_report=lambda report, _smsc, _stored: self.reports.append(report)),
            open_transport=lambda path, baud: Tap(open_serial(path, baud), self.read, self.written),
            on_state=self.states.append,
            timings=Timings(**{**QUIET, **timings}),
        )
        self._started = False

    def start(self) -> DriverSession:
        self._loop_thread.loop.call_soon(self.driver.start)
        self._loop_thread.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop the driver (it closes its port, writing nothing) and the loop."""
        if self._started:
            self.call(self.driver.stop)
        self._loop_thread.stop()

    def __enter__(self) -> DriverSession:
        return self  # started by the script: it may set the modem up first

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on the loop; its result or exception comes back."""
        return self._loop_thread.call(function, *args)

    def begin(self, function: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> asyncio.Task[T]:
        """Start ``function(*args)`` (a send, a USSD request) on the loop; wait for it with
        :meth:`until` and read its ``result()`` once it is ``done()``."""
        return self.call(lambda: self._loop_thread.loop.create_task(function(*args)))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for its result."""
        return self._loop_thread.run(coroutine)

    def until(self, predicate: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
        """Wait until ``predicate()``, evaluated on the loop, is true."""
        def holds() -> bool:
            if self.call(predicate):
                return True
            error = self._watch()
            if error is not None:
                raise error
            return False
        try:
            wait_for(holds, timeout, what)
        except AssertionError as failed:
            if failed is self._watch():
                raise  # the watched error, as it is
            raise AssertionError(f"{failed}; driver {self.driver.state} ({self.driver.detail})") from None

    # ----------------------------------------------------------------- what scripts wait for

    def idle(self) -> bool:
        """Nothing asked of the modem and nothing about to be (or no port open)."""
        return self.driver.idle

    def reached(self, state: str, times: int = 1, what: str = "") -> None:
        """Wait until the driver has entered ``state`` ``times`` times in all and has
        nothing left to ask the modem. Counted, not the current state: a replay plays the
        modem's bytes when the recording had them, so a state the recording's script saw
        for a while may be gone again when the replay's script looks."""
        self.until(lambda: self.states.count(state) >= times and self.idle(),
                   what or f"{state} ({times}), idle")

    def send(self, number: str, text: str, **options: Any) -> list[SendResult]:
        """Send ``text`` part after part, each once the last got its result; the results."""
        results: list[SendResult] = []
        for part in pdu.encode_submit(number, text, concat_reference=7, **options):
            self.until(lambda: self.driver.ready and self.idle(), "the driver ready to send")
            results.append(self.send_part(part))
        return results

    def send_part(self, part: pdu.Part) -> SendResult:
        """Hand one part to the driver and wait for its result."""
        sending = self.begin(self.driver.send, part.pdu, part.tpdu_length)
        self.until(sending.done, "a send result")
        return sending.result()

    def texts(self) -> list[str]:
        """The SMS handed over so far, as texts, multipart ones joined in order."""
        singles: list[str] = []
        parts: dict[int, dict[int, str]] = {}
        for hex_pdu in self.sms:
            message = pdu.decode(hex_pdu)
            if message.concat is None:
                singles.append(message.text or "")
            else:
                parts.setdefault(message.concat.reference, {})[message.concat.sequence] = (
                    message.text or "")
        return singles + ["".join(p[n] for n in sorted(p)) for p in parts.values()]
