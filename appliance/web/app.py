"""The bottle application: one object, built from the running service's parts."""

from __future__ import annotations

import bottle

from . import http_api
from .http_api import HttpApiContext


def create_app(context: HttpApiContext) -> bottle.Bottle:
    app = bottle.Bottle(catchall=True)
    http_api.install(app, context)

    @app.route("/health")
    def health() -> str:
        bottle.response.content_type = "text/plain; charset=utf-8"
        return "OK\r\n"

    return app
