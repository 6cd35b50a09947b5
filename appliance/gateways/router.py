"""Hands queued messages to free gateways, and decides what a failed attempt means.

The router runs on the event loop. It is kicked whenever something may have changed — a
message committed by the HTTP API, a gateway becoming free or ready, a timer for the next
scheduled message — and then claims due messages for every free gateway at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence

from ..store.durability import bookkeeping
from ..store.models import OutboundMessage
from ..store.queue import Queue, parse_tried
from ..store.tally import Tally
from ..store.transactions import transaction
from .assignment import Routing
from .base import Gateway, Outcome
from .credit import CreditWatch
from .limits import LimitTracker

log = logging.getLogger(__name__)


class Router:
    def __init__(self, loop: asyncio.AbstractEventLoop, queue: Queue, gateways: Sequence[Gateway], routing: Routing, *,
                 limits: LimitTracker | None = None,
                 retry_delays: Sequence[float] = (5.0, 30.0, 120.0),
                 default_validity: float = 86400.0) -> None:
        """``default_validity``: seconds a message without a validity period of its own is
        tried through temporary faults before it ends as Expired."""
        self.loop = loop
        self.queue = queue
        self.gateways = list(gateways)
        self.routing = routing
        self.limits = limits or LimitTracker({})
        self.retry_delays = tuple(retry_delays)
        self.default_validity = default_validity
        self.paused: set[str] = set()
        # what is left on each gateway's account, for the status (the service says which to watch)
        self.credit = CreditWatch(loop)
        # each attempt's end, by gateway, result and error code, for /metrics (store.tally)
        self.attempts = Tally()
        self._kicked = False
        self._dispatching = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None

    def kick(self) -> None:
        """Dispatch soon; many kicks in one loop turn cost one dispatch. On the loop only."""
        if not self._kicked:
            self._kicked = True
            self.loop.call_soon(self._dispatch)

    def kick_threadsafe(self) -> None:
        """For the HTTP threads, right after they committed a message: one wake-up each.
        (Skipping the wake-up while another was on its way was measured: no faster in
        bench/e2e.py, and 12 % more fsyncs per message in bench/fsync.py's bulk.)"""
        self.loop.call_soon_threadsafe(self.kick)

    # -- what an administrator can do while it runs (send-server-command) -------------------

    def gateway(self, name: str) -> Gateway:
        for gateway in self.gateways:
            if gateway.name == name:
                return gateway
        raise KeyError(name)

    def pause(self, name: str) -> None:
        """Stop handing messages to ``name``; what it is sending now still finishes."""
        self.gateway(name)
        self.paused.add(name)

    def resume(self, name: str) -> None:
        self.gateway(name)
        self.paused.discard(name)
        self.kick()

    def stop_gateway(self, name: str) -> None:
        self.gateway(name).stop()
        self.kick()  # its messages may now go to the backups

    def start_gateway(self, name: str) -> None:
        self.gateway(name).start()

    def restart_gateway(self, name: str) -> None:
        self.stop_gateway(name)
        self.start_gateway(name)

    def reset_send_limit(self, name: str) -> None:
        self.gateway(name)
        self.limits.reset(name)
        self.kick()

    # -- dispatching -----------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._kicked = False
        self._dispatching = True
        try:
            self._dispatch_now()
        finally:
            self._dispatching = False

    def _dispatch_now(self) -> None:
        now = self.queue.clock()
        self.queue.expire_due(now)
        held: list[float] = []  # when gateways held back by a send limit may send again
        free = [g for g in self.gateways if g.name not in self.paused and g.available]
        if free:
            # one relaxed block for every claim: each write is the sender's bookkeeping
            # (store.durability), and switching the safety level per write costs two
            # statements; with no gateway free (all busy, or down) nothing is written.
            # One transaction too: a claim and its stored parts are one commit, which
            # rewrites the message's page once. It ends before any PDU goes out: a gateway
            # hands over its first part in this turn, but the modem takes the PDU only
            # after its prompt, which a later turn reads.
            with bookkeeping(self.queue.durability), transaction(self.queue.database):
                self._claim_and_send(free, now, held)
        self._arm_timer(now, held)

    def _claim_and_send(self, free: list[Gateway], now: float, held: list[float]) -> None:
        can_send = self._can_send(now)
        for gateway in free:
            while gateway.available:
                allowed_at = self.limits.next_allowed(gateway.name, now)
                if allowed_at is not None:
                    held.append(allowed_at)
                    can_send[gateway.name] = False
                    break
                message = self.queue.claim(gateway.name, now, self._may_send(gateway.name, can_send))
                if message is None:
                    break
                log.debug("%s: sending %s to %s", gateway.name, message.id, message.recipient)
                gateway.send(message, self.queue, functools.partial(self._done, gateway, message))

    def _can_send(self, now: float) -> dict[str, bool]:
        """Which gateways could take a message in this dispatch: a primary that cannot
        (out of service, paused, at its send limit) lets the backups stand in for it."""
        return {g.name: g.in_service and g.name not in self.paused
                and self.limits.next_allowed(g.name, now) is None for g in self.gateways}

    def _may_send(self, gateway: str, can_send: dict[str, bool]) -> Callable[[OutboundMessage], bool]:
        return lambda m: self.routing.may_send(m.connector, m.gateways, parse_tried(m.tried), gateway,
                                               lambda name: can_send.get(name, False))

    def _arm_timer(self, now: float, held: list[float]) -> None:
        """Sleep until the next scheduled, retried or expiring message, or the end of a send
        limit — not a poll."""
        due = min([t for t in [self.queue.next_due(now), *held] if t is not None], default=None)
        if due == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = None if due is None else self.loop.call_later(due - now, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.kick()

    def _fail(self, gateway: Gateway, message: OutboundMessage, code: int | None, text: str) -> None:
        self.queue.fail(message.id, code, text)
        self.queue.log("failed", text, message_id=message.id, gateway=gateway.name, level="error")

    def _done(self, gateway: Gateway, message: OutboundMessage, outcome: Outcome) -> None:
        # one transaction for the outcome, the send counters and the event: each commit
        # rewrites every page it touched, so one commit of three writes costs a third
        with bookkeeping(self.queue.durability), transaction(self.queue.database):  # relaxed, as in _dispatch
            self._record(gateway, message, outcome)
            if self._dispatching:  # an outcome inside a dispatch: after it
                self.kick()
            else:
                self._dispatch_after(gateway)

    def _dispatch_after(self, gateway: Gateway) -> None:
        """The freed gateway takes its next message in the outcome's transaction: one
        commit where there were two, each rewriting the same pages. In a savepoint, so that
        a fault there (a full disk) leaves the outcome to commit, and the dispatch is tried
        again on the next turn of the loop."""
        try:
            with self.queue.database.atomic():
                self._dispatch()
        except Exception:
            log.exception("%s: dispatching after a send failed", gateway.name)
            self.kick()

    def _record(self, gateway: Gateway, message: OutboundMessage, outcome: Outcome) -> None:
        self.limits.record(gateway.name, outcome.parts)
        self.attempts.add(gateway.name, _result(outcome), "" if outcome.error_code is None else str(outcome.error_code))
        if outcome.ok:
            self.queue.complete(message.id, outcome.provider_reference)  # no event: the log keeps what is exceptional
        elif outcome.permanent:
            self._fail(gateway, message, outcome.error_code, outcome.error_text)
        elif outcome.temporary:
            self._retry_later(gateway, message, outcome)
        else:
            tried = parse_tried(message.tried)
            attempts = ", ".join(f"{count}× {name}" for name, count in tried.items())
            route = self.routing.connectors.get(message.connector)
            limit = route.max_send_attempts if route else 0
            if outcome.refused:
                tried[gateway.name] = max(tried.get(gateway.name, 0), limit)  # no use trying it again
            if self.routing.exhausted(message.connector, message.gateways, tried):
                self._fail(gateway, message, outcome.error_code, f"{outcome.error_text} (after {attempts})")
            else:
                # the same gateway again after a pause; another one (a backup) at once
                mine = tried.get(gateway.name, 0)
                delay = self._pause(mine) if mine < limit else 0.0
                self.queue.retry(message.id, self.queue.clock() + delay, outcome.error_code, outcome.error_text,
                                 tried if outcome.refused else None)
                self.queue.log("retry", f"{outcome.error_text}; trying again in {delay:.0f} s",
                               message_id=message.id, gateway=gateway.name, level="warning")

    def _pause(self, attempt: int) -> float:
        """The pause before trying again after the ``attempt``-th try (1-based): the last of
        ``retry_delays`` repeats."""
        return self.retry_delays[min(attempt, len(self.retry_delays)) - 1]

    def _retry_later(self, gateway: Gateway, message: OutboundMessage, outcome: Outcome) -> None:
        """A temporary fault (modem/errors.py) says nothing about the message: it costs none
        of its attempts, and it is tried again (by whichever of its gateways is free then)
        after a pause that grows along ``retry_delays`` to their last (or the one the
        gateway asks for: a provider's Retry-After), until its validity
        runs out. A message without a validity period of its own gets the default one."""
        now = self.queue.clock()
        expires_at = message.expires_at
        if expires_at is None:
            starts = message.scheduled_at if message.scheduled_at is not None else message.created_at
            expires_at = starts + self.default_validity
        if expires_at <= now:
            self.queue.expire(message.id, outcome.error_code, outcome.error_text)
            self.queue.log("expired", f"validity period ended; last: {outcome.error_text}",
                           message_id=message.id, gateway=gateway.name, level="error")
            return
        tried = parse_tried(message.tried)
        tried[gateway.name] -= 1  # the claim counted this attempt: give it back
        if not tried[gateway.name]:
            del tried[gateway.name]
        delay = self._pause(message.attempts) if outcome.retry_after is None else outcome.retry_after
        self.queue.retry(message.id, now + delay, outcome.error_code, outcome.error_text, tried,
                         expires_at=None if message.expires_at is not None else expires_at)
        self.queue.log("retry", f"{outcome.error_text} (temporary); trying again in {delay:.0f} s",
                       message_id=message.id, gateway=gateway.name, level="warning")


def _result(outcome: Outcome) -> str:
    """What an attempt's end says, in one word: what the message then becomes depends on
    its other attempts and gateways, which the message counts (``Queue.tally``) show."""
    if outcome.ok:
        return "sent"
    if outcome.permanent:
        return "permanent"
    if outcome.temporary:
        return "temporary"
    return "refused" if outcome.refused else "failed"
