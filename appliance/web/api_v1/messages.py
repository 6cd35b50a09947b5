"""/api/v1/messages: send one text to one or many recipients, follow each message, cancel
a queued one, and read the delivery reports of its parts."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal, cast

import msgspec
import peewee
from msgspec import Meta

from ...accounts.users import Principal
from ...config import schema
from ...messages import numbers
from ...messages import status as message_status
from ...messages.types import MESSAGE_TYPES
from ...store import message_ids
from ...store.models import MessagePart, OutboundMessage, parts_of
from ...store.reports import outcome, report_status_text
from .. import submission
from ..capacity import DiskFull
from ..submission import AllBlocked, GuidTaken, SubmissionError
from .auth import require_local
from .endpoint import Api, Call, Reply
from .fields import Input, Output, Time, timestamp
from .wire import ApiError, invalid, not_found

# MessageState's values, as a type the API's declarations can name (tests check they agree)
State = Literal["queued", "sending", "sent", "delivered", "failed", "undelivered", "expired", "removed"]
STATES: tuple[str, ...] = schema.choices(State)
MAX_PAGE = 1000
Recipients = Annotated[tuple[str, ...], Meta(max_length=submission.MAX_RECIPIENTS)]
LOCAL = "an RFC 3339 date and time (without an offset: the appliance's local time)"
Limit = Annotated[int, Meta(ge=1, le=MAX_PAGE, description="how many at most")]


class SendRequest(Input, kw_only=True):
    """POST /messages. The wire's types and sizes are checked here; what a message may
    say (a number, a known type, a time) is :mod:`..submission`'s, shared with the
    Diafaan API; its ranges are documented here."""

    to: Recipients = ()
    contact_names: Recipients = ()
    message: Annotated[str, Meta(max_length=100_000)]
    message_type: Annotated[str, Meta(max_length=64, extra_json_schema={"enum": list(MESSAGE_TYPES)})] = ""
    sender: Annotated[str, Meta(max_length=64, extra_json_schema={"maxLength": submission.MAX_SENDER})
                      ] = msgspec.field(default="", name="from")
    guid: Annotated[str, Meta(max_length=128)] = ""
    info: Annotated[str, Meta(max_length=10_000)] = ""
    gateways: Annotated[tuple[str, ...], Meta(max_length=100)] = ()
    priority: Annotated[int, Meta(extra_json_schema={"minimum": submission.PRIORITY_RANGE[0],
                                                     "maximum": submission.PRIORITY_RANGE[1]})] | None = None
    validity_period: Annotated[int, Meta(extra_json_schema={"minimum": 1, "maximum": submission.MAX_VALIDITY})
                               ] | None = None
    scheduled: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None = None


class MessagesQuery(Input, kw_only=True):
    state: Annotated[State, Meta(description="only in this state")] | None = None
    since: Annotated[datetime, Meta(description=f"created at or after; {LOCAL}")] | None = None
    until: Annotated[datetime, Meta(description=f"created before; {LOCAL}")] | None = None
    recipient: Annotated[str, Meta(description="only to this number")] | None = None
    limit: Limit = 100
    cursor: Annotated[str, Meta(description="next_cursor of the page before")] | None = None
    offset: Annotated[int, Meta(ge=0, le=1_000_000_000, description="skip this many (instead of cursor)")
                      ] | None = None

# Diafaan's refusal codes as the JSON API answers them
_REFUSALS = {
    submission.NO_RECIPIENTS: (422, "no_recipients"),
    submission.MESSAGE_REJECTED: (422, "message_rejected"),
    submission.WEB_USER_NOT_FOUND: (403, "web_user_not_found"),
}


@contextmanager
def submission_refusals() -> Iterator[None]:
    """A send request's refusals (web/submission.py) as the JSON API answers them: for
    POST /messages and a gateway's test SMS alike."""
    try:
        yield
    except GuidTaken as error:
        raise ApiError(409, "guid_taken", error.text, error.field) from None
    except AllBlocked as error:
        raise ApiError(422, "recipients_blocked", error.text, error.field) from None
    except DiskFull as error:
        raise ApiError(503, "storage_full", error.text, headers={"Retry-After": "60"}) from None
    except SubmissionError as error:
        status, code = _REFUSALS[error.code]
        raise ApiError(status, code, error.text, error.field) from None


class Accepted(Output):
    id: str
    recipient: str
    contact_name: str


class Blocked(Output):
    """A recipient nothing was sent to: the number is on the block list."""

    recipient: str
    contact_name: str
    reason: str


class AcceptedList(Output):
    messages: list[Accepted]
    blocked: list[Blocked]


class StatusCode(Output):
    """Diafaan's status of a message (200 Sent, 201 Delivered, ...)."""

    code: int
    text: str


class Failure(Output):
    code: int | None
    text: str


class Message(Output):
    id: str
    recipient: str
    contact_name: str
    sender: str = msgspec.field(name="from")
    message: str
    message_type: str
    guid: str
    info: str
    gateways: list[str]
    priority: int
    validity_period: int | None
    scheduled: Time | None
    expires_at: Time | None
    state: State
    status: StatusCode
    gateway: str
    attempts: int
    error: Failure | None
    parts_total: int
    created_at: Time
    updated_at: Time
    sent_at: Time | None


class Part(Output):
    sequence: int
    state: Literal["pending", "sent", "delivered", "failed"]
    reference: int | None
    gateway: str
    sent_at: Time | None
    tp_status: int | None


class PartDetail(Part):
    reported_at: Time | None


class MessageDetail(Message):
    parts: list[PartDetail]


class MessageList(Output):
    messages: list[Message]
    next_cursor: str | None


Outcome = Literal["delivered", "pending", "failed"]   # store/reports.py's outcome()


class PartReport(Part):
    tp_status_text: str | None
    outcome: Outcome | None
    reported_at: Time | None


class Reports(Output):
    message_id: str
    state: State
    parts: list[PartReport]


def _message_fields(message: OutboundMessage, now: float) -> dict:
    code, text = message_status.status_of(message, now)
    failed = message.error_code is not None or message.error_text
    return {
        "id": message_ids.public_id(message.id), "recipient": message.recipient, "contact_name": message.contact_name,
        "sender": message.sender, "message": message.text, "message_type": message.message_type,
        "guid": message.message_guid, "info": message.message_info,
        "gateways": [name for name in message.gateways.split(";") if name],
        "priority": message.priority, "validity_period": message.validity_period,
        "scheduled": timestamp(message.scheduled_at), "expires_at": timestamp(message.expires_at),
        "state": message.state, "status": StatusCode(code, text), "gateway": message.gateway,
        "attempts": message.attempts,
        "error": Failure(message.error_code, message.error_text) if failed else None,
        "parts_total": message.parts_total, "created_at": timestamp(message.created_at),
        "updated_at": timestamp(message.updated_at), "sent_at": timestamp(message.sent_at)}


def _part_fields(part: MessagePart) -> dict:
    return {"sequence": part.sequence, "state": part.state, "reference": part.reference, "gateway": part.gateway,
                "sent_at": timestamp(part.sent_at), "tp_status": part.status}


def detail(message: OutboundMessage, now: float) -> MessageDetail:
    return MessageDetail(**_message_fields(message, now), parts=[
        PartDetail(**_part_fields(p), reported_at=timestamp(p.reported_at)) for p in parts_of(message)])


def _visible(principal: Principal) -> peewee.ColumnBase:
    """Administrators see every message, users their own. A caller the authentication
    callback vouched for has no account its messages are kept under, so it sees none: it
    could only be shown every such caller's messages."""
    user_id = require_local(principal, "sent messages")
    if principal.is_admin:
        return peewee.SQL("1 = 1")
    return OutboundMessage.user == user_id


def _find(call: Call, message_id: str) -> OutboundMessage:
    """By the id the client was given: the caller's own message; an administrator's own,
    else any user's (store/message_ids.py)."""
    principal = call.principal
    message = message_ids.find(message_id, require_local(principal, "sent messages"), everyone=principal.is_admin)
    if message is None:  # another user's message is as good as absent
        raise not_found(f"message {message_id!r}")
    return message


def _cursor(message: OutboundMessage) -> str:
    raw = json.dumps([message.created_at, message.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> peewee.Expression:
    try:
        created_at, message_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(created_at, (int, float)) or isinstance(created_at, bool) or not isinstance(message_id, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid("cursor", "cursor: not a cursor this API gave out; use next_cursor as it is") from None
    return ((OutboundMessage.created_at < created_at)
            | ((OutboundMessage.created_at == created_at) & (OutboundMessage.id < message_id)))


def _fields(body: SendRequest) -> submission.Fields:
    return submission.Fields(
        to=body.to, contact_names=body.contact_names, message=body.message, message_type=body.message_type,
        sender=body.sender, guid=body.guid, info=body.info, gateways=body.gateways, priority=body.priority,
        validity_period=body.validity_period, scheduled=body.scheduled)


def install(api: Api) -> None:
    @api.route("POST", "/messages")
    def send(call: Call) -> Reply:
        http = call.context.http
        fields = _fields(call.body(SendRequest))
        names = submission.JSON_NAMES
        with submission_refusals():
            messages = submission.build(fields, call.principal, names=names, known_gateways=http.gateway_names(),
                                        connector=http.connector, country_code=http.country_code)
            messages, blocked = submission.screen(messages, names=names)
            ids, new = submission.commit(http.queue, messages, names=names, capacity=http.capacity)
        if new:
            http.on_accepted()
        accepted = [Accepted(message_id, m.recipient, m.contact_name)
                    for message_id, m in zip(ids, messages, strict=True)]
        refused = [Blocked(m.recipient, m.contact_name, f"{m.recipient} is on the block list") for m in blocked]
        return Reply(AcceptedList(accepted, refused), 201 if new else 200)

    @api.route("GET", "/messages", query=MessagesQuery)
    def list_messages(call: Call) -> MessageList:
        q: MessagesQuery = call.query
        state, recipient, limit, offset, cursor = q.state, q.recipient, q.limit, q.offset, q.cursor
        since, until = (None if t is None else t.timestamp() for t in (q.since, q.until))
        if cursor is not None and offset is not None:
            raise ApiError(400, "conflicting_parameters", "give cursor or offset, not both", "offset")
        where = _visible(call.principal)
        if state is not None:
            where &= OutboundMessage.state == state
        if since is not None:
            where &= OutboundMessage.created_at >= since
        if until is not None:
            where &= OutboundMessage.created_at < until
        if recipient is not None:
            try:
                where &= OutboundMessage.recipient == numbers.normalize(recipient)
            except ValueError as error:
                raise invalid("recipient", f"recipient: {error}") from None
        if cursor is not None:
            where &= _after(cursor)
        query = (OutboundMessage.select().where(where)
                 .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
                 .offset(offset or 0).limit(limit + 1))
        found = list(query)
        page, more = found[:limit], len(found) > limit
        now = call.context.clock()
        return MessageList([Message(**_message_fields(m, now)) for m in page], _cursor(page[-1]) if more else None)

    @api.route("GET", "/messages/<message_id>")
    def get_message(call: Call, message_id: str) -> MessageDetail:
        return detail(_find(call, message_id), call.context.clock())

    @api.route("DELETE", "/messages/<message_id>")
    def cancel(call: Call, message_id: str) -> MessageDetail:
        message = _find(call, message_id)
        if not call.context.http.queue.remove(message.id):
            current = _find(call, message_id)
            raise ApiError(409, "not_queued", f"message {message_id!r} is {current.state}; only a queued "
                                              "message can be cancelled")
        return detail(_find(call, message_id), call.context.clock())

    @api.route("GET", "/messages/<message_id>/reports")
    def reports(call: Call, message_id: str) -> Reports:
        message = _find(call, message_id)
        return Reports(message_ids.public_id(message.id), cast(State, message.state), [
            PartReport(**_part_fields(p), tp_status_text=None if p.status is None else report_status_text(p.status),
                       outcome=None if p.status is None else cast(Outcome, outcome(p.status)),
                       reported_at=timestamp(p.reported_at))
            for p in parts_of(message)])
