"""/api/v1/messages: send one text to one or many recipients, follow each message, cancel
a queued one, and read the delivery reports of its parts."""

from __future__ import annotations

import base64
import binascii
import json

import peewee

from ...accounts.users import Principal
from ...messages import numbers
from ...messages import status as message_status
from ...store.models import MessagePart, MessageState, OutboundMessage
from ...store.reports import outcome, report_status_text
from .. import submission
from ..submission import GuidTaken, SubmissionError
from .auth import require_local
from .endpoint import Api, Call, Reply
from .fields import timestamp
from .wire import ApiError, invalid, not_found

SEND_FIELDS = ("to", "contact_names", "message", "message_type", "from", "guid", "info", "gateways",
               "priority", "validity_period", "scheduled")
STATES = (MessageState.QUEUED, MessageState.SENDING, MessageState.SENT, MessageState.DELIVERED,
          MessageState.FAILED, MessageState.EXPIRED, MessageState.REMOVED)
MAX_PAGE = 1000

# Diafaan's refusal codes as the JSON API answers them
_REFUSALS = {
    submission.NO_RECIPIENTS: (422, "no_recipients"),
    submission.MESSAGE_REJECTED: (422, "message_rejected"),
    submission.WEB_USER_NOT_FOUND: (403, "web_user_not_found"),
}


def message_data(message: OutboundMessage, now: float) -> dict:
    code, text = message_status.status_of(message, now)
    failed = message.error_code is not None or message.error_text
    return {
        "id": message.id, "recipient": message.recipient, "contact_name": message.contact_name,
        "from": message.sender, "message": message.text, "message_type": message.message_type,
        "guid": message.message_guid, "info": message.message_info,
        "gateways": [name for name in message.gateways.split(";") if name],
        "priority": message.priority, "validity_period": message.validity_period,
        "scheduled": timestamp(message.scheduled_at), "expires_at": timestamp(message.expires_at),
        "state": message.state, "status": {"code": code, "text": text},
        "gateway": message.gateway, "attempts": message.attempts,
        "error": {"code": message.error_code, "text": message.error_text} if failed else None,
        "parts_total": message.parts_total, "created_at": timestamp(message.created_at),
        "updated_at": timestamp(message.updated_at), "sent_at": timestamp(message.sent_at),
    }


def _parts(message: OutboundMessage) -> list[MessagePart]:
    return list(MessagePart.select().where(MessagePart.message == message.id).order_by(MessagePart.sequence))


def detail(message: OutboundMessage, now: float) -> dict:
    return {**message_data(message, now), "parts": [
        {"sequence": p.sequence, "state": p.state, "reference": p.reference, "gateway": p.gateway,
         "sent_at": timestamp(p.sent_at), "tp_status": p.status, "reported_at": timestamp(p.reported_at)}
        for p in _parts(message)]}


def _visible(principal: Principal) -> peewee.ColumnBase:
    """Administrators see every message, users their own. A caller the authentication
    callback vouched for has no account its messages are kept under, so it sees none: it
    could only be shown every such caller's messages."""
    user_id = require_local(principal, "sent messages")
    if principal.is_admin:
        return peewee.SQL("1 = 1")
    return OutboundMessage.user == user_id


def _find(call: Call, message_id: str) -> OutboundMessage:
    message = (OutboundMessage.select()
               .where((OutboundMessage.id == message_id) & _visible(call.principal)).first())
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


def _fields(call: Call) -> submission.Fields:
    body = call.body(SEND_FIELDS)
    return submission.Fields(
        to=body.strings("to", max_items=submission.MAX_RECIPIENTS),
        contact_names=body.strings("contact_names", max_items=submission.MAX_RECIPIENTS),
        message=body.string("message", required=True, max_length=100_000),
        message_type=body.string("message_type", max_length=64),
        sender=body.string("from", max_length=64), guid=body.string("guid", max_length=128),
        info=body.string("info"), gateways=body.strings("gateways", max_items=100),
        priority=body.integer("priority"), validity_period=body.integer("validity_period"),
        scheduled=body.optional_string("scheduled"))


def install(api: Api) -> None:
    @api.route("POST", "/messages")
    def send(call: Call) -> Reply:
        http = call.context.http
        fields = _fields(call)
        names = submission.JSON_NAMES
        try:
            messages = submission.build(fields, call.principal, names=names,
                                        known_gateways=http.gateway_names(), connector=http.connector)
            ids, new = submission.commit(http.queue, messages, names=names)
        except GuidTaken as error:
            raise ApiError(409, "guid_taken", error.text, error.field) from None
        except SubmissionError as error:
            status, code = _REFUSALS[error.code]
            raise ApiError(status, code, error.text, error.field) from None
        if new:
            http.on_accepted()
        accepted = [{"id": message_id, "recipient": m.recipient, "contact_name": m.contact_name}
                    for message_id, m in zip(ids, messages, strict=True)]
        return Reply({"messages": accepted}, 201 if new else 200)

    @api.route("GET", "/messages", query=("state", "since", "until", "recipient", "limit", "cursor", "offset"))
    def list_messages(call: Call) -> dict:
        q = call.query
        state = q.choice("state", STATES)
        since, until = q.time("since"), q.time("until")
        recipient = q.string("recipient")
        limit = q.integer("limit", 1, MAX_PAGE, 100)
        offset = q.integer("offset", 0, 1_000_000_000)
        cursor = q.string("cursor")
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
        return {"messages": [message_data(m, now) for m in page],
                "next_cursor": _cursor(page[-1]) if more else None}

    @api.route("GET", "/messages/<message_id>")
    def get_message(call: Call, message_id: str) -> dict:
        return detail(_find(call, message_id), call.context.clock())

    @api.route("DELETE", "/messages/<message_id>")
    def cancel(call: Call, message_id: str) -> dict:
        message = _find(call, message_id)
        if not call.context.http.queue.remove(message.id):
            current = _find(call, message_id)
            raise ApiError(409, "not_queued", f"message {message_id!r} is {current.state}; only a queued "
                                              "message can be cancelled")
        return detail(_find(call, message_id), call.context.clock())

    @api.route("GET", "/messages/<message_id>/reports")
    def reports(call: Call, message_id: str) -> dict:
        message = _find(call, message_id)
        return {"message_id": message.id, "state": message.state, "parts": [
            {"sequence": p.sequence, "state": p.state, "reference": p.reference, "gateway": p.gateway,
             "sent_at": timestamp(p.sent_at), "tp_status": p.status,
             "tp_status_text": None if p.status is None else report_status_text(p.status),
             "outcome": None if p.status is None else outcome(p.status),
             "reported_at": timestamp(p.reported_at)}
            for p in _parts(message)]}
