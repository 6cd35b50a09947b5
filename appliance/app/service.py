"""Builds the running appliance from its config, runs it, and takes it down cleanly.

Threads: the main thread runs asyncio's event loop (modems, router, webhooks, timers,
the watchdog); the HTTP server runs its own worker threads and hands work to the loop only
through ``call_soon_threadsafe``; the store's write-ahead log is synced on a thread of its
own; simulated modems, when asked for, serve their ptys on the same loop as the drivers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import threading
import time

import peewee
from msgspec.structs import replace

from ..accounts import users
from ..accounts.auth_callback import AuthCallback
from ..accounts.authenticator import Authenticator
from ..config.file import Config, ConfigError, ConnectorConfig, ModemConfig, with_http_connector
from ..connectors import webhook
from ..connectors.stop_words import StopWords
from ..connectors.webhook import WebhookSender
from ..control import server_status
from ..control.metrics import ApplianceCollector
from ..control.server_control import ServerControl, effective_config, routing_connector, webhook_targets
from ..gateways.assignment import Routing
from ..gateways.base import Gateway
from ..gateways.credit import Credit, CreditWatch, ussd_reader
from ..gateways.limits import Limits, LimitTracker
from ..gateways.modem import ModemGateway
from ..gateways.providers import registry as provider_registry
from ..gateways.providers.engine import ProviderGateway
from ..gateways.providers.reports import ReportPoller
from ..gateways.router import Router
from ..messages import status as message_status
from ..modem.driver import ModemDriver
from ..platform.gpio import InputPin
from ..platform.modem_power import ModemPower
from ..platform.sd_notify import Notifier
from ..store import db as store_db
from ..store.durability import Durability
from ..store.inbox import Inbox
from ..store.models import InboundMessage, OutboundMessage
from ..store.queue import Queue
from ..store.reports import Reports
from ..store.space import Space
from ..store.transactions import transaction
from ..web.api_v1 import ApiV1Context
from ..web.app import create_app
from ..web.capacity import Capacity
from ..web.diafaan.commands import HttpApiContext
from ..web.guard import Guard
from ..web.metrics import MetricsContext
from ..web.provider_reports import ProviderReportsContext
from ..web.receive import ReceiveContext
from ..web.tls import tls_context
from ..web.wsgi_server import HttpServer

log = logging.getLogger(__name__)


class NoGatewayError(ConfigError):
    """Nothing to send through: the appliance would accept messages and never send them,
    so it does not start. A simulated modem is never the silent default. ``where`` is the
    config file (or that there is none) when the caller knows it."""

    def __init__(self, where: str = "modem") -> None:
        super().__init__(where, "no gateway is configured: add a [[modem]] table for each modem "
                         "or a [[provider]] table for each HTTP SMS provider account "
                         "(config.example.toml shows one) and start with `sms-appliance run --config FILE`; "
                         "or try the appliance on simulated modems with `make run` or "
                         "`sms-appliance run --simulate N`")


class Service:
    def __init__(self, config: Config, *, simulate: int = 0, notifier: Notifier | None = None) -> None:
        if not (simulate or config.modems or config.providers):
            raise NoGatewayError()
        self.config = config
        self.simulate = simulate  # modems simulated on ptys, only when asked for (--simulate N)
        self.notifier = notifier or Notifier()
        # the loop everything but the HTTP server runs on (closed by stop())
        self._runner = asyncio.Runner()
        self.loop = self._runner.get_loop()
        self.simulators: list = []
        self.gateways: list[Gateway] = []
        self.report_pollers: dict[str, ReportPoller] = {}   # provider gateway name → its reports
        self.admin_password: str | None = None
        self.database: peewee.SqliteDatabase | None = None
        self.space: Space | None = None
        self.durability: Durability | None = None
        self.queue: Queue | None = None
        self.router: Router | None = None
        self.inbox: Inbox | None = None
        self.stop_words: StopWords | None = None
        self.webhooks: WebhookSender | None = None
        self.control: ServerControl | None = None
        self._flush_timer: asyncio.TimerHandle | None = None
        self._beginning: asyncio.Handle | None = None
        self._watchdog_timer: asyncio.TimerHandle | None = None
        self.ring_pins: list[InputPin] = []
        self.http: HttpServer | None = None

    # -- building --------------------------------------------------------------------------

    def _simulated_modems(self) -> list[ModemConfig]:
        if not self.simulate:
            return []
        from hil.simulator import SimulatedModem  # only when asked for: not needed on a real box

        modems = []
        for n in range(1, self.simulate + 1):
            simulator = SimulatedModem(loop=self.loop).start()
            self.simulators.append(simulator)
            modems.append(ModemConfig(name=f"Simulated Modem {n}", port=simulator.path))
        return modems

    def _wait_for_rewrite(self, size: int) -> None:
        """A store rewritten with smaller pages (store.db.repage) takes a while once: a
        minute and a second per MB asked of systemd, a slow SD card's pace."""
        log.warning("rewriting the store (%.0f MB) with smaller pages, once: this start takes longer",
                    size / 2**20)
        self.notifier.notify(f"EXTEND_TIMEOUT_USEC={int((60 + size / 2**20) * 1e6)}")

    def start(self) -> None:
        """Open the store, bind the port, start the modems; raise if any of that fails."""
        loop = self.loop
        database = self.database = store_db.open_database(self.config.storage.path)
        store_db.repage(database, before_rewrite=self._wait_for_rewrite)
        space = self.space = Space(self.config.storage.path, self.config.storage.reserve)
        durability = self.durability = Durability(database)
        queue = self.queue = Queue(database, durability=durability)
        recovered = queue.recover()
        if recovered:
            log.warning("%d message(s) were being sent when the service stopped; "
                        "they are queued again", recovered)
        self._count_messages(queue)
        # what an administrator changed with send-server-command applies over the file
        self.config = effective_config(replace(self.config, modems=self.config.modems
                                               + tuple(self._simulated_modems())))
        modems = self.config.modems
        providers = self.config.providers
        self.routing = build_routing(self.config.connectors, tuple(g.name for g in self.config.gateway_tables))
        webhooks = self.webhooks = WebhookSender(loop, database, webhook_targets(self.config.connectors))
        reports = Reports(queue, on_report=self._queue_report_webhooks)
        http_connector = next(c.name for c in self.routing.connectors.values() if c.kind == "http")
        receive = self.config.receive
        # a stop word comes from the modems (on the loop) or a receive connector (an HTTP thread)
        stop_words = self.stop_words = StopWords(
            receive.stop_words, queue=queue, confirmation=receive.stop_confirmation, connector=http_connector,
            country_code=self.config.routing.country_code,
            on_queued=functools.partial(loop.call_soon_threadsafe, self._kick_router))
        inbox = self.inbox = Inbox(database, incomplete_after=receive.incomplete_after, counts=queue.counts,
                                   receivers=lambda gateway: [c.name for c in self.routing.receivers(gateway)],
                                   fanout=self._fan_out)
        for modem in modems:
            driver = ModemDriver(loop, modem, power=self._power(modem), on_state=self._on_modem_state)
            self._watch_ring(modem, driver)
            self.gateways.append(ModemGateway(driver, inbox=inbox, reports=reports,
                                              delivery_reports=modem.delivery_reports,
                                              on_received=self._on_received,
                                              on_reported=lambda result: webhooks.kick()))
        for i, provider in enumerate(providers, start=1):
            provider_registry.check(provider, f"provider[{i}]")
            self.gateways.append(ProviderGateway(loop, provider, on_state=self._on_modem_state))
        self.report_pollers = {g.name: ReportPoller(g, reports, clock=queue.clock, on_reported=webhooks.kick)
                               for g in self.gateways if isinstance(g, ProviderGateway)}
        for poller in self.report_pollers.values():
            if ReportPoller.polls(poller.gateway):
                poller.start()
        names = tuple(g.name for g in self.gateways)
        limits = LimitTracker({g.name: Limits(g.send_limit_day, g.send_limit_month, g.send_rate_per_minute)
                               for g in self.config.gateway_tables}, durability=durability)
        router = self.router = Router(loop, queue, self.gateways, self.routing, limits=limits,
                                      retry_delays=self.config.routing.retry_delays,
                                      default_validity=self.config.routing.default_validity)
        router.credit = CreditWatch(loop, on_low=self._credit_low)
        self._watch_credit(router.credit)
        control = self.control = ServerControl(loop, database, self.config, router=router,
                                               webhooks=webhooks, inbox=inbox, on_settings=self._flush_incomplete)
        started_at = time.time()
        context = HttpApiContext(queue=queue, authenticator=self._authenticator(), connector=http_connector,
                                 gateway_names=lambda: names, on_accepted=router.kick_threadsafe,
                                 inbox=inbox,
                                 server_status=lambda: server_status.collect(router, started_at=started_at,
                                                                          accepting=control.accepting,
                                                                          storage=space.problem()),
                                 control=control,
                                 send_server_command_enabled=self.config.http.send_server_command,
                                 country_code=self.config.routing.country_code,
                                 capacity=Capacity(self.config.http.max_queued_parts, space))
        kinds = {c.name: c.kind for c in self.routing.connectors.values()}
        receiving = ReceiveContext(database, connectors=lambda: kinds, on_stored=webhooks.kick_threadsafe,
                                   on_new=stop_words.received, counts=queue.counts)
        http = self.config.http
        # the config has both or neither (config.file refuses one alone)
        tls = tls_context(http.tls_cert, http.tls_key) if http.tls_cert and http.tls_key else None
        v1 = ApiV1Context(http=context)
        authenticator = context.authenticator
        guard = Guard.from_config(http, lambda name, password, address: authenticator.authenticate(
            name, password, address=address) is not None)
        metrics = self.config.metrics
        metered = MetricsContext(ApplianceCollector(router, queue, inbox), metrics.token) if metrics.enabled else None
        callbacks = ProviderReportsContext({name: p.gateway for name, p in self.report_pollers.items()},
                                           lambda name, statuses: self.report_pollers[name].apply_threadsafe(statuses))
        app = create_app(context, v1, receiving, guard, metered, provider_callbacks=callbacks)
        self.http = HttpServer(app, http.host, http.port, threads=http.threads,
                               connections=http.connections, timeout=http.timeout, max_body=http.max_body,
                               tls=tls, trusted_proxies=http.trusted_proxies)
        self.http.start()
        # only once the port is ours: a start that fails must not swallow the one showing
        self.admin_password = users.ensure_admin()

        self._beginning = loop.call_soon(self._begin)

    @staticmethod
    def _count_messages(queue: Queue) -> None:
        """The status's counts, taken once from the store before anything else writes to it
        (store.counts): a scan of every message, about 1.5 s a million on a desktop."""
        began = time.monotonic()
        queue.counts.scan(queue.database)
        took = time.monotonic() - began
        if took > 1:
            log.info("counted the store's messages in %.1f s", took)

    def _begin(self) -> None:
        """What waits for the loop's first turn."""
        assert self.control is not None and self.router is not None and self.webhooks is not None  # started
        self.control.start_gateways()  # every enabled one
        self.router.credit.start()
        self.router.kick()  # whatever was queued before a restart
        self._flush_incomplete()
        self.webhooks.kick()  # events still owed from before a restart
        self._announce_ready()

    def _authenticator(self) -> Authenticator:
        http = self.config.http
        if http.guest is not None:
            try:
                users.guest(http.guest)
            except ValueError as error:
                raise ConfigError("http.guest", str(error)) from None
        callback = AuthCallback(http.auth_callback_url) if http.auth_callback_url else None
        return Authenticator(verify=functools.partial(users.authenticate, external=callback), guest=http.guest)

    def _power(self, modem: ModemConfig) -> ModemPower | None:
        if modem.pwrkey_gpio is None and modem.reset_gpio is None:
            return None
        from ..platform.gpio import RpiPin

        def output(number: int | None, active_high: bool) -> RpiPin | None:
            return None if number is None else RpiPin(number, initial=not active_high)  # released
        return ModemPower(output(modem.pwrkey_gpio, modem.pwrkey_pressed_high),
                          pressed_high=modem.pwrkey_pressed_high,
                          reset=output(modem.reset_gpio, modem.reset_active_high),
                          reset_active_high=modem.reset_active_high)

    def _watch_ring(self, modem: ModemConfig, driver: ModemDriver) -> None:
        """RI falls when an SMS arrives: the modem is read at once, even when its indications
        are switched off or lost, instead of at the next periodic sweep."""
        if modem.ri_gpio is None:
            return
        from ..platform.gpio import RpiInputPin

        pin = RpiInputPin(modem.ri_gpio)
        pin.watch(self.loop, driver.on_ring)
        self.ring_pins.append(pin)

    def _on_received(self, message_ids: list[str]) -> None:
        if message_ids:
            log.info("received %d message(s)", len(message_ids))
            assert self.webhooks is not None  # started: only a started modem receives
            self.webhooks.kick()
        self._arm_flush()  # a part that waits for its siblings has a deadline now

    def _fan_out(self, message: InboundMessage) -> None:
        """A received SMS may block its sender (a stop word), and goes to every connector."""
        assert self.stop_words is not None  # started: built before the inbox
        self.stop_words.received(message)
        self._queue_sms_webhooks(message)

    def _watch_credit(self, watch: CreditWatch) -> None:
        """Each gateway whose credit can be read: a modem with balance_ussd, by USSD; a
        provider account whose API tells its balance."""
        modems = {m.name: m for m in self.config.modems}
        providers = {p.name: p for p in self.config.providers}
        for gateway in self.gateways:
            modem, provider = modems.get(gateway.name), providers.get(gateway.name)
            if isinstance(gateway, ModemGateway) and modem is not None and modem.balance_ussd:
                watch.watch(gateway.name, ussd_reader(gateway.driver.ussd, modem.balance_ussd),
                            interval=modem.balance_interval, low=modem.balance_low)
            elif isinstance(gateway, ProviderGateway) and provider is not None and gateway.tells_credit:
                watch.watch(gateway.name, gateway.read_credit, interval=provider.balance_interval,
                            low=provider.balance_low)

    def _credit_low(self, gateway: str, credit: Credit, low: float) -> None:
        """A gateway's credit fell below its threshold: an event in the log and a notice to
        every webhook connector, in one commit."""
        assert self.queue is not None and self.webhooks is not None  # started: credit is read after
        text = f"credit {credit.amount:g} {credit.currency} is below {low:g}".replace("  ", " ")
        log.warning("%s: %s", gateway, text)
        with transaction(self.queue.database):
            self.queue.log("credit-low", text, gateway=gateway, level="warning")
            webhook.enqueue(list(self.webhooks.targets), webhook.credit_event(
                gateway, credit.amount or 0.0, credit.currency, credit.text, low))
        self.webhooks.kick()

    def _kick_router(self) -> None:
        if self.router is not None:  # a message was queued on the loop, not by a request
            self.router.kick()

    def _queue_sms_webhooks(self, message: InboundMessage) -> None:
        """A received SMS goes to every connector that receives from its gateway."""
        assert self.webhooks is not None  # started: the inbox is built after the sender
        hooks = [c.name for c in self.routing.receivers(message.gateway) if c.name in self.webhooks.targets]
        webhook.enqueue(hooks, webhook.sms_event(message))

    def _queue_report_webhooks(self, message: OutboundMessage, detail: str) -> None:
        """A delivery report goes back to the connector the message came in by, whatever
        gateway sent it and whoever receives from that gateway: to the webhooks that
        carry that connector's reports (``reports_for``)."""
        assert self.webhooks is not None  # started: the reports are built after the sender
        hooks = [t.connector for t in self.webhooks.targets.values() if message.connector in t.reports_for]
        code, text = message_status.status_of(message)
        webhook.enqueue(hooks, webhook.report_event(message, code, text, detail))

    def _flush_incomplete(self) -> None:
        """Multipart SMS that waited too long for a part are delivered as they are."""
        assert self.inbox is not None  # started: called from the loop, which start() set going
        for message_id in self.inbox.flush_incomplete():
            log.warning("message %s delivered incomplete: a part never came", message_id)
        self._arm_flush()

    def _arm_flush(self) -> None:
        assert self.inbox is not None  # started, as for _flush_incomplete
        due = self.inbox.next_flush()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._flush_timer = None if due is None else self.loop.call_later(
            max(0.0, due - time.time()), self._flush_incomplete)

    def _on_modem_state(self, state: str) -> None:
        if self.http is None or self.router is None:  # the router comes before the HTTP server
            return  # stopping: modems going down is expected, not news for systemd
        self.router.kick()  # ready: it can take work; down: its backups may have to
        self._notify_status()

    # -- systemd ---------------------------------------------------------------------------

    def _announce_ready(self) -> None:
        """READY=1 once the loop turns: the port is bound and the loop is alive."""
        self.notifier.ready(self._status_line())
        interval = self.notifier.watchdog_interval
        if interval:
            self._watchdog(interval / 2)

    def healthy(self) -> bool:
        """Checked on the loop, so a stuck loop cannot pet the watchdog at all."""
        if self.http is None or self.database is None or not self.http.alive:  # the store opens first
            return False
        try:
            self.database.execute_sql("SELECT 1").fetchone()
        except Exception:
            log.exception("the store does not answer")
            return False
        return True

    def _watchdog(self, period: float) -> None:
        if self.healthy():
            self.notifier.watchdog()
        else:
            log.error("unhealthy: not petting the watchdog; systemd will restart the service")
        self._watchdog_timer = self.loop.call_later(period, self._watchdog, period)

    def _status_line(self) -> str:
        states = ", ".join(f"{g.name}: {g.status()['state']}" for g in self.gateways)
        return f"listening on {self.url}; {states}"

    def _notify_status(self) -> None:
        self.notifier.notify(f"STATUS={self._status_line()}")

    @property
    def url(self) -> str:
        host, port = self.http.address if self.http else (self.config.http.host, self.config.http.port)
        shown = f"[{host}]" if ":" in host else host
        return f"{self.config.http.scheme}://{shown}:{port}/"

    # -- running ---------------------------------------------------------------------------

    def run(self) -> None:
        """Run the loop in this thread (the main one) until SIGTERM or SIGINT, then stop."""
        try:
            self._runner.run(self._until_signalled())
        finally:
            self.stop()

    async def _until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()

        def on_signal(signum: int) -> None:
            log.info("signal %d: stopping", signum)
            stopping.set()
        signals = (signal.SIGTERM, signal.SIGINT) if threading.current_thread() is threading.main_thread() else ()
        for sig in signals:
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            await stopping.wait()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    def stop(self) -> None:
        for pending in (self._beginning, self._flush_timer, self._watchdog_timer):
            if pending is not None:
                pending.cancel()  # none of it is wanted any more, if the loop still had it
        self.notifier.stopping()
        if self.http is not None:
            self.http.stop()
            self.http = None
        if self.webhooks is not None:
            self.webhooks.stop()
        for pin in self.ring_pins:
            pin.close()  # no more hand-overs to a loop that is closing
        self.ring_pins.clear()
        if self.router is not None:
            self.router.credit.stop()
        for poller in self.report_pollers.values():
            poller.stop()
        for gateway in self.gateways:
            gateway.stop()
        for simulator in self.simulators:
            simulator.stop()
        self.simulators.clear()
        # what the loop still has to do (the stopped modems' tasks ending) needs the store
        self._runner.close()
        if self.durability is not None:
            self.durability.close()
        if self.database is not None:
            self.database.close()
        self.notifier.close()


def build_routing(connectors: tuple[ConnectorConfig, ...], gateways: tuple[str, ...]) -> Routing:
    """The configured connectors, or by default one HTTP API connector that sends through
    every gateway as a primary and receives from all; unknown gateway names are an error."""
    built = []
    for connector in with_http_connector(connectors):
        for name, _, _ in connector.gateways:
            if name not in gateways:
                raise ConfigError(f"connector {connector.name!r}", f"gateway {name!r} is not a configured modem "
                                  f"(there are: {', '.join(gateways) or 'none'})")
        built.append(routing_connector(connector, gateways))
    return Routing(built)
