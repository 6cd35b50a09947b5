"""request-server-status, remove-queued-message and request-received-messages through the
real service: two simulated modems, the status XML names both, counts what one sent."""

import xml.etree.ElementTree as ET

from hil.test_service import PASSWORD, Appliance, Simulator, wait_for


def server_status(appliance, method="GET"):
    lines = appliance.http("request-server-status", method, username="alice", password=PASSWORD)
    return ET.fromstring("\r\n".join(lines).encode("utf-8"))


def gateway(root, name):
    (found,) = [g for g in root.find("Gateways") if g.findtext("Name") == name]
    return found


def test_the_status_xml_has_every_gateway_of_the_running_service(tmp_path):
    simulators = [Simulator(tmp_path / f"ttyGSM{n}", tmp_path / f"sent{n}.jsonl") for n in (1, 2)]
    appliance = Appliance(tmp_path, simulators[0].path)
    appliance.config.write_text(
        f'[http]\nlisten = "127.0.0.1:{appliance.port}"\n'
        f'[storage]\npath = "{tmp_path / "data"}"\n'
        f'[[modem]]\nname = "GSM Modem 1"\nport = "{simulators[0].path}"\n'
        f'[[modem]]\nname = "GSM Modem 2"\nport = "{simulators[1].path}"\nsend_limit_day = 50\n'
        f'[[connector]]\nname = "HTTP API"\ntype = "http"\n'
        f'gateways = [{{ name = "GSM Modem 1" }}, {{ name = "GSM Modem 2", role = "backup" }}]\n')
    try:
        assert appliance.cli("user", "set", "alice", "--password", PASSWORD).returncode == 0
        appliance.start()
        message_id = appliance.send(to="+447700900123", message="through the first modem")
        wait_for(lambda: appliance.status(message_id) == "STATUS:200 Success", what="STATUS:200 Success")
        (line,) = appliance.http("remove-queued-message", "POST", username="alice", password=PASSWORD,
                                 message_id=message_id)
        assert line == f"ERROR:307 Operation not allowed: message {message_id} is no longer queued: " \
                       f"its status is 200 Success"

        for method in ("GET", "POST"):
            root = server_status(appliance, method)
            assert root.find("Gateways").get("Count") == "2"
            assert [g.findtext("Name") for g in root.find("Gateways")] == ["GSM Modem 1", "GSM Modem 2"]
            first, second = gateway(root, "GSM Modem 1"), gateway(root, "GSM Modem 2")
            assert (first.findtext("Sent"), first.findtext("Failed"), first.findtext("SendLimitDay")) == ("1", "0", "")
            assert (second.findtext("Sent"), second.findtext("SendLimitDay")) == ("0", "50")
            assert {first.findtext("State"), second.findtext("State")} <= {"initialising", "ready"}
            assert root.find("Messages").findtext("Sent") == "1"
            (connector,) = root.find("Connectors")
            assert [(g.text, g.get("Role")) for g in connector.findall("Gateway")] == [
                ("GSM Modem 1", "primary"), ("GSM Modem 2", "backup")]

        lines = appliance.http("request-received-messages", username="alice", password=PASSWORD)
        assert ET.fromstring("\r\n".join(lines).encode("utf-8")).get("Count") == "0"
        appliance.stop()
    finally:
        appliance.close()
        for simulator in simulators:
            simulator.stop()
