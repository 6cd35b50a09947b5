"""The router with fake gateways: limits, pause and resume, stop, retries and failure.

The tests run on the loop's virtual time (looptime), and the store's clock follows it."""

import asyncio
import threading
from pathlib import Path

import pytest
from fake_gateway import FakeGateway

from appliance.gateways.assignment import Assignment, Connector, Routing
from appliance.gateways.base import Outcome
from appliance.gateways.limits import Limits, LimitTracker
from appliance.gateways.router import Router
from appliance.store import db as store_db
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.queue import NewMessage, Queue

pytestmark = pytest.mark.looptime

EPOCH = 1_800_000_000.0  # the store's time when the loop's is 0


@pytest.fixture
async def queue(tmp_path):
    """The store, on a clock that follows the loop's time (from any thread)."""
    loop = asyncio.get_running_loop()
    database = store_db.open_database(tmp_path)
    yield Queue(database, clock=lambda: EPOCH + loop.time())
    database.close()


def rig(queue, *gateways_outcomes, limits=None, connector=None, retry_delays=(0.05, 0.05, 0.05), **options):
    """``options`` are the router's (``default_validity``)."""
    loop = asyncio.get_running_loop()
    gateways = [FakeGateway(name, loop=loop, outcomes=outcomes, up=True) for name, outcomes in gateways_outcomes]
    connector = connector or Connector("HTTP API", "http", tuple(Assignment(g.name) for g in gateways))
    router = Router(loop, queue, gateways, Routing([connector]), limits=LimitTracker(limits or {}, clock=queue.clock),
                    retry_delays=retry_delays, **options)
    return router, gateways


async def run(router, seconds=0.2):
    router.kick()
    await asyncio.sleep(seconds)


def states(ids):
    return [OutboundMessage.get_by_id(i).state for i in ids]


async def test_a_daily_limit_stops_a_gateway_and_the_count_survives_a_restart(queue):
    ids = queue.accept([NewMessage(f"+44{n}", "x") for n in range(5)])
    router, (gsm,) = rig(queue, ("GSM", []), limits={"GSM": Limits(per_day=3)})
    await run(router)
    assert len(gsm.sent) == 3 and states(ids).count(MessageState.QUEUED) == 2
    router, (gsm,) = rig(queue, ("GSM", []), limits={"GSM": Limits(per_day=3)})
    await run(router)  # a new process: the day's count is in the store
    assert gsm.sent == []
    router.reset_send_limit("GSM")
    await run(router)
    assert len(gsm.sent) == 2 and states(ids) == [MessageState.SENT] * 5


async def test_rate_per_minute_holds_back_the_rest_and_another_gateway_takes_them(queue):
    ids = queue.accept([NewMessage(f"+44{n}", "x") for n in range(6)])
    router, (slow, fast) = rig(queue, ("SLOW", []), ("FAST", []), limits={"SLOW": Limits(per_minute=2)})
    await run(router)
    assert len(slow.sent) == 2 and len(fast.sent) == 4
    assert states(ids) == [MessageState.SENT] * 6


async def test_paused_gateway_takes_nothing_until_resumed(queue):
    ids = queue.accept([NewMessage("+441", "x")])
    router, (gsm,) = rig(queue, ("GSM", []))
    router.pause("GSM")
    await run(router)
    assert gsm.sent == [] and states(ids) == [MessageState.QUEUED]
    router.resume("GSM")
    await run(router)
    assert gsm.sent == ids


def primary_and_backup(queue, limits=None, primary_outcomes=()):
    connector = Connector("HTTP API", "http", (Assignment("P"), Assignment("B", role="backup")))
    return rig(queue, ("P", list(primary_outcomes)), ("B", []), connector=connector, limits=limits)


BARRED = Outcome(False, 8, "operator determined barring", refused=True)


async def test_a_gateway_whose_sim_may_not_send_hands_the_message_on_at_once(queue):
    ids = queue.accept([NewMessage("+441", "x")])
    router, (primary, backup) = primary_and_backup(queue, primary_outcomes=[BARRED])
    await run(router)
    # the primary would have sent a second attempt: it is not asked again
    assert backup.sent == ids and primary.sent == []
    assert OutboundMessage.get_by_id(ids[0]).gateway == "B"


async def test_a_message_refused_by_its_only_gateway_fails_at_once_naming_the_attempt(queue):
    ids = queue.accept([NewMessage("+441", "x")])
    router, (gsm,) = rig(queue, ("GSM", [BARRED]))
    await run(router)
    message = OutboundMessage.get_by_id(ids[0])
    assert (message.state, message.error_code) == (MessageState.FAILED, 8)
    assert message.error_text == "operator determined barring (after 1× GSM)" and gsm.sent == []


async def test_a_paused_primary_lets_the_backup_send_until_it_is_resumed(queue):
    first = queue.accept([NewMessage("+441", "x")])
    router, (primary, backup) = primary_and_backup(queue)
    router.pause("P")
    await run(router)
    assert backup.sent == first and primary.sent == []
    router.resume("P")
    second = queue.accept([NewMessage("+442", "x")])
    await run(router)
    assert primary.sent == second and backup.sent == first


async def test_a_primary_at_its_send_limit_lets_the_backup_take_the_rest(queue):
    ids = queue.accept([NewMessage(f"+44{n}", "x") for n in range(5)])
    router, (primary, backup) = primary_and_backup(queue, limits={"P": Limits(per_day=2)})
    await run(router)
    assert len(primary.sent) == 2 and len(backup.sent) == 3
    assert states(ids) == [MessageState.SENT] * 5


async def test_a_busy_primary_keeps_its_messages_from_the_backup(queue):
    ids = queue.accept([NewMessage(f"+44{n}", "x") for n in range(3)])
    router, (primary, backup) = primary_and_backup(queue)
    await run(router)
    assert primary.sent == ids and backup.sent == []


async def test_stopping_the_primary_hands_its_work_to_the_backup(queue):
    ids = queue.accept([NewMessage("+441", "x")])
    router, (primary, backup) = primary_and_backup(queue)
    router.stop_gateway("P")
    await run(router)
    assert backup.sent == ids and primary.sent == []
    with pytest.raises(KeyError):
        router.pause("No such gateway")


async def test_transient_failures_are_retried_then_the_message_fails_with_every_attempt_named(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x")])
    congestion = Outcome(False, 42, "congestion")
    router, (_,) = rig(queue, ("GSM", [congestion] * 3))
    await run(router, 0.5)
    message = OutboundMessage.get_by_id(message_id)
    assert message.state == MessageState.FAILED
    assert message.error_text == "congestion (after 3× GSM)" and message.error_code == 42


UNKNOWN_ERROR = Outcome(False, 500, "unknown error", temporary=True)
NO_ANSWER = Outcome(False, None, "no answer from the modem (timeout)", temporary=True, parts=1)


async def test_temporary_faults_cost_no_attempts_and_the_message_is_sent_in_the_end(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x")])
    router, (gsm,) = rig(queue, ("GSM", [UNKNOWN_ERROR, NO_ANSWER] * 5))  # ten, with 3 attempts
    await run(router, 2.0)
    message = OutboundMessage.get_by_id(message_id)
    assert message.state == MessageState.SENT and gsm.sent == [message_id]
    assert message.tried == "GSM:1" and message.attempts == 11  # only the one that went out counts


async def test_a_temporary_fault_between_counted_ones_leaves_their_count_alone(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x")])
    unexplained = Outcome(False, 255, "error 255")  # of no known meaning: it costs an attempt
    router, _ = rig(queue, ("GSM", [unexplained, UNKNOWN_ERROR, unexplained, UNKNOWN_ERROR, unexplained]))
    await run(router, 1.0)
    message = OutboundMessage.get_by_id(message_id)
    assert message.state == MessageState.FAILED and message.error_text == "error 255 (after 3× GSM)"
    assert message.attempts == 5


async def test_temporary_faults_wait_longer_each_time_up_to_the_last_delay(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x")])
    router, _ = rig(queue, ("GSM", [UNKNOWN_ERROR] * 5), retry_delays=(1.0, 4.0, 10.0))
    router.kick()
    waits = []
    for _ in range(5):
        await asyncio.sleep(0.001)  # the failed attempt is recorded on the next loop turn
        message = OutboundMessage.get_by_id(message_id)
        waits.append(round(message.retry_at - queue.clock(), 1))
        await asyncio.sleep(message.retry_at - queue.clock())
    assert waits == [1.0, 4.0, 10.0, 10.0, 10.0]


async def test_temporary_faults_go_on_until_the_default_validity_then_the_message_expires(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x")])
    router, (gsm,) = rig(queue, ("GSM", [UNKNOWN_ERROR] * 1000), retry_delays=(1.0, 10.0), default_validity=300)
    await run(router, 299.0)
    assert states([message_id]) == [MessageState.QUEUED]
    await asyncio.sleep(2.0)
    message = OutboundMessage.get_by_id(message_id)
    assert message.state == MessageState.EXPIRED and message.error_code == 500
    assert message.expires_at == message.created_at + 300 and len(gsm.outcomes) == 1000 - 31


async def test_a_message_s_own_validity_bounds_its_temporary_faults(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x", validity_period=60)])
    router, (gsm,) = rig(queue, ("GSM", [Outcome(False, 42, "congestion", temporary=True)] * 1000),
                         retry_delays=(7.0,), default_validity=300)
    await run(router, 70.0)
    message = OutboundMessage.get_by_id(message_id)
    assert (message.state, message.error_code) == (MessageState.EXPIRED, 42)
    assert message.error_text == "validity period ended before it could be sent"
    assert len(gsm.outcomes) == 1000 - 9  # at 0, 7, ... 56; the retry at 63 came too late


async def test_a_temporary_fault_after_the_default_validity_expires_the_message_at_once(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x")])
    router, (gsm,) = rig(queue, ("GSM", [UNKNOWN_ERROR] * 2), default_validity=300)
    gsm.up = False  # down for longer than the validity: nothing is tried
    await run(router, 301.0)
    gsm.up = True
    await run(router)
    message = OutboundMessage.get_by_id(message_id)
    assert (message.state, message.attempts, message.error_code) == (MessageState.EXPIRED, 1, 500)
    assert message.error_text == "validity period ended before it could be sent (last: unknown error)"


async def test_permanent_failure_is_not_retried(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x")])
    router, (_,) = rig(queue, ("GSM", [Outcome(False, 28, "unidentified subscriber", permanent=True)]))
    await run(router)
    assert OutboundMessage.get_by_id(message_id).attempts == 1
    assert states([message_id]) == [MessageState.FAILED]


async def test_a_scheduled_message_is_sent_by_a_timer_not_a_poll(queue):
    (message_id,) = queue.accept([NewMessage("+441", "x", scheduled_at=queue.clock() + 0.15)])
    router, (gsm,) = rig(queue, ("GSM", []))
    await run(router, 0.1)
    assert gsm.sent == []
    await asyncio.sleep(0.2)  # no kick: only the router's own timer can send it now
    assert gsm.sent == [message_id]


@pytest.mark.looptime(False)
async def test_a_message_committed_on_another_thread_wakes_the_idle_loop_at_once(queue):
    """As the HTTP threads do: commit, then kick_threadsafe. The loop sleeps with no timer
    at all, so only the wake-up can bring the message to the gateway."""
    router, (gsm,) = rig(queue, ("GSM", []))
    await run(router, 0.05)
    loop = asyncio.get_running_loop()
    handed_over = loop.create_future()
    send = gsm.send
    gsm.send = lambda message, *rest: (handed_over.set_result(loop.time()), send(message, *rest))
    assert router._timer is None  # nothing due, nothing armed: the loop waits in select()

    def http_thread():
        queue.accept([NewMessage("+441", "x")])
        committed.append(loop.time())  # after the commit: its fsync is the disk's time, not the loop's
        router.kick_threadsafe()
    committed = []
    threading.Thread(target=http_thread).start()
    async with asyncio.timeout(10):
        arrived = await handed_over
    assert arrived - committed[0] < 1.0  # milliseconds, not a poll's period (there is none)


@pytest.mark.looptime(False)
async def test_kicks_from_many_threads_at_once_leave_no_message_behind(queue):
    """Each commit is seen by a dispatch that comes after it, whichever thread made it."""
    router, (gsm,) = rig(queue, ("GSM", []))
    await run(router, 0.05)
    ids = []

    def http_thread(n):
        for i in range(25):
            ids.extend(queue.accept([NewMessage(f"+44{n}{i:02d}", "x")]))
            router.kick_threadsafe()
    threads = [threading.Thread(target=http_thread, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    async with asyncio.timeout(30):
        while len(gsm.sent) < 200:
            await asyncio.sleep(0.01)
    assert sorted(gsm.sent) == sorted(ids) and router._timer is None


def _wal_frames(database) -> int:
    """Pages written to the write-ahead log so far: each commit appends every page it touched."""
    size = database.execute_sql("PRAGMA page_size").fetchone()[0]
    wal = Path(database.database + "-wal")
    return max(wal.stat().st_size - 32, 0) // (size + 24) if wal.exists() else 0


async def test_a_message_sent_rewrites_few_pages(queue):
    """The SD card wears by pages written: a message's way from queued to sent (claim, parts,
    reference, outcome) writes no event, moves no index on its state, and its outcome is
    one commit."""
    (message_id,) = queue.accept([NewMessage("+441", "x")])
    before = _wal_frames(queue.database)
    router, _ = rig(queue, ("GSM", []))
    router.kick()
    deadline = asyncio.get_running_loop().time() + 10
    while states([message_id]) != [MessageState.SENT]:
        assert asyncio.get_running_loop().time() < deadline, "the message was not sent"
        await asyncio.sleep(0.01)
    # the claim (the row, the queued index) and the outcome (the row): 8 pages before
    assert _wal_frames(queue.database) - before <= 4


async def test_a_freed_gateway_takes_its_next_message_in_the_commit_of_the_outcome(queue):
    """One commit for a send's outcome and the next claim: they rewrite the same pages."""
    ids = queue.accept([NewMessage(f"+44{n}", "x") for n in range(10)])
    before = _wal_frames(queue.database)
    router, (gsm,) = rig(queue, ("GSM", []))
    router.kick()
    deadline = asyncio.get_running_loop().time() + 10
    while states(ids) != [MessageState.SENT] * 10:
        assert asyncio.get_running_loop().time() < deadline, "the messages were not sent"
        await asyncio.sleep(0.01)
    assert gsm.sent == ids
    # 3 pages a message where the outcome and the next claim were two commits (30 for ten)
    assert _wal_frames(queue.database) - before <= 24
