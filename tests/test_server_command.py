"""send-server-command through the WSGI app, driving a real ServerControl on its event loop
thread with fake gateways (the control_rig fixture): every command, its replies, its errors."""

import io
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from appliance.accounts import users
from appliance.accounts.authenticator import Authenticator
from appliance.accounts.users import Principal
from appliance.config.file import Config, ConnectorConfig, ModemConfig
from appliance.store.models import ConfigOverride, OutboundMessage
from appliance.web.app import create_app
from appliance.web.diafaan import server_command
from appliance.web.diafaan.commands import HttpApiContext

PASSWORD = "correct horse"
ADMIN = {"username": "root", "password": PASSWORD}


class Api:
    def __init__(self, rig, *, enabled=True, authenticator=None):
        self.rig = rig
        context = HttpApiContext(queue=rig.queue, authenticator=authenticator or Authenticator(),
                                 connector="HTTP API", gateway_names=lambda: [g.name for g in rig.gateways],
                                 on_accepted=rig.router.kick_threadsafe, control=rig.control,
                                 inbox=None, server_status=dict,
                                 send_server_command_enabled=enabled)
        self.app = create_app(context)
        self.content_type = ""

    def raw(self, command, params, method="GET"):
        query = urllib.parse.urlencode(params)
        body = query.encode() if method == "POST" else b""
        environ = {"REQUEST_METHOD": method, "PATH_INFO": f"/http/{command}",
                   "QUERY_STRING": "" if method == "POST" else query,
                   "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
                   "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO()}
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer.update(status=status, headers=dict(headers))
        text = b"".join(self.app(environ, start_response)).decode()
        assert answer["status"].startswith("200")
        self.content_type = answer["headers"]["Content-Type"]
        return text

    def command(self, command, method="GET", **params):
        """The reply lines of send-server-command, as the administrator unless told."""
        params = {**ADMIN, "command": command, **params}
        text = self.raw("send-server-command", params, method)
        assert not text.endswith("\n"), text  # no line break after the last line
        return text.split("\r\n")

    def xml(self, command):
        text = self.raw("send-server-command", {**ADMIN, "command": command})
        assert self.content_type == "text/xml; charset=utf-8"
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\r\n')
        return ET.fromstring(text.encode())


@pytest.fixture
def make_api(control_rig):
    def make(config=None, **options):
        rig = control_rig(**({"config": config} if config else {}))
        users.set_user("root", PASSWORD, admin=True)
        users.set_user("alice", PASSWORD)
        return Api(rig, **options)
    return make


@pytest.fixture
def api(make_api):
    return make_api()


# -- gateways and connectors ------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_stop_start_and_restart_gateways(api, method):
    gsm1, gsm2 = api.rig.gateways
    assert api.command("stop-gateway", method, gateway="GSM1") == ["OK: GSM1: stopped"]
    assert api.content_type == "text/plain; charset=utf-8"
    assert not gsm1.up
    assert api.command("start-gateway", method) == ["OK: GSM1: started"]   # all enabled ones
    assert api.command("restart-gateway", method, gateway="GSM1;GSM2") == [
        "OK: GSM1: restarted", "OK: GSM2: stopped (disabled)"]
    assert (gsm1.calls, gsm2.calls) == (["start", "stop", "start", "stop", "start"], ["stop"])


def test_pause_and_resume_sending_and_reset_the_send_limit(api):
    gsm1 = api.rig.gateways[0]
    assert api.command("pause-sending", gateway="GSM1") == ["OK: GSM1: sending paused"]
    message_id = api.rig.send()
    api.rig.settle()
    assert OutboundMessage.get_by_id(message_id).state == "queued"
    assert api.command("resume-sending", gateway="GSM1") == ["OK: GSM1: sending resumed"]
    assert gsm1.sent_event.wait(5)
    assert api.command("reset-send-limit") == ["OK: GSM1: send limit reset", "OK: GSM2: send limit reset"]


def test_stop_and_start_connectors_and_a_stopped_http_api_refuses_messages(api):
    message = {"username": "alice", "password": PASSWORD, "to": "+447700900123", "message": "hi"}
    assert api.command("stop-connector", connector="HTTP API") == ["OK: HTTP API: stopped"]
    assert api.raw("send-message", message).startswith(
        "ERROR:307 Operation not allowed: the connector 'HTTP API' is stopped: an administrator starts it "
        "with send-server-command command=start-connector")
    assert OutboundMessage.select().count() == 0
    assert api.command("start-connector", connector="HTTP API") == ["OK: HTTP API: started"]
    assert api.raw("send-message", message).startswith("OK: ")
    assert api.command("restart-connector") == ["OK: HTTP API: restarted", "OK: Hook: restarted"]


# -- reading the configuration ----------------------------------------------------------------

def test_get_server_configuration_is_escaped_xml_with_secrets_masked(make_api):
    config = Config(modems=(ModemConfig("GSM <1> & co", "/dev/ttyUSB0", pin="1234"),),
                    connectors=(ConnectorConfig("HTTP API"),
                                ConnectorConfig("Hook \"A\"", "webhook", url="https://x.test/?a=1&b=2",
                                                token="s3cret-token")))
    api = make_api(config)
    text = api.raw("send-server-command", {**ADMIN, "command": "get-server-configuration"})
    assert "GSM &lt;1&gt; &amp; co" in text and "a=1&amp;b=2" in text
    assert "1234" not in text and "s3cret" not in text
    root = api.xml("get-server-configuration")
    (gateway,) = root.find("Gateways")
    assert gateway.attrib == {"Name": "GSM <1> & co", "Running": "1", "Paused": "0", "Pending": "0"}
    assert {e.tag: e.text for e in gateway} == {
        "Enabled": "1", "Port": "/dev/ttyUSB0", "Baudrate": "115200", "Model": "auto", "Pin": "***", "Smsc": None,
        "DeliveryReports": "1", "SendLimitDay": None, "SendLimitMonth": None, "SendRatePerMinute": None}
    http, hook = root.find("Connectors")
    assert http.attrib == {"Name": "HTTP API", "Type": "http", "Running": "1", "Pending": "0"}
    assert hook.find("Url").text == "https://x.test/?a=1&b=2"
    assert hook.find("Token").text == "***"
    (route,) = hook.find("Routing")
    assert (route.get("Name"), [(e.tag, e.text) for e in route]) == (
        "GSM <1> & co", [("Send", "1"), ("Receive", "1"), ("Role", "primary")])


def test_get_server_settings(api):
    root = api.xml("get-server-settings")
    assert root.tag == "ServerSettings" and root.get("Pending") == "0"
    assert {e.tag: e.text for e in root} == {
        "RetryDelays": "5;30;120", "IncompleteAfter": "3600", "Listen": "127.0.0.1:9710", "Connections": "64",
        "Threads": "16", "Timeout": "10", "MaxBody": "2097152", "TrustedProxies": None,
        "SendServerCommandEnabled": "0", "DataDirectory": "./data"}


# -- changing properties ----------------------------------------------------------------------

def test_set_gateway_property_restarts_the_gateway_or_with_reload_0_waits(api):
    gsm1 = api.rig.gateways[0]
    assert api.command("set-gateway-property", gateway="GSM1", property="SendLimitDay", value="20") == [
        "OK: GSM1: restarted"]
    assert gsm1.calls == ["start", "stop", "start"]
    assert api.command("set-gateway-property", gateway="GSM1", property="SendLimitMonth", value="900",
                       reload="0") == ["OK: GSM1: changed; applies at its next restart"]
    assert gsm1.calls == ["start", "stop", "start"]
    gateway = api.xml("get-server-configuration").find("Gateways")[0]
    assert (gateway.get("Pending"), gateway.find("SendLimitDay").text, gateway.find("SendLimitMonth").text) == (
        "1", "20", "900")
    assert api.rig.router.limits.limits["GSM1"].per_month is None
    api.command("restart-gateway", gateway="GSM1")
    assert api.rig.router.limits.limits["GSM1"].per_month == 900


def test_set_connector_and_routing_and_settings_properties(api):
    assert api.command("set-connector-property", connector="Hook", property="MaxSendAttempts", value="2") == [
        "OK: Hook: restarted"]
    assert api.command("set-connector-property", property="Enabled", value="0", reload="0") == [
        "OK: HTTP API: changed; applies at its next restart", "OK: Hook: changed; applies at its next restart"]
    assert api.rig.control.accepting("HTTP API")
    assert api.command("set-routing-property", connector="HTTP API", gateway="GSM2", property="Role",
                       value="backup") == ["OK: HTTP API: stopped (disabled)"]   # Enabled=0 took effect too
    assert not api.rig.control.accepting("HTTP API")
    assert api.rig.router.routing.connectors["HTTP API"].senders() == (["GSM1"], ["GSM2"])
    assert api.command("set-settings-property", property="RetryDelays", value="10;20") == [
        "OK: RetryDelays: changed and loaded"]
    assert api.rig.router.retry_delays == (10.0, 20.0)
    assert api.command("set-settings-property", property="IncompleteAfter", value="120", reload="0") == [
        "OK: IncompleteAfter: changed; applies when the settings are next reloaded"]
    assert api.xml("get-server-settings").get("Pending") == "1"


# -- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("params, line", [
    ({}, "ERROR:306 Unknown command or insufficient parameters: command is missing (one of: start-gateway, "),
    ({"command": "reboot"}, "ERROR:306 Unknown command or insufficient parameters: command: 'reboot' is not one "
                            "of start-gateway, stop-gateway, "),
    ({"command": "stop-gateway", "gateway": "GSM1;GSM9"},
     "ERROR:306 Unknown command or insufficient parameters: GSM9: no such gateway (there are: GSM1, GSM2)"),
    ({"command": "start-connector", "connector": "Mail"},
     "ERROR:306 Unknown command or insufficient parameters: Mail: no such connector (there are: HTTP API, Hook)"),
    ({"command": "set-gateway-property", "property": "Colour", "value": "red"},
     "ERROR:306 Unknown command or insufficient parameters: Colour: not a gateway property (there are: Enabled, "),
    ({"command": "set-gateway-property", "value": "1"},
     "ERROR:306 Unknown command or insufficient parameters: property is missing"),
    ({"command": "set-settings-property", "property": "RetryDelays"},
     "ERROR:306 Unknown command or insufficient parameters: value is missing"),
    ({"command": "set-gateway-property", "gateway": "GSM1", "property": "SendLimitDay", "value": "-5"},
     "ERROR:307 Operation not allowed: SendLimitDay: must be between 1 and 10000000, not -5"),
    ({"command": "set-routing-property", "property": "Send", "value": "maybe"},
     "ERROR:307 Operation not allowed: Send: must be 1 or 0, not 'maybe'"),
    ({"command": "set-gateway-property", "property": "Enabled", "value": "1", "reload": "yes"},
     "ERROR:307 Operation not allowed: reload: must be 0 or 1, not 'yes'"),
    ({"command": "set-settings-property", "property": "SendServerCommandEnabled", "value": "0"},
     "ERROR:307 Operation not allowed: SendServerCommandEnabled: is read-only: only the config file can enable "
     "or disable send-server-command ([http] send_server_command)"),
    ({"command": "start-gateway", "gateway": "GSM2"},
     "ERROR:307 Operation not allowed: GSM2: is disabled (Enabled is 0): set-gateway-property Enabled=1 starts it"),
])
def test_a_wrong_request_gets_its_error_and_changes_nothing(api, params, line):
    reply = api.raw("send-server-command", {**ADMIN, **params})
    assert reply.startswith(line) and "\n" not in reply, reply
    assert ConfigOverride.select().count() == 0
    assert [g.calls for g in api.rig.gateways] == [["start"], []]


def test_disabled_unless_the_config_file_enables_it(make_api):
    api = make_api(enabled=False)
    assert api.command("get-server-settings") == [
        "ERROR:307 Operation not allowed: send-server-command is disabled: set send_server_command = true in the "
        "[http] table of the config file and restart the appliance"]


def test_for_administrators_only(api):
    (line,) = api.command("stop-gateway", username="alice", password=PASSWORD)
    assert line == "ERROR:307 Operation not allowed: send-server-command is for administrators only"
    (line,) = api.command("stop-gateway", username="root", password="wrong password")
    assert line.startswith("ERROR:304 ")
    assert api.rig.gateways[0].calls == ["start"]


def test_a_caller_vouched_for_by_the_authentication_callback_gets_310(make_api):
    external = Authenticator(verify=lambda name, password: Principal(None, name, True, external=True))
    api = make_api(authenticator=external)
    assert api.command("stop-gateway") == [
        "ERROR:310 HTTP callback authentication not supported for this command: "
        "send-server-command needs a local administrator account"]
    assert api.rig.gateways[0].calls == ["start"]


def test_a_loop_that_does_not_take_the_command_in_time_gets_300_and_nothing_is_done(api, monkeypatch):
    def too_late(loop, work, timeout=10.0):
        raise TimeoutError("the appliance did not get to it within 10 s; nothing was done")
    monkeypatch.setattr(server_command, "on_loop", too_late)
    assert api.command("stop-gateway") == [
        "ERROR:300 Unknown error: the appliance did not get to it within 10 s; nothing was done"]
    assert api.rig.gateways[0].calls == ["start"]


def test_characters_xml_cannot_hold_are_replaced_not_written(make_api):
    api = make_api(Config(modems=(ModemConfig("GSM\x01one", "/dev/ttyUSB0"),)))
    assert api.xml("get-server-configuration").find("Gateways/Gateway").get("Name") == "GSM\ufffdone"
