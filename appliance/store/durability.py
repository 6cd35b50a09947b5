"""Which commits reach the disk at once, and which may wait a moment for a shared fsync.

Every commit is durable when it returns (``synchronous=FULL``): an accepted message, a
received SMS or delivery report before its SIM copy is deleted, a removal a client was
told about. The exception is the sender's own bookkeeping of a message it is sending:
claimed, its parts stored, each part's ``+CMGS`` reference, sent, failed or put back,
the event log; and a delivery report the modem gave directly (``+CDS``), of which there
is no copy to delete. Losing the last of those in a power cut costs at most a resend of
what was in flight, or a report, never a message, so they commit inside
:meth:`Durability.relaxed` with
``synchronous=NORMAL`` (no fsync), and one fsync of the write-ahead log, at most
``delay`` seconds later, makes all of them durable together. That is what keeps an SD
card's fsyncs per message low (bench/RESULTS.md, ``make bench-fsync``).

The fsync runs on a thread of its own: the event loop never waits for the card. So does the
checkpoint that copies the write-ahead log into the database once it holds
``checkpoint_bytes`` (SQLite's automatic one is off, store.db): inside a commit, on
the event loop's thread, copying megabytes to an SD card would stall the modems, and at
SQLite's default of every 1,000 pages its fsyncs were a quarter of all those of a
message sent in bulk (bench/RESULTS.md, ``make bench-fsync``).

The log must also stay small on the card (``make bench-sd``). A PASSIVE checkpoint alone
never lets it start over under steady traffic: some commit always follows the copy, so the
log is never wholly copied when the next writer looks, and it grew to 88 MB for 1,000
messages. Past ``checkpoint_bytes`` the thread therefore copies what it can without
waiting (PASSIVE), then takes the rest with a RESTART checkpoint, which holds new writers
back while it copies that remainder and waits at most ``busy_ms`` for the write lock and
for the readers (this thread's connection alone has that short timeout: if they do not
leave in time it gives up and tries at its next look; it gets the write lock only between
two commits, so writers that never pause would outrun it). The next writer then starts the
log over, cut to ``journal_size_limit`` (store.db). When no commit has touched a log of
``idle_bytes`` or more for ``idle_after`` seconds, a TRUNCATE checkpoint empties the file.
Not sooner, nor a smaller log: each checkpoint writes the pages the log changed into the
database and fsyncs both files, and with a message every 6 s emptying the log after each
message took the bytes written per message from 98 KB to 158 KB and its fsyncs from 2 to 5
(bench/RESULTS.md, ``make bench-sd``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext

import peewee

log = logging.getLogger(__name__)

FULL, NORMAL = 2, 1


class Durability:
    def __init__(self, database: peewee.SqliteDatabase, *, delay: float = 0.1,
                 checkpoint_bytes: int = 4 * 2**20, look_every: float = 1.0,
                 idle_after: float = 30.0, idle_bytes: int = 2**20, busy_ms: int = 100) -> None:
        """``look_every``: how often the thread looks at the log's size when no relaxed
        commit wakes it (the HTTP threads' commits grow it too). ``checkpoint_bytes``: 4 MB,
        whatever the page size, no less than ``journal_size_limit`` (a log cut back to that
        size is not due again at once), so that the log stays under 8 MB while a bulk grows
        it by megabytes a second (bench/RESULTS.md, ``make bench-sd``)."""
        self.database = database
        self.delay = delay
        self.checkpoint_bytes = checkpoint_bytes
        self.look_every = look_every
        self.idle_after = idle_after
        self.idle_bytes = idle_bytes
        self.busy_ms = busy_ms
        self._log_seen: tuple[int, int] = (0, 0)   # the log's size and mtime at the last look
        self._log_changed_at = time.monotonic()
        self.wal_path = f"{database.database}-wal"
        self._local = threading.local()
        self._wanted = threading.Event()     # a relaxed commit is not on the disk yet
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-sync", daemon=True)
        self._thread.start()

    def relaxed(self) -> AbstractContextManager[None]:
        """Commits made in this block skip their fsync; one follows within ``delay``.

        Inside a transaction someone else opened, that transaction decides: SQLite cannot
        change the safety level in the middle of one, and the outer commit must keep its own.
        Inside another relaxed block, nothing changes. (Classes, not a generator: this runs
        several times for every message sent.)
        """
        if getattr(self._local, "depth", 0) or self.database.in_transaction():
            return _UNCHANGED
        return _Relaxed(self)

    def _relaxed_done(self) -> None:
        self._local.depth = 0
        if not self._wanted.is_set():  # else a sync is already due: setting again costs a lock
            self._wanted.set()
            self._wake.set()

    def sync(self) -> None:
        """fsync the write-ahead log: every commit so far is on the disk after this."""
        try:
            fd = os.open(self.wal_path, os.O_RDONLY)
        except FileNotFoundError:
            return  # no log: everything is in the database file, synced by its checkpoint
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def checkpoint_due(self) -> bool:
        try:
            size = os.stat(self.wal_path).st_size
        except FileNotFoundError:
            return False
        return size > self.checkpoint_bytes

    def checkpoint(self) -> None:
        """Copy the log into the database, most of it without waiting for anybody
        (PASSIVE), then the rest holding writers back (RESTART), so that the next writer
        starts the log over from its beginning."""
        self.database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
        self.database.execute_sql("PRAGMA wal_checkpoint(RESTART)")

    def idle(self) -> bool:
        """Whether the log file holds ``idle_bytes`` or more and no commit has touched it
        for ``idle_after`` seconds."""
        try:
            stat = os.stat(self.wal_path)
        except FileNotFoundError:
            return False
        seen, now = (stat.st_size, stat.st_mtime_ns), time.monotonic()
        if seen != self._log_seen:
            self._log_seen, self._log_changed_at = seen, now
            return False
        return (stat.st_size >= self.idle_bytes
                and now - self._log_changed_at >= self.idle_after)

    def truncate(self) -> None:
        """Copy the whole log into the database and empty its file (TRUNCATE)."""
        self.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def _run(self) -> None:
        # this thread's connection only: how long a RESTART checkpoint waits for the lock and readers
        self.database.execute_sql(f"PRAGMA busy_timeout = {int(self.busy_ms)}")
        while True:
            if self._wake.wait(self.look_every):
                # gather the commits of the next moment into one fsync (at once when stopping)
                self._stopping.wait(self.delay)
                self._wake.clear()
            if self._wanted.is_set():
                self._wanted.clear()
                try:
                    self.sync()
                except OSError as error:
                    log.error("cannot sync the store's write-ahead log: %s", error)
            if self._stopping.is_set():
                return
            try:
                if self.checkpoint_due():
                    self.checkpoint()
                elif self.idle():
                    self.truncate()
            except (OSError, peewee.DatabaseError) as error:
                log.error("cannot checkpoint the store's write-ahead log: %s", error)

    def close(self) -> None:
        """Sync what is pending and stop the thread."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(5.0)


_UNCHANGED = nullcontext()


class _Relaxed:
    __slots__ = ("cursor", "durability")

    def __init__(self, durability: Durability) -> None:
        self.durability = durability

    def __enter__(self) -> None:
        self.durability._local.depth = 1
        self.cursor = self.durability.database.cursor()  # not execute_sql(): as above
        self.cursor.execute(f"PRAGMA synchronous = {NORMAL}")

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.cursor.execute(f"PRAGMA synchronous = {FULL}")
        finally:
            self.durability._relaxed_done()


def bookkeeping(durability: Durability | None) -> AbstractContextManager[None]:
    """Where a write is the sender's bookkeeping: relaxed when the store has a
    :class:`Durability`, an ordinary durable commit when it has none (tests, tools)."""
    return durability.relaxed() if durability is not None else nullcontext()
