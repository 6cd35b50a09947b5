"""Checking credentials on every request without running scrypt on every request.

The Diafaan API sends username and password with each call. A verified pair is remembered
for a short time as a keyed digest (never the password), so the memory-hard KDF runs
once per minute per client instead of once per message.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Callable

from .. import users
from ..users import Principal


class Authenticator:
    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 verify: Callable[[str, str], Principal | None] = users.authenticate) -> None:
        self.ttl = ttl
        self.clock = clock
        self._verify = verify
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def _digest(self, name: str, password: str) -> bytes:
        return hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()

    def authenticate(self, name: str, password: str) -> Principal | None:
        key = self._digest(name, password)
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        principal = self._verify(name, password)
        if principal is not None:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = (principal, now + self.ttl)
        return principal
