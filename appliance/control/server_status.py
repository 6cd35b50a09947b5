"""The appliance's status and statistics as one plain dict: what request-server-status,
the JSON API's status and the dashboard show, gathered from the router and the store.

Called from HTTP worker threads. It only reads: each gateway's ``status()`` and
``in_service`` are built from plain attribute reads, ``paused`` is asked by membership,
and the send limits are the configured (frozen) values — nothing the event loop
changes is iterated or modified here. Message counts are whole-store totals, since the
store was created, not since the last start, and each gateway's counts of today; they
are kept in memory as the store changes (store.counts), so a request costs the same
whatever the history holds. What a gateway with send limits used today and this month
is two rows of the store.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from importlib import metadata

from ..connectors import webhook
from ..gateways.base import Gateway
from ..gateways.credit import Credit
from ..gateways.router import Router
from ..store.counts import FAILED, RECEIVED, SENT
from ..store.models import MessageState

PRODUCT = "SMS Appliance"
STATES = MessageState.ALL


def version() -> str:
    try:
        return metadata.version("sms-appliance")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def gateway_status(router: Router, gateway: Gateway) -> dict:
    """A gateway as it is now, without the message counts: what /metrics shows at every
    scrape (its counts are since the start: store.tally)."""
    status = dict(gateway.status())
    limits = router.limits.limits.get(gateway.name)
    return {
        "name": gateway.name,
        "state": status.pop("state"),
        "detail": status.pop("detail"),
        "in_service": gateway.in_service,
        "paused": gateway.name in router.paused,
        "receives": bool(router.routing.receivers(gateway.name)),
        "send_limit_day": limits.per_day if limits else None,
        "send_limit_month": limits.per_month if limits else None,
        "send_rate_per_minute": limits.per_minute if limits else None,
        "properties": status,  # what this kind of gateway tells besides: model, signal, ...
    }


def _credit(credit: Credit | None) -> dict | None:
    """A gateway's credit as the status shows it; None where it is not watched."""
    return None if credit is None else {"amount": credit.amount, "currency": credit.currency, "text": credit.text,
                                        "at": credit.at, "error": credit.error}


def webhook_backlog(router: Router) -> dict[str, tuple[int, float | None]]:
    """Per webhook connector, the events its URL has not taken yet and when the oldest was made."""
    waiting: dict[str, tuple[int, float | None]] = {
        name: (0, None) for name, c in router.routing.connectors.items() if c.kind == "webhook"}
    waiting.update(webhook.backlog(router.queue.database))
    return waiting


def collect(router: Router, *, started_at: float, now: float | None = None,
            accepting: Callable[[str], bool] = lambda connector: True, storage: str = "") -> dict:
    """The status of the server, of every gateway the router drives and of every connector.

    ``accepting(name)`` is False for a connector that is stopped (the service binds
    ``ServerControl.accepting``); ``storage``: why the store takes no new messages now
    ("" when it does: "OK")."""
    now = time.time() if now is None else now
    counts = router.queue.counts.snapshot(now)
    sent, failed, sending = counts.by_gateway()
    by_connector = counts.by_connector()
    empty: Counter[str] = Counter()
    connectors = router.routing.connectors.values()
    gateways = []
    for gateway in router.gateways:
        # what waits for it: what it sends now, and what every connector that sends through
        # it has queued (each of that connector's gateways counts those: any may take them)
        senders = [c.name for c in connectors if any(a.gateway == gateway.name and a.sends for a in c.assignments)]
        gateways.append({
            **gateway_status(router, gateway),
            "sent": sent[gateway.name],
            "failed": failed[gateway.name],
            "in_send_queue": sending[gateway.name] + sum(by_connector.get(name, empty)[MessageState.QUEUED]
                                                         for name in senders),
            "received": counts.received.get(gateway.name, 0),
            "today": {what: counts.today.get((gateway.name, what), 0) for what in (SENT, FAILED, RECEIVED)},
            "limits_used": router.limits.used(gateway.name, now) if gateway.name in router.limits.limits else None,
            "credit": _credit(router.credit.credit(gateway.name)),
        })
    connector_status = [{
        "name": connector.name,
        "type": connector.kind,
        "running": accepting(connector.name),
        "max_send_attempts": connector.max_send_attempts,
        "sent": by_connector.get(connector.name, empty)[SENT],
        "failed": by_connector.get(connector.name, empty)[MessageState.FAILED],
        "in_send_queue": sum(by_connector.get(connector.name, empty)[k]
                             for k in (MessageState.QUEUED, MessageState.SENDING)),
        "gateways": [{"name": a.gateway, "use": a.use, "role": a.role} for a in connector.assignments],
    } for connector in connectors]
    return {
        "name": PRODUCT,
        "version": version(),
        "time": now,
        "started_at": started_at,
        "uptime": max(0, int(now - started_at)),
        "storage": storage or "OK",
        "messages": counts.by_state(),
        "queue": router.queue.waiting(now)._asdict(),
        "webhooks": webhook_backlog(router),
        "received": sum(counts.received.values()),
        "gateways": gateways,
        "connectors": connector_status,
    }
