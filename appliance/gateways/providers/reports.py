"""Delivery reports for the messages HTTP providers took: polled from each provider's
status API, and taken from its callbacks (web/provider_reports.py), both applied the way
a modem's report is (store/reports.py ``apply_provider``): Delivered, or Undelivered with
the provider's code and text, and the same webhook event.

The appliance usually sits behind NAT, where no callback reaches it, so polling is the
rule. Each message is asked about on a schedule counted from its sending (``ASKS``: after
30 s, 1, 5, 15 and 60 minutes, then hourly) until it is reported on or gives up
(``deadline``); then it stays Sent. The schedule is kept in no column and no memory per
message: it is a function of ``sent_at``, so each round reads, through the partial index
by gateway and age (store/models.py), just the messages with an ask due since the last
round: a few index ranges, however many messages wait. A restart forgets only when the
last round was, and the first round after it asks every message still waiting once.

A provider that answers a status request with 429 or 5xx, or not at all, loses nothing:
the round stops, the poller rests (doubling, or the provider's Retry-After), and the next
round covers the time since the last complete one, so every ask due meanwhile is made.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

import aiohttp

from ...store.reports import Reports, Waiting, waiting_for_report
from . import api
from .engine import ProviderGateway

log = logging.getLogger(__name__)

HOUR = 3600.0
LONGEST_WAIT = 72 * HOUR     # no report by then: the message stays Sent
SHORTEST_WAIT = HOUR         # a short validity period still leaves an hour of asking
ASKS = (30.0, 60.0, 300.0, 900.0, *(HOUR * n for n in range(1, 73)))   # seconds after sending
ROUND = 15.0                 # seconds between rounds
PAGE = 100                   # messages read, and asked about at most, at once
FIRST_REST = 30.0            # after a fault; doubled each time, up to
LONGEST_REST = 600.0


def deadline(waiting: Waiting) -> float:
    """When asking about a message ends: its validity period after sending, at least an
    hour (a provider may report late), at most 72 hours."""
    wait = LONGEST_WAIT if waiting.validity_period is None else \
        min(LONGEST_WAIT, max(SHORTEST_WAIT, float(waiting.validity_period)))
    return waiting.sent_at + wait


def due_ranges(last: float | None, now: float) -> list[tuple[float, float]]:
    """The ranges (low, high] of sent_at whose messages have an ask due in (last, now],
    merged; ``last`` None (the first round): every message sent at least ASKS[0] ago."""
    oldest = now - LONGEST_WAIT
    if last is None:
        return [(oldest, now - ASKS[0])]
    ranges = sorted((max(last - ask, oldest), now - ask) for ask in ASKS if now - ask > oldest)
    merged: list[tuple[float, float]] = []
    for low, high in ranges:
        if low >= high:
            continue
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


class _Fault(Exception):
    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.retry_after = retry_after


class ReportPoller:
    """Polls one provider gateway's status API; ``on_reported`` hears of each report
    applied (the webhook sender is kicked)."""

    def __init__(self, gateway: ProviderGateway, reports: Reports, *, clock: Callable[[], float] = time.time,
                 on_reported: Callable[[], None] = lambda: None) -> None:
        self.gateway = gateway
        self.reports = reports
        self.clock = clock
        self.on_reported = on_reported
        self.last: float | None = None    # store time of the last complete round
        self.rest = FIRST_REST
        self.detail = ""                  # the last fault, for the log
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def polls(gateway: ProviderGateway) -> bool:
        """Whether the gateway's provider has a status API to poll."""
        return type(gateway.api).status_request is not api.ProviderApi.status_request

    def start(self) -> None:
        if self._task is None:
            self._task = self.gateway.loop.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(await self.poll())

    async def poll(self) -> float:
        """One round: every ask due since the last complete round; the seconds until the
        next round (a rest after a fault)."""
        if not self.gateway.started:  # stopped: nothing can be asked, and nothing is lost
            return ROUND
        now = self.clock()
        try:
            for low, high in due_ranges(self.last, now):
                await self._ask_range(low, high, now)
        except _Fault as fault:
            wait = fault.retry_after if fault.retry_after is not None else self.rest
            self.rest = min(self.rest * 2, LONGEST_REST)
            self.detail = str(fault)
            log.warning("%s: status requests fail (%s): asked again in %.0f s", self.gateway.name, fault, wait)
            return max(wait, 1.0)
        self.last, self.rest = now, FIRST_REST
        return ROUND

    async def _ask_range(self, low: float, high: float, now: float) -> None:
        per_request = self.gateway.api.status_ids_per_request or PAGE
        after: tuple[float, int] | None = None
        while True:
            page = waiting_for_report(self.reports.queue, self.gateway.name, low, high, after=after, limit=PAGE)
            if not page:
                return
            after = (page[-1].sent_at, page[-1].rowid)
            live = [w.reference for w in page if now <= deadline(w)]
            groups = [live[i:i + per_request] for i in range(0, len(live), per_request)]
            for first in range(0, len(groups), self.gateway.config.concurrency):
                answers = await asyncio.gather(*(self._ask(group)
                                                 for group in groups[first:first + self.gateway.config.concurrency]))
                for statuses in answers:
                    self.apply(statuses)
            if len(page) < PAGE:
                return

    async def _ask(self, references: Sequence[str]) -> dict[str, api.Status]:
        request = self.gateway.api.status_request(references)
        if request is None:
            return {}
        try:
            answer = await self.gateway.ask(request)
        except (TimeoutError, aiohttp.ClientError, RuntimeError) as error:  # RuntimeError: stopped meanwhile
            raise _Fault(f"no answer: {error or type(error).__name__}") from None
        if answer.status == 429 or answer.status >= 500:
            raise _Fault(f"HTTP {answer.status}", api.retry_after(answer))
        return self.gateway.api.status_results(references, answer)

    def apply_threadsafe(self, statuses: dict[str, api.Status], timeout: float = 30.0) -> int:
        """``apply`` from another thread (a provider's callback on an HTTP thread): run on
        the event loop, as every other report is, and waited for, so the provider hears OK
        only once the reports are committed."""
        async def applied() -> int:
            return self.apply(statuses)
        return asyncio.run_coroutine_threadsafe(applied(), self.gateway.loop).result(timeout)

    def apply(self, statuses: Mapping[str, api.Status]) -> int:
        """Apply the final ones of ``statuses`` (provider id → Status); how many changed a
        message. PENDING changes nothing; an id of no waiting message is passed over."""
        applied = 0
        for reference, status in statuses.items():
            if status.delivery is api.Delivery.PENDING:
                continue
            result = self.reports.apply_provider(self.gateway.name, reference,
                                                 status.delivery is api.Delivery.DELIVERED,
                                                 error_code=status.error_code, error_text=status.error_text)
            applied += result.message_id is not None
        if applied:
            self.on_reported()
        return applied
