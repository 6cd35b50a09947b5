"""Receive connectors: other systems (a provider's callback, another appliance) post SMS
they received to ``/receive/<name>``; each connector files them into a connector's inbox,
or also hands them to a webhook connector.

A connector's token is shown once, when it is made; only its SHA-256 is kept (a random
256-bit token needs no slow hash). A message is stored as an InboundMessage whose
``gateway`` is the receive connector's name, in the same transaction as its webhook
event, so it is read, removed and forwarded like an SMS from a modem.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import peewee

from .. import pdu
from ..messages import numbers
from ..store.inbox import RECEIVED_MESSAGE_TYPE
from ..store.models import InboundMessage, ReceiveConnector
from . import webhook

INBOX, WEBHOOK = "inbox", "webhook"
ROUTINGS = (INBOX, WEBHOOK)
# what each routing needs its target to be (a connector of this type)
TARGET_KINDS = {INBOX: "http", WEBHOOK: "webhook"}

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_SUBJECT = 200
MAX_TEXT = 65_536
MAX_ADDRESS = 32                       # an originator: a number or an alphanumeric sender
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9._:{}\-]{1,64}$")


class UnknownConnector(ValueError):
    pass


class Conflict(ValueError):
    """A message id already used by another message of the same connector."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_matches(connector: ReceiveConnector, token: str | None) -> bool:
    """True when no token is required or ``token`` is the connector's (constant time)."""
    if not connector.require_token:
        return True
    if not token or not connector.token_hash:
        return False
    return hmac.compare_digest(hash_token(token), connector.token_hash)


def get(name: str) -> ReceiveConnector:
    connector = ReceiveConnector.get_or_none(ReceiveConnector.name == name)
    if connector is None:
        raise UnknownConnector(f"no receive connector named {name!r}")
    return connector


def list_all() -> list[ReceiveConnector]:
    return list(ReceiveConnector.select().order_by(ReceiveConnector.name))


def remove(name: str) -> None:
    if not ReceiveConnector.delete().where(ReceiveConnector.name == name).execute():
        raise UnknownConnector(f"no receive connector named {name!r}")


def check_target(routing: str, target: str, connectors: Mapping[str, str]) -> None:
    """ValueError unless ``target`` is a configured connector that suits ``routing``.
    ``connectors`` maps each configured connector's name to its type."""
    kind = connectors.get(target)
    if kind is None:
        raise ValueError(f"target: no connector named {target!r} is configured "
                         f"(there are: {', '.join(connectors) or 'none'})")
    wanted = TARGET_KINDS[routing]
    if kind != wanted:
        raise ValueError(f"target: connector {target!r} is of type {kind!r}; routing {routing!r} "
                         f"needs a connector of type {wanted!r}")


def set_connector(name: str, connectors: Mapping[str, str], *, number: str | None = None,
                  routing: str | None = None, target: str | None = None, subject: str | None = None,
                  require_token: bool | None = None, generate_token: bool = False
                  ) -> tuple[ReceiveConnector, str | None]:
    """Create or change a receive connector; return it and its new token, if one was made.

    Only the settings given change. A new connector requires a token unless told not
    to, and gets one. Without a target, a new connector (or one whose routing changes)
    targets the one connector of the type its routing needs: for ``inbox`` the HTTP API,
    whose inbox receive-messages reads. Raises ValueError naming the setting.
    """
    if not _NAME.match(name):
        raise ValueError("name must be 1 to 64 letters, digits or . _ - (it is part of the URL)")
    if generate_token and require_token is False:
        raise ValueError("a new token and no token: choose one")
    existing = ReceiveConnector.get_or_none(ReceiveConnector.name == name)
    connector = existing if existing is not None else ReceiveConnector(name=name, created_at=time.time())
    if number is not None:
        connector.number = "" if number == "" else _number(number, "number")
    if routing is not None:
        if routing not in ROUTINGS:
            raise ValueError(f"routing: {routing!r} is not one of {', '.join(ROUTINGS)}")
        changed = existing is None or connector.routing != routing
        connector.routing = routing
    else:
        changed = existing is None
    if target is not None:
        connector.target = target
    elif changed:
        connector.target = _default_target(connector.routing, connectors)
    if not connector.target:
        raise ValueError(f"target: routing {connector.routing!r} needs --target, the name of a "
                         f"connector of type {TARGET_KINDS[connector.routing]!r}")
    check_target(connector.routing, connector.target, connectors)
    if subject is not None:
        if len(subject) > MAX_SUBJECT:
            raise ValueError(f"subject: longer than {MAX_SUBJECT} characters")
        connector.subject = subject
    token = None
    if require_token is False:
        connector.require_token, connector.token_hash = False, ""
    elif generate_token or existing is None or (connector.require_token and not connector.token_hash):
        token = new_token()
        connector.require_token, connector.token_hash = True, hash_token(token)
    connector.save()
    return connector, token


def _default_target(routing: str, connectors: Mapping[str, str]) -> str:
    """The one connector that suits ``routing``, or '' when there is none or a choice."""
    suitable = [name for name, kind in connectors.items() if kind == TARGET_KINDS[routing]]
    return suitable[0] if len(suitable) == 1 else ""


def _number(value: str, field: str) -> str:
    try:
        return numbers.normalize(value)
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None


@dataclass(frozen=True)
class Received:
    """One SMS as another system reports it, checked (see ``received``)."""

    originator: str
    recipient: str
    text: str
    sent_at: float | None = None
    message_id: str | None = None


def received(connector: ReceiveConnector, *, originator: str | None, recipient: str | None,
             text: str | None, sent_at: float | None = None, message_id: str | None = None) -> Received:
    """Check what was posted; ValueError names the field and the reason."""
    originator = (originator or "").strip()
    if not originator:
        raise ValueError("from: is missing or empty")
    if len(originator) > MAX_ADDRESS or not originator.isprintable():
        raise ValueError(f"from: must be at most {MAX_ADDRESS} printable characters")
    recipient = (recipient or "").strip() or connector.number
    if recipient:
        recipient = _number(recipient, "to")
    if text is None:
        raise ValueError("message: is missing")
    if len(text) > MAX_TEXT:
        raise ValueError(f"message: longer than {MAX_TEXT} characters")
    if message_id is not None and not _MESSAGE_ID.match(message_id):
        raise ValueError("message-id: use 1 to 64 letters, digits or . _ : { } -")
    return Received(originator, recipient, text, sent_at, message_id)


def store(database: peewee.Database, connector: ReceiveConnector, message: Received,
          *, now: float | None = None,
          on_new: Callable[[InboundMessage], object] = lambda message: None) -> tuple[InboundMessage, bool]:
    """Keep the message (and queue its webhook event); return it and whether it is new.

    The same message id posted again (a retry after a lost answer) gives back the message
    stored the first time; the same id with another text raises Conflict. ``on_new`` sees
    a new message inside the transaction that stores it, as the modems' received SMS are
    seen (a stop word blocks its sender: connectors/stop_words.py).
    """
    try:
        encoding = pdu.count(message.text).encoding if message.text else "gsm7"
    except pdu.PDUError as error:
        raise ValueError(f"message: {error}") from None
    message_id = f"{connector.name}:{message.message_id}" if message.message_id else str(uuid.uuid4())
    now = time.time() if now is None else now
    try:
        with database.atomic():
            stored = InboundMessage.create(
                id=message_id, gateway=connector.name, originator=message.originator,
                recipient=message.recipient, text=message.text, message_type=RECEIVED_MESSAGE_TYPE[encoding],
                sent_at=message.sent_at, received_at=now, connectors=connector.target)
            on_new(stored)
            if connector.routing == WEBHOOK:
                event = webhook.sms_event(stored) | {"receive_connector": connector.name,
                                                     "subject": connector.subject}
                webhook.enqueue([connector.target], event, now)
        return stored, True
    except peewee.IntegrityError:
        earlier = InboundMessage.get_or_none(InboundMessage.id == message_id)
        if earlier is None:
            raise
        if (earlier.originator, earlier.recipient, earlier.text) != (message.originator, message.recipient,
                                                                     message.text):
            raise Conflict(f"message-id: {message.message_id!r} is already used by another message") from None
        return earlier, False
