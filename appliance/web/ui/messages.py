"""The messages sent through the appliance, newest first, 50 a page.

A user sees their own messages and an administrator everyone's, as in the APIs. Newest
first is the table's own order (its rowid grows with every message accepted), so a page
is one range read backwards: along the table for an administrator, along the index on
the user for a user. No index is added for this page: every message accepted would
write to it.
"""

from __future__ import annotations

import time
from typing import Any

import bottle
import peewee

from ...store.message_ids import public_id
from ...store.models import OutboundMessage
from .pages import UiContext, refuse, render, require, secured

PAGE = 50
_ROWID = peewee.SQL("rowid")


def query(user_id: int | None, before: int | None) -> peewee.ModelSelect[OutboundMessage]:
    """A page's rows (and one more: does another page follow?); ``user_id`` None: everyone's."""
    select = OutboundMessage.select(OutboundMessage, _ROWID.alias("row"))
    if user_id is not None:
        select = select.where(OutboundMessage.user == user_id)
    if before is not None:
        select = select.where(_ROWID < before)  # noqa: SIM300  SQL, not a constant
    return select.order_by(_ROWID.desc()).limit(PAGE + 1)


def page(user_id: int | None, before: int | None) -> tuple[list[dict[str, Any]], str]:
    """A page of messages older than ``before`` (None: the newest), and the next page's cursor ("" on the last)."""
    rows: list[Any] = list(query(user_id, before))  # each with its rowid as ``row``
    shown = [{"id": public_id(row.id), "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created_at)),
              "recipient": row.recipient, "sender": row.sender, "state": row.state, "gateway": row.gateway,
              "attempts": row.attempts, "error": row.error_text, "text": row.text} for row in rows[:PAGE]]
    return shown, str(rows[PAGE - 1].row) if len(rows) > PAGE else ""


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get("/messages")
    @secured
    def messages() -> str:
        who = require(context)
        text = bottle.request.query.getunicode("before") or ""
        if text and not text.isdigit():
            refuse(400, "Not a page", "before: not a page of this list; start again from the newest", who)
        shown, cursor = page(None if who.user.is_admin else who.user.id, int(text) if text else None)
        return render("messages", visitor=who, messages=shown, cursor=cursor, first=not text,
                      everyone=who.user.is_admin)
