"""/admin/users: the appliance's users and their roles, for administrators.

The same changes as /api/v1/users, with its checks and its words: a user name and a
password are read as the JSON API reads them, and the appliance always keeps an
administrator. A new password or a removed user ends that user's sessions.
"""

from __future__ import annotations

import time

import bottle

from ...accounts import users
from ...store.models import User
from ..api_v1.users import UserChange, UserInput, keeps_an_admin, name_taken
from ..api_v1.wire import ApiError
from .admin import administrator, done, notice, read, said
from .pages import UiContext, Visitor, form, refuse, render, secured

PAGE = "/admin/users"
ROLES = {"user": False, "administrator": True}


def role(value: str) -> bool:
    """Whether the role chosen in a form is the administrator's."""
    if value not in ROLES:
        raise ApiError(422, "invalid_value", f"role: must be one of {', '.join(ROLES)}, not {value!r}", "role")
    return ROLES[value]


def page(who: Visitor, status: int = 200, error: str = "", name: str = "") -> str:
    """The list and its forms; after a refused form, the error and the name typed."""
    return render("admin_users", status, visitor=who, users=list(User.select().order_by(User.name)),
                  notice=notice(who), error=error, name=name,
                  created=lambda user: time.strftime("%Y-%m-%d %H:%M", time.localtime(user.created_at)))


def _user(who: Visitor, name: str) -> User:
    user = User.get_or_none(User.name == name)
    if user is None:
        refuse(404, "No such user", f"user {name!r} does not exist", who)
    return user


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get(PAGE)
    @secured
    def list_users() -> str:
        return page(administrator(context))

    @app.post(PAGE)
    @secured
    def create_user() -> str:
        who = administrator(context)
        fields = form(who)
        name = (fields.getunicode("name") or "").strip()
        try:
            body = read(UserInput, {"name": name, "password": fields.getunicode("password") or "",
                                    "is_admin": role(fields.getunicode("role") or "")})
            if User.get_or_none(User.name == body.name) is not None:
                raise name_taken(body.name)
        except ApiError as error:
            return page(who, error.status, said(error), name)
        users.set_user(body.name, body.password, admin=body.is_admin)
        done(who, PAGE, f"User {body.name} created, {'an administrator' if body.is_admin else 'a user'}.")

    @app.post(PAGE + "/<name>/role")
    @secured
    def change_role(name: str) -> str:
        who = administrator(context)
        fields = form(who)
        user = _user(who, name)
        try:
            admin = role(fields.getunicode("role") or "")
            if user.is_admin and not admin:
                keeps_an_admin(user, "taking the role")
        except ApiError as error:
            return page(who, error.status, said(error))
        User.update(is_admin=admin).where(User.id == user.id).execute()
        # an administrator who gave up the role has no administration page left to go back to
        done(who, PAGE if admin or user.id != who.user.id else "/",
             f"{name} is now {'an administrator' if admin else 'a user'}.")

    @app.post(PAGE + "/<name>/password")
    @secured
    def set_password(name: str) -> str:
        who = administrator(context)
        fields = form(who)
        user = _user(who, name)
        try:
            body = read(UserChange, {"password": fields.getunicode("password") or ""})
        except ApiError as error:
            return page(who, error.status, said(error))
        users.set_user(user.name, str(body.password), admin=user.is_admin)
        context.sessions.end_user(user.id, keep=who.sid)  # whoever knew the old password is logged out
        done(who, PAGE, f"New password set for {name}.")

    @app.post(PAGE + "/<name>/delete")
    @secured
    def delete_user(name: str) -> str:
        who = administrator(context)
        form(who)
        user = _user(who, name)
        try:
            if user.id == who.user.id:
                raise ApiError(409, "own_account", "you cannot delete the account you are using")
            keeps_an_admin(user, "deleting it")
        except ApiError as error:
            return page(who, error.status, said(error))
        user.delete_instance()
        context.sessions.end_user(user.id)
        done(who, PAGE, f"User {name} deleted.")
