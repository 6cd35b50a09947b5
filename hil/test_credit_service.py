"""A prepaid SIM's credit through the real service: read by USSD on demand from
/api/v1, shown in request-server-status, the dashboard's JSON and /metrics; falling below
the threshold logs an event and queues a notice for every webhook."""

import sqlite3
import xml.etree.ElementTree as ET
from urllib.parse import quote

import requests

from hil.test_api_v1_control_service import notifications_read
from hil.test_service import PASSWORD, Appliance, Simulator

GATEWAY = "GSM Modem Gateway"


def test_the_sims_credit_is_read_on_demand_shown_everywhere_and_low_is_told(tmp_path):
    simulator = Simulator(tmp_path / "ttyGSM0", tmp_path / "sent.jsonl")  # answers *100# "Balance 12.34"
    appliance = Appliance(tmp_path, simulator.path)
    appliance.config.write_text(
        appliance.config.read_text().replace(
            f'name = "{GATEWAY}"\n', f'name = "{GATEWAY}"\nbalance_ussd = "*100#"\nbalance_low = 20\n')
        + '[[connector]]\nname = "Helpdesk"\ntype = "webhook"\nurl = "http://127.0.0.1:9/events"\n')
    try:
        assert appliance.cli("user", "set", "root", "--password", PASSWORD, "--admin").returncode == 0
        appliance.start()
        with notifications_read(appliance):
            base = f"http://127.0.0.1:{appliance.port}"
            answer = requests.post(f"{base}/api/v1/gateways/{quote(GATEWAY)}/read-credit", auth=("root", PASSWORD),
                                   timeout=90)
            assert answer.status_code == 200, answer.text
            credit = answer.json()["credit"]
            assert (credit["amount"], credit["text"], credit["error"]) == (12.34, "Balance 12.34", "")

            lines = appliance.http("request-server-status", username="root", password=PASSWORD)
            root = ET.fromstring("\r\n".join(lines).encode("utf-8"))
            (gateway,) = root.findall("Gateways/Gateway")
            assert gateway.findtext("Credit") == "12.34"
            metrics = requests.get(f"{base}/metrics", timeout=10).text
            assert f'sms_gateway_credit{{currency="",gateway="{GATEWAY}"}} 12.34' in metrics
            appliance.stop()
        with sqlite3.connect(tmp_path / "data" / "appliance.sqlite3") as store:
            assert store.execute("SELECT kind, gateway, text FROM event WHERE kind = 'credit-low'").fetchall() == [
                ("credit-low", GATEWAY, "credit 12.34 is below 20")]
            (payload,) = store.execute("SELECT payload FROM webhook_delivery WHERE event = 'credit-low' "
                                       "AND connector = 'Helpdesk'").fetchone()
            assert '"amount": 12.34' in payload and '"threshold": 20.0' in payload
    finally:
        appliance.close()
        simulator.stop()
