"""What bench/e2e.py measures, each driving simulated modems and submitting one message at
a time its own way: the appliance (HTTP API), gammu-smsd (``gammu-smsd-inject``),
smstools (its outgoing spool directory) and a bare python-gsmmodem-new ``sendSms`` loop.

The peers' configuration is generated here; bench/PEERS.md explains every setting.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also run as a script: the bare loop

from bench.service_runner import NUMBER, ROOT, Appliance, Simulator

# Debian packages and the program each peer needs
PEER_PROGRAMS = {"gammu-smsd": ("gammu-smsd", "gammu-smsd-inject"), "smstools": ("smsd",),
                 "smstools-sleeping": ("smsd",)}


def missing_programs(names: Sequence[str]) -> list[str]:
    return [program for name in names for program in PEER_PROGRAMS.get(name, ())
            if shutil.which(program) is None]


class Contender:
    """One system under test on started simulators: :meth:`submit` hands it one message,
    :attr:`pid` is the process whose CPU time counts."""

    name: str
    pid: int
    log: Path | None = None  # the daemon's log, shown when a run fails
    warm_up = 1  # messages sent before anything is measured

    def submit(self, text: str) -> None:
        raise NotImplementedError

    def warm(self, texts: Sequence[str]) -> None:
        """Send the warm-up messages, one at a time."""
        for text in texts:
            self.submit(text)

    def submit_many(self, texts: Sequence[str]) -> None:
        for text in texts:
            self.submit(text)

    def stop(self) -> None:
        raise NotImplementedError


class ApplianceClients(Contender):
    """The appliance through send-message: ``clients`` keep-alive connections in as many
    threads, one message per request; or, with ``per_request`` > 1, the ``to=a;b;c`` form
    (the same text to many recipients, one request per ``per_request`` of them).

    Warm-up: 32 messages through the same client connections the measurement uses, so
    that the service's thread for each connection has opened its SQLite connection, which
    it does on its first request."""

    warm_up = 32

    def __init__(self, workdir: Path, simulators: Sequence[Simulator], clients: int = 8,
                 per_request: int = 1) -> None:
        self.name = (f"appliance, {clients} keep-alive clients" if per_request == 1
                     else f"appliance, to=a;b;c ({per_request} recipients a request)")
        self.appliance = Appliance(workdir, [simulator.link for simulator in simulators])
        self.pid = self.appliance.pid
        self.clients = clients
        self.per_request = per_request
        self._local = threading.local()
        self._numbers = itertools.count()
        self._pool = ThreadPoolExecutor(clients)  # its threads keep their connections

    def _connection(self):
        if not hasattr(self._local, "connection"):
            self._local.connection = self.appliance.connection()
        return self._local.connection

    def submit(self, text: str) -> None:
        self.appliance.send(self._connection(), text)

    def _submit_batch(self, texts: Sequence[str]) -> None:
        # one text to many numbers: the first text of the batch, distinct recipients
        numbers = [f"+4477009{next(self._numbers):05d}" for _ in texts]
        ids = self.appliance.send(self._connection(), texts[0], to=";".join(numbers))
        if len(ids) != len(numbers):
            raise RuntimeError(f"{len(numbers)} recipients, {len(ids)} message ids")

    def submit_many(self, texts: Sequence[str]) -> None:
        size = self.per_request
        if size == 1:
            list(self._pool.map(self.submit, texts))
        else:
            list(self._pool.map(self._submit_batch, [texts[i:i + size] for i in range(0, len(texts), size)]))

    def warm(self, texts: Sequence[str]) -> None:
        self.submit(texts[0])  # the first login pays for scrypt, once
        self.submit_many(texts[1:])

    def stop(self) -> None:
        self._pool.shutdown()
        self.appliance.stop()


def gammu_config(workdir: Path, device: Path, *, outbox: str = "outbox", name: str = "gammu-smsdrc") -> Path:
    """gammu-smsd with the files backend, sending only, every interval at its lowest."""
    folders = {folder: workdir / folder for folder in ("inbox", "sent", "error")}
    folders["outbox"] = workdir / outbox
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
    path = workdir / name
    path.write_text(
        f"[gammu]\ndevice = {device}\nconnection = at\nmodel = at\n"
        "[smsd]\nservice = files\n"
        + "".join(f"{name}path = {folder}/\n" for name, folder in
                  (("inbox", folders["inbox"]), ("outbox", folders["outbox"]),
                   ("sentsms", folders["sent"]), ("errorsms", folders["error"])))
        + f"logfile = {workdir / 'gammu-smsd.log'}\ndebuglevel = 1\n"
        "receive = no\nloopsleep = 0\ncommtimeout = 0\nreceivefrequency = 0\nstatusfrequency = 0\n"
        "checksecurity = 0\ncheckbattery = 0\nchecksignal = 0\nchecknetwork = 0\n"
        "deliveryreport = no\n"
    )
    return path


class GammuSmsd(Contender):
    """gammu-smsd on one simulator; each message is a ``gammu-smsd-inject`` run.

    The injector writes into a folder of its own, and the file is then renamed into the
    outbox: gammu-smsd, looking at its outbox without a pause, otherwise sometimes reads a
    file still being written, finds it broken and moves it to its error folder (the
    message is lost; seen in 1 of the first 16 latency samples, twice)."""

    name = "gammu-smsd"

    def __init__(self, workdir: Path, simulators: Sequence[Simulator]) -> None:
        (simulator,) = simulators
        self.config = gammu_config(workdir, simulator.link)
        self.staging = workdir / "staging"
        self.inject_config = gammu_config(workdir, simulator.link, outbox="staging", name="gammu-smsdrc-inject")
        self.outbox = workdir / "outbox"
        self.log = workdir / "gammu-smsd.log"
        self.process = subprocess.Popen(["gammu-smsd", "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.process.pid
        self._numbers = itertools.count()

    def submit(self, text: str) -> None:
        # the outbox file is named after the second and the recipient, at most 100 a
        # second each ("Cannot save ... No available file names"): a number per message
        number = f"+4477009{next(self._numbers):05d}"
        injected = subprocess.run(["gammu-smsd-inject", "-c", str(self.inject_config), "TEXT", number,
                                   "-text", text], capture_output=True, text=True, check=False)
        if injected.returncode != 0:
            raise RuntimeError(f"gammu-smsd-inject: {injected.stderr.strip().splitlines()[-1:]}")
        for written in self.staging.iterdir():
            written.rename(self.outbox / written.name)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def smstools_config(workdir: Path, device: Path, idle_sleep: int = 0) -> Path:
    """smsd (smstools 3) with one modem, sending only, every interval at its lowest; or,
    with ``idle_sleep`` > 0, sleeping that many seconds when it has nothing to do (at 0
    it never sleeps: it keeps a core busy while idle)."""
    spool = {name: workdir / name for name in ("outgoing", "checked", "failed", "sent", "incoming")}
    for folder in spool.values():
        folder.mkdir()
    path = workdir / "smsd.conf"
    path.write_text(
        "devices = GSM1\n"
        + "".join(f"{name} = {folder}\n" for name, folder in spool.items())
        + f"logfile = {workdir / 'smsd.log'}\nloglevel = 5\n"
        f"infofile = {workdir / 'smsd.working'}\npidfile = {workdir / 'smsd.pid'}\n"
        f"delaytime = {idle_sleep}\ndelaytime_mainprocess = {idle_sleep}\n"
        f"sleeptime_mainprocess = {idle_sleep}\ntrust_outgoing = yes\n"
        f"\n[GSM1]\ndevice = {device}\nincoming = no\nbaudrate = 115200\nrtscts = no\n"
        "report = no\ncheck_network = 0\ndetect_unexpected_input = no\npoll_faster = 1000\n"
    )
    return path


class Smstools(Contender):
    """smsd (smstools) on one simulator; each message is a file moved into its outgoing
    spool directory (written beside it first, so smsd never sees half a file)."""

    def __init__(self, workdir: Path, simulators: Sequence[Simulator], idle_sleep: int = 0) -> None:
        (simulator,) = simulators
        self.name = "smstools" if idle_sleep == 0 else f"smstools, sleeping {idle_sleep} s when idle"
        self.config = smstools_config(workdir, simulator.link, idle_sleep)
        self.log = workdir / "smsd.log"
        self.outgoing = workdir / "outgoing"
        self.staging = workdir / "staging"
        self.staging.mkdir()
        self._names = itertools.count()
        # -t: in the foreground (no daemon fork), so its pid is the main process
        self.process = subprocess.Popen(["smsd", "-t", f"-c{self.config}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.process.pid

    def submit(self, text: str) -> None:
        name = f"e2e{next(self._names):06d}"
        staged = self.staging / name
        staged.write_text(f"To: {NUMBER.lstrip('+')}\n\n{text}\n")
        os.rename(staged, self.outgoing / name)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


class BareLoop(Contender):
    """python-gsmmodem-new's ``sendSms`` in a loop, in a process of its own
    (``e2e_contenders.py bare``): no API, no persistence; what a Python driver costs.

    It cannot take messages one by one from outside: :meth:`submit_many` starts the
    loop on all of them; the loop's own start time is :attr:`started`."""

    name = "bare python-gsmmodem-new sendSms loop"

    def __init__(self, workdir: Path, simulators: Sequence[Simulator]) -> None:
        (simulator,) = simulators
        self.process = subprocess.Popen([sys.executable, __file__, "bare", str(simulator.link)],
                                        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.replies = self.process.stdin, self.process.stdout
        self.pid = self.process.pid
        self.started: float | None = None
        if self.replies.readline().strip() != "connected":
            raise RuntimeError("python-gsmmodem-new did not connect to the simulated modem")

    def submit(self, text: str) -> None:
        self.submit_many([text])

    def submit_many(self, texts: Sequence[str]) -> None:
        self.requests.write(json.dumps(list(texts)) + "\n")
        self.requests.flush()
        self.started = float(self.replies.readline())
        if self.replies.readline().strip() != "done":
            raise RuntimeError("the sendSms loop failed")

    def stop(self) -> None:
        self.requests.close()
        self.process.wait(30)
        self.replies.close()


def _bare_loop(port: str) -> None:
    """The child of :class:`BareLoop`: connect, then for each JSON list of texts on stdin
    print the wall-clock time it starts, send them all, print ``done``."""
    import logging

    from gsmmodem.modem import GsmModem

    logging.disable(logging.WARNING)  # its notes on what the simulated modem lacks (caller ID)
    modem = GsmModem(port, 115200)
    modem.connect()
    print("connected", flush=True)
    for line in sys.stdin:
        texts = json.loads(line)
        print(time.time(), flush=True)
        for text in texts:
            modem.sendSms(NUMBER, text, waitForDeliveryReport=False)
        print("done", flush=True)
    modem.close()


CONTENDERS = {
    "appliance": ApplianceClients,
    "appliance-multi": lambda workdir, simulators: ApplianceClients(workdir, simulators, clients=1,
                                                                     per_request=100),
    "gammu-smsd": GammuSmsd,
    "smstools": Smstools,
    "smstools-sleeping": lambda workdir, simulators: Smstools(workdir, simulators, idle_sleep=1),
    "bare": BareLoop,
}


if __name__ == "__main__":
    if sys.argv[1:2] == ["bare"] and len(sys.argv) == 3:
        _bare_loop(sys.argv[2])
    else:
        sys.exit("usage: e2e_contenders.py bare PORT (started by bench/e2e.py)")
