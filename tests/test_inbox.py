"""Received SMS in the store: parts kept as they come, messages assembled, nothing doubled."""

from datetime import UTC, datetime

import peewee
import pytest

from appliance import pdu
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import Event, InboundMessage, InboundPart

WHEN = datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC)


@pytest.fixture
def inbox(tmp_path, clock):
    database = store_db.open_database(tmp_path)
    yield Inbox(database, incomplete_after=600, clock=clock)
    database.close()


def deliver(text, number="+447700900123", **options):
    return [part.pdu for part in pdu.encode_deliver(number, text, timestamp=WHEN, **options)]


def test_a_single_sms_becomes_a_message_at_once(inbox):
    (pdu_hex,) = deliver("Pump 3 stopped")
    (message_id,) = inbox.store("GSM1", pdu_hex)
    message = InboundMessage.get_by_id(message_id)
    assert (message.originator, message.text, message.gateway, message.message_type) == (
        "+447700900123", "Pump 3 stopped", "GSM1", "sms.text")
    assert (message.parts_received, message.parts_total) == (1, 1)
    assert message.sent_at == WHEN.timestamp()
    assert message.pdu == pdu_hex


def test_the_same_pdu_read_twice_is_kept_once(inbox):
    (pdu_hex,) = deliver("read me twice")
    assert len(inbox.store("GSM1", pdu_hex)) == 1
    assert inbox.store("GSM1", pdu_hex) == []  # e.g. a restart between storing and deleting
    assert InboundMessage.select().count() == 1


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_parts_in_any_order_make_one_message_once_all_are_there(inbox, order):
    text = "Ünïcödé alarms " * 12  # 180 characters of UCS2: three parts
    parts = deliver(text, concat_reference=77)
    assert len(parts) == 3
    results = [inbox.store("GSM1", parts[i]) for i in order]
    assert results[0] == [] and results[1] == []
    (message_id,) = results[2]
    message = InboundMessage.get_by_id(message_id)
    assert message.text == text and message.message_type == "sms.unicode"
    assert (message.parts_received, message.parts_total, message.concat_reference) == (3, 3, 77)
    assert InboundPart.select().where(InboundPart.message.is_null()).count() == 0


def ucs2_part(units: bytes, reference: int, total: int, sequence: int) -> str:
    """A UCS2 SMS-DELIVER part around any code units, as a careless sender may cut them."""
    udh = bytes([5, 0, 3, reference, total, sequence])
    head = "00" "44" "0C91447700091032" "00" "08" "62112201000000"
    return (head + f"{len(udh) + len(units):02X}" + (udh + units).hex()).upper()


def test_a_surrogate_pair_split_between_parts_is_joined_again(inbox):
    text = "a" * 66 + "😀" + "b" * 10  # 😀 takes units 67 and 68: cut after unit 67
    units = text.encode("utf-16-be")
    first, second = ucs2_part(units[:134], 5, 2, 1), ucs2_part(units[134:], 5, 2, 2)
    assert inbox.store("GSM1", first) == []  # half a character must not stop it being kept
    (message_id,) = inbox.store("GSM1", second)
    assert InboundMessage.get_by_id(message_id).text == text


def test_senders_and_references_keep_concurrent_messages_apart(inbox):
    a = deliver("A" * 200, number="+441111", concat_reference=1)
    b = deliver("B" * 200, number="+442222", concat_reference=1)
    c = deliver("C" * 200, number="+441111", concat_reference=2)
    done = []
    for parts in zip(a, b, c, strict=True):
        for part in parts:
            done += inbox.store("GSM1", part)
    texts = sorted(InboundMessage.get_by_id(i).text for i in done)
    assert texts == ["A" * 200, "B" * 200, "C" * 200]


def test_a_restart_between_parts_loses_nothing(tmp_path, clock):
    parts = deliver("x" * 300, concat_reference=9)
    database = store_db.open_database(tmp_path)
    assert Inbox(database, clock=clock).store("GSM1", parts[0]) == []
    database.close()  # the process dies here
    database = store_db.open_database(tmp_path)
    (message_id,) = Inbox(database, clock=clock).store("GSM1", parts[1])
    assert InboundMessage.get_by_id(message_id).text == "x" * 300
    database.close()


def test_an_incomplete_set_is_delivered_as_it_is_after_the_timeout(inbox, clock):
    parts = deliver("y" * 400, concat_reference=3)  # three parts; the middle one never comes
    inbox.store("GSM1", parts[0])
    inbox.store("GSM1", parts[2])
    assert inbox.next_flush() == clock.now + 600
    assert inbox.flush_incomplete() == []          # not yet
    clock.now += 600
    (message_id,) = inbox.flush_incomplete()
    message = InboundMessage.get_by_id(message_id)
    assert (message.parts_received, message.parts_total) == (2, 3)
    assert message.text == "y" * 153 + "y" * (400 - 306)
    assert inbox.next_flush() is None


def test_a_malformed_pdu_is_kept_raw_as_a_message_that_says_why_and_once(tmp_path, clock):
    database = store_db.open_database(tmp_path)
    fanned_out = []
    inbox = Inbox(database, receivers=lambda gateway: ["HTTP API"], fanout=fanned_out.append, clock=clock)
    (message_id,) = inbox.store("GSM1", "0791447758100650040c91")
    message = InboundMessage.get_by_id(message_id)
    assert message.decode_error and message.pdu == "0791447758100650040C91"
    assert message.text == f"[undecodable SMS: {message.decode_error}] 0791447758100650040C91"
    assert (message.gateway, message.received_at, message.connectors) == ("GSM1", clock.now, "HTTP API")
    assert [m.id for m in fanned_out] == [message_id]  # the webhooks hear of it too
    assert [m.id for m in inbox.received("HTTP API")] == [message_id]
    (event,) = Event.select().where(Event.kind == "malformed-pdu")
    assert "0791447758100650040C91" in event.text and event.gateway == "GSM1"
    assert inbox.store("GSM1", "0791447758100650040C91") == []  # the slot read again
    assert InboundMessage.select().count() == 1
    database.close()


def test_a_decoded_message_has_no_decode_error(inbox):
    (message_id,) = inbox.store("GSM1", deliver("fine")[0])
    assert InboundMessage.get_by_id(message_id).decode_error == ""


def test_a_status_report_in_the_inbox_is_not_a_message(inbox):
    report = "0006D60B911326880736F4111011719551401110117195714000"
    assert inbox.store("GSM1", report) == []
    assert Event.select().where(Event.kind == "unexpected-pdu").count() == 1


def test_a_connectors_inbox_lists_its_messages_in_order_and_remove_takes_them_out(tmp_path, clock):
    database = store_db.open_database(tmp_path)
    routes = {"GSM1": ["HTTP API"], "GSM2": ["HTTP API", "Helpdesk"], "GSM3": ["HTTP API2"]}
    inbox = Inbox(database, receivers=routes.__getitem__, clock=clock)
    ids = []
    for n, gateway in enumerate(["GSM1", "GSM2", "GSM3", "GSM1"]):
        clock.now += 1
        ids += inbox.store(gateway, deliver(f"message {n}")[0] if n != 3 else deliver("message 3", "+3311")[0])
    assert [m.id for m in inbox.received("HTTP API")] == [ids[0], ids[1], ids[3]]
    assert [m.id for m in inbox.received("HTTP API", newest_first=True, limit=2)] == [ids[3], ids[1]]
    assert [m.id for m in inbox.received("Helpdesk")] == [ids[1]]
    assert [m.id for m in inbox.received("HTTP API2")] == [ids[2]]  # a name is matched whole
    assert [m.id for m in inbox.received("HTTP API", limit=2, remove=True)] == [ids[0], ids[1]]
    assert [m.id for m in inbox.received("HTTP API")] == [ids[3]]
    assert [m.id for m in inbox.received("Helpdesk")] == []
    database.close()


def test_a_refused_insert_that_is_no_duplicate_is_raised_so_the_slot_stays(inbox):
    inbox.database.execute_sql("CREATE TEMP TRIGGER refuse BEFORE INSERT ON inbound_part "
                               "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    for pdu_hex in (deliver("a constraint, not a duplicate")[0], "00FFEE"):
        with pytest.raises(peewee.IntegrityError):
            inbox.store("GSM1", pdu_hex)
    assert InboundPart.select().count() == InboundMessage.select().count() == 0
