"""Infobip's SMS API (docs/providers.md, "Infobip"): sends through
``POST /sms/2/text/advanced``, asks delivery from the message logs ``GET /sms/1/logs``
and the balance from ``GET /account/1/balance``, all on the account's own base URL.

Each message is sent with the store's id as its Infobip ``messageId``: Infobip refuses a
second message with an id it has already taken (status REJECTED_DUPLICATE_MESSAGE_ID),
so a resend after an answer that never came cannot send twice, and that refusal means
the first one was taken.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from ...config.file import ConfigError, ProviderConfig
from .api import (
    Answer,
    Balance,
    Delivery,
    Kind,
    Outgoing,
    ProviderApi,
    Request,
    Result,
    Status,
    key_or_login,
    retry_after,
)

# Status groups (groupId) of a message, the same in send answers, reports and logs.
PENDING, UNDELIVERABLE, DELIVERED, EXPIRED, REJECTED = 1, 2, 3, 4, 5
ACCEPTED = 0                       # the older answers' MESSAGE_ACCEPTED
DUPLICATE_MESSAGE_ID = 23          # REJECTED_DUPLICATE_MESSAGE_ID: the id was taken before
MAX_LOGS = 1000                    # the logs' largest page
DELIVERED_TO_OPERATOR = 2          # of group DELIVERED, yet not final: a handset report follows

# A send answer's status id → what it means for the message. Every id not here takes its
# group's kind (GROUP_KINDS).
SEND_KINDS: Mapping[int, Kind] = {
    DUPLICATE_MESSAGE_ID: Kind.SENT,
    4: Kind.REFUSED,       # UNDELIVERABLE_REJECTED_OPERATOR: the operator's restriction on this route
    6: Kind.REFUSED,       # REJECTED_NETWORK: the network is not enabled for this account
    8: Kind.PERMANENT,     # REJECTED_PREFIX_MISSING: no such number prefix or length
    10: Kind.PERMANENT,    # REJECTED_DND: the recipient takes no service messages
    11: Kind.REFUSED,      # REJECTED_SOURCE: the sender ID is not registered on this account
    12: Kind.REFUSED,      # REJECTED_NOT_ENOUGH_CREDITS
    13: Kind.REFUSED,      # REJECTED_SENDER: the sender ID is blocklisted on this account
    14: Kind.REFUSED,      # REJECTED_DESTINATION_BLOCKLISTED: on this account or by the operator
    17: Kind.REFUSED,      # REJECTED_PREPAID_PACKAGE_EXPIRED: the credits are past their validity
    18: Kind.REFUSED,      # REJECTED_DESTINATION_NOT_REGISTERED: a trial account's own number only
    19: Kind.REFUSED,      # REJECTED_ROUTE_NOT_AVAILABLE: no route set up on this account
    20: Kind.TEMPORARY,    # REJECTED_FLOODING_FILTER: too many to one number this hour
    21: Kind.TEMPORARY,    # REJECTED_SYSTEM_ERROR: Infobip asks for the submission again
    24: Kind.PERMANENT,    # REJECTED_INVALID_UDH
    25: Kind.PERMANENT,    # REJECTED_MESSAGE_TOO_LONG: more than 25 parts or 4000 bytes
    51: Kind.PERMANENT,    # MISSING_TO
    52: Kind.PERMANENT,    # REJECTED_DESTINATION: not a valid number
    87: Kind.REFUSED,      # SIGNALS_BLOCKED: Infobip's anti-fraud filter
    100: Kind.TEMPORARY,   # UNDELIVERABLE_REJECTED_PLATFORM: the service unavailable for now
}
GROUP_KINDS: Mapping[int, Kind] = {
    ACCEPTED: Kind.SENT,
    PENDING: Kind.SENT,
    DELIVERED: Kind.SENT,
    UNDELIVERABLE: Kind.PERMANENT,
    EXPIRED: Kind.TEMPORARY,
    REJECTED: Kind.REFUSED,   # an id Infobip adds later: this account will not, another may
}
DELIVERIES: Mapping[int, Delivery] = {
    ACCEPTED: Delivery.PENDING,
    PENDING: Delivery.PENDING,
    DELIVERED: Delivery.DELIVERED,
    UNDELIVERABLE: Delivery.FAILED,
    EXPIRED: Delivery.FAILED,
    REJECTED: Delivery.FAILED,
}


class Infobip(ProviderApi):
    type = "infobip"
    public_url = "https://api.infobip.com"
    batch = True
    idempotent = True

    @classmethod
    def check(cls, config: ProviderConfig, key: str) -> None:
        """Infobip wants the account's base URL (xxxxx.api.infobip.com) and either an API
        key or the account's username and password (its SMS API has no secret to go with a
        key: docs/providers.md)."""
        if not config.base_url:
            raise ConfigError(f"{key}.base_url", "is required for a provider of type 'infobip': "
                                                 "the account's own base URL, like https://xxxxx.api.infobip.com")
        key_or_login(config, key, "api_key")

    def _headers(self) -> dict[str, str]:
        if self.config.api_key:
            authorization = f"App {self.config.api_key}"
        else:
            pair = f"{self.config.username}:{self.config.password}".encode()
            authorization = f"Basic {base64.b64encode(pair).decode()}"
        return {"Authorization": authorization, "Accept": "application/json"}

    def send_request(self, messages: Sequence[Outgoing]) -> Request:
        """One message object per message (each its own text), each with one destination
        whose messageId is the store's id. Infobip finds the encoding itself."""
        notify = {"notifyUrl": self.config.callback_url, "notifyContentType": "application/json"} \
            if self.config.callback_url else {}
        body = {"messages": [_message(message) | notify for message in messages]}
        return Request("POST", f"{self.base_url}/sms/2/text/advanced",
                       {**self._headers(), "Content-Type": "application/json"}, json.dumps(body).encode())

    def send_results(self, messages: Sequence[Outgoing], answer: Answer) -> list[Result]:
        failed = _http_failure(answer)
        if failed is not None:
            return [failed] * len(messages)
        data = _json(answer.body)
        listed = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            return [Result(Kind.UNKNOWN, error_text="an answer without its messages")] * len(messages)
        by_id = {entry.get("messageId"): entry for entry in listed if isinstance(entry, dict)}
        return [_send_result(message, by_id.get(message.message_id)) for message in messages]

    def status_request(self, provider_ids: Sequence[str]) -> Request:
        """The logs, not the delivery reports: Infobip hands out each report only once,
        while the logs can be read again for 48 hours. At most MAX_LOGS entries come back
        to one request: ids beyond those are asked again in the engine's next poll."""
        query = urlencode([("messageId", id) for id in provider_ids[:MAX_LOGS]]
                          + [("limit", min(len(provider_ids), MAX_LOGS))])
        return Request("GET", f"{self.base_url}/sms/1/logs?{query}", self._headers())

    def status_results(self, provider_ids: Sequence[str], answer: Answer) -> dict[str, Status]:
        data = _json(answer.body) if answer.status == 200 else None
        results = data.get("results") if isinstance(data, dict) else None
        wanted = set(provider_ids)
        statuses: dict[str, Status] = {}
        for entry in results if isinstance(results, list) else []:
            if isinstance(entry, dict) and entry.get("messageId") in wanted:
                status = _delivery(entry)
                if status is not None:
                    statuses[entry["messageId"]] = status
        return statuses

    def callback_status(self, form: Mapping[str, str], body: bytes) -> dict[str, Status] | None:
        """A delivery report pushed to notifyUrl: {"results": [...]}, each entry as in the logs."""
        data = _json(body)
        results = data.get("results") if isinstance(data, dict) else None
        statuses: dict[str, Status] = {}
        for entry in results if isinstance(results, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("messageId"), str):
                status = _delivery(entry)
                if status is not None:
                    statuses[entry["messageId"]] = status
        return statuses

    def balance_request(self) -> Request:
        return Request("GET", f"{self.base_url}/account/1/balance", self._headers())

    def balance(self, answer: Answer) -> Balance | None:
        data = _json(answer.body) if answer.status == 200 else None
        if not isinstance(data, dict):
            return None
        amount, currency = data.get("balance"), data.get("currency")
        if not isinstance(amount, (int, float)) or isinstance(amount, bool):
            return None
        return Balance(float(amount), currency if isinstance(currency, str) else "")


def _message(message: Outgoing) -> dict[str, Any]:
    entry: dict[str, Any] = {"destinations": [{"to": message.recipient.lstrip("+"), "messageId": message.message_id}],
                             "text": message.text}
    if message.sender:
        entry["from"] = message.sender
    return entry


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _status(entry: Mapping[str, Any]) -> tuple[int, int, str] | None:
    """(groupId, id, name) of an entry's status object; None where it has none."""
    status = entry.get("status")
    if not isinstance(status, dict):
        return None
    group, id = status.get("groupId"), status.get("id")
    if not isinstance(group, int) or not isinstance(id, int):
        return None
    return group, id, str(status.get("name") or status.get("description") or "")


def _send_result(message: Outgoing, entry: Mapping[str, Any] | None) -> Result:
    status = _status(entry) if entry is not None else None
    if status is None:
        return Result(Kind.UNKNOWN, error_text="the answer names no status for this message")
    group, id, name = status
    kind = SEND_KINDS.get(id) if group in (UNDELIVERABLE, REJECTED) else None
    kind = kind or GROUP_KINDS.get(group, Kind.UNKNOWN)
    if kind is Kind.SENT:
        return Result(Kind.SENT, provider_id=message.message_id)
    return Result(kind, error_code=id, error_text=name)


def _delivery(entry: Mapping[str, Any]) -> Status | None:
    status = _status(entry)
    if status is None:
        return None
    group, id, name = status
    delivery = DELIVERIES.get(group)
    if delivery is None:
        return None
    if delivery is Delivery.DELIVERED and id == DELIVERED_TO_OPERATOR:
        delivery = Delivery.PENDING
    if delivery is not Delivery.FAILED:
        return Status(delivery)
    error = entry.get("error")
    if isinstance(error, dict) and isinstance(error.get("id"), int) and error["id"]:
        return Status(delivery, error["id"], str(error.get("name") or error.get("description") or ""))
    return Status(delivery, id, name)


def _http_failure(answer: Answer) -> Result | None:
    """The whole request's fate where the HTTP status tells it; None for a 200."""
    if answer.status == 200:
        return None
    text = _service_exception(answer.body)
    if answer.status in (401, 403):
        return Result(Kind.CREDENTIALS, error_code=answer.status, error_text=text or "credentials refused")
    if answer.status == 429 or answer.status >= 500:
        return Result(Kind.TEMPORARY, error_code=answer.status, error_text=text,
                      retry_after=retry_after(answer))
    if 400 <= answer.status < 500:
        return Result(Kind.REFUSED, error_code=answer.status, error_text=text or "request refused")
    return Result(Kind.UNKNOWN, error_code=answer.status, error_text=text)


def _service_exception(body: bytes) -> str:
    """The words of Infobip's error body: {"requestError": {"serviceException":
    {"messageId": "UNAUTHORIZED", "text": "Invalid login details"}}}."""
    data = _json(body)
    error = data.get("requestError") if isinstance(data, dict) else None
    exception = error.get("serviceException") or error.get("policyException") if isinstance(error, dict) else None
    if not isinstance(exception, dict):
        return ""
    return ": ".join(str(part) for part in (exception.get("messageId"), exception.get("text")) if part)
