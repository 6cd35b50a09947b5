"""The store: WAL, migrations, and the queue's guarded transitions."""

import sqlite3
import threading

import peewee
import pytest

from appliance.store import db as store_db
from appliance.store import models
from appliance.store import queue as queue_module
from appliance.store.models import MessagePart, MessageState, OutboundMessage, SchemaVersion
from appliance.store.queue import NewMessage, Queue


@pytest.fixture
def queue(database, clock):
    return Queue(database, clock=clock)


def test_database_is_in_wal_mode_with_full_sync_and_current_schema(database):
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 2
    assert store_db.schema_version(database) == store_db.SCHEMA_VERSION
    for table in ("outbound_message", "message_part", "inbound_message", "user", "event"):
        assert table in database.get_tables()


def test_upgrades_run_once_and_in_order_and_a_new_store_needs_none(tmp_path, monkeypatch):
    store_db.open_database(tmp_path / "old").close()  # a store made by the previous release
    base = store_db.SCHEMA_VERSION
    applied = []
    monkeypatch.setattr(store_db, "UPGRADES", [*store_db.UPGRADES, lambda db: applied.append(base + 1)])
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", base + 1)
    database = store_db.open_database(tmp_path / "old")
    assert applied == [base + 1]
    store_db.migrate(database)  # a second start upgrades nothing
    assert applied == [base + 1]
    assert [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)] == [base, base + 1]
    database.close()
    database = store_db.open_database(tmp_path / "new")  # created at the current version
    assert applied == [base + 1]
    assert store_db.schema_version(database) == base + 1
    database.close()


def _schema(database):
    rows = database.execute_sql("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                                "AND name != 'schema_version' ORDER BY name").fetchall()
    return [(kind, name, " ".join((sql or "").split())) for kind, name, sql in rows]


def test_a_first_release_store_upgraded_has_exactly_the_schema_of_a_new_one(tmp_path, monkeypatch):
    added_since = (models.ApiKey, models.ReceiveConnector, models.ConfigOverride, models.UnmatchedReport)
    inbound = models.InboundMessage._meta
    first = [m for m in models.ALL_MODELS if m not in added_since]
    with monkeypatch.context() as patch:
        patch.setattr(models, "ALL_MODELS", first)
        patch.setattr(store_db, "SCHEMA_VERSION", 1)
        patch.setattr(OutboundMessage._meta, "indexes", [  # nor the indexes of queued messages
            index for index in OutboundMessage._meta.indexes if not isinstance(index, peewee.SQL)])
        patch.setattr(inbound, "sorted_fields", [  # nor a received message's decode error
            field for field in inbound.sorted_fields if field.name != "decode_error"])
        outbound = OutboundMessage._meta
        patch.setattr(outbound, "sorted_fields", [  # nor a message's first part
            field for field in outbound.sorted_fields if field.name not in ("first_part", "provider_reference")])
        user = models.User._meta
        patch.setattr(user, "sorted_fields", [  # nor the mark of a one-time password
            field for field in user.sorted_fields if field.name != "must_change_password"])
        patch.setattr(MessagePart._meta, "indexes", [  # but parts were found by message
            (("message", "sequence"), True), *MessagePart._meta.indexes])
        store_db.open_database(tmp_path / "old").close()
    upgraded = store_db.open_database(tmp_path / "old")
    assert store_db.schema_version(upgraded) == store_db.SCHEMA_VERSION
    upgraded_schema = _schema(upgraded)
    upgraded.close()
    fresh = store_db.open_database(tmp_path / "new")
    assert upgraded_schema == _schema(fresh)
    fresh.close()


@pytest.mark.parametrize("statement, index", [
    (queue_module._CLAIMABLE, "outbound_message_queued"),
    (queue_module._NEXT_DUE, "outbound_message_queued_scheduled"),
    (queue_module._NEXT_DUE, "outbound_message_queued_retry"),
    (queue_module._NEXT_DUE, "outbound_message_queued_expires"),
    (queue_module._EXPIRING, "outbound_message_queued_expires"),
    (queue_module._EXPIRE_DUE, "outbound_message_queued_expires"),
])
def test_each_dispatch_reads_the_queued_messages_through_their_index(database, statement, index):
    # never a scan or a sort of the whole backlog: a dispatch must not slow as the queue grows
    plan = " ".join(row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + statement,
                                                           (0.0,) * statement.count("?")))
    assert f"INDEX {index}" in plan and "TEMP B-TREE" not in plan


def test_a_dispatch_with_nothing_to_expire_does_not_wait_for_the_write_lock(queue, database, tmp_path, clock):
    # every accepted request wakes a dispatch: it must not queue behind the requests' commits
    queue.accept([NewMessage("+441", "valid for an hour", validity_period=3600)])
    writer = sqlite3.connect(tmp_path / store_db.DATABASE_FILE, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # another thread's commit in progress
    try:
        database.execute_sql("PRAGMA busy_timeout = 0")  # waiting would raise at once
        assert queue.expire_due() == 0
    finally:
        writer.rollback()
        writer.close()
    assert queue.expire_due(clock.now + 7200) == 1  # and one that has expired still ends


def test_a_database_newer_than_the_software_is_refused(tmp_path, monkeypatch):
    database = store_db.open_database(tmp_path)
    SchemaVersion.create(version=99, applied_at=0)
    database.close()
    with pytest.raises(RuntimeError, match="newer than this software"):
        store_db.open_database(tmp_path)


def test_accept_commits_every_field_and_returns_ids_in_order(queue, database):
    ids = queue.accept([
        NewMessage(recipient="+441", text="one", sender="Clinic", message_type="sms.text",
                   message_guid="", message_info="ticket 7", gateways="GSM", priority=5,
                   validity_period=60, scheduled_at=None),
        NewMessage(recipient="+442", text="two", id="my-guid"),
    ])
    assert ids[1] == "my-guid" and len(ids[0]) == 36
    first = OutboundMessage.get_by_id(ids[0])
    assert (first.recipient, first.text, first.sender, first.message_type, first.message_info,
            first.gateways, first.priority, first.validity_period, first.state) == (
        "+441", "one", "Clinic", "sms.text", "ticket 7", "GSM", 5, 60, MessageState.QUEUED)
    assert first.expires_at == first.created_at + 60


def test_accepted_rows_are_what_the_model_would_have_written(queue, database):
    # accept writes with a prepared statement: every column, defaults included, must be
    # exactly what the query builder would have stored
    (fast,) = queue.accept([NewMessage(recipient="+441", text="same", user_id=None)])
    row = OutboundMessage.get_by_id(fast).__data__
    OutboundMessage.insert({**row, "id": "built"}).execute()
    built = OutboundMessage.get_by_id("built").__data__
    for name, value in OutboundMessage(created_at=0, updated_at=0).__data__.items():
        if name not in ("created_at", "updated_at"):
            assert row[name] == value, name  # the defaults the model declares
    assert {**row, "id": "built"} == built


def test_claim_takes_higher_priority_first_then_oldest(queue, clock):
    low = queue.accept([NewMessage("+1", "low")])[0]
    clock.now += 1
    high = queue.accept([NewMessage("+2", "high", priority=9)])[0]
    clock.now += 1
    low2 = queue.accept([NewMessage("+3", "low2")])[0]
    order = [queue.claim("A").id for _ in range(3)]
    assert order == [high, low, low2]
    assert queue.claim("A") is None


def test_a_message_is_claimed_by_exactly_one_gateway(queue):
    for n in range(50):
        queue.accept([NewMessage(f"+{n}", "x")])
    claimed = {"A": [], "B": []}
    errors = []

    def worker(name):
        try:
            while (message := queue.claim(name)) is not None:
                claimed[name].append(message.id)
        except Exception as error:  # a lock error must fail the test, not vanish in a thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(name,)) for name in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    everything = claimed["A"] + claimed["B"]
    assert len(everything) == 50 and len(set(everything)) == 50


def test_claim_skips_what_the_gateway_may_not_send_and_counts_tries_per_gateway(queue):
    only_b = queue.accept([NewMessage("+1", "x", gateways="B")])[0]
    allowed = lambda gateway: lambda m: not m.gateways or m.gateways == gateway  # noqa: E731
    assert queue.claim("A", may_send=allowed("A")) is None
    claimed = queue.claim("B", may_send=allowed("B"))
    assert claimed.id == only_b and claimed.tried == "B:1"
    queue.retry(only_b, 0, None, "")
    assert queue.claim("B").tried == "B:2"


def test_scheduled_message_waits_for_its_time(queue, clock):
    later = queue.accept([NewMessage("+1", "x", scheduled_at=clock.now + 60)])[0]
    assert queue.claim("A") is None
    assert queue.next_due() == clock.now + 60
    clock.now += 60
    assert queue.claim("A").id == later


def test_expired_message_ends_expired_and_is_never_sent(queue, clock):
    message_id = queue.accept([NewMessage("+1", "x", validity_period=30)])[0]
    clock.now += 31
    assert queue.claim("A") is None
    assert OutboundMessage.get_by_id(message_id).state == MessageState.EXPIRED


def test_validity_of_a_scheduled_message_counts_from_its_scheduled_time(queue, clock):
    message_id = queue.accept([NewMessage("+1", "x", validity_period=30, scheduled_at=clock.now + 100)])[0]
    clock.now += 110
    assert queue.claim("A").id == message_id


def test_transitions_are_guarded_by_the_expected_state(queue):
    message_id = queue.accept([NewMessage("+1", "x")])[0]
    assert not queue.complete(message_id)          # not sending: nothing changes
    assert queue.claim("A").id == message_id
    assert not queue.remove(message_id)            # no longer queued
    assert queue.complete(message_id)
    assert not queue.complete(message_id)          # only once
    assert OutboundMessage.get_by_id(message_id).state == MessageState.SENT


def test_retry_waits_and_keeps_sent_parts(queue, clock):
    message_id = queue.accept([NewMessage("+1", "x")])[0]
    queue.claim("A")
    parts = queue.parts(message_id, lambda: [("00AA", 1), ("00BB", 1)])
    assert queue.part_sent(parts[0].id, 7, "A")
    assert queue.retry(message_id, clock.now + 5, 42, "congestion")
    assert queue.claim("A") is None
    clock.now += 5
    assert queue.claim("B").id == message_id
    remaining = queue.parts(message_id, lambda: pytest.fail("parts are built only once"))
    assert [(p.sequence, p.pdu) for p in remaining] == [(2, "00BB")]


def test_recover_requeues_messages_caught_mid_send(queue):
    message_id = queue.accept([NewMessage("+1", "x")])[0]
    queue.claim("A")
    assert queue.recover() == 1
    message = OutboundMessage.get_by_id(message_id)
    assert message.state == MessageState.QUEUED and message.gateway == ""


def test_parts_are_stored_with_their_reference(queue):
    message_id = queue.accept([NewMessage("+1", "x")])[0]
    (part,) = queue.parts(message_id, lambda: [("0011", 1)])
    queue.part_sent(part.id, 200, "A")
    stored = MessagePart.get_by_id(part.id)
    assert (stored.state, stored.reference, stored.gateway) == ("sent", 200, "A")
    assert OutboundMessage.get_by_id(message_id).parts_total == 1


def test_generated_message_ids_are_version_7_uuids_that_sort_by_time(monkeypatch):
    """New rows land on the last leaf of the primary key only if later ids sort later."""
    import uuid

    from appliance.store import message_ids
    times = iter([1_800_000_000_000_000_000 + n * 1_000_000 for n in range(50)])
    monkeypatch.setattr(message_ids.time, "time_ns", lambda: next(times))
    ids = [message_ids.new_id() for _ in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert all(uuid.UUID(i).version == 7 and str(uuid.UUID(i)) == i for i in ids)


def test_a_delivery_report_is_matched_through_the_index_of_parts_sent(database):
    """The index holds sent parts alone (a page less written per part built); the report's
    query must still use it rather than scan every part ever sent."""
    from appliance.store.models import MessagePart
    query = (MessagePart.select(MessagePart, OutboundMessage).join(OutboundMessage)
             .where((MessagePart.gateway == "GSM1") & (MessagePart.reference == 7)
                    & (MessagePart.sent_at >= 0.0))
             .order_by(MessagePart.sent_at.desc()))
    sql, params = query.sql()
    plan = " ".join(row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "INDEX message_part_sent" in plan and "TEMP B-TREE" not in plan
    indexed = database.execute_sql("SELECT sql FROM sqlite_master WHERE name = 'message_part_sent'").fetchone()
    assert "WHERE sent_at IS NOT NULL" in indexed[0]


def _store_with_pages_of(path, page_size):
    """A store as releases before 512-byte pages made it: the page size is fixed by the
    file's first page, so open_database's pragma leaves it as it is."""
    path.mkdir()
    connection = sqlite3.connect(path / store_db.DATABASE_FILE)
    connection.execute(f"PRAGMA page_size = {page_size}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.close()
    database = store_db.open_database(path)
    assert database.execute_sql("PRAGMA page_size").fetchone()[0] == page_size
    return database


def test_a_new_store_has_small_pages_and_needs_no_rewrite(database):
    sizes = []
    assert database.execute_sql("PRAGMA page_size").fetchone()[0] == store_db.PAGE_SIZE == 512
    assert store_db.repage(database, before_rewrite=sizes.append) is False
    assert sizes == []


def test_a_store_with_large_pages_is_rewritten_with_small_ones_and_keeps_everything(tmp_path):
    database = _store_with_pages_of(tmp_path / "old", 4096)
    ids = Queue(database).accept([NewMessage(f"+44770090{n:04d}", f"text {n}") for n in range(300)])
    sizes = []
    assert store_db.repage(database, before_rewrite=sizes.append) is True
    assert sizes and sizes[0] > 0  # told how large a store is rewritten, before the rewrite
    assert database.execute_sql("PRAGMA page_size").fetchone()[0] == 512
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == store_db.PRAGMAS["busy_timeout"]
    assert database.execute_sql("PRAGMA quick_check").fetchone()[0] == "ok"
    assert [m.id for m in OutboundMessage.select().order_by(OutboundMessage.id)] == sorted(ids)
    assert store_db.repage(database) is False  # once
    database.close()


def test_a_store_another_process_has_open_is_left_as_it_was_until_the_next_start(tmp_path, caplog):
    database = _store_with_pages_of(tmp_path / "old", 4096)
    (message_id,) = Queue(database).accept([NewMessage("+447700900123", "kept")])
    other = sqlite3.connect(tmp_path / "old" / store_db.DATABASE_FILE)  # a command-line tool, say
    other.execute("SELECT COUNT(*) FROM outbound_message").fetchone()
    try:
        assert store_db.repage(database) is False  # at once: it does not wait for the other
    finally:
        other.close()
    assert "keeps its page size for now" in caplog.text and "next start" in caplog.text
    assert database.execute_sql("PRAGMA page_size").fetchone()[0] == 4096
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == store_db.PRAGMAS["busy_timeout"]
    assert OutboundMessage.get_by_id(message_id).text == "kept"
    assert store_db.repage(database) is True  # the next start, with the other gone
    database.close()


def test_a_messages_parts_are_read_from_its_first_part_on_along_their_key(queue, database):
    first, second = queue.accept([NewMessage("+441", "one"), NewMessage("+442", "two")])
    queue.claim("GSM1")
    queue.parts(first, lambda: [("00AA", 1), ("00BB", 1)])
    queue.claim("GSM1")
    queue.parts(second, lambda: [("00CC", 1)])
    # where several stores write one table, another message's part may fall between them
    models.MessagePart.create(message=second, sequence=2, pdu="00DD", tpdu_length=1)
    models.MessagePart.create(message=first, sequence=3, pdu="00EE", tpdu_length=1)
    OutboundMessage.update(parts_total=3).where(OutboundMessage.id == first).execute()
    OutboundMessage.update(parts_total=2).where(OutboundMessage.id == second).execute()
    assert [p.pdu for p in models.parts_of(OutboundMessage.get_by_id(first))] == ["00AA", "00BB", "00EE"]
    assert [p.pdu for p in models.parts_of(OutboundMessage.get_by_id(second))] == ["00CC", "00DD"]
    assert [p.pdu for p in queue.parts(first, list)] == ["00AA", "00BB", "00EE"]  # built once
    sql, params = models.MessagePart.select().where(
        (models.MessagePart.id >= 1) & (models.MessagePart.message == first)).order_by(models.MessagePart.id).sql()
    plan = " ".join(row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "INTEGER PRIMARY KEY" in plan, plan  # along the parts' key, not a scan


def test_the_upgrade_finds_each_stored_messages_first_part_and_drops_the_index_by_message(tmp_path):
    database = store_db.open_database(tmp_path)
    queue = Queue(database)
    built, unbuilt = queue.accept([NewMessage("+441", "one"), NewMessage("+442", "two")])
    queue.claim("GSM1")
    parts = queue.parts(built, lambda: [("00AA", 1), ("00BB", 1)])
    # the store as the version before made it: parts found through an index by message
    database.execute_sql('CREATE UNIQUE INDEX "messagepart_message_id_sequence" '
                         'ON "message_part" ("message_id", "sequence")')
    database.execute_sql('ALTER TABLE "outbound_message" DROP COLUMN "first_part"')
    database.execute_sql('ALTER TABLE "user" DROP COLUMN "must_change_password"')  # added by a later upgrade
    drop_provider_waiting_indexes(database)  # a later upgrade's, over that column
    database.execute_sql('ALTER TABLE "outbound_message" DROP COLUMN "provider_reference"')  # and a later one
    SchemaVersion.update(version=store_db.UPGRADES.index(store_db._find_parts_from_the_first) + 1).execute()
    database.close()
    database = store_db.open_database(tmp_path)
    assert store_db.schema_version(database) == store_db.SCHEMA_VERSION
    assert OutboundMessage.get_by_id(built).first_part == parts[0].id
    assert OutboundMessage.get_by_id(unbuilt).first_part is None
    assert [p.pdu for p in models.parts_of(OutboundMessage.get_by_id(built))] == ["00AA", "00BB"]
    assert "messagepart_message_id_sequence" not in [
        name for (name,) in database.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index'")]
    database.close()


def test_the_upgrade_marks_no_existing_user_as_having_a_one_time_password(tmp_path):
    database = store_db.open_database(tmp_path)
    models.User.create(name="admin", password_hash="x", is_admin=True, created_at=0.0)
    database.execute_sql('ALTER TABLE "user" DROP COLUMN "must_change_password"')
    drop_provider_waiting_indexes(database)  # a later upgrade's, over that column
    database.execute_sql('ALTER TABLE "outbound_message" DROP COLUMN "provider_reference"')  # a later upgrade's
    SchemaVersion.update(version=store_db.UPGRADES.index(store_db._mark_one_time_passwords) + 1).execute()
    database.close()
    database = store_db.open_database(tmp_path)
    assert store_db.schema_version(database) == store_db.SCHEMA_VERSION
    assert models.User.get(models.User.name == "admin").must_change_password is False
    database.close()


def drop_provider_waiting_indexes(database):
    for name in ("outbound_message_provider_waiting", "outbound_message_provider_reference"):
        database.execute_sql(f'DROP INDEX "{name}"')


def test_a_message_sent_through_a_provider_keeps_the_providers_id_and_old_ones_get_none(tmp_path):
    database = store_db.open_database(tmp_path)
    queue = Queue(database)
    old, new = queue.accept([NewMessage("+441", "before"), NewMessage("+442", "after")])
    drop_provider_waiting_indexes(database)  # a later upgrade's, over that column
    database.execute_sql('ALTER TABLE "outbound_message" DROP COLUMN "provider_reference"')
    SchemaVersion.update(version=store_db.UPGRADES.index(store_db._add_provider_references) + 1).execute()
    database.close()
    database = store_db.open_database(tmp_path)
    queue = Queue(database)
    assert OutboundMessage.get_by_id(old).provider_reference == ""
    queue.claim("Infobip I")
    queue.claim("Infobip I")
    assert queue.complete(new, "prov-42") and queue.complete(old)
    assert [OutboundMessage.get_by_id(i).provider_reference for i in (old, new)] == ["", "prov-42"]
    indexes = [name for (name,) in database.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index'")]
    assert {"outbound_message_provider_waiting", "outbound_message_provider_reference"} <= set(indexes)
    database.close()
