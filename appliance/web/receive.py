"""``POST /receive/<connector>``: other systems hand the appliance SMS they received.

Form-encoded or JSON: ``from``, ``message``, optional ``to`` (default: the connector's
number), ``sent`` (ISO 8601) and ``message-id`` (a repeat with the same id stores
nothing new). The token comes as ``Authorization: Bearer <token>`` or a ``token``
parameter. Answers are JSON: 201 stored, 200 a repeat, 400 a bad field, 401 no or a
wrong token, 404 no such connector, 409 a message id reused for another message; a
refused request stores nothing. See docs/receive-connectors.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import bottle
import peewee

from ..connectors import receive as receive_connectors
from ..connectors.receive import Conflict, UnknownConnector
from ..store.counts import MessageCounts
from ..store.models import InboundMessage

log = logging.getLogger(__name__)

FIELDS = ("from", "to", "message", "sent", "message-id", "token")


@dataclass
class ReceiveContext:
    database: peewee.Database
    connectors: Callable[[], Mapping[str, str]]   # the configured connectors: name → type
    on_stored: Callable[[], None]                  # a new message is in the store (thread-safe)
    # sees each new message in the transaction that stores it (the stop words)
    on_new: Callable[[InboundMessage], object] = lambda message: None
    # the status's counts (the queue's), told of each new message once it is stored
    counts: MessageCounts = field(default_factory=MessageCounts)


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def install(app: bottle.Bottle, context: ReceiveContext) -> None:
    @app.post("/receive/<name>")
    def receive(name: str) -> str:
        bottle.response.content_type = "application/json; charset=utf-8"
        try:
            status, body = _receive(context, name)
        except _Refused as refusal:
            status, body = refusal.status, {"error": refusal.text}
            if refusal.status == 401:
                bottle.response.set_header("WWW-Authenticate", 'Bearer realm="receive"')
        except Exception:
            log.exception("/receive/%s failed", name)
            status, body = 500, {"error": "the message was not stored; see the appliance's log"}
        bottle.response.status = status
        return json.dumps(body, ensure_ascii=False)


def _receive(context: ReceiveContext, name: str) -> tuple[int, dict]:
    try:
        connector = receive_connectors.get(name)
    except UnknownConnector as error:
        raise _Refused(404, str(error)) from None
    try:
        fields, problem = _fields(), None
    except ValueError as error:
        fields, problem = {}, error
    token = _bearer() or fields.get("token") or bottle.request.query.getunicode("token")
    if not receive_connectors.token_matches(connector, token):
        raise _Refused(401, f"receive connector {name!r} needs its token: "
                            "send it as 'Authorization: Bearer <token>' or as the token parameter")
    if problem is not None:
        raise _Refused(400, str(problem))
    try:
        receive_connectors.check_target(connector.routing, connector.target, context.connectors())
    except ValueError as error:
        log.error("receive connector %s cannot deliver: %s", name, error)
        raise _Refused(503, f"receive connector {name!r} is misconfigured: {error}") from None
    try:
        message = receive_connectors.received(
            connector, originator=fields.get("from"), recipient=fields.get("to"), text=fields.get("message"),
            sent_at=_moment(fields.get("sent")), message_id=fields.get("message-id"))
        stored, new = receive_connectors.store(context.database, connector, message, on_new=context.on_new)
    except Conflict as error:
        raise _Refused(409, str(error)) from None
    except ValueError as error:
        raise _Refused(400, str(error)) from None
    if new:
        context.counts.received(stored.gateway, stored.received_at)
        context.on_stored()
    return (201 if new else 200), {"id": stored.id, "duplicate": not new}


def _bearer() -> str | None:
    scheme, _, token = bottle.request.get_header("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _fields() -> dict[str, str]:
    """The posted fields, JSON or form-encoded; ValueError names what is wrong."""
    content_type = (bottle.request.content_type or "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body: Any = bottle.request.json
        except bottle.HTTPError as error:
            raise ValueError(f"the body is not valid JSON ({error.body})") from None
        if not isinstance(body, dict):
            raise ValueError("the JSON body must be an object like {\"from\": ..., \"message\": ...}")
        fields = {}
        for key, value in body.items():
            if key not in FIELDS or value is None:
                continue
            if key == "message-id" and isinstance(value, int) and not isinstance(value, bool):
                fields[key] = str(value)
            elif isinstance(value, str):
                fields[key] = value
            else:
                raise ValueError(f"{key}: must be a string, not {type(value).__name__}")
        return fields
    forms = bottle.request.forms.decode("utf-8")
    fields = {}
    for key in FIELDS:
        values = forms.getall(key)
        if len(values) > 1:
            raise ValueError(f"{key}: is given {len(values)} times")
        if values:
            fields[key] = values[0]
    return fields


def _moment(raw: str | None) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        # without an offset the time is the appliance's local time, as in the HTTP API
        return datetime.fromisoformat(raw.strip()).timestamp()
    except ValueError:
        raise ValueError(f"sent: {raw!r} is not an ISO 8601 date and time like 2026-11-22T10:15:00+01:00") from None
