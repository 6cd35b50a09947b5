"""Twilio's Programmable Messaging REST API (version 2010-04-01) for one account.

Twilio takes one recipient per request (a Message resource is one message), so it is loop
only. It has no client reference or idempotency key on the Messages resource: a send
whose answer never came may have been sent, and sending it again may send it twice
(docs/providers.md, "Twilio"). The table of error codes below is the one in that section.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote, urlencode, urlsplit

from ...config.file import ConfigError, ProviderConfig
from .api import Answer, Balance, Delivery, Kind, Outgoing, ProviderApi, Request, Result, Status, required, retry_after

VERSION = "2010-04-01"
SID_LENGTH = 34

# Twilio's error codes for a message it would not create; a code not here is classified by
# its HTTP status (``_by_status``).
CODES: dict[int, Kind] = {
    20003: Kind.CREDENTIALS,   # authentication failed (wrong SID or token)
    20005: Kind.CREDENTIALS,   # the account is not active (suspended or closed)
    20404: Kind.CREDENTIALS,   # the account's resource is not there (a wrong SID or base_url)
    20429: Kind.TEMPORARY,     # too many requests at once
    20500: Kind.TEMPORARY,     # Twilio's internal error
    20503: Kind.TEMPORARY,     # service unavailable
    21211: Kind.PERMANENT,     # the To number is not valid
    21604: Kind.PERMANENT,     # no To number
    21602: Kind.PERMANENT,     # no message body
    21610: Kind.PERMANENT,     # the recipient has unsubscribed (replied STOP)
    21614: Kind.PERMANENT,     # the To number is not a mobile number
    21617: Kind.PERMANENT,     # the body is longer than 1,600 characters
    21212: Kind.REFUSED,       # the From number or sender ID is not valid
    21603: Kind.REFUSED,       # no From number
    21606: Kind.REFUSED,       # the From number cannot send SMS for this account
    21659: Kind.REFUSED,       # the From number is not a Twilio number
    21660: Kind.REFUSED,       # the From number belongs to another account
    21408: Kind.REFUSED,       # sending to the destination's region is not enabled (Geo Permissions)
    21612: Kind.REFUSED,       # this To cannot be reached from this From
    21608: Kind.REFUSED,       # a trial account may send only to its verified numbers
    21611: Kind.TEMPORARY,     # the From number has too many messages queued
}

PENDING = {"accepted", "scheduled", "queued", "sending", "sent"}
DELIVERED = {"delivered", "read"}
FAILED = {"undelivered", "failed", "canceled"}


class Twilio(ProviderApi):
    type = "twilio"
    public_url = "https://api.twilio.com"
    batch = False
    idempotent = False
    status_ids_per_request = 1
    signs_callbacks = True

    @classmethod
    def check(cls, config: ProviderConfig, key: str) -> None:
        required(config, key, "account_sid", "auth_token")
        sid = config.account_sid
        if len(sid) != SID_LENGTH or not sid.startswith("AC") or not sid[2:].isalnum():
            raise ConfigError(f"{key}.account_sid", f"must be Twilio's account SID: 'AC' and 32 letters or digits "
                                                    f"({SID_LENGTH} characters), not {len(sid)} characters")
        if config.pattern == "batch":
            raise ConfigError(f"{key}.pattern", "Twilio sends one message per request: pattern must be loop")
        if not config.sender:
            raise ConfigError(f"{key}.sender", "is required for a provider of type 'twilio': Twilio has no default "
                                               "sender (a Twilio number or an alphanumeric sender ID)")

    def _account_url(self, tail: str) -> str:
        return f"{self.base_url}/{VERSION}/Accounts/{quote(self.config.account_sid, safe='')}/{tail}"

    def _headers(self) -> dict[str, str]:
        credentials = f"{self.config.account_sid}:{self.config.auth_token}".encode()
        return {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
                "Accept": "application/json"}

    def send_request(self, messages: Sequence[Outgoing]) -> Request:
        (message,) = messages
        form = {"To": message.recipient, "From": message.sender or self.config.sender, "Body": message.text}
        if self.config.callback_url:
            form["StatusCallback"] = self.config.callback_url
        return Request("POST", self._account_url("Messages.json"),
                       {**self._headers(), "Content-Type": "application/x-www-form-urlencoded"},
                       urlencode(form).encode())

    def send_results(self, messages: Sequence[Outgoing], answer: Answer) -> list[Result]:
        body = _json(answer.body)
        if 200 <= answer.status < 300:
            sid = body.get("sid") if body is not None else None
            if isinstance(sid, str) and sid:
                return [Result(Kind.SENT, provider_id=sid)]
            return [Result(Kind.UNKNOWN, error_text=f"HTTP {answer.status} without a message sid")]
        return [_error(answer, body)]

    def status_request(self, provider_ids: Sequence[str]) -> Request:
        if len(provider_ids) != 1:
            raise ValueError(f"Twilio tells one message's status per request, not {len(provider_ids)}")
        return Request("GET", self._account_url(f"Messages/{quote(provider_ids[0], safe='')}.json"), self._headers())

    def status_results(self, provider_ids: Sequence[str], answer: Answer) -> dict[str, Status]:
        body = _json(answer.body)
        if answer.status != 200 or body is None or body.get("sid") != provider_ids[0]:
            return {}
        status = body.get("status")
        code = body.get("error_code")
        code = code if isinstance(code, int) else None
        text = body.get("error_message") or ""
        if status in DELIVERED:
            return {provider_ids[0]: Status(Delivery.DELIVERED)}
        if status in FAILED:
            return {provider_ids[0]: Status(Delivery.FAILED, code, str(text) or str(status))}
        if status in PENDING:
            return {provider_ids[0]: Status(Delivery.PENDING)}
        return {}

    def callback_verified(self, url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        return verify_signature(self.config.auth_token, url, form, headers.get("x-twilio-signature", ""))

    def callback_status(self, form: Mapping[str, str], body: bytes) -> dict[str, Status] | None:
        """A StatusCallback: the form's MessageSid, MessageStatus and, when it failed, ErrorCode."""
        sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
        if not sid:
            return {}
        if status in DELIVERED:
            return {sid: Status(Delivery.DELIVERED)}
        if status in FAILED:
            code = form.get("ErrorCode", "")
            return {sid: Status(Delivery.FAILED, int(code) if code.isdigit() else None,
                                f"{status} (Twilio error {code})" if code else status)}
        return {sid: Status(Delivery.PENDING)} if status in PENDING else {}

    def balance_request(self) -> Request:
        return Request("GET", self._account_url("Balance.json"), self._headers())

    def balance(self, answer: Answer) -> Balance | None:
        body = _json(answer.body)
        if answer.status != 200 or body is None:
            return None
        try:
            return Balance(float(body["balance"]), str(body.get("currency") or ""))
        except (KeyError, TypeError, ValueError):
            return None


def _json(body: bytes) -> dict | None:
    """The answer's JSON object, or None where it is not one (a proxy's HTML page)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _error(answer: Answer, body: dict | None) -> Result:
    """A refused send, from Twilio's error body {code, message, more_info, status}."""
    code = body.get("code") if body is not None else None
    code = code if isinstance(code, int) else None
    text = str(body.get("message") or "") if body is not None else ""
    kind = CODES.get(code, _by_status(answer.status)) if code is not None else _by_status(answer.status)
    wait = retry_after(answer) if kind is Kind.TEMPORARY else None
    return Result(kind, error_code=code, error_text=text or f"HTTP {answer.status}", retry_after=wait)


def _by_status(status: int) -> Kind:
    """An answer without a code Twilio lists: 401 is the credentials, 429 and 5xx are for
    now, any other 4xx means this account did not take the message (another gateway may)."""
    if status == 401:
        return Kind.CREDENTIALS
    if status == 429 or status >= 500:
        return Kind.TEMPORARY
    return Kind.REFUSED


def verify_signature(auth_token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]],
                     signature: str) -> bool:
    """Whether ``signature`` (the X-Twilio-Signature header) is Twilio's for a callback
    to ``url`` with the form ``params``: the base64 HMAC-SHA1, keyed with the auth token,
    of the URL followed by each parameter's name and value, sorted by name (then value),
    without separators. Twilio may sign an https URL with or without its port (:443), so
    both are tried; the comparison takes the same time whatever matches."""
    pairs = sorted(set(params.items() if isinstance(params, Mapping) else params))
    tail = "".join(name + value for name, value in pairs)
    given = signature.encode()
    valid = False
    for candidate in _url_forms(url):
        digest = hmac.new(auth_token.encode(), (candidate + tail).encode(), hashlib.sha1).digest()
        valid |= hmac.compare_digest(base64.b64encode(digest), given)
    return valid


def _url_forms(url: str) -> list[str]:
    """``url`` as given, and with its default port removed or added."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    try:
        port = parts.port
    except ValueError:
        return [url]
    host = parts.netloc.rsplit("@", 1)[-1]
    bare = host.rsplit(":", 1)[0] if port is not None else host
    forms = [url]
    if port is None:
        forms.append(parts._replace(netloc=parts.netloc.replace(host, f"{host}:{default}", 1)).geturl())
    elif port == default:
        forms.append(parts._replace(netloc=parts.netloc.replace(host, bare, 1)).geturl())
    return forms
