"""The TOML configuration: each table declared once as a frozen msgspec Struct.

The declarations below are the whole description of the file: msgspec checks a file
against them and fills in the defaults, :mod:`.schema` names the key path of every
mistake (``modem[2].baudrate``) and says what was expected, and the run-time properties
(:mod:`.properties`) take their types and ranges from them. What one table cannot say
alone (unique names, a GPIO pin used twice, the keys only a webhook has) is checked in
:func:`parse` after. Every mistake is reported before anything starts: a box nobody
watches must not half-start on a typo.

A key that was renamed is declared with ``renamed_from`` and still read, with a warning
that names the new key.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta, field
from msgspec.structs import replace

from . import schema

log = logging.getLogger(__name__)

# a connector's use of a gateway, and its role (gateways/assignment.py says what they mean)
Use = Literal["send-receive", "send", "receive", "none"]
Role = Literal["primary", "backup"]
SEND_RECEIVE, SEND, RECEIVE, NOT_USED = USES = schema.choices(Use)
PRIMARY, BACKUP = ROLES = schema.choices(Role)

Model = Literal["auto", "sim800", "sim7600", "ec25", "huawei", "generic"]
Baudrate = Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600]
ConnectorType = Literal["http", "webhook"]
MODEL_NAMES: tuple[str, ...] = schema.choices(Model)
BAUDRATES: tuple[int, ...] = schema.choices(Baudrate)
CONNECTOR_TYPES: tuple[str, ...] = schema.choices(ConnectorType)
DEFAULT_LISTEN = "127.0.0.1:9710"
DEFAULT_DATA_DIR = "./data"
DEFAULT_CONNECTOR = "HTTP API"

GPIO_KEYS = ("pwrkey_gpio", "reset_gpio", "ri_gpio")  # a modem's lines, each an optional BCM number

USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_USER_NAME_CHARACTERS = "1 to 64 letters, digits or . _ @ -"
USER_NAME_RULE = f"user name must be {_USER_NAME_CHARACTERS}"
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"

Text = Annotated[str, Meta(pattern=r"\S", description="a non-empty string")]
Count = Annotated[int, Meta(ge=1, le=10_000_000)]
Gpio = Annotated[int, Meta(ge=0, le=27)]          # the BCM pins of the 40-pin header
Listen = Annotated[str, Meta(pattern=rf"^.+:{_PORT}$", description="HOST:PORT like 127.0.0.1:9710")]
Seconds = Annotated[float, Meta(ge=0, le=86400)]
UserName = Annotated[str, Meta(pattern=USER_NAME.pattern, description=f"a user name of {_USER_NAME_CHARACTERS}")]


class ConfigError(ValueError):
    """A bad configuration value; the message starts with the key path."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class Table(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A table of the file: read only, and a key it does not declare is a mistake. (Each
    subclass says ``frozen=True`` again for mypy; msgspec would inherit it.)"""


BalanceInterval = Annotated[float, Meta(ge=600, le=7 * 86400, description="seconds from 600 (10 minutes) "
                                                                         "to 604800 (a week)")]


class ModemConfig(Table, frozen=True):
    # left out of the file: see _named
    name: Annotated[str, Meta(pattern=r"^[^;]*[^;\s][^;]*$",
                              description="a name without ';' (it separates names in the gateway parameter)")]
    port: Text
    baudrate: Baudrate = 115200
    model: Model = "auto"
    pin: Annotated[str, Meta(pattern=r"^[0-9]{4,8}$", description='4 to 8 digits, written as a string ("0123")',
                             extra={"secret": True})] | None = None
    smsc: Annotated[str, Meta(pattern=r"^\+?[0-9]{3,20}$", description="a phone number like +447785016005")
                    ] | None = None
    delivery_reports: bool = True
    pwrkey_gpio: Gpio | None = None         # BCM number of the modem's PWRKEY line
    pwrkey_pressed_high: bool = False       # true where an inverting transistor drives PWRKEY
    reset_gpio: Gpio | None = None          # BCM number of the modem's RESET line
    reset_active_high: bool = False         # true where an inverting transistor drives RESET
    ri_gpio: Gpio | None = None             # BCM number of the modem's RI (ring indicator) line
    send_limit_day: Count | None = None     # SMS parts per day, per month, per minute
    send_limit_month: Count | None = None
    send_rate_per_minute: Count | None = None
    enabled: bool = True                    # false: not started until an administrator starts it
    # the prepaid SIM's credit: the USSD code that asks it ("*100#"), how often, and the
    # amount under which an event and a webhook notice say it runs low
    balance_ussd: Annotated[str, Meta(pattern=r"^([*#0-9]{2,40})?$",
                                      description='a USSD code like "*100#"')] = ""
    balance_interval: BalanceInterval = 21600.0
    balance_low: Annotated[float, Meta(ge=0)] | None = None


GatewayName = Annotated[str, Meta(pattern=r"^[^;]*[^;\s][^;]*$",
                                  description="a name without ';' (it separates names in the gateway parameter)")]
Secret = Annotated[str, Meta(extra={"secret": True})]
ProviderType = Literal["smsapi", "twilio", "clickatell", "infobip", "http"]


class ProviderConfig(Table, frozen=True):
    """An HTTP SMS provider's account as a gateway (``[[provider]]``): its name is the
    gateway name users see and pass in ``gateway=``, as a modem's is. Which credential
    keys a type needs is checked by that type (appliance/gateways/providers/)."""

    name: GatewayName
    type: ProviderType
    # the provider's API; empty: its public one. Always https:// (plain http:// only to
    # this machine, for tests and a local relay)
    base_url: str = ""
    ca_file: str = ""                       # a CA to trust besides the system's (a relay's own)
    # credentials: each type names the ones it needs
    token: Secret = ""                      # SMSAPI OAuth token
    username: str = ""                      # SMSAPI, Clickatell
    password: Secret = ""                   # SMSAPI, Clickatell
    account_sid: str = ""                   # Twilio
    auth_token: Secret = ""                 # Twilio
    api_key: Secret = ""                    # Infobip, Clickatell
    # the generic http type: where and how to send, and how to read the answer
    method: Literal["GET", "POST"] = "POST"
    parameters: str = ""                    # a query or form template: to={to}&text={text}&from={sender}
    success_pattern: str = ""               # a regular expression an accepted answer matches
    id_pattern: str = ""                    # a regular expression whose first group is the provider's id
    enabled: bool = True                    # "active": false leaves it stopped until started
    start_date: str = ""                    # YYYY-MM-DD: not used before that day
    pattern: Literal["batch", "loop"] = "loop"   # batch: many recipients per request, where the API takes them
    sender: str = ""                        # sender ID: up to 11 letters and digits, or a number
    fallback_sender: str = ""               # used when the provider refuses ``sender``
    proxy: str = ""                         # host:port of an HTTP proxy
    country_code: Annotated[str, Meta(pattern=r"^[1-9][0-9]{0,3}$",
                                      description="a country calling code like 49")] | None = None
    max_length: Annotated[int, Meta(ge=1, le=10_000)] = 1000   # characters of one message
    concurrency: Annotated[int, Meta(ge=1, le=64)] = 4         # requests in flight at once
    batch_size: Annotated[int, Meta(ge=1, le=1000)] = 100      # messages per request, in batch
    timeout: Annotated[float, Meta(ge=1, le=300)] = 30.0       # seconds one request may take
    send_limit_day: Count | None = None     # SMS parts per day, per month, per minute
    send_limit_month: Count | None = None
    send_rate_per_minute: Count | None = None
    balance_interval: BalanceInterval = 3600.0   # how often the account's balance is asked
    balance_low: Annotated[float, Meta(ge=0)] | None = None   # under it: an event and a webhook notice
    # the public URL of this gateway's POST /providers/<name>/report, as the provider is told
    # it: empty, no callbacks are taken (reports are polled). docs/providers.md
    callback_url: str = ""


class GatewayUse(Table, frozen=True):
    """One entry of a connector's ``gateways``; it unpacks as (name, use, role)."""

    name: Text
    use: Use = SEND_RECEIVE
    role: Role = PRIMARY

    def __iter__(self) -> Iterator[str]:
        return iter((self.name, self.use, self.role))


class ConnectorConfig(Table, frozen=True):
    name: Text
    type: ConnectorType = "http"
    max_send_attempts: Annotated[int, Meta(ge=1, le=100)] = 3
    # the webhook keys (WEBHOOK_KEYS); a connector of another type leaves them out
    url: Annotated[str, Meta(description="an http:// or https:// URL")] = ""   # where events are POSTed
    token: Annotated[str, Meta(extra={"secret": True})] = ""   # sent as "Authorization: Bearer <token>"
    timeout: Annotated[float, Meta(ge=1, le=300, description="a number of seconds from 1 to 300 "
                                                             "(how long one POST may take)")] = 10.0
    give_up_after: Annotated[int, Meta(ge=60, le=30 * 86400)] = 3 * 86400   # seconds an event is retried
    # the connectors whose messages' delivery reports it POSTs; None: every one of type http
    reports_for: Annotated[tuple[Annotated[str, Meta(pattern=r"\S")], ...],
                           Meta(description='a list of connector names like ["HTTP API"]')] | None = None
    # empty = every gateway, send and receive, primary
    gateways: tuple[GatewayUse, ...] = ()
    enabled: bool = True           # false: stopped (the HTTP API refuses messages, a webhook holds events)


WEBHOOK_KEYS = ("url", "token", "timeout", "give_up_after", "reports_for")


class RoutingConfig(Table, frozen=True):
    # put in place of the leading 0 of a national number (07700 900123), e.g. "44"; without
    # it such numbers are sent as written
    country_code: Annotated[str, Meta(pattern=r"^[1-9][0-9]{0,2}$",
                                      description='a country code of 1 to 3 digits without + or 00, like "44"')
                            ] | None = None
    # pauses before the 1st, 2nd, ... retry of a message on the same gateway
    retry_delays: Annotated[tuple[Seconds, ...], Meta(min_length=1, description="a list of seconds (0 to 86400) "
                                                                                "like [5, 30, 120]")
                            ] = (5.0, 30.0, 120.0)
    # seconds a message without a validity period of its own is tried through temporary
    # faults (counted from `scheduled`, or from acceptance) before it ends as Expired
    default_validity: Annotated[int, Meta(ge=60, le=315_360_000, description="a number of seconds from 60 "
                                                                              "to 315360000 (ten years)")
                                ] = 86400


class ReceiveConfig(Table, frozen=True):
    # a multipart SMS whose parts have not all come after this long is delivered as it is
    incomplete_after: Annotated[int, Meta(ge=60, le=7 * 86400)] = 3600
    # a received SMS that says only one of these (any case, spaces around) blocks its sender
    stop_words: Annotated[tuple[Annotated[str, Meta(pattern=r"\S", max_length=160)], ...],
                          Meta(max_length=100, description='a list of words like ["STOP", "UNSUBSCRIBE"]')
                          ] = ("STOP", "STOPP", "ARRET", "ARRÊT", "STOPPEN", "UNSUBSCRIBE", "BAJA")
    # sent back to a sender a stop word blocked; empty: nothing is sent
    stop_confirmation: Annotated[str, Meta(max_length=1000)] = ""


class HttpConfig(Table, frozen=True):
    listen: Listen = DEFAULT_LISTEN
    # kept-alive connections held open, and connections waiting for a thread
    connections: Annotated[int, Meta(ge=1, le=1024)] = 64
    # the local user a request without username acts as
    guest: UserName | None = None
    auth_callback_url: Text | None = None   # vouches for user names that are not local users
    tls_cert: Text | None = None            # both set: HTTPS only (PEM files)
    tls_key: Text | None = None
    send_server_command: bool = False       # the administrators' send-server-command HTTP command
    # requests answered at once, each by a thread of the pool
    threads: Annotated[int, Meta(ge=1, le=256)] = 16
    # seconds a client may stay silent within a request or between two
    timeout: Annotated[int, Meta(ge=1, le=300)] = 10
    # bytes in a request's body, at most (else 413)
    max_body: Annotated[int, Meta(ge=64 * 1024, le=64 * 1024 * 1024)] = 2 * 1024 * 1024
    # bytes and fields in a /http form, at most (else 413, before it is parsed)
    max_form: Annotated[int, Meta(ge=1024, le=64 * 1024 * 1024)] = 64 * 1024
    max_form_fields: Annotated[int, Meta(ge=16, le=1_000_000)] = 1000
    # names the Host header may give (IP addresses always pass); empty: this machine's host
    # name, its .local name and localhost
    hostnames: tuple[Text, ...] = ()
    # SMS parts one user may have waiting to be sent, at most (a request beyond: refused whole)
    max_queued_parts: Annotated[int, Meta(ge=1, le=10_000_000)] = 10_000
    # addresses or networks of reverse proxies whose X-Forwarded-For names the client
    trusted_proxies: tuple[Text, ...] = ()

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


class StorageConfig(Table, frozen=True):
    path: Text = DEFAULT_DATA_DIR
    # bytes kept free on the store's disk: below it new messages get a temporary refusal
    reserve: Annotated[int, Meta(ge=0, le=2**40)] = 50 * 1024 * 1024


class MetricsConfig(Table, frozen=True):
    """/metrics for Prometheus (docs/metrics.md): on the API's port, open to whoever reaches
    that port unless ``token`` is set."""

    enabled: bool = True
    # when set, a scrape must send "Authorization: Bearer <token>"; long enough not to be guessed
    token: Annotated[str, Meta(pattern=r"^(|[!-~]{16,})$", extra={"secret": True},
                               description="empty, or 16 or more printable characters without spaces")] = ""


class Config(Table, frozen=True):
    http: HttpConfig = field(default_factory=HttpConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    receive: ReceiveConfig = field(default_factory=ReceiveConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    modems: tuple[ModemConfig, ...] = field(default=(), name="modem")
    providers: tuple[ProviderConfig, ...] = field(default=(), name="provider")
    connectors: tuple[ConnectorConfig, ...] = field(default=(), name="connector")

    @property
    def gateway_tables(self) -> tuple[ModemConfig | ProviderConfig, ...]:
        """Every gateway's table: the modems', then the providers'."""
        return (*self.modems, *self.providers)

    def with_overrides(self, *, data: str | None = None, listen: str | None = None) -> Config:
        """Apply command-line options, validated like the file's own values."""
        config = self
        if data is not None:
            config = replace(config, storage=_option(StorageConfig, "path", data, "--data"))
        if listen is not None:
            config = replace(config, http=replace(config.http, listen=_option(HttpConfig, "listen", listen,
                                                                              "--listen").listen))
        return config


def _option(table: type[Table], key: str, value: str, option: str) -> Any:
    """The ``table`` with its defaults and ``key`` set to a command-line option's value."""
    try:
        return schema.convert({key: value}, table, schema.TOML)
    except schema.Refused as refused:
        raise ConfigError(option, refused.refusal.problem) from None


def load(path: str | Path | None) -> Config:
    """Read and validate a config file; ``None`` gives the embedded default."""
    if path is None:
        return Config()
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), f"not valid TOML: {error}") from None
    return parse(raw)


def parse(raw: dict[str, Any]) -> Config:
    """A config from the TOML document ``raw``, or a :class:`ConfigError` naming the key."""
    try:
        config = schema.convert(_named(raw), Config, schema.TOML, warn=_renamed)
    except schema.Refused as refused:
        raise ConfigError(refused.key, refused.refusal.problem) from None
    _check_http(config.http)
    _unique([m.name for m in config.modems], "modem", "modem")
    _check_providers(config)
    _check_gpio_pins(config.modems)
    _unique([c.name for c in config.connectors], "connector", "connector")
    if sum(c.type == "http" for c in config.connectors) > 1:
        raise ConfigError("connector", "only one connector can be of type \"http\": the HTTP API is one")
    for i, connector in enumerate(config.connectors, start=1):
        _check_webhook_keys(connector, f"connector[{i}]")
    _check_reports_for(config.connectors)
    return config


def _renamed(path: schema.Path, old: str) -> None:
    new = schema.key_path(path, schema.TOML)
    old_key = new.rpartition(".")[0] + "." + old if "." in new else old
    log.warning("config: %s is now called %s; it is read as before, but write %s", old_key, new, new)


def _check_http(http: HttpConfig) -> None:
    if http.auth_callback_url is not None:
        _callback_url(http.auth_callback_url, "http.auth_callback_url")
    if (http.tls_cert is None) != (http.tls_key is None):
        missing, given = ("http.tls_key", "http.tls_cert") if http.tls_key is None else \
            ("http.tls_cert", "http.tls_key")
        raise ConfigError(missing, f"is required with {given}: HTTPS needs both the certificate and its private key")
    for entry in http.trusted_proxies:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError("http.trusted_proxies", f"{entry!r} is not an IP address or network "
                                                      "(like 127.0.0.1 or 10.0.0.0/8)") from None


def _callback_url(url: str, key: str) -> None:
    """https, or plain http to this machine only: the URL is sent users' passwords."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return
    raise ConfigError(key, f"must be an https:// URL (plain http:// only to localhost), not {url!r}: "
                           "passwords are sent to it")


DEFAULT_MODEM_NAME = "GSM Modem Gateway"   # what Diafaan calls its first GSM modem gateway


def _named(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with a name for each [[modem]] the file leaves unnamed: the first is "GSM
    Modem Gateway", as Diafaan's users and their scripts know it; the one in position n
    (from 2) "GSM Modem Gateway n". Anything that is not a list of tables is left for the
    schema to refuse."""
    modems = raw.get("modem")
    if not isinstance(modems, list):
        return raw
    named = [{"name": DEFAULT_MODEM_NAME if i == 1 else f"{DEFAULT_MODEM_NAME} {i}", **modem}
             if isinstance(modem, dict) and "name" not in modem else modem
             for i, modem in enumerate(modems, start=1)]
    return {**raw, "modem": named}


def _unique(names: list[str], key: str, what: str) -> None:
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"{key}[{i + 1}].name", f"{name!r} is used by another {what}")


SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$|^\+?[0-9]{1,16}$")
PROXY = re.compile(rf"^[A-Za-z0-9.-]+:{_PORT}$|^\[[0-9A-Fa-f:.]+\]:{_PORT}$")


def _check_providers(config: Config) -> None:
    """What a [[provider]] table cannot say alone (its type's own credential checks are the
    type's: gateways/providers/registry.py ``check``, when the service builds it)."""
    modems = {m.name for m in config.modems}
    _unique([p.name for p in config.providers], "provider", "provider")
    for i, provider in enumerate(config.providers, start=1):
        key = f"provider[{i}]"
        if provider.name in modems:
            raise ConfigError(f"{key}.name", f"{provider.name!r} is used by a modem: gateway names are unique")
        if provider.start_date:
            try:
                datetime.date.fromisoformat(provider.start_date)
                if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", provider.start_date):
                    raise ValueError
            except ValueError:
                raise ConfigError(f"{key}.start_date", f"must be a date like 2026-03-01 (YYYY-MM-DD), "
                                                       f"not {provider.start_date!r}") from None
        for name in ("sender", "fallback_sender"):
            value = getattr(provider, name)
            if value and not SENDER.match(value):
                raise ConfigError(f"{key}.{name}", f"must be up to 11 letters and digits (with a letter) or a "
                                                   f"number of up to 16 digits like +4915212345678, not {value!r}")
        if provider.proxy and not PROXY.match(provider.proxy):
            raise ConfigError(f"{key}.proxy", f"must be HOST:PORT like proxy.example.net:3128, not {provider.proxy!r}")
        if provider.callback_url:
            parts = urlsplit(provider.callback_url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ConfigError(f"{key}.callback_url", f"must be the public http(s):// URL the provider calls "
                                                         f"back, not {provider.callback_url!r}")
        if provider.base_url:
            parts = urlsplit(provider.base_url)
            local = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")
            if not (parts.scheme == "https" and parts.hostname) and not local:
                raise ConfigError(f"{key}.base_url", f"must be an https:// URL (plain http:// only to localhost), "
                                                     f"not {provider.base_url!r}: credentials are sent to it")


def _check_gpio_pins(modems: tuple[ModemConfig, ...]) -> None:
    """One pin drives or senses one line: two lines on a pin would press PWRKEY on a ring."""
    used: dict[int, str] = {}
    for i, modem in enumerate(modems, start=1):
        for line in GPIO_KEYS:
            number = getattr(modem, line)
            if number is None:
                continue
            key = f"modem[{i}].{line}"
            if number in used:
                raise ConfigError(key, f"GPIO {number} is already {used[number]}")
            used[number] = key


def _check_webhook_keys(connector: ConnectorConfig, key: str) -> None:
    """A webhook needs a URL; a connector of another type keeps every webhook key at its default."""
    if connector.type == "webhook":
        if not connector.url.startswith(("http://", "https://")):
            raise ConfigError(f"{key}.url", f"a webhook needs an http:// or https:// URL, not {connector.url!r}")
        return
    defaults = ConnectorConfig(connector.name)
    for name in WEBHOOK_KEYS:
        if getattr(connector, name) != getattr(defaults, name):
            raise ConfigError(f"{key}.{name}", f"only a webhook connector has one; this one is of type "
                                               f"{connector.type!r}")


def with_http_connector(connectors: tuple[ConnectorConfig, ...]) -> tuple[ConnectorConfig, ...]:
    """The HTTP API always has a connector: without one of type http in the file, a default
    one sends through every gateway (each a primary) and receives from all."""
    if any(c.type == "http" for c in connectors):
        return connectors
    return (ConnectorConfig(DEFAULT_CONNECTOR, "http"), *connectors)


def senders(connectors: tuple[ConnectorConfig, ...]) -> list[str]:
    """The connectors messages come in by (those of type http, the default one included)."""
    return [c.name for c in with_http_connector(connectors) if c.type == "http"]


def _check_reports_for(connectors: tuple[ConnectorConfig, ...]) -> None:
    names = senders(connectors)
    for i, connector in enumerate(connectors, start=1):
        for name in connector.reports_for or ():
            if name not in names:
                raise ConfigError(f"connector[{i}].reports_for",
                                  f"{name!r} is not a connector messages come in by "
                                  f"(connectors of type http: {', '.join(names)})")
