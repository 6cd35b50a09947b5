"""/api/v1/users: the appliance's users, for administrators only."""

from __future__ import annotations

import time
from typing import Annotated

import peewee
from msgspec import UNSET, Meta, UnsetType

from ...accounts import users
from ...config.file import UserName
from ...store.models import User as UserRow
from .auth import require_admin
from .endpoint import NO_CONTENT, Api, Call, Reply
from .fields import Input, Output, Time, timestamp
from .wire import ApiError, not_found

Password = Annotated[str, Meta(min_length=users.MIN_PASSWORD_LENGTH, max_length=1024, extra={"secret": True},
                               description=f"a string of at least {users.MIN_PASSWORD_LENGTH} characters")]


class UserInput(Input, kw_only=True):
    name: UserName
    password: Password
    is_admin: bool = False


class UserChange(Input, kw_only=True):
    password: Password | UnsetType = UNSET
    is_admin: bool | UnsetType = UNSET


class User(Output):
    name: str
    is_admin: bool
    created_at: Time


class UserList(Output):
    users: list[User]


def user_data(user: UserRow) -> User:
    return User(user.name, user.is_admin, timestamp(user.created_at))


def _user(name: str) -> UserRow:
    user = UserRow.get_or_none(UserRow.name == name)
    if user is None:
        raise not_found(f"user {name!r}")
    return user


def name_taken(name: str) -> ApiError:
    """The refusal of a new user whose name another user has (the pages say it too)."""
    return ApiError(409, "name_taken", f"a user named {name!r} exists", "name")


def keeps_an_admin(user: UserRow, action: str) -> None:
    """The appliance always keeps an administrator who can log in."""
    others = UserRow.select().where((UserRow.is_admin == True) & (UserRow.id != user.id)).exists()  # noqa: E712
    if user.is_admin and not others:
        raise ApiError(409, "last_admin", f"{user.name} is the only administrator; {action} would leave none")


def install(api: Api) -> None:
    @api.route("GET", "/users")
    def list_users(call: Call) -> UserList:
        require_admin(call.principal)
        return UserList([user_data(u) for u in UserRow.select().order_by(UserRow.name)])

    @api.route("POST", "/users")
    def create_user(call: Call) -> Reply:
        require_admin(call.principal)
        body = call.body(UserInput)
        name = body.name
        try:
            user = UserRow.create(name=name, password_hash=users.hash_password(body.password), is_admin=body.is_admin,
                               created_at=time.time())
        except peewee.IntegrityError:
            raise name_taken(name) from None
        return Reply(user_data(user), 201)

    @api.route("GET", "/users/<name>")
    def get_user(call: Call, name: str) -> User:
        require_admin(call.principal)
        return user_data(_user(name))

    @api.route("PATCH", "/users/<name>")
    def change_user(call: Call, name: str) -> User:
        require_admin(call.principal)
        user = _user(name)
        body = call.body(UserChange)
        is_admin = user.is_admin if body.is_admin is UNSET else body.is_admin
        if user.is_admin and not is_admin:
            keeps_an_admin(user, "taking the role")
        if body.password is not UNSET:
            user.password_hash = users.hash_password(body.password)
        user.is_admin = is_admin
        user.save()
        return user_data(user)

    @api.route("DELETE", "/users/<name>")
    def delete_user(call: Call, name: str) -> Reply:
        require_admin(call.principal)
        user = _user(name)
        if user.id == call.principal.id:
            raise ApiError(409, "own_account", "you cannot delete the account you are using")
        keeps_an_admin(user, "deleting it")
        user.delete_instance()
        return NO_CONTENT
