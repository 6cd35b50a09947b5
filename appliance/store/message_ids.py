"""The id a client sees for an outbound message, and finding a message by that id.

A caller's ``message-guid`` names its message(s) for that caller alone: two users may use
the same guid, and neither can learn that the other did. So the stored key of a guid
message is ``<owner>/<public id>`` (``7/order-1234``, ``7/order-1234-2``), unique per
owner by the primary key, and the client sees and asks by the public id alone. Other
messages keep a generated uuid (:func:`new_id`), which is their public id too; so do guid messages stored
before guids were kept per user. A public id never holds a ``/`` (the guid's characters
are checked in web/submission.py, and uuids have none), which is how the two are told apart.
"""

from __future__ import annotations

import secrets
import time
import uuid

import peewee

from .models import OutboundMessage, User

SEPARATOR = "/"

# who a guid belongs to: a local user's id, or the name of a caller the authentication
# callback vouched for (no account, so no id)
Owner = int | str


def new_id() -> str:
    """A generated message id: a version-7 uuid, its first 48 bits the time in milliseconds
    and its other 74 free bits random. Ids made later sort later, so each new message lands
    on the last leaf of the primary key's index, where a random uuid rewrote a random page
    of it for every message; the 74 random bits keep it as hard to guess as an id needs."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76        # the version: 7
    value = value & ~(0x3 << 62) | 0x2 << 62        # the variant: RFC 9562
    return str(uuid.UUID(int=value))


def stored_id(owner: Owner, public: str) -> str:
    """The key a guid message is stored under: unique within its owner's messages."""
    return f"{owner}{SEPARATOR}{public}"


def public_id(message_id: str) -> str:
    """The id every reply, listing and webhook shows for the message stored as ``message_id``."""
    return message_id.rpartition(SEPARATOR)[2]


def find(client_id: str, owner: Owner | None, *, everyone: bool = False) -> OutboundMessage | None:
    """The message a client names by its public id: the owner's own first. With
    ``everyone`` (an administrator) a public id used by several users names the oldest
    such message of a local user when the owner has none of its own (of an owner with no
    account, when no local user has one); anyone else finds only their own."""
    if not client_id or SEPARATOR in client_id:  # a public id has none: a stored key is not one
        return None
    if owner is not None:
        own = OutboundMessage.id == stored_id(owner, client_id)
        if isinstance(owner, int):  # a uuid, or a guid stored before guids were kept per user
            own |= (OutboundMessage.id == client_id) & (OutboundMessage.user == owner)
        message = _first(own)
        if message is not None or not everyone:
            return message
    elif not everyone:
        return None
    # the keys it can have, each one lookup of the primary key: a uuid, or any local
    # user's guid; only when none is there, the keys of owners the store cannot list (a
    # caller the authentication callback vouched for, a user since deleted), which is a
    # read of every key (0.6 s with a million messages)
    keys = [client_id, *(stored_id(user_id, client_id) for user_id in User.select(User.id).scalars())]
    message = _first(OutboundMessage.id.in_(keys))
    if message is not None:
        return message
    suffix = SEPARATOR + client_id
    return _first(peewee.fn.substr(OutboundMessage.id, -len(suffix)) == suffix)


def _first(where: peewee.Expression) -> OutboundMessage | None:
    return (OutboundMessage.select().where(where)
            .order_by(OutboundMessage.created_at, OutboundMessage.id).first())
