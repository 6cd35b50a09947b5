"""Phone numbers as people write them: each written form, each refusal, on both APIs."""

import pytest
from test_http_api import PASSWORD

from appliance.config import file as config_file
from appliance.messages import numbers
from appliance.store.models import OutboundMessage


@pytest.mark.parametrize("written, country_code, stored", [
    ("+44 (0)7700 900123", None, "+447700900123"),       # the trunk prefix in brackets is dropped
    ("+44(0)7700-900-123", None, "+447700900123"),
    ("+44 ( 0 ) 7700 900123", None, "+447700900123"),
    ("0044 (0)7700 900123", None, "+447700900123"),       # 00 is the international prefix
    ("+44 7700.900.123", None, "+447700900123"),
    ("+1 (555) 010-9999", None, "+15550109999"),          # brackets round an area code stay digits
    ("  +447700900123 ", None, "+447700900123"),
    ("07700 900123", None, "07700900123"),                # national, no country code: as written
    ("07700 900123", "44", "+447700900123"),              # national: the country code replaces the 0
    ("(0)7700 900123", "44", "+447700900123"),
    ("(07700) 900-123", "44", "+447700900123"),
    ("+33 6 12 34 56 78", "44", "+33612345678"),          # international: the country code is not used
    ("0033 6 12 34 56 78", "44", "+33612345678"),
    ("12345", "44", "12345"),                             # a short code has no leading 0: as written
    ("*100#", None, "*100#"),
])
def test_each_written_form_becomes_one_number(written, country_code, stored):
    assert numbers.normalize(written, country_code) == stored


@pytest.mark.parametrize("written, why", [
    ("", "empty number"),
    ("   ", "empty number"),
    ("12ab", "is not a phone number"),
    ("+44 7700 9OO123", "is not a phone number"),        # letter O for zero
    ("44+7700900123", "is not a phone number"),
    ("+", "is not a phone number"),
    ("()-.", "is not a phone number"),
    ("+123456789012345678901", "longer than 20 digits"),
    ("0123456789012345678901", "longer than 20 digits"),
    ("*#", "has no digits"),
])
def test_what_is_no_phone_number_is_refused_with_the_reason(written, why):
    with pytest.raises(ValueError, match=why):
        numbers.normalize(written)


def test_a_national_number_too_long_with_its_country_code_is_refused():
    with pytest.raises(ValueError, match="longer than 20 digits with the country code 44"):
        numbers.normalize("01234567890123456789", "44")


@pytest.mark.parametrize("written, stored", [
    ("", ""), ("Clinic", "Clinic"), ("ACME Alerts", "ACME Alerts"), ("Dr. Smith", "Dr. Smith"),
    ("+44 (0)7700 900123", "+447700900123"), ("07700 900123", "+447700900123"), ("B&Q", "B&Q"),
])
def test_a_sender_is_a_phone_number_or_an_alphanumeric_name(written, stored):
    assert numbers.sender(written, "44") == stored


@pytest.mark.parametrize("written", ["Twelve chars", "Café", "<script>", "1234567890ab", "Acme{1}", "--", "..."])
def test_a_sender_that_is_neither_is_refused(written):
    with pytest.raises(ValueError, match=r"neither a phone number nor an alphanumeric sender|not a phone number"):
        numbers.sender(written)


def test_the_country_code_is_a_routing_setting_of_one_to_three_digits():
    assert config_file.parse({"routing": {"country_code": "44"}}).routing.country_code == "44"
    assert config_file.parse({}).routing.country_code is None
    for bad in ("+44", "0044", "1234", "", 44):
        with pytest.raises(config_file.ConfigError, match=r"routing\.country_code"):
            config_file.parse({"routing": {"country_code": bad}})


# -- both APIs ---------------------------------------------------------------------------------



def _send(client, **params):
    base = {"username": "alice", "password": PASSWORD, "message": "Hello"}
    return client.call("send-message", base | params)


def test_the_diafaan_api_stores_numbers_as_the_network_needs_them(diafaan):
    lines = _send(diafaan, to="+44 (0)7700 900123;07700-900124;0033 6 12 34 56 78", **{"from": "07700 900999"})
    assert all(line.startswith("OK: ") for line in lines)
    stored = [OutboundMessage.get_by_id(line[4:]) for line in lines]
    assert [m.recipient for m in stored] == ["+447700900123", "+447700900124", "+33612345678"]
    assert {m.sender for m in stored} == {"+447700900999"}


@pytest.mark.parametrize("params, line", [
    ({"to": "+44 7700 9OO123"}, "ERROR:311 Message rejected: to: '+44 7700 9OO123' is not a phone number"),
    ({"to": "+447700900123;call me"}, "ERROR:311 Message rejected: to: 'call me' is not a phone number"),
    ({"to": "+447700900123", "from": "Café & Co"},
     "ERROR:311 Message rejected: from: 'Café & Co' is neither a phone number nor an alphanumeric sender"),
    ({"to": "+447700900123", "from": "ACME Alerts Ltd"},
     "ERROR:311 Message rejected: from: 'ACME Alerts Ltd' is neither"),
])
def test_the_diafaan_api_refuses_what_is_no_number_and_queues_nothing(diafaan, params, line):
    (reply,) = _send(diafaan, **params)
    assert reply.startswith(line)
    assert OutboundMessage.select().count() == 0


def test_the_json_api_stores_numbers_as_the_network_needs_them(json_api):
    reply = json_api.client().post("/messages", {"to": ["+44 (0)7700 900123", "(07700) 900124"],
                                                 "from": "ACME", "message": "x"})
    assert reply.status == 201
    assert [m["recipient"] for m in reply.data["messages"]] == ["+447700900123", "+447700900124"]
    assert {m.sender for m in OutboundMessage.select()} == {"ACME"}


@pytest.mark.parametrize("body, field, message", [
    ({"to": ["+44 7700 9OO123"]}, "to", "to: '+44 7700 9OO123' is not a phone number"),
    ({"to": ["+447700900123"], "from": "<b>ACME</b>"}, "from", "from: '<b>ACME</b>' is neither"),
])
def test_the_json_api_refuses_what_is_no_number_by_field(json_api, body, field, message):
    reply = json_api.client().post("/messages", body | {"message": "x"})
    assert reply.status == 422
    assert reply.error["code"] == "message_rejected" and reply.error["field"] == field
    assert reply.error["message"].startswith(message)
    assert OutboundMessage.select().count() == 0
