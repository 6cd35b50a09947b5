"""No message lost, ever: SIGKILL the service again and again while it sends 1,000 SMS.

Three simulated modems (own processes, recording every PDU they accept) and the real
service process. Between kills the service is restarted at once, as systemd would. At
the end every accepted message must be Sent (or already Delivered), and a part may have reached a modem twice
only if it was in flight at a kill: at most one per modem per kill.
"""

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from appliance import pdu

from .test_service import ROOT, free_port, wait_for

PASSWORD = "crash-test-pass"
MODEMS = 3
MESSAGES = 1000
KILLS = 10


def start_simulator(workdir: Path, n: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "hil.simulator", "--link", str(workdir / f"tty{n}"),
         "--record", str(workdir / f"sent{n}.jsonl"), "--send-latency-ms", "15"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    process.stdout.readline()
    return process


def start_service(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "appliance", "run", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def send(port: int, numbers: list[str], text: str) -> list[str]:
    query = urllib.parse.urlencode({"username": "crash", "password": PASSWORD, "to": ";".join(numbers),
                                    "message": text})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/http/send-message", data=query.encode(),
                                timeout=30) as response:
        lines = response.read().decode().split("\r\n")
    ids = [line[4:] for line in lines if line.startswith("OK: ")]
    assert len(ids) == len(numbers), lines
    return ids


def listening(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
        return True
    except OSError:
        return False


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_only_parts_in_flight(tmp_path):
    rng = random.Random(20261122)
    port = free_port()
    simulators = [start_simulator(tmp_path, n) for n in range(MODEMS)]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[http]\nlisten = "127.0.0.1:{port}"\n[storage]\npath = "{tmp_path / "data"}"\n'
        + "".join(f'[[modem]]\nname = "GSM{n}"\nport = "{tmp_path / f"tty{n}"}"\n' for n in range(MODEMS)))
    subprocess.run([sys.executable, "-m", "appliance", "user", "set", "crash", "--password", PASSWORD,
                    "--config", str(config)], cwd=ROOT, check=True, capture_output=True)
    service = start_service(config)
    accepted: list[str] = []
    kills = 0
    try:
        wait_for(lambda: listening(port), what="the service to listen")
        # all 1,000 accepted up front, then killed while they go out
        for batch in range(MESSAGES // 100):
            numbers = [f"+4477009{batch:02d}{n:03d}" for n in range(100)]
            accepted += send(port, numbers, f"crash test batch {batch}")
        while kills < KILLS:
            time.sleep(rng.uniform(0.05, 0.6))
            service.send_signal(signal.SIGKILL)
            service.wait(10)
            kills += 1
            service = start_service(config)
            wait_for(lambda: listening(port), what="the restarted service to listen")
        database = tmp_path / "data" / "appliance.sqlite3"

        def unfinished() -> int:
            with sqlite3.connect(database) as db:
                return db.execute("SELECT COUNT(*) FROM outbound_message "
                                  "WHERE state NOT IN ('sent', 'delivered')").fetchone()[0]
        wait_for(lambda: unfinished() == 0, timeout=120, what="every message to be sent")
        with sqlite3.connect(database) as db:
            states = Counter(state for (state,) in db.execute("SELECT state FROM outbound_message"))
            stored = {row[0] for row in db.execute("SELECT id FROM outbound_message")}
    finally:
        service.kill()
        service.wait(10)
        for simulator in simulators:
            simulator.terminate()
            simulator.wait(10)

    reached = Counter()
    for n in range(MODEMS):
        for line in (tmp_path / f"sent{n}.jsonl").read_text().splitlines():
            decoded = pdu.decode(json.loads(line)["pdu"])
            reached[(decoded.number, decoded.text)] += 1
    duplicates = sum(count - 1 for count in reached.values())
    print(f"\ncrash test: {len(accepted)} accepted, {kills} kills, states {dict(states)}, "
          f"{sum(reached.values())} PDUs reached the modems, {len(reached)} distinct, {duplicates} duplicates")
    assert len(accepted) == MESSAGES and set(accepted) == stored        # none lost
    assert sum(states.values()) == MESSAGES                               # all final: sent, and
    assert set(states) <= {"sent", "delivered"}                           # perhaps confirmed
    assert len(reached) == MESSAGES                                       # every one reached a modem
    assert duplicates <= kills * MODEMS                                   # only parts in flight at a kill
