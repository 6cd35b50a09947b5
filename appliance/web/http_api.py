"""The Diafaan SMS Server HTTP API: ``/http/<command>``, GET or form-encoded POST.

Its parameter names, reply lines and error codes are a wire contract that existing
integrations rely on; see ../shared/reference/diafaan-http-api.txt and docs/http-api.md.
A request that is wrong in any way stores nothing and gets one ``ERROR:<code> <text>``
line that names the parameter and the reason.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import bottle

from .. import message_status
from ..control import ServerControl
from ..store.inbox import Inbox
from ..store.models import OutboundMessage
from ..store.queue import Queue
from ..users import Principal
from . import submission, xml_documents
from .auth import Authenticator
from .submission import SubmissionError
from .xml_reply import XmlReply

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
CALLBACK_NOT_SUPPORTED = 310
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
    CALLBACK_NOT_SUPPORTED: "HTTP callback authentication not supported for this command",
    MESSAGE_REJECTED: "Message rejected",
    WEB_USER_NOT_FOUND: "Web application user not found",
}

MAX_LIMIT = 1_000_000              # request-received-messages: more in one reply is a mistake
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ApiError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def line(self) -> str:
        text = ERROR_TEXTS[self.code]
        # a detail may quote what the client sent: a CR or LF in it must not start a line
        # of its own (a forged "OK:") — control characters are shown escaped
        detail = _CONTROL.sub(lambda match: repr(match.group())[1:-1], self.detail)
        return f"ERROR:{self.code} {text}: {detail}" if detail else f"ERROR:{self.code} {text}"


@dataclass
class HttpApiContext:
    """What the API needs from the running service; tests build one with fakes."""

    queue: Queue
    authenticator: Authenticator
    connector: str                           # the name messages sent here are routed by
    gateway_names: Callable[[], Sequence[str]]
    on_accepted: Callable[[], None]          # wakes the router after a commit
    inbox: Inbox                             # request-received-messages reads `connector`'s inbox
    server_status: Callable[[], dict]        # appliance.server_status.collect, bound by the service
    control: ServerControl | None = None     # what send-server-command drives
    send_server_command_enabled: bool = False


def install(app: bottle.Bottle, context: HttpApiContext) -> None:
    @app.route("/http/<command>", method=["GET", "POST"])
    def http_command(command: str) -> str | bytes:
        bottle.response.content_type = "text/plain; charset=utf-8"  # errors are text, always
        handler = COMMANDS.get(command)
        try:
            if handler is None:
                raise ApiError(UNKNOWN_COMMAND, f"unknown command {command!r}")
            params = bottle.request.params.decode("utf-8")
            reply = handler(context, params)
            if isinstance(reply, XmlReply):
                bottle.response.content_type = reply.content_type
                return reply.body
            return reply + "\r\n"
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
    """The caller: a local user, one the authentication callback vouched for
    (``external``), or, without a user name, the guest account when one is configured."""
    name = _single(params, "username")
    password = _single(params, "password") or ""
    if not name:
        guest = context.authenticator.guest()
        if guest is None:
            raise ApiError(GUEST_NOT_AVAILABLE, "give username and password")
        return guest
    # the socket's peer, not bottle's remote_addr: that believes X-Forwarded-For, which a
    # guesser would change with every attempt to dodge the per-address throttle
    address = bottle.request.environ.get("REMOTE_ADDR")
    principal = context.authenticator.authenticate(name, password, address=address)
    if principal is None:
        # the same answer for an unknown user, a wrong password and a throttled client:
        # names stay private
        raise ApiError(AUTHENTICATION_ERROR, "unknown user or wrong password, or too many failed attempts")
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


def remove_queued_message(context: HttpApiContext, params: bottle.FormsDict) -> str:
    """Only a message still waiting (queued, scheduled or waiting to retry) can be removed:
    one a gateway has taken may already be on the air."""
    principal = _authenticate(context, params)
    message = _message(context, params, principal)
    if context.queue.remove(message.id):
        return f"OK: {message_status.TEXTS[message_status.REMOVED]}"
    # the guarded update found it in another state (perhaps claimed a moment ago): say which
    code, text = message_status.status_of(context.queue.get(message.id))
    raise ApiError(NOT_ALLOWED, f"message {message.id} is no longer queued: its status is {code} {text}")


def _limit(params: bottle.FormsDict) -> int | None:
    raw = (_single(params, "limit") or "").strip()
    if not raw:
        return None
    if not (raw.isdecimal() and len(raw) <= len(str(MAX_LIMIT)) and 1 <= int(raw) <= MAX_LIMIT):
        raise ApiError(UNKNOWN_COMMAND, f"limit: {raw!r} is not a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _choice(params: bottle.FormsDict, name: str, choices: dict[str, bool]) -> bool:
    """A switch: absent or empty is the first choice; anything unknown is refused, so that a
    typo never removes messages, nor silently keeps them."""
    raw = (_single(params, name) or "").strip().lower()
    if raw not in choices:
        raise ApiError(UNKNOWN_COMMAND, f"{name}: {raw!r} is not one of {', '.join(c for c in choices if c)}")
    return choices[raw]


def request_received_messages(context: HttpApiContext, params: bottle.FormsDict) -> XmlReply:
    """The HTTP API connector's inbox, shared by everyone who may use the connector."""
    _authenticate(context, params)
    limit = _limit(params)
    remove = _choice(params, "remove", {"": False, "0": False, "1": True})
    newest_first = _choice(params, "order", {"": False, "oldest": False, "newest": True})
    messages = context.inbox.received(context.connector, limit=limit, newest_first=newest_first, remove=remove)
    return xml_documents.message_list(messages, removed=remove)


def request_server_status(context: HttpApiContext, params: bottle.FormsDict) -> XmlReply:
    """Any user with a name and password may read it (it holds no message content); the
    guest may not: Diafaan makes username and password mandatory here."""
    if not (_single(params, "username") or "").strip():
        raise ApiError(GUEST_NOT_AVAILABLE, "request-server-status needs username and password")
    _authenticate(context, params)
    return xml_documents.server_status(context.server_status())


# at the end: send-server-command's module uses the helpers above
from .server_command import refused_while_stopped, send_server_command  # noqa: E402

COMMANDS: dict[str, Callable[[HttpApiContext, bottle.FormsDict], str | XmlReply]] = {
    "send-message": refused_while_stopped(send_message),
    "request-status-update": request_status_update,
    "remove-queued-message": remove_queued_message,
    "request-received-messages": request_received_messages,
    "request-server-status": request_server_status,
    "send-server-command": send_server_command,
}
