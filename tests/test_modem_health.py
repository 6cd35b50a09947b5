"""Parsing what modems answer about themselves, in the forms different families use."""

from datetime import datetime, timedelta, timezone

import pytest

from appliance.modem import health
from appliance.modem.ussd import decode_cusd


@pytest.mark.parametrize("value, rssi", [("21,0", 21), (" 31, 99", 31), ("99,99", None), ("", None)])
def test_csq(value, rssi):
    assert health.parse_csq(value) == rssi


@pytest.mark.parametrize("value, answer, stat", [
    ("0,1", True, 1), ("2,5, FFFE, 323301, 7", True, 5), ("2,1,4CA,81DE445", True, 1),
    ("1", False, 1), ("0", False, 0), ('2,"4CA","81DE445"', False, 2), ("", True, None),
])
def test_creg_answer_and_unsolicited_forms(value, answer, stat):
    assert health.parse_creg(value, answer=answer) == stat


@pytest.mark.parametrize("values, stat", [
    (["1,1"], 1),
    (["2", "1,1"], 1),          # a notice, then the answer: the answer is newer
    (["1,1", "2"], 2),          # the answer, then a notice: the notice is newer
    (["0"], 0),                 # only a notice, the answer lost: still the state now
    (["1,x"], None), ([], None),
    (['2,6,"7D08","04E23C04",7'], 6),                 # a Fibocom L850: registered for SMS only
    (['2,1,"7D08","04E23C04",7', '7,"7D08","04E23C04",7'], 7),  # then a notice of AT+CREG=2's form
    (["2,1, FFFE, 323301, 7", "6,4CA,81DE445"], 6),   # unquoted hex in the notice
])
def test_a_registration_reply_with_a_notice_inside_gives_the_latest_state(values, stat):
    assert health.parse_registration_reply(values) == stat


@pytest.mark.parametrize("stat, registered, shown", [
    (6, True, "registered for SMS only (home)"), (7, True, "registered for SMS only (roaming)"),
    (9, True, "registered (home, CSFB not preferred)"), (10, True, "registered (roaming, CSFB not preferred)"),
    (0, False, "not registered"), (3, False, "registration denied"), (4, False, "unknown"),
    (8, False, "emergency services only"),
])
@pytest.mark.parametrize("domain", ["registration", "eps_registration"])
def test_registered_for_sms_only_is_registered_on_either_domain(stat, registered, shown, domain):
    h = health.Health(**{domain: stat})
    assert h.registered == registered and h.as_dict()["registration"] == shown


def test_registered_means_home_or_roaming_and_unknown_does_not_idle_a_modem():
    assert health.Health(registration=1).registered and health.Health(registration=5).registered
    assert not health.Health(registration=2).registered
    assert health.Health().registered


@pytest.mark.parametrize("creg, cereg, registered, shown", [
    (1, None, True, "registered (home)"), (2, None, False, "searching"),
    (0, 1, True, "registered (home)"), (3, 5, True, "registered (roaming)"),
    (None, 2, False, "searching"), (2, 0, False, "not registered"), (None, None, True, "unknown"),
])
def test_either_domain_registered_is_registered(creg, cereg, registered, shown):
    h = health.Health(registration=creg, eps_registration=cereg)
    assert h.registered == registered
    assert h.as_dict()["registration"] == shown


def test_csca_number_or_none_and_cnmi_settings():
    assert health.parse_csca('"+15555550100",145') == "+15555550100"
    assert health.parse_csca('"79185599999", 145') == "79185599999"
    assert health.parse_csca('"",129') == ""
    assert health.parse_cnmi("2,1,0,1,0") == (2, 1, 0, 1, 0)
    assert health.parse_cnmi(" 0, 0, 0, 0, 0") == (0, 0, 0, 0, 0)
    assert health.parse_cnmi("") is None
    assert health.Health(smsc="+15555550100").as_dict()["smsc"] == "+15555550100"
    assert health.Health().as_dict()["smsc"] is None


def test_cops_cpms_and_signal_in_dbm():
    assert health.parse_cops('0,0,"Vodafone UK",7') == "Vodafone UK"
    assert health.parse_cops("0") == ""
    assert health.parse_cpms('"SM",3,20,"SM",3,20,"SM",3,20') == (3, 20)
    assert health.parse_cpms("2,20,3,10") == (2, 20)
    h = health.Health(signal_rssi=21, storage_used=20, storage_total=20)
    assert h.signal_dbm == -71 and h.storage_full


def test_cclk_zone_is_in_quarter_hours():
    assert health.parse_cclk('"24/11/22,10:15:30+04"') == datetime(
        2024, 11, 22, 10, 15, 30, tzinfo=timezone(timedelta(hours=1)))
    assert health.parse_cclk('"24/11/22,10:15:30-20"') == datetime(
        2024, 11, 22, 10, 15, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert health.parse_cclk('"80/01/00,00:00:00+00"') is None  # no network time yet


def test_cusd_plain_ucs2_and_packed_gsm7():
    assert decode_cusd('0,"Balance 12.34 GBP",15') == (0, "Balance 12.34 GBP")
    assert decode_cusd('0,"04110430043B0430043D0441",72') == (0, "Баланс")
    # packed by python-gsmmodem-new, an independent codec
    assert decode_cusd("0,C2303BEC1E9775A098CC35A301,15") == (0, "Balance: 12.34")
    assert decode_cusd("2") == (2, "")
