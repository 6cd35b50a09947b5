"""Clickatell's One API (its current API; docs/providers.md, "Clickatell"): messages are
POSTed as JSON to /v1/message with the integration's API key as the whole Authorization
header; each message of the ``messages`` array has its own recipient and text, so one
request carries up to 200 messages of any texts, and the answer has one entry per
message, in order. A message's delivery is asked by its apiMessageId, one per request;
the balance from /public-client/balance.

The older Communicator HTTP API (user, password, api_id) is retired, so a username or
password is refused by ``check`` rather than silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ...config.file import ConfigError, ProviderConfig
from .api import Answer, Balance, Delivery, Kind, Outgoing, ProviderApi, Request, Result, Status, required, retry_after

MAX_BATCH = 200    # messages one request may carry (error 22 beyond)

# The One API's error codes (global or per message) and what each means to the router.
ERRORS: Mapping[int, Kind] = {
    1: Kind.CREDENTIALS,      # invalid or missing integration API key
    2: Kind.CREDENTIALS,      # account is not active
    3: Kind.CREDENTIALS,      # integration is not active
    7: Kind.CREDENTIALS,      # originating IP address not approved in the account
    18: Kind.TEMPORARY,       # internal error
    19: Kind.TEMPORARY,       # internal error, please retry
    20: Kind.REFUSED,         # insufficient account balance
    21: Kind.REFUSED,         # payload data is malformed
    22: Kind.REFUSED,         # maximum messages per request exceeded
    23: Kind.PERMANENT,       # invalid or missing parameter (REFUSED when it is "from")
    24: Kind.PERMANENT,       # maximum message content size exceeded
    25: Kind.PERMANENT,       # invalid recipient address
    26: Kind.PERMANENT,       # recipient opted out
    27: Kind.PERMANENT,       # recipient not available on channel
    28: Kind.REFUSED,         # recipient not available on sandbox
    30: Kind.PERMANENT,       # content type not supported
    38: Kind.REFUSED,         # channel/feature not active on integration
    39: Kind.REFUSED,         # channel not available on integration
    40: Kind.PERMANENT,       # character set not supported
    41: Kind.REFUSED,         # resource does not exist
    42: Kind.REFUSED,         # HTTP method not supported on this resource
    43: Kind.TEMPORARY,       # rate limit
    44: Kind.REFUSED,         # FROM number is suspended
    45: Kind.REFUSED,         # FROM number is not related to integration
    46: Kind.CREDENTIALS,     # demo access has expired
    100: Kind.PERMANENT,      # maximum message parts exceeded
    101: Kind.REFUSED,        # destination does not support two-way messaging
    110: Kind.REFUSED,        # USA: must use a two-way integration
    111: Kind.REFUSED,        # USA: must enable STOP/SUBSCRIBE on the integration
}

# The message status table's names (status query answers) and their numbers.
DELIVERED = {"DEVICE_ACK": 5, "READ": 6}
PENDING = {"QUEUED": 2, "SCHEDULED": 3, "SENT_TO_SUPPLIER": 4}
FAILED = {"EXPIRED": 20, "STOPPED_BY_USER": 21, "STOPPED_BY_ADMIN": 22, "DELIVERY_FAILURE": 23,
          "EMULATED": 24, "INSUFFICIENT_ACCOUNT_BALANCE": 25, "VOLUME_LIMIT": 26,
          "VOLUME_LIMIT_DAILY": 27, "VOLUME_LIMIT_MONTHLY": 28, "RECIPIENT_DOES_NOT_EXIST": 29,
          "ROUTING_ERROR": 100}


class Clickatell(ProviderApi):
    type = "clickatell"
    public_url = "https://platform.clickatell.com"
    batch = True
    idempotent = False          # the One API takes no client reference (docs/providers.md)
    status_ids_per_request = 1  # GET /v1/message/{apiMessageId}: one message per request

    @classmethod
    def check(cls, config: ProviderConfig, key: str) -> None:
        """An API key, and none of the retired API's username and password: a config that
        names them expects them to be used, and they would not be."""
        for name in ("username", "password"):
            if getattr(config, name):
                raise ConfigError(f"{key}.{name}", "is not used by Clickatell's current API, which "
                                  "takes the integration's api_key only; remove it and set api_key")
        required(config, key, "api_key")
        if config.pattern == "batch" and config.batch_size > MAX_BATCH:
            raise ConfigError(f"{key}.batch_size",
                              f"is {config.batch_size}; Clickatell takes at most {MAX_BATCH} messages per request")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self.config.api_key, "Accept": "application/json"}

    def send_request(self, messages: Sequence[Outgoing]) -> Request:
        entries = []
        for message in messages:
            entry = {"channel": "sms", "to": message.recipient.lstrip("+"), "content": message.text}
            if message.sender:
                entry["from"] = message.sender.lstrip("+")
            entries.append(entry)
        return Request("POST", f"{self.base_url}/v1/message",
                       {**self._headers(), "Content-Type": "application/json"},
                       json.dumps({"messages": entries}).encode())

    def send_results(self, messages: Sequence[Outgoing], answer: Answer) -> list[Result]:
        body = _json(answer.body)
        if answer.status == 429 or answer.status >= 500:
            return [_failure(answer, body.get("error"), Kind.TEMPORARY)] * len(messages)
        if isinstance(body.get("error"), dict):       # the whole request was refused
            return [_failure(answer, body["error"], _by_status(answer.status))] * len(messages)
        entries = body.get("messages")
        if not isinstance(entries, list) or len(entries) != len(messages):
            kind = Kind.UNKNOWN if 200 <= answer.status < 300 else _by_status(answer.status)
            return [Result(kind, error_text=f"HTTP {answer.status}: an answer without one entry per message")] \
                * len(messages)
        return [_entry(message, entry, answer) for message, entry in zip(messages, entries, strict=True)]

    def status_request(self, provider_ids: Sequence[str]) -> Request | None:
        return Request("GET", f"{self.base_url}/v1/message/{quote(provider_ids[0], safe='')}", self._headers())

    def status_results(self, provider_ids: Sequence[str], answer: Answer) -> dict[str, Status]:
        entry = _json(answer.body).get("sms") if answer.status == 200 else None
        name = entry.get("status") if isinstance(entry, dict) else None
        if name in DELIVERED:
            return {provider_ids[0]: Status(Delivery.DELIVERED, DELIVERED[name], name)}
        if name in PENDING:
            return {provider_ids[0]: Status(Delivery.PENDING, PENDING[name], name)}
        if name in FAILED:
            return {provider_ids[0]: Status(Delivery.FAILED, FAILED[name], name)}
        return {}    # UNKNOWN (not found yet), an error or an answer it cannot read: nothing known

    def balance_request(self) -> Request | None:
        return Request("GET", f"{self.base_url}/public-client/balance", self._headers())

    def balance(self, answer: Answer) -> Balance | None:
        body = _json(answer.body)
        amount = body.get("balance")
        if answer.status != 200 or isinstance(amount, bool) or not isinstance(amount, (int, float)):
            return None
        currency = body.get("currency")
        return Balance(float(amount), currency if isinstance(currency, str) else "")


def _json(body: bytes) -> dict[str, Any]:
    """The answer's JSON object; {} for a body that is none (an HTML error page, a cut body)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _by_status(status: int) -> Kind:
    """What an HTTP status says where no error code does."""
    if status in (401, 403):
        return Kind.CREDENTIALS
    if status == 429 or status >= 500:
        return Kind.TEMPORARY
    if 200 <= status < 300:
        return Kind.UNKNOWN
    return Kind.REFUSED


def _failure(answer: Answer, error: object, default: Kind) -> Result:
    """A Result for an error object {"code": 20, "description": "..."} (or none)."""
    code = error.get("code") if isinstance(error, dict) else None
    text = error.get("description") if isinstance(error, dict) else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    text = text if isinstance(text, str) else f"HTTP {answer.status}"
    kind = ERRORS.get(code, default) if code is not None else default
    if code == 23 and "from" in text.lower().split(":")[-1]:
        kind = Kind.REFUSED              # the sender is what was refused: the fallback may pass
    wait = retry_after(answer) if kind is Kind.TEMPORARY else None
    return Result(kind, error_code=code, error_text=text, retry_after=wait)


def _entry(message: Outgoing, entry: object, answer: Answer) -> Result:
    """One message's entry of the answer's ``messages``."""
    if not isinstance(entry, dict) or entry.get("to") != message.recipient.lstrip("+"):
        return Result(Kind.UNKNOWN, error_text="an answer entry that does not name this message's recipient")
    message_id = entry.get("apiMessageId")
    if entry.get("accepted") is True and isinstance(message_id, str) and message_id:
        return Result(Kind.SENT, provider_id=message_id)
    if isinstance(entry.get("error"), dict):
        return _failure(answer, entry["error"], _by_status(answer.status) if answer.status >= 300 else Kind.REFUSED)
    return Result(Kind.UNKNOWN, error_text="an answer entry neither accepted nor refused")
