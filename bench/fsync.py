"""fsync calls per message, from HTTP request to Sent, counted with strace on the real
service sending through a simulated modem (zero latency).

- low load: one request at a time, each message sent before the next arrives;
- bulk: 8 clients at once, 1,000 messages.

Reproduce with ``make bench-fsync`` (needs Debian's strace); figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service_runner import Appliance, Simulator, wait


class Service:
    """The service under strace, counting fsync and fdatasync calls, on one simulator.
    With ``report_delay_ms`` it asks for delivery reports and the simulated network sends
    each that many ms after its message: a message's way then ends at Delivered."""

    def __init__(self, workdir: Path, report_delay_ms: float | None = None) -> None:
        self.simulator = Simulator(workdir, report_delay_ms=report_delay_ms)
        self.trace = workdir / "strace.txt"
        self.final = "sent" if report_delay_ms is None else "delivered"
        self.appliance = Appliance(workdir, [self.simulator.link], wrapper=[
            "strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(self.trace)],
            reports=report_delay_ms is not None)
        self._local = threading.local()

    def fsyncs(self) -> int:
        return sum(1 for line in self.trace.read_text().splitlines() if "fsync(" in line or "fdatasync(" in line)

    def send(self, text: str) -> str:
        """One message on this thread's keep-alive connection."""
        if not hasattr(self._local, "connection"):
            self._local.connection = self.appliance.connection()
        (message_id,) = self.appliance.send(self._local.connection, text)
        return message_id

    def unsent(self) -> int:
        """Messages not at the end of their way yet: Sent, or Delivered with reports."""
        with sqlite3.connect(self.appliance.database) as db:
            return db.execute("SELECT COUNT(*) FROM outbound_message WHERE state != ?",
                              (self.final,)).fetchone()[0]

    def stop(self) -> None:
        self.appliance.stop()
        self.simulator.stop()


WARM_UP = 32  # one at a time: the pool hands them to its threads in turn


def measure(low: int, bulk: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp))
        try:
            # start-up, the first login and each HTTP worker thread's first commit (on a
            # SQLite connection of its own, whose first write costs one more fsync) are not
            # per-message costs: warm every thread of the pool ([http] threads, 16) first
            for n in range(WARM_UP):
                service.send(f"warm-up {n}")
                wait(lambda: service.unsent() == 0, 30, "a warm-up message")
            time.sleep(0.5)
            before = service.fsyncs()
            for n in range(low):
                service.send(f"low load {n}")
                wait(lambda: service.unsent() == 0, 30, "a message to be sent")
            low_load = (service.fsyncs() - before) / low
            time.sleep(0.5)
            before = service.fsyncs()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda n: service.send(f"bulk {n}"), range(bulk)))
            wait(lambda: service.unsent() == 0, 300, "the bulk to be sent")
            bulk_load = (service.fsyncs() - before) / bulk
        finally:
            service.stop()
    return {"low_load": low_load, "bulk": bulk_load}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--low", type=int, default=50)
    parser.add_argument("--bulk", type=int, default=1000)
    args = parser.parse_args(argv)
    if shutil.which("strace") is None:
        print("strace is missing: apt-get install strace", file=sys.stderr)
        return 2
    figures = measure(args.low, args.bulk)
    print(json.dumps(figures))
    print("| load | fsync calls per message (accept to Sent) |")
    print("|---|---:|")
    print(f"| low: 1 request at a time, each sent before the next ({args.low}) | {figures['low_load']:.2f} |")
    print(f"| bulk: 8 clients, {args.bulk} messages | {figures['bulk']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
