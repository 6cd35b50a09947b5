"""Replay the modem's side of a recorded session (:mod:`hil.trace`) on a pty.

:class:`ReplayModem` checks that what the client writes is, byte for byte, what the host
wrote in the recording (in any chunking), and answers with the modem's recorded writes,
each as one write, byte-exact and with the recorded timing: a modem write that came
``d`` seconds after the host's last write in the recording comes ``d`` seconds after the
client's matching write. The first byte that differs stops the replay: it goes silent and
:meth:`ReplayModem.wait_done` raises :class:`ReplayMismatch` naming the offset, the
expected and the received bytes. So a driver can be run against a session recorded from
the simulator (or from a real modem, once traces of one exist).

``python -m hil.replay TRACE [--link PATH]`` prints the pty path and serves one replay.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
import time

from hil.pty_port import PtyPort
from hil.pty_server import PtyServer
from hil.trace import HOST, Trace, read_trace
from hil.waiting import DEADLINE

__all__ = ["ReplayMismatch", "ReplayModem", "main"]

log = logging.getLogger("hil.replay")


class ReplayMismatch(AssertionError):
    """The client wrote something the recorded host did not."""


class ReplayModem:
    """Serves one replay of ``trace`` (a path or a :class:`~hil.trace.Trace`)."""

    def __init__(
        self,
        trace: str | os.PathLike[str] | Trace,
        *,
        link: str | os.PathLike[str] | None = None,
    ) -> None:
        self.trace = trace if isinstance(trace, Trace) else read_trace(trace)
        self._expected = self.trace.bytes_from(HOST)
        # Host writes as (host bytes up to their end, trace time); modem writes as (host
        # bytes written before them, trace time, data).
        self._host_ends: list[tuple[int, float]] = []
        self._plays: list[tuple[int, float, bytes]] = []
        written = 0
        for event in self.trace.events:
            if event.source == HOST:
                written += len(event.data)
                self._host_ends.append((written, event.time))
            else:
                self._plays.append((written, event.time, event.data))
        self._cond = threading.Condition()  # the loop's thread tells wait_done() of progress
        self._port = PtyPort(link)
        self._server = PtyServer(self._port, name="hil-replay", on_input=self._on_input)
        self._matched = 0  # client bytes received, all equal to the recording
        self._host_done = 0  # host writes of the recording completed by the client
        self._anchor = (0.0, 0.0)  # (loop time, trace time) of the last completed one
        self._played = 0
        self._timer: asyncio.TimerHandle | None = None
        self.mismatch: ReplayMismatch | None = None

    @property
    def path(self) -> str:
        return self._port.path

    def start(self) -> ReplayModem:
        self._port.open()
        self._anchor = (self._server.time(), 0.0)
        self._schedule()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self._port.close()

    def __enter__(self) -> ReplayModem:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def done(self) -> bool:
        """Every recorded modem write played and every recorded host byte received."""
        return self._played == len(self._plays) and self._matched == len(self._expected)

    def wait_done(self, timeout: float | None = DEADLINE) -> None:
        """Wait for the end of the recording; raise :class:`ReplayMismatch` if the client
        strayed from it, :class:`TimeoutError` if it has not got there in time."""
        with self._cond:
            self._cond.wait_for(
                lambda: self.done or self.mismatch is not None or self._server.failure is not None,
                timeout,
            )
            if self.mismatch is not None:
                raise self.mismatch
            if self._server.failure is not None:
                raise RuntimeError("the replay failed") from self._server.failure
            if not self.done:
                raise TimeoutError(
                    f"replay not finished: {self._played}/{len(self._plays)} modem writes "
                    f"played, {self._matched}/{len(self._expected)} host bytes received"
                )

    # ----------------------------------------------------------------- the loop's thread

    def _on_input(self, data: bytes) -> None:
        with self._cond:
            self._check(data)
            self._cond.notify_all()

    def _check(self, data: bytes) -> None:
        if self.mismatch is not None:
            return
        expected = self._expected[self._matched : self._matched + len(data)]
        if data != expected:
            offset = next(
                (i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b),
                len(expected),
            )
            position = self._matched + offset
            self._fail(
                f"host byte {position}: expected {self._expected[position:position + 24]!r}, "
                f"got {data[offset:offset + 24]!r}"
                + (" (past the end of the recording)" if position >= len(self._expected) else "")
            )
            return
        self._matched += len(data)
        now = self._server.time()
        ends = self._host_ends
        while self._host_done < len(ends) and ends[self._host_done][0] <= self._matched:
            self._anchor = (now, ends[self._host_done][1])
            self._host_done += 1
        self._schedule()

    def _schedule(self) -> None:
        """Time the next modem write, once the host bytes before it have all come."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._played == len(self._plays) or self.mismatch is not None:
            return
        host_before, at, _ = self._plays[self._played]
        if self._matched < host_before:
            return
        wall, trace_time = self._anchor
        delay = wall + (at - trace_time) - self._server.time()
        self._timer = self._server.call_later(delay, self._play)

    def _play(self) -> None:
        self._timer = None
        self._server.write(self._plays[self._played][2])
        with self._cond:
            self._played += 1
            self._schedule()
            self._cond.notify_all()

    def _fail(self, reason: str) -> None:
        self.mismatch = ReplayMismatch(f"replay of {self.trace.meta.get('model')} trace: {reason}")
        log.error("%s", self.mismatch)
        if self._timer is not None:
            self._timer.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hil.replay",
        description="Play the modem's side of a recorded trace on a pty; print its path; "
        "exit 0 when the client went through the whole recording, 1 if it strayed.",
    )
    parser.add_argument("trace", help="a CBOR trace (hil.trace)")
    parser.add_argument("--link", metavar="PATH", help="create a symlink PATH to the pty")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="give up after this many seconds (default 600)")
    parser.add_argument("--linger", type=float, default=1.0,
                        help="keep the port open this long after the end, so that the client "
                        "reads the last bytes (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(name)s: %(levelname)s: %(message)s")
    with ReplayModem(args.trace, link=args.link) as replay:
        print(replay.path, flush=True)
        try:
            replay.wait_done(args.timeout)
        except (ReplayMismatch, TimeoutError) as error:
            print(f"replay failed: {error}", file=sys.stderr)
            return 1
        time.sleep(args.linger)  # the main thread only: the replay itself is over
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
