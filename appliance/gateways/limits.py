"""Per-gateway send limits: parts per day and per month (kept in the store, so a restart
does not reset them) and a rate per minute (kept in memory: a minute is soon over).

A SIM contract that allows 500 SMS a month, or an operator that blocks a SIM sending
faster than 10 a minute, is respected; when a limit is reached the gateway simply takes
no more work until the period turns or an administrator resets it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from ..store.durability import Durability, bookkeeping
from ..store.models import GatewayCounter


@dataclass(frozen=True)
class Limits:
    per_day: int | None = None
    per_month: int | None = None
    per_minute: int | None = None


NO_LIMITS = Limits()


class Periods(NamedTuple):
    """Local day and month keys, and when the day starts and each ends (limits follow the
    appliance's clock)."""
    day: str
    month: str
    day_starts: float
    day_ends: float
    month_ends: float


def periods_at(now: float) -> Periods:
    # naive local times: .timestamp() then applies each moment's own offset, so a day
    # with a daylight-saving change still ends at local midnight
    local = datetime.fromtimestamp(now)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    next_day = day_start + timedelta(days=1)
    month_start = day_start.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    return Periods(f"day:{local:%Y-%m-%d}", f"month:{local:%Y-%m}", day_start.timestamp(), next_day.timestamp(),
                   next_month.timestamp())


# both periods' counts in one statement: it runs for every message sent
_COUNT = ('INSERT INTO gateway_counter (gateway, period, count) VALUES (?, ?, ?), (?, ?, ?) '
          'ON CONFLICT (gateway, period) DO UPDATE SET count = count + excluded.count')


class LimitTracker:
    def __init__(self, limits: dict[str, Limits], clock: Callable[[], float] = time.time,
                 durability: Durability | None = None) -> None:
        """With ``durability``, the counts are the sender's bookkeeping: a power cut may
        forget the last moment's parts (store.durability)."""
        self.limits = limits
        self.clock = clock
        self.durability = durability
        self._recent: dict[str, deque[float]] = {}
        self._periods = periods_at(clock())

    def periods(self, now: float) -> Periods:
        """The periods of ``now``, worked out again only when the day turns (or the clock
        is set back): every message sent is counted in them."""
        if not self._periods.day_starts <= now < self._periods.day_ends:
            self._periods = periods_at(now)
        return self._periods

    def _count(self, gateway: str, period: str) -> int:
        row = GatewayCounter.get_or_none((GatewayCounter.gateway == gateway) & (GatewayCounter.period == period))
        return row.count if row else 0

    def used(self, gateway: str, now: float | None = None) -> tuple[int, int]:
        """Parts ``gateway`` sent in the current day and month: what its limits count (kept
        only for a gateway that has limits). For other threads too: it leaves the loop's
        cached periods alone."""
        current = periods_at(self.clock() if now is None else now)
        return self._count(gateway, current.day), self._count(gateway, current.month)

    def next_allowed(self, gateway: str, now: float | None = None) -> float | None:
        """None if ``gateway`` may send now, else the moment it may again."""
        limits = self.limits.get(gateway)
        if limits is None or limits == NO_LIMITS:
            return None
        now = self.clock() if now is None else now
        current = self.periods(now)
        waits = []
        if limits.per_month is not None and self._count(gateway, current.month) >= limits.per_month:
            waits.append(current.month_ends)
        if limits.per_day is not None and self._count(gateway, current.day) >= limits.per_day:
            waits.append(current.day_ends)
        if limits.per_minute is not None:
            recent = self._recent.setdefault(gateway, deque())
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) >= limits.per_minute:
                waits.append(recent[0] + 60)
        return max(waits) if waits else None

    def record(self, gateway: str, parts: int, now: float | None = None) -> None:
        if gateway not in self.limits or parts <= 0:
            return
        now = self.clock() if now is None else now
        current = self.periods(now)
        with bookkeeping(self.durability):
            GatewayCounter._meta.database.cursor().execute(
                _COUNT, (gateway, current.day, parts, gateway, current.month, parts))
        self._recent.setdefault(gateway, deque()).extend([now] * parts)

    def reset(self, gateway: str) -> None:
        """reset-send-limit: the gateway's day and month start counting again from zero."""
        GatewayCounter.delete().where(GatewayCounter.gateway == gateway).execute()
        self._recent.pop(gateway, None)
