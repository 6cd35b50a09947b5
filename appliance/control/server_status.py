"""The appliance's status and statistics as one plain dict: what request-server-status
shows (and what a status page can show), gathered from the router and the store.

Called from HTTP worker threads. It only reads: each gateway's ``status()`` and
``in_service`` are built from plain attribute reads, ``paused`` is asked by membership,
and the send limits are the configured (frozen) values — nothing the event loop
changes is iterated or modified here. Message counts are whole-store totals, since the
store was created, not since the last start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any, cast

import peewee

from ..gateways.base import Gateway
from ..gateways.router import Router
from ..store.models import InboundMessage, MessageState, OutboundMessage

PRODUCT = "SMS Appliance"
STATES = (MessageState.QUEUED, MessageState.SENDING, MessageState.SENT, MessageState.DELIVERED,
          MessageState.FAILED, MessageState.UNDELIVERED, MessageState.EXPIRED, MessageState.REMOVED)
# the gateway sent these: a report that one was not delivered does not make the send a failure
_SENT = (MessageState.SENT, MessageState.DELIVERED, MessageState.UNDELIVERED)


def version() -> str:
    try:
        return metadata.version("sms-appliance")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _tuples(query: peewee.ModelSelect[Any]) -> Iterable[tuple[Any, ...]]:
    """The rows of ``query.tuples()``, which peewee's type stubs still declare as models."""
    return cast(Iterable[tuple[Any, ...]], query.tuples())


def _message_counts() -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    query = (OutboundMessage.select(OutboundMessage.state, peewee.fn.COUNT(OutboundMessage.id))
             .group_by(OutboundMessage.state))
    for state, count in _tuples(query):
        counts[state] = count
    return counts


def _connector_counts() -> dict[str, dict[str, int]]:
    """Per connector, the messages that came in by it: ``sent`` (sent, delivered or reported
    undelivered), ``failed``, ``queued`` (waiting: also scheduled or waiting to retry) and
    ``sending`` (a gateway has it now)."""
    totals: dict[str, dict[str, int]] = {}
    query = (OutboundMessage.select(OutboundMessage.connector, OutboundMessage.state,
                                    peewee.fn.COUNT(OutboundMessage.id))
             .where(OutboundMessage.state.in_((*_SENT, MessageState.FAILED, MessageState.QUEUED,
                                               MessageState.SENDING)))
             .group_by(OutboundMessage.connector, OutboundMessage.state))
    for connector, state, count in _tuples(query):
        entry = totals.setdefault(connector, dict.fromkeys(("sent", "failed", "queued", "sending"), 0))
        entry["sent" if state in _SENT else state] += count
    return totals


def _sending_counts() -> dict[str, int]:
    """Messages each gateway is sending now."""
    return dict(_tuples(OutboundMessage.select(OutboundMessage.gateway, peewee.fn.COUNT(OutboundMessage.id))
                        .where(OutboundMessage.state == MessageState.SENDING).group_by(OutboundMessage.gateway)))


def _gateway_counts() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Messages sent (or delivered) and failed by each gateway, and messages received by each."""
    sent: dict[str, int] = {}
    failed: dict[str, int] = {}
    query = (OutboundMessage.select(OutboundMessage.gateway, OutboundMessage.state,
                                    peewee.fn.COUNT(OutboundMessage.id))
             .where(OutboundMessage.state.in_((*_SENT, MessageState.FAILED)))
             .group_by(OutboundMessage.gateway, OutboundMessage.state))
    for gateway, state, count in _tuples(query):
        totals = sent if state in _SENT else failed
        totals[gateway] = totals.get(gateway, 0) + count
    received: dict[str, int] = dict(_tuples(InboundMessage.select(InboundMessage.gateway,
                                                                  peewee.fn.COUNT(InboundMessage.id))
                                            .group_by(InboundMessage.gateway)))
    return sent, failed, received


def gateway_status(router: Router, gateway: Gateway) -> dict:
    """A gateway as it is now, without the message counts, which read the store: what
    /metrics shows at every scrape (the counts there come from memory, store.tally)."""
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


def collect(router: Router, *, started_at: float, now: float | None = None,
            accepting: Callable[[str], bool] = lambda connector: True, storage: str = "") -> dict:
    """The status of the server, of every gateway the router drives and of every connector.

    ``accepting(name)`` is False for a connector that is stopped (the service binds
    ``ServerControl.accepting``); ``storage``: why the store takes no new messages now
    ("" when it does: "OK")."""
    now = time.time() if now is None else now
    sent, failed, received = _gateway_counts()
    by_connector, sending = _connector_counts(), _sending_counts()
    connectors = router.routing.connectors.values()
    gateways = []
    for gateway in router.gateways:
        # what waits for it: what it sends now, and what every connector that sends through
        # it has queued (each of that connector's gateways counts those: any may take them)
        senders = [c.name for c in connectors if any(a.gateway == gateway.name and a.sends for a in c.assignments)]
        gateways.append({
            **gateway_status(router, gateway),
            "sent": sent.get(gateway.name, 0),
            "failed": failed.get(gateway.name, 0),
            "in_send_queue": sending.get(gateway.name, 0) + sum(by_connector.get(name, {}).get("queued", 0)
                                                                 for name in senders),
            "received": received.get(gateway.name, 0),
        })
    empty = dict.fromkeys(("sent", "failed", "queued", "sending"), 0)
    connector_status = [{
        "name": connector.name,
        "type": connector.kind,
        "running": accepting(connector.name),
        "max_send_attempts": connector.max_send_attempts,
        "sent": by_connector.get(connector.name, empty)["sent"],
        "failed": by_connector.get(connector.name, empty)["failed"],
        "in_send_queue": sum(by_connector.get(connector.name, empty)[k] for k in ("queued", "sending")),
        "gateways": [{"name": a.gateway, "use": a.use, "role": a.role} for a in connector.assignments],
    } for connector in connectors]
    return {
        "name": PRODUCT,
        "version": version(),
        "time": now,
        "started_at": started_at,
        "uptime": max(0, int(now - started_at)),
        "storage": storage or "OK",
        "messages": _message_counts(),
        "received": sum(received.values()),
        "gateways": gateways,
        "connectors": connector_status,
    }
