"""Running the appliance by hand while it runs: start, stop and restart gateways and
connectors, pause sending, reset send limits, read the configuration and change it.

send-server-command uses it, and the JSON API will. Every :class:`ServerControl` method
runs on the event loop, like the router and the modems it drives; other threads call it
through :func:`on_loop`. A property changed at run time is kept in the store
(``config_override``) and applied over the config file at every start
(:func:`effective_config`), so it survives a restart.

Errors are :class:`~appliance.config.file.ConfigError`: an :class:`~appliance.config.properties.UnknownName`
for a gateway, connector or property that does not exist, a plain one for a value or an
action that is not allowed. Either way nothing has changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import TypeVar

import peewee
from msgspec.structs import replace

from ..config import properties
from ..config.file import (
    Config,
    ConfigError,
    ConnectorConfig,
    ModemConfig,
    ProviderConfig,
    senders,
    with_http_connector,
)
from ..config.properties import CONNECTOR, GATEWAY, ROUTING, SETTINGS, Override, UnknownName
from ..connectors.webhook import WebhookSender, WebhookTarget
from ..gateways.assignment import Assignment, Connector
from ..gateways.base import Gateway
from ..gateways.limits import Limits
from ..gateways.modem import ModemGateway
from ..gateways.providers import registry as provider_registry
from ..gateways.providers.engine import ProviderGateway
from ..gateways.router import Router
from ..store.inbox import Inbox
from ..store.models import ConfigOverride

log = logging.getLogger(__name__)

T = TypeVar("T")
Named = TypeVar("Named", Gateway, ConnectorConfig)
DEFAULT_TIMEOUT = 10.0


def on_loop(loop: asyncio.AbstractEventLoop, function: Callable[..., T], *args: object,
            timeout: float = DEFAULT_TIMEOUT) -> T:
    """Run ``function(*args)`` on ``loop`` and return its result or raise what it raised,
    from any thread. A call the loop has not begun within ``timeout`` seconds never runs,
    and raises TimeoutError; one it has begun is waited for. (A call made on the loop
    itself runs at once: waiting for itself, it would wait forever.)"""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        return function(*args)
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return  # the caller gave up waiting: do nothing it was not told about
        try:
            future.set_result(function(*args))
        except BaseException as error:
            future.set_exception(error)

    loop.call_soon_threadsafe(run)
    try:
        return future.result(timeout)
    except TimeoutError:
        if future.cancel():
            raise TimeoutError(f"the appliance did not get to it within {timeout:g} s; nothing was done") from None
    return future.result()  # it began just as the time ran out: it finishes soon


def effective_config(config: Config) -> Config:
    """The config file with the default HTTP connector and every stored override applied
    (call once the store is open). An override that no longer fits the file — its gateway
    was removed, say — is skipped with a warning: the appliance still starts."""
    config = replace(config, connectors=with_http_connector(config.connectors))
    rows = ConfigOverride.select().order_by(ConfigOverride.id)
    overrides = [Override(r.scope, r.name, r.property, r.value) for r in rows]
    changed, problems = properties.with_overrides(config, overrides)
    # a provider its type refuses with them (the file now has a login where an override
    # sets a token): its overrides all go, as they were kept together
    refused = _refused_by_type(changed, {o.name for o in overrides if o.scope == GATEWAY})
    if refused:
        changed, problems = properties.with_overrides(
            config, [o for o in overrides if not (o.scope == GATEWAY and o.name in refused)])
        problems += [f"gateway {name!r}: {error}" for name, error in refused.items()]
    config = changed
    for problem in problems:
        log.warning("a property set by send-server-command no longer applies and is ignored: %s", problem)
    return config


def _refused_by_type(config: Config, names: Iterable[str]) -> dict[str, ConfigError]:
    """The named provider gateways their type refuses (registry.check, as at start), with why."""
    refused = {}
    for i, provider in enumerate(config.providers, start=1):
        if provider.name in names:
            try:
                provider_registry.check(provider, f"provider[{i}]")
            except ConfigError as error:
                refused[provider.name] = error
    return refused


def routing_connector(connector: ConnectorConfig, gateways: tuple[str, ...]) -> Connector:
    """The router's view of a configured connector."""
    return Connector(connector.name, connector.type,
                     tuple(Assignment(*entry) for entry in properties.assignments(connector, gateways)),
                     connector.max_send_attempts)


def webhook_targets(connectors: tuple[ConnectorConfig, ...]) -> list[WebhookTarget]:
    """The webhook connectors; one without ``reports_for`` carries the reports of every
    connector messages come in by."""
    return [WebhookTarget(c.name, c.url, c.token, timeout=c.timeout, give_up_after=c.give_up_after,
                          reports_for=c.reports_for if c.reports_for is not None else tuple(senders(connectors)))
            for c in connectors if c.type == "webhook"]


def _chosen(what: str, items: Sequence[Named], names: Sequence[str]) -> list[Named]:
    """The named ``items``, or all when none is named; one unknown name and none is chosen."""
    known = [item.name for item in items]
    for name in names:
        if name not in known:
            raise UnknownName(name, f"no such {what} (there are: {', '.join(known) or 'none'})")
    return [item for item in items if not names or item.name in names]


class ServerControl:
    """The running gateways and connectors, and the effective config they were built from."""

    def __init__(self, loop: asyncio.AbstractEventLoop, database: peewee.Database, config: Config, *, router: Router,
                 webhooks: WebhookSender, inbox: Inbox, on_settings: Callable[[], None] = lambda: None) -> None:
        """``config`` is the :func:`effective_config` the service built everything from;
        ``on_settings`` runs after settings were reloaded (the service re-arms its timers)."""
        self.loop = loop
        self.database = database
        self.config = config          # includes changes made with reload=0 that wait for a restart
        self.router = router
        self.webhooks = webhooks
        self.inbox = inbox
        self.on_settings = on_settings
        self.stopped_gateways: set[str] = {g.name for g in router.gateways}   # until start_gateways()
        # read by HTTP threads (accepting()), so only ever replaced, never changed in place
        self.stopped_connectors: frozenset[str] = frozenset(c.name for c in config.connectors if not c.enabled)
        self.pending: set[tuple[str, str]] = set()   # (GATEWAY | CONNECTOR | SETTINGS, name) to reload
        for name in self.stopped_connectors:
            webhooks.hold(name)

    # -- from any thread -------------------------------------------------------------------

    def accepting(self, connector: str) -> bool:
        """False while ``connector`` is stopped: it takes no new messages. Any thread."""
        return connector not in self.stopped_connectors

    # -- gateways --------------------------------------------------------------------------

    def start_gateways(self, names: Sequence[str] = ()) -> dict[str, str]:
        """Start the named gateways (none named: every enabled one) with their current
        properties; starting a disabled one by name is not allowed."""
        chosen = self._gateways(names)
        disabled = [g.name for g in chosen if not self._modem(g.name).enabled]
        if names and disabled:
            raise ConfigError(disabled[0], "is disabled (Enabled is 0): set-gateway-property Enabled=1 starts it")
        result = {}
        for gateway in chosen:
            if gateway.name not in disabled:
                self._configure(gateway)
                self.router.start_gateway(gateway.name)
                self.stopped_gateways.discard(gateway.name)
                result[gateway.name] = "started"
        return result

    def stop_gateways(self, names: Sequence[str] = ()) -> dict[str, str]:
        def stop(name: str) -> None:
            self.router.stop_gateway(name)
            self.stopped_gateways.add(name)
        return self._each_gateway(names, stop, "stopped")

    def restart_gateways(self, names: Sequence[str] = ()) -> dict[str, str]:
        """Stop, take the current properties, and start again unless disabled."""
        return {gateway.name: self._restart(gateway) for gateway in self._gateways(names)}

    def reset_send_limit(self, names: Sequence[str] = ()) -> dict[str, str]:
        return self._each_gateway(names, self.router.reset_send_limit, "send limit reset")

    def pause_sending(self, names: Sequence[str] = ()) -> dict[str, str]:
        """Hand the named gateways no more messages; what one is sending now still finishes.
        Not kept across a restart of the service."""
        return self._each_gateway(names, self.router.pause, "sending paused")

    def resume_sending(self, names: Sequence[str] = ()) -> dict[str, str]:
        return self._each_gateway(names, self.router.resume, "sending resumed")

    def read_credit(self, names: Sequence[str] = ()) -> dict[str, str]:
        """Ask the named gateways' credit now (none named: every gateway whose credit is
        read); each reading comes in moments later (``router.credit.settled``)."""
        credit = self.router.credit
        chosen = self._gateways(names) if names else [g for g in self.router.gateways if credit.credit(g.name)]
        for gateway in chosen:
            if credit.credit(gateway.name) is None:
                raise ConfigError(gateway.name, "has no credit to read: a modem needs balance_ussd (the USSD "
                                                "code that asks its SIM's credit); a provider's API must tell "
                                                "its balance")
        return self._each_gateway([g.name for g in chosen], credit.refresh, "reading credit")

    def _each_gateway(self, names: Sequence[str], act: Callable[[str], object], outcome: str) -> dict[str, str]:
        result = {}
        for gateway in self._gateways(names):
            act(gateway.name)
            result[gateway.name] = outcome
        return result

    def _restart(self, gateway: Gateway) -> str:
        self.router.stop_gateway(gateway.name)
        self.stopped_gateways.add(gateway.name)
        self._configure(gateway)
        if not self._modem(gateway.name).enabled:
            return "stopped (disabled)"
        self.router.start_gateway(gateway.name)
        self.stopped_gateways.discard(gateway.name)
        return "restarted"

    def _configure(self, gateway: Gateway) -> None:
        """Give a gateway that is about to start the properties it is configured with now."""
        modem = self._modem(gateway.name)
        self.router.limits.limits[gateway.name] = Limits(modem.send_limit_day, modem.send_limit_month,
                                                         modem.send_rate_per_minute)
        if isinstance(gateway, ModemGateway) and isinstance(modem, ModemConfig):
            gateway.delivery_reports = modem.delivery_reports
            gateway.driver.config = modem  # its port, model, PIN and SMS centre from its next start
        elif isinstance(gateway, ProviderGateway) and isinstance(modem, ProviderConfig):
            gateway.reconfigure(modem)
        self.pending.discard((GATEWAY, gateway.name))

    def _gateways(self, names: Sequence[str]) -> list[Gateway]:
        return _chosen("gateway", self.router.gateways, names)

    def _modem(self, name: str) -> ModemConfig | ProviderConfig:
        """The config of the modem or provider gateway ``name``."""
        return next(g for g in self.config.gateway_tables if g.name == name)

    # -- connectors ------------------------------------------------------------------------

    def start_connectors(self, names: Sequence[str] = ()) -> dict[str, str]:
        """Start the named connectors (none named: every enabled one) with their current
        properties; a stopped one takes no messages and a stopped webhook holds its events."""
        chosen = self._connectors(names)
        disabled = [c.name for c in chosen if not c.enabled]
        if names and disabled:
            raise ConfigError(disabled[0], "is disabled (Enabled is 0): set-connector-property Enabled=1 starts it")
        result = {}
        for connector in chosen:
            if connector.name not in disabled:
                self._reload_connector(connector.name)
                self._set_running(connector.name, True)
                result[connector.name] = "started"
        return result

    def stop_connectors(self, names: Sequence[str] = ()) -> dict[str, str]:
        return {connector.name: self._stop_connector(connector.name) for connector in self._connectors(names)}

    def restart_connectors(self, names: Sequence[str] = ()) -> dict[str, str]:
        return {connector.name: self._restart_connector(connector.name) for connector in self._connectors(names)}

    def _stop_connector(self, name: str) -> str:
        self._set_running(name, False)
        return "stopped"

    def _restart_connector(self, name: str) -> str:
        self._set_running(name, False)
        self._reload_connector(name)
        if not self._connector(name).enabled:
            return "stopped (disabled)"
        self._set_running(name, True)
        return "restarted"

    def _reload_connector(self, name: str) -> None:
        connector = self._connector(name)
        gateways = tuple(g.name for g in self.router.gateways)
        self.router.routing.connectors[name] = routing_connector(connector, gateways)
        if name in self.webhooks.targets:
            (self.webhooks.targets[name],) = [target for target in webhook_targets(self.config.connectors)
                                              if target.connector == name]
        self.pending.discard((CONNECTOR, name))
        self.router.kick()  # its routing may let a waiting message go now

    def _set_running(self, name: str, running: bool) -> None:
        if running:
            self.stopped_connectors = self.stopped_connectors - {name}
            self.webhooks.release(name)
        else:
            self.stopped_connectors = self.stopped_connectors | {name}
            self.webhooks.hold(name)

    def _connectors(self, names: Sequence[str]) -> list[ConnectorConfig]:
        return _chosen("connector", self.config.connectors, names)

    def _connector(self, name: str) -> ConnectorConfig:
        return next(c for c in self.config.connectors if c.name == name)

    # -- reading the configuration ---------------------------------------------------------

    def configuration(self) -> dict:
        """Every gateway and connector with its properties as set-*-property takes them
        (secrets as ***), whether it runs, and whether a change waits for its restart."""
        config = self.config
        return {
            "gateways": [{"name": g.name, "running": g.name not in self.stopped_gateways,
                          "paused": g.name in self.router.paused, "pending": (GATEWAY, g.name) in self.pending,
                          "properties": properties.gateway_values(config, g.name)}
                         for g in self.router.gateways],
            "connectors": [{"name": c.name, "type": c.type, "running": c.name not in self.stopped_connectors,
                            "pending": (CONNECTOR, c.name) in self.pending,
                            "properties": properties.connector_values(config, c.name),
                            "routing": properties.routing_values(config, c.name)}
                           for c in config.connectors],
        }

    def settings(self) -> dict:
        return {"pending": (SETTINGS, "") in self.pending, "properties": properties.settings_values(self.config)}

    # -- changing properties ---------------------------------------------------------------

    def set_gateway_property(self, names: Sequence[str], prop: str, value: str, reload: bool = True) -> dict[str, str]:
        """Set ``prop`` on the named gateways (none named: all); with ``reload`` each restarts
        at once, else the change waits for its next start or restart."""
        return self.set_gateway_properties(names, {prop: value}, reload)

    def set_gateway_properties(self, names: Sequence[str], values: Mapping[str, str],
                               reload: bool = True) -> dict[str, str]:
        """Set several properties (name: value) at once: a provider's credentials are checked
        together (SMSAPI's username and password in place of its token)."""
        targets = [g.name for g in self._gateways(names)]
        self._store([Override(GATEWAY, name, prop, value) for name in targets for prop, value in values.items()])
        result = {}
        for gateway in self._gateways(targets):
            self.pending.add((GATEWAY, gateway.name))
            result[gateway.name] = self._restart(gateway) if reload else "changed; applies at its next restart"
        return result

    def set_connector_property(self, names: Sequence[str], prop: str, value: str,
                               reload: bool = True) -> dict[str, str]:
        targets = [c.name for c in self._connectors(names)]
        self._store([Override(CONNECTOR, name, prop, value) for name in targets])
        return self._connectors_changed(targets, reload)

    def set_routing_property(self, connectors: Sequence[str], gateways: Sequence[str], prop: str, value: str,
                             reload: bool = True) -> dict[str, str]:
        """Set Send, Receive or Role of each named gateway (none: all) for each named
        connector (none: all); with ``reload`` the connectors restart at once."""
        targets = [c.name for c in self._connectors(connectors)]
        chosen = [g.name for g in self._gateways(gateways)]
        self._store([Override(ROUTING, properties.routing_name(connector, gateway), prop, value)
                     for connector in targets for gateway in chosen])
        return self._connectors_changed(targets, reload)

    def set_settings_property(self, prop: str, value: str, reload: bool = True) -> dict[str, str]:
        self._store([Override(SETTINGS, "", prop, value)])
        self.pending.add((SETTINGS, ""))
        if not reload:
            return {prop: "changed; applies when the settings are next reloaded"}
        self.router.retry_delays = self.config.routing.retry_delays
        self.inbox.incomplete_after = self.config.receive.incomplete_after
        self.pending.discard((SETTINGS, ""))
        self.on_settings()
        return {prop: "changed and loaded"}

    def _connectors_changed(self, names: list[str], reload: bool) -> dict[str, str]:
        result = {}
        for name in names:
            self.pending.add((CONNECTOR, name))
            result[name] = self._restart_connector(name) if reload else "changed; applies at its next restart"
        return result

    def changed_config(self, overrides: Sequence[Override]) -> Config:
        """The config with every override applied, each checked as the file's value would be,
        and each provider gateway they change checked by its type as the service checks it at
        start (its credentials, batch where its API takes one message a request): a
        ConfigError naming the property refuses them all."""
        config = self.config
        for override in overrides:
            config = properties.apply(config, override)
        changed: dict[str, list[str]] = {}
        for override in overrides:
            if override.scope == GATEWAY:
                changed.setdefault(override.name, []).append(override.property)
        named = {prop.key: prop.name for prop in properties.PROVIDER_PROPERTIES.values()}
        for gateway, error in _refused_by_type(config, changed).items():   # named by a property set
            prop = named.get(error.key.rpartition(".")[2], "")
            raise ConfigError(prop if prop in changed[gateway] else changed[gateway][-1], error.problem)
        return config

    def _store(self, overrides: Iterable[Override]) -> None:
        """Validate every change on the config first; only if all are fine, keep them."""
        overrides = list(overrides)
        config = self.changed_config(overrides)
        now = time.time()
        with self.database.atomic():
            for o in overrides:
                (ConfigOverride.insert(scope=o.scope, name=o.name, property=o.property, value=o.value.strip(),
                                       updated_at=now)
                 .on_conflict(conflict_target=[ConfigOverride.scope, ConfigOverride.name, ConfigOverride.property],
                              update={ConfigOverride.value: o.value.strip(), ConfigOverride.updated_at: now})
                 .execute())
        self.config = config
