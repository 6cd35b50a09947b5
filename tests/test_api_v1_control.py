"""/api/v1/status, /api/v1/gateways and /api/v1/connectors over a running ServerControl
(fake gateways): who may read and change, what each operation does, and refusals that
name the field and change nothing."""

import pytest
from api_v1_client import PASSWORD, Client, basic, build_env

from appliance.accounts.users import Principal
from appliance.control import server_status
from appliance.store.models import ConfigOverride, MessageState, OutboundMessage


class External:
    """An authentication callback that vouches for anyone with the password, as an administrator."""

    def authenticate(self, name, password, *, address=None):
        return Principal(None, name, is_admin=True, external=True) if password == PASSWORD else None


@pytest.fixture
def rig(control_rig):
    return control_rig()


def api(rig, tmp_path, authenticator=None):
    built, _ = build_env(tmp_path, authenticator=authenticator, database=rig.database, control=rig.control,
                         server_status=lambda: server_status.collect(rig.router, started_at=1_800_000_000.0))
    return built


@pytest.fixture
def app(rig, tmp_path):
    return api(rig, tmp_path)


def unchanged(rig):
    """Nothing was stored or reloaded: the effective config is the file's."""
    assert ConfigOverride.select().count() == 0
    assert rig.control.config == rig.config and not rig.control.pending


def test_status_shows_gateways_connectors_and_message_counts(rig, app):
    message_id = rig.send()
    assert rig.gateways[0].sent_event.wait(5)
    rig.settle()
    data = app.client("alice").get("/status").data
    assert data["version"] == "1.2.3" and data["started_at"] == "2027-01-15T08:00:00.000Z"
    assert data["messages"]["sent"] == 1 and data["messages"]["queued"] == 0 and data["received"] == 0
    first, second = data["gateways"]
    assert first == {"name": "GSM1", "state": "ready", "detail": "", "in_service": True, "paused": False,
                     "sent": 1, "failed": 0, "received": 0, "send_limit_day": 100, "send_limit_month": None,
                     "send_rate_per_minute": None, "device": {}, "credit": None}
    assert (second["name"], second["state"], second["in_service"]) == ("GSM2", "stopped", False)
    assert [c["name"] for c in data["connectors"]] == ["HTTP API", "Hook"]
    assert data["connectors"][0]["gateways"][0] == {"name": "GSM1", "use": "send-receive", "role": "primary"}
    assert OutboundMessage.get_by_id(message_id).state == MessageState.SENT


def test_gateways_show_status_and_properties_to_any_caller(rig, app, tmp_path):
    listed = app.client("alice").get("/gateways").data["gateways"]
    assert [g["name"] for g in listed] == ["GSM1", "GSM2"]
    gsm1 = listed[0]
    assert gsm1["running"] is True and gsm1["pending"] is False and gsm1["state"] == "ready"
    assert gsm1["properties"]["SendLimitDay"] == "100" and gsm1["properties"]["Pin"] == "***"
    assert listed[1]["running"] is False and listed[1]["properties"]["Enabled"] == "0"
    assert app.client("bob").get("/gateways/GSM1").data == gsm1
    missing = app.client("alice").get("/gateways/GSM9")
    assert missing.status == 404 and "GSM9" in missing.error["message"]
    partner = Client(api(rig, tmp_path / "external", External()).app, basic("partner"))
    assert partner.get("/gateways/GSM1").status == 200 and partner.get("/status").status == 200


@pytest.mark.parametrize("action, field, value", [
    ("pause", "paused", True), ("stop", "running", False), ("restart", "running", True),
    ("reset-send-limit", "running", True),
])
def test_an_administrator_acts_on_a_gateway_and_sees_its_entry_after(rig, app, action, field, value):
    reply = app.client("root").post(f"/gateways/GSM1/{action}")
    assert reply.status == 200 and reply.data["name"] == "GSM1" and reply.data[field] is value


def test_a_paused_gateway_keeps_messages_queued_until_resumed(rig, app):
    root = app.client("root")
    assert root.post("/gateways/GSM1/pause").data["paused"] is True
    message_id = rig.send()
    rig.settle()
    assert OutboundMessage.get_by_id(message_id).state == MessageState.QUEUED and not rig.gateways[0].sent
    assert root.post("/gateways/GSM1/resume").data["paused"] is False
    assert rig.gateways[0].sent_event.wait(5) and rig.gateways[0].sent == [message_id]


def test_stop_and_start_a_gateway(rig, app):
    root = app.client("root")
    stopped = root.post("/gateways/GSM1/stop").data
    assert stopped["running"] is False and stopped["state"] == "stopped" and not rig.gateways[0].up
    started = root.post("/gateways/GSM1/start").data
    assert started["running"] is True and rig.gateways[0].up


def test_actions_on_what_does_not_exist_or_is_not_allowed(rig, app):
    root = app.client("root")
    assert root.post("/gateways/GSM9/stop").status == 404
    unknown = root.post("/gateways/GSM1/explode")
    assert unknown.status == 404 and "pause" in unknown.error["message"]
    disabled = root.post("/gateways/GSM2/start")
    assert disabled.status == 409 and "disabled" in disabled.error["message"]
    assert root.post("/connectors/Nope/stop").status == 404 and root.post("/connectors/Hook/pause").status == 404
    assert rig.gateways[0].calls == ["start"] and not rig.gateways[1].up


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/gateways/GSM1/stop", None), ("POST", "/gateways/GSM1/pause", None),
    ("PATCH", "/gateways/GSM1", {"properties": {"SendLimitDay": "1"}}),
    ("POST", "/connectors/Hook/stop", None), ("PATCH", "/connectors/Hook", {"properties": {"Enabled": "0"}}),
])
def test_only_local_administrators_change_anything(rig, app, tmp_path, method, path, body):
    partner = Client(api(rig, tmp_path / "external", External()).app, basic("partner"))
    for client in (app.client("alice"), partner):
        reply = client.call(method, path, json_body=body)
        assert reply.status == 403 and reply.error["code"] == "forbidden"
    unchanged(rig)
    assert rig.gateways[0].calls == ["start"] and not rig.router.paused and rig.control.accepting("Hook")


def test_patching_a_gateway_sets_every_property_and_restarts_it(rig, app, caplog):
    caplog.set_level("INFO", logger="appliance.web.api_v1")
    reply = app.client("root").patch("/gateways/GSM1", {"properties": {"SendLimitDay": "20", "Pin": "4321"}})
    assert reply.status == 200
    assert reply.data["properties"]["SendLimitDay"] == "20" and reply.data["properties"]["Pin"] == "***"
    assert reply.data["send_limit_day"] == 20 and reply.data["pending"] is False
    modem = rig.control.config.modems[0]
    assert (modem.send_limit_day, modem.pin) == (20, "4321")
    assert rig.gateways[0].calls == ["start", "stop", "start"]
    assert ConfigOverride.select().count() == 2
    # who changed what is logged, never a value: it may be a PIN
    assert "'GSM1': set properties.SendLimitDay, properties.Pin by root" in caplog.text and "4321" not in caplog.text


def test_patching_without_reload_waits_for_the_restart(rig, app):
    root = app.client("root")
    reply = root.patch("/gateways/GSM1", {"properties": {"SendLimitDay": "20"}, "reload": False})
    assert reply.data["pending"] is True and reply.data["send_limit_day"] == 100
    assert rig.gateways[0].calls == ["start"]
    assert root.post("/gateways/GSM1/restart").data["send_limit_day"] == 20


@pytest.mark.parametrize("body, status, field, says", [
    ({"properties": {"SendRatePerMinute": "5", "SendLimitDay": "lots"}}, 422, "properties.SendLimitDay",
     "whole number"),
    ({"properties": {"SendLimitDay": "5", "Colour": "red"}}, 422, "properties.Colour", "not a gateway property"),
    ({"properties": {"SendLimitDay": 20}}, 422, "properties.SendLimitDay", "must be a string"),
    ({"properties": ["SendLimitDay"]}, 422, "properties", "must be an object"),
    ({"properties": {"Enabled": "yes"}}, 422, "properties.Enabled", "1 or 0"),
    ({"properties": {"SendLimitDay": "5"}, "reload": "yes"}, 422, "reload", "true or false"),
    ({"properties": {"SendLimitDay": "5"}, "colour": "red"}, 400, "colour", "not a field"),
])
def test_a_bad_gateway_change_names_its_field_and_changes_nothing(rig, app, body, status, field, says):
    reply = app.client("root").patch("/gateways/GSM1", body)
    assert (reply.status, reply.error["field"]) == (status, field) and says in reply.error["message"]
    unchanged(rig)
    assert rig.gateways[0].calls == ["start"]


def test_patching_a_gateway_that_does_not_exist_is_404(rig, app):
    assert app.client("root").patch("/gateways/GSM9", {"properties": {"SendLimitDay": "5"}}).status == 404
    unchanged(rig)


def test_connectors_show_properties_and_routing_to_any_caller(rig, app):
    listed = app.client("alice").get("/connectors").data["connectors"]
    assert [c["name"] for c in listed] == ["HTTP API", "Hook"]
    hook = app.client("bob").get("/connectors/Hook").data
    assert hook["type"] == "webhook" and hook["running"] is True
    assert hook["properties"]["Token"] == "***" and hook["properties"]["Url"] == "http://127.0.0.1:9/hook"
    assert "Url" not in listed[0]["properties"]
    assert hook["routing"]["GSM1"] == {"Send": "1", "Receive": "1", "Role": "primary"}
    assert app.client("alice").get("/connectors/Nope").status == 404


def test_an_administrator_stops_and_starts_a_connector(rig, app):
    root = app.client("root")
    assert root.post("/connectors/Hook/stop").data["running"] is False and not rig.control.accepting("Hook")
    assert root.post("/connectors/Hook/start").data["running"] is True and rig.control.accepting("Hook")
    assert root.post("/connectors/Hook/restart").data["running"] is True


def test_patching_a_connector_sets_properties_and_routing(rig, app):
    reply = app.client("root").patch("/connectors/HTTP API", {"properties": {"MaxSendAttempts": "3"},
                                                             "routing": {"GSM1": {"Send": "0", "Role": "backup"}}})
    assert reply.status == 200 and reply.data["properties"]["MaxSendAttempts"] == "3"
    assert reply.data["routing"]["GSM1"] == {"Send": "0", "Receive": "1", "Role": "backup"}
    routed = rig.router.routing.connectors["HTTP API"]
    assert routed.max_send_attempts == 3 and routed.assignments[0].use == "receive"


@pytest.mark.parametrize("body, field", [
    ({"properties": {"MaxSendAttempts": "3"}, "routing": {"GSM9": {"Send": "0"}}}, "routing.GSM9.Send"),
    ({"properties": {"MaxSendAttempts": "3"}, "routing": {"GSM1": {"Send": "maybe"}}}, "routing.GSM1.Send"),
    ({"routing": {"GSM1": {"Colour": "red"}}}, "routing.GSM1.Colour"),
    ({"routing": {"GSM1": "0"}}, "routing.GSM1"),
    ({"properties": {"MaxSendAttempts": "3", "Url": "http://x"}}, "properties.Url"),
])
def test_a_bad_connector_change_names_its_field_and_changes_nothing(rig, app, body, field):
    reply = app.client("root").patch("/connectors/HTTP API", body)
    assert (reply.status, reply.error["field"]) == (422, field)
    unchanged(rig)


def test_without_a_control_the_gateways_are_unavailable(env):
    reply = env.client().get("/gateways")
    assert reply.status == 503 and reply.error["code"] == "unavailable"
    assert env.client().get("/status").data["gateways"] == []
