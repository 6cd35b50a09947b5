"""API keys: bearer tokens for the JSON API, one user each, revocable one by one.

A token is 256 random bits behind a recognisable ``sk_`` (so a leaked one is easy to spot
in logs and code); only its SHA-256 is stored, and it is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from ..store.models import ApiKey, User
from .users import Principal

TOKEN_PREFIX = "sk_"
SHOWN_PREFIX = len(TOKEN_PREFIX) + 8     # how much of a token lists show to name it
MAX_NAME = 64
TOUCH_INTERVAL = 60.0                    # last_used_at is written at most once a minute


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_name(name: str) -> str:
    if len(name) > MAX_NAME or not name.isprintable():
        raise ValueError(f"a key's name is at most {MAX_NAME} printable characters")
    return name


def create(user: User, name: str = "", *, now: float | None = None) -> tuple[ApiKey, str]:
    """A new key for the user; the token is returned here and nowhere else, ever."""
    validate_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.create(user=user, name=name, prefix=token[:SHOWN_PREFIX], token_hash=_digest(token),
                        created_at=time.time() if now is None else now)
    return key, token


def listed(user: User | None = None) -> list[ApiKey]:
    """Every key, or one user's, oldest first."""
    query = ApiKey.select(ApiKey, User).join(User).order_by(ApiKey.created_at, ApiKey.id)
    return list(query if user is None else query.where(ApiKey.user == user))


def revoke(key_id: int) -> bool:
    return ApiKey.delete().where(ApiKey.id == key_id).execute() == 1


def authenticate(token: str, *, now: float | None = None) -> Principal | None:
    """The key's user, or None. The lookup goes by the token's hash, so timing tells
    nothing about stored tokens; the comparison is constant-time all the same."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = _digest(token)
    key = ApiKey.select(ApiKey, User).join(User).where(ApiKey.token_hash == digest).first()
    if key is None or not hmac.compare_digest(key.token_hash, digest):
        return None
    now = time.time() if now is None else now
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_INTERVAL:
        ApiKey.update(last_used_at=now).where(ApiKey.id == key.id).execute()
    return Principal(key.user.id, key.user.name, key.user.is_admin)
