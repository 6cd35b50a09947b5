"""/metrics of the real service over HTTP, with a simulated modem: the token is asked for,
and the modem's signal and a message sent through it show."""

import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hil.test_service import PASSWORD, Appliance, Simulator, wait_for

TOKEN = "hil-metrics-token-0123456789"
GATEWAY = "GSM Modem Gateway"


def scrape(port: int, token: str | None) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def test_the_running_service_shows_its_modem_and_what_it_sent(tmp_path):
    simulator = Simulator(tmp_path / "ttyGSM", tmp_path / "sent.jsonl")
    appliance = Appliance(tmp_path, simulator.path, http_settings=f'[metrics]\ntoken = "{TOKEN}"\n')
    try:
        assert appliance.cli("user", "set", "alice", "--password", PASSWORD).returncode == 0
        appliance.start()
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(appliance.port, None)
        assert refused.value.code == 401
        message_id = appliance.send(to="+447700900123", message="counted")
        wait_for(lambda: appliance.status(message_id) == "STATUS:200 Success", what="STATUS:200 Success")

        samples = scrape(appliance.port, TOKEN)

        gateway = (("gateway", GATEWAY),)
        assert samples[("sms_gateway_up", gateway)] == 1
        assert -113 <= samples[("sms_gateway_signal_dbm", gateway)] <= -51
        assert samples[("sms_messages_accepted_total", ())] == 1
        assert samples[("sms_messages_reached_total", (("state", "sent"),))] == 1
        assert samples[("sms_send_attempts_total", (("error_code", ""), *gateway, ("result", "sent")))] == 1
        assert samples[("sms_http_requests_total", (("method", "GET"), ("route", "/metrics"), ("status", "401")))] == 1
        assert samples[("process_resident_memory_bytes", ())] > 0
        appliance.stop()
    finally:
        appliance.close()
        simulator.stop()
