"""The Diafaan SMS Server HTTP API: ``/http/<command>``, GET or form-encoded POST.

Its parameter names, reply lines and error codes are a wire contract that existing
integrations rely on; see ../shared/reference/diafaan-http-api.txt and docs/http-api.md.
A request that is wrong in any way stores nothing and gets one ``ERROR:<code> <text>``
line that names the parameter and the reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import bottle

from .. import message_status
from ..store.models import OutboundMessage
from ..store.queue import Queue
from ..users import Principal
from . import submission
from .auth import Authenticator
from .submission import SubmissionError

log = logging.getLogger(__name__)

# Diafaan's error codes (all editions)
UNKNOWN_ERROR = 300
NO_RECIPIENTS = 301
MULTIPLE_TO = 302
GUEST_NOT_AVAILABLE = 303
AUTHENTICATION_ERROR = 304
UNKNOWN_COMMAND = 306
NOT_ALLOWED = 307
MESSAGE_ID_NOT_FOUND = 309
MESSAGE_REJECTED = 311
WEB_USER_NOT_FOUND = 312

ERROR_TEXTS = {
    UNKNOWN_ERROR: "Unknown error",
    NO_RECIPIENTS: "No recipients found",
    MULTIPLE_TO: "Multiple to fields detected",
    GUEST_NOT_AVAILABLE: "Guest login not available",
    AUTHENTICATION_ERROR: "Authentication error",
    UNKNOWN_COMMAND: "Unknown command or insufficient parameters",
    NOT_ALLOWED: "Operation not allowed",
    MESSAGE_ID_NOT_FOUND: "Message id not found",
    MESSAGE_REJECTED: "Message rejected",
    WEB_USER_NOT_FOUND: "Web application user not found",
}


class ApiError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def line(self) -> str:
        text = ERROR_TEXTS[self.code]
        return f"ERROR:{self.code} {text}: {self.detail}" if self.detail else f"ERROR:{self.code} {text}"


@dataclass
class HttpApiContext:
    """What the API needs from the running service; tests build one with fakes."""

    queue: Queue
    authenticator: Authenticator
    connector: str                           # the name messages sent here are routed by
    gateway_names: Callable[[], Sequence[str]]
    on_accepted: Callable[[], None]          # wakes the router after a commit


def install(app: bottle.Bottle, context: HttpApiContext) -> None:
    @app.route("/http/<command>", method=["GET", "POST"])
    def http_command(command: str) -> str:
        bottle.response.content_type = "text/plain; charset=utf-8"
        handler = COMMANDS.get(command)
        try:
            if handler is None:
                raise ApiError(UNKNOWN_COMMAND, f"unknown command {command!r}")
            params = bottle.request.params.decode("utf-8")
            return handler(context, params) + "\r\n"
        except ApiError as error:
            return error.line() + "\r\n"
        except Exception:  # a fault of ours: the client still gets a line it can parse
            log.exception("/http/%s failed", command)
            return ApiError(UNKNOWN_ERROR, "see the appliance's log").line() + "\r\n"


# -- helpers --------------------------------------------------------------------------------

def _single(params: bottle.FormsDict, name: str, *, code: int = UNKNOWN_COMMAND) -> str | None:
    values = params.getall(name)
    if len(values) > 1:
        raise ApiError(code, f"{name} is given {len(values)} times")
    return values[0] if values else None


def _authenticate(context: HttpApiContext, params: bottle.FormsDict) -> Principal:
    name = _single(params, "username")
    password = _single(params, "password") or ""
    if not name:
        raise ApiError(GUEST_NOT_AVAILABLE, "give username and password")
    principal = context.authenticator.authenticate(name, password)
    if principal is None:
        # the same answer for an unknown user and a wrong password: names stay private
        raise ApiError(AUTHENTICATION_ERROR, "unknown user or wrong password")
    return principal


# -- commands -------------------------------------------------------------------------------

def send_message(context: HttpApiContext, params: bottle.FormsDict) -> str:
    principal = _authenticate(context, params)
    try:
        messages = submission.build(_send_fields(params), principal, names=submission.HTTP_NAMES,
                                    known_gateways=context.gateway_names(), connector=context.connector)
        ids, new = submission.commit(context.queue, messages, names=submission.HTTP_NAMES)
    except SubmissionError as error:
        raise ApiError(error.code, error.text) from None
    if new:
        context.on_accepted()
    return "\r\n".join(f"OK: {message_id}" for message_id in ids)


def _send_fields(params: bottle.FormsDict) -> submission.Fields:
    """send-message's parameters, each given at most once; lists are ';'-separated."""
    def text(name: str) -> str:
        return _single(params, name, code=MESSAGE_REJECTED) or ""

    def listed(raw: str | None) -> list[str]:
        return [entry.strip() for entry in (raw or "").split(";") if entry.strip()]

    return submission.Fields(
        to=listed(_single(params, "to", code=MULTIPLE_TO)), contact_names=listed(_single(params, "contact-name")),
        message=text("message"), message_type=text("message-type"), sender=text("from"),
        guid=text("message-guid"), info=text("message-info"), gateways=text("gateway").split(";"),
        priority=text("priority"), validity_period=text("validity-period"), scheduled=text("scheduled"))


def _message(context: HttpApiContext, params: bottle.FormsDict, principal: Principal) -> OutboundMessage:
    message_id = (_single(params, "message-id") or "").strip()
    if not message_id:
        raise ApiError(UNKNOWN_COMMAND, "message-id is missing")
    message = context.queue.get(message_id)
    # another user's message is as good as absent
    if message is None or (not principal.is_admin and message.user_id != principal.id):
        raise ApiError(MESSAGE_ID_NOT_FOUND, message_id)
    return message


def request_status_update(context: HttpApiContext, params: bottle.FormsDict) -> str:
    principal = _authenticate(context, params)
    message = _message(context, params, principal)
    info = (_single(params, "info") or "status").strip().lower()
    if info == "status":
        code, text = message_status.status_of(message, time.time())
        return f"STATUS:{code} {text}"
    if info == "error-code":
        if message.error_code is None and not message.error_text:
            return "ERROR-CODE:0 No error"
        return f"ERROR-CODE:{message.error_code or 0} {message.error_text}".rstrip()
    if info == "gateway":
        return f"GATEWAY:{message.gateway}"
    raise ApiError(UNKNOWN_COMMAND, f"info: {info!r} is not status, error-code or gateway")


COMMANDS: dict[str, Callable[[HttpApiContext, bottle.FormsDict], str]] = {
    "send-message": send_message,
    "request-status-update": request_status_update,
}
