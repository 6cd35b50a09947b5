"""/admin/providers/add: "add a gateway" for an HTTP SMS provider account, for
administrators.

Provider gateways are [[provider]] tables of the config file, and the store keeps only
run-time changes of existing gateways' properties (``config_override``), not whole new
gateways. So the page lists the provider types, each with its logo (a drawing of our own,
served from this appliance: the page loads nothing from elsewhere), what it is and where
to sign up, and its form answers with the [[provider]] table to paste into the config
file, filled in and checked as the file would be, and the restart that loads it. Nothing
is stored: the credentials typed appear in that one answer only, never in the log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bottle

from ...config.file import ProviderConfig
from ..api_v1.wire import ApiError
from .admin import administrator, read, said
from .pages import UiContext, Visitor, form, render, secured

LOGOS = Path(__file__).parent / "static" / "providers"


@dataclass(frozen=True)
class ProviderType:
    type: str
    company: str
    description: str
    sign_up: str              # shown as text, not a link: the page points nowhere outside
    credentials: tuple[str, ...]


TYPES = (
    ProviderType("smsapi", "SMSAPI", "Bulk SMS in Poland and Europe; batch sending, sender names.",
                 "www.smsapi.com (register, then create an API token)", ("token", "username", "password")),
    ProviderType("twilio", "Twilio", "Worldwide SMS, one message a request (loop only).",
                 "www.twilio.com (account SID and auth token in its console)", ("account_sid", "auth_token")),
    ProviderType("clickatell", "Clickatell", "Worldwide SMS gateway.",
                 "www.clickatell.com (an HTTP API integration's key)", ("api_key",)),
    ProviderType("infobip", "Infobip", "Worldwide SMS with batch sending.",
                 "www.infobip.com (an API key, and your account's own base URL)", ("api_key", "username", "password")),
    ProviderType("http", "Generic HTTP", "Any provider with an HTTP send URL: a template of its parameters.",
                 "your provider's own documentation", ()),
)
FIELDS = ("name", "type", "base_url", "token", "username", "password", "account_sid", "auth_token", "api_key",
          "method", "parameters", "success_pattern", "id_pattern", "sender")
SECRET_FIELDS = ("token", "password", "auth_token", "api_key")   # never shown back in the form
MAX_FIELD = 2000      # characters of one field: the form's size is bounded


def snippet(data: dict[str, str]) -> str:
    """The [[provider]] table of ``data`` (non-empty values only), in TOML: each value a
    basic string, which JSON's escaping of a string writes correctly."""
    lines = ["[[provider]]"] + [f"{key} = {json.dumps(value, ensure_ascii=False)}"
                                for key, value in data.items() if value]
    return "\n".join(lines) + "\n"


def _page(who: Visitor, status: int = 200, error: str = "", toml: str = "", values: dict[str, str] | None = None
          ) -> str:
    return render("admin_providers", status, visitor=who, types=TYPES, fields=FIELDS, secrets=SECRET_FIELDS,
                  values=values or {},
                  toml=toml, notice="", error=error)


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get("/admin/providers/add")
    @secured
    def add() -> str:
        return _page(administrator(context))

    @app.post("/admin/providers/add")
    @secured
    def table() -> str:
        """Writes nothing: the answer is the table to paste, so a POST changes no state."""
        who = administrator(context)
        fields = form(who)
        data = {key: (fields.getunicode(key) or "").strip()[:MAX_FIELD] for key in FIELDS}
        shown = {key: value for key, value in data.items() if key not in SECRET_FIELDS}
        try:
            read(ProviderConfig, {key: value for key, value in data.items() if value})
        except ApiError as problem:
            return _page(who, problem.status, said(problem), values=shown)
        return _page(who, toml=snippet(data), values=shown)

    @app.get("/ui/static/providers/<name>")
    @secured
    def logo(name: str) -> Any:
        if name not in {f"{t.type}.svg" for t in TYPES}:
            raise bottle.HTTPError(404, "no such file")
        return bottle.static_file(name, root=str(LOGOS), mimetype="image/svg+xml")
