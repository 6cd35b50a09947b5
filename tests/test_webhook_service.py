"""Received SMS and delivery reports reach webhook connectors through the running service:
simulated modems, the real wiring, a local HTTP receiver, and a restart while it is down."""

import json
import threading
import urllib.parse
import urllib.request

import pytest
from test_webhook import Receiver

from appliance.accounts import users
from appliance.app.service import Service
from appliance.config.file import Config, ConnectorConfig, HttpConfig, ModemConfig, StorageConfig
from appliance.connectors import webhook
from appliance.store import db as store_db
from appliance.store.models import WebhookDelivery
from hil.simulator import SimulatedModem

TOKEN = "hook-t0ken"
PASSWORD = "kiosk-pass-1"


@pytest.fixture
def modems():
    started = [SimulatedModem(report_delay=0.1).start() for _ in range(2)]
    yield started
    for modem in started:
        modem.stop()


@pytest.fixture
def receivers():
    hook, other = Receiver(), Receiver()
    yield hook, other
    hook.close()
    other.close()


def configured(tmp_path, modems, hook, other):
    """GSM1 is heard by Hook only, GSM2 by Other only; Hook carries the HTTP API's delivery
    reports (its default), Other carries none."""
    return Config(
        http=HttpConfig(listen="127.0.0.1:0", guest="kiosk"),
        storage=StorageConfig(str(tmp_path)),
        modems=(ModemConfig("GSM1", modems[0].path), ModemConfig("GSM2", modems[1].path)),
        connectors=(ConnectorConfig("HTTP API", "http"),
                    ConnectorConfig("Hook", "webhook", url=hook.url, token=TOKEN,
                                    gateways=(("GSM1", "receive", "primary"),)),
                    ConnectorConfig("Other", "webhook", url=other.url, reports_for=(),
                                    gateways=(("GSM2", "receive", "primary"),))))


class Running:
    """The service with its event loop on a thread of its own (tests own the main thread)."""

    def __init__(self, config):
        self.service = Service(config)
        self.service.start()
        self.thread = threading.Thread(target=self.service.loop.run_forever)
        self.thread.start()

    def send(self, to, text, gateway):
        query = urllib.parse.urlencode({"to": to, "message": text, "gateway": gateway})
        with urllib.request.urlopen(f"{self.service.url}http/send-message?{query}", timeout=10) as response:
            line = response.read().decode().strip()
        assert line.startswith("OK: "), line
        return line[4:]

    def stop(self):
        self.service.loop.call_soon_threadsafe(self.service.loop.stop)
        self.thread.join(10)
        self.service.stop()


def events(requests, kind):
    return [body for _, body in requests if body["event"] == kind]


@pytest.fixture(autouse=True)
def kiosk(tmp_path):
    database = store_db.open_database(tmp_path)
    users.set_user("kiosk", PASSWORD)
    database.close()


def test_a_received_sms_and_a_delivery_report_are_posted_with_the_token(tmp_path, modems, receivers):
    hook, other = receivers
    running = Running(configured(tmp_path, modems, hook, other))
    try:
        modems[0].deliver_sms("+447700900111", "to GSM1 <b>")
        modems[1].deliver_sms("+447700900222", "to GSM2")
        hook.wait(lambda r: events(r.received, webhook.SMS_RECEIVED))
        other.wait(lambda r: events(r.received, webhook.SMS_RECEIVED))
        # sent through GSM2, which only Other hears: the report still goes to Hook, which
        # carries the reports of the connector the message came in by (the HTTP API)
        message_id = running.send("+447700900333", "report me", "GSM2")
        hook.wait(lambda r: events(r.received, webhook.DELIVERY_REPORT))
    finally:
        running.stop()
    (sms,) = events(hook.received, webhook.SMS_RECEIVED)
    assert (sms["from"], sms["text"], sms["gateway"]) == ("+447700900111", "to GSM1 <b>", "GSM1")
    (report,) = events(hook.received, webhook.DELIVERY_REPORT)
    assert (report["message_id"], report["gateway"], report["status_code"]) == (message_id, "GSM2", 201)
    assert {auth for auth, _ in hook.received} == {f"Bearer {TOKEN}"}
    # Other heard GSM2's SMS (no token: none configured) and carries no reports
    assert [(auth, body["text"]) for auth, body in other.received] == [(None, "to GSM2")]


def test_events_owed_to_a_receiver_that_is_down_are_posted_after_a_restart(tmp_path, modems, receivers,
                                                                             monkeypatch):
    monkeypatch.setattr(webhook, "BACKOFF", (0.2,))  # retries come soon; the schedule is tested apart
    hook, other = receivers
    hook.down = True
    config = configured(tmp_path, modems, hook, other)
    running = Running(config)
    try:
        modems[0].deliver_sms("+447700900111", "while you were down")
        message_id = running.send("+447700900333", "report me later", "GSM1")
        hook.wait(lambda r: {body["event"] for status, body in r.attempts if status == 503}
                  == {webhook.SMS_RECEIVED, webhook.DELIVERY_REPORT})
    finally:
        running.stop()
    assert hook.received == []
    refused = {body["event_id"]: body for _, body in hook.attempts}

    hook.down = False
    running = Running(config)
    try:
        hook.wait(lambda r: len(r.received) == 2)
    finally:
        running.stop()
    delivered = {body["event_id"]: body for _, body in hook.received}
    assert delivered == refused       # the very events, ids and all: none lost, none new
    assert {(body["event"], body.get("text"), body.get("message_id")) for body in delivered.values()} == {
        (webhook.SMS_RECEIVED, "while you were down", None), (webhook.DELIVERY_REPORT, None, message_id)}
    # a row may still be pending if the service stopped between the receiver's answer and
    # recording it: that event is sent again at the next start (at least once, same id)
    database = store_db.open_database(tmp_path)
    rows = [(d.state, json.loads(d.payload)["event_id"]) for d in WebhookDelivery.select()
            .where(WebhookDelivery.connector == "Hook")]
    database.close()
    assert sorted(event_id for _, event_id in rows) == sorted(delivered)
    assert {state for state, _ in rows} <= {"done", "pending"}
