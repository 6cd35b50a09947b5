"""The whole appliance as a user runs it: real processes, a simulated modem on a pty, HTTP.

The simulator runs as its own process (``python -m hil.simulator --record``), so what it
records is what reached the "network", seen from outside the service.
"""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from appliance import pdu
from hil.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(port: int, command: str, method="GET", **params) -> list[str]:
    """One Diafaan API command; its reply lines. ``message_id`` is sent as ``message-id``."""
    query = urllib.parse.urlencode({k.replace("_", "-"): v for k, v in params.items()})
    url = f"http://127.0.0.1:{port}/http/{command}"
    if method == "GET":
        request = urllib.request.Request(f"{url}?{query}")
    else:
        request = urllib.request.Request(url, data=query.encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode().rstrip("\r\n").split("\r\n")


class Simulator:
    def __init__(self, link: Path, record: Path):
        self.record = record
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hil.simulator", "--link", str(link), "--record", str(record)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.path = self.process.stdout.readline().strip()
        assert self.path == str(link)

    def sent(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]

    def stop(self):
        self.process.terminate()
        self.process.communicate(timeout=10)
        assert self.process.returncode == 0


class Appliance:
    """``sms-appliance run`` with a config file, under a fake systemd notify socket;
    ``http_settings``: more lines for its ``[http]`` table."""

    def __init__(self, workdir: Path, modem_port: str, watchdog_usec: int = 200_000, http_settings: str = ""):
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "config.toml"
        self.config.write_text(
            f'[http]\nlisten = "127.0.0.1:{self.port}"\n{http_settings}'
            f'[storage]\npath = "{workdir / "data"}"\n'
            f'[[modem]]\nname = "GSM Modem Gateway"\nport = "{modem_port}"\n')
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_path = workdir / f"notify-{time.monotonic_ns()}"
        self.notify.bind(str(self.notify_path))
        self.notify.setblocking(False)
        self.watchdog_usec = watchdog_usec
        self.process: subprocess.Popen[str] | None = None
        self.notifications: list[str] = []

    def cli(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "appliance", *args, "--config", str(self.config)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)

    def start(self):
        env = dict(os.environ, NOTIFY_SOCKET=str(self.notify_path), WATCHDOG_USEC=str(self.watchdog_usec))
        env.pop("WATCHDOG_PID", None)
        self.read_notifications()
        self.notifications.clear()  # READY=1 must come from this start
        process = subprocess.Popen([sys.executable, "-m", "appliance", "run", "--config", str(self.config)],
                                   cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.process = process
        wait_for(lambda: "READY=1" in self.read_notifications() or process.poll() is not None, what="READY=1")
        assert process.poll() is None, process.communicate()[0]
        return self

    @property
    def running(self) -> subprocess.Popen[str]:
        """The service's process, once started."""
        assert self.process is not None, "the appliance was never started"
        return self.process

    def read_notifications(self) -> str:
        try:
            while True:
                self.notifications.append(self.notify.recv(4096).decode())
        except BlockingIOError:
            pass
        return "\n".join(self.notifications)

    def http(self, command: str, method="GET", **params) -> list[str]:
        return http(self.port, command, method, **params)

    def send(self, method="GET", **params) -> str:
        params = {"username": "alice", "password": PASSWORD, **params}
        (line,) = self.http("send-message", method, **params)
        assert line.startswith("OK: "), line
        return line[4:]

    def status(self, message_id: str) -> str:
        (line,) = self.http("request-status-update", username="alice", password=PASSWORD, message_id=message_id)
        return line

    def kill(self):
        self.running.kill()
        self.running.communicate(timeout=10)

    def stop(self) -> str:
        self.running.terminate()
        output, _ = self.running.communicate(timeout=20)
        assert self.running.returncode == 0, output
        return output

    def close(self):
        if self.process and self.process.poll() is None:
            self.kill()
        self.notify.close()


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


def test_sms_sent_through_the_http_api_reaches_the_modem_and_turns_sent(workdir):
    simulator = Simulator(workdir / "ttyGSM0", workdir / "sent.jsonl")
    appliance = Appliance(workdir, simulator.path)
    try:
        result = appliance.cli("user", "set", "alice", "--password", PASSWORD)
        assert result.returncode == 0, result.stderr
        appliance.start()
        for method in ("GET", "POST"):
            message_id = appliance.send(method, to="+447700900123", message=f"Disk full on db1 ({method})")
            wait_for(lambda message_id=message_id: appliance.status(message_id) == "STATUS:200 Success",
                     what="STATUS:200 Success")
            (line,) = appliance.http("request-status-update", username="alice", password=PASSWORD,
                                     message_id=message_id, info="gateway")
            assert line == "GATEWAY:GSM Modem Gateway"
        texts = [pdu.decode(entry["pdu"]).text for entry in simulator.sent()]
        numbers = {pdu.decode(entry["pdu"]).number for entry in simulator.sent()}
        assert texts == ["Disk full on db1 (GET)", "Disk full on db1 (POST)"]
        assert numbers == {"+447700900123"}
        # systemd heard READY=1, then watchdog pets while the event loop is healthy
        wait_for(lambda: appliance.read_notifications().count("WATCHDOG=1") >= 3, what="WATCHDOG=1")
        output = appliance.stop()
        assert "STOPPING=1" in appliance.read_notifications()
        assert f"http://127.0.0.1:{appliance.port}/" in output
        assert "Admin login: user 'admin', password '" in output  # first start: shown once
    finally:
        appliance.close()
        simulator.stop()


def test_make_runs_command_line_starts_the_simulated_modems_asked_for(workdir):
    """``make run`` passes ``--simulate 1`` and lets ARGS add a later ``--simulate N``: the
    last one counts, and each simulated modem is a gateway that sends."""
    port = free_port()
    with subprocess.Popen([sys.executable, "-m", "appliance", "run", "--simulate", "1", "--data",
                           str(workdir / "data"), "--listen", f"127.0.0.1:{port}", "--simulate", "2"],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        assert process.stdout is not None
        try:
            lines = [process.stdout.readline(), process.stdout.readline()]
            assert lines[0].startswith(f"SMS Appliance is running at http://127.0.0.1:{port}/"), lines
            login = {"username": "admin", "password": lines[1].split("password '")[1].split("'")[0]}
            for gateway in ("Simulated Modem 1", "Simulated Modem 2"):
                (line,) = http(port, "send-message", **login, to="+447700900123", message="Hi", gateway=gateway)
                query = {**login, "message_id": line.removeprefix("OK: ")}
                wait_for(lambda query=query: http(port, "request-status-update", **query) == ["STATUS:200 Success"],
                         what=f"sent through {gateway}")
                assert http(port, "request-status-update", **query, info="gateway") == [f"GATEWAY:{gateway}"]
        finally:
            process.terminate()
        assert process.wait(20) == 0


def test_bad_requests_get_their_error_line_and_store_nothing(workdir):
    simulator = Simulator(workdir / "ttyGSM0", workdir / "sent.jsonl")
    appliance = Appliance(workdir, simulator.path)
    try:
        appliance.cli("user", "set", "alice", "--password", PASSWORD)
        appliance.start()
        base = {"to": "+441", "message": "hi"}
        cases = [
            ({**base, "username": "nobody", "password": PASSWORD}, "ERROR:304"),
            ({**base, "username": "alice", "password": "wrong-password"}, "ERROR:304"),
            ({"message": "hi", "username": "alice", "password": PASSWORD}, "ERROR:301"),
            ({"to": "+441", "message": "", "username": "alice", "password": PASSWORD}, "ERROR:311"),
            ({"to": "+44-abc", "message": "hi", "username": "alice", "password": PASSWORD}, "ERROR:311"),
        ]
        for params, code in cases:
            (line,) = appliance.http("send-message", **params)
            assert line.startswith(code + " "), (params, line)
        appliance.stop()
        with sqlite3.connect(workdir / "data" / "appliance.sqlite3") as db:
            assert db.execute("SELECT COUNT(*) FROM outbound_message").fetchone()[0] == 0
        assert simulator.sent() == []
    finally:
        appliance.close()
        simulator.stop()


def test_queued_messages_survive_a_kill_and_are_sent_after_restart(workdir):
    link = workdir / "ttyGSM0"   # no modem yet: messages can only queue
    appliance = Appliance(workdir, str(link))
    simulator = None
    try:
        appliance.cli("user", "set", "alice", "--password", PASSWORD)
        appliance.start()
        ids = [appliance.send(to=f"+4477009001{n:02d}", message=f"queued {n}") for n in range(5)]
        assert all(appliance.status(i) == "STATUS:100 Queued" for i in ids)
        appliance.kill()  # SIGKILL: no chance to flush anything; only committed rows remain
        with sqlite3.connect(workdir / "data" / "appliance.sqlite3") as db:
            assert db.execute("SELECT COUNT(*) FROM outbound_message WHERE state = 'queued'").fetchone()[0] == 5
        simulator = Simulator(link, workdir / "sent.jsonl")
        appliance.start()
        wait_for(lambda: all(appliance.status(i) == "STATUS:200 Success" for i in ids), what="all sent")
        texts = sorted((pdu.decode(entry["pdu"]).text for entry in simulator.sent()), key=str)
        assert texts == sorted(f"queued {n}" for n in range(5))
        output = appliance.stop()
        assert "password '" not in output  # the admin password is shown on the first start only
    finally:
        appliance.close()
        if simulator:
            simulator.stop()


def test_unit_file_passes_systemd_analyze_verify(tmp_path):
    analyze = "/usr/bin/systemd-analyze"
    if not os.path.exists(analyze):
        pytest.fail("systemd-analyze is missing: `make test` installs the systemd package")
    unit = (ROOT / "systemd" / "sms-appliance.service").read_text()
    executable = Path(sys.executable).with_name("sms-appliance")
    assert executable.exists()
    # verify checks that ExecStart exists: point it at this checkout's installed script
    unit = unit.replace("/opt/sms-appliance/venv/bin/sms-appliance", str(executable))
    path = tmp_path / "sms-appliance.service"
    path.write_text(unit)
    result = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "sms-appliance.service" not in result.stderr, result.stderr  # no warnings about our unit
    for directive in ("Type=notify", "WatchdogSec=", "Restart=", "User=sms-appliance",
                      "StateDirectory=sms-appliance", "SupplementaryGroups=dialout"):
        assert directive in unit
