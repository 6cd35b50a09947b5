"""/admin/keys: every user's API keys, for administrators.

A new key's token is on the page that answers the POST which made it, and nowhere else:
only its hash is stored (appliance/accounts/api_keys.py), so it can never be shown again.
That page is not a redirect, so a reload does not show it either (the browser asks
before posting again, and a second post makes a second key); ``Cache-Control: no-store``
keeps it off the disk.
"""

from __future__ import annotations

import time

import bottle

from ...accounts import api_keys
from ...store.models import ApiKey, User
from ..api_v1.keys import ApiKeyInput
from ..api_v1.wire import ApiError, invalid, not_found
from .admin import administrator, done, notice, read, said
from .pages import UiContext, Visitor, form, refuse, render, secured

PAGE = "/admin/keys"


def when(seconds: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds is not None else "never"


def page(who: Visitor, status: int = 200, *, error: str = "", token: str = "", key_name: str = "",
         owner: str = "") -> str:
    """The keys and the form; ``token``: the key just made, shown this once."""
    return render("admin_keys", status, visitor=who, keys=api_keys.listed(),
                  users=[u.name for u in User.select(User.name).order_by(User.name)], when=when,
                  notice=notice(who), error=error, token=token, key_name=key_name, owner=owner or who.user.name)


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get(PAGE)
    @secured
    def list_keys() -> str:
        return page(administrator(context))

    @app.post(PAGE)
    @secured
    def create_key() -> str:
        who = administrator(context)
        fields = form(who)
        owner_name = fields.getunicode("user") or ""
        key_name = fields.getunicode("name") or ""
        try:
            body = read(ApiKeyInput, {"name": key_name, "user": owner_name})
            owner = User.get_or_none(User.name == body.user)
            if owner is None:
                raise ApiError(422, "invalid_value", not_found(f"user {owner_name!r}").message, "user")
            try:
                _, token = api_keys.create(owner, body.name)
            except ValueError as problem:
                raise invalid("name", str(problem)) from None
        except ApiError as error:
            return page(who, error.status, error=said(error), key_name=key_name, owner=owner_name)
        return page(who, 201, token=token, owner=owner.name)

    @app.post(PAGE + "/<key_id:int>/revoke")
    @secured
    def revoke_key(key_id: int) -> str:
        who = administrator(context)
        form(who)
        key = ApiKey.select(ApiKey, User).join(User).where(ApiKey.id == key_id).first()
        if key is None:
            refuse(404, "No such key", f"API key {key_id} does not exist", who)
        api_keys.revoke(key.id)
        done(who, PAGE, f"Key {key.prefix}… of {key.user.name} revoked.")
