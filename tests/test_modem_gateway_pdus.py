"""What a queued message becomes on the air: its PDUs, as the modem gateway builds them."""

from datetime import timedelta

import pytest

from appliance import pdu
from appliance.gateways.modem import build_pdus
from appliance.store.models import OutboundMessage

NOW = 1_800_000_000.0


def submits(message, now=NOW):
    return [pdu.decode(hex_pdu) for hex_pdu, _ in build_pdus(message, "+447700900000", False, now=now)]


def message(text="Server down", **fields):
    return OutboundMessage(id="m1", recipient="+447700900123", text=text, **fields)


@pytest.mark.parametrize("elapsed, left", [(0, timedelta(hours=1)), (600, timedelta(minutes=50)),
                                          (3599, timedelta(minutes=5))])
def test_a_message_with_a_validity_period_tells_the_network_what_is_left_of_it(elapsed, left):
    (part,) = submits(message(validity_period=3600, expires_at=NOW + 3600), now=NOW + elapsed)
    assert part.validity == left  # relative format, up to the next 5-minute step


def test_every_part_of_a_long_message_carries_the_validity():
    parts = submits(message(text="x" * 400, validity_period=7200, expires_at=NOW + 7200))
    assert len(parts) == 3 and {p.validity for p in parts} == {timedelta(hours=2)}


def test_a_message_without_a_validity_period_leaves_it_to_the_network():
    (part,) = submits(message())
    assert part.validity is None


def test_a_validity_longer_than_the_format_carries_is_sent_as_its_longest():
    ten_years = 10 * 365 * 86400
    (part,) = submits(message(validity_period=ten_years, expires_at=NOW + ten_years))
    assert part.validity == timedelta(weeks=63)
