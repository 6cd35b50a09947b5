"""/api/v1/status: which software answers and for how long it has been running.

The service's full state (gateways, connectors, their control) is a resource kind of its
own; it joins the package as another module beside this one.
"""

from __future__ import annotations

from .endpoint import Api, Call


def install(api: Api) -> None:
    @api.route("GET", "/status")
    def status(call: Call) -> dict:
        context = call.context
        return {"version": context.version,
                "uptime": round(max(0.0, context.uptime_clock() - context.started_at), 3)}
