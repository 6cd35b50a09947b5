"""Opening the database: SQLite pragmas and the schema migrations.

Everything SQLite-specific lives here, so that the rest of the store stays portable SQL
(a fleet of appliances may later share one PostgreSQL queue).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import peewee

from . import models

log = logging.getLogger(__name__)

DATABASE_FILE = "appliance.sqlite3"

# The SD card wears by the bytes written, and every commit appends each page it touched to
# the write-ahead log, whole: a message's way from accept to Sent touches a handful of
# pages, each holding little of it. 512-byte pages (SQLite's smallest) cut the bytes written
# per message from 33.4 KB to 7.4 KB in bulk and from 53.3 KB to 12.4 KB one at a time
# against 4 KB pages (bench/RESULTS.md, ``make bench-sd``). A store made with another page
# size is rewritten at the service's start (repage).
PAGE_SIZE = 512

# WAL lets the HTTP threads write while the event loop reads; synchronous=FULL because an
# accepted message must survive a power cut the moment its OK has been sent.
PRAGMAS = {
    "page_size": PAGE_SIZE,  # first: it takes effect only before the file has its first page
    "journal_mode": "wal",
    "synchronous": 2,
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -4000,
    # no checkpoint inside a commit, which may be the event loop's: the store's Durability
    # thread copies the write-ahead log into the database (durability.py)
    "wal_autocheckpoint": 0,
    # a log that starts over is cut back to 4 MB, not kept at its high-water mark on the card
    "journal_size_limit": 4 * 2**20,
}


# Upgrades of existing databases: UPGRADES[i] takes a store from version i + 1 to i + 2.
# A new store gets the current models' tables at once, at SCHEMA_VERSION, so an upgrade
# must use explicit operations (playhouse.migrate), never the current models. Append only.
def _add_api_keys_and_receive_connectors(database: peewee.Database) -> None:
    database.execute_sql(
        'CREATE TABLE IF NOT EXISTS "api_key" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"user_id" INTEGER NOT NULL, "name" VARCHAR(255) NOT NULL, "prefix" VARCHAR(255) NOT NULL, '
        '"token_hash" VARCHAR(255) NOT NULL, "created_at" REAL NOT NULL, "last_used_at" REAL, '
        'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE)')
    database.execute_sql('CREATE INDEX IF NOT EXISTS "apikey_user_id" ON "api_key" ("user_id")')
    database.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS "apikey_token_hash" ON "api_key" ("token_hash")')
    database.execute_sql(
        'CREATE TABLE IF NOT EXISTS "receive_connector" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"name" VARCHAR(255) NOT NULL, "number" VARCHAR(255) NOT NULL, "require_token" INTEGER NOT NULL, '
        '"token_hash" VARCHAR(255) NOT NULL, "routing" VARCHAR(255) NOT NULL, '
        '"target" VARCHAR(255) NOT NULL, "subject" VARCHAR(255) NOT NULL, "created_at" REAL NOT NULL)')
    database.execute_sql(
        'CREATE UNIQUE INDEX IF NOT EXISTS "receiveconnector_name" ON "receive_connector" ("name")')


def _add_config_overrides(database: peewee.Database) -> None:
    database.execute_sql(
        'CREATE TABLE IF NOT EXISTS "config_override" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"scope" VARCHAR(255) NOT NULL, "name" VARCHAR(255) NOT NULL, "property" VARCHAR(255) NOT NULL, '
        '"value" TEXT NOT NULL, "updated_at" REAL NOT NULL)')
    database.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS "configoverride_scope_name_property" '
                         'ON "config_override" ("scope", "name", "property")')


def _add_queued_indexes(database: peewee.Database) -> None:
    for statement in models.QUEUED_INDEXES:  # fixed SQL text, not the models
        database.execute_sql(statement)


def _keep_undecodable_and_unmatched(database: peewee.Database) -> None:
    """A received PDU that does not decode becomes a message with its error; a delivery
    report that matches no part is kept in a table of its own."""
    database.execute_sql('ALTER TABLE "inbound_message" ADD COLUMN "decode_error" TEXT NOT NULL DEFAULT \'\'')
    database.execute_sql(
        'CREATE TABLE IF NOT EXISTS "unmatched_report" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"gateway" VARCHAR(255) NOT NULL, "reference" INTEGER, "recipient" VARCHAR(255) NOT NULL, '
        '"status" INTEGER, "pdu" TEXT NOT NULL, "decode_error" TEXT NOT NULL, "received_at" REAL NOT NULL)')
    database.execute_sql(
        'CREATE INDEX IF NOT EXISTS "unmatchedreport_received_at" ON "unmatched_report" ("received_at")')


def _add_blocked_numbers(database: peewee.Database) -> None:
    database.execute_sql(
        'CREATE TABLE IF NOT EXISTS "blocked_number" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"number" VARCHAR(255) NOT NULL, "prefix" INTEGER NOT NULL, "source" VARCHAR(255) NOT NULL, '
        '"reason" TEXT NOT NULL, "created_at" REAL NOT NULL)')
    database.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS "blockednumber_number" ON "blocked_number" ("number")')


def _drop_redundant_indexes(database: peewee.Database) -> None:
    """Indexes no query needs cost a page written per message (docs/architecture.md):
    a message's parts are found by the unique index on (message, sequence), and the sender
    reads queued messages through their partial indexes; the index on (state, priority,
    created_at) was rewritten at every transition for counts that read every row anyway;
    delivery reports are matched over the parts sent alone."""
    database.execute_sql('DROP INDEX IF EXISTS "messagepart_message_id"')
    database.execute_sql('DROP INDEX IF EXISTS "outboundmessage_state_priority_created_at"')
    database.execute_sql('DROP INDEX IF EXISTS "messagepart_gateway_reference_sent_at"')
    database.execute_sql(models.SENT_PARTS_INDEX)  # fixed SQL text, not the models


def _find_parts_from_the_first(database: peewee.Database) -> None:
    """A message's parts are found from its first part on (models.parts_of), not through
    the unique index on (message, sequence), about two pages written per message."""
    database.execute_sql('ALTER TABLE "outbound_message" ADD COLUMN "first_part" INTEGER')
    database.execute_sql('UPDATE "outbound_message" SET "first_part" = (SELECT MIN("id") FROM "message_part" '
                         'WHERE "message_part"."message_id" = "outbound_message"."id")')  # while indexed
    database.execute_sql('DROP INDEX IF EXISTS "messagepart_message_id_sequence"')


def _mark_one_time_passwords(database: peewee.Database) -> None:
    """A user whose password is the one printed at first start is asked by the web pages
    to choose their own; users made before this column existed chose theirs already."""
    database.execute_sql('ALTER TABLE "user" ADD COLUMN "must_change_password" INTEGER NOT NULL DEFAULT 0')


def _add_provider_references(database: peewee.Database) -> None:
    """A message an HTTP provider took is known there by the provider's id: its status
    API is asked by that id (gateways/providers/)."""
    database.execute_sql('ALTER TABLE "outbound_message" ADD COLUMN "provider_reference" TEXT NOT NULL DEFAULT \'\'')


def _add_provider_waiting_indexes(database: peewee.Database) -> None:
    """A provider's messages still waiting for a report are found without reading the
    whole history: by gateway and age to poll them, by the provider's id for a callback."""
    for statement in models.PROVIDER_WAITING_INDEXES:  # fixed SQL text, not the models
        database.execute_sql(statement)


UPGRADES: list[Callable[[peewee.Database], None]] = [
    _add_api_keys_and_receive_connectors, _add_config_overrides, _add_queued_indexes,
    _keep_undecodable_and_unmatched, _add_blocked_numbers, _drop_redundant_indexes,
    _find_parts_from_the_first, _mark_one_time_passwords, _add_provider_references,
    _add_provider_waiting_indexes,
]

SCHEMA_VERSION = 1 + len(UPGRADES)


class StoreUnusable(Exception):
    """The store cannot be opened: one line that says what is wrong and what to do."""


# what SQLite says, and what an administrator can do about it
_REMEDIES = (
    (("malformed", "not a database", "corrupt"), "the database is damaged: restore a backup of {file}"),
    (("readonly", "read-only", "unable to open", "permission denied", "access permission"),
     "cannot write {file}: fix the permissions of the file and its folder for the service's user"),
    (("disk is full", "no space"), "the disk holding {file} is full: free space on it"),
)


def _unusable(file: Path, problem: str) -> StoreUnusable:
    lowered = problem.lower()
    for signs, remedy in _REMEDIES:
        if any(sign in lowered for sign in signs):
            return StoreUnusable(f"{remedy.format(file=file)} (SQLite: {problem})")
    return StoreUnusable(f"cannot open the store {file}: {problem}")


def open_database(data_dir: str | Path) -> peewee.SqliteDatabase:
    """Open (creating if needed) the store in ``data_dir``, check it is whole
    (``PRAGMA quick_check``) and bring its schema up to date. A store that is damaged,
    read-only or on a full disk raises :class:`StoreUnusable` with what to do, so that
    the service stops at start with one line rather than failing at the first message."""
    path = Path(data_dir)
    file = path / DATABASE_FILE
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unusable(file, error.strerror or str(error)) from None
    database = peewee.SqliteDatabase(
        str(file),
        pragmas=PRAGMAS,
        lock_type="IMMEDIATE",  # writers queue on busy_timeout instead of failing on upgrade
        check_same_thread=False,
    )
    models.database_proxy.initialize(database)
    try:
        database.connect(reuse_if_open=True)
        verdict = database.execute_sql("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise peewee.DatabaseError(f"quick_check found it malformed: {verdict}")
        migrate(database)
    except (peewee.DatabaseError, sqlite3.DatabaseError) as error:
        database.close()
        raise _unusable(file, str(error)) from None
    return database


def repage(database: peewee.SqliteDatabase, before_rewrite: Callable[[int], None] = lambda size: None) -> bool:
    """Rewrite a store made with another page size than :data:`PAGE_SIZE` (VACUUM), and
    say whether it did. SQLite changes the page size of a store only outside WAL mode, and
    only when nobody else has it open: if another process has (a command-line tool while
    the service runs), or the rewrite fails (it needs the store's size again in free
    space), the store stays as it was and is tried again at the next start.
    ``before_rewrite`` hears the file's size first: the rewrite of a large store takes a
    while, and the service tells systemd to wait for it."""
    if database.execute_sql("PRAGMA page_size").fetchone()[0] == PAGE_SIZE:
        return False
    file = Path(database.database)
    size = file.stat().st_size
    before_rewrite(size)
    database.execute_sql("PRAGMA busy_timeout = 0")  # another process holding it: give up, not wait
    try:
        if database.execute_sql("PRAGMA journal_mode = DELETE").fetchone()[0] != "delete":
            raise peewee.OperationalError("the store is open in another process")
        try:
            database.execute_sql(f"PRAGMA page_size = {PAGE_SIZE}")
            database.execute_sql("VACUUM")
        finally:
            database.execute_sql("PRAGMA journal_mode = WAL")
    except (peewee.DatabaseError, sqlite3.DatabaseError) as error:
        log.warning("the store keeps its page size for now: %s; its next start tries again", error)
        return False
    finally:
        database.execute_sql(f"PRAGMA busy_timeout = {PRAGMAS['busy_timeout']}")
    log.info("store rewritten with %d-byte pages: %d bytes before, %d after",
             PAGE_SIZE, size, file.stat().st_size)
    return True


def schema_version(database: peewee.Database) -> int:
    if not models.SchemaVersion.table_exists():
        return 0
    row = models.SchemaVersion.select().order_by(models.SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate(database: peewee.Database) -> int:
    """Create a new store, or apply the upgrades an existing one has not seen, each atomically."""
    with database.atomic():
        database.create_tables([models.SchemaVersion])
        current = schema_version(database)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database has schema version {current}, newer than this software's "
            f"{SCHEMA_VERSION}: upgrade the software or restore an older backup"
        )
    if current == 0:
        with database.atomic():
            if schema_version(database) == 0:  # unless another process created it meanwhile
                database.create_tables(models.ALL_MODELS)
                models.SchemaVersion.create(version=SCHEMA_VERSION, applied_at=time.time())
                log.info("store created at schema version %d", SCHEMA_VERSION)
        return SCHEMA_VERSION
    for version in range(current, SCHEMA_VERSION):
        with database.atomic():
            if schema_version(database) != version:
                continue  # another process migrated it meanwhile
            UPGRADES[version - 1](database)
            models.SchemaVersion.create(version=version + 1, applied_at=time.time())
        log.info("store schema upgraded to version %d", version + 1)
    return SCHEMA_VERSION
