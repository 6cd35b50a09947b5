"""What every page of the web interface shares: the headers that keep a browser from
running anything but our own files, rendering through the template engine, who is
logged in, and the CSRF check of every form.

The pages show text written by strangers (a received SMS is anyone's), so the browser is
told to run only scripts and styles served by the appliance (no inline script at all),
values go into HTML only through SimpleTemplate's ``{{...}}``, which escapes them, and
the scripts put data into the page with ``textContent`` alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import bottle

from ...accounts.authenticator import Authenticator
from ...store.models import User
from .sessions import Session, Sessions

TEMPLATES = Path(__file__).parent / "templates"
COOKIE = "sms_session"
MAX_FORM = 16 * 1024  # the largest page form (a password change) is a few hundred bytes
HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# a browser says where a request comes from: a form another site's page posted is refused
_FOREIGN_SITES = ("cross-site", "same-site")


@dataclass(frozen=True)
class UiContext:
    """What the pages need from the running service."""

    authenticator: Authenticator             # the APIs' own: same passwords, same login throttle
    server_status: Callable[[], dict]        # appliance.control.server_status.collect, bound by the service
    sessions: Sessions


@dataclass(frozen=True)
class Visitor:
    """A request's logged-in user: the session and the user's row as it is now."""

    sid: str
    session: Session
    user: User


def secured(callback: Callable[..., Any]) -> Callable[..., Any]:
    """A route whose every answer, redirects and refusals too, carries HEADERS."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = callback(*args, **kwargs)
        except bottle.HTTPResponse as stop:  # a redirect or a refusal
            for name, value in HEADERS.items():
                stop.set_header(name, value)
            raise
        # a returned HTTPResponse (a static file) replaces bottle.response's headers with its own
        answer = result if isinstance(result, bottle.HTTPResponse) else bottle.response
        for name, value in HEADERS.items():
            answer.set_header(name, value)
        return result

    return wrapper


def render(template: str, status: int = 200, **values: Any) -> str:
    """The page ``template`` (templates/<template>.tpl) with ``values``, each escaped where it is shown."""
    bottle.response.status = status
    bottle.response.content_type = "text/html; charset=utf-8"
    return str(bottle.template(template, template_lookup=[str(TEMPLATES)], **values))


def refuse(status: int, title: str, reason: str, visitor: Visitor | None = None) -> NoReturn:
    """Stop here with a page that says what was refused and why."""
    page = render("refused", status, title=title, reason=reason, visitor=visitor)
    raise bottle.HTTPResponse(page, status, {"Content-Type": "text/html; charset=utf-8"})


def redirect(path: str) -> NoReturn:
    """303: after a form, the browser GETs the next page (a reload does not post it again).
    The cookie set or cleared before goes with it."""
    answer = bottle.response.copy(cls=bottle.HTTPResponse)
    answer.status = 303
    answer.body = ""
    answer.set_header("Location", path)
    raise answer


def is_https() -> bool:
    """Whether the browser talks HTTPS to us: directly (``[http] tls_cert``), or to nginx in
    front, which says so in X-Forwarded-Proto. A client that forges the header only makes
    its own cookie Secure, which a plain-HTTP page then cannot use: nothing to gain."""
    environ = bottle.request.environ
    return (environ.get("wsgi.url_scheme") == "https"
            or environ.get("HTTP_X_FORWARDED_PROTO", "").strip().lower() == "https")


def set_cookie(sid: str) -> None:
    bottle.response.set_cookie(COOKIE, sid, path="/", httponly=True, samesite="strict", secure=is_https())


def clear_cookie() -> None:
    bottle.response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=is_https())


def visitor(context: UiContext) -> Visitor | None:
    """The logged-in user of this request, or None. A user removed or a session expired
    since the last page is nobody."""
    sid = bottle.request.get_cookie(COOKIE)
    session = context.sessions.get(sid)
    if sid is None or session is None:
        return None
    user = User.get_or_none(User.id == session.user_id)
    if user is None:
        context.sessions.end(sid)
        return None
    return Visitor(sid, session, user)


def require(context: UiContext, *, one_time_password: bool = False) -> Visitor:
    """The logged-in user, or the answer that stops the request: to the login page without
    a session, to the password form while the password is still the one printed at first
    start (unless ``one_time_password`` allows this page then)."""
    who = visitor(context)
    if who is None:
        redirect("/login")
    if who.user.must_change_password and not one_time_password:
        redirect("/password")
    return who


def form(visitor: Visitor | None) -> bottle.FormsDict:
    """The fields of a POSTed page form, once its origin and CSRF token are checked: a
    form posted by another site's page, or without this session's token, is refused
    with 403 before anything is read from it, so it changes nothing."""
    request = bottle.request
    if request.get_header("Sec-Fetch-Site", "").lower() in _FOREIGN_SITES:
        refuse(403, "Refused", "a page of another site posted this form", visitor)
    if request.content_length > MAX_FORM:
        refuse(413, "Form too large", f"a page form holds at most {MAX_FORM} bytes", visitor)
    fields = request.forms
    if visitor is not None and not visitor.session.csrf_matches(fields.getunicode("csrf") or ""):
        refuse(403, "Refused", "the form did not carry this session's security token (CSRF): "
                               "reload the page and send it again", visitor)
    return fields
