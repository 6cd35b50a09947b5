"""A sent message's own page (``/messages/<id>``): who it went to, its state and error in
words, and each part with its reference and delivery report.

The id is the one the APIs give, found by the APIs' own lookup (store/message_ids.py
``find``): a user finds only their own messages, an administrator anyone's; another
user's message is as absent as one that never was. One view feeds both the page and the
JSON its script polls every second until the message has settled, so that a test SMS is
seen turning Sent and then Delivered without a reload, in the same words.
"""

from __future__ import annotations

import time
from typing import Any

import bottle

from ...messages import status as message_status
from ...modem.errors import cms_error_text
from ...store import message_ids
from ...store.models import MessagePart, MessageState, OutboundMessage, parts_of
from ...store.reports import report_status_text
from .pages import UiContext, Visitor, refuse, render, require, secured, visitor

# states after which nothing more happens to a message; a sent one may still be delivered
SETTLED = MessageState.FINAL - {MessageState.SENT}
PART_STATES = {"pending": "waiting", "sent": "sent", "delivered": "delivered", "failed": "failed"}


def _time(moment: float | None) -> str:
    return "" if moment is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment))


def _error(message: OutboundMessage) -> str:
    """The error as the modem's code in words (modem/errors.py) and what was recorded with it."""
    if message.error_code is None:
        return message.error_text
    words = f"error {message.error_code}: {cms_error_text(message.error_code)}"
    if message.error_text and message.error_text != cms_error_text(message.error_code):
        return f"{words} ({message.error_text})"
    return words


def _part(part: MessagePart) -> dict[str, Any]:
    return {"sequence": part.sequence, "state": PART_STATES.get(part.state, part.state),
            "reference": "" if part.reference is None else str(part.reference), "gateway": part.gateway,
            "sent": _time(part.sent_at),
            "report": "no report yet" if part.status is None else report_status_text(part.status),
            "reported": _time(part.reported_at)}


def view(message: OutboundMessage, now: float) -> dict[str, Any]:
    """The message as the page shows it: every value a string or a number."""
    code, words = message_status.status_of(message, now)
    return {"id": message_ids.public_id(message.id), "recipient": message.recipient, "sender": message.sender,
            "text": message.text, "state": "Sent" if code == message_status.SENT else words,
            "settled": message.state in SETTLED, "gateway": message.gateway or "not yet chosen",
            "attempts": message.attempts, "error": _error(message), "created": _time(message.created_at),
            "sent": _time(message.sent_at), "parts": [_part(p) for p in parts_of(message)]}


def _find(who: Visitor, message_id: str) -> OutboundMessage | None:
    return message_ids.find(message_id, who.user.id, everyone=who.user.is_admin)


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get("/messages/<message_id>")
    @secured
    def message_page(message_id: str) -> str:
        who = require(context)
        message = _find(who, message_id)
        if message is None:  # another user's message is as good as absent
            refuse(404, "No such message", f"no message of yours has the id {message_id!r}", who)
        return render("message", visitor=who, message=view(message, time.time()))

    @app.get("/ui/messages/<message_id>.json")
    @secured
    def message_json(message_id: str) -> dict[str, Any]:
        """What the message page's script polls. Without a session: 401, and the script
        goes to the login page."""
        who = visitor(context)
        if who is None or who.user.must_change_password:
            bottle.response.status = 401
            return {"error": "not logged in: log in at /login"}
        message = _find(who, message_id)
        if message is None:
            bottle.response.status = 404
            return {"error": f"no message of yours has the id {message_id!r}"}
        return view(message, time.time())
