"""Failover from a modem to a provider through the real service (docs/providers.md,
"Failover"): ``sms-appliance run`` with a simulated modem as the HTTP API's primary and a
fake SMSAPI account over real HTTPS as its backup. Mid-run the modem loses the network;
every message is still sent, and sent exactly once, by one of the two: what the simulator
put on the air and what the fake provider accepted are counted together. When the network
comes back, the modem is the primary again.
"""

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance import pdu
from hil.test_service import PASSWORD, ROOT, Appliance, Simulator
from hil.waiting import wait_for

# The fake providers live beside the unit tests (tests/provider_fakes, tests/certificates.py)
sys.path.insert(0, str(ROOT / "tests"))
from provider_fakes.smsapi import FakeSmsApi  # type: ignore[import-not-found]

MODEM, PROVIDER = "GSM Modem Gateway", "SMSAPI Backup"
TOKEN = "tok-failover"
COUNT = 40          # messages in the run
LOST_AFTER = 13     # about a third: the modem loses the network after this many were handed in
PACE = 0.1          # seconds between two send-message requests: a steady stream, not a burst
SEND_LATENCY_MS = 200  # the modem's time for one SMS, longer than the pace: when the network
                       # goes, a send is under way and more wait for the modem
DEADLINE = 60.0     # for the run to end on a busy machine; the happy path takes a few seconds


class ControlledSimulator(Simulator):
    """The simulator process of :class:`hil.test_service.Simulator`, with its fault
    commands open (``--commands``, hil/control.py): a line on its stdin, answered ``ok``
    on its stderr. Each send takes ``SEND_LATENCY_MS``; no status reports, so that a sent
    message stays Sent."""

    def __init__(self, link: Path, record: Path) -> None:
        self.record = record
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hil.simulator", "--commands", "--no-reports",
             "--send-latency-ms", str(SEND_LATENCY_MS),
             "--link", str(link), "--record", str(record)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.path = self.process.stdout.readline().strip()
        assert self.path == str(link)

    def command(self, line: str) -> None:
        """Run one fault command; its answer must be ``ok``."""
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stderr.readline()
        assert answer == "ok\n", (line, answer)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSmsApi]:
    provider = FakeSmsApi(tmp_path, token=TOKEN).start()
    yield provider
    provider.stop()


def server_status(appliance: Appliance) -> ET.Element:
    lines = appliance.http("request-server-status", username="alice", password=PASSWORD)
    return ET.fromstring("\r\n".join(lines).encode("utf-8"))


def gateway_state(appliance: Appliance, name: str) -> tuple[str, str]:
    """(InService, State) of one gateway in the status XML."""
    (gateway,) = [g for g in server_status(appliance).find("Gateways") or () if g.findtext("Name") == name]
    return gateway.findtext("InService") or "", gateway.findtext("State") or ""


def counts(appliance: Appliance) -> dict[str, int]:
    """The status XML's messages by state: {"Queued": 3, "Sent": 37, ...}."""
    messages = server_status(appliance).find("Messages")
    assert messages is not None
    return {child.tag: int(child.text or 0) for child in messages}


def number(n: int) -> str:
    return f"+4477009{n:05d}"


def text(n: int) -> str:
    return f"failover run, message {n}"


def modem_sent(simulator: Simulator) -> list[tuple[str, str]]:
    """(number, text) of each SMS the simulated modem put on the air, in order."""
    return [(d.number or "", d.text or "") for d in (pdu.decode(e["pdu"]) for e in simulator.sent())]


def provider_sent(fake: FakeSmsApi) -> list[tuple[str, str]]:
    """(number, text) of each SMS the fake provider accepted (SMSAPI takes numbers without +)."""
    return [("+" + a["to"], a["text"]) for a in list(fake.accepted)]


def test_a_modem_that_loses_the_network_mid_run_fails_over_to_the_provider_each_message_once(tmp_path, fake):
    simulator = ControlledSimulator(tmp_path / "ttyGSM0", tmp_path / "sent.jsonl")
    appliance = Appliance(tmp_path, simulator.path)
    appliance.config.write_text(
        appliance.config.read_text()
        + f'[[provider]]\nname = "{PROVIDER}"\ntype = "smsapi"\nbase_url = "{fake.url}"\n'
          f'ca_file = "{fake.ca_file}"\ntoken = "{TOKEN}"\n'
          f'[[connector]]\nname = "HTTP API"\ntype = "http"\n'
          f'gateways = [{{ name = "{MODEM}" }}, {{ name = "{PROVIDER}", role = "backup" }}]\n')
    try:
        assert appliance.cli("user", "set", "alice", "--password", PASSWORD).returncode == 0
        appliance.start()
        ids: dict[str, int] = {}
        for n in range(COUNT):
            if n == LOST_AFTER:
                # the modem has sent some (so each gateway sends a share) and is busy with more:
                # the network goes while a send is under way and others wait for the modem
                wait_for(lambda: modem_sent(simulator) and counts(appliance)["Sending"] > 0,
                         timeout=DEADLINE, what="the modem's first SMS, and a send under way")
                simulator.command("network lost")
            ids[appliance.send(to=number(n), message=text(n))] = n
            time.sleep(PACE)  # the pace of the stream, not a wait for anything
        assert len(ids) == COUNT

        wait_for(lambda: counts(appliance)["Sent"] == COUNT, timeout=DEADLINE, what=f"{COUNT} messages Sent")
        others = {state: n for state, n in counts(appliance).items() if state not in ("Sent", "Received")}
        assert others == dict.fromkeys(others, 0), "nothing left queued or sending, nothing failed"
        by_gateway: Counter[str] = Counter()
        for message_id, n in ids.items():
            assert appliance.status(message_id) == "STATUS:200 Success", (n, appliance.status(message_id))
            (line,) = appliance.http("request-status-update", username="alice", password=PASSWORD,
                                     message_id=message_id, info="gateway")
            by_gateway[line.removeprefix("GATEWAY:")] += 1

        # exactly once: the air and the provider together hold each message once
        on_air, at_provider = modem_sent(simulator), provider_sent(fake)
        everything = Counter(on_air + at_provider)
        assert everything == Counter((number(n), text(n)) for n in range(COUNT)), \
            {k: v for k, v in everything.items() if v != 1}
        assert on_air and at_provider, "each gateway sent a share"
        assert by_gateway == {MODEM: len(on_air), PROVIDER: len(at_provider)}
        # the provider knows each of its messages by the store's message id (idx, check_idx=1)
        assert sorted(a["idx"] for a in fake.accepted) == sorted(i for i, n in ids.items()
                                                                 if (number(n), text(n)) in at_provider)
        # while the network is gone the modem is out of service and the provider in
        assert gateway_state(appliance, MODEM) == ("0", "not-registered")
        assert gateway_state(appliance, PROVIDER) == ("1", "ready")

        # the network comes back: the modem is in service, and the primary again
        simulator.command("network back")
        wait_for(lambda: gateway_state(appliance, MODEM) == ("1", "ready"), timeout=DEADLINE,
                 what="the modem back in service")
        message_id = appliance.send(to=number(COUNT), message=text(COUNT))
        wait_for(lambda: appliance.status(message_id) == "STATUS:200 Success", timeout=DEADLINE,
                 what="the message after the network came back Sent")
        (line,) = appliance.http("request-status-update", username="alice", password=PASSWORD,
                                 message_id=message_id, info="gateway")
        assert line == f"GATEWAY:{MODEM}"
        assert modem_sent(simulator)[-1] == (number(COUNT), text(COUNT))
        # and nothing was sent twice later on, by either of them
        assert Counter(modem_sent(simulator) + provider_sent(fake)) == Counter(
            (number(n), text(n)) for n in range(COUNT + 1))
        appliance.stop()
    finally:
        appliance.close()
        simulator.stop()
