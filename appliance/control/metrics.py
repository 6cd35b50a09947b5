"""The appliance's metrics for Prometheus, read at scrape time (docs/metrics.md lists
them; web/metrics.py serves them at ``/metrics``).

A scrape must stay cheap however long the history: on a Raspberry Pi with a million
messages in the store, counting ``outbound_message`` by state is a scan of the whole
table, because the table deliberately has no index on its state (every index is pages
rewritten on the SD card for every message: docs/architecture.md, "Few pages written per
message"). So the collector reads only what is bounded:

- counts of what happened since the start, kept in memory where the code makes each change
  (``Queue.tally``, ``Router.attempts``, ``Inbox.tally``: store/tally.py), which
  Prometheus reads as counters that reset at a restart;
- the queued messages, through their partial index (``models.QUEUED_INDEXES``), and the
  pending webhook events, through their index on state: what waits, not the history;
- each gateway's live status (``server_status.gateway_status``: attribute reads only) and,
  for a gateway with send limits, today's and this month's parts sent, one row each.

Called from HTTP worker threads, like server_status; nothing here writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from ..gateways.router import Router
from ..store.inbox import Inbox
from ..store.models import MessageState
from ..store.queue import Queue
from .server_status import gateway_status, webhook_backlog


class ApplianceCollector(Collector):
    """Reads the service at scrape time, so the sending path does no more than count."""

    def __init__(self, router: Router, queue: Queue, inbox: Inbox, clock: Callable[[], float] = time.time) -> None:
        self.router, self.queue, self.inbox, self.clock = router, queue, inbox, clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        yield from self._messages(self.queue, self.inbox, self.router)
        yield from self._queue(self.queue, now)
        yield from self._gateways(self.router)
        yield from self._webhooks(self.router, now)

    @staticmethod
    def _messages(queue: Queue, inbox: Inbox, router: Router) -> Iterator[Metric]:
        counts = queue.tally.snapshot()
        accepted = CounterMetricFamily("sms_messages_accepted", "Outbound messages accepted since the start")
        accepted.add_metric([], counts.pop(("accepted",), 0))
        yield accepted
        reached = CounterMetricFamily(
            "sms_messages_reached", "Outbound messages that reached each final state since the start "
            "(a message counts in sent, and later in delivered or undelivered)", labels=["state"])
        for state in sorted(MessageState.FINAL):
            reached.add_metric([state], counts.get((state,), 0))
        yield reached
        attempts = CounterMetricFamily(
            "sms_send_attempts", "Send attempts by gateway and how each ended (sent, temporary, permanent, "
            "refused, failed), with the error code ('' when none)", labels=["gateway", "result", "error_code"])
        for labels, count in sorted(router.attempts.snapshot().items()):
            attempts.add_metric(list(labels), count)
        yield attempts
        received = CounterMetricFamily("sms_received_messages", "SMS received by each gateway since the start "
                                       "(concatenated parts count once)", labels=["gateway"])
        by_gateway = {name: count for (name,), count in inbox.tally.snapshot().items()}
        for gateway in router.gateways:
            by_gateway.setdefault(gateway.name, 0)
        for gateway_name, count in sorted(by_gateway.items()):
            received.add_metric([gateway_name], count)
        yield received

    @staticmethod
    def _queue(queue: Queue, now: float) -> Iterator[Metric]:
        waiting = queue.waiting(now)
        queued = GaugeMetricFamily("sms_queued_messages", "Outbound messages in the queue: due now, waiting for "
                                   "their schedule, or waiting to be tried again", labels=["waiting"])
        queued.add_metric(["scheduled"], waiting.scheduled)
        queued.add_metric(["retry"], waiting.retrying)
        queued.add_metric(["due"], waiting.due)
        yield queued
        yield GaugeMetricFamily("sms_queue_oldest_age_seconds", "Seconds the oldest queued message has been due "
                                "(0 when none is)", value=waiting.oldest_age(now))

    @staticmethod
    def _gateways(router: Router) -> Iterator[Metric]:
        up = GaugeMetricFamily("sms_gateway_up", "1 while the gateway can send (in service), else 0",
                               labels=["gateway"])
        paused = GaugeMetricFamily("sms_gateway_paused", "1 while an administrator has paused the gateway",
                                   labels=["gateway"])
        state = GaugeMetricFamily("sms_gateway_state", "The gateway's state: 1 for the state it is in",
                                  labels=["gateway", "state"])
        signal = GaugeMetricFamily("sms_gateway_signal_dbm", "Received signal strength (dBm), when known",
                                   labels=["gateway"])
        registration = GaugeMetricFamily("sms_gateway_registration", "The modem's network registration: 1 for "
                                         "the one it reports", labels=["gateway", "registration"])
        info = InfoMetricFamily("sms_gateway", "What the gateway is", labels=["gateway"])
        limit = GaugeMetricFamily("sms_gateway_send_limit_parts", "The gateway's configured send limit",
                                  labels=["gateway", "period"])
        used = GaugeMetricFamily("sms_gateway_sent_parts", "SMS parts a gateway with send limits sent in the "
                                 "current day and month (what the limits count)", labels=["gateway", "period"])
        credit = GaugeMetricFamily("sms_gateway_credit", "What is left on the gateway's account (a prepaid "
                                   "SIM's credit, a provider's balance), as last read", labels=["gateway", "currency"])
        now = router.limits.clock()
        for gateway in router.gateways:
            status = gateway_status(router, gateway)
            name, properties = gateway.name, status["properties"]
            up.add_metric([name], 1 if status["in_service"] else 0)
            paused.add_metric([name], 1 if status["paused"] else 0)
            state.add_metric([name, str(status["state"])], 1)
            if properties.get("signal_dbm") is not None:
                signal.add_metric([name], properties["signal_dbm"])
            if properties.get("registration"):
                registration.add_metric([name, str(properties["registration"])], 1)
            info.add_metric([name], {key: str(properties.get(key) or "") for key in ("model", "operator")})
            for period, key in (("day", "send_limit_day"), ("month", "send_limit_month")):
                if status[key] is not None:
                    limit.add_metric([name, period], status[key])
            if name in router.limits.limits:
                day, month = router.limits.used(name, now)
                used.add_metric([name, "day"], day)
                used.add_metric([name, "month"], month)
            reading = router.credit.credit(name)
            if reading is not None and reading.amount is not None:
                credit.add_metric([name, reading.currency], reading.amount)
        yield from (up, paused, state, signal, registration, info, limit, used, credit)

    @staticmethod
    def _webhooks(router: Router, now: float) -> Iterator[Metric]:
        backlog = GaugeMetricFamily("sms_webhook_backlog", "Webhook events not yet taken by their URL",
                                    labels=["connector"])
        oldest = GaugeMetricFamily("sms_webhook_oldest_age_seconds", "Age of the oldest event not yet taken "
                                   "(0 when none waits)", labels=["connector"])
        for connector, (count, first) in sorted(webhook_backlog(router).items()):
            backlog.add_metric([connector], count)
            oldest.add_metric([connector], max(0.0, now - first) if first is not None else 0.0)
        yield backlog
        yield oldest
