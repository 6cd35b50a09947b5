"""What the administration pages share: only administrators reach them, a form's
result shown once after its redirect, and the JSON API's checks of a value reused with
their words.

A non-administrator gets 403 on every /admin URL, GET or POST, before anything is read:
the pages are the JSON API's administrator resources (users, keys, gateways and
connectors) for a person, and change the same things.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

import bottle
import msgspec

from ...config import schema
from ..api_v1.wire import ApiError, refusal
from .pages import UiContext, Visitor, redirect, refuse, require, secured

T = TypeVar("T", bound=msgspec.Struct)


def administrator(context: UiContext) -> Visitor:
    """The logged-in administrator, or 403 (the login page without a session)."""
    who = require(context)
    if not who.user.is_admin:
        refuse(403, "Administrators only", "this page is for the appliance's administrators", who)
    return who


def done(who: Visitor, path: str, notice: str) -> NoReturn:
    """After a change: back to ``path`` (post/redirect/get), which shows ``notice`` once."""
    who.session.notice = notice
    redirect(path)


def notice(who: Visitor) -> str:
    """The result of this session's last change, once."""
    text, who.session.notice = who.session.notice, ""
    return text


def said(error: ApiError) -> str:
    """A refusal of the JSON API as one line that names the field."""
    named = error.field and error.message.startswith(error.field.rpartition(".")[2] + ":")  # "Pin: ..."
    if error.field and not named:
        return f"{error.field}: {error.message}"
    return error.message


def read(kind: type[T], data: dict[str, Any]) -> T:
    """``data`` (a form's fields) as the JSON API's request ``kind``: the same rules, and
    an ApiError in the same words when a value breaks one."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as error:
        raise refusal(schema.explain(error, kind, data, schema.JSON), kind) from None


def install(app: bottle.Bottle, context: UiContext) -> None:
    """/admin, and every other /admin URL: 403 for a non-administrator there too (a GET
    of a form's address, a page that does not exist), so nothing tells them apart."""

    @app.get("/admin")
    @secured
    def home() -> str:
        administrator(context)
        redirect("/admin/users")

    @app.route("/admin/<rest:path>", method="ANY")
    @secured
    def elsewhere(rest: str) -> str:
        refuse(404, "No such page", "there is no such administration page", administrator(context))
