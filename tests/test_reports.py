"""Delivery reports matched to the parts they report on, and rolled up to the message."""

import asyncio
from contextlib import contextmanager

import pytest

from appliance.config.file import ModemConfig
from appliance.gateways.modem import ModemGateway
from appliance.messages.status import status_of
from appliance.modem.driver import ModemDriver
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import MessagePart, MessageState, OutboundMessage, UnmatchedReport
from appliance.store.queue import NewMessage, Queue
from appliance.store.reports import MATCH_WINDOW, Reports, outcome, unmatched_reports


@pytest.fixture
def queue(tmp_path, clock):
    database = store_db.open_database(tmp_path)
    yield Queue(database, clock=clock)
    database.close()


def sent_message(queue, recipient, references, gateway="GSM1"):
    """A message whose parts went out with the given TP-MRs."""
    (message_id,) = queue.accept([NewMessage(recipient, "x")])
    queue.claim(gateway)
    parts = queue.parts(message_id, lambda: [(f"00{i:02X}", 1) for i in range(len(references))])
    for part, reference in zip(parts, references, strict=True):
        queue.part_sent(part.id, reference, gateway)
    queue.complete(message_id)
    return message_id


def state(message_id):
    return OutboundMessage.get_by_id(message_id).state


@pytest.mark.parametrize("status, expected", [(0x00, "delivered"), (0x02, "delivered"), (0x21, "pending"),
                                              (0x40, "failed"), (0x46, "failed"), (0x62, "failed")])
def test_tp_st_ranges(status, expected):
    assert outcome(status) == expected


def test_single_part_delivered(queue):
    message_id = sent_message(queue, "+447700900123", [17])
    result = Reports(queue).apply("GSM1", 17, "+447700900123", 0)
    assert (result.message_id, result.outcome, result.message_state) == (message_id, "delivered", "delivered")
    part = MessagePart.get(MessagePart.message == message_id)
    assert (part.state, part.status) == ("delivered", 0)


def test_message_is_delivered_only_when_every_part_is(queue):
    message_id = sent_message(queue, "+441", [5, 6, 7])
    reports = Reports(queue)
    for reference in (7, 5):
        result = reports.apply("GSM1", reference, "+441", 0)
        assert (result.message_id, result.message_state) == (message_id, MessageState.SENT)
    result = reports.apply("GSM1", 6, "+441", 0)
    assert (result.message_id, result.message_state) == (message_id, MessageState.DELIVERED)
    assert OutboundMessage.get_by_id(message_id).state == MessageState.DELIVERED


def test_still_trying_changes_nothing_but_the_part_status(queue):
    message_id = sent_message(queue, "+441", [9])
    result = Reports(queue).apply("GSM1", 9, "+441", 0x21)
    assert result.outcome == "pending" and state(message_id) == MessageState.SENT
    assert MessagePart.get(MessagePart.message == message_id).status == 0x21


def test_a_negative_report_makes_the_message_undelivered_with_the_reason(queue):
    message_id = sent_message(queue, "+441", [3])
    Reports(queue).apply("GSM1", 3, "+441", 0x46)
    message = OutboundMessage.get_by_id(message_id)
    assert message.state == MessageState.UNDELIVERED
    assert status_of(message) == (301, "Undelivered")
    assert message.error_text == "not delivered: validity period expired"


def test_the_network_may_write_the_number_differently(queue):
    message_id = sent_message(queue, "+447700900123", [1])
    assert Reports(queue).apply("GSM1", 1, "07700900123", 0).message_id == message_id


def test_reference_wraps_so_the_newest_part_to_that_number_wins(queue, clock):
    old = sent_message(queue, "+441", [200])
    clock.now += 3600
    new = sent_message(queue, "+441", [200])
    assert Reports(queue).apply("GSM1", 200, "+441", 0).message_id == new
    assert state(old) == MessageState.SENT


def test_reports_match_only_their_gateway_recipient_and_recent_parts(queue, clock):
    message_id = sent_message(queue, "+441", [4])
    reports = Reports(queue)
    assert reports.apply("GSM2", 4, "+441", 0).message_id is None
    assert reports.apply("GSM1", 4, "+449999", 0).message_id is None
    clock.now += MATCH_WINDOW + 1
    assert reports.apply("GSM1", 4, "+441", 0).message_id is None
    assert state(message_id) == MessageState.SENT


def test_a_report_that_matches_no_part_is_kept_with_what_it_says_and_once(queue, clock):
    message_id = sent_message(queue, "+441", [4])
    reports = Reports(queue)
    assert reports.apply("GSM2", 4, "+441", 0x46, pdu_hex="0006d6").message_id is None
    assert reports.apply("GSM2", 4, "+441", 0x46, pdu_hex="0006D6").message_id is None  # read again
    reports.keep("GSM1", "00FFEE", decode_error="too short")
    kept = [(r.gateway, r.reference, r.recipient, r.status, r.pdu, r.decode_error, r.received_at)
            for r in unmatched_reports(10)]
    assert sorted(kept, key=str) == sorted([("GSM2", 4, "+441", 0x46, "0006D6", "", clock.now),
                                            ("GSM1", None, "", None, "00FFEE", "too short", clock.now)], key=str)
    assert reports.apply("GSM1", 4, "+441", 0).message_id == message_id
    assert UnmatchedReport.select().count() == 2  # a matched one is not kept there


def test_a_report_never_revives_a_message_that_ended_otherwise(queue):
    message_id = sent_message(queue, "+441", [8])
    Reports(queue).apply("GSM1", 8, "+441", 0x40)
    Reports(queue).apply("GSM1", 8, "+441", 0x00)  # a late, contradicting report
    assert state(message_id) == MessageState.UNDELIVERED


def test_the_modem_gateway_keeps_a_report_that_does_not_decode_or_is_no_report(queue):
    loop = asyncio.new_event_loop()
    try:
        driver = ModemDriver(loop, ModemConfig("GSM1", "/dev/null"))
        ModemGateway(driver, inbox=Inbox(queue.database), reports=Reports(queue))
        deliver = "00040C9144770009103200004250100000000002E834"  # an SMS-DELIVER, not a report
        for pdu_hex in ("00FFEE", deliver):
            driver.handlers.on_report(pdu_hex, True, True)
        kept = {r.pdu: r.decode_error for r in unmatched_reports(10)}
        assert set(kept) == {"00FFEE", deliver} and all(kept.values())
        assert "Deliver where a delivery report was expected" in kept[deliver]
    finally:
        loop.close()


class CommitsWatched:
    """Stands in for the store's Durability: tells whether a commit was made relaxed."""

    def __init__(self):
        self.relaxing = False

    @contextmanager
    def relaxed(self):
        self.relaxing = True
        try:
            yield
        finally:
            self.relaxing = False


@pytest.mark.parametrize(("stored", "relaxed"), [(True, False), (False, True)],
                         ids=["read from a slot: on the disk before the slot goes", "given directly: no copy"])
def test_a_report_given_directly_shares_an_fsync_and_one_read_from_a_slot_has_its_own(
        queue, stored, relaxed):
    watched = CommitsWatched()
    queue = Queue(queue.database, clock=queue.clock, durability=watched)
    message_id = sent_message(queue, "+31628870634", [214])
    seen = []
    loop = asyncio.new_event_loop()
    try:
        driver = ModemDriver(loop, ModemConfig("GSM1", "/dev/null"))
        ModemGateway(driver, inbox=Inbox(queue.database),
                     reports=Reports(queue, on_report=lambda message, status: seen.append(watched.relaxing)))
        driver.handlers.on_report("0006D60B911326880736F4111011719551401110117195714000", True, stored)
    finally:
        loop.close()
    assert seen == [relaxed]
    assert state(message_id) == MessageState.DELIVERED
