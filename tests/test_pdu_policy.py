"""The C encoder follows the policy written out in tests/pdu_policy.py.

pdu_policy.py is the readable statement of every encoding decision (alphabet,
national tables, cut points, header fields); the C encoder makes the same
decisions for speed. These tests run both on the same random texts and
options and require the same parts, the same counts and the same errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pdu_policy as policy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance import pdu
from appliance.pdu import PDUError

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TABLE_CHARS = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà\f^{}\\[~]|€ŞşĞğİıçÁáÍíÓóÚúêÔôªÀ∞ÂâÊºÃÕãõ`"
)
texts = (
    st.text(alphabet=TABLE_CHARS, max_size=600)
    | st.text(alphabet=st.characters(max_codepoint=0x2FFFF), max_size=300)  # surrogates included
    | st.binary(max_size=400)
    | st.sampled_from(["", "a" * 160, "a" * 161, "ж" * 70, "ж" * 71, "ş" * 155, "ã" * 150 + "Ω"])
)
languages = st.lists(st.sampled_from(["turkish", "spanish", "portuguese", "Turkish", 1, 2, 3]), max_size=4)
encodings = st.sampled_from(["auto", "auto", "gsm7", "ucs2", "8bit"])
validity = (
    st.none()
    | st.timedeltas(min_value=timedelta(0), max_value=timedelta(weeks=70))
    | st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2089, 12, 30),
                   timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7, minutes=-30)),
                                              timezone(timedelta(minutes=7)), timezone(timedelta(hours=20))]))
)


def outcome(fn, *args, **kwargs):
    """The parts, or the error message and field."""
    try:
        return fn(*args, **kwargs)
    except PDUError as e:
        return ("PDUError", str(e), e.field)


@SETTINGS
@given(text=texts, encoding=encodings, langs=languages)
def test_count(text, encoding, langs):
    assert outcome(pdu.count, text, encoding=encoding, national_languages=langs) == outcome(
        policy.count, text, encoding=encoding, national_languages=langs)


@SETTINGS
@given(text=texts, encoding=encodings, langs=languages, validity=validity,
       reference=st.integers(0, 255), concat_reference=st.none() | st.integers(0, 65535),
       message_class=st.none() | st.integers(0, 3), flags=st.tuples(st.booleans(), st.booleans()),
       smsc=st.none() | st.just("+4917"))
def test_encode_submit(text, encoding, langs, validity, reference, concat_reference, message_class, flags, smsc):
    kwargs = {"encoding": encoding, "national_languages": langs, "validity": validity, "reference": reference,
              "concat_reference": concat_reference, "message_class": message_class, "status_report": flags[0],
              "reject_duplicates": flags[1], "smsc": smsc}
    assert outcome(pdu.encode_submit, "+4915112345678", text, **kwargs) == outcome(
        policy.encode_submit, "+4915112345678", text, **kwargs)


@SETTINGS
@given(text=texts, encoding=encodings, langs=languages,
       sender=st.sampled_from(["+4915112345678", "0151", "*100#", "Google", "Bank [1]", "ABCDEFGHIJKL", "Ж", "+"]),
       ts=st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2089, 12, 30),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=45)),
                                                  timezone(timedelta(minutes=-10))])),
       concat_reference=st.none() | st.integers(0, 65535), message_class=st.none() | st.integers(0, 3))
def test_encode_deliver(text, encoding, langs, sender, ts, concat_reference, message_class):
    kwargs = {"encoding": encoding, "national_languages": langs, "timestamp": ts,
              "concat_reference": concat_reference, "message_class": message_class}
    assert outcome(pdu.encode_deliver, sender, text, **kwargs) == outcome(policy.encode_deliver, sender, text, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"reference": 256}, {"reference": True}, {"concat_reference": -1}, {"message_class": 4},
        {"encoding": "utf8"}, {"validity": 5}, {"validity": timedelta(seconds=-1)},
        {"validity": datetime(2030, 1, 1)}, {"national_languages": ["latin"]}, {"smsc": "+44x"},
    ],
)
def test_argument_errors_agree(kwargs):
    assert outcome(pdu.encode_submit, "123", "x", **kwargs) == outcome(policy.encode_submit, "123", "x", **kwargs)
    assert outcome(pdu.encode_submit, "123", "x", **kwargs)[0] == "PDUError"


@pytest.mark.parametrize("number", ["", "+", "12a4", "1" * 21, "١٢٣", "+12-3"])
def test_number_errors_agree(number):
    assert outcome(pdu.encode_submit, number, "x") == outcome(policy.encode_submit, number, "x")
