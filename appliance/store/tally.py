"""Counts of what happened since the process started, kept in memory for /metrics.

Counting a transition where the code already makes it costs a dictionary update; counting
it afterwards in the store would need an index on ``outbound_message.state`` (pages
rewritten on the SD card for every message, docs/architecture.md "Few pages written per
message") or a scan of the whole history at every scrape. Prometheus takes a counter that
starts again from zero at a restart as a reset, so nothing here needs to be durable. A
change counted in a transaction that is then rolled back (a full disk) stays counted: a
rare overcount in a metric, never in the store, which remains the record.
"""

from __future__ import annotations

import threading
from collections import Counter


class Tally:
    """Counts by a tuple of label values. The HTTP threads and the event loop both add
    (accepting, removing, sending), so each update holds a lock: ``+=`` on a dict entry is
    a read and a write that two threads could interleave."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, ...]] = Counter()
        self._lock = threading.Lock()

    def add(self, *labels: str, count: int = 1) -> None:
        if count:
            with self._lock:
                self._counts[labels] += count

    def snapshot(self) -> dict[tuple[str, ...], int]:
        """A copy, so that a scrape reads it while the loop goes on counting."""
        with self._lock:
            return dict(self._counts)
