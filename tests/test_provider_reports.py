"""Delivery reports for provider messages: polled from the fake providers' status APIs
over real HTTPS with the poller's clock controlled (no sleeping through its schedule),
and taken from a signed callback; both move a message as a modem's report does."""

import asyncio
import io
import time
from urllib.parse import parse_qs, urlencode

import bottle
import pytest
from provider_fakes.infobip import FakeInfobip
from provider_fakes.server import Fault
from provider_fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from test_provider_engine import rig, until

from appliance.config.file import ProviderConfig
from appliance.connectors import webhook
from appliance.gateways.providers import reports as provider_reports
from appliance.gateways.providers.engine import ProviderGateway
from appliance.gateways.providers.reports import ReportPoller, due_ranges
from appliance.messages import status as message_status
from appliance.store import db as store_db
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.queue import NewMessage, Queue
from appliance.store.reports import Reports
from appliance.web import provider_reports as callbacks

CALLBACK = "https://sms.example.net/providers/Twilio%20I/report"


@pytest.fixture
def queue(tmp_path):
    database = store_db.open_database(tmp_path)
    yield Queue(database)
    database.close()


@pytest.fixture
def twilio(tmp_path):
    fake = FakeTwilio(tmp_path).start()
    yield fake
    fake.stop()


@pytest.fixture
def infobip(tmp_path):
    fake = FakeInfobip(tmp_path).start()
    yield fake
    fake.stop()


class Clock:
    """The poller's time: the store's, moved on by the test."""

    def __init__(self):
        self.ahead = 0.0

    def __call__(self):
        return time.time() + self.ahead


def twilio_gateway(fake, **changes):
    config = ProviderConfig(name="Twilio I", type="twilio", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                            sender="+15017122661", base_url=fake.url, ca_file=fake.ca_file, **changes)
    return ProviderGateway(asyncio.get_running_loop(), config)


def infobip_gateway(fake):
    config = ProviderConfig(name="Infobip I", type="infobip", api_key=fake.api_key, base_url=fake.url,
                            ca_file=fake.ca_file)
    return ProviderGateway(asyncio.get_running_loop(), config)


async def sent(queue, gateway, count=1):
    """``count`` messages sent through ``gateway`` by the real router."""
    ids = queue.accept([NewMessage(f"+49152123456{n:02}", f"hello {n}") for n in range(count)])
    rig(queue, gateway)
    await until(lambda: all(OutboundMessage.get_by_id(i).state == MessageState.SENT for i in ids))
    return ids


def message(message_id):
    return OutboundMessage.get_by_id(message_id)


def poller_for(gateway, queue, clock):
    events = []

    def on_report(message, detail):  # what the service queues for the webhooks (app/service.py)
        code, text = message_status.status_of(message)
        events.append(webhook.report_event(message, code, text, detail))
    poller = ReportPoller(gateway, Reports(queue, on_report=on_report), clock=clock)
    return poller, events


async def test_a_twilio_message_polled_to_delivered_and_to_undelivered(twilio, queue):
    gateway = twilio_gateway(twilio)
    delivered, failed, waiting = await sent(queue, gateway, 3)
    clock = Clock()
    poller, events = poller_for(gateway, queue, clock)
    sids = {i: message(i).provider_reference for i in (delivered, failed, waiting)}
    twilio.set_status(sids[delivered], "delivered")
    twilio.set_status(sids[failed], "undelivered", 30003, "Unreachable destination handset")
    await until(lambda: twilio.messages[sids[failed]]["status"] == "undelivered")
    await poller.poll()
    assert message(delivered).state == MessageState.SENT  # its first ask is 30 s after sending
    clock.ahead = 31
    await poller.poll()
    assert message(delivered).state == MessageState.DELIVERED
    assert message_status.status_of(message(delivered)) == (201, "Delivered")
    undelivered = message(failed)
    assert (undelivered.state, undelivered.error_code) == (MessageState.UNDELIVERED, 30003)
    assert undelivered.error_text == "not delivered: Unreachable destination handset"
    assert message_status.status_of(undelivered) == (301, "Undelivered")
    assert message(waiting).state == MessageState.SENT  # still queued at Twilio: nothing changes
    by_id = {event["message_id"]: event for event in events}
    assert len(events) == 2
    assert (by_id[delivered]["status_code"], by_id[delivered]["detail"]) == (201, "received by the recipient")
    assert (by_id[failed]["status_code"], by_id[failed]["detail"]) == (301, "Unreachable destination handset")
    assert by_id[failed]["gateway"] == "Twilio I" and by_id[failed]["event"] == webhook.DELIVERY_REPORT
    gateway.stop()
    await gateway.closing


async def test_infobip_messages_polled_in_one_request(infobip, queue):
    gateway = infobip_gateway(infobip)
    ids = await sent(queue, gateway, 3)
    infobip.deliver(message(ids[0]).provider_reference)
    infobip.deliver(message(ids[1]).provider_reference, delivered=False)
    clock = Clock()
    poller, _ = poller_for(gateway, queue, clock)
    clock.ahead = 31
    before = infobip.requests
    await poller.poll()
    assert infobip.requests == before + 1  # the three asked together
    assert [message(i).state for i in ids] == [MessageState.DELIVERED, MessageState.UNDELIVERED, MessageState.SENT]
    assert message(ids[1]).error_code is not None and message(ids[1]).error_text.startswith("not delivered: ")
    gateway.stop()
    await gateway.closing


async def test_a_provider_failing_status_requests_is_asked_again_later(twilio, queue):
    gateway = twilio_gateway(twilio)
    (message_id,) = await sent(queue, gateway)
    twilio.set_status(message(message_id).provider_reference, "delivered")
    clock = Clock()
    poller, _ = poller_for(gateway, queue, clock)
    clock.ahead = 31
    twilio.fail_next(Fault(503), Fault(429, headers={"Retry-After": "120"}))
    await until(lambda: len(twilio.faults) == 2)
    assert await poller.poll() == provider_reports.FIRST_REST  # rests, doubling
    assert message(message_id).state == MessageState.SENT
    clock.ahead = 400   # the round after the rest: its ask at 30 s is still due, with those since
    assert await poller.poll() == 120  # Retry-After honoured
    assert message(message_id).state == MessageState.SENT
    clock.ahead = 600
    assert await poller.poll() == provider_reports.ROUND
    assert message(message_id).state == MessageState.DELIVERED
    gateway.stop()
    await gateway.closing


async def test_a_message_is_asked_on_its_schedule_and_not_between(twilio, queue):
    gateway = twilio_gateway(twilio)
    await sent(queue, gateway)
    clock = Clock()
    poller, _ = poller_for(gateway, queue, clock)
    asked = []
    for ahead in (31, 45, 59, 61, 120, 290, 301, 600, 901, 1500, 3601, 5000, 7201):
        clock.ahead = ahead
        before = twilio.requests
        await poller.poll()
        asked.append(twilio.requests - before)
    # the first round asks what waits; then at 1, 5, 15, 60 minutes and 2 hours
    assert asked == [1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1]
    gateway.stop()
    await gateway.closing


def test_the_ranges_due_cover_each_ask_once_and_end_after_72_hours():
    now = 1_000_000.0
    assert due_ranges(None, now) == [(now - 72 * 3600, now - 30)]
    assert due_ranges(now - 15, now) == sorted(
        [(now - 15 - ask, now - ask) for ask in provider_reports.ASKS if ask < 72 * 3600])
    assert due_ranges(now - 400, now)[-1] == (now - 400 - 300, now - 30)  # overlapping ranges merged


def test_the_poll_reads_the_index_not_the_whole_history(queue):
    cursor = queue.database.cursor()
    plan = " ".join(row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + provider_reports_sql("_WAITING"),
                                                      ("Twilio I", 2.0, 1.0, 1.0, 0, 100)))
    assert "outbound_message_provider_waiting (gateway=? AND sent_at>? AND sent_at<?)" in plan, plan  # a range
    assert "SCAN" not in plan, plan
    plan = " ".join(row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + provider_reports_sql("_BY_REFERENCE"),
                                                      ("SMx", "Twilio I")))
    assert "outbound_message_provider_reference" in plan and "SCAN" not in plan, plan


def provider_reports_sql(name):
    from appliance.store import reports
    return getattr(reports, name)


def post(app, path, fields, *, signature=None, query=""):
    body = urlencode(fields).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
               "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "192.0.2.1", "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
               "wsgi.input": io.BytesIO(body)}
    if signature is not None:
        environ["HTTP_X_TWILIO_SIGNATURE"] = signature
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])
    text = b"".join(app(environ, start_response)).decode()
    return answer["status"], text


def signed(fields, url=CALLBACK, token=AUTH_TOKEN):
    import base64
    import hashlib
    import hmac
    data = url + "".join(k + v for k, v in sorted(fields.items()))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def callback_app(gateway, poller):
    app = bottle.Bottle(catchall=True)
    callbacks.install(app, callbacks.ProviderReportsContext(
        {gateway.name: gateway}, lambda name, statuses: poller.apply_threadsafe(statuses)))
    return app


async def test_a_signed_twilio_callback_is_applied_and_a_wrong_one_refused(twilio, queue):
    gateway = twilio_gateway(twilio, callback_url=CALLBACK)
    delivered, failed = await sent(queue, gateway, 2)
    assert all(m["status"] == "queued" for m in twilio.messages.values())
    poller, events = poller_for(gateway, queue, Clock())
    app = callback_app(gateway, poller)
    path = "/providers/Twilio I/report"
    forged = {"MessageSid": message(failed).provider_reference, "MessageStatus": "delivered"}
    status, text = await asyncio.to_thread(post, app, path, forged, signature=signed(forged, token="x" * 32))
    assert status == 403 and "signature" in text
    status, _ = await asyncio.to_thread(post, app, path, forged)
    assert status == 403
    assert message(failed).state == MessageState.SENT and events == []
    good = {"MessageSid": message(delivered).provider_reference, "MessageStatus": "delivered",
            "AccountSid": ACCOUNT_SID}
    status, text = await asyncio.to_thread(post, app, path, good, signature=signed(good))
    assert (status, text.strip()) == (200, "OK: 1 message(s) changed")
    assert message(delivered).state == MessageState.DELIVERED
    bad = {"MessageSid": message(failed).provider_reference, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    status, _ = await asyncio.to_thread(post, app, path, bad, signature=signed(bad))
    assert status == 200
    assert (message(failed).state, message(failed).error_code) == (MessageState.UNDELIVERED, 30005)
    assert [e["status_code"] for e in events] == [201, 301]
    gateway.stop()
    await gateway.closing


async def test_a_gateway_without_callback_url_refuses_callbacks(twilio, queue):
    gateway = twilio_gateway(twilio)
    (message_id,) = await sent(queue, gateway)
    poller, _ = poller_for(gateway, queue, Clock())
    fields = {"MessageSid": message(message_id).provider_reference, "MessageStatus": "delivered"}
    status, text = await asyncio.to_thread(post, callback_app(gateway, poller), "/providers/Twilio I/report",
                                           fields, signature=signed(fields))
    assert status == 403 and "no callback_url" in text
    assert message(message_id).state == MessageState.SENT
    status, _ = await asyncio.to_thread(post, callback_app(gateway, poller), "/providers/Nobody/report", fields)
    assert status == 404
    gateway.stop()
    await gateway.closing


async def test_twilio_is_given_the_callback_url_when_sending(twilio, queue):
    gateway = twilio_gateway(twilio, callback_url=CALLBACK)
    request = gateway.api.send_request([gateway._checked(
        OutboundMessage(id="m", recipient="+4915212345678", text="hi", message_type="sms.automatic"),
        lambda outcome: None).outgoing])
    assert parse_qs(request.body.decode())["StatusCallback"] == [CALLBACK]
