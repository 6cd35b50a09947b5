"""Hands queued messages to free gateways, and decides what a failed attempt means.

The router runs on the reactor. It is kicked whenever something may have changed — a
message committed by the HTTP API, a gateway becoming free or ready, a timer for the next
scheduled message — and then claims due messages for every free gateway at once.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

from ..reactor import Reactor, Timer
from ..store.models import OutboundMessage
from ..store.queue import Queue
from .base import Gateway, Outcome

log = logging.getLogger(__name__)


class Router:
    def __init__(self, reactor: Reactor, queue: Queue, gateways: Sequence[Gateway], *,
                 max_attempts: int = 3, retry_delays: Sequence[float] = (5.0, 30.0, 120.0)) -> None:
        self.reactor = reactor
        self.queue = queue
        self.gateways = list(gateways)
        self.max_attempts = max_attempts
        self.retry_delays = tuple(retry_delays)
        self._kicked = False
        self._timer: Timer | None = None
        self._timer_at: float | None = None

    def kick(self) -> None:
        """Dispatch soon; many kicks in one loop turn cost one dispatch. Reactor thread only."""
        if not self._kicked:
            self._kicked = True
            self.reactor.call_soon(self._dispatch)

    def kick_threadsafe(self) -> None:
        """For the HTTP threads, right after they committed a message."""
        self.reactor.call_soon_threadsafe(self.kick)

    def _dispatch(self) -> None:
        self._kicked = False
        now = time.time()
        self.queue.expire_due(now)
        for gateway in self.gateways:
            while gateway.available:
                message = self.queue.claim(gateway.name, now)
                if message is None:
                    break
                log.debug("%s: sending %s to %s", gateway.name, message.id, message.recipient)
                gateway.send(message, self.queue,
                             lambda outcome, g=gateway, m=message: self._done(g, m, outcome))
        self._arm_timer(now)

    def _arm_timer(self, now: float) -> None:
        """Sleep until the next scheduled, retried or expiring message — not a poll."""
        due = self.queue.next_due(now)
        if due == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = None if due is None else self.reactor.call_later(due - now, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.kick()

    def _done(self, gateway: Gateway, message: OutboundMessage, outcome: Outcome) -> None:
        if outcome.ok:
            self.queue.complete(message.id)
            self.queue.log("sent", f"sent through {gateway.name}", message_id=message.id,
                           gateway=gateway.name)
        elif outcome.permanent or message.attempts >= self.max_attempts:
            self.queue.fail(message.id, outcome.error_code, outcome.error_text)
            self.queue.log("failed", outcome.error_text, message_id=message.id, gateway=gateway.name,
                           level="error")
        else:
            delay = self.retry_delays[min(message.attempts, len(self.retry_delays)) - 1]
            self.queue.retry(message.id, time.time() + delay, outcome.error_code, outcome.error_text)
            self.queue.log("retry", f"{outcome.error_text}; trying again in {delay:.0f} s",
                           message_id=message.id, gateway=gateway.name, level="warning")
        self.kick()
