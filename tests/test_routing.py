"""Diafaan's gateway assignment: primaries first, backups after, the gateway list narrows."""

import pytest

from appliance.app.service import build_routing
from appliance.config.file import ConfigError, ConnectorConfig
from appliance.gateways.assignment import BACKUP, RECEIVE, SEND, Assignment, Connector, Routing
from appliance.store.queue import format_tried, parse_tried

ROUTING = Routing([
    Connector("API", "http", (Assignment("P1"), Assignment("P2"), Assignment("B1", role=BACKUP),
                              Assignment("R1", use=RECEIVE), Assignment("S1", use=SEND, role=BACKUP)),
              max_send_attempts=2),
    Connector("Hook", "http", (Assignment("R1", use=RECEIVE), Assignment("P1"))),
])


def may(gateway, tried=None, requested=""):
    return ROUTING.may_send("API", requested, tried or {}, gateway)


def test_primaries_send_first_and_receive_only_gateways_never_send():
    assert may("P1") and may("P2")
    assert not may("B1") and not may("S1")
    assert not may("R1")
    assert not may("Unknown")


def test_each_primary_gets_its_attempts_then_the_backups_take_over():
    assert may("P1", {"P1": 1})
    assert not may("P1", {"P1": 2})
    assert not may("B1", {"P1": 2, "P2": 1})        # P2 still has an attempt
    assert may("B1", {"P1": 2, "P2": 2})
    assert may("S1", {"P1": 2, "P2": 2})
    assert not ROUTING.exhausted("API", "", {"P1": 2, "P2": 2, "B1": 2})
    assert ROUTING.exhausted("API", "", {"P1": 2, "P2": 2, "B1": 2, "S1": 2})


def test_the_gateway_list_narrows_the_choice_and_a_backup_stays_a_backup():
    assert may("P2", requested="P2;B1") and not may("P1", requested="P2;B1")
    assert not may("B1", {"P2": 1}, requested="P2;B1")
    assert may("B1", {"P2": 2}, requested="P2;B1")
    assert ROUTING.exhausted("API", "P2;B1", {"P2": 2, "B1": 2})


def test_names_that_are_not_the_connectors_sending_gateways_are_ignored():
    assert may("P1", requested="R1;Nope")  # only unassigned names: as if none were given
    assert may("P1", requested="Nope;P1")


def test_a_received_message_goes_to_every_connector_that_receives_from_the_gateway():
    assert [c.name for c in ROUTING.receivers("R1")] == ["API", "Hook"]
    assert [c.name for c in ROUTING.receivers("P1")] == ["API", "Hook"]
    assert ROUTING.receivers("S1") == []


def test_tries_are_stored_as_text_and_read_back():
    assert parse_tried(format_tried({"GSM Modem 1": 3, "a:b": 1})) == {"GSM Modem 1": 3, "a:b": 1}
    assert parse_tried("") == {}


def test_default_routing_sends_everything_through_every_gateway():
    routing = build_routing((), ("GSM1", "GSM2"))
    (connector,) = routing.connectors.values()
    assert connector.kind == "http" and connector.senders() == (["GSM1", "GSM2"], [])


def test_a_connector_naming_a_gateway_that_does_not_exist_is_a_config_error():
    with pytest.raises(ConfigError, match="'GSM9' is not a configured modem"):
        build_routing((ConnectorConfig("API", gateways=(("GSM9", "send", "primary"),)),), ("GSM1",))


def test_a_primary_that_is_down_does_not_hold_back_the_backups():
    down = {"P1"}
    in_service = lambda name: name not in down  # noqa: E731
    assert not ROUTING.may_send("API", "", {}, "B1", in_service)          # P2 is up
    down.add("P2")
    assert ROUTING.may_send("API", "", {}, "B1", in_service)
