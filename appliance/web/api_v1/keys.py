"""/api/v1/keys: API keys. Everyone manages their own; administrators anyone's."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from ...accounts import api_keys
from ...accounts.users import Principal
from ...store.models import ApiKey as KeyRow
from ...store.models import User
from .auth import require_admin, require_local
from .endpoint import NO_CONTENT, Api, Call, Reply
from .fields import Input, Output, RowId, Time, row_id, timestamp
from .wire import invalid, not_found


class KeysQuery(Input, kw_only=True):
    user: Annotated[str, Meta(description="only this user's")] | None = None


class ApiKeyInput(Input, kw_only=True):
    name: Annotated[str, Meta(max_length=api_keys.MAX_NAME)] = ""
    user: str | None = None


class ApiKey(Output):
    id: RowId
    user: str
    name: str
    prefix: str              # the token's first characters, to tell keys apart
    created_at: Time
    last_used_at: Time | None


class NewApiKey(ApiKey):
    token: str               # in this reply only, never again


class ApiKeyList(Output):
    keys: list[ApiKey]


def _key_fields(key: KeyRow) -> dict:
    return {"id": key.id, "user": key.user.name, "name": key.name, "prefix": key.prefix,
                "created_at": timestamp(key.created_at), "last_used_at": timestamp(key.last_used_at)}


def _owner(principal: Principal, name: str | None) -> User:
    """The caller, or the named user when an administrator asks."""
    own = require_local(principal, "API keys")
    if name is None:
        return User.get_by_id(own)
    if name != principal.name:
        require_admin(principal)
    user = User.get_or_none(User.name == name)
    if user is None:
        raise not_found(f"user {name!r}")
    return user


def install(api: Api) -> None:
    @api.route("GET", "/keys", query=KeysQuery)
    def list_keys(call: Call) -> ApiKeyList:
        name = call.query.user
        if name is None and call.principal.is_admin and not call.principal.external:
            return ApiKeyList([ApiKey(**_key_fields(k)) for k in api_keys.listed()])
        return ApiKeyList([ApiKey(**_key_fields(k)) for k in api_keys.listed(_owner(call.principal, name))])

    @api.route("POST", "/keys")
    def create_key(call: Call) -> Reply:
        body = call.body(ApiKeyInput)
        owner = _owner(call.principal, body.user)
        try:
            key, token = api_keys.create(owner, body.name)
        except ValueError as error:
            raise invalid("name", str(error)) from None
        return Reply(NewApiKey(**_key_fields(key), token=token), 201)

    @api.route("DELETE", "/keys/<key_id>")
    def revoke_key(call: Call, key_id: str) -> Reply:
        require_local(call.principal, "API keys")
        key = KeyRow.select(KeyRow, User).join(User).where(KeyRow.id == row_id(key_id, "API key")).first()
        # another user's key is as good as absent, unless the caller administers them all
        if key is None or (key.user.id != call.principal.id and not call.principal.is_admin):
            raise not_found(f"API key {key_id}")
        api_keys.revoke(key.id)
        return NO_CONTENT
