"""Slowing down password guessing, in memory.

Failed logins are counted per client address and per user name. After ``max_failures``
failures, each no more than ``window`` seconds after the previous one, the key is locked
for a back-off that doubles with every further failure (1, 2, 4 ... ``max_backoff``
seconds). A locked attempt is refused before any password is checked, so a flood costs
no scrypt run and does not lengthen the lock. Entries are few and bounded: a key forgets
its failures after a quiet ``window``, and the oldest entry makes room when the table is
full.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class _Entry:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0
    lockouts: int = 0


class Backoff:
    """Failure counts with a growing lock, for one kind of key (addresses, names ...)."""

    def __init__(self, *, max_failures: int = 5, window: float = 600.0, first_backoff: float = 1.0,
                 max_backoff: float = 300.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def locked(self, key: Hashable) -> bool:
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            return entry is not None and now < entry.locked_until

    def failure(self, key: Hashable) -> None:
        now = self.clock()
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None or now - entry.last_failure > self.window:
                entry = _Entry()
            if now < entry.locked_until:
                self._entries[key] = entry  # refused while locked: counts for nothing
                return
            entry.failures += 1
            entry.last_failure = now
            if entry.failures >= self.max_failures:
                entry.locked_until = now + min(self.max_backoff, self.first_backoff * 2 ** entry.lockouts)
                entry.lockouts += 1
            self._entries[key] = entry  # newest last: the oldest go first when full
            if len(self._entries) > self.max_entries:
                self._forget(now)

    def success(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def _forget(self, now: float) -> None:
        quiet = [key for key, entry in self._entries.items()
                 if now - entry.last_failure > self.window and now >= entry.locked_until]
        for key in quiet:
            del self._entries[key]
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class LoginThrottle:
    """The policy for logins: per address, per user name, and trusted pairs.

    A name locked by failures from many addresses (distributed guessing) would also lock
    out its rightful client, so a (name, address) pair that logged in successfully
    before is trusted: the name's lock does not apply to it, the address's lock still
    does. A success clears the address's failures, not the name's: otherwise a busy
    rightful client would keep resetting the count a distributed guesser runs up.
    """

    def __init__(self, *, by_address: Backoff | None = None, by_name: Backoff | None = None,
                 trust_for: float = 30 * 86400.0, max_trusted: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.by_address = Backoff(max_failures=5, clock=clock) if by_address is None else by_address
        self.by_name = Backoff(max_failures=20, clock=clock) if by_name is None else by_name
        self.trust_for = trust_for
        self.max_trusted = max_trusted
        self.clock = clock
        self._trusted: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, name: str, address: str | None) -> bool:
        """May this attempt have its password checked? A refusal because of the name's
        lock counts as a failure of the address, so each guessing address is locked too."""
        if address is not None and self.by_address.locked(address):
            return False
        if self.by_name.locked(name) and not self._is_trusted(name, address):
            if address is not None:
                self.by_address.failure(address)
            return False
        return True

    def failed(self, name: str, address: str | None) -> None:
        if address is not None:
            self.by_address.failure(address)
        self.by_name.failure(name)

    def succeeded(self, name: str, address: str | None) -> None:
        if address is None:
            return
        self.by_address.success(address)
        with self._lock:
            self._trusted.pop((name, address), None)
            self._trusted[(name, address)] = self.clock() + self.trust_for
            while len(self._trusted) > self.max_trusted:
                self._trusted.popitem(last=False)

    def _is_trusted(self, name: str, address: str | None) -> bool:
        if address is None:
            return False
        with self._lock:
            until = self._trusted.get((name, address))
        return until is not None and self.clock() < until
