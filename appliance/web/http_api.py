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
from datetime import datetime
from typing import Callable, Sequence

import bottle
import peewee

from .. import contacts, message_status, numbers, pdu
from ..contacts import Recipient
from ..control import ServerControl
from ..message_types import DEFAULT_MESSAGE_TYPE, MESSAGE_TYPES
from ..store.inbox import Inbox
from ..store.models import OutboundMessage
from ..store.queue import NewMessage, Queue
from ..users import Principal
from . import xml_documents
from .auth import Authenticator
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
}

MAX_PARTS = 255                    # the concatenation header counts parts in one octet
MAX_RECIPIENTS = 10_000
MAX_LIMIT = 1_000_000              # request-received-messages: more in one reply is a mistake
_GUID = re.compile(r"^[A-Za-z0-9._:{}\-]{1,64}$")
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


def _integer(params: bottle.FormsDict, name: str, low: int, high: int) -> int | None:
    raw = _single(params, name, code=MESSAGE_REJECTED)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ApiError(MESSAGE_REJECTED, f"{name}: {raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ApiError(MESSAGE_REJECTED, f"{name}: {value} is not between {low} and {high}")
    return value


def _scheduled(params: bottle.FormsDict) -> float | None:
    raw = _single(params, "scheduled", code=MESSAGE_REJECTED)
    if raw is None or raw.strip() == "":
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ApiError(MESSAGE_REJECTED,
                       f"scheduled: {raw!r} is not an ISO 8601 date and time like 2020-12-31T19:35:00") from None
    # without an offset the time is the appliance's local time, as in Diafaan
    return moment.timestamp()


def _recipients(params: bottle.FormsDict, principal: Principal) -> list[Recipient]:
    """The numbers of `to`, then those `contact-name` names, in the order given."""
    to = _single(params, "to", code=MULTIPLE_TO)
    entries = [entry.strip() for entry in (to or "").split(";") if entry.strip()]
    names = [name.strip() for name in (_single(params, "contact-name") or "").split(";") if name.strip()]
    if not entries and not names:
        raise ApiError(NO_RECIPIENTS, "to is missing or empty")
    result = []
    for entry in entries:
        try:
            result.append(Recipient(numbers.normalize(entry)))
        except ValueError as error:
            raise ApiError(MESSAGE_REJECTED, f"to: {error}") from None
    try:
        result += contacts.resolve(principal.id, names)
    except contacts.UnknownName as error:
        raise ApiError(NO_RECIPIENTS, f"contact-name: {error}") from None
    if not result:
        raise ApiError(NO_RECIPIENTS, "contact-name: the groups named have no members")
    if len(result) > MAX_RECIPIENTS:
        raise ApiError(MESSAGE_REJECTED, f"to: more than {MAX_RECIPIENTS} recipients in one request")
    return result


def _gateways(params: bottle.FormsDict, known: Sequence[str]) -> str:
    """Only exact names of existing gateways count; others are ignored, as Diafaan does."""
    raw = _single(params, "gateway", code=MESSAGE_REJECTED) or ""
    wanted = [name.strip() for name in raw.split(";")]
    return ";".join(name for name in dict.fromkeys(wanted) if name and name in known)


def _message_ids(guid: str | None, count: int) -> list[str | None]:
    if not guid:
        return [None] * count
    if count == 1:
        return [guid]
    return [f"{guid}-{n}" for n in range(1, count + 1)]


# -- commands -------------------------------------------------------------------------------

def send_message(context: HttpApiContext, params: bottle.FormsDict) -> str:
    principal = _authenticate(context, params)
    recipients = _recipients(params, principal)
    text = _single(params, "message", code=MESSAGE_REJECTED) or ""
    if not text.strip():
        raise ApiError(MESSAGE_REJECTED, "message is empty")
    message_type = (_single(params, "message-type", code=MESSAGE_REJECTED) or DEFAULT_MESSAGE_TYPE).strip()
    kind = MESSAGE_TYPES.get(message_type)
    if kind is None:
        raise ApiError(MESSAGE_REJECTED, f"message-type: {message_type!r} is not one of "
                                         f"{', '.join(MESSAGE_TYPES)}")
    try:
        parts = pdu.count(text, encoding=kind.encoding).parts
    except pdu.PDUError as error:
        raise ApiError(MESSAGE_REJECTED, f"message: {error}") from None
    if parts > MAX_PARTS:
        raise ApiError(MESSAGE_REJECTED, f"message: {parts} SMS parts; at most {MAX_PARTS} can be joined")
    sender = (_single(params, "from", code=MESSAGE_REJECTED) or "").strip()
    if len(sender) > 20:
        raise ApiError(MESSAGE_REJECTED, "from: longer than 20 characters")
    guid = (_single(params, "message-guid", code=MESSAGE_REJECTED) or "").strip() or None
    if guid is not None and not _GUID.match(guid):
        raise ApiError(MESSAGE_REJECTED, "message-guid: use 1 to 64 letters, digits or . _ : { } -")
    info = _single(params, "message-info", code=MESSAGE_REJECTED) or ""
    priority = _integer(params, "priority", -1_000_000, 1_000_000) or 0
    validity = _integer(params, "validity-period", 1, 10 * 365 * 86400)
    scheduled = _scheduled(params)
    gateways = _gateways(params, context.gateway_names())

    ids = _message_ids(guid, len(recipients))
    messages = [
        NewMessage(recipient=recipient.number, contact_name=recipient.contact_name, text=text, sender=sender,
                   message_type=message_type, message_guid=guid or "", message_info=info, gateways=gateways,
                   priority=priority, validity_period=validity, scheduled_at=scheduled, user_id=principal.id,
                   id=message_id, connector=context.connector)
        for recipient, message_id in zip(recipients, ids)
    ]
    if guid is not None:
        repeated = _repeated_request(context.queue, messages)
        if repeated is not None:
            return repeated
    try:
        accepted = context.queue.accept(messages)
    except peewee.IntegrityError:  # the same guid from a concurrent request won the race
        raise ApiError(MESSAGE_REJECTED, "message-guid is already used by another message") from None
    context.on_accepted()
    return "\r\n".join(f"OK: {message_id}" for message_id in accepted)


def _repeated_request(queue: Queue, messages: list[NewMessage]) -> str | None:
    """A client that repeats a request with the same message-guid (say, after a timeout)
    gets the same answer and no second message; a different message under a used guid
    is rejected."""
    existing = [queue.get(m.id) for m in messages if m.id is not None]
    if not any(existing):
        return None
    same = all(e is not None and e.recipient == m.recipient and e.text == m.text
               and e.user_id == m.user_id for e, m in zip(existing, messages))
    if not same:
        raise ApiError(MESSAGE_REJECTED, "message-guid is already used by another message")
    return "\r\n".join(f"OK: {m.id}" for m in messages)


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
