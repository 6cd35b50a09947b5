"""Which commits wait for a shared fsync: only the sender's bookkeeping, and not for long."""

import os
import sqlite3
import threading
import time

import pytest

from appliance.store.durability import FULL, NORMAL, Durability
from appliance.store.queue import NewMessage, Queue
from hil.waiting import wait_for


@pytest.fixture
def synced(monkeypatch):
    """The files fsynced, by path, and an event set by each fsync."""
    paths, happened = [], threading.Event()
    real_fsync = os.fsync

    def fsync(fd):
        paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)
        happened.set()
    monkeypatch.setattr(os, "fsync", fsync)
    return paths, happened


def safety(database):
    return database.execute_sql("PRAGMA synchronous").fetchone()[0]


def test_commits_are_full_except_inside_relaxed(database):
    durability = Durability(database, delay=60)
    try:
        assert safety(database) == FULL
        with durability.relaxed():
            assert safety(database) == NORMAL
            with durability.relaxed():  # nested: the outer block decides
                assert safety(database) == NORMAL
            assert safety(database) == NORMAL
        assert safety(database) == FULL
    finally:
        durability.close()


def test_inside_a_transaction_opened_elsewhere_relaxed_changes_nothing(database):
    # SQLite refuses to change the level mid-transaction; the outer commit keeps FULL
    durability = Durability(database, delay=60)
    try:
        with database.atomic(), durability.relaxed():
            assert safety(database) == FULL
        assert safety(database) == FULL
    finally:
        durability.close()


def test_a_relaxed_commit_is_followed_by_one_fsync_of_the_write_ahead_log(database, synced):
    paths, happened = synced
    durability = Durability(database, delay=0.01)
    try:
        queue = Queue(database, durability=durability)
        (message_id,) = queue.accept([NewMessage("+441", "x")])
        paths.clear()
        happened.clear()
        assert queue.claim("GSM1").id == message_id
        assert happened.wait(5)
        assert paths == [durability.wal_path]
    finally:
        durability.close()


def test_closing_syncs_what_is_pending_at_once(database, synced):
    paths, _ = synced
    durability = Durability(database, delay=3600)
    queue = Queue(database, durability=durability)
    queue.accept([NewMessage("+441", "x")])
    paths.clear()
    queue.claim("GSM1")
    durability.close()  # does not wait the hour
    assert paths == [durability.wal_path]


def test_without_a_write_nothing_is_synced(database, synced):
    paths, happened = synced
    durability = Durability(database, delay=0.01)
    durability.close()
    assert paths == [] and not happened.is_set()


def grow_the_log(database, messages=300):
    Queue(database).accept([NewMessage("+1", "x" * 500) for _ in range(messages)])  # HTTP commits, not relaxed


def test_commits_never_checkpoint_so_the_event_loop_never_copies_the_log(database):
    before = os.path.getsize(database.database)
    grow_the_log(database)
    assert os.path.getsize(database.database) == before  # all of it still in the log
    assert os.path.getsize(f"{database.database}-wal") > 100_000


def test_the_durability_thread_checkpoints_a_log_that_grew_past_its_limit(database):
    before = os.path.getsize(database.database)
    durability = Durability(database, checkpoint_bytes=80_000, look_every=0.02)
    try:
        grow_the_log(database)
        # the copy may take several checkpoints: wait for all of it, not for the first step
        wait_for(lambda: os.path.getsize(database.database) > before + 100_000,
                 what="the log copied into the database")
        assert Queue(database).claim("GSM") is not None  # and all of it still there
    finally:
        durability.close()


def test_a_small_log_is_left_alone(database, monkeypatch):
    durability = Durability(database, checkpoint_bytes=400_000_000, look_every=0.02)
    looks = []  # what the thread's looks at the log's size found, one entry each
    due = durability.checkpoint_due
    monkeypatch.setattr(durability, "checkpoint_due", lambda: looks.append(due()) or looks[-1])
    try:
        before = os.path.getsize(database.database)
        grow_the_log(database, messages=10)
        del looks[:]
        # two looks: the first may have begun before the log grew
        wait_for(lambda: len(looks) >= 2, what="the thread to look at the grown log")
        assert os.path.getsize(database.database) == before
    finally:
        durability.close()


def test_an_idle_log_is_emptied(database):
    durability = Durability(database, look_every=0.02, idle_after=0.05, idle_bytes=100_000)
    try:
        grow_the_log(database)
        wait_for(lambda: os.path.getsize(f"{database.database}-wal") == 0, what="the idle log emptied")
        assert Queue(database).claim("GSM") is not None  # copied into the database, not lost
    finally:
        durability.close()


def test_a_small_idle_log_is_left_for_later(database, monkeypatch):
    # emptying it after every message of a quiet day would cost more writes than it saves
    durability = Durability(database, look_every=0.02, idle_after=0.05, idle_bytes=400_000_000)
    looks = []  # what the thread's looks at the idle log found, one entry each
    idle = durability.idle
    monkeypatch.setattr(durability, "idle", lambda: looks.append(idle()) or looks[-1])
    try:
        grow_the_log(database, messages=10)
        size = os.path.getsize(f"{database.database}-wal")
        wait_for(lambda: len(looks) >= 10, what="the thread to look at the idle log")
        assert os.path.getsize(f"{database.database}-wal") == size > 0
    finally:
        durability.close()


def test_the_log_never_passes_its_limit_in_a_loop_of_commits(database):
    """A reader always holding a snapshot (the event loop's, the HTTP threads') keeps a
    PASSIVE checkpoint from ever letting the log start over: it grew without end."""
    limit = database.execute_sql("PRAGMA journal_size_limit").fetchone()[0]
    stop = threading.Event()

    def read():
        reader = sqlite3.connect(database.database, isolation_level=None)
        while not stop.is_set():
            reader.execute("BEGIN")
            reader.execute("SELECT COUNT(*) FROM outbound_message").fetchone()
            reader.execute("COMMIT")
        reader.close()
    reader = threading.Thread(target=read)
    reader.start()
    durability = Durability(database, checkpoint_bytes=256_000, delay=0.01, look_every=0.01, idle_after=3600)
    queue, largest = Queue(database), 0
    try:
        for _ in range(800):  # 25 KB a commit: 20 MB of log, had it no bound
            queue.accept([NewMessage("+1", "x" * 500) for _ in range(20)])
            largest = max(largest, os.path.getsize(f"{database.database}-wal"))
            # a client's pace, not a wait: the service's writers leave gaps between their
            # commits, and only in a gap can the checkpoint take the write lock
            time.sleep(0.002)
    finally:
        stop.set()
        reader.join()
        durability.close()
    assert 0 < largest <= 2 * limit  # the store's promise: 8 MB (docs/architecture.md)
