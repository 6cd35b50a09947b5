"""The webhook connector: every received SMS and delivery report POSTed as JSON to a URL.

Events are rows in the store, written in the same transaction as what they report, and
leave only when the URL answered 2xx. Until then they are retried with growing pauses
(:data:`BACKOFF`), across restarts, until ``give_up_after`` seconds after the event: the
last attempt is made at that moment. Delivery is at least once (an answer lost on its way
back means the event is sent again), so every event carries an ``event_id`` a receiver
can drop duplicates by. docs/webhooks.md is the receiver's side.

The POSTs are urllib's, on a small thread pool through ``loop.run_in_executor``: their
results come back to the loop, which schedules them and records what happened. An asyncio
HTTP client was measured against that and lost: httpx adds 4.7 MB to the idle process
(aiohttp 11 MB; the appliance must stay under 40 MB) and took 2.0-3.5 ms of CPU per POST
where urllib took 1.2-1.3 ms (500 POSTs to a local endpoint, two at a time).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import peewee

from ..store import message_ids
from ..store.models import InboundMessage, OutboundMessage, WebhookDelivery

log = logging.getLogger(__name__)

BACKOFF = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)   # then hourly
SMS_RECEIVED, DELIVERY_REPORT, CREDIT_LOW = "sms-received", "delivery-report", "credit-low"


@dataclass(frozen=True)
class WebhookTarget:
    connector: str
    url: str
    token: str = ""
    timeout: float = 10.0               # seconds one POST may take
    give_up_after: float = 3 * 86400.0  # seconds after the event: its last attempt
    # the connectors whose messages' delivery reports it POSTs (the connector a message came in by)
    reports_for: tuple[str, ...] = ()


def _pause_after(attempts: int) -> float:
    """The pause after the ``attempts``-th failed attempt: :data:`BACKOFF`, then its last."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def sms_event(message: InboundMessage) -> dict:
    return {"event": SMS_RECEIVED, "id": message.id, "from": message.originator, "to": message.recipient,
            "text": message.text, "message_type": message.message_type, "gateway": message.gateway,
            "sent_at": _iso(message.sent_at), "received_at": _iso(message.received_at),
            "parts_received": message.parts_received, "parts_total": message.parts_total,
            "undecodable": bool(message.decode_error)}


def report_event(message: OutboundMessage, status_code: int, status_text: str, detail: str) -> dict:
    return {"event": DELIVERY_REPORT, "message_id": message_ids.public_id(message.id), "to": message.recipient,
            "status_code": status_code, "status_text": status_text, "detail": detail,
            "gateway": message.gateway, "message_guid": message.message_guid,
            "message_info": message.message_info, "time": _iso(time.time())}


def credit_event(gateway: str, amount: float, currency: str, answer: str, threshold: float) -> dict:
    """A gateway's credit fell below its threshold (gateways/credit.py)."""
    return {"event": CREDIT_LOW, "gateway": gateway, "amount": amount, "currency": currency,
            "threshold": threshold, "answer": answer, "time": _iso(time.time())}


def enqueue(connectors: list[str], event: dict, now: float | None = None) -> None:
    """Queue ``event`` for each webhook connector; call inside the caller's transaction.

    The event gets its ``event_id`` here, once: every retry repeats it."""
    now = time.time() if now is None else now
    body = json.dumps({"event_id": str(uuid.uuid4())} | event, ensure_ascii=False)
    for connector in connectors:
        WebhookDelivery.create(connector=connector, event=event["event"], payload=body,
                               next_attempt_at=now, created_at=now)


# the events still to POST, through the index on (state, next_attempt_at): those done are passed over
_BACKLOG = ("SELECT connector, COUNT(*), MIN(created_at) FROM webhook_delivery "
            "WHERE state = 'pending' GROUP BY connector")


def backlog(database: peewee.Database) -> dict[str, tuple[int, float]]:
    """Per connector with events still to POST: how many, and when the oldest was made."""
    return {connector: (count, first) for connector, count, first in database.cursor().execute(_BACKLOG)}


class WebhookSender:
    """Sends due deliveries, at most ``parallel`` at a time, and sleeps until the next one."""

    def __init__(self, loop: asyncio.AbstractEventLoop, database: peewee.Database, targets: list[WebhookTarget], *,
                 parallel: int = 2, clock: Callable[[], float] = time.time,
                 executor: Executor | None = None) -> None:
        """``clock`` is the store's time (epoch seconds); ``executor`` runs the POSTs."""
        self.loop = loop
        self.database = database
        self.targets = {t.connector: t for t in targets}
        self.held: set[str] = set()   # stopped connectors: their events wait, none is lost
        self.parallel = parallel
        self.clock = clock
        self._pool = executor or ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="webhook")
        self._in_flight: set[int] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._kicked = False

    def kick(self) -> None:
        """Look for due deliveries soon (on the loop)."""
        if self.targets and not self._kicked:
            self._kicked = True
            self.loop.call_soon(self._dispatch)

    def kick_threadsafe(self) -> None:
        """For the HTTP threads, right after they committed an event."""
        self.loop.call_soon_threadsafe(self.kick)

    def hold(self, connector: str) -> None:
        """Send nothing more to ``connector`` (stopped) until :meth:`release`; on the loop."""
        self.held.add(connector)

    def release(self, connector: str) -> None:
        self.held.discard(connector)
        self.kick()

    def _active(self) -> list[str]:
        return [name for name in self.targets if name not in self.held]

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _dispatch(self) -> None:
        self._kicked = False
        now = self.clock()
        free = self.parallel - len(self._in_flight)
        if free > 0:
            due = (WebhookDelivery.select()
                   .where((WebhookDelivery.state == "pending") & (WebhookDelivery.next_attempt_at <= now)
                          & (WebhookDelivery.connector.in_(self._active()))
                          & (WebhookDelivery.id.not_in(list(self._in_flight) or [0])))
                   .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(free))
            for delivery in due:
                self._in_flight.add(delivery.id)
                target = self.targets[delivery.connector]
                posted = self.loop.run_in_executor(self._pool, self._post, target, delivery.payload)
                posted.add_done_callback(functools.partial(self._finished, delivery))
        self._arm(now)

    def _arm(self, now: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if len(self._in_flight) >= self.parallel:
            return  # a finishing POST dispatches again
        later = (WebhookDelivery.select(peewee.fn.MIN(WebhookDelivery.next_attempt_at))
                 .where((WebhookDelivery.state == "pending") & (WebhookDelivery.next_attempt_at > now)
                        & (WebhookDelivery.connector.in_(self._active())))
                 .scalar())
        if later is not None:
            self._timer = self.loop.call_later(later - now, self.kick)

    @staticmethod
    def _post(target: WebhookTarget, payload: str) -> str:
        """'' on success, else why not. Runs on a worker thread."""
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "sms-appliance"}
        if target.token:
            headers["Authorization"] = f"Bearer {target.token}"
        request = urllib.request.Request(target.url, data=payload.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=target.timeout) as response:
                response.read()
                return ""
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            return str(getattr(error, "reason", error))

    def _finished(self, delivery: WebhookDelivery, posted: asyncio.Future[str]) -> None:
        """The POST is over (on the loop): record how, and what comes next."""
        if posted.cancelled():
            return  # stopped: it stays pending, for the next start
        error = posted.result()
        self._in_flight.discard(delivery.id)
        attempts = delivery.attempts + 1
        now = self.clock()
        deadline = delivery.created_at + self.targets[delivery.connector].give_up_after
        if not error:
            WebhookDelivery.update(state="done", attempts=attempts, last_error="").where(
                WebhookDelivery.id == delivery.id).execute()
        elif now >= deadline:
            log.error("webhook %s: giving up on an event after %d attempts: %s",
                      delivery.connector, attempts, error)
            WebhookDelivery.update(state="failed", attempts=attempts, last_error=error).where(
                WebhookDelivery.id == delivery.id).execute()
        else:
            # the last attempt falls on the deadline itself, not a whole pause beyond it
            pause = min(_pause_after(attempts), deadline - now)
            log.warning("webhook %s: %s; trying again in %.0f s", delivery.connector, error, pause)
            WebhookDelivery.update(attempts=attempts, last_error=error, next_attempt_at=now + pause).where(
                WebhookDelivery.id == delivery.id).execute()
        self.kick()
