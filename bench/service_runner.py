"""The real processes the benchmarks measure: simulated modems (``python -m hil.simulator``)
and the appliance (``python -m appliance run``) with a generated config, each in its own
process, so that what a benchmark counts is what a user would see from outside.

Also the CPU time of a process tree, read from /proc, for "CPU seconds per message".
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER = "bench"
PASSWORD = "bench-password"
NUMBER = "+447700900123"
# what the systemd unit sets for the service (systemd/sms-appliance.service says why)
SERVICE_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": "131072"}
# The appliance measured is this checkout's, or another's with a .venv of its own
# (bench/compare.py measures an earlier version beside this one); the simulated modems and
# the clients are always this checkout's, so that only the appliance differs.
APPLIANCE_TREE = "APPLIANCE_TREE"


def appliance_tree() -> tuple[str, Path]:
    """The Python and the source folder of the appliance to measure."""
    tree = os.environ.get(APPLIANCE_TREE)
    if not tree:
        return sys.executable, ROOT
    return str(Path(tree) / ".venv" / "bin" / "python"), Path(tree)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.01) -> None:
    """Look again every ``interval`` until ``predicate()`` holds: the processes measured
    give no notice (files, a database, a port), so a benchmark has to look."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and of its live descendants, each with the
    children it has reaped (utime+stime+cutime+cstime, /proc/<pid>/stat): a daemon that
    forks (smstools' modem handler, a script it runs) is counted whole."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            # the command name is in parentheses and may hold spaces: fields follow its ')'
            fields = stat[stat.rindex(")") + 2:].split()
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended meanwhile; its parent's cutime has it once reaped
    return total / ticks


class Simulator:
    """``python -m hil.simulator`` behind a stable link; every PDU it accepts is appended
    to ``record`` (JSON lines), every byte to ``trace`` (CBOR) if asked."""

    def __init__(self, workdir: Path, name: str = "tty", *, send_latency_ms: float = 0.0,
                 trace: bool = False, report_delay_ms: float | None = None) -> None:
        """``report_delay_ms``: the network answers each send that asks for one with a
        delivery report that many ms later; None: no reports at all."""
        self.link = workdir / name
        self.record = workdir / f"{name}.sent.jsonl"
        self.trace = workdir / f"{name}.trace.cbor" if trace else None
        command = [sys.executable, "-m", "hil.simulator", "--link", str(self.link),
                   "--record", str(self.record), "--send-latency-ms", str(send_latency_ms)]
        command += (["--no-reports"] if report_delay_ms is None
                    else ["--report-delay-ms", str(report_delay_ms)])
        if self.trace is not None:
            command += ["--trace", str(self.trace)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None  # piped
        if self.process.stdout.readline().strip() != str(self.link):
            raise RuntimeError("the simulated modem did not start")

    def sent_count(self) -> int:
        if not self.record.exists():
            return 0
        with open(self.record, "rb") as file:
            return sum(1 for _ in file)

    def sent(self) -> list[dict]:
        """The PDUs accepted so far: ``time`` (wall clock), ``reference``, ``pdu``..."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line]

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=10)  # and its output pipe closed


def appliance_config(workdir: Path, modems: Sequence[Path], port: int, reports: bool = False,
                     extra: str = "") -> Path:
    """A config file: HTTP on ``port``, the store in ``workdir``/data, one gateway per
    modem port, asking for delivery reports only if ``reports`` (by default the
    simulators send none); ``extra``: more tables (a ``[[provider]]``)."""
    lines = [f'[http]\nlisten = "127.0.0.1:{port}"\n[storage]\npath = "{workdir / "data"}"\n']
    for n, modem in enumerate(modems, 1):
        lines.append(f'[[modem]]\nname = "GSM{n}"\nport = "{modem}"\ndelivery_reports = {str(reports).lower()}\n')
    lines.append(extra)
    path = workdir / "config.toml"
    path.write_text("".join(lines))
    return path


class Appliance:
    """``python -m appliance run`` on the given modem ports, with one API user.

    ``wrapper`` runs it under another program (``strace ...``); :attr:`pid` is then still
    the service's own process."""

    def __init__(self, workdir: Path, modems: Sequence[Path], wrapper: Sequence[str] = (),
                 reports: bool = False, extra: str = "") -> None:
        self.port = free_port()
        self.config = appliance_config(workdir, modems, self.port, reports, extra)
        self.database = workdir / "data" / "appliance.sqlite3"
        python, tree = appliance_tree()
        subprocess.run([python, "-m", "appliance", "user", "set", USER, "--password", PASSWORD,
                        "--config", str(self.config)], cwd=tree, check=True, capture_output=True)
        self.process = subprocess.Popen([*wrapper, python, "-m", "appliance", "run", "--config",
                                         str(self.config)], cwd=tree, env={**os.environ, **SERVICE_ENVIRONMENT},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(self._listening, 30, "the service", interval=0.05)
        self.pid = self.process.pid
        if wrapper:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            self.pid = int(children[0])

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the service exited with status {self.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def connection(self) -> http.client.HTTPConnection:
        """A keep-alive connection to the API (one per client thread)."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def send(self, connection: http.client.HTTPConnection, text: str, to: str = NUMBER) -> list[str]:
        """send-message (POST) on ``connection``; the message ids, one per recipient."""
        body = urllib.parse.urlencode({"username": USER, "password": PASSWORD, "to": to, "message": text})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            connection.request("POST", "/http/send-message", body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            # the service closed a keep-alive connection left idle (a quiet day's pauses):
            # the request never left, so it goes again on a new one
            connection.close()
            connection.request("POST", "/http/send-message", body=body, headers=headers)
        response = connection.getresponse()
        lines = response.read().decode().split()
        if response.status != 200 or not all(line.startswith("OK:") for line in lines[::2]):
            raise RuntimeError(f"send-message: {response.status} {' '.join(lines)}")
        return lines[1::2]

    def stop(self) -> None:
        """SIGTERM to the service itself (a wrapper such as strace ends when it does)."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
        self.process.wait(30)
