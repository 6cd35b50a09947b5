"""Browser sessions, kept in memory: a random id in a cookie, a CSRF token bound to it.

In memory rather than in the store: a session is worth nothing after a restart (logging
in again costs a person seconds), and writing one row per page view would cost the SD
card a page write. The count is bounded, so a stream of logins cannot grow the process;
when full, the session idle longest gives way. A session ends after ``idle`` seconds
without a request and in any case ``lifetime`` seconds after login.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

IDLE = 30 * 60.0
LIFETIME = 12 * 3600.0
MAX_SESSIONS = 1000


@dataclass
class Session:
    """Who is logged in (the user's row id: rights are read afresh on each request) and
    the token every form of this session must carry back."""

    user_id: int
    created_at: float
    seen_at: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    notice: str = ""   # the one-line result of the last form, shown once by the page it redirects to

    def csrf_matches(self, token: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), token.encode())


class Sessions:
    def __init__(self, *, idle: float = IDLE, lifetime: float = LIFETIME, limit: int = MAX_SESSIONS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle
        self.lifetime = lifetime
        self.limit = limit
        self.clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()  # least recently seen first
        self._lock = threading.Lock()

    def create(self, user_id: int) -> str:
        """A new session's id: a fresh one at every login, so an id planted before the
        login is worth nothing after it."""
        now = self.clock()
        sid = secrets.token_urlsafe(32)
        with self._lock:
            while len(self._sessions) >= self.limit:
                self._sessions.popitem(last=False)
            self._sessions[sid] = Session(user_id, now, now)
        return sid

    def get(self, sid: str | None) -> Session | None:
        """The live session of this id, its idle time restarted; None when there is none."""
        if not sid:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if now - session.seen_at > self.idle or now - session.created_at > self.lifetime:
                del self._sessions[sid]
                return None
            session.seen_at = now
            self._sessions.move_to_end(sid)
            return session

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def end_user(self, user_id: int, *, keep: str | None = None) -> None:
        """Every session of a user but ``keep``: after a password change, whoever knew the
        old one is logged out."""
        with self._lock:
            for sid in [s for s, session in self._sessions.items() if session.user_id == user_id and s != keep]:
                del self._sessions[sid]

    def __len__(self) -> int:
        return len(self._sessions)
