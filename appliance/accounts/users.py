"""Users and their passwords: scrypt hashes, constant-time checks, no default password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config.file import USER_NAME, USER_NAME_RULE
from ..store.models import User

# scrypt is memory-hard and in the standard library; 16 MiB per hash
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Principal:
    """Who is calling: what the API needs to know after authentication."""

    id: int | None          # None for a caller vouched for by the authentication callback
    name: str
    is_admin: bool
    # authenticated by the external HTTP callback, not by a local user: no contacts, no inbox
    # of its own, and no administrator commands (Diafaan error 310)
    external: bool = False


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    encode = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt)}${encode(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), maxmem=64 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# a hash to check against when the user does not exist, so that the answer takes as long
_DUMMY_HASH = hash_password(secrets.token_hex(16))


def validate_name(name: str) -> str:
    if not USER_NAME.match(name):
        raise ValueError(USER_NAME_RULE)
    return name


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return password


def set_user(name: str, password: str, *, admin: bool = False) -> User:
    """Create the user or change its password and role. A password set here was chosen by
    someone, so it is no longer the one-time password of first start."""
    validate_name(name)
    validate_password(password)
    hashed = hash_password(password)
    user = User.get_or_none(User.name == name)
    if user is None:
        return User.create(name=name, password_hash=hashed, is_admin=admin, created_at=time.time())
    user.password_hash = hashed
    user.is_admin = admin
    user.must_change_password = False
    user.save()
    return user


def authenticate(name: str, password: str, *,
                 external: Callable[[str, str], bool] | None = None) -> Principal | None:
    """A local user's rights, or, for a name that is no local user, an external caller
    when ``external`` (the HTTP authentication callback) vouches for the pair."""
    user = User.get_or_none(User.name == name)
    if user is None:
        if external is not None:
            return Principal(None, name, False, external=True) if external(name, password) else None
        check_password(password, _DUMMY_HASH)
        return None
    if not check_password(password, user.password_hash):
        return None
    return Principal(user.id, user.name, user.is_admin)


_STANDING = 'SELECT password_hash, is_admin FROM "user" WHERE name = ?'


def standing(name: str) -> tuple[str, bool] | None:
    """What a remembered login rests on: the user's password hash and role as they are now
    (None: no local user of that name). One row read by the unique index on the name."""
    # fixed SQL: built by peewee, this read cost more than the rest of a cached check
    row = User._meta.database.cursor().execute(_STANDING, (name,)).fetchone()
    return None if row is None else (row[0], bool(row[1]))


def guest(name: str) -> Principal:
    """The rights of the guest account ``name``; ValueError says why it cannot be one.

    An administrator is never a guest: a request without any password must not be able
    to manage the appliance.
    """
    user = User.get_or_none(User.name == name)
    if user is None:
        raise ValueError(f"no local user {name!r}: create it with "
                         f"`sms-appliance user set {name} --password ...` (without --admin)")
    if user.is_admin:
        raise ValueError(f"user {name!r} is an administrator and cannot be the guest account")
    return Principal(user.id, user.name, False)


def ensure_admin() -> str | None:
    """On first start, create ``admin`` with a random password and return it, once.

    Returns None when an administrator exists: the password is never shown again.
    """
    if User.select().where(User.is_admin == True).exists():  # noqa: E712
        return None
    password = secrets.token_urlsafe(12)
    user = set_user("admin", password, admin=True)
    # printed on the console: the web pages ask for the administrator's own before anything else
    User.update(must_change_password=True).where(User.id == user.id).execute()
    return password
