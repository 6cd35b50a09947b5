"""/admin/gateways: start, stop, pause and reconfigure the gateways and connectors, for
administrators.

The work is the JSON API's (/api/v1/gateways and /api/v1/connectors): the same actions,
and a property is set through the same function, so a value is refused with the same
words as there and as send-server-command's, and nothing is kept unless every value of
the form can be. Only the values the form changed are set, so a property left alone keeps
coming from the config file. A secret (a PIN, a webhook token) is never put into the
page: its field is empty, and a value typed there replaces it.

Provider gateways are listed once more as a table (company, name, host, the credentials
by name with every secret as ***, state, requests in flight); each gateway's card has a
"Send a test SMS" form, which waits for the answer as POST /api/v1/gateways/<name>/test does.
"""

from __future__ import annotations

import logging
from typing import Any, cast
from urllib.parse import quote

import bottle

from ...accounts.users import Principal
from ...config import schema
from ...config.file import ProviderConfig
from ...config.properties import CONNECTOR_PROPERTIES, GATEWAY_PROPERTIES, SECRET_SHOWN_AS
from ...control.server_control import ServerControl
from ..api_v1 import connectors, gateways
from ..api_v1.gateway_test import TestRequest, send_test
from ..api_v1.operate import Values, action_of, named, present, run
from ..api_v1.wire import ApiError
from ..diafaan.common import HttpApiContext
from .admin import administrator, done, notice, read, said
from .pages import UiContext, Visitor, form, render, secured

log = logging.getLogger(__name__)
PAGE = "/admin/gateways"
KINDS = {"gateway": gateways.ACTIONS, "connector": connectors.ACTIONS}
CREDENTIALS = ("token", "username", "password", "account_sid", "auth_token", "api_key")
COMPANIES = {"smsapi": "SMSAPI", "twilio": "Twilio", "clickatell": "Clickatell", "infobip": "Infobip",
             "http": "Generic HTTP"}


def _control(http: HttpApiContext) -> ServerControl:
    """Read at each request: the service sets it once its gateways exist."""
    return present(http.control)


def page(who: Visitor, http: HttpApiContext, status: int = 200, error: str = "") -> str:
    providers: list[dict[str, Any]] = []
    try:
        control = _control(http)
        configuration = run(control, control.configuration)
        providers = _providers(run(control, lambda: control.config.providers), http.server_status()["gateways"])
    except ApiError as problem:
        configuration, error, status = {"gateways": [], "connectors": []}, error or said(problem), problem.status
    return render("admin_gateways", status, visitor=who, configuration=configuration, kinds=KINDS,
                  providers=providers,
                  secrets={name for name, prop in {**GATEWAY_PROPERTIES, **CONNECTOR_PROPERTIES}.items()
                           if prop.secret},
                  path=lambda name: quote(name, safe=""), notice=notice(who), error=error)


def _providers(configured: tuple[ProviderConfig, ...], statuses: list[dict]) -> list[dict[str, Any]]:
    """A row per provider gateway: the credentials it has, by name, a secret as ***."""
    status = {s["name"]: s for s in statuses}
    secret = {key for key in CREDENTIALS if schema.declared(schema.fields(ProviderConfig)[key].type).secret}
    rows = []
    for provider in configured:
        now = status.get(provider.name, {})
        told = now.get("properties", {})  # what a provider gateway tells besides (engine.status)
        credentials = {key: SECRET_SHOWN_AS if key in secret else getattr(provider, key)
                       for key in CREDENTIALS if getattr(provider, key)}
        rows.append({"name": provider.name, "type": provider.type,
                     "company": COMPANIES.get(provider.type, provider.type), "host": told.get("host", ""),
                     "credentials": credentials, "state": now.get("state", ""), "detail": now.get("detail", ""),
                     "in_flight": told.get("in_flight", 0)})
    return rows


def changes(fields: bottle.FormsDict, current: dict[str, Any]) -> tuple[Values, dict[str, Values]]:
    """The properties and routing the form changed: a field equal to what is set now is
    left alone, an empty secret field keeps the secret, and a ticked ``clear.<name>``
    removes it."""
    values: Values = {}
    routing: dict[str, Values] = {}
    for field in fields:
        value = fields.getunicode(field) or ""
        kind, _, rest = field.partition(".")
        if kind == "properties":
            now = current["properties"].get(rest)
            if value != now and not (now == SECRET_SHOWN_AS and value == ""):
                values[rest] = value
        elif kind == "routing":
            gateway, _, prop = rest.rpartition(".")
            if value != current.get("routing", {}).get(gateway, {}).get(prop):
                routing.setdefault(gateway, {})[prop] = value
    for field in fields:
        kind, _, prop = field.partition(".")
        if kind == "clear" and fields.getunicode(field) == "1":
            values[prop] = ""  # "remove it" ticked: no PIN, no token, whatever was typed
    return values, routing


def install(app: bottle.Bottle, context: UiContext, http: HttpApiContext) -> None:
    @app.get(PAGE)
    @secured
    def overview() -> str:
        return page(administrator(context), http)

    @app.post("/admin/gateways/<name>/test")  # before the actions' route, which would take it
    @secured
    def test(name: str) -> str:
        who = administrator(context)
        fields = form(who)
        try:
            request = read(TestRequest, {"to": fields.getunicode("to") or "", "text": fields.getunicode("text") or ""})
            principal = Principal(who.user.id, who.user.name, who.user.is_admin)
            result = send_test(http, principal, name, request)
        except ApiError as problem:
            return page(who, http, problem.status, f"{name}: test SMS not sent: {said(problem)}")
        log.info("web: gateway %r: test SMS: %s by %s", name, result.state, who.user.name)
        done(who, PAGE, f"{name}: test SMS to {request.to}: {result.answer}")

    @app.post("/admin/<kind:re:gateway|connector>s/<name>/<action>")
    @secured
    def act(kind: str, name: str, action: str) -> str:
        who = administrator(context)
        form(who)
        try:
            control = _control(http)
            work = action_of(KINDS[kind], action, kind)
            # every action of KINDS is a ServerControl method answering {name: what was done}
            result = cast(dict[str, str], run(control, lambda: work(control, [name])))
        except ApiError as problem:
            return page(who, http, problem.status, said(problem))
        log.info("web: %s %r: %s by %s", kind, name, action, who.user.name)
        done(who, PAGE, "; ".join(f"{done_to}: {what}" for done_to, what in result.items()))

    @app.post("/admin/<kind:re:gateway|connector>s/<name>")
    @secured
    def change(kind: str, name: str) -> str:
        who = administrator(context)
        fields = form(who)
        reload = fields.getunicode("reload") == "1"
        try:
            control = _control(http)
            current = named(run(control, control.configuration)[kind + "s"], name, kind)
            values, routing = changes(fields, current)
            if kind == "gateway":
                made = gateways.change(control, name, values, reload)
            else:
                made = connectors.change(control, name, values, routing, reload)
        except ApiError as problem:
            return page(who, http, problem.status, said(problem))
        # who changed which properties, never a value: it may be a PIN or a token
        log.info("web: %s %r: set %s by %s", kind, name, ", ".join(field for field, _ in made) or "nothing",
                 who.user.name)
        if not made:
            done(who, PAGE, f"{name}: nothing changed.")
        done(who, PAGE, f"{name}: set {', '.join(field.partition('.')[2] for field, _ in made)}"
                        + ("; restarted." if reload else "; applies at its next restart."))
