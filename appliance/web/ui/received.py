"""The received messages, newest first, 50 a page.

Paged by a cursor (the last row's time and rowid), not by an offset: each page is one
range read along the index on (removed, received_at), whose entries end in the rowid, so
page 20,000 of a million rows costs what the first does.
"""

from __future__ import annotations

import time
from typing import Any

import bottle
import peewee

from ...store.models import InboundMessage
from .pages import UiContext, refuse, render, require, secured

PAGE = 50
_ROWID = peewee.SQL("rowid")


def parse_cursor(text: str) -> tuple[float, int] | None:
    """``<received_at>_<rowid>`` as the previous page wrote it; None when it is not one."""
    at, _, rowid = text.partition("_")
    try:
        return float(at), int(rowid)
    except ValueError:
        return None


def query(before: tuple[float, int] | None) -> peewee.ModelSelect[InboundMessage]:
    """A page's rows, and one more to tell whether another page follows."""
    select = (InboundMessage.select(InboundMessage, _ROWID.alias("row"))
              .where(InboundMessage.removed == False))  # noqa: E712  the index's first column
    if before is not None:
        # a row value, which SQLite reads as a range of the index (an OR of the two it does not)
        select = select.where(peewee.Tuple(InboundMessage.received_at, _ROWID) < peewee.Tuple(*before))
    return select.order_by(InboundMessage.received_at.desc(), _ROWID.desc()).limit(PAGE + 1)


def page(before: tuple[float, int] | None) -> tuple[list[dict[str, Any]], str]:
    """A page of messages older than ``before`` (None: the newest), and the next page's cursor ("" on the last)."""
    rows: list[Any] = list(query(before))  # each with its rowid as ``row``
    shown = [{"time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.received_at)),
              "originator": row.originator, "recipient": row.recipient, "gateway": row.gateway,
              "text": row.text, "parts": f"{row.parts_received}/{row.parts_total}"} for row in rows[:PAGE]]
    last = rows[PAGE - 1] if len(rows) > PAGE else None
    return shown, "" if last is None else f"{last.received_at!r}_{last.row}"


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get("/received")
    @secured
    def received() -> str:
        """Every received message, whichever connector it went to: any user of the appliance
        may read the HTTP API's shared inbox, and so may read it here."""
        who = require(context)
        text = bottle.request.query.getunicode("before") or ""
        before = parse_cursor(text) if text else None
        if text and before is None:
            refuse(400, "Not a page", "before: not a page of this list; start again from the newest", who)
        messages, cursor = page(before)
        return render("received", visitor=who, messages=messages, cursor=cursor, first=not text)
