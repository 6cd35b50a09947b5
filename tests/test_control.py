"""ServerControl on an event loop running in its own thread, with fake gateways and a real store
(the control_rig fixture, tests/conftest.py): what send-server-command (and later the
JSON API) drives."""

import json
import logging
import threading

import pytest

from appliance.config import file as config_file
from appliance.config import properties
from appliance.config.file import Config, ConfigError, ModemConfig
from appliance.config.properties import UnknownName
from appliance.connectors import webhook
from appliance.connectors.webhook import WebhookSender
from appliance.control.server_control import effective_config, on_loop
from appliance.gateways.modem import ModemGateway
from appliance.modem.driver import ModemDriver
from appliance.store.inbox import Inbox
from appliance.store.models import ConfigOverride, MessageState, OutboundMessage, WebhookDelivery
from appliance.store.queue import Queue
from appliance.store.reports import Reports
from hil.loop_thread import LoopThread


@pytest.fixture
def rig(control_rig):
    return control_rig()


# -- on_loop ----------------------------------------------------------------------------------

@pytest.fixture
def loop_thread():
    running = LoopThread().start()
    yield running.loop, running._thread
    running.stop()


def test_on_loop_runs_the_function_on_the_loops_thread_and_returns_its_result(loop_thread):
    loop, thread = loop_thread
    assert on_loop(loop, lambda a, b: (threading.current_thread(), a + b), 2, 3) == (thread, 5)


def test_on_loop_raises_what_the_function_raised(loop_thread):
    loop, _ = loop_thread

    def fails():
        raise ValueError("no such thing")
    with pytest.raises(ValueError, match="no such thing"):
        on_loop(loop, fails)


def test_on_loop_called_on_the_loop_runs_at_once_instead_of_waiting_for_itself(loop_thread):
    loop, _ = loop_thread
    assert on_loop(loop, lambda: on_loop(loop, lambda: "inner")) == "inner"


def test_on_loop_gives_up_on_a_loop_that_does_not_run_and_the_work_never_runs_later():
    waiting = LoopThread()
    ran = []
    with pytest.raises(TimeoutError, match="nothing was done"):
        on_loop(waiting.loop, lambda: ran.append(1), timeout=0.01)
    waiting.start()
    assert on_loop(waiting.loop, lambda: "later") == "later"   # the loop has run what was queued before
    assert ran == []
    waiting.stop()


# -- gateways ---------------------------------------------------------------------------------

def test_start_starts_every_enabled_gateway_and_a_disabled_one_only_when_named_is_refused(rig):
    gsm1, gsm2 = rig.gateways
    assert (gsm1.calls, gsm2.calls) == (["start"], [])
    rig.call(rig.control.stop_gateways, ["GSM1"])
    with pytest.raises(ConfigError, match="GSM2: is disabled"):
        rig.call(rig.control.start_gateways, ["GSM1", "GSM2"])
    assert (gsm1.calls, gsm2.calls) == (["start", "stop"], [])   # not even GSM1 was started
    rig.call(rig.control.start_gateways, ["GSM1"])
    with pytest.raises(UnknownName, match="GSM9: no such gateway"):
        rig.call(rig.control.stop_gateways, ["GSM1", "GSM9"])
    assert gsm1.calls == ["start", "stop", "start"]  # an unknown name anywhere: nothing was done


def test_stop_and_start_and_restart_gateways(rig):
    gsm1, _ = rig.gateways
    assert rig.call(rig.control.stop_gateways, ["GSM1"]) == {"GSM1": "stopped"}
    assert not gsm1.up
    assert rig.call(rig.control.configuration)["gateways"][0]["running"] is False
    assert rig.call(rig.control.start_gateways, []) == {"GSM1": "started"}
    assert rig.call(rig.control.restart_gateways, []) == {"GSM1": "restarted", "GSM2": "stopped (disabled)"}
    assert gsm1.calls == ["start", "stop", "start", "stop", "start"]


def test_a_paused_gateway_keeps_messages_queued_until_resumed(rig):
    gsm1, _ = rig.gateways
    assert rig.call(rig.control.pause_sending, ["GSM1"]) == {"GSM1": "sending paused"}
    message_id = rig.send()
    rig.settle()  # the router's dispatch has run
    assert OutboundMessage.get_by_id(message_id).state == MessageState.QUEUED
    assert rig.call(rig.control.configuration)["gateways"][0]["paused"] is True
    assert rig.call(rig.control.resume_sending, []) == {"GSM1": "sending resumed", "GSM2": "sending resumed"}
    assert gsm1.sent_event.wait(5)
    assert gsm1.sent == [message_id]


def test_reset_send_limit_lets_a_gateway_at_its_limit_send_again(rig):
    gsm1, _ = rig.gateways
    rig.call(rig.control.set_gateway_property, ["GSM1"], "SendLimitDay", "1")
    first = rig.send("first")
    assert gsm1.sent_event.wait(5)
    gsm1.sent_event.clear()
    second = rig.send("second")
    rig.settle()
    assert OutboundMessage.get_by_id(second).state == MessageState.QUEUED  # held by the limit
    assert rig.call(rig.control.reset_send_limit, ["GSM1"]) == {"GSM1": "send limit reset"}
    assert gsm1.sent_event.wait(5)
    assert gsm1.sent == [first, second]


# -- properties -------------------------------------------------------------------------------

def test_a_gateway_property_with_reload_restarts_the_gateway_with_the_new_value(rig):
    gsm1, _ = rig.gateways
    result = rig.call(rig.control.set_gateway_property, ["GSM1"], "SendLimitDay", "250")
    assert result == {"GSM1": "restarted"}
    assert gsm1.calls == ["start", "stop", "start"]
    assert rig.router.limits.limits["GSM1"].per_day == 250
    row = ConfigOverride.get()
    assert (row.scope, row.name, row.property, row.value) == ("gateway", "GSM1", "SendLimitDay", "250")


def test_a_gateway_property_without_reload_waits_for_the_next_restart(rig):
    gsm1, _ = rig.gateways
    result = rig.call(rig.control.set_gateway_property, ["GSM1"], "SendRatePerMinute", "10", False)
    assert result == {"GSM1": "changed; applies at its next restart"}
    assert gsm1.calls == ["start"]
    assert rig.router.limits.limits["GSM1"].per_minute is None
    gateway = rig.call(rig.control.configuration)["gateways"][0]
    assert (gateway["pending"], gateway["properties"]["SendRatePerMinute"]) == (True, "10")
    rig.call(rig.control.restart_gateways, ["GSM1"])
    assert rig.router.limits.limits["GSM1"].per_minute == 10
    assert rig.call(rig.control.configuration)["gateways"][0]["pending"] is False


def test_enabled_0_with_reload_stops_a_gateway_and_1_starts_it(rig):
    gsm1, gsm2 = rig.gateways
    assert rig.call(rig.control.set_gateway_property, ["GSM1"], "Enabled", "0") == {"GSM1": "stopped (disabled)"}
    assert not gsm1.up
    assert rig.call(rig.control.set_gateway_property, ["GSM2"], "Enabled", "1") == {"GSM2": "restarted"}
    assert gsm2.up


@pytest.mark.parametrize("prop, value, words", [
    ("SendLimitDay", "0", "SendLimitDay: must be between 1 and 10000000, not 0"),
    ("SendLimitDay", "lots", "SendLimitDay: must be a whole number, not 'lots'"),
    ("Enabled", "yes", "Enabled: must be 1 or 0, not 'yes'"),
    ("Pin", "12", "Pin: must be 4 to 8 digits"),
    ("Smsc", "12ab", r"Smsc: must be a phone number like \+447785016005, not '12ab'"),
    ("Baudrate", "1000", "Baudrate: 1000 is not one of"),
    ("Model", "nokia", "Model: 'nokia' is not one of"),
])
def test_a_value_the_config_file_would_refuse_is_refused_and_changes_nothing(rig, prop, value, words):
    before = rig.control.config
    with pytest.raises(ConfigError, match=words) as raised:
        rig.call(rig.control.set_gateway_property, [], prop, value)
    assert not isinstance(raised.value, UnknownName)
    assert rig.control.config is before
    assert ConfigOverride.select().count() == 0
    assert rig.gateways[0].calls == ["start"]


def test_an_unknown_property_is_an_unknown_name(rig):
    with pytest.raises(UnknownName, match="Colour: not a gateway property"):
        rig.call(rig.control.set_gateway_property, ["GSM1"], "Colour", "red")
    with pytest.raises(UnknownName, match="Nope: no such connector"):
        rig.call(rig.control.set_connector_property, ["Nope"], "Enabled", "1")


def test_an_empty_value_removes_an_optional_one(rig):
    rig.call(rig.control.set_gateway_property, ["GSM1"], "SendLimitDay", "")
    assert rig.router.limits.limits["GSM1"].per_day is None
    assert rig.call(rig.control.configuration)["gateways"][0]["properties"]["SendLimitDay"] == ""


def test_secrets_are_shown_as_stars_and_set_values_only_by_what_they_do(rig, tmp_path):
    configuration = rig.call(rig.control.configuration)
    assert configuration["gateways"][0]["properties"]["Pin"] == "***"
    assert configuration["gateways"][1]["properties"]["Pin"] == ""
    hook = configuration["connectors"][1]
    assert hook["properties"] == {"Enabled": "1", "MaxSendAttempts": "3", "Url": "http://127.0.0.1:9/hook",
                                  "Token": "***", "Timeout": "10", "GiveUpAfter": "259200", "ReportsFor": ""}
    assert "Url" not in configuration["connectors"][0]["properties"]  # only a webhook has one
    assert "s3cret" not in json.dumps(configuration) and "1234" not in json.dumps(configuration)


def test_a_modem_gateway_restarts_with_the_new_pin_and_smsc(control_rig):
    def no_port(port, baudrate):
        raise OSError("no modem in this test")

    def modem_gateways(loop, database):
        driver = ModemDriver(loop, ModemConfig("GSM1", "/dev/ttyUSB0", pin="1234"), open_transport=no_port)
        return [ModemGateway(driver, inbox=Inbox(database), reports=Reports(Queue(database)))]
    rig = control_rig(config=Config(modems=(ModemConfig("GSM1", "/dev/ttyUSB0", pin="1234"),)),
                      make_gateways=modem_gateways)
    (gateway,) = rig.gateways
    rig.call(rig.control.set_gateway_property, ["GSM1"], "Pin", "4321", False)
    rig.call(rig.control.set_gateway_property, ["GSM1"], "DeliveryReports", "0", False)
    assert (gateway.driver.config.pin, gateway.delivery_reports) == ("1234", True)   # not before its restart
    rig.call(rig.control.set_gateway_property, ["GSM1"], "Smsc", "+447785016005")
    assert (gateway.driver.config.pin, gateway.driver.config.smsc, gateway.delivery_reports) == (
        "4321", "+447785016005", False)
    rig.call(gateway.stop)


def test_overrides_survive_a_restart_and_ones_that_no_longer_fit_are_skipped(rig, caplog):
    rig.call(rig.control.set_gateway_property, ["GSM1"], "SendLimitMonth", "3000", False)
    rig.call(rig.control.set_connector_property, ["HTTP API"], "MaxSendAttempts", "5", False)
    rig.call(rig.control.set_settings_property, "RetryDelays", "1;2", False)
    restarted = effective_config(rig.file)
    assert restarted.modems[0].send_limit_month == 3000
    assert restarted.connectors[0].max_send_attempts == 5
    assert restarted.routing.retry_delays == (1.0, 2.0)
    without_gsm1 = Config(modems=rig.file.modems[1:], connectors=rig.file.connectors)
    with caplog.at_level(logging.WARNING):
        assert effective_config(without_gsm1).modems == without_gsm1.modems
    assert "gateway 'GSM1': GSM1: no such gateway" in caplog.text


def test_without_a_connector_in_the_file_the_default_http_connector_has_properties_too(control_rig):
    file = Config(modems=(ModemConfig("GSM1", "/dev/ttyUSB0"),))
    rig = control_rig(config=file)
    rig.call(rig.control.set_connector_property, ["HTTP API"], "MaxSendAttempts", "7")
    assert rig.router.routing.connectors["HTTP API"].max_send_attempts == 7
    assert effective_config(file).connectors[0].max_send_attempts == 7


# -- connectors and routing -------------------------------------------------------------------

def test_a_stopped_connector_accepts_nothing_until_started(rig):
    assert rig.control.accepting("HTTP API")
    assert rig.call(rig.control.stop_connectors, ["HTTP API"]) == {"HTTP API": "stopped"}
    assert not rig.control.accepting("HTTP API")
    assert rig.call(rig.control.configuration)["connectors"][0]["running"] is False
    assert rig.call(rig.control.start_connectors, []) == {"HTTP API": "started", "Hook": "started"}
    assert rig.control.accepting("HTTP API")


def test_a_stopped_webhook_holds_its_events_and_sends_them_once_started(rig, monkeypatch):
    posted = []
    arrived = threading.Event()

    def post(target, payload):
        posted.append((target.url, target.token, json.loads(payload)["event"]))
        arrived.set()
        return ""
    monkeypatch.setattr(WebhookSender, "_post", staticmethod(post))
    rig.call(rig.control.stop_connectors, ["Hook"])
    with rig.database.atomic():
        webhook.enqueue(["Hook"], {"event": "sms-received"})
    rig.call(rig.webhooks.kick)
    rig.settle()  # the dispatch has run: nothing was handed to a worker
    assert posted == [] and not rig.webhooks._in_flight
    assert WebhookDelivery.get().state == "pending"
    # a new URL and token set meanwhile are what it uses once started
    rig.call(rig.control.set_connector_property, ["Hook"], "Url", "http://127.0.0.1:8/new", False)
    rig.call(rig.control.set_connector_property, ["Hook"], "Token", "another-token", False)
    assert rig.call(rig.control.start_connectors, ["Hook"]) == {"Hook": "started"}
    assert arrived.wait(5)
    assert posted == [("http://127.0.0.1:8/new", "another-token", "sms-received")]


def test_url_and_token_belong_to_webhook_connectors_only(rig):
    with pytest.raises(ConfigError, match="Url: only a webhook connector has one"):
        rig.call(rig.control.set_connector_property, ["HTTP API"], "Url", "http://example.org/")
    with pytest.raises(ConfigError, match="Url: a webhook needs an http:// or https:// URL"):
        rig.call(rig.control.set_connector_property, ["Hook"], "Url", "ftp://example.org/")


def test_a_webhooks_timeout_give_up_and_reports_are_set_at_run_time_and_checked_as_in_the_file(rig):
    before = rig.webhooks.targets["Hook"]
    assert before.reports_for == ("HTTP API",)  # by default: every connector messages come in by
    for prop, value in (("Timeout", "30"), ("GiveUpAfter", "3600"), ("ReportsFor", "HTTP API")):
        rig.call(rig.control.set_connector_property, ["Hook"], prop, value, False)
    assert rig.webhooks.targets["Hook"] == before  # until the connector restarts
    assert rig.call(rig.control.restart_connectors, ["Hook"]) == {"Hook": "restarted"}
    target = rig.webhooks.targets["Hook"]
    assert (target.timeout, target.give_up_after, target.reports_for) == (30, 3600, ("HTTP API",))
    shown = rig.call(rig.control.configuration)["connectors"][1]["properties"]
    assert (shown["Timeout"], shown["GiveUpAfter"], shown["ReportsFor"]) == ("30", "3600", "HTTP API")
    for prop, value, words in (("Timeout", "0", "Timeout: must be a number of seconds from 1 to 300"),
                               ("ReportsFor", "Nobody", "ReportsFor: 'Nobody' is not a connector messages come in by"),
                               ("GiveUpAfter", "soon", "GiveUpAfter: must be a whole number")):
        with pytest.raises(ConfigError, match=words):
            rig.call(rig.control.set_connector_property, ["Hook"], prop, value)
    with pytest.raises(ConfigError, match="Timeout: only a webhook connector has one"):
        rig.call(rig.control.set_connector_property, ["HTTP API"], "Timeout", "30")
    assert rig.webhooks.targets["Hook"] == target  # nothing a refused value changed


def test_routing_properties_change_which_gateway_sends_and_receives(rig):
    routing = rig.router.routing
    assert routing.may_send("HTTP API", "", {}, "GSM2")   # by default every gateway, primary
    result = rig.call(rig.control.set_routing_property, ["HTTP API"], ["GSM2"], "Send", "0")
    assert result == {"HTTP API": "restarted"}
    assert not routing.may_send("HTTP API", "", {}, "GSM2")
    assert [c.name for c in routing.receivers("GSM2")] == ["HTTP API", "Hook"]
    rig.call(rig.control.set_routing_property, [], ["GSM2"], "Receive", "0", False)
    assert [c.name for c in routing.receivers("GSM2")] == ["HTTP API", "Hook"]   # not yet
    rig.call(rig.control.restart_connectors, [])
    assert routing.receivers("GSM2") == []
    rig.call(rig.control.set_routing_property, ["HTTP API"], ["GSM2"], "Send", "1")
    rig.call(rig.control.set_routing_property, ["HTTP API"], ["GSM2"], "Role", "backup")
    assert routing.connectors["HTTP API"].senders() == (["GSM1"], ["GSM2"])
    shown = rig.call(rig.control.configuration)["connectors"][0]["routing"]
    assert shown == {"GSM1": {"Send": "1", "Receive": "1", "Role": "primary"},
                     "GSM2": {"Send": "1", "Receive": "0", "Role": "backup"}}
    with pytest.raises(ConfigError, match="Role: 'spare' is not one of primary, backup"):
        rig.call(rig.control.set_routing_property, [], [], "Role", "spare")


def test_settings_are_loaded_at_once_or_wait(rig):
    assert rig.call(rig.control.set_settings_property, "RetryDelays", "1;2;3", False) == {
        "RetryDelays": "changed; applies when the settings are next reloaded"}
    assert rig.router.retry_delays == (5.0, 30.0, 120.0)
    assert rig.call(rig.control.settings) == {"pending": True, "properties": {
        "RetryDelays": "1;2;3", "IncompleteAfter": "3600", "Listen": "127.0.0.1:9710", "Connections": "64",
        "Threads": "16", "Timeout": "10", "MaxBody": "2097152", "TrustedProxies": "",
        "SendServerCommandEnabled": "0", "DataDirectory": "./data"}}
    assert rig.call(rig.control.set_settings_property, "IncompleteAfter", "600") == {
        "IncompleteAfter": "changed and loaded"}
    assert (rig.router.retry_delays, rig.inbox.incomplete_after, rig.settings_loaded) == ((1.0, 2.0, 3.0), 600, [1])
    for prop in ("SendServerCommandEnabled", "Listen"):
        with pytest.raises(ConfigError, match=f"{prop}: is read-only"):
            rig.call(rig.control.set_settings_property, prop, "1")
    with pytest.raises(ConfigError, match="IncompleteAfter: must be between 60 and 604800, not 5"):
        rig.call(rig.control.set_settings_property, "IncompleteAfter", "5")


def test_every_property_read_is_one_that_can_be_set_back_unchanged(rig):
    """What get-server-configuration shows (secrets aside) set-*-property takes as it is."""
    configuration = rig.call(rig.control.configuration)
    for gateway in configuration["gateways"]:
        for prop, value in gateway["properties"].items():
            if not properties.GATEWAY_PROPERTIES[prop].secret:
                rig.call(rig.control.set_gateway_property, [gateway["name"]], prop, value, False)
    for prop, value in rig.call(rig.control.settings)["properties"].items():
        if not properties.SETTINGS_PROPERTIES[prop].read_only:
            rig.call(rig.control.set_settings_property, prop, value, False)
    assert rig.call(rig.control.configuration)["gateways"] == [
        dict(g, pending=True) for g in configuration["gateways"]]


def test_a_provider_gateway_has_the_gateway_properties_it_shares_with_modems():
    read = Config(modems=(ModemConfig("GSM", "/x"),),
                  providers=(config_file.ProviderConfig(name="Infobip I", type="infobip", send_limit_day=50),))
    values = properties.gateway_values(read, "Infobip I")
    shared = {"Enabled": "1", "SendLimitDay": "50", "SendLimitMonth": "", "SendRatePerMinute": ""}
    assert shared.items() <= values.items()
    assert "Port" not in values and "Pin" not in values   # its own follow: tests/test_provider_properties.py
    changed = properties.apply(read, properties.Override(properties.GATEWAY, "Infobip I", "SendLimitDay", "70"))
    assert changed.providers[0].send_limit_day == 70 and changed.modems == read.modems
    with pytest.raises(ConfigError, match="Port: a provider gateway has none"):
        properties.apply(read, properties.Override(properties.GATEWAY, "Infobip I", "Port", "/dev/ttyUSB0"))
