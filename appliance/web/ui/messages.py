"""The messages sent through the appliance, newest first, 50 a page, and their search.

A user sees their own messages and an administrator everyone's, as in the APIs. Newest
first is the table's own order (its rowid grows with every message accepted), so a page
is one range read backwards: along the table for an administrator, along the index on
the user for a user. No index is added for this page or its search: every message
accepted would write to it. So the search uses what there is:

- time (from, to): messages are stored in the order they are accepted, so created_at
  grows with the rowid, and the rowid where a time begins is found by a binary search
  over the rowid (about 20 primary-key lookups for a million rows); the range between is
  then read as a page is.
- state queued: the partial index over the queued messages (models.QUEUED_INDEXES),
  named by the literal state as that index needs; the sender keeps the queue short.
- number (recipient or sender), text and the other states: the range is read backwards
  from the page's start, at most ``search.SCAN`` (10,000) rows a request; a page that
  stops at that bound before it has 50 messages says how far back it looked and goes on
  from there. Time and memory per request are so bounded whatever the store holds.

Measured on the development machine (2 shared cores) with 1,000,000 sent messages, the
server time of a page (median of 9, rendering included), administrator / user: the
newest 8 / 9 ms; a rare number 14 / 28 ms (stopped at the bound); a common text 6 / 6 ms;
a day 200 days back 21 / 13 ms; state queued (1,000 queued) 7 / 5 ms. With a bound of
20,000 rows a user's rare number took 95 ms, hence 10,000.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import bottle
import peewee

from ...store.message_ids import public_id
from ...store.models import MessageState, OutboundMessage
from . import search
from .pages import UiContext, refuse, render, require, secured

PAGE = 50
STATES = (MessageState.QUEUED, MessageState.SENDING, MessageState.SENT, MessageState.DELIVERED,
          MessageState.FAILED, MessageState.UNDELIVERED, MessageState.EXPIRED, MessageState.REMOVED)
_ROWID = peewee.SQL("rowid")
# the literal state, as the partial index outbound_message_queued needs to be chosen
_QUEUED = peewee.SQL(f"state = '{MessageState.QUEUED}'")


@dataclass(frozen=True)
class Page:
    messages: list[dict[str, Any]]
    cursor: str          # the rowid the next page starts below ("" on the last)
    stopped: str = ""    # when the search stopped at its bound: how far back it looked


def query(user_id: int | None, before: int | None) -> peewee.ModelSelect[OutboundMessage]:
    """A page's rows (and one more: does another page follow?); ``user_id`` None: everyone's."""
    select = OutboundMessage.select(OutboundMessage, _ROWID.alias("row"))
    if user_id is not None:
        select = select.where(OutboundMessage.user == user_id)
    if before is not None:
        select = select.where(_ROWID < before)  # noqa: SIM300  SQL, not a constant
    return select.order_by(_ROWID.desc()).limit(PAGE + 1)


def rowid_from(moment: float) -> int:
    """The first rowid of the messages created at ``moment`` or later (one past the last
    when there are none): a binary search over the rowid, each step one primary-key lookup,
    since messages are stored in the order they are created."""
    # each alone: SQLite reads min() or max() from the end of the key only when alone
    low, high = (OutboundMessage.select(peewee.fn.min(_ROWID)).scalar(),
                 OutboundMessage.select(peewee.fn.max(_ROWID)).scalar())
    if low is None:
        return 0
    high += 1
    while low < high:
        middle = (low + high) // 2
        at = (OutboundMessage.select(OutboundMessage.created_at).where(_ROWID >= middle)  # noqa: SIM300  SQL
              .order_by(_ROWID).limit(1).scalar())
        if at is None or at >= moment:
            high = middle
        else:
            low = middle + 1
    return low


def page(user_id: int | None, before: int | None, filters: search.Filters | None = None,
         scan: int = search.SCAN) -> Page:
    """A page of messages older than ``before`` (None: the newest) that match ``filters``,
    reading at most ``scan`` rows when a filter has no index."""
    filters = filters or search.Filters(fields={})
    if filters.state == MessageState.QUEUED:
        # the queue's rowids from its index; a user's through that index too (``+user_id``
        # keeps SQLite from reading the user's whole history along the index on the user)
        queued = OutboundMessage.select(_ROWID).where(_QUEUED)
        if user_id is not None:
            queued = queued.where(peewee.NodeList((peewee.SQL("+"), OutboundMessage.user), glue="") == user_id)
        select = query(None, before).where(_ROWID.in_(queued))
    else:
        select = query(user_id, before)
    lowest = rowid_from(filters.start) if filters.start is not None else None
    if lowest is not None:
        select = select.where(_ROWID >= lowest)  # noqa: SIM300  SQL, not a constant
    if filters.end is not None:
        select = select.where(_ROWID < rowid_from(filters.end))  # noqa: SIM300  SQL, not a constant
    unindexed: list[peewee.ColumnBase] = []
    if filters.state and filters.state != MessageState.QUEUED:
        unindexed.append(OutboundMessage.state == filters.state)
    if filters.digits:
        unindexed.append(search.contains(OutboundMessage.recipient, filters.digits)
                         | search.contains(OutboundMessage.sender, filters.digits))
    if filters.pattern:
        unindexed.append(search.like(OutboundMessage.text, filters.pattern))
    edge: Any = None
    if unindexed and filters.state != MessageState.QUEUED:
        # the last row this request may examine, when rows older than it remain
        last: list[Any] = list(select.select(_ROWID, OutboundMessage.created_at).offset(scan - 1).limit(2).tuples())
        edge = last[0] if len(last) == 2 else None
        if edge is not None:
            select = select.where(_ROWID >= edge[0])  # noqa: SIM300  SQL, not a constant
    rows: list[Any] = list(select.where(*unindexed) if unindexed else select)  # each with its rowid as ``row``
    shown = [{"id": public_id(row.id), "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created_at)),
              "recipient": row.recipient, "sender": row.sender, "state": row.state, "gateway": row.gateway,
              "attempts": row.attempts, "error": row.error_text, "text": row.text} for row in rows[:PAGE]]
    if len(rows) > PAGE:
        return Page(shown, str(rows[PAGE - 1].row))
    if edge is None:
        return Page(shown, "")
    # no deletion leaves gaps in the rowid: the rows between are those left (everyone's)
    return Page(shown, str(edge[0]), search.searched_back(edge[1], edge[0] - (lowest or 1)))


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get("/messages")
    @secured
    def messages() -> str:
        who = require(context)
        text = bottle.request.query.getunicode("before") or ""
        if text and not text.isdigit():
            refuse(400, "Not a page", "before: not a page of this list; start again from the newest", who)
        try:
            filters = search.parse(bottle.request.query, STATES)
        except ValueError as error:
            refuse(400, "Not a search", str(error), who)
        found = page(None if who.user.is_admin else who.user.id, int(text) if text else None, filters,
                     search.SCAN)
        return render("messages", visitor=who, messages=found.messages, first=not text,
                      older=filters.link("/messages", found.cursor) if found.cursor else "",
                      stopped=found.stopped, filters=filters, newest=filters.link("/messages", ""),
                      max_text=search.MAX_TEXT, states=STATES, everyone=who.user.is_admin)
