"""What every command of the Diafaan HTTP API shares: its error codes, the error that
becomes an ``ERROR:<code>`` line, the context the service gives it, and who the caller is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

import bottle

from ...accounts.authenticator import Authenticator
from ...accounts.users import Principal
from ...control.server_control import ServerControl
from ...store.inbox import Inbox
from ...store.queue import Queue

if TYPE_CHECKING:
    from ..capacity import Capacity

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
    server_status: Callable[[], dict]        # appliance.control.server_status.collect, bound by the service
    control: ServerControl | None = None     # what send-server-command drives
    send_server_command_enabled: bool = False
    country_code: str | None = None          # [routing] country_code: completes national numbers
    capacity: Capacity | None = None         # waiting parts per user, the store's room (web/capacity.py)


def request_fields() -> bottle.MultiDict:
    """The fields of the query string and of a form body, each decoded as UTF-8.

    Read here, not with bottle's ``request.params.decode()``: that builds and copies three
    dictionaries for every request (a quarter of send-message's time), holds form bodies to
    100 KB, and fails deep inside on a field that is not UTF-8, which here is refused by
    name. As in bottle, a POST body that is not multipart is read as a form.
    """
    request = bottle.request
    fields = bottle.MultiDict()
    _add_fields(fields, request.environ.get("QUERY_STRING", "").encode("latin-1"))
    if request.method == "POST":
        if request.content_type.lower().startswith("multipart/"):
            try:
                for name, value in request.forms.allitems():  # bottle decodes these parts as UTF-8
                    fields.append(name, value)
            except UnicodeDecodeError:
                raise ApiError(UNKNOWN_COMMAND, "a part of the multipart body is not UTF-8") from None
        else:
            _add_fields(fields, request.body.read())
    return fields


def _add_fields(fields: bottle.MultiDict, encoded: bytes) -> None:
    for pair in encoded.split(b"&"):
        if pair:
            raw_name, _, raw_value = pair.partition(b"=")
            name = _utf8(unquote_to_bytes(raw_name.replace(b"+", b" ")), "a field name")
            fields.append(name, _utf8(unquote_to_bytes(raw_value.replace(b"+", b" ")), name))


def _utf8(raw: bytes, field: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(UNKNOWN_COMMAND, f"{field} is not UTF-8: percent-encode the UTF-8 bytes of the text") from None


def single(params: bottle.MultiDict, name: str, *, code: int = UNKNOWN_COMMAND) -> str | None:
    values = params.getall(name)
    if len(values) > 1:
        raise ApiError(code, f"{name} is given {len(values)} times")
    return values[0] if values else None


def authenticate(context: HttpApiContext, params: bottle.MultiDict) -> Principal:
    """The caller: a local user, one the authentication callback vouched for
    (``external``), or, without a user name, the guest account when one is configured."""
    name = single(params, "username")
    password = single(params, "password") or ""
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
