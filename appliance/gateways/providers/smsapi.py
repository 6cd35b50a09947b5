"""SMSAPI (smsapi.pl, smsapi.com): its ``sms.do`` API, which takes one text to several
recipients in one request, and its profile API for the points left.

Credentials are an OAuth token (``Authorization: Bearer``) or the legacy API's username
and password (sent as the password's MD5, as that API wants it), never both: an account
set up one way is not the other. Every send carries the store's message id as ``idx``
with ``check_idx=1``, so SMSAPI refuses a repeat of a message it took (error 53): a
retry after an answer that never came cannot send twice. The codes and what they mean
to the router are in docs/providers.md ("SMSAPI").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlencode

from ...config.file import ProviderConfig
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

# the error codes of sms.do and what each means to the router; a code not here: REFUSED
# (this account will not send it; another gateway may)
ERRORS: Mapping[int, Kind] = {
    8: Kind.PERMANENT,      # error in the request
    11: Kind.PERMANENT,     # message too long, empty, or characters nounicode forbids
    12: Kind.PERMANENT,     # more parts than max_parts
    13: Kind.PERMANENT,     # no valid phone number (invalid or blacklisted)
    14: Kind.REFUSED,       # sender name not allowed for this account: the fallback sender may be
    17: Kind.PERMANENT,     # a flash message with special characters
    18: Kind.PERMANENT,     # invalid number of parameters
    19: Kind.REFUSED,       # too many messages in one request: this account's batch_size
    20: Kind.PERMANENT,     # invalid number of idx parameters
    30: Kind.PERMANENT,     # idx too long
    52: Kind.TEMPORARY,     # too many messages to one number within 60 s
    53: Kind.SENT,          # this idx was taken before (check_idx): the repeat is dropped
    101: Kind.CREDENTIALS,  # invalid authorization info
    102: Kind.CREDENTIALS,  # invalid username or password
    103: Kind.REFUSED,      # not enough points on the account
    105: Kind.CREDENTIALS,  # this machine's IP address is not allowed (IP filter)
    110: Kind.REFUSED,      # action not allowed for this account
    200: Kind.TEMPORARY,    # unsuccessful submission
    201: Kind.TEMPORARY,    # internal error
    202: Kind.TEMPORARY,    # too many simultaneous requests
    203: Kind.TEMPORARY,    # too many requests
    666: Kind.TEMPORARY,    # internal error
    999: Kind.TEMPORARY,    # internal error
}
THROTTLED_FOR = {52: 60.0}   # seconds the code says to wait

# a message's status as sms.do?status= tells it; a status not here: nothing known yet
DELIVERIES: Mapping[str, Delivery] = {
    "DELIVERED": Delivery.DELIVERED,
    "UNDELIVERED": Delivery.FAILED,
    "FAILED": Delivery.FAILED,
    "EXPIRED": Delivery.FAILED,
    "REJECTED": Delivery.FAILED,
    "STOP": Delivery.FAILED,
    "QUEUE": Delivery.PENDING,
    "ACCEPTED": Delivery.PENDING,
    "SENT": Delivery.PENDING,
    "RENEWAL": Delivery.PENDING,
    "UNKNOWN": Delivery.PENDING,
}

MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


class SmsApi(ProviderApi):
    type: ClassVar[str] = "smsapi"
    public_url: ClassVar[str] = "https://api.smsapi.pl"
    batch: ClassVar[bool] = True
    idempotent: ClassVar[bool] = True
    batch_same_text: ClassVar[bool] = True

    @classmethod
    def check(cls, config: ProviderConfig, key: str) -> None:
        key_or_login(config, key, "token")

    # -- requests ---------------------------------------------------------------------

    def _post(self, path: str, fields: dict[str, str]) -> Request:
        """A form POST with the account's credentials: a header for the token, fields for
        the legacy username and password (never in the URL, where a proxy may log it)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        else:
            fields = {"username": self.config.username, "password": _md5(self.config.password), **fields}
        return Request("POST", f"{self.base_url}/{path}", headers, urlencode(fields).encode())

    def send_request(self, messages: Sequence[Outgoing]) -> Request:
        first = messages[0]
        if any((m.text, m.sender) != (first.text, first.sender) for m in messages):
            raise ValueError("an SMSAPI request takes one text and one sender (batch_same_text)")
        fields = {"to": ",".join(m.recipient.lstrip("+") for m in messages), "message": first.text,
                  "encoding": "utf-8", "format": "json", "check_idx": "1",
                  "idx": "|".join(m.message_id for m in messages)}
        if first.sender:
            fields["from"] = first.sender
        return self._post("sms.do", fields)

    def status_request(self, provider_ids: Sequence[str]) -> Request | None:
        return self._post("sms.do", {"status": "|".join(provider_ids), "format": "json"})

    def balance_request(self) -> Request | None:
        if self.config.token:
            return Request("GET", f"{self.base_url}/profile", {"Authorization": f"Bearer {self.config.token}"})
        return self._post("user.do", {"credits": "1", "format": "json"})

    # -- answers ----------------------------------------------------------------------

    def send_results(self, messages: Sequence[Outgoing], answer: Answer) -> list[Result]:
        body = _json(answer)
        if isinstance(body, dict) and isinstance(body.get("error"), int):
            return [_error(body, answer)] * len(messages)
        if answer.status == 429 or answer.status >= 500:
            return [Result(Kind.TEMPORARY, error_code=answer.status, error_text=f"HTTP {answer.status}",
                           retry_after=retry_after(answer))] * len(messages)
        if answer.status in (401, 403):
            return [Result(Kind.CREDENTIALS, error_code=answer.status, error_text=f"HTTP {answer.status}")] \
                * len(messages)
        if not (200 <= answer.status < 300 and isinstance(body, dict) and isinstance(body.get("list"), list)):
            return [Result(Kind.UNKNOWN, error_text=f"HTTP {answer.status}: an answer SMSAPI does not give")] \
                * len(messages)
        taken = {str(item.get("idx")): item for item in body["list"] if isinstance(item, dict)}
        invalid = {str(item.get("submitted_number", item.get("number", ""))).lstrip("+"): str(item.get("message", ""))
                   for item in body.get("invalid_numbers") or [] if isinstance(item, dict)}
        results = []
        for message in messages:
            item = taken.get(message.message_id)
            number = message.recipient.lstrip("+")
            if item is not None and item.get("id"):
                results.append(Result(Kind.SENT, provider_id=str(item["id"])))
            elif number in invalid:
                results.append(Result(Kind.PERMANENT, error_code=13, error_text=invalid[number] or "invalid number"))
            else:
                results.append(Result(Kind.UNKNOWN, error_text="not named in SMSAPI's answer"))
        return results

    def status_results(self, provider_ids: Sequence[str], answer: Answer) -> dict[str, Status]:
        body = _json(answer)
        if not (200 <= answer.status < 300 and isinstance(body, dict) and isinstance(body.get("list"), list)):
            return {}
        statuses = {}
        for item in body["list"]:
            if isinstance(item, dict) and str(item.get("id")) in provider_ids:
                delivery = DELIVERIES.get(str(item.get("status", "")))
                if delivery is not None:
                    code = item.get("error")
                    statuses[str(item["id"])] = Status(delivery, code if isinstance(code, int) else None,
                                                       str(item.get("status")))
        return statuses

    def balance(self, answer: Answer) -> Balance | None:
        body = _json(answer)
        if 200 <= answer.status < 300 and isinstance(body, dict) and isinstance(body.get("points"), (int, float)):
            return Balance(float(body["points"]), "points")
        return None


def _md5(password: str) -> str:
    """The legacy API wants the password's MD5; one given as its MD5 already is kept."""
    return password if MD5_HEX.match(password) else hashlib.md5(password.encode()).hexdigest()


def _json(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def _error(body: dict[str, Any], answer: Answer) -> Result:
    code: int = body["error"]
    kind = ERRORS.get(code, Kind.REFUSED)
    wait = retry_after(answer) or THROTTLED_FOR.get(code)
    return Result(kind, error_code=code, error_text=str(body.get("message") or f"SMSAPI error {code}"),
                  retry_after=wait if kind is Kind.TEMPORARY else None)
