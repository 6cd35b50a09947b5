"""Kannel (Debian's ``kannel`` package) as the peer of the provider benchmark
(bench/providers.py): bearerbox and smsbox started as the current user in a temporary
directory, with one generic HTTP SMSC sending to bench/provider_fake.py, driven through
smsbox's sendsms HTTP interface.

The configuration written (:func:`kannel_config`) is what bench/PEERS.md shows
("Kannel"): a generic HTTP SMSC (``smsc = http``, ``system-type = generic``) whose
``send-url`` carries the recipient (``%p``: for a message sent, Kannel's
``%p`` is the receiver), sender (``%P``), text (``%b``) and Kannel's
own message id (``%I``); ``status-success-regex`` reads the fake's ``OK <id>`` and
``generic-foreign-id-regex`` its id; ``max-pending-submits`` is how many requests the
SMSC has in flight at once (the concurrency the appliance's ``[[provider]] concurrency``
matches); no ``throughput`` limit. The message store is Kannel's file store, so that
what Kannel accepted survives a restart as the appliance's queue does.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.parse
from functools import partial
from pathlib import Path
from typing import BinaryIO

from bench.service_runner import cpu_seconds, free_port, wait

PROGRAMS = ("bearerbox", "smsbox")
USER = "bench"
PASSWORD = "bench-password"
SENDER = "Bench"


def missing() -> list[str]:
    """Kannel's programs not on this machine (``apt-get install kannel`` brings them)."""
    return [program for program in PROGRAMS if shutil.which(program) is None]


def kannel_config(workdir: Path, ports: dict[str, int], send_url: str, concurrency: int) -> str:
    """bearerbox's and smsbox's configuration, one file (both read their own groups)."""
    return f"""group = core
admin-port = {ports["admin"]}
admin-password = {PASSWORD}
status-password = {PASSWORD}
admin-allow-ip = "127.0.0.1"
smsbox-port = {ports["smsbox"]}
box-allow-ip = "127.0.0.1"
log-file = "{workdir / "bearerbox.log"}"
log-level = 2
store-type = file
store-location = "{workdir / "kannel.store"}"

group = smsc
smsc = http
smsc-id = fake
system-type = generic
port = {ports["mo"]}
connect-allow-ip = "127.0.0.1"
send-url = "{send_url}?to=%p&from=%P&text=%b&id=%I"
status-success-regex = "^OK"
generic-foreign-id-regex = "^OK (.+)$"
max-pending-submits = {concurrency}

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports["smsbox"]}
sendsms-port = {ports["sendsms"]}
log-file = "{workdir / "smsbox.log"}"
log-level = 2

group = sendsms-user
username = {USER}
password = {PASSWORD}
"""


class Kannel:
    """bearerbox and smsbox, running; :meth:`request` builds a sendsms request."""

    def __init__(self, workdir: Path, send_url: str, concurrency: int) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in ("admin", "smsbox", "mo", "sendsms")}
        config = workdir / "kannel.conf"
        config.write_text(kannel_config(workdir, self.ports, send_url, concurrency))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.outputs: list[BinaryIO] = []
        for program in PROGRAMS:
            output = open(workdir / f"{program}.out", "wb")  # noqa: SIM115  # the child's, closed at stop
            self.outputs.append(output)
            self.processes.append(subprocess.Popen([program, "-v", "2", str(config)], cwd=workdir,
                                                   stdout=output, stderr=subprocess.STDOUT))
            # bearerbox listens for smsbox, smsbox for sendsms requests, once each is up
            wait(partial(self._listening, self.ports["smsbox" if program == "bearerbox" else "sendsms"]), 30,
                 f"Kannel's {program}", interval=0.05)

    def _listening(self, port: int) -> bool:
        for program, process in zip(PROGRAMS, self.processes, strict=False):
            if process.poll() is not None:
                raise RuntimeError(f"{program} exited with status {process.returncode}: "
                                   f"see {self.workdir}/*.out and *.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def cpu(self) -> float:
        """CPU seconds of bearerbox and smsbox so far."""
        return sum(cpu_seconds(pid) for pid in self.pids)

    def request(self, recipients: list[str], text: str) -> tuple[str, str, bytes]:
        """A sendsms GET for ``recipients`` (several: space-separated, one message each)."""
        query = urllib.parse.urlencode({"username": USER, "password": PASSWORD, "from": SENDER,
                                        "to": " ".join(recipients), "text": text})
        return "GET", f"/cgi-bin/sendsms?{query}", b""

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.ports["sendsms"]

    def stop(self) -> None:
        """SIGTERM to each (bearerbox shuts down the SMSC and the store cleanly)."""
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for output in self.outputs:
            output.close()
