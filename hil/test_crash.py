"""No message lost, ever: SIGKILL the service again and again while it takes and sends 1,000 SMS.

Three simulated modems (own processes, recording every PDU they accept) and the real
service process. Messages are accepted over HTTP in batches while the service already
sends them; some are two or three parts long. The service is killed once while messages
are still being accepted, then every time some more PDUs reached the modems (randomised,
spread over the whole run), and restarted at once, as systemd would.

At each kill, before the restart, the store says which parts were in flight: the first
unsent part of each message a gateway had claimed. At the end every accepted message is
Sent (or already Delivered), every one of its parts reached a modem, and a part reached
a modem twice only if it was in flight at a kill — at most one part per modem per kill.

The client counts a message as accepted only when its request was answered OK. A request
the kill left unanswered may or may not have been stored: its messages are counted apart,
and if stored they must go out like the others.
"""

from __future__ import annotations

import http.client
import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from .test_service import ROOT, free_port, wait_for

PASSWORD = "crash-test-pass"
MODEMS = 3
MESSAGES = 1000
BATCH = 10                      # recipients per send-message request
PROGRESS_KILLS = 10             # kills spread over the sending, besides the one while accepting
PARTS = {1: 0.7, 2: 0.2, 3: 0.1}   # share of batches whose text takes 1, 2, 3 SMS
TEXT_LENGTH = {1: 120, 2: 250, 3: 400}   # GSM 7-bit characters: 1, 2 and 3 parts
FINAL_STATES = ("sent", "delivered")

# the parts a claimed message has not yet seen confirmed: its first one may be at a modem
IN_FLIGHT = """
    SELECT m.gateway, p.pdu FROM outbound_message m JOIN message_part p ON p.message_id = m.id
    WHERE m.state = 'sending' AND p.state = 'pending'
      AND p.sequence = (SELECT MIN(q.sequence) FROM message_part q
                        WHERE q.message_id = m.id AND q.state = 'pending')
"""


def start_simulator(workdir: Path, n: int) -> subprocess.Popen[str]:
    """A simulator process, once it has made its link (the line it prints)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hil.simulator", "--link", str(workdir / f"tty{n}"),
         "--record", str(workdir / f"sent{n}.jsonl"), "--send-latency-ms", "15"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    return process


def start_service(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "appliance", "run", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def listening(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
        return True
    except OSError:
        return False


class Recorded:
    """The PDUs the modems accepted, read as the simulators append them to their records.

    The simulators are other processes writing files: reading what they appended is the
    only way to see their progress, so waiting for it is a short poll."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.offsets = [0] * len(paths)
        self.pdus: list[str] = []

    def update(self) -> int:
        for i, path in enumerate(self.paths):
            if not path.exists():
                continue
            with path.open("rb") as handle:
                handle.seek(self.offsets[i])
                data = handle.read()
            complete = data[:data.rfind(b"\n") + 1]   # a line being written is read next time
            self.offsets[i] += len(complete)
            self.pdus += [json.loads(line)["pdu"] for line in complete.splitlines()]
        return len(self.pdus)


class Client:
    """Sends batches until MESSAGES are accepted. A message is accepted only if its request
    was answered OK; a request without an answer (the service died under it) is counted
    apart, its numbers never reused, and the client goes on once the service listens."""

    def __init__(self, port: int, rng: random.Random) -> None:
        self.port = port
        self.rng = rng
        self.accepted: dict[str, str] = {}          # message id -> recipient
        self.unanswered: list[list[str]] = []       # recipients of requests without an answer
        self.parts_planned = 0                      # SMS parts of the accepted messages
        self.done = False
        self.error: BaseException | None = None
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="crash-client", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def wait_accepted(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.accepted) >= count or self.done, 60)

    def _run(self) -> None:
        try:
            batch = 0
            while len(self.accepted) < MESSAGES:
                parts = self.rng.choices(list(PARTS), weights=list(PARTS.values()))[0]
                text = f"crash {batch:04d} ".ljust(TEXT_LENGTH[parts], "x")
                numbers = [f"+44770{batch:04d}{n:02d}" for n in range(BATCH)]
                batch += 1
                try:
                    ids = self._send(numbers, text)
                except (OSError, http.client.HTTPException):
                    with self.changed:
                        self.unanswered.append(numbers)
                    wait_for(lambda: listening(self.port), timeout=30, what="the service to listen again")
                    continue
                with self.changed:
                    self.accepted.update(zip(ids, numbers, strict=True))
                    self.parts_planned += parts * len(ids)
                    self.changed.notify_all()
        except BaseException as error:   # handed to the test's thread
            self.error = error
        finally:
            with self.changed:
                self.done = True
                self.changed.notify_all()

    def _send(self, numbers: list[str], text: str) -> list[str]:
        query = urllib.parse.urlencode({"username": "crash", "password": PASSWORD, "to": ";".join(numbers),
                                        "message": text})
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/http/send-message", data=query.encode(),
                                    timeout=30) as response:
            lines = response.read().decode().split("\r\n")
        ids = [line[4:] for line in lines if line.startswith("OK: ")]
        assert len(ids) == len(numbers), lines
        return ids


def in_flight(database: Path) -> list[tuple[str, str]]:
    """(gateway, PDU) of every part that may have been at a modem when the service died."""
    with sqlite3.connect(database) as db:
        return db.execute(IN_FLIGHT).fetchall()


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_only_parts_in_flight(tmp_path):
    rng = random.Random(20261122)
    port = free_port()
    simulators = [start_simulator(tmp_path, n) for n in range(MODEMS)]
    recorded = Recorded([tmp_path / f"sent{n}.jsonl" for n in range(MODEMS)])
    database = tmp_path / "data" / "appliance.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[http]\nlisten = "127.0.0.1:{port}"\n[storage]\npath = "{tmp_path / "data"}"\n'
        + "".join(f'[[modem]]\nname = "GSM{n}"\nport = "{tmp_path / f"tty{n}"}"\n' for n in range(MODEMS)))
    subprocess.run([sys.executable, "-m", "appliance", "user", "set", "crash", "--password", PASSWORD,
                    "--config", str(config)], cwd=ROOT, check=True, capture_output=True)
    service = start_service(config)
    client = Client(port, rng)
    kills: list[dict] = []   # per kill: PDUs recorded by then, still accepting?, parts in flight

    def kill_and_restart() -> None:
        nonlocal service
        service.send_signal(signal.SIGKILL)
        service.wait(10)
        kills.append({"recorded": recorded.update(), "accepting": not client.done,
                      "in_flight": in_flight(database)})
        service = start_service(config)
        wait_for(lambda: listening(port), what="the restarted service to listen")

    try:
        wait_for(lambda: listening(port), what="the service to listen")
        client.start()
        # once while messages are still coming in over HTTP
        client.wait_accepted(rng.randrange(MESSAGES // 5, MESSAGES // 2))
        kill_and_restart()
        # then spread over the sending: the i-th kill near (i + 1)/(n + 1) of all PDUs, give or
        # take 40 % of a step, and never before a few more PDUs went out since the restart
        expected = sum(p * share for p, share in PARTS.items()) * MESSAGES
        step = expected / (PROGRESS_KILLS + 1)
        for i in range(PROGRESS_KILLS):
            target = max(step * (i + 1 + rng.uniform(-0.4, 0.4)), recorded.update() + rng.randint(3, 15))
            wait_for(lambda target=target: recorded.update() >= target, timeout=60,
                     what=f"{target:.0f} PDUs at the modems")
            kill_and_restart()
        client.thread.join(60)
        assert client.error is None, client.error
        assert client.done

        def unfinished() -> int:
            with sqlite3.connect(database) as db:
                return db.execute("SELECT COUNT(*) FROM outbound_message WHERE state NOT IN (?, ?)",
                                  FINAL_STATES).fetchone()[0]
        wait_for(lambda: unfinished() == 0, timeout=120, what="every message to be sent")
        with sqlite3.connect(database) as db:
            states = Counter(state for (state,) in db.execute("SELECT state FROM outbound_message"))
            stored = dict(db.execute("SELECT id, recipient FROM outbound_message"))
            parts: dict[str, list[str]] = {}
            for message_id, pdu in db.execute("SELECT message_id, pdu FROM message_part"):
                parts.setdefault(message_id, []).append(pdu)
    finally:
        service.kill()
        service.wait(10)
        for simulator in simulators:
            simulator.terminate()
            simulator.communicate(timeout=10)  # and its output pipe closed
    recorded.update()

    reached = Counter(recorded.pdus)
    duplicates = {pdu: count - 1 for pdu, count in reached.items() if count > 1}
    flying = Counter(pdu for kill in kills for _, pdu in kill["in_flight"])
    unanswered = {number for numbers in client.unanswered for number in numbers}
    unanswered_stored = {i for i, number in stored.items() if number in unanswered}
    lost = {i for i in client.accepted if i not in stored or not set(parts.get(i, ())) or
            not set(parts[i]) <= set(reached)}
    print(f"\ncrash test: {len(client.accepted)} accepted ({client.parts_planned} parts), "
          f"{len(kills)} kills ({sum(k['accepting'] for k in kills)} while accepting, "
          f"at {[k['recorded'] for k in kills]} PDUs), "
          f"{sum(flying.values())} parts in flight at a kill, "
          f"{len(client.unanswered)} requests unanswered ({len(unanswered)} messages, "
          f"{len(unanswered_stored)} of them stored and sent), final states {dict(states)}, "
          f"{sum(reached.values())} PDUs reached the modems ({len(reached)} distinct), "
          f"lost {len(lost)}, duplicates {sum(duplicates.values())} "
          f"(all in flight at a kill: {all(pdu in flying for pdu in duplicates)})")

    assert len(kills) == PROGRESS_KILLS + 1 and kills[0]["accepting"]
    assert len(client.accepted) == MESSAGES
    assert lost == set()                                                  # none lost
    assert set(stored) == set(client.accepted) | unanswered_stored        # and nothing made up
    assert set(states) <= set(FINAL_STATES)                               # all final: sent, perhaps confirmed
    assert set(reached) == {pdu for message in parts.values() for pdu in message}   # every part went out
    assert sum(len(p) for i, p in parts.items() if i in client.accepted) == client.parts_planned
    for kill in kills:                                                    # one part per modem at most
        assert max(Counter(gateway for gateway, _ in kill["in_flight"]).values(), default=0) <= 1, kill
    for pdu, extra in duplicates.items():                                 # a part went twice only if
        assert extra <= flying[pdu], (pdu, extra, flying[pdu])            # in flight at so many kills
