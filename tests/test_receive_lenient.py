"""The receive path decodes leniently: a PDU a network gets slightly wrong is still kept.

The codec's cases are in tests/test_pdu_lenient.py; here, that the inbox and the modem
gateway's delivery reports use that decode rather than the strict one.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from appliance import pdu
from appliance.config.file import ModemConfig
from appliance.gateways.modem import ModemGateway
from appliance.modem.driver import ModemDriver
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import InboundMessage, UnmatchedReport
from appliance.store.queue import Queue
from appliance.store.reports import Reports

WHEN = datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC)
# a bare SMS-STATUS-REPORT: reference 0 to +20121875612, delivered; TP-PI 0x80 with its extension missing
REPORT_CUT_SHORT = "06000B910221815716F2709021510121807090215101718000" + "80"


@pytest.fixture
def database(tmp_path):
    database = store_db.open_database(tmp_path)
    yield database
    database.close()


def test_an_sms_with_octets_after_its_user_data_is_kept(database, clock):
    (part,) = pdu.encode_deliver("+447700900123", "Pump 3 stopped", timestamp=WHEN)
    (message_id,) = Inbox(database, clock=clock).store("GSM1", part.pdu + "00")
    assert InboundMessage.get_by_id(message_id).text == "Pump 3 stopped"


def test_a_long_ucs2_message_with_a_repaired_part_is_joined(database, clock):
    first, second = (p.pdu for p in pdu.encode_deliver("+447700900123", "ж" * 100, timestamp=WHEN))
    inbox = Inbox(database, clock=clock)
    assert inbox.store("GSM1", first + "FF") == []
    (message_id,) = inbox.store("GSM1", second)
    assert InboundMessage.get_by_id(message_id).text == "ж" * 100


def test_a_delivery_report_cut_short_after_its_mandatory_fields_is_applied(database):
    loop = asyncio.new_event_loop()
    try:
        driver = ModemDriver(loop, ModemConfig("GSM1", "/dev/ttyUSB0"), open_transport=lambda port, rate: None)
        gateway = ModemGateway(driver, inbox=Inbox(database), reports=Reports(Queue(database)),
                               on_reported=lambda result: None)
        gateway._on_report(REPORT_CUT_SHORT, False, False)
        (kept,) = UnmatchedReport.select()  # read, not refused: it names no part of ours
        assert (kept.gateway, kept.reference, kept.recipient, kept.status, kept.decode_error) == \
            ("GSM1", 0, "+20121875612", 0, "")
    finally:
        loop.close()
