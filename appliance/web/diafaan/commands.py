"""The Diafaan SMS Server HTTP API: ``/http/<command>``, GET or form-encoded POST.

Its parameter names, reply lines and error codes are a wire contract that existing
integrations rely on; docs/http-api.md describes them.
A request that is wrong in any way stores nothing and gets one ``ERROR:<code> <text>``
line that names the parameter and the reason.

Text replies are lines separated by CRLF, and the last line has no line break after it:
clients written for Diafaan take the text after the last line feed as the answer (its PHP
sample does), and a trailing CRLF would leave them an empty string, read as a failure.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import bottle

from ...accounts.users import Principal
from ...messages import status as message_status
from ...store import message_ids
from ...store.models import OutboundMessage
from .. import submission
from ..submission import SubmissionError
from . import xml_documents
from .common import (
    CALLBACK_NOT_SUPPORTED,
    GUEST_NOT_AVAILABLE,
    MESSAGE_ID_NOT_FOUND,
    MESSAGE_REJECTED,
    MULTIPLE_TO,
    NOT_ALLOWED,
    UNKNOWN_COMMAND,
    UNKNOWN_ERROR,
    ApiError,
    HttpApiContext,
    authenticate,
    request_fields,
    single,
)
from .server_command import refused_while_stopped, send_server_command
from .xml_reply import XmlReply

log = logging.getLogger(__name__)

MAX_LIMIT = 1_000_000              # request-received-messages: more in one reply is a mistake


def install(app: bottle.Bottle, context: HttpApiContext) -> None:
    # Diafaan answers /http/<command>/ as /http/<command>, and its own samples use the slash
    @app.route("/http/<command>", method=["GET", "POST"])
    @app.route("/http/<command>/", method=["GET", "POST"])
    def http_command(command: str) -> str | bytes:
        bottle.response.content_type = "text/plain; charset=utf-8"  # errors are text, always
        handler = COMMANDS.get(command)
        try:
            if handler is None:
                raise ApiError(UNKNOWN_COMMAND, f"unknown command {command!r}")
            params = request_fields()
            reply = handler(context, params)
            if isinstance(reply, XmlReply):
                bottle.response.content_type = reply.content_type
                return reply.body
            return reply
        except ApiError as error:
            return error.line()
        except Exception:  # a fault of ours: the client still gets a line it can parse
            log.exception("/http/%s failed", command)
            return ApiError(UNKNOWN_ERROR, "see the appliance's log").line()


# -- commands -------------------------------------------------------------------------------

def send_message(context: HttpApiContext, params: bottle.MultiDict) -> str:
    principal = authenticate(context, params)
    try:
        messages = submission.build(_send_fields(params), principal, names=submission.HTTP_NAMES,
                                    known_gateways=context.gateway_names(), connector=context.connector,
                                    country_code=context.country_code)
        # a blocked recipient gets no line: Diafaan's reply may have fewer lines than `to` entries
        messages, _ = submission.screen(messages, names=submission.HTTP_NAMES)
        ids, new = submission.commit(context.queue, messages, names=submission.HTTP_NAMES,
                                     capacity=context.capacity)
    except SubmissionError as error:
        raise ApiError(error.code, error.text) from None
    if new:
        context.on_accepted()
    return "\r\n".join(f"OK: {message_id}" for message_id in ids)


def _send_fields(params: bottle.MultiDict) -> submission.Fields:
    """send-message's parameters, each given at most once; lists are ';'-separated, and the
    numbers of ``to`` may be ','-separated too (public clients written for Diafaan send
    ``+98…,+93…``). An empty parameter is one not given."""
    def text(name: str) -> str:
        return single(params, name, code=MESSAGE_REJECTED) or ""

    def listed(raw: str | None, separators: str = ";") -> list[str]:
        entries = re.split(f"[{re.escape(separators)}]", raw or "")
        return [entry.strip() for entry in entries if entry.strip()]

    return submission.Fields(
        to=listed(single(params, "to", code=MULTIPLE_TO), ";,"),
        contact_names=listed(single(params, "contact-name")),
        message=text("message"), message_type=text("message-type"), sender=text("from"),
        guid=text("message-guid"), info=text("message-info"), gateways=text("gateway").split(";"),
        priority=text("priority"), validity_period=text("validity-period"), scheduled=text("scheduled"))


def _message(context: HttpApiContext, params: bottle.MultiDict, principal: Principal) -> OutboundMessage:
    message_id = (single(params, "message-id") or "").strip()
    if not message_id:
        raise ApiError(UNKNOWN_COMMAND, "message-id is missing")
    if principal.external:
        # no account keeps such callers' messages apart: it could read every such caller's
        raise ApiError(CALLBACK_NOT_SUPPORTED, "reading or removing a message needs a local user account")
    # another user's message is as good as absent; an administrator finds any
    message = message_ids.find(message_id, principal.id, everyone=principal.is_admin)
    if message is None:
        raise ApiError(MESSAGE_ID_NOT_FOUND, message_id)
    return message


def request_status_update(context: HttpApiContext, params: bottle.MultiDict) -> str:
    principal = authenticate(context, params)
    message = _message(context, params, principal)
    info = (single(params, "info") or "status").strip().lower()
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


def remove_queued_message(context: HttpApiContext, params: bottle.MultiDict) -> str:
    """Only a message still waiting (queued, scheduled or waiting to retry) can be removed:
    one a gateway has taken may already be on the air."""
    principal = authenticate(context, params)
    message = _message(context, params, principal)
    if context.queue.remove(message.id):
        return f"OK: {message_status.TEXTS[message_status.REMOVED]}"
    # the guarded update found it in another state (perhaps claimed a moment ago): say which
    now = context.queue.get(message.id)
    shown = message_ids.public_id(message.id)
    if now is None:  # gone from the store since it was read: as good as absent
        raise ApiError(MESSAGE_ID_NOT_FOUND, shown)
    code, text = message_status.status_of(now)
    raise ApiError(NOT_ALLOWED, f"message {shown} is no longer queued: its status is {code} {text}")


def _limit(params: bottle.MultiDict) -> int | None:
    raw = (single(params, "limit") or "").strip()
    if not raw:
        return None
    if not (raw.isdecimal() and len(raw) <= len(str(MAX_LIMIT)) and 1 <= int(raw) <= MAX_LIMIT):
        raise ApiError(UNKNOWN_COMMAND, f"limit: {raw!r} is not a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _choice(params: bottle.MultiDict, name: str, choices: dict[str, bool]) -> bool:
    """A switch: absent or empty is the first choice; anything unknown is refused, so that a
    typo never removes messages, nor silently keeps them."""
    raw = (single(params, name) or "").strip().lower()
    if raw not in choices:
        raise ApiError(UNKNOWN_COMMAND, f"{name}: {raw!r} is not one of {', '.join(c for c in choices if c)}")
    return choices[raw]


def request_received_messages(context: HttpApiContext, params: bottle.MultiDict) -> XmlReply:
    """The HTTP API connector's inbox, shared by everyone who may use the connector."""
    authenticate(context, params)
    limit = _limit(params)
    remove = _choice(params, "remove", {"": False, "0": False, "1": True})
    newest_first = _choice(params, "order", {"": False, "oldest": False, "newest": True})
    messages = context.inbox.received(context.connector, limit=limit, newest_first=newest_first, remove=remove)
    return xml_documents.message_list(messages, removed=remove)


def request_server_status(context: HttpApiContext, params: bottle.MultiDict) -> XmlReply:
    """Any user with a name and password may read it (it holds no message content); the
    guest may not: Diafaan makes username and password mandatory here."""
    if not (single(params, "username") or "").strip():
        raise ApiError(GUEST_NOT_AVAILABLE, "request-server-status needs username and password")
    authenticate(context, params)
    return xml_documents.server_status(context.server_status())


COMMANDS: dict[str, Callable[[HttpApiContext, bottle.MultiDict], str | XmlReply]] = {
    "send-message": refused_while_stopped(send_message),
    "request-status-update": request_status_update,
    "remove-queued-message": remove_queued_message,
    "request-received-messages": request_received_messages,
    "request-server-status": request_server_status,
    "send-server-command": send_server_command,
}
