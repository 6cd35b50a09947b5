"""The message counts the status shows (request-server-status, the JSON API's status, the
dashboard), kept live instead of counted at every request.

Counting the store at each request was three scans of the whole history, since the
table has no index on state (each would be a page rewritten on the SD card for every
message: models.py): 4.7 s with 1,000,000 messages, for every status request and every
dashboard refresh. Instead the store is counted once, at start (``scan``, called by the
service after it has requeued the messages caught mid-send and before anything else can
write), and from then on each change adjusts the counts where the store makes it:
``Queue.transition`` for every change of state, the queue's inserts and bulk expiry,
and the two places that store a received message. A status request then reads memory.

Besides the totals since the store was created, each gateway's messages sent, failed
and received *today* (the appliance's local day), which the dashboard's cards show.

Known limits, both left for what they cost:
- a change counted in a transaction that is then rolled back (a full disk) stays
  counted until the next start, which counts the store afresh;
- several processes writing one store each count only their own changes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import peewee

from .models import MessageState

# connector, gateway ("" while queued: no gateway has it), state
Group = tuple[str, str, str]
SENT = "sent"
FAILED = "failed"
RECEIVED = "received"
# a message the gateway sent, whatever its delivery report later said
_SENT_STATES = frozenset((MessageState.SENT, MessageState.DELIVERED, MessageState.UNDELIVERED))

# one pass over every message; those being sent are named (none, after a start's recovery)
_SCAN_OUTBOUND = (
    "SELECT connector, CASE WHEN state = 'queued' THEN '' ELSE gateway END, state, COUNT(*), "
    "COALESCE(SUM(sent_at >= ?), 0), COALESCE(SUM(updated_at >= ?), 0), "
    "json_group_array(id) FILTER (WHERE state = 'sending') "
    "FROM outbound_message GROUP BY 1, 2, 3")
_SCAN_INBOUND = "SELECT gateway, COUNT(*), COALESCE(SUM(received_at >= ?), 0) FROM inbound_message GROUP BY gateway"


class Day(NamedTuple):
    """A local day: its key, and when it began and ends (a day of DST change is 23 or 25 hours)."""

    key: str
    began: float
    ends: float


def day_of(moment: float) -> Day:
    """The local day ``moment`` falls in."""
    local = time.localtime(moment)
    began = time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))
    ends = time.mktime((local.tm_year, local.tm_mon, local.tm_mday + 1, 0, 0, 0, 0, 0, -1))
    return Day(time.strftime("%Y-%m-%d", local), began, ends)


@dataclass(frozen=True)
class Snapshot:
    """The counts at one moment, for one status answer."""

    groups: dict[Group, int]                  # every state but sending
    sending: dict[tuple[str, str], int]       # (connector, gateway): being sent now
    received: dict[str, int]                  # by gateway, since the store was created
    today: dict[tuple[str, str], int]         # (gateway, sent | failed | received), today

    def by_state(self) -> dict[str, int]:
        states = Counter(dict.fromkeys(MessageState.ALL, 0))
        for (_, _, state), count in self.groups.items():
            states[state] += count
        states[MessageState.SENDING] = sum(self.sending.values())
        return dict(states)

    def by_gateway(self) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """Messages each gateway sent (delivered or not) and failed, and is sending now."""
        sent: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        for (_, gateway, state), count in self.groups.items():
            if state in _SENT_STATES:
                sent[gateway] += count
            elif state == MessageState.FAILED:
                failed[gateway] += count
        sending: Counter[str] = Counter()
        for (_, gateway), count in self.sending.items():
            sending[gateway] += count
        return sent, failed, sending

    def by_connector(self) -> dict[str, Counter[str]]:
        """Per connector: ``sent``, ``failed``, ``queued`` (waiting, scheduled or to retry) and ``sending``."""
        totals: dict[str, Counter[str]] = {}
        for (connector, _, state), count in self.groups.items():
            key = SENT if state in _SENT_STATES else state
            totals.setdefault(connector, Counter())[key] += count
        for (connector, _), count in self.sending.items():
            totals.setdefault(connector, Counter())[MessageState.SENDING] += count
        return totals


class MessageCounts:
    """The counts, shared by the event loop (sending, receiving) and the HTTP threads
    (accepting, removing, reading): each update and each snapshot holds a lock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._groups: Counter[Group] = Counter()
        self._sending: dict[str, tuple[str, str]] = {}  # message id: (connector, gateway)
        self._received: Counter[str] = Counter()
        self._day = Day("", 0.0, 0.0)  # the day _today counts
        self._today: Counter[tuple[str, str]] = Counter()

    def scan(self, database: peewee.Database) -> None:
        """Count the store afresh: once, at start, while nothing else writes to it."""
        day = day_of(self.clock())
        began = day.began
        cursor = database.cursor()
        groups: Counter[Group] = Counter()
        sending: dict[str, tuple[str, str]] = {}
        today: Counter[tuple[str, str]] = Counter()
        for connector, gateway, state, count, sent_today, changed_today, ids in cursor.execute(
                _SCAN_OUTBOUND, (began, began)):
            if state == MessageState.SENDING:
                sending.update(dict.fromkeys(json.loads(ids), (connector, gateway)))
            else:
                groups[connector, gateway, state] += count
            if state in _SENT_STATES:
                today[gateway, SENT] += sent_today
            elif state == MessageState.FAILED:
                today[gateway, FAILED] += changed_today
        received: Counter[str] = Counter()
        for gateway, count, received_today in cursor.execute(_SCAN_INBOUND, (began,)):
            received[gateway] = count
            today[gateway, RECEIVED] += received_today
        with self._lock:
            self._groups, self._received, self._sending = groups, received, sending
            self._day, self._today = day, +today  # without the gateways that did nothing today

    def queued(self, connectors: Iterable[str]) -> None:
        """New messages, one per connector named (a connector once per message)."""
        with self._lock:
            for connector in connectors:
                self._groups[connector, "", MessageState.QUEUED] += 1

    def moved(self, message_id: str, connector: str, gateway: str, *, old: str, new: str, now: float) -> None:
        """A message of ``connector`` went from ``old`` to ``new``; ``gateway`` is the one
        the store holds after the change (a claim's)."""
        with self._lock:
            if old == MessageState.SENDING:  # the gateway that had it (a retry clears it in the store)
                connector, gateway = self._sending.pop(message_id, (connector, gateway))
            else:
                self._groups[connector, "" if old == MessageState.QUEUED else gateway, old] -= 1
            if new == MessageState.SENDING:
                self._sending[message_id] = (connector, gateway)
                return
            self._groups[connector, "" if new == MessageState.QUEUED else gateway, new] += 1
            if old == MessageState.SENDING and new in (MessageState.SENT, MessageState.FAILED):
                self._add_today(gateway, SENT if new == MessageState.SENT else FAILED, now)

    def held(self, message_id: str) -> tuple[str, str] | None:
        """The connector and gateway of a message being sent, as the claim told them."""
        with self._lock:
            return self._sending.get(message_id)

    def expired(self, connectors: Iterable[str]) -> None:
        """Queued messages that ended as expired, one per connector named."""
        with self._lock:
            for connector in connectors:
                self._groups[connector, "", MessageState.QUEUED] -= 1
                self._groups[connector, "", MessageState.EXPIRED] += 1

    def received(self, gateway: str, now: float) -> None:
        with self._lock:
            self._received[gateway] += 1
            self._add_today(gateway, RECEIVED, now)

    def _add_today(self, gateway: str, what: str, now: float) -> None:
        """Worked out again only when the day turns: every message sent is counted here."""
        if not self._day.began <= now < self._day.ends:
            day = day_of(now)
            if day.key < self._day.key:
                return  # the clock went back across midnight: not today's any more
            self._day, self._today = day, Counter()
        self._today[gateway, what] += 1

    def snapshot(self, now: float | None = None) -> Snapshot:
        day = day_of(self.clock() if now is None else now).key
        with self._lock:
            sending: Counter[tuple[str, str]] = Counter(self._sending.values())
            return Snapshot(groups={group: count for group, count in self._groups.items() if count},
                            sending=dict(sending), received=dict(self._received),
                            today=dict(self._today) if day == self._day.key else {})
