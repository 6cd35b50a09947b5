"""Checking credentials on every request without running scrypt on every request.

The Diafaan API sends username and password with each call. A verified pair is remembered
for a short time as a keyed digest (never the password), so the memory-hard KDF runs
once per minute per client instead of once per message. A remembered pair stands only
while the user's row does not change: its password hash and role are read again (one row
by its unique name) at most once a second per user, so a new password, a role taken away
or a deleted user counts within a second, whoever changed it (the pages, the API or the
command line).
Failures are throttled per client address and per user name (see throttle.py) before any
of that: a locked-out guesser learns nothing, not even from the cache, and costs nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable

from . import users
from .throttle import LoginThrottle
from .users import Principal

log = logging.getLogger(__name__)

STANDING_TTL = 1.0  # seconds a user's standing is taken as read: a change counts within a second
MAX_NAME = 256  # local names are shorter; a callback's (e-mail addresses ...) fit


class Authenticator:
    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 verify: Callable[[str, str], Principal | None] = users.authenticate, *,
                 throttle: LoginThrottle | None = None, guest: str | None = None,
                 standing: Callable[[str], object] = users.standing) -> None:
        """``guest`` names the local user whose rights a request without a user name gets;
        None: such requests are refused. ``standing(name)``: what a remembered pair of
        that name rests on; it is remembered only while that stays the same."""
        self.ttl = ttl
        self.clock = clock
        self._verify = verify
        self._standing = standing
        self._stood: dict[str, tuple[object, float]] = {}  # name: (its standing, read again after)
        self.throttle = LoginThrottle(clock=clock) if throttle is None else throttle
        self.guest_name = guest
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[Principal, float, object]] = {}
        self._lock = threading.Lock()

    def _digest(self, name: str, password: str) -> bytes:
        return hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()

    def authenticate(self, name: str, password: str, *, address: str | None = None) -> Principal | None:
        """The caller, or None. ``address`` is the client's IP address for throttling;
        None (a caller that has none) throttles by user name only."""
        if len(name) > MAX_NAME:  # no user has such a name; not worth a throttle entry
            self.throttle.failed("", address)
            return None
        if not self.throttle.admit(name, address):
            return None
        key = self._digest(name, password)
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[1] > now and hit[2] == self._standing_now(name, now):
            self.throttle.succeeded(name, address)
            return hit[0]
        standing = self._standing(name)  # before the check: a change meanwhile is not remembered as checked
        with self._lock:
            self._stood[name] = (standing, now + STANDING_TTL)
        principal = self._verify(name, password)
        if principal is None:
            self.throttle.failed(name, address)
            return None
        self.throttle.succeeded(name, address)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (principal, now + self.ttl, standing)
        return principal

    def _standing_now(self, name: str, now: float) -> object:
        """The user's standing, read at most once a second per user: a read per request
        cost a busy service 12 % of its send rate (bench/providers.py, loop)."""
        with self._lock:
            known = self._stood.get(name)
        if known is not None and known[1] > now:
            return known[0]
        standing = self._standing(name)
        with self._lock:
            if len(self._stood) > 10_000:
                self._stood.clear()
            self._stood[name] = (standing, now + STANDING_TTL)
        return standing

    def guest(self) -> Principal | None:
        """The guest account's rights, or None when there is no usable guest account."""
        if self.guest_name is None:
            return None
        try:
            return users.guest(self.guest_name)
        except ValueError as error:
            log.error("guest login refused: %s", error)
            return None
