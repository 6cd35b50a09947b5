"""A provider gateway's own keys (sender, pattern, concurrency, credentials, ...) as run-time
properties: set through ServerControl, send-server-command set-gateway-property and /api/v1
PATCH /gateways, checked as the config file's values are and by the provider's type, a
refusal changing nothing (the control_rig fixture, tests/conftest.py)."""

import json
import logging

import pytest
from api_v1_client import build_env
from fake_gateway import FakeGateway
from test_server_command import ADMIN, PASSWORD, Api

from appliance.accounts import users
from appliance.config import properties
from appliance.config.file import Config, ConfigError, ConnectorConfig, ModemConfig, ProviderConfig
from appliance.control import server_status
from appliance.control.server_control import effective_config
from appliance.gateways.providers.engine import ProviderGateway
from appliance.store.models import ConfigOverride

SID = "AC" + "0123456789abcdef" * 2
FILE = Config(
    modems=(ModemConfig("GSM1", "/dev/ttyUSB0"),),
    providers=(ProviderConfig(name="Infobip I", type="infobip", base_url="https://x1.api.infobip.com",
                              api_key="infobip-k3y"),
               ProviderConfig(name="Twilio", type="twilio", account_sid=SID, auth_token="twilio-t0ken",
                              sender="ACME"),
               ProviderConfig(name="SMSAPI", type="smsapi", token="smsapi-t0ken")),
    connectors=(ConnectorConfig("HTTP API"),),
)
SECRETS = ("infobip-k3y", "twilio-t0ken", "smsapi-t0ken")
SET = "set-gateway-property"


def fake_gateways(loop, database):
    return [FakeGateway(g.name) for g in FILE.gateway_tables]


@pytest.fixture
def rig(control_rig):
    return control_rig(config=FILE, make_gateways=fake_gateways)


def provider(rig, name):
    return next(p for p in rig.control.config.providers if p.name == name)


def unchanged(rig):
    assert ConfigOverride.select().count() == 0
    assert rig.control.config == rig.config and not rig.control.pending
    assert all(g.calls == ["start"] for g in rig.gateways)


@pytest.mark.parametrize("gateway, prop, value, key, expected", [
    ("Infobip I", "Sender", "Clinic", "sender", "Clinic"),
    ("Infobip I", "FallbackSender", "+4915212345678", "fallback_sender", "+4915212345678"),
    ("Infobip I", "Pattern", "batch", "pattern", "batch"),
    ("Infobip I", "Concurrency", "8", "concurrency", 8),
    ("Infobip I", "BatchSize", "250", "batch_size", 250),
    ("Infobip I", "Timeout", "12.5", "timeout", 12.5),
    ("Infobip I", "MaxLength", "480", "max_length", 480),
    ("Infobip I", "CountryCode", "49", "country_code", "49"),
    ("Infobip I", "CountryCode", "", "country_code", None),
    ("Infobip I", "Proxy", "proxy.example.net:3128", "proxy", "proxy.example.net:3128"),
    ("Infobip I", "StartDate", "2031-02-01", "start_date", "2031-02-01"),
    ("Infobip I", "BaseUrl", "https://x2.api.infobip.com", "base_url", "https://x2.api.infobip.com"),
    ("Infobip I", "ApiKey", "new-k3y", "api_key", "new-k3y"),
    ("Twilio", "AccountSid", "AC" + "f" * 32, "account_sid", "AC" + "f" * 32),
    ("Twilio", "AuthToken", "other-t0ken", "auth_token", "other-t0ken"),
    ("SMSAPI", "Token", "next-t0ken", "token", "next-t0ken"),
])
def test_each_of_a_providers_keys_is_set_restarting_it_and_kept(rig, gateway, prop, value, key, expected):
    assert rig.call(rig.control.set_gateway_property, [gateway], prop, value) == {gateway: "restarted"}
    assert getattr(provider(rig, gateway), key) == expected
    (fake,) = [g for g in rig.gateways if g.name == gateway]
    assert fake.calls == ["start", "stop", "start"]
    row = ConfigOverride.get()
    assert (row.scope, row.name, row.property, row.value) == ("gateway", gateway, prop, value)
    shown = rig.call(rig.control.configuration)["gateways"]
    read = next(g for g in shown if g["name"] == gateway)["properties"][prop]
    assert read == ("***" if properties.GATEWAY_PROPERTIES[prop].secret else value)
    restarted = effective_config(rig.file)   # the service's next start
    assert getattr(next(p for p in restarted.providers if p.name == gateway), key) == expected


@pytest.mark.parametrize("gateway, prop, value, words", [
    ("Twilio", "Pattern", "batch", "Pattern: a provider of type 'twilio' takes one message a request: "
                                   "pattern must be \"loop\""),
    ("Infobip I", "Pattern", "bulk", "Pattern: 'bulk' is not one of"),
    ("Infobip I", "Concurrency", "0", "Concurrency: must be between 1 and 64, not 0"),
    ("Infobip I", "BatchSize", "many", "BatchSize: must be a whole number, not 'many'"),
    ("Infobip I", "Timeout", "soon", "Timeout: must be a number, not 'soon'"),
    ("Infobip I", "MaxLength", "20000", "MaxLength: must be between 1 and 10000"),
    ("Infobip I", "CountryCode", "+49", "CountryCode: must be a country calling code like 49"),
    ("Infobip I", "Sender", "Clinic of Hope", "Sender: must be up to 11 letters and digits"),
    ("Infobip I", "FallbackSender", "x" * 12, "FallbackSender: must be up to 11 letters and digits"),
    ("Infobip I", "Proxy", "proxy.example.net", "Proxy: must be HOST:PORT like proxy.example.net:3128"),
    ("Infobip I", "StartDate", "1 March", "StartDate: must be a date like 2026-03-01"),
    ("Infobip I", "BaseUrl", "http://x1.api.infobip.com", "BaseUrl: must be an https:// URL"),
    ("Infobip I", "BaseUrl", "", "BaseUrl: is required for a provider of type 'infobip'"),
    ("Twilio", "AccountSid", "AC12", "AccountSid: must be Twilio's account SID"),
    ("Twilio", "AuthToken", "", "AuthToken: is required"),
    ("Twilio", "Sender", "", "Sender: is required for a provider of type 'twilio'"),
    ("SMSAPI", "Username", "clinic", "Username: give token, or a username and password, not both"),
    ("SMSAPI", "Token", "", "Token: is required for a provider of type 'smsapi'"),
    ("Infobip I", "Port", "/dev/ttyUSB0", "Port: a provider gateway has none; 'Infobip I' is one"),
    ("Infobip I", "Pin", "1234", "Pin: a provider gateway has none"),
    ("GSM1", "Sender", "Clinic", "Sender: a modem gateway has none; 'GSM1' is one"),
    ("GSM1", "ApiKey", "k", "ApiKey: a modem gateway has none"),
    ("Twilio", "Colour", "red", r"Colour: not a gateway property \(there are: Enabled, SendLimitDay, "
                                r"SendLimitMonth, SendRatePerMinute, Sender, FallbackSender, Pattern, "),
])
def test_a_refused_value_names_the_property_and_changes_nothing(rig, gateway, prop, value, words):
    with pytest.raises(ConfigError, match=words):
        rig.call(rig.control.set_gateway_property, [gateway], prop, value)
    unchanged(rig)


def test_credentials_that_go_together_are_changed_together(rig):
    """SMSAPI takes a token or a username and password: one at a time, each step is refused;
    set together, the new login replaces the token."""
    with pytest.raises(ConfigError, match="Token: is required"):
        rig.call(rig.control.set_gateway_property, ["SMSAPI"], "Token", "")
    login = {"Token": "", "Username": "clinic", "Password": "pa55word"}
    assert rig.call(rig.control.set_gateway_properties, ["SMSAPI"], login) == {"SMSAPI": "restarted"}
    smsapi = provider(rig, "SMSAPI")
    assert (smsapi.token, smsapi.username, smsapi.password) == ("", "clinic", "pa55word")
    values = next(g for g in rig.call(rig.control.configuration)["gateways"] if g["name"] == "SMSAPI")["properties"]
    assert (values["Token"], values["Username"], values["Password"]) == ("", "clinic", "***")
    assert effective_config(rig.file).providers[2].username == "clinic"


def test_overrides_a_changed_file_makes_its_type_refuse_are_skipped_at_start(rig, caplog):
    """The file's SMSAPI account moved to a login while an override still sets a token:
    that gateway's overrides are all skipped, with a warning, and the appliance starts."""
    rig.call(rig.control.set_gateway_property, ["SMSAPI"], "Token", "kept-t0ken", False)
    rig.call(rig.control.set_gateway_property, ["SMSAPI"], "Sender", "Clinic", False)
    rig.call(rig.control.set_gateway_property, ["Twilio"], "Sender", "Shop", False)
    login = ProviderConfig(name="SMSAPI", type="smsapi", username="clinic", password="pa55")
    moved = Config(modems=FILE.modems, providers=(*FILE.providers[:2], login), connectors=FILE.connectors)
    with caplog.at_level(logging.WARNING):
        started = effective_config(moved)
    assert started.providers[2] == login and started.providers[1].sender == "Shop"
    assert "gateway 'SMSAPI': provider[3].token: give token, or a username and password, not both" in caplog.text
    assert "kept-t0ken" not in caplog.text


def test_secrets_read_back_as_stars_and_every_value_read_sets_back_unchanged(rig):
    configuration = rig.call(rig.control.configuration)
    values = {g["name"]: g["properties"] for g in configuration["gateways"]}
    assert (values["Infobip I"]["ApiKey"], values["Twilio"]["AuthToken"], values["SMSAPI"]["Token"]) == (
        "***", "***", "***")
    assert values["Twilio"]["AccountSid"] == SID and values["Twilio"]["Pattern"] == "loop"
    assert values["Infobip I"]["Concurrency"] == "4" and values["Infobip I"]["Timeout"] == "30"
    assert "Sender" not in values["GSM1"] and "Pin" not in values["Twilio"]
    assert not any(secret in json.dumps(configuration) for secret in SECRETS)
    for name, props in values.items():
        for prop, value in props.items():
            if not properties.GATEWAY_PROPERTIES[prop].secret:
                rig.call(rig.control.set_gateway_property, [name], prop, value, False)
    assert rig.call(rig.control.configuration)["gateways"] == [
        dict(g, pending=True) for g in configuration["gateways"]]


def test_a_provider_gateway_takes_its_new_settings_at_its_restart(control_rig):
    """reload=0 leaves the running gateway as it is; its restart gives it the new config."""
    def provider_gateways(loop, database):
        return [ProviderGateway(loop, FILE.providers[0])]
    rig = control_rig(config=Config(providers=FILE.providers[:1]), make_gateways=provider_gateways)
    (gateway,) = rig.gateways
    rig.call(rig.control.set_gateway_property, ["Infobip I"], "Sender", "Clinic", False)
    rig.call(rig.control.set_gateway_property, ["Infobip I"], "BaseUrl", "https://x2.api.infobip.com", False)
    assert (gateway.config.sender, gateway.api.base_url) == ("", "https://x1.api.infobip.com")
    assert rig.call(rig.control.restart_gateways, ["Infobip I"]) == {"Infobip I": "restarted"}
    assert (gateway.config.sender, gateway.api.base_url) == ("Clinic", "https://x2.api.infobip.com")
    assert gateway.status()["host"] == "x2.api.infobip.com"
    rig.call(gateway.stop)

    async def closed():
        await gateway.closing
    rig.loop_thread.run(closed())


# -- send-server-command and /api/v1 ----------------------------------------------------------

def test_set_gateway_property_on_a_provider_and_its_refusal_never_logs_a_secret(rig, caplog):
    users.set_user("root", PASSWORD, admin=True)
    api = Api(rig)
    caplog.set_level(logging.DEBUG, logger="appliance")
    assert api.command(SET, gateway="Infobip I", property="ApiKey", value="fresh-k3y") == ["OK: Infobip I: restarted"]
    assert api.command(SET, gateway="Twilio", property="Concurrency", value="16", reload="0") == [
        "OK: Twilio: changed; applies at its next restart"]
    assert (provider(rig, "Infobip I").api_key, provider(rig, "Twilio").concurrency) == ("fresh-k3y", 16)
    refused = api.raw("send-server-command", {**ADMIN, "command": SET, "gateway": "Twilio", "property": "Pattern",
                                              "value": "batch"})
    assert refused.startswith("ERROR:307 Operation not allowed: Pattern: a provider of type 'twilio'")
    assert provider(rig, "Twilio").pattern == "loop" and ConfigOverride.select().count() == 2
    assert "fresh-k3y" not in caplog.text and "ApiKey" in caplog.text


def test_patching_a_provider_through_api_v1(rig, tmp_path):
    app, _ = build_env(tmp_path, database=rig.database, control=rig.control,
                       server_status=lambda: server_status.collect(rig.router, started_at=1_800_000_000.0))
    root = app.client("root")
    reply = root.patch("/gateways/SMSAPI", {"properties": {"Token": "", "Username": "clinic", "Password": "pa55",
                                                           "Sender": "Clinic"}})
    assert reply.status == 200, reply.error
    assert reply.data["properties"]["Password"] == "***" and reply.data["properties"]["Sender"] == "Clinic"
    assert provider(rig, "SMSAPI").password == "pa55" and ConfigOverride.select().count() == 4
    refused = root.patch("/gateways/Twilio", {"properties": {"Sender": "Clinic", "Pattern": "batch"}})
    assert (refused.status, refused.error["field"]) == (422, "properties.Pattern")
    assert "takes one message a request" in refused.error["message"]
    assert provider(rig, "Twilio").sender == "ACME" and ConfigOverride.select().count() == 4
    empty = root.patch("/gateways/Twilio", {"properties": {}, "reload": False})
    assert empty.status == 200 and empty.data["pending"] is False and ConfigOverride.select().count() == 4
