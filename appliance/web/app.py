"""The bottle application: one object, built from the running service's parts."""

from __future__ import annotations

import bottle

from . import api_v1, http_api
from .api_v1 import ApiV1Context
from .http_api import HttpApiContext


def create_app(context: HttpApiContext, v1: ApiV1Context | None = None) -> bottle.Bottle:
    app = bottle.Bottle(catchall=True)
    http_api.install(app, context)
    if v1 is not None:
        api_v1.install(app, v1)

    @app.route("/health")
    def health() -> str:
        bottle.response.content_type = "text/plain; charset=utf-8"
        return "OK\r\n"

    return app
