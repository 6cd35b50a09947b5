"""/admin/receive: the receive connectors other systems post SMS to (``POST
/receive/<name>``), for administrators.

The work is appliance/connectors/receive.py's, as ``sms-appliance receive-connector``
does it: the same checks and the same words, and a refused form changes nothing. A
token is on the page that answers the POST which made it, and nowhere else (only its
SHA-256 is stored); like a new API key's, that page is not a redirect, so a reload does
not show it again. A lost token is replaced, never shown.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import bottle

from ...connectors import receive
from ...store.models import ReceiveConnector
from ..api_v1.operate import present, run
from ..api_v1.wire import ApiError
from ..diafaan.common import HttpApiContext
from .admin import administrator, done, notice, said
from .pages import UiContext, Visitor, form, refuse, render, secured

log = logging.getLogger(__name__)
PAGE = "/admin/receive"


def kinds(http: HttpApiContext) -> dict[str, str]:
    """The configured connectors, name → type, that a receive connector can target."""
    control = present(http.control)
    return {c["name"]: c["type"] for c in run(control, control.configuration)["connectors"]}


def page(who: Visitor, http: HttpApiContext, status: int = 200, *, error: str = "", token: str = "",
         token_for: str = "", typed: dict[str, str] | None = None) -> str:
    """The receive connectors and their forms; ``token``: the one just made for
    ``token_for``, shown this once; ``typed``: a refused new connector's fields."""
    try:
        targets = kinds(http)
    except ApiError as problem:
        targets, error, status = {}, error or said(problem), problem.status
    return render("admin_receive", status, visitor=who, connectors=receive.list_all(), targets=targets,
                  routings=receive.ROUTINGS, path=lambda name: quote(name, safe=""), notice=notice(who),
                  error=error, token=token, token_for=token_for, typed=typed or {})


def _connector(who: Visitor, name: str) -> ReceiveConnector:
    connector = ReceiveConnector.get_or_none(ReceiveConnector.name == name)
    if connector is None:
        refuse(404, "No such receive connector", f"no receive connector named {name!r}", who)
    return connector


def _save(http: HttpApiContext, name: str, fields: bottle.FormsDict, *, require_token: bool | None,
          generate_token: bool = False) -> tuple[ReceiveConnector, str | None]:
    """The form's settings kept through set_connector; an empty target lets it choose the
    one connector that suits the routing."""
    return receive.set_connector(
        name, kinds(http), number=(fields.getunicode("number") or "").strip(),
        routing=fields.getunicode("routing") or "", target=fields.getunicode("target") or None,
        subject=fields.getunicode("subject") or "", require_token=require_token, generate_token=generate_token)


def install(app: bottle.Bottle, context: UiContext, http: HttpApiContext) -> None:
    @app.get(PAGE)
    @secured
    def list_connectors() -> str:
        return page(administrator(context), http)

    @app.post(PAGE)
    @secured
    def create_connector() -> str:
        who = administrator(context)
        fields = form(who)
        name = (fields.getunicode("name") or "").strip()
        typed = {field: fields.getunicode(field) or "" for field in ("number", "routing", "target", "subject")}
        typed["name"] = name
        try:
            if ReceiveConnector.get_or_none(ReceiveConnector.name == name) is not None:
                raise ApiError(409, "name_taken", f"name: a receive connector named {name!r} exists", "name")
            connector, token = _save(http, name, fields, require_token=fields.getunicode("token") == "1")
        except ValueError as problem:
            return page(who, http, 422, error=str(problem), typed=typed)
        except ApiError as problem:
            return page(who, http, problem.status, error=said(problem), typed=typed)
        log.info("web: receive connector %r created by %s", connector.name, who.user.name)
        if token is None:
            done(who, PAGE, f"Receive connector {connector.name} created; it takes messages without a token.")
        return page(who, http, 201, token=token, token_for=connector.name)

    @app.post(PAGE + "/<name>")
    @secured
    def change_connector(name: str) -> str:
        who = administrator(context)
        fields = form(who)
        connector = _connector(who, name)
        wanted = fields.getunicode("token") == "1"
        try:
            # requiring a token again needs a new one: the old one's hash was dropped
            _, token = _save(http, name, fields, require_token=None if wanted else False,
                             generate_token=wanted and not connector.require_token)
        except ValueError as problem:
            return page(who, http, 422, error=str(problem))
        except ApiError as problem:
            return page(who, http, problem.status, error=said(problem))
        log.info("web: receive connector %r changed by %s", name, who.user.name)
        if token is None:
            done(who, PAGE, f"Receive connector {name} saved.")
        return page(who, http, token=token, token_for=name)

    @app.post(PAGE + "/<name>/token")
    @secured
    def replace_token(name: str) -> str:
        who = administrator(context)
        form(who)
        _connector(who, name)
        try:
            _, token = receive.set_connector(name, kinds(http), generate_token=True)
        except ValueError as problem:
            return page(who, http, 422, error=str(problem))
        except ApiError as problem:
            return page(who, http, problem.status, error=said(problem))
        log.info("web: receive connector %r: new token made by %s", name, who.user.name)
        return page(who, http, token=token or "", token_for=name)  # a new token is always made here

    @app.post(PAGE + "/<name>/delete")
    @secured
    def delete_connector(name: str) -> str:
        who = administrator(context)
        form(who)
        _connector(who, name)
        receive.remove(name)
        log.info("web: receive connector %r removed by %s", name, who.user.name)
        done(who, PAGE, f"Receive connector {name} removed.")
