"""/api/v1/status: which software answers, for how long, and the state of its gateways,
connectors and messages — what request-server-status tells, for any caller who logs in.

The data is :func:`appliance.control.server_status.collect`'s, bound by the service as
``context.http.server_status``; here it only takes the API's shape (times in RFC 3339, a
gateway's own particulars under ``device``). /api/v1/gateways shows the same gateway entries.
"""

from __future__ import annotations

from .endpoint import Api, Call
from .fields import timestamp

GATEWAY_FIELDS = ("name", "state", "detail", "in_service", "paused", "sent", "failed", "received",
                  "send_limit_day", "send_limit_month", "send_rate_per_minute")


def gateway_status(collected: dict) -> dict:
    """One gateway of ``collect``'s answer; what its kind tells besides (a modem's signal,
    operator, ...) goes under ``device``."""
    return {**{key: collected[key] for key in GATEWAY_FIELDS}, "device": collected["properties"]}


def install(api: Api) -> None:
    @api.route("GET", "/status")
    def status(call: Call) -> dict:
        context = call.context
        collected = context.http.server_status()
        return {"version": context.version,
                "uptime": round(max(0.0, context.uptime_clock() - context.started_at), 3),
                "started_at": timestamp(collected["started_at"]),
                "messages": collected["messages"],
                "received": collected["received"],
                "gateways": [gateway_status(g) for g in collected["gateways"]],
                "connectors": collected["connectors"]}
