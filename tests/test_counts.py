"""The status's message counts, kept live (store.counts): after any mix of changes they
are what counting the store afresh gives, and "today" is the local day."""

import random
from datetime import UTC, datetime

import pytest

from appliance import pdu
from appliance.store.counts import FAILED, RECEIVED, SENT, MessageCounts, day_of
from appliance.store.inbox import Inbox
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.queue import NewMessage, Queue

CONNECTORS = ("HTTP API", "Helpdesk")
GATEWAYS = ("GSM1", "GSM2")


@pytest.fixture
def queue(database, clock):
    clock.now = day_of(clock.now).began + 9 * 3600  # nine in the morning: today has room on both sides
    return Queue(database, clock=clock)


@pytest.fixture
def inbox(queue, clock):
    return Inbox(queue.database, clock=clock, counts=queue.counts)


def afresh(queue):
    """What a start would count from the store as it is now."""
    counts = MessageCounts(queue.clock)
    counts.scan(queue.database)
    return counts.snapshot()


def in_state(state):
    return [m.id for m in OutboundMessage.select(OutboundMessage.id).where(OutboundMessage.state == state)]


def deliver(text, number="+447700900123"):
    when = datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC)
    return [part.pdu for part in pdu.encode_deliver(number, text, timestamp=when)]


def test_any_mix_of_changes_counts_what_the_store_holds(queue, inbox, clock):
    rng = random.Random(16)

    def accept():
        validity = rng.choice([None, None, 60])
        queue.accept([NewMessage("+447700900001", "hi", connector=rng.choice(CONNECTORS),
                                 validity_period=validity) for _ in range(rng.randint(1, 3))])

    def claim():
        queue.claim(rng.choice(GATEWAYS))

    def end_sending(how):
        def end():
            sending = in_state(MessageState.SENDING)
            if sending:
                how(rng.choice(sending))
        return end

    def report(state):
        def reported():
            sent = in_state(MessageState.SENT)
            if sent:
                queue.transition(rng.choice(sent), MessageState.SENT, state)
        return reported

    def remove():
        queued = in_state(MessageState.QUEUED)
        if queued:
            queue.remove(rng.choice(queued))

    def receive():
        inbox.store(rng.choice(GATEWAYS), deliver(f"reply {rng.random()}")[0])

    def later():
        clock.now += rng.choice([1, 30, 120])
        queue.expire_due()

    actions = [accept, accept, claim, claim, claim, end_sending(queue.complete),
               end_sending(lambda m: queue.fail(m, 42, "refused")),
               end_sending(lambda m: queue.retry(m, clock.now + 10, 1, "busy")),
               end_sending(lambda m: queue.expire(m, None, "late")),
               report(MessageState.DELIVERED), report(MessageState.UNDELIVERED), remove, receive, later]
    seen = set()
    for step in range(1, 601):
        rng.choice(actions)()
        if step % 25 == 0:
            live = queue.counts.snapshot()
            assert live == afresh(queue), step
            seen |= {state for state, count in live.by_state().items() if count}
    assert seen == set(MessageState.ALL)  # every path was taken
    assert sum(live.today.get((g, RECEIVED), 0) for g in GATEWAYS) == sum(live.received.values()) > 0


def test_a_start_counts_what_was_being_sent_as_sending(queue):
    queue.accept([NewMessage("+447700900001", "hi")])
    claimed = queue.claim("GSM1")
    counts = afresh(queue)
    assert counts.sending == {("HTTP API", "GSM1"): 1}
    assert counts.by_state()[MessageState.SENDING] == 1
    # and a count from the store, then the send ending, still adds up
    queue.counts.scan(queue.database)
    queue.retry(claimed.id, queue.clock() + 5, None, "busy")
    assert queue.counts.snapshot() == afresh(queue)


def test_today_is_the_local_day_and_starts_again_at_midnight(queue, inbox, clock):
    queue.accept([NewMessage("+447700900001", "one"), NewMessage("+447700900002", "two")])
    first = queue.claim("GSM1")
    queue.complete(first.id)
    second = queue.claim("GSM1")
    queue.fail(second.id, 42, "refused")
    inbox.store("GSM2", deliver("thanks")[0])
    today = {(("GSM1", SENT)): 1, ("GSM1", FAILED): 1, ("GSM2", RECEIVED): 1}
    assert queue.counts.snapshot().today == today
    assert afresh(queue).today == today

    clock.now = day_of(clock.now).began + 36 * 3600  # noon tomorrow
    assert queue.counts.snapshot().today == {}
    assert afresh(queue).today == {}
    queue.accept([NewMessage("+447700900003", "three")])
    queue.complete(queue.claim("GSM2").id)
    assert queue.counts.snapshot().today == {("GSM2", SENT): 1} == afresh(queue).today
    # the totals are the store's, whatever the day
    sent, failed, _ = queue.counts.snapshot().by_gateway()
    assert (sent["GSM1"], failed["GSM1"], sent["GSM2"]) == (1, 1, 1)


def test_a_report_moves_a_message_between_sent_states_without_counting_it_twice(queue):
    queue.accept([NewMessage("+447700900001", "hi")])
    message = queue.claim("GSM1")
    queue.complete(message.id)
    queue.transition(message.id, MessageState.SENT, MessageState.DELIVERED)
    counts = queue.counts.snapshot()
    sent, _, _ = counts.by_gateway()
    assert sent["GSM1"] == 1
    assert counts.by_state()[MessageState.SENT] == 0
    assert counts.by_state()[MessageState.DELIVERED] == 1
    assert counts.today == {("GSM1", SENT): 1}
    assert counts.by_connector()["HTTP API"][SENT] == 1
