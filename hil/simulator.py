"""A simulated GSM modem on a pseudo-terminal, speaking AT like a SIM800/SIM7600/EC25/Huawei.

Clients (the appliance's driver, pyserial, minicom, gammu) open :attr:`SimulatedModem.path`
like a real serial port.

Layout:

* :class:`~hil.engine.ModemEngine` is the modem's behaviour: a state machine fed with
  received bytes, with the meaning of each AT command in :mod:`hil.at_commands`. It does no
  I/O and owns no thread; output goes to an ``emit(kind, data)`` callback and delays to a
  ``call_later(delay, callback)`` scheduler.
* :class:`SimulatedModem` (here) owns the pty, a background thread that waits with
  ``select()`` on the pty master and a wake pipe (timeout = the next timer), a small timer
  heap, the record of sent PDUs, and the fault hooks.

Every output byte passes through :meth:`SimulatedModem._emit` tagged with an
:class:`~hil.engine.Out` kind (echo, response, prompt, send result): that is where later
faults (URCs injected at a chosen position, garbage, chunked output, reboots) plug in.

Run ``python -m hil.simulator --help`` for the command line.
"""

from __future__ import annotations

import argparse
import errno
import heapq
import itertools
import json
import logging
import os
import select
import signal
import sys
import termios
import threading
import time
from collections.abc import Callable

from hil.engine import ModemEngine, Out, SentPDU
from hil.profiles import PROFILES, ModemProfile, get_profile

# SentPDU is what SimulatedModem.sent and wait_sent() return, so it is importable from here.
__all__ = ["SentPDU", "SimulatedModem", "main"]

log = logging.getLogger("hil.simulator")


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
