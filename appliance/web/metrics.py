"""``GET /metrics``: the appliance for Prometheus (control/metrics.py reads it), written by
``prometheus_client``, never by hand; and the count of every HTTP request by route.

Access is the config's choice (``[metrics]``): open on the API's port, or a bearer token
compared in constant time. A scrape is a GET and changes nothing.
"""

from __future__ import annotations

import hmac
import sys
from dataclasses import dataclass, field

import bottle
from prometheus_client import CollectorRegistry, Counter, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder

from ..control.metrics import ApplianceCollector

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UNMATCHED = "(no route)"


@dataclass
class MetricsContext:
    """What /metrics shows (``collector``) and who may see it: when ``token`` is set, a
    scrape must present it as ``Authorization: Bearer <token>``."""

    collector: ApplianceCollector
    token: str = ""
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _route(app: bottle.Bottle) -> str:
    """The pattern of the route that answered, or would have: a request the guard refused
    (web/guard.py) was refused before routing, and is counted under its route all the same."""
    route = bottle.request.environ.get("bottle.route")
    if route is None:
        try:
            route, _ = app.router.match(bottle.request.environ)
        except bottle.HTTPError:  # no route has this path (404) or method (405)
            return _UNMATCHED
    return str(route.rule)


def _count_request(app: bottle.Bottle, requests: Counter) -> None:
    """After every request, routed or not: the route's pattern (``/api/v1/messages/<id>``),
    never the path a client chose, so the label's values stay as few as the routes. A
    handler that raised is still on its way to a 500 when this runs."""
    method = bottle.request.method
    status = 500 if sys.exc_info()[0] is not None else bottle.response.status_code
    requests.labels(_route(app), method if method in _METHODS else "other", str(status)).inc()


def install(app: bottle.Bottle, context: MetricsContext) -> None:
    """Count every request of ``app`` and serve ``/metrics`` from its own registry (not
    the library's global one: two apps in one process, as in the tests, count apart)."""
    registry = context.registry
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=registry)
    registry.register(context.collector)
    requests = Counter("sms_http_requests", "HTTP requests by route pattern, method and status",
                       ["route", "method", "status"], registry=registry)
    app.add_hook("after_request", lambda: _count_request(app, requests))
    expected = context.token.encode()

    @app.get("/metrics")
    def metrics() -> bytes:
        """The exposition, in the format the scraper asks for (Prometheus text or OpenMetrics)."""
        if expected and not hmac.compare_digest(_bearer(bottle.request.get_header("Authorization", "")).encode(),
                                                expected):
            raise bottle.HTTPResponse("401 Unauthorized: /metrics needs the [metrics] token as "
                                      "'Authorization: Bearer <token>'\r\n", 401,
                                      {"Content-Type": "text/plain; charset=utf-8",
                                       "WWW-Authenticate": 'Bearer realm="metrics"'})
        encoder, content_type = choose_encoder(bottle.request.get_header("Accept", ""))
        bottle.response.content_type = content_type
        return encoder(registry)
