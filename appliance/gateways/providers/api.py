"""What an HTTP SMS provider's API is to the appliance: a way to turn messages into an HTTP
request, and the provider's answer into one result per message.

A provider's module (smsapi.py, twilio.py, ...) only builds requests and reads answers:
it never does I/O, so each is tested against its fake server through ``perform`` and
the engine (engine.py) owns the sending: the connection pool, concurrency, batches,
timeouts, retries and failover, the same for every provider.

Results are classified so the router can decide (gateways/base.py ``Outcome``):

- ``SENT``: the provider took it; ``provider_id`` names it for status queries;
- ``TEMPORARY``: the provider cannot take it now (HTTP 5xx, 429, throttling codes): it
  costs no attempt and is tried again after a pause, ``retry_after`` when the provider
  says how long;
- ``PERMANENT``: sending it again anywhere fails the same way (a bad number);
- ``REFUSED``: this account will not send it, another gateway may (no credit, a sender ID
  refused, a destination not enabled);
- ``CREDENTIALS``: the account's credentials were refused: the gateway stops taking
  messages (out of service) until an administrator fixes them or restarts it;
- ``UNKNOWN``: an answer that says neither (a malformed body after a 200): the message
  may have been sent. It is sent again with the same client reference where the provider
  takes one (``ProviderApi.idempotent``), so the provider drops the repeat.
"""

from __future__ import annotations

import enum
import ssl
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import aiohttp

from ...config.file import ConfigError, ProviderConfig

MAX_ANSWER = 1 << 20


@dataclass(frozen=True)
class Outgoing:
    """One message as a provider is asked to send it: checked already (the recipient in
    international form with its +, the text within the gateway's maximum)."""

    message_id: str      # the store's id: the client reference, where the provider takes one
    recipient: str       # +4915212345678
    text: str
    sender: str          # "" for the account's default
    unicode: bool        # needs UCS-2 (not every character is in the GSM 7-bit alphabet)
    parts: int           # the SMS parts it makes, for the send limits


class Kind(enum.Enum):
    SENT = "sent"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    REFUSED = "refused"
    CREDENTIALS = "credentials"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Result:
    """How the provider answered for one message."""

    kind: Kind
    provider_id: str = ""
    error_code: int | None = None     # the provider's own code, where it gives a number
    error_text: str = ""              # in words, the provider's where it gives some
    retry_after: float | None = None  # seconds, where the provider says (429 Retry-After)


class Delivery(enum.Enum):
    PENDING = "pending"      # the provider still tries
    DELIVERED = "delivered"
    FAILED = "failed"        # will not be delivered (expired, rejected, unknown number)


@dataclass(frozen=True)
class Status:
    """A message's delivery as the provider's status API tells it."""

    delivery: Delivery
    error_code: int | None = None
    error_text: str = ""


@dataclass(frozen=True)
class Balance:
    amount: float
    currency: str = ""       # "EUR", or "credits" where the account counts messages


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]     # names in lower case
    body: bytes


class ProviderApi(ABC):
    """One provider's HTTP API, for one account (``config``)."""

    type: ClassVar[str]            # as [[provider]] type names it
    public_url: ClassVar[str]      # the API's base URL when base_url is not set
    batch: ClassVar[bool]          # one request can carry several messages
    idempotent: ClassVar[bool]     # a repeated client reference is dropped by the provider
    # one request carries one text to several recipients (SMSAPI): the engine groups a
    # batch by text as well as by sender and encoding
    batch_same_text: ClassVar[bool] = False
    # the most provider ids one status_request may ask about; None: any number (Twilio: 1)
    status_ids_per_request: ClassVar[int | None] = None

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.base_url = (config.base_url or self.public_url).rstrip("/")

    @classmethod
    @abstractmethod
    def check(cls, config: ProviderConfig, key: str) -> None:
        """Raise ConfigError(``key``.field, why) for credentials or settings this type
        cannot work with (SMSAPI: a token, or a username and password, not both)."""

    @abstractmethod
    def send_request(self, messages: Sequence[Outgoing]) -> Request:
        """The request that sends ``messages``: one message, or up to batch_size when
        ``batch`` (the engine groups only messages of one sender and encoding)."""

    @abstractmethod
    def send_results(self, messages: Sequence[Outgoing], answer: Answer) -> list[Result]:
        """One result per message of ``messages``, in order, from the provider's answer to
        ``send_request(messages)``; a body it cannot read gives UNKNOWN for each."""

    def status_request(self, provider_ids: Sequence[str]) -> Request | None:
        """The request asking the delivery of messages the provider took; None: the
        provider has no status API (its callbacks are the only reports)."""
        return None

    def status_results(self, provider_ids: Sequence[str], answer: Answer) -> dict[str, Status]:
        """What the answer says of each id it names (an id left out: nothing known yet)."""
        return {}

    # the provider signs its callbacks (callback_verified checks the signature); a provider
    # that does not is trusted only with the secret query of its callback_url (docs/providers.md)
    signs_callbacks: ClassVar[bool] = False

    def callback_verified(self, url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        """Whether a callback to ``url`` (the configured callback_url) with ``form`` and
        ``headers`` (names in lower case) carries the provider's valid signature."""
        return False

    def callback_status(self, form: Mapping[str, str], body: bytes) -> dict[str, Status] | None:
        """What a delivery callback (its form fields, or its raw body where the provider
        posts JSON) says of each message it names; None: this provider's callbacks are
        not taken."""
        return None

    def balance_request(self) -> Request | None:
        """The request asking the account's balance; None: the API tells none."""
        return None

    def balance(self, answer: Answer) -> Balance | None:
        return None


def required(config: ProviderConfig, key: str, *names: str) -> None:
    """ConfigError unless each field of ``names`` is set."""
    for name in names:
        if not getattr(config, name):
            raise ConfigError(f"{key}.{name}", f"is required for a provider of type {config.type!r}")


def key_or_login(config: ProviderConfig, key: str, field: str) -> None:
    """ConfigError unless exactly one of ``field`` (a token or an API key) and a username
    with its password is given: the two ways SMSAPI and Infobip take credentials."""
    login = bool(config.username or config.password)
    if getattr(config, field) and login:
        raise ConfigError(f"{key}.{field}", f"give {field}, or a username and password, not both")
    if not getattr(config, field) and not login:
        raise ConfigError(f"{key}.{field}", f"is required for a provider of type {config.type!r} "
                                            "(or a username and password)")
    if login:
        required(config, key, "username", "password")


def retry_after(answer: Answer) -> float | None:
    """The seconds a 429 or 503's Retry-After header asks for (its seconds form)."""
    value = answer.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """Certificates always checked: the system's CAs, and ``ca_file``'s where given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


async def perform(session: aiohttp.ClientSession, request: Request, *, timeout: float,
                  proxy: str = "", tls: ssl.SSLContext | None = None) -> Answer:
    """Send ``request`` and read the whole answer (at most 1 MiB: no provider answers
    more, and a body without end must not fill the memory). Raises aiohttp.ClientError or
    asyncio.TimeoutError where no answer came; the engine tells those apart."""
    async with session.request(request.method, request.url, headers=dict(request.headers), data=request.body,
                               timeout=aiohttp.ClientTimeout(total=timeout), proxy=f"http://{proxy}" if proxy else None,
                               ssl=tls if tls is not None else True) as response:
        body = bytearray()
        async for chunk in response.content.iter_chunked(1 << 16):
            body += chunk
            if len(body) > MAX_ANSWER:
                raise aiohttp.ClientPayloadError(f"an answer of more than {MAX_ANSWER} bytes")
        return Answer(response.status, {name.lower(): value for name, value in response.headers.items()},
                      bytes(body))
