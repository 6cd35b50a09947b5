"""Checking a send request and turning it into queued messages, for every API alike.

The Diafaan API (``/http/send-message``) and the JSON API (``POST /api/v1/messages``)
accept the same things and must refuse the same things for the same reasons. Each hands
over its fields as values already taken out of its own wire format; a refusal is one
:class:`SubmissionError` that names the field as that API calls it, so each API can show
it in its own way and nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import peewee

from .. import pdu
from ..accounts.users import Principal
from ..messages import blocklist, contacts, numbers
from ..messages.contacts import Recipient
from ..messages.types import DEFAULT_MESSAGE_TYPE, MESSAGE_TYPES
from ..store import message_ids
from ..store.queue import NewMessage, Queue
from .diafaan.common import MESSAGE_REJECTED, NO_RECIPIENTS, WEB_USER_NOT_FOUND

if TYPE_CHECKING:
    from .capacity import Capacity

MAX_PARTS = 255                    # the concatenation header counts parts in one octet
MAX_RECIPIENTS = 10_000
MAX_SENDER = 32                    # as written, separators included
MAX_VALIDITY = 10 * 365 * 86400
PRIORITY_RANGE = (-1_000_000, 1_000_000)
_SHOWN_BLOCKED = 5                 # blocked numbers an error lists by number
_GUID = re.compile(r"^[A-Za-z0-9._:{}\-]{1,64}$")

# what each API calls the fields, so that an error names the field the caller wrote
HTTP_NAMES: Mapping[str, str] = {
    "to": "to", "contact_names": "contact-name", "message": "message", "message_type": "message-type",
    "sender": "from", "guid": "message-guid", "info": "message-info", "gateways": "gateway",
    "priority": "priority", "validity_period": "validity-period", "scheduled": "scheduled",
}
JSON_NAMES: Mapping[str, str] = {
    "to": "to", "contact_names": "contact_names", "message": "message", "message_type": "message_type",
    "sender": "from", "guid": "guid", "info": "info", "gateways": "gateways",
    "priority": "priority", "validity_period": "validity_period", "scheduled": "scheduled",
}


class SubmissionError(Exception):
    """Why a send request is refused: Diafaan's code, the field (as the caller's API names
    it, None when no one field is at fault) and a sentence for a person."""

    def __init__(self, code: int, field: str | None, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.field = field
        self.text = text


class GuidTaken(SubmissionError):
    """The guid names another, earlier message: the request conflicts with what is stored."""


class AllBlocked(SubmissionError):
    """Every recipient is on the block list: there is nothing to send."""


@dataclass(frozen=True)
class Fields:
    """A send request's values; integers may still be text, as the Diafaan API gets them."""

    to: Sequence[str] = ()
    contact_names: Sequence[str] = ()
    message: str = ""
    message_type: str = ""
    sender: str = ""
    guid: str = ""
    info: str = ""
    gateways: Sequence[str] = ()
    priority: int | str | None = None
    validity_period: int | str | None = None
    scheduled: str | None = None


def build(fields: Fields, principal: Principal, *, names: Mapping[str, str], known_gateways: Sequence[str],
          connector: str, country_code: str | None = None) -> list[NewMessage]:
    """One message per recipient, in the order of ``to`` and then of the contact names.
    ``country_code`` completes national numbers (``[routing] country_code``)."""
    recipients = _recipients(fields, principal, names, country_code)
    text = fields.message
    if not text.strip():
        raise SubmissionError(MESSAGE_REJECTED, names["message"], f"{names['message']} is empty")
    message_type = fields.message_type.strip() or DEFAULT_MESSAGE_TYPE
    kind = MESSAGE_TYPES.get(message_type)
    if kind is None:
        field = names["message_type"]
        raise SubmissionError(MESSAGE_REJECTED, field, f"{field}: {message_type!r} is not one of "
                                                       f"{', '.join(MESSAGE_TYPES)}")
    try:
        parts = pdu.count(text, encoding=kind.encoding).parts
    except pdu.PDUError as error:
        raise SubmissionError(MESSAGE_REJECTED, names["message"], f"{names['message']}: {error}") from None
    if parts > MAX_PARTS:
        raise SubmissionError(MESSAGE_REJECTED, names["message"],
                              f"{names['message']}: {parts} SMS parts; at most {MAX_PARTS} can be joined")
    sender = _sender(fields.sender, names["sender"], country_code)
    guid = fields.guid.strip() or None
    if guid is not None and not _GUID.match(guid):
        raise SubmissionError(MESSAGE_REJECTED, names["guid"],
                              f"{names['guid']}: use 1 to 64 letters, digits or . _ : {{ }} -")
    priority = _integer(fields.priority, names["priority"], *PRIORITY_RANGE) or 0
    validity = _integer(fields.validity_period, names["validity_period"], 1, MAX_VALIDITY)
    scheduled = _scheduled(fields.scheduled, names["scheduled"])
    gateways = _gateways(fields.gateways, known_gateways)
    return [
        NewMessage(recipient=recipient.number, contact_name=recipient.contact_name, text=text, sender=sender,
                   message_type=message_type, message_guid=guid or "", message_info=fields.info,
                   gateways=gateways, priority=priority, validity_period=validity, scheduled_at=scheduled,
                   user_id=principal.id, id=message_id, connector=connector)
        for recipient, message_id in zip(recipients, _message_ids(guid, _owner(principal), len(recipients)),
                                         strict=True)
    ]


def screen(messages: list[NewMessage], *, names: Mapping[str, str]) -> tuple[list[NewMessage], list[NewMessage]]:
    """The messages to send, and those whose recipient is on the block list, which are not
    sent (each API says so in its own way). :class:`AllBlocked` when none is left."""
    blocked = blocklist.blocked(m.recipient for m in messages)
    if not blocked:
        return messages, []
    allowed = [m for m in messages if m.recipient not in blocked]
    if not allowed:
        to = names["to"]
        shown = sorted(blocked)
        listed = ", ".join(shown[:_SHOWN_BLOCKED]) + (f" and {len(shown) - _SHOWN_BLOCKED} more"
                                                      if len(shown) > _SHOWN_BLOCKED else "")
        raise AllBlocked(NO_RECIPIENTS, to, f"{to}: every recipient is on the block list ({listed})")
    return allowed, [m for m in messages if m.recipient in blocked]


def commit(queue: Queue, messages: list[NewMessage], *, names: Mapping[str, str],
           capacity: Capacity | None = None) -> tuple[list[str], bool]:
    """Queue the messages durably in one commit; return their public ids and whether they
    are new.

    A request repeated with the same guid (say, after a timeout) gets the same ids and
    queues nothing; another message under a guid the same caller used is refused. A guid
    is the caller's own (store/message_ids.py): another caller's use of it changes nothing.
    ``capacity``: the user's limit of waiting parts and the store's room (web/capacity.py).
    """
    if messages and messages[0].message_guid:
        repeated = _repeated_request(messages, names)
        if repeated is not None:
            return repeated, False
    if capacity is not None:
        capacity.admit(messages, names)
    try:
        return [message_ids.public_id(i) for i in queue.accept(messages)], True
    except peewee.IntegrityError:  # the same guid from a concurrent request of the caller's won the race
        raise _guid_taken(names) from None
    except (peewee.OperationalError, OSError) as error:
        full = capacity.refusal(error) if capacity is not None else None
        if full is None:
            raise
        raise full from None


def _guid_taken(names: Mapping[str, str]) -> GuidTaken:
    return GuidTaken(MESSAGE_REJECTED, names["guid"], f"{names['guid']} is already used by another message")


def _integer(raw: int | str | None, name: str, low: int, high: int) -> int | None:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if isinstance(raw, bool):
        raise SubmissionError(MESSAGE_REJECTED, name, f"{name}: {raw!r} is not a whole number")
    try:
        value = int(raw.strip()) if isinstance(raw, str) else int(raw)
    except ValueError:
        raise SubmissionError(MESSAGE_REJECTED, name, f"{name}: {raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SubmissionError(MESSAGE_REJECTED, name, f"{name}: {value} is not between {low} and {high}")
    return value


def _scheduled(raw: str | None, name: str) -> float | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
        # without an offset the time is the appliance's local time, as in Diafaan
        return moment.timestamp()
    except (ValueError, OverflowError, OSError):
        raise SubmissionError(MESSAGE_REJECTED, name, f"{name}: {raw!r} is not an ISO 8601 date and time "
                                                      "like 2020-12-31T19:35:00") from None


def _sender(raw: str, name: str, country_code: str | None) -> str:
    if len(raw.strip()) > MAX_SENDER:
        raise SubmissionError(MESSAGE_REJECTED, name, f"{name}: longer than {MAX_SENDER} characters")
    try:
        return numbers.sender(raw, country_code)
    except ValueError as error:
        raise SubmissionError(MESSAGE_REJECTED, name, f"{name}: {error}") from None


def _recipients(fields: Fields, principal: Principal, names: Mapping[str, str],
                country_code: str | None) -> list[Recipient]:
    """The numbers of `to`, then those the contact names stand for, in the order given."""
    to, by_name = names["to"], names["contact_names"]
    if not fields.to and not fields.contact_names:
        raise SubmissionError(NO_RECIPIENTS, to, f"{to} is missing or empty")
    if len(fields.to) > MAX_RECIPIENTS:
        raise SubmissionError(MESSAGE_REJECTED, to, f"{to}: more than {MAX_RECIPIENTS} recipients in one request")
    result = []
    for entry in fields.to:
        try:
            result.append(Recipient(numbers.normalize(entry, country_code)))
        except ValueError as error:
            raise SubmissionError(MESSAGE_REJECTED, to, f"{to}: {error}") from None
    if fields.contact_names:
        if principal.external or principal.id is None:
            raise SubmissionError(WEB_USER_NOT_FOUND, by_name, f"{by_name}: contacts belong to local users, "
                                                               f"and {principal.name} is not one")
        try:
            # a contact kept as a national number is completed like one in `to`
            result += [Recipient(numbers.normalize(r.number, country_code), r.contact_name)
                       for r in contacts.resolve(principal.id, list(fields.contact_names))]
        except contacts.UnknownName as error:
            raise SubmissionError(NO_RECIPIENTS, by_name, f"{by_name}: {error}") from None
        if not result:
            raise SubmissionError(NO_RECIPIENTS, by_name, f"{by_name}: the groups named have no members")
    if len(result) > MAX_RECIPIENTS:
        raise SubmissionError(MESSAGE_REJECTED, to, f"{to}: more than {MAX_RECIPIENTS} recipients in one request")
    return result


def _gateways(wanted: Sequence[str], known: Sequence[str]) -> str:
    """Only exact names of existing gateways count; others are ignored, as Diafaan does."""
    return ";".join(name for name in dict.fromkeys(n.strip() for n in wanted) if name and name in known)


def _owner(principal: Principal) -> message_ids.Owner:
    """Whose namespace the caller's guids are in: its account, or for a caller the
    authentication callback vouched for (no account), its name."""
    return principal.id if principal.id is not None else f"callback:{principal.name}"


def _message_ids(guid: str | None, owner: message_ids.Owner, count: int) -> list[str | None]:
    """The stored keys: the guid as the client sees it (``<guid>-<n>`` for several
    recipients), within the owner's own messages."""
    if not guid:
        return [None] * count
    if count == 1:
        return [message_ids.stored_id(owner, guid)]
    return [message_ids.stored_id(owner, f"{guid}-{n}") for n in range(1, count + 1)]


def _repeated_request(messages: list[NewMessage], names: Mapping[str, str]) -> list[str] | None:
    """The public ids of the caller's earlier request with this guid, if it was the same
    one; a different message under it is refused. Only the caller's own messages count."""
    first = messages[0]
    if first.id is None:
        return None
    # a local user's own messages include those stored before guids were kept per user
    owner = first.user_id if first.user_id is not None else first.id.rpartition(message_ids.SEPARATOR)[0]
    existing = [None if m.id is None else message_ids.find(message_ids.public_id(m.id), owner) for m in messages]
    if not any(existing):
        return None
    ids = []
    for found, message in zip(existing, messages, strict=True):
        if found is None or ((found.recipient, found.text, found.user_id)
                             != (message.recipient, message.text, message.user_id)):
            raise _guid_taken(names)
        ids.append(message_ids.public_id(found.id))
    return ids
