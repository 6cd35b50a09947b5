"""Third-party software against the simulated modem: Debian's gammu and gammu-smsd.

gammu's AT driver is demanding (identity, charset negotiation, CPMS/CNMI test forms,
CMGL/CMGR/CMGD, CUSD, CMMS...): if it works against the simulator, the simulator is a
real peer (docs/architecture.md, The folders). Needs ``apt-get install -y gammu gammu-smsd``; the
tests fail, not skip, without them, so that CI cannot pass without running them.

gammu sleeps 400 ms after each of its first ten commands, so every gammu run costs about
four seconds: the three CLI runs go in parallel, each against its own simulator.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from appliance import pdu
from hil.simulator import SimulatedModem
from hil.waiting import wait_for

NUMBER = "+491701234567"


@pytest.fixture(autouse=True)
def _gammu_installed() -> None:
    missing = [tool for tool in ("gammu", "gammu-smsd") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not installed: apt-get install -y gammu gammu-smsd "
            "(these tests check the simulator against gammu and must not be skipped)"
        )


def gammurc(directory: Path, device: str, extra: str = "") -> Path:
    """A gammu config for the AT driver on ``device``, logging to ``directory``."""
    path = directory / "gammurc"
    path.write_text(
        f"[gammu]\ndevice = {device}\nconnection = at\nmodel = at\n"
        f"logfile = {directory / 'gammu.log'}\nlogformat = textall\n{extra}"
    )
    return path


def test_gammu_identify_sendsms_and_getallsms(tmp_path):
    runs = {
        "identify": ["identify"],
        "sendsms": ["sendsms", "TEXT", NUMBER, "-text", "hello from gammu"],
        "getallsms": ["getallsms"],
    }
    with SimulatedModem() as identify, SimulatedModem() as sender, SimulatedModem() as inbox:
        inbox.deliver_sms(NUMBER, "Grüße aus Köln ☺ " * 6)  # two UCS2 parts
        inbox.deliver_sms("+15555550123", "plain seven bit")
        processes = {}
        for name, modem in zip(runs, (identify, sender, inbox), strict=True):
            directory = tmp_path / name
            directory.mkdir()
            processes[name] = subprocess.Popen(
                ["gammu", "-c", str(gammurc(directory, modem.path)), *runs[name]],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        out = {}
        for name, process in processes.items():
            stdout, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, f"gammu {name}: {stderr}\n{stdout}"
            out[name] = stdout
        (sent,) = sender.wait_sent(1)

    assert "Manufacturer         : SIMCOM_Ltd" in out["identify"]
    assert "IMEI                 : 869170031234561" in out["identify"]
    assert "SIM IMSI             : 001010123456789" in out["identify"]

    assert "message reference=0" in out["sendsms"]
    submit = pdu.decode(sent.pdu)
    assert (submit.number, submit.text) == (NUMBER, "hello from gammu")

    listing = out["getallsms"]
    assert listing.count(f'Remote number        : "{NUMBER}"') == 2
    assert "part 1 of 2" in listing and "part 2 of 2" in listing
    assert "Grüße aus Köln ☺" in listing and "plain seven bit" in listing
    assert "3 SMS parts in 3 SMS sequences" in listing


def test_gammu_smsd_sends_its_outbox_and_fills_its_inbox(tmp_path):
    folders = {name: tmp_path / name for name in ("inbox", "outbox", "sent", "error")}
    for folder in folders.values():
        folder.mkdir()
    smsd = (
        f"inboxpath = {folders['inbox']}/\noutboxpath = {folders['outbox']}/\n"
        f"sentsmspath = {folders['sent']}/\nerrorsmspath = {folders['error']}/\n"
    )
    with SimulatedModem() as modem:
        config = gammurc(tmp_path, modem.path, (
            "[smsd]\nservice = files\n" + smsd
            + f"logfile = {tmp_path / 'smsd.log'}\ndebuglevel = 1\n"
            # the shortest intervals gammu-smsd takes, so that the test stays quick
            + "commtimeout = 1\nsendtimeout = 5\nreceivefrequency = 1\nstatusfrequency = 0\n"
            + "loopsleep = 1\ncheckbattery = 0\nchecksignal = 0\nchecknetwork = 0\n"
        ))
        (folders["outbox"] / f"OUT{NUMBER}.txt").write_text("from the outbox")
        modem.deliver_sms("+15555550123", "into the inbox")
        daemon = subprocess.Popen(
            ["gammu-smsd", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            (sent,) = modem.wait_sent(1)
            # gammu-smsd's folders give no notice: look at them, and at the SIM, which it
            # empties only after it wrote the inbox file
            wait_for(lambda: all(any(folders[f].iterdir()) for f in ("inbox", "sent"))
                     and modem.messages("SM") == [], what="gammu-smsd's inbox and sent files, the SIM emptied")
        finally:
            daemon.terminate()
            _, stderr = daemon.communicate(timeout=20)
    assert daemon.returncode == 0, stderr
    received = list(folders["inbox"].iterdir())
    submit = pdu.decode(sent.pdu)
    assert (submit.number, submit.text) == (NUMBER, "from the outbox")
    (message,) = received
    assert "+15555550123" in message.name and message.read_text() == "into the inbox"
    assert modem.messages("SM") == []  # gammu-smsd deleted what it read
    assert list(folders["error"].iterdir()) == []
