"""/metrics: Prometheus's own parser reads it, and its values follow what the service did."""

import asyncio
import io
import sqlite3
from datetime import UTC, datetime
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from fake_gateway import FakeGateway
from prometheus_client.parser import text_string_to_metric_families
from test_http_server_status import StatusGateway

from appliance import pdu
from appliance.accounts import users
from appliance.accounts.authenticator import Authenticator
from appliance.config import file as config_file
from appliance.config.file import ConfigError
from appliance.connectors import webhook
from appliance.control.metrics import ApplianceCollector
from appliance.gateways.assignment import Assignment, Connector, Routing
from appliance.gateways.base import Outcome
from appliance.gateways.limits import Limits, LimitTracker
from appliance.gateways.router import Router
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.queue import NewMessage, Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext
from appliance.web.metrics import MetricsContext
from hil.waiting import wait_for

PASSWORD = "correct horse"
TOKEN = "0123456789abcdef-metrics"
NOW = 1_800_000_000.0


class Web:
    """The whole bottle app with /metrics, called in-process (WSGI) as the server calls it."""

    def __init__(self, queue, inbox, router, *, token="", clock=None, on_accepted=lambda: None):
        users.set_user("alice", PASSWORD)
        context = HttpApiContext(queue=queue, authenticator=Authenticator(), connector="HTTP API",
                                 gateway_names=lambda: tuple(g.name for g in router.gateways),
                                 on_accepted=on_accepted, inbox=inbox, server_status=dict)
        options = {"clock": clock} if clock else {}
        collector = ApplianceCollector(router, queue, inbox, **options)
        self.app = create_app(context, metered=MetricsContext(collector, token=token))

    def get(self, path, query="", headers=None):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
                   "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO()}
        environ.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in (headers or {}).items()})
        setup_testing_defaults(environ)
        seen = {}

        def start_response(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, {name.lower(): value for name, value in headers}
        body = b"".join(self.app(environ, start_response)).decode()
        return int(seen["status"].split()[0]), seen["headers"], body

    def send(self, to, text):
        status, _, body = self.get("/http/send-message", urlencode(
            {"username": "alice", "password": PASSWORD, "to": to, "message": text}))
        assert status == 200 and body.startswith("OK"), body

    def metrics(self, token=None):
        """The samples, as Prometheus's parser reads them: {(name, labels): value}."""
        status, headers, body = self.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
        assert status == 200, body
        assert headers["content-type"].startswith("text/plain; version=0.0.4")
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(body) for s in family.samples}


def sample(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def deliver(text):
    (part,) = pdu.encode_deliver("+447700900777", text, timestamp=datetime(2026, 12, 1, tzinfo=UTC))
    return part.pdu


@pytest.fixture
def rig(control_rig):
    """A running router over GSM1, whose first attempt is refused for good (CMS 500)."""
    return control_rig(make_gateways=lambda loop, database: [
        FakeGateway("GSM1", outcomes=[Outcome(False, 500, "unknown error", permanent=True)]),
        FakeGateway("GSM2")])


def dump(database):
    connection = sqlite3.connect(database.database)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def test_the_counts_follow_what_was_accepted_sent_failed_and_received(rig):
    web = Web(rig.queue, rig.inbox, rig.router, on_accepted=lambda: rig.call(rig.router.kick))
    web.send("+447700900001", "first: refused")
    web.send("+447700900002", "second: sent")
    gsm1 = rig.gateways[0]
    wait_for(lambda: len(gsm1.sent) == 1 and OutboundMessage.select().where(
        OutboundMessage.state == MessageState.FAILED).count() == 1, what="one message failed, one sent")
    rig.inbox.store("GSM1", deliver("a reply"))

    samples = web.metrics()

    assert sample(samples, "sms_messages_accepted_total") == 2
    assert sample(samples, "sms_messages_reached_total", state="sent") == 1
    assert sample(samples, "sms_messages_reached_total", state="failed") == 1
    assert sample(samples, "sms_messages_reached_total", state="delivered") == 0
    assert sample(samples, "sms_send_attempts_total", gateway="GSM1", result="sent", error_code="") == 1
    assert sample(samples, "sms_send_attempts_total", gateway="GSM1", result="permanent", error_code="500") == 1
    assert sample(samples, "sms_received_messages_total", gateway="GSM1") == 1
    assert sample(samples, "sms_received_messages_total", gateway="GSM2") == 0
    assert sample(samples, "sms_queued_messages", waiting="due") == 0
    assert sample(samples, "sms_gateway_up", gateway="GSM1") == 1
    assert sample(samples, "sms_gateway_up", gateway="GSM2") == 0  # disabled in the config
    assert sample(samples, "sms_gateway_state", gateway="GSM2", state="stopped") == 1
    assert sample(samples, "sms_webhook_backlog", connector="Hook") == 0
    assert sample(samples, "process_cpu_seconds_total") is not None  # the process's own metrics


def test_the_queue_its_oldest_due_message_and_the_webhook_backlog(tmp_path, clock):
    database = store_db.open_database(tmp_path)
    queue = Queue(database, clock=clock)
    queue.accept([NewMessage("+447700900001", "oldest")])
    clock.now += 60
    queue.accept([NewMessage("+447700900002", "later"),
                  NewMessage("+447700900003", "tomorrow", scheduled_at=NOW + 86400)])
    webhook.enqueue(["Hook"], {"event": "sms-received"}, now=clock.now - 30)
    routing = Routing([Connector("HTTP API", "http", (Assignment("GSM1"),)), Connector("Hook", "webhook", ())])
    loop = asyncio.new_event_loop()
    router = Router(loop, queue, [], routing)
    clock.now += 240
    try:
        samples = Web(queue, Inbox(database), router, clock=clock).metrics()
    finally:
        loop.close()
        database.close()

    assert sample(samples, "sms_queued_messages", waiting="due") == 2
    assert sample(samples, "sms_queued_messages", waiting="scheduled") == 1
    assert sample(samples, "sms_queue_oldest_age_seconds") == 300  # due since it was accepted
    assert sample(samples, "sms_webhook_backlog", connector="Hook") == 1
    assert sample(samples, "sms_webhook_oldest_age_seconds", connector="Hook") == 270


def test_each_modem_shows_its_signal_registration_and_send_limits(tmp_path):
    database = store_db.open_database(tmp_path)
    loop = asyncio.new_event_loop()
    gateways = [StatusGateway("GSM1", {"state": "ready", "detail": "", "model": "SIM800", "signal_dbm": -71,
                                       "registration": "registered (home)", "operator": "Vodafone UK"}),
                StatusGateway("GSM2", {"state": "failed", "detail": "no answer", "signal_dbm": None},
                              in_service=False)]
    limits = LimitTracker({"GSM1": Limits(per_day=200, per_month=3000)})
    limits.record("GSM1", 3)
    router = Router(loop, Queue(database), gateways, Routing([Connector("HTTP API", "http", ())]), limits=limits)
    try:
        samples = Web(router.queue, Inbox(database), router).metrics()
    finally:
        loop.close()
        database.close()

    assert sample(samples, "sms_gateway_signal_dbm", gateway="GSM1") == -71
    assert sample(samples, "sms_gateway_signal_dbm", gateway="GSM2") is None  # unknown is absent, not 0
    assert sample(samples, "sms_gateway_registration", gateway="GSM1", registration="registered (home)") == 1
    assert sample(samples, "sms_gateway_info", gateway="GSM1", model="SIM800", operator="Vodafone UK") == 1
    assert sample(samples, "sms_gateway_up", gateway="GSM2") == 0
    assert sample(samples, "sms_gateway_state", gateway="GSM2", state="failed") == 1
    assert sample(samples, "sms_gateway_send_limit_parts", gateway="GSM1", period="day") == 200
    assert sample(samples, "sms_gateway_sent_parts", gateway="GSM1", period="month") == 3


def test_requests_are_counted_by_route_pattern_not_by_path(rig):
    web = Web(rig.queue, rig.inbox, rig.router)
    web.send("+447700900001", "one")
    web.send("+447700900002", "two")
    assert web.get("/no/such/page-12345")[0] == 404
    assert web.get("/http/send-message", headers={"Host": "rebound.example"})[0] == 421  # refused by the guard

    samples = web.metrics()

    assert sample(samples, "sms_http_requests_total", route="/http/<command>", method="GET", status="200") == 2
    assert sample(samples, "sms_http_requests_total", route="(no route)", method="GET", status="404") == 1
    assert sample(samples, "sms_http_requests_total", route="/http/<command>", method="GET", status="421") == 1
    assert not [labels for name, labels in samples if any("12345" in value or "send-message" in value
                                                          for _, value in labels)]


def test_with_a_token_a_scrape_without_it_is_refused(rig):
    web = Web(rig.queue, rig.inbox, rig.router, token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": f"Basic {TOKEN}"}):
        status, response_headers, body = web.get("/metrics", headers=headers)
        assert status == 401, headers
        assert response_headers["www-authenticate"].startswith("Bearer")
        assert "sms_" not in body and "[metrics] token" in body
    assert sample(web.metrics(token=TOKEN), "sms_gateway_up", gateway="GSM1") == 1


def test_a_scrape_changes_nothing_in_the_store(rig):
    web = Web(rig.queue, rig.inbox, rig.router, on_accepted=lambda: rig.call(rig.router.kick))
    web.send("+447700900001", "refused")
    wait_for(lambda: OutboundMessage.select().where(OutboundMessage.state == MessageState.FAILED).count() == 1,
             what="the message failed")
    rig.settle()
    before = dump(rig.database)
    web.metrics()
    web.metrics()
    assert dump(rig.database) == before


@pytest.mark.parametrize("token", ["short", "has a space in it, sixteen+"])
def test_a_token_that_could_be_guessed_or_mistyped_is_refused_naming_the_key(token):
    with pytest.raises(ConfigError) as refused:
        config_file.parse({"metrics": {"token": token}})
    assert refused.value.key == "metrics.token" and "16 or more printable characters" in str(refused.value)
    assert token not in str(refused.value)  # a secret is never shown back
