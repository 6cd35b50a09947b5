"""Room for the store: the free space kept in reserve, and what a full disk looks like.

Why: SQLite that hits a full disk fails each write with "database or disk is full", and
each request that failed so used to log a traceback (12 MB of log in 8 s) while /health
said OK. New messages are refused, with a temporary error that names the cause, while
the data directory's free space is below a reserve, so SQLite rarely meets the wall at
all; when it does, the fault is recognised, logged once a minute, and shown by /health
and the status. A message already accepted stays where it is: only new ones are refused.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import peewee

log = logging.getLogger(__name__)

DEFAULT_RESERVE = 50 * 1024 * 1024
LOG_EVERY = 60.0      # seconds between two log lines about the same full disk
FULL_FOR = 60.0       # seconds a full disk is reported after the last sign of it


class StorageFull(Exception):
    """No room for new messages now; try again later. The text says why."""


def full_error(error: BaseException | None) -> BaseException | None:
    """SQLite's SQLITE_FULL or the system's ENOSPC, if ``error`` is one or came of one (a
    full disk makes SQLite roll back itself, so the rollback that follows fails in turn)."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return error
        if isinstance(error, (peewee.OperationalError, sqlite3.OperationalError)) and \
                "database or disk is full" in str(error):
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


class Space:
    """The data directory's free space against ``reserve`` bytes, and the last time the
    disk was found full. Shared by the HTTP threads; ``clock`` is monotonic."""

    def __init__(self, data_dir: str | Path, reserve: int = DEFAULT_RESERVE,
                 clock: Callable[[], float] = time.monotonic,
                 free_bytes: Callable[[Path], int] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.reserve = reserve
        self.clock = clock
        self._free_bytes = free_bytes or _free_bytes
        self._lock = threading.Lock()
        self._full_at: float | None = None
        self._logged_at: float | None = None
        self.cause = ""

    def check(self) -> None:
        """Raise :class:`StorageFull` when new messages would eat into the reserve."""
        free = self._free_bytes(self.data_dir)
        if free < self.reserve:
            cause = (f"{free // 2**20} MB free on the disk of {self.data_dir}, below the "
                     f"reserve of {self.reserve // 2**20} MB ([storage] reserve)")
            self.found_full(cause, failed=False)
            raise StorageFull(f"the appliance's disk is full: {cause}; try again later")

    def found_full(self, cause: str, *, failed: bool = True) -> None:
        """Record a full disk; log it at most once a minute. ``failed``: a write failed
        (shown for FULL_FOR seconds); otherwise the free space said so, and says so again."""
        now = self.clock()
        with self._lock:
            if failed:
                self._full_at = now
                self.cause = cause
            if self._logged_at is not None and now - self._logged_at < LOG_EVERY:
                return
            self._logged_at = now
        log.error("disk full: new messages are refused until there is room: %s", cause)

    def refused(self, error: BaseException) -> StorageFull:
        """The temporary refusal for a write that failed on a full disk."""
        self.found_full(f"SQLite: {error}" if not isinstance(error, OSError) else f"ENOSPC: {error.strerror}")
        return StorageFull(f"the appliance's disk is full ({self.cause}); try again later")

    def problem(self) -> str:
        """Why new messages are refused now ("" if they are not): the free space is below
        the reserve, or a write found the disk full within the last FULL_FOR seconds."""
        free = self._free_bytes(self.data_dir)
        if free < self.reserve:
            return f"disk full: {free // 2**20} MB free, below the reserve of {self.reserve // 2**20} MB"
        with self._lock:
            if self._full_at is not None and self.clock() - self._full_at < FULL_FOR:
                return f"disk full: {self.cause}"
        return ""


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize
