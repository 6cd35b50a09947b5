"""The TOML configuration, validated into frozen dataclasses.

Every mistake is reported with the key path (``modem[2].baudrate``) and what was expected,
before anything starts: a box nobody watches must not half-start on a typo.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# a connector's use of a gateway, and its role (gateways/assignment.py says what they mean)
SEND_RECEIVE, SEND, RECEIVE, NOT_USED = "send-receive", "send", "receive", "none"
USES = (SEND_RECEIVE, SEND, RECEIVE, NOT_USED)
PRIMARY, BACKUP = "primary", "backup"
ROLES = (PRIMARY, BACKUP)

MODEL_NAMES = ("auto", "sim800", "sim7600", "ec25", "huawei", "generic")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
DEFAULT_LISTEN = "127.0.0.1:9710"
DEFAULT_DATA_DIR = "./data"

WEBHOOK_TIMEOUT = 10.0
WEBHOOK_TIMEOUTS = (1, 300)                          # seconds, for connector.timeout
WEBHOOK_GIVE_UP_AFTER = 3 * 86400
WEBHOOK_GIVE_UP_RANGE = (60, 30 * 86400)             # seconds, for connector.give_up_after
WEBHOOK_KEYS = ("url", "token", "timeout", "give_up_after", "reports_for")

GPIO_KEYS = ("pwrkey_gpio", "reset_gpio", "ri_gpio")  # a modem's lines, each an optional BCM number

_PHONE = re.compile(r"^\+?[0-9]{3,20}$")
_PIN = re.compile(r"^[0-9]{4,8}$")
USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
USER_NAME_RULE = "user name must be 1 to 64 letters, digits or . _ @ -"


class ConfigError(ValueError):
    """A bad configuration value; the message starts with the key path."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class ModemConfig:
    name: str
    port: str
    baudrate: int = 115200
    model: str = "auto"
    pin: str | None = None
    smsc: str | None = None
    delivery_reports: bool = True
    pwrkey_gpio: int | None = None          # BCM number of the modem's PWRKEY line
    pwrkey_pressed_high: bool = False       # true where an inverting transistor drives PWRKEY
    reset_gpio: int | None = None           # BCM number of the modem's RESET line
    reset_active_high: bool = False         # true where an inverting transistor drives RESET
    ri_gpio: int | None = None              # BCM number of the modem's RI (ring indicator) line
    send_limit_day: int | None = None       # SMS parts per day, per month, per minute
    send_limit_month: int | None = None
    send_rate_per_minute: int | None = None
    enabled: bool = True                    # false: not started until an administrator starts it


@dataclass(frozen=True)
class ConnectorConfig:
    name: str
    type: str = "http"
    max_send_attempts: int = 3
    url: str = ""                  # webhook: where events are POSTed
    token: str = ""                # webhook: sent as "Authorization: Bearer <token>"
    timeout: float = WEBHOOK_TIMEOUT              # webhook: seconds one POST may take
    give_up_after: int = WEBHOOK_GIVE_UP_AFTER    # webhook: seconds an event is retried
    # webhook: the connectors whose messages' delivery reports it POSTs; None: every one of type http
    reports_for: tuple[str, ...] | None = None
    # (gateway name, use, role); empty = every gateway, send and receive, primary
    gateways: tuple[tuple[str, str, str], ...] = ()
    enabled: bool = True           # false: stopped (the HTTP API refuses messages, a webhook holds events)


@dataclass(frozen=True)
class RoutingConfig:
    # pauses before the 1st, 2nd, ... retry of a message on the same gateway
    retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0)


@dataclass(frozen=True)
class ReceiveConfig:
    # a multipart SMS whose parts have not all come after this long is delivered as it is
    incomplete_after: int = 3600


@dataclass(frozen=True)
class HttpConfig:
    listen: str = DEFAULT_LISTEN
    connections: int = 64                 # kept-alive connections held open, and connections waiting for a thread
    guest: str | None = None              # the local user a request without username acts as
    auth_callback_url: str | None = None  # vouches for user names that are not local users
    tls_cert: str | None = None           # both set: HTTPS only (PEM files)
    tls_key: str | None = None
    send_server_command: bool = False     # the administrators' send-server-command HTTP command
    threads: int = 16                     # requests answered at once, each by a thread of the pool
    timeout: int = 10                     # seconds a client may stay silent within a request or between two
    max_body: int = 2 * 1024 * 1024       # bytes in a request's body, at most (else 413)
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-For names the client

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


@dataclass(frozen=True)
class StorageConfig:
    path: str = DEFAULT_DATA_DIR


@dataclass(frozen=True)
class Config:
    http: HttpConfig = field(default_factory=HttpConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    receive: ReceiveConfig = field(default_factory=ReceiveConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    modems: tuple[ModemConfig, ...] = ()
    connectors: tuple[ConnectorConfig, ...] = ()

    def with_overrides(self, *, data: str | None = None, listen: str | None = None) -> Config:
        """Apply command-line options, validated like the file's own values."""
        config = self
        if data is not None:
            config = replace(config, storage=StorageConfig(_string(data, "--data")))
        if listen is not None:
            config = replace(config, http=replace(config.http, listen=_listen(listen, "--listen")))
        return config


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
    _only(raw, {"http", "storage", "receive", "routing", "modem", "connector"}, "")
    http = _table(raw, "http")
    _only(http, {"listen", "connections", "send_server_command", "guest", "auth_callback_url", "tls_cert", "tls_key",
                 "threads", "timeout", "max_body", "trusted_proxies"}, "http")
    storage = _table(raw, "storage")
    _only(storage, {"path"}, "storage")
    receive = _table(raw, "receive")
    _only(receive, {"incomplete_after"}, "receive")
    routing = _table(raw, "routing")
    _only(routing, {"retry_delays"}, "routing")
    modems = tuple(_modem(m, f"modem[{i}]") for i, m in enumerate(_array(raw, "modem"), start=1))
    _unique([m.name for m in modems], "modem", "modem")
    _check_gpio_pins(modems)
    connectors = tuple(_connector(c, f"connector[{i}]") for i, c in enumerate(_array(raw, "connector"), start=1))
    _unique([c.name for c in connectors], "connector", "connector")
    if sum(c.type == "http" for c in connectors) > 1:
        raise ConfigError("connector", "only one connector can be of type \"http\": the HTTP API is one")
    _check_reports_for(connectors)
    return Config(
        http=_http(http),
        storage=StorageConfig(_string(storage.get("path", DEFAULT_DATA_DIR), "storage.path")),
        receive=ReceiveConfig(_integer(receive.get("incomplete_after", 3600), "receive.incomplete_after",
                                       60, 7 * 86400)),
        routing=RoutingConfig(_delays(routing.get("retry_delays", [5, 30, 120]), "routing.retry_delays")),
        modems=modems,
        connectors=connectors,
    )


def _http(raw: dict[str, Any]) -> HttpConfig:
    guest = _optional_string(raw.get("guest"), "http.guest")
    if guest is not None:
        if not USER_NAME.match(guest):
            raise ConfigError("http.guest", f"{guest!r}: {USER_NAME_RULE}")
    callback = _optional_string(raw.get("auth_callback_url"), "http.auth_callback_url")
    if callback is not None:
        _callback_url(callback, "http.auth_callback_url")
    cert = _optional_string(raw.get("tls_cert"), "http.tls_cert")
    key = _optional_string(raw.get("tls_key"), "http.tls_key")
    if (cert is None) != (key is None):
        missing = "http.tls_key" if key is None else "http.tls_cert"
        raise ConfigError(missing, "is required with " + ("http.tls_cert" if key is None else "http.tls_key")
                          + ": HTTPS needs both the certificate and its private key")
    default = HttpConfig()
    return HttpConfig(listen=_listen(raw.get("listen", DEFAULT_LISTEN), "http.listen"),
                      connections=_integer(raw.get("connections", 64), "http.connections", 1, 1024),
                      guest=guest, auth_callback_url=callback, tls_cert=cert, tls_key=key,
                      send_server_command=_boolean(raw.get("send_server_command", False),
                                                   "http.send_server_command"),
                      threads=_integer(raw.get("threads", default.threads), "http.threads", 1, 256),
                      timeout=_integer(raw.get("timeout", default.timeout), "http.timeout", 1, 300),
                      max_body=_integer(raw.get("max_body", default.max_body), "http.max_body",
                                        64 * 1024, 64 * 1024 * 1024),
                      trusted_proxies=_proxies(raw.get("trusted_proxies", []), "http.trusted_proxies"))


def _proxies(value: Any, key: str) -> tuple[str, ...]:
    """Addresses (``127.0.0.1``, ``::1``) or networks (``10.0.0.0/8``) of reverse proxies."""
    if not isinstance(value, list):
        raise ConfigError(key, f"must be a list of addresses or networks like [\"127.0.0.1\"], not {value!r}")
    for entry in value:
        try:
            if not isinstance(entry, str):
                raise ValueError
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(key, f"{entry!r} is not an IP address or network (like 127.0.0.1 or 10.0.0.0/8)") \
                from None
    return tuple(value)


def _callback_url(url: str, key: str) -> None:
    """https, or plain http to this machine only: the URL is sent users' passwords."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return
    raise ConfigError(key, f"must be an https:// URL (plain http:// only to localhost), not {url!r}: "
                           "passwords are sent to it")


def _array(raw: dict[str, Any], key: str) -> list:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(key, f"must be an array of tables: write [[{key}]]")
    return value


def _unique(names: list[str], key: str, what: str) -> None:
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"{key}[{i + 1}].name", f"{name!r} is used by another {what}")


def _delays(value: Any, key: str) -> tuple[float, ...]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 86400 for v in value)):
        raise ConfigError(key, f"must be a list of seconds (0 to 86400) like [5, 30, 120], not {value!r}")
    return tuple(float(v) for v in value)


CONNECTOR_TYPES = ("http", "webhook")
DEFAULT_CONNECTOR = "HTTP API"


def with_http_connector(connectors: tuple[ConnectorConfig, ...]) -> tuple[ConnectorConfig, ...]:
    """The HTTP API always has a connector: without one of type http in the file, a default
    one sends through every gateway (each a primary) and receives from all."""
    if any(c.type == "http" for c in connectors):
        return connectors
    return (ConnectorConfig(DEFAULT_CONNECTOR, "http"),) + connectors


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


def _webhook(raw: dict[str, Any], key: str, kind: str) -> dict[str, Any]:
    """The webhook keys of a connector table, checked; on another type only their defaults."""
    url = raw.get("url", "")
    if kind == "webhook" and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise ConfigError(f"{key}.url", f"a webhook needs an http:// or https:// URL, not {url!r}")
    token = raw.get("token", "")
    if not isinstance(token, str):
        raise ConfigError(f"{key}.token", "must be a string")
    timeout = raw.get("timeout", WEBHOOK_TIMEOUT)
    low, high = WEBHOOK_TIMEOUTS
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not low <= timeout <= high:
        raise ConfigError(f"{key}.timeout", f"must be a number of seconds from {low} to {high} "
                                            f"(how long one POST may take), not {timeout!r}")
    low, high = WEBHOOK_GIVE_UP_RANGE
    give_up_after = _integer(raw.get("give_up_after", WEBHOOK_GIVE_UP_AFTER), f"{key}.give_up_after", low, high)
    reports_for = raw.get("reports_for")
    if reports_for is not None:
        if not isinstance(reports_for, list) or not all(isinstance(n, str) and n.strip() for n in reports_for):
            raise ConfigError(f"{key}.reports_for", f'must be a list of connector names like ["HTTP API"], '
                                                    f"not {reports_for!r}")
        reports_for = tuple(reports_for)
    values = {"url": url, "token": token, "timeout": float(timeout), "give_up_after": give_up_after,
              "reports_for": reports_for}
    if kind != "webhook":
        for name, default in zip(WEBHOOK_KEYS, ("", "", WEBHOOK_TIMEOUT, WEBHOOK_GIVE_UP_AFTER, None)):
            if values[name] != default:
                raise ConfigError(f"{key}.{name}", f"only a webhook connector has one; this one is of type {kind!r}")
    return values


def _connector(raw: Any, key: str) -> ConnectorConfig:
    if not isinstance(raw, dict):
        raise ConfigError(key, "must be a table")
    _only(raw, {"name", "type", "max_send_attempts", "gateways", "enabled", *WEBHOOK_KEYS}, key)
    if "name" not in raw:
        raise ConfigError(f"{key}.name", "is required")
    kind = _string(raw.get("type", "http"), f"{key}.type")
    if kind not in CONNECTOR_TYPES:
        raise ConfigError(f"{key}.type", f"{kind!r} is not one of {', '.join(CONNECTOR_TYPES)}")
    gateways = []
    for i, entry in enumerate(raw.get("gateways", []), start=1):
        entry_key = f"{key}.gateways[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(entry_key, 'must be a table like { name = "GSM", use = "send", role = "backup" }')
        _only(entry, {"name", "use", "role"}, entry_key)
        if "name" not in entry:
            raise ConfigError(f"{entry_key}.name", "is required")
        use = _string(entry.get("use", "send-receive"), f"{entry_key}.use")
        if use not in USES:
            raise ConfigError(f"{entry_key}.use", f"{use!r} is not one of {', '.join(USES)}")
        role = _string(entry.get("role", "primary"), f"{entry_key}.role")
        if role not in ROLES:
            raise ConfigError(f"{entry_key}.role", f"{role!r} is not one of {', '.join(ROLES)}")
        gateways.append((_string(entry["name"], f"{entry_key}.name"), use, role))
    return ConnectorConfig(name=_string(raw["name"], f"{key}.name"), type=kind, **_webhook(raw, key, kind),
                           max_send_attempts=_integer(raw.get("max_send_attempts", 3),
                                                      f"{key}.max_send_attempts", 1, 100),
                           gateways=tuple(gateways), enabled=_boolean(raw.get("enabled", True), f"{key}.enabled"))


def _modem(raw: Any, key: str) -> ModemConfig:
    if not isinstance(raw, dict):
        raise ConfigError(key, "must be a table")
    _only(raw, {"name", "port", "baudrate", "model", "pin", "smsc", "delivery_reports", *GPIO_KEYS,
                "pwrkey_pressed_high", "reset_active_high", "send_limit_day", "send_limit_month",
                "send_rate_per_minute", "enabled"}, key)
    for required in ("name", "port"):
        if required not in raw:
            raise ConfigError(f"{key}.{required}", "is required")
    name = _string(raw["name"], f"{key}.name")
    if ";" in name:
        raise ConfigError(f"{key}.name", "must not contain ';' (it separates names in the gateway parameter)")
    baudrate = _integer(raw.get("baudrate", 115200), f"{key}.baudrate", 1, 10_000_000)
    if baudrate not in BAUDRATES:
        raise ConfigError(f"{key}.baudrate", f"{baudrate} is not one of {', '.join(map(str, BAUDRATES))}")
    model = _string(raw.get("model", "auto"), f"{key}.model")
    if model not in MODEL_NAMES:
        raise ConfigError(f"{key}.model", f"{model!r} is not one of {', '.join(MODEL_NAMES)}")
    pin = raw.get("pin")
    if pin is not None:
        pin = _string(pin, f"{key}.pin")
        if not _PIN.match(pin):
            raise ConfigError(f"{key}.pin", "must be 4 to 8 digits, written as a string (\"0123\")")
    smsc = raw.get("smsc")
    if smsc is not None:
        smsc = _string(smsc, f"{key}.smsc")
        if not _PHONE.match(smsc):
            raise ConfigError(f"{key}.smsc", f"{smsc!r} is not a phone number like +447785016005")
    return ModemConfig(name=name, port=_string(raw["port"], f"{key}.port"), baudrate=baudrate,
                       model=model, pin=pin, smsc=smsc,
                       delivery_reports=_boolean(raw.get("delivery_reports", True), f"{key}.delivery_reports"),
                       **{line: _optional_gpio(raw.get(line), f"{key}.{line}") for line in GPIO_KEYS},
                       pwrkey_pressed_high=_boolean(raw.get("pwrkey_pressed_high", False),
                                                    f"{key}.pwrkey_pressed_high"),
                       reset_active_high=_boolean(raw.get("reset_active_high", False), f"{key}.reset_active_high"),
                       enabled=_boolean(raw.get("enabled", True), f"{key}.enabled"),
                       **{limit: _optional_count(raw.get(limit), f"{key}.{limit}")
                          for limit in ("send_limit_day", "send_limit_month", "send_rate_per_minute")})


def _optional_gpio(value: Any, key: str) -> int | None:
    return None if value is None else _integer(value, key, 0, 27)  # the BCM pins of the 40-pin header


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


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table")
    return value


def _only(raw: dict[str, Any], allowed: set[str], key: str) -> None:
    for name in raw:
        if name not in allowed:
            path = f"{key}.{name}" if key else name
            raise ConfigError(path, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, f"must be a non-empty string, not {value!r}")
    return value


def _integer(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer, not {value!r}")
    if not low <= value <= high:
        raise ConfigError(key, f"must be between {low} and {high}, not {value}")
    return value


def _optional_string(value: Any, key: str) -> str | None:
    return None if value is None else _string(value, key)


def _optional_count(value: Any, key: str) -> int | None:
    return None if value is None else _integer(value, key, 1, 10_000_000)


def _boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, not {value!r}")
    return value


def _listen(value: Any, key: str) -> str:
    value = _string(value, key)
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(key, f"must be HOST:PORT like 127.0.0.1:9710, not {value!r}")
    return value
