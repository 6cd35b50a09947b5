"""Who is calling the JSON API: an API key (``Authorization: Bearer``) or a user name
and password (HTTP Basic), and what that caller may do."""

from __future__ import annotations

import base64
import binascii

from ...accounts import api_keys
from ...accounts.authenticator import Authenticator
from ...accounts.users import Principal
from .wire import ApiError

CHALLENGE = 'Bearer realm="SMS Appliance", Basic realm="SMS Appliance", charset="UTF-8"'


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": CHALLENGE})


def principal_of(header: str | None, authenticator: Authenticator, address: str | None = None) -> Principal:
    if not header or not header.strip():
        raise _unauthenticated("give an API key (Authorization: Bearer <key>) or a user name and "
                               "password (HTTP Basic)")
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        principal = api_keys.authenticate(credentials)
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthenticated("the Basic credentials are not base64 of UTF-8 name:password") from None
        name, colon, password = decoded.partition(":")
        principal = authenticator.authenticate(name, password, address=address) if colon and name else None
    else:
        raise _unauthenticated(f"the {scheme!r} scheme is not supported: use Bearer or Basic")
    if principal is None:
        # the same answer for every kind of wrong: which part was wrong stays private
        raise _unauthenticated("unknown API key, or unknown user or wrong password")
    return principal


def require_admin(principal: Principal) -> None:
    if not principal.is_admin or principal.external:
        raise ApiError(403, "forbidden", "only an administrator of this appliance may do this")


def require_local(principal: Principal, what: str) -> int:
    """The caller's user id: only local users have contacts, groups and keys of their own."""
    if principal.external or principal.id is None:
        raise ApiError(403, "forbidden", f"{what} belong to local users, and {principal.name} is not one")
    return principal.id
