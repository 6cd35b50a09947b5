"""The bottle application: one object, built from the running service's parts."""

from __future__ import annotations

import bottle

from . import api_v1, metrics, provider_reports, receive, ui
from .api_v1 import ApiV1Context
from .diafaan import commands as http_api
from .diafaan.commands import HttpApiContext
from .guard import Guard
from .metrics import MetricsContext
from .provider_reports import ProviderReportsContext
from .receive import ReceiveContext


def _plain_error(error: bottle.HTTPError) -> str:
    """bottle's own error pages are HTML that quote the request path: these are plain
    text, with nothing a browser could run, whatever a stranger put in the URL."""
    bottle.response.content_type = "text/plain; charset=utf-8"
    return f"{error.status_line}\r\n"


def create_app(context: HttpApiContext, v1: ApiV1Context | None = None,
               receiving: ReceiveContext | None = None, guard: Guard | None = None,
               metered: MetricsContext | None = None, *,
               provider_callbacks: ProviderReportsContext | None = None) -> bottle.Bottle:
    """``guard``: the checks before any route (web/guard.py); by default its defaults.
    ``metered``: serve /metrics and count requests (web/metrics.py).
    ``provider_callbacks``: take providers' delivery callbacks (web/provider_reports.py)."""
    app = bottle.Bottle(catchall=True)
    app.default_error_handler = _plain_error
    (guard or Guard()).install(app)
    http_api.install(app, context)
    if v1 is not None:
        api_v1.install(app, v1)
    if receiving is not None:
        receive.install(app, receiving)
    if metered is not None:
        metrics.install(app, metered)
    if provider_callbacks is not None:
        provider_reports.install(app, provider_callbacks)
    ui.install(app, context)

    @app.route("/health")
    def health() -> str:
        """OK, or 503 with the reason while the store takes no new messages (a full disk)."""
        bottle.response.content_type = "text/plain; charset=utf-8"
        space = context.capacity.space if context.capacity is not None else None
        problem = space.problem() if space is not None else ""
        if problem:
            bottle.response.status = 503
            return f"{problem}\r\n"
        return "OK\r\n"

    return app
