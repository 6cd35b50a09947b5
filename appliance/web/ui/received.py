"""The received messages, newest first, 50 a page, and their search.

Paged by a cursor (the last row's time and rowid), not by an offset: each page is one
range read along the index on (removed, received_at), whose entries end in the rowid, so
page 20,000 of a million rows costs what the first does. A search by time (from, to) is
a range of that same index. A search by number (originator or recipient) or text has no
index (each would be pages written for every message received): the range is read
backwards from the page's start, at most ``search.SCAN`` (10,000) rows a request, and a
page that stops at that bound before it has 50 messages says how far back it looked and
goes on from there. Time and memory per request are so bounded whatever the store holds:
about what the same search of the sent messages takes (messages.py gives the figures).
"""

from __future__ import annotations

import time
from typing import Any

import bottle
import peewee

from ...store.models import InboundMessage
from . import search
from .messages import Page
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


def _cursor(received_at: float, rowid: int) -> str:
    return f"{received_at!r}_{rowid}"


def page(before: tuple[float, int] | None, filters: search.Filters | None = None, scan: int = search.SCAN) -> Page:
    """A page of messages older than ``before`` (None: the newest) that match ``filters``,
    reading at most ``scan`` rows when a filter has no index."""
    filters = filters or search.Filters(fields={})
    select = query(before)
    if filters.start is not None:
        select = select.where(InboundMessage.received_at >= filters.start)
    if filters.end is not None:
        select = select.where(InboundMessage.received_at < filters.end)
    unindexed: list[peewee.ColumnBase] = []
    if filters.digits:
        unindexed.append(search.contains(InboundMessage.originator, filters.digits)
                         | search.contains(InboundMessage.recipient, filters.digits))
    if filters.pattern:
        unindexed.append(search.like(InboundMessage.text, filters.pattern))
    edge: Any = None
    if unindexed:
        # the last row this request may examine, when rows older than it remain
        last: list[Any] = list(select.select(InboundMessage.received_at, _ROWID).offset(scan - 1).limit(2).tuples())
        edge = last[0] if len(last) == 2 else None
        if edge is not None:
            select = select.where(peewee.Tuple(InboundMessage.received_at, _ROWID) >= peewee.Tuple(*edge))
    rows: list[Any] = list(select.where(*unindexed) if unindexed else select)  # each with its rowid as ``row``
    shown = [{"time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.received_at)),
              "originator": row.originator, "recipient": row.recipient, "gateway": row.gateway,
              "text": row.text, "parts": f"{row.parts_received}/{row.parts_total}"} for row in rows[:PAGE]]
    if len(rows) > PAGE:
        return Page(shown, _cursor(rows[PAGE - 1].received_at, rows[PAGE - 1].row))
    if edge is None:
        return Page(shown, "")
    # stored in the order received, so the rowids tell how many are left: those from the
    # range's oldest (one step along the index) up to the edge
    first = 1
    if filters.start is not None:
        first = (InboundMessage.select(_ROWID)
                 .where((InboundMessage.removed == False) & (InboundMessage.received_at >= filters.start))  # noqa: E712
                 .order_by(InboundMessage.received_at, _ROWID).limit(1).scalar())
    return Page(shown, _cursor(*edge), search.searched_back(edge[0], max(edge[1] - first, 0)))


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
        try:
            filters = search.parse(bottle.request.query)
        except ValueError as error:
            refuse(400, "Not a search", str(error), who)
        found = page(before, filters, search.SCAN)
        return render("received", visitor=who, messages=found.messages, first=not text,
                      older=filters.link("/received", found.cursor) if found.cursor else "",
                      stopped=found.stopped, filters=filters, newest=filters.link("/received", ""),
                      max_text=search.MAX_TEXT, states=())
