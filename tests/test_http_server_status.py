"""request-server-status: the server, every gateway and connector, and the store's counts."""

import asyncio
import xml.etree.ElementTree as ET

import pytest
from diafaan_api import Api, time_zone

from appliance.control import server_status
from appliance.gateways.assignment import Assignment, Connector, Routing
from appliance.gateways.base import Gateway
from appliance.gateways.limits import Limits, LimitTracker
from appliance.gateways.router import Router
from appliance.store import db as store_db
from appliance.store.models import InboundMessage, MessageState, OutboundMessage
from appliance.store.queue import Queue

STARTED = 1_800_000_000.0
NOW = STARTED + 3725.5


class StatusGateway(Gateway):
    """A gateway that only reports a status: nothing is sent in these tests."""

    def __init__(self, name, status, in_service=True):
        self.name = name
        self._status = status
        self._in_service = in_service

    @property
    def available(self):
        return False

    @property
    def in_service(self):
        return self._in_service

    def status(self):
        return self._status

    def send(self, message, queue, done):
        raise AssertionError("nothing is sent here")


@pytest.fixture
def router(tmp_path):
    database = store_db.open_database(tmp_path)
    loop = asyncio.new_event_loop()
    gateways = [
        StatusGateway("GSM Modem Gateway", {"state": "ready", "detail": "", "model": "SIM800", "signal_dbm": -71}),
        StatusGateway("Backup <&> Modem", {"state": "failed", "detail": "no answer to AT", "model": None},
                      in_service=False),
    ]
    routing = Routing([
        Connector("HTTP API", "http", (Assignment("GSM Modem Gateway"),
                                       Assignment("Backup <&> Modem", "send", "backup")), 2),
        Connector("Helpdesk", "webhook", (Assignment("GSM Modem Gateway", "receive"),)),
    ])
    limits = LimitTracker({"GSM Modem Gateway": Limits(per_day=200, per_minute=10)})
    router = Router(loop, Queue(database), gateways, routing, limits=limits)
    router.pause("Backup <&> Modem")
    yield router
    loop.close()
    database.close()


def outbound(state, gateway=""):
    OutboundMessage.create(id=f"m{OutboundMessage.select().count()}", recipient="+441", text="x", state=state,
                           gateway=gateway, created_at=STARTED, updated_at=STARTED)


def inbound(gateway):
    InboundMessage.create(id=f"i{InboundMessage.select().count()}", gateway=gateway, originator="+442",
                          received_at=STARTED)


def fill_store(router):
    """Messages written as an earlier run left them, then counted as a start counts them."""
    for state, gateway in [(MessageState.QUEUED, ""), (MessageState.QUEUED, ""),
                           (MessageState.SENDING, "GSM Modem Gateway"),
                           (MessageState.SENT, "GSM Modem Gateway"), (MessageState.DELIVERED, "GSM Modem Gateway"),
                           (MessageState.SENT, "Backup <&> Modem"), (MessageState.FAILED, "Backup <&> Modem"),
                           (MessageState.EXPIRED, ""), (MessageState.REMOVED, "")]:
        outbound(state, gateway)
    for gateway in ["GSM Modem Gateway", "GSM Modem Gateway", "Backup <&> Modem", "a modem no longer configured"]:
        inbound(gateway)
    router.queue.counts.scan(router.queue.database)


def test_collect_gathers_every_gateway_connector_and_count(router):
    fill_store(router)
    status = server_status.collect(router, started_at=STARTED, now=NOW)
    assert status == {
        "name": "SMS Appliance", "version": server_status.version(), "time": NOW, "started_at": STARTED,
        "uptime": 3725,
        "storage": "OK",
        "messages": {"queued": 2, "sending": 1, "sent": 2, "delivered": 1, "failed": 1, "undelivered": 0,
                     "expired": 1, "removed": 1},
        "received": 4,
        "queue": {"total": 2, "scheduled": 0, "retrying": 0, "oldest_due": STARTED},
        "webhooks": {"Helpdesk": (0, None)},
        "gateways": [
            {"name": "GSM Modem Gateway", "state": "ready", "detail": "", "in_service": True, "paused": False,
             "receives": True, "sent": 2, "failed": 0, "in_send_queue": 3, "received": 2,
             "send_limit_day": 200, "send_limit_month": None, "send_rate_per_minute": 10,
             "properties": {"model": "SIM800", "signal_dbm": -71},
             "today": {"sent": 0, "failed": 0, "received": 0}, "limits_used": (0, 0), "credit": None},
            {"name": "Backup <&> Modem", "state": "failed", "detail": "no answer to AT", "in_service": False,
             "paused": True, "receives": False, "sent": 1, "failed": 1, "in_send_queue": 2, "received": 1,
             "send_limit_day": None, "send_limit_month": None, "send_rate_per_minute": None,
             "properties": {"model": None},
             "today": {"sent": 0, "failed": 0, "received": 0}, "limits_used": None, "credit": None},
        ],
        "connectors": [
            {"name": "HTTP API", "type": "http", "running": True, "max_send_attempts": 2,
             "sent": 3, "failed": 1, "in_send_queue": 3,
             "gateways": [{"name": "GSM Modem Gateway", "use": "send-receive", "role": "primary"},
                          {"name": "Backup <&> Modem", "use": "send", "role": "backup"}]},
            {"name": "Helpdesk", "type": "webhook", "running": True, "max_send_attempts": 3,
             "sent": 0, "failed": 0, "in_send_queue": 0,
             "gateways": [{"name": "GSM Modem Gateway", "use": "receive", "role": "primary"}]},
        ],
    }
    assert router.gateways[0].status() == {"state": "ready", "detail": "", "model": "SIM800", "signal_dbm": -71}


def test_the_version_is_the_installed_packages():
    assert server_status.version() not in ("", "unknown")


@pytest.fixture
def api(router):
    return Api(router.queue.database, server_status=lambda: server_status.collect(router, started_at=STARTED,
                                                                               now=NOW))


@pytest.fixture
def utc():
    with time_zone("UTC0"):
        yield


def status_xml(api, method="GET", user="bob"):
    reply = api.call("request-server-status", method=method, user=user)
    assert reply.content_type == "text/xml; charset=utf-8", reply.text
    return reply, ET.fromstring(reply.text.encode("utf-8"))


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_any_user_reads_the_status_as_xml(api, router, utc, method):
    fill_store(router)
    reply, root = status_xml(api, method)
    assert root.tag == "ServerStatus"
    assert [(e.tag, e.text) for e in root.find("Server")] == [
        ("Name", "SMS Appliance"), ("Version", server_status.version()), ("ServerTime", "20270115090205"),
        ("StartTime", "20270115080000"), ("Uptime", "3725"), ("Storage", "OK")]
    assert [(e.tag, e.text) for e in root.find("Messages")] == [
        ("Queued", "2"), ("Sending", "1"), ("Sent", "2"), ("Delivered", "1"), ("Failed", "1"), ("Undelivered", "0"),
        ("Expired", "1"), ("Removed", "1"), ("Received", "4")]
    gateways = root.find("Gateways")
    assert gateways.get("Count") == "2"
    first, second = gateways
    assert [(e.tag, e.attrib, e.text) for e in first][2:] == [
        ("Name", {}, "GSM Modem Gateway"), ("State", {}, "ready"), ("Detail", {}, None), ("InService", {}, "1"),
        ("Paused", {}, "0"), ("Sent", {}, "2"), ("Failed", {}, "0"), ("Received", {}, "2"),
        ("SendLimitDay", {}, "200"), ("SendLimitMonth", {}, None), ("SendRatePerMinute", {}, "10"),
        ("Property", {"Name": "model"}, "SIM800"), ("Property", {"Name": "signal_dbm"}, "-71")]
    assert (second.findtext("Name"), second.findtext("InService"), second.findtext("Paused")) == (
        "Backup <&> Modem", "0", "1")
    assert "<Name>Backup &lt;&amp;&gt; Modem</Name>" in reply.text
    connectors = root.find("Connectors")
    assert connectors.get("Count") == "2"
    assert [(c.findtext("Name"), c.findtext("Type"), c.findtext("MaxSendAttempts"),
             [(g.text, g.get("Use"), g.get("Role")) for g in c.findall("Gateway")]) for c in connectors] == [
        ("HTTP API", "http", "2", [("GSM Modem Gateway", "send-receive", "primary"),
                                   ("Backup <&> Modem", "send", "backup")]),
        ("Helpdesk", "webhook", "3", [("GSM Modem Gateway", "receive", "primary")])]


def test_an_administrator_reads_it_too(api):
    _, root = status_xml(api, user="root")
    assert root.find("Gateways").get("Count") == "2"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("query, expected", [
    ("", "ERROR:303 Guest login not available: request-server-status needs username and password"),
    ("password=correct+horse", "ERROR:303 Guest login not available"),
    ("username=bob&password=wrong", "ERROR:304 Authentication error"),
    ("username=bob", "ERROR:304 Authentication error"),
    ("username=bob&username=bob&password=correct+horse", "ERROR:306 Unknown command or insufficient parameters: "
                                                          "username is given 2 times"),
])
def test_without_valid_credentials_there_is_no_status(api, method, query, expected):
    reply = api.call("request-server-status", method=method, raw_query=query)
    assert reply.content_type.startswith("text/plain")
    (line,) = reply.lines
    assert line.startswith(expected), line


# -- as monitoring checks written for Diafaan read it ---------------------------------------

def test_a_gateway_check_finds_its_gateway_by_name_attribute_and_reads_its_statistics(api, router):
    fill_store(router)
    _, root = status_xml(api)
    found = [g for g in root.findall(".//Gateway") if g.get("Name") == "GSM Modem Gateway"]
    assert len(found) == 1  # a connector's gateway entries carry no Name attribute
    (gateway,) = found
    assert gateway.attrib == {"Name": "GSM Modem Gateway", "Id": "1", "Active": "1", "Available": "1",
                              "SendEnabled": "1", "ReceiveEnabled": "1"}
    assert gateway.findtext("Status") == "ready"
    statistics = gateway.find("Statistics")
    assert (statistics.findtext("SentMessages"), statistics.findtext("FailedMessages"),
            statistics.findtext("MessagesInSendQueue")) == ("2", "0", "3")
    backup = root.find(".//Gateway[@Name='Backup <&> Modem']")
    assert (backup.get("Id"), backup.get("Available"), backup.get("SendEnabled"), backup.get("ReceiveEnabled")) == (
        "2", "0", "0", "0")  # out of service, paused, no connector receives from it


def test_a_queue_check_reads_messages_in_send_queue_by_xpath(api, router):
    fill_store(router)
    _, root = status_xml(api)
    assert int(root.find(".//MessagesInSendQueue").text) == 3  # the first gateway's: queued 2, sending 1
    assert [int(e.text) for e in root.findall(".//Statistics/MessagesInSendQueue")] == [3, 2, 3, 0]


def test_connectors_are_read_the_same_way(api, router):
    fill_store(router)
    _, root = status_xml(api)
    connector = root.find(".//Connector[@Name='HTTP API']")
    assert connector.attrib == {"Name": "HTTP API", "Id": "1", "Active": "1", "Available": "1",
                                "SendEnabled": "1", "ReceiveEnabled": "1"}
    assert connector.findtext("Status") == "running"
    assert [connector.findtext(f"Statistics/{name}") for name in
            ("SentMessages", "FailedMessages", "MessagesInSendQueue")] == ["3", "1", "3"]
    helpdesk = root.find(".//Connector[@Name='Helpdesk']")
    assert (helpdesk.get("SendEnabled"), helpdesk.get("ReceiveEnabled")) == ("0", "1")


def test_a_stopped_connector_is_not_active(router):
    api = Api(router.queue.database, server_status=lambda: server_status.collect(
        router, started_at=STARTED, now=NOW, accepting=lambda name: name != "Helpdesk"))
    _, root = status_xml(api)
    helpdesk = root.find(".//Connector[@Name='Helpdesk']")
    assert (helpdesk.get("Active"), helpdesk.findtext("Status")) == ("0", "stopped")
