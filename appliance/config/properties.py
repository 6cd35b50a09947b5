"""The properties an administrator reads and changes while the appliance runs
(send-server-command ``get-server-configuration``, ``set-gateway-property`` and so on).

Each property names one key of the config file. A change is made on the config as the
TOML table it would be read from, and that table goes through :func:`config.parse` again:
a value set at run time is validated exactly as the same value in the file, and a wrong
one raises a :class:`ConfigError` naming the property and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import inspect as mi

from . import schema
from .file import (
    NOT_USED,
    PRIMARY,
    RECEIVE,
    SEND,
    SEND_RECEIVE,
    Config,
    ConfigError,
    ConnectorConfig,
    GatewayUse,
    HttpConfig,
    ModemConfig,
    ProviderConfig,
    ReceiveConfig,
    RoutingConfig,
    StorageConfig,
    Table,
    parse,
)

GATEWAY, CONNECTOR, ROUTING, SETTINGS = "gateway", "connector", "routing", "settings"
FLAG, NUMBER, TEXT, SECONDS, NAMES = "flag", "number", "text", "seconds", "names"
SECRET_SHOWN_AS = "***"


class UnknownName(ConfigError):
    """No such gateway, connector or property (Diafaan error 306, not 307)."""


@dataclass(frozen=True)
class Property:
    """A config key that send-server-command and /api/v1 read and set by name. How its
    value is written, whether it may be empty and whether it is secret follow from the
    key's declaration in the config file's schema."""

    name: str                 # as send-server-command and the XML name it
    key: str                  # the config key it sets: "send_limit_day", "routing.retry_delays"
    kind: str = TEXT          # how its value is written: FLAG (1 or 0), NUMBER, TEXT, SECONDS (5;30;120),
                              # NAMES (HTTP API;Portal)
    optional: bool = False    # an empty value removes the key: no limit, no PIN, the SIM's SMSC
    secret: bool = False      # shown as *** and never read back
    read_only: str = ""       # why it cannot be set at run time
    declared: mi.Type | None = field(default=None, compare=False, repr=False)


def _camel(key: str) -> str:
    return "".join(word.capitalize() for word in key.split("_"))


def _kind(declared: schema.Declared) -> str:
    kind = declared.type
    if isinstance(kind, mi.BoolType):
        return FLAG
    if isinstance(kind, (mi.IntType, mi.FloatType)) or (
            isinstance(kind, mi.LiteralType) and all(isinstance(v, int) for v in kind.values)):
        return NUMBER
    if isinstance(kind, mi.VarTupleType):
        return SECONDS if isinstance(schema.declared(kind.item_type).type, mi.FloatType) else NAMES
    return TEXT


def declared(table: type[Table], key: str, name: str | None = None, read_only: str = "") -> Property:
    """The property of ``table``'s ``key`` (``section.key`` for a section of the file),
    named ``name`` (by default the key in CamelCase)."""
    field_name = key.rpartition(".")[2]
    declaration = schema.fields(table)[field_name].type
    info = schema.declared(declaration)
    return Property(name or _camel(field_name), key, _kind(info), info.optional, info.secret, read_only,
                    declaration)


def _table(table: type[Table], *keys: str | Property) -> dict[str, Property]:
    properties = [declared(table, key) if isinstance(key, str) else key for key in keys]
    return {p.name: p for p in properties}


MODEM_PROPERTIES = _table(ModemConfig, "enabled", "port", "baudrate", "model", "pin", "smsc", "delivery_reports",
                          "send_limit_day", "send_limit_month", "send_rate_per_minute")
# a provider's sending settings and credentials; its type's own check (which credentials
# go together, batch where the API takes it) runs where the gateways are known (control)
PROVIDER_PROPERTIES = _table(ProviderConfig, "enabled", "send_limit_day", "send_limit_month", "send_rate_per_minute",
                             "sender", "fallback_sender", "pattern", "concurrency", "batch_size", "timeout",
                             "max_length", "country_code", "proxy", "start_date", "base_url", "token", "username",
                             "password", "account_sid", "auth_token", "api_key")
GATEWAY_PROPERTIES = {**MODEM_PROPERTIES, **PROVIDER_PROPERTIES}   # one scope: a name means one key
SHARED_PROPERTIES = tuple(name for name in MODEM_PROPERTIES if name in PROVIDER_PROPERTIES)
WEBHOOK_ONLY = ("Url", "Token", "Timeout", "GiveUpAfter", "ReportsFor")
CONNECTOR_PROPERTIES = _table(ConnectorConfig, "enabled", "max_send_attempts", "url", "token", "timeout",
                              "give_up_after", "reports_for")
# per (connector, gateway): its entry in the connector's `gateways` list
ROUTING_PROPERTIES = {
    "Send": Property("Send", "use", FLAG),
    "Receive": Property("Receive", "use", FLAG),
    "Role": declared(GatewayUse, "role"),
}
SETTINGS_PROPERTIES = {p.name: p for p in (
    declared(RoutingConfig, "routing.retry_delays"),
    declared(ReceiveConfig, "receive.incomplete_after"),
    declared(HttpConfig, "http.listen", read_only="change [http] listen in the config file"),
    declared(HttpConfig, "http.connections", read_only="change [http] connections in the config file"),
    declared(HttpConfig, "http.threads", read_only="change [http] threads in the config file"),
    declared(HttpConfig, "http.timeout", read_only="change [http] timeout in the config file"),
    declared(HttpConfig, "http.max_body", read_only="change [http] max_body in the config file"),
    declared(HttpConfig, "http.trusted_proxies", read_only="change [http] trusted_proxies in the config file"),
    declared(HttpConfig, "http.send_server_command", "SendServerCommandEnabled",
             read_only="only the config file can enable or disable send-server-command ([http] send_server_command)"),
    declared(StorageConfig, "storage.path", "DataDirectory", read_only="change [storage] path in the config file"),
)}
TABLES = {GATEWAY: GATEWAY_PROPERTIES, CONNECTOR: CONNECTOR_PROPERTIES, ROUTING: ROUTING_PROPERTIES,
          SETTINGS: SETTINGS_PROPERTIES}


@dataclass(frozen=True)
class Override:
    """One property set at run time, kept in the store and applied over the file at start."""

    scope: str      # GATEWAY, CONNECTOR, ROUTING or SETTINGS
    name: str       # the gateway or connector; for ROUTING "<connector>;<gateway>"; "" for SETTINGS
    property: str
    value: str      # as it was given: "200", "1", "", "5;30;120"


def written(prop: Property) -> str:
    """How a property's value is written, from its declaration (for the API's document)."""
    if prop.kind == FLAG:
        text = "1 or 0"
    elif prop.kind == SECONDS:
        text = "seconds separated by ';', like 5;30;120"
    elif prop.kind == NAMES:
        text = "names separated by ';', like HTTP API;Portal"
    else:
        text = schema.expected(prop.declared) if prop.declared is not None else "text"
    if prop.optional:
        text += "; empty for none"
    if prop.secret:
        text += "; shown as ***"
    if prop.read_only:
        text += f"; read-only: {prop.read_only}"
    return text


def routing_name(connector: str, gateway: str) -> str:
    return f"{connector};{gateway}"   # a gateway name never holds ';'


def lookup(scope: str, name: str, listed: Mapping[str, Property] | None = None) -> Property:
    """The property ``name`` of ``scope``; an unknown one names those there are (``listed``:
    those of the gateway at hand, a modem's or a provider's)."""
    table = TABLES[scope]
    found = table.get(name)
    if found is None:
        raise UnknownName(name, f"not a {scope} property (there are: {', '.join(listed or table)})")
    return found


def assignments(connector: ConnectorConfig, gateways: tuple[str, ...]) -> tuple[GatewayUse, ...]:
    """(gateway, use, role) of a connector; none listed means every gateway, send and receive, primary."""
    return connector.gateways or tuple(GatewayUse(name, SEND_RECEIVE, PRIMARY) for name in gateways)


# -- showing values -------------------------------------------------------------------------

def shown(prop: Property, value: Any) -> str:
    """A value as get-server-configuration shows it and set-*-property takes it back."""
    if prop.secret:
        return SECRET_SHOWN_AS if value else ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ";".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def gateway_values(config: Config, gateway: str) -> dict[str, str]:
    """A modem's properties or a provider's, as its kind has them."""
    found = _modem(config, gateway)
    return {p.name: shown(p, getattr(found, p.key)) for p in _properties_of(found).values()}


def _properties_of(gateway: ModemConfig | ProviderConfig) -> dict[str, Property]:
    return PROVIDER_PROPERTIES if isinstance(gateway, ProviderConfig) else MODEM_PROPERTIES


def connector_values(config: Config, connector: str) -> dict[str, str]:
    found = _connector(config, connector)
    return {p.name: shown(p, getattr(found, p.key)) for p in CONNECTOR_PROPERTIES.values()
            if found.type == "webhook" or p.name not in WEBHOOK_ONLY}


def routing_values(config: Config, connector: str) -> dict[str, dict[str, str]]:
    """Per gateway: Send, Receive (1 or 0) and Role."""
    found = _connector(config, connector)
    entries = {name: (use, role) for name, use, role in assignments(found, _gateways(config))}
    result = {}
    for gateway in _gateways(config):
        use, role = entries.get(gateway, (NOT_USED, PRIMARY))
        result[gateway] = {"Send": shown(ROUTING_PROPERTIES["Send"], use in (SEND_RECEIVE, SEND)),
                           "Receive": shown(ROUTING_PROPERTIES["Receive"], use in (SEND_RECEIVE, RECEIVE)),
                           "Role": role}
    return result


def settings_values(config: Config) -> dict[str, str]:
    values = {}
    for prop in SETTINGS_PROPERTIES.values():
        section, key = prop.key.split(".")
        values[prop.name] = shown(prop, getattr(getattr(config, section), key))
    return values


# -- changing values ------------------------------------------------------------------------

def apply(config: Config, override: Override) -> Config:
    """``config`` with one property changed; a :class:`ConfigError` naming the property
    (an :class:`UnknownName` for a name that does not exist) if it cannot be."""
    listed = _properties_of(_modem(config, override.name)) if override.scope == GATEWAY else None
    prop = lookup(override.scope, override.property, listed)
    if prop.read_only:
        raise ConfigError(prop.name, f"is read-only: {prop.read_only}")
    value = _value(prop, override.value)
    raw = _raw(config)
    if override.scope == GATEWAY:
        table_of = _modem(config, override.name)
        table = "modem" if isinstance(table_of, ModemConfig) else "provider"
        if prop.name not in _properties_of(table_of):
            raise ConfigError(prop.name, f"a {table} gateway has none; {table_of.name!r} is one")
        index = [g.name for g in getattr(config, f"{table}s")].index(table_of.name)
        _set(raw[table][index], prop, value)
    elif override.scope == CONNECTOR:
        index, found = _connector_index(config, override.name)
        if prop.name in WEBHOOK_ONLY and found.type != "webhook":
            raise ConfigError(prop.name, f"only a webhook connector has one; {found.name!r} is of type {found.type!r}")
        _set(raw["connector"][index], prop, value)
    elif override.scope == ROUTING:
        connector, _, gateway = override.name.rpartition(";")
        index, found = _connector_index(config, connector)
        raw["connector"][index]["gateways"] = _reassigned(config, found, _modem(config, gateway).name, prop, value)
    else:
        section, key = prop.key.split(".")
        raw[section][key] = value
    try:
        return parse(raw)
    except ConfigError as error:
        raise ConfigError(prop.name, error.problem) from None


def _value(prop: Property, text: str) -> Any:
    """The text of an HTTP parameter as the TOML value the file would hold (None: no value)."""
    text = text.strip()
    if prop.optional and not text:
        return None
    if prop.kind == FLAG:
        if text.lower() in ("1", "true"):
            return True
        if text.lower() in ("0", "false"):
            return False
        raise ConfigError(prop.name, f"must be 1 or 0, not {text!r}")
    if prop.kind == NUMBER:
        whole = prop.declared is None or not isinstance(schema.declared(prop.declared).type, mi.FloatType)
        try:
            return int(text) if whole else float(text)
        except ValueError:
            number = "a whole number" if whole else "a number"
            raise ConfigError(prop.name, f"must be {number}, not {text!r}") from None
    if prop.kind == NAMES:
        return [name.strip() for name in text.split(";") if name.strip()]
    if prop.kind == SECONDS:
        try:
            return [float(v) for v in text.replace(",", ";").split(";") if v.strip()]
        except ValueError:
            raise ConfigError(prop.name, f"must be seconds separated by ';' like 5;30;120, not {text!r}") from None
    return text


def _set(table: dict[str, Any], prop: Property, value: Any) -> None:
    if value is None:
        table.pop(prop.key, None)
    else:
        table[prop.key] = value


def _reassigned(config: Config, connector: ConnectorConfig, gateway: str, prop: Property,
                value: Any) -> list[dict[str, str]]:
    """The connector's gateway list with one entry changed; a gateway it did not list joins
    it as not used, primary, before the change."""
    entries = [list(entry) for entry in assignments(connector, _gateways(config))]
    entry = next((e for e in entries if e[0] == gateway), None)
    if entry is None:
        entry = [gateway, NOT_USED, PRIMARY]
        entries.append(entry)
    if prop.name == "Role":
        entry[2] = value
    else:
        sends = entry[1] in (SEND_RECEIVE, SEND)
        receives = entry[1] in (SEND_RECEIVE, RECEIVE)
        if prop.name == "Send":
            sends = value
        else:
            receives = value
        entry[1] = {(True, True): SEND_RECEIVE, (True, False): SEND, (False, True): RECEIVE,
                    (False, False): NOT_USED}[(sends, receives)]
    return [{"name": name, "use": use, "role": role} for name, use, role in entries]


def _raw(config: Config) -> dict[str, Any]:
    """The config as the TOML tables it would be read from."""
    raw = msgspec.to_builtins(config)
    for table, connector in zip(raw["connector"], config.connectors, strict=True):
        table["gateways"] = [{"name": name, "use": use, "role": role} for name, use, role in connector.gateways]
    return raw


def _gateways(config: Config) -> tuple[str, ...]:
    return tuple(g.name for g in config.gateway_tables)


def _modem(config: Config, name: str) -> ModemConfig | ProviderConfig:
    """The modem or provider gateway ``name``."""
    for modem in config.gateway_tables:
        if modem.name == name:
            return modem
    raise UnknownName(name, f"no such gateway (there are: {', '.join(_gateways(config)) or 'none'})")


def _connector_index(config: Config, name: str) -> tuple[int, ConnectorConfig]:
    for index, connector in enumerate(config.connectors):
        if connector.name == name:
            return index, connector
    names = ", ".join(c.name for c in config.connectors) or "none"
    raise UnknownName(name, f"no such connector (there are: {names})")


def _connector(config: Config, name: str) -> ConnectorConfig:
    return _connector_index(config, name)[1]


def with_overrides(config: Config, overrides: list[Override]) -> tuple[Config, list[str]]:
    """Every override that still applies, in order, and why each other one does not (its
    gateway was taken out of the file, say): those are skipped, not fatal."""
    problems = []
    for override in overrides:
        try:
            config = apply(config, override)
        except ConfigError as error:
            where = f"{override.scope} {override.name!r}" if override.name else override.scope
            problems.append(f"{where}: {error}")
    return config, problems
