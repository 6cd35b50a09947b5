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
from collections.abc import Iterable
from importlib import metadata
from typing import Any, cast

import peewee

from ..gateways.router import Router
from ..store.models import InboundMessage, MessageState, OutboundMessage

PRODUCT = "SMS Appliance"
STATES = (MessageState.QUEUED, MessageState.SENDING, MessageState.SENT, MessageState.DELIVERED,
          MessageState.FAILED, MessageState.EXPIRED, MessageState.REMOVED)
_SENT = (MessageState.SENT, MessageState.DELIVERED)


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


def collect(router: Router, *, started_at: float, now: float | None = None, storage: str = "") -> dict:
    """The status of the server, of every gateway the router drives and of every connector;
    ``storage``: why the store takes no new messages now ("" when it does: "OK")."""
    now = time.time() if now is None else now
    sent, failed, received = _gateway_counts()
    gateways = []
    for gateway in router.gateways:
        status = dict(gateway.status())
        limits = router.limits.limits.get(gateway.name)
        gateways.append({
            "name": gateway.name,
            "state": status.pop("state"),
            "detail": status.pop("detail"),
            "in_service": gateway.in_service,
            "paused": gateway.name in router.paused,
            "sent": sent.get(gateway.name, 0),
            "failed": failed.get(gateway.name, 0),
            "received": received.get(gateway.name, 0),
            "send_limit_day": limits.per_day if limits else None,
            "send_limit_month": limits.per_month if limits else None,
            "send_rate_per_minute": limits.per_minute if limits else None,
            "properties": status,  # what this kind of gateway tells besides: model, signal, ...
        })
    connectors = [{
        "name": connector.name,
        "type": connector.kind,
        "max_send_attempts": connector.max_send_attempts,
        "gateways": [{"name": a.gateway, "use": a.use, "role": a.role} for a in connector.assignments],
    } for connector in router.routing.connectors.values()]
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
        "connectors": connectors,
    }
