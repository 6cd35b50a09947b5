"""send-server-command against the real service (``sms-appliance run``) and a simulated
modem in its own process: pausing holds messages back, and a property set survives a restart."""

import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from appliance import pdu
from hil.test_service import PASSWORD, Appliance, Simulator, wait_for


@pytest.fixture
def running(tmp_path):
    simulator = Simulator(tmp_path / "ttyGSM0", tmp_path / "sent.jsonl")
    appliance = Appliance(tmp_path, simulator.path)
    appliance.config.write_text(appliance.config.read_text().replace(
        "[http]\n", "[http]\nsend_server_command = true\n"))
    for args in (("alice", "--password", PASSWORD), ("root", "--password", PASSWORD, "--admin")):
        result = appliance.cli("user", "set", *args)
        assert result.returncode == 0, result.stderr
    appliance.start()
    yield appliance, simulator
    appliance.close()
    simulator.stop()


def command(appliance, name, **params):
    # not through Appliance.http: its own first parameter is called command
    query = urllib.parse.urlencode({"username": "root", "password": PASSWORD, "command": name, **params})
    url = f"http://127.0.0.1:{appliance.port}/http/send-server-command?{query}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode().rstrip("\r\n").split("\r\n")


def configuration(appliance):
    return ET.fromstring("\n".join(command(appliance, "get-server-configuration")).encode())


def after_the_router_had_its_turn(appliance):
    """Each command runs on the event loop, in order: after two, the dispatch that a message
    accepted before them asked for has run."""
    configuration(appliance)
    configuration(appliance)


def sent_texts(simulator):
    return [pdu.decode(entry["pdu"]).text for entry in simulator.sent()]


def test_a_message_sent_while_the_gateway_is_paused_stays_queued_until_resumed(running):
    appliance, simulator = running
    first = appliance.send(to="+447700900123", message="before the pause")
    wait_for(lambda: appliance.status(first) == "STATUS:200 Success", what="the modem sends")
    assert command(appliance, "pause-sending", gateway="GSM Modem Gateway") == [
        "OK: GSM Modem Gateway: sending paused"]
    assert configuration(appliance).find("Gateways/Gateway").get("Paused") == "1"
    held = appliance.send(to="+447700900123", message="during the pause")
    after_the_router_had_its_turn(appliance)
    assert appliance.status(held) == "STATUS:100 Queued"
    assert sent_texts(simulator) == ["before the pause"]
    assert command(appliance, "resume-sending") == ["OK: GSM Modem Gateway: sending resumed"]
    wait_for(lambda: appliance.status(held) == "STATUS:200 Success", what="sent after resume-sending")
    assert sent_texts(simulator) == ["before the pause", "during the pause"]


def test_a_gateway_property_set_without_reload_applies_after_a_service_restart_and_stays(running):
    appliance, simulator = running
    assert command(appliance, "set-gateway-property", gateway="GSM Modem Gateway", property="SendLimitDay",
                   value="1", reload="0") == ["OK: GSM Modem Gateway: changed; applies at its next restart"]
    assert configuration(appliance).find("Gateways/Gateway").get("Pending") == "1"
    appliance.stop()
    appliance.start()
    gateway = configuration(appliance).find("Gateways/Gateway")
    assert (gateway.get("Pending"), gateway.find("SendLimitDay").text) == ("0", "1")
    first = appliance.send(to="+447700900123", message="within the limit")
    wait_for(lambda: appliance.status(first) == "STATUS:200 Success", what="the first message sent")
    second = appliance.send(to="+447700900123", message="over the limit")
    after_the_router_had_its_turn(appliance)
    assert appliance.status(second) == "STATUS:100 Queued"   # the day's limit of 1 is used
    assert command(appliance, "reset-send-limit") == ["OK: GSM Modem Gateway: send limit reset"]
    wait_for(lambda: appliance.status(second) == "STATUS:200 Success", what="sent after reset-send-limit")
    assert sent_texts(simulator) == ["within the limit", "over the limit"]
