"""Logging in and out, and choosing one's own password.

The login checks the appliance's users through the APIs' Authenticator, so the same
passwords and the same throttle (per client address and per user name) hold: the page
is no easier a target for a guesser than /http or /api/v1.
"""

from __future__ import annotations

import bottle

from ...accounts import users
from .pages import COOKIE, UiContext, clear_cookie, form, redirect, render, require, secured, set_cookie, visitor

FAILED = "Unknown user or wrong password, or too many failed attempts: wait a minute and try again."


def install(app: bottle.Bottle, context: UiContext) -> None:
    @app.get("/login")
    @secured
    def login_form() -> str:
        if visitor(context) is not None:
            redirect("/")
        return render("login", visitor=None, error="", name="")

    @app.post("/login")
    @secured
    def login() -> str:
        fields = form(None)
        name = (fields.getunicode("username") or "").strip()
        password = fields.getunicode("password") or ""
        principal = context.authenticator.authenticate(name, password,
                                                       address=bottle.request.environ.get("REMOTE_ADDR"))
        if principal is None or principal.id is None:  # an external caller has no pages of its own
            return render("login", 401, visitor=None, error=FAILED, name=name)
        old = bottle.request.get_cookie(COOKIE)
        context.sessions.end(old)
        set_cookie(context.sessions.create(principal.id))
        redirect("/")

    @app.post("/logout")
    @secured
    def logout() -> str:
        who = visitor(context)
        form(who)
        if who is not None:
            context.sessions.end(who.sid)
        clear_cookie()
        redirect("/login")

    @app.get("/password")
    @secured
    def password_form() -> str:
        who = require(context, one_time_password=True)
        return render("password", visitor=who, error="")

    @app.post("/password")
    @secured
    def change_password() -> str:
        who = require(context, one_time_password=True)
        fields = form(who)
        new = fields.getunicode("password") or ""
        error = ""
        # the current password too: a browser left logged in is not enough to take the account
        if context.authenticator.authenticate(who.user.name, fields.getunicode("current") or "",
                                              address=bottle.request.environ.get("REMOTE_ADDR")) is None:
            error = "current password: wrong, or too many failed attempts: wait a minute and try again"
        elif new != (fields.getunicode("confirm") or ""):
            error = "password and confirm password differ: type the same password in both fields"
        elif who.user.must_change_password and users.check_password(new, who.user.password_hash):
            error = "password: choose a password of your own, not the one printed at first start"
        else:
            try:
                users.validate_password(new)
            except ValueError as problem:
                error = f"password: {problem}"
        if error:
            return render("password", 400, visitor=who, error=error)
        users.set_user(who.user.name, new, admin=who.user.is_admin)
        context.sessions.end_user(who.user.id, keep=who.sid)
        redirect("/")
