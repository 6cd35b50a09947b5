"""The web pages a person opens in a browser: login, dashboard, sent and received messages.

Server-rendered HTML (bottle's SimpleTemplate, which escapes every ``{{value}}``), one
small stylesheet and one small script, all served by the appliance itself: the appliance
usually sits on a LAN with no internet access. docs/web.md describes the pages.
"""

from __future__ import annotations

from pathlib import Path

import bottle

from ..diafaan.common import HttpApiContext
from . import (
    account,
    admin,
    admin_gateways,
    admin_keys,
    admin_providers,
    admin_receive,
    admin_users,
    contacts,
    dashboard,
    message,
    messages,
    received,
    send,
)
from .pages import UiContext, secured
from .sessions import Sessions

STATIC = Path(__file__).parent / "static"
# the only files served, with their types: nothing else under the folder is reachable
_STATIC_TYPES = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8",
                 "send.js": "text/javascript; charset=utf-8"}


def install(app: bottle.Bottle, http: HttpApiContext, sessions: Sessions | None = None) -> UiContext:
    """Add the pages to ``app``, checking logins with the HTTP API's authenticator."""
    context = UiContext(authenticator=http.authenticator, server_status=http.server_status,
                        sessions=sessions or Sessions())
    account.install(app, context)
    dashboard.install(app, context)
    received.install(app, context)
    messages.install(app, context)
    admin_users.install(app, context)
    admin_keys.install(app, context)
    admin_gateways.install(app, context, http)
    admin_providers.install(app, context)
    admin_receive.install(app, context, http)
    contacts.install(app, context)
    message.install(app, context)
    send.install(app, context, http)
    admin.install(app, context)  # after the pages: it answers what none of them does

    @app.get("/ui/static/<name>")
    @secured
    def static(name: str) -> bottle.HTTPResponse:
        kind = _STATIC_TYPES.get(name)
        if kind is None:
            raise bottle.HTTPError(404, "no such file")
        return bottle.static_file(name, root=str(STATIC), mimetype=kind)

    return context
