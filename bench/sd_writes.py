"""What the store costs an SD card: bytes written per message, fsyncs per message and the
size of the write-ahead log, on the real service sending through one zero-latency
simulated modem.

- bytes written: ``write_bytes`` of /proc/<pid>/io for the service process, from the
  message's request to Sent (what reaches the block layer, counted when the page is dirtied);
- fsyncs: counted with strace, as bench/fsync.py does (its :class:`Service` is reused);
- the log: the size of ``appliance.sqlite3-wal`` after each run and the largest seen while
  it ran, sampled every 0.2 s (every second in ``--steady`` mode).

Runs: 20 messages one at a time, each waited on until Sent (``--pause S``: S seconds of
quiet after each); 1,000 from 8 keep-alive clients (bulk); with ``--steady N --rate R``,
N messages at R a second instead, for the log's size under a long steady load; with
``--idle S``, S seconds with nothing to send. ``--reports MS``: with delivery reports,
each sent by the simulated network MS ms after its message, and counted until Delivered
(in bulk keep MS short, 50: a report names its part by a one-octet reference and the
number, and all go to one number, so past 256 messages in flight older parts are never
matched).
``APPLIANCE_TREE=<checkout with a .venv>`` measures another version
(bench/service_runner.py). Reproduce with ``make bench-sd``; figures go to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fsync import WARM_UP, Service
from bench.service_runner import wait


def written(pid: int) -> int:
    """Bytes the process has caused to be written to storage (/proc/<pid>/io)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError(f"no write_bytes in /proc/{pid}/io")


class LogWatch:
    """The write-ahead log's largest size, looked at every ``interval`` on a thread."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = interval
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.largest = max(self.largest, self.size())
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.largest = max(self.largest, self.size())
        return self.largest


class Run:
    """One measured run: its figures, filled in when the ``measured`` block ends."""

    def __init__(self, messages: int) -> None:
        self.messages = messages
        self.figures: dict[str, float] = {}


@contextmanager
def measured(service: Service, messages: int, interval: float) -> Iterator[Run]:
    """Counts what the block's ``messages`` cost, from their requests until all are Sent
    (Delivered with reports)."""
    run = Run(messages)
    wal = Path(f"{service.appliance.database}-wal")
    time.sleep(0.5)  # the warm-up's delayed fsync and checkpoint, not this run's
    watch = LogWatch(wal, interval)
    bytes_before, fsyncs_before = written(service.appliance.pid), service.fsyncs()
    started = time.monotonic()
    try:
        yield run
        wait(lambda: service.unsent() == 0, 600, "the messages to be sent", interval=0.05)
    finally:
        largest = watch.stop()
    run.figures = {
        "messages": messages,
        "seconds": round(time.monotonic() - started, 1),
        "kb_per_message": (written(service.appliance.pid) - bytes_before) / messages / 1024,
        "fsyncs_per_message": (service.fsyncs() - fsyncs_before) / messages,
        "wal_after_mb": watch.size() / 2**20,
        "wal_max_mb": largest / 2**20,
    }


def one_at_a_time(service: Service, messages: int, pause: float) -> dict[str, float]:
    """Each message waited on until Sent; then ``pause`` seconds of quiet, as between the
    messages of a quiet day, in which the service may tidy up (a checkpoint when idle)."""
    with measured(service, messages, 0.2) as run:
        for n in range(messages):
            service.send(f"one at a time {n}")
            wait(lambda: service.unsent() == 0, 30, "a message to be sent")
            time.sleep(pause)
    return run.figures


def bulk(service: Service, messages: int, clients: int) -> dict[str, float]:
    with measured(service, messages, 0.2) as run, ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda n: service.send(f"bulk {n}"), range(messages)))
    return run.figures


def steady(service: Service, messages: int, rate: float, clients: int) -> dict[str, float]:
    """``messages`` at ``rate`` a second: message n is sent at n / rate seconds, or as
    soon as a client is free if the service falls behind."""
    def send_at(n: int, start: float) -> None:
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        service.send(f"steady {n}")

    with measured(service, messages, 1.0) as run, ThreadPoolExecutor(clients) as pool:
        start = time.monotonic()
        list(pool.map(lambda n: send_at(n, start), range(messages)))
    return run.figures


def idle(service: Service, seconds: float) -> dict[str, float]:
    """What the service writes with nothing to send, ``seconds`` long after the warm-up:
    a quiet appliance must not wear its card by itself."""
    wal = Path(f"{service.appliance.database}-wal")
    bytes_before, fsyncs_before = written(service.appliance.pid), service.fsyncs()
    time.sleep(seconds)  # the quiet itself is what is measured
    hours = seconds / 3600
    return {"seconds": seconds, "kb_per_hour": (written(service.appliance.pid) - bytes_before) / 1024 / hours,
            "fsyncs_per_hour": (service.fsyncs() - fsyncs_before) / hours,
            "wal_after_mb": wal.stat().st_size / 2**20 if wal.exists() else 0.0}


def measure(workload: Callable[[Service], dict[str, float]], workdir: str | None,
            report_delay_ms: float | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        service = Service(Path(tmp), report_delay_ms)
        try:
            # start-up, the first login and each HTTP thread's first commit are not
            # per-message costs (bench/fsync.py): warm every thread of the pool first
            for n in range(WARM_UP):
                service.send(f"warm-up {n}")
                wait(lambda: service.unsent() == 0, 30, "a warm-up message")
            return workload(service)
        finally:
            service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", type=int, default=20, help="messages one at a time (0: none)")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds of quiet after each message sent one at a time")
    parser.add_argument("--bulk", type=int, default=1000, help="messages in bulk (0: none)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--steady", type=int, metavar="N", help="instead: N messages at --rate a second")
    parser.add_argument("--rate", type=float, default=5.5, help="messages a second in --steady mode")
    parser.add_argument("--idle", type=float, metavar="S", help="instead: S seconds with nothing to send")
    parser.add_argument("--reports", type=float, metavar="MS",
                        help="with delivery reports, MS ms after each message; counted until Delivered")
    parser.add_argument("--workdir", help="where the store goes (a disk, not tmpfs: tmpfs counts no writes)")
    args = parser.parse_args(argv)
    if shutil.which("strace") is None:
        print("strace is missing: apt-get install strace", file=sys.stderr)
        return 2
    tree = os.environ.get("APPLIANCE_TREE", "this checkout")
    if args.reports is not None:
        tree += f", delivery reports {args.reports:g} ms after each message"
    if args.idle:
        quiet = measure(lambda s: idle(s, args.idle), args.workdir, args.reports)
        print(json.dumps({"tree": tree, "idle": quiet}))
        print(f"appliance: {tree}\n| seconds idle | KB written per hour | fsyncs per hour | WAL after MB |\n"
              f"|---:|---:|---:|---:|\n| {quiet['seconds']:g} | {quiet['kb_per_hour']:.1f} "
              f"| {quiet['fsyncs_per_hour']:.1f} | {quiet['wal_after_mb']:.2f} |")
        return 0
    results = {}
    if args.steady:
        results["steady"] = measure(lambda s: steady(s, args.steady, args.rate, args.clients), args.workdir,
                                     args.reports)
    if args.one and not args.steady:
        results[f"one at a time, {args.pause:g} s apart"] = measure(
            lambda s: one_at_a_time(s, args.one, args.pause), args.workdir, args.reports)
    if args.bulk and not args.steady:
        results[f"bulk, {args.clients} clients"] = measure(
            lambda s: bulk(s, args.bulk, args.clients), args.workdir, args.reports)
    print(json.dumps({"tree": tree, **results}))
    print(f"appliance: {tree}")
    print("| run | messages | KB written per message | fsyncs per message | WAL max MB | WAL after MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in results.items():
        print(f"| {name} | {f['messages']:.0f} | {f['kb_per_message']:.1f} | {f['fsyncs_per_message']:.2f} "
              f"| {f['wal_max_mb']:.1f} | {f['wal_after_mb']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
