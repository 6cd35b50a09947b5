"""fsync calls per message, from HTTP request to Sent, counted with strace on the real
service sending through a simulated modem (zero latency).

- low load: one request at a time, each message sent before the next arrives;
- bulk: 8 clients at once, 1,000 messages.

Reproduce with ``make bench-fsync`` (needs Debian's strace); figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Service:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.simulator = subprocess.Popen([sys.executable, "-m", "hil.simulator", "--link", str(workdir / "tty")],
                                          cwd=ROOT, stdout=subprocess.PIPE, text=True)
        if not self.simulator.stdout.readline():
            raise RuntimeError("the simulated modem did not start")
        config = workdir / "config.toml"
        config.write_text(f'[http]\nlisten = "127.0.0.1:{self.port}"\n[storage]\npath = "{workdir / "data"}"\n'
                          f'[[modem]]\nname = "GSM"\nport = "{workdir / "tty"}"\ndelivery_reports = false\n')
        subprocess.run([sys.executable, "-m", "appliance", "user", "set", "bench", "--password", PASSWORD,
                        "--config", str(config)], cwd=ROOT, check=True, capture_output=True)
        self.trace = workdir / "strace.txt"
        self.process = subprocess.Popen(
            ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(self.trace),
             sys.executable, "-m", "appliance", "run", "--config", str(config)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(self._listening, 30, "the service")
        self.database = workdir / "data" / "appliance.sqlite3"

    def _listening(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1).close()
            return True
        except OSError:
            return False

    def fsyncs(self) -> int:
        return sum(1 for line in self.trace.read_text().splitlines() if "fsync(" in line or "fdatasync(" in line)

    def send(self, text: str) -> str:
        query = urllib.parse.urlencode({"username": "bench", "password": PASSWORD, "to": "+447700900123",
                                        "message": text})
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/http/send-message?{query}", timeout=30) as r:
            line = r.read().decode().strip()
        assert line.startswith("OK: "), line
        return line[4:]

    def unsent(self) -> int:
        with sqlite3.connect(self.database) as db:
            return db.execute("SELECT COUNT(*) FROM outbound_message WHERE state != 'sent'").fetchone()[0]

    def stop(self) -> None:
        # SIGTERM to the service itself (strace's child); strace ends when it does
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        for pid in children:
            os.kill(int(pid), signal.SIGTERM)
        self.process.wait(30)
        self.simulator.terminate()
        self.simulator.wait(10)


def measure(low: int, bulk: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp))
        try:
            service.send("warm-up")  # start-up and the first login are not per-message costs
            wait(lambda: service.unsent() == 0, 30, "the warm-up message")
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
